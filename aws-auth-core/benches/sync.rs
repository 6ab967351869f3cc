//! Planning a sync of 1,000 desired mappings against the generated 1 MiB
//! map (about 7,700 entries): half the desired set is new, half already the
//! owner's and a tenth of those changed, with a prune of what the owner no
//! longer wants. Timed from the parsed document to the edited one.
//!
//! `cargo bench -p aws-auth-core --bench sync`

use aws_auth_core::Document;
use aws_auth_core::edit::{Guards, MappingSpec, Op, SyncSpec};
use criterion::{Criterion, criterion_group, criterion_main};

#[path = "support/bigmap.rs"]
#[allow(dead_code)]
mod bigmap;

const DESIRED: usize = 1_000;

fn user(i: usize, group: &str) -> MappingSpec {
    MappingSpec::new(
        format!("arn:aws:iam::111122223333:user/synced-{i}"),
        format!("synced-{i}"),
        [group],
    )
}

fn bench(c: &mut Criterion) {
    let (text, entries) = bigmap::manifest(1 << 20);
    let doc = Document::parse_manifest(text.as_str()).expect("the map reads");
    // The owner already has the first half (and 100 it no longer wants).
    let mut first = SyncSpec::new("bench");
    for i in 0..DESIRED / 2 + 100 {
        first = first.user(user(i, "devs"));
    }
    let owned = doc
        .edit(&[Op::Sync(first)], &Guards::default())
        .expect("the first sync")
        .document;
    let mut spec = SyncSpec::new("bench").prune(true);
    for i in 100..DESIRED + 100 {
        spec = spec.user(user(i, if i % 10 == 0 { "ops" } else { "devs" }));
    }
    eprintln!(
        "map: {} bytes, {entries} entries (+{} owned); desired: {DESIRED}",
        text.len(),
        DESIRED / 2 + 100
    );
    let mut group = c.benchmark_group("sync");
    group.sample_size(20);
    group.bench_function("1000-desired-vs-1MiB", |b| {
        b.iter(|| {
            owned
                .edit(&[Op::Sync(spec.clone())], &Guards::default())
                .expect("the sync")
                .changes
                .len()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
