//! Grant and revoke: a principal's identity (a mapping of the map, or an
//! access entry) and its rights (RBAC bindings, or an access policy) decided
//! together, so that a group is never granted that nothing binds.
//!
//! [`plan`] decides, from the cluster's authentication mode, what a grant
//! writes:
//!
//! - where the map is read alone (`CONFIG_MAP`, or a manifest): a mapping
//!   with a group named for what it grants ([`group_name`]) unless the
//!   caller names one, and a binding of that group to the role in each
//!   namespace (a ClusterRoleBinding when no namespace is given);
//! - on a cluster with access entries: an entry. When the ClusterRole is one
//!   an access policy stands for (`view`, `edit`, `admin`, `cluster-admin`)
//!   and no group is named, the policy scoped to the namespaces and no RBAC
//!   object; otherwise the entry with the group, and the bindings.
//!
//! Each binding is the principal's own ([`binding_name`]): labelled as
//! aws-auth's and annotated with the principal, so that [`revocable`] finds
//! exactly what a grant made, and revoking one person never takes a
//! binding from another who shares the group.
//!
//! ```
//! use aws_auth_core::entries::AuthenticationMode;
//! use aws_auth_core::grant::{Grant, Identity, plan};
//! use aws_auth_core::rbac::{RoleKind, RoleRef};
//!
//! let alice = "arn:aws:iam::111122223333:user/alice".parse().unwrap();
//! let view = RoleRef::new(RoleKind::ClusterRole, "view");
//! let grant = Grant::new(alice, view).namespace("dev").namespace("staging");
//!
//! // On a CONFIG_MAP cluster: a group per namespace, and its binding there.
//! let p = plan(&grant, AuthenticationMode::ConfigMap)?;
//! let Identity::Mapping { groups } = &p.identity else { unreachable!() };
//! assert_eq!(groups, &["aws-auth:clusterrole:view:dev", "aws-auth:clusterrole:view:staging"]);
//! assert_eq!(p.bindings.len(), 2);
//!
//! // With access entries: the view policy in those namespaces, no binding.
//! let p = plan(&grant, AuthenticationMode::ApiAndConfigMap)?;
//! assert!(p.bindings.is_empty());
//! # Ok::<(), aws_auth_core::grant::GrantError>(())
//! ```

use serde::Serialize;
use serde_json::{Value, json};

use crate::access::{EntryRequest, same_principal};
use crate::arn::{Arn, PrincipalKind};
use crate::edit::{GroupsChange, MappingSpec, Op};
use crate::effective::Resolved;
use crate::entries::{
    AuthenticationMode, ExistingEntry, PolicyAssociation, association, policy_arn,
};
use crate::rbac::{Binding, BindingKind, RoleKind, RoleRef, SubjectKind};

/// The label every binding a grant makes carries.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Its value.
pub const MANAGED_BY: &str = "aws-auth";
/// The annotation naming the principal a binding was made for.
pub const PRINCIPAL_ANNOTATION: &str = "aws-auth/principal";

/// The ClusterRoles an access policy stands for, and the policy.
const POLICY_ROLES: [&str; 4] = ["view", "edit", "admin", "cluster-admin"];

/// What a grant asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Grant {
    /// The IAM role or user.
    pub principal: Arn,
    /// The Kubernetes username (default: the IAM name in the map, EKS's
    /// own in an entry).
    pub username: Option<String>,
    /// The group to grant and bind, instead of one named for the role.
    pub group: Option<String>,
    /// The role granted.
    pub role: RoleRef,
    /// Where (none: the whole cluster; a `Role` needs at least one).
    pub namespaces: Vec<String>,
}

impl Grant {
    /// `role` for `principal`, cluster-wide until a namespace is added.
    pub fn new(principal: Arn, role: RoleRef) -> Grant {
        Grant {
            principal,
            username: None,
            group: None,
            role,
            namespaces: Vec::new(),
        }
    }

    /// In namespace `ns` too.
    pub fn namespace(mut self, ns: impl Into<String>) -> Grant {
        self.namespaces.push(ns.into());
        self
    }

    /// Granted through the group `group`.
    pub fn group(mut self, group: impl Into<String>) -> Grant {
        self.group = Some(group.into());
        self
    }

    /// With the username `username`.
    pub fn username(mut self, username: impl Into<String>) -> Grant {
        self.username = Some(username.into());
        self
    }
}

/// The identity a grant gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
#[non_exhaustive]
pub enum Identity {
    /// A mapping of the map with these groups (added to any it has).
    Mapping {
        /// The groups.
        groups: Vec<String>,
    },
    /// An access entry with these groups and policies.
    #[serde(rename_all = "camelCase")]
    AccessEntry {
        /// The Kubernetes groups.
        groups: Vec<String>,
        /// The access policies, scoped.
        policies: Vec<PolicyAssociation>,
    },
}

/// What a grant writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct GrantPlan {
    /// The principal.
    #[serde(serialize_with = "as_text")]
    pub principal: Arn,
    /// The username asked for.
    pub username: Option<String>,
    /// The mapping or the entry.
    pub identity: Identity,
    /// The bindings, written before the identity (a login never has its
    /// identity before its rights exist).
    pub bindings: Vec<Binding>,
}

impl GrantPlan {
    /// The bindings as Kubernetes objects, labelled and annotated.
    pub fn objects(&self) -> Vec<Value> {
        self.bindings
            .iter()
            .map(|b| binding_object(b, &self.principal))
            .collect()
    }
}

impl GrantPlan {
    /// The edit of the map this grant makes: the mapping, or the groups it
    /// lacks added to the one there is (a username given replaces its own);
    /// `None` when the map already grants it all.
    ///
    /// ```
    /// use aws_auth_core::Document;
    /// use aws_auth_core::entries::AuthenticationMode;
    /// use aws_auth_core::grant::{Grant, plan};
    /// use aws_auth_core::rbac::{RoleKind, RoleRef};
    ///
    /// let doc = Document::from_data([(
    ///     "mapUsers",
    ///     "- userarn: arn:aws:iam::111122223333:user/alice\n  username: alice\n  groups: [dev]\n",
    /// )]);
    /// let alice = "arn:aws:iam::111122223333:user/alice".parse().unwrap();
    /// let grant = Grant::new(alice, RoleRef::new(RoleKind::ClusterRole, "view"));
    /// let p = plan(&grant, AuthenticationMode::ConfigMap).unwrap();
    /// let edited = doc.edit(&[p.map_op(&doc).unwrap()], &Default::default())?;
    /// assert!(edited.changed_data()["mapUsers"].contains("aws-auth:clusterrole:view"));
    /// // Run again on what it wrote: nothing left to do.
    /// let again = Document::from_data(edited.changed_data());
    /// assert!(p.map_op(&again).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn map_op(&self, doc: &crate::Document) -> Option<Op> {
        let groups = match &self.identity {
            Identity::Mapping { groups } | Identity::AccessEntry { groups, .. } => groups,
        };
        let role = self.principal.kind() == PrincipalKind::Role;
        let arn = if role {
            self.principal.without_path().to_string()
        } else {
            self.principal.to_string()
        };
        let effective = doc.effective();
        let mapped = match effective.resolve(&self.principal) {
            Resolved::Mapping(m) => Some(m),
            Resolved::Ambiguous(all) => all.into_iter().next(),
            _ => None,
        };
        let Some(m) = mapped else {
            let username = self
                .username
                .clone()
                .unwrap_or_else(|| self.principal.name().to_owned());
            let spec = MappingSpec::new(arn, username, groups);
            return Some(if role {
                Op::AddRole(spec)
            } else {
                Op::AddUser(spec)
            });
        };
        let missing: Vec<String> = groups
            .iter()
            .filter(|g| !m.groups.iter().any(|h| h == g.as_str()))
            .cloned()
            .collect();
        let username = self.username.clone().filter(|u| u != m.username);
        if missing.is_empty() && username.is_none() {
            return None;
        }
        let change = if missing.is_empty() {
            GroupsChange::Keep
        } else {
            GroupsChange::Append(missing)
        };
        Some(if role {
            Op::update_role(arn, username, change)
        } else {
            Op::update_user(arn, username, change)
        })
    }

    /// The access entry this grant wants, given the one there is: its
    /// groups and policies kept, the grant's added (a policy granted in
    /// more namespaces, or at cluster scope, widened).
    pub fn entry_request(&self, existing: Option<&ExistingEntry>) -> EntryRequest {
        let mut r = EntryRequest::standard(self.principal.clone());
        r.username = self
            .username
            .clone()
            .or_else(|| existing.and_then(|e| e.username.clone()));
        if let Some(e) = existing {
            r.groups = e.kubernetes_groups.clone();
            r.policies = e.policies.clone();
        }
        let (groups, policies): (&[String], &[PolicyAssociation]) = match &self.identity {
            Identity::AccessEntry { groups, policies } => (groups, policies),
            Identity::Mapping { groups } => (groups, &[]),
        };
        for g in groups {
            if !r.groups.contains(g) {
                r.groups.push(g.clone());
            }
        }
        for p in policies {
            match r.policies.iter_mut().find(|q| q.policy_arn == p.policy_arn) {
                None => r.policies.push(p.clone()),
                Some(q) if q.access_scope.namespaces.is_empty() => {}
                Some(q) if p.access_scope.namespaces.is_empty() => {
                    q.access_scope = p.access_scope.clone()
                }
                Some(q) => {
                    for ns in &p.access_scope.namespaces {
                        if !q.access_scope.namespaces.contains(ns) {
                            q.access_scope.namespaces.push(ns.clone());
                        }
                    }
                }
            }
        }
        r
    }
}

/// The edit of the map that revokes `principal`: its mappings removed, or
/// `None` when the map does not map it (a revoke run again).
pub fn revoke_op(doc: &crate::Document, principal: &Arn) -> Option<Op> {
    let effective = doc.effective();
    let mapped = matches!(
        effective.resolve(principal),
        Resolved::Mapping(_) | Resolved::Ambiguous(_)
    );
    if !mapped {
        return None;
    }
    Some(if principal.kind() == PrincipalKind::Role {
        Op::remove_role(principal.without_path().to_string())
    } else {
        Op::remove_user(principal.to_string())
    })
}

/// Why a grant was refused, before anything was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GrantError {
    /// A group the authenticator or EKS reserves, or an empty one.
    #[error("group {0:?}: {1}")]
    Group(String, &'static str),
    /// Not a namespace name.
    #[error(
        "namespace {0:?}: not a namespace name (lower-case letters, digits and '-', at most 63)"
    )]
    Namespace(String),
    /// Not a role name.
    #[error("{0} {1:?}: not a role name")]
    RoleName(&'static str, String),
    /// A Role lives in a namespace.
    #[error("--role {0}: a Role lives in a namespace; give --namespace (or --clusterrole)")]
    RoleWithoutNamespace(String),
    /// A binding's name would pass the API server's limit.
    #[error("the binding name {0:?} is longer than 253 characters")]
    NameTooLong(String),
}

/// Decides what granting `grant` writes on a cluster in `mode` (a manifest:
/// [`AuthenticationMode::ConfigMap`]).
pub fn plan(grant: &Grant, mode: AuthenticationMode) -> Result<GrantPlan, GrantError> {
    check(grant)?;
    let mut namespaces: Vec<String> = Vec::new();
    for ns in &grant.namespaces {
        if !namespaces.contains(ns) {
            namespaces.push(ns.clone());
        }
    }
    let role = &grant.role;
    let entry = mode.has_access_entries();
    let by_policy = entry
        && grant.group.is_none()
        && role.kind == RoleKind::ClusterRole
        && POLICY_ROLES.contains(&role.name.as_str());
    if by_policy {
        let partition = grant.principal.partition().to_string();
        let arn = policy_arn(&role.name, &partition).unwrap_or_default();
        return Ok(GrantPlan {
            principal: grant.principal.clone(),
            username: grant.username.clone(),
            identity: Identity::AccessEntry {
                groups: Vec::new(),
                policies: vec![association(arn, &namespaces)],
            },
            bindings: Vec::new(),
        });
    }
    let name = binding_name(&grant.principal, role);
    if name.len() > 253 {
        return Err(GrantError::NameTooLong(name));
    }
    let scopes: Vec<Option<&str>> = if namespaces.is_empty() {
        vec![None]
    } else {
        namespaces.iter().map(|n| Some(n.as_str())).collect()
    };
    let mut groups: Vec<String> = Vec::new();
    let mut bindings = Vec::new();
    for ns in scopes {
        let group = grant.group.clone().unwrap_or_else(|| group_name(role, ns));
        let kind = match ns {
            Some(_) => BindingKind::RoleBinding,
            None => BindingKind::ClusterRoleBinding,
        };
        bindings.push(
            Binding::new(kind, name.clone(), ns.map(str::to_owned), role.clone())
                .subject(SubjectKind::Group, group.clone()),
        );
        if !groups.contains(&group) {
            groups.push(group);
        }
    }
    let identity = if entry {
        Identity::AccessEntry {
            groups,
            policies: Vec::new(),
        }
    } else {
        Identity::Mapping { groups }
    };
    Ok(GrantPlan {
        principal: grant.principal.clone(),
        username: grant.username.clone(),
        identity,
        bindings,
    })
}

fn as_text<S: serde::Serializer>(arn: &Arn, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(arn)
}

fn check(grant: &Grant) -> Result<(), GrantError> {
    if let Some(g) = &grant.group {
        if g.trim().is_empty() {
            return Err(GrantError::Group(g.clone(), "empty"));
        }
        if g.starts_with("system:") {
            return Err(GrantError::Group(
                g.clone(),
                "system: groups are Kubernetes' own (system:masters is cluster-admin by another route: grant the cluster-admin ClusterRole)",
            ));
        }
        if g.starts_with("eks:") {
            return Err(GrantError::Group(g.clone(), "eks: groups are EKS's own"));
        }
    }
    for ns in &grant.namespaces {
        let ok = !ns.is_empty()
            && ns.len() <= 63
            && ns
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !ns.starts_with('-')
            && !ns.ends_with('-');
        if !ok {
            return Err(GrantError::Namespace(ns.clone()));
        }
    }
    let what = match grant.role.kind {
        RoleKind::ClusterRole => "--clusterrole",
        _ => "--role",
    };
    let name = &grant.role.name;
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '%']) {
        return Err(GrantError::RoleName(what, name.clone()));
    }
    if grant.role.kind == RoleKind::Role && grant.namespaces.is_empty() {
        return Err(GrantError::RoleWithoutNamespace(name.clone()));
    }
    Ok(())
}

/// The group a grant of `role` (in `namespace`) names when none is given:
/// `aws-auth:clusterrole:NAME` cluster-wide, `aws-auth:clusterrole:NAME:NS`
/// or `aws-auth:role:NAME:NS` in a namespace. It says what it grants, and
/// everyone granted the same shares it.
///
/// ```
/// use aws_auth_core::grant::group_name;
/// use aws_auth_core::rbac::{RoleKind, RoleRef};
/// assert_eq!(group_name(&RoleRef::new(RoleKind::ClusterRole, "view"), None), "aws-auth:clusterrole:view");
/// assert_eq!(group_name(&RoleRef::new(RoleKind::Role, "deployer"), Some("dev")), "aws-auth:role:deployer:dev");
/// ```
pub fn group_name(role: &RoleRef, namespace: Option<&str>) -> String {
    let kind = role_kind_word(role.kind);
    match namespace {
        Some(ns) => format!("aws-auth:{kind}:{}:{ns}", role.name),
        None => format!("aws-auth:{kind}:{}", role.name),
    }
}

fn role_kind_word(kind: RoleKind) -> &'static str {
    match kind {
        RoleKind::ClusterRole => "clusterrole",
        _ => "role",
    }
}

/// The name of the binding a grant of `role` makes for `principal`: one
/// per principal and role, the same in every namespace:
/// `aws-auth:user:ACCOUNT:NAME:clusterrole:ROLE`.
pub fn binding_name(principal: &Arn, role: &RoleRef) -> String {
    let kind = match principal.kind() {
        PrincipalKind::User => "user",
        _ => "role",
    };
    format!(
        "aws-auth:{kind}:{}:{}:{}:{}",
        principal.account(),
        principal.name(),
        role_kind_word(role.kind),
        role.name
    )
}

/// `binding` as the Kubernetes object a grant for `principal` writes.
pub fn binding_object(binding: &Binding, principal: &Arn) -> Value {
    let kind = match binding.kind {
        BindingKind::ClusterRoleBinding => "ClusterRoleBinding",
        _ => "RoleBinding",
    };
    let mut metadata = serde_json::Map::new();
    metadata.insert("name".into(), binding.name.clone().into());
    if let Some(ns) = &binding.namespace {
        metadata.insert("namespace".into(), ns.clone().into());
    }
    metadata.insert("labels".into(), json!({MANAGED_BY_LABEL: MANAGED_BY}));
    metadata.insert(
        "annotations".into(),
        json!({PRINCIPAL_ANNOTATION: principal.to_string()}),
    );
    let role_kind = match binding.role.kind {
        RoleKind::ClusterRole => "ClusterRole",
        _ => "Role",
    };
    let subjects: Vec<Value> = binding
        .subjects
        .iter()
        .map(|s| {
            let kind = match s.kind {
                SubjectKind::User => "User",
                _ => "Group",
            };
            json!({"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": s.name})
        })
        .collect();
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": metadata,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": binding.role.name},
        "subjects": subjects,
    })
}

/// True when `object` (a binding, as listed) was made by a grant for
/// `principal`: aws-auth's label, and an annotation naming the same
/// principal (a role with or without its IAM path).
pub fn made_for(object: &Value, principal: &Arn) -> bool {
    let meta = &object["metadata"];
    meta["labels"][MANAGED_BY_LABEL].as_str() == Some(MANAGED_BY)
        && meta["annotations"][PRINCIPAL_ANNOTATION]
            .as_str()
            .and_then(|a| a.parse::<Arn>().ok())
            .is_some_and(|a| same_principal(&a, principal))
}

/// What a grant finds where it would write `wanted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Found {
    /// Nothing: create it.
    Nothing,
    /// The same binding, made by a grant: nothing to do.
    Same,
    /// A binding of that name made by a grant, granting something else
    /// (a role reference cannot change): replace it.
    Differs,
    /// A binding of that name not made by a grant for this principal:
    /// never touched.
    NotOurs,
}

/// Compares `existing` (the object of that name, if any) with `wanted`.
pub fn compare(existing: Option<&Value>, wanted: &Value, principal: &Arn) -> Found {
    let Some(existing) = existing else {
        return Found::Nothing;
    };
    if !made_for(existing, principal) {
        return Found::NotOurs;
    }
    let subjects = |v: &Value| {
        let mut s: Vec<(String, String)> = v["subjects"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                (
                    s["kind"].as_str().unwrap_or_default().to_owned(),
                    s["name"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        s.sort();
        s
    };
    let role = |v: &Value| {
        (
            v["roleRef"]["kind"].as_str().map(str::to_owned),
            v["roleRef"]["name"].as_str().map(str::to_owned),
        )
    };
    if role(existing) == role(wanted) && subjects(existing) == subjects(wanted) {
        Found::Same
    } else {
        Found::Differs
    }
}

/// A binding by kind, namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[non_exhaustive]
pub struct BindingRef {
    /// `ClusterRoleBinding` or `RoleBinding`.
    pub kind: String,
    /// A RoleBinding's namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Its name.
    pub name: String,
    /// Why it goes: made by a grant, or (forced) the principal's own.
    pub reason: &'static str,
}

/// Of `bindings` (ClusterRoleBindings and RoleBindings as listed), those a
/// revoke of `principal` removes: what grants made for it; with `force`,
/// also hand-made ones whose only subject is its username.
pub fn revocable(
    bindings: &[Value],
    principal: &Arn,
    username: Option<&str>,
    force: bool,
) -> Vec<BindingRef> {
    let mut out: Vec<BindingRef> = bindings
        .iter()
        .filter_map(|b| {
            let reason = if made_for(b, principal) {
                "made by aws-auth grant for this principal"
            } else if force && username.is_some_and(|u| only_user(b, u)) {
                "names this principal's username alone (--force)"
            } else {
                return None;
            };
            Some(BindingRef {
                kind: b["kind"].as_str().unwrap_or_default().to_owned(),
                namespace: b["metadata"]["namespace"].as_str().map(str::to_owned),
                name: b["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                reason,
            })
        })
        .collect();
    out.sort();
    out
}

fn only_user(binding: &Value, username: &str) -> bool {
    let subjects = binding["subjects"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    !subjects.is_empty()
        && subjects
            .iter()
            .all(|s| s["kind"] == "User" && s["name"].as_str() == Some(username))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arn(s: &str) -> Arn {
        s.parse().unwrap()
    }

    const ALICE: &str = "arn:aws:iam::111122223333:user/alice";
    const DEPLOYER: &str = "arn:aws:iam::111122223333:role/ci/Deployer";

    fn groups(p: &GrantPlan) -> Vec<String> {
        match &p.identity {
            Identity::Mapping { groups } | Identity::AccessEntry { groups, .. } => groups.clone(),
        }
    }

    #[test]
    fn what_a_grant_writes_in_each_mode() {
        use AuthenticationMode::*;
        let view = RoleRef::new(RoleKind::ClusterRole, "view");
        let custom = RoleRef::new(RoleKind::ClusterRole, "pod-reader");
        let deployer = RoleRef::new(RoleKind::Role, "deployer");
        // (grant, mode, mapping?, groups, bindings as kind/ns, policies)
        type Case = (
            Grant,
            AuthenticationMode,
            bool,
            Vec<&'static str>,
            Vec<(&'static str, Option<&'static str>)>,
            usize,
        );
        let cases: Vec<Case> = vec![
            (
                Grant::new(arn(ALICE), view.clone()),
                ConfigMap,
                true,
                vec!["aws-auth:clusterrole:view"],
                vec![("ClusterRoleBinding", None)],
                0,
            ),
            (
                Grant::new(arn(ALICE), view.clone())
                    .namespace("dev")
                    .namespace("ops")
                    .namespace("dev"),
                ConfigMap,
                true,
                vec![
                    "aws-auth:clusterrole:view:dev",
                    "aws-auth:clusterrole:view:ops",
                ],
                vec![("RoleBinding", Some("dev")), ("RoleBinding", Some("ops"))],
                0,
            ),
            (
                Grant::new(arn(ALICE), view.clone())
                    .namespace("dev")
                    .group("devs"),
                ConfigMap,
                true,
                vec!["devs"],
                vec![("RoleBinding", Some("dev"))],
                0,
            ),
            (
                Grant::new(arn(ALICE), view.clone()).namespace("dev"),
                ApiAndConfigMap,
                false,
                vec![],
                vec![],
                1,
            ),
            (
                Grant::new(arn(ALICE), view.clone()),
                Api,
                false,
                vec![],
                vec![],
                1,
            ),
            // A group named: the entry, the group and the binding.
            (
                Grant::new(arn(ALICE), view.clone()).group("devs"),
                Api,
                false,
                vec!["devs"],
                vec![("ClusterRoleBinding", None)],
                0,
            ),
            (
                Grant::new(arn(DEPLOYER), custom.clone()).namespace("dev"),
                ApiAndConfigMap,
                false,
                vec!["aws-auth:clusterrole:pod-reader:dev"],
                vec![("RoleBinding", Some("dev"))],
                0,
            ),
            (
                Grant::new(arn(DEPLOYER), deployer.clone()).namespace("dev"),
                ConfigMap,
                true,
                vec!["aws-auth:role:deployer:dev"],
                vec![("RoleBinding", Some("dev"))],
                0,
            ),
        ];
        for (grant, mode, mapping, want_groups, want_bindings, policies) in cases {
            let p = plan(&grant, mode).unwrap();
            assert_eq!(
                matches!(p.identity, Identity::Mapping { .. }),
                mapping,
                "{grant:?}"
            );
            assert_eq!(groups(&p), want_groups, "{grant:?}");
            let got: Vec<(&str, Option<&str>)> = p
                .objects()
                .iter()
                .map(|o| {
                    let kind = if o["kind"] == "ClusterRoleBinding" {
                        "ClusterRoleBinding"
                    } else {
                        "RoleBinding"
                    };
                    (
                        kind,
                        o["metadata"]["namespace"]
                            .as_str()
                            .map(|ns| if ns == "dev" { "dev" } else { "ops" }),
                    )
                })
                .collect();
            assert_eq!(got, want_bindings, "{grant:?}");
            let n = match &p.identity {
                Identity::AccessEntry { policies, .. } => policies.len(),
                _ => 0,
            };
            assert_eq!(n, policies, "{grant:?}");
            // Every binding is the principal's, and binds a granted group.
            for o in p.objects() {
                assert!(made_for(&o, &grant.principal));
                assert!(want_groups.contains(&o["subjects"][0]["name"].as_str().unwrap()));
            }
        }
    }

    #[test]
    fn a_policy_is_scoped_to_the_namespaces() {
        let g = Grant::new(arn(ALICE), RoleRef::new(RoleKind::ClusterRole, "edit"))
            .namespace("dev")
            .namespace("ops");
        let p = plan(&g, AuthenticationMode::Api).unwrap();
        let Identity::AccessEntry { policies, .. } = p.identity else {
            panic!()
        };
        assert!(policies[0].policy_arn.ends_with("/AmazonEKSEditPolicy"));
        assert_eq!(policies[0].access_scope.namespaces, ["dev", "ops"]);
    }

    #[test]
    fn bad_input_is_refused_and_says_what() {
        let view = RoleRef::new(RoleKind::ClusterRole, "view");
        for (g, says) in [
            (
                Grant::new(arn(ALICE), view.clone()).group("system:masters"),
                "system: groups",
            ),
            (
                Grant::new(arn(ALICE), view.clone()).group("eks:x"),
                "EKS's own",
            ),
            (Grant::new(arn(ALICE), view.clone()).group(" "), "empty"),
            (
                Grant::new(arn(ALICE), view.clone()).namespace("Dev"),
                "not a namespace name",
            ),
            (
                Grant::new(arn(ALICE), view.clone()).namespace("-a"),
                "not a namespace name",
            ),
            (
                Grant::new(arn(ALICE), RoleRef::new(RoleKind::ClusterRole, "a/b")),
                "not a role name",
            ),
            (
                Grant::new(arn(ALICE), RoleRef::new(RoleKind::Role, "deployer")),
                "lives in a namespace",
            ),
            (
                Grant::new(
                    arn(ALICE),
                    RoleRef::new(RoleKind::ClusterRole, "x".repeat(250)),
                ),
                "longer than 253",
            ),
        ] {
            let e = plan(&g, AuthenticationMode::ConfigMap)
                .unwrap_err()
                .to_string();
            assert!(e.contains(says), "{e}");
        }
    }

    #[test]
    fn names_say_whose_and_what() {
        let p = plan(
            &Grant::new(arn(DEPLOYER), RoleRef::new(RoleKind::ClusterRole, "view")),
            AuthenticationMode::ConfigMap,
        )
        .unwrap();
        let o = &p.objects()[0];
        assert_eq!(
            o["metadata"]["name"],
            "aws-auth:role:111122223333:Deployer:clusterrole:view"
        );
        assert_eq!(o["metadata"]["labels"][MANAGED_BY_LABEL], MANAGED_BY);
        assert_eq!(o["metadata"]["annotations"][PRINCIPAL_ANNOTATION], DEPLOYER);
        // The role without its path is the same principal.
        assert!(made_for(o, &arn("arn:aws:iam::111122223333:role/Deployer")));
        assert!(!made_for(
            o,
            &arn("arn:aws:iam::444455556666:role/Deployer")
        ));
    }

    #[test]
    fn a_rerun_finds_its_own_and_never_takes_another() {
        let g =
            Grant::new(arn(ALICE), RoleRef::new(RoleKind::ClusterRole, "view")).namespace("dev");
        let wanted = plan(&g, AuthenticationMode::ConfigMap)
            .unwrap()
            .objects()
            .remove(0);
        assert_eq!(compare(None, &wanted, &g.principal), Found::Nothing);
        assert_eq!(compare(Some(&wanted), &wanted, &g.principal), Found::Same);
        let mut other = wanted.clone();
        other["roleRef"]["name"] = "edit".into();
        assert_eq!(compare(Some(&other), &wanted, &g.principal), Found::Differs);
        let mut hand_made = wanted.clone();
        hand_made["metadata"]["labels"] = json!({});
        assert_eq!(
            compare(Some(&hand_made), &wanted, &g.principal),
            Found::NotOurs
        );
        let bob = arn("arn:aws:iam::111122223333:user/bob");
        assert_eq!(compare(Some(&wanted), &wanted, &bob), Found::NotOurs);
    }

    #[test]
    fn revoke_takes_what_grant_made_and_no_more() {
        let alice = arn(ALICE);
        let mine = plan(
            &Grant::new(alice.clone(), RoleRef::new(RoleKind::ClusterRole, "view"))
                .namespace("dev"),
            AuthenticationMode::ConfigMap,
        )
        .unwrap()
        .objects();
        let bobs = plan(
            &Grant::new(
                arn("arn:aws:iam::111122223333:user/bob"),
                RoleRef::new(RoleKind::ClusterRole, "view"),
            )
            .namespace("dev"),
            AuthenticationMode::ConfigMap,
        )
        .unwrap()
        .objects();
        // A hand-made binding of the same group, and one of alice alone.
        let mut shared = mine[0].clone();
        shared["metadata"] = json!({"name": "devs-view", "namespace": "dev"});
        let personal = json!({"kind": "RoleBinding", "metadata": {"name": "alice", "namespace": "dev"},
            "roleRef": {"kind": "ClusterRole", "name": "edit"},
            "subjects": [{"kind": "User", "name": "alice"}]});
        let all = [mine.clone(), bobs, vec![shared, personal]].concat();
        let names = |v: Vec<BindingRef>| v.into_iter().map(|b| b.name).collect::<Vec<_>>();
        assert_eq!(
            names(revocable(&all, &alice, Some("alice"), false)),
            ["aws-auth:user:111122223333:alice:clusterrole:view"]
        );
        assert_eq!(
            names(revocable(&all, &alice, Some("alice"), true)),
            ["alice", "aws-auth:user:111122223333:alice:clusterrole:view"]
        );
    }

    #[test]
    fn an_entry_keeps_what_it_has_and_gains_the_grant() {
        let view = |ns: &[&str]| {
            let mut g = Grant::new(arn(ALICE), RoleRef::new(RoleKind::ClusterRole, "view"));
            for n in ns {
                g = g.namespace(*n);
            }
            plan(&g, AuthenticationMode::Api).unwrap()
        };
        let existing = ExistingEntry::new(ALICE, crate::entries::EntryType::Standard)
            .with_username("alice")
            .with_groups(["ops"])
            .with_policy(association(
                "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy".into(),
                &["dev".to_owned()],
            ));
        let r = view(&["dev", "qa"]).entry_request(Some(&existing));
        assert_eq!(r.username.as_deref(), Some("alice"));
        assert_eq!(r.groups, ["ops"]);
        assert_eq!(r.policies.len(), 1);
        assert_eq!(r.policies[0].access_scope.namespaces, ["dev", "qa"]);
        // Cluster scope widens; a fresh entry has the grant's alone.
        let r = view(&[]).entry_request(Some(&existing));
        assert!(r.policies[0].access_scope.namespaces.is_empty());
        let r = view(&["dev"]).entry_request(None);
        assert_eq!(r.username, None);
        assert_eq!(r.policies[0].access_scope.namespaces, ["dev"]);
    }

    #[test]
    fn revoke_removes_a_mapping_there_is() {
        let doc = crate::Document::from_data([(
            "mapRoles",
            "- rolearn: arn:aws:iam::111122223333:role/Deployer\n  username: d\n  groups: [x]\n",
        )]);
        // Named with its path, the role is found without it.
        let op = revoke_op(&doc, &arn(DEPLOYER)).unwrap();
        assert_eq!(
            op,
            Op::remove_role("arn:aws:iam::111122223333:role/Deployer")
        );
        assert_eq!(revoke_op(&doc, &arn(ALICE)), None);
    }
}
