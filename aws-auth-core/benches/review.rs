//! The admission webhook's decision, timed: one AdmissionReview of a typical
//! map (20 entries) and of the 1 MiB map (object and oldObject: 2 MiB of
//! JSON), and reviews per second on one thread.
//!
//! `cargo bench -p aws-auth-core --bench review` (targets, issue 11: a typical
//! review well under a millisecond; the 1 MiB one p99 <= 20 ms; 500 reviews/s
//! on one core).

use std::time::{Duration, Instant};

use aws_auth_core::admission::{review, review_bytes};
use serde_json::{Value, json};

#[path = "support/bigmap.rs"]
#[allow(dead_code)]
mod bigmap;

/// An UPDATE review of a map holding `roles` and `users`, adding one role.
fn review_of(roles: &str, users: &str) -> Value {
    let object = |roles: &str| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "aws-auth", "namespace": "kube-system", "resourceVersion": "1", "uid": "u"},
            "data": {"mapRoles": roles, "mapUsers": users}})
    };
    let new = format!(
        "{roles}- rolearn: arn:aws:iam::111122223333:role/New\n  username: new\n  groups: [dev]\n"
    );
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "r", "operation": "UPDATE", "namespace": "kube-system", "name": "aws-auth",
        "kind": {"group": "", "version": "v1", "kind": "ConfigMap"},
        "userInfo": {"username": "bench"}, "object": object(&new), "oldObject": object(roles)}})
}

fn percentiles(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    (times[times.len() / 2], times[times.len() * 99 / 100])
}

fn main() {
    // A typical map: a node role, an admin and 18 people.
    let mut typical = String::from(
        "- rolearn: arn:aws:iam::111122223333:role/Nodes\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:bootstrappers, system:nodes]\n- rolearn: arn:aws:iam::111122223333:role/Admin\n  username: admin\n  groups: [system:masters]\n",
    );
    for i in 0..18 {
        typical.push_str(&format!("- rolearn: arn:aws:iam::111122223333:role/Team{i}\n  username: team{i}:{{{{SessionName}}}}\n  groups: [team-{i}, view]\n"));
    }
    let small = review_of(&typical, "");
    assert!(review(&small, &[]).expect("a review").allowed);
    let (text, _) = bigmap::manifest(1 << 20);
    let doc =
        aws_auth_core::Document::parse_manifest(text.as_str()).expect("the generated map reads");
    let data = |k| doc.data_string(k).unwrap_or_default().to_owned();
    let big = review_of(
        &data(aws_auth_core::DataKey::MapRoles),
        &data(aws_auth_core::DataKey::MapUsers),
    );
    let bytes = big.to_string().len();
    // From the request body's bytes, as the server receives them.
    let time = |r: &Value, n: usize| -> Vec<Duration> {
        let body = r.to_string();
        (0..n)
            .map(|_| {
                let t = Instant::now();
                let answer = review_bytes(std::hint::black_box(body.as_bytes()), &[]);
                std::hint::black_box(answer.expect("a review").response.to_string());
                t.elapsed()
            })
            .collect()
    };
    let (p50, p99) = percentiles(time(&small, 2000));
    println!(
        "typical map (20 entries): p50 {:.3} ms  p99 {:.3} ms",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
    let (p50, p99) = percentiles(time(&big, 100));
    println!(
        "1 MiB map ({:.1} MiB of review JSON): p50 {:.1} ms  p99 {:.1} ms",
        bytes as f64 / (1 << 20) as f64,
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
    let start = Instant::now();
    let mut n = 0;
    let body = small.to_string();
    while start.elapsed() < Duration::from_secs(2) {
        let answer = review_bytes(body.as_bytes(), &[]);
        std::hint::black_box(answer.expect("a review").response.to_string());
        n += 1;
    }
    println!(
        "typical reviews per second, one thread: {:.0}",
        n as f64 / start.elapsed().as_secs_f64()
    );
}
