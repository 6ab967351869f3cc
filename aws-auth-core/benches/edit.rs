//! read + lint + one edit + render on a generated 1 MiB map.
//!
//! `cargo bench -p aws-auth-core --bench edit`

use aws_auth_core::Document;
use aws_auth_core::edit::Guards;
use criterion::{Criterion, criterion_group, criterion_main};

#[path = "support/bigmap.rs"]
mod bigmap;

fn bench(c: &mut Criterion) {
    let (text, entries) = bigmap::manifest(1 << 20);
    eprintln!("generated map: {} bytes, {entries} entries", text.len());
    let mut group = c.benchmark_group("1MiB");
    group.sample_size(30);
    group.bench_function("read", |b| {
        b.iter(|| Document::parse_manifest(text.as_str()).unwrap())
    });
    let doc = Document::parse_manifest(text.as_str()).unwrap();
    group.bench_function("lint", |b| b.iter(|| doc.lint()));
    group.bench_function("effective", |b| {
        b.iter(|| doc.view().effective().mappings().count())
    });
    group.bench_function("edit+render", |b| {
        b.iter(|| {
            doc.edit(&[bigmap::add_user()], &Guards::default())
                .unwrap()
                .manifest()
                .map(str::len)
        })
    });
    group.bench_function("read+lint+edit+render", |b| {
        b.iter(|| {
            let doc = Document::parse_manifest(text.as_str()).unwrap();
            let diagnostics = doc.lint();
            let edited = doc.edit(&[bigmap::add_user()], &Guards::default()).unwrap();
            (diagnostics.len(), edited.manifest().map(str::len))
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
