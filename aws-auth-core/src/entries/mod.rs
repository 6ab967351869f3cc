//! The vocabulary of EKS access entries, below both the migrator and the
//! access commands: authentication modes, entry types, policies and their
//! scopes, the entries a cluster has, the calls that change them, and the
//! plan that lists those calls; what EKS refuses ([`rules`]), and how
//! desired entries compare with existing ones.

pub(crate) mod compare;
pub(crate) mod rules;

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::DataKey;
use crate::arn::{Arn, PrincipalKind};

pub use compare::entry_differences;

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
#[non_exhaustive]
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
    /// Every type this version knows, in the EKS API's order.
    pub const KNOWN: [EntryType; 7] = [
        EntryType::Standard,
        EntryType::Ec2Linux,
        EntryType::Ec2Windows,
        EntryType::FargateLinux,
        EntryType::Ec2,
        EntryType::HybridLinux,
        EntryType::HyperpodLinux,
    ];

    /// The names of [`EntryType::KNOWN`], comma-separated, for messages.
    ///
    /// ```
    /// assert!(aws_auth_core::entries::EntryType::known_names().starts_with("STANDARD, EC2_LINUX"));
    /// ```
    pub fn known_names() -> String {
        EntryType::KNOWN
            .iter()
            .map(EntryType::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }

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
        EntryType::KNOWN
            .into_iter()
            .find(|t| t.as_str() == name)
            .unwrap_or_else(|| EntryType::Other(name.to_owned()))
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
#[non_exhaustive]
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

    /// These namespaces (names or `dev-*` patterns).
    pub fn namespaces(namespaces: impl IntoIterator<Item = impl Into<String>>) -> AccessScope {
        AccessScope {
            kind: "namespace".to_owned(),
            namespaces: namespaces.into_iter().map(Into::into).collect(),
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
#[non_exhaustive]
pub struct PolicyAssociation {
    /// `arn:PARTITION:eks::aws:cluster-access-policy/NAME`.
    pub policy_arn: String,
    /// Where it applies.
    pub access_scope: AccessScope,
}

impl PolicyAssociation {
    /// `policy_arn` with `access_scope`.
    pub fn new(policy_arn: impl Into<String>, access_scope: AccessScope) -> PolicyAssociation {
        PolicyAssociation {
            policy_arn: policy_arn.into(),
            access_scope,
        }
    }
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
#[non_exhaustive]
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

impl ExistingEntry {
    /// An entry of `kind` for `principal_arn`, with nothing else yet.
    ///
    /// ```
    /// use aws_auth_core::entries::{EntryType, ExistingEntry, association};
    /// let e = ExistingEntry::new("arn:aws:iam::111122223333:user/a", EntryType::Standard)
    ///     .with_username("a")
    ///     .with_groups(["dev"])
    ///     .with_policy(association("arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy".into(), &[]))
    ///     .with_created_at(1_700_000_000);
    /// assert_eq!(e.kubernetes_groups, ["dev"]);
    /// ```
    pub fn new(principal_arn: impl Into<String>, kind: EntryType) -> ExistingEntry {
        ExistingEntry {
            principal_arn: principal_arn.into(),
            kind,
            username: None,
            kubernetes_groups: Vec::new(),
            policies: Vec::new(),
            created_at: None,
        }
    }

    /// [`ExistingEntry::username`].
    pub fn with_username(mut self, username: impl Into<String>) -> ExistingEntry {
        self.username = Some(username.into());
        self
    }

    /// [`ExistingEntry::kubernetes_groups`].
    pub fn with_groups(
        mut self,
        groups: impl IntoIterator<Item = impl Into<String>>,
    ) -> ExistingEntry {
        self.kubernetes_groups = groups.into_iter().map(Into::into).collect();
        self
    }

    /// One more of [`ExistingEntry::policies`].
    pub fn with_policy(mut self, policy: PolicyAssociation) -> ExistingEntry {
        self.policies.push(policy);
        self
    }

    /// [`ExistingEntry::created_at`].
    pub fn with_created_at(mut self, secs: i64) -> ExistingEntry {
        self.created_at = Some(secs);
        self
    }
}

/// What the cluster has.
#[derive(Debug, Clone)]
#[non_exhaustive]
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
#[non_exhaustive]
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
    /// Compare an existing entry only in what a request names (`access
    /// add`): its username and groups when the request gives either, its
    /// policies when it grants any. An entry's other parts are then neither
    /// read nor judged (see [`crate::access::reads`]).
    pub named_only: bool,
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

    /// [`PlanOptions::named_only`].
    pub fn named_only(mut self, named_only: bool) -> PlanOptions {
        self.named_only = named_only;
        self
    }
}

/// How much of an existing access entry a plan needs read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Read {
    /// The entry (type, username, groups) and its policies.
    Full,
    /// Its policies alone (the type taken as STANDARD).
    Policies,
    /// That it exists.
    Nothing,
}

/// One call to make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
#[non_exhaustive]
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
    /// True for the actions that take access away (a policy disassociated,
    /// an entry deleted).
    pub fn takes_away(&self) -> bool {
        matches!(
            self,
            Action::DisassociateAccessPolicy { .. } | Action::DeleteAccessEntry { .. }
        )
    }

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
#[non_exhaustive]
pub struct Unchanged {
    /// The principal.
    pub principal_arn: String,
    /// What is already there.
    pub detail: String,
}

impl Unchanged {
    /// `principal_arn` needs nothing: `detail` says why.
    pub fn new(principal_arn: impl Into<String>, detail: impl Into<String>) -> Unchanged {
        Unchanged {
            principal_arn: principal_arn.into(),
            detail: detail.into(),
        }
    }
}

/// An existing entry that differs from the map; never overwritten without
/// `update_existing`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
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

impl BlockedCode {
    /// What fixes it, naming the command where one does.
    ///
    /// ```
    /// use aws_auth_core::entries::BlockedCode;
    /// assert!(BlockedCode::RolePathUnknown.fix().contains("--role-arn-map"));
    /// ```
    pub fn fix(self) -> &'static str {
        match self {
            BlockedCode::KeyUnreadable => {
                "fix the key first (`aws-auth lint` says where), then plan again"
            }
            BlockedCode::SsoEntry => {
                "map the permission set's role by its ARN instead (`aws-auth add role ARN`), or give it an entry (`aws-auth access add ARN`)"
            }
            BlockedCode::MapAccounts => {
                "give each principal of that account its own entry (`aws-auth access add ARN`), then `aws-auth remove account ID`"
            }
            BlockedCode::WildcardArn | BlockedCode::InvalidArn | BlockedCode::NotUserOrRole => {
                "it matches nobody: remove it (`aws-auth remove role|user ARN`)"
            }
            BlockedCode::SessionArn => {
                "map the role itself (`aws-auth add role ROLE-ARN`), then remove the session's mapping"
            }
            BlockedCode::ServiceLinkedRole => {
                "the AWS service manages its own access: remove the mapping once the service has its entry (`aws-auth remove role ARN`)"
            }
            BlockedCode::RoleArnWithPath => {
                "it never matched: write the role without its path (`aws-auth add role ARN` writes it so) and remove this one"
            }
            BlockedCode::NodeMappingOnUser
            | BlockedCode::NodeGroupsIncomplete
            | BlockedCode::NodeExtraGroups => {
                "give the node role its entry by type (`aws-auth access add ARN --type EC2_LINUX`), then fix or remove the mapping"
            }
            BlockedCode::NoUsername
            | BlockedCode::ForbiddenUsername
            | BlockedCode::UnsupportedTemplate
            | BlockedCode::UserSessionTemplate
            | BlockedCode::TemplateWithoutColon => {
                "give it a username access entries take (`aws-auth update role|user ARN -u NAME`), or its entry directly (`aws-auth access add ARN -u NAME`)"
            }
            BlockedCode::EmptyGroup | BlockedCode::GroupTemplate | BlockedCode::SystemGroup => {
                "change its groups (`aws-auth update role|user ARN -g GROUP`); for system:masters the migration grants the cluster-admin policy"
            }
            BlockedCode::RolePathUnknown => {
                "give the role's full ARN with --role-arn-map FILE (IAM could not be asked), or check the role exists"
            }
            BlockedCode::UserNotInIam => {
                "the user does not exist: remove the mapping (`aws-auth remove user ARN`), or create the user and plan again"
            }
            BlockedCode::NodeRoleOfOtherAccount => {
                "give the node role its entry from that account's credentials (`aws-auth access add ARN --type EC2_LINUX`)"
            }
        }
    }
}

/// A mapping that cannot become an access entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
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
#[non_exhaustive]
pub struct Unread {
    /// The principal.
    pub principal_arn: String,
    /// What went wrong.
    pub reason: String,
}

/// A mapping the authenticator does not use, so there is nothing to migrate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
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

/// One way the access entries differ from the map (see [`Plan::drift`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Drift {
    /// The principal.
    pub principal_arn: String,
    /// What differs.
    pub problem: String,
}

/// What moving the map to access entries takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
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

    /// How the cluster differs from the map, one line per difference: an
    /// entry or policy association missing, an entry that differs, one that
    /// could not be read (what `migrate verify` reports).
    ///
    /// ```
    /// use aws_auth_core::entries::{Action, EntryType, Plan};
    /// let mut plan = Plan::empty("prod", None);
    /// plan.actions.push(Action::CreateAccessEntry {
    ///     principal_arn: "arn:aws:iam::111122223333:role/Dev".into(),
    ///     kind: EntryType::Standard,
    ///     username: None,
    ///     kubernetes_groups: vec![],
    ///     path_verified: true,
    /// });
    /// assert_eq!(plan.drift()[0].problem, "no access entry (want STANDARD)");
    /// ```
    pub fn drift(&self) -> Vec<Drift> {
        let mut out: Vec<Drift> = self
            .actions
            .iter()
            .map(|a| Drift {
                principal_arn: a.principal_arn().to_owned(),
                problem: match a {
                    Action::CreateAccessEntry { kind, .. } => {
                        format!("no access entry (want {kind})")
                    }
                    Action::AssociateAccessPolicy {
                        policy_arn,
                        access_scope,
                        ..
                    } => format!(
                        "{} ({access_scope}) is not associated",
                        policy_name(policy_arn)
                    ),
                    other => other.to_string(),
                },
            })
            .collect();
        for c in &self.conflicts {
            out.extend(c.differences.iter().map(|d| Drift {
                principal_arn: c.principal_arn.clone(),
                problem: d.clone(),
            }));
        }
        out.extend(self.unread.iter().map(|u| Drift {
            principal_arn: u.principal_arn.clone(),
            problem: format!("its access entry could not be read: {}", u.reason),
        }));
        out
    }

    /// Safe to switch the cluster to `API`: converged and nothing blocked.
    pub fn is_final(&self) -> bool {
        self.is_converged() && self.blocked.is_empty()
    }

    /// The calls that grant (creates, updates, associations), then the ones
    /// that [take away](Action::takes_away): run the second only when the
    /// first all succeeded, so a failure never leaves a principal without
    /// access before its replacement is in place.
    ///
    /// ```
    /// use aws_auth_core::entries::{Action, Plan};
    /// let mut plan = Plan::empty("prod", None);
    /// plan.actions.push(Action::DeleteAccessEntry { principal_arn: "arn:aws:iam::111122223333:role/Old".into() });
    /// plan.actions.push(Action::DisassociateAccessPolicy {
    ///     principal_arn: "arn:aws:iam::111122223333:role/Dev".into(),
    ///     policy_arn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy".into(),
    /// });
    /// let (give, take) = plan.phases();
    /// assert!(give.actions.is_empty() && take.actions.len() == 2);
    /// ```
    pub fn phases(&self) -> (Plan, Plan) {
        let (take, give): (Vec<Action>, Vec<Action>) =
            self.actions.iter().cloned().partition(Action::takes_away);
        let mut first = self.clone();
        first.actions = give;
        let mut second = self.clone();
        second.actions = take;
        (first, second)
    }
}

/// The access entry a mapping stands for, before its role's IAM path is known.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Desired {
    /// Where the mapping is.
    pub key: DataKey,
    /// The ARN as the map writes it.
    pub map_arn: String,
    /// The mapping's line.
    pub line: usize,
    /// The entry type.
    pub kind: EntryType,
    /// The username (STANDARD only).
    pub username: Option<String>,
    /// The Kubernetes groups (STANDARD only).
    pub kubernetes_groups: Vec<String>,
    /// Access policies (`system:masters`).
    pub policies: Vec<PolicyAssociation>,
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

/// The most access entries a cluster holds (an EKS quota).
pub const MAX_ENTRIES: usize = 3000;

/// Refuses `actions` when, on a cluster holding `existing` entries, they
/// would take it past [`MAX_ENTRIES`] (counting creates and deletes).
///
/// ```
/// use aws_auth_core::entries::{Action, EntryType, within_limit};
/// let create = Action::CreateAccessEntry {
///     principal_arn: "arn:aws:iam::111122223333:user/a".into(), kind: EntryType::Standard,
///     username: None, kubernetes_groups: vec![], path_verified: true,
/// };
/// assert!(within_limit(2999, std::slice::from_ref(&create)).is_ok());
/// assert!(within_limit(3000, &[create]).is_err());
/// ```
pub fn within_limit(existing: usize, actions: &[Action]) -> Result<(), String> {
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
/// use aws_auth_core::entries::policy_arn;
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

/// The username EKS gives a STANDARD entry created without one: the user's
/// ARN, or for a role its STS session ARN with `{{SessionName}}`.
///
/// ```
/// use aws_auth_core::entries::default_username;
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
