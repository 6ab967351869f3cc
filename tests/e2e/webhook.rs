//! Issue 11: `aws-auth webhook serve` answers AdmissionReviews over HTTPS,
//! checked against its CA as the API server checks the caBundle.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use crate::webhook_client::{connect, post, read_response, tls_config};

const HEAD: &str = "- rolearn: arn:aws:iam::111122223333:role/Nodes\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:bootstrappers, system:nodes]\n- rolearn: arn:aws:iam::111122223333:role/Admin\n  username: admin\n  groups: [system:masters]\n";

struct Webhook {
    child: Child,
    address: String,
    dir: tempfile::TempDir,
    log: std::sync::mpsc::Receiver<String>,
}

fn write_cert(dir: &Path) {
    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    std::fs::write(dir.join("tls.crt"), cert.cert.pem()).unwrap();
    std::fs::write(dir.join("tls.key"), cert.signing_key.serialize_pem()).unwrap();
}

impl Webhook {
    fn start() -> Webhook {
        let dir = tempfile::tempdir().unwrap();
        write_cert(dir.path());
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("aws-auth"))
            .env_clear()
            .env("HOME", dir.path())
            .current_dir(dir.path())
            .args([
                "webhook",
                "serve",
                "--cert",
                "tls.crt",
                "--key",
                "tls.key",
                "--listen",
                "127.0.0.1:0",
            ])
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        let address = first["address"].as_str().unwrap().to_owned();
        let (tx, log) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Webhook {
            child,
            address,
            dir,
            log,
        }
    }

    /// `curl` trusting only the webhook's certificate (pinned as the CA,
    /// the way a self-signed caBundle works).
    fn curl(&self, path: &str, body: Option<&Value>) -> (u16, String) {
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "--cacert"])
            .arg(self.dir.path().join("tls.crt"))
            .args(["-w", "\n%{http_code}"])
            .arg(format!("https://{}{path}", self.address));
        if let Some(b) = body {
            cmd.args([
                "-H",
                "content-type: application/json",
                "--data-binary",
                &b.to_string(),
            ]);
        }
        let out = cmd.output().expect("curl runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (code.parse().unwrap_or(0), body.to_owned())
    }

    fn review(
        &self,
        operation: &str,
        old: Option<&str>,
        new: Option<&str>,
        annotations: Value,
    ) -> Value {
        // The annotations are the new object's (the change sets them); a
        // DELETE's are the deleted object's.
        let object = |roles: Option<&str>, annotations: &Value| match roles {
            None => Value::Null,
            Some(r) => json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "aws-auth", "namespace": "kube-system", "annotations": annotations},
                "data": {"mapRoles": r}}),
        };
        let (old_notes, new_notes) = if operation == "DELETE" {
            (annotations, json!({}))
        } else {
            (json!({}), annotations)
        };
        let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
            "uid": "u-1", "operation": operation, "namespace": "kube-system", "name": "aws-auth",
            "kind": {"group": "", "version": "v1", "kind": "ConfigMap"},
            "resource": {"group": "", "version": "v1", "resource": "configmaps"},
            "userInfo": {"username": "alice"}, "dryRun": false,
            "object": object(new, &new_notes), "oldObject": object(old, &old_notes)}});
        let (code, body) = self.curl("/validate", Some(&review));
        assert_eq!(code, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }
}

impl Webhook {
    /// The log lines so far, waiting (up to 5 s) until `done` says they hold
    /// what is expected: the log is read on a thread of its own.
    fn logged_until(&self, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        let mut logged: Vec<String> = Vec::new();
        let started = std::time::Instant::now();
        loop {
            logged.extend(self.log.try_iter());
            if done(&logged) || started.elapsed() > std::time::Duration::from_secs(5) {
                return logged;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

#[test]
fn the_webhook_answers_reviews_over_https_and_stops_gracefully() {
    let w = Webhook::start();
    assert_eq!(w.curl("/healthz", None), (200, "ok\n".to_owned()));
    assert_eq!(w.curl("/readyz", None).0, 200);
    // Dropping the node role: denied with the reason.
    let admin_only = "- rolearn: arn:aws:iam::111122223333:role/Admin\n  username: admin\n  groups: [system:masters]\n";
    let r = w.review("UPDATE", Some(HEAD), Some(admin_only), json!({}));
    assert_eq!(r["response"]["uid"], "u-1");
    assert_eq!(r["response"]["allowed"], false, "{r}");
    assert_eq!(r["response"]["status"]["code"], 403);
    let message = r["response"]["status"]["message"].as_str().unwrap();
    assert!(
        message.contains("node role mapping of arn:aws:iam::111122223333:role/Nodes"),
        "{message}"
    );
    // The same with the override: allowed, the reason in the audit annotations.
    let r = w.review(
        "UPDATE",
        Some(HEAD),
        Some(admin_only),
        json!({"aws-auth/allow-change": "OPS-42"}),
    );
    assert_eq!(r["response"]["allowed"], true, "{r}");
    assert_eq!(
        r["response"]["auditAnnotations"]["aws-auth/override-reason"],
        "OPS-42"
    );
    // An addition: allowed, no status.
    let more = format!("{HEAD}- rolearn: arn:aws:iam::111122223333:role/Dev\n  username: dev\n");
    let r = w.review("UPDATE", Some(HEAD), Some(&more), json!({}));
    assert_eq!(r["response"]["allowed"], true, "{r}");
    // A delete of an object not annotated first: denied.
    let r = w.review("DELETE", Some(HEAD), None, json!({}));
    assert_eq!(r["response"]["allowed"], false, "{r}");
    // Another object: allowed at once.
    let other = json!({"request": {"uid": "u-2", "operation": "UPDATE", "namespace": "default", "name": "x",
        "kind": {"group": "", "version": "v1", "kind": "ConfigMap"}}});
    let (_, body) = w.curl("/validate", Some(&other));
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["response"]["allowed"],
        true
    );
    // Metrics count them.
    let (code, metrics) = w.curl("/metrics", None);
    assert_eq!(code, 200);
    assert!(
        metrics.contains("aws_auth_reviews_total{result=\"denied\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("aws_auth_reviews_total{result=\"overridden\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("aws_auth_review_seconds_count 5"),
        "{metrics}"
    );
    // One JSON line per decision.
    let lines: Vec<Value> = w
        .log
        .try_iter()
        .filter_map(|l| serde_json::from_str(&l).ok())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["result"] == "denied" && l["user"] == "alice"),
        "{lines:?}"
    );
    // A rotated certificate is picked up without a restart.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    write_cert(w.dir.path());
    std::thread::sleep(std::time::Duration::from_millis(1100));
    // The first handshake after the change reads the new pair; curl trusts
    // only the new file.
    let mut ok = false;
    for _ in 0..3 {
        if w.curl("/healthz", None).0 == 200 {
            ok = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    assert!(ok, "the rotated certificate was not served");
    // SIGTERM: a graceful end, exit 0.
    let mut w = w;
    let pid = w.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = w.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

/// Issue 11: `webhook certs` makes a CA and a serving certificate for the
/// Service name; the webhook serves it and a client holding only the CA (as
/// the API server holds the caBundle) trusts it. `webhook manifests` scopes
/// the configuration to kube-system/aws-auth and carries that CA.
#[test]
fn certs_and_manifests_install_a_webhook_the_api_server_can_trust() {
    let dir = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("aws-auth");
    let run = |args: &[&str]| {
        let out = Command::new(&bin)
            .env_clear()
            .env("HOME", dir.path())
            .current_dir(dir.path())
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let certs: Value = serde_json::from_str(&run(&[
        "webhook", "certs", "--ca-out", "ca.crt", "-o", "json",
    ]))
    .unwrap();
    // The namespace first, so that the Secret can be applied to an empty
    // cluster before `manifests`; held to the restricted Pod Security level.
    assert_eq!(certs["items"][0]["kind"], "Namespace");
    assert_eq!(
        certs["items"][0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "restricted"
    );
    let secret = certs["items"][1].clone();
    assert_eq!(secret["type"], "kubernetes.io/tls");
    assert_eq!(
        secret["metadata"]["namespace"],
        certs["items"][0]["metadata"]["name"]
    );
    std::fs::write(
        dir.path().join("tls.crt"),
        secret["stringData"]["tls.crt"].as_str().unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("tls.key"),
        secret["stringData"]["tls.key"].as_str().unwrap(),
    )
    .unwrap();
    let ca = std::fs::read_to_string(dir.path().join("ca.crt")).unwrap();
    assert_eq!(secret["stringData"]["ca.crt"], ca.as_str());
    // Serve it, reach it by the Service's name.
    let mut child = Command::new(&bin)
        .env_clear()
        .current_dir(dir.path())
        .args([
            "webhook",
            "serve",
            "--cert",
            "tls.crt",
            "--key",
            "tls.key",
            "--listen",
            "127.0.0.1:0",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let port = first["address"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    let host = "aws-auth-webhook.aws-auth-system.svc";
    let out = Command::new("curl")
        .args([
            "-sS",
            "--cacert",
            "ca.crt",
            "--resolve",
            &format!("{host}:{port}:127.0.0.1"),
        ])
        .arg(format!("https://{host}:{port}/healthz"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "ok\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The manifests.
    let list: Value = serde_json::from_str(&run(&[
        "webhook",
        "manifests",
        "--image",
        "registry.example.com/aws-auth:1.0",
        "--ca-bundle",
        "ca.crt",
        "-o",
        "json",
    ]))
    .unwrap();
    let kinds: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "Namespace",
            "ServiceAccount",
            "Deployment",
            "PodDisruptionBudget",
            "Service",
            "NetworkPolicy",
            "ValidatingWebhookConfiguration"
        ]
    );
    let deployment = &list["items"][2];
    assert_eq!(deployment["spec"]["replicas"], 2);
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"],
        true
    );
    // Issue 20.8: out of the endpoints before SIGTERM, time to drain after.
    assert_eq!(
        pod["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"],
        10
    );
    assert_eq!(pod["terminationGracePeriodSeconds"], 40);
    // Only the webhook's port, and no egress.
    let policy = &list["items"][5];
    assert_eq!(policy["spec"]["ingress"][0]["ports"][0]["port"], 8443);
    assert!(policy["spec"]["ingress"][0].get("from").is_none());
    assert_eq!(policy["spec"]["egress"], json!([]));
    let hook = &list["items"][6]["webhooks"][0];
    assert_eq!(hook["failurePolicy"], "Ignore");
    assert_eq!(hook["sideEffects"], "None");
    assert_eq!(
        hook["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
        "kube-system"
    );
    assert!(
        hook["matchConditions"][0]["expression"]
            .as_str()
            .unwrap()
            .contains("'aws-auth'")
    );
    let bundle = hook["clientConfig"]["caBundle"].as_str().unwrap();
    let decoded = Command::new("base64")
        .arg("-d")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(bundle.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&decoded.stdout), ca);
    // Fail, and cert-manager instead of a bundle.
    let list: Value = serde_json::from_str(&run(&[
        "webhook",
        "manifests",
        "--image",
        "registry.example.com/aws-auth:1.0",
        "--cert-manager",
        "--failure-policy",
        "fail",
        "-o",
        "json",
    ]))
    .unwrap();
    let items = list["items"].as_array().unwrap();
    let hook = items.last().unwrap();
    assert_eq!(hook["webhooks"][0]["failurePolicy"], "Fail");
    // The NetworkPolicy narrowed to where the API server calls from.
    let list: Value = serde_json::from_str(&run(&[
        "webhook",
        "manifests",
        "--image",
        "registry.example.com/aws-auth:1.0",
        "--cert-manager",
        "--api-server-cidr",
        "10.0.0.0/16",
        "--api-server-cidr",
        "fd00::/8",
        "-o",
        "json",
    ]))
    .unwrap();
    let policy = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "NetworkPolicy")
        .unwrap();
    assert_eq!(
        policy["spec"]["ingress"][0]["from"],
        json!([{"ipBlock": {"cidr": "10.0.0.0/16"}}, {"ipBlock": {"cidr": "fd00::/8"}}])
    );
    assert_eq!(
        hook["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
        "aws-auth-system/aws-auth-webhook"
    );
    assert!(items.iter().any(|d| d["kind"] == "Certificate"));
}

/// The webhook of `webhook certs` and `webhook manifests`, running, and the
/// configuration to register with the local API server.
/// A child process killed when dropped (a failed assertion included).
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn installed(failure_policy: &str) -> (Reaped, String, Value, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("aws-auth");
    let run = |args: &[&str]| {
        let out = Command::new(&bin)
            .env_clear()
            .current_dir(dir.path())
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let secret = run(&["webhook", "certs", "--ca-out", "ca.crt", "-o", "json"])["items"][1].clone();
    std::fs::write(
        dir.path().join("tls.crt"),
        secret["stringData"]["tls.crt"].as_str().unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("tls.key"),
        secret["stringData"]["tls.key"].as_str().unwrap(),
    )
    .unwrap();
    let list = run(&[
        "webhook",
        "manifests",
        "--image",
        "registry.example.com/aws-auth:1.0",
        "--ca-bundle",
        "ca.crt",
        "--failure-policy",
        failure_policy,
        "-o",
        "json",
    ]);
    let configuration = list["items"].as_array().unwrap().last().unwrap().clone();
    let mut child = Command::new(&bin)
        .env_clear()
        .current_dir(dir.path())
        .args([
            "webhook",
            "serve",
            "--cert",
            "tls.crt",
            "--key",
            "tls.key",
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    std::thread::spawn(move || for _ in lines {});
    (
        Reaped(child),
        first["address"].as_str().unwrap().to_owned(),
        configuration,
        dir,
    )
}

fn kubectl(env: &crate::cluster::Env, args: &[&str], stdin: Option<&str>) -> (bool, String) {
    use std::io::Write;
    let mut child = crate::kubectl(env)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.unwrap_or("").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Issue 11: the API server calls the webhook as kube-apiserver does, and the
/// real kubectl is refused with its reason: apply of a copy without the node
/// role, replace, patch and delete; an allowed apply shows the warnings.
#[test]
fn kubectl_is_refused_with_the_webhooks_reason() {
    let env = crate::cluster::Env::new();
    let (webhook, address, configuration, _dir) = installed("Ignore");
    env.server.register_webhook(&configuration, &address);
    let (ok, copy) = kubectl(
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
        None,
    );
    assert!(ok, "{copy}");
    let mut stale: Value = serde_json::from_str(&copy).unwrap();
    let roles = stale["data"]["mapRoles"].as_str().unwrap().to_owned();
    let without_nodes: String = roles
        .split_inclusive("- rolearn")
        .filter(|e| !e.contains("NodeInstanceRole"))
        .collect();
    stale["data"]["mapRoles"] = json!(
        without_nodes
            .trim_start_matches("- rolearn")
            .to_owned()
            .replacen("", "- rolearn", 1)
    );
    let copy = stale.to_string();
    let denied = "denied the request: aws-auth: this change would remove the node role mapping";
    // --validate=false: the local server publishes no OpenAPI document.
    let (ok, out) = kubectl(&env, &["apply", "--validate=false", "-f", "-"], Some(&copy));
    assert!(!ok && out.contains(denied), "apply: {out}");
    let (ok, out) = kubectl(
        &env,
        &["replace", "--validate=false", "-f", "-"],
        Some(&copy),
    );
    assert!(!ok && out.contains(denied), "replace: {out}");
    let (ok, out) = kubectl(
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
            r#"{"data":{"mapRoles":""}}"#,
        ],
        None,
    );
    assert!(!ok && out.contains(denied), "patch: {out}");
    let (ok, out) = kubectl(
        &env,
        &["delete", "configmap", "aws-auth", "-n", "kube-system"],
        None,
    );
    assert!(
        !ok && out.contains("deletes the aws-auth ConfigMap"),
        "delete: {out}"
    );
    assert!(env.server.object("kube-system", "aws-auth").is_some());
    // An allowed change that brings a lint finding: applied, with the warning.
    let mut odd: Value = serde_json::from_str(
        &kubectl(
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
            None,
        )
        .1,
    )
    .unwrap();
    let more = format!(
        "{roles}- rolearn: arn:aws:iam::111122223333:role/Dev\n  username: dev\n  grups: [dev]\n"
    );
    odd["data"]["mapRoles"] = json!(more);
    let (ok, out) = kubectl(
        &env,
        &["apply", "--validate=false", "-f", "-"],
        Some(&odd.to_string()),
    );
    assert!(ok, "{out}");
    assert!(out.contains("Warning: aws-auth: unknown-key"), "{out}");
    // The webhook down: Ignore lets the write through.
    drop(webhook);
    let (ok, out) = kubectl(
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
            r#"{"data":{"other":"x"}}"#,
        ],
        None,
    );
    assert!(ok, "{out}");
}

/// Issue 11: failurePolicy Fail refuses writes the webhook cannot judge (it is
/// down, or its certificate is not the caBundle's).
#[test]
fn failure_policy_fail_refuses_what_cannot_be_checked() {
    let env = crate::cluster::Env::new();
    let (webhook, address, configuration, _dir) = installed("Fail");
    // A caBundle of another CA: the API server side refuses the handshake.
    let (other, _, other_configuration, _other_dir) = installed("Fail");
    let mut wrong = configuration.clone();
    wrong["webhooks"][0]["clientConfig"]["caBundle"] =
        other_configuration["webhooks"][0]["clientConfig"]["caBundle"].clone();
    env.server.register_webhook(&wrong, &address);
    let patch = [
        "patch",
        "configmap",
        "aws-auth",
        "-n",
        "kube-system",
        "--type",
        "merge",
        "-p",
        r#"{"data":{"other":"y"}}"#,
    ];
    let (ok, out) = kubectl(&env, &patch, None);
    assert!(!ok && out.contains("failed calling webhook"), "{out}");
    // A webhook that accepts and never answers: its timeout is honoured.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut slow = configuration.clone();
    slow["webhooks"][0]["timeoutSeconds"] = json!(1);
    env.server
        .register_webhook(&slow, &silent.local_addr().unwrap().to_string());
    let started = std::time::Instant::now();
    let (ok, out) = kubectl(&env, &patch, None);
    assert!(!ok && out.contains("context deadline exceeded"), "{out}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    // The right bundle: allowed.
    env.server.register_webhook(&configuration, &address);
    let (ok, out) = kubectl(&env, &patch, None);
    assert!(ok, "{out}");
    // Down: refused.
    drop(webhook);
    drop(other);
    let (ok, out) = kubectl(
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
            r#"{"data":{"other":"z"}}"#,
        ],
        None,
    );
    assert!(!ok && out.contains("failed calling webhook"), "{out}");
}

/// An UPDATE review of a map of `n` roles, adding one.
fn big_review(n: usize) -> Vec<u8> {
    let mut roles = String::from(HEAD);
    for i in 0..n {
        roles.push_str(&format!(
            "- rolearn: arn:aws:iam::111122223333:role/Team{i}\n  username: team{i}:{{{{SessionName}}}}\n  groups: [team-{i}]\n"
        ));
    }
    let object = |r: &str| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "aws-auth", "namespace": "kube-system"}, "data": {"mapRoles": r}})
    };
    let more = format!("{roles}- rolearn: arn:aws:iam::111122223333:role/New\n  username: new\n");
    serde_json::to_vec(
        &json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "u", "operation": "UPDATE", "namespace": "kube-system", "name": "aws-auth",
        "kind": {"group": "", "version": "v1", "kind": "ConfigMap"},
        "userInfo": {"username": "load"}, "object": object(&more), "oldObject": object(&roles)}}),
    )
    .unwrap()
}

/// Issue 20.10 and 20.7: a review the webhook cannot judge is answered with
/// an HTTP error (the API server then applies the failure policy), never
/// with `allowed: true`; one larger than any the API server can send is
/// refused from its Content-Length, unread.
#[test]
fn malformed_and_oversized_reviews_are_errors() {
    let w = Webhook::start();
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "aws-auth", "namespace": "kube-system"}, "data": {"mapRoles": HEAD}});
    let request = |operation: &str, object: Value, old: Value| {
        json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
            "uid": "u", "operation": operation, "namespace": "kube-system", "name": "aws-auth",
            "kind": {"group": "", "version": "v1", "kind": "ConfigMap"},
            "userInfo": {"username": "mallory"}, "object": object, "oldObject": old}})
    };
    for (body, why) in [
        (
            json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": null}),
            "no request",
        ),
        (json!([]), "not an AdmissionReview"),
        (
            request("UPDATE", json!({"data": {}}), Value::Null),
            "UPDATE without oldObject",
        ),
        (
            request("DELETE", Value::Null, Value::Null),
            "DELETE without oldObject",
        ),
    ] {
        let (code, text) = w.curl("/validate", Some(&body));
        assert_eq!(code, 400, "{body}: {text}");
        assert!(text.contains(why), "{body}: {text}");
    }
    // The well-formed one beside them is still judged.
    let (code, text) = w.curl("/validate", Some(&request("UPDATE", cm.clone(), cm)));
    assert_eq!(code, 200, "{text}");
    // Larger than any review: 413 from the header alone.
    let config = tls_config(w.dir.path());
    let mut stream = connect(&w.address, &config);
    use std::io::Write as _;
    stream
        .write_all(b"POST /validate HTTP/1.1\r\nhost: w\r\ncontent-type: application/json\r\ncontent-length: 1073741824\r\n\r\n{")
        .unwrap();
    assert_eq!(read_response(&mut stream).unwrap().0, 413);
    let logged = w.logged_until(|l| l.iter().filter(|l| l.contains("review refused")).count() >= 5);
    assert!(
        logged
            .iter()
            .filter(|l| l.contains("review refused"))
            .count()
            >= 5,
        "{logged:?}"
    );
}

/// Issue 20.9: a certificate replaced without its key is not loaded (every
/// handshake would fail); the old pair is served, the log says why, and the
/// new pair is taken once the key matches.
#[test]
fn a_certificate_without_its_key_keeps_the_old_pair() {
    let w = Webhook::start();
    let old = tls_config(w.dir.path());
    let other = tempfile::tempdir().unwrap();
    write_cert(other.path());
    std::fs::copy(other.path().join("tls.crt"), w.dir.path().join("tls.crt")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1200));
    // Still the old pair: a client trusting it completes its handshake, twice
    // (the second after the reload was tried).
    for _ in 0..2 {
        let mut s = connect(&w.address, &old);
        use std::io::Write as _;
        s.write_all(b"GET /healthz HTTP/1.1\r\nhost: w\r\n\r\n")
            .unwrap();
        assert_eq!(read_response(&mut s).unwrap().0, 200);
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    let refused =
        |l: &String| l.contains("certificate not reloaded") && l.contains("does not match");
    let logged = w.logged_until(|l| l.iter().any(refused));
    assert!(logged.iter().any(refused), "{logged:?}");
    // The key follows: the new pair is served.
    std::fs::copy(other.path().join("tls.key"), w.dir.path().join("tls.key")).unwrap();
    let new = tls_config(other.path());
    let started = std::time::Instant::now();
    loop {
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let tcp = std::net::TcpStream::connect(&w.address).unwrap();
        let conn = tokio_rustls::rustls::ClientConnection::new(
            new.clone(),
            "127.0.0.1".try_into().unwrap(),
        )
        .unwrap();
        let mut s = tokio_rustls::rustls::StreamOwned::new(conn, tcp);
        let ok = (|| {
            while s.conn.is_handshaking() {
                s.conn.complete_io(&mut s.sock)?;
            }
            Ok::<_, std::io::Error>(())
        })()
        .is_ok();
        if ok {
            break;
        }
        assert!(
            started.elapsed().as_secs() < 10,
            "the matching pair was not loaded"
        );
    }
}

/// Issue 20.8: SIGTERM drains. Requests sent before the signal, on many
/// connections, are all answered (none reset); a keep-alive connection
/// idle at the signal is still served a request sent just after, with
/// `Connection: close`; then the process exits 0 and accepts no more.
#[test]
fn sigterm_finishes_every_request_in_flight() {
    use std::io::Write as _;
    let mut w = Webhook::start();
    let config = tls_config(w.dir.path());
    let body = std::sync::Arc::new(post(&big_review(2_000)));
    const N: usize = 200;
    let sent = std::sync::Arc::new(std::sync::Barrier::new(N + 1));
    let idle = connect(&w.address, &config);
    let clients: Vec<_> = (0..N)
        .map(|_| {
            let (address, config, body, sent) = (
                w.address.clone(),
                config.clone(),
                body.clone(),
                sent.clone(),
            );
            std::thread::spawn(move || {
                let mut s = connect(&address, &config);
                s.write_all(&body).unwrap();
                s.flush().unwrap();
                sent.wait();
                read_response(&mut s)
            })
        })
        .collect();
    sent.wait();
    let pid = w.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    // The idle connection's request, sent after the signal.
    let mut idle = idle;
    std::thread::sleep(std::time::Duration::from_millis(200));
    idle.write_all(b"GET /healthz HTTP/1.1\r\nhost: w\r\n\r\n")
        .unwrap();
    let answer = read_response(&mut idle);
    let mut failures = Vec::new();
    for c in clients {
        match c.join().unwrap() {
            Ok((200, _)) => {}
            other => failures.push(format!("{other:?}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {N} not answered: {failures:?}",
        failures.len()
    );
    assert_eq!(answer, Ok((200, Some("close".to_owned()))));
    let status = w.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(std::net::TcpStream::connect(&w.address).is_err());
    let logged = w.logged_until(|l| l.iter().any(|l| l.contains("\"drained\":true")));
    assert!(
        logged.iter().any(|l| l.contains("\"drained\":true")),
        "{logged:?}"
    );
}

/// Issue 25.2: the image is the user's to name (no default that exists
/// nowhere): `--image`, or `AWS_AUTH_WEBHOOK_IMAGE`.
#[test]
fn the_image_is_named_or_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.crt"), "-----BEGIN CERTIFICATE-----\n").unwrap();
    let bin = assert_cmd::cargo::cargo_bin("aws-auth");
    let run = |env: Option<&str>| {
        let mut cmd = Command::new(&bin);
        cmd.env_clear().current_dir(dir.path()).args([
            "webhook",
            "manifests",
            "--ca-bundle",
            "ca.crt",
            "-o",
            "json",
        ]);
        if let Some(image) = env {
            cmd.env("AWS_AUTH_WEBHOOK_IMAGE", image);
        }
        cmd.output().unwrap()
    };
    let out = run(None);
    assert_eq!(out.status.code(), Some(64));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--image <IMAGE>"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(Some("registry.example.com/team/aws-auth:2.0"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let deployment = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "Deployment")
        .unwrap();
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example.com/team/aws-auth:2.0"
    );
    assert_eq!(
        list["items"][0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "restricted"
    );
}
