//! The RBAC objects that decide what a Kubernetes username or group may do:
//! ClusterRoles, Roles, ClusterRoleBindings and RoleBindings, read from the
//! API server's JSON or from manifests (a GitOps checkout), and the questions
//! a login asks of them: which bindings name this user or these groups, and
//! does any of them make it cluster-admin.
//!
//! A group grants nothing unless a binding names it; `system:masters` is the
//! exception (authorised before RBAC), and every login also belongs to
//! `system:authenticated`.
//!
//! ```
//! use aws_auth_core::rbac::Rbac;
//! let rbac = Rbac::read_manifests(
//!     "apiVersion: rbac.authorization.k8s.io/v1\n\
//!      kind: ClusterRoleBinding\n\
//!      metadata: {name: ops-admin}\n\
//!      roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\n\
//!      subjects: [{kind: Group, name: ops, apiGroup: rbac.authorization.k8s.io}]\n",
//! )?;
//! let bound = rbac.bindings_of("alice", &["ops".to_owned()]);
//! assert_eq!(bound[0].name, "ops-admin");
//! assert!(rbac.makes_cluster_admin(&bound[0]));
//! # Ok::<(), aws_auth_core::rbac::RbacError>(())
//! ```

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The group every authenticated login belongs to.
pub const AUTHENTICATED: &str = "system:authenticated";

/// The ClusterRoles every cluster has (the API server makes them), so a
/// binding to one is never to a missing role, whether or not the objects
/// read include it.
const BUILT_IN_CLUSTER_ROLES: [&str; 4] = ["cluster-admin", "admin", "edit", "view"];

/// `ClusterRole` or `Role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RoleKind {
    /// Cluster-wide rules.
    ClusterRole,
    /// Rules in one namespace.
    Role,
}

/// `ClusterRoleBinding` or `RoleBinding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum BindingKind {
    /// Grants its role cluster-wide.
    ClusterRoleBinding,
    /// Grants its role in its namespace.
    RoleBinding,
}

/// What a binding grants: a role by kind and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RoleRef {
    /// `ClusterRole` or `Role`.
    pub kind: RoleKind,
    /// The role's name.
    pub name: String,
}

impl RoleRef {
    /// The role `name` of `kind`.
    pub fn new(kind: RoleKind, name: impl Into<String>) -> RoleRef {
        RoleRef {
            kind,
            name: name.into(),
        }
    }
}

/// `User`, `Group` or `ServiceAccount`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SubjectKind {
    /// A Kubernetes username.
    User,
    /// A Kubernetes group.
    Group,
    /// A service account (never an IAM login).
    ServiceAccount,
}

/// Whom a binding grants its role to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Subject {
    /// User, group or service account.
    pub kind: SubjectKind,
    /// Its name.
    pub name: String,
    /// A service account's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A ClusterRoleBinding or RoleBinding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Binding {
    /// Which of the two.
    pub kind: BindingKind,
    /// Its name.
    pub name: String,
    /// A RoleBinding's namespace.
    pub namespace: Option<String>,
    /// The role it grants.
    pub role: RoleRef,
    /// To whom.
    pub subjects: Vec<Subject>,
}

impl Binding {
    /// A binding of `role` with no subjects yet.
    pub fn new(
        kind: BindingKind,
        name: impl Into<String>,
        namespace: Option<String>,
        role: RoleRef,
    ) -> Binding {
        Binding {
            kind,
            name: name.into(),
            namespace,
            role,
            subjects: Vec::new(),
        }
    }

    /// One more subject.
    pub fn subject(mut self, kind: SubjectKind, name: impl Into<String>) -> Binding {
        self.subjects.push(Subject {
            kind,
            name: name.into(),
            namespace: None,
        });
        self
    }

    /// `ClusterRole/NAME` or `Role/NAME`.
    pub fn role_name(&self) -> String {
        let kind = match self.role.kind {
            RoleKind::ClusterRole => "ClusterRole",
            RoleKind::Role => "Role",
        };
        format!("{kind}/{}", self.role.name)
    }

    /// The subject of this binding that names `username` or one of `groups`.
    pub fn names(&self, username: &str, groups: &[String]) -> Option<&Subject> {
        self.subjects.iter().find(|s| match s.kind {
            SubjectKind::User => s.name == username,
            SubjectKind::Group => s.name == AUTHENTICATED || groups.contains(&s.name),
            SubjectKind::ServiceAccount => false,
        })
    }
}

/// One rule of a role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Rule {
    /// API groups (`""` is the core group, `*` all).
    #[serde(default)]
    pub api_groups: Vec<String>,
    /// Resources (`*` all).
    #[serde(default)]
    pub resources: Vec<String>,
    /// Verbs (`*` all).
    #[serde(default)]
    pub verbs: Vec<String>,
    /// Non-resource URLs (`*` all).
    #[serde(default, rename = "nonResourceURLs")]
    pub non_resource_urls: Vec<String>,
}

impl Rule {
    /// Every verb on every resource of every API group.
    pub fn grants_everything(&self) -> bool {
        let all = |v: &[String]| v.iter().any(|x| x == "*");
        all(&self.api_groups) && all(&self.resources) && all(&self.verbs)
    }
}

/// A ClusterRole or Role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Role {
    /// Which of the two.
    pub kind: RoleKind,
    /// Its name.
    pub name: String,
    /// A Role's namespace.
    pub namespace: Option<String>,
    /// What it allows.
    pub rules: Vec<Rule>,
}

/// Why RBAC objects could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("document {document} (line {line}): {message}")]
#[non_exhaustive]
pub struct RbacError {
    /// The document of the text, from 1.
    pub document: usize,
    /// Its first line in the text.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// The RBAC objects of a cluster (or of the manifests that make them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rbac {
    /// ClusterRoles and Roles.
    pub roles: Vec<Role>,
    /// ClusterRoleBindings and RoleBindings.
    pub bindings: Vec<Binding>,
    /// True when the roles were read too: a binding to a role that is not
    /// among them (nor built in) then grants nothing.
    pub roles_known: bool,
}

#[derive(Deserialize)]
struct Meta {
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BindingObject {
    metadata: Meta,
    role_ref: RoleRef,
    #[serde(default)]
    subjects: Option<Vec<Subject>>,
}

#[derive(Deserialize)]
struct RoleObject {
    metadata: Meta,
    #[serde(default)]
    rules: Option<Vec<Rule>>,
}

impl Rbac {
    /// No objects.
    pub fn new() -> Rbac {
        Rbac::default()
    }

    /// Adds one object (a binding, a role, or a `List` of them) as the API
    /// server returns it; objects of other kinds are left out. Returns how
    /// many RBAC objects it held.
    pub fn add_object(&mut self, object: Value) -> Result<usize, String> {
        let text = |field: &str| {
            object
                .get(field)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let (kind, api) = (text("kind"), text("apiVersion"));
        let kind = kind.as_str();
        let bad = |e: serde_json::Error| format!("a {kind} that is not one: {e}");
        match kind {
            k if k.ends_with("List") => {
                let mut n = 0;
                for item in object
                    .get("items")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
                {
                    // A typed list's items carry no kind of their own.
                    let mut item = item;
                    if item.get("kind").is_none() && k != "List" {
                        item["kind"] = Value::from(k.trim_end_matches("List"));
                    }
                    n += self.add_object(item)?;
                }
                Ok(n)
            }
            _ if !api.is_empty() && !api.starts_with("rbac.authorization.k8s.io/") => Ok(0),
            "ClusterRoleBinding" | "RoleBinding" => {
                let b: BindingObject = serde_json::from_value(object).map_err(bad)?;
                let (kind, namespace) = if kind == "ClusterRoleBinding" {
                    (BindingKind::ClusterRoleBinding, None)
                } else {
                    (BindingKind::RoleBinding, b.metadata.namespace)
                };
                self.bindings.push(Binding {
                    kind,
                    name: b.metadata.name,
                    namespace,
                    role: b.role_ref,
                    subjects: b.subjects.unwrap_or_default(),
                });
                Ok(1)
            }
            "ClusterRole" | "Role" => {
                let r: RoleObject = serde_json::from_value(object).map_err(bad)?;
                let (kind, namespace) = if kind == "ClusterRole" {
                    (RoleKind::ClusterRole, None)
                } else {
                    (RoleKind::Role, r.metadata.namespace)
                };
                self.roles.push(Role {
                    kind,
                    name: r.metadata.name,
                    namespace,
                    rules: r.rules.unwrap_or_default(),
                });
                self.roles_known = true;
                Ok(1)
            }
            _ => Ok(0),
        }
    }

    /// Reads manifests: YAML (or JSON) documents separated by `---` lines,
    /// each an object or a `List`; objects that are not RBAC are left out.
    pub fn read_manifests(text: &str) -> Result<Rbac, RbacError> {
        let mut rbac = Rbac::new();
        rbac.add_manifests(text)?;
        Ok(rbac)
    }

    /// [`Rbac::read_manifests`], adding to what is here (several files).
    pub fn add_manifests(&mut self, text: &str) -> Result<usize, RbacError> {
        let mut n = 0;
        // Document by document: the first problem in the file is the one told.
        for (i, (line, doc)) in documents(text).into_iter().enumerate() {
            let Some(value) = parse_document(i, line, doc)? else {
                continue;
            };
            n += self.add_object(value).map_err(|message| RbacError {
                document: i + 1,
                line,
                message,
            })?;
        }
        Ok(n)
    }

    /// The bindings that grant something to `username` or to one of
    /// `groups` (and to every login, through `system:authenticated`).
    pub fn bindings_of(&self, username: &str, groups: &[String]) -> Vec<&Binding> {
        self.bindings
            .iter()
            .filter(|b| b.names(username, groups).is_some())
            .collect()
    }

    /// The role a binding grants, when it was read.
    pub fn role(&self, binding: &Binding) -> Option<&Role> {
        self.roles.iter().find(|r| {
            r.kind == binding.role.kind
                && r.name == binding.role.name
                && (r.kind == RoleKind::ClusterRole || r.namespace == binding.namespace)
        })
    }

    /// True when `binding` grants a role that does not exist (so it grants
    /// nothing); only known when the roles were read.
    pub fn grants_missing_role(&self, binding: &Binding) -> bool {
        let built_in = binding.role.kind == RoleKind::ClusterRole
            && (BUILT_IN_CLUSTER_ROLES.contains(&binding.role.name.as_str())
                || binding.role.name.starts_with("system:"));
        self.roles_known && !built_in && self.role(binding).is_none()
    }

    /// True when `binding` makes whoever it names cluster-admin: a
    /// ClusterRoleBinding to `cluster-admin`, or to a ClusterRole that
    /// allows every verb on every resource.
    pub fn makes_cluster_admin(&self, binding: &Binding) -> bool {
        if binding.kind != BindingKind::ClusterRoleBinding
            || binding.role.kind != RoleKind::ClusterRole
        {
            return false;
        }
        binding.role.name == "cluster-admin"
            || self
                .role(binding)
                .is_some_and(|r| r.rules.iter().any(Rule::grants_everything))
    }

    /// Every group some binding names (without `system:authenticated`).
    pub fn bound_groups(&self) -> impl Iterator<Item = (&str, &Binding)> {
        self.bindings.iter().flat_map(|b| {
            b.subjects
                .iter()
                .filter(|s| s.kind == SubjectKind::Group && s.name != AUTHENTICATED)
                .map(move |s| (s.name.as_str(), b))
        })
    }
}

/// The documents of a YAML stream, each with its first line (from 1).
/// One document of a manifest file.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ManifestDocument<'a> {
    /// Its first line (1-based).
    pub line: usize,
    /// Its text, as written.
    pub text: &'a str,
    /// Its object; `None` for a document of comments or nothing.
    pub object: Option<Value>,
}

/// The documents of a manifest file (separated by `---` lines). For tools
/// that rewrite some documents of a file and keep the others as written.
///
/// ```
/// let docs = aws_auth_core::rbac::split_manifests("# rbac\n---\nkind: RoleBinding\nmetadata: {name: a}\n")?;
/// assert_eq!(docs.len(), 2);
/// assert!(docs[0].object.is_none());
/// assert_eq!(docs[1].object.as_ref().unwrap()["metadata"]["name"], "a");
/// assert_eq!(docs[1].line, 3);
/// # Ok::<(), aws_auth_core::rbac::RbacError>(())
/// ```
pub fn split_manifests(text: &str) -> Result<Vec<ManifestDocument<'_>>, RbacError> {
    documents(text)
        .into_iter()
        .enumerate()
        .map(|(i, (line, doc))| {
            Ok(ManifestDocument {
                line,
                text: doc,
                object: parse_document(i, line, doc)?,
            })
        })
        .collect()
}

/// Document `i` (its first line `line`) as an object, or `None` if it holds
/// nothing but comments.
fn parse_document(i: usize, line: usize, doc: &str) -> Result<Option<Value>, RbacError> {
    let fail = |message: String| RbacError {
        document: i + 1,
        line,
        message,
    };
    if doc
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(None);
    }
    let value = match serde_json::from_str::<Value>(doc) {
        Ok(v) => v,
        Err(_) => {
            let tree = crate::yaml::full::parse(doc)
                .map_err(|e| fail(format!("not YAML: {}", e.message)))?;
            match tree.root {
                Some(root) => crate::yaml::json::to_json(&tree, doc, root),
                None => return Ok(None),
            }
        }
    };
    if !value.is_object() {
        return Err(fail("not a Kubernetes object".to_owned()));
    }
    Ok(Some(value))
}

fn documents(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let (mut start, mut first_line, mut line) = (0, 1, 1);
    let mut pos = 0;
    for l in text.split_inclusive('\n') {
        let bare = l.trim_end();
        if bare == "---" || bare.starts_with("--- ") || bare == "..." {
            out.push((first_line, &text[start..pos]));
            start = pos + l.len();
            first_line = line + 1;
        }
        pos += l.len();
        line += 1;
    }
    out.push((first_line, &text[start..]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFESTS: &str = "\
# from a GitOps checkout
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: devs-edit
  namespace: dev
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: edit
subjects:
- kind: Group
  name: developers
  apiGroup: rbac.authorization.k8s.io
---
apiVersion: v1
kind: ConfigMap
metadata: {name: other}
---
{\"apiVersion\": \"rbac.authorization.k8s.io/v1\", \"kind\": \"ClusterRoleBindingList\", \"items\": [
  {\"metadata\": {\"name\": \"root\"}, \"roleRef\": {\"kind\": \"ClusterRole\", \"name\": \"everything\"},
   \"subjects\": [{\"kind\": \"User\", \"name\": \"alice\"}]}]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: everything}
rules:
- apiGroups: ['*']
  resources: ['*']
  verbs: ['*']
...
";

    #[test]
    fn manifests_lists_and_json_are_read_and_other_kinds_left_out() {
        let rbac = Rbac::read_manifests(MANIFESTS).unwrap();
        assert_eq!(rbac.bindings.len(), 2);
        assert_eq!(rbac.roles.len(), 1);
        let dev = &rbac.bindings[0];
        assert_eq!(
            (dev.kind, dev.namespace.as_deref(), dev.role_name().as_str()),
            (BindingKind::RoleBinding, Some("dev"), "ClusterRole/edit")
        );
        let root = &rbac.bindings[1];
        assert_eq!(root.kind, BindingKind::ClusterRoleBinding);
        // A binding to a role that allows everything is cluster-admin.
        assert!(rbac.makes_cluster_admin(root));
        assert!(!rbac.makes_cluster_admin(dev));
        assert_eq!(rbac.bindings_of("alice", &[]).len(), 1);
        assert_eq!(rbac.bindings_of("bob", &["developers".into()]).len(), 1);
        assert!(rbac.bindings_of("bob", &["devs".into()]).is_empty());
        assert_eq!(
            rbac.bound_groups().map(|(g, _)| g).collect::<Vec<_>>(),
            ["developers"]
        );
    }

    #[test]
    fn missing_roles_grant_nothing_but_built_ins_always_exist() {
        let mut rbac = Rbac::read_manifests(MANIFESTS).unwrap();
        let gone = Binding::new(
            BindingKind::ClusterRoleBinding,
            "gone",
            None,
            RoleRef {
                kind: RoleKind::ClusterRole,
                name: "deleted".into(),
            },
        );
        assert!(rbac.grants_missing_role(&gone));
        assert!(!rbac.grants_missing_role(&rbac.bindings[0]));
        rbac.roles_known = false;
        assert!(!rbac.grants_missing_role(&gone));
        // Every login is in system:authenticated.
        let everyone = gone.subject(SubjectKind::Group, AUTHENTICATED);
        assert!(everyone.names("anyone", &[]).is_some());
    }

    #[test]
    fn a_broken_document_is_named_by_number_and_line() {
        let e = Rbac::read_manifests("kind: RoleBinding\n---\nkind: [\n").unwrap_err();
        assert_eq!((e.document, e.line), (1, 1), "{e}");
        let e = Rbac::read_manifests("a: 1\n---\nkind: [\n").unwrap_err();
        assert_eq!((e.document, e.line), (2, 3), "{e}");
        let e = Rbac::read_manifests("- a\n").unwrap_err();
        assert!(e.message.contains("not a Kubernetes object"), "{e}");
    }
}
