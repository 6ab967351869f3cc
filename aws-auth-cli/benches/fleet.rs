//! `aws-auth fleet` over 200 clusters: one local API server serves every
//! cluster's map and RBAC (a tenant per bearer token), one local EKS, IAM
//! and STS endpoint serves every EKS cluster, both with 50 ms of latency; EKS
//! throttles at 10 calls/second per account and region, IAM at 10/second per
//! account (an access key is an account here). Each kubeconfig context is
//! what `aws eks update-kubeconfig` writes: the cluster's ARN as its name,
//! an `aws eks get-token` exec plugin (a stand-in `aws` script) with the
//! cluster, its region and the account's profile.
//!
//! Not a test: `cargo bench -p aws-auth-cli --bench fleet`. `BENCH_CLUSTERS`
//! (default 200), `BENCH_ACCOUNTS` (default 10) and `BENCH_REGIONS` (1 or 2,
//! default 2) shape the fleet; `BENCH_PARALLEL` passes `--parallel`. The
//! target: 200 clusters within 10 s, the peak resident set not growing with
//! the number of clusters.

#[allow(dead_code, unreachable_pub)]
#[path = "../../tests/e2e/apiserver.rs"]
mod apiserver;
#[allow(dead_code, unreachable_pub)]
#[path = "../../tests/e2e/apiserver_rbac.rs"]
mod apiserver_rbac;
#[allow(dead_code, unreachable_pub)]
#[path = "../../tests/e2e/aws.rs"]
mod aws;
mod support;
#[allow(dead_code, unreachable_pub)]
#[path = "../../tests/e2e/tls.rs"]
mod tls;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const LATENCY: Duration = Duration::from_millis(50);
const RATE: f64 = 10.0;
const REGIONS: [&str; 2] = ["eu-west-1", "us-east-1"];
const ADMIN_POLICY: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Cluster `i`'s map: its own node role, the platform's admin and SSO
/// roles every cluster shares, a team's role and two users.
fn map(i: usize) -> [(String, String); 2] {
    let roles = format!(
        "- rolearn: arn:aws:iam::111122223333:role/eks-node-c{i:03}\n  username: system:node:{{{{EC2PrivateDNSName}}}}\n  groups: [system:bootstrappers, system:nodes]\n\
         - rolearn: arn:aws:iam::111122223333:role/PlatformAdmin\n  username: platform-admin\n  groups: [system:masters]\n\
         - rolearn: arn:aws:iam::111122223333:role/AWSReservedSSO_Developers_0123456789abcdef\n  username: dev:{{{{SessionName}}}}\n  groups: [developers]\n\
         - rolearn: arn:aws:iam::111122223333:role/team-{}\n  username: team\n  groups: [developers]\n",
        i % 20
    );
    let users = format!(
        "- userarn: arn:aws:iam::111122223333:user/oncall\n  username: oncall\n  groups: [system:masters]\n\
         - userarn: arn:aws:iam::111122223333:user/ci-{}\n  username: ci\n  groups: [deployers]\n",
        i % 7
    );
    [("mapRoles".into(), roles), ("mapUsers".into(), users)]
}

/// Four in ten clusters still on `CONFIG_MAP`, half on the way, one in ten
/// done.
fn mode(i: usize) -> &'static str {
    match i % 10 {
        0..=3 => "CONFIG_MAP",
        4..=8 => "API_AND_CONFIG_MAP",
        _ => "API",
    }
}

fn main() {
    let n = env_usize("BENCH_CLUSTERS", 200);
    let accounts = env_usize("BENCH_ACCOUNTS", 10).max(1);
    let regions = env_usize("BENCH_REGIONS", 2).clamp(1, 2);
    let home = tempfile::tempdir().unwrap();
    let dir = home.path();

    let kube = apiserver::ApiServer::with(apiserver::Options {
        latency: Some(LATENCY),
        token: Some("nobody".into()),
        ..apiserver::Options::default()
    });
    let fake = aws::Aws::start("arn:aws:sts::111122223333:assumed-role/PlatformAdmin/bench");
    fake.role("/", "PlatformAdmin");
    fake.role(
        "/aws-reserved/sso.amazonaws.com/",
        "AWSReservedSSO_Developers_0123456789abcdef",
    );
    for t in 0..20 {
        fake.role("/teams/", &format!("team-{t}"));
    }
    fake.user("oncall");
    for c in 0..7 {
        fake.user(&format!("ci-{c}"));
    }
    let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "developers-view"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "developers"}]});

    // The stand-in `aws eks get-token`: the cluster's token, at once.
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("aws");
    std::fs::write(
        &script,
        "#!/bin/sh\nwhile [ $# -gt 0 ]; do [ \"$1\" = --cluster-name ] && c=$2; shift; done\nprintf '{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"tok-%s\"}}' \"$c\"\n",
    )
    .unwrap();
    let mut perms = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&script, perms).unwrap();

    let (mut clusters, mut users, mut contexts) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let name = format!("c{i:03}");
        let account = i % accounts;
        let region = REGIONS[(i / accounts) % regions];
        let node = fake.role("/", &format!("eks-node-{name}"));
        fake.cluster(&name, mode(i), &kube.url());
        if mode(i) != "CONFIG_MAP" {
            // EKS made the node role's entry when access entries came on;
            // the admin's was made by a migration.
            fake.with_cluster(&name, |c| {
                c.entries.insert(
                    node.clone(),
                    aws::Entry {
                        kind: "EC2_LINUX".into(),
                        username: "system:node:{{EC2PrivateDNSName}}".into(),
                        groups: Vec::new(),
                        policies: BTreeMap::new(),
                    },
                );
                c.entries.insert(
                    "arn:aws:iam::111122223333:role/PlatformAdmin".into(),
                    aws::Entry {
                        kind: "STANDARD".into(),
                        username: "platform-admin".into(),
                        groups: Vec::new(),
                        policies: BTreeMap::from([(
                            ADMIN_POLICY.to_owned(),
                            json!({"type": "cluster"}),
                        )]),
                    },
                );
            });
        }
        let tenant = kube.tenant(&format!("tok-{name}"));
        if mode(i) != "API" {
            let data = map(i);
            let data: Vec<(&str, &str)> =
                data.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            tenant.put("kube-system", "aws-auth", Some(&data));
        }
        tenant.put_rbac(binding.clone());
        let arn = format!("arn:aws:eks:{region}:111122223333:cluster/{name}");
        clusters.push(json!({"name": arn, "cluster": {"server": kube.url()}}));
        users.push(json!({"name": arn, "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": script.to_str().unwrap(),
            "args": ["eks", "get-token", "--cluster-name", name, "--region", region],
            "env": [{"name": "AWS_PROFILE", "value": format!("acct{account:02}")}],
            "interactiveMode": "Never",
        }}}));
        contexts.push(json!({"name": arn, "context": {"cluster": arn, "user": arn}}));
    }
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        json!({"apiVersion": "v1", "kind": "Config", "clusters": clusters, "users": users,
            "contexts": contexts, "current-context": contexts[0]["name"]})
        .to_string(),
    )
    .unwrap();
    let (mut config, mut credentials) = (String::new(), String::new());
    for a in 0..accounts {
        config.push_str(&format!("[profile acct{a:02}]\nregion = eu-west-1\n"));
        credentials.push_str(&format!(
            "[acct{a:02}]\naws_access_key_id = AKIDACCOUNT{a:02}\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
        ));
    }
    std::fs::write(dir.join("aws-config"), config).unwrap();
    std::fs::write(dir.join("aws-credentials"), credentials).unwrap();

    fake.set_latency(LATENCY);
    fake.set_throttle(RATE, RATE);
    fake.set_iam_throttle(RATE, RATE);
    let url = fake.url();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aws-auth"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("KUBECONFIG", &kubeconfig)
        .env("AWS_CONFIG_FILE", dir.join("aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("aws-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL_EKS", &url)
        .env("AWS_ENDPOINT_URL_IAM", &url)
        .env("AWS_ENDPOINT_URL_STS", &url)
        .args(["fleet", "--timeout", "120", "-o", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Ok(p) = std::env::var("BENCH_PARALLEL") {
        cmd.args(["--parallel", &p]);
    }
    let start = Instant::now();
    let child = cmd.spawn().unwrap();
    let pid = child.id();
    // The high-water mark, read while it runs (it is gone once it exits).
    let sampler = std::thread::spawn(move || {
        let mut peak = 0;
        loop {
            let now = support::status_kib(pid, "VmHWM:");
            if now == 0 && peak > 0 {
                return peak;
            }
            peak = peak.max(now);
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    let out = child.wait_with_output().unwrap();
    let took = start.elapsed();
    let peak_kib = sampler.join().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let parts = report["contexts"].as_object().cloned().unwrap_or_default();
    let failed: Vec<(&String, &Value)> = parts
        .iter()
        .filter(|(_, p)| !p["error"].is_null())
        .collect();
    let mut readiness: BTreeMap<String, usize> = BTreeMap::new();
    for p in parts.values() {
        *readiness
            .entry(p["result"]["readiness"].as_str().unwrap_or("-").to_owned())
            .or_default() += 1;
    }
    let calls = fake.calls();
    let is_iam = |c: &&aws::Call| c.op == "GetRole" || c.op == "GetUser";
    let is_sts = |c: &&aws::Call| c.op == "GetCallerIdentity";
    let eks: Vec<&aws::Call> = calls.iter().filter(|c| !is_iam(c) && !is_sts(c)).collect();
    let accepted = eks.iter().filter(|c| c.status != 429).count();
    let throttled = eks.len() - accepted;
    let iam_ok = calls
        .iter()
        .filter(is_iam)
        .filter(|c| c.status != 400)
        .count();
    // The EKS floor: the busiest account and region's accepted calls at the
    // throttle's rate, its burst free.
    let buckets = (accounts * regions).min(n).max(1);
    let floor = (accepted as f64 / buckets as f64 - RATE).max(0.0) / RATE;
    println!(
        "aws-auth fleet: {n} clusters in {accounts} account(s) x {regions} region(s); {} results, {} errors; readiness {readiness:?}",
        parts.len() - failed.len(),
        failed.len()
    );
    println!(
        "  EKS calls {accepted} accepted, {throttled} throttled; IAM lookups {iam_ok}; STS {}",
        calls.iter().filter(is_sts).count()
    );
    println!(
        "  wall {:.2} s (target 10 s); EKS throttle floor {floor:.2} s per bucket; peak resident {:.1} MiB; exit {}",
        took.as_secs_f64(),
        peak_kib as f64 / 1024.0,
        out.status
    );
    for (ctx, p) in failed.iter().take(3) {
        println!("  {ctx}: {}", p["error"]);
    }
    if report.is_null() {
        println!("{}", String::from_utf8_lossy(&out.stderr));
    }
}
