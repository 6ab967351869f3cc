use aws_auth_core::Document;
use aws_auth_core::edit::{Guards, MappingSpec, Op};
#[path = "../benches/bigmap.rs"]
mod bigmap;
fn main() {
    let (text, _) = bigmap::manifest(1 << 20);
    let what = std::env::args().nth(1).unwrap_or_default();
    for _ in 0..3 {
        let doc = Document::parse_manifest(text.as_str()).unwrap();
        if what != "read" {
            let _ = doc.lint();
            let e = doc
                .edit(
                    &[Op::AddUser(MappingSpec {
                        arn: "arn:aws:iam::111122223333:user/x".into(),
                        username: "x".into(),
                        groups: vec!["d".into()],
                    })],
                    &Guards::default(),
                )
                .unwrap();
            std::hint::black_box(e.manifest().map(str::len));
        }
    }
}
