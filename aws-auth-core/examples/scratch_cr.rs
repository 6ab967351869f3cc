use aws_auth_core::Document;
use aws_auth_core::edit::{Guards, MappingSpec, Op};
fn main() {
    let text = std::fs::read_to_string("fixtures/hybrid-nodes.yaml").unwrap();
    for i in 0..text.len() {
        let mut t = text.clone();
        t.insert(i, '\r');
        let Ok(doc) = Document::parse_manifest(t.as_str()) else {
            continue;
        };
        let ops = [
            Op::AddRole(MappingSpec {
                arn: "arn:aws:iam::999988887777:role/P".into(),
                username: "p".into(),
                groups: vec!["g".into()],
            }),
            Op::AddAccount("999988887777".into()),
        ];
        if let Err(e) = doc.edit(
            &ops,
            &Guards {
                force: true,
                ..Guards::default()
            },
        ) {
            if matches!(e, aws_auth_core::edit::EditError::Verification { .. }) {
                println!(
                    "at {i}: {:?}\n{e}",
                    &t[i.saturating_sub(20)..(i + 20).min(t.len())]
                );
                break;
            }
        }
    }
}
