//! The editor on arbitrary manifests and operation lists.
//!
//! Input: one flags byte, three bytes per operation, then the text. Checks: no
//! panic; a successful edit re-reads to the view it claims, never makes a
//! readable key unreadable, and adding a mapping then removing it gives back
//! the original bytes when the add was made in place.
#![no_main]

use aws_auth_core::edit::{Change, GroupsChange, Guards, MappingSpec, Op, Written};
use aws_auth_core::{DataKey, Document, KeyState};
use libfuzzer_sys::fuzz_target;

const ROLES: [&str; 6] = [
    "arn:aws:iam::111122223333:role/NodeInstanceRole",
    "arn:aws:iam::111122223333:role/Admin",
    "arn:aws:iam::111122223333:role/admin",
    "arn:aws-cn:iam::444455556666:role/Deployer",
    "arn:aws:iam::111122223333:role/path/Nested",
    "arn:aws:iam::111122223333:user/alice",
];
const USERS: [&str; 4] = [
    "arn:aws:iam::111122223333:user/alice",
    "arn:aws:iam::111122223333:user/Bob",
    "arn:aws-us-gov:iam::111122223333:user/ops",
    "arn:aws:iam::111122223333:role/Admin",
];
const USERNAMES: [&str; 10] = [
    "admin",
    "system:node:{{EC2PrivateDNSName}}",
    "dev:{{SessionName}}",
    "",
    "a: b",
    "'q'",
    "{{SessionName}}",
    "x\ty",
    "#c",
    "- z",
];
const GROUPS: [&[&str]; 6] = [
    &[],
    &["system:masters"],
    &["system:bootstrappers", "system:nodes"],
    &["a b", "- c"],
    &["view", "view"],
    &["\"quoted\"", "null"],
];
const ACCOUNTS: [&str; 5] = [
    "111122223333",
    "012345678901",
    "123",
    "1e3",
    " 444455556666",
];

/// A role or user ARN: one from the document itself (to hit existing
/// entries) or one from the fixed list.
fn arn(doc: &Document, key: DataKey, pick: u8) -> String {
    let existing: Vec<String> = match key {
        DataKey::MapRoles => doc
            .view()
            .roles
            .values()
            .map(|r| r.rolearn.to_string())
            .collect(),
        _ => doc
            .view()
            .users
            .values()
            .map(|u| u.userarn.to_string())
            .collect(),
    };
    let fixed: &[&str] = if key == DataKey::MapRoles {
        &ROLES
    } else {
        &USERS
    };
    let i = usize::from(pick);
    if i < existing.len() && pick & 1 == 0 {
        existing[i].clone()
    } else {
        fixed[i % fixed.len()].to_owned()
    }
}

fn groups(pick: u8) -> Vec<String> {
    GROUPS[usize::from(pick) % GROUPS.len()]
        .iter()
        .map(|g| (*g).to_owned())
        .collect()
}

fn op(doc: &Document, bytes: [u8; 3]) -> Op {
    let [kind, a, b] = bytes;
    let username = USERNAMES[usize::from(b) % USERNAMES.len()].to_owned();
    let spec = |key| MappingSpec {
        arn: arn(doc, key, a),
        username: username.clone(),
        groups: groups(b >> 4),
        extra: Default::default(),
    };
    let change = match b >> 6 {
        0 => GroupsChange::Keep,
        1 => GroupsChange::Replace(groups(b)),
        _ => GroupsChange::Append(groups(b)),
    };
    let new_username = (b & 0x20 != 0).then(|| username.clone());
    match kind % 9 {
        0 => Op::AddRole(spec(DataKey::MapRoles)),
        1 => Op::AddUser(spec(DataKey::MapUsers)),
        2 => Op::UpdateRole {
            arn: arn(doc, DataKey::MapRoles, a),
            username: new_username,
            groups: change,
        },
        3 => Op::UpdateUser {
            arn: arn(doc, DataKey::MapUsers, a),
            username: new_username,
            groups: change,
        },
        4 => Op::RemoveRole {
            arn: arn(doc, DataKey::MapRoles, a),
        },
        5 => Op::RemoveUser {
            arn: arn(doc, DataKey::MapUsers, a),
        },
        6 => Op::RemoveUsername { username },
        7 => Op::AddAccount(ACCOUNTS[usize::from(a) % ACCOUNTS.len()].to_owned()),
        _ => Op::RemoveAccount(ACCOUNTS[usize::from(a) % ACCOUNTS.len()].to_owned()),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let count = usize::from(flags % 4) + 1;
    if rest.len() < count * 3 {
        return;
    }
    let (op_bytes, text) = rest.split_at(count * 3);
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let doc = if flags & 0x40 == 0 {
        let Ok(doc) = Document::parse_manifest(text) else {
            return;
        };
        doc
    } else {
        let key = ["mapRoles", "mapUsers", "mapAccounts"][usize::from(flags >> 2) % 3];
        Document::from_data([(key, text)])
    };
    let ops: Vec<Op> = op_bytes
        .chunks_exact(3)
        .map(|c| op(&doc, [c[0], c[1], c[2]]))
        .collect();
    let guards = Guards::new().forced(flags & 0x80 != 0);
    let Ok(edited) = doc.edit(&ops, &guards) else {
        return;
    };

    for key in DataKey::ALL {
        let before_ok = !matches!(doc.view().state(key), KeyState::Unreadable { .. });
        let after_ok = !matches!(
            edited.document.view().state(key),
            KeyState::Unreadable { .. }
        );
        assert!(
            !before_ok || after_ok,
            "{key} became unreadable: {ops:?}\n{text}"
        );
    }
    let _ = edited.diff();

    if let Some(new_text) = edited.manifest() {
        let again = match Document::parse_manifest(new_text) {
            Ok(d) => d,
            Err(e) => panic!("the edited manifest does not read: {e}\n{new_text}"),
        };
        assert_eq!(again.view(), edited.document.view(), "{new_text}");

        // Add then remove, in place, is the identity.
        if let ([Op::AddRole(s) | Op::AddUser(s)], [Change::Added { .. }]) =
            (ops.as_slice(), edited.changes.as_slice())
            && edited.keys.iter().all(|k| k.written == Written::InPlace)
        {
            let remove = match &ops[0] {
                Op::AddRole(_) => Op::RemoveRole { arn: s.arn.clone() },
                _ => Op::RemoveUser { arn: s.arn.clone() },
            };
            let force = Guards::new().forced(true);
            let back = match edited.document.edit(&[remove], &force) {
                Ok(b) => b,
                Err(e) => panic!("removing what was just added failed: {e}\n{new_text}"),
            };
            assert_eq!(back.manifest(), Some(text), "add then remove changed bytes");
        }
    }
});
