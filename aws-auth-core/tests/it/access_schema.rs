//! The published JSON Schema of `aws-auth access sync` files
//! (`docs/access-sync.schema.json`) and the reader agree: every file one
//! accepts the other accepts, every file one refuses the other refuses, on
//! the rules a schema can say. Python's `jsonschema` judges (`.ci/test`
//! installs it).

use aws_auth_core::access::read_entries;
use serde_json::{Value, json};

/// Files both must accept (`true`) or refuse (`false`).
fn cases() -> Vec<(Value, bool)> {
    let alice = "arn:aws:iam::111122223333:user/alice";
    vec![
        // Issue 20.5: no entries, or null ones, could be a file cut short.
        (json!({}), false),
        (json!({"entries": null}), false),
        (json!({"entries": []}), true),
        (json!({"entries": []}), true),
        (json!({"entries": [{"principalArn": alice}]}), true),
        (
            json!({"entries": [{"principalArn": "arn:aws:iam::111122223333:role/teams/Dev", "username": "dev:{{SessionName}}",
                "kubernetesGroups": ["dev"], "type": "STANDARD",
                "accessPolicies": [{"policy": "edit", "namespaces": ["dev", "qa-*"]}, {"policy": "AmazonEKSViewPolicy"}]}]}),
            true,
        ),
        (
            json!({"entries": [{"principalArn": "arn:aws:iam::111122223333:role/Nodes", "type": "EC2_LINUX"}]}),
            true,
        ),
        (
            json!({"entries": [{"principalArn": alice, "accessPolicies": [{"policy": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"}]}]}),
            true,
        ),
        (
            json!({"entries": [{"principalArn": "arn:aws-cn:iam::111122223333:user/li"}]}),
            true,
        ),
        (
            json!({"entries": [{"principalArn": alice, "accessPolicies": [{"policy": "AmazonEKSAutoNodePolicy"}]}]}),
            true,
        ),
        (
            json!({"entries": [{"principalArn": "arn:aws:iam::111122223333:role/Dev", "username": "dev:{{SessionNameRaw}}"}]}),
            true,
        ),
        // An unclosed `{{` is no template.
        (
            json!({"entries": [{"principalArn": alice, "username": "a{{b"}]}),
            true,
        ),
        // Refused by both.
        (json!([]), false),
        (json!({"entries": {}}), false),
        (json!({"entrys": []}), false),
        (json!({"entries": [{}]}), false),
        (
            json!({"entries": [{"principalArn": alice, "usrname": "a"}]}),
            false,
        ),
        (
            json!({"entries": [{"principalArn": "arn:aws:sts::111122223333:assumed-role/Dev/s"}]}),
            false,
        ),
        (json!({"entries": [{"principalArn": "alice"}]}), false),
        (
            json!({"entries": [{"principalArn": alice, "type": "standard"}]}),
            false,
        ),
        (
            json!({"entries": [{"principalArn": alice, "username": "system:alice"}]}),
            false,
        ),
        (
            json!({"entries": [{"principalArn": alice, "username": "eks:alice"}]}),
            false,
        ),
        (
            json!({"entries": [{"principalArn": alice, "username": 7}]}),
            false,
        ),
        (
            json!({"entries": [{"principalArn": "arn:aws:iam::111122223333:role/Dev", "username": "dev:{{AccountID}}"}]}),
            false,
        ),
        (
            json!({"entries": [{"principalArn": "arn:aws:iam::111122223333:role/Dev", "username": "{{SessionName}}"}]}),
            false,
        ),
        (
            json!({"entries": [{"principalArn": "arn:aws:iam::111122223333:role/Dev", "username": "x {{a}} dev:{{SessionName}}"}]}),
            false,
        ),
        (
            json!({"entries": [{"principalArn": alice, "kubernetesGroups": ["system:masters"]}]}),
            false,
        ),
        (
            json!({"entries": [{"principalArn": alice, "kubernetesGroups": "dev"}]}),
            false,
        ),
        (
            json!({"entries": [{"principalArn": alice, "kubernetesGroups": ["dev", ""]}]}),
            false,
        ),
        (
            json!({"entries": [{"principalArn": alice, "accessPolicies": [{"policy": "root"}]}]}),
            false,
        ),
        (
            json!({"entries": [{"principalArn": alice, "accessPolicies": [{"policy": "AmazonEKSPolicy"}]}]}),
            false,
        ),
        (
            json!({"entries": [{"principalArn": alice, "accessPolicies": [{"policy": "arn:aws:iam::aws:policy/AdministratorAccess"}]}]}),
            false,
        ),
        (
            json!({"entries": [{"principalArn": alice, "accessPolicies": [{"namespaces": ["dev"]}]}]}),
            false,
        ),
        (
            json!({"entries": [{"principalArn": alice, "accessPolicies": [{"policy": "view", "scope": "x"}]}]}),
            false,
        ),
        (
            json!({"entries": [{"principalArn": alice, "accessPolicies": [{"policy": "view", "namespaces": "dev"}]}]}),
            false,
        ),
        (
            json!({"entries": [{"principalArn": alice, "accessPolicies": [{"policy": "view", "namespaces": []}]}]}),
            false,
        ),
        (
            json!({"entries": [{"principalArn": alice, "accessPolicies": [{"policy": "view", "namespaces": ["dev", " "]}]}]}),
            false,
        ),
        (
            json!({"entries": [{"principalArn": alice, "accessPolicies": [{"policy": "view", "namespaces": null}]}]}),
            true,
        ),
    ]
}

#[test]
fn the_published_schema_and_the_reader_agree() {
    let schema =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/access-sync.schema.json");
    let cases = cases();
    let files: Vec<&Value> = cases.iter().map(|(v, _)| v).collect();
    let judge = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
print(json.dumps([v.is_valid(f) for f in json.load(sys.stdin)]))
"#;
    let mut child = std::process::Command::new("python3")
        .args(["-c", judge])
        .arg(&schema)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs (.ci/test installs python3 and its jsonschema package)");
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&files).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the schema check failed (is PyPI's jsonschema installed? .ci/test installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdicts: Vec<bool> = serde_json::from_slice(&out.stdout).unwrap();
    for ((file, want), schema_says) in cases.iter().zip(verdicts) {
        let text = serde_json::to_string_pretty(file).unwrap();
        let reader_says = read_entries(&text).is_ok();
        assert_eq!(schema_says, *want, "the schema is wrong on {text}");
        assert_eq!(
            reader_says,
            *want,
            "the reader is wrong on {text}: {:?}",
            read_entries(&text).err()
        );
    }
}

/// MIGRATION.md's example sync file reads as it says.
#[test]
fn the_guides_example_file_reads() {
    let guide = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../MIGRATION.md"),
    )
    .unwrap();
    let start = guide
        .find("# yaml-language-server: $schema=docs/access-sync.schema.json")
        .expect("MIGRATION.md shows a sync file");
    let text = &guide[start..start + guide[start..].find("```").unwrap()];
    let entries = read_entries(text).unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(
        entries[1].policies[0].access_scope.namespaces,
        ["dev", "staging"]
    );
    assert_eq!(entries[2].username, None);
}
