//! `aws-auth audit` at IAM's throttle: 1,000 mapped principals, each looked
//! up in IAM (is it still there, when was it made), against the local IAM
//! with 50 ms of latency and a 10 calls/second throttle of its own. Not a
//! test: `cargo bench -p aws-auth-cli --bench audit`; `BENCH_PRINCIPALS`
//! (default 1000) sizes it. The target: within 1.1 times the throttle's
//! floor (the burst counted as free).

#[allow(dead_code, unreachable_pub)]
#[path = "../../tests/e2e/aws.rs"]
mod aws;
#[path = "../../tests/e2e/tls.rs"]
mod tls;

use std::process::Command;
use std::time::{Duration, Instant};

const LATENCY: Duration = Duration::from_millis(50);
const RATE: f64 = 10.0;

fn main() {
    let n: usize = std::env::var("BENCH_PRINCIPALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let home = tempfile::tempdir().unwrap();
    let (mut roles, mut users) = (String::new(), String::new());
    let fake = aws::Aws::start("arn:aws:sts::111122223333:assumed-role/Admin/bench");
    fake.cluster("bench", "CONFIG_MAP", "https://127.0.0.1:6443");
    for i in 0..n {
        // Half roles, half users; one in fifty no longer in IAM.
        let gone = i % 50 == 7;
        if i % 2 == 0 {
            roles.push_str(&format!(
                "    - rolearn: arn:aws:iam::111122223333:role/r{i:04}\n      username: r{i:04}\n      groups: [developers]\n"
            ));
            if !gone {
                fake.role("/teams/", &format!("r{i:04}"));
            }
        } else {
            users.push_str(&format!(
                "    - userarn: arn:aws:iam::111122223333:user/u{i:04}\n      username: u{i:04}\n      groups: [system:masters]\n"
            ));
            if !gone {
                fake.user(&format!("u{i:04}"));
            }
        }
    }
    let file = home.path().join("aws-auth.yaml");
    std::fs::write(
        &file,
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapRoles: |\n{roles}  mapUsers: |\n{users}"),
    )
    .unwrap();
    fake.set_latency(LATENCY);
    fake.set_iam_throttle(RATE, RATE);
    let url = fake.url();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aws-auth"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        )
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_CONFIG_FILE", home.path().join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.path().join("none"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL_EKS", &url)
        .env("AWS_ENDPOINT_URL_IAM", &url)
        .env("AWS_ENDPOINT_URL_STS", &url);
    let start = Instant::now();
    let out = cmd
        .args([
            "audit",
            "--cluster",
            "bench",
            "--timeout",
            "3600",
            "-o",
            "json",
            "--file",
        ])
        .arg(&file)
        .output()
        .unwrap();
    let took = start.elapsed();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let calls = fake.calls();
    let iam = |c: &&aws::Call| c.op == "GetRole" || c.op == "GetUser";
    let accepted = calls.iter().filter(iam).filter(|c| c.status != 400).count();
    let throttled = calls.iter().filter(iam).filter(|c| c.status == 400).count();
    let floor = Duration::from_secs_f64((accepted as f64 - RATE).max(0.0) / RATE);
    let missing = report["findings"].as_array().map_or(0, |f| {
        f.iter()
            .filter(|f| f["code"] == "principal-missing")
            .count()
    });
    println!(
        "aws-auth audit: {n} principals, {accepted} IAM calls accepted, {throttled} throttled, {missing} principal-missing found"
    );
    println!(
        "  wall {:.1} s, IAM throttle floor {:.1} s, ratio {:.3}; exit {}",
        took.as_secs_f64(),
        floor.as_secs_f64(),
        took.as_secs_f64() / floor.as_secs_f64(),
        out.status
    );
    if report.is_null() {
        println!("{}", String::from_utf8_lossy(&out.stderr));
    }
}
