//! What the map wants against what the cluster has.

use std::collections::BTreeSet;

use super::{
    Action, Blocked, BlockedCode, ClusterState, Conflict, Desired, EntryType, ExistingEntry,
    Ignored, Plan, PlanOptions, Resolution, Resolutions, Unchanged, Unread, policy_name,
};
use crate::arn::{Arn, PrincipalKind};

/// How an existing access entry differs from the one a mapping asks for: its
/// type, then for a STANDARD entry its username and its groups (in any
/// order). Empty when it matches; policies are compared apart.
///
/// ```
/// use aws_auth_core::entries::{EntryType, ExistingEntry, entry_differences};
///
/// let existing = ExistingEntry::new("arn:aws:iam::111122223333:role/Admin", EntryType::Standard)
///     .with_username("admin")
///     .with_groups(["b", "a"]);
/// let same = entry_differences(&existing, &EntryType::Standard, Some("admin"), &["a".into(), "b".into()]);
/// assert!(same.is_empty());
/// let other = entry_differences(&existing, &EntryType::Standard, Some("root"), &["a".into(), "b".into()]);
/// assert_eq!(other, ["the username is admin, the map says root"]);
/// ```
pub fn entry_differences(
    existing: &ExistingEntry,
    kind: &EntryType,
    username: Option<&str>,
    groups: &[String],
) -> Vec<String> {
    differences_from(existing, kind, username, groups, "the map")
}

/// [`entry_differences`], naming what wants the entry (`the map`, `the
/// request`).
pub(crate) fn differences_from(
    existing: &ExistingEntry,
    kind: &EntryType,
    username: Option<&str>,
    groups: &[String],
    wanted_by: &str,
) -> Vec<String> {
    if existing.kind != *kind {
        return vec![format!(
            "the access entry is {}, {wanted_by} makes it {kind}",
            existing.kind
        )];
    }
    if *kind != EntryType::Standard {
        return Vec::new();
    }
    let mut out = Vec::new();
    if existing.username.as_deref() != username {
        out.push(format!(
            "the username is {}, {wanted_by} says {}",
            existing.username.as_deref().unwrap_or("(none)"),
            username.unwrap_or("(none)")
        ));
    }
    let have: BTreeSet<&String> = existing.kubernetes_groups.iter().collect();
    let want: BTreeSet<&String> = groups.iter().collect();
    if have != want {
        out.push(format!(
            "the groups are [{}], {wanted_by} says [{}]",
            existing.kubernetes_groups.join(", "),
            groups.join(", ")
        ));
    }
    out
}

pub(crate) fn compare(
    plan: &mut Plan,
    desired: Vec<Desired>,
    cluster: &ClusterState,
    resolutions: &Resolutions,
    options: &PlanOptions,
    wanted_by: &str,
) {
    let mut planned: BTreeSet<String> = BTreeSet::new();
    for d in desired {
        let is_role = d
            .map_arn
            .parse::<Arn>()
            .is_ok_and(|a| a.kind() == PrincipalKind::Role);
        let (principal, verified) = if is_role {
            match resolutions.get(&d.map_arn) {
                Resolution::Resolved(full) => (full, true),
                Resolution::Unverified => (d.map_arn.clone(), false),
                Resolution::Failed(reason) => {
                    plan.blocked.push(Blocked {
                        key: d.key,
                        arn: d.map_arn.clone(),
                        line: d.line,
                        code: BlockedCode::RolePathUnknown,
                        reason: format!("the role's IAM path is unknown: {reason}"),
                    });
                    continue;
                }
            }
        } else {
            // A user IAM was asked about: it must exist, under this ARN.
            match resolutions.lookup(&d.map_arn) {
                Some(Resolution::Failed(reason)) => {
                    plan.blocked.push(Blocked {
                        key: d.key,
                        arn: d.map_arn.clone(),
                        line: d.line,
                        code: BlockedCode::UserNotInIam,
                        reason,
                    });
                    continue;
                }
                _ => (d.map_arn.clone(), true),
            }
        };
        if let Some(reason) = cluster.unreadable.get(&principal) {
            plan.unread.push(Unread {
                principal_arn: principal,
                reason: reason.clone(),
            });
            continue;
        }
        if principal
            .parse::<Arn>()
            .is_ok_and(|a| a.is_service_linked())
        {
            plan.blocked.push(Blocked {
                key: d.key,
                arn: d.map_arn.clone(),
                line: d.line,
                code: BlockedCode::ServiceLinkedRole,
                reason: format!(
                    "{principal} is a service-linked role: EKS refuses access entries for service-linked roles"
                ),
            });
            continue;
        }
        if d.kind != EntryType::Standard
            && let Some(account) = &cluster.account
            && let Ok(arn) = principal.parse::<Arn>()
            && arn.account() != account
        {
            plan.blocked.push(Blocked {
                key: d.key,
                arn: d.map_arn.clone(),
                line: d.line,
                code: BlockedCode::NodeRoleOfOtherAccount,
                reason: format!(
                    "{} entries must be roles of the cluster's account {account}; this role is in {}",
                    d.kind,
                    arn.account()
                ),
            });
            continue;
        }
        if !planned.insert(principal.clone()) {
            plan.ignored.push(Ignored {
                key: d.key,
                arn: d.map_arn.clone(),
                line: d.line,
                reason: format!("{principal} is already planned from an earlier mapping"),
            });
            continue;
        }
        match cluster.entries.get(&principal) {
            None => {
                plan.actions.push(Action::CreateAccessEntry {
                    principal_arn: principal.clone(),
                    kind: d.kind.clone(),
                    username: d.username.clone(),
                    kubernetes_groups: d.kubernetes_groups.clone(),
                    path_verified: verified,
                });
                for p in &d.policies {
                    plan.actions.push(Action::AssociateAccessPolicy {
                        principal_arn: principal.clone(),
                        policy_arn: p.policy_arn.clone(),
                        access_scope: p.access_scope.clone(),
                        path_verified: verified,
                    });
                }
            }
            Some(existing) if existing.kind != d.kind => {
                plan.conflicts.push(Conflict {
                    principal_arn: principal,
                    differences: vec![format!(
                        "the access entry is {}, {wanted_by} makes it {} (a type cannot change: delete the entry to recreate it)",
                        existing.kind, d.kind
                    )],
                });
            }
            Some(_) if d.kind != EntryType::Standard => plan.unchanged.push(Unchanged {
                principal_arn: principal,
                detail: format!("{} access entry", d.kind),
            }),
            Some(existing) => {
                standard_entry(plan, principal, &d, existing, verified, options, wanted_by);
            }
        }
    }
}

/// A STANDARD entry exists for `principal`: what is the same, what differs
/// (a conflict, or with `update_existing` the calls that make it match), what
/// is missing.
fn standard_entry(
    plan: &mut Plan,
    principal: String,
    d: &Desired,
    existing: &ExistingEntry,
    verified: bool,
    options: &PlanOptions,
    wanted_by: &str,
) {
    let mut differences = Vec::new();
    let mut fixes = Vec::new();
    // What the request does not name is neither read nor judged.
    let identity_named =
        !options.named_only || d.username.is_some() || !d.kubernetes_groups.is_empty();
    let policies_named = !options.named_only || !d.policies.is_empty();
    let entry = if identity_named {
        differences_from(
            existing,
            &d.kind,
            d.username.as_deref(),
            &d.kubernetes_groups,
            wanted_by,
        )
    } else {
        Vec::new()
    };
    let entry_differs = !entry.is_empty();
    differences.extend(entry);
    if entry_differs {
        fixes.push(Action::UpdateAccessEntry {
            principal_arn: principal.clone(),
            username: d.username.clone(),
            kubernetes_groups: d.kubernetes_groups.clone(),
        });
    }
    let mut unchanged = Vec::new();
    let mut missing = Vec::new();
    for want in &d.policies {
        match existing
            .policies
            .iter()
            .find(|p| p.policy_arn == want.policy_arn)
        {
            Some(have) if have.access_scope.same(&want.access_scope) => {
                unchanged.push(format!(
                    "{} ({})",
                    policy_name(&want.policy_arn),
                    want.access_scope
                ));
            }
            Some(have) => {
                differences.push(format!(
                    "{} is associated with {}, {wanted_by} grants it with {}",
                    policy_name(&want.policy_arn),
                    have.access_scope,
                    want.access_scope
                ));
                fixes.push(Action::AssociateAccessPolicy {
                    principal_arn: principal.clone(),
                    policy_arn: want.policy_arn.clone(),
                    access_scope: want.access_scope.clone(),
                    path_verified: verified,
                });
            }
            None => missing.push(Action::AssociateAccessPolicy {
                principal_arn: principal.clone(),
                policy_arn: want.policy_arn.clone(),
                access_scope: want.access_scope.clone(),
                path_verified: verified,
            }),
        }
    }
    for have in existing.policies.iter().filter(|_| policies_named) {
        if !d.policies.iter().any(|w| w.policy_arn == have.policy_arn) {
            differences.push(format!(
                "{} ({}) is associated, which {wanted_by} does not grant",
                policy_name(&have.policy_arn),
                have.access_scope
            ));
            fixes.push(Action::DisassociateAccessPolicy {
                principal_arn: principal.clone(),
                policy_arn: have.policy_arn.clone(),
            });
        }
    }
    if !differences.is_empty() && !options.update_existing {
        plan.conflicts.push(Conflict {
            principal_arn: principal,
            differences,
        });
        return;
    }
    if !entry_differs {
        plan.unchanged.push(Unchanged {
            principal_arn: principal.clone(),
            detail: if identity_named {
                "STANDARD access entry with the same username and groups".to_owned()
            } else {
                "STANDARD access entry".to_owned()
            },
        });
    }
    for u in unchanged {
        plan.unchanged.push(Unchanged {
            principal_arn: principal.clone(),
            detail: format!("access policy {u}"),
        });
    }
    plan.actions.extend(fixes);
    plan.actions.extend(missing);
}
