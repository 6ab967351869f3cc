//! The phases of read + lint + one edit + render on the generated 1 MiB map,
//! one at a time: wall-clock percentiles, or a fixed number of runs of one
//! phase to count its instructions (this machine's clock is noisy; counts are
//! not).
//!
//! `cargo bench -p aws-auth-core --bench phases` prints p10 and p50 of each
//! phase over 200 rounds. `PHASE=read RUNS=3 valgrind --tool=callgrind
//! target/release/deps/phases-*` runs one phase (`read`, `lint`, `edit`,
//! `all`, or `none` for the setup alone) that many times; the difference
//! between two run counts, divided, is the cost of one run.

use std::time::Instant;

use aws_auth_core::Document;
use aws_auth_core::edit::Guards;

#[path = "support/bigmap.rs"]
mod bigmap;

/// Runs `phase` `runs` times; returns something that depends on the work.
fn repeat(text: &str, phase: &str, runs: usize) -> usize {
    let doc = Document::parse_manifest(text).expect("the generated map reads");
    let mut sink = 0;
    for _ in 0..runs {
        sink += match phase {
            "none" => 0,
            "read" => Document::parse_manifest(text).map_or(0, |d| d.view().roles.entries.len()),
            "lint" => doc.lint().len(),
            "edit" => doc
                .edit(&[bigmap::add_user()], &Guards::default())
                .map_or(0, |e| e.manifest().map_or(0, str::len)),
            "all" => {
                let doc = Document::parse_manifest(text).expect("the generated map reads");
                let lint = doc.lint().len();
                let edited = doc
                    .edit(&[bigmap::add_user()], &Guards::default())
                    .expect("the edit applies");
                lint + edited.manifest().map_or(0, str::len)
            }
            other => panic!("unknown PHASE {other:?}: read, lint, edit, all or none"),
        };
    }
    sink
}

fn main() {
    let (text, entries) = bigmap::manifest(1 << 20);
    if let Ok(phase) = std::env::var("PHASE") {
        let runs = std::env::var("RUNS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(1);
        println!("{phase} x{runs}: {}", repeat(&text, &phase, runs));
        return;
    }
    let names = ["read", "lint", "edit+render", "drop", "all"];
    let mut times: [Vec<f64>; 5] = Default::default();
    for _ in 0..200 {
        let t0 = Instant::now();
        let doc = Document::parse_manifest(text.as_str()).expect("the generated map reads");
        let t1 = Instant::now();
        let lint = doc.lint();
        let t2 = Instant::now();
        let edited = doc
            .edit(&[bigmap::add_user()], &Guards::default())
            .expect("the edit applies");
        std::hint::black_box((lint.len(), edited.manifest().map(str::len).ok()));
        let t3 = Instant::now();
        drop(edited);
        drop(doc);
        let t4 = Instant::now();
        for (i, (a, b)) in [(t0, t1), (t1, t2), (t2, t3), (t3, t4), (t0, t4)]
            .into_iter()
            .enumerate()
        {
            times[i].push((b - a).as_secs_f64() * 1e3);
        }
    }
    println!(
        "generated map: {} bytes, {entries} entries; 200 rounds",
        text.len()
    );
    for (name, t) in names.iter().zip(&mut times) {
        t.sort_by(f64::total_cmp);
        println!(
            "{name:12} p10 {:.3} ms  p50 {:.3} ms",
            t[t.len() / 10],
            t[t.len() / 2]
        );
    }
}
