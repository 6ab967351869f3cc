//! The whole file path of the command line: a manifest's text and one
//! operation in, the written text out (`aws-auth --file F add|update|remove`).
//!
//! Input: one byte choosing the operation, then the text. Checks: nothing
//! panics; an edit never fails its own verification (the command's exit 70:
//! a layout the editor mishandled must be refused with a reason instead); what
//! it writes reads back as it claims.
#![no_main]

use aws_auth_core::Document;
use aws_auth_core::edit::{EditError, GroupsChange, Guards, MappingSpec, Op};
use libfuzzer_sys::fuzz_target;

fn op(doc: &Document, pick: u8) -> Op {
    let view = doc.view();
    let role = view
        .roles
        .values()
        .map(|r| r.rolearn.to_string())
        .find(|a| !a.is_empty());
    let user = view.users.values().map(|u| u.userarn.to_string()).next();
    match (pick % 8, role, user) {
        (1, Some(arn), _) => Op::RemoveRole { arn },
        (2, Some(arn), _) => Op::UpdateRole {
            arn,
            username: (pick & 0x10 != 0).then(|| "renamed".to_owned()),
            groups: GroupsChange::Append(vec!["extra".into()]),
        },
        (3, _, Some(arn)) => Op::RemoveUser { arn },
        (4, _, Some(arn)) => Op::UpdateUser {
            arn,
            username: None,
            groups: GroupsChange::Replace(vec!["view".into()]),
        },
        (5, ..) => Op::AddAccount("111122223333".into()),
        (6, ..) => Op::AddUser(MappingSpec {
            arn: "arn:aws:iam::111122223333:user/fuzz".into(),
            username: "fuzz".into(),
            groups: vec![],
            extra: Default::default(),
        }),
        _ => Op::AddRole(MappingSpec {
            arn: "arn:aws:iam::111122223333:role/Fuzz".into(),
            username: "fuzz:{{SessionName}}".into(),
            groups: vec!["devs".into()],
            extra: Default::default(),
        }),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let Ok(doc) = Document::parse_manifest(text) else {
        return;
    };
    let op = op(&doc, pick);
    let guards = Guards::new().forced(true);
    match doc.edit(std::slice::from_ref(&op), &guards) {
        Err(e @ EditError::Verification { .. }) => {
            panic!("{op:?} failed its own verification: {e}\n---\n{text}\n---")
        }
        Err(_) => {}
        Ok(edited) => {
            let written = edited.manifest().expect("a manifest edit gives a manifest");
            let again = Document::parse_manifest(written).unwrap_or_else(|e| {
                panic!("{op:?} wrote a manifest that does not read: {e}\n{written}")
            });
            assert_eq!(again.view(), edited.document.view(), "{op:?}\n{written}");
        }
    }
});
