//! The guards on access entries, as on the map: a plan that deletes or
//! rewrites a node entry, the caller's own entry or a protected principal's,
//! or that leaves no entry with cluster-admin, is refused unless forced.

use std::collections::BTreeMap;

use crate::arn::{Arn, PrincipalKind};
use crate::entries::{Action, EntryType, ExistingEntry, PolicyAssociation, policy_name};

/// Who the guards keep: the caller (its own entry) and `--protect`ed
/// principals.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct EntryGuards {
    /// The principal making the calls, when known.
    pub caller: Option<Arn>,
    /// The principal the caller logs in to the cluster as, when it is not
    /// the caller (a kubeconfig exec plugin's `--role-arn`): their own entry
    /// for kubectl.
    pub login: Option<Arn>,
    /// Principals whose entries are never deleted or rewritten.
    pub protected: Vec<Arn>,
}

impl EntryGuards {
    /// No caller known, nobody protected: only the node and cluster-admin
    /// guards.
    pub fn new() -> EntryGuards {
        EntryGuards::default()
    }

    /// [`EntryGuards::caller`].
    pub fn caller(mut self, caller: Option<Arn>) -> EntryGuards {
        self.caller = caller;
        self
    }

    /// [`EntryGuards::login`].
    pub fn login(mut self, login: Option<Arn>) -> EntryGuards {
        self.login = login;
        self
    }

    /// [`EntryGuards::protected`].
    pub fn protected(mut self, protected: Vec<Arn>) -> EntryGuards {
        self.protected = protected;
        self
    }
}

/// Whether two ARNs name one principal: a user's ARN without case, a role by
/// account and name whatever its path (the map writes roles without theirs,
/// access entries with it; STS reports none).
///
/// ```
/// use aws_auth_core::access::same_principal;
/// let a = "arn:aws:iam::111122223333:role/teams/Dev".parse()?;
/// let b = "arn:aws:iam::111122223333:role/Dev".parse()?;
/// assert!(same_principal(&a, &b));
/// # Ok::<(), aws_auth_core::arn::ArnError>(())
/// ```
pub fn same_principal(a: &Arn, b: &Arn) -> bool {
    a.canonical()
        .to_string()
        .eq_ignore_ascii_case(&b.canonical().to_string())
        || (a.kind() == PrincipalKind::Role
            && b.kind() == PrincipalKind::Role
            && a.account() == b.account()
            && a.name().eq_ignore_ascii_case(b.name()))
}

fn is_cluster_admin(p: &PolicyAssociation) -> bool {
    policy_name(&p.policy_arn) == "AmazonEKSClusterAdminPolicy" && p.access_scope.kind == "cluster"
}

fn holds_cluster_admin(e: &ExistingEntry) -> bool {
    e.policies.iter().any(is_cluster_admin)
}

/// The entries after `actions`, as far as `before` shows them (a pure
/// simulation: creates, updates, associations that add or replace a scope,
/// disassociations, deletes).
pub fn after(
    before: &BTreeMap<String, ExistingEntry>,
    actions: &[Action],
) -> BTreeMap<String, ExistingEntry> {
    let mut now = before.clone();
    for a in actions {
        match a {
            Action::CreateAccessEntry {
                principal_arn,
                kind,
                username,
                kubernetes_groups,
                ..
            } => {
                now.entry(principal_arn.clone())
                    .or_insert_with(|| ExistingEntry {
                        principal_arn: principal_arn.clone(),
                        kind: kind.clone(),
                        username: username.clone(),
                        kubernetes_groups: kubernetes_groups.clone(),
                        policies: Vec::new(),
                        created_at: None,
                    });
            }
            Action::UpdateAccessEntry {
                principal_arn,
                username,
                kubernetes_groups,
            } => {
                if let Some(e) = now.get_mut(principal_arn) {
                    if username.is_some() {
                        e.username = username.clone();
                    }
                    e.kubernetes_groups = kubernetes_groups.clone();
                }
            }
            Action::AssociateAccessPolicy {
                principal_arn,
                policy_arn,
                access_scope,
                ..
            } => {
                if let Some(e) = now.get_mut(principal_arn) {
                    e.policies.retain(|p| p.policy_arn != *policy_arn);
                    e.policies.push(PolicyAssociation {
                        policy_arn: policy_arn.clone(),
                        access_scope: access_scope.clone(),
                    });
                }
            }
            Action::DisassociateAccessPolicy {
                principal_arn,
                policy_arn,
            } => {
                if let Some(e) = now.get_mut(principal_arn) {
                    e.policies.retain(|p| p.policy_arn != *policy_arn);
                }
            }
            Action::DeleteAccessEntry { principal_arn } => {
                now.remove(principal_arn);
            }
        }
    }
    now
}

/// Whether `actions` take cluster-admin (at cluster scope) from an entry
/// `known` shows holding it: only then does the last-admin guard need every
/// entry of the cluster.
pub fn takes_cluster_admin(known: &BTreeMap<String, ExistingEntry>, actions: &[Action]) -> bool {
    let later = after(known, actions);
    known
        .iter()
        .filter(|(_, e)| holds_cluster_admin(e))
        .any(|(p, _)| !later.get(p).is_some_and(holds_cluster_admin))
}

/// The entries the last-admin guard counts on to hold cluster-admin once
/// `actions` are carried out on `entries`, when `actions` take it from
/// someone; empty when they take it from nobody (or leave nobody with it:
/// then the guard has already refused or been forced).
///
/// EKS has no conditional writes: between the read the guard judged and the
/// calls that take cluster-admin away, another writer may take it from the
/// entries counted on. Reading one of these again just before, and asking
/// [`keeps_cluster_admin`], narrows that window to one call.
///
/// ```
/// use std::collections::BTreeMap;
/// use aws_auth_core::access::admin_keepers;
/// use aws_auth_core::entries::{AccessScope, Action, EntryType, ExistingEntry, PolicyAssociation};
/// let admin = |p: &str| (p.to_owned(), ExistingEntry::new(p, EntryType::Standard).with_policy(
///     PolicyAssociation::new(
///         "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
///         AccessScope::cluster(),
///     ),
/// ));
/// let (a, b) = ("arn:aws:iam::111122223333:user/a", "arn:aws:iam::111122223333:user/b");
/// let entries = BTreeMap::from([admin(a), admin(b)]);
/// let take = [Action::DeleteAccessEntry { principal_arn: a.to_owned() }];
/// assert_eq!(admin_keepers(&entries, &take), [b]);
/// assert!(admin_keepers(&entries, &[]).is_empty());
/// ```
pub fn admin_keepers(entries: &BTreeMap<String, ExistingEntry>, actions: &[Action]) -> Vec<String> {
    if !takes_cluster_admin(entries, actions) {
        return Vec::new();
    }
    after(entries, actions)
        .into_iter()
        .filter(|(_, e)| holds_cluster_admin(e))
        .map(|(p, _)| p)
        .collect()
}

/// Whether `entry` (read now) still holds cluster-admin at cluster scope
/// after `actions`.
pub fn keeps_cluster_admin(entry: &ExistingEntry, actions: &[Action]) -> bool {
    let one = BTreeMap::from([(entry.principal_arn.clone(), entry.clone())]);
    after(&one, actions).values().any(holds_cluster_admin)
}

/// Why carrying `actions` out on a cluster whose entries are `entries` (all
/// of them, for the last-admin guard) would be refused, one sentence each;
/// empty when nothing trips.
///
/// ```
/// use std::collections::BTreeMap;
/// use aws_auth_core::access::{EntryGuards, tripped};
/// use aws_auth_core::entries::{Action, EntryType, ExistingEntry};
/// let node = "arn:aws:iam::111122223333:role/Nodes".to_owned();
/// let entries = BTreeMap::from([(node.clone(), ExistingEntry::new(&node, EntryType::Ec2Linux))]);
/// let why = tripped(&entries, &[Action::DeleteAccessEntry { principal_arn: node }], &EntryGuards::new());
/// assert!(why[0].contains("nodes using it would stop joining"));
/// ```
pub fn tripped(
    entries: &BTreeMap<String, ExistingEntry>,
    actions: &[Action],
    guards: &EntryGuards,
) -> Vec<String> {
    let mut out = Vec::new();
    // What each principal loses: deleted, or rewritten (its username or
    // groups changed, a policy taken or its scope changed).
    let mut touched: BTreeMap<&str, &'static str> = BTreeMap::new();
    for a in actions {
        let p = a.principal_arn();
        let Some(e) = entries.get(p) else { continue };
        let how = match a {
            Action::DeleteAccessEntry { .. } => "delete",
            Action::UpdateAccessEntry { .. } | Action::DisassociateAccessPolicy { .. } => "rewrite",
            Action::AssociateAccessPolicy { policy_arn, .. }
                if e.policies.iter().any(|x| x.policy_arn == *policy_arn) =>
            {
                "rewrite"
            }
            _ => continue,
        };
        let slot = touched.entry(p).or_insert(how);
        if how == "delete" {
            *slot = how;
        }
    }
    for (p, how) in &touched {
        let e = &entries[*p];
        if e.kind != EntryType::Standard {
            out.push(format!(
                "would {how} the {} entry of {p}: nodes using it would stop joining",
                e.kind
            ));
        }
        let Ok(arn) = p.parse::<Arn>() else { continue };
        if guards
            .caller
            .as_ref()
            .is_some_and(|me| same_principal(me, &arn))
        {
            out.push(format!("would {how} your own entry ({p})"));
        } else if guards
            .login
            .as_ref()
            .is_some_and(|me| same_principal(me, &arn))
        {
            out.push(format!(
                "would {how} the entry your kubeconfig logs in with ({p}, its exec plugin's --role-arn)"
            ));
        }
        if guards.protected.iter().any(|x| same_principal(x, &arn)) {
            out.push(format!(
                "would {how} the entry of the protected principal {p}"
            ));
        }
    }
    let admins: Vec<&String> = entries
        .iter()
        .filter(|(_, e)| holds_cluster_admin(e))
        .map(|(p, _)| p)
        .collect();
    if !admins.is_empty() && !after(entries, actions).values().any(holds_cluster_admin) {
        out.push(format!(
            "would take AmazonEKSClusterAdminPolicy at cluster scope from the last entry with it ({}): nobody could administer the cluster through access entries",
            admins.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entries::AccessScope;

    fn entry(p: &str, kind: EntryType, admin: bool) -> (String, ExistingEntry) {
        let policies = if admin {
            vec![PolicyAssociation {
                policy_arn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
                    .into(),
                access_scope: AccessScope::cluster(),
            }]
        } else {
            vec![]
        };
        (
            p.to_owned(),
            ExistingEntry {
                principal_arn: p.to_owned(),
                kind,
                username: None,
                kubernetes_groups: vec![],
                policies,
                created_at: None,
            },
        )
    }

    const A: &str = "arn:aws:iam::111122223333:user/a";
    const B: &str = "arn:aws:iam::111122223333:user/b";
    const ADMIN: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";

    /// Who the guard counts on: the holders left once cluster-admin is
    /// taken (by a delete or by narrowing it to a namespace), including one
    /// the same plan grants it to; nobody when nothing takes it.
    #[test]
    fn admin_keepers_are_who_holds_it_afterwards() {
        let entries = BTreeMap::from([
            entry(A, EntryType::Standard, true),
            entry(B, EntryType::Standard, true),
        ]);
        let narrow_a = Action::AssociateAccessPolicy {
            principal_arn: A.into(),
            policy_arn: ADMIN.into(),
            access_scope: AccessScope {
                kind: "namespace".into(),
                namespaces: vec!["dev".into()],
            },
            path_verified: true,
        };
        assert_eq!(
            admin_keepers(&entries, std::slice::from_ref(&narrow_a)),
            [B]
        );
        let view_b = Action::AssociateAccessPolicy {
            principal_arn: B.into(),
            policy_arn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy".into(),
            access_scope: AccessScope::cluster(),
            path_verified: true,
        };
        assert!(admin_keepers(&entries, std::slice::from_ref(&view_b)).is_empty());
        // B, read again, lost it meanwhile; A read again still has it but
        // the plan narrows it.
        let (_, b_now) = entry(B, EntryType::Standard, false);
        assert!(!keeps_cluster_admin(
            &b_now,
            std::slice::from_ref(&narrow_a)
        ));
        assert!(!keeps_cluster_admin(
            &entries[A],
            std::slice::from_ref(&narrow_a)
        ));
        assert!(keeps_cluster_admin(
            &entries[B],
            std::slice::from_ref(&narrow_a)
        ));
        // Granted in the same plan: counted on once granted.
        let c = "arn:aws:iam::111122223333:user/c";
        let only_a = BTreeMap::from([entry(A, EntryType::Standard, true)]);
        let plan = [
            Action::CreateAccessEntry {
                principal_arn: c.into(),
                kind: EntryType::Standard,
                username: None,
                kubernetes_groups: vec![],
                path_verified: true,
            },
            Action::AssociateAccessPolicy {
                principal_arn: c.into(),
                policy_arn: ADMIN.into(),
                access_scope: AccessScope::cluster(),
                path_verified: true,
            },
            Action::DeleteAccessEntry {
                principal_arn: A.into(),
            },
        ];
        assert_eq!(admin_keepers(&only_a, &plan), [c]);
    }

    #[test]
    fn the_last_admin_may_be_replaced_but_not_lost() {
        let entries = BTreeMap::from([
            entry(A, EntryType::Standard, true),
            entry(B, EntryType::Standard, false),
        ]);
        let delete_a = Action::DeleteAccessEntry {
            principal_arn: A.into(),
        };
        assert_eq!(
            tripped(
                &entries,
                std::slice::from_ref(&delete_a),
                &EntryGuards::new()
            )
            .len(),
            1
        );
        let grant_b = Action::AssociateAccessPolicy {
            principal_arn: B.into(),
            policy_arn: ADMIN.into(),
            access_scope: AccessScope::cluster(),
            path_verified: true,
        };
        assert!(
            tripped(
                &entries,
                &[grant_b.clone(), delete_a.clone()],
                &EntryGuards::new()
            )
            .is_empty()
        );
        // A namespace scope is not cluster-admin.
        let narrow = Action::AssociateAccessPolicy {
            principal_arn: A.into(),
            policy_arn: ADMIN.into(),
            access_scope: AccessScope {
                kind: "namespace".into(),
                namespaces: vec!["dev".into()],
            },
            path_verified: true,
        };
        let why = tripped(&entries, std::slice::from_ref(&narrow), &EntryGuards::new());
        assert!(why.iter().any(|w| w.contains("last entry")), "{why:?}");
        assert!(takes_cluster_admin(&entries, &[narrow]));
        assert!(!takes_cluster_admin(&entries, &[grant_b]));
    }

    #[test]
    fn own_and_protected_entries_are_neither_deleted_nor_rewritten() {
        let entries = BTreeMap::from([
            entry(A, EntryType::Standard, false),
            entry(B, EntryType::Standard, false),
        ]);
        let me: Arn = A.parse().unwrap();
        let guards = EntryGuards::new()
            .caller(Some(me))
            .protected(vec![B.parse().unwrap()]);
        let why = tripped(
            &entries,
            &[
                Action::UpdateAccessEntry {
                    principal_arn: A.into(),
                    username: Some("x".into()),
                    kubernetes_groups: vec![],
                },
                Action::DeleteAccessEntry {
                    principal_arn: B.into(),
                },
            ],
            &guards,
        );
        assert_eq!(
            why,
            [
                format!("would rewrite your own entry ({A})"),
                format!("would delete the entry of the protected principal {B}"),
            ]
        );
        // A new association is no rewrite.
        let grant = Action::AssociateAccessPolicy {
            principal_arn: A.into(),
            policy_arn: ADMIN.into(),
            access_scope: AccessScope::cluster(),
            path_verified: true,
        };
        assert!(tripped(&entries, &[grant], &guards).is_empty());
        // The role the kubeconfig logs in with is the caller's too.
        let login = EntryGuards::new()
            .caller(Some(A.parse().unwrap()))
            .login(Some("arn:aws:iam::111122223333:user/B".parse().unwrap()));
        let delete_b = Action::DeleteAccessEntry {
            principal_arn: B.into(),
        };
        assert_eq!(
            tripped(&entries, &[delete_b], &login),
            [format!(
                "would delete the entry your kubeconfig logs in with ({B}, its exec plugin's --role-arn)"
            )]
        );
    }
}
