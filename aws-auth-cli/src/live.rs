//! The commands against a live cluster: read with one GET, write with one
//! conditional PATCH of the changed keys, back up first, retry on conflicts.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

use aws_auth_core::cluster::{Cluster, ClusterError, Outcome, Snapshot, WriteOptions};
use aws_auth_core::edit::{Guards, Op};
use aws_auth_core::{DataKey, Document, KeyState};
use serde::Serialize;

use crate::backup;
use crate::cli::{Cli, DryRun, Global, Output};
use crate::commands::{self, ClusterWrite, Ops, Report};
use crate::confirm::{self, Answer};
use crate::connect::{self, Connection};
use crate::exit::{
    CONFLICT, Exit, INTERNAL, INVALID, IO, NOPERM, NOT_FOUND, OK, REFUSED, UNAVAILABLE, fail,
};
use crate::output;

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
    pub(crate) async fn connect(g: &Global) -> anyhow::Result<Session> {
        let conn = connect::connect(&g.cluster).await?;
        let cluster = connect::cluster(&conn, &g.cluster);
        Ok(Session {
            object: cluster.object_name(),
            budget: Budget::new(g.cluster.timeout),
            conn,
            cluster,
        })
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
    pub(crate) async fn backup(
        &self,
        out: Option<&std::path::Path>,
        format: Output,
    ) -> anyhow::Result<Report> {
        let snapshot = self.read().await?;
        let dir = backup::default_dir(&self.conn.context)?;
        let path = backup::save(&snapshot.config_map, &dir, out)?;
        let stdout = match format {
            Output::Table => format!("{}\n", path.display()),
            format => output::structured(
                format,
                &serde_json::json!({
                    "backup": path.display().to_string(),
                    "resourceVersion": snapshot.resource_version(),
                }),
            )?,
        };
        Ok(Report {
            stdout,
            stderr: String::new(),
            code: OK,
        })
    }

    /// Adds (`protect`) or removes principals in the ConfigMap's
    /// `aws-auth/protected` annotation; removing is guarded.
    pub(crate) async fn protect(
        &self,
        cli: &Cli,
        arns: &[String],
        protect: bool,
    ) -> anyhow::Result<Report> {
        use aws_auth_core::admission::{PROTECTED_ANNOTATION, protected_in};
        let g = &cli.global;
        let mut given = Vec::new();
        for a in arns {
            let arn = crate::commands::one_arn(a).map_err(|e| fail(INVALID, e))?;
            given.push(arn.canonical());
        }
        let snapshot = self.read().await?;
        let current = snapshot
            .config_map
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(PROTECTED_ANNOTATION))
            .map(|v| protected_in(v))
            .unwrap_or_default();
        let mut now: Vec<String> = current.iter().map(|a| a.canonical().to_string()).collect();
        let before = now.clone();
        if protect {
            for a in &given {
                if !now.contains(&a.to_string()) {
                    now.push(a.to_string());
                }
            }
        } else {
            let gone: Vec<String> = given
                .iter()
                .map(|a| a.to_string())
                .filter(|a| now.contains(a))
                .collect();
            if !gone.is_empty() && !g.force {
                return Err(fail(
                    REFUSED,
                    format!(
                        "refused: removing the protection of {} lets any writer remove their mappings; nothing was written (use --force to do it anyway)",
                        gone.join(", ")
                    ),
                ));
            }
            now.retain(|a| !gone.contains(a));
        }
        let object = &self.object;
        if now == before {
            return Ok(Report {
                stdout: format!("{object}: nothing to change\n"),
                stderr: String::new(),
                code: OK,
            });
        }
        if g.dry_run.is_some() {
            return Ok(Report {
                stdout: format!(
                    "{object}: would set {PROTECTED_ANNOTATION} to {:?}\n",
                    now.join(",")
                ),
                stderr: String::new(),
                code: OK,
            });
        }
        let value = (!now.is_empty()).then(|| now.join(","));
        self.budget
            .spend(Some(&self.cluster), async {
                self.cluster
                    .annotate(&snapshot, PROTECTED_ANNOTATION, value.as_deref())
                    .await
                    .map_err(|e| cluster_error(object, &self.conn, e, None))
            })
            .await?;
        Ok(Report {
            stdout: format!(
                "{object}: {PROTECTED_ANNOTATION} is now {:?}\n",
                value.unwrap_or_default()
            ),
            stderr: String::new(),
            code: OK,
        })
    }

    /// Puts a backup's data keys back.
    pub(crate) async fn restore(
        &self,
        cli: &Cli,
        file: &std::path::Path,
        guards: &Guards,
    ) -> anyhow::Result<Report> {
        restore(cli, &self.cluster, &self.conn, &self.budget, file, guards).await
    }

    /// Applies `ops` with one conditional write.
    pub(crate) async fn edit(
        &self,
        cli: &Cli,
        ops: Ops,
        guards: &Guards,
    ) -> anyhow::Result<Report> {
        edit(cli, &self.cluster, &self.conn, &self.budget, ops, guards).await
    }
}

/// The principals the ConfigMap's `aws-auth/protected` annotation names.
fn annotated_protections(
    cm: &k8s_openapi::api::core::v1::ConfigMap,
) -> Vec<aws_auth_core::arn::Arn> {
    cm.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(aws_auth_core::admission::PROTECTED_ANNOTATION))
        .map(|v| aws_auth_core::admission::protected_in(v))
        .unwrap_or_default()
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
                if ops.is_some_and(|o| {
                    o.ops.iter().all(|op| {
                        matches!(
                            op,
                            Op::AddRole(_) | Op::AddUser(_) | Op::AddAccount(_) | Op::Sync(_)
                        )
                    })
                }) {
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

/// Edits need to know who is calling only when they remove or rewrite.
fn may_trip_protection(ops: &[Op]) -> bool {
    ops.iter()
        .any(|op| !matches!(op, Op::AddRole(_) | Op::AddUser(_) | Op::AddAccount(_)))
}

async fn edit(
    cli: &Cli,
    cluster: &Cluster,
    conn: &Connection,
    budget: &Budget,
    ops: Ops,
    guards: &Guards,
) -> anyhow::Result<Report> {
    let g = &cli.global;
    let object = cluster.object_name();
    let mut guards = guards.clone();
    let lookup = may_trip_protection(&ops.ops);
    let (current, me) = tokio::join!(
        budget.spend(None, async {
            cluster
                .get()
                .await
                .map_err(|e| cluster_error(&object, conn, e, Some(&ops)))
        }),
        async {
            if lookup {
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
        }
    );
    let current = current?;
    // The map's own protections count like --protect.
    if let Some(s) = &current {
        guards
            .protected
            .extend(annotated_protections(&s.config_map));
    }
    let unprotected = match me {
        Some(Ok(arn)) => {
            guards.protected.push(arn);
            None
        }
        Some(Err(why)) => Some(crate::identity::unprotected_note(&why)),
        None => None,
    };
    let empty = Document::from_data(BTreeMap::<String, String>::new());
    let document = match &current {
        Some(s) => &s.document,
        None if g.cluster.create => &empty,
        None => {
            return Err(cluster_error(
                &object,
                conn,
                ClusterError::NotFound {
                    namespace: g.cluster.namespace.clone(),
                    name: g.cluster.name.clone(),
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
        return noted(
            commands::edit_report(&edited, &ops, true, g.output, None),
            &unprotected,
        );
    }
    let server_dry_run = g.dry_run == Some(DryRun::Server);
    let dir = backup::default_dir(&conn.context)?;
    let mut saved: Option<(String, Option<String>)> = None;
    let options = WriteOptions::new()
        .create(g.cluster.create)
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
    match outcome {
        Outcome::Unchanged { edited, .. } => noted(
            commands::edit_report(&edited, &ops, false, g.output, None),
            &unprotected,
        ),
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
            noted(
                commands::edit_report(&edited, &ops, server_dry_run, g.output, Some(&write)),
                &unprotected,
            )
        }
    }
}

fn boxed(e: anyhow::Error) -> Box<dyn std::error::Error + Send + Sync> {
    e.into()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RestoreOutput {
    object: String,
    restored: Vec<String>,
    deleted: Vec<String>,
    dry_run: bool,
    resource_version_before: Option<String>,
    resource_version_after: Option<String>,
    backup: Option<String>,
    /// Guards overridden with --force.
    forced: Vec<String>,
}

async fn restore(
    cli: &Cli,
    cluster: &Cluster,
    conn: &Connection,
    budget: &Budget,
    file: &std::path::Path,
    guards: &Guards,
) -> anyhow::Result<Report> {
    let g = &cli.global;
    let object = cluster.object_name();
    let backup = backup::read(file)?;
    let mut protected = guards.protected.clone();
    let (current, me) = tokio::join!(
        budget.spend(None, async {
            cluster
                .require()
                .await
                .map_err(|e| cluster_error(&object, conn, e, None))
        }),
        crate::identity::caller(
            IDENTITY_TIMEOUT,
            conn.aws_profile.as_deref(),
            conn.aws_role.as_deref()
        )
    );
    let current: Snapshot = current?;
    protected.extend(annotated_protections(&current.config_map));
    let unprotected = match me {
        Ok(arn) => {
            protected.push(arn);
            None
        }
        Err(why) => Some(crate::identity::unprotected_note(&why)),
    };
    if let Some(why) = backup.other_object(&current.config_map)
        && !g.force
    {
        return Err(fail(
            REFUSED,
            format!(
                "{} is not a backup of {object}: {why}; nothing was written (use --force to restore it anyway)",
                file.display()
            ),
        ));
    }
    let wanted = backup.data;
    let now = current.config_map.data.clone().unwrap_or_default();
    let mut patch: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut diff = String::new();
    let keys: std::collections::BTreeSet<&String> = now.keys().chain(wanted.keys()).collect();
    for key in keys {
        let (before, after) = (now.get(key), wanted.get(key));
        if before == after {
            continue;
        }
        diff.push_str(&aws_auth_core::edit::data_diff(
            key,
            before.map(String::as_str),
            after.map(String::as_str),
        ));
        patch.insert(key.clone(), after.cloned());
    }
    if patch.is_empty() {
        return Ok(Report {
            stdout: format!(
                "nothing to restore: {object} already holds the data of {}\n",
                file.display()
            ),
            stderr: String::new(),
            code: OK,
        });
    }
    // Putting back a key the authenticator cannot read would drop every
    // mapping in it at the next login.
    let restored = Document::from_data(wanted.clone());
    for key in DataKey::ALL {
        if let KeyState::Unreadable { message, .. } = restored.view().state(key)
            && !g.force
        {
            return Err(fail(
                INVALID,
                format!(
                    "{}: {key} cannot be read ({message}); restoring it would make the authenticator drop every mapping in it (use --force to restore it anyway)",
                    file.display()
                ),
            ));
        }
    }
    // The same guards as an edit, on what the restore would change.
    let tripped = aws_auth_core::guard::check(&current.document, restored.view(), &protected);
    let what: Vec<&str> = tripped.iter().map(|t| t.message.as_str()).collect();
    if !tripped.is_empty() && !g.force {
        return Err(fail(
            REFUSED,
            format!(
                "refused: restoring {} {}; nothing was written (use --force to do it anyway)",
                file.display(),
                what.join("; and ")
            ),
        ));
    }
    let dry_run = g.dry_run.is_some();
    if g.output == Output::Table {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(output::color_diff(&diff).as_bytes());
        let _ = out.flush();
    }
    let keys = |kept: bool| -> Vec<String> {
        patch
            .iter()
            .filter(|(_, v)| v.is_some() == kept)
            .map(|(k, _)| k.clone())
            .collect()
    };
    let (restored, deleted) = (keys(true), keys(false));
    if g.dry_run == Some(DryRun::Client) {
        return noted(
            restore_report(
                g.output,
                RestoreOutput {
                    object,
                    restored,
                    deleted,
                    dry_run,
                    resource_version_before: current.resource_version().map(str::to_owned),
                    resource_version_after: None,
                    backup: None,
                    forced: what.iter().map(|w| (*w).to_owned()).collect(),
                },
            ),
            &unprotected,
        );
    }
    if g.dry_run.is_none() {
        let forced = if what.is_empty() {
            String::new()
        } else {
            format!(" This restore {}.", what.join("; and "))
        };
        let question = format!(
            "Put these keys of {} back into {object}?{forced}",
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
    }
    let saved = if g.dry_run.is_none() {
        let dir = backup::default_dir(&conn.context)?;
        Some(
            backup::save(&current.config_map, &dir, None)?
                .display()
                .to_string(),
        )
    } else {
        None
    };
    let after = budget
        .spend(Some(cluster), async {
            cluster
                .write_data(&current, &patch, g.dry_run == Some(DryRun::Server))
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
    noted(
        restore_report(
            g.output,
            RestoreOutput {
                object,
                restored,
                deleted,
                dry_run,
                resource_version_before: current.resource_version().map(str::to_owned),
                resource_version_after: after.metadata.resource_version,
                backup: saved,
                forced: what.iter().map(|w| (*w).to_owned()).collect(),
            },
        ),
        &unprotected,
    )
}

/// A report with `note` (self-protection is off) first on stderr.
fn noted(report: anyhow::Result<Report>, note: &Option<String>) -> anyhow::Result<Report> {
    let mut report = report?;
    if let Some(note) = note {
        report.stderr.insert_str(0, note);
    }
    Ok(report)
}

fn restore_report(format: Output, r: RestoreOutput) -> anyhow::Result<Report> {
    if format != Output::Table {
        return Ok(Report {
            stdout: output::structured(format, &r)?,
            stderr: String::new(),
            code: OK,
        });
    }
    let mut stdout = String::new();
    let mut stderr = String::new();
    for w in &r.forced {
        let _ = writeln!(stderr, "warning: forced: this restore {w}");
    }
    if let Some(b) = &r.backup {
        let _ = writeln!(stderr, "backup of the prior object: {b}");
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
    if r.dry_run {
        let _ = writeln!(stdout, "dry run: {}: {what}; nothing was written", r.object);
    } else {
        let _ = write!(stdout, "{}: {what}", r.object);
        if let (Some(a), Some(b)) = (&r.resource_version_before, &r.resource_version_after) {
            let _ = write!(stdout, " (resourceVersion {a} -> {b})");
        }
        stdout.push('\n');
    }
    Ok(Report {
        stdout,
        stderr,
        code: OK,
    })
}
