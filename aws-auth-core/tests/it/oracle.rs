//! The reader held to the real Go parsing stack: every fixture and corpus
//! manifest, and a deterministic stream of their mutants, read by this library
//! and by `tests/goparse` (yaml.v2, ghodss/yaml and encoding/json, as kubectl
//! and aws-iam-authenticator's ParseMap use them). Any difference fails, with
//! the input.
//!
//! The Go program is built on first use from Debian's packages (`.ci/test`
//! installs them); `AWS_AUTH_GOPARSE` names a binary built elsewhere. The long
//! run: `AWS_AUTH_ORACLE_MUTANTS=100000 cargo test -p aws-auth-core --test it
//! oracle -- --nocapture`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use aws_auth_core::{DataKey, Document, KeyState, MapView};
use serde_json::{Value, json};

use crate::mutants::{Lcg, mutate, seeds};

/// The Go program, built once per test run.
fn goparse() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("AWS_AUTH_GOPARSE") {
            return PathBuf::from(bin);
        }
        let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let bin = tmp.join("goparse");
        let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/goparse");
        let built = Command::new("go")
            .args(["build", "-o"])
            .arg(&bin)
            .arg(".")
            .current_dir(&source)
            .env("GOPATH", "/usr/share/gocode")
            .env("GO111MODULE", "off")
            .env("GOCACHE", tmp.join("gocache"))
            .env("GOFLAGS", "")
            .output();
        match built {
            Ok(out) if out.status.success() => bin,
            Ok(out) => panic!(
                "building tests/goparse failed (it needs Debian's golang-go, golang-gopkg-yaml.v2-dev and golang-github-ghodss-yaml-dev; .ci/test installs them):\n{}",
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) => panic!(
                "cannot run `go` ({e}): the differential test needs Debian's golang-go, golang-gopkg-yaml.v2-dev and golang-github-ghodss-yaml-dev; .ci/test installs them"
            ),
        }
    })
}

/// The Go stack's readings of `texts`, in order.
fn go_readings(texts: &[String]) -> Vec<Value> {
    let mut child = Command::new(goparse())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tests/goparse runs");
    let input = serde_json::to_vec(texts).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "goparse failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let readings: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(readings.len(), texts.len());
    readings
}

fn texts(list: &[aws_auth_core::Text]) -> Value {
    list.iter().map(|t| t.to_string()).collect()
}

fn entries(view: &MapView, key: DataKey) -> Value {
    match key {
        DataKey::MapRoles => view
            .roles
            .entries
            .iter()
            .map(|e| {
                let r = &e.value;
                json!({
                    "rolearn": r.rolearn.to_string(),
                    "sso": r.sso.as_ref().map(|s| json!({
                        "permissionSetName": s.permission_set_name.to_string(),
                        "accountID": s.account_id.to_string(),
                        "partition": s.partition.to_string(),
                    })),
                    "username": r.username.to_string(),
                    "groups": texts(&r.groups),
                    "userid": r.userid.to_string(),
                })
            })
            .collect(),
        DataKey::MapUsers => view
            .users
            .entries
            .iter()
            .map(|e| {
                let u = &e.value;
                json!({
                    "userarn": u.userarn.to_string(),
                    "username": u.username.to_string(),
                    "groups": texts(&u.groups),
                    "userid": u.userid.to_string(),
                })
            })
            .collect(),
        DataKey::MapAccounts => view
            .accounts
            .entries
            .iter()
            .map(|e| Value::from(e.value.clone()))
            .collect(),
    }
}

/// What the library reads, in the Go program's shape: whether the manifest is
/// refused, and per data key its text, whether it is dropped whole, and the
/// mappings that stand.
fn library_reading(text: &str) -> Value {
    let doc = match Document::parse_manifest(text) {
        Ok(doc) => doc,
        Err(e) => return json!({ "error": e.to_string() }),
    };
    let view = doc.view();
    let mut keys = serde_json::Map::new();
    for key in DataKey::ALL {
        let Some(data) = doc.data_string(key) else {
            continue;
        };
        let mut k = json!({ "text": data, "entries": entries(view, key) });
        if let KeyState::Unreadable { message, .. } = view.state(key) {
            k["unreadable"] = Value::from(message.clone());
        }
        keys.insert(key.as_str().to_owned(), k);
    }
    json!({ "keys": keys })
}

/// Where the library refuses a manifest that the Go stack reads, on purpose:
/// a phrase of the library's error, and why refusing is right.
const DELIBERATE: &[(&str, &str)] = &[
    (
        "and kubectl drops everything after it up to the next `---` line",
        "yaml.v2 reads a document only up to a `...` line or a line indented less than its first, and kubectl silently drops the rest (data included) up to the next `---`; an editor must not guess which part was meant",
    ),
    (
        "a carriage return without a line feed",
        "a lone CR is a line break to YAML only: the file does not show what kubectl applies",
    ),
];

/// The first way the two readings differ, or `None`. Error messages differ by
/// design; only whether there is one counts.
fn difference(ours: &Value, go: &Value) -> Option<String> {
    match (ours.get("error"), go.get("error")) {
        (Some(_), Some(_)) => return None,
        (Some(e), None) => {
            let message = e.as_str().unwrap_or_default();
            if DELIBERATE
                .iter()
                .any(|(phrase, _)| message.contains(phrase))
            {
                return None;
            }
            return Some(format!(
                "the library refuses the manifest ({e}); the Go stack reads it"
            ));
        }
        (None, Some(e)) => {
            return Some(format!(
                "the Go stack refuses the manifest ({e}); the library reads it"
            ));
        }
        (None, None) => {}
    }
    let empty = serde_json::Map::new();
    let ours = ours["keys"].as_object().unwrap_or(&empty);
    let go = go["keys"].as_object().unwrap_or(&empty);
    for key in DataKey::ALL {
        let name = key.as_str();
        let (a, b) = match (ours.get(name), go.get(name)) {
            (None, None) => continue,
            (Some(a), Some(b)) => (a, b),
            (a, _) => {
                return Some(format!(
                    "{name}: {} by the library only",
                    if a.is_some() { "present" } else { "absent" }
                ));
            }
        };
        if a["text"] != b["text"] {
            return Some(format!(
                "{name}: the data string differs\n library: {}\n Go:      {}",
                a["text"], b["text"]
            ));
        }
        match (a.get("unreadable"), b.get("unreadable")) {
            (Some(_), Some(_)) => continue,
            (None, Some(e)) => {
                return Some(format!(
                    "{name}: the Go stack drops the whole key ({e}); the library reads {}",
                    a["entries"]
                ));
            }
            (Some(e), None) => {
                return Some(format!(
                    "{name}: the library drops the whole key ({e}); the Go stack reads {}",
                    b["entries"]
                ));
            }
            (None, None) => {}
        }
        if a["entries"] != b["entries"] {
            return Some(format!(
                "{name}: the mappings differ\n library: {}\n Go:      {}",
                a["entries"], b["entries"]
            ));
        }
    }
    None
}

/// Reads `cases` both ways; panics with every difference (the first few in
/// full).
fn assert_agree(label: &str, cases: &[(String, String)]) {
    let texts: Vec<String> = cases.iter().map(|(_, t)| t.clone()).collect();
    let go = go_readings(&texts);
    let mut report = Vec::new();
    for ((name, text), go) in cases.iter().zip(&go) {
        if let Some(d) = difference(&library_reading(text), go) {
            report.push(format!("{name}: {d}\n--- input ---\n{text}\n-------------"));
        }
    }
    let all = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("oracle-{label}.txt"));
    let _ = std::fs::remove_file(&all);
    if !report.is_empty() {
        let n = report.len();
        std::fs::write(&all, report.join("\n\n")).unwrap();
        report.truncate(3);
        panic!(
            "{n} of {} inputs read differently by the library and the Go stack (all of them in {}):\n\n{}",
            cases.len(),
            all.display(),
            report.join("\n\n")
        );
    }
}

#[test]
fn fixtures_and_corpus_read_as_the_go_stack_reads_them() {
    let seeds = seeds();
    assert!(seeds.len() > 60, "{} seeds", seeds.len());
    assert_agree("seeds", &seeds);
}

/// How many mutants the differential test compares: `AWS_AUTH_ORACLE_MUTANTS`,
/// else 3,000.
fn oracle_budget() -> usize {
    std::env::var("AWS_AUTH_ORACLE_MUTANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3_000)
}

#[test]
fn mutants_read_as_the_go_stack_reads_them() {
    let seeds = seeds();
    let total = oracle_budget();
    let mut rng = Lcg::new(15);
    let mut done = 0;
    // In batches: one Go process per batch, a bounded amount of text in memory.
    while done < total {
        let batch: Vec<(String, String)> = (done..total.min(done + 2_000))
            .map(|n| {
                let (name, text) = &seeds[n % seeds.len()];
                (format!("mutant {n} of {name}"), mutate(text, &mut rng))
            })
            .collect();
        done += batch.len();
        assert_agree("mutants", &batch);
    }
    eprintln!("oracle: {done} mutants read alike by the library and the Go stack");
}

/// Data strings written to hit each class the two stacks once read
/// differently, inside a minimal manifest.
const DATA_CASES: &[&str] = &[
    // A document end marker before the first document (PyYAML's explicit_end
    // and some templating write one).
    "...\n- rolearn: arn:aws:iam::111122223333:role/A\n  username: a\n",
    // A tab in the indentation of a plain scalar's folded lines: refused
    // before the scalar's indentation, text from it on.
    "- userarn: arn:aws:iam::111122223333:user/a\n\t\n    - b\n  username: a\n",
    "- userarn: arn:aws:iam::111122223333:user/a\n   \t\n    - b\n  username: a\n",
    // Text after the `...` that ends the document, on its line: never read.
    "- userarn: arn:aws:iam::111122223333:user/admin\n... username: admin\n",
    "# generated\n...\n- rolearn: arn:aws:iam::111122223333:role/A\n  username: a\n",
    "...",
    "... # end\n- rolearn: arn:aws:iam::111122223333:role/A\n",
    " ...\n- rolearn: arn:aws:iam::111122223333:role/A\n",
    "...x\n",
    // After the first document: ignored, whatever follows.
    "- rolearn: arn:aws:iam::111122223333:role/A\n  username: a\n...\n- rolearn: arn:aws:iam::111122223333:role/B\n",
    "- rolearn: arn:aws:iam::111122223333:role/A\n...\n\t- broken: [\n",
    "--- \n...\n- rolearn: arn:aws:iam::111122223333:role/A\n",
    // A stray closing bracket past the end of the top-level collection.
    "[{\"rolearn\": \"arn:aws:iam::111122223333:role/A\"}]\n]\n",
    "[{\"rolearn\": \"arn:aws:iam::111122223333:role/A\"}] ]\n",
    "  - rolearn: arn:aws:iam::111122223333:role/A\n]\n",
    "- rolearn: arn:aws:iam::111122223333:role/A\n]\n",
    // A flow collection at the root ends the document at its bracket.
    "[] \"mapRoles\": |\n- a\n",
    "[{\"rolearn\": \"arn:aws:iam::111122223333:role/A\"}] b\n",
    "[{\"rolearn\": \"arn:aws:iam::111122223333:role/A\"}] b: c\n",
    "[{\"rolearn\": \"arn:aws:iam::111122223333:role/A\"}] # c\n- x\n",
    "{a: 1} x\n",
    "[] b: c\n",
    "[a] 'x: y'\n",
    "[a] # c: d\n",
    "[a] - b: c\n",
    "[a]: b\n",
    "a: 1\n- b\n",
    "- a\n- b\nc: d\n",
    // A root indented deeper than a later line: read up to that line.
    "  - rolearn: arn:aws:iam::111122223333:role/A\n- rolearn: arn:aws:iam::111122223333:role/B\n",
    // Empty in every spelling.
    "",
    "\"\"",
    "''",
    "``",
    "|",
    "~",
    "\" \"",
    "[]",
    "{}",
    // A special float replaced by a later duplicate key, and one that stays.
    "- userarn: arn:aws:iam::111122223333:user/a\n  username: .nan\n  username: a\n",
    "- userarn: arn:aws:iam::111122223333:user/a\n  username: .nan\n",
    // sso blocks: partitions, account IDs, names.
    "- sso: {permissionSetName: Admin, accountID: \"111122223333\", partition: aws-cn}\n",
    "- sso: {permissionSetName: Admin, accountID: \"111122223333\", partition: aws-iso-e}\n",
    "- sso: {permissionSetName: Admin, accountID: \"111122223333\", partition: nope}\n",
    "- sso: {permissionSetName: \"Adm in\", accountID: \"111122223333\"}\n",
    "- sso: {permissionSetName: Admin, accountID: 111122223333}\n",
    "- sso: {}\n",
    "- sso: null\n  rolearn: arn:aws:iam::111122223333:role/A\n",
    // Wrongly typed fields.
    "- rolearn: arn:aws:iam::111122223333:role/A\n  groups: system:masters\n",
    "- rolearn: arn:aws:iam::111122223333:role/A\n  groups: [1, a, null, yes]\n",
    "- rolearn: arn:aws:iam::111122223333:role/A\n  username: [a]\n",
    "- rolearn: 12\n",
    "- userarn: arn:aws:iam::111122223333:user/a\n  userid: 5\n",
    // JSON as it is.
    "  {\"rolearn\": \"x\"}",
    "[{\"rolearn\": \"arn:aws:iam::111122223333:role/A\", \"RoleArn\": \"arn:aws:iam::111122223333:role/B\"}]",
    // Tabs.
    "-\trolearn: arn:aws:iam::111122223333:role/A\n",
    "- rolearn: arn:aws:iam::111122223333:role/A\n\t\n",
    "\t# c\n- rolearn: arn:aws:iam::111122223333:role/A\n",
];

/// A manifest whose three keys hold `data`, as a double-quoted string.
fn manifest_with(data: &str) -> String {
    let quoted = serde_json::to_string(data).unwrap();
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapRoles: {quoted}\n  mapUsers: {quoted}\n  mapAccounts: {quoted}\n"
    )
}

#[test]
fn data_strings_of_every_class_read_as_the_go_stack_reads_them() {
    let cases: Vec<(String, String)> = DATA_CASES
        .iter()
        .map(|d| (format!("data {d:?}"), manifest_with(d)))
        .collect();
    assert_agree("data", &cases);
}

/// Manifests with a tab where yaml.v2 takes it or refuses it: the outer
/// manifest is read by the same tab rule as the map's own YAML (issue 21).
const TAB_CASES: &[&str] = &[
    // A blank line holding a tab after a plain scalar: before its
    // indentation refused, from it on taken as the scalar's folding.
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n \t\n  namespace: kube-system\ndata:\n  mapAccounts: |\n    - \"1\"\n",
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\n \t\ndata:\n  mapAccounts: |\n    - \"1\"\n",
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n   \t\n  namespace: kube-system\ndata:\n  mapAccounts: |\n    - \"1\"\n",
    // After a quoted scalar nothing folds: refused.
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: 'aws-auth'\n   \t\n  namespace: kube-system\ndata:\n  mapAccounts: |\n    - \"1\"\n",
    // A comment line indented with a tab, after a plain scalar and after a
    // mapping key.
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  \t# c\n  namespace: kube-system\ndata:\n  mapAccounts: |\n    - \"1\"\n",
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n\t# c\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapAccounts: |\n    - \"1\"\n",
    // Before the first text line of a block, any tab in the indentation;
    // within it, one before its indentation.
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapAccounts: |\n      \t\n    - \"1\"\n",
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapAccounts: |\n    - \"1\"\n   \t\n    - \"2\"\n",
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapAccounts: |\n    - \"1\"\n     \t\n    - \"2\"\n",
    // With an indentation indicator.
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapAccounts: |2\n      \t\n    - \"1\"\n",
    // After a sequence indicator, and between a key and its value.
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\n  finalizers:\n  -\tx\ndata:\n  mapAccounts: |\n    - \"1\"\n",
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name:\taws-auth\n  namespace: kube-system\ndata:\n  mapAccounts: |\n    - \"1\"\n",
    // Before the document, and in another document of the file.
    "\t# a comment\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapAccounts: |\n    - \"1\"\n",
    "a: 1\n\t# c\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapAccounts: |\n    - \"1\"\n",
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapAccounts: |\n    - \"1\"\n---\nkind: Other\n\t# c\n",
    // After the document's last value, before the end of the file.
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapAccounts: |\n    - \"1\"\n\t\n",
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapAccounts: '[]'\n \t\n",
    // A piece of comments before the first `---`, with a tab yaml.v2 refuses.
    "# c\n\t\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapAccounts: '[]'\n",
    // With an indentation indicator, a tab from the given indentation on is
    // the block's text.
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapUsers: |2\n      - userarn: arn:aws:iam::111122223333:user/a\n        username: a\n    \t\n        groups: [x]\n",
    // Found by the mutants with these: what kubectl refuses in any document
    // of the file (a mapping as a key, a float JSON cannot hold).
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapAccounts: '[]'\n---\n  username: {{SessionName}}\n",
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapAccounts: '[]'\n---\n  username: .nan\n",
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapAccounts: '[]'\n---\nx: [-.inf]\n",
];

#[test]
fn tabs_in_the_manifest_read_as_the_go_stack_reads_them() {
    let cases: Vec<(String, String)> = TAB_CASES
        .iter()
        .map(|m| (format!("manifest {m:?}"), (*m).to_owned()))
        .collect();
    assert_agree("tabs", &cases);
}

/// Issue 15: the class the issue found (a `...` before the first document)
/// is unreadable to the library as to the authenticator; lint says so as an
/// error, and the effective reading (what guards and the migrator use) has
/// none of its mappings.
#[test]
fn a_document_end_marker_first_drops_the_key_everywhere() {
    let roles = "...\n- rolearn: arn:aws:iam::111122223333:role/A\n  username: a\n";
    let doc = Document::from_data([("mapRoles", roles)]);
    assert!(matches!(
        doc.view().state(DataKey::MapRoles),
        KeyState::Unreadable { .. }
    ));
    let lint = doc.lint();
    assert!(
        lint.iter().any(|d| d.code.as_str() == "key-unreadable"
            && d.severity == aws_auth_core::lint::Severity::Error),
        "{lint:?}"
    );
    assert_eq!(doc.effective().mappings().count(), 0);
    let plan = aws_auth_core::migrate::plan(
        &doc,
        &aws_auth_core::entries::ClusterState::empty("c", None),
        &aws_auth_core::entries::Resolutions::offline(),
        &aws_auth_core::entries::PlanOptions::new(),
    );
    assert!(plan.actions.is_empty());
    assert!(!plan.blocked.is_empty(), "{:?}", plan.blocked);
    // The Go stack agrees.
    let go = go_readings(&[manifest_with(roles)]);
    assert!(
        go[0]["keys"]["mapRoles"]["unreadable"].is_string(),
        "{}",
        go[0]
    );
}
