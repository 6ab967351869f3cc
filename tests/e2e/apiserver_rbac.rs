//! The RBAC kinds of the local API server (`rbac.authorization.k8s.io/v1`):
//! ClusterRoles and ClusterRoleBindings at cluster scope, Roles and
//! RoleBindings in namespaces (listed in one or across all), with get,
//! list, create and delete as the real server answers them, and a switch
//! that makes every RBAC request forbidden (a caller without the rights).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::apiserver::{Answer, answer, status_of};

pub(crate) const GROUP: &str = "rbac.authorization.k8s.io";

/// (plural, kind, namespaced)
const KINDS: [(&str, &str, bool); 4] = [
    ("clusterroles", "ClusterRole", false),
    ("clusterrolebindings", "ClusterRoleBinding", false),
    ("roles", "Role", true),
    ("rolebindings", "RoleBinding", true),
];

/// The RBAC objects, by (plural, namespace or "", name).
#[derive(Default)]
pub(crate) struct RbacStore {
    objects: BTreeMap<(String, String, String), Value>,
    /// Every RBAC request is answered 403, as for a caller RBAC does not let
    /// list bindings.
    pub(crate) forbidden: bool,
    version: u64,
}

impl RbacStore {
    /// Every object of `plural`, in every namespace.
    pub(crate) fn all(&self, plural: &str) -> Vec<Value> {
        self.objects
            .iter()
            .filter(|((p, _, _), _)| p == plural)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Stores an object as a create would (its kind says where).
    pub(crate) fn put(&mut self, mut obj: Value) {
        let kind = obj["kind"].as_str().unwrap_or("").to_owned();
        let (plural, _, namespaced) = KINDS
            .iter()
            .find(|(_, k, _)| *k == kind)
            .copied()
            .expect("an RBAC kind");
        let ns = if namespaced {
            obj["metadata"]["namespace"]
                .as_str()
                .unwrap_or("default")
                .to_owned()
        } else {
            String::new()
        };
        let name = obj["metadata"]["name"].as_str().unwrap_or("").to_owned();
        self.version += 1;
        stamp(&mut obj, &name, self.version);
        self.objects.insert((plural.to_owned(), ns, name), obj);
    }
}

fn stamp(obj: &mut Value, name: &str, version: u64) {
    obj["apiVersion"] = format!("{GROUP}/v1").into();
    obj["metadata"]["uid"] = format!("uid-rbac-{name}").into();
    obj["metadata"]["resourceVersion"] = (2000 + version).to_string().into();
    obj["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z".into();
}

/// The group in `/apis`.
pub(crate) fn group() -> Value {
    json!({"name": GROUP, "versions": [{"groupVersion": format!("{GROUP}/v1"), "version": "v1"}],
        "preferredVersion": {"groupVersion": format!("{GROUP}/v1"), "version": "v1"}})
}

/// `/apis/rbac.authorization.k8s.io/v1`.
pub(crate) fn resources() -> Value {
    let resources: Vec<Value> = KINDS
        .iter()
        .map(|(plural, kind, namespaced)| {
            json!({"name": plural, "singularName": kind.to_lowercase(), "namespaced": namespaced,
                "kind": kind, "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]})
        })
        .collect();
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": format!("{GROUP}/v1"), "resources": resources})
}

fn forbidden(plural: &str, verb: &str, ns: Option<&str>) -> Answer {
    let scope = match ns {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".to_owned(),
    };
    status_of(
        403,
        "Forbidden",
        &format!(
            "{plural}.{GROUP} is forbidden: User \"tester\" cannot {verb} resource \"{plural}\" in API group \"{GROUP}\" {scope}"
        ),
        None,
        plural,
    )
}

/// Serves `rest` (the path below `/apis/rbac.authorization.k8s.io/v1/`).
pub(crate) fn route(store: &mut RbacStore, method: &str, rest: &[&str], body: &str) -> Answer {
    let (ns, plural, name) = match rest {
        [plural] => (None, *plural, None),
        [plural, name] => (None, *plural, Some(*name)),
        ["namespaces", ns, plural] => (Some(*ns), *plural, None),
        ["namespaces", ns, plural, name] => (Some(*ns), *plural, Some(*name)),
        _ => return not_found_path(),
    };
    let Some(&(plural, kind, namespaced)) = KINDS.iter().find(|(p, _, _)| *p == plural) else {
        return not_found_path();
    };
    if ns.is_some() && !namespaced {
        return not_found_path();
    }
    let verb = match (method, name) {
        ("GET", None) => "list",
        ("GET", Some(_)) => "get",
        ("POST", None) => "create",
        ("DELETE", Some(_)) => "delete",
        _ => return status_of(405, "MethodNotAllowed", "method not allowed", None, plural),
    };
    if store.forbidden {
        return forbidden(plural, verb, ns);
    }
    let scope_ns = ns.unwrap_or("").to_owned();
    match verb {
        "list" => {
            let items: Vec<Value> = store
                .objects
                .iter()
                .filter(|((p, n, _), _)| *p == plural && (ns.is_none() || *n == scope_ns))
                .map(|(_, v)| v.clone())
                .collect();
            answer(
                200,
                &json!({"kind": format!("{kind}List"), "apiVersion": format!("{GROUP}/v1"),
                    "metadata": {"resourceVersion": (2000 + store.version).to_string()}, "items": items}),
            )
        }
        "get" | "delete" => {
            let name = name.unwrap_or_default();
            let key = (plural.to_owned(), scope_ns, name.to_owned());
            let Some(obj) = store.objects.get(&key).cloned() else {
                return status_of(
                    404,
                    "NotFound",
                    &format!("{plural}.{GROUP} \"{name}\" not found"),
                    Some(name),
                    plural,
                );
            };
            if verb == "delete" {
                store.objects.remove(&key);
                return answer(
                    200,
                    &json!({"kind": "Status", "apiVersion": "v1", "status": "Success",
                        "details": {"name": name, "group": GROUP, "kind": plural}}),
                );
            }
            answer(200, &obj)
        }
        _ => {
            let Ok(mut obj) = serde_json::from_str::<Value>(body) else {
                return status_of(400, "BadRequest", "the body is not JSON", None, plural);
            };
            let name = obj["metadata"]["name"].as_str().unwrap_or("").to_owned();
            if name.is_empty() {
                return status_of(
                    422,
                    "Invalid",
                    "metadata.name: Required value",
                    None,
                    plural,
                );
            }
            if kind.ends_with("Binding") && obj["roleRef"]["name"].as_str().is_none() {
                return status_of(
                    422,
                    "Invalid",
                    &format!("{kind}.{GROUP} \"{name}\" is invalid: roleRef.name: Required value"),
                    Some(&name),
                    plural,
                );
            }
            let key = (plural.to_owned(), scope_ns.clone(), name.clone());
            if store.objects.contains_key(&key) {
                return status_of(
                    409,
                    "AlreadyExists",
                    &format!("{plural}.{GROUP} \"{name}\" already exists"),
                    Some(&name),
                    plural,
                );
            }
            obj["kind"] = kind.into();
            if namespaced {
                obj["metadata"]["namespace"] = scope_ns.into();
            }
            store.version += 1;
            stamp(&mut obj, &name, store.version);
            store.objects.insert(key, obj.clone());
            answer(201, &obj)
        }
    }
}

fn not_found_path() -> Answer {
    status_of(
        404,
        "NotFound",
        "the server could not find the requested resource",
        None,
        "",
    )
}
