//! Cluster mode against the local API server: the real `kube` client inside
//! the real binary, over HTTP and HTTPS.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use assert_cmd::Command;
use hyper::Method;
use serde_json::{Value, json};

use crate::apiserver::{ApiServer, Fault, Options};
use crate::aws::Aws;

const NS: &str = "kube-system";
const NAME: &str = "aws-auth";

pub(crate) const ROLES: &str = "\
- rolearn: arn:aws:iam::111122223333:role/NodeInstanceRole
  username: system:node:{{EC2PrivateDNSName}}
  groups:
    - system:bootstrappers
    - system:nodes
- rolearn: arn:aws:iam::111122223333:role/Admin
  username: admin:{{SessionName}}
  groups:
    - system:masters
";

pub(crate) const USERS: &str = "\
# people
- userarn: arn:aws:iam::111122223333:user/ops
  username: ops
  groups:
    - system:masters
";

/// A server holding a usual map, a home directory and a kubeconfig for it.
pub(crate) struct Env {
    pub(crate) server: ApiServer,
    pub(crate) home: tempfile::TempDir,
    pub(crate) kubeconfig: PathBuf,
}

impl Env {
    /// Over HTTPS with a bearer token, like a real cluster (kubectl will not
    /// send a token over plain HTTP).
    pub(crate) fn new() -> Env {
        Env::with(
            Options {
                tls: true,
                ..Options::default()
            },
            json!({"token": "t0ken-not-for-logs"}),
        )
    }

    /// Over plain HTTP without credentials (`kubectl proxy`, a bastion's
    /// forwarded port).
    pub(crate) fn plain() -> Env {
        Env::with(Options::default(), json!({}))
    }

    pub(crate) fn with(mut options: Options, auth: Value) -> Env {
        if options.token.is_none() {
            options.token = auth["token"].as_str().map(str::to_owned);
        }
        let server = ApiServer::with(options);
        server.put(
            NS,
            NAME,
            Some(&[
                ("mapRoles", ROLES),
                ("mapUsers", USERS),
                ("other", "keep me"),
            ]),
        );
        let home = tempfile::tempdir().unwrap();
        let kubeconfig = server.kubeconfig(home.path(), auth);
        Env {
            server,
            home,
            kubeconfig,
        }
    }

    /// The binary with only what it needs in its environment: no AWS
    /// credentials (and no instance metadata to probe), this kubeconfig, state
    /// under the temporary home.
    pub(crate) fn cmd(&self) -> Command {
        let mut cmd = crate::aws_auth(self.home.path());
        self.scrub(&mut cmd);
        cmd
    }

    fn scrub(&self, cmd: &mut Command) {
        cmd.env("KUBECONFIG", &self.kubeconfig)
            .env("XDG_STATE_HOME", self.home.path().join("state"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", self.home.path().join("no-aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.home.path().join("no-aws-credentials"),
            );
    }

    pub(crate) fn data(&self, key: &str) -> Option<String> {
        self.server.data(NS, NAME, key)
    }

    pub(crate) fn backups(&self) -> Vec<PathBuf> {
        let dir = self.home.path().join("state/aws-auth/backups/test");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        files.sort();
        files
    }
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(a.get_output().stdout.clone()).unwrap()
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(a.get_output().stderr.clone()).unwrap()
}

fn one_sentence(a: &assert_cmd::assert::Assert) -> String {
    let err = stderr(a);
    assert!(err.starts_with("error: "), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    err
}

const ALICE: &str = "arn:aws:iam::111122223333:user/alice";

fn methods(server: &ApiServer) -> Vec<String> {
    server
        .seen()
        .iter()
        .map(|s| format!("{} {}", s.method, s.path))
        .collect()
}

#[test]
fn get_reads_the_live_map_over_http_and_https() {
    for tls in [false, true] {
        let env = Env::with(
            Options {
                tls,
                ..Options::default()
            },
            json!({"token": "t0ken-not-for-logs"}),
        );
        let a = env.cmd().args(["get", "-o", "json"]).assert().success();
        let v: Value = serde_json::from_str(&stdout(&a)).unwrap();
        assert_eq!(
            v["mapRoles"][1]["rolearn"],
            "arn:aws:iam::111122223333:role/Admin"
        );
        assert_eq!(v["mapUsers"][0]["username"], "ops");
        assert_eq!(
            methods(&env.server),
            ["GET /api/v1/namespaces/kube-system/configmaps/aws-auth"],
            "tls={tls}"
        );
    }
}

#[test]
fn the_exec_credential_plugin_of_aws_eks_update_kubeconfig_works() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("get-token");
    std::fs::write(
        &script,
        "#!/bin/sh\n# stands in for `aws eks get-token`\nprintf '%s' '{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"k8s-aws-v1.exec-token\"}}'\n",
    )
    .unwrap();
    make_executable(&script);
    let env = Env::with(
        Options {
            token: Some("k8s-aws-v1.exec-token".to_owned()),
            ..Options::default()
        },
        json!({"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": script,
            "args": ["eks", "get-token", "--cluster-name", "test"],
            "interactiveMode": "Never"
        }}),
    );
    env.cmd().arg("get").assert().success();
    // A wrong token is refused, and said so in one sentence.
    let env = Env::with(
        Options {
            token: Some("another".to_owned()),
            ..Options::default()
        },
        json!({"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": script}}),
    );
    let a = env.cmd().arg("get").assert().code(77);
    assert!(
        one_sentence(&a).contains("refused access"),
        "{}",
        stderr(&a)
    );
}

pub(crate) fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn an_edit_costs_one_read_and_one_conditional_patch_of_the_changed_key() {
    let env = Env::new();
    let before = env.server.object(NS, NAME).unwrap();
    let a = env
        .cmd()
        .args(["add", "user", ALICE, "-g", "developers"])
        .assert()
        .success();
    assert!(
        stdout(&a).contains("written to kube-system/aws-auth"),
        "{}",
        stdout(&a)
    );
    let seen = env.server.seen();
    assert_eq!(seen.len(), 2, "{:?}", methods(&env.server));
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[1].method, "PATCH");
    assert_eq!(seen[1].content_type, "application/merge-patch+json");
    let patch: Value = serde_json::from_str(&seen[1].body).unwrap();
    let rv = before["metadata"]["resourceVersion"].clone();
    assert_eq!(
        patch,
        json!({
            "metadata": {"resourceVersion": rv},
            "data": {"mapUsers": format!("{USERS}- userarn: {ALICE}\n  username: alice\n  groups:\n    - developers\n")}
        })
    );
    // Labels, annotations and the other keys are as they were.
    let after = env.server.object(NS, NAME).unwrap();
    assert_eq!(after["metadata"]["labels"], before["metadata"]["labels"]);
    assert_eq!(
        after["metadata"]["annotations"],
        before["metadata"]["annotations"]
    );
    assert_eq!(after["data"]["mapRoles"], before["data"]["mapRoles"]);
    assert_eq!(after["data"]["other"], "keep me");
    assert_ne!(after["metadata"]["resourceVersion"], rv);
    // The prior object was saved, readable by its owner only.
    let backups = env.backups();
    assert_eq!(backups.len(), 1);
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&backups[0]).unwrap()).unwrap();
    assert_eq!(saved, before);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&backups[0]).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let name = backups[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        name.starts_with("aws-auth-")
            && name.ends_with(&format!("-rv{}.json", rv.as_str().unwrap())),
        "{name}"
    );
}

#[test]
fn sixteen_concurrent_writers_all_land_and_nothing_else_changes() {
    let env = Env::new();
    let before = env.server.object(NS, NAME).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("aws-auth");
    let children: Vec<_> = (0..16)
        .map(|i| {
            let mut cmd = std::process::Command::new(&bin);
            cmd.env_clear()
                .env("HOME", env.home.path())
                .env("KUBECONFIG", &env.kubeconfig)
                .env("XDG_STATE_HOME", env.home.path().join("state"))
                .env("AWS_EC2_METADATA_DISABLED", "true")
                .args([
                    "add",
                    "user",
                    &format!("arn:aws:iam::111122223333:user/dev{i}"),
                    "-g",
                    "developers",
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            cmd.spawn().unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let users = env.data("mapUsers").unwrap();
    for i in 0..16 {
        assert!(
            users.contains(&format!("- userarn: arn:aws:iam::111122223333:user/dev{i}\n  username: dev{i}\n  groups:\n    - developers\n")),
            "dev{i} missing:\n{users}"
        );
    }
    assert!(users.starts_with(USERS), "{users}");
    assert_eq!(users.matches("- userarn:").count(), 17);
    let after = env.server.object(NS, NAME).unwrap();
    assert_eq!(after["data"]["mapRoles"], before["data"]["mapRoles"]);
    assert_eq!(after["data"]["other"], before["data"]["other"]);
    assert_eq!(after["metadata"]["labels"], before["metadata"]["labels"]);
    let conflicts = env
        .server
        .seen()
        .iter()
        .filter(|s| s.method == "PATCH")
        .count()
        - 16;
    eprintln!("16 writers: {conflicts} conflicting writes retried");
}

/// Another writer adds a user after our read and before our write.
fn race_in_another_user(env: &Env) {
    env.server.after_next_get(|store| {
        store.edit_data(NS, NAME, "mapUsers", |users| {
            format!("{users}- userarn: arn:aws:iam::111122223333:user/bob\n  username: bob\n")
        });
    });
}

#[test]
fn a_write_between_our_read_and_write_is_kept() {
    let env = Env::new();
    race_in_another_user(&env);
    let a = env
        .cmd()
        .args(["add", "user", ALICE, "-g", "developers"])
        .assert()
        .success();
    assert!(stdout(&a).contains("after 2 attempts"), "{}", stdout(&a));
    let users = env.data("mapUsers").unwrap();
    assert!(users.contains("user/bob\n  username: bob\n"), "{users}");
    assert!(
        users.contains(&format!("{ALICE}\n  username: alice\n")),
        "{users}"
    );
    let m = methods(&env.server);
    assert_eq!(
        m.iter().filter(|m| m.starts_with("PATCH")).count(),
        2,
        "{m:?}"
    );
    assert_eq!(
        m.iter().filter(|m| m.starts_with("GET")).count(),
        2,
        "{m:?}"
    );
}

/// The comparison that motivates all this: the usual procedure, `kubectl
/// apply` of a copy taken before someone else's change, silently drops that
/// change. (Kept as a test so the claim stays true of the server we test on.)
#[test]
fn kubectl_apply_of_a_stale_copy_loses_the_other_writers_change() {
    let env = Env::new();
    // The admin's copy, taken now...
    let mut copy = env.server.object(NS, NAME).unwrap();
    // ...someone else adds bob...
    env.server.with_store(|store| {
        store.edit_data(NS, NAME, "mapUsers", |u| {
            format!("{u}- userarn: arn:aws:iam::111122223333:user/bob\n  username: bob\n")
        })
    });
    // ...and the admin applies the copy with alice added.
    copy["data"]["mapUsers"] =
        Value::String(format!("{USERS}- userarn: {ALICE}\n  username: alice\n"));
    for field in ["resourceVersion", "uid", "creationTimestamp"] {
        copy["metadata"].as_object_mut().unwrap().remove(field);
    }
    let file = env.home.path().join("stale.json");
    std::fs::write(&file, copy.to_string()).unwrap();
    let out = crate::kubectl(&env)
        .args(["apply", "--validate=false", "-f"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let users = env.data("mapUsers").unwrap();
    assert!(users.contains("user/alice"), "{users}");
    assert!(
        !users.contains("user/bob"),
        "kubectl apply kept bob?\n{users}"
    );

    // The same race with aws-auth keeps both.
    let env = Env::new();
    race_in_another_user(&env);
    env.cmd().args(["add", "user", ALICE]).assert().success();
    let users = env.data("mapUsers").unwrap();
    assert!(
        users.contains("user/alice") && users.contains("user/bob"),
        "{users}"
    );
}

#[test]
fn when_the_other_writer_removed_what_we_remove_we_stop_and_say_so() {
    let env = Env::new();
    env.cmd().args(["add", "user", ALICE]).assert().success();
    env.server.clear_seen();
    env.server.after_next_get(|store| {
        store.edit_data(NS, NAME, "mapUsers", |_| USERS.to_owned());
    });
    let a = env.cmd().args(["remove", "user", ALICE]).assert().code(6);
    let err = one_sentence(&a);
    assert!(
        err.contains("another writer changed the map meanwhile"),
        "{err}"
    );
    assert!(err.contains("nothing was written"), "{err}");
    assert_eq!(env.data("mapUsers").unwrap(), USERS);
}

#[test]
fn a_failed_write_keeps_the_backup_and_the_map() {
    let env = Env::new();
    env.server
        .inject(Method::PATCH, Fault::Status(500, "InternalError"));
    let a = env.cmd().args(["add", "user", ALICE]).assert().code(69);
    let err = one_sentence(&a);
    assert!(err.contains("500"), "{err}");
    assert_eq!(env.data("mapUsers").unwrap(), USERS);
    assert_eq!(env.backups().len(), 1);
    // One write, not retried.
    assert_eq!(env.server.writes().len(), 1);
}

#[test]
fn edits_report_in_every_format() {
    let env = Env::new();
    let a = env
        .cmd()
        .args(["-o", "json", "add", "user", ALICE])
        .assert()
        .success();
    let v: Value = serde_json::from_str(&stdout(&a)).unwrap();
    // Issue 10.13: structured, camelCase.
    assert_eq!(
        v["changes"][0],
        json!({"op": 0, "result": "added", "reason": "requested", "kind": "user", "key": "mapUsers", "principal": ALICE, "principals": [ALICE], "message": format!("added {ALICE} to mapUsers")})
    );
    assert_eq!(v["dryRun"], false);
    assert!(v.get("dry_run").is_none());
    assert_eq!(v["cluster"]["object"], "kube-system/aws-auth");
    assert_eq!(v["cluster"]["attempts"], 1);
    assert!(
        v["cluster"]["backup"]
            .as_str()
            .unwrap()
            .contains("/aws-auth/backups/test/")
    );
    let a = env
        .cmd()
        .args(["-o", "yaml", "remove", "user", ALICE])
        .assert()
        .success();
    assert!(
        stdout(&a)
            .contains("changes:\n  - op: 0\n    result: removed\n    reason: requested\n    kind: user\n    key: mapUsers\n    principal: arn:aws:iam::111122223333:user/alice\n    principals:\n      - arn:aws:iam::111122223333:user/alice\n    count: 1\n"),
        "{}",
        stdout(&a)
    );
}

#[test]
fn no_backup_no_write() {
    let env = Env::new();
    // The state directory cannot be created: a file is in the way.
    let blocked = env.home.path().join("blocked");
    std::fs::write(&blocked, "").unwrap();
    let a = env
        .cmd()
        .env("XDG_STATE_HOME", &blocked)
        .args(["add", "user", ALICE])
        .assert()
        .code(74);
    assert!(
        one_sentence(&a).contains("cannot create the backup directory"),
        "{}",
        stderr(&a)
    );
    assert!(env.server.writes().is_empty());
    assert_eq!(env.data("mapUsers").unwrap(), USERS);
}

#[test]
fn removing_from_a_missing_map_does_not_suggest_creating_it() {
    let env = Env::new();
    let a = env
        .cmd()
        .args(["--name", "absent", "remove", "user", ALICE])
        .assert()
        .code(3);
    assert!(!one_sentence(&a).contains("--create"), "{}", stderr(&a));
}

#[test]
fn other_client_errors_are_not_retried() {
    let env = Env::new();
    env.server
        .inject(Method::PATCH, Fault::Status(422, "Invalid"));
    let a = env.cmd().args(["add", "user", ALICE]).assert().code(5);
    one_sentence(&a);
    assert_eq!(env.server.writes().len(), 1);
}

#[test]
fn throttling_is_retried() {
    let env = Env::new();
    env.server
        .inject(Method::GET, Fault::Status(429, "TooManyRequests"));
    env.server
        .inject(Method::PATCH, Fault::Status(503, "ServiceUnavailable"));
    env.cmd().args(["add", "user", ALICE]).assert().success();
    assert!(env.data("mapUsers").unwrap().contains("user/alice"));
    assert_eq!(methods(&env.server).len(), 4, "{:?}", methods(&env.server));
}

#[test]
fn a_lost_answer_to_a_write_that_landed_is_a_success() {
    let env = Env::new();
    env.server
        .inject(Method::PATCH, Fault::DelayAnswer(Duration::from_secs(4)));
    let a = env
        .cmd()
        .args(["--request-timeout", "1", "add", "user", ALICE])
        .assert()
        .success();
    assert!(stdout(&a).contains("written to"), "{}", stdout(&a));
    assert!(env.data("mapUsers").unwrap().contains("user/alice"));
    // Read, write (no answer), read again: the change is there.
    assert_eq!(methods(&env.server).len(), 3, "{:?}", methods(&env.server));
}

#[test]
fn connection_problems_are_one_sentence_each_with_their_code() {
    let env = Env::new();
    // A kubeconfig that is not one.
    let bad = env.home.path().join("bad-kubeconfig");
    std::fs::write(&bad, "clusters: [oops\n").unwrap();
    let a = env
        .cmd()
        .env("KUBECONFIG", &bad)
        .arg("get")
        .assert()
        .code(78);
    assert!(
        one_sentence(&a).contains("cannot read the kubeconfig"),
        "{}",
        stderr(&a)
    );
    // A context that does not exist.
    let a = env
        .cmd()
        .args(["--context", "prod", "get"])
        .assert()
        .code(78);
    assert!(
        one_sentence(&a).contains("no context \"prod\" (it has: test)"),
        "{}",
        stderr(&a)
    );
    // No kubeconfig at all, outside a pod.
    let a = env
        .cmd()
        .env_remove("KUBECONFIG")
        .arg("get")
        .assert()
        .code(78);
    assert!(
        one_sentence(&a).contains("no kubeconfig found"),
        "{}",
        stderr(&a)
    );
    // ~/.kube/config is used when $KUBECONFIG is not set.
    std::fs::create_dir_all(env.home.path().join(".kube")).unwrap();
    std::fs::copy(&env.kubeconfig, env.home.path().join(".kube/config")).unwrap();
    env.cmd()
        .env_remove("KUBECONFIG")
        .arg("get")
        .assert()
        .success();
    std::fs::remove_file(env.home.path().join(".kube/config")).unwrap();
    // --kubeconfig wins over $KUBECONFIG.
    env.cmd()
        .env("KUBECONFIG", &bad)
        .arg("--kubeconfig")
        .arg(&env.kubeconfig)
        .arg("get")
        .assert()
        .success();
    // Nothing listens.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let dead = env.home.path().join("dead-kubeconfig");
    std::fs::write(
        &dead,
        std::fs::read_to_string(&env.kubeconfig)
            .unwrap()
            .replace(&env.server.url(), &format!("http://127.0.0.1:{port}")),
    )
    .unwrap();
    let a = env
        .cmd()
        .env("KUBECONFIG", &dead)
        .arg("get")
        .assert()
        .code(69);
    assert!(
        one_sentence(&a).contains("cannot reach the Kubernetes API"),
        "{}",
        stderr(&a)
    );
    // A server that does not answer in time, attempt after attempt (one
    // slow answer is only retried).
    env.server
        .inject(Method::GET, Fault::Delay(Duration::from_secs(3)));
    env.cmd()
        .args(["--request-timeout", "1", "--retry-delay", "0.01", "get"])
        .assert()
        .success();
    for _ in 0..6 {
        env.server
            .inject(Method::GET, Fault::Delay(Duration::from_secs(3)));
    }
    let a = env
        .cmd()
        .args(["--request-timeout", "1", "--retry-delay", "0.01", "get"])
        .assert()
        .code(69);
    assert!(
        one_line_error(&a).contains("cannot reach the Kubernetes API"),
        "{}",
        stderr(&a)
    );
    assert!(
        stderr(&a)
            .contains("no answer from the API server (no answer in time) to a read, retrying"),
        "{}",
        stderr(&a)
    );
    // RBAC says no.
    env.server
        .inject(Method::GET, Fault::Status(403, "Forbidden"));
    let a = env.cmd().arg("get").assert().code(77);
    let err = one_sentence(&a);
    assert!(
        err.contains("refused access") && err.contains("cannot get resource"),
        "{err}"
    );
}

#[test]
fn a_missing_config_map_is_created_only_when_asked() {
    let env = Env::new();
    let other = ["--name", "absent"];
    let a = env.cmd().args(other).arg("get").assert().code(3);
    assert!(one_sentence(&a).contains("kube-system/absent does not exist"));
    env.cmd().args(other).args(["lint"]).assert().code(3);
    let a = env
        .cmd()
        .args(other)
        .args(["add", "user", ALICE])
        .assert()
        .code(3);
    assert!(one_sentence(&a).contains("--create"), "{}", stderr(&a));
    assert!(env.server.writes().is_empty());
    env.cmd()
        .args(other)
        .args(["--create", "add", "user", ALICE, "-g", "developers"])
        .assert()
        .success();
    let created = env.server.object(NS, "absent").unwrap();
    assert_eq!(
        created["data"],
        json!({"mapUsers": format!("- userarn: {ALICE}\n  username: alice\n  groups:\n    - developers\n")})
    );
}

#[test]
fn guards_refuse_force_overrides_and_a_terminal_is_asked() {
    let env = Env::new();
    let node = "arn:aws:iam::111122223333:role/NodeInstanceRole";
    let a = env.cmd().args(["remove", "role", node]).assert().code(4);
    let err = one_sentence(&a);
    assert!(
        err.contains("node role") && err.contains("--force"),
        "{err}"
    );
    assert!(env.server.writes().is_empty());
    // Removing the last two admins: the last one is guarded.
    let a = env
        .cmd()
        .args(["remove", "--username", "ops"])
        .assert()
        .success();
    assert!(stdout(&a).contains("written to"));
    let a = env
        .cmd()
        .args(["remove", "role", "arn:aws:iam::111122223333:role/Admin"])
        .assert()
        .code(4);
    assert!(one_sentence(&a).contains("last mapping that grants system:masters"));
    // On a terminal, a forced edit is asked about; "n" stops it.
    let (code, out) = on_terminal(&env, &["remove", "role", node, "--force"], "n\n");
    assert_eq!(code, 4, "{out}");
    assert!(
        out.contains(
            "nodes using this role would stop joining the cluster. Carry it out anyway? [y/N]"
        ),
        "{out}"
    );
    assert!(env.data("mapRoles").unwrap().contains("NodeInstanceRole"));
    let (code, out) = on_terminal(&env, &["remove", "role", node, "--force"], "y\n");
    assert_eq!(code, 0, "{out}");
    assert!(!env.data("mapRoles").unwrap().contains("NodeInstanceRole"));
    // Off a terminal, --force needs --yes as well (issue 10.15: one rule,
    // as for restore), and then says what it did.
    let env = Env::new();
    let a = env
        .cmd()
        .args(["remove", "role", node, "--force"])
        .assert()
        .code(4);
    assert!(
        one_sentence(&a).contains("give --yes too"),
        "{}",
        stderr(&a)
    );
    assert!(env.server.writes().is_empty());
    let a = env
        .cmd()
        .args(["remove", "role", node, "--force", "--yes"])
        .assert()
        .success();
    assert!(stderr(&a).contains("warning: forced: this edit would remove the node role mapping"));
    // No AWS credentials here: the user is told their own mapping was not
    // protected.
    assert!(
        stderr(&a).starts_with("note: your own AWS identity was not found (no AWS credentials, or STS cannot be reached), so your own mapping is not protected; --protect ARN protects it\n"),
        "{}",
        stderr(&a)
    );
    // --dry-run never asks.
    let env = Env::new();
    let (code, out) = on_terminal(&env, &["remove", "role", node, "--force", "--dry-run"], "");
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("[y/N]"), "{out}");
    // --yes skips the question on a terminal too.
    let env = Env::new();
    let (code, out) = on_terminal(&env, &["remove", "role", node, "--force", "--yes"], "");
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("[y/N]"), "{out}");
}

/// Runs the binary with a pseudo-terminal as stdin (util-linux `script`),
/// typing `input`; returns the exit code and what the terminal showed.
fn on_terminal(env: &Env, args: &[&str], input: &str) -> (i32, String) {
    on_terminal_with(env, &[], args, input)
}

/// [`on_terminal`] with more environment variables.
pub(crate) fn on_terminal_with(
    env: &Env,
    vars: &[(&str, String)],
    args: &[&str],
    input: &str,
) -> (i32, String) {
    let bin = assert_cmd::cargo::cargo_bin("aws-auth");
    let quote = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    let line = std::iter::once(bin.display().to_string())
        .chain(args.iter().map(|a| (*a).to_owned()))
        .map(|a| quote(&a))
        .collect::<Vec<_>>()
        .join(" ");
    let mut cmd = std::process::Command::new("script");
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", env.home.path())
        .env("NO_COLOR", "1")
        .env("KUBECONFIG", &env.kubeconfig)
        .env("XDG_STATE_HOME", env.home.path().join("state"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", env.home.path().join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            env.home.path().join("no-aws-credentials"),
        )
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .args(["-qec", &line, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("util-linux script runs");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        // Let the prompt come up first, as a person would.
        std::thread::sleep(Duration::from_millis(1500));
        let _ = stdin.write_all(input.as_bytes());
    }
    let out = child.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn dry_runs_send_no_write_or_only_a_server_dry_run() {
    let env = Env::new();
    let a = env
        .cmd()
        .args(["add", "user", ALICE, "--dry-run"])
        .assert()
        .success();
    let out = stdout(&a);
    assert!(out.contains(&format!("+- userarn: {ALICE}")), "{out}");
    assert!(out.ends_with("dry run: nothing was written\n"), "{out}");
    assert_eq!(methods(&env.server).len(), 1);
    assert!(env.backups().is_empty());
    let a = env
        .cmd()
        .args(["add", "user", ALICE, "--dry-run=server"])
        .assert()
        .success();
    assert!(
        stdout(&a).contains("the API server accepted the write"),
        "{}",
        stdout(&a)
    );
    let writes = env.server.writes();
    assert_eq!(writes.len(), 1);
    assert!(
        writes[0].query.contains("dryRun=All"),
        "{}",
        writes[0].query
    );
    assert_eq!(env.data("mapUsers").unwrap(), USERS);
    assert!(env.backups().is_empty());
    // Without a cluster, a server dry run makes no sense.
    let a = crate::aws_auth(env.home.path())
        .args(["--file", "x.yaml", "--dry-run=server", "get"])
        .assert()
        .code(64);
    one_sentence(&a);
}

#[test]
fn backup_and_restore_round_trip() {
    let env = Env::new();
    let original = env.server.object(NS, NAME).unwrap();
    let out = env.home.path().join("before.json");
    let a = env
        .cmd()
        .arg("backup")
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    assert_eq!(stdout(&a).trim(), out.display().to_string());
    env.cmd().args(["add", "user", ALICE]).assert().success();
    env.cmd()
        .args(["remove", "--username", "ops"])
        .assert()
        .success();
    env.server
        .with_store(|s| s.set_data(NS, NAME, "added-later", "x"));
    // Without a terminal, restore wants --yes; it shows the diff first.
    let a = env.cmd().arg("restore").arg(&out).assert().code(4);
    assert!(stdout(&a).contains("+++ b/data.mapUsers"), "{}", stdout(&a));
    assert!(one_sentence(&a).contains("--yes"));
    let a = env
        .cmd()
        .arg("restore")
        .arg(&out)
        .arg("--dry-run")
        .assert()
        .success();
    assert!(
        stdout(&a).ends_with("dry run: kube-system/aws-auth: would restore mapUsers; would remove added-later, which the backup does not have; nothing was written\n"),
        "{}",
        stdout(&a)
    );
    let a = env
        .cmd()
        .arg("restore")
        .arg(&out)
        .arg("--yes")
        .assert()
        .success();
    assert!(
        stdout(&a).contains("kube-system/aws-auth: restored mapUsers; removed added-later, which the backup does not have (resourceVersion"),
        "{}",
        stdout(&a)
    );
    let now = env.server.object(NS, NAME).unwrap();
    assert_eq!(now["data"], original["data"]);
    // The restore itself was backed up first, and says where.
    assert!(stderr(&a).contains("backup of the prior object:"));
    let a = env
        .cmd()
        .arg("restore")
        .arg(&out)
        .arg("--yes")
        .assert()
        .success();
    assert!(stdout(&a).starts_with("nothing to restore"));
}

#[test]
fn a_backup_whose_keys_cannot_be_read_is_not_restored_without_force() {
    let env = Env::new();
    let bad = env.home.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/A\n      username: {{SessionName}}\n",
    )
    .unwrap();
    let a = env
        .cmd()
        .arg("restore")
        .arg(&bad)
        .arg("--yes")
        .assert()
        .code(5);
    assert!(
        one_sentence(&a).contains("mapRoles cannot be read"),
        "{}",
        stderr(&a)
    );
    assert!(env.server.writes().is_empty());
}

/// A backup file of `kube-system/aws-auth` (or of `name`, `uid`) holding `data`.
fn backup_file(env: &Env, file: &str, name: &str, uid: &str, data: Value) -> PathBuf {
    let path = env.home.path().join(file);
    let cm = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": NS, "uid": uid, "resourceVersion": "7"},
        "data": data,
    });
    std::fs::write(&path, serde_json::to_string_pretty(&cm).unwrap()).unwrap();
    path
}

/// Issue 13.1: restore honours every guard an edit honours; --yes only answers
/// the question, and a backup of another object needs --force.
#[test]
fn restore_honours_every_guard() {
    let env = Env::new();
    let uid = format!("uid-{NAME}");
    let admin_only = "- rolearn: arn:aws:iam::111122223333:role/Admin\n  username: admin:{{SessionName}}\n  groups:\n    - system:masters\n";
    let rewritten_node = ROLES.replace("    - system:nodes\n", "    - system:nodes\n    - extra\n");
    let cases: Vec<(&str, PathBuf, Vec<&str>)> = vec![
        (
            "no node role",
            backup_file(
                &env,
                "no-node.json",
                NAME,
                &uid,
                json!({"mapRoles": admin_only, "mapUsers": USERS, "other": "keep me"}),
            ),
            vec![
                "would remove the node role mapping of arn:aws:iam::111122223333:role/NodeInstanceRole",
            ],
        ),
        (
            "empty data",
            backup_file(&env, "empty.json", NAME, &uid, json!({})),
            vec![
                "would remove the node role mapping of arn:aws:iam::111122223333:role/NodeInstanceRole",
                "would remove the last mapping that grants system:masters",
            ],
        ),
        (
            "rewritten node role",
            backup_file(
                &env,
                "rewritten.json",
                NAME,
                &uid,
                json!({"mapRoles": rewritten_node, "mapUsers": USERS, "other": "keep me"}),
            ),
            vec!["would rewrite the node role mapping"],
        ),
    ];
    for (what, file, reasons) in &cases {
        let a = env
            .cmd()
            .arg("restore")
            .arg(file)
            .arg("--yes")
            .assert()
            .code(4);
        let err = one_sentence(&a);
        for r in reasons {
            assert!(err.contains(r), "{what}: {err}");
        }
        assert!(err.contains("nothing was written"), "{what}: {err}");
        assert!(env.server.writes().is_empty(), "{what}");
        assert!(env.backups().is_empty(), "{what}");
    }
    // A protected principal (--protect) whose mapping the backup drops.
    let no_ops = backup_file(
        &env,
        "no-ops.json",
        NAME,
        &uid,
        json!({"mapRoles": ROLES, "mapUsers": "", "other": "keep me"}),
    );
    let a = env
        .cmd()
        .args([
            "restore",
            "--yes",
            "--protect",
            "arn:aws:iam::111122223333:user/ops",
        ])
        .arg(&no_ops)
        .assert()
        .code(4);
    assert!(
        one_sentence(&a).contains(
            "would remove the mapping of the protected principal arn:aws:iam::111122223333:user/ops"
        ),
        "{}",
        stderr(&a)
    );
    // The caller's own identity, found through STS.
    let sts = Aws::start("arn:aws:sts::111122223333:assumed-role/Admin/alice@example.com");
    let no_admin_role = backup_file(
        &env,
        "no-admin-role.json",
        NAME,
        &uid,
        json!({"mapRoles": ROLES.split("- rolearn: arn:aws:iam::111122223333:role/Admin").next().unwrap(), "mapUsers": USERS, "other": "keep me"}),
    );
    let a = env
        .cmd()
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret-not-for-logs")
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_ENDPOINT_URL_STS", sts.url())
        .args(["restore", "--yes"])
        .arg(&no_admin_role)
        .assert()
        .code(4);
    assert!(
        one_sentence(&a).contains("protected principal arn:aws:iam::111122223333:role/Admin"),
        "{}",
        stderr(&a)
    );
    assert!(env.server.writes().is_empty());
    // A backup of another object: another name, or a uid from before the map
    // was deleted and created again.
    for (file, name, uid, why) in [
        (
            "other-name.json",
            "aws-auth-old",
            uid.as_str(),
            "its name is aws-auth-old",
        ),
        (
            "other-uid.json",
            NAME,
            "uid-long-gone",
            "its uid is uid-long-gone",
        ),
    ] {
        let path = backup_file(
            &env,
            file,
            name,
            uid,
            json!({"mapRoles": ROLES, "mapUsers": USERS, "other": "restored"}),
        );
        let a = env
            .cmd()
            .arg("restore")
            .arg(&path)
            .arg("--yes")
            .assert()
            .code(4);
        let err = one_sentence(&a);
        assert!(
            err.contains("is not a backup of kube-system/aws-auth") && err.contains(why),
            "{err}"
        );
        assert!(env.server.writes().is_empty());
        if name != NAME {
            let a = env
                .cmd()
                .arg("restore")
                .arg(&path)
                .args(["--yes", "--force"])
                .assert()
                .success();
            assert!(stdout(&a).contains("restored other"), "{}", stdout(&a));
            assert_eq!(env.data("other").as_deref(), Some("restored"));
            env.server.clear_seen();
        }
    }
    // --force carries a guarded restore out, saying what it overrode.
    let a = env
        .cmd()
        .arg("restore")
        .arg(&cases[0].1)
        .args(["--yes", "--force"])
        .assert()
        .success();
    assert!(
        stderr(&a).contains("warning: forced: this restore would remove the node role mapping"),
        "{}",
        stderr(&a)
    );
    assert_eq!(env.data("mapRoles").as_deref(), Some(admin_only));
}

/// Issue 13.10: backups say who administers the cluster; a backup directory
/// anyone can write to, or that another user owns, is refused (exit 74) and
/// nothing is written.
#[test]
fn an_unsafe_backup_directory_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let dir = env.home.path().join("state/aws-auth/backups/test");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let a = env.cmd().args(["add", "user", ALICE]).assert().code(74);
    assert!(
        one_sentence(&a).contains("can be written by anyone (mode 0777)"),
        "{}",
        stderr(&a)
    );
    assert!(env.server.writes().is_empty());
    let a = env.cmd().arg("backup").assert().code(74);
    assert!(one_sentence(&a).contains("refusing to keep backups there"));
    // Issue 20.15: writable by its group, or inside a directory others can
    // write to (without the sticky bit): refused too.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o770)).unwrap();
    let a = env.cmd().args(["add", "user", ALICE]).assert().code(74);
    assert!(
        one_sentence(&a).contains("can be written by its group (mode 0770)"),
        "{}",
        stderr(&a)
    );
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let parent = dir.parent().unwrap();
    std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o777)).unwrap();
    let a = env.cmd().args(["add", "user", ALICE]).assert().code(74);
    assert!(
        one_sentence(&a).contains("which can be written by others (mode 0777)"),
        "{}",
        stderr(&a)
    );
    assert!(env.server.writes().is_empty());
    // With the sticky bit, as /tmp has it, others cannot swap it.
    std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o1777)).unwrap();
    env.cmd().arg("backup").assert().success();
    std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o700)).unwrap();
    if std::os::unix::fs::chown(&dir, Some(1234), None).is_ok() {
        let a = env.cmd().args(["add", "user", ALICE]).assert().code(74);
        assert!(
            one_sentence(&a).contains("belongs to uid 1234"),
            "{}",
            stderr(&a)
        );
        assert!(env.server.writes().is_empty());
        std::os::unix::fs::chown(&dir, Some(my_uid()), None).unwrap();
    }
    env.cmd().args(["add", "user", ALICE]).assert().success();
}

/// Our uid: the owner of a file we create.
fn my_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    let probe = tempfile::NamedTempFile::new().unwrap();
    probe.as_file().metadata().unwrap().uid()
}

/// Issues 13.6 and 13.8: an unavailable or throttling API server is retried
/// a bounded number of times, each wait said on stderr at default verbosity,
/// and the end is exit 69 with what happened; one overall --timeout bounds
/// the whole command.
#[test]
fn unavailable_servers_are_retried_aloud_and_within_bounds() {
    let fast = ["--retry-delay", "0.01"];
    // A persistent 503 on the read.
    let env = Env::new();
    for _ in 0..10 {
        env.server
            .inject(Method::GET, Fault::Status(503, "ServiceUnavailable"));
    }
    let a = env.cmd().args(["get"]).args(fast).assert().code(69);
    let err = stderr(&a);
    assert!(
        err.contains("the API server answered 503 ServiceUnavailable to a read, retrying in 0.0 s (attempt 2)\n"),
        "{err}"
    );
    assert_eq!(err.matches("retrying in").count(), 5, "{err}");
    assert!(
        err.trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("error: the API server failed the request"),
        "{err}"
    );
    // The whole command stops at --timeout, however patient the retries.
    let env = Env::new();
    for _ in 0..10 {
        env.server
            .inject(Method::GET, Fault::Status(503, "ServiceUnavailable"));
    }
    let start = std::time::Instant::now();
    let a = env
        .cmd()
        .args(["get", "--timeout", "1.5", "--retry-delay", "1"])
        .assert()
        .code(69);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert!(
        stderr(&a).contains(
            "error: the API server did not answer in time (--timeout 1.5 s); nothing was written"
        ),
        "{}",
        stderr(&a)
    );
    // A persistent 429 on the write: 69, and nothing written.
    let env = Env::new();
    let before = env.data("mapUsers");
    for _ in 0..10 {
        env.server
            .inject(Method::PATCH, Fault::Status(429, "TooManyRequests"));
    }
    let a = env
        .cmd()
        .args(["add", "user", ALICE])
        .args(fast)
        .assert()
        .code(69);
    assert!(
        one_line_error(&a).contains("kept answering 429 Too Many Requests for kube-system/aws-auth (6 attempts); nothing was written"),
        "{}",
        stderr(&a)
    );
    assert_eq!(env.data("mapUsers"), before);
    assert_eq!(env.backups().len(), 1, "one backup, however many attempts");
}

/// The error line of a command that also printed retry notices.
fn one_line_error(a: &assert_cmd::assert::Assert) -> String {
    let err = stderr(a);
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(
        err.trim_end().ends_with(errors[0]),
        "the error comes last: {err}"
    );
    errors[0].to_owned()
}

/// Issue 13.8: each way a write can fail has its own exit code and sentence.
#[test]
fn write_failures_are_told_apart() {
    let fast = ["--retry-delay", "0.01", "--request-timeout", "0.5"];
    // Every write goes unanswered (and is not stored): 69, "did not answer in
    // time", one backup.
    let env = Env::new();
    for _ in 0..10 {
        env.server
            .inject(Method::PATCH, Fault::Hang(Duration::from_secs(3)));
    }
    let a = env
        .cmd()
        .args(["add", "user", ALICE])
        .args(fast)
        .assert()
        .code(69);
    let err = one_line_error(&a);
    assert!(
        err.contains("the API server did not answer in time: none of 6 writes"),
        "{err}"
    );
    assert!(!err.contains("other writers"), "{err}");
    assert!(!env.data("mapUsers").unwrap().contains("alice"));
    assert_eq!(env.backups().len(), 1);
    // The ConfigMap deleted between our read and our write: 3.
    let env = Env::new();
    env.server.after_next_get(|store| store.delete(NS, NAME));
    let a = env.cmd().args(["add", "user", ALICE]).assert().code(3);
    assert!(
        one_line_error(&a).contains("kube-system/aws-auth does not exist"),
        "{}",
        stderr(&a)
    );
    // An answer that is not a ConfigMap: 69, said so.
    let env = Env::new();
    for _ in 0..10 {
        env.server.inject(Method::GET, Fault::Garbage);
    }
    let a = env.cmd().args(["get"]).args(fast).assert().code(69);
    assert!(
        one_line_error(&a)
            .contains("the API server answered with something that is not a ConfigMap"),
        "{}",
        stderr(&a)
    );
    // Out-of-range numbers are usage errors, never a panic.
    for bad in ["1e20", "-1", "nan", "inf", "0"] {
        let a = env
            .cmd()
            .args(["get", &format!("--request-timeout={bad}")])
            .assert()
            .code(64);
        assert!(
            stderr(&a).contains("--request-timeout"),
            "{bad}: {}",
            stderr(&a)
        );
        env.cmd()
            .args(["get", &format!("--timeout={bad}")])
            .assert()
            .code(64);
        env.cmd()
            .args([
                "migrate",
                "plan",
                "--file",
                "x",
                &format!("--poll-interval={bad}"),
            ])
            .assert()
            .code(if bad == "0" { 3 } else { 64 });
    }
}

/// Recognisable fake secrets, none of which may ever be printed.
const SECRETS: [&str; 10] = [
    "stdout-SECRET-only-printed",
    "tok-SECRET-kubeconfig-token",
    "pw-SECRET-basic-password",
    "key-SECRET-client-key",
    "env-SECRET-exec-env",
    "arg-SECRET-exec-arg",
    "out-SECRET-plugin-output",
    "k8s-aws-v1.SECRETplugintoken0123456789",
    "aws-SECRET-access-key",
    "aws-SECRET-session-token",
];

fn assert_no_secret(what: &str, text: &str) {
    use base64::Engine as _;
    for s in SECRETS {
        assert!(!text.contains(s), "{what} printed {s}:\n{text}");
    }
    // Basic auth as it goes on the wire.
    let basic = base64::engine::general_purpose::STANDARD.encode("admin:pw-SECRET-basic-password");
    assert!(!text.contains(&basic), "{what} printed {basic}:\n{text}");
    // Any part of one (the names of variables such as AWS_SECRET_ACCESS_KEY
    // may be shown).
    for part in ["-SECRET", "SECRET-", "SECRETplugin"] {
        assert!(!text.contains(part), "{what} printed a secret:\n{text}");
    }
}

/// A credential plugin script: it prints `stderr` to stderr, then the
/// ExecCredential with `token`, or exits with `code`.
fn plugin(dir: &Path, name: &str, stderr_text: &str, code: i32, sleep: u32) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\nsleep {sleep}\nprintf '%s\\n' '{stderr_text}' >&2\n[ {code} -eq 0 ] || exit {code}\nprintf '%s' '{{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"k8s-aws-v1.SECRETplugintoken0123456789\"}}}}'\n"
        ),
    )
    .unwrap();
    make_executable(&path);
    path
}

/// Issue 13.4: credentials from the kubeconfig (token, password, client key,
/// the exec plugin's env, arguments and output) and from the AWS
/// environment appear nowhere in stdout or stderr, at default verbosity and
/// at -vvv, on every error path; a failing plugin is one sentence naming its
/// command, its stderr shown only with -v and redacted.
#[test]
fn credentials_are_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let failing = plugin(
        dir.path(),
        "failing-plugin",
        "error: token=out-SECRET-plugin-output refused; AWS_SECRET_ACCESS_KEY=env-SECRET-exec-env",
        3,
        0,
    );
    let working = plugin(dir.path(), "working-plugin", "fetching a token", 0, 0);
    let exec = |command: &Path| {
        json!({"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": command,
            "args": ["eks", "get-token", "--token", "arg-SECRET-exec-arg", "--cluster-name", "test"],
            "env": [{"name": "AWS_SECRET_ACCESS_KEY", "value": "env-SECRET-exec-env"}],
            "interactiveMode": "Never"
        }})
    };
    let aws_env = |cmd: &mut Command| {
        cmd.env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", "aws-SECRET-access-key")
            .env("AWS_SESSION_TOKEN", "aws-SECRET-session-token")
            .env("AWS_REGION", "eu-west-1")
            .env("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9");
    };
    struct Case {
        what: &'static str,
        auth: Value,
        token: Option<&'static str>,
        code: i32,
        needle: &'static str,
    }
    let cases = [
        Case {
            what: "a failing exec plugin",
            auth: exec(&failing),
            token: None,
            code: 78,
            needle: "the kubeconfig's credential plugin `",
        },
        Case {
            what: "a plugin whose token the server refuses",
            auth: exec(&working),
            token: Some("another-token"),
            code: 77,
            needle: "refused access",
        },
        Case {
            what: "a token the server refuses",
            auth: json!({"token": "tok-SECRET-kubeconfig-token"}),
            token: Some("another-token"),
            code: 77,
            needle: "refused access",
        },
        Case {
            what: "a basic-auth password",
            auth: json!({"username": "admin", "password": "pw-SECRET-basic-password"}),
            token: Some("another-token"),
            code: 77,
            needle: "refused access",
        },
        Case {
            what: "a client key that is not a key",
            auth: json!({
                "client-certificate-data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCm5vdAotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg==",
                "client-key-data": "a2V5LVNFQ1JFVC1jbGllbnQta2V5",
                "token": "tok-SECRET-kubeconfig-token",
            }),
            token: None,
            code: 78,
            needle: "",
        },
    ];
    for case in cases {
        let env = Env::with(
            Options {
                tls: true,
                token: case.token.map(str::to_owned),
                ..Options::default()
            },
            case.auth.clone(),
        );
        for verbosity in [None, Some("-vvv")] {
            for args in [
                &["get"][..],
                &[
                    "remove",
                    "user",
                    "arn:aws:iam::111122223333:user/ops",
                    "--force",
                    "--yes",
                ][..],
            ] {
                let mut cmd = env.cmd();
                aws_env(&mut cmd);
                cmd.args(args).args(verbosity);
                let a = cmd.assert().code(case.code);
                let (out, err) = (stdout(&a), stderr(&a));
                assert_no_secret(case.what, &out);
                assert_no_secret(case.what, &err);
                assert!(
                    err.lines().last().unwrap_or("").contains(case.needle),
                    "{}: {err}",
                    case.what
                );
                if verbosity.is_none() {
                    one_sentence(&a);
                }
            }
        }
    }
    // Issue 20.6: the server echoes the Authorization header it refused (as
    // some proxies do): the credential in it is not printed, whichever kind.
    for auth in [
        json!({"username": "admin", "password": "pw-SECRET-basic-password"}),
        exec(&working),
    ] {
        let env = Env::with(
            Options {
                tls: true,
                token: Some("another-token".to_owned()),
                ..Options::default()
            },
            auth,
        );
        for verbosity in [None, Some("-vvv")] {
            let a = env.cmd().arg("get").args(verbosity).assert().code(77);
            let err = stderr(&a);
            assert_no_secret("an echoed Authorization header", &err);
            if verbosity.is_none() {
                assert!(
                    err.contains("Basic [redacted]") || err.contains("Bearer [redacted]"),
                    "the echo is not in the message, so this test tests nothing: {err}"
                );
            }
        }
    }
    // A failing plugin that prints `token VALUE` on stderr and its token on
    // stdout: neither shape is shown, even at -vvv.
    let leaky = dir.path().join("leaky-plugin");
    std::fs::write(
        &leaky,
        "#!/bin/sh\nprintf '%s\\n' 'refreshing: token out-SECRET-plugin-output expired; cached as stdout-SECRET-only-printed' >&2\nprintf '%s' 'stdout-SECRET-only-printed'\nexit 1\n",
    )
    .unwrap();
    make_executable(&leaky);
    let env = Env::with(
        Options {
            tls: true,
            ..Options::default()
        },
        exec(&leaky),
    );
    for verbosity in [None, Some("-v"), Some("-vvv")] {
        let a = env.cmd().arg("get").args(verbosity).assert().code(78);
        assert_no_secret("a plugin saying token VALUE", &stderr(&a));
        assert_no_secret("a plugin saying token VALUE", &stdout(&a));
    }
    // With -v the failing plugin's stderr is shown, redacted.
    let env = Env::with(
        Options {
            tls: true,
            ..Options::default()
        },
        exec(&failing),
    );
    let a = env.cmd().args(["-v", "get"]).assert().code(78);
    let err = stderr(&a);
    assert!(
        err.contains("error: token=[redacted] refused; AWS_SECRET_ACCESS_KEY=[redacted]"),
        "{err}"
    );
    assert!(
        err.contains("failed (exit status 3); run with -v to see what it said"),
        "{err}"
    );
    assert_no_secret("-v", &err);
}

/// Issue 13.5: a credential plugin that hangs ends the command in bounded time
/// (--request-timeout), exit 78, one sentence.
#[test]
fn a_hanging_credential_plugin_ends_in_bounded_time() {
    let dir = tempfile::tempdir().unwrap();
    // It hangs in a child of its own, which must not outlive the command
    // (issue 20.12).
    let pid_file = dir.path().join("plugin.pid");
    let hanging = dir.path().join("hanging-plugin");
    std::fs::write(
        &hanging,
        format!(
            "#!/bin/sh\nsleep 600 &\necho $! > {}\nwait\n",
            pid_file.display()
        ),
    )
    .unwrap();
    make_executable(&hanging);
    let env = Env::with(
        Options {
            tls: true,
            ..Options::default()
        },
        json!({"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": hanging, "interactiveMode": "Never"}}),
    );
    let start = std::time::Instant::now();
    let a = env
        .cmd()
        .args(["get", "--request-timeout", "2"])
        .assert()
        .code(78);
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "{:?}",
        start.elapsed()
    );
    assert!(
        one_sentence(&a).contains("did not finish within 2 s (--request-timeout)"),
        "{}",
        stderr(&a)
    );
    assert!(env.server.seen().is_empty());
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let stat = PathBuf::from(format!("/proc/{}/stat", pid.trim()));
    let started = std::time::Instant::now();
    while std::fs::read_to_string(&stat).is_ok_and(|s| !s.contains(") Z")) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the plugin's child {pid} was left running"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_callers_own_identity_is_protected() {
    let env = Env::new();
    let sts = Aws::start("arn:aws:sts::111122223333:assumed-role/Admin/alice@example.com");
    let identity_calls = || {
        sts.calls()
            .iter()
            .filter(|c| c.op == "GetCallerIdentity")
            .count()
    };
    let with_credentials = |cmd: &mut Command| {
        cmd.env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", "secret-not-for-logs")
            .env("AWS_REGION", "eu-west-1")
            .env("AWS_ENDPOINT_URL_STS", sts.url());
    };
    // Giving a lower-admin role away first, so that Admin is not the last admin.
    let mut cmd = env.cmd();
    with_credentials(&mut cmd);
    let a = cmd
        .args([
            "remove",
            "role",
            "arn:aws:iam::111122223333:role/Admin",
            "-v",
        ])
        .assert()
        .code(4);
    let err = stderr(&a);
    assert!(
        err.contains("protected principal arn:aws:iam::111122223333:role/Admin"),
        "{err}"
    );
    assert!(
        !err.contains("secret-not-for-logs") && !err.contains("t0ken-not-for-logs"),
        "{err}"
    );
    assert_eq!(identity_calls(), 1);
    assert!(env.server.writes().is_empty());
    // Adding needs no identity.
    let mut cmd = env.cmd();
    with_credentials(&mut cmd);
    cmd.args(["add", "user", ALICE]).assert().success();
    assert_eq!(identity_calls(), 1);
}

#[test]
fn verbose_logs_show_requests_and_never_tokens() {
    let env = Env::new();
    let a = env
        .cmd()
        .args(["-vvv", "add", "user", ALICE])
        .assert()
        .success();
    let err = stderr(&a);
    assert!(
        err.contains("requesting") || err.contains("connecting"),
        "{err}"
    );
    assert!(err.contains("saved the prior object"), "{err}");
    assert!(!err.contains("t0ken-not-for-logs"), "{err}");
}

#[test]
fn lint_in_a_cluster_names_the_key_and_the_line() {
    let env = Env::new();
    env.server.with_store(|s| {
        s.set_data(
            NS,
            NAME,
            "mapRoles",
            "- rolearn: arn:aws:iam::111122223333:role/A\n  username: {{SessionName}}\n",
        )
    });
    let a = env.cmd().arg("lint").assert().code(1);
    assert!(
        stdout(&a).starts_with("kube-system/aws-auth:data.mapRoles:2:13: error[unquoted-template]"),
        "{}",
        stdout(&a)
    );
}

#[test]
fn kubectl_runs_it_as_a_plugin() {
    let env = Env::new();
    let bin_dir = assert_cmd::cargo::cargo_bin("kubectl-aws_auth")
        .parent()
        .unwrap()
        .to_owned();
    let out = crate::kubectl(&env)
        .env(
            "PATH",
            format!("{}:{}", bin_dir.display(), crate::kubectl_dir().display()),
        )
        .env("XDG_STATE_HOME", env.home.path().join("state"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(["aws-auth", "get"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("arn:aws:iam::111122223333:role/NodeInstanceRole"),
        "{stdout}"
    );
}

/// In a pod: no kubeconfig, the service account's token and CA at the fixed
/// path kube reads, and `KUBERNETES_SERVICE_HOST`/`_PORT`. The fixed path is
/// put in place in a private mount namespace (util-linux `unshare`), so the
/// real kube client takes the in-cluster route against the local server.
#[test]
fn in_a_pod_the_service_account_is_used() {
    let env = Env::new();
    let pod = tempfile::tempdir().unwrap();
    let sa = pod.path().join("secrets/kubernetes.io/serviceaccount");
    std::fs::create_dir_all(&sa).unwrap();
    std::fs::write(sa.join("token"), "t0ken-not-for-logs").unwrap();
    std::fs::write(
        sa.join("ca.crt"),
        &env.server.tls.as_ref().expect("TLS server").ca_pem,
    )
    .unwrap();
    std::fs::write(sa.join("namespace"), "kube-system").unwrap();
    let bin = assert_cmd::cargo::cargo_bin("aws-auth");
    // /var/run is /run: mount the pod's files over it, for this process only.
    let script = format!(
        "mount --bind '{}' /run && exec '{}' get -o json",
        pod.path().display(),
        bin.display()
    );
    let in_pod = || {
        std::process::Command::new("unshare")
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", env.home.path())
            .env("KUBERNETES_SERVICE_HOST", "127.0.0.1")
            .env(
                "KUBERNETES_SERVICE_PORT",
                env.server.addr.port().to_string(),
            )
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .args(["--user", "--map-root-user", "--mount", "sh", "-c", &script])
            .output()
            .expect("util-linux unshare runs")
    };
    let out = in_pod();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("unshare: "),
        "this test needs user and mount namespaces (unshare -rm): {stderr}"
    );
    assert!(out.status.success(), "{stderr}");
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(got["mapRoles"].is_array(), "{got}");
    // The server requires the token, so the request carried it.
    assert!(!env.server.seen().is_empty());

    // The same pod without its token: one sentence, exit 78.
    std::fs::remove_file(sa.join("token")).unwrap();
    let out = in_pod();
    assert_eq!(out.status.code(), Some(78));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(
            "failed to read token file '\"/var/run/secrets/kubernetes.io/serviceaccount/token\"'"
        ),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn desired(env: &Env, name: &str, text: &str) -> PathBuf {
    let path = env.home.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Issue 14: a converging sync costs one read and one conditional write; one
/// that finds nothing to do costs one read; another owner's entries and a
/// third writer's change survive concurrent syncs.
#[test]
fn syncs_converge_in_two_requests_and_lose_no_one_elses_write() {
    let env = Env::new();
    let a = desired(
        &env,
        "a.yaml",
        "mapRoles:\n  - rolearn: arn:aws:iam::111122223333:role/TeamA\n    username: \"a:{{SessionName}}\"\n    groups: [team-a]\nmapUsers:\n  - userarn: arn:aws:iam::111122223333:user/alice\n    username: alice\n",
    );
    let b = desired(
        &env,
        "b.yaml",
        "mapRoles:\n  - rolearn: arn:aws:iam::111122223333:role/TeamB\n    username: b\n    groups: [team-b]\n",
    );
    let sync = |file: &Path, owner: &str| {
        env.cmd()
            .args(["sync", file.to_str().unwrap(), "--owner", owner, "--prune"])
            .assert()
            .success()
    };
    sync(&a, "team-a");
    let m = methods(&env.server);
    assert_eq!(
        m.iter().filter(|m| m.starts_with("GET")).count(),
        1,
        "{m:?}"
    );
    assert_eq!(
        m.iter().filter(|m| m.starts_with("PATCH")).count(),
        1,
        "{m:?}"
    );
    let roles = env.data("mapRoles").unwrap();
    assert!(roles.starts_with(ROLES), "{roles}");
    assert!(roles.contains("role/TeamA\n  username: a:{{SessionName}}\n  groups:\n    - team-a\n  syncedBy: team-a\n"), "{roles}");
    // Nothing to do: one read, no write.
    let before = env.server.seen().len();
    let out = sync(&a, "team-a");
    assert_eq!(
        env.server.seen().len() - before,
        1,
        "{:?}",
        methods(&env.server)
    );
    assert!(stdout(&out).contains("unchanged"), "{}", stdout(&out));
    // Two owners and a third writer at once: each one's change lands.
    race_in_another_user(&env);
    let bin = assert_cmd::cargo::cargo_bin("aws-auth");
    let spawn = |file: &Path, owner: &str| {
        std::process::Command::new(&bin)
            .env_clear()
            .env("HOME", env.home.path())
            .env("KUBECONFIG", &env.kubeconfig)
            .env("XDG_STATE_HOME", env.home.path().join("state"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", env.home.path().join("no-aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                env.home.path().join("no-aws-credentials"),
            )
            .args(["sync", file.to_str().unwrap(), "--owner", owner, "--prune"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // team-a now wants another group; team-b its first mapping.
    let a2 = desired(
        &env,
        "a2.yaml",
        "mapRoles:\n  - rolearn: arn:aws:iam::111122223333:role/TeamA\n    username: \"a:{{SessionName}}\"\n    groups: [team-a, view]\n",
    );
    let children = [spawn(&a2, "team-a"), spawn(&b, "team-b")];
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let roles = env.data("mapRoles").unwrap();
    let users = env.data("mapUsers").unwrap();
    assert!(roles.starts_with(ROLES), "{roles}");
    assert!(
        roles.contains("    - team-a\n    - view\n  syncedBy: team-a\n"),
        "{roles}"
    );
    assert!(
        roles.contains("role/TeamB\n  username: b\n  groups:\n    - team-b\n  syncedBy: team-b\n"),
        "{roles}"
    );
    // team-a pruned alice (no longer in its file); the third writer's bob stays.
    assert!(!users.contains("user/alice"), "{users}");
    assert!(users.contains("user/bob\n  username: bob\n"), "{users}");
    assert!(users.starts_with(USERS), "{users}");
}

/// A file of desired mappings that cannot be read: one sentence with the
/// place, and nothing sent.
#[test]
fn a_bad_desired_file_is_refused_before_anything_is_sent() {
    let env = Env::new();
    let bad = desired(
        &env,
        "bad.yaml",
        "mapRoles:\n  - roleARN: arn:aws:iam::111122223333:role/X\n",
    );
    let a = env
        .cmd()
        .args(["sync", bad.to_str().unwrap(), "--owner", "team-a"])
        .assert()
        .code(5);
    let err = stderr(&a);
    assert!(
        err.contains("line 2, column 5: unknown field \"roleARN\""),
        "{err}"
    );
    assert!(env.server.seen().iter().all(|s| s.method != "PATCH"));
}

/// Issue 11: protections travel with the map (the `aws-auth/protected`
/// annotation): every edit honours them without --protect, and removing one
/// is itself guarded.
#[test]
fn protections_travel_with_the_map() {
    let env = Env::new();
    let admin = "arn:aws:iam::111122223333:role/Admin";
    let a = env.cmd().args(["protect", admin]).assert().success();
    assert!(
        stdout(&a).contains("aws-auth/protected is now"),
        "{}",
        stdout(&a)
    );
    let object = env.server.object(NS, NAME).unwrap();
    assert_eq!(
        object["metadata"]["annotations"]["aws-auth/protected"],
        admin
    );
    // A second time: nothing to change.
    let a = env.cmd().args(["protect", admin]).assert().success();
    assert!(stdout(&a).contains("nothing to change"), "{}", stdout(&a));
    // Issue 20.15: two ARNs in one argument would parse as the second role
    // with an odd IAM path: refused, from protect and from --protect alike.
    let writes = env.server.writes().len();
    let two = format!("{admin},arn:aws:iam::111122223333:role/Bob");
    for args in [
        vec!["protect", two.as_str()],
        vec!["--protect", two.as_str(), "remove", "role", admin],
    ] {
        let a = env.cmd().args(&args).assert().code(5);
        assert!(
            one_sentence(&a).contains("is not one ARN (it holds 2): give one ARN per argument"),
            "{args:?}: {}",
            stderr(&a)
        );
    }
    assert_eq!(env.server.writes().len(), writes);
    // Removing the protected mapping is refused, --protect or not.
    let a = env.cmd().args(["remove", "role", admin]).assert().code(4);
    assert!(stderr(&a).contains("protected principal"), "{}", stderr(&a));
    // Unprotecting needs --force.
    env.cmd().args(["unprotect", admin]).assert().code(4);
    env.cmd()
        .args(["unprotect", admin, "--force"])
        .assert()
        .success();
    let object = env.server.object(NS, NAME).unwrap();
    assert!(
        object["metadata"]["annotations"]
            .get("aws-auth/protected")
            .is_none(),
        "{object}"
    );
    // In a file, the annotation protects too.
    let dir = tempfile::tempdir().unwrap();
    let manifest = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\n  annotations:\n    aws-auth/protected: {admin}\ndata:\n  mapRoles: |\n    - rolearn: {admin}\n      username: admin\n      groups: [system:masters]\n    - rolearn: arn:aws:iam::111122223333:role/Other\n      username: other\n      groups: [system:masters]\n"
    );
    std::fs::write(dir.path().join("m.yaml"), &manifest).unwrap();
    crate::aws_auth(dir.path())
        .current_dir(dir.path())
        .args(["--file", "m.yaml", "remove", "role", admin])
        .assert()
        .code(4);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("m.yaml")).unwrap(),
        manifest
    );
}

/// Issue 21.8: every command's result is data, rendered in one place: with
/// `-o json` each one prints one JSON document (never a sentence), and what
/// is said beside it goes to stderr.
#[test]
fn every_cluster_command_answers_in_json() {
    let env = Env::new();
    let admin = "arn:aws:iam::111122223333:role/Admin";
    let json = |args: &[&str]| -> (Value, String) {
        let a = env.cmd().args(["-o", "json"]).args(args).assert();
        let out = stdout(&a);
        let v: Value = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("{args:?}: not one JSON document ({e}): {out}"));
        (v, stderr(&a))
    };
    let (v, _) = json(&["protect", admin]);
    assert_eq!(
        v,
        json!({"object": "kube-system/aws-auth", "annotation": "aws-auth/protected", "value": admin, "changed": true, "dryRun": false})
    );
    let (v, _) = json(&["protect", admin]);
    assert_eq!(v["changed"], false);
    let (v, _) = json(&["unprotect", admin, "--force", "--dry-run"]);
    assert_eq!((&v["value"], &v["dryRun"]), (&Value::Null, &json!(true)));
    let (v, err) = json(&["unprotect", admin, "--force"]);
    assert_eq!((&v["value"], &v["changed"]), (&Value::Null, &json!(true)));
    assert!(
        err.contains(&format!(
            "warning: forced: removed the protection of {admin}"
        )),
        "{err}"
    );
    let out = env.home.path().join("b.json");
    let (v, _) = json(&["backup", "--out", out.to_str().unwrap()]);
    assert_eq!(v["backup"], out.display().to_string());
    assert!(v["resourceVersion"].is_string(), "{v}");
    let (v, _) = json(&["restore", out.to_str().unwrap(), "--yes"]);
    assert_eq!(
        (&v["restored"], &v["deleted"]),
        (&json!([]), &json!([])),
        "{v}"
    );
    let (v, _) = json(&["get"]);
    assert!(v["mapRoles"].is_array(), "{v}");
    let (v, _) = json(&["lint"]);
    assert!(v["diagnostics"].is_array(), "{v}");
    let (v, _) = json(&["explain", admin]);
    assert_eq!(v["principal"], admin);
}

/// The caller whose own mapping is kept is the one the API server sees: the
/// AWS profile the kubeconfig's exec plugin logs in with, not whatever the
/// shell's default credentials are (here there are none).
#[test]
fn the_own_mapping_guard_follows_the_exec_plugins_profile() {
    let sts = Aws::start("arn:aws:sts::111122223333:assumed-role/Admin/alice@example.com");
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("get-token");
    std::fs::write(
        &script,
        "#!/bin/sh\nprintf '%s' '{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"k8s-aws-v1.exec-token\"}}'\n",
    )
    .unwrap();
    make_executable(&script);
    for exec in [
        json!({"apiVersion": "client.authentication.k8s.io/v1beta1", "command": script,
            "args": ["eks", "get-token", "--cluster-name", "test", "--profile", "ops"]}),
        json!({"apiVersion": "client.authentication.k8s.io/v1beta1", "command": script,
            "args": ["eks", "get-token", "--cluster-name", "test"],
            "env": [{"name": "AWS_PROFILE", "value": "ops"}]}),
    ] {
        let env = Env::with(
            Options {
                token: Some("k8s-aws-v1.exec-token".to_owned()),
                ..Options::default()
            },
            json!({ "exec": exec }),
        );
        let credentials = env.home.path().join("aws-credentials");
        std::fs::write(
            &credentials,
            "[ops]\naws_access_key_id = AKIDOPS\naws_secret_access_key = ops-secret-key\n",
        )
        .unwrap();
        let a = env
            .cmd()
            .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
            .env("AWS_ENDPOINT_URL_STS", sts.url())
            .args(["remove", "role", "arn:aws:iam::111122223333:role/Admin"])
            .assert()
            .code(4);
        assert!(
            one_sentence(&a).contains("protected principal arn:aws:iam::111122223333:role/Admin"),
            "{exec}: {}",
            stderr(&a)
        );
        assert!(env.server.writes().is_empty(), "{exec}");
    }
    // `--role-arn R`: the API server sees R; no STS call is needed (none
    // could be made here).
    let env = Env::with(
        Options {
            token: Some("k8s-aws-v1.exec-token".to_owned()),
            ..Options::default()
        },
        json!({"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": script,
            "args": ["eks", "get-token", "--cluster-name", "test", "--role-arn", "arn:aws:iam::111122223333:role/Admin"]}}),
    );
    let a = env
        .cmd()
        .env("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9")
        .args(["remove", "role", "arn:aws:iam::111122223333:role/Admin"])
        .assert()
        .code(4);
    assert!(
        one_sentence(&a).contains("protected principal arn:aws:iam::111122223333:role/Admin"),
        "{}",
        stderr(&a)
    );
}

/// Issue 20.13: a 429 that says when to come back is waited for, however
/// short the back-off; writes the API server answered 503 to, until the
/// deadline, are reported as not written (no "may or may not have landed").
#[test]
fn retry_after_is_honoured_and_refused_writes_are_not_in_doubt() {
    let env = Env::new();
    env.server.inject(Method::PATCH, Fault::TooManyRequests(2));
    env.cmd()
        .args(["add", "user", ALICE, "--retry-delay", "0.01"])
        .assert()
        .success();
    let patches: Vec<std::time::Instant> = env
        .server
        .seen()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| r.at)
        .collect();
    assert_eq!(patches.len(), 2, "one refused, one written");
    let gap = patches[1].duration_since(patches[0]);
    assert!(gap >= Duration::from_millis(1900), "retried after {gap:?}");
    // 503 to every write until --timeout: nothing was written, and it says so.
    let env = Env::new();
    for _ in 0..200 {
        env.server
            .inject(Method::PATCH, Fault::Status(503, "ServiceUnavailable"));
    }
    let a = env
        .cmd()
        .args([
            "add",
            "user",
            ALICE,
            "--timeout",
            "2",
            "--retry-delay",
            "0.2",
        ])
        .assert()
        .code(69);
    let e = one_line_error(&a);
    assert!(
        e.contains("did not answer in time (--timeout 2 s); nothing was written"),
        "{e}"
    );
    assert!(!env.data("mapUsers").unwrap_or_default().contains("alice"));
    // A write whose answer never comes before the deadline: in doubt, said so.
    let env = Env::new();
    env.server
        .inject(Method::PATCH, Fault::DelayAnswer(Duration::from_secs(5)));
    let a = env
        .cmd()
        .args([
            "add",
            "user",
            ALICE,
            "--timeout",
            "2",
            "--request-timeout",
            "10",
        ])
        .assert()
        .code(69);
    assert!(
        one_line_error(&a).contains("a write may or may not have landed"),
        "{}",
        stderr(&a)
    );
}

/// Issue 20.12: the own-identity lookup of a map edit gives up after its
/// few seconds when the credential_process hangs, and ends it and what it
/// started instead of leaving them running.
#[test]
fn a_hanging_credential_process_of_the_identity_lookup_is_ended() {
    let env = Env::new();
    let dir = env.home.path();
    let pid_file = dir.join("hang.pid");
    let hang = dir.join("hang.sh");
    std::fs::write(
        &hang,
        format!(
            "#!/bin/sh\nsleep 120 &\necho $! > {}\nwait\n",
            pid_file.display()
        ),
    )
    .unwrap();
    make_executable(&hang);
    let config = dir.join("aws-config");
    std::fs::write(
        &config,
        format!(
            "[default]\nregion = eu-west-1\ncredential_process = {}\n",
            hang.display()
        ),
    )
    .unwrap();
    let a = env
        .cmd()
        .args([
            "remove",
            "user",
            "arn:aws:iam::111122223333:user/ops",
            "--force",
            "--yes",
        ])
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9")
        .assert()
        .success();
    assert!(
        stderr(&a).contains("your own AWS identity was not found"),
        "{}",
        stderr(&a)
    );
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let stat = PathBuf::from(format!("/proc/{}/stat", pid.trim()));
    let started = std::time::Instant::now();
    while std::fs::read_to_string(&stat).is_ok_and(|s| !s.contains(") Z")) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the credential_process's child {pid} was left running"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Issue 24 (first part): one read-only command over several contexts, a
/// bounded number at a time. A cluster that hangs and one that refuses the
/// credentials are rows with their errors, the other's result is there, the
/// exit code is the worst, all within --timeout; a write is refused.
#[test]
fn many_contexts_one_result_each_cluster_its_row() {
    let good = Env::plain();
    let hang = ApiServer::with(Options::default());
    for _ in 0..20 {
        hang.inject(Method::GET, Fault::Hang(Duration::from_secs(30)));
    }
    let refused = ApiServer::with(Options {
        token: Some("the-right-one".into()),
        ..Options::default()
    });
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "good", "cluster": {"server": good.server.url()}},
            {"name": "hang", "cluster": {"server": hang.url()}},
            {"name": "refused", "cluster": {"server": refused.url()}},
        ],
        "users": [
            {"name": "anyone", "user": {}},
            {"name": "wrong", "user": {"token": "not-the-right-one"}},
        ],
        "contexts": [
            {"name": "prod-good", "context": {"cluster": "good", "user": "anyone"}},
            {"name": "prod-hang", "context": {"cluster": "hang", "user": "anyone"}},
            {"name": "prod-refused", "context": {"cluster": "refused", "user": "wrong"}},
            {"name": "dev", "context": {"cluster": "good", "user": "anyone"}},
        ],
        "current-context": "dev",
    });
    let kubeconfig = good.home.path().join("fleet-kubeconfig");
    std::fs::write(&kubeconfig, config.to_string()).unwrap();
    let run = |args: &[&str]| {
        let mut cmd = good.cmd();
        cmd.env("KUBECONFIG", &kubeconfig)
            .args(["--request-timeout", "1", "--timeout", "3"])
            .args(args);
        cmd
    };
    let started = std::time::Instant::now();
    let a = run(&["--context-pattern", "prod-*", "lint", "-o", "json"])
        .assert()
        .code(77);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let v: Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    let contexts = v["contexts"].as_object().unwrap();
    assert_eq!(contexts.len(), 3, "{v}");
    assert_eq!(v["contexts"]["prod-good"]["exitCode"], 0, "{v}");
    assert!(
        v["contexts"]["prod-good"]["result"].is_object()
            || v["contexts"]["prod-good"]["result"].is_array(),
        "{v}"
    );
    assert_eq!(v["contexts"]["prod-hang"]["exitCode"], 69, "{v}");
    assert_eq!(v["contexts"]["prod-refused"]["exitCode"], 77, "{v}");
    assert!(
        v["contexts"]["prod-refused"]["error"]
            .as_str()
            .unwrap()
            .contains("refused"),
        "{v}"
    );
    assert!(
        !a.get_output()
            .stdout
            .windows(17)
            .any(|w| w == b"not-the-right-one")
    );
    // The table: a row per cluster.
    let a = run(&["--contexts", "prod-good,dev", "get"])
        .assert()
        .code(0);
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(out.starts_with("CONTEXT"), "{out}");
    assert!(
        out.contains("\ndev ") && out.contains("\nprod-good "),
        "{out}"
    );
    // A write goes to one cluster at a time.
    good.server.clear_seen();
    let a = run(&[
        "--all-contexts",
        "remove",
        "user",
        "arn:aws:iam::111122223333:user/alice",
    ])
    .assert()
    .code(64);
    assert!(
        String::from_utf8_lossy(&a.get_output().stderr)
            .contains("a write goes to one cluster at a time"),
        "{}",
        String::from_utf8_lossy(&a.get_output().stderr)
    );
    assert!(good.server.writes().is_empty());
    // On a terminal, a progress line says how far the run is while the
    // hung cluster holds it; the table still comes whole.
    let bin = assert_cmd::cargo::cargo_bin("aws-auth");
    let out = std::process::Command::new("script")
        .env_clear()
        .env("HOME", good.home.path())
        .env("KUBECONFIG", &kubeconfig)
        .env("COLUMNS", "120")
        .env("TERM", "xterm")
        .args([
            "-qec",
            &format!(
                "{} --context-pattern 'prod-*' --request-timeout 1 --timeout 3 lint",
                bin.display()
            ),
            "/dev/null",
        ])
        .output()
        .expect("script (util-linux) runs");
    let screen = String::from_utf8_lossy(&out.stdout).replace('\r', "\n");
    assert!(screen.contains("/3 "), "no progress line: {screen}");
    assert!(screen.contains("CONTEXT"), "{screen}");
    assert!(!screen.contains("not-the-right-one"), "{screen}");
}
