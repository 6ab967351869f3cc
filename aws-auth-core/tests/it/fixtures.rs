//! Every ConfigMap in `fixtures/`: a snapshot of what the reader sees and what
//! lint says, and an add-then-remove round trip on each readable key.

use std::path::PathBuf;

use aws_auth_core::edit::{Guards, MappingSpec, Op, Written};
use aws_auth_core::{DataKey, Document, KeyState, KeyView};
use serde_json::{Value, json};

pub(crate) fn fixtures() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("fixtures/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    out.sort();
    assert!(out.len() >= 40, "at least 40 fixtures, found {}", out.len());
    out
}

fn key_json<T: serde::Serialize>(doc: &Document, key: DataKey, view: &KeyView<T>) -> Value {
    let state = match &view.state {
        KeyState::Absent => json!("absent"),
        KeyState::Empty => json!("empty"),
        KeyState::Read => json!("read"),
        KeyState::Unreadable { message, offset } => {
            let p = doc.position(key, *offset);
            json!({"unreadable": message, "at": format!("{}:{}", p.line, p.column)})
        }
    };
    let line = |offset: usize| doc.position(key, offset).line;
    json!({
        "state": state,
        "entries": view.entries.iter().map(|e| json!({"line": line(e.span.start), "value": e.value})).collect::<Vec<_>>(),
        "dropped": view.dropped.iter().map(|d| json!({"line": line(d.span.start), "reason": d.reason})).collect::<Vec<_>>(),
        "zeroed": view.field_issues.iter().map(|i| json!({"line": line(i.span.start), "field": i.field, "found": i.found})).collect::<Vec<_>>(),
    })
}

fn reading(text: &str) -> Value {
    let lint: Vec<String> = aws_auth_core::lint::lint_manifest(text)
        .iter()
        .map(|d| {
            format!(
                "{}:{} {}[{}] {}",
                d.position.line, d.position.column, d.severity, d.code, d.message
            )
        })
        .collect();
    let doc = match Document::parse_manifest(text) {
        Ok(doc) => doc,
        Err(e) => {
            return json!({"manifest": {"error": e.message, "at": format!("{}:{}", e.position.line, e.position.column)}, "lint": lint});
        }
    };
    let view = doc.view();
    json!({
        "manifest": "ok",
        "mapRoles": key_json(&doc, DataKey::MapRoles, &view.roles),
        "mapUsers": key_json(&doc, DataKey::MapUsers, &view.users),
        "mapAccounts": key_json(&doc, DataKey::MapAccounts, &view.accounts),
        "lint": lint,
    })
}

#[test]
fn fixtures_read_and_lint_as_snapshotted() {
    for (name, text) in fixtures() {
        insta::assert_yaml_snapshot!(name.as_str(), reading(&text));
    }
}

/// Adding a mapping changes nothing but the lines it adds, and removing it again
/// gives back the original bytes, on every fixture and every readable key.
#[test]
fn add_then_remove_is_byte_identical_on_every_fixture() {
    let spec =
        |arn: &str| MappingSpec::new(arn, "round-trip:{{SessionName}}", ["round-trip", "view"]);
    let cases = [
        (
            DataKey::MapRoles,
            Op::AddRole(spec("arn:aws:iam::999988887777:role/RoundTrip")),
            Op::RemoveRole {
                arn: "arn:aws:iam::999988887777:role/RoundTrip".into(),
            },
        ),
        (
            DataKey::MapUsers,
            Op::AddUser(spec("arn:aws:iam::999988887777:user/round-trip")),
            Op::RemoveUser {
                arn: "arn:aws:iam::999988887777:user/round-trip".into(),
            },
        ),
        (
            DataKey::MapAccounts,
            Op::AddAccount("999988887777".into()),
            Op::RemoveAccount("999988887777".into()),
        ),
    ];
    let mut tried = 0;
    for (name, text) in fixtures() {
        let Ok(doc) = Document::parse_manifest(text.as_str()) else {
            continue;
        };
        for (key, add, remove) in &cases {
            if matches!(doc.view().state(*key), KeyState::Unreadable { .. }) {
                let err = doc
                    .edit(std::slice::from_ref(add), &Guards::default())
                    .unwrap_err();
                assert!(err.to_string().contains("cannot be read"), "{name}: {err}");
                continue;
            }
            let added = doc
                .edit(std::slice::from_ref(add), &Guards::default())
                .unwrap_or_else(|e| panic!("{name} {key}: {e}"));
            let after = added.manifest().unwrap();
            let key_edit = &added.keys[0];
            if key_edit.written == Written::InPlace {
                // Nothing before the insertion point changed, nothing after it either.
                let prefix = text
                    .bytes()
                    .zip(after.bytes())
                    .take_while(|(a, b)| a == b)
                    .count();
                let suffix = text
                    .bytes()
                    .rev()
                    .zip(after.bytes().rev())
                    .take_while(|(a, b)| a == b)
                    .count();
                assert!(
                    prefix + suffix >= text.len(),
                    "{name} {key}: the add changed existing bytes"
                );
            }
            let back = added
                .document
                .edit(std::slice::from_ref(remove), &Guards::default())
                .unwrap_or_else(|e| panic!("{name} {key}: {e}"));
            if key_edit.written == Written::InPlace {
                assert_eq!(
                    back.manifest().unwrap(),
                    text,
                    "{name} {key}: add then remove is not byte-identical"
                );
            } else {
                // A value rewritten whole cannot come back byte for byte; what the reader sees must.
                let view = |d: &Document| serde_json::to_value(d.view()).unwrap();
                assert_eq!(view(&back.document), view(&doc), "{name} {key}");
            }
            tried += 1;
        }
    }
    assert!(tried > 100, "only {tried} round trips ran");
}
