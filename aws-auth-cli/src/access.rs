//! `aws-auth access get|add|update|remove|sync`: EKS access entries
//! directly, checked before any call, paced, idempotent, guarded. What is
//! decided (plans, guards, the order of a run) is the library's; this file
//! resolves the arguments, makes the calls and reports.

use std::collections::BTreeMap;

use aws_auth_core::access::{EntryChange, EntryGuards, EntryRequest, SyncOptions, same_principal};
use aws_auth_core::arn::Arn;
use aws_auth_core::eks::{ClusterInfo, Eks};
use aws_auth_core::entries::{
    Action, AuthenticationMode, ClusterState, EntryType, ExistingEntry, Plan, PlanOptions,
    Unchanged,
};
use aws_auth_core::entries::{association, policy_arn};
use serde::Serialize;

use crate::cli::{
    AccessAddArgs, AccessCluster, AccessCommand, AccessGetArgs, AccessRemoveArgs, AccessSyncArgs,
    AccessUpdateArgs, DEFAULT_NAMESPACE, MigrateArgs,
};
use crate::exit::{INVALID, REFUSED, UNAVAILABLE, USAGE, fail};
use crate::migrate::aws::{connect, eks_error};
use crate::output;
use crate::report::{Report, Rows, Text};
use crate::settings::Settings;

/// Calls in flight while reading and writing.
const CONCURRENCY: usize = 8;

pub(crate) fn run(cli: &Settings, cmd: &AccessCommand) -> anyhow::Result<Report> {
    let scoped = matches!(cmd, AccessCommand::Add(_) | AccessCommand::Update(_));
    if scoped && cli.kube.namespace != DEFAULT_NAMESPACE {
        // `aws-auth -n dev access add ...`: the ConfigMap's namespace, which
        // access entries do not use; taken silently, the grant meant for one
        // namespace would be made cluster-wide.
        return Err(fail(
            USAGE,
            format!(
                "--namespace {} before `access` names the ConfigMap's namespace, which access entries do not use; to scope the policies, put `--namespace {}` after the command",
                cli.kube.namespace, cli.kube.namespace
            ),
        ));
    }
    let runtime = crate::runtime()?;
    let aws = match cmd {
        AccessCommand::Get(a) => &a.aws,
        AccessCommand::Add(a) => &a.aws,
        AccessCommand::Update(a) => &a.aws,
        AccessCommand::Remove(a) => &a.aws,
        AccessCommand::Sync(a) => &a.aws,
    };
    let (t, note) = target(cli, aws)?;
    // --timeout: no EKS call is sent after the deadline (what was not is
    // reported, exit 69); a call in flight then gets a moment to answer,
    // and after that the command ends whatever is under way.
    let timeout = cli.kube.timeout;
    let grace = cli
        .kube
        .request_timeout
        .min(std::time::Duration::from_secs(10));
    let mut report = runtime.block_on(async {
        let work = async {
            match cmd {
                AccessCommand::Get(a) => get(cli, &t, a).await,
                AccessCommand::Add(a) => add(cli, &t, a).await,
                AccessCommand::Update(a) => update(cli, &t, a).await,
                AccessCommand::Remove(a) => remove(cli, &t, a).await,
                AccessCommand::Sync(a) => sync(cli, &t, a).await,
            }
        };
        tokio::time::timeout(timeout + grace, work)
            .await
            .unwrap_or_else(|_| {
                Err(fail(
                    UNAVAILABLE,
                    format!(
                        "the command did not finish within --timeout {} s: a call under way may or may not have been carried out; run it again to finish (it picks up where this one stopped), or give a longer --timeout",
                        timeout.as_secs_f64()
                    ),
                ))
            })
    })?;
    report.prepend_notes(note);
    Ok(report)
}

/// The cluster a command works on, and how its AWS calls reach it.
pub(crate) struct Target {
    pub(crate) cluster: String,
    region: Option<String>,
    profile: Option<String>,
    /// The role the kubeconfig context of this cluster logs in as (its
    /// exec plugin's `--role-arn`): the caller's own entry for kubectl.
    login: Option<String>,
    /// When `--timeout` runs out: no EKS call is sent after it.
    deadline: std::time::Instant,
}

/// `--cluster`, else the EKS cluster the kubeconfig context names (with
/// its region and profile unless `--region`/`--profile` say otherwise), and
/// then a line saying where it came from.
pub(crate) fn target(
    cli: &Settings,
    a: &AccessCluster,
) -> anyhow::Result<(Target, Option<String>)> {
    let deadline = std::time::Instant::now() + cli.kube.timeout;
    if let Some(cluster) = &a.cluster {
        // The kubeconfig, when its context is this cluster, only for whom
        // it logs in as.
        let login = crate::eks_context::from_kubeconfig(&cli.kube)
            .ok()
            .filter(|found| found.name == *cluster)
            .and_then(|found| found.role);
        let t = Target {
            cluster: cluster.clone(),
            region: a.region.clone(),
            profile: a.profile.clone(),
            login,
            deadline,
        };
        return Ok((t, None));
    }
    let found = crate::eks_context::from_kubeconfig(&cli.kube)?;
    let note = format!(
        "aws-auth: cluster {} (from the kubeconfig context {:?})",
        found.name, found.context
    );
    let t = Target {
        cluster: found.name,
        region: a.region.clone().or(found.region),
        profile: a.profile.clone().or(found.profile),
        login: found.role,
        deadline,
    };
    Ok((t, Some(note)))
}

/// The EKS, IAM and STS clients of `a` and what EKS says of its cluster.
pub(crate) async fn connect_eks(cli: &Settings, a: &Target) -> anyhow::Result<(Eks, ClusterInfo)> {
    let args = MigrateArgs {
        cluster: Some(a.cluster.clone()),
        region: a.region.clone(),
        profile: a.profile.clone(),
        role_arn_map: None,
        update_existing: false,
        poll_interval: std::time::Duration::from_secs(5),
    };
    let mut eks = connect(&args, &a.cluster, cli.kube.request_timeout)
        .await?
        .with_deadline(Some(a.deadline));
    if let Some(rate) = learnt_rate(&a.cluster) {
        eks = eks.starting_at(rate);
    }
    let info = eks.describe_cluster().await.map_err(eks_error)?;
    Ok((eks, info))
}

/// Where the EKS rate a run of `cluster` learnt is kept for the next.
fn rate_file(cluster: &str) -> Option<std::path::PathBuf> {
    crate::backup::state_dir("eks-rates")
        .ok()
        .map(|d| d.join(crate::backup::safe_component(cluster)))
}

/// The rate an earlier run of `cluster` learnt, if one did within a day
/// (EKS's limits may change; an old figure is learnt again).
fn learnt_rate(cluster: &str) -> Option<f64> {
    let path = rate_file(cluster)?;
    let age = std::fs::metadata(&path)
        .ok()?
        .modified()
        .ok()?
        .elapsed()
        .ok()?;
    if age > std::time::Duration::from_secs(86_400) {
        return None;
    }
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Keeps the rate this run learnt for the next run of `cluster`.
pub(crate) fn remember_rate(cluster: &str, eks: &Eks) {
    if let Some(path) = rate_file(cluster)
        && path
            .parent()
            .is_some_and(|d| std::fs::create_dir_all(d).is_ok())
    {
        let _ = std::fs::write(path, format!("{:.3}\n", eks.learnt_rate()));
    }
}

/// [`connect_eks`], refused for a cluster without access entries.
async fn session(cli: &Settings, a: &Target) -> anyhow::Result<(Eks, ClusterInfo)> {
    let (eks, info) = connect_eks(cli, a).await?;
    if info.mode == AuthenticationMode::ConfigMap {
        return Err(fail(
            REFUSED,
            format!(
                "cluster {} is in authentication mode CONFIG_MAP, where access entries do not exist: switch it with `aws-auth migrate apply --cluster {} --enable-api-mode` (one way) first",
                a.cluster, a.cluster
            ),
        ));
    }
    Ok((eks, info))
}

/// Every entry, in full, by principal.
pub(crate) async fn all_entries(
    eks: &Eks,
    info: &ClusterInfo,
) -> anyhow::Result<BTreeMap<String, ExistingEntry>> {
    let principals = eks.list_entries().await.map_err(eks_error)?;
    let state = eks
        .state(info, &principals, CONCURRENCY)
        .await
        .map_err(eks_error)?;
    if let Some((p, why)) = state.unreadable.iter().next() {
        return Err(fail(
            crate::exit::UNAVAILABLE,
            format!("cannot read the access entry of {p}: {why}; nothing was changed"),
        ));
    }
    Ok(state.entries)
}

/// `access get`: every entry in full.
struct Entries(Vec<ExistingEntry>);

impl Serialize for Entries {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let list: Vec<serde_json::Value> = self
            .0
            .iter()
            .map(|e| {
                serde_json::json!({"principalArn": e.principal_arn, "type": e.kind.to_string(), "username": e.username,
                    "kubernetesGroups": e.kubernetes_groups, "accessPolicies": e.policies})
            })
            .collect();
        list.serialize(s)
    }
}

impl Text for Entries {
    fn text(&self) -> String {
        self.rows()
            .map(|r| r.table("no access entries"))
            .unwrap_or_default()
    }

    fn rows(&self) -> Option<Rows> {
        let rows: Vec<Vec<String>> = self
            .0
            .iter()
            .map(|e| {
                vec![
                    e.principal_arn.clone(),
                    e.kind.to_string(),
                    e.username.clone().unwrap_or_default(),
                    e.kubernetes_groups.join(","),
                    e.policies
                        .iter()
                        .map(|p| {
                            format!(
                                "{} ({})",
                                aws_auth_core::entries::policy_name(&p.policy_arn),
                                p.access_scope
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                ]
            })
            .collect();
        Some(Rows {
            headers: vec!["PRINCIPAL", "TYPE", "USERNAME", "GROUPS", "POLICIES"],
            rows,
        })
    }
}

/// `access get --as-file`: the entries as a file `access sync` takes (YAML
/// unless JSON is asked for).
struct EntriesFile(serde_json::Value);

impl Serialize for EntriesFile {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl Text for EntriesFile {
    fn text(&self) -> String {
        output::yaml(&self.0)
    }
}

async fn get(cli: &Settings, t: &Target, a: &AccessGetArgs) -> anyhow::Result<Report> {
    let (eks, info) = session(cli, t).await?;
    let entries = all_entries(&eks, &info).await?;
    if a.as_file {
        let (file, left_out) = aws_auth_core::access::to_file(entries.values());
        let report = Report::new(EntriesFile(file));
        if left_out.is_empty() {
            return Ok(report);
        }
        return Ok(report.note(format!(
            "note: left out {} entries with a username only EKS can give (a sync keeps them): {}",
            left_out.len(),
            left_out.join(", ")
        )));
    }
    Ok(Report::new(Entries(entries.into_values().collect())))
}

/// The requests an `add` names, checked before any call; the names its
/// file gives without an ARN are in `account`. Every bad line of the file
/// is reported at once.
fn requests(
    a: &AccessAddArgs,
    partition: &str,
    account: Option<&str>,
) -> anyhow::Result<Vec<EntryRequest>> {
    let kind = EntryType::from_name(&a.kind.to_ascii_uppercase());
    if matches!(kind, EntryType::Other(_)) {
        return Err(fail(
            INVALID,
            format!(
                "--type {}: not an access entry type ({})",
                a.kind,
                EntryType::known_names()
            ),
        ));
    }
    let mut policies = Vec::new();
    for p in &a.policies {
        let arn = policy_arn(p, partition).ok_or_else(|| {
            fail(INVALID, format!("--policy {p}: no such access policy (cluster-admin, admin, edit, view, admin-view, or an AmazonEKS… name or ARN)"))
        })?;
        policies.push(association(arn, &a.namespaces));
    }
    // Where each principal was named, for the error.
    let mut named: Vec<(String, String, Option<String>)> = a
        .arns
        .iter()
        .map(|x| (x.clone(), x.clone(), None))
        .collect();
    let mut bad = Vec::new();
    if let Some(path) = &a.from_file {
        let (listed, wrong) = crate::commands::principal_lines(
            path,
            aws_auth_core::arn::PrincipalKind::User,
            account,
        )?;
        bad = wrong;
        for (line, arn, user) in listed {
            named.push((format!("{}:{line}", path.display()), arn, user));
        }
    }
    let mut out: Vec<EntryRequest> = Vec::new();
    for (at, arn, user) in named {
        let principal: Arn = match arn.parse() {
            Ok(p) => p,
            Err(e) => {
                bad.push(format!("{at}: {e}"));
                continue;
            }
        };
        if out.iter().any(|r| same_principal(&r.principal, &principal)) {
            bad.push(format!("{at}: {arn} is named twice"));
            continue;
        }
        let mut r = EntryRequest::standard(principal);
        r.kind = kind.clone();
        r.username = user.or_else(|| a.username.clone());
        r.groups = a.groups.clone();
        r.policies = policies.clone();
        match r.check() {
            Ok(()) => out.push(r),
            Err(e) => bad.push(if at == arn { e } else { format!("{at}: {e}") }),
        }
    }
    crate::commands::bad_lines(bad)?;
    too_many(out.len())?;
    Ok(out)
}

fn too_many(n: usize) -> anyhow::Result<()> {
    if n > aws_auth_core::entries::MAX_ENTRIES {
        return Err(fail(
            INVALID,
            format!(
                "{n} entries: a cluster holds at most {}; nothing was sent",
                aws_auth_core::entries::MAX_ENTRIES
            ),
        ));
    }
    Ok(())
}

/// The IAM paths of the requested roles and the existence of the requested
/// users, learnt from IAM, and a note naming those of another account,
/// which IAM cannot answer for and are taken as written.
async fn resolve(
    eks: &Eks,
    requests: &[EntryRequest],
    listed: &[String],
) -> anyhow::Result<(aws_auth_core::entries::Resolutions, Option<String>)> {
    let resolved = eks
        .resolve_requests_with(requests, CONCURRENCY, listed)
        .await
        .map_err(eks_error)?;
    let note = (!resolved.unchecked.is_empty()).then(|| {
        format!(
            "note: not checked in IAM (another account than {}'s credentials), taken as written: {}",
            resolved.account,
            resolved
                .unchecked
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    Ok((resolved.resolutions, note))
}

/// Refuses a plan with blocked principals, before any call.
fn refuse_blocked(plan: &Plan) -> anyhow::Result<()> {
    if plan.blocked.is_empty() {
        return Ok(());
    }
    let why: Vec<String> = plan
        .blocked
        .iter()
        .map(|b| format!("{}: {}", b.arn, b.reason))
        .collect();
    Err(fail(
        INVALID,
        format!("nothing was changed: {}", why.join("; ")),
    ))
}

/// The guards' verdict on `actions` over `entries`: an error (exit 4) unless
/// `--force`, else the note that says what was forced.
fn guard(
    cli: &Settings,
    entries: &BTreeMap<String, ExistingEntry>,
    actions: &[Action],
    guards: &EntryGuards,
) -> anyhow::Result<Option<String>> {
    guard_also(cli, entries, actions, guards, Vec::new())
}

/// [`guard`], with what a plan tripped by itself first.
fn guard_also(
    cli: &Settings,
    entries: &BTreeMap<String, ExistingEntry>,
    actions: &[Action],
    guards: &EntryGuards,
    mut tripped: Vec<String>,
) -> anyhow::Result<Option<String>> {
    tripped.extend(aws_auth_core::access::tripped(entries, actions, guards));
    if tripped.is_empty() {
        return Ok(None);
    }
    if !cli.force {
        return Err(fail(
            REFUSED,
            format!(
                "refused: this {}; nothing was changed (use --force to do it anyway)",
                tripped.join("; and ")
            ),
        ));
    }
    Ok(Some(format!("forced: {}", tripped.join("; "))))
}

/// Who the guards keep: the `--protect`ed principals and, when STS says who
/// is calling (with the same credentials and profile as the EKS calls), the
/// caller.
async fn entry_guards(eks: &Eks, cli: &Settings, t: &Target) -> (EntryGuards, Option<String>) {
    let me = eks.caller().await;
    let note = match &me {
        Ok(_) => None,
        Err(why) => Some(format!(
            "note: your own AWS identity was not found ({why}), so your own entry is not protected; --protect ARN protects it"
        )),
    };
    if let Ok(me) = &me {
        tracing::info!(caller = %me, "protecting the caller's own entry");
    }
    (
        EntryGuards::new()
            .caller(me.ok())
            .login(t.login.as_deref().and_then(|r| r.parse::<Arn>().ok()))
            .protected(cli.guards.protected.clone()),
        note,
    )
}

/// Carries `plan` out as [`Eks::carry_out`] does (grants first; what is
/// taken away only when every grant succeeded and one of `keepers` still
/// holds cluster-admin), or with `--dry-run` says what it would do.
async fn execute(
    cli: &Settings,
    eks: &Eks,
    info: &ClusterInfo,
    plan: Plan,
    update_existing: bool,
    keepers: &[String],
) -> anyhow::Result<Report> {
    if cli.dry_run() {
        return Ok(crate::migrate::report::plan(plan));
    }
    if plan.actions.is_empty() {
        remember_rate(eks.cluster(), eks);
        // Nothing to send; conflicts still make it exit 1, as apply does.
        return Ok(crate::migrate::report::apply(
            plan,
            info,
            Vec::new(),
            Vec::new(),
        ));
    }
    let bar = crate::migrate::progress_bar(plan.actions.len(), cli.output);
    let tick = crate::migrate::tick(bar.as_ref());
    let run = eks
        .carry_out(&plan, CONCURRENCY, update_existing, keepers, tick)
        .await;
    remember_rate(eks.cluster(), eks);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let not_sent = run.not_sent();
    let total = run.outcomes.len();
    let mut report = crate::migrate::report::apply(plan, info, run.outcomes, Vec::new());
    if not_sent > 0 {
        report.code = UNAVAILABLE;
        report.push_note(format!(
            "aws-auth: --timeout {} s passed with {not_sent} of {total} calls not sent (listed as skipped); run the command again to finish (it picks up where this one stopped), or give a longer --timeout",
            cli.kube.timeout.as_secs_f64(),
        ));
    }
    if let Some(why) = run.admin_lost {
        report.code = REFUSED;
        report.push_note(format!("aws-auth: {why}"));
    }
    Ok(report)
}

async fn add(cli: &Settings, t: &Target, a: &AccessAddArgs) -> anyhow::Result<Report> {
    // Checked before the first call (names without an ARN in a stand-in
    // account until the caller's is known).
    let unnamed = a.account.is_none()
        && a.from_file
            .as_deref()
            .is_some_and(crate::commands::names_without_arn);
    let stand_in = unnamed.then_some("000000000000");
    let probe = requests(a, "aws", a.account.as_deref().or(stand_in))?;
    let (eks, info) = session(cli, t).await?;
    let partition = probe
        .first()
        .map(|r| r.principal.partition().to_string())
        .unwrap_or_else(|| "aws".to_owned());
    let account = match &a.account {
        Some(id) => Some(id.clone()),
        None if unnamed => Some(
            eks.caller()
                .await
                .map_err(|why| {
                    fail(
                        crate::exit::CONFIG,
                        format!("the file names principals without an ARN, and your AWS account could not be found ({why}): give --account ID"),
                    )
                })?
                .account()
                .to_owned(),
        ),
        None => None,
    };
    let requests = requests(a, &partition, account.as_deref())?;
    put_entries(cli, t, &eks, &info, &requests, a.update_existing).await
}

/// Makes the entries `requests` name: created, or (with `update_existing`)
/// made to match; checked in IAM, guarded and paced as `access add` is.
pub(crate) async fn put_entries(
    cli: &Settings,
    t: &Target,
    eks: &Eks,
    info: &ClusterInfo,
    requests: &[EntryRequest],
    update_existing: bool,
) -> anyhow::Result<Report> {
    // The entries first: IAM is asked only about principals without one.
    let listed = eks.list_entries().await.map_err(eks_error)?;
    let (resolutions, unchecked) = resolve(eks, requests, &listed).await?;
    let principals =
        aws_auth_core::access::principals(requests, &resolutions, info.account.as_deref());
    // Of an existing entry, read only what the request names.
    let read = |p: &str| {
        requests
            .iter()
            .find(|r| {
                p.parse::<Arn>()
                    .is_ok_and(|p| same_principal(&r.principal, &p))
            })
            .map_or(
                aws_auth_core::entries::Read::Full,
                aws_auth_core::access::reads,
            )
    };
    let state = eks
        .state_listed(info, &listed, &principals, CONCURRENCY, read)
        .await
        .map_err(eks_error)?;
    let options = PlanOptions::new()
        .update_existing(update_existing)
        .named_only(true);
    let plan = aws_auth_core::access::plan(requests, &state, &resolutions, &options);
    refuse_blocked(&plan)?;
    if plan
        .actions
        .iter()
        .any(|x| matches!(x, Action::CreateAccessEntry { .. }))
    {
        let existing = eks.list_entries().await.map_err(eks_error)?.len();
        aws_auth_core::entries::within_limit(existing, &plan.actions)
            .map_err(|e| fail(INVALID, format!("{e}; nothing was created")))?;
    }
    let mut forced = None;
    let mut keepers = Vec::new();
    if update_existing
        && plan
            .actions
            .iter()
            .any(|x| !matches!(x, Action::CreateAccessEntry { .. }))
    {
        // Rewriting existing entries passes the guards; the last-admin one
        // needs every entry only when cluster-admin is being taken.
        let (entry_guards, _) = entry_guards(eks, cli, t).await;
        let entries = if aws_auth_core::access::takes_cluster_admin(&state.entries, &plan.actions) {
            all_entries(eks, info).await?
        } else {
            state.entries.clone()
        };
        forced = guard(cli, &entries, &plan.actions, &entry_guards)?;
        keepers = aws_auth_core::access::admin_keepers(&entries, &plan.actions);
    }
    let mut report = execute(cli, eks, info, plan, update_existing, &keepers).await?;
    report.prepend_notes(unchecked.into_iter().chain(forced));
    Ok(report)
}

pub(crate) async fn remove(
    cli: &Settings,
    t: &Target,
    a: &AccessRemoveArgs,
) -> anyhow::Result<Report> {
    let mut named: Vec<(String, Arn)> = Vec::new();
    for x in &a.arns {
        let arn: Arn = x.parse().map_err(|e| fail(INVALID, format!("{x}: {e}")))?;
        named.push((x.clone(), arn));
    }
    if let Some(path) = &a.from_file {
        for (line, x, user) in crate::commands::batch(path)? {
            if user.is_some() {
                return Err(fail(
                    INVALID,
                    format!("{}:{line}: expected one ARN on the line", path.display()),
                ));
            }
            let arn: Arn = x
                .parse()
                .map_err(|e| fail(INVALID, format!("{}:{line}: {e}", path.display())))?;
            named.push((x, arn));
        }
    }
    let (eks, info) = session(cli, t).await?;
    let ((entry_guards, note), entries) =
        tokio::join!(entry_guards(&eks, cli, t), all_entries(&eks, &info));
    let entries = entries?;
    let mut plan = Plan::empty(&t.cluster, Some(info.mode));
    let mut missing = Vec::new();
    for (written, arn) in &named {
        let found = entries
            .keys()
            .find(|p| p.parse::<Arn>().is_ok_and(|p| same_principal(arn, &p)));
        match found {
            Some(p) => plan.actions.push(Action::DeleteAccessEntry {
                principal_arn: p.clone(),
            }),
            None => missing.push(written.clone()),
        }
    }
    // As the map's `remove`: naming what is not there changes nothing.
    if !missing.is_empty() {
        return Err(fail(
            crate::exit::NOT_FOUND,
            format!(
                "{} {} no access entry in cluster {}; nothing was removed",
                missing.join(", "),
                if missing.len() == 1 { "has" } else { "have" },
                t.cluster
            ),
        ));
    }
    let forced = guard(cli, &entries, &plan.actions, &entry_guards)?;
    let keepers = aws_auth_core::access::admin_keepers(&entries, &plan.actions);
    let mut report = execute(cli, &eks, &info, plan, false, &keepers).await?;
    report.prepend_notes(note.into_iter().chain(forced));
    Ok(report)
}

/// The entry `written` names, and its principal as EKS has it: found
/// directly, else among all entries as IAM would (a role's path left out,
/// a name in another case).
pub(crate) async fn named_entry(
    eks: &Eks,
    written: &str,
    principal: &Arn,
) -> anyhow::Result<Option<(String, ExistingEntry)>> {
    if let Some(e) = eks.entry(written).await.map_err(eks_error)? {
        return Ok(Some((written.to_owned(), e)));
    }
    let found = eks
        .list_entries()
        .await
        .map_err(eks_error)?
        .into_iter()
        .find(|p| {
            p.parse::<Arn>()
                .is_ok_and(|p| same_principal(principal, &p))
        });
    let Some(p) = found else { return Ok(None) };
    Ok(eks.entry(&p).await.map_err(eks_error)?.map(|e| (p, e)))
}

/// The change `access update` names, checked before any call.
fn entry_change(a: &AccessUpdateArgs, partition: &str) -> anyhow::Result<EntryChange> {
    let resolve = |p: &String| {
        policy_arn(p, partition).ok_or_else(|| fail(INVALID, format!("{p}: no such access policy")))
    };
    let mut change = EntryChange::new();
    change.username = a.username.clone();
    if a.no_groups {
        change.groups = Some(Vec::new());
    } else if !a.groups.is_empty() {
        change.groups = Some(a.groups.clone());
    }
    for p in &a.add_policies {
        change = change.add_policy(association(resolve(p)?, &a.namespaces));
    }
    for p in &a.remove_policies {
        change = change.remove_policy(resolve(p)?);
    }
    if change.is_empty() {
        return Err(fail(
            crate::exit::USAGE,
            "nothing to update: give --username, --group, --no-groups, --add-policy or --remove-policy",
        ));
    }
    Ok(change)
}

async fn update(cli: &Settings, t: &Target, a: &AccessUpdateArgs) -> anyhow::Result<Report> {
    let principal: Arn = a
        .arn
        .parse()
        .map_err(|e| fail(INVALID, format!("{}: {e}", a.arn)))?;
    let change = entry_change(a, &principal.partition().to_string())?;
    let (eks, info) = session(cli, t).await?;
    let (arn, existing) = named_entry(&eks, &a.arn, &principal)
        .await?
        .ok_or_else(|| {
            fail(
                crate::exit::NOT_FOUND,
                format!("{} has no access entry in cluster {}", a.arn, t.cluster),
            )
        })?;
    let plan = aws_auth_core::access::plan_update(
        &t.cluster,
        info.mode,
        info.account.as_deref(),
        &arn,
        &existing,
        principal,
        &change,
    )
    .map_err(|e| fail(INVALID, e))?;
    let (entry_guards, _) = entry_guards(&eks, cli, t).await;
    // Taking cluster-admin asks whether anyone else holds it: every entry.
    let entries = if aws_auth_core::access::takes_cluster_admin(
        &BTreeMap::from([(arn.clone(), existing.clone())]),
        &plan.actions,
    ) {
        all_entries(&eks, &info).await?
    } else {
        BTreeMap::from([(arn, existing)])
    };
    let forced = guard(cli, &entries, &plan.actions, &entry_guards)?;
    let keepers = aws_auth_core::access::admin_keepers(&entries, &plan.actions);
    let mut report = execute(cli, &eks, &info, plan, true, &keepers).await?;
    report.prepend_notes(forced);
    Ok(report)
}

async fn sync(cli: &Settings, t: &Target, a: &AccessSyncArgs) -> anyhow::Result<Report> {
    let path = &a.entries;
    let text = crate::commands::read_text(path)?;
    // Checked before the first call.
    let requests = aws_auth_core::access::read_entries(&text).map_err(|e| {
        fail(
            INVALID,
            format!("{}: {e}; nothing was sent", path.display()),
        )
    })?;
    let (eks, info) = session(cli, t).await?;
    let (resolutions, unchecked) = resolve(&eks, &requests, &[]).await?;
    let ((entry_guards, note), entries) =
        tokio::join!(entry_guards(&eks, cli, t), all_entries(&eks, &info));
    let mut state = ClusterState::empty(&t.cluster, Some(info.mode));
    state.account = info.account.clone();
    state.entries = entries?;
    let planned = aws_auth_core::access::sync(
        &requests,
        &state,
        &resolutions,
        &SyncOptions::new()
            .prune(a.prune)
            // The reader refuses an empty, null or cut-short file: an empty
            // list was written out, and wants no entries on purpose.
            .prune_all(requests.is_empty())
            .cluster_created_at(info.created_at),
    );
    let own_guards = planned.guards;
    let mut plan = planned.plan;
    refuse_blocked(&plan)?;
    plan.unchanged.extend(
        planned
            .kept
            .into_iter()
            .map(|k| Unchanged::new(k.principal_arn, k.reason)),
    );
    aws_auth_core::entries::within_limit(state.entries.len(), &plan.actions)
        .map_err(|e| fail(INVALID, format!("{e}; nothing was changed")))?;
    let forced = guard_also(
        cli,
        &state.entries,
        &plan.actions,
        &entry_guards,
        own_guards,
    )?;
    let keepers = aws_auth_core::access::admin_keepers(&state.entries, &plan.actions);
    let mut report = execute(cli, &eks, &info, plan, true, &keepers).await?;
    report.prepend_notes(unchecked.into_iter().chain(note).chain(forced));
    Ok(report)
}
