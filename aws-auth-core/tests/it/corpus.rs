//! Every ConfigMap of the real-world corpus (`fixtures/corpus`, with its sources in
//! `SOURCES.md`) must read exactly as `expected.json` says.

use std::path::PathBuf;

use aws_auth_core::{DataKey, Document, KeyState};
use serde_json::Value;

pub(crate) fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/corpus")
}

/// Where `expected.json` (kept as it came) and the real parsing stack
/// (yaml.v2, as kubectl and the API server decode a manifest) disagree: the
/// file, the key, how yaml.v2's reading differs, and why.
type Correction = (&'static str, &'static str, fn(&str) -> String, &'static str);

const CORRECTIONS: &[Correction] = &[(
    "bad-007-awsdocs-hybrid-yml-misindented.yaml",
    "mapRoles",
    |s| s.strip_suffix('\n').unwrap_or(s).to_owned(),
    "the block ends the file without a line feed, and yaml.v2 then adds no final line break (checked against gopkg.in/yaml.v2)",
)];

fn expected() -> Vec<Value> {
    let path = corpus_dir().join("expected.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the corpus is part of the repository ({}): {e}",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("expected.json is JSON")
}

#[test]
fn corpus_reads_as_expected() {
    let cases = expected();
    assert!(cases.len() >= 18, "the corpus has {} cases", cases.len());
    for case in &cases {
        let file = case["file"].as_str().unwrap();
        let text = std::fs::read_to_string(corpus_dir().join(file)).unwrap();
        let doc = Document::parse_manifest(text.as_str());
        let configmap_ok = case["configmap_ok"].as_bool().unwrap();
        let Ok(doc) = doc else {
            assert!(!configmap_ok, "{file}: {:?}", doc.unwrap_err());
            continue;
        };
        assert!(configmap_ok, "{file} should not read as a ConfigMap");
        let view = serde_json::to_value(doc.view()).unwrap();
        for key in ["mapRoles", "mapUsers", "mapAccounts"] {
            assert_eq!(view[key], case[key], "{file}: {key}");
        }
        let parse_ok = DataKey::ALL
            .iter()
            .all(|&k| !matches!(doc.view().state(k), KeyState::Unreadable { .. }));
        assert_eq!(
            parse_ok,
            case["parse_ok"].as_bool().unwrap(),
            "{file}: parse_ok"
        );
        let strings = case["data_strings"].as_object().unwrap();
        for key in DataKey::ALL {
            let mut want = strings
                .get(key.as_str())
                .and_then(Value::as_str)
                .map(str::to_owned);
            if let Some((.., fix, _)) = CORRECTIONS
                .iter()
                .find(|(f, k, ..)| *f == file && *k == key.as_str())
            {
                want = want.map(|w| fix(&w));
            }
            assert_eq!(
                doc.data_string(key),
                want.as_deref(),
                "{file}: data string {key}"
            );
        }
    }
}
