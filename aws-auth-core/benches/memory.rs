//! Peak memory of read + lint + one edit + render on a generated 1 MiB map,
//! measured as the growth of the process's peak resident set (Linux).
//!
//! `cargo bench -p aws-auth-core --bench memory`

use aws_auth_core::Document;
use aws_auth_core::edit::Guards;

#[path = "support/bigmap.rs"]
mod bigmap;

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    // `cargo bench` passes --bench; nothing to parse.
    let (text, entries) = bigmap::manifest(1 << 20);
    let before = status_kib("VmRSS:").unwrap_or(0);
    let doc = Document::parse_manifest(text.as_str()).unwrap();
    let diagnostics = doc.lint();
    let edited = doc.edit(&[bigmap::add_user()], &Guards::default()).unwrap();
    let out_len = edited.manifest().map_or(0, str::len);
    let peak = status_kib("VmHWM:").unwrap_or(0);
    println!(
        "map: {} bytes, {entries} entries, {} diagnostics, {out_len} bytes written",
        text.len(),
        diagnostics.len()
    );
    match (before, peak) {
        (0, _) | (_, 0) => println!("peak memory: not measurable here (no /proc/self/status)"),
        _ => println!(
            "peak resident memory above the input: {:.1} MiB (VmHWM {} KiB - VmRSS before {} KiB)",
            peak.saturating_sub(before) as f64 / 1024.0,
            peak,
            before
        ),
    }
}
