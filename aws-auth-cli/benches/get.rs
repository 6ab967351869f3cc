//! `aws-auth --file MAP get` on the generated 1 MiB map (7,671 entries), as a
//! table and as JSON: the table's notes (which entries the reader ignores)
//! come from one pass over the entries, so the table costs about what the
//! JSON does. Whole processes, timed: `cargo bench -p aws-auth-cli --bench get`.

#[allow(dead_code)]
#[path = "../../aws-auth-core/benches/support/bigmap.rs"]
mod bigmap;

use std::process::Command;
use std::time::{Duration, Instant};

fn main() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("aws-auth.yaml");
    let (text, entries) = bigmap::manifest(1 << 20);
    std::fs::write(&path, &text).expect("the map is written");
    let bin = env!("CARGO_BIN_EXE_aws-auth");
    eprintln!("generated map: {} bytes, {entries} entries", text.len());
    for format in ["table", "json"] {
        let mut times: Vec<Duration> = (0..15)
            .map(|_| {
                let start = Instant::now();
                let out = Command::new(bin)
                    .args(["--file"])
                    .arg(&path)
                    .args(["get", "-o", format])
                    .output()
                    .expect("aws-auth runs");
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                start.elapsed()
            })
            .collect();
        times.sort();
        println!(
            "get -o {format:5}  p10 {:7.1} ms  p50 {:7.1} ms",
            times[1].as_secs_f64() * 1e3,
            times[7].as_secs_f64() * 1e3
        );
    }
}
