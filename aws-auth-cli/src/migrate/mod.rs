//! `aws-auth migrate plan|apply|verify|finalize`.

pub(crate) mod aws;
pub(crate) mod report;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use aws_auth_core::Document;
use aws_auth_core::cluster::{Cluster, Snapshot};
use aws_auth_core::entries::{AuthenticationMode, ClusterState, Plan, PlanOptions, Resolutions};
use aws_auth_core::migrate;

use aws_auth_core::eks::{self, ClusterInfo, Eks};

use serde::Serialize;

use self::aws::eks_error;
use crate::cli::{ApplyArgs, FinalizeArgs, MigrateArgs, MigrateCommand, Output};
use crate::confirm::{self, Answer};
use crate::exit::{CONFIG, INTERNAL, REFUSED, USAGE, fail};
use crate::file::Target;
use crate::report::{Report, Text};
use crate::settings::Settings;

/// Calls in flight while reading (role paths, entries).
const READ_CONCURRENCY: usize = 8;

pub(crate) fn run(cli: &Settings, cmd: &MigrateCommand) -> anyhow::Result<Report> {
    // The calls wait on the network, not the CPU: one thread interleaves them.
    let runtime = crate::runtime()?;
    runtime.block_on(async {
        let offline_plan =
            matches!(cmd, MigrateCommand::Plan(a) if a.cluster.is_none() && cli.file.is_some());
        if offline_plan && let MigrateCommand::Plan(args) = cmd {
            return plan(cli, args).await;
        }
        let (common, found) = match cmd {
            MigrateCommand::Plan(a) | MigrateCommand::Verify(a) => with_cluster(cli, a)?,
            MigrateCommand::Apply(a) => with_cluster(cli, &a.common)?,
            MigrateCommand::Finalize(a) => with_cluster(cli, &a.common)?,
        };
        let (common, remembered) = with_role_map(common)?;
        let mut report = match cmd {
            MigrateCommand::Plan(_) => plan(cli, &common).await,
            MigrateCommand::Verify(_) => verify(cli, &common).await,
            MigrateCommand::Apply(a) => {
                let a = ApplyArgs {
                    common,
                    enable_api_mode: a.enable_api_mode,
                    concurrency: a.concurrency,
                };
                apply(cli, &a).await
            }
            MigrateCommand::Finalize(a) => {
                let a = FinalizeArgs {
                    common,
                    delete_configmap: a.delete_configmap,
                };
                finalize(cli, &a).await
            }
        }?;
        report.prepend_notes(found.into_iter().chain(remembered));
        Ok(report)
    })
}

/// `--cluster`, else the EKS cluster the kubeconfig context names (with
/// its region and profile unless given), as the `access` commands find it;
/// and the line that says where it came from.
fn with_cluster(
    cli: &Settings,
    args: &MigrateArgs,
) -> anyhow::Result<(MigrateArgs, Option<String>)> {
    if args.cluster.is_some() {
        return Ok((clone_args(args), None));
    }
    let found = crate::eks_context::from_kubeconfig(&cli.kube).map_err(|e| {
        let why = e
            .downcast_ref::<crate::exit::Exit>()
            .map_or_else(|| e.to_string(), |x| x.message.clone());
        fail(
            USAGE,
            format!("give --cluster NAME (the EKS cluster): {why}"),
        )
    })?;
    let note = format!(
        "aws-auth: cluster {} (from the kubeconfig context {:?})",
        found.name, found.context
    );
    Ok((
        MigrateArgs {
            cluster: Some(found.name),
            region: args.region.clone().or(found.region),
            profile: args.profile.clone().or(found.profile),
            ..clone_args(args)
        },
        Some(note),
    ))
}

/// `--role-arn-map` is kept for the cluster's later steps: given, its lines
/// are remembered (`$XDG_STATE_HOME/aws-auth/role-arn-maps/CLUSTER`);
/// not given, the remembered ones are used, and said.
fn with_role_map(mut args: MigrateArgs) -> anyhow::Result<(MigrateArgs, Option<String>)> {
    let Some(cluster) = args.cluster.clone() else {
        return Ok((args, None));
    };
    let Ok(dir) = crate::backup::state_dir("role-arn-maps") else {
        return Ok((args, None));
    };
    let kept = dir.join(crate::backup::safe_component(&cluster));
    match &args.role_arn_map {
        Some(path) => {
            // Checked before it is kept: a broken file is an error now.
            aws::read_role_map(path)?;
            let text = crate::commands::read_text(path)?;
            if std::fs::create_dir_all(&dir).is_ok() {
                let _ = std::fs::write(&kept, text);
            }
            Ok((args, None))
        }
        None if kept.is_file() => {
            args.role_arn_map = Some(kept.clone());
            Ok((
                args,
                Some(format!(
                    "aws-auth: using the --role-arn-map given before for cluster {cluster} (kept in {}; give --role-arn-map to replace it)",
                    kept.display()
                )),
            ))
        }
        None => Ok((args, None)),
    }
}

/// The `--role-arn-map` kept for `cluster` (see [`with_role_map`]), if
/// one was given before and still reads.
pub(crate) fn remembered_role_map(cluster: &str) -> BTreeMap<String, String> {
    crate::backup::state_dir("role-arn-maps")
        .ok()
        .map(|dir| dir.join(crate::backup::safe_component(cluster)))
        .filter(|kept| kept.is_file())
        .and_then(|kept| aws::read_role_map(&kept).ok())
        .unwrap_or_default()
}

fn cluster_name(args: &MigrateArgs) -> anyhow::Result<&str> {
    args.cluster
        .as_deref()
        .ok_or_else(|| fail(USAGE, "give --cluster NAME (the EKS cluster)"))
}

/// The live map, read through the kubeconfig context, which must point at
/// the cluster EKS describes (else we would migrate another cluster's map).
struct Live {
    cluster: Cluster,
    snapshot: Snapshot,
    context: String,
}

async fn read_map(
    cli: &Settings,
    info: Option<&ClusterInfo>,
    name: &str,
) -> anyhow::Result<(Document, Option<Live>)> {
    if let Some(path) = &cli.file {
        return Ok((Target::new(path).document()?, None));
    }
    let conn = crate::connect::connect(&cli.kube).await?;
    if let Some(endpoint) = info.and_then(|i| i.endpoint.as_deref()) {
        let norm = |u: &str| u.trim_end_matches('/').to_ascii_lowercase();
        if norm(endpoint) != norm(&conn.server) {
            return Err(fail(
                CONFIG,
                format!(
                    "the kubeconfig context {:?} points at {}, but the API of cluster {name} is at {endpoint}: choose its context with --context, or give the map with --file",
                    conn.context, conn.server
                ),
            ));
        }
    }
    let cluster = crate::connect::cluster(&conn, &cli.kube);
    let snapshot = cluster.require().await.map_err(|e| {
        fail(
            crate::exit::NOT_FOUND,
            format!("reading the aws-auth ConfigMap: {e}"),
        )
    })?;
    let doc = snapshot.document.clone();
    Ok((
        doc,
        Some(Live {
            cluster,
            snapshot,
            context: conn.context,
        }),
    ))
}

/// Everything a plan needs, read from AWS and the cluster.
struct Planned {
    aws: Eks,
    info: ClusterInfo,
    plan: Plan,
    live: Option<Live>,
}

async fn make_plan(
    cli: &Settings,
    args: &MigrateArgs,
    aws: Eks,
    info: ClusterInfo,
) -> anyhow::Result<Planned> {
    let (doc, live) = read_map(cli, Some(&info), aws.cluster()).await?;
    let role_map = match &args.role_arn_map {
        Some(path) => aws::read_role_map(path)?,
        None => BTreeMap::new(),
    };
    let roles = migrate::roles_to_resolve(&doc);
    let users = migrate::users_to_check(&doc);
    let resolutions = if roles.is_empty() && users.is_empty() {
        Resolutions::default()
    } else {
        let account = aws.caller_account().await.map_err(eks_error)?;
        let mut resolutions = aws
            .resolve_roles(roles, &account, &role_map, READ_CONCURRENCY)
            .await;
        aws.check_users(users, &account, &mut resolutions, READ_CONCURRENCY)
            .await;
        resolutions
    };
    let options = PlanOptions::new().update_existing(args.update_existing);
    // The principals the map stands for, then the cluster's entries for them.
    let principals = migrate::principals(&doc, &resolutions, info.account.as_deref());
    let state = aws
        .state(&info, &principals, READ_CONCURRENCY)
        .await
        .map_err(eks_error)?;
    let plan = migrate::plan(&doc, &state, &resolutions, &options);
    Ok(Planned {
        aws,
        info,
        plan,
        live,
    })
}

async fn plan(cli: &Settings, args: &MigrateArgs) -> anyhow::Result<Report> {
    let Some(name) = &args.cluster else {
        let Some(path) = &cli.file else {
            return Err(fail(
                USAGE,
                "give --cluster NAME, or --file PATH to plan offline against an empty cluster",
            ));
        };
        // Offline: no AWS call at all; role ARNs as written, unverified.
        let doc = Target::new(path).document()?;
        let cluster = ClusterState::empty(&Target::new(path).name(), None);
        let options = PlanOptions::new().update_existing(args.update_existing);
        let plan = migrate::plan(&doc, &cluster, &Resolutions::offline(), &options);
        return Ok(report::plan(plan));
    };
    let aws = aws::connect(args, name, cli.kube.request_timeout).await?;
    let info = aws.describe_cluster().await.map_err(eks_error)?;
    let planned = make_plan(cli, args, aws, info).await?;
    Ok(report::plan(planned.plan))
}

/// What a long wait is for, said before it starts: a spinner on a terminal,
/// else one line on stderr.
struct Announce {
    spinner: Option<indicatif::ProgressBar>,
}

impl Announce {
    fn new() -> Announce {
        Announce { spinner: None }
    }

    fn say(&mut self, message: &str) {
        if let Some(s) = self.spinner.take() {
            s.finish_and_clear();
        }
        if std::io::stderr().is_terminal() {
            let s = indicatif::ProgressBar::new_spinner();
            s.set_message(message.to_owned());
            s.enable_steady_tick(Duration::from_millis(120));
            self.spinner = Some(s);
        } else {
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr(), "{message}");
        }
    }
}

impl Drop for Announce {
    fn drop(&mut self) {
        if let Some(s) = self.spinner.take() {
            s.finish_and_clear();
        }
    }
}

/// A progress bar on a terminal (table output only).
pub(crate) fn progress_bar(len: usize, format: Output) -> Option<indicatif::ProgressBar> {
    let show = format == Output::Table && std::io::stderr().is_terminal();
    show.then(|| {
        let bar = indicatif::ProgressBar::new(len as u64);
        bar.set_style(
            // The ARN is cut to the terminal's width: one line, however narrow.
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    })
}

/// What hears of each action: the bar, else the log.
pub(crate) fn tick(bar: Option<&indicatif::ProgressBar>) -> eks::Tick {
    match bar {
        Some(bar) => {
            let bar = bar.clone();
            Arc::new(move |a, _| {
                bar.set_message(a.principal_arn().to_owned());
                bar.inc(1);
            })
        }
        None => Arc::new(|a, s| tracing::info!(action = %a, status = ?s, "done")),
    }
}

async fn apply(cli: &Settings, args: &ApplyArgs) -> anyhow::Result<Report> {
    let name = cluster_name(&args.common)?;
    let aws = aws::connect(&args.common, name, cli.kube.request_timeout).await?;
    let mut info = aws.describe_cluster().await.map_err(eks_error)?;
    let mut notes = Vec::new();
    if info.mode == AuthenticationMode::ConfigMap {
        if !args.enable_api_mode || cli.dry_run() {
            let planned = make_plan(cli, &args.common, aws.clone(), info.clone()).await?;
            if cli.dry_run() {
                return Ok(report::plan(planned.plan));
            }
            return Err(fail(
                REFUSED,
                format!(
                    "cluster {name} is in authentication mode CONFIG_MAP, where access entries do not exist; switching it to API_AND_CONFIG_MAP is one way (it cannot go back to CONFIG_MAP): run again with --enable-api-mode to do it ({} calls planned)",
                    planned.plan.actions.len()
                ),
            ));
        }
        let poll = args.common.poll_interval;
        let mut announce = Announce::new();
        aws.switch_mode(AuthenticationMode::ApiAndConfigMap, poll, |m| {
            announce.say(m)
        })
        .await
        .map_err(eks_error)?;
        drop(announce);
        notes.push(format!(
            "switched cluster {name} to authentication mode API_AND_CONFIG_MAP"
        ));
        info = aws.describe_cluster().await.map_err(eks_error)?;
    }
    let planned = make_plan(cli, &args.common, aws, info).await?;
    if cli.dry_run() {
        return Ok(report::plan(planned.plan));
    }
    let bar = progress_bar(planned.plan.actions.len(), cli.output);
    let tick = tick(bar.as_ref());
    let outcomes = planned
        .aws
        .apply(
            &planned.plan,
            args.concurrency as usize,
            args.common.update_existing,
            tick,
        )
        .await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(report::apply(planned.plan, &planned.info, outcomes, notes))
}

async fn verify(cli: &Settings, args: &MigrateArgs) -> anyhow::Result<Report> {
    let name = cluster_name(args)?;
    let aws = aws::connect(args, name, cli.kube.request_timeout).await?;
    let info = aws.describe_cluster().await.map_err(eks_error)?;
    // Drift is measured against the map as it is: never plan updates here.
    let plain = MigrateArgs {
        update_existing: false,
        ..clone_args(args)
    };
    let planned = make_plan(cli, &plain, aws, info).await?;
    Ok(report::verify(planned.plan))
}

/// `migrate finalize`: the switch to `API`, and the map deleted with it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Finalized {
    cluster: String,
    authentication_mode: AuthenticationMode,
    /// The switch was made by this run (not before it, not a dry run).
    switched: bool,
    dry_run: bool,
    /// `namespace/name` of the ConfigMap deleted, and its backup.
    #[serde(skip_serializing_if = "Option::is_none")]
    deleted: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    backup: Option<String>,
}

impl Text for Finalized {
    fn text(&self) -> String {
        let name = &self.cluster;
        if self.dry_run {
            return format!(
                "dry run: cluster {name} would be switched to API; nothing was changed\n"
            );
        }
        if !self.switched {
            return format!("cluster {name} already uses authentication mode API\n");
        }
        let mut s = format!(
            "cluster {name} now uses authentication mode API: access entries only, aws-auth is no longer read\n"
        );
        if let (Some(object), Some(backup)) = (&self.deleted, &self.backup) {
            s.push_str(&format!("deleted {object} (backup: {backup})\n"));
        }
        s
    }
}

async fn finalize(cli: &Settings, args: &FinalizeArgs) -> anyhow::Result<Report> {
    let name = cluster_name(&args.common)?;
    let aws = aws::connect(&args.common, name, cli.kube.request_timeout).await?;
    let info = aws.describe_cluster().await.map_err(eks_error)?;
    let mut result = Finalized {
        cluster: name.to_owned(),
        authentication_mode: info.mode,
        switched: false,
        dry_run: false,
        deleted: None,
        backup: None,
    };
    match info.mode {
        AuthenticationMode::Api => return Ok(Report::new(result)),
        AuthenticationMode::ConfigMap => {
            return Err(fail(
                REFUSED,
                format!(
                    "cluster {name} is in authentication mode CONFIG_MAP: EKS cannot switch it to API directly; run `aws-auth migrate apply --cluster {name} --enable-api-mode` first"
                ),
            ));
        }
        AuthenticationMode::ApiAndConfigMap => {}
    }
    if args.delete_configmap && cli.file.is_some() {
        return Err(fail(
            USAGE,
            "--delete-configmap deletes the live ConfigMap: drop --file",
        ));
    }
    let plain = MigrateArgs {
        update_existing: false,
        ..clone_args(&args.common)
    };
    let planned = make_plan(cli, &plain, aws, info).await?;
    let mut warning = None;
    if !planned.plan.is_final() {
        let why = report::not_final(&planned.plan);
        if !cli.force {
            return Err(fail(
                REFUSED,
                format!(
                    "refused to switch cluster {name} to API: {why}; those principals would lose access (fix them, or use --force to switch anyway)"
                ),
            ));
        }
        warning = Some(format!(
            "WARNING: switching cluster {name} to API although {why}: those principals LOSE ACCESS now"
        ));
    }
    let report = |result: Finalized| {
        let report = Report::new(result);
        match &warning {
            Some(w) => report.note(w.clone()),
            None => report,
        }
    };
    if cli.dry_run() {
        result.dry_run = true;
        return Ok(report(result));
    }
    let question = format!(
        "Switch cluster {name} to authentication mode API? aws-auth will no longer be read, and EKS cannot switch back"
    );
    match confirm::ask(&question, cli.yes) {
        Answer::Yes => {}
        Answer::No => return Err(fail(REFUSED, "not confirmed; nothing was changed")),
        Answer::NoTerminal => {
            return Err(fail(
                REFUSED,
                "the switch to API is one way: give --yes to confirm without a terminal; nothing was changed",
            ));
        }
    }
    let poll = args.common.poll_interval;
    let mut announce = Announce::new();
    planned
        .aws
        .switch_mode(AuthenticationMode::Api, poll, |m| announce.say(m))
        .await?;
    drop(announce);
    result.switched = true;
    result.authentication_mode = AuthenticationMode::Api;
    if args.delete_configmap {
        let live = planned
            .live
            .ok_or_else(|| fail(INTERNAL, "the live map was not read"))?;
        let dir = crate::backup::default_dir(&live.context)?;
        // Backed up, then annotated with the reason (a validating webhook
        // lets a delete through only when the object says so, for a while
        // short enough to serve this delete alone), then deleted.
        let backup = live
            .cluster
            .retire(
                &live.snapshot,
                &format!(
                    "deleted by aws-auth migrate finalize: cluster {name} uses access entries only"
                ),
                std::time::Duration::from_secs(600),
                |prior| {
                    crate::backup::save(&prior.config_map, &dir, None)
                        .map(|p| p.display().to_string())
                        .map_err(Into::into)
                },
            )
            .await
            .map_err(|e| match e {
                aws_auth_core::cluster::ClusterError::Hook(e) => {
                    match e.downcast::<crate::exit::Exit>() {
                        Ok(x) => fail(x.code, x.message),
                        Err(e) => fail(crate::exit::IO, e.to_string()),
                    }
                }
                e => fail(
                    crate::exit::CONFLICT,
                    format!("deleting the aws-auth ConfigMap: {e}"),
                ),
            })?;
        result.deleted = Some(live.cluster.object_name());
        result.backup = Some(backup);
    }
    Ok(report(result))
}

fn clone_args(a: &MigrateArgs) -> MigrateArgs {
    MigrateArgs {
        cluster: a.cluster.clone(),
        region: a.region.clone(),
        profile: a.profile.clone(),
        role_arn_map: a.role_arn_map.clone(),
        update_existing: a.update_existing,
        poll_interval: a.poll_interval,
    }
}
