//! Access entries given directly (not migrated from the map): what a request
//! may hold, checked before any call; the plan that makes the cluster hold it
//! (`add`, `update`) or hold exactly a file's entries (`sync`); the entries
//! EKS and AWS services own; the guards every write passes.

mod file;
mod guard;
mod sync;

pub use file::{EntriesError, read_entries, to_file};
pub use guard::{
    EntryGuards, admin_keepers, after, keeps_cluster_admin, same_principal, takes_cluster_admin,
    tripped,
};
pub use sync::{Kept, SyncOptions, SyncPlan, aws_owned, sync};

use crate::arn::{Arn, PrincipalKind};
use crate::migrate::{
    AccessScope, ClusterState, Desired, EntryType, Plan, PlanOptions, PolicyAssociation,
    Resolutions,
};

/// The most access entries a cluster holds (an EKS quota).
pub const MAX_ENTRIES: usize = 3000;

/// Refuses `actions` when, on a cluster holding `existing` entries, they
/// would take it past [`MAX_ENTRIES`] (counting creates and deletes).
///
/// ```
/// use aws_auth_core::access::within_limit;
/// use aws_auth_core::migrate::{Action, EntryType};
/// let create = Action::CreateAccessEntry {
///     principal_arn: "arn:aws:iam::111122223333:user/a".into(), kind: EntryType::Standard,
///     username: None, kubernetes_groups: vec![], path_verified: true,
/// };
/// assert!(within_limit(2999, std::slice::from_ref(&create)).is_ok());
/// assert!(within_limit(3000, &[create]).is_err());
/// ```
pub fn within_limit(existing: usize, actions: &[crate::migrate::Action]) -> Result<(), String> {
    use crate::migrate::Action;
    let creates = actions
        .iter()
        .filter(|a| matches!(a, Action::CreateAccessEntry { .. }))
        .count();
    let deletes = actions
        .iter()
        .filter(|a| matches!(a, Action::DeleteAccessEntry { .. }))
        .count();
    let after = (existing + creates).saturating_sub(deletes);
    if creates > 0 && after > MAX_ENTRIES {
        return Err(format!(
            "the cluster holds {existing} access entries; {creates} more would make {after}, past EKS's limit of {MAX_ENTRIES}"
        ));
    }
    Ok(())
}

/// The full ARN of an access policy given by its short name (`cluster-admin`,
/// `admin`, `edit`, `view`, `admin-view`), by its name
/// (`AmazonEKSViewPolicy`, or a service's such as `AmazonEKSAutoNodePolicy`)
/// or by its ARN; `None` for what cannot be an EKS access policy.
///
/// ```
/// use aws_auth_core::access::policy_arn;
/// assert_eq!(policy_arn("view", "aws").as_deref(), Some("arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"));
/// assert_eq!(policy_arn("nope", "aws"), None);
/// assert_eq!(policy_arn("AmazonEKSAutoNodePolicy", "aws").as_deref(), Some("arn:aws:eks::aws:cluster-access-policy/AmazonEKSAutoNodePolicy"));
/// assert_eq!(policy_arn("arn:aws:iam::aws:policy/AdministratorAccess", "aws"), None);
/// ```
pub fn policy_arn(name: &str, partition: &str) -> Option<String> {
    const POLICIES: [(&str, &str); 5] = [
        ("cluster-admin", "AmazonEKSClusterAdminPolicy"),
        ("admin", "AmazonEKSAdminPolicy"),
        ("edit", "AmazonEKSEditPolicy"),
        ("view", "AmazonEKSViewPolicy"),
        ("admin-view", "AmazonEKSAdminViewPolicy"),
    ];
    let full = |n: &str| format!("arn:{partition}:eks::aws:cluster-access-policy/{n}");
    if let Some((_, n)) = POLICIES.iter().find(|(short, _)| *short == name) {
        return Some(full(n));
    }
    if let Some((_, n)) = POLICIES.iter().find(|(_, n)| *n == name) {
        return Some(full(n));
    }
    // EKS adds service policies over time (capabilities, Auto Mode, ...):
    // their names follow one pattern, and EKS itself refuses one it lacks.
    let known = |n: &str| {
        n.strip_prefix("AmazonEKS")
            .is_some_and(|rest| rest.len() > "Policy".len() && rest.ends_with("Policy"))
            && n.chars().all(|c| c.is_ascii_alphanumeric())
    };
    if known(name) {
        return Some(full(name));
    }
    name.strip_prefix("arn:")
        .and_then(|_| name.split_once(":eks::aws:cluster-access-policy/"))
        .filter(|(_, n)| known(n))
        .map(|_| name.to_owned())
}

/// What an access entry request holds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EntryRequest {
    /// The IAM role or user.
    pub principal: Arn,
    /// The entry type.
    pub kind: EntryType,
    /// The Kubernetes username (STANDARD only; EKS makes one up when none).
    pub username: Option<String>,
    /// Kubernetes groups (STANDARD only).
    pub groups: Vec<String>,
    /// Access policies (full ARNs) with their scope (STANDARD only).
    pub policies: Vec<PolicyAssociation>,
}

impl EntryRequest {
    /// A STANDARD entry for `principal`.
    pub fn standard(principal: Arn) -> EntryRequest {
        EntryRequest {
            principal,
            kind: EntryType::Standard,
            username: None,
            groups: Vec::new(),
            policies: Vec::new(),
        }
    }

    /// Why EKS would refuse it, before any call: usernames with a reserved
    /// prefix or a template without a `:` before it, `system:` groups, groups
    /// or policies on a type that takes none, a user for a node type.
    pub fn check(&self) -> Result<(), String> {
        let p = &self.principal;
        if !matches!(p.kind(), PrincipalKind::Role | PrincipalKind::User) {
            return Err(format!("{p}: an access entry is for an IAM role or user"));
        }
        if self.kind != EntryType::Standard {
            if !self.groups.is_empty() || !self.policies.is_empty() || self.username.is_some() {
                return Err(format!(
                    "{p}: {} entries take no username, groups or access policies",
                    self.kind
                ));
            }
            if p.kind() != PrincipalKind::Role {
                return Err(format!("{p}: {} entries are for roles", self.kind));
            }
        }
        let refused = |(_, why): (crate::migrate::BlockedCode, String)| format!("{p}: {why}");
        crate::migrate::translate::service_linked(p).map_err(refused)?;
        if let Some(u) = &self.username {
            crate::migrate::translate::entry_username(u, p.kind() == PrincipalKind::Role)
                .map_err(refused)?;
        }
        if let Some(g) = self.groups.iter().find(|g| g.starts_with("system:")) {
            return Err(format!(
                "{p}: the group {g:?} starts with system:, which access entries refuse"
            ));
        }
        if self.groups.iter().any(|g| g.is_empty()) {
            return Err(format!("{p}: an empty group name"));
        }
        if self.policies.iter().any(|x| {
            x.access_scope
                .namespaces
                .iter()
                .any(|n| n.trim().is_empty())
        }) {
            return Err(format!("{p}: an empty namespace name"));
        }
        Ok(())
    }

    fn desired(&self) -> Desired {
        Desired {
            key: if self.principal.kind() == PrincipalKind::Role {
                crate::DataKey::MapRoles
            } else {
                crate::DataKey::MapUsers
            },
            map_arn: self.principal.to_string(),
            line: 0,
            kind: self.kind.clone(),
            username: self.username.clone(),
            kubernetes_groups: self.groups.clone(),
            policies: self.policies.clone(),
        }
    }
}

/// A policy association at cluster scope, or in these namespaces.
pub fn association(policy_arn: String, namespaces: &[String]) -> PolicyAssociation {
    PolicyAssociation {
        policy_arn,
        access_scope: if namespaces.is_empty() {
            AccessScope::cluster()
        } else {
            AccessScope {
                kind: "namespace".to_owned(),
                namespaces: namespaces.to_vec(),
            }
        },
    }
}

/// The principals whose entries a plan of `requests` looks at (role paths
/// resolved), once each.
pub fn principals(
    requests: &[EntryRequest],
    resolutions: &Resolutions,
    account: Option<&str>,
) -> Vec<String> {
    let mut empty = ClusterState::empty("", None);
    empty.account = account.map(str::to_owned);
    let mut out: Vec<String> = Vec::new();
    for a in plan(requests, &empty, resolutions, &PlanOptions::new()).actions {
        if !out.iter().any(|o| o == a.principal_arn()) {
            out.push(a.principal_arn().to_owned());
        }
    }
    out
}

/// The calls that make `cluster` hold `requests`: the migrator's plan, with
/// its idempotence (an entry that exists and matches is unchanged), its
/// conflicts (one that differs, unless `update_existing`) and its blocks (a
/// role IAM does not know, a node entry of another account).
///
/// A STANDARD request without a username asks for EKS's default one (see
/// [`default_username`]): an existing entry with it matches, one with
/// another username differs.
pub fn plan(
    requests: &[EntryRequest],
    cluster: &ClusterState,
    resolutions: &Resolutions,
    options: &PlanOptions,
) -> Plan {
    let desired = requests
        .iter()
        .map(|r| {
            let mut d = r.desired();
            if r.kind == EntryType::Standard && d.username.is_none() {
                let principal = match resolutions.lookup(&d.map_arn) {
                    Some(crate::migrate::Resolution::Resolved(full)) => full,
                    _ => d.map_arn.clone(),
                };
                // Only against an existing entry: a create leaves the
                // choice to EKS, as the request did.
                if cluster.entries.contains_key(&principal) {
                    d.username = Some(default_username(&r.principal));
                }
            }
            d
        })
        .collect();
    crate::migrate::plan_desired(desired, cluster, resolutions, options)
}

/// The username EKS gives a STANDARD entry created without one: the user's
/// ARN, or for a role its STS session ARN with `{{SessionName}}`.
///
/// ```
/// use aws_auth_core::access::default_username;
/// let role = "arn:aws:iam::111122223333:role/teams/Dev".parse()?;
/// assert_eq!(default_username(&role), "arn:aws:sts::111122223333:assumed-role/Dev/{{SessionName}}");
/// # Ok::<(), aws_auth_core::arn::ArnError>(())
/// ```
pub fn default_username(principal: &Arn) -> String {
    match principal.kind() {
        PrincipalKind::Role => format!(
            "arn:{}:sts::{}:assumed-role/{}/{{{{SessionName}}}}",
            principal.partition(),
            principal.account(),
            principal.name()
        ),
        _ => principal.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(
        arn: &str,
        kind: EntryType,
        username: Option<&str>,
        groups: &[&str],
    ) -> EntryRequest {
        let mut r = EntryRequest::standard(arn.parse().unwrap());
        r.kind = kind;
        r.username = username.map(str::to_owned);
        r.groups = groups.iter().map(|g| (*g).to_owned()).collect();
        r
    }

    /// Everything EKS refuses (SEMANTICS.md §2), each with its reason, and
    /// what it takes.
    #[test]
    fn check_refuses_what_eks_refuses_and_says_why() {
        const ROLE: &str = "arn:aws:iam::111122223333:role/Dev";
        const USER: &str = "arn:aws:iam::111122223333:user/alice";
        let std = EntryType::Standard;
        let cases: Vec<(EntryRequest, Option<&str>)> = vec![
            (
                request(ROLE, std.clone(), Some("dev:{{SessionName}}"), &["dev"]),
                None,
            ),
            (
                request(ROLE, std.clone(), Some("dev:{{SessionNameRaw}}"), &[]),
                None,
            ),
            (request(USER, std.clone(), Some("alice"), &[]), None),
            (request(USER, std.clone(), None, &[]), None),
            (request(ROLE, EntryType::Ec2Linux, None, &[]), None),
            (
                request(ROLE, std.clone(), Some("system:dev"), &[]),
                Some("starts with system:"),
            ),
            (
                request(ROLE, std.clone(), Some("eks:dev"), &[]),
                Some("starts with eks:"),
            ),
            (
                request(ROLE, std.clone(), Some("iam:dev"), &[]),
                Some("starts with iam:"),
            ),
            (
                request(ROLE, std.clone(), Some("{{SessionName}}"), &[]),
                Some("without a `:` before it"),
            ),
            (
                request(ROLE, std.clone(), Some("dev:{{AccountID}}"), &[]),
                Some("uses {{AccountID}}"),
            ),
            (
                request(ROLE, std.clone(), Some("dev:{{AccessKeyID}}"), &[]),
                Some("uses {{AccessKeyID}}"),
            ),
            (
                request(USER, std.clone(), Some("u:{{SessionName}}"), &[]),
                Some("only role sessions fill"),
            ),
            (
                request(ROLE, std.clone(), None, &["system:masters"]),
                Some("starts with system:"),
            ),
            (
                request(ROLE, std.clone(), None, &[""]),
                Some("an empty group name"),
            ),
            (
                request(ROLE, EntryType::Ec2Linux, None, &["nodes"]),
                Some("take no username"),
            ),
            (
                request(USER, EntryType::FargateLinux, None, &[]),
                Some("are for roles"),
            ),
            (
                request(
                    "arn:aws:iam::111122223333:role/aws-service-role/eks.amazonaws.com/AWSServiceRoleForAmazonEKS",
                    std.clone(),
                    None,
                    &[],
                ),
                Some("service-linked"),
            ),
            (
                request(
                    "arn:aws:sts::111122223333:assumed-role/Dev/alice",
                    std.clone(),
                    None,
                    &[],
                ),
                Some("an access entry is for an IAM role or user"),
            ),
        ];
        let mut scoped = request(ROLE, std.clone(), None, &[]);
        scoped.policies.push(association(
            "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy".to_owned(),
            &["dev".to_owned(), String::new()],
        ));
        let mut cases = cases;
        cases.push((scoped, Some("an empty namespace name")));
        for (r, want) in cases {
            match (r.check(), want) {
                (Ok(()), None) => {}
                (Err(why), Some(want)) => {
                    assert!(
                        why.contains(want),
                        "{}: {why:?} lacks {want:?}",
                        r.principal
                    );
                    assert!(why.starts_with(&r.principal.to_string()), "{why}");
                }
                (got, want) => panic!(
                    "{} {:?}: got {got:?}, want {want:?}",
                    r.principal, r.username
                ),
            }
        }
    }
}
