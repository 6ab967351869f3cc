//! Peak memory of `aws-auth webhook serve` under the reviews that cost it
//! most, sixteen clients at once, against the Deployment's 256 Mi limit:
//!
//! - 300,000 small data keys (an 8 MB review: the keys are skipped as they
//!   are parsed);
//! - the largest review the API server can send: two objects of 1 MiB of
//!   `&`, each written `\u0026` as Go's encoding/json writes it (12 MiB);
//! - the generated 1 MiB map, object and oldObject.
//!
//! The server's peak resident set (VmHWM) is read from /proc after each
//! case. `cargo bench -p aws-auth-cli --bench webhook`

#[allow(dead_code)]
#[path = "../../aws-auth-core/benches/support/bigmap.rs"]
mod bigmap;
#[path = "../../tests/e2e/webhook_client.rs"]
mod webhook_client;

mod support;

use std::io::{BufRead, BufReader, Write as _};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};

const CLIENTS: usize = 16;
const ROUNDS: usize = 3;
const LIMIT_MIB: f64 = 256.0;

fn review(object: Value, old: Value) -> String {
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "bench", "operation": "UPDATE", "namespace": "kube-system", "name": "aws-auth",
        "kind": {"group": "", "version": "v1", "kind": "ConfigMap"},
        "userInfo": {"username": "bench"}, "object": object, "oldObject": old}})
    .to_string()
}

fn config_map(data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "aws-auth", "namespace": "kube-system"}, "data": data})
}

fn main() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).expect("a cert");
    std::fs::write(dir.path().join("tls.crt"), cert.cert.pem()).expect("written");
    std::fs::write(dir.path().join("tls.key"), cert.signing_key.serialize_pem()).expect("written");
    let mut child = Command::new(env!("CARGO_BIN_EXE_aws-auth"))
        .current_dir(dir.path())
        .args(["webhook", "serve", "--cert", "tls.crt", "--key", "tls.key"])
        .args(["--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("the webhook starts");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let first: Value =
        serde_json::from_str(&lines.next().expect("a line").expect("read")).expect("a JSON line");
    let address = first["address"].as_str().expect("an address").to_owned();
    std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
    let config = webhook_client::tls_config(dir.path());
    let pid = child.id();
    println!(
        "idle: {:.1} MiB resident",
        support::status_kib(pid, "VmRSS:") as f64 / 1024.0
    );

    // 300,000 small keys beside a small map.
    let mut many = serde_json::Map::new();
    for i in 0..300_000 {
        many.insert(format!("k{i:06}"), json!("v"));
    }
    many.insert("mapRoles".into(), json!("- rolearn: arn:aws:iam::111122223333:role/Admin\n  username: admin\n  groups: [system:masters]\n"));
    let many = review(
        config_map(Value::Object(many.clone())),
        config_map(Value::Object(many)),
    );
    // 1 MiB of `&`, escaped as Go escapes it.
    let amp = config_map(json!({"mapRoles": "&".repeat(1 << 20)}));
    let escaped = review(amp.clone(), amp).replace('&', "\\u0026");
    // The generated 1 MiB map.
    let (text, entries) = bigmap::manifest(1 << 20);
    let doc = aws_auth_core::Document::parse_manifest(text.as_str()).expect("the map reads");
    let data = |k| doc.data_string(k).unwrap_or_default().to_owned();
    let map = config_map(json!({
        "mapRoles": data(aws_auth_core::DataKey::MapRoles),
        "mapUsers": data(aws_auth_core::DataKey::MapUsers),
    }));
    let big = review(map.clone(), map);

    for (name, body) in [
        ("300,000 data keys", many),
        ("1 MiB of & escaped (the largest legal review)", escaped),
        (&*format!("the 1 MiB map ({entries} entries)"), big),
    ] {
        let request = Arc::new(webhook_client::post(body.as_bytes()));
        let start = Instant::now();
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let (address, config, request) = (address.clone(), config.clone(), request.clone());
                std::thread::spawn(move || {
                    let mut s = webhook_client::connect(&address, &config);
                    for _ in 0..ROUNDS {
                        s.write_all(&request).expect("sent");
                        let (status, _) = webhook_client::read_response(&mut s).expect("answered");
                        assert_eq!(status, 200);
                    }
                })
            })
            .collect();
        for c in clients {
            c.join().expect("a client");
        }
        let peak = support::status_kib(pid, "VmHWM:") as f64 / 1024.0;
        println!(
            "{name}: {:.1} MiB review, {} reviews in {:.2} s; peak resident so far {peak:.1} MiB ({:.0}% of the {LIMIT_MIB} MiB limit)",
            body.len() as f64 / (1 << 20) as f64,
            CLIENTS * ROUNDS,
            start.elapsed().as_secs_f64(),
            peak / LIMIT_MIB * 100.0
        );
    }
    let _ = child.kill();
    let _ = child.wait();
}
