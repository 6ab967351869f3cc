//! What a login really gets: the map, the cluster's access entries, IAM and
//! RBAC together, as EKS and the API server consult them.
//!
//! - The authentication mode decides the sources: `CONFIG_MAP` reads only
//!   the map; `API_AND_CONFIG_MAP` looks for an access entry first and reads
//!   the map only for principals without one; `API` never reads the map.
//! - An access entry is bound to the principal IAM had when the entry was
//!   made: an entry older than its principal grants nothing.
//! - A group grants nothing unless a binding names it (`system:masters`
//!   aside); access policies are authorised by EKS beside RBAC.
//!
//! Fetching is the caller's: [`Sources`] holds what was read, and what was
//! not is said in the [`Login::notes`].
//!
//! ```
//! use std::collections::BTreeMap;
//! use aws_auth_core::Document;
//! use aws_auth_core::entries::{AccessScope, AuthenticationMode, EntryType, ExistingEntry, PolicyAssociation};
//! use aws_auth_core::login::{Sources, Source, login};
//!
//! let map = Document::from_data([(
//!     "mapRoles",
//!     "- rolearn: arn:aws:iam::111122223333:role/Ops\n  username: ops\n  groups: [system:masters]\n",
//! )]);
//! let entry = ExistingEntry::new("arn:aws:iam::111122223333:role/teams/Ops", EntryType::Standard)
//!     .with_username("ops:{{SessionName}}")
//!     .with_policy(PolicyAssociation::new(
//!         "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
//!         AccessScope::cluster(),
//!     ));
//! let entries = BTreeMap::from([(entry.principal_arn.clone(), entry)]);
//! let sources = Sources::new()
//!     .map(&map)
//!     .mode(AuthenticationMode::ApiAndConfigMap)
//!     .entries(&entries);
//! // The entry wins over the map: view, not system:masters.
//! let l = login("arn:aws:sts::111122223333:assumed-role/Ops/jane", &sources)?;
//! assert_eq!(l.source, Source::AccessEntry);
//! assert_eq!(l.username.as_deref(), Some("ops:jane"));
//! assert!(!l.cluster_admin);
//! # Ok::<(), aws_auth_core::arn::ArnError>(())
//! ```

use std::collections::BTreeMap;

use serde::Serialize;

use crate::arn::{Arn, PrincipalKind};
use crate::document::Document;
use crate::entries::{AuthenticationMode, EntryType, ExistingEntry, default_username, policy_name};
use crate::explain::LoginContext;
use crate::rbac::{BindingKind, Rbac};
use crate::template::{self, Values};

/// The group the API server authorises before RBAC.
pub const MASTERS: &str = "system:masters";

/// The access policy that stands for `cluster-admin`.
const CLUSTER_ADMIN_POLICY: &str = "AmazonEKSClusterAdminPolicy";

/// What IAM says of a principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "state")]
#[non_exhaustive]
pub enum IamPrincipal {
    /// It exists: its ARN (a role's with its IAM path) and when it was made
    /// (seconds since the Unix epoch).
    Exists {
        /// The ARN IAM gives it.
        arn: String,
        /// Its creation date.
        created_at: Option<i64>,
    },
    /// IAM has no principal of that name.
    Missing,
    /// IAM could not be asked (another account than the credentials', a
    /// failed call): never guessed.
    Unverifiable {
        /// Why.
        reason: String,
    },
}

/// The key under which [`Sources::iam`] holds what IAM says of `arn`: the
/// role of a session, a role or user by account and name, lower case (IAM
/// names are unique without case; a role's path plays no part).
///
/// ```
/// use aws_auth_core::login::iam_key;
/// let a = iam_key(&"arn:aws:sts::111122223333:assumed-role/Dev/jane".parse()?);
/// let b = iam_key(&"arn:aws:iam::111122223333:role/teams/dev".parse()?);
/// assert_eq!(a, b);
/// # Ok::<(), aws_auth_core::arn::ArnError>(())
/// ```
pub fn iam_key(arn: &Arn) -> String {
    let c = arn.canonical();
    let kind = match c.kind() {
        PrincipalKind::User => "user",
        _ => "role",
    };
    format!(
        "arn:{}:iam::{}:{kind}/{}",
        c.partition(),
        c.account(),
        c.name()
    )
    .to_ascii_lowercase()
}

/// What was read of a cluster: each part is optional, and what is missing is
/// said in the answer rather than guessed.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct Sources<'a> {
    /// The aws-auth map.
    pub map: Option<&'a Document>,
    /// The cluster's authentication mode.
    pub mode: Option<AuthenticationMode>,
    /// Its access entries, by principal ARN.
    pub entries: Option<&'a BTreeMap<String, ExistingEntry>>,
    /// Its RBAC objects.
    pub rbac: Option<&'a Rbac>,
    /// What IAM says of the principals, by [`iam_key`].
    pub iam: Option<&'a BTreeMap<String, IamPrincipal>>,
}

impl<'a> Sources<'a> {
    /// Nothing read.
    pub fn new() -> Sources<'a> {
        Sources::default()
    }

    /// The map.
    pub fn map(mut self, map: &'a Document) -> Sources<'a> {
        self.map = Some(map);
        self
    }

    /// The authentication mode.
    pub fn mode(mut self, mode: AuthenticationMode) -> Sources<'a> {
        self.mode = Some(mode);
        self
    }

    /// The access entries.
    pub fn entries(mut self, entries: &'a BTreeMap<String, ExistingEntry>) -> Sources<'a> {
        self.entries = Some(entries);
        self
    }

    /// The RBAC objects.
    pub fn rbac(mut self, rbac: &'a Rbac) -> Sources<'a> {
        self.rbac = Some(rbac);
        self
    }

    /// What IAM says.
    pub fn iam(mut self, iam: &'a BTreeMap<String, IamPrincipal>) -> Sources<'a> {
        self.iam = Some(iam);
        self
    }

    /// The mode the answer assumes, and a note when it was not read: with
    /// entries, `API_AND_CONFIG_MAP` (they exist in no other mode that reads
    /// the map); without, `CONFIG_MAP`.
    pub fn assumed_mode(&self) -> (AuthenticationMode, Option<String>) {
        match self.mode {
            Some(m) => (m, None),
            None => {
                let m = if self.entries.is_some() {
                    AuthenticationMode::ApiAndConfigMap
                } else {
                    AuthenticationMode::ConfigMap
                };
                (
                    m,
                    Some(format!(
                        "the cluster's authentication mode was not read: taken as {m}"
                    )),
                )
            }
        }
    }

    /// The entry EKS finds for `arn` (a role by account and name, its path
    /// and a session left out; a user as written, without case).
    pub fn entry_of(&self, arn: &Arn) -> Option<&'a ExistingEntry> {
        let me = arn.canonical();
        self.entries?.values().find(|e| {
            e.principal_arn
                .parse::<Arn>()
                .is_ok_and(|p| crate::access::same_principal(&me, &p))
        })
    }

    /// What IAM says of `arn`, when it was asked.
    pub fn iam_of(&self, arn: &Arn) -> Option<&'a IamPrincipal> {
        self.iam?.get(&iam_key(arn))
    }
}

/// Which source a login's identity comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Source {
    /// An access entry.
    AccessEntry,
    /// The aws-auth map.
    ConfigMap,
    /// Neither: the login is refused.
    None,
}

/// An access policy the login gets, with its scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct GrantedPolicy {
    /// Its name (`AmazonEKSViewPolicy`).
    pub policy: String,
    /// Its ARN.
    pub policy_arn: String,
    /// `cluster` or `namespace`.
    pub scope: String,
    /// The namespaces, for a namespace scope.
    pub namespaces: Vec<String>,
}

/// A binding that names the login's username or one of its groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Bound {
    /// `ClusterRoleBinding` or `RoleBinding`.
    pub kind: BindingKind,
    /// Its name.
    pub name: String,
    /// A RoleBinding's namespace.
    pub namespace: Option<String>,
    /// The role it grants (`ClusterRole/edit`).
    pub role: String,
    /// Whom it names: `user:NAME` or `group:NAME`.
    pub subject: String,
}

/// What a login gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Login {
    /// The principal as given.
    pub principal: String,
    /// Where its identity comes from.
    pub source: Source,
    /// The access entry that answers (its principal ARN), if one does.
    pub entry: Option<String>,
    /// The Kubernetes username (`None`: the login is refused).
    pub username: Option<String>,
    /// The Kubernetes groups.
    pub groups: Vec<String>,
    /// The access policies, with their scopes.
    pub access_policies: Vec<GrantedPolicy>,
    /// The bindings that name the username or a group (`None`: RBAC was not
    /// read).
    pub bindings: Option<Vec<Bound>>,
    /// Cluster-admin by any route.
    pub cluster_admin: bool,
    /// The routes that make it cluster-admin.
    pub admin_routes: Vec<String>,
    /// What the answer rests on, and what could not be read.
    pub notes: Vec<String>,
}

/// Why no login uses a mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Unused {
    /// An access entry for the same principal wins (`API_AND_CONFIG_MAP`):
    /// its principal ARN.
    AccessEntry(String),
    /// The cluster is in `API` mode, which never reads the map.
    ApiMode,
}

/// A mapping the authenticator would honour that no login uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Shadowed {
    /// `mapRoles` or `mapUsers`.
    #[serde(serialize_with = "key_name")]
    pub key: crate::model::DataKey,
    /// The entry's index in the key's entries.
    pub index: usize,
    /// The ARN as the map writes it.
    pub arn: String,
    /// Why.
    pub by: Unused,
}

fn key_name<S: serde::Serializer>(key: &crate::model::DataKey, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(key.as_str())
}

/// The map's honoured mappings that no login uses under `sources`: all of
/// them in `API` mode, those whose principal has an access entry in
/// `API_AND_CONFIG_MAP` (an entry older than its principal, when IAM says
/// so, does not count).
///
/// ```
/// use std::collections::BTreeMap;
/// use aws_auth_core::Document;
/// use aws_auth_core::entries::{AuthenticationMode, EntryType, ExistingEntry};
/// use aws_auth_core::login::{Sources, Unused, shadowed};
/// let map = Document::from_data([("mapUsers", "- userarn: arn:aws:iam::111122223333:user/a\n  username: a\n")]);
/// let entry = ExistingEntry::new("arn:aws:iam::111122223333:user/a", EntryType::Standard);
/// let entries = BTreeMap::from([(entry.principal_arn.clone(), entry)]);
/// let s = Sources::new().map(&map).entries(&entries).mode(AuthenticationMode::ApiAndConfigMap);
/// assert!(matches!(shadowed(&s)[0].by, Unused::AccessEntry(_)));
/// ```
pub fn shadowed(sources: &Sources<'_>) -> Vec<Shadowed> {
    let Some(map) = sources.map else {
        return Vec::new();
    };
    let (mode, _) = sources.assumed_mode();
    let effective = map.effective();
    let mut out = Vec::new();
    for m in effective.mappings() {
        let by = match mode {
            AuthenticationMode::Api => Unused::ApiMode,
            AuthenticationMode::ApiAndConfigMap => {
                let Ok(arn) = m.arn.parse::<Arn>() else {
                    continue;
                };
                match sources.entry_of(&arn) {
                    Some(e) if !recreated(e, sources.iam_of(&arn)) => {
                        Unused::AccessEntry(e.principal_arn.clone())
                    }
                    _ => continue,
                }
            }
            _ => continue,
        };
        out.push(Shadowed {
            key: m.key,
            index: m.index,
            arn: m.arn.to_owned(),
            by,
        });
    }
    out
}

/// True when IAM's principal was made after `entry`: the entry is bound to
/// the one deleted before.
fn recreated(entry: &ExistingEntry, iam: Option<&IamPrincipal>) -> bool {
    matches!(
        (iam, entry.created_at),
        (Some(IamPrincipal::Exists { created_at: Some(made), .. }), Some(entered)) if *made > entered
    )
}

/// The username and groups EKS gives a node entry of `kind`.
fn node_identity(kind: &EntryType) -> (&'static str, &'static [&'static str]) {
    match kind {
        EntryType::Ec2Windows => (
            "system:node:{{EC2PrivateDNSName}}",
            &["system:nodes", "eks:kube-proxy-windows"],
        ),
        EntryType::FargateLinux => (
            "system:node:{{SessionName}}",
            &["system:nodes", "system:node-proxier"],
        ),
        EntryType::Ec2Linux => ("system:node:{{EC2PrivateDNSName}}", &["system:nodes"]),
        _ => ("system:node:{{SessionName}}", &["system:nodes"]),
    }
}

/// What `principal` (an IAM role or user ARN, or an STS assumed-role
/// session) gets from `sources`.
pub fn login(principal: &str, sources: &Sources<'_>) -> Result<Login, crate::arn::ArnError> {
    login_with(principal, sources, &LoginContext::new())
}

/// [`login`] with values only known at login (for the map's templates).
pub fn login_with(
    principal: &str,
    sources: &Sources<'_>,
    context: &LoginContext,
) -> Result<Login, crate::arn::ArnError> {
    let arn: Arn = principal.parse()?;
    let (mode, assumed) = sources.assumed_mode();
    let mut out = Login {
        principal: principal.to_owned(),
        source: Source::None,
        entry: None,
        username: None,
        groups: Vec::new(),
        access_policies: Vec::new(),
        bindings: None,
        cluster_admin: false,
        admin_routes: Vec::new(),
        notes: assumed.into_iter().collect(),
    };
    let iam = sources.iam_of(&arn);
    match iam {
        Some(IamPrincipal::Missing) => out.notes.push(format!(
            "IAM has no {} named {} in account {}: nobody logs in as it today, and whoever creates it gets what is listed here",
            kind_word(&arn),
            arn.name(),
            arn.account()
        )),
        Some(IamPrincipal::Unverifiable { reason }) => {
            out.notes.push(format!("not checked in IAM: {reason}"))
        }
        _ => {}
    }
    let map_read = mode != AuthenticationMode::Api;
    let entry = if mode.has_access_entries() {
        if sources.entries.is_none() {
            out.notes.push(format!(
                "the access entries were not read: in {mode} an entry would win over the map"
            ));
        }
        sources.entry_of(&arn)
    } else {
        None
    };
    let explained = match sources.map {
        Some(map) if map_read || entry.is_none() => Some(map.explain_with(principal, context)?),
        _ => None,
    };
    let mapped_at = explained
        .as_ref()
        .and_then(|e| e.matched.as_ref())
        .map(|m| format!("{} line {}", m.key, m.position.line));
    if let Some(entry) = entry {
        out.source = Source::AccessEntry;
        out.entry = Some(entry.principal_arn.clone());
        from_entry(&mut out, &arn, entry, iam);
        if let (Some(at), true) = (&mapped_at, map_read) {
            out.notes.push(format!(
                "the map's mapping ({at}) is not used: the access entry wins"
            ));
        }
    } else if map_read {
        match (&explained, sources.map) {
            (Some(e), _) => {
                if e.username.is_some() {
                    out.source = Source::ConfigMap;
                    out.username = e.username.clone();
                    out.groups = e.groups.clone();
                }
                out.notes
                    .extend(e.failure.iter().map(|f| format!("login fails: {f}")));
                out.notes.extend(e.notes.iter().cloned());
            }
            (None, _) => out.notes.push("the map was not read".to_owned()),
        }
    } else if let Some(at) = &mapped_at {
        out.notes.push(format!(
            "the map maps it ({at}), but in {mode} the map is never read"
        ));
    }
    rights(&mut out, sources);
    Ok(out)
}

/// Seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ`.
fn utc(secs: i64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs.max(0).unsigned_abs());
    crate::time::format_utc(at)
}

fn kind_word(arn: &Arn) -> &'static str {
    match arn.kind() {
        PrincipalKind::User => "user",
        _ => "role",
    }
}

/// The identity and policies an entry gives (nothing, when the principal
/// was made after it).
fn from_entry(out: &mut Login, arn: &Arn, entry: &ExistingEntry, iam: Option<&IamPrincipal>) {
    if let (
        Some(IamPrincipal::Exists {
            created_at: Some(made),
            ..
        }),
        Some(entered),
    ) = (iam, entry.created_at)
        && *made > entered
    {
        out.notes.push(format!(
            "the access entry (created {}) is older than the principal IAM has now (created {}): it is bound to the one deleted before, and grants nothing; delete the entry and create it again",
            utc(entered),
            utc(*made)
        ));
        return;
    }
    let values = Values {
        account_id: arn.account(),
        session_name: arn.session(),
        access_key_id: None,
        private_dns_name: None,
    };
    let (user, groups): (String, Vec<String>) = if entry.kind == EntryType::Standard {
        let principal = entry
            .principal_arn
            .parse::<Arn>()
            .unwrap_or_else(|_| arn.canonical());
        (
            entry
                .username
                .clone()
                .unwrap_or_else(|| default_username(&principal)),
            entry.kubernetes_groups.clone(),
        )
    } else {
        out.notes.push(format!(
            "a {} entry: EKS gives it a node's identity",
            entry.kind
        ));
        let (u, g) = node_identity(&entry.kind);
        (u.to_owned(), g.iter().map(|g| (*g).to_owned()).collect())
    };
    // A role named without a session: its session's templates are left in.
    let filled = if arn.session().is_none() {
        Ok(template::Filled {
            pending: ["SessionName", "SessionNameRaw", "EC2PrivateDNSName"]
                .into_iter()
                .filter(|t| user.contains(&format!("{{{{{t}}}}}")))
                .collect(),
            text: user,
        })
    } else {
        template::fill(&user, &values)
    };
    match filled {
        Ok(filled) => {
            for p in filled.pending {
                out.notes.push(format!("{{{{{p}}}}} is filled at login"));
            }
            out.username = Some(filled.text);
        }
        Err(e) => out.notes.push(format!("login fails: {e}")),
    }
    out.groups = groups;
    out.access_policies = entry
        .policies
        .iter()
        .map(|p| GrantedPolicy {
            policy: policy_name(&p.policy_arn).to_owned(),
            policy_arn: p.policy_arn.clone(),
            scope: if p.access_scope.namespaces.is_empty() {
                "cluster".to_owned()
            } else {
                "namespace".to_owned()
            },
            namespaces: p.access_scope.namespaces.clone(),
        })
        .collect();
}

/// The bindings and the cluster-admin routes of the identity in `out`.
fn rights(out: &mut Login, sources: &Sources<'_>) {
    let Some(username) = out.username.clone() else {
        return;
    };
    if out.groups.iter().any(|g| g == MASTERS) {
        out.admin_routes
            .push(format!("the group {MASTERS}, authorised before RBAC"));
    }
    for p in &out.access_policies {
        if p.policy == CLUSTER_ADMIN_POLICY && p.scope == "cluster" {
            out.admin_routes.push(format!(
                "the access policy {CLUSTER_ADMIN_POLICY} at cluster scope"
            ));
        }
    }
    match sources.rbac {
        None => out
            .notes
            .push("RBAC was not read: the bindings are unknown".to_owned()),
        Some(rbac) => {
            let mut bound = Vec::new();
            for b in rbac.bindings_of(&username, &out.groups) {
                let Some(s) = b.names(&username, &out.groups) else {
                    continue;
                };
                let subject = match s.kind {
                    crate::rbac::SubjectKind::User => format!("user:{}", s.name),
                    _ => format!("group:{}", s.name),
                };
                if rbac.grants_missing_role(b) {
                    out.notes.push(format!(
                        "{} {} grants {}, which does not exist: it grants nothing",
                        kind_name(b.kind),
                        b.name,
                        b.role_name()
                    ));
                } else if rbac.makes_cluster_admin(b) {
                    out.admin_routes.push(format!(
                        "the ClusterRoleBinding {} to {} ({subject})",
                        b.name,
                        b.role_name()
                    ));
                }
                bound.push(Bound {
                    kind: b.kind,
                    name: b.name.clone(),
                    namespace: b.namespace.clone(),
                    role: b.role_name(),
                    subject,
                });
            }
            let unbound: Vec<&String> = out
                .groups
                .iter()
                .filter(|g| !g.starts_with("system:"))
                .filter(|g| !rbac.bound_groups().any(|(b, _)| b == g.as_str()))
                .collect();
            if !unbound.is_empty() {
                out.notes.push(format!(
                    "no binding names the group{} {}: {} nothing",
                    if unbound.len() == 1 { "" } else { "s" },
                    unbound
                        .iter()
                        .map(|g| g.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    if unbound.len() == 1 {
                        "it grants"
                    } else {
                        "they grant"
                    }
                ));
            }
            out.bindings = Some(bound);
        }
    }
    out.cluster_admin = !out.admin_routes.is_empty();
}

fn kind_name(kind: BindingKind) -> &'static str {
    match kind {
        BindingKind::ClusterRoleBinding => "the ClusterRoleBinding",
        BindingKind::RoleBinding => "the RoleBinding",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entries::{AccessScope, PolicyAssociation};
    use crate::rbac::{Binding, RoleKind, RoleRef, SubjectKind};

    const VIEW: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
    const ADMIN: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";

    fn map() -> Document {
        Document::from_data([
            (
                "mapRoles",
                "- rolearn: arn:aws:iam::111122223333:role/Ops\n  username: ops:{{SessionName}}\n  groups: [system:masters]\n\
                 - rolearn: arn:aws:iam::111122223333:role/Dev\n  username: dev\n  groups: [developers, testers]\n",
            ),
            (
                "mapUsers",
                "- userarn: arn:aws:iam::111122223333:user/ops/jane\n  username: jane\n  groups: [developers]\n",
            ),
        ])
    }

    fn entries() -> BTreeMap<String, ExistingEntry> {
        [
            ExistingEntry::new(
                "arn:aws:iam::111122223333:role/teams/Ops",
                EntryType::Standard,
            )
            .with_username("ops-entry:{{SessionName}}")
            .with_policy(PolicyAssociation::new(
                VIEW,
                AccessScope::namespaces(["dev"]),
            ))
            .with_created_at(1_700_000_000),
            ExistingEntry::new("arn:aws:iam::111122223333:role/Admin", EntryType::Standard)
                .with_policy(PolicyAssociation::new(ADMIN, AccessScope::cluster()))
                .with_created_at(1_700_000_000),
            ExistingEntry::new("arn:aws:iam::111122223333:role/Nodes", EntryType::Ec2Linux),
        ]
        .into_iter()
        .map(|e| (e.principal_arn.clone(), e))
        .collect()
    }

    fn rbac() -> Rbac {
        let crb = |name: &str, role: &str| {
            Binding::new(
                BindingKind::ClusterRoleBinding,
                name,
                None,
                RoleRef {
                    kind: RoleKind::ClusterRole,
                    name: role.into(),
                },
            )
        };
        let mut rbac = Rbac::new();
        rbac.bindings = vec![
            crb("devs", "edit").subject(SubjectKind::Group, "developers"),
            crb("root", "cluster-admin").subject(SubjectKind::User, "dev"),
        ];
        rbac
    }

    /// The table of issue 22: each source in each mode, sessions of a role
    /// with a path, entries recreated, groups bound and not.
    #[test]
    fn who_gets_in_by_mode_and_source() {
        let (map, entries, rbac) = (map(), entries(), rbac());
        let ops = "arn:aws:sts::111122223333:assumed-role/Ops/jane";
        let base = Sources::new().map(&map).entries(&entries).rbac(&rbac);
        struct Case {
            mode: AuthenticationMode,
            principal: &'static str,
            source: Source,
            username: Option<&'static str>,
            admin: bool,
        }
        use AuthenticationMode::*;
        let cases = [
            // CONFIG_MAP: the map alone, whatever entries exist.
            Case {
                mode: ConfigMap,
                principal: ops,
                source: Source::ConfigMap,
                username: Some("ops:jane"),
                admin: true,
            },
            // API_AND_CONFIG_MAP: the entry (its role has a path) wins.
            Case {
                mode: ApiAndConfigMap,
                principal: ops,
                source: Source::AccessEntry,
                username: Some("ops-entry:jane"),
                admin: false,
            },
            // ... and the map answers for a principal without one.
            Case {
                mode: ApiAndConfigMap,
                principal: "arn:aws:iam::111122223333:role/Dev",
                source: Source::ConfigMap,
                username: Some("dev"),
                admin: true,
            },
            Case {
                mode: ApiAndConfigMap,
                principal: "arn:aws:iam::111122223333:user/ops/jane",
                source: Source::ConfigMap,
                username: Some("jane"),
                admin: false,
            },
            // API: never the map.
            Case {
                mode: Api,
                principal: "arn:aws:iam::111122223333:role/Dev",
                source: Source::None,
                username: None,
                admin: false,
            },
            Case {
                mode: Api,
                principal: "arn:aws:sts::111122223333:assumed-role/Admin/x",
                source: Source::AccessEntry,
                username: Some("arn:aws:sts::111122223333:assumed-role/Admin/x"),
                admin: true,
            },
            Case {
                mode: Api,
                principal: "arn:aws:iam::111122223333:role/Nodes",
                source: Source::AccessEntry,
                username: Some("system:node:{{EC2PrivateDNSName}}"),
                admin: false,
            },
            Case {
                mode: ConfigMap,
                principal: "arn:aws:iam::999999999999:role/Nobody",
                source: Source::None,
                username: None,
                admin: false,
            },
        ];
        for c in cases {
            let l = login(c.principal, &base.mode(c.mode)).unwrap();
            let what = format!("{} in {}: {l:#?}", c.principal, c.mode);
            assert_eq!(l.source, c.source, "{what}");
            assert_eq!(l.username.as_deref(), c.username, "{what}");
            assert_eq!(l.cluster_admin, c.admin, "{what}");
        }
        // The details of two of them.
        let l = login(ops, &base.mode(ApiAndConfigMap)).unwrap();
        assert_eq!(
            l.entry.as_deref(),
            Some("arn:aws:iam::111122223333:role/teams/Ops")
        );
        assert_eq!(
            l.access_policies,
            [GrantedPolicy {
                policy: "AmazonEKSViewPolicy".into(),
                policy_arn: VIEW.into(),
                scope: "namespace".into(),
                namespaces: vec!["dev".into()],
            }]
        );
        assert!(
            l.notes
                .iter()
                .any(|n| n.contains("mapRoles line 1") && n.contains("entry wins")),
            "{:?}",
            l.notes
        );
        let l = login("arn:aws:iam::111122223333:role/Dev", &base.mode(ConfigMap)).unwrap();
        assert_eq!(l.bindings.as_ref().unwrap().len(), 2);
        assert!(l.admin_routes[0].contains("root"), "{:?}", l.admin_routes);
        assert!(
            l.notes.iter().any(|n| n.contains("the group testers")),
            "{:?}",
            l.notes
        );
        let l = login("arn:aws:iam::111122223333:role/Dev", &base.mode(Api)).unwrap();
        assert!(
            l.notes.iter().any(|n| n.contains("never read")),
            "{:?}",
            l.notes
        );
    }

    #[test]
    fn an_entry_older_than_its_principal_grants_nothing() {
        let entries = entries();
        let iam = BTreeMap::from([(
            iam_key(&"arn:aws:iam::111122223333:role/Admin".parse().unwrap()),
            IamPrincipal::Exists {
                arn: "arn:aws:iam::111122223333:role/Admin".into(),
                created_at: Some(1_800_000_000),
            },
        )]);
        let s = Sources::new()
            .mode(AuthenticationMode::Api)
            .entries(&entries)
            .iam(&iam);
        let l = login("arn:aws:iam::111122223333:role/Admin", &s).unwrap();
        assert_eq!(
            (l.source, l.username, l.cluster_admin),
            (Source::AccessEntry, None, false)
        );
        assert!(
            l.notes[0].contains("older than the principal"),
            "{:?}",
            l.notes
        );
    }

    #[test]
    fn what_was_not_read_is_said() {
        let map = map();
        let l = login(
            "arn:aws:iam::111122223333:role/Dev",
            &Sources::new().map(&map),
        )
        .unwrap();
        assert_eq!(l.source, Source::ConfigMap);
        assert!(!l.cluster_admin && l.bindings.is_none());
        assert!(
            l.notes.iter().any(|n| n.contains("mode was not read")),
            "{:?}",
            l.notes
        );
        assert!(
            l.notes.iter().any(|n| n.contains("RBAC was not read")),
            "{:?}",
            l.notes
        );
        let l = login(
            "arn:aws:iam::111122223333:role/Dev",
            &Sources::new()
                .map(&map)
                .mode(AuthenticationMode::ApiAndConfigMap),
        )
        .unwrap();
        assert!(
            l.notes
                .iter()
                .any(|n| n.contains("access entries were not read")),
            "{:?}",
            l.notes
        );
    }
}
