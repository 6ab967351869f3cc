//! Where the map is: a manifest file (`--file`) or the live cluster. Every map
//! command is one arm of one match, whichever it is; what a source cannot do
//! (a backup of a file) is its own clear error.

use std::path::Path;

use aws_auth_core::Document;
use aws_auth_core::edit::{Op, SyncSpec};
use aws_auth_core::explain::LoginContext;
use aws_auth_core::lint::{Diagnostic, LintOptions};

use crate::cli::{DryRun, MapCommand};
use crate::commands::{self, Ops};
use crate::exit::{self, Exit, USAGE, fail};
use crate::file::{self, Target};
use crate::live::Session;
use crate::report::Report;
use crate::settings::Settings;
use crate::who;

/// The map's home for one command (one of them is made per run).
#[allow(clippy::large_enum_variant)]
pub(crate) enum Source {
    File(Target),
    Cluster(Session),
}

/// Runs a map command on the file or the cluster the settings name.
pub(crate) fn run(s: &Settings, cmd: &MapCommand) -> anyhow::Result<Report> {
    let runtime = crate::runtime()?;
    runtime.block_on(run_async(s, cmd))
}

/// `status`: what `audit` reads, and the migration planned against it.
async fn status(
    g: &Settings,
    source: &Source,
    args: &crate::cli::StatusArgs,
) -> anyhow::Result<Report> {
    let wanted = who::Wanted {
        entries: &args.sources.entries,
        depth: who::Depth::Full,
        iam: who::Iam::Everyone,
        rbac: Some(args.sources.rbac.as_deref()),
        map_optional: true,
        quiet_without_eks: false,
    };
    let gathered = who::gather(g, source, &wanted).await?;
    let name = match (&gathered.cluster, source) {
        (Some(cluster), _) => cluster.clone(),
        (None, Source::File(t)) => t.name(),
        (None, Source::Cluster(s)) => s.object().to_owned(),
    };
    let role_map = gathered
        .cluster
        .as_deref()
        .map(crate::migrate::remembered_role_map)
        .unwrap_or_default();
    Ok(crate::answers::status(
        &gathered,
        &name,
        &role_map,
        args.strict,
    ))
}

/// `fleet` for one cluster: its `status`.
pub(crate) fn run_status(s: &Settings, args: &crate::cli::StatusArgs) -> anyhow::Result<Report> {
    let runtime = crate::runtime()?;
    runtime.block_on(async { status(s, &open(s).await?, args).await })
}

/// The file, or a session with the cluster.
async fn open(g: &Settings) -> anyhow::Result<Source> {
    Ok(match &g.file {
        Some(path) => {
            if g.dry_run == Some(DryRun::Server) {
                return Err(fail(USAGE, "--dry-run=server needs a cluster; drop --file"));
            }
            Source::File(Target::new(path))
        }
        None => Source::Cluster(Session::connect(g).await?),
    })
}

async fn run_async(g: &Settings, cmd: &MapCommand) -> anyhow::Result<Report> {
    let source = open(g).await?;
    match cmd {
        MapCommand::Get { sources } => {
            let wanted = who::Wanted {
                entries: sources,
                depth: who::Depth::Listed,
                iam: who::Iam::Nobody,
                rbac: None,
                map_optional: false,
                quiet_without_eks: true,
            };
            Ok(commands::get(who::gather(g, &source, &wanted).await?))
        }
        MapCommand::Lint {
            strict,
            extension_keys,
        } => {
            let options = extension_keys
                .iter()
                .fold(LintOptions::new(), |o, k| o.extension_key(k));
            source.lint(*strict, &options).await
        }
        MapCommand::Explain {
            arn,
            access_key_id,
            private_dns_name,
            sources,
        } => {
            let mut login = LoginContext::new();
            login.access_key_id = access_key_id.clone();
            login.private_dns_name = private_dns_name.clone();
            let principal: aws_auth_core::arn::Arn = arn
                .parse()
                .map_err(|e: aws_auth_core::arn::ArnError| fail(exit::INVALID, e.to_string()))?;
            let wanted = who::Wanted {
                entries: &sources.entries,
                depth: who::Depth::Of(principal.clone()),
                iam: who::Iam::These(vec![principal]),
                rbac: Some(sources.rbac.as_deref()),
                map_optional: true,
                quiet_without_eks: false,
            };
            let gathered = who::gather(g, &source, &wanted).await?;
            crate::answers::explain(&gathered, arn, &login)
        }
        MapCommand::Audit { strict, sources } => {
            let wanted = who::Wanted {
                entries: &sources.entries,
                depth: who::Depth::Full,
                iam: who::Iam::Everyone,
                rbac: Some(sources.rbac.as_deref()),
                map_optional: true,
                quiet_without_eks: false,
            };
            let gathered = who::gather(g, &source, &wanted).await?;
            let (name, manifest) = match &source {
                Source::File(t) => (t.name(), true),
                Source::Cluster(s) => (s.object().to_owned(), false),
            };
            Ok(crate::answers::audit(&gathered, &name, manifest, *strict))
        }
        MapCommand::Status(args) => status(g, &source, args).await,
        MapCommand::Add(c) => {
            let account = names_account(g, c).await?;
            source
                .edit(g, commands::add_ops(c, account.as_deref())?)
                .await
        }
        MapCommand::Update(c) => source.edit(g, commands::update_ops(c)?).await,
        MapCommand::Remove(args) => source.edit(g, commands::remove_ops(args)?).await,
        MapCommand::Sync {
            desired: file,
            owner,
            prune,
            adopt,
            marker,
        } => {
            let text = commands::read_text(file)?;
            let (roles, users) = aws_auth_core::edit::read_desired(&text)
                .map_err(|e| fail(exit::INVALID, format!("{}: {e}", file.display())))?;
            // The reader refuses an empty, null or cut-short file: empty
            // lists here were written out, and want nothing on purpose.
            let explicitly_empty = roles.is_empty() && users.is_empty();
            let mut spec = SyncSpec::new(owner)
                .marker(marker)
                .prune(*prune)
                .adopt(*adopt)
                .prune_all(explicitly_empty);
            spec.roles = roles;
            spec.users = users;
            let ops = Ops::one(Op::Sync(spec));
            source.edit(g, ops).await
        }
        MapCommand::Protect { arns } => match &source {
            Source::Cluster(s) => s.protect(g, arns, true).await,
            Source::File(_) => Err(fail(
                USAGE,
                "protect and unprotect work on a cluster; in a manifest, edit its aws-auth/protected annotation",
            )),
        },
        MapCommand::Unprotect { arns } => match &source {
            Source::Cluster(s) => s.protect(g, arns, false).await,
            Source::File(_) => Err(fail(
                USAGE,
                "protect and unprotect work on a cluster; in a manifest, edit its aws-auth/protected annotation",
            )),
        },
        MapCommand::Backup { out } => match &source {
            Source::Cluster(s) => s.backup(out.as_deref()).await,
            Source::File(_) => Err(cluster_only()),
        },
        MapCommand::Restore { backup } => match &source {
            Source::Cluster(s) => s.restore(g, backup).await,
            Source::File(_) => Err(cluster_only()),
        },
    }
}

/// The account of the names a `--from-file` list gives without an ARN:
/// `--account`, else the caller's (asked of STS only then).
async fn names_account(g: &Settings, c: &crate::cli::AddCommand) -> anyhow::Result<Option<String>> {
    let (crate::cli::AddCommand::Role(m) | crate::cli::AddCommand::User(m)) = c else {
        return Ok(None);
    };
    if m.account.is_some() {
        return Ok(m.account.clone());
    }
    match &m.from_file {
        Some(path) if commands::names_without_arn(path) => {
            let me = crate::identity::caller(g.kube.request_timeout, None, None)
                .await
                .map_err(|why| {
                    fail(
                        exit::CONFIG,
                        format!(
                            "{} names principals without an ARN, and your AWS account could not be found ({why}): give --account ID",
                            path.display()
                        ),
                    )
                })?;
            Ok(Some(me.account().to_owned()))
        }
        _ => Ok(None),
    }
}

fn cluster_only() -> anyhow::Error {
    fail(
        USAGE,
        "backup and restore work on a cluster; with --file, copy the file instead",
    )
}

impl Source {
    /// The live cluster's session, unless the map is a file.
    pub(crate) fn session(&self) -> Option<&Session> {
        match self {
            Source::Cluster(s) => Some(s),
            Source::File(_) => None,
        }
    }

    /// The map.
    pub(crate) async fn document(&self) -> anyhow::Result<Document> {
        match self {
            Source::File(target) => target.document(),
            Source::Cluster(s) => Ok(s.read().await?.document),
        }
    }

    /// Lint, each finding placed where an editor finds it: the file's line
    /// and column, or the data key's.
    async fn lint(&self, strict: bool, options: &LintOptions) -> anyhow::Result<Report> {
        match self {
            Source::File(target) => {
                let name = target.name();
                let diagnostics = aws_auth_core::lint::lint_manifest_with(&target.read()?, options);
                let place =
                    |d: &Diagnostic| format!("{name}:{}:{}", d.position.line, d.position.column);
                Ok(commands::lint(&name, diagnostics, &place, strict))
            }
            Source::Cluster(s) => {
                let object = s.object().to_owned();
                let diagnostics =
                    aws_auth_core::lint::lint_with(&s.read().await?.document, options);
                let place = |d: &Diagnostic| match d.key {
                    Some(key) => format!(
                        "{object}:data.{key}:{}:{}",
                        d.position.line, d.position.column
                    ),
                    None => object.clone(),
                };
                Ok(commands::lint(&object, diagnostics, &place, strict))
            }
        }
    }

    async fn edit(&self, g: &Settings, ops: Ops) -> anyhow::Result<Report> {
        match self {
            Source::File(target) => edit_file(g, target, ops),
            Source::Cluster(s) => s.edit(g, ops).await,
        }
    }
}

/// Edits a manifest file (or stdin to stdout) in place.
pub(crate) fn edit_file(g: &Settings, target: &Target, ops: Ops) -> anyhow::Result<Report> {
    let name = target.name();
    // --create starts a manifest that does not exist yet.
    let can_start = ops.ops.iter().all(Op::can_start_a_map);
    let create = matches!(target, Target::Path(p) if !Path::new(p).exists()) && g.kube.create;
    if create && !can_start {
        return Err(fail(
            exit::USAGE,
            "--create makes a new manifest for add and sync only",
        ));
    }
    let doc = if create {
        Document::parse_manifest(file::NEW_MANIFEST)
            .map_err(|e| fail(exit::INTERNAL, e.to_string()))?
    } else {
        target
            .document()
            .map_err(|e| match e.downcast_ref::<Exit>() {
                Some(x) if x.code == exit::NOT_FOUND && can_start => fail(
                    exit::NOT_FOUND,
                    format!("{} (add --create to start a new manifest)", x.message),
                ),
                _ => e,
            })?
    };
    // The manifest's own protections count like --protect.
    let guards = g.guards.for_writer(
        doc.annotation(aws_auth_core::admission::PROTECTED_ANNOTATION),
        None,
    );
    let edited = doc
        .edit(&ops.ops, &guards)
        .map_err(|e| commands::edit_error(&name, &ops, e))?;
    commands::confirm_forced(&edited, g)?;
    let dry_run = g.dry_run();
    if dry_run {
        return Ok(commands::edit_report(edited, &ops, true, None));
    }
    let text = edited
        .manifest()
        .map_err(|e| fail(exit::INTERNAL, e.to_string()))?
        .to_owned();
    let unchanged = edited.is_noop();
    let report = commands::edit_report(edited, &ops, false, None);
    match target {
        // stdout carries the manifest, edited or not; the summary goes to stderr.
        Target::Stdio => return Ok(report.passthrough(text)),
        Target::Path(_) if create => target.create(&text)?,
        Target::Path(_) if !unchanged => target.write(&text)?,
        Target::Path(_) => {}
    }
    Ok(report)
}
