//! `aws-auth access sync`: the plan that makes a cluster's access entries
//! what a file says, deleting the unnamed ones only when asked, and never the
//! ones EKS or an AWS service made for itself.

use serde::Serialize;

use super::{EntryRequest, default_username, plan, same_principal};
use crate::arn::Arn;
use crate::entries::{
    Action, ClusterState, EntryType, ExistingEntry, Plan, PlanOptions, Resolutions, policy_name,
};

/// The access policies people associate; an entry holding any other was
/// given it by an AWS service (EKS capabilities, Auto Mode's cluster role,
/// EMR, HyperPod, ...).
const PEOPLE_POLICIES: [&str; 5] = [
    "AmazonEKSClusterAdminPolicy",
    "AmazonEKSAdminPolicy",
    "AmazonEKSEditPolicy",
    "AmazonEKSViewPolicy",
    "AmazonEKSAdminViewPolicy",
];

/// How long after the cluster EKS makes the creator's bootstrap entry.
const BOOTSTRAP_WINDOW: i64 = 600;

/// Options of [`sync`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SyncOptions {
    /// Delete the entries the file does not name (but those of
    /// [`aws_owned`]).
    pub prune: bool,
    /// When the cluster was created (seconds since the Unix epoch), to tell
    /// the creator's bootstrap entry.
    pub cluster_created_at: Option<i64>,
    /// The file may leave the cluster with no entry of its own: without it,
    /// a prune that deletes every entry the file owns and names none in
    /// their place is refused ([`SyncPlan::guards`]), since an empty or
    /// cut-short file looks just like that.
    pub prune_all: bool,
}

impl SyncOptions {
    /// No pruning.
    pub fn new() -> SyncOptions {
        SyncOptions::default()
    }

    /// [`SyncOptions::prune`].
    pub fn prune(mut self, prune: bool) -> SyncOptions {
        self.prune = prune;
        self
    }

    /// [`SyncOptions::prune_all`].
    pub fn prune_all(mut self, prune_all: bool) -> SyncOptions {
        self.prune_all = prune_all;
        self
    }

    /// [`SyncOptions::cluster_created_at`].
    pub fn cluster_created_at(mut self, at: Option<i64>) -> SyncOptions {
        self.cluster_created_at = at;
        self
    }
}

/// An entry the file does not name that stays, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Kept {
    /// The principal.
    pub principal_arn: String,
    /// Why it stays.
    pub reason: String,
}

/// What [`sync`] plans: the calls (deletes last, after every grant), and the
/// unnamed entries left alone.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SyncPlan {
    /// The calls, as the migrator's plan has them (with
    /// [`Action::DeleteAccessEntry`] for pruned entries).
    #[serde(flatten)]
    pub plan: Plan,
    /// Unnamed entries that stay.
    pub kept: Vec<Kept>,
    /// What the plan would do that only a forced run may (deleting every
    /// entry the file owns, with nothing in their place, without
    /// [`SyncOptions::prune_all`]); the guards of [`tripped`](super::tripped)
    /// come on top.
    pub guards: Vec<String>,
}

impl SyncPlan {
    /// [`Plan::phases`] of the plan.
    pub fn phases(&self) -> (Plan, Plan) {
        self.plan.phases()
    }
}

/// Why an entry belongs to EKS or an AWS service rather than to whoever
/// writes the file, or `None`. `oldest_standard` is the creation time of the
/// cluster's oldest STANDARD entry.
///
/// - a node entry (any type but STANDARD: managed node groups, Fargate
///   profiles, Auto Mode, hybrid and HyperPod nodes);
/// - a service-linked role's entry;
/// - a username with a prefix only EKS may give (`eks:`, `system:`, `aws:`,
///   `amazon:`, `iam:`);
/// - an access policy beyond the five people associate (an AWS service's);
/// - the cluster creator's bootstrap entry: cluster-admin at cluster scope,
///   EKS's default username, and created within ten minutes of the cluster
///   or first of all STANDARD entries (EKS makes it with the cluster, or when
///   the mode leaves CONFIG_MAP, before anyone else can make one). Erring
///   here keeps an entry (listed, with the reason), never deletes one.
///
/// ```
/// use aws_auth_core::access::aws_owned;
/// use aws_auth_core::entries::{EntryType, ExistingEntry};
/// let nodes = ExistingEntry::new("arn:aws:iam::111122223333:role/NodeRole", EntryType::Ec2Linux);
/// assert!(aws_owned(&nodes, None, None).unwrap().contains("EC2_LINUX"));
/// ```
pub fn aws_owned(
    entry: &ExistingEntry,
    cluster_created_at: Option<i64>,
    oldest_standard: Option<i64>,
) -> Option<String> {
    if entry.kind != EntryType::Standard {
        return Some(format!(
            "a node entry ({}: managed node groups, Fargate profiles, Auto Mode, hybrid nodes)",
            entry.kind
        ));
    }
    let arn = entry.principal_arn.parse::<Arn>().ok();
    if arn.as_ref().is_some_and(Arn::is_service_linked) {
        return Some("a service-linked role's entry, made by its AWS service".to_owned());
    }
    if let Some(u) = &entry.username
        && let Some(prefix) = ["eks:", "system:", "aws:", "amazon:", "iam:"]
            .iter()
            .find(|p| u.starts_with(*p))
    {
        return Some(format!(
            "its username {u} starts with {prefix}, which only EKS can give"
        ));
    }
    if let Some(p) = entry
        .policies
        .iter()
        .map(|p| policy_name(&p.policy_arn))
        .find(|n| !PEOPLE_POLICIES.contains(n))
    {
        return Some(format!(
            "it holds {p}, an access policy AWS services associate"
        ));
    }
    let admin = entry.policies.iter().any(|p| {
        policy_name(&p.policy_arn) == "AmazonEKSClusterAdminPolicy"
            && p.access_scope.kind == "cluster"
    });
    let default_name = arn
        .as_ref()
        .is_some_and(|a| entry.username.as_deref() == Some(default_username(a).as_str()));
    let with_cluster = matches!((entry.created_at, cluster_created_at),
        (Some(e), Some(c)) if (0..=BOOTSTRAP_WINDOW).contains(&(e - c)));
    let first = entry.created_at.is_some() && entry.created_at == oldest_standard;
    if admin && default_name && (with_cluster || first) {
        return Some("the cluster creator's bootstrap entry (cluster-admin, made by EKS with the cluster or when it left CONFIG_MAP)".to_owned());
    }
    None
}

/// The plan that makes `cluster` (every entry it has) hold exactly
/// `requests`: named entries created or made to match (username, groups,
/// policies and their scopes); unnamed ones deleted with
/// [`SyncOptions::prune`], else kept and listed, and never those of
/// [`aws_owned`] (an entry the file names is the file's, whoever made it).
/// Deletes come last. Guards are not applied here: see
/// [`tripped`](super::tripped).
pub fn sync(
    requests: &[EntryRequest],
    cluster: &ClusterState,
    resolutions: &Resolutions,
    options: &SyncOptions,
) -> SyncPlan {
    let mut planned = plan(
        requests,
        cluster,
        resolutions,
        &PlanOptions::new().update_existing(true),
    );
    let oldest = cluster
        .entries
        .values()
        .filter(|e| e.kind == EntryType::Standard)
        .filter_map(|e| e.created_at)
        .min();
    let mut kept = Vec::new();
    for (p, e) in &cluster.entries {
        let named = p
            .parse::<Arn>()
            .is_ok_and(|arn| requests.iter().any(|r| same_principal(&r.principal, &arn)));
        if named {
            continue;
        }
        let reason = match aws_owned(e, options.cluster_created_at, oldest) {
            Some(why) => format!("not in the file, kept: {why}"),
            None if !options.prune => "not in the file, kept (--prune deletes it)".to_owned(),
            None => {
                planned.actions.push(Action::DeleteAccessEntry {
                    principal_arn: p.clone(),
                });
                continue;
            }
        };
        kept.push(Kept {
            principal_arn: p.clone(),
            reason,
        });
    }
    // Deleting every entry the file owns, with none named in their place, is
    // what an empty or cut-short file does.
    let deleted = planned
        .actions
        .iter()
        .filter(|a| matches!(a, Action::DeleteAccessEntry { .. }))
        .count();
    let mut guards = Vec::new();
    if deleted > 0 && requests.is_empty() && !options.prune_all {
        guards.push(format!(
            "would delete every entry the file owns ({deleted}) and name none in their place: a file that wants no entries is refused unless it says so (`entries: []`)"
        ));
    }
    SyncPlan {
        plan: planned,
        kept,
        guards,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entries::association;
    use crate::entries::{AccessScope, PolicyAssociation, Resolution};

    const ADMIN: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";

    fn existing(
        p: &str,
        kind: EntryType,
        username: Option<&str>,
        policies: &[&str],
        created_at: i64,
    ) -> ExistingEntry {
        ExistingEntry {
            principal_arn: p.to_owned(),
            kind,
            username: username.map(str::to_owned),
            kubernetes_groups: vec![],
            policies: policies
                .iter()
                .map(|x| PolicyAssociation {
                    policy_arn: (*x).to_owned(),
                    access_scope: AccessScope::cluster(),
                })
                .collect(),
            created_at: Some(created_at),
        }
    }

    /// A cluster created at t=1000 with what EKS and services made, and two
    /// people's entries, one named in the file.
    fn cluster() -> ClusterState {
        let mut c = ClusterState::empty("prod", Some(crate::entries::AuthenticationMode::Api));
        c.account = Some("111122223333".into());
        for e in [
            existing(
                "arn:aws:iam::111122223333:role/Creator",
                EntryType::Standard,
                Some("arn:aws:sts::111122223333:assumed-role/Creator/{{SessionName}}"),
                &[ADMIN],
                1100,
            ),
            existing(
                "arn:aws:iam::111122223333:role/NodeRole",
                EntryType::Ec2Linux,
                Some("system:node:{{EC2PrivateDNSName}}"),
                &[],
                5000,
            ),
            existing(
                "arn:aws:iam::111122223333:role/AckCapability",
                EntryType::Standard,
                Some("capability:ack"),
                &["arn:aws:eks::aws:cluster-access-policy/AmazonEKSACKPolicy"],
                6000,
            ),
            existing(
                "arn:aws:iam::111122223333:role/aws-service-role/emr-containers.amazonaws.com/AWSServiceRoleForAmazonEMRContainers",
                EntryType::Standard,
                Some("emr"),
                &[],
                6000,
            ),
            existing(
                "arn:aws:iam::111122223333:role/AutoCluster",
                EntryType::Standard,
                Some("eks:auto"),
                &[],
                6000,
            ),
            existing(
                "arn:aws:iam::111122223333:user/leaver",
                EntryType::Standard,
                Some("leaver"),
                &[ADMIN],
                7000,
            ),
            existing(
                "arn:aws:iam::111122223333:user/alice",
                EntryType::Standard,
                Some("alice"),
                &[ADMIN],
                7000,
            ),
        ] {
            c.entries.insert(e.principal_arn.clone(), e);
        }
        c
    }

    fn alice_with_view() -> Vec<EntryRequest> {
        let mut r = EntryRequest::standard("arn:aws:iam::111122223333:user/alice".parse().unwrap());
        r.username = Some("alice".into());
        r.policies = vec![association(
            "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy".into(),
            &[],
        )];
        vec![r]
    }

    #[test]
    fn only_the_unnamed_people_are_pruned_and_grants_come_first() {
        let requests = alice_with_view();
        let mut res = Resolutions::default();
        res.insert(
            "arn:aws:iam::111122223333:user/alice",
            Resolution::Resolved("arn:aws:iam::111122223333:user/alice".into()),
        );
        let p = sync(
            &requests,
            &cluster(),
            &res,
            &SyncOptions::new()
                .prune(true)
                .cluster_created_at(Some(1000)),
        );
        let actions: Vec<String> = p.plan.actions.iter().map(ToString::to_string).collect();
        let kept: Vec<String> = p
            .kept
            .iter()
            .map(|k| format!("{}: {}", k.principal_arn, k.reason))
            .collect();
        insta::assert_snapshot!(format!("{}\n--\n{}", actions.join("\n"), kept.join("\n")));
        let (first, second) = p.phases();
        assert!(first.actions.iter().all(|a| !matches!(
            a,
            Action::DeleteAccessEntry { .. } | Action::DisassociateAccessPolicy { .. }
        )));
        assert_eq!(
            first.actions.len() + second.actions.len(),
            p.plan.actions.len()
        );
    }

    /// Issue 20.5: a prune that names nothing and deletes every entry the
    /// file owns is a guard, unless the caller says an empty file is meant.
    #[test]
    fn an_empty_file_deletes_nothing_unless_it_says_so() {
        let options = SyncOptions::new()
            .prune(true)
            .cluster_created_at(Some(1000));
        let p = sync(&[], &cluster(), &Resolutions::default(), &options);
        assert!(
            p.guards
                .first()
                .is_some_and(|g| g.contains("would delete every entry the file owns (2)")),
            "{:?}",
            p.guards
        );
        let p = sync(
            &[],
            &cluster(),
            &Resolutions::default(),
            &options.clone().prune_all(true),
        );
        assert!(p.guards.is_empty());
        // A file that names someone: no such guard.
        let p = sync(
            &alice_with_view(),
            &cluster(),
            &Resolutions::default(),
            &options,
        );
        assert!(p.guards.is_empty(), "{:?}", p.guards);
    }

    #[test]
    fn without_prune_nothing_is_deleted() {
        let p = sync(
            &alice_with_view(),
            &cluster(),
            &Resolutions::default(),
            &SyncOptions::new().cluster_created_at(Some(1000)),
        );
        assert!(
            !p.plan
                .actions
                .iter()
                .any(|a| matches!(a, Action::DeleteAccessEntry { .. }))
        );
        assert!(
            p.kept
                .iter()
                .any(|k| k.principal_arn.ends_with("user/leaver") && k.reason.contains("--prune"))
        );
    }

    #[test]
    fn a_named_aws_entry_is_the_files() {
        // The file names the creator: it is rewritten like any other.
        let mut r =
            EntryRequest::standard("arn:aws:iam::111122223333:role/Creator".parse().unwrap());
        r.username = Some("ci".into());
        let mut res = Resolutions::default();
        res.insert(
            "arn:aws:iam::111122223333:role/Creator",
            Resolution::Resolved("arn:aws:iam::111122223333:role/Creator".into()),
        );
        let p = sync(
            &[r],
            &cluster(),
            &res,
            &SyncOptions::new()
                .prune(true)
                .cluster_created_at(Some(1000)),
        );
        assert!(p.plan.actions.iter().any(|a| matches!(a, Action::UpdateAccessEntry { principal_arn, .. } if principal_arn.ends_with("role/Creator"))));
        assert!(
            !p.kept
                .iter()
                .any(|k| k.principal_arn.ends_with("role/Creator"))
        );
    }

    #[test]
    fn the_bootstrap_entry_needs_all_its_marks() {
        let c = cluster();
        let creator = &c.entries["arn:aws:iam::111122223333:role/Creator"];
        assert!(aws_owned(creator, Some(1000), Some(1100)).is_some());
        // Created long after the cluster, and not first: someone's.
        let mut late = creator.clone();
        late.created_at = Some(90_000);
        assert_eq!(aws_owned(&late, Some(1000), Some(1100)), None);
        // First of all STANDARD entries (made when the mode left
        // CONFIG_MAP, long after the cluster): the creator's.
        assert!(aws_owned(&late, Some(1000), Some(90_000)).is_some());
        // Before the cluster existed: a clock to distrust, not the creator.
        let mut early = creator.clone();
        early.created_at = Some(900);
        assert_eq!(aws_owned(&early, Some(1000), Some(800)), None);
        // A username someone chose: someone's.
        let mut named = creator.clone();
        named.username = Some("ci".into());
        assert_eq!(aws_owned(&named, Some(1000), Some(1100)), None);
    }
}
