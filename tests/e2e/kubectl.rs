//! The local API server held to the real `kubectl`: if kubectl reads, creates,
//! patches and applies through it as it does against a real cluster, and gets
//! the same refusals, the server is honest enough to test our client on.

use serde_json::{Value, json};

use crate::cluster::{Env, USERS};

fn run(env: &Env, args: &[&str]) -> (bool, String, String) {
    let out = crate::kubectl(env).args(args).output().unwrap();
    if !out.status.success() {
        for s in env.server.seen() {
            eprintln!(
                "{} {}?{} [{}] {}",
                s.method,
                s.path,
                s.query,
                s.content_type,
                &s.body[..s.body.len().min(200)]
            );
        }
    }
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn kubectl_reads_what_the_server_holds() {
    let env = Env::new();
    let (ok, out, err) = run(
        &env,
        &[
            "get",
            "configmap",
            "aws-auth",
            "-n",
            "kube-system",
            "-o",
            "json",
        ],
    );
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["data"]["mapUsers"], USERS);
    let (ok, out, err) = run(&env, &["get", "cm", "-n", "kube-system", "-o", "name"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "configmap/aws-auth");
    let (ok, _, err) = run(&env, &["get", "configmap", "nope", "-n", "kube-system"]);
    assert!(!ok);
    assert!(err.contains("configmaps \"nope\" not found"), "{err}");
}

#[test]
fn kubectl_patches_with_preconditions_and_is_refused_as_by_a_real_server() {
    let env = Env::new();
    let rv = env.server.object("kube-system", "aws-auth").unwrap()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    // A merge patch carrying the current version lands...
    let patch =
        json!({"metadata": {"resourceVersion": rv}, "data": {"other": "patched"}}).to_string();
    let (ok, _, err) = run(
        &env,
        &[
            "patch",
            "configmap",
            "aws-auth",
            "-n",
            "kube-system",
            "--type",
            "merge",
            "-p",
            &patch,
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(env.data("other").unwrap(), "patched");
    // ...the same patch again is stale: 409 with the real message.
    let (ok, _, err) = run(
        &env,
        &[
            "patch",
            "configmap",
            "aws-auth",
            "-n",
            "kube-system",
            "--type",
            "merge",
            "-p",
            &patch,
        ],
    );
    assert!(!ok);
    assert!(
        err.contains("the object has been modified; please apply your changes to the latest version and try again"),
        "{err}"
    );
    // JSON patch and strategic merge patch.
    let (ok, _, err) = run(
        &env,
        &[
            "patch",
            "configmap",
            "aws-auth",
            "-n",
            "kube-system",
            "--type",
            "json",
            "-p",
            r#"[{"op":"replace","path":"/data/other","value":"json"}]"#,
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(env.data("other").unwrap(), "json");
    let (ok, _, err) = run(
        &env,
        &[
            "patch",
            "configmap",
            "aws-auth",
            "-n",
            "kube-system",
            "-p",
            r#"{"data":{"other":"strategic"}}"#,
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(env.data("other").unwrap(), "strategic");
    // replace is a PUT: with the current version it lands, with a stale one
    // it is refused.
    let mut obj = env.server.object("kube-system", "aws-auth").unwrap();
    obj["data"]["other"] = "replaced".into();
    let file = env.home.path().join("replace.json");
    std::fs::write(&file, obj.to_string()).unwrap();
    let path = file.display().to_string();
    let (ok, _, err) = run(&env, &["replace", "--validate=false", "-f", &path]);
    assert!(ok, "{err}");
    assert_eq!(env.data("other").unwrap(), "replaced");
    assert!(env.server.seen().iter().any(|s| s.method == "PUT"));
    let (ok, _, err) = run(&env, &["replace", "--validate=false", "-f", &path]);
    assert!(!ok);
    assert!(err.contains("the object has been modified"), "{err}");
    // An invalid key is refused.
    let (ok, _, err) = run(
        &env,
        &[
            "patch",
            "configmap",
            "aws-auth",
            "-n",
            "kube-system",
            "--type",
            "merge",
            "-p",
            r#"{"data":{"bad key":"x"}}"#,
        ],
    );
    assert!(!ok);
    assert!(
        err.contains("a valid config key must consist of alphanumeric characters"),
        "{err}"
    );
}

#[test]
fn kubectl_creates_and_applies() {
    let env = Env::new();
    let extra = env.home.path().join("extra.yaml");
    std::fs::write(
        &extra,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: kube-system\ndata:\n  mapAccounts: '- \"111122223333\"'\n",
    )
    .unwrap();
    let extra = extra.display().to_string();
    let (ok, _, err) = run(&env, &["create", "--validate=false", "-f", &extra]);
    assert!(ok, "{err}");
    assert_eq!(
        env.server
            .data("kube-system", "extra", "mapAccounts")
            .unwrap(),
        "- \"111122223333\""
    );
    let (ok, _, err) = run(&env, &["create", "--validate=false", "-f", &extra]);
    assert!(!ok);
    assert!(err.contains("configmaps \"extra\" already exists"), "{err}");
    let file = env.home.path().join("cm.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\n  namespace: kube-system\ndata:\n  mapUsers: |\n    - userarn: arn:aws:iam::111122223333:user/a\n      username: a\n",
    )
    .unwrap();
    let path = file.display().to_string();
    let (ok, _, err) = run(&env, &["apply", "--validate=false", "-f", &path]);
    assert!(ok, "{err}");
    let (ok, _, err) = run(&env, &["apply", "--validate=false", "-f", &path]);
    assert!(ok, "{err}");
    let obj = env.server.object("kube-system", "applied").unwrap();
    assert!(
        obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .is_string(),
        "{obj}"
    );
}

/// Issue 22: the RBAC kinds as kubectl creates, lists, reads and deletes
/// them, with the real server's refusals.
#[test]
fn kubectl_manages_rbac_objects() {
    let env = Env::new();
    let manifests = env.home.path().join("rbac.yaml");
    std::fs::write(
        &manifests,
        "\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: ops-admin
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: Group
  name: ops
---
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
- apiGroup: rbac.authorization.k8s.io
  kind: Group
  name: developers
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: reader
  namespace: dev
rules:
- apiGroups: ['']
  resources: [pods]
  verbs: [get, list]
",
    )
    .unwrap();
    let path = manifests.to_str().unwrap();
    let (ok, out, err) = run(&env, &["create", "--validate=false", "-f", path]);
    assert!(ok, "{err}");
    assert!(
        out.contains("clusterrolebinding.rbac.authorization.k8s.io/ops-admin created"),
        "{out}"
    );
    // A second create: AlreadyExists, as the real server says it.
    let (ok, _, err) = run(&env, &["create", "--validate=false", "-f", path]);
    assert!(!ok);
    assert!(
        err.contains("clusterrolebindings.rbac.authorization.k8s.io \"ops-admin\" already exists"),
        "{err}"
    );
    let (ok, out, err) = run(&env, &["get", "clusterrolebindings", "-o", "json"]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["items"][0]["roleRef"]["name"], "cluster-admin");
    assert_eq!(v["items"][0]["subjects"][0]["name"], "ops");
    // Across every namespace, and in one.
    let (ok, out, err) = run(&env, &["get", "rolebindings", "-A", "-o", "name"]);
    assert!(ok, "{err}");
    assert_eq!(
        out.trim(),
        "rolebinding.rbac.authorization.k8s.io/devs-edit"
    );
    let (ok, out, _) = run(&env, &["get", "rolebindings", "-n", "other", "-o", "name"]);
    assert!(ok && out.trim().is_empty(), "{out}");
    let (ok, out, err) = run(&env, &["get", "role", "reader", "-n", "dev", "-o", "json"]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["rules"][0]["verbs"], json!(["get", "list"]));
    let (ok, _, err) = run(&env, &["delete", "clusterrolebinding", "ops-admin"]);
    assert!(ok, "{err}");
    let (ok, _, err) = run(&env, &["get", "clusterrolebinding", "ops-admin"]);
    assert!(!ok);
    assert!(
        err.contains("clusterrolebindings.rbac.authorization.k8s.io \"ops-admin\" not found"),
        "{err}"
    );
    // The namespaces a grant checks: there, or not found as the real server
    // says it.
    env.server.namespaces(&["kube-system", "dev"]);
    let (ok, out, err) = run(&env, &["get", "namespace", "dev", "-o", "name"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "namespace/dev");
    let (ok, _, err) = run(&env, &["get", "namespace", "staging"]);
    assert!(!ok);
    assert!(err.contains("namespaces \"staging\" not found"), "{err}");
    // A caller RBAC does not let list bindings.
    env.server.forbid_rbac(true);
    let (ok, _, err) = run(&env, &["get", "clusterrolebindings"]);
    assert!(!ok);
    assert!(
        err.contains("clusterrolebindings.rbac.authorization.k8s.io is forbidden: User \"tester\" cannot list resource \"clusterrolebindings\" in API group \"rbac.authorization.k8s.io\" at the cluster scope"),
        "{err}"
    );
}

/// The fleet's clusters behind one server (a tenant per bearer token) are
/// apart for kubectl too: each token sees its own map, an unknown one is
/// refused as a real server refuses it.
#[test]
fn kubectl_sees_each_tenant_by_its_token() {
    let env = Env::new();
    let other = env.server.tenant("other-cluster-token");
    other.put(
        "kube-system",
        "aws-auth",
        Some(&[("mapUsers", "- userarn: arn:aws:iam::111122223333:user/x\n")]),
    );
    let get = [
        "get",
        "configmap",
        "aws-auth",
        "-n",
        "kube-system",
        "-o",
        "json",
    ];
    let (ok, out, err) = run(&env, &get);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["data"]["mapUsers"], USERS);
    let mut args = vec!["--token", "other-cluster-token"];
    args.extend(get);
    let (ok, out, err) = run(&env, &args);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["data"]["mapUsers"],
        "- userarn: arn:aws:iam::111122223333:user/x\n"
    );
    let mut args = vec!["--token", "no-such-cluster"];
    args.extend(get);
    let (ok, _, err) = run(&env, &args);
    assert!(!ok);
    assert!(err.contains("Unauthorized"), "{err}");
}
