use aws_auth_core::Document;
use aws_auth_core::edit::{Guards, MappingSpec, Op};
use std::time::Instant;
#[path = "../benches/bigmap.rs"]
mod bigmap;
fn best<T>(n: usize, mut f: impl FnMut() -> T) -> f64 {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed().as_secs_f64() * 1e3
        })
        .fold(f64::MAX, f64::min)
}
fn main() {
    let (text, _) = bigmap::manifest(1 << 20);
    let doc = Document::parse_manifest(text.as_str()).unwrap();
    let op = || {
        Op::AddUser(MappingSpec {
            arn: "arn:aws:iam::111122223333:user/x".into(),
            username: "x".into(),
            groups: vec!["d".into()],
        })
    };
    println!(
        "read  {:.2} ms",
        best(30, || Document::parse_manifest(text.as_str()).unwrap())
    );
    println!("lint  {:.2} ms", best(30, || doc.lint()));
    println!(
        "edit  {:.2} ms",
        best(30, || doc.edit(&[op()], &Guards::default()).unwrap())
    );
    println!(
        "all   {:.2} ms",
        best(30, || {
            let d = Document::parse_manifest(text.as_str()).unwrap();
            let l = d.lint();
            let e = d.edit(&[op()], &Guards::default()).unwrap();
            (l.len(), e.manifest().map(str::len))
        })
    );
}
