//! The commands against a live cluster: read with one GET, write with one
//! conditional PATCH of the changed keys, back up first, retry on conflicts.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

use aws_auth_core::Document;
use aws_auth_core::cluster::{Cluster, ClusterError, Outcome, Snapshot, WriteOptions};
use aws_auth_core::edit::{Guards, Op};
use aws_auth_core::restore::RestoreError;
use serde::Serialize;

use crate::backup;
use crate::cli::{DryRun, Output};
use crate::commands::{self, ClusterWrite, Ops};
use crate::confirm::{self, Answer};
use crate::connect::{self, Connection};
use crate::exit::{
    CONFLICT, Exit, INTERNAL, INVALID, IO, NOPERM, NOT_FOUND, REFUSED, UNAVAILABLE, fail,
};
use crate::output;
use crate::report::{Report, Text};
use crate::settings::Settings;

/// How long the caller's identity may take to look up.
const IDENTITY_TIMEOUT: Duration = Duration::from_secs(5);

/// The time one command's API work may take (`--timeout`), counted while
/// requests are under way, not while a question waits for its answer.
struct Budget {
    total: Duration,
    left: std::cell::Cell<Duration>,
}

impl Budget {
    fn new(total: Duration) -> Budget {
        Budget {
            total,
            left: std::cell::Cell::new(total),
        }
    }

    /// Runs `work` on what is left of the budget; `writes` is the cluster
    /// it may write to, which says whether a write's outcome is unknown when
    /// the time runs out.
    async fn spend<T>(
        &self,
        writes: Option<&Cluster>,
        work: impl std::future::Future<Output = anyhow::Result<T>>,
    ) -> anyhow::Result<T> {
        let start = std::time::Instant::now();
        let out = tokio::time::timeout(self.left.get(), work).await;
        self.left
            .set(self.left.get().saturating_sub(start.elapsed()));
        out.unwrap_or_else(|_| {
            let total = self.total.as_secs_f64();
            Err(fail(
                UNAVAILABLE,
                if writes.is_some_and(Cluster::write_outcome_unknown) {
                    format!("the API server did not answer in time (--timeout {total} s): a write may or may not have landed; see with `aws-auth get`")
                } else {
                    format!("the API server did not answer in time (--timeout {total} s); nothing was written")
                },
            ))
        })
    }
}

/// The cluster the map lives in, and what one command may spend on it.
pub(crate) struct Session {
    conn: Connection,
    cluster: Cluster,
    object: String,
    budget: Budget,
}

impl Session {
    /// Connects as the kubeconfig (or the in-cluster account) says.
    pub(crate) async fn connect(g: &Settings) -> anyhow::Result<Session> {
        let conn = connect::connect(&g.kube).await?;
        let cluster = connect::cluster(&conn, &g.kube);
        Ok(Session {
            object: cluster.object_name(),
            budget: Budget::new(g.kube.timeout),
            conn,
            cluster,
        })
    }

    /// The Kubernetes client, for reading other objects than the map.
    pub(crate) fn client(&self) -> kube::Client {
        self.conn.client.clone()
    }

    /// `namespace/name` of the ConfigMap.
    pub(crate) fn object(&self) -> &str {
        &self.object
    }

    /// The ConfigMap, which must exist.
    pub(crate) async fn read(&self) -> anyhow::Result<Snapshot> {
        self.budget
            .spend(None, async {
                self.cluster
                    .require()
                    .await
                    .map_err(|e| cluster_error(&self.object, &self.conn, e, None))
            })
            .await
    }

    /// Saves the whole ConfigMap to a file.
    pub(crate) async fn backup(&self, out: Option<&std::path::Path>) -> anyhow::Result<Report> {
        let snapshot = self.read().await?;
        let dir = backup::default_dir(&self.conn.context)?;
        let path = backup::save(&snapshot.config_map, &dir, out)?;
        Ok(Report::new(Saved {
            backup: path.display().to_string(),
            resource_version: snapshot.resource_version().map(str::to_owned),
        }))
    }

    /// Adds (`protect`) or removes principals in the ConfigMap's
    /// `aws-auth/protected` annotation; removing is guarded.
    pub(crate) async fn protect(
        &self,
        g: &Settings,
        arns: &[String],
        protect: bool,
    ) -> anyhow::Result<Report> {
        use aws_auth_core::admission::{PROTECTED_ANNOTATION, change_protection};
        let mut given = Vec::new();
        for a in arns {
            given.push(crate::commands::one_arn(a).map_err(|e| fail(INVALID, e))?);
        }
        let snapshot = self.read().await?;
        let change = change_protection(
            snapshot.annotation(PROTECTED_ANNOTATION),
            &given,
            protect,
            g.force,
        )
        .map_err(|e| {
            fail(
                REFUSED,
                format!("refused: {e}; nothing was written (use --force to do it anyway)"),
            )
        })?;
        let object = &self.object;
        let result = Protections {
            object: object.clone(),
            annotation: PROTECTED_ANNOTATION,
            value: change.value(),
            changed: change.changed(),
            dry_run: g.dry_run(),
        };
        if !change.changed() || g.dry_run() {
            return Ok(Report::new(result));
        }
        self.budget
            .spend(Some(&self.cluster), async {
                self.cluster
                    .annotate(&snapshot, PROTECTED_ANNOTATION, change.value().as_deref())
                    .await
                    .map_err(|e| cluster_error(object, &self.conn, e, None))
            })
            .await?;
        let mut report = Report::new(result);
        for p in &change.forced {
            report.push_note(format!("warning: forced: removed the protection of {p}"));
        }
        Ok(report)
    }

    /// Puts a backup's data keys back.
    pub(crate) async fn restore(
        &self,
        g: &Settings,
        file: &std::path::Path,
    ) -> anyhow::Result<Report> {
        restore(g, &self.cluster, &self.conn, &self.budget, file).await
    }

    /// Applies `ops` with one conditional write.
    pub(crate) async fn edit(&self, g: &Settings, ops: Ops) -> anyhow::Result<Report> {
        edit(g, &self.cluster, &self.conn, &self.budget, ops).await
    }
}

/// `backup`: where the copy went.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Saved {
    backup: String,
    resource_version: Option<String>,
}

impl Text for Saved {
    fn text(&self) -> String {
        format!("{}\n", self.backup)
    }
}

/// `protect` and `unprotect`: the annotation as it is now (or would be).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Protections {
    object: String,
    annotation: &'static str,
    /// The annotation's value; `None` when it is (or would be) gone.
    value: Option<String>,
    changed: bool,
    dry_run: bool,
}

impl Text for Protections {
    fn text(&self) -> String {
        let (object, annotation) = (&self.object, self.annotation);
        let value = self.value.clone().unwrap_or_default();
        if !self.changed {
            format!("{object}: nothing to change\n")
        } else if self.dry_run {
            format!("{object}: would set {annotation} to {value:?}\n")
        } else {
            format!("{object}: {annotation} is now {value:?}\n")
        }
    }
}

/// A cluster error as one sentence with its exit code.
fn cluster_error(
    object: &str,
    conn: &Connection,
    e: ClusterError,
    ops: Option<&Ops>,
) -> anyhow::Error {
    match e {
        ClusterError::NotFound { .. } => fail(
            NOT_FOUND,
            format!(
                "{object} does not exist in context {:?}{}",
                conn.context,
                if ops.is_some_and(|o| o.ops.iter().all(Op::can_start_a_map)) {
                    " (add --create to create it)"
                } else {
                    ""
                }
            ),
        ),
        ClusterError::Edit(e) => match ops {
            Some(ops) => commands::edit_error(object, ops, e),
            None => fail(INVALID, format!("{object}: {e}")),
        },
        e @ (ClusterError::NoLongerApplies { .. }
        | ClusterError::GuardsChanged { .. }
        | ClusterError::Conflict { .. }) => {
            fail(CONFLICT, format!("{object}: {e}; nothing was written"))
        }
        ClusterError::Forbidden { code, message } => fail(
            NOPERM,
            format!(
                "the API server refused access to {object} in context {:?} ({code}): {message}",
                conn.context
            ),
        ),
        ClusterError::Api {
            code,
            reason,
            message,
        } => {
            let exit = if code >= 500 { UNAVAILABLE } else { INVALID };
            fail(
                exit,
                format!(
                    "the API server failed the request for {object} ({code} {reason}): {message}"
                ),
            )
        }
        ClusterError::Unreachable { message } => fail(
            UNAVAILABLE,
            format!(
                "cannot reach the Kubernetes API of context {:?}: {message}",
                conn.context
            ),
        ),
        ClusterError::Throttled { attempts } => fail(
            UNAVAILABLE,
            format!(
                "the API server kept answering 429 Too Many Requests for {object} ({attempts} attempts); nothing was written, try again later"
            ),
        ),
        ClusterError::NoAnswer { attempts } => fail(
            UNAVAILABLE,
            format!(
                "the API server did not answer in time: none of {attempts} writes to {object} got an answer, and a read after each showed it had not landed; nothing was written"
            ),
        ),
        e @ ClusterError::BadAnswer { .. } => fail(UNAVAILABLE, format!("{object}: {e}")),
        ClusterError::Hook(e) => match e.downcast::<Exit>() {
            Ok(exit) => fail(exit.code, exit.message),
            Err(e) => fail(IO, e.to_string()),
        },
        other => fail(INTERNAL, format!("{object}: {other}")),
    }
}

/// The caller's identity, when `wanted`, looked up beside `read`: the
/// guards then keep the caller's own access. A lookup that fails leaves the
/// caller unprotected and says so.
async fn read_as_caller<T>(
    conn: &Connection,
    wanted: bool,
    read: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<(T, Option<aws_auth_core::arn::Arn>, Option<String>)> {
    let (read, me) = tokio::join!(read, async {
        if wanted {
            Some(
                crate::identity::caller(
                    IDENTITY_TIMEOUT,
                    conn.aws_profile.as_deref(),
                    conn.aws_role.as_deref(),
                )
                .await,
            )
        } else {
            None
        }
    });
    let (me, note) = match me {
        Some(Ok(arn)) => (Some(arn), None),
        Some(Err(why)) => (None, Some(crate::identity::unprotected_note(&why))),
        None => (None, None),
    };
    Ok((read?, me, note))
}

async fn edit(
    g: &Settings,
    cluster: &Cluster,
    conn: &Connection,
    budget: &Budget,
    ops: Ops,
) -> anyhow::Result<Report> {
    let object = cluster.object_name();
    // Who is calling matters only to an edit that may take something away.
    let lookup = !ops.ops.iter().all(Op::only_adds);
    let read = budget.spend(None, async {
        cluster
            .get()
            .await
            .map_err(|e| cluster_error(&object, conn, e, Some(&ops)))
    });
    let (current, me, unprotected) = read_as_caller(conn, lookup, read).await?;
    // The map's own protections count like --protect, and so does the caller.
    let guards: Guards = g.guards.for_writer(
        current
            .as_ref()
            .and_then(|s| s.annotation(aws_auth_core::admission::PROTECTED_ANNOTATION)),
        me,
    );
    let empty = Document::from_data(BTreeMap::<String, String>::new());
    let document = match &current {
        Some(s) => &s.document,
        None if g.kube.create => &empty,
        None => {
            return Err(cluster_error(
                &object,
                conn,
                ClusterError::NotFound {
                    namespace: g.kube.namespace.clone(),
                    name: g.kube.name.clone(),
                },
                Some(&ops),
            ));
        }
    };
    // Decide on what was read, before anything is sent: the edit once, and
    // what --force overrides confirmed.
    let edited = document
        .edit(&ops.ops, &guards)
        .map_err(|e| commands::edit_error(&object, &ops, e))?;
    commands::confirm_forced(&edited, g)?;
    if g.dry_run == Some(DryRun::Client) {
        let mut report = commands::edit_report(edited, &ops, true, None);
        report.prepend_notes(unprotected);
        return Ok(report);
    }
    let server_dry_run = g.dry_run == Some(DryRun::Server);
    let dir = backup::default_dir(&conn.context)?;
    let mut saved: Option<(String, Option<String>)> = None;
    let options = WriteOptions::new()
        .create(g.kube.create)
        .server_dry_run(server_dry_run);
    // The edit decided above is the first one written; a conflict plans the
    // operations again on the fresh read.
    let outcome = budget
        .spend(Some(cluster), async {
            cluster
                .edit_checked(current, edited, &ops.ops, &guards, &options, |prior, _| {
                    if let (Some(prior), false) = (prior, server_dry_run) {
                        // One backup per version of the object, however many
                        // attempts the write takes.
                        let rv = prior.resource_version().map(str::to_owned);
                        if saved.as_ref().is_some_and(|(_, saved_rv)| *saved_rv == rv) {
                            return Ok(());
                        }
                        let path = backup::save(&prior.config_map, &dir, None).map_err(boxed)?;
                        tracing::info!(backup = %path.display(), "saved the prior object");
                        saved = Some((path.display().to_string(), rv));
                    }
                    Ok(())
                })
                .await
                .map_err(|e| cluster_error(&object, conn, e, Some(&ops)))
        })
        .await?;
    let saved = saved.map(|(path, _)| path);
    let mut report = match outcome {
        Outcome::Unchanged { edited, .. } => commands::edit_report(edited, &ops, false, None),
        Outcome::Written {
            edited,
            prior,
            after,
            attempts,
        } => {
            let write = ClusterWrite {
                object,
                resource_version_before: prior
                    .as_ref()
                    .and_then(|p| p.resource_version().map(str::to_owned)),
                resource_version_after: after.metadata.resource_version.clone(),
                attempts,
                created: prior.is_none(),
                server_dry_run,
                backup: saved,
            };
            commands::edit_report(edited, &ops, server_dry_run, Some(write))
        }
    };
    report.prepend_notes(unprotected);
    Ok(report)
}

fn boxed(e: anyhow::Error) -> Box<dyn std::error::Error + Send + Sync> {
    e.into()
}

/// `restore`: which keys were put back or deleted, and how the write went.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Restored {
    object: String,
    /// The backup file.
    from: String,
    restored: Vec<String>,
    deleted: Vec<String>,
    dry_run: bool,
    resource_version_before: Option<String>,
    resource_version_after: Option<String>,
    backup: Option<String>,
    /// Guards overridden with --force.
    forced: Vec<String>,
}

impl Text for Restored {
    fn text(&self) -> String {
        let r = self;
        if r.restored.is_empty() && r.deleted.is_empty() {
            return format!(
                "nothing to restore: {} already holds the data of {}\n",
                r.object, r.from
            );
        }
        let (restore, remove) = if r.dry_run {
            ("would restore", "would remove")
        } else {
            ("restored", "removed")
        };
        let mut what = Vec::new();
        if !r.restored.is_empty() {
            what.push(format!("{restore} {}", r.restored.join(", ")));
        }
        if !r.deleted.is_empty() {
            what.push(format!(
                "{remove} {}, which the backup does not have",
                r.deleted.join(", ")
            ));
        }
        let what = what.join("; ");
        let mut out = String::new();
        if r.dry_run {
            let _ = writeln!(out, "dry run: {}: {what}; nothing was written", r.object);
        } else {
            let _ = write!(out, "{}: {what}", r.object);
            if let (Some(a), Some(b)) = (&r.resource_version_before, &r.resource_version_after) {
                let _ = write!(out, " (resourceVersion {a} -> {b})");
            }
            out.push('\n');
        }
        out
    }
}

/// A refused restore as one sentence with its exit code.
fn restore_refused(file: &std::path::Path, object: &str, e: RestoreError) -> anyhow::Error {
    let file = file.display();
    match e {
        RestoreError::OtherObject { why } => fail(
            REFUSED,
            format!(
                "{file} is not a backup of {object}: {why}; nothing was written (use --force to restore it anyway)"
            ),
        ),
        e @ RestoreError::Unreadable { .. } => fail(
            INVALID,
            format!("{file}: {e} (use --force to restore it anyway)"),
        ),
        RestoreError::Guarded { guards } => fail(
            REFUSED,
            format!(
                "refused: restoring {file} {}; nothing was written (use --force to do it anyway)",
                guards
                    .iter()
                    .map(|g| g.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; and ")
            ),
        ),
        e => fail(REFUSED, format!("{file}: {e}; nothing was written")),
    }
}

async fn restore(
    g: &Settings,
    cluster: &Cluster,
    conn: &Connection,
    budget: &Budget,
    file: &std::path::Path,
) -> anyhow::Result<Report> {
    let object = cluster.object_name();
    let backup = backup::read(file)?;
    let read = budget.spend(None, async {
        cluster
            .require()
            .await
            .map_err(|e| cluster_error(&object, conn, e, None))
    });
    let (current, me, unprotected): (Snapshot, _, _) = read_as_caller(conn, true, read).await?;
    // The same guards as an edit: the map's own protections, the caller.
    let guards = g.guards.for_writer(
        current.annotation(aws_auth_core::admission::PROTECTED_ANNOTATION),
        me,
    );
    let live_data = current.config_map.data.clone().unwrap_or_default();
    let plan = aws_auth_core::restore::plan(
        &backup.id,
        &backup.data,
        &current.object_id(),
        &live_data,
        &guards.protected,
        g.force,
    )
    .map_err(|e| restore_refused(file, &object, e))?;
    let forced: Vec<String> = plan.forced.iter().map(|w| w.message.clone()).collect();
    let mut result = Restored {
        object: object.clone(),
        from: file.display().to_string(),
        restored: plan.restored().iter().map(|k| (*k).to_owned()).collect(),
        deleted: plan.deleted().iter().map(|k| (*k).to_owned()).collect(),
        dry_run: g.dry_run(),
        resource_version_before: current.resource_version().map(str::to_owned),
        resource_version_after: None,
        backup: None,
        forced: forced.clone(),
    };
    let finish = |result: Restored| {
        let mut report = Report::new(result);
        for w in &forced {
            report.push_note(format!("warning: forced: this restore {w}"));
        }
        report.prepend_notes(unprotected.clone());
        report
    };
    if plan.is_noop() {
        return Ok(finish(result));
    }
    // The diff is shown before the question that asks to confirm it.
    if g.output == Output::Table {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(output::color_diff(&plan.diff).as_bytes());
        let _ = out.flush();
    }
    if g.dry_run == Some(DryRun::Client) {
        return Ok(finish(result));
    }
    if g.dry_run.is_none() {
        let also = if forced.is_empty() {
            String::new()
        } else {
            format!(" This restore {}.", forced.join("; and "))
        };
        let question = format!(
            "Put these keys of {} back into {object}?{also}",
            file.display()
        );
        match confirm::ask(&question, g.yes) {
            Answer::Yes => {}
            Answer::No => return Err(fail(REFUSED, "not confirmed; nothing was written")),
            Answer::NoTerminal => {
                return Err(fail(
                    REFUSED,
                    "restore replaces whole data keys: give --yes to confirm without a terminal; nothing was written",
                ));
            }
        }
        let dir = backup::default_dir(&conn.context)?;
        result.backup = Some(
            backup::save(&current.config_map, &dir, None)?
                .display()
                .to_string(),
        );
    }
    let after = budget
        .spend(Some(cluster), async {
            cluster
                .write_data(&current, &plan.patch, g.dry_run == Some(DryRun::Server))
                .await
                .map_err(|e| match e {
                    ClusterError::Conflict { .. } => fail(
                        CONFLICT,
                        format!("{object} changed after it was read; nothing was written (run restore again to see the new diff)"),
                    ),
                    e => cluster_error(&object, conn, e, None),
                })
        })
        .await?;
    result.resource_version_after = after.metadata.resource_version;
    let saved = result.backup.clone();
    let report = finish(result);
    Ok(match saved {
        Some(b) => report.aside(format!("backup of the prior object: {b}")),
        None => report,
    })
}
