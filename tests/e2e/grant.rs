//! Grant and revoke in one step (issue 23): the identity and its rights
//! together, against the local API server and the local EKS, and on a
//! GitOps checkout.

use hyper::Method;
use serde_json::{Value, json};

use crate::apiserver::Fault;
use crate::migrate::{CLUSTER, Setup};

const ALICE: &str = "arn:aws:iam::111122223333:user/alice";
const DEPLOYER: &str = "arn:aws:iam::111122223333:role/ci/Deployer";
const VIEW_POLICY: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";

const ROLES: &str = "\
- rolearn: arn:aws:iam::111122223333:role/NodeInstanceRole
  username: system:node:{{EC2PrivateDNSName}}
  groups: [system:bootstrappers, system:nodes]
- rolearn: arn:aws:iam::111122223333:role/Admin
  username: admin
  groups: [system:masters]
";

fn out(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

fn err(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

fn cluster_role(name: &str) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": name},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]})
}

/// A cluster in `mode` whose namespaces are kube-system, default, dev and
/// ops, with the built-in ClusterRoles and a `pod-reader` of its own.
fn cluster(mode: &str) -> Setup {
    let s = Setup::with_map(mode, ROLES, "");
    s.aws.role("/ci/", "Deployer");
    s.aws.role("/", "Admin");
    s.env
        .server
        .namespaces(&["kube-system", "default", "dev", "ops"]);
    for name in ["view", "edit", "admin", "cluster-admin", "pod-reader"] {
        s.env.server.put_rbac(cluster_role(name));
    }
    if mode != "CONFIG_MAP" {
        // The caller's own cluster-admin entry.
        s.aws.with_cluster(CLUSTER, |c| {
            c.entries.insert(
                "arn:aws:iam::111122223333:role/Admin".to_owned(),
                crate::aws::Entry {
                    kind: "STANDARD".into(),
                    username: "admin".into(),
                    groups: Vec::new(),
                    policies: std::collections::BTreeMap::from([(
                        crate::aws::ADMIN_POLICY.to_owned(),
                        json!({"type": "cluster"}),
                    )]),
                },
            );
        });
    }
    s
}

fn grant(s: &Setup, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = s.cmd();
    cmd.arg("grant").args(args).args(["--cluster", CLUSTER]);
    cmd
}

fn revoke(s: &Setup, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = s.cmd();
    cmd.arg("revoke").args(args).args(["--cluster", CLUSTER]);
    cmd
}

/// (namespace, name, group bound) of every RoleBinding and
/// ClusterRoleBinding.
fn bindings(s: &Setup) -> Vec<(String, String, String)> {
    let mut all = Vec::new();
    for plural in ["clusterrolebindings", "rolebindings"] {
        for b in s.env.server.rbac(plural) {
            all.push((
                b["metadata"]["namespace"].as_str().unwrap_or("").to_owned(),
                b["metadata"]["name"].as_str().unwrap_or("").to_owned(),
                b["subjects"][0]["name"].as_str().unwrap_or("").to_owned(),
            ));
        }
    }
    all.sort();
    all
}

fn map_users(s: &Setup) -> String {
    s.env
        .server
        .data("kube-system", "aws-auth", "mapUsers")
        .unwrap_or_default()
}

#[test]
fn on_a_config_map_cluster_a_mapping_and_a_binding_per_namespace() {
    let s = cluster("CONFIG_MAP");
    // --dry-run: the map's diff and the bindings as YAML; nothing written.
    s.env.server.clear_seen();
    let a = grant(
        &s,
        &[
            "user",
            ALICE,
            "--clusterrole",
            "view",
            "-n",
            "dev",
            "-n",
            "ops",
            "--dry-run",
        ],
    )
    .assert()
    .success();
    assert!(
        s.env.server.writes().is_empty(),
        "{:?}",
        s.env.server.writes()
    );
    let text = out(&a);
    assert!(
        text.contains("+- userarn: arn:aws:iam::111122223333:user/alice"),
        "{text}"
    );
    assert!(text.contains("would be created"), "{text}");
    assert!(
        text.contains("---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n"),
        "{text}"
    );
    assert!(bindings(&s).is_empty());
    // Another writer maps someone between our read and our write: kept.
    s.env.server.after_next_get(|store| {
        store.edit_data("kube-system", "aws-auth", "mapUsers", |v| {
            format!("{v}- userarn: arn:aws:iam::111122223333:user/bob\n  username: bob\n  groups: [testers]\n")
        });
    });
    let a = grant(
        &s,
        &[
            "user",
            ALICE,
            "--clusterrole",
            "view",
            "-n",
            "dev",
            "-n",
            "ops",
        ],
    )
    .assert()
    .success();
    let users = map_users(&s);
    assert!(users.contains("user/alice"), "{users}");
    assert!(users.contains("aws-auth:clusterrole:view:dev"), "{users}");
    assert!(users.contains("aws-auth:clusterrole:view:ops"), "{users}");
    assert!(
        users.contains("user/bob"),
        "the other writer's mapping was lost: {users}"
    );
    assert_eq!(
        bindings(&s),
        [
            (
                "dev".into(),
                "aws-auth:user:111122223333:alice:clusterrole:view".into(),
                "aws-auth:clusterrole:view:dev".into()
            ),
            (
                "ops".into(),
                "aws-auth:user:111122223333:alice:clusterrole:view".into(),
                "aws-auth:clusterrole:view:ops".into()
            ),
        ]
    );
    assert!(
        out(&a).contains("to log in: aws eks update-kubeconfig --name prod --region eu-west-1\n"),
        "{}",
        out(&a)
    );
    // Labelled and annotated as aws-auth's, for revoke.
    let b = &s.env.server.rbac("rolebindings")[0];
    assert_eq!(
        b["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "aws-auth"
    );
    assert_eq!(b["metadata"]["annotations"]["aws-auth/principal"], ALICE);
    // Again: nothing to write.
    s.env.server.clear_seen();
    let a = grant(
        &s,
        &[
            "user",
            ALICE,
            "--clusterrole",
            "view",
            "-n",
            "dev",
            "-n",
            "ops",
        ],
    )
    .assert()
    .success();
    assert!(
        s.env.server.writes().is_empty(),
        "{:?}",
        s.env.server.writes()
    );
    assert!(
        out(&a).contains("the identity is there already"),
        "{}",
        out(&a)
    );
    assert!(out(&a).contains(": unchanged"), "{}", out(&a));
    // The audit finds the groups bound.
    let a = s
        .cmd()
        .args(["audit", "--cluster", CLUSTER, "-o", "json"])
        .assert();
    let v: Value = serde_json::from_str(&out(&a)).unwrap();
    let unbound: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "group-unbound")
        .collect();
    assert!(
        unbound
            .iter()
            .all(|f| !f.to_string().contains("aws-auth:clusterrole")),
        "{unbound:?}"
    );
}

#[test]
fn with_access_entries_a_scoped_policy_and_no_rbac_object() {
    let s = cluster("API_AND_CONFIG_MAP");
    // --dry-run: the entry's calls, none sent.
    let a = grant(
        &s,
        &[
            "user",
            ALICE,
            "--clusterrole",
            "view",
            "-n",
            "dev",
            "--dry-run",
        ],
    )
    .assert()
    .success();
    assert!(out(&a).contains("AmazonEKSViewPolicy"), "{}", out(&a));
    assert!(!s.entries().contains_key(ALICE));
    let a = grant(&s, &["user", ALICE, "--clusterrole", "view", "-n", "dev"])
        .assert()
        .success();
    let entry = &s.entries()[ALICE];
    assert_eq!(
        entry.policies[VIEW_POLICY],
        json!({"type": "namespace", "namespaces": ["dev"]}),
        "{}",
        out(&a)
    );
    assert!(entry.groups.is_empty());
    assert!(bindings(&s).is_empty(), "{:?}", bindings(&s));
    assert!(!map_users(&s).contains("alice"));
    // Another namespace widens the same policy; a re-run sends no write.
    grant(&s, &["user", ALICE, "--clusterrole", "view", "-n", "ops"])
        .assert()
        .success();
    assert_eq!(
        s.entries()[ALICE].policies[VIEW_POLICY],
        json!({"type": "namespace", "namespaces": ["dev", "ops"]})
    );
    s.aws.clear_calls();
    let a = grant(&s, &["user", ALICE, "--clusterrole", "view", "-n", "ops"])
        .assert()
        .success();
    let calls: Vec<String> = s.aws.calls().into_iter().map(|c| c.op).collect();
    let writes = [
        "CreateAccessEntry",
        "UpdateAccessEntry",
        "AssociateAccessPolicy",
        "DisassociateAccessPolicy",
        "DeleteAccessEntry",
    ];
    assert!(
        calls.iter().all(|c| !writes.contains(&c.as_str())),
        "{calls:?}"
    );
    assert!(
        out(&a).contains("the identity is there already"),
        "{}",
        out(&a)
    );
}

#[test]
fn a_custom_cluster_role_is_an_entry_with_its_group_and_binding() {
    let s = cluster("API");
    let a = grant(
        &s,
        &["role", DEPLOYER, "--clusterrole", "pod-reader", "-n", "dev"],
    )
    .assert()
    .success();
    let entry = &s.entries()[DEPLOYER];
    assert_eq!(entry.groups, ["aws-auth:clusterrole:pod-reader:dev"]);
    assert!(entry.policies.is_empty());
    assert_eq!(
        bindings(&s),
        [(
            "dev".into(),
            "aws-auth:role:111122223333:Deployer:clusterrole:pod-reader".into(),
            "aws-auth:clusterrole:pod-reader:dev".into()
        )]
    );
    assert!(
        out(&a).contains(&format!("--role-arn {DEPLOYER}")),
        "{}",
        out(&a)
    );
    // Revoked: the entry and the binding go.
    revoke(&s, &["role", DEPLOYER]).assert().success();
    assert!(!s.entries().contains_key(DEPLOYER));
    assert!(bindings(&s).is_empty(), "{:?}", bindings(&s));
}

#[test]
fn a_failure_between_binding_and_mapping_is_finished_by_a_rerun() {
    let s = cluster("CONFIG_MAP");
    s.env
        .server
        .inject(Method::PATCH, Fault::Status(403, "Forbidden"));
    s.env
        .server
        .inject(Method::PUT, Fault::Status(403, "Forbidden"));
    let a = grant(&s, &["user", ALICE, "--clusterrole", "edit", "-n", "dev"])
        .assert()
        .failure();
    assert!(err(&a).contains("refused"), "{}", err(&a));
    // The binding exists, the identity does not: nobody got in half-granted.
    assert_eq!(bindings(&s).len(), 1);
    assert!(!map_users(&s).contains("alice"));
    grant(&s, &["user", ALICE, "--clusterrole", "edit", "-n", "dev"])
        .assert()
        .success();
    assert!(map_users(&s).contains("aws-auth:clusterrole:edit:dev"));
    assert_eq!(bindings(&s).len(), 1);
}

#[test]
fn a_binding_the_server_fails_leaves_no_identity() {
    let s = cluster("CONFIG_MAP");
    s.env
        .server
        .inject(Method::POST, Fault::Status(503, "ServiceUnavailable"));
    let a = grant(&s, &["user", ALICE, "--clusterrole", "view", "-n", "dev"])
        .assert()
        .code(69);
    assert_eq!(
        err(&a),
        "error: the API server failed to create the binding dev/aws-auth:user:111122223333:alice:clusterrole:view (503 ServiceUnavailable): injected 503 ServiceUnavailable; run the command again to finish (it picks up where this one stopped)\n"
    );
    assert!(bindings(&s).is_empty());
    assert!(!map_users(&s).contains("alice"));
    grant(&s, &["user", ALICE, "--clusterrole", "view", "-n", "dev"])
        .assert()
        .success();
    assert_eq!(bindings(&s).len(), 1);
    assert!(map_users(&s).contains("alice"));
}

#[test]
fn revoke_takes_what_grant_made_and_leaves_a_hand_made_binding() {
    let s = cluster("CONFIG_MAP");
    grant(&s, &["user", ALICE, "--clusterrole", "view", "-n", "dev"])
        .assert()
        .success();
    // A binding of the same group someone made by hand.
    s.env.server.put_rbac(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "team-view", "namespace": "dev"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "aws-auth:clusterrole:view:dev"}]}));
    // And one of alice alone, by username.
    s.env.server.put_rbac(
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "alice-edit", "namespace": "ops"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}]}),
    );
    // --dry-run says it and changes nothing.
    let a = revoke(&s, &["user", ALICE, "--dry-run"]).assert().success();
    assert!(out(&a).contains("would be deleted"), "{}", out(&a));
    assert_eq!(bindings(&s).len(), 3);
    let a = revoke(&s, &["user", ALICE]).assert().success();
    assert!(!map_users(&s).contains("alice"), "{}", out(&a));
    assert_eq!(
        bindings(&s),
        [
            (
                "dev".into(),
                "team-view".into(),
                "aws-auth:clusterrole:view:dev".into()
            ),
            ("ops".into(), "alice-edit".into(), "alice".into()),
        ]
    );
    // --force also takes the hand-made binding of alice alone (by the
    // username her mapping gives), never the group's.
    grant(&s, &["user", ALICE, "--clusterrole", "view", "-n", "dev"])
        .assert()
        .success();
    let a = revoke(&s, &["user", ALICE, "--force"]).assert().success();
    assert!(out(&a).contains("alice-edit: deleted"), "{}", out(&a));
    assert_eq!(
        bindings(&s),
        [(
            "dev".into(),
            "team-view".into(),
            "aws-auth:clusterrole:view:dev".into()
        )]
    );
    // Again: nothing left, nothing written, exit 0.
    s.env.server.clear_seen();
    let a = revoke(&s, &["user", ALICE]).assert().success();
    assert!(
        out(&a).contains("no mapping or entry to remove"),
        "{}",
        out(&a)
    );
    assert!(s.env.server.writes().is_empty());
}

#[test]
fn the_guards_hold_for_grant_and_revoke() {
    // The last system:masters mapping: refused, nothing written.
    let s = cluster("CONFIG_MAP");
    s.env.server.clear_seen();
    let a = revoke(&s, &["role", "arn:aws:iam::111122223333:role/Admin"])
        .assert()
        .code(4);
    assert!(err(&a).contains("system:masters"), "{}", err(&a));
    assert!(s.env.server.writes().is_empty());
    // A node role: refused.
    revoke(
        &s,
        &["role", "arn:aws:iam::111122223333:role/NodeInstanceRole"],
    )
    .assert()
    .code(4);
    // A protected principal: grant may add to it, revoke may not take it.
    grant(
        &s,
        &["user", ALICE, "--clusterrole", "view", "--protect", ALICE],
    )
    .assert()
    .success();
    revoke(&s, &["user", ALICE, "--protect", ALICE])
        .assert()
        .code(4);
    // Adding groups to a protected mapping rewrites it: refused too, before
    // any binding is written.
    let before = bindings(&s);
    let a = grant(
        &s,
        &[
            "user",
            ALICE,
            "--clusterrole",
            "edit",
            "-n",
            "dev",
            "--protect",
            ALICE,
        ],
    )
    .assert()
    .code(4);
    assert!(err(&a).contains("protected"), "{}", err(&a));
    assert!(!map_users(&s).contains("aws-auth:clusterrole:edit:dev"));
    let _ = before;
    assert!(map_users(&s).contains("alice"));
    // With access entries: the caller's own cluster-admin entry.
    let s = cluster("API");
    let a = revoke(&s, &["role", "arn:aws:iam::111122223333:role/Admin"])
        .assert()
        .code(4);
    assert!(err(&a).contains("refused"), "{}", err(&a));
    assert!(
        s.entries()
            .contains_key("arn:aws:iam::111122223333:role/Admin")
    );
}

#[test]
fn bad_input_is_refused_before_any_write() {
    let s = cluster("CONFIG_MAP");
    s.env.server.clear_seen();
    for (args, says) in [
        (
            vec!["user", ALICE, "--clusterrole", "nope", "-n", "dev"],
            "no ClusterRole nope",
        ),
        (
            vec!["user", ALICE, "--clusterrole", "view", "-n", "staging"],
            "namespace staging does not exist",
        ),
        (
            vec!["user", ALICE, "--role", "deployer", "-n", "dev"],
            "has no Role deployer",
        ),
        (
            vec!["user", ALICE, "--role", "deployer"],
            "a Role lives in a namespace",
        ),
        (
            vec![
                "user",
                ALICE,
                "--clusterrole",
                "view",
                "-g",
                "system:masters",
            ],
            "system: groups",
        ),
        (
            vec!["user", ALICE, "--clusterrole", "view", "-n", "Dev"],
            "not a namespace name",
        ),
        (
            vec!["user", DEPLOYER, "--clusterrole", "view"],
            "not an IAM user ARN",
        ),
        (
            vec![
                "role",
                "arn:aws:sts::111122223333:assumed-role/Admin/x",
                "--clusterrole",
                "view",
            ],
            "not an IAM role ARN",
        ),
    ] {
        let a = grant(&s, &args).assert().code(5);
        assert!(err(&a).contains(says), "{args:?}: {}", err(&a));
    }
    // A binding of that name someone else made is never taken over.
    s.env.server.put_rbac(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "aws-auth:user:111122223333:alice:clusterrole:view", "namespace": "dev"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "x"}]}));
    s.env.server.clear_seen();
    let a = grant(&s, &["user", ALICE, "--clusterrole", "view", "-n", "dev"])
        .assert()
        .code(4);
    assert!(err(&a).contains("grant did not make"), "{}", err(&a));
    assert!(s.env.server.writes().is_empty());
    // -n before the command is the ConfigMap's namespace: refused.
    let mut cmd = s.cmd();
    let a = cmd
        .args(["-n", "dev", "grant", "user", ALICE, "--clusterrole", "view"])
        .assert()
        .code(64);
    assert!(err(&a).contains("after the command"), "{}", err(&a));
}

#[test]
fn a_gitops_checkout_gets_the_mapping_and_the_binding_manifests() {
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("aws-auth.yaml");
    std::fs::write(
        &map,
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapRoles: |\n{}",
            ROLES.lines().map(|l| format!("    {l}\n")).collect::<String>()
        ),
    )
    .unwrap();
    let rbac = dir.path().join("rbac.yaml");
    std::fs::write(&rbac, "# team bindings\nkind: RoleBinding\nmetadata: {name: keep, namespace: dev}\nroleRef: {kind: ClusterRole, name: view}\n").unwrap();
    let run = |args: &[&str]| {
        let mut cmd = assert_cmd::Command::cargo_bin("aws-auth").unwrap();
        cmd.env_clear()
            .env("HOME", dir.path())
            .current_dir(dir.path())
            .args(["--file", "aws-auth.yaml"])
            .args(args);
        cmd
    };
    // Without --rbac-out: a usage error, nothing written.
    run(&["grant", "user", ALICE, "--clusterrole", "view", "-n", "dev"])
        .assert()
        .code(64);
    let a = run(&[
        "grant",
        "user",
        ALICE,
        "--clusterrole",
        "view",
        "-n",
        "dev",
        "--rbac-out",
        "rbac.yaml",
    ])
    .assert()
    .success();
    let text = std::fs::read_to_string(&map).unwrap();
    assert!(text.contains("aws-auth:clusterrole:view:dev"), "{text}");
    let manifests = std::fs::read_to_string(&rbac).unwrap();
    assert!(
        manifests.starts_with(
            "# team bindings\nkind: RoleBinding\nmetadata: {name: keep, namespace: dev}\n"
        ),
        "{manifests}"
    );
    assert!(
        manifests.contains("name: aws-auth:user:111122223333:alice:clusterrole:view"),
        "{manifests}"
    );
    assert!(!out(&a).contains("to log in"), "{}", out(&a));
    // The written manifests are RBAC the offline audit reads: bound.
    let a = run(&["audit", "--rbac", "rbac.yaml", "-o", "json"]).assert();
    assert!(!out(&a).contains("\"group-unbound\""), "{}", out(&a));
    // A directory: one file per binding; a re-run writes nothing new.
    run(&[
        "grant",
        "role",
        DEPLOYER,
        "--role",
        "deployer",
        "-n",
        "dev",
        "-n",
        "ops",
        "--rbac-out",
        "bindings/",
    ])
    .assert()
    .success();
    let mut files: Vec<String> = std::fs::read_dir(dir.path().join("bindings"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "dev.aws-auth-role-111122223333-Deployer-role-deployer.yaml",
            "ops.aws-auth-role-111122223333-Deployer-role-deployer.yaml"
        ]
    );
    let a = run(&[
        "grant",
        "role",
        DEPLOYER,
        "--role",
        "deployer",
        "-n",
        "dev",
        "-n",
        "ops",
        "--rbac-out",
        "bindings/",
    ])
    .assert()
    .success();
    assert!(
        out(&a).contains("the identity is there already"),
        "{}",
        out(&a)
    );
    // Revoke: the mapping and the documents grant wrote; the rest kept.
    run(&["revoke", "user", ALICE, "--rbac-out", "rbac.yaml"])
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(&rbac).unwrap(),
        "# team bindings\nkind: RoleBinding\nmetadata: {name: keep, namespace: dev}\nroleRef: {kind: ClusterRole, name: view}\n"
    );
    assert!(!std::fs::read_to_string(&map).unwrap().contains("alice"));
    run(&["revoke", "role", DEPLOYER, "--rbac-out", "bindings/"])
        .assert()
        .success();
    assert_eq!(
        std::fs::read_dir(dir.path().join("bindings"))
            .unwrap()
            .count(),
        0
    );
}
