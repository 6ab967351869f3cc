//! Migration throughput: 1,000 mappings against the local EKS with 50 ms of
//! latency and a 10 requests/second throttle, by `aws-auth migrate apply` and
//! the seed-script way (one `aws eks create-access-entry` process per user,
//! in sequence). Not a test: `cargo bench -p aws-auth-cli --bench migrate`.
//!
//! `BENCH_MAPPINGS` (default 1000), `BENCH_ACCESS` (principals granted
//! cluster-admin by `aws-auth access add`, default the same; 0 skips it),
//! `BENCH_SEED_MAPPINGS` (default the same; 0 skips the comparison) and
//! `BENCH_SEED_ACCESS` (the workshop script's loop, create-access-entry then
//! associate-access-policy per principal; default 0) size the runs.

#[allow(dead_code, unreachable_pub)]
#[path = "../../tests/e2e/aws.rs"]
mod aws;
#[path = "../../tests/e2e/tls.rs"]
mod tls;

use std::process::Command;
use std::time::{Duration, Instant};

const LATENCY: Duration = Duration::from_millis(50);
const RATE: f64 = 10.0;
/// Admins among the mappings: they get a policy association too.
const ADMIN_EVERY: usize = 20;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn map(n: usize) -> String {
    let mut users = String::new();
    for i in 0..n {
        let groups = if i % ADMIN_EVERY == 0 {
            "[system:masters, oncall]"
        } else {
            "[developers]"
        };
        users.push_str(&format!(
            "    - userarn: arn:aws:iam::111122223333:user/u{i:04}\n      username: u{i:04}\n      groups: {groups}\n"
        ));
    }
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapUsers: |\n{users}"
    )
}

fn server(n: usize) -> aws::Aws {
    let fake = aws::Aws::start("arn:aws:sts::111122223333:assumed-role/Admin/bench");
    fake.cluster("bench", "API_AND_CONFIG_MAP", "https://127.0.0.1:6443");
    for i in 0..n {
        fake.user(&format!("u{i:04}"));
    }
    fake.set_latency(LATENCY);
    // A token bucket holding one second of calls, the usual shape of an API
    // throttle; the floor counts the burst as free.
    fake.set_throttle(RATE, RATE);
    fake
}

fn aws_env(cmd: &mut Command, home: &std::path::Path, url: &str) {
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        )
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_DEFAULT_REGION", "eu-west-1")
        .env("AWS_CONFIG_FILE", home.join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("none"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL_EKS", url)
        .env("AWS_ENDPOINT_URL_IAM", url)
        .env("AWS_ENDPOINT_URL_STS", url);
    for var in ["PYENV_ROOT", "PYENV_VERSION"] {
        if let Some(v) = std::env::var_os(var) {
            cmd.env(var, v);
        }
    }
}

fn main() {
    let n = env_usize("BENCH_MAPPINGS", 1000);
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("aws-auth.yaml");
    std::fs::write(&file, map(n)).unwrap();

    let fake = server(n);
    let start = Instant::now();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aws-auth"));
    aws_env(&mut cmd, home.path(), &fake.url());
    let out = cmd
        .args([
            "migrate",
            "apply",
            "--cluster",
            "bench",
            "-o",
            "json",
            "--file",
        ])
        .arg(&file)
        .output()
        .unwrap();
    let ours = start.elapsed();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let calls = fake.calls();
    let accepted = calls
        .iter()
        .filter(|c| c.status != 429 && !c.op.starts_with("Get"))
        .count();
    let throttled = calls.iter().filter(|c| c.status == 429).count();
    let floor = Duration::from_secs_f64((accepted as f64 - RATE).max(0.0) / RATE);
    let entries = fake.snapshot("bench").entries.len();
    println!(
        "aws-auth migrate apply: {n} mappings, {accepted} EKS calls accepted, {throttled} throttled"
    );
    println!(
        "  wall {:.1} s, throttle floor {:.1} s, ratio {:.3}; entries {entries}; failures {}; exit {}",
        ours.as_secs_f64(),
        floor.as_secs_f64(),
        ours.as_secs_f64() / floor.as_secs_f64(),
        report["summary"]["failed"],
        out.status
    );
    if !out.status.success() {
        println!("{}", String::from_utf8_lossy(&out.stderr));
    }

    // Issue 12's job: every principal granted cluster-admin with `access add`.
    let granted = env_usize("BENCH_ACCESS", n);
    if granted > 0 {
        let fake = server(granted);
        let list = home.path().join("users.txt");
        let lines: String = (0..granted)
            .map(|i| format!("arn:aws:iam::111122223333:user/u{i:04}\n"))
            .collect();
        std::fs::write(&list, lines).unwrap();
        let grant_all = || {
            let start = Instant::now();
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_aws-auth"));
            aws_env(&mut cmd, home.path(), &fake.url());
            let out = cmd
                .args([
                    "access",
                    "add",
                    "--cluster",
                    "bench",
                    "--policy",
                    "cluster-admin",
                ])
                .args(["-o", "json", "--from-file"])
                .arg(&list)
                .output()
                .unwrap();
            (out, start.elapsed())
        };
        let (out, took) = grant_all();
        let calls = fake.calls();
        let accepted = calls
            .iter()
            .filter(|c| c.status != 429 && !c.op.starts_with("Get"))
            .count();
        let throttled = calls.iter().filter(|c| c.status == 429).count();
        let floor = Duration::from_secs_f64((accepted as f64 - RATE).max(0.0) / RATE);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        println!(
            "aws-auth access add: {granted} principals granted cluster-admin, {accepted} EKS calls accepted, {throttled} throttled"
        );
        println!(
            "  wall {:.1} s, throttle floor {:.1} s, ratio {:.3}; entries {}; failures {}; exit {}",
            took.as_secs_f64(),
            floor.as_secs_f64(),
            took.as_secs_f64() / floor.as_secs_f64(),
            fake.snapshot("bench").entries.len(),
            report["summary"]["failed"],
            out.status
        );
        if !out.status.success() {
            println!("{}", String::from_utf8_lossy(&out.stderr));
        }
        // Issue 25.13: the same job again, nothing left to do. Its floor: the
        // cluster described, the entry list, one read per principal.
        fake.clear_calls();
        let (out, took) = grant_all();
        let calls = fake.calls();
        let accepted = calls
            .iter()
            .filter(|c| c.status != 429 && !c.op.starts_with("Get"))
            .count();
        let ideal = 1 + granted.div_ceil(100) + granted;
        let floor = Duration::from_secs_f64((ideal as f64 - RATE).max(0.0) / RATE);
        let writes = calls
            .iter()
            .filter(|c| {
                c.op.starts_with("Create")
                    || c.op.starts_with("Associate")
                    || c.op.starts_with("Update")
            })
            .count();
        println!(
            "aws-auth access add again (nothing to do): {accepted} EKS calls accepted ({ideal} at the floor: describe, list, one read each), {writes} writes"
        );
        // Two floors: the calls at the rate, and the stricter one that also
        // takes the throttle's burst as free (a paced client cannot know the
        // bucket's depth; a run that starts at the learnt rate does not use it).
        let at_rate = ideal as f64 / RATE;
        println!(
            "  wall {:.1} s; floor {:.1} s (the calls at the rate), ratio {:.3}; {:.1} s with the burst free, ratio {:.3}; exit {}",
            took.as_secs_f64(),
            at_rate,
            took.as_secs_f64() / at_rate,
            floor.as_secs_f64(),
            took.as_secs_f64() / floor.as_secs_f64(),
            out.status
        );
    }

    let workshop = env_usize("BENCH_SEED_ACCESS", 0);
    if workshop > 0 {
        let fake = server(workshop);
        let start = Instant::now();
        let mut failures = 0;
        for i in 0..workshop {
            let arn = format!("arn:aws:iam::111122223333:user/u{i:04}");
            let call = |args: &[&str]| {
                let mut cmd = Command::new("aws");
                aws_env(&mut cmd, home.path(), &fake.url());
                cmd.args(args)
                    .output()
                    .map(|o| o.status.success())
                    .unwrap_or(false)
            };
            let ok = call(&[
                "eks",
                "create-access-entry",
                "--cluster-name",
                "bench",
                "--principal-arn",
                &arn,
                "--output",
                "json",
            ]) && call(&[
                "eks",
                "associate-access-policy",
                "--cluster-name",
                "bench",
                "--principal-arn",
                &arn,
                "--policy-arn",
                "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
                "--access-scope",
                "type=cluster",
                "--output",
                "json",
            ]);
            failures += usize::from(!ok);
        }
        let took = start.elapsed();
        println!(
            "workshop script (create + associate, one aws CLI process per call, in sequence): {workshop} principals, {} calls in {:.1} s, {failures} failures ({:.0} ms per principal)",
            fake.calls().len(),
            took.as_secs_f64(),
            took.as_secs_f64() * 1000.0 / workshop as f64
        );
    }

    let seed = env_usize("BENCH_SEED_MAPPINGS", n);
    if seed == 0 {
        return;
    }
    let fake = server(seed);
    let start = Instant::now();
    let mut failures = 0;
    let run = |args: &[&str]| {
        let mut cmd = Command::new("aws");
        aws_env(&mut cmd, home.path(), &fake.url());
        cmd.args(args)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    for i in 0..seed {
        let arn = format!("arn:aws:iam::111122223333:user/u{i:04}");
        let user = format!("u{i:04}");
        let admin = i % ADMIN_EVERY == 0;
        let group = if admin { "oncall" } else { "developers" };
        let mut ok = run(&[
            "eks",
            "create-access-entry",
            "--cluster-name",
            "bench",
            "--principal-arn",
            &arn,
            "--username",
            &user,
            "--kubernetes-groups",
            group,
            "--output",
            "json",
        ]);
        if ok && admin {
            ok = run(&[
                "eks",
                "associate-access-policy",
                "--cluster-name",
                "bench",
                "--principal-arn",
                &arn,
                "--policy-arn",
                "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
                "--access-scope",
                "type=cluster",
                "--output",
                "json",
            ]);
        }
        failures += usize::from(!ok);
    }
    let seeded = start.elapsed();
    let processes = fake.calls().len();
    println!(
        "seed script (one aws CLI process per call, in sequence): {seed} mappings, {processes} calls in {:.1} s, {failures} failures ({:.0} ms per mapping)",
        seeded.as_secs_f64(),
        seeded.as_secs_f64() * 1000.0 / seed as f64
    );
}
