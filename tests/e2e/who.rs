//! Who really gets in (issue 22): `explain`, `get` and `audit` against the
//! map, the cluster's access entries (the local EKS), IAM and RBAC (the
//! local API server), and offline from files.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::aws::{ADMIN_POLICY, Entry};
use crate::migrate::{CLUSTER, Setup};

const VIEW: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
const DEV_SESSION: &str = "arn:aws:sts::111122223333:assumed-role/Dev/jane";
const DEV_ENTRY: &str = "arn:aws:iam::111122223333:role/teams/Dev";
const ALICE: &str = "arn:aws:iam::111122223333:user/alice";

const ROLES: &str = "\
- rolearn: arn:aws:iam::111122223333:role/NodeInstanceRole
  username: system:node:{{EC2PrivateDNSName}}
  groups: [system:bootstrappers, system:nodes]
- rolearn: arn:aws:iam::111122223333:role/Dev
  username: dev:{{SessionName}}
  groups: [developers]
- rolearn: arn:aws:iam::111122223333:role/Gone
  username: gone
  groups: [system:masters]
- rolearn: arn:aws:iam::444455556666:role/Deployer
  username: deployer
  groups: [developers]
";

const USERS: &str = "\
- userarn: arn:aws:iam::111122223333:user/alice
  username: alice
  groups: [system:masters]
- userarn: arn:aws:iam::111122223333:user/carol
  username: carol
  groups: [testers]
";

fn out(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

fn err(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

fn json_of(a: &assert_cmd::assert::Assert) -> Value {
    serde_json::from_str(&out(a)).unwrap_or_else(|e| panic!("{e}: {}", out(a)))
}

/// A cluster in `mode` with the map above, IAM (Dev with a path, carol,
/// alice, the Admin caller; no Gone), the Dev role's access entry (view in
/// `dev`) and Admin's (cluster-admin) when the mode has entries, and RBAC:
/// `developers` bound to view, `auditors` bound in `qa` (nothing grants it).
fn cluster(mode: &str) -> Setup {
    let s = Setup::with_map(mode, ROLES, USERS);
    s.aws.role("/teams/", "Dev");
    s.aws.role("/", "Admin");
    s.aws.user("carol");
    if mode != "CONFIG_MAP" {
        s.aws.with_cluster(CLUSTER, |c| {
            let later = c.created_at + 86_400.0;
            let dev = Entry {
                kind: "STANDARD".into(),
                username: "dev-entry:{{SessionName}}".into(),
                groups: vec!["developers".into()],
                policies: BTreeMap::from([(
                    VIEW.to_owned(),
                    json!({"type": "namespace", "namespaces": ["dev"]}),
                )]),
            };
            let admin = Entry {
                kind: "STANDARD".into(),
                username: "admin".into(),
                groups: Vec::new(),
                policies: BTreeMap::from([(ADMIN_POLICY.to_owned(), json!({"type": "cluster"}))]),
            };
            for (p, e) in [
                (DEV_ENTRY, dev),
                ("arn:aws:iam::111122223333:role/Admin", admin),
            ] {
                c.entries.insert(p.to_owned(), e);
                c.entry_created.insert(p.to_owned(), later);
            }
        });
    }
    let crb = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "developers-view"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "developers"}]});
    let rb = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "auditors-edit", "namespace": "qa"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "auditors"}]});
    s.env.server.put_rbac(crb);
    s.env.server.put_rbac(rb);
    s
}

#[test]
fn explain_answers_from_the_source_each_mode_reads() {
    // CONFIG_MAP: the map, whatever else exists.
    let s = cluster("CONFIG_MAP");
    let a = s
        .cmd()
        .args(["explain", DEV_SESSION, "--cluster", CLUSTER, "-o", "json"])
        .assert()
        .success();
    let v = json_of(&a);
    assert_eq!(v["source"], "configMap", "{v}");
    assert_eq!(v["username"], "dev:jane");
    assert_eq!(v["authenticationMode"], "CONFIG_MAP");
    assert_eq!(
        v["bindings"],
        json!([{"kind": "ClusterRoleBinding", "name": "developers-view", "namespace": null, "role": "ClusterRole/view", "subject": "group:developers"}])
    );
    assert_eq!(v["clusterAdmin"], false);
    assert_eq!(
        v["map"]["match"]["principal"],
        "arn:aws:iam::111122223333:role/Dev"
    );

    // API_AND_CONFIG_MAP: the entry of the role (with its path) wins.
    let s = cluster("API_AND_CONFIG_MAP");
    let a = s
        .cmd()
        .args(["explain", DEV_SESSION, "--cluster", CLUSTER, "-o", "json"])
        .assert()
        .success();
    let v = json_of(&a);
    assert_eq!(v["source"], "accessEntry", "{v}");
    assert_eq!(v["entry"], DEV_ENTRY);
    assert_eq!(v["username"], "dev-entry:jane");
    assert_eq!(v["groups"], json!(["developers"]));
    assert_eq!(
        v["accessPolicies"],
        json!([{"policy": "AmazonEKSViewPolicy", "policyArn": VIEW, "scope": "namespace", "namespaces": ["dev"]}])
    );
    assert_eq!(v["bindings"][0]["name"], "developers-view");
    assert!(
        v["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("the access entry wins")),
        "{v}"
    );
    // The text says the same.
    let a = s
        .cmd()
        .args(["explain", DEV_SESSION, "--cluster", CLUSTER])
        .assert()
        .success();
    let text = out(&a);
    for line in [
        &format!("source: access entry {DEV_ENTRY} (authentication mode API_AND_CONFIG_MAP)"),
        "username: dev-entry:jane",
        "access policy: AmazonEKSViewPolicy (namespaces dev)",
        "binding: ClusterRoleBinding developers-view -> ClusterRole/view (group:developers)",
        "cluster-admin: no",
    ] {
        assert!(text.contains(line), "{line:?} not in:\n{text}");
    }
    // A principal without an entry: the map answers.
    let a = s
        .cmd()
        .args(["explain", ALICE, "--cluster", CLUSTER, "-o", "json"])
        .assert()
        .success();
    let v = json_of(&a);
    assert_eq!(
        (&v["source"], &v["clusterAdmin"]),
        (&json!("configMap"), &json!(true))
    );
    assert!(
        v["adminRoutes"][0]
            .as_str()
            .unwrap()
            .contains("system:masters")
    );

    // API: never the map; the entry's cluster-admin policy counts.
    let s = cluster("API");
    let a = s
        .cmd()
        .args(["explain", ALICE, "--cluster", CLUSTER, "-o", "json"])
        .assert()
        .code(1);
    let v = json_of(&a);
    assert_eq!(v["source"], "none");
    assert!(
        v["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("in API the map is never read")),
        "{v}"
    );
    let a = s
        .cmd()
        .args([
            "explain",
            "arn:aws:sts::111122223333:assumed-role/Admin/ops",
            "--cluster",
            CLUSTER,
            "-o",
            "json",
        ])
        .assert()
        .success();
    let v = json_of(&a);
    assert_eq!(
        (&v["source"], &v["clusterAdmin"]),
        (&json!("accessEntry"), &json!(true))
    );
    assert!(
        v["adminRoutes"][0]
            .as_str()
            .unwrap()
            .contains("AmazonEKSClusterAdminPolicy at cluster scope")
    );
}

#[test]
fn what_cannot_be_read_is_said_and_the_rest_answers() {
    let s = cluster("API_AND_CONFIG_MAP");
    // No EKS cluster behind the kubeconfig context, no --cluster: the map
    // alone, said on stderr.
    let a = s
        .cmd()
        .args(["explain", DEV_SESSION, "-o", "json"])
        .assert()
        .success();
    assert_eq!(json_of(&a)["source"], "configMap");
    assert!(
        err(&a).contains("the access entries and IAM were not read")
            && err(&a).contains("the map alone answers"),
        "{}",
        err(&a)
    );
    // A caller RBAC does not let list bindings: a note, not a failure.
    s.env.server.forbid_rbac(true);
    let a = s
        .cmd()
        .args(["explain", DEV_SESSION, "--cluster", CLUSTER, "-o", "json"])
        .assert()
        .success();
    let v = json_of(&a);
    assert_eq!(v["source"], "accessEntry");
    assert_eq!(v["bindings"], Value::Null);
    assert!(
        err(&a).contains("RBAC could not be read (the API server refused: clusterroles.rbac.authorization.k8s.io is forbidden"),
        "{}",
        err(&a)
    );
    // Asked for by name, EKS must answer: without AWS credentials, an error.
    let a = s
        .env
        .cmd()
        .args([
            "explain",
            DEV_SESSION,
            "--cluster",
            CLUSTER,
            "--region",
            "eu-west-1",
        ])
        .assert()
        .code(78);
    assert!(err(&a).contains("no AWS credentials"), "{}", err(&a));
    // With --file, no cluster at all.
    let file = s.env.home.path().join("aws-auth.yaml");
    std::fs::write(
        &file,
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapUsers: |\n{}",
            USERS.lines().map(|l| format!("    {l}\n")).collect::<String>()
        ),
    )
    .unwrap();
    let a = s
        .env
        .cmd()
        .args(["--file", file.to_str().unwrap(), "explain", ALICE])
        .assert()
        .success();
    assert!(
        out(&a).contains("source: the aws-auth map\n"),
        "{}",
        out(&a)
    );
    assert!(
        out(&a).contains("authentication mode was not read: taken as CONFIG_MAP"),
        "{}",
        out(&a)
    );
    assert!(out(&a).contains("bindings: unknown\n"), "{}", out(&a));
    assert!(
        out(&a).contains("cluster-admin: yes, by the group system:masters, authorised before RBAC"),
        "{}",
        out(&a)
    );
    assert!(
        err(&a).contains("the cluster's access entries were not read"),
        "{}",
        err(&a)
    );
}

#[test]
fn an_entry_made_before_its_principal_grants_nothing() {
    let s = cluster("API_AND_CONFIG_MAP");
    s.aws.recreate("role", "Dev");
    let a = s
        .cmd()
        .args(["explain", DEV_SESSION, "--cluster", CLUSTER, "-o", "json"])
        .assert()
        .code(1);
    let v = json_of(&a);
    assert_eq!(
        (&v["source"], &v["username"]),
        (&json!("accessEntry"), &Value::Null)
    );
    assert!(
        v["notes"].as_array().unwrap().iter().any(|n| n
            .as_str()
            .unwrap()
            .contains("older than the principal IAM has now")),
        "{v}"
    );
    let a = s
        .cmd()
        .args(["audit", "--cluster", CLUSTER, "-o", "json"])
        .assert()
        .code(1);
    let v = json_of(&a);
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "principal-recreated" && f["principal"] == DEV_ENTRY),
        "{v}"
    );
}

#[test]
fn get_marks_the_mappings_no_login_uses() {
    let s = cluster("API_AND_CONFIG_MAP");
    let a = s
        .cmd()
        .args(["get", "--cluster", CLUSTER, "-o", "json"])
        .assert()
        .success();
    let v = json_of(&a);
    assert_eq!(v["mapRoles"][1]["notUsed"], "accessEntry", "{v}");
    assert_eq!(v["mapRoles"][1]["accessEntry"], DEV_ENTRY);
    assert!(v["mapRoles"][0].get("notUsed").is_none());
    let a = s
        .cmd()
        .args(["get", "--cluster", CLUSTER])
        .assert()
        .success();
    let row = out(&a)
        .lines()
        .find(|l| l.contains("role/Dev "))
        .map(str::to_owned)
        .unwrap_or_default();
    assert!(
        row.ends_with("not used: an access entry wins"),
        "{}",
        out(&a)
    );
    let s = cluster("API");
    let a = s
        .cmd()
        .args(["get", "--cluster", CLUSTER, "-o", "json"])
        .assert()
        .success();
    let v = json_of(&a);
    assert!(
        v["mapRoles"]
            .as_array()
            .unwrap()
            .iter()
            .chain(v["mapUsers"].as_array().unwrap())
            .all(|m| m["notUsed"] == "apiMode"),
        "{v}"
    );
}

#[test]
fn audit_finds_each_problem_of_a_cluster() {
    let s = cluster("API_AND_CONFIG_MAP");
    let a = s
        .cmd()
        .args(["audit", "--cluster", CLUSTER, "-o", "json"])
        .assert()
        .code(1);
    let v = json_of(&a);
    let found: Vec<(String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_owned(),
                f["principal"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    for (code, principal) in [
        ("principal-missing", "arn:aws:iam::111122223333:role/Gone"),
        ("mapping-shadowed", "arn:aws:iam::111122223333:role/Dev"),
        ("group-unbound", "testers"),
        ("binding-orphaned", "auditors"),
        ("unverifiable", "arn:aws:iam::444455556666:role/Deployer"),
        ("admins", ""),
    ] {
        assert!(
            found.contains(&(code.to_owned(), principal.to_owned())),
            "{code} {principal} not in {found:#?}"
        );
    }
    assert_eq!(
        v["summary"]["admins"],
        json!([
            "arn:aws:iam::111122223333:role/Admin",
            "arn:aws:iam::111122223333:role/Gone",
            ALICE
        ])
    );
    // Placed in the map: the data key and its line.
    let missing = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "principal-missing")
        .unwrap();
    assert_eq!(
        (&missing["key"], &missing["position"]["line"]),
        (&json!("mapRoles"), &json!(7))
    );
    assert!(
        missing["message"]
            .as_str()
            .unwrap()
            .contains("whoever creates a role of that name gets it")
    );
    // The table: by severity, each with its fix; the summary on stderr.
    let a = s
        .cmd()
        .args(["audit", "--cluster", CLUSTER])
        .assert()
        .code(1);
    let text = out(&a);
    assert!(text.starts_with("error[principal-missing] arn:aws:iam::111122223333:role/Gone (kube-system/aws-auth:data.mapRoles:7:3): IAM has no role named Gone"), "{text}");
    assert!(text.contains("  fix: remove the mapping"), "{text}");
    assert!(
        err(&a).contains("kube-system/aws-auth: 1 error(s)"),
        "{}",
        err(&a)
    );
}

#[test]
fn audit_offline_reads_a_gitops_checkout() {
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("aws-auth.yaml");
    std::fs::write(
        &map,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/Dev\n      username: dev\n      groups: [developers]\n    - rolearn: arn:aws:iam::111122223333:role/Admin\n      username: admin\n      groups: [system:masters]\n    - rolearn: arn:aws:iam::111122223333:role/Ops\n      username: ops\n      groups: [system:masters]\n",
    )
    .unwrap();
    let rbac = dir.path().join("rbac");
    std::fs::create_dir(&rbac).unwrap();
    std::fs::write(
        rbac.join("a.yaml"),
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: devs}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}\nsubjects: [{kind: Group, name: developers, apiGroup: rbac.authorization.k8s.io}]\n",
    )
    .unwrap();
    std::fs::write(rbac.join("notes.txt"), "not a manifest").unwrap();
    let run = |extra: &[&str]| {
        crate::aws_auth(dir.path())
            .current_dir(dir.path())
            .args(["--file", "aws-auth.yaml", "audit", "--rbac", "rbac"])
            .args(extra)
            .assert()
    };
    // Two admins, every group bound: warnings and infos only.
    let a = run(&["--authentication-mode", "CONFIG_MAP"]).success();
    assert!(
        err(&a).contains("aws-auth.yaml: 0 error(s), 0 warning(s)"),
        "{}",
        err(&a)
    );
    assert!(
        out(&a).contains("info[unverifiable]: IAM was not consulted"),
        "{}",
        out(&a)
    );
    let a = run(&["--authentication-mode", "CONFIG_MAP", "--strict"]).success();
    assert!(out(&a).contains("info[admins]"), "{}", out(&a));
    // An export of the entries: Dev's entry shadows its mapping (a warning:
    // exit 2 with --strict).
    std::fs::write(
        dir.path().join("entries.yaml"),
        "entries:\n  - principalArn: arn:aws:iam::111122223333:role/Dev\n    username: dev\n    kubernetesGroups: [developers]\n",
    )
    .unwrap();
    let a = run(&["--entries", "entries.yaml", "--strict", "-o", "json"]).code(2);
    let v = json_of(&a);
    assert_eq!(v["summary"]["authenticationMode"], "API_AND_CONFIG_MAP");
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "mapping-shadowed" && f["position"]["line"] == 8),
        "{v}"
    );
    // A broken RBAC file is named, with its document and line.
    std::fs::write(
        rbac.join("b.yaml"),
        "kind: RoleBinding\nmetadata: {name: x}\n",
    )
    .unwrap();
    let a = run(&[]).code(5);
    assert!(
        err(&a).contains("b.yaml: document 1 (line 1): a RoleBinding that is not one"),
        "{}",
        err(&a)
    );
}

#[test]
fn who_is_admin_decides_no_admin_and_single_admin() {
    // API mode: the map's admins count for nothing; the Admin entry alone
    // is cluster-admin (a warning), every mapping is shadowed.
    let s = cluster("API");
    let a = s
        .cmd()
        .args(["audit", "--cluster", CLUSTER, "-o", "json"])
        .assert();
    let v = json_of(&a);
    let codes: Vec<(String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_owned(),
                f["principal"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert!(
        codes.contains(&(
            "single-admin".to_owned(),
            "arn:aws:iam::111122223333:role/Admin".to_owned()
        )),
        "{codes:#?}"
    );
    assert!(
        codes.contains(&("mapping-shadowed".to_owned(), ALICE.to_owned())),
        "{codes:#?}"
    );
    assert_eq!(
        v["summary"]["admins"],
        json!(["arn:aws:iam::111122223333:role/Admin"])
    );
    // Offline, a map nobody can administer: an error, exit 1.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("aws-auth.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/Dev\n      username: dev\n      groups: [developers]\n",
    )
    .unwrap();
    let a = crate::aws_auth(dir.path())
        .current_dir(dir.path())
        .args(["--file", "aws-auth.yaml", "audit"])
        .assert()
        .code(1);
    assert!(out(&a).contains("error[no-admin]"), "{}", out(&a));
}

/// Issue 24: `fleet` is `status` of every context, a row each. Four
/// contexts behind one API server: an EKS cluster that answers, one that
/// hangs, one that refuses the credentials, and one that names no EKS
/// cluster (the map alone answers). Two error rows, the worst exit code
/// (credentials refused: 77), within --timeout; the rows of a command with
/// findings are the findings, each under its cluster.
#[test]
fn fleet_is_a_status_row_per_cluster_and_a_bad_one_is_its_error() {
    let s = cluster("API_AND_CONFIG_MAP");
    let hang = s.env.server.tenant("hang-token");
    hang.put("kube-system", "aws-auth", Some(&[("mapRoles", ROLES)]));
    for _ in 0..20 {
        hang.inject(
            hyper::Method::GET,
            crate::apiserver::Fault::Hang(std::time::Duration::from_secs(30)),
        );
    }
    let arn = format!("arn:aws:eks:eu-west-1:111122223333:cluster/{CLUSTER}");
    let mut k: Value =
        serde_json::from_str(&std::fs::read_to_string(&s.env.kubeconfig).unwrap()).unwrap();
    let users = json!([
        {"name": "good", "user": {"token": "t0ken-not-for-logs"}},
        {"name": "hang", "user": {"token": "hang-token"}},
        {"name": "wrong", "user": {"token": "not-the-right-one"}},
    ]);
    k["users"] = users;
    k["contexts"] = json!([
        {"name": arn, "context": {"cluster": "test", "user": "good"}},
        {"name": "arn:aws:eks:eu-west-1:111122223333:cluster/hung", "context": {"cluster": "test", "user": "hang"}},
        {"name": "refused", "context": {"cluster": "test", "user": "wrong"}},
        {"name": "kind-dev", "context": {"cluster": "test", "user": "good"}},
    ]);
    k["current-context"] = "kind-dev".into();
    std::fs::write(&s.env.kubeconfig, k.to_string()).unwrap();
    let run = |args: &[&str]| {
        let mut cmd = s.cmd();
        cmd.args(["--request-timeout", "1", "--timeout", "3"])
            .args(args);
        cmd
    };
    let started = std::time::Instant::now();
    let a = run(&["fleet", "-o", "json"]).assert().code(77);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    let v = json_of(&a);
    let c = &v["contexts"];
    assert_eq!(c.as_object().unwrap().len(), 4, "{v}");
    let good = &c[&arn];
    assert_eq!(good["exitCode"], 1, "{v}");
    let r = &good["result"];
    assert_eq!(r["cluster"], CLUSTER);
    assert_eq!(r["authenticationMode"], "API_AND_CONFIG_MAP");
    assert_eq!(
        r["map"],
        json!({"errors": 0, "warnings": 0, "mappings": 7, "roles": 4, "users": 2, "accounts": 1})
    );
    assert_eq!(r["entries"], 2);
    // Gone is mapped but no longer in IAM.
    assert_eq!(
        (r["auditErrors"].clone(), r["admins"].clone()),
        (json!(1), json!(3)),
        "{v}"
    );
    // What cannot move and the drift are what `migrate plan` and `migrate
    // verify` of the same cluster say.
    let plan = json_of(
        &s.cmd()
            .args(["migrate", "plan", "--cluster", CLUSTER, "-o", "json"])
            .assert(),
    );
    let verify = json_of(
        &s.cmd()
            .args(["migrate", "verify", "--cluster", CLUSTER, "-o", "json"])
            .assert(),
    );
    assert_eq!(r["readiness"], "blocked", "{v}");
    assert_eq!(
        r["blocked"],
        plan["blocked"].as_array().unwrap().len(),
        "{plan}"
    );
    assert_eq!(
        r["drift"],
        verify["drift"].as_array().unwrap().len(),
        "{verify}"
    );
    assert!(r["drift"].as_u64().unwrap() > 0, "{v}");
    assert!(
        good["notes"][0]
            .as_str()
            .unwrap()
            .starts_with("aws-auth: cluster prod (from"),
        "{v}"
    );
    // No EKS cluster behind the context: the map alone, the rest unknown.
    let dev = &c["kind-dev"]["result"];
    assert_eq!(
        (
            dev["authenticationMode"].clone(),
            dev["entries"].clone(),
            dev["readiness"].clone()
        ),
        (Value::Null, Value::Null, json!("unknown")),
        "{v}"
    );
    assert_eq!(dev["map"]["mappings"], 7);
    assert_eq!(
        c["arn:aws:eks:eu-west-1:111122223333:cluster/hung"]["exitCode"], 69,
        "{v}"
    );
    assert_eq!(c["refused"]["exitCode"], 77, "{v}");
    assert!(
        c["refused"]["error"].as_str().unwrap().contains("(401)"),
        "{v}"
    );
    assert!(!out(&a).contains("not-the-right-one") && !err(&a).contains("not-the-right-one"));

    // One cluster's status, as text, with the next step.
    let a = run(&["--context", &arn, "status"]).assert().code(1);
    let text = out(&a);
    for line in [
        "cluster: prod (authentication mode API_AND_CONFIG_MAP)\n",
        "map: 7 mapping(s) (4 role(s), 2 user(s), 1 account(s)); lint: 0 error(s), 0 warning(s)\n",
        "access entries: 2\n",
        "audit: 1 error(s), 2 warning(s); cluster-admin: 3 principal(s)\n",
        "migration: blocked (3 blocked, 6 to move or fix)\n",
        "next: aws-auth migrate plan (says what cannot move, and why)\n",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    // Offline: the mode given, role paths as written.
    let file = s.env.home.path().join("offline.yaml");
    std::fs::write(
        &file,
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapUsers: |\n{}", USERS.lines().map(|l| format!("    {l}\n")).collect::<String>()),
    )
    .unwrap();
    let a = s
        .cmd()
        .args([
            "--file",
            file.to_str().unwrap(),
            "status",
            "--authentication-mode",
            "CONFIG_MAP",
            "-o",
            "json",
        ])
        .assert()
        .success();
    let v = json_of(&a);
    assert_eq!(
        (
            v["readiness"].clone(),
            v["map"]["users"].clone(),
            v["blocked"].clone(),
            v["drift"].clone()
        ),
        (json!("not-started"), json!(2), json!(0), json!(3)),
        "{v}"
    );

    // The table: a row per cluster, errors below it.
    let a = run(&["fleet"]).assert().code(77);
    let table = out(&a);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("CONTEXT") && lines[0].contains("MIGRATION"),
        "{table}"
    );
    let row = |ctx: &str| {
        lines
            .iter()
            .find(|l| l.starts_with(&format!("{ctx} ")))
            .unwrap_or_else(|| panic!("{ctx}: {table}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        row(&arn)[1..],
        [
            "API_AND_CONFIG_MAP",
            "0/0",
            "7",
            "2",
            "1/2",
            "3",
            "blocked",
            "3",
            "6"
        ],
        "{table}"
    );
    assert_eq!(row("refused")[1..], ["error", "(below)"], "{table}");
    assert!(
        table.contains("\nrefused: error: the API server refused access"),
        "{table}"
    );
    assert!(
        err(&a).contains("4 cluster(s): 1 fine, 1 with findings, 2 could not be read"),
        "{}",
        err(&a)
    );

    // A command with findings: a row per finding, under its cluster.
    let a = run(&["--contexts", &format!("{arn},kind-dev"), "audit"])
        .assert()
        .code(1);
    let table = out(&a);
    assert!(
        table.starts_with("CONTEXT") && table.contains("SEVERITY"),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with(&arn) && l.contains("principal-missing")),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("kind-dev ") && l.contains("group-unbound")),
        "{table}"
    );
    assert!(
        !table
            .lines()
            .any(|l| l.starts_with("kind-dev ") && l.contains("principal-missing"))
    );

    // `check --live` asks whether one manifest would go through on each
    // cluster; without --live it is refused before anything is read.
    let new = s.env.home.path().join("new.yaml");
    std::fs::write(
        &new,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/Dev\n      username: dev:{{SessionName}}\n      groups: [developers]\n",
    )
    .unwrap();
    let new = new.to_str().unwrap();
    let a = run(&[
        "--contexts",
        &format!("{arn},kind-dev"),
        "check",
        new,
        "--live",
        "-o",
        "json",
    ])
    .assert()
    .code(4);
    let v = json_of(&a);
    for ctx in [arn.as_str(), "kind-dev"] {
        let r = &v["contexts"][ctx];
        assert_eq!(
            (r["exitCode"].clone(), r["result"]["allowed"].clone()),
            (json!(4), json!(false)),
            "{v}"
        );
        // The node role would be dropped: a lockout of every node.
        assert!(
            r["result"]["reasons"]
                .to_string()
                .contains("NodeInstanceRole"),
            "{v}"
        );
    }
    let a = run(&["--contexts", "kind-dev", "check", new, "--base", new])
        .assert()
        .code(64);
    assert!(err(&a).contains("give --live"), "{}", err(&a));
    // explain and migrate verify over two contexts: each its answer; the
    // context that names no EKS cluster still explains from its map, and
    // cannot be verified (a usage error, its row's), which is the worst.
    let both = format!("{arn},kind-dev");
    let a = run(&["--contexts", &both, "explain", DEV_SESSION, "-o", "json"])
        .assert()
        .success();
    let v = json_of(&a);
    assert_eq!(
        v["contexts"][&arn]["result"]["source"], "accessEntry",
        "{v}"
    );
    assert_eq!(
        v["contexts"]["kind-dev"]["result"]["source"], "configMap",
        "{v}"
    );
    let a = run(&["--contexts", &both, "migrate", "verify", "-o", "json"])
        .assert()
        .code(64);
    let v = json_of(&a);
    assert_eq!(v["contexts"][&arn]["exitCode"], 1, "{v}");
    assert_eq!(v["contexts"][&arn]["result"], verify, "{v}");
    assert_eq!(v["contexts"]["kind-dev"]["exitCode"], 64, "{v}");
    let a = run(&["--contexts", &both, "--parallel", "0", "fleet"])
        .assert()
        .code(64);
    assert!(err(&a).contains("--parallel"), "{}", err(&a));

    // A file is one map, and a pattern that matches nothing is a usage
    // error: nothing is read.
    let a = run(&["--file", new, "fleet"]).assert().code(64);
    assert!(err(&a).contains("--file"), "{}", err(&a));
    let a = run(&["--context-pattern", "staging-*", "fleet"])
        .assert()
        .code(64);
    assert!(
        err(&a).contains("no kubeconfig context matches"),
        "{}",
        err(&a)
    );
}
