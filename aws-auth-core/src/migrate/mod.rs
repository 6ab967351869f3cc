//! Planning the move from aws-auth to EKS access entries. Pure: the caller
//! reads the map, the cluster's access entries and the IAM paths of the roles;
//! [`plan`] says what to create, what is already there, what differs and what
//! cannot move.
//!
//! Each mapping the authenticator honours (the last of duplicates) becomes one
//! access entry, translated as in the EKS user guide: node roles become
//! `EC2_LINUX` (`EC2_WINDOWS` with `eks:kube-proxy-windows`), Fargate pod
//! execution roles `FARGATE_LINUX`, hybrid node roles `HYBRID_LINUX`, and
//! everything else `STANDARD` with its username and groups; `system:masters`
//! becomes the `AmazonEKSClusterAdminPolicy` association, the other groups are
//! kept. What has no access-entry form (other `system:` groups, forbidden
//! usernames and templates, `sso` entries, `mapAccounts`, service-linked roles,
//! wildcards, session ARNs, roles whose IAM path is unknown) is blocked with
//! the reason, never guessed.
//!
//! ```
//! use aws_auth_core::Document;
//! use aws_auth_core::migrate::{self, AuthenticationMode, ClusterState, PlanOptions, Resolutions};
//!
//! let doc = Document::from_data([(
//!     "mapRoles",
//!     "- rolearn: arn:aws:iam::111122223333:role/Admin\n  username: admin:{{SessionName}}\n  groups: [system:masters, viewers]\n",
//! )]);
//! let cluster = ClusterState::empty("prod", Some(AuthenticationMode::ApiAndConfigMap));
//! let plan = migrate::plan(&doc, &cluster, &Resolutions::offline(), &PlanOptions::default());
//! assert_eq!(plan.actions.len(), 2); // the entry (groups: viewers) and the admin policy
//! assert!(plan.blocked.is_empty());
//! ```

mod compare;
#[cfg(feature = "eks")]
#[cfg_attr(docsrs, doc(cfg(feature = "eks")))]
pub mod eks;
pub use compare::entry_differences;
pub(crate) mod translate;

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::arn::Arn;
use crate::{DataKey, Document};

pub use translate::Desired;

/// How the cluster authenticates IAM principals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuthenticationMode {
    /// aws-auth only.
    ConfigMap,
    /// Access entries first, then aws-auth.
    ApiAndConfigMap,
    /// Access entries only.
    Api,
}

impl AuthenticationMode {
    /// The name the EKS API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthenticationMode::ConfigMap => "CONFIG_MAP",
            AuthenticationMode::ApiAndConfigMap => "API_AND_CONFIG_MAP",
            AuthenticationMode::Api => "API",
        }
    }

    /// Parses the EKS API name.
    pub fn from_name(name: &str) -> Option<AuthenticationMode> {
        [
            AuthenticationMode::ConfigMap,
            AuthenticationMode::ApiAndConfigMap,
            AuthenticationMode::Api,
        ]
        .into_iter()
        .find(|m| m.as_str() == name)
    }

    /// Whether access entries can be managed in this mode.
    pub fn has_access_entries(self) -> bool {
        self != AuthenticationMode::ConfigMap
    }
}

impl fmt::Display for AuthenticationMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The type of an access entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub enum EntryType {
    /// People and workloads: username, groups and access policies.
    Standard,
    /// Linux nodes.
    Ec2Linux,
    /// Windows nodes.
    Ec2Windows,
    /// Fargate pods.
    FargateLinux,
    /// EKS Auto Mode nodes.
    Ec2,
    /// Hybrid nodes.
    HybridLinux,
    /// SageMaker HyperPod nodes.
    HyperpodLinux,
    /// A type this version does not know, as EKS named it.
    Other(String),
}

impl EntryType {
    /// The name the EKS API uses (case-sensitive).
    pub fn as_str(&self) -> &str {
        match self {
            EntryType::Standard => "STANDARD",
            EntryType::Ec2Linux => "EC2_LINUX",
            EntryType::Ec2Windows => "EC2_WINDOWS",
            EntryType::FargateLinux => "FARGATE_LINUX",
            EntryType::Ec2 => "EC2",
            EntryType::HybridLinux => "HYBRID_LINUX",
            EntryType::HyperpodLinux => "HYPERPOD_LINUX",
            EntryType::Other(s) => s,
        }
    }

    /// Parses the EKS API name.
    pub fn from_name(name: &str) -> EntryType {
        match name {
            "STANDARD" => EntryType::Standard,
            "EC2_LINUX" => EntryType::Ec2Linux,
            "EC2_WINDOWS" => EntryType::Ec2Windows,
            "FARGATE_LINUX" => EntryType::FargateLinux,
            "EC2" => EntryType::Ec2,
            "HYBRID_LINUX" => EntryType::HybridLinux,
            "HYPERPOD_LINUX" => EntryType::HyperpodLinux,
            other => EntryType::Other(other.to_owned()),
        }
    }
}

impl From<EntryType> for String {
    fn from(t: EntryType) -> String {
        t.as_str().to_owned()
    }
}

impl fmt::Display for EntryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an access policy applies.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessScope {
    /// `cluster` or `namespace`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The namespaces, for `namespace` scope.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
}

impl AccessScope {
    /// The whole cluster.
    pub fn cluster() -> AccessScope {
        AccessScope {
            kind: "cluster".to_owned(),
            namespaces: Vec::new(),
        }
    }

    fn same(&self, other: &AccessScope) -> bool {
        let mut a = self.namespaces.clone();
        let mut b = other.namespaces.clone();
        a.sort();
        b.sort();
        self.kind == other.kind && a == b
    }
}

impl fmt::Display for AccessScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespaces.is_empty() {
            write!(f, "{} scope", self.kind)
        } else {
            write!(f, "{} scope [{}]", self.kind, self.namespaces.join(", "))
        }
    }
}

/// An access policy associated with an entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyAssociation {
    /// `arn:PARTITION:eks::aws:cluster-access-policy/NAME`.
    pub policy_arn: String,
    /// Where it applies.
    pub access_scope: AccessScope,
}

/// The name at the end of a policy ARN.
pub fn policy_name(policy_arn: &str) -> &str {
    policy_arn.rsplit('/').next().unwrap_or(policy_arn)
}

/// The cluster-admin access policy that stands for `system:masters`.
pub fn cluster_admin_policy(partition: crate::arn::Partition) -> String {
    format!("arn:{partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy")
}

/// An access entry as the cluster has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingEntry {
    /// The principal.
    pub principal_arn: String,
    /// Its type.
    pub kind: EntryType,
    /// Its username (EKS fills one in when none is given).
    pub username: Option<String>,
    /// Its Kubernetes groups.
    pub kubernetes_groups: Vec<String>,
    /// Its associated access policies.
    pub policies: Vec<PolicyAssociation>,
    /// When it was created (seconds since the Unix epoch), when known: tells
    /// the entries EKS made itself (see [`crate::access::aws_owned`]).
    pub created_at: Option<i64>,
}

/// What the cluster has.
#[derive(Debug, Clone)]
pub struct ClusterState {
    /// The cluster's name.
    pub name: String,
    /// The account the cluster is in (node, Fargate and hybrid entries must be
    /// roles of this account); `None` when unknown (offline).
    pub account: Option<String>,
    /// Its authentication mode; `None` when unknown (offline).
    pub mode: Option<AuthenticationMode>,
    /// Its access entries, by principal ARN. Entries the plan does not concern
    /// may be left out (only their presence matters, and only for those).
    pub entries: BTreeMap<String, ExistingEntry>,
    /// Principals whose entry exists but could not be read, with why: nothing
    /// is planned for them (see [`Plan::unread`]), the others go on.
    pub unreadable: BTreeMap<String, String>,
}

impl ClusterState {
    /// A cluster with no access entries; `mode` `None` for an offline plan.
    pub fn empty(name: &str, mode: Option<AuthenticationMode>) -> ClusterState {
        ClusterState {
            name: name.to_owned(),
            account: None,
            mode,
            entries: BTreeMap::new(),
            unreadable: BTreeMap::new(),
        }
    }
}

/// What is known of a role's IAM path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// The role's full ARN, path included (from IAM or from the user).
    Resolved(String),
    /// Not looked up (an offline plan): used as written.
    Unverified,
    /// Cannot be used, with the reason (IAM has no such role, it belongs to
    /// another account, ...).
    Failed(String),
}

/// The IAM paths of the mapped roles, keyed by the role ARN as the map has it
/// (compared without case, as the authenticator compares it).
#[derive(Debug, Clone, Default)]
pub struct Resolutions {
    by_arn: BTreeMap<String, Resolution>,
    offline: bool,
}

impl Resolutions {
    /// Nothing looked up: every role ARN is used as written, unverified.
    pub fn offline() -> Resolutions {
        Resolutions {
            by_arn: BTreeMap::new(),
            offline: true,
        }
    }

    /// Records what was learnt of `arn` (as the map writes it).
    pub fn insert(&mut self, arn: &str, resolution: Resolution) {
        self.by_arn.insert(arn.to_lowercase(), resolution);
    }

    /// What was learnt of `arn`, if anything was looked up.
    pub fn lookup(&self, arn: &str) -> Option<Resolution> {
        self.by_arn.get(&arn.to_lowercase()).cloned()
    }

    /// What is known of `arn`.
    pub fn get(&self, arn: &str) -> Resolution {
        match self.by_arn.get(&arn.to_lowercase()) {
            Some(r) => r.clone(),
            None if self.offline => Resolution::Unverified,
            None => Resolution::Failed(
                "its IAM path was not looked up (role ARNs in aws-auth carry none)".to_owned(),
            ),
        }
    }
}

/// How conflicts are treated.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct PlanOptions {
    /// Make existing entries that differ match the map (update the entry,
    /// associate and disassociate policies) instead of reporting conflicts.
    /// An entry of another type still conflicts: the type cannot change.
    pub update_existing: bool,
}

impl PlanOptions {
    /// Conflicts reported, nothing updated.
    pub fn new() -> PlanOptions {
        PlanOptions::default()
    }

    /// [`PlanOptions::update_existing`].
    pub fn update_existing(mut self, update: bool) -> PlanOptions {
        self.update_existing = update;
        self
    }
}

/// One call to make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Action {
    /// `CreateAccessEntry`.
    #[serde(rename_all = "camelCase")]
    CreateAccessEntry {
        /// The principal.
        principal_arn: String,
        /// The entry type.
        #[serde(rename = "type")]
        kind: EntryType,
        /// The username (STANDARD only).
        #[serde(skip_serializing_if = "Option::is_none")]
        username: Option<String>,
        /// The Kubernetes groups (STANDARD only).
        kubernetes_groups: Vec<String>,
        /// False when the role ARN was used as written, its IAM path not
        /// looked up (offline plans); apply always looks it up.
        #[serde(skip_serializing_if = "is_true")]
        path_verified: bool,
    },
    /// `UpdateAccessEntry` (with `update_existing`).
    #[serde(rename_all = "camelCase")]
    UpdateAccessEntry {
        /// The principal.
        principal_arn: String,
        /// The new username.
        #[serde(skip_serializing_if = "Option::is_none")]
        username: Option<String>,
        /// The new groups.
        kubernetes_groups: Vec<String>,
    },
    /// `AssociateAccessPolicy`.
    #[serde(rename_all = "camelCase")]
    AssociateAccessPolicy {
        /// The principal.
        principal_arn: String,
        /// The policy.
        policy_arn: String,
        /// Where it applies.
        access_scope: AccessScope,
        /// As for the entry.
        #[serde(skip_serializing_if = "is_true")]
        path_verified: bool,
    },
    /// `DisassociateAccessPolicy` (with `update_existing`).
    #[serde(rename_all = "camelCase")]
    DisassociateAccessPolicy {
        /// The principal.
        principal_arn: String,
        /// The policy.
        policy_arn: String,
    },
    /// `DeleteAccessEntry` (`aws-auth access sync --prune`, `access remove`).
    #[serde(rename_all = "camelCase")]
    DeleteAccessEntry {
        /// The principal.
        principal_arn: String,
    },
}

fn is_true(b: &bool) -> bool {
    *b
}

impl Action {
    /// The principal the action concerns.
    pub fn principal_arn(&self) -> &str {
        match self {
            Action::CreateAccessEntry { principal_arn, .. }
            | Action::UpdateAccessEntry { principal_arn, .. }
            | Action::AssociateAccessPolicy { principal_arn, .. }
            | Action::DisassociateAccessPolicy { principal_arn, .. }
            | Action::DeleteAccessEntry { principal_arn } => principal_arn,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::CreateAccessEntry {
                principal_arn,
                kind,
                username,
                kubernetes_groups,
                ..
            } => {
                write!(f, "create {kind} access entry for {principal_arn}")?;
                if let Some(u) = username {
                    write!(f, ", username {u}")?;
                }
                if !kubernetes_groups.is_empty() {
                    write!(f, ", groups {}", kubernetes_groups.join(", "))?;
                }
                Ok(())
            }
            Action::UpdateAccessEntry {
                principal_arn,
                username,
                kubernetes_groups,
            } => {
                write!(f, "update the access entry of {principal_arn}")?;
                if let Some(u) = username {
                    write!(f, ": username {u}")?;
                }
                write!(f, ", groups [{}]", kubernetes_groups.join(", "))
            }
            Action::AssociateAccessPolicy {
                principal_arn,
                policy_arn,
                access_scope,
                ..
            } => write!(
                f,
                "associate {} ({access_scope}) with {principal_arn}",
                policy_name(policy_arn)
            ),
            Action::DisassociateAccessPolicy {
                principal_arn,
                policy_arn,
            } => write!(
                f,
                "disassociate {} from {principal_arn}",
                policy_name(policy_arn)
            ),
            Action::DeleteAccessEntry { principal_arn } => {
                write!(f, "delete the access entry of {principal_arn}")
            }
        }
    }
}

/// Something already as the map wants it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Unchanged {
    /// The principal.
    pub principal_arn: String,
    /// What is already there.
    pub detail: String,
}

/// An existing entry that differs from the map; never overwritten without
/// `update_existing`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Conflict {
    /// The principal.
    pub principal_arn: String,
    /// How it differs, one line each.
    pub differences: Vec<String>,
}

/// Why a mapping cannot become an access entry: a stable code, for scripts
/// (the sentence beside it may change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum BlockedCode {
    /// The whole key cannot be read.
    KeyUnreadable,
    /// An `sso` matcher.
    SsoEntry,
    /// An account in `mapAccounts`.
    MapAccounts,
    /// A wildcard in the ARN.
    WildcardArn,
    /// Not an IAM principal ARN.
    InvalidArn,
    /// An sts assumed-role (session) ARN.
    SessionArn,
    /// An ARN of a principal that is neither a user nor a role (root, ...).
    NotUserOrRole,
    /// A service-linked role.
    ServiceLinkedRole,
    /// A role ARN with an IAM path (it never matched).
    RoleArnWithPath,
    /// A node mapping on an IAM user.
    NodeMappingOnUser,
    /// A node mapping without the groups its entry type grants.
    NodeGroupsIncomplete,
    /// A node mapping with groups its entry type cannot carry.
    NodeExtraGroups,
    /// No username.
    NoUsername,
    /// A username with a prefix access entries refuse (`system:`, `eks:`...).
    ForbiddenUsername,
    /// A template access entries do not fill.
    UnsupportedTemplate,
    /// A session template in an IAM user's username.
    UserSessionTemplate,
    /// A template with no `:` before it.
    TemplateWithoutColon,
    /// An empty group name.
    EmptyGroup,
    /// A template in a group.
    GroupTemplate,
    /// A `system:` group other than `system:masters`.
    SystemGroup,
    /// The role's IAM path could not be learnt.
    RolePathUnknown,
    /// A user IAM does not know (or knows under another ARN).
    UserNotInIam,
    /// A node-type entry for a role of another account.
    NodeRoleOfOtherAccount,
}

/// A mapping that cannot become an access entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Blocked {
    /// The data key.
    pub key: DataKey,
    /// The ARN (or account) as the map has it; empty for a whole key.
    pub arn: String,
    /// The mapping's line in the data string (or manifest); 0 for a whole key.
    pub line: usize,
    /// Why, as a stable code.
    pub code: BlockedCode,
    /// Why, in a sentence.
    pub reason: String,
}

/// A principal whose existing access entry could not be read: nothing is
/// planned for it until it can be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Unread {
    /// The principal.
    pub principal_arn: String,
    /// What went wrong.
    pub reason: String,
}

/// A mapping the authenticator does not use, so there is nothing to migrate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ignored {
    /// The data key.
    pub key: DataKey,
    /// The ARN as the map has it.
    pub arn: String,
    /// Its line.
    pub line: usize,
    /// Why it does not count.
    pub reason: String,
}

/// What moving the map to access entries takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// The cluster.
    pub cluster: String,
    /// Its authentication mode when planned (`null` offline).
    pub authentication_mode: Option<AuthenticationMode>,
    /// Calls to make, in order (an entry before its policies).
    pub actions: Vec<Action>,
    /// Already there.
    pub unchanged: Vec<Unchanged>,
    /// There but different.
    pub conflicts: Vec<Conflict>,
    /// Cannot move (blocks the switch to `API`).
    pub blocked: Vec<Blocked>,
    /// Not in effect today, so nothing to move.
    pub ignored: Vec<Ignored>,
    /// Existing entries that could not be read; nothing is planned for them.
    pub unread: Vec<Unread>,
}

impl Plan {
    /// A plan for `cluster` with nothing in it yet.
    pub fn empty(cluster: &str, mode: Option<AuthenticationMode>) -> Plan {
        Plan {
            cluster: cluster.to_owned(),
            authentication_mode: mode,
            actions: Vec::new(),
            unchanged: Vec::new(),
            conflicts: Vec::new(),
            blocked: Vec::new(),
            ignored: Vec::new(),
            unread: Vec::new(),
        }
    }

    /// Nothing to do and nothing in the way: the cluster already has every
    /// access entry the map stands for.
    pub fn is_converged(&self) -> bool {
        self.actions.is_empty() && self.conflicts.is_empty() && self.unread.is_empty()
    }

    /// Safe to switch the cluster to `API`: converged and nothing blocked.
    pub fn is_final(&self) -> bool {
        self.is_converged() && self.blocked.is_empty()
    }
}

/// The role ARNs whose IAM paths a plan needs, as the map writes them (the
/// last of duplicates, migratable mappings only), in map order.
pub fn roles_to_resolve(doc: &Document) -> Vec<Arn> {
    translate::translate(doc)
        .desired
        .iter()
        .filter_map(|d| {
            let arn: Arn = d.map_arn.parse().ok()?;
            (arn.kind() == crate::arn::PrincipalKind::Role).then_some(arn)
        })
        .collect()
}

/// Why a mapping of `arn` to `username` and `groups` would have no access-entry
/// form (and so block the move to access entries), if it would not: the rule
/// [`plan`] applies, for a tool to warn before such a mapping is written.
///
/// ```
/// use aws_auth_core::migrate::{blocks_migration, BlockedCode};
///
/// let (code, _) = blocks_migration("arn:aws:iam::111122223333:role/Dev", "{{SessionName}}", &[]).unwrap();
/// assert_eq!(code, BlockedCode::TemplateWithoutColon);
/// assert!(blocks_migration("arn:aws:iam::111122223333:role/Dev", "dev:{{SessionName}}", &["devs".into()]).is_none());
/// ```
pub fn blocks_migration(
    arn: &str,
    username: &str,
    groups: &[String],
) -> Option<(BlockedCode, String)> {
    let groups: Vec<crate::Text> = groups.iter().map(crate::Text::from).collect();
    translate::mapping(arn, username, &groups).err()
}

/// The user ARNs a plan should check IAM for (a mapped user that does not
/// exist cannot get an access entry), as the map writes them, in map order.
pub fn users_to_check(doc: &Document) -> Vec<Arn> {
    translate::translate(doc)
        .desired
        .iter()
        .filter_map(|d| {
            let arn: Arn = d.map_arn.parse().ok()?;
            (arn.kind() == crate::arn::PrincipalKind::User).then_some(arn)
        })
        .collect()
}

/// The principals whose access entries a plan of `doc` looks at: every
/// mapping that can move, its role path resolved, in map order and once each.
/// Read these entries from the cluster (`DescribeAccessEntry` and
/// `ListAssociatedAccessPolicies`) to build the [`ClusterState`] for [`plan`];
/// `account` is the cluster's, which node entries must belong to.
///
/// ```
/// use aws_auth_core::Document;
/// use aws_auth_core::migrate::{Resolutions, principals};
///
/// let doc = Document::from_data([("mapUsers", "- userarn: arn:aws:iam::111122223333:user/alice\n  username: alice\n")]);
/// assert_eq!(principals(&doc, &Resolutions::offline(), None), ["arn:aws:iam::111122223333:user/alice"]);
/// ```
pub fn principals(doc: &Document, resolutions: &Resolutions, account: Option<&str>) -> Vec<String> {
    let mut empty = ClusterState::empty("", None);
    empty.account = account.map(str::to_owned);
    let mut out: Vec<String> = Vec::new();
    for action in plan(doc, &empty, resolutions, &PlanOptions::new()).actions {
        let p = action.principal_arn();
        if !out.iter().any(|o| o == p) {
            out.push(p.to_owned());
        }
    }
    out
}

/// Plans entries given directly (see [`crate::access`]) as the migrator
/// plans the map's.
pub(crate) fn plan_desired(
    desired: Vec<Desired>,
    cluster: &ClusterState,
    resolutions: &Resolutions,
    options: &PlanOptions,
) -> Plan {
    let mut plan = Plan::empty(&cluster.name, cluster.mode);
    compare::compare(
        &mut plan,
        desired,
        cluster,
        resolutions,
        options,
        "the request",
    );
    plan
}

/// Plans the migration of `doc`'s mappings to `cluster`.
pub fn plan(
    doc: &Document,
    cluster: &ClusterState,
    resolutions: &Resolutions,
    options: &PlanOptions,
) -> Plan {
    let t = translate::translate(doc);
    let mut plan = Plan {
        cluster: cluster.name.clone(),
        authentication_mode: cluster.mode,
        actions: Vec::new(),
        unchanged: Vec::new(),
        conflicts: Vec::new(),
        blocked: t.blocked,
        ignored: t.ignored,
        unread: Vec::new(),
    };
    compare::compare(
        &mut plan,
        t.desired,
        cluster,
        resolutions,
        options,
        "the map",
    );
    // In map order, whichever step found them.
    let order = |key: DataKey| DataKey::ALL.iter().position(|k| *k == key);
    plan.blocked.sort_by_key(|b| (order(b.key), b.line));
    plan.ignored.sort_by_key(|i| (order(i.key), i.line));
    plan
}
