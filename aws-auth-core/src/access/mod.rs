//! Access entries given directly (not migrated from the map): what a request
//! may hold, checked before any call; the plan that makes the cluster hold it
//! (`add`, `update`) or hold exactly a file's entries (`sync`); the entries
//! EKS and AWS services own; the guards every write passes.

mod file;
mod guard;
mod sync;
mod update;

pub use file::{EntriesError, read_entries, to_file};
pub use guard::{
    EntryGuards, admin_keepers, after, keeps_cluster_admin, same_principal, takes_cluster_admin,
    tripped,
};
pub use sync::{Kept, SyncOptions, SyncPlan, aws_owned, sync};
pub use update::{EntryChange, plan_update, updated};

use crate::arn::{Arn, PrincipalKind};
use crate::entries::{
    ClusterState, Desired, EntryType, Plan, PlanOptions, PolicyAssociation, Resolution,
    Resolutions, default_username,
};

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
        let refused = |(_, why): (crate::entries::BlockedCode, String)| format!("{p}: {why}");
        crate::entries::rules::service_linked(p).map_err(refused)?;
        if let Some(u) = &self.username {
            crate::entries::rules::entry_username(u, p.kind() == PrincipalKind::Role)
                .map_err(refused)?;
        }
        if self.groups.iter().any(|g| g == "system:masters") {
            return Err(format!(
                "{p}: access entries refuse the group system:masters: give the access policy cluster-admin instead, which grants the same (AmazonEKSClusterAdminPolicy)"
            ));
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

impl From<&EntryRequest> for crate::entries::ExistingEntry {
    /// The entry a request makes, as a cluster would hold it (its role's
    /// path as the request writes it, no creation date): an `access get
    /// --as-file` export read back, for answering offline.
    fn from(r: &EntryRequest) -> Self {
        crate::entries::ExistingEntry {
            principal_arn: r.principal.to_string(),
            kind: r.kind.clone(),
            username: r.username.clone(),
            kubernetes_groups: r.groups.clone(),
            policies: r.policies.clone(),
            created_at: None,
        }
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

/// What of an existing entry a plan with [`PlanOptions::named_only`] needs
/// to read for `request`: everything (a username, groups or another type
/// to compare), its policies alone, or nothing beyond its existence.
///
/// ```
/// use aws_auth_core::access::{EntryRequest, reads};
/// use aws_auth_core::entries::Read;
/// let mut r = EntryRequest::standard("arn:aws:iam::111122223333:user/a".parse().unwrap());
/// assert_eq!(reads(&r), Read::Nothing);
/// r.groups = vec!["dev".into()];
/// assert_eq!(reads(&r), Read::Full);
/// ```
pub fn reads(request: &EntryRequest) -> crate::entries::Read {
    use crate::entries::Read;
    if request.kind != EntryType::Standard
        || request.username.is_some()
        || !request.groups.is_empty()
    {
        Read::Full
    } else if !request.policies.is_empty() {
        Read::Policies
    } else {
        Read::Nothing
    }
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
            let identity_named = r.username.is_some() || !r.groups.is_empty();
            if r.kind == EntryType::Standard
                && d.username.is_none()
                && (identity_named || !options.named_only)
            {
                let principal = match resolutions.lookup(&d.map_arn) {
                    Some(Resolution::Resolved(full)) => full,
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
    crate::entries::plan_desired(desired, cluster, resolutions, options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entries::association;

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
                Some("give the access policy cluster-admin instead"),
            ),
            (
                request(ROLE, std.clone(), None, &["system:monitoring"]),
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

    /// Issue 25.13: `access add` judges an existing entry only in what the
    /// request names, and so needs to read no more of it.
    #[test]
    fn a_request_is_compared_only_in_what_it_names() {
        let alice = "arn:aws:iam::111122223333:user/alice";
        let view = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
        let mut cluster = ClusterState::empty("c", None);
        cluster.entries.insert(
            alice.to_owned(),
            crate::entries::ExistingEntry::new(alice, EntryType::Standard)
                .with_username("someone-else")
                .with_policy(association(view.to_owned(), &[])),
        );
        let mut r = request(alice, EntryType::Standard, None, &[]);
        r.policies.push(association(view.to_owned(), &[]));
        assert_eq!(reads(&r), crate::entries::Read::Policies);
        let named = PlanOptions::new().named_only(true);
        let p = plan(
            std::slice::from_ref(&r),
            &cluster,
            &Resolutions::default(),
            &named,
        );
        assert!(p.conflicts.is_empty() && p.actions.is_empty(), "{p:?}");
        // Exact (a sync): EKS's default username is what it asks for.
        let p = plan(
            std::slice::from_ref(&r),
            &cluster,
            &Resolutions::default(),
            &PlanOptions::new(),
        );
        assert_eq!(p.conflicts.len(), 1, "{p:?}");
        // A username named is compared, and read.
        let named_user = request(alice, EntryType::Standard, Some("alice"), &[]);
        assert_eq!(reads(&named_user), crate::entries::Read::Full);
        let p = plan(&[named_user], &cluster, &Resolutions::default(), &named);
        assert_eq!(p.conflicts.len(), 1, "{p:?}");
    }
}
