//! `aws-auth access get|add|remove`: EKS access entries directly, checked
//! before any call, paced, idempotent, guarded.

use std::fmt::Write as _;
use std::sync::Arc;

use aws_auth_core::access::{EntryRequest, association, policy_arn};
use aws_auth_core::arn::{Arn, PrincipalKind};
use aws_auth_core::edit::Guards;
use aws_auth_core::migrate::eks::{ClusterInfo, Eks};
use aws_auth_core::migrate::{
    AuthenticationMode, EntryType, ExistingEntry, PlanOptions, Resolutions,
};

use crate::cli::{
    AccessAddArgs, AccessCluster, AccessCommand, AccessRemoveArgs, AccessUpdateArgs, Cli,
    MigrateArgs, Output,
};
use crate::commands::Report;
use crate::exit::{INTERNAL, INVALID, OK, REFUSED, fail};
use crate::migrate::aws::{connect, eks_error};
use crate::output;

/// Calls in flight while reading and writing.
const CONCURRENCY: usize = 8;

pub(crate) fn run(cli: &Cli, cmd: &AccessCommand, guards: &Guards) -> anyhow::Result<Report> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(INTERNAL, format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        match cmd {
            AccessCommand::Get(a) => get(cli, a).await,
            AccessCommand::Add(a) => add(cli, a).await,
            AccessCommand::Update(a) => update(cli, a, guards).await,
            AccessCommand::Remove(a) => remove(cli, a, guards).await,
        }
    })
}

async fn session(a: &AccessCluster) -> anyhow::Result<(Eks, ClusterInfo)> {
    let args = MigrateArgs {
        cluster: Some(a.cluster.clone()),
        region: a.region.clone(),
        profile: a.profile.clone(),
        role_arn_map: None,
        update_existing: false,
        poll_interval: std::time::Duration::from_secs(5),
    };
    let eks = connect(&args, &a.cluster).await?;
    let info = eks.describe_cluster().await.map_err(eks_error)?;
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

/// Every entry, in full.
async fn all_entries(eks: &Eks, info: &ClusterInfo) -> anyhow::Result<Vec<ExistingEntry>> {
    let principals = eks.list_entries().await.map_err(eks_error)?;
    let state = eks
        .state(info, &principals, CONCURRENCY)
        .await
        .map_err(eks_error)?;
    if let Some((p, why)) = state.unreadable.iter().next() {
        return Err(fail(crate::exit::UNAVAILABLE, format!("{p}: {why}")));
    }
    Ok(state.entries.into_values().collect())
}

async fn get(cli: &Cli, a: &AccessCluster) -> anyhow::Result<Report> {
    let (eks, info) = session(a).await?;
    let entries = all_entries(&eks, &info).await?;
    let stdout = match cli.global.output {
        Output::Table => {
            let rows: Vec<Vec<String>> = entries
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
                                    aws_auth_core::migrate::policy_name(&p.policy_arn),
                                    p.access_scope
                                )
                            })
                            .collect::<Vec<_>>()
                            .join(", "),
                    ]
                })
                .collect();
            if rows.is_empty() {
                "no access entries\n".to_owned()
            } else {
                output::table(
                    &["PRINCIPAL", "TYPE", "USERNAME", "GROUPS", "POLICIES"],
                    &rows,
                )
            }
        }
        format => {
            let list: Vec<serde_json::Value> = entries
                .iter()
                .map(|e| {
                    serde_json::json!({"principalArn": e.principal_arn, "type": e.kind.to_string(), "username": e.username,
                        "kubernetesGroups": e.kubernetes_groups, "accessPolicies": e.policies})
                })
                .collect();
            output::structured(format, &list)?
        }
    };
    Ok(Report {
        stdout,
        stderr: String::new(),
        code: OK,
    })
}

/// The requests an `add` names, checked before any call.
fn requests(a: &AccessAddArgs, partition: &str) -> anyhow::Result<Vec<EntryRequest>> {
    let kind = EntryType::from_name(&a.kind.to_ascii_uppercase());
    if kind.to_string() != a.kind.to_ascii_uppercase() {
        return Err(fail(
            INVALID,
            format!("--type {}: not an access entry type", a.kind),
        ));
    }
    let mut policies = Vec::new();
    for p in &a.policies {
        let arn = policy_arn(p, partition).ok_or_else(|| {
            fail(INVALID, format!("--policy {p}: no such access policy (cluster-admin, admin, edit, view, admin-view, or an AmazonEKS… name or ARN)"))
        })?;
        policies.push(association(arn, &a.namespaces));
    }
    let mut named: Vec<(String, Option<String>)> =
        a.arns.iter().map(|x| (x.clone(), None)).collect();
    if let Some(path) = &a.from_file {
        for (_, arn, user) in crate::commands::batch(path)? {
            named.push((arn, user));
        }
    }
    let mut out = Vec::new();
    for (arn, user) in named {
        let principal: Arn = arn
            .parse()
            .map_err(|e| fail(INVALID, format!("{arn}: {e}")))?;
        let mut r = EntryRequest::standard(principal);
        r.kind = kind.clone();
        r.username = user.or_else(|| a.username.clone());
        r.groups = a.groups.clone();
        r.policies = policies.clone();
        r.check().map_err(|e| fail(INVALID, e))?;
        out.push(r);
    }
    if out.len() > aws_auth_core::access::MAX_ENTRIES {
        return Err(fail(
            INVALID,
            format!(
                "{} entries: a cluster holds at most {}",
                out.len(),
                aws_auth_core::access::MAX_ENTRIES
            ),
        ));
    }
    Ok(out)
}

async fn add(cli: &Cli, a: &AccessAddArgs) -> anyhow::Result<Report> {
    // Checked before the first call.
    let probe = requests(a, "aws")?;
    let (eks, info) = session(&a.aws).await?;
    let partition = probe
        .first()
        .map(|r| r.principal.partition().to_string())
        .unwrap_or_else(|| "aws".to_owned());
    let requests = requests(a, &partition)?;
    let account = eks.caller_account().await.map_err(eks_error)?;
    let roles: Vec<Arn> = requests
        .iter()
        .filter(|r| r.principal.kind() == PrincipalKind::Role)
        .map(|r| r.principal.clone())
        .collect();
    let users: Vec<Arn> = requests
        .iter()
        .filter(|r| r.principal.kind() == PrincipalKind::User)
        .map(|r| r.principal.clone())
        .collect();
    let mut resolutions: Resolutions = eks
        .resolve_roles(roles, &account, &Default::default(), CONCURRENCY)
        .await;
    eks.check_users(users, &account, &mut resolutions, CONCURRENCY)
        .await;
    let principals =
        aws_auth_core::access::principals(&requests, &resolutions, info.account.as_deref());
    let state = eks
        .state(&info, &principals, CONCURRENCY)
        .await
        .map_err(eks_error)?;
    let options = PlanOptions::new().update_existing(a.update_existing);
    let plan = aws_auth_core::access::plan(&requests, &state, &resolutions, &options);
    if !plan.blocked.is_empty() {
        let mut s = String::new();
        for b in &plan.blocked {
            let _ = writeln!(s, "{}: {}", b.arn, b.reason);
        }
        return Err(fail(
            INVALID,
            format!("nothing was created: {}", s.trim_end().replace('\n', "; ")),
        ));
    }
    if cli.global.dry_run.is_some() || plan.actions.is_empty() {
        return crate::migrate::report::plan(&plan, cli.global.output);
    }
    let outcomes = eks
        .apply(&plan, CONCURRENCY, a.update_existing, Arc::new(|_, _| {}))
        .await;
    crate::migrate::report::apply(&plan, &info, &outcomes, &[], cli.global.output)
}

/// The AmazonEKSClusterAdminPolicy at cluster scope.
fn is_cluster_admin(e: &ExistingEntry) -> bool {
    e.policies.iter().any(|p| {
        aws_auth_core::migrate::policy_name(&p.policy_arn) == "AmazonEKSClusterAdminPolicy"
            && p.access_scope.kind == "cluster"
    })
}

/// A role's account and name, or a user's ARN: what names the same principal
/// whatever the role's path.
fn same_principal(a: &Arn, b: &Arn) -> bool {
    a.canonical()
        .to_string()
        .eq_ignore_ascii_case(&b.canonical().to_string())
        || (a.kind() == PrincipalKind::Role
            && b.kind() == PrincipalKind::Role
            && a.account() == b.account()
            && a.name().eq_ignore_ascii_case(b.name()))
}

async fn remove(cli: &Cli, a: &AccessRemoveArgs, guards: &Guards) -> anyhow::Result<Report> {
    let g = &cli.global;
    let mut named = Vec::new();
    for x in &a.arns {
        let arn: Arn = x.parse().map_err(|e| fail(INVALID, format!("{x}: {e}")))?;
        named.push(arn);
    }
    let (eks, info) = session(&a.aws).await?;
    let (entries, me) = tokio::join!(
        all_entries(&eks, &info),
        crate::identity::caller(std::time::Duration::from_secs(5))
    );
    let entries = entries?;
    let going: Vec<&ExistingEntry> = entries
        .iter()
        .filter(|e| {
            e.principal_arn
                .parse::<Arn>()
                .is_ok_and(|p| named.iter().any(|n| same_principal(n, &p)))
        })
        .collect();
    // The guards, as for the map.
    let mut tripped = Vec::new();
    for e in &going {
        let p: Arn = e
            .principal_arn
            .parse()
            .map_err(|x| fail(INTERNAL, format!("{x}")))?;
        if e.kind != EntryType::Standard {
            tripped.push(format!(
                "would remove the {} entry of {}: nodes using it would stop joining",
                e.kind, e.principal_arn
            ));
        }
        if let Ok(me) = &me
            && same_principal(me, &p)
        {
            tripped.push(format!("would remove your own entry ({})", e.principal_arn));
        }
        if guards.protected.iter().any(|x| same_principal(x, &p)) {
            tripped.push(format!(
                "would remove the entry of the protected principal {}",
                e.principal_arn
            ));
        }
    }
    let admins = entries.iter().filter(|e| is_cluster_admin(e)).count();
    let admins_going = going.iter().filter(|e| is_cluster_admin(e)).count();
    if admins > 0 && admins == admins_going {
        tripped.push("would remove the last entry with AmazonEKSClusterAdminPolicy at cluster scope: nobody could administer the cluster through access entries".to_owned());
    }
    if !tripped.is_empty() && !g.force {
        return Err(fail(
            REFUSED,
            format!(
                "refused: this {}; nothing was deleted (use --force to do it anyway)",
                tripped.join("; and ")
            ),
        ));
    }
    let mut out = String::new();
    let missing: Vec<String> = named
        .iter()
        .filter(|n| {
            !going.iter().any(|e| {
                e.principal_arn
                    .parse::<Arn>()
                    .is_ok_and(|p| same_principal(n, &p))
            })
        })
        .map(|n| n.to_string())
        .collect();
    for m in &missing {
        let _ = writeln!(out, "unchanged: {m} has no access entry");
    }
    for e in going {
        if g.dry_run.is_some() {
            let _ = writeln!(out, "would delete the access entry of {}", e.principal_arn);
            continue;
        }
        let deleted = eks
            .delete_entry(&e.principal_arn)
            .await
            .map_err(eks_error)?;
        let _ = writeln!(
            out,
            "{} the access entry of {}",
            if deleted { "deleted" } else { "already gone:" },
            e.principal_arn
        );
    }
    Ok(Report {
        stdout: out,
        stderr: if tripped.is_empty() {
            String::new()
        } else {
            format!("forced: {}\n", tripped.join("; "))
        },
        code: OK,
    })
}

async fn update(cli: &Cli, a: &AccessUpdateArgs, guards: &Guards) -> anyhow::Result<Report> {
    let principal: Arn = a
        .arn
        .parse()
        .map_err(|e| fail(INVALID, format!("{}: {e}", a.arn)))?;
    let partition = principal.partition().to_string();
    let resolve = |names: &[String]| -> anyhow::Result<Vec<String>> {
        names
            .iter()
            .map(|p| {
                policy_arn(p, &partition)
                    .ok_or_else(|| fail(INVALID, format!("{p}: no such access policy")))
            })
            .collect()
    };
    let (add, drop) = (resolve(&a.add_policies)?, resolve(&a.remove_policies)?);
    if a.username.is_none() && a.groups.is_empty() && add.is_empty() && drop.is_empty() {
        return Err(fail(
            crate::exit::USAGE,
            "nothing to update: give --username, --group, --add-policy or --remove-policy",
        ));
    }
    let (eks, info) = session(&a.aws).await?;
    let existing = eks.entry(&a.arn).await.map_err(eks_error)?.ok_or_else(|| {
        fail(
            crate::exit::NOT_FOUND,
            format!("{} has no access entry in cluster {}", a.arn, a.aws.cluster),
        )
    })?;
    if existing.kind != EntryType::Standard {
        return Err(fail(
            INVALID,
            format!(
                "{}: a {} entry takes no username, groups or policies",
                a.arn, existing.kind
            ),
        ));
    }
    let mut request = EntryRequest::standard(principal.clone());
    request.username = a.username.clone().or_else(|| existing.username.clone());
    request.groups = if a.groups.is_empty() {
        existing.kubernetes_groups.clone()
    } else {
        a.groups.clone()
    };
    request.policies = existing
        .policies
        .iter()
        .filter(|p| !drop.contains(&p.policy_arn))
        .cloned()
        .collect();
    for p in add {
        request.policies.retain(|x| x.policy_arn != p);
        request.policies.push(association(p, &a.namespaces));
    }
    request.check().map_err(|e| fail(INVALID, e))?;
    // Taking cluster-admin from the last entry holding it (or from a
    // protected principal) is guarded like removing that entry.
    let takes_admin = is_cluster_admin(&existing)
        && existing.policies.iter().any(|p| {
            drop.contains(&p.policy_arn)
                && aws_auth_core::migrate::policy_name(&p.policy_arn)
                    == "AmazonEKSClusterAdminPolicy"
        });
    if takes_admin && !cli.global.force {
        let entries = all_entries(&eks, &info).await?;
        let admins = entries.iter().filter(|e| is_cluster_admin(e)).count();
        let protected = guards
            .protected
            .iter()
            .any(|x| same_principal(x, &principal));
        if admins <= 1 || protected {
            return Err(fail(
                REFUSED,
                format!(
                    "refused: this would take AmazonEKSClusterAdminPolicy from {}{}; nothing was changed (use --force to do it anyway)",
                    a.arn,
                    if protected {
                        ", a protected principal"
                    } else {
                        ", the last entry holding it at cluster scope"
                    }
                ),
            ));
        }
    }
    let mut state = aws_auth_core::migrate::ClusterState::empty(&a.aws.cluster, Some(info.mode));
    state.account = info.account.clone();
    state.entries.insert(a.arn.clone(), existing);
    let mut resolutions = Resolutions::default();
    resolutions.insert(
        &a.arn,
        aws_auth_core::migrate::Resolution::Resolved(a.arn.clone()),
    );
    let plan = aws_auth_core::access::plan(
        &[request],
        &state,
        &resolutions,
        &PlanOptions::new().update_existing(true),
    );
    if cli.global.dry_run.is_some() || plan.actions.is_empty() {
        return crate::migrate::report::plan(&plan, cli.global.output);
    }
    let outcomes = eks
        .apply(&plan, CONCURRENCY, true, Arc::new(|_, _| {}))
        .await;
    crate::migrate::report::apply(&plan, &info, &outcomes, &[], cli.global.output)
}
