//! The migrator end to end: the real binary, the real aws-sdk-eks, -iam and
//! -sts clients against the local AWS, and the real kube client reading the
//! map from the local API server.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::{Value, json};

use crate::aws::{ACCOUNT, ADMIN_POLICY, Aws, Entry};
use crate::cluster::Env;

pub(crate) const CLUSTER: &str = "prod";

/// A realistic map: nodes, Windows nodes, Fargate, an SSO admin whose role
/// has a path in IAM, a team role, a user, and what cannot move.
const ROLES: &str = "\
- rolearn: arn:aws:iam::111122223333:role/NodeInstanceRole
  username: system:node:{{EC2PrivateDNSName}}
  groups:
    - system:bootstrappers
    - system:nodes
- rolearn: arn:aws:iam::111122223333:role/WindowsNodeRole
  username: system:node:{{EC2PrivateDNSName}}
  groups:
    - system:bootstrappers
    - system:nodes
    - eks:kube-proxy-windows
- rolearn: arn:aws:iam::111122223333:role/FargatePodExecutionRole
  username: system:node:{{SessionName}}
  groups:
    - system:bootstrappers
    - system:nodes
    - system:node-proxier
- rolearn: arn:aws:iam::111122223333:role/AWSReservedSSO_AdministratorAccess_0123456789abcdef
  username: admin:{{SessionName}}
  groups:
    - system:masters
    - auditors
- rolearn: arn:aws:iam::111122223333:role/Developers
  username: old
  groups:
    - readers
- rolearn: arn:aws:iam::111122223333:role/Developers
  username: dev:{{SessionName}}
  groups:
    - developers
- rolearn: arn:aws:iam::444455556666:role/Deployer
  username: deployer
  groups:
    - deployers
- rolearn: arn:aws:iam::111122223333:role/Monitoring
  username: monitoring
  groups:
    - system:monitoring
";

const USERS: &str = "\
- userarn: arn:aws:iam::111122223333:user/alice
  username: alice
  groups:
    - system:masters
- userarn: arn:aws:iam::111122223333:user/bob
  username: eks:bob
";

const SSO_FULL: &str = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_AdministratorAccess_0123456789abcdef";

pub(crate) struct Setup {
    pub(crate) aws: Aws,
    pub(crate) env: Env,
}

impl Setup {
    pub(crate) fn new(mode: &str) -> Setup {
        Setup::with_map(mode, ROLES, USERS)
    }

    pub(crate) fn with_map(mode: &str, roles: &str, users: &str) -> Setup {
        let env = Env::new();
        env.server.put(
            "kube-system",
            "aws-auth",
            Some(&[
                ("mapRoles", roles),
                ("mapUsers", users),
                ("mapAccounts", "- \"012345678901\"\n"),
            ]),
        );
        let aws = Aws::start("arn:aws:sts::111122223333:assumed-role/Admin/alice@example.com");
        aws.cluster(CLUSTER, mode, &env.server.url());
        for name in [
            "NodeInstanceRole",
            "WindowsNodeRole",
            "FargatePodExecutionRole",
            "Developers",
            "Monitoring",
        ] {
            aws.role("/", name);
        }
        aws.role(
            "/aws-reserved/sso.amazonaws.com/eu-west-1/",
            "AWSReservedSSO_AdministratorAccess_0123456789abcdef",
        );
        // A same-named role in our own account must never stand in for the
        // other account's Deployer.
        aws.role("/", "Deployer");
        aws.user("alice");
        aws.user("bob");
        Setup { aws, env }
    }

    /// The AWS settings of every command: test keys, a region, the local
    /// endpoint for EKS, IAM and STS.
    fn aws_vars(&self) -> [(&'static str, String); 6] {
        [
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE".to_owned()),
            (
                "AWS_SECRET_ACCESS_KEY",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_owned(),
            ),
            ("AWS_REGION", "eu-west-1".to_owned()),
            ("AWS_ENDPOINT_URL_EKS", self.aws.url()),
            ("AWS_ENDPOINT_URL_IAM", self.aws.url()),
            ("AWS_ENDPOINT_URL_STS", self.aws.url()),
        ]
    }

    pub(crate) fn cmd(&self) -> Command {
        let mut cmd = self.env.cmd();
        cmd.envs(self.aws_vars());
        cmd
    }

    fn migrate(&self, args: &[&str]) -> Command {
        let mut cmd = self.cmd();
        cmd.arg("migrate")
            .args(args)
            .args(["--cluster", CLUSTER, "--poll-interval", "0.05"]);
        cmd
    }

    pub(crate) fn entries(&self) -> BTreeMap<String, Entry> {
        self.aws.snapshot(CLUSTER).entries
    }

    /// Runs the binary with `args` until EKS has answered `k` more calls,
    /// then kills it hard (no Ctrl-C handling): the crash a re-run must
    /// recover from. The hang is lifted for what follows.
    pub(crate) fn kill_after_calls(&self, k: usize, args: &[&str]) {
        let bin = assert_cmd::cargo::cargo_bin("aws-auth");
        let home = self.env.home.path();
        let base = self.aws.eks_calls();
        self.aws.hang_after(Some(k));
        let mut child = std::process::Command::new(&bin)
            .env_clear()
            .env("HOME", home)
            .env("KUBECONFIG", &self.env.kubeconfig)
            .env("XDG_STATE_HOME", home.join("state"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", home.join("none"))
            .env("AWS_SHARED_CREDENTIALS_FILE", home.join("none"))
            .envs(self.aws_vars())
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.aws.eks_calls() <= base + k && child.try_wait().unwrap().is_none() {
            assert!(
                Instant::now() < deadline,
                "{args:?}: never reached call {k}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        // Let a call that was answered finish landing, then kill it hard.
        std::thread::sleep(Duration::from_millis(50));
        let _ = child.kill();
        let _ = child.wait();
        self.aws.hang_after(None);
    }
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(a.get_output().stdout.clone()).unwrap()
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(a.get_output().stderr.clone()).unwrap()
}

fn entry(kind: &str, username: &str, groups: &[&str], policies: &[&str]) -> Entry {
    Entry {
        kind: kind.into(),
        username: username.into(),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        policies: policies
            .iter()
            .map(|p| {
                (
                    (*p).to_owned(),
                    json!({"type": "cluster", "namespaces": []}),
                )
            })
            .collect(),
    }
}

/// The entries the usual map must produce, exactly (MIGRATION.md, "What each mapping becomes").
fn expected() -> BTreeMap<String, Entry> {
    let r = |n: &str| format!("arn:aws:iam::{ACCOUNT}:role/{n}");
    BTreeMap::from([
        (
            r("NodeInstanceRole"),
            entry("EC2_LINUX", "system:node:{{EC2PrivateDNSName}}", &[], &[]),
        ),
        (
            r("WindowsNodeRole"),
            entry("EC2_WINDOWS", "system:node:{{EC2PrivateDNSName}}", &[], &[]),
        ),
        (
            r("FargatePodExecutionRole"),
            entry("FARGATE_LINUX", "system:node:{{SessionName}}", &[], &[]),
        ),
        (
            SSO_FULL.to_owned(),
            entry(
                "STANDARD",
                "admin:{{SessionName}}",
                &["auditors"],
                &[ADMIN_POLICY],
            ),
        ),
        (
            r("Developers"),
            entry("STANDARD", "dev:{{SessionName}}", &["developers"], &[]),
        ),
        (
            format!("arn:aws:iam::{ACCOUNT}:user/alice"),
            entry("STANDARD", "alice", &[], &[ADMIN_POLICY]),
        ),
    ])
}

#[test]
fn apply_creates_exactly_what_the_map_grants() {
    let s = Setup::new("API_AND_CONFIG_MAP");
    let a = s.migrate(&["apply"]).assert().success();
    let out = stdout(&a);
    assert_eq!(s.entries(), expected(), "{out}");
    // What cannot move is listed with the reason, and nothing was guessed.
    for needle in [
        "arn:aws:iam::444455556666:role/Deployer (line 31): the role's IAM path is unknown: the role is in account 444455556666",
        "system:monitoring start with system:",
        "\"eks:bob\" starts with eks:",
        "mapAccounts 012345678901",
        "8 done, 0 already there",
    ] {
        assert!(out.contains(needle), "{needle:?} missing:\n{out}");
    }
    // Re-running finds everything in place and calls no write.
    s.aws.clear_calls();
    let a = s.migrate(&["apply"]).assert().success();
    assert!(
        stdout(&a).contains("0 done, 0 already there, 8 unchanged"),
        "{}",
        stdout(&a)
    );
    let writes: Vec<_> = s
        .aws
        .calls()
        .into_iter()
        .filter(|c| c.op.starts_with("Create") || c.op.starts_with("Associate"))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
    s.migrate(&["verify"]).assert().success();
}

#[test]
fn plan_json_has_the_documented_shape() {
    let s = Setup::new("API_AND_CONFIG_MAP");
    let a = s.migrate(&["plan", "-o", "json"]).assert().success();
    let v: Value = serde_json::from_str(&stdout(&a)).unwrap();
    assert_eq!(v["cluster"], CLUSTER);
    assert_eq!(v["authenticationMode"], "API_AND_CONFIG_MAP");
    let admin = v["actions"]
        .as_array()
        .unwrap()
        .iter()
        .position(|a| a["principalArn"] == SSO_FULL)
        .unwrap();
    assert_eq!(
        v["actions"][admin],
        json!({"op": "create-access-entry", "principalArn": SSO_FULL, "type": "STANDARD", "username": "admin:{{SessionName}}", "kubernetesGroups": ["auditors"]})
    );
    assert_eq!(
        v["actions"][admin + 1],
        json!({"op": "associate-access-policy", "principalArn": SSO_FULL, "policyArn": ADMIN_POLICY, "accessScope": {"type": "cluster"}})
    );
    assert_eq!(
        v["blocked"].as_array().unwrap().len(),
        4,
        "{}",
        v["blocked"]
    );
    assert!(
        v["blocked"][0].get("key").is_some()
            && v["blocked"][0].get("arn").is_some()
            && v["blocked"][0].get("reason").is_some()
    );
    // Nothing was written by a plan.
    assert!(s.entries().is_empty());
}

#[test]
fn offline_plans_call_no_aws_and_mark_paths_unverified() {
    let s = Setup::new("API_AND_CONFIG_MAP");
    let file = s.env.home.path().join("aws-auth.yaml");
    std::fs::write(
        &file,
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapRoles: |\n{}", ROLES.lines().map(|l| format!("    {l}\n")).collect::<String>()),
    )
    .unwrap();
    let a = s
        .cmd()
        .args(["migrate", "plan", "-o", "json", "--file"])
        .arg(&file)
        .assert()
        .success();
    let v: Value = serde_json::from_str(&stdout(&a)).unwrap();
    assert!(v["authenticationMode"].is_null());
    let node = &v["actions"][0];
    assert_eq!(node["type"], "EC2_LINUX");
    assert_eq!(node["pathVerified"], false);
    assert!(s.aws.calls().is_empty(), "{:?}", s.aws.calls());
    assert!(s.env.server.seen().is_empty());
}

#[test]
fn config_map_clusters_are_refused_until_asked_to_switch() {
    let s = Setup::new("CONFIG_MAP");
    let a = s.migrate(&["apply"]).assert().code(4);
    let err = stderr(&a);
    assert!(
        err.contains("one way") && err.contains("--enable-api-mode"),
        "{err}"
    );
    assert_eq!(s.aws.snapshot(CLUSTER).mode, "CONFIG_MAP");
    // EKS adds entries of its own when leaving CONFIG_MAP (a managed node
    // group's role here): the plan made after the switch counts them.
    s.aws.with_cluster(CLUSTER, |c| {
        c.on_leaving_config_map.push((
            format!("arn:aws:iam::{ACCOUNT}:role/NodeInstanceRole"),
            entry("EC2_LINUX", "system:node:{{EC2PrivateDNSName}}", &[], &[]),
        ));
    });
    s.aws.set_polls_per_update(3);
    let a = s
        .migrate(&["apply", "--enable-api-mode"])
        .assert()
        .success();
    let out = stdout(&a);
    assert!(
        out.contains("switched cluster prod to authentication mode API_AND_CONFIG_MAP"),
        "{out}"
    );
    assert!(out.contains("7 done"), "{out}");
    assert_eq!(s.aws.snapshot(CLUSTER).mode, "API_AND_CONFIG_MAP");
    assert_eq!(s.entries(), expected());
    let polls = s
        .aws
        .calls()
        .iter()
        .filter(|c| c.op == "DescribeUpdate")
        .count();
    assert!(polls >= 4, "{polls} polls");
}

#[test]
fn a_concurrent_or_failed_update_is_reported_clearly() {
    let s = Setup::new("CONFIG_MAP");
    s.aws
        .fail("UpdateClusterConfig", &[(409, "ResourceInUseException")]);
    let a = s.migrate(&["apply", "--enable-api-mode"]).assert().code(6);
    assert!(
        stderr(&a).contains("another update is in progress"),
        "{}",
        stderr(&a)
    );
    s.aws.fail_next_update();
    let a = s.migrate(&["apply", "--enable-api-mode"]).assert().code(69);
    assert!(
        stderr(&a).contains("the switch of cluster prod to API_AND_CONFIG_MAP failed"),
        "{}",
        stderr(&a)
    );
    assert_eq!(s.aws.snapshot(CLUSTER).mode, "CONFIG_MAP");
    assert!(s.entries().is_empty());
}

#[test]
fn existing_entries_beyond_the_first_page_are_seen() {
    let s = Setup::new("API_AND_CONFIG_MAP");
    s.aws.with_cluster(CLUSTER, |c| {
        for i in 0..250 {
            c.entries.insert(
                format!("arn:aws:iam::{ACCOUNT}:role/a-{i:03}"),
                entry("STANDARD", "x", &[], &[]),
            );
        }
        // Sorted after the 250 above: on the third page.
        c.entries.insert(
            format!("arn:aws:iam::{ACCOUNT}:user/alice"),
            entry("STANDARD", "alice", &[], &[ADMIN_POLICY]),
        );
    });
    let a = s.migrate(&["apply"]).assert().success();
    assert!(
        stdout(&a).contains("6 done, 0 already there, 2 unchanged"),
        "{}",
        stdout(&a)
    );
    let calls = s.aws.calls();
    assert_eq!(
        calls.iter().filter(|c| c.op == "ListAccessEntries").count(),
        3
    );
    assert!(
        !calls.iter().any(|c| c.status == 409),
        "no create met an existing entry"
    );
    assert_eq!(s.entries().len(), 250 + 6);
}

#[test]
fn conflicts_are_reported_and_left_alone_unless_asked() {
    let s = Setup::new("API_AND_CONFIG_MAP");
    let dev = format!("arn:aws:iam::{ACCOUNT}:role/Developers");
    s.aws.with_cluster(CLUSTER, |c| {
        c.entries.insert(
            dev.clone(),
            entry(
                "STANDARD",
                "someone:{{SessionName}}",
                &["developers", "extra"],
                &[],
            ),
        );
    });
    let a = s.migrate(&["apply"]).assert().code(1);
    let out = stdout(&a);
    assert!(out.contains("conflict, left alone: arn:aws:iam::111122223333:role/Developers: the username is someone:{{SessionName}}, the map says dev:{{SessionName}}; the groups are [developers, extra], the map says [developers]"), "{out}");
    assert_eq!(s.entries()[&dev].username, "someone:{{SessionName}}");
    s.migrate(&["verify"]).assert().code(1);
    s.migrate(&["apply", "--update-existing"])
        .assert()
        .success();
    assert_eq!(s.entries(), expected());
    s.migrate(&["verify"]).assert().success();
}

#[test]
fn a_create_that_meets_an_entry_looks_before_it_calls_it_a_conflict() {
    let s = Setup::new("API_AND_CONFIG_MAP");
    let alice = format!("arn:aws:iam::{ACCOUNT}:user/alice");
    let dev = format!("arn:aws:iam::{ACCOUNT}:role/Developers");
    // Right after apply lists the entries, someone creates alice's entry as
    // the map wants it and the Developers entry differently.
    let (a2, d2) = (alice.clone(), dev.clone());
    s.aws.after_next("ListAccessEntries", move |clusters| {
        let c = clusters.get_mut(CLUSTER).unwrap();
        c.entries.insert(a2, entry("STANDARD", "alice", &[], &[]));
        c.entries
            .insert(d2, entry("STANDARD", "other", &["x"], &[]));
    });
    let a = s.migrate(&["apply", "-o", "json"]).assert().code(1);
    let v: Value = serde_json::from_str(&stdout(&a)).unwrap();
    let result = |p: &str| {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["principalArn"] == p && r["op"] == "create-access-entry")
            .cloned()
            .unwrap()
    };
    assert_eq!(result(&alice)["status"], "already-present", "{v:#}");
    assert_eq!(result(&dev)["status"], "conflict", "{v:#}");
    assert!(
        result(&dev)["detail"]
            .as_str()
            .unwrap()
            .contains("the username is other"),
        "{v:#}"
    );
    assert_eq!(v["summary"]["conflicts"], 1);
    assert_eq!(s.entries()[&dev].username, "other");
    // alice's policy was still associated once her entry was found in place.
    assert!(s.entries()[&alice].policies.contains_key(ADMIN_POLICY));
}

#[test]
fn throttling_and_server_errors_are_retried() {
    let s = Setup::new("API_AND_CONFIG_MAP");
    s.aws.fail(
        "CreateAccessEntry",
        &[
            (429, "ThrottlingException"),
            (429, "TooManyRequestsException"),
            (500, "ServerException"),
            (503, "ServiceUnavailableException"),
        ],
    );
    s.aws
        .fail("AssociateAccessPolicy", &[(429, "ThrottlingException")]);
    s.migrate(&["apply"]).assert().success();
    assert_eq!(s.entries(), expected());
}

#[test]
fn an_interrupted_apply_converges_when_run_again() {
    let reference = {
        let s = Setup::new("API_AND_CONFIG_MAP");
        s.migrate(&["apply"]).assert().success();
        s.entries()
    };
    for k in [1, 2, 3, 5, 8, 11, 14, 17] {
        let s = Setup::new("API_AND_CONFIG_MAP");
        s.kill_after_calls(k, &["migrate", "apply", "--cluster", CLUSTER]);
        s.aws.clear_calls();
        s.migrate(&["apply"]).assert().success();
        assert_eq!(s.entries(), reference, "k={k}");
        let duplicates: Vec<_> = s
            .aws
            .calls()
            .into_iter()
            .filter(|c| c.status == 409)
            .collect();
        assert!(duplicates.is_empty(), "k={k}: {duplicates:?}");
    }
}

#[test]
fn verify_reports_drift_with_exit_1() {
    let s = Setup::new("API_AND_CONFIG_MAP");
    s.migrate(&["apply"]).assert().success();
    s.migrate(&["verify"]).assert().success();
    s.aws.with_cluster(CLUSTER, |c| {
        c.entries
            .remove(&format!("arn:aws:iam::{ACCOUNT}:role/Developers"));
        c.entries.get_mut(SSO_FULL).unwrap().policies.clear();
    });
    let a = s.migrate(&["verify", "-o", "json"]).assert().code(1);
    let v: Value = serde_json::from_str(&stdout(&a)).unwrap();
    assert_eq!(v["inSync"], false);
    let problems: Vec<String> = v["drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            format!(
                "{} {}",
                d["principalArn"].as_str().unwrap(),
                d["problem"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        problems,
        [
            format!("{SSO_FULL} AmazonEKSClusterAdminPolicy (cluster scope) is not associated"),
            format!("arn:aws:iam::{ACCOUNT}:role/Developers no access entry (want STANDARD)"),
        ]
    );
}

#[test]
fn finalize_switches_only_when_nothing_would_lose_access() {
    let s = Setup::new("API_AND_CONFIG_MAP");
    s.migrate(&["apply"]).assert().success();
    // The usual map has mappings that cannot move: refused, with the list.
    let a = s.migrate(&["finalize", "--yes"]).assert().code(4);
    let err = stderr(&a);
    assert!(
        err.contains("4 mapping(s) cannot migrate")
            && err.contains("arn:aws:iam::444455556666:role/Deployer"),
        "{err}"
    );
    assert_eq!(s.aws.snapshot(CLUSTER).mode, "API_AND_CONFIG_MAP");
    // Off a terminal the one-way switch needs --yes.
    let a = s.migrate(&["finalize", "--force"]).assert().code(4);
    assert!(stderr(&a).contains("give --yes"), "{}", stderr(&a));
    // --force switches anyway, loudly.
    let a = s
        .migrate(&["finalize", "--force", "--yes"])
        .assert()
        .success();
    assert!(
        stderr(&a).contains("WARNING: switching cluster prod to API although"),
        "{}",
        stderr(&a)
    );
    assert_eq!(s.aws.snapshot(CLUSTER).mode, "API");
    assert!(s.env.server.object("kube-system", "aws-auth").is_some());
}

#[test]
fn finalize_of_a_clean_map_deletes_the_config_map_after_a_backup() {
    let roles = "- rolearn: arn:aws:iam::111122223333:role/NodeInstanceRole\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:bootstrappers, system:nodes]\n";
    let s = Setup::with_map("API_AND_CONFIG_MAP", roles, "");
    s.env
        .server
        .with_store(|st| st.set_data("kube-system", "aws-auth", "mapAccounts", ""));
    s.migrate(&["finalize", "--yes"]).assert().code(4); // not applied yet
    s.migrate(&["apply"]).assert().success();
    let before = s.env.server.object("kube-system", "aws-auth").unwrap();
    let a = s
        .migrate(&["finalize", "--yes", "--delete-configmap"])
        .assert()
        .success();
    assert!(
        stdout(&a).contains("now uses authentication mode API"),
        "{}",
        stdout(&a)
    );
    assert!(
        stdout(&a).contains("deleted kube-system/aws-auth (backup: "),
        "{}",
        stdout(&a)
    );
    assert_eq!(s.aws.snapshot(CLUSTER).mode, "API");
    assert!(s.env.server.object("kube-system", "aws-auth").is_none());
    let backups = s.env.backups();
    assert_eq!(backups.len(), 1);
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&backups[0]).unwrap()).unwrap();
    assert_eq!(saved, before);
    let delete = s
        .env
        .server
        .seen()
        .into_iter()
        .find(|r| r.method == "DELETE")
        .unwrap();
    assert!(
        delete.body.contains("\"resourceVersion\""),
        "{}",
        delete.body
    );
    // Annotated just before, so that an admission webhook lets the delete
    // through, with the reason for its audit log.
    let seen = s.env.server.seen();
    let at = seen.iter().position(|r| r.method == "DELETE").unwrap();
    let annotate = &seen[at - 1];
    assert_eq!(annotate.method, "PATCH");
    let patch: Value = serde_json::from_str(&annotate.body).unwrap();
    let reason = patch["metadata"]["annotations"]["aws-auth/allow-change"]
        .as_str()
        .unwrap();
    assert!(
        reason.starts_with("deleted by aws-auth migrate finalize"),
        "{reason}"
    );
    // With an expiry the webhook honours for a delete: soon, not later.
    let until = aws_auth_core::admission::override_expiry(reason).expect(reason);
    let now = std::time::SystemTime::now();
    assert!(
        until > now && until <= now + aws_auth_core::admission::DELETE_OVERRIDE_MAX,
        "{reason}"
    );
}

#[test]
fn roles_iam_does_not_know_are_blocked_and_the_rest_goes_on() {
    let roles = "\
- rolearn: arn:aws:iam::111122223333:role/Ghost
  username: ghost
- rolearn: arn:aws:iam::111122223333:role/Developers
  username: dev
- rolearn: arn:aws:iam::444455556666:role/Deployer
  username: deployer
";
    let s = Setup::with_map("API_AND_CONFIG_MAP", roles, "");
    s.env
        .server
        .with_store(|st| st.set_data("kube-system", "aws-auth", "mapAccounts", ""));
    let map = s.env.home.path().join("roles.txt");
    std::fs::write(
        &map,
        "# the deployer role of the tools account\narn:aws:iam::444455556666:role/ci/Deployer\n",
    )
    .unwrap();
    let map = map.display().to_string();
    let a = s
        .migrate(&["apply", "--role-arn-map", &map])
        .assert()
        .success();
    let out = stdout(&a);
    assert!(
        out.contains("IAM has no role named Ghost in account 111122223333"),
        "{out}"
    );
    let entries = s.entries();
    assert!(entries.contains_key("arn:aws:iam::111122223333:role/Developers"));
    assert!(entries.contains_key("arn:aws:iam::444455556666:role/ci/Deployer"));
    assert!(!entries.contains_key("arn:aws:iam::111122223333:role/Deployer"));
}

#[test]
fn a_kubeconfig_context_of_another_cluster_is_refused() {
    let s = Setup::new("API_AND_CONFIG_MAP");
    s.aws.with_cluster(CLUSTER, |c| {
        c.endpoint = "https://ABCDEF.gr7.eu-west-1.eks.amazonaws.com".into()
    });
    let a = s.migrate(&["plan"]).assert().code(78);
    assert!(
        stderr(&a).contains("but the API of cluster prod is at https://ABCDEF"),
        "{}",
        stderr(&a)
    );
}

#[test]
fn aws_errors_are_one_sentence_with_their_code() {
    let s = Setup::new("API_AND_CONFIG_MAP");
    let a = s
        .cmd()
        .args(["migrate", "plan", "--cluster", "nope"])
        .assert()
        .code(3);
    assert!(
        stderr(&a)
            .contains("cluster nope: ResourceNotFoundException: No cluster found for name: nope."),
        "{}",
        stderr(&a)
    );
    s.aws
        .fail("DescribeCluster", &[(403, "AccessDeniedException")]);
    let a = s.migrate(&["plan"]).assert().code(77);
    assert_eq!(stderr(&a).lines().count(), 1, "{}", stderr(&a));
    // Issue 13.8: AWS refusing a call this tool chose to make is the
    // service failing (69), never "invalid input" (5).
    s.aws
        .fail("DescribeCluster", &[(400, "InvalidParameterException")]);
    let a = s.migrate(&["plan"]).assert().code(69);
    assert!(
        stderr(&a).contains("InvalidParameterException"),
        "{}",
        stderr(&a)
    );
}

#[test]
fn a_throttled_migration_finishes_without_failures() {
    let users: String = (0..60)
        .map(|i| format!("- userarn: arn:aws:iam::111122223333:user/u{i:02}\n  username: u{i:02}\n  groups: [devs]\n"))
        .collect();
    let s = Setup::with_map("API_AND_CONFIG_MAP", "", &users);
    s.env
        .server
        .with_store(|st| st.set_data("kube-system", "aws-auth", "mapAccounts", ""));
    for i in 0..60 {
        s.aws.user(&format!("u{i:02}"));
    }
    s.aws.set_latency(Duration::from_millis(10));
    s.aws.set_throttle(40.0, 5.0);
    let a = s.migrate(&["apply"]).assert().success();
    assert!(
        stdout(&a).contains("60 done, 0 already there, 0 unchanged, 0 conflicts, 0 failed"),
        "{}",
        stdout(&a)
    );
    assert_eq!(s.entries().len(), 60);
    let throttled = s.aws.calls().iter().filter(|c| c.status == 429).count();
    assert!(
        throttled > 0,
        "the throttle never bit: the test proves nothing"
    );
}

/// `--profile` and `AWS_PROFILE` pick the shared config's profile (its keys
/// and region), `--region` wins over it, and the one `AWS_ENDPOINT_URL`
/// serves every service when no service-specific one is set.
#[test]
fn aws_profile_region_and_endpoint_conventions_are_honoured() {
    let s = Setup::new("API_AND_CONFIG_MAP");
    let dir = s.env.home.path();
    std::fs::write(
        dir.join("aws-config"),
        "[default]\nregion = eu-west-1\n\n[profile ops]\nregion = us-west-2\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("aws-credentials"),
        "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = d\n\n[ops]\naws_access_key_id = AKIDOPS\naws_secret_access_key = o\n",
    )
    .unwrap();
    let run = |env: &[(&str, &str)], args: &[&str]| {
        s.aws.clear_calls();
        let before = s.aws.scopes().len();
        let mut cmd = s.env.cmd();
        cmd.env("AWS_CONFIG_FILE", dir.join("aws-config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("aws-credentials"))
            .env("AWS_ENDPOINT_URL", s.aws.url());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let a = cmd
            .args(["migrate", "plan", "--cluster", CLUSTER])
            .args(args)
            .assert();
        let scopes = s.aws.scopes()[before..].to_vec();
        (a, scopes)
    };
    let services = |scopes: &[String]| {
        let mut v: Vec<String> = scopes
            .iter()
            .map(|c| c.rsplit('/').next().unwrap().to_owned())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let eks_regions = |scopes: &[String]| {
        let mut v: Vec<String> = scopes
            .iter()
            .filter(|c| c.ends_with("/eks"))
            .map(|c| c.split('/').nth(1).unwrap().to_owned())
            .collect();
        v.dedup();
        v
    };

    // The default profile; one endpoint for EKS, IAM and STS.
    let (a, scopes) = run(&[], &[]);
    a.success();
    assert_eq!(services(&scopes), ["eks", "iam", "sts"]);
    assert!(
        scopes.iter().all(|c| c.starts_with("AKIDDEFAULT/")),
        "{scopes:?}"
    );
    assert_eq!(eks_regions(&scopes), ["eu-west-1"]);

    // --profile: its keys and its region.
    let (a, scopes) = run(&[], &["--profile", "ops"]);
    a.success();
    assert!(
        scopes.iter().all(|c| c.starts_with("AKIDOPS/")),
        "{scopes:?}"
    );
    assert_eq!(eks_regions(&scopes), ["us-west-2"]);

    // AWS_PROFILE does the same; --region wins over the profile's region.
    let (a, scopes) = run(&[("AWS_PROFILE", "ops")], &["--region", "eu-central-1"]);
    a.success();
    assert!(
        scopes.iter().all(|c| c.starts_with("AKIDOPS/")),
        "{scopes:?}"
    );
    assert_eq!(eks_regions(&scopes), ["eu-central-1"]);

    // A profile that does not exist: one sentence, nothing called.
    let (a, scopes) = run(&[], &["--profile", "nope"]);
    let a = a.code(78);
    assert!(scopes.is_empty(), "{scopes:?}");
    let err = stderr(&a);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("nope"), "{err}");
}

/// On a terminal, apply shows a progress bar and still ends with the table;
/// finalize asks before the one-way switch and takes no for an answer.
#[test]
fn on_a_terminal_apply_shows_progress_and_finalize_asks() {
    let s = Setup::with_map(
        "API_AND_CONFIG_MAP",
        "- rolearn: arn:aws:iam::111122223333:role/NodeInstanceRole\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:bootstrappers, system:nodes]\n",
        "- userarn: arn:aws:iam::111122223333:user/alice\n  username: alice\n  groups: [system:masters]\n",
    );
    s.env
        .server
        .with_store(|st| st.set_data("kube-system", "aws-auth", "mapAccounts", ""));
    // Slow enough for the bar to be drawn.
    s.aws.set_latency(Duration::from_millis(150));
    let vars = [
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "secret".to_owned()),
        ("AWS_REGION", "eu-west-1".to_owned()),
        ("AWS_ENDPOINT_URL", s.aws.url()),
        ("TERM", "xterm".to_owned()),
    ];
    let migrate = |args: &[&str]| -> Vec<String> {
        ["migrate"]
            .iter()
            .chain(args)
            .chain(&["--cluster", CLUSTER, "--poll-interval", "0.05"])
            .map(|a| (*a).to_owned())
            .collect()
    };
    let args = migrate(&["apply"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out) = crate::cluster::on_terminal_with(&s.env, &vars, &args, "");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("/3 "), "no progress bar: {out}");
    assert!(out.contains("prod: 3 done"), "{out}");

    s.aws.set_latency(Duration::ZERO);
    let args = migrate(&["finalize"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out) = crate::cluster::on_terminal_with(&s.env, &vars, &args, "n\n");
    assert_eq!(code, 4, "{out}");
    assert!(
        out.contains("Switch cluster prod to authentication mode API?"),
        "{out}"
    );
    assert_eq!(s.aws.snapshot(CLUSTER).mode, "API_AND_CONFIG_MAP");
    // The switch takes a few polls: a spinner says what it waits for.
    s.aws.set_polls_per_update(8);
    let (code, out) = crate::cluster::on_terminal_with(&s.env, &vars, &args, "y\n");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("switching cluster prod to API (update "),
        "no spinner before the wait: {out}"
    );
    assert_eq!(s.aws.snapshot(CLUSTER).mode, "API");
}

/// Issue 13.12: the policies of non-STANDARD entries are never listed (EKS may
/// refuse), and trouble reading one principal's entry is reported for it
/// while the run goes on with the others.
#[test]
fn non_standard_entries_and_one_unreadable_entry_do_not_stop_the_run() {
    let s = Setup::new("API_AND_CONFIG_MAP");
    let node = format!("arn:aws:iam::{ACCOUNT}:role/NodeInstanceRole");
    let dev = format!("arn:aws:iam::{ACCOUNT}:role/Developers");
    s.aws.with_cluster(CLUSTER, |c| {
        c.entries.insert(
            node.clone(),
            entry("EC2_LINUX", "system:node:{{EC2PrivateDNSName}}", &[], &[]),
        );
        c.entries.insert(
            dev.clone(),
            entry("STANDARD", "dev:{{SessionName}}", &["developers"], &[]),
        );
    });
    // The local EKS refuses to list a node entry's policies (EKS may): that
    // changes nothing, they are never asked for.
    let lists = |s: &Setup| {
        s.aws
            .calls()
            .iter()
            .filter(|c| {
                c.op == "ListAssociatedAccessPolicies" && c.target.contains("NodeInstanceRole")
            })
            .count()
    };
    // One principal's entry cannot be read: reported for it, the rest planned.
    s.aws
        .fail("DescribeAccessEntry", &[(400, "InvalidRequestException")]);
    let a = s.migrate(&["plan"]).assert().success();
    let out = stdout(&a);
    assert!(
        out.contains(
            "could not read their access entries, nothing planned for them (1; run again):"
        ),
        "{out}"
    );
    assert!(
        out.contains("create STANDARD access entry for arn:aws:iam::111122223333:user/alice"),
        "{out}"
    );
    assert_eq!(lists(&s), 0);
    // Apply converges the others and says what it could not do (exit 1).
    s.aws
        .fail("DescribeAccessEntry", &[(400, "InvalidRequestException")]);
    let a = s.migrate(&["apply"]).assert().code(1);
    assert!(
        stdout(&a).contains("could not read their access entries"),
        "{}",
        stdout(&a)
    );
    assert!(
        s.entries()
            .contains_key(&format!("arn:aws:iam::{ACCOUNT}:user/alice"))
    );
    // Read again, everything is in place: verify and the rest work past the
    // node entry whose policies EKS will not list.
    s.migrate(&["verify"]).assert().success();
    assert_eq!(lists(&s), 0);
}

/// Issue 13.13: a run killed while the mode switch was under way left an
/// AccessConfigUpdate in flight; the next run finds it and waits for it,
/// saying so before the wait, instead of failing on "another update".
#[test]
fn a_switch_left_in_flight_is_waited_for() {
    let s = Setup::new("CONFIG_MAP");
    s.aws
        .update_in_flight(CLUSTER, "0000-update-left", "API_AND_CONFIG_MAP", 30);
    let home = s.env.home.path();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("aws-auth"))
        .env_clear()
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .env("KUBECONFIG", &s.env.kubeconfig)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", home.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.join("no-aws-credentials"),
        )
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_ENDPOINT_URL", s.aws.url())
        .args([
            "migrate",
            "apply",
            "--enable-api-mode",
            "--cluster",
            CLUSTER,
            "--poll-interval",
            "0.05",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The line comes before the wait: read it while the process still runs.
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut err, &mut line).unwrap();
    assert_eq!(
        line,
        "switching cluster prod: an earlier switch (update 0000-update-left) is under way, waiting for it...\n"
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "said only after the wait"
    );
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(s.aws.snapshot(CLUSTER).mode, "API_AND_CONFIG_MAP");
    assert!(
        !s.aws.calls().iter().any(|c| c.op == "UpdateClusterConfig"),
        "no second switch was started"
    );
    assert_eq!(s.entries(), expected());
}

/// Issue 13.14: plan asks IAM about mapped users too: one that does not
/// exist is blocked in the plan, not a failure at apply time.
#[test]
fn users_iam_does_not_know_are_blocked_in_the_plan() {
    let users = format!(
        "{USERS}- userarn: arn:aws:iam::{ACCOUNT}:user/carol\n  username: carol\n  groups: [developers]\n"
    );
    let s = Setup::with_map("API_AND_CONFIG_MAP", ROLES, &users);
    let a = s.migrate(&["plan"]).assert().success();
    let out = stdout(&a);
    assert!(
        out.contains("mapUsers arn:aws:iam::111122223333:user/carol (line 7): IAM has no user named carol in account 111122223333"),
        "{out}"
    );
    assert!(
        !out.contains("create STANDARD access entry for arn:aws:iam::111122223333:user/carol"),
        "{out}"
    );
    assert!(
        s.aws
            .calls()
            .iter()
            .any(|c| c.op == "GetUser" && c.target == "carol")
    );
    let a = s.migrate(&["apply"]).assert().success();
    assert!(!stdout(&a).contains("FAILED"), "{}", stdout(&a));
    assert!(
        !s.entries()
            .contains_key(&format!("arn:aws:iam::{ACCOUNT}:user/carol"))
    );
}

/// Issue 13.15 and 20.14: the Kubernetes API and every AWS call go through
/// the proxy kubectl would use: the kubeconfig's proxy-url, else HTTPS_PROXY
/// (https) and HTTP_PROXY (http), never for a loopback address, and not
/// where NO_PROXY (`*`, a host, a host:port) says so. The servers are
/// named `kube.test` and `aws.test`, which only the forwarding proxy
/// resolves: a request that bypasses it cannot reach them.
#[test]
fn proxies_are_honoured_for_kubernetes_and_aws() {
    let s = Setup::new("API_AND_CONFIG_MAP");
    let proxy = crate::proxy::Proxy::start();
    let kube_port = s.env.server.addr.port();
    let aws_port = s.aws.addr.port();
    let kube_url = format!("https://kube.test:{kube_port}");
    let aws_url = format!("http://aws.test:{aws_port}");
    // EKS names the cluster's endpoint by the name, as the kubeconfig does.
    s.aws
        .with_cluster(CLUSTER, |c| c.endpoint = kube_url.clone());
    let original = std::fs::read_to_string(&s.env.kubeconfig).unwrap();
    let mut kubeconfig: serde_json::Value = serde_json::from_str(&original).unwrap();
    kubeconfig["clusters"][0]["cluster"]["server"] = kube_url.clone().into();
    std::fs::write(&s.env.kubeconfig, kubeconfig.to_string()).unwrap();
    let by_name = |cmd: &mut Command| {
        cmd.env("AWS_ENDPOINT_URL_EKS", &aws_url)
            .env("AWS_ENDPOINT_URL_IAM", &aws_url)
            .env("AWS_ENDPOINT_URL_STS", &aws_url)
            .env("HTTPS_PROXY", proxy.url())
            .env("HTTP_PROXY", proxy.url());
    };
    // Through the environment's proxies: kube over HTTPS (a CONNECT tunnel),
    // EKS, IAM and STS over HTTP (absolute form).
    let mut cmd = s.migrate(&["plan"]);
    by_name(&mut cmd);
    let a = cmd.assert().success();
    assert!(stdout(&a).contains("to do (8)"), "{}", stdout(&a));
    assert!(proxy.count_to(kube_port) >= 1, "{:?}", proxy.seen());
    assert!(
        proxy
            .seen()
            .contains(&format!("CONNECT kube.test:{kube_port}")),
        "{:?}",
        proxy.seen()
    );
    let aws_through = proxy.count_to(aws_port);
    assert!(aws_through >= 3, "{:?}", proxy.seen());
    // NO_PROXY naming a host, a host:port, or everything: nothing passes,
    // so the names cannot be resolved and the command fails to connect.
    for (no_proxy, kube_bypassed, aws_bypassed) in [
        ("kube.test", true, false),
        (format!("kube.test:{kube_port}").leak() as &str, true, false),
        ("kube.test:1", false, false),
        ("aws.test", false, true),
        ("*", true, true),
        (".test", true, true),
    ] {
        let (kube_before, aws_before) = (proxy.count_to(kube_port), proxy.count_to(aws_port));
        let mut cmd = s.migrate(&["plan", "--request-timeout", "1"]);
        by_name(&mut cmd);
        let out = cmd.env("NO_PROXY", no_proxy).output().unwrap();
        let kube_through = proxy.count_to(kube_port) > kube_before;
        let aws_through = proxy.count_to(aws_port) > aws_before;
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(!aws_through, aws_bypassed, "NO_PROXY={no_proxy}: {said}");
        // EKS is asked first: the Kubernetes API only when AWS answered.
        if !aws_bypassed {
            assert_eq!(!kube_through, kube_bypassed, "NO_PROXY={no_proxy}: {said}");
        }
        assert_eq!(
            out.status.success(),
            !kube_bypassed && !aws_bypassed,
            "NO_PROXY={no_proxy}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // A loopback server is never proxied, whatever the environment says (a
    // proxy that does not answer would otherwise fail the command).
    std::fs::write(&s.env.kubeconfig, &original).unwrap();
    let loopback = s.env.server.url();
    s.aws
        .with_cluster(CLUSTER, |c| c.endpoint = loopback.clone());
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    s.migrate(&["plan"])
        .env("HTTPS_PROXY", &dead)
        .env("HTTP_PROXY", &dead)
        .assert()
        .success();
    // The kubeconfig's proxy-url, with no proxy in the environment.
    kubeconfig["clusters"][0]["cluster"]["proxy-url"] = proxy.url().into();
    std::fs::write(&s.env.kubeconfig, kubeconfig.to_string()).unwrap();
    let before = proxy.count_to(kube_port);
    s.env.cmd().arg("get").assert().success();
    assert_eq!(proxy.count_to(kube_port), before + 1, "{:?}", proxy.seen());
    // A proxy that does not answer is not worked around.
    kubeconfig["clusters"][0]["cluster"]
        .as_object_mut()
        .unwrap()
        .remove("proxy-url");
    std::fs::write(&s.env.kubeconfig, kubeconfig.to_string()).unwrap();
    let a = s
        .env
        .cmd()
        .arg("get")
        .env("HTTPS_PROXY", &dead)
        .assert()
        .code(69);
    assert!(
        stderr(&a).contains("cannot reach the Kubernetes API"),
        "{}",
        stderr(&a)
    );
}

/// Issue 20.14: a plain-http API server behind a proxy is reached the way
/// kubectl reaches it, with requests forwarded in absolute form, not through
/// a CONNECT tunnel that a default Squid refuses for ports other than 443;
/// the proxy's credentials go in Proxy-Authorization and are never printed.
#[test]
fn a_plain_http_api_server_is_forwarded_not_tunnelled() {
    let env = crate::cluster::Env::plain();
    let proxy = crate::proxy::Proxy::start_squid_like();
    let port = env.server.addr.port();
    let mut kubeconfig: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&env.kubeconfig).unwrap()).unwrap();
    kubeconfig["clusters"][0]["cluster"]["server"] = format!("http://kube.test:{port}").into();
    std::fs::write(&env.kubeconfig, kubeconfig.to_string()).unwrap();
    let a = env
        .cmd()
        .args([
            "add",
            "user",
            "arn:aws:iam::111122223333:user/alice",
            "-vvv",
        ])
        .env(
            "HTTP_PROXY",
            format!("http://squid:pr0xy-SECRET@{}", proxy.addr),
        )
        .assert()
        .success();
    // The proxy parses the first request of a connection (the rest of a
    // kept-alive one passes as bytes).
    let seen = proxy.seen();
    assert!(seen.contains(&format!("GET kube.test:{port}")), "{seen:?}");
    assert!(!seen.iter().any(|l| l.starts_with("CONNECT")), "{seen:?}");
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode("squid:pr0xy-SECRET");
    assert!(
        seen.contains(&format!("Proxy-Authorization Basic {basic}")),
        "{seen:?}"
    );
    assert!(!stderr(&a).contains("pr0xy-SECRET"), "{}", stderr(&a));
    assert!(env.data("mapUsers").unwrap().contains("user/alice"));
}

impl Setup {
    pub(crate) fn access(&self, args: &[&str]) -> Command {
        let mut cmd = self.cmd();
        cmd.arg("access").args(args).args(["--cluster", CLUSTER]);
        cmd
    }
}

/// Issue 12 (part): `access add` grants entries directly, checked before any
/// call, idempotent; `access get` lists them; `access remove` deletes them
/// under the guards; a CONFIG_MAP cluster is refused with the step to take.
#[test]
fn access_entries_directly() {
    let s = Setup::new("API_AND_CONFIG_MAP");
    let alice = "arn:aws:iam::111122223333:user/alice";
    let bob = "arn:aws:iam::111122223333:user/bob";
    // Refused before any call: a reserved username, a system: group, an
    // unknown policy.
    let before = s.aws.calls().len();
    for bad in [
        &["-u", "system:alice"][..],
        &["-g", "system:masters"],
        &["--policy", "root"],
        &["-u", "{{SessionName}}"],
    ] {
        let mut args = vec!["add", alice];
        args.extend_from_slice(bad);
        s.access(&args).assert().code(5);
    }
    assert_eq!(s.aws.calls().len(), before, "a refused request made calls");
    // Granted, then again: unchanged.
    let team = s.env.home.path().join("team.txt");
    std::fs::write(
        &team,
        format!("# the workshop's list\n{alice} alice\n{bob}\n"),
    )
    .unwrap();
    let team = team.to_str().unwrap();
    s.access(&["add", "--from-file", team, "--policy", "cluster-admin"])
        .assert()
        .success();
    let entries = s.entries();
    assert_eq!(entries[alice].username, "alice");
    assert!(
        entries[bob]
            .policies
            .keys()
            .any(|p| p.ends_with("AmazonEKSClusterAdminPolicy"))
    );
    let again = s
        .access(&[
            "add",
            "--from-file",
            team,
            "--policy",
            "cluster-admin",
            "-o",
            "json",
        ])
        .assert()
        .success();
    let v: Value = serde_json::from_str(&stdout(&again)).unwrap();
    assert_eq!(v["results"].as_array().map_or(1, Vec::len), 0, "{v}");
    // Listed.
    let listed = s.access(&["get", "-o", "json"]).assert().success();
    let v: Value = serde_json::from_str(&stdout(&listed)).unwrap();
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .any(|e| e["principalArn"] == alice)
    );
    // Updated: a namespace-scoped view added, the username changed; taking
    // cluster-admin from one of two admins is fine.
    s.access(&[
        "update",
        alice,
        "-u",
        "alice2",
        "--add-policy",
        "view",
        "--namespace-scope",
        "dev",
    ])
    .assert()
    .success();
    let e = &s.entries()[alice];
    assert_eq!(e.username, "alice2");
    let view = e
        .policies
        .iter()
        .find(|(p, _)| p.ends_with("AmazonEKSViewPolicy"))
        .map(|(_, scope)| scope.clone())
        .unwrap();
    assert_eq!(view["type"], "namespace");
    s.access(&["update", alice, "--remove-policy", "cluster-admin"])
        .assert()
        .success();
    assert!(
        !s.entries()[alice]
            .policies
            .keys()
            .any(|p| p.ends_with("AmazonEKSClusterAdminPolicy"))
    );
    // Bob is now the last cluster admin: taking it from him is guarded.
    s.access(&["update", bob, "--remove-policy", "cluster-admin"])
        .assert()
        .code(4);
    s.access(&["update", alice, "--add-policy", "cluster-admin"])
        .assert()
        .success();
    // Removing one admin is fine; removing the last ones is guarded.
    s.access(&["remove", alice]).assert().success();
    assert!(!s.entries().contains_key(alice));
    let refused = s.access(&["remove", bob]).assert().code(4);
    assert!(
        String::from_utf8_lossy(&refused.get_output().stderr)
            .contains("from the last entry with it"),
        "{}",
        String::from_utf8_lossy(&refused.get_output().stderr)
    );
    s.access(&["remove", bob, "--force"]).assert().success();
    assert!(!s.entries().contains_key(bob));
    // A CONFIG_MAP cluster: refused with the step.
    let old = Setup::new("CONFIG_MAP");
    let a = old.access(&["add", alice]).assert().code(4);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("--enable-api-mode"));
}

/// Issue 25.9: the migration finds its EKS cluster from the kubeconfig
/// context as the `access` commands do; `--role-arn-map` given once is used
/// by the later steps (and said); a conflict names `--update-existing`;
/// each blocked mapping names what fixes it.
#[test]
fn the_cluster_comes_from_the_context_and_the_role_map_is_remembered() {
    let s = Setup::new("API_AND_CONFIG_MAP");
    // The context named by the cluster's ARN, as `aws eks update-kubeconfig`
    // names it.
    let arn = format!("arn:aws:eks:eu-west-1:111122223333:cluster/{CLUSTER}");
    let mut k: Value =
        serde_json::from_str(&std::fs::read_to_string(&s.env.kubeconfig).unwrap()).unwrap();
    k["contexts"][0]["name"] = arn.clone().into();
    k["current-context"] = arn.clone().into();
    std::fs::write(&s.env.kubeconfig, k.to_string()).unwrap();
    let map = s.env.home.path().join("roles.txt");
    std::fs::write(&map, "arn:aws:iam::444455556666:role/ci/Deployer\n").unwrap();
    // alice has an entry that says something else.
    s.aws.with_cluster(CLUSTER, |c| {
        c.entries.insert(
            "arn:aws:iam::111122223333:user/alice".to_owned(),
            Entry {
                kind: "STANDARD".into(),
                username: "someone-else".into(),
                groups: Vec::new(),
                policies: BTreeMap::new(),
            },
        );
    });
    let mut cmd = s.cmd();
    cmd.args(["migrate", "plan", "--role-arn-map", map.to_str().unwrap()]);
    let a = cmd.assert().success();
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        err.contains(&format!(
            "cluster {CLUSTER} (from the kubeconfig context {arn:?})"
        )),
        "{err}"
    );
    let out = stdout(&a);
    assert!(!out.contains("444455556666:role/Deployer (line"), "{out}");
    assert!(out.contains("    fix: "), "{out}");
    // The next step, without the map: the one given before, said.
    let mut cmd = s.cmd();
    cmd.args(["migrate", "apply", "--poll-interval", "0.05"]);
    let a = cmd.assert();
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        err.contains(&format!(
            "using the --role-arn-map given before for cluster {CLUSTER}"
        )),
        "{err}"
    );
    let out = stdout(&a);
    assert!(
        out.contains("conflict, left alone: arn:aws:iam::111122223333:user/alice:")
            && out.contains("(--update-existing makes it match the map)"),
        "{out}"
    );
    assert!(
        s.entries()
            .contains_key("arn:aws:iam::444455556666:role/ci/Deployer"),
        "{:?}",
        s.entries().keys()
    );
    // verify, with blocked mappings left: never "every migratable mapping".
    let mut cmd = s.cmd();
    cmd.args(["migrate", "verify"]);
    let a = cmd.assert();
    assert!(
        !stdout(&a).contains("every migratable mapping has its access entry"),
        "{}",
        stdout(&a)
    );
}

/// Issue 24: under --contexts each context finds its own EKS cluster, as one
/// context does; a context that names none is its row's error.
#[test]
fn each_context_finds_its_eks_cluster_under_contexts() {
    let s = Setup::new("API_AND_CONFIG_MAP");
    let arn = format!("arn:aws:eks:eu-west-1:111122223333:cluster/{CLUSTER}");
    let mut k: Value =
        serde_json::from_str(&std::fs::read_to_string(&s.env.kubeconfig).unwrap()).unwrap();
    let mut other = k["contexts"][0].clone();
    other["name"] = "kind-dev".into();
    k["contexts"][0]["name"] = arn.clone().into();
    k["contexts"].as_array_mut().unwrap().push(other);
    std::fs::write(&s.env.kubeconfig, k.to_string()).unwrap();
    let mut cmd = s.cmd();
    cmd.args(["--all-contexts", "access", "get", "-o", "json"]);
    let a = cmd.assert().code(64);
    let v: Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    assert_eq!(v["contexts"][&arn]["exitCode"], 0, "{v}");
    assert!(v["contexts"][&arn]["result"].is_array(), "{v}");
    assert!(
        v["contexts"][&arn]["notes"][0]
            .as_str()
            .unwrap()
            .contains(&format!("cluster {CLUSTER} (from the kubeconfig context")),
        "{v}"
    );
    assert_eq!(v["contexts"]["kind-dev"]["exitCode"], 64, "{v}");
    assert!(
        v["contexts"]["kind-dev"]["error"]
            .as_str()
            .unwrap()
            .contains("names no EKS cluster"),
        "{v}"
    );
}
