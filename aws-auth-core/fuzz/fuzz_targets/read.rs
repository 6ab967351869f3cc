//! The reader, lint and explain on arbitrary text: no panic, and the fast
//! paths agree with the full parser.
#![no_main]

use aws_auth_core::{Document, fuzzing, lint};
use libfuzzer_sys::fuzz_target;

const PRINCIPALS: [&str; 4] = [
    "arn:aws:iam::111122223333:role/NodeInstanceRole",
    "arn:aws:sts::111122223333:assumed-role/Admin/alice@example.com",
    "arn:aws:iam::111122223333:user/alice",
    "arn:aws-cn:iam::012345678901:role/x",
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = fuzzing::fast_parser_agrees(text) {
        panic!("{e}");
    }
    if let Err(e) = fuzzing::skeleton_agrees(text) {
        panic!("{e}");
    }
    // As a whole manifest.
    if let Ok(doc) = Document::parse_manifest(text) {
        exercise(&doc);
    }
    let _ = lint::lint_manifest(text);
    // As each bare data string.
    for key in ["mapRoles", "mapUsers", "mapAccounts"] {
        exercise(&Document::from_data([(key, text)]));
    }
});

fn exercise(doc: &Document) {
    let _ = doc.view().is_clean();
    for d in doc.lint() {
        let _ = format!("{d:?}");
    }
    for p in PRINCIPALS {
        let _ = doc.explain(p);
    }
}
