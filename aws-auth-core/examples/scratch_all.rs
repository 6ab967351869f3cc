use aws_auth_core::Document;
use aws_auth_core::edit::{Guards, MappingSpec, Op};
#[path = "../benches/bigmap.rs"]
mod bigmap;
fn main() {
    let (text, _) = bigmap::manifest(1 << 20);
    for _ in 0..150 {
        let d = Document::parse_manifest(text.as_str()).unwrap();
        let l = d.lint();
        let e = d
            .edit(
                &[Op::AddUser(MappingSpec {
                    arn: "arn:aws:iam::111122223333:user/x".into(),
                    username: "x".into(),
                    groups: vec!["d".into()],
                })],
                &Guards::default(),
            )
            .unwrap();
        std::hint::black_box((l.len(), e.manifest().map(str::len)));
    }
}
