//! Edits of every layout: exact bytes before and after.

use aws_auth_core::Document;
use aws_auth_core::edit::{EditError, GroupsChange, GuardKind, Guards, MappingSpec, Op, Written};

const HEAD: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n";

fn manifest(data: &str) -> String {
    format!("{HEAD}{data}")
}

fn edit(text: &str, ops: &[Op]) -> Result<String, EditError> {
    let doc = Document::parse_manifest(text).expect("fixture parses");
    let edited = doc.edit(ops, &Guards::default())?;
    Ok(edited.manifest().unwrap().to_owned())
}

fn user(arn: &str, name: &str, groups: &[&str]) -> MappingSpec {
    MappingSpec::new(arn, name, groups.iter().copied())
}

const ROLES: &str = concat!(
    "  mapRoles: |\n",
    "    # worker nodes\n",
    "    - rolearn: arn:aws:iam::111122223333:role/Nodes\n",
    "      username: system:node:{{EC2PrivateDNSName}}\n",
    "      groups:\n",
    "        - system:bootstrappers\n",
    "        - system:nodes\n",
    "\n",
    "    # admins\n",
    "    - rolearn: arn:aws:iam::111122223333:role/Admin\n",
    "      username: admin:{{SessionName}}\n",
    "      groups:\n",
    "        - system:masters\n",
    "\n",
    "    - rolearn: arn:aws:iam::111122223333:role/Dev\n",
    "      username: dev:{{SessionName}}\n",
    "      groups:\n",
    "        - devs # the team\n",
    "      note: kept\n",
    "  other: untouched\n",
);

#[test]
fn add_appends_in_style_and_remove_restores_the_bytes() {
    let original = manifest(ROLES);
    let add = Op::AddRole(user(
        "arn:aws:iam::111122223333:role/Ops",
        "ops:{{SessionName}}",
        &["ops", "view"],
    ));
    let added = edit(&original, &[add]).unwrap();
    assert_eq!(
        added,
        original.replace(
            "      note: kept\n",
            "      note: kept\n\n    - rolearn: arn:aws:iam::111122223333:role/Ops\n      username: ops:{{SessionName}}\n      groups:\n        - ops\n        - view\n"
        )
    );
    let removed = edit(
        &added,
        &[Op::RemoveRole {
            arn: "arn:aws:iam::111122223333:role/Ops".into(),
        }],
    )
    .unwrap();
    assert_eq!(removed, original);
}

#[test]
fn removing_first_middle_and_last_items_takes_their_comments_and_one_separator() {
    let original = manifest(ROLES);
    let force = Guards::new().forced(true);
    let doc = Document::parse_manifest(original.as_str()).unwrap();
    let first = doc
        .edit(
            &[Op::RemoveRole {
                arn: "arn:aws:iam::111122223333:role/Nodes".into(),
            }],
            &force,
        )
        .unwrap();
    assert_eq!(first.forced[0].kind, GuardKind::NodeRole);
    assert_eq!(
        first.manifest().unwrap(),
        original.replace("    # worker nodes\n    - rolearn: arn:aws:iam::111122223333:role/Nodes\n      username: system:node:{{EC2PrivateDNSName}}\n      groups:\n        - system:bootstrappers\n        - system:nodes\n\n", "")
    );
    let middle = edit(
        &original,
        &[Op::RemoveRole {
            arn: "arn:aws:iam::111122223333:role/dev".into(),
        }],
    )
    .unwrap();
    assert_eq!(
        middle,
        original.replace("\n    - rolearn: arn:aws:iam::111122223333:role/Dev\n      username: dev:{{SessionName}}\n      groups:\n        - devs # the team\n      note: kept\n", "")
    );
}

#[test]
fn updates_touch_only_the_fields_they_change() {
    let original = manifest(ROLES);
    let op = Op::UpdateRole {
        arn: "arn:aws:iam::111122223333:role/Dev".into(),
        username: Some("developer:{{SessionName}}".into()),
        groups: GroupsChange::Append(vec!["view".into()]),
    };
    let updated = edit(&original, &[op]).unwrap();
    assert_eq!(
        updated,
        original
            .replace(
                "username: dev:{{SessionName}}",
                "username: developer:{{SessionName}}"
            )
            .replace(
                "        - devs # the team\n",
                "        - devs # the team\n        - view\n"
            )
    );
    let op = Op::UpdateRole {
        arn: "arn:aws:iam::111122223333:role/Dev".into(),
        username: None,
        groups: GroupsChange::Replace(vec!["readers".into()]),
    };
    let replaced = edit(&original, &[op]).unwrap();
    assert_eq!(
        replaced,
        original.replace("        - devs # the team\n", "        - readers\n")
    );
}

#[test]
fn guards_refuse_node_roles_and_the_last_admin() {
    let original = manifest(ROLES);
    let doc = Document::parse_manifest(original.as_str()).unwrap();
    let err = doc
        .edit(
            &[Op::RemoveRole {
                arn: "arn:aws:iam::111122223333:role/Nodes".into(),
            }],
            &Guards::default(),
        )
        .unwrap_err();
    let EditError::Guarded { guards } = err else {
        panic!("{err}")
    };
    assert_eq!(guards[0].kind, GuardKind::NodeRole);
    assert!(guards[0].message.contains("stop joining"));
    let err = doc
        .edit(
            &[Op::RemoveRole {
                arn: "arn:aws:iam::111122223333:role/Admin".into(),
            }],
            &Guards::default(),
        )
        .unwrap_err();
    assert!(
        matches!(&err, EditError::Guarded { guards } if guards[0].kind == GuardKind::LastAdmin),
        "{err}"
    );
    let protect = Guards::new().protect(
        "arn:aws:sts::111122223333:assumed-role/Dev/me"
            .parse()
            .unwrap(),
    );
    let err = doc
        .edit(
            &[Op::RemoveUsername {
                username: "dev:{{SessionName}}".into(),
            }],
            &protect,
        )
        .unwrap_err();
    assert!(
        matches!(&err, EditError::Guarded { guards } if guards[0].kind == GuardKind::Protected),
        "{err}"
    );
}

/// Issue 13.2: the last-admin guard counts only mappings the authenticator
/// honours. A `system:masters` mapping left behind that can never match (an IAM
/// path, a wildcard, a session ARN, a region, an 11-digit account), one that a
/// later duplicate replaces, or one a role shadows, keeps nobody in.
#[test]
fn the_last_admin_guard_counts_only_mappings_the_authenticator_honours() {
    let admin = "    - rolearn: arn:aws:iam::111122223333:role/Admin\n      username: admin\n      groups: [system:masters]\n";
    let leftovers = [
        (
            "role/team/Admin",
            "rolearn: arn:aws:iam::111122223333:role/team/Admin",
        ),
        ("wildcard", "rolearn: arn:aws:iam::111122223333:role/Admin*"),
        (
            "session",
            "rolearn: arn:aws:sts::111122223333:assumed-role/Ops/alice",
        ),
        (
            "region",
            "rolearn: arn:aws:iam:eu-west-1:111122223333:role/Ops",
        ),
        ("account", "rolearn: arn:aws:iam::11112222333:role/Ops"),
    ];
    for (what, leftover) in leftovers {
        let text = manifest(&format!(
            "  mapRoles: |\n{admin}    - {leftover}\n      username: ops\n      groups: [system:masters]\n"
        ));
        let doc = Document::parse_manifest(text.as_str()).unwrap();
        let err = doc
            .edit(
                &[Op::RemoveRole {
                    arn: "arn:aws:iam::111122223333:role/Admin".into(),
                }],
                &Guards::default(),
            )
            .unwrap_err();
        let EditError::Guarded { guards } = &err else {
            panic!("{what}: {err}")
        };
        assert_eq!(guards[0].kind, GuardKind::LastAdmin, "{what}");
        assert_eq!(
            guards[0].principal.as_deref(),
            Some("arn:aws:iam::111122223333:role/Admin"),
            "{what}"
        );
        assert!(
            guards[0].message.contains("line 8"),
            "{what}: {}",
            guards[0]
        );
    }
    // A replaced duplicate and a user shadowed by a role grant nothing either.
    let text = manifest(concat!(
        "  mapRoles: |\n",
        "    - rolearn: arn:aws:iam::111122223333:role/Ops\n      username: ops\n      groups: [system:masters]\n",
        "    - rolearn: arn:aws:iam::111122223333:role/ops\n      username: ops\n      groups: [view]\n",
        "    - rolearn: arn:aws:iam::111122223333:user/bob\n      username: bob\n      groups: [view]\n",
        "  mapUsers: |\n",
        "    - userarn: arn:aws:iam::111122223333:user/alice\n      username: alice\n      groups: [system:masters]\n",
        "    - userarn: arn:aws:iam::111122223333:user/bob\n      username: bob\n      groups: [system:masters]\n",
    ));
    let doc = Document::parse_manifest(text.as_str()).unwrap();
    let err = doc
        .edit(
            &[Op::RemoveUser {
                arn: "arn:aws:iam::111122223333:user/alice".into(),
            }],
            &Guards::default(),
        )
        .unwrap_err();
    assert!(
        matches!(&err, EditError::Guarded { guards } if guards[0].kind == GuardKind::LastAdmin),
        "{err}"
    );
    // With one honoured admin left, the removal goes through.
    let text = manifest(&format!(
        "  mapRoles: |\n{admin}    - rolearn: arn:aws:iam::111122223333:role/Ops\n      username: ops\n      groups: [system:masters]\n"
    ));
    let doc = Document::parse_manifest(text.as_str()).unwrap();
    doc.edit(
        &[Op::RemoveRole {
            arn: "arn:aws:iam::111122223333:role/Admin".into(),
        }],
        &Guards::default(),
    )
    .unwrap();
}

/// Removing an entry that a later duplicate replaces changes nobody's access:
/// no guard, even for a node role.
#[test]
fn removing_what_the_reader_ignores_trips_no_guard() {
    let text = manifest(concat!(
        "  mapRoles: |\n",
        "    - rolearn: arn:aws:iam::111122223333:role/team/Nodes\n",
        "      username: system:node:{{EC2PrivateDNSName}}\n",
        "      groups: [system:bootstrappers, system:nodes]\n",
        "    - rolearn: arn:aws:iam::111122223333:role/Admin\n      username: admin\n      groups: [system:masters]\n",
    ));
    let doc = Document::parse_manifest(text.as_str()).unwrap();
    let edited = doc
        .edit(
            &[Op::RemoveRole {
                arn: "arn:aws:iam::111122223333:role/team/Nodes".into(),
            }],
            &Guards::default(),
        )
        .unwrap();
    assert!(edited.forced.is_empty());
}

/// Issue 13.3: a key that cannot be edited in place is not rewritten whole
/// when that deletes text; with `force` the deleted text is reported.
#[test]
fn a_whole_rewrite_never_deletes_text_silently() {
    // A Terraform leftover: the authenticator reads only the `[]`.
    let text = manifest(concat!(
        "  mapUsers: |\n",
        "    []\n",
        "    - userarn: arn:aws:iam::111122223333:user/bob\n",
        "      username: bob\n",
        "      groups: [system:masters]\n",
    ));
    let doc = Document::parse_manifest(text.as_str()).unwrap();
    let add = Op::AddUser(user(
        "arn:aws:iam::111122223333:user/alice",
        "alice",
        &["devs"],
    ));
    let err = doc
        .edit(std::slice::from_ref(&add), &Guards::default())
        .unwrap_err();
    let EditError::WouldDelete {
        key,
        position,
        deleted,
        ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(*key, aws_auth_core::DataKey::MapUsers);
    assert_eq!((position.line, position.column), (9, 5));
    assert!(deleted.contains("user/bob"));
    assert!(
        err.to_string()
            .contains("its 4 lines, from `- userarn: arn:aws:iam::111122223333:user/bob`"),
        "{err}"
    );
    let forced = doc
        .edit(std::slice::from_ref(&add), &Guards::new().forced(true))
        .unwrap();
    assert_eq!(
        forced.keys[0].deleted.as_deref(),
        Some(&text[text.find("[]").unwrap()..].replace("\n    ", "\n")[..])
    );
    // An empty list alone, or null, is replaced without a word.
    for empty in ["    []\n", "    null\n", "    ~\n", "\n"] {
        let text = manifest(&format!("  mapUsers: |\n{empty}"));
        let doc = Document::parse_manifest(text.as_str()).unwrap();
        let edited = doc
            .edit(std::slice::from_ref(&add), &Guards::default())
            .unwrap();
        assert_eq!(edited.keys[0].deleted, None, "{empty:?}");
    }
}

/// A key written with a tag, or with odd spacing, is edited in place at its
/// own indentation.
#[test]
fn tagged_and_oddly_spaced_keys_keep_their_indentation() {
    for head in [
        "  !!str  mapRoles: |\n",
        "  mapRoles:   |\n",
        "  mapRoles : |\n",
        "  &r mapRoles: |\n",
    ] {
        let text = manifest(&format!(
            "{head}    - rolearn: arn:aws:iam::111122223333:role/Nodes\n      username: n\n  other: x\n"
        ));
        let added = edit(
            &text,
            &[Op::AddRole(user(
                "arn:aws:iam::111122223333:role/X",
                "x",
                &["x"],
            ))],
        )
        .unwrap();
        assert_eq!(
            added,
            text.replace(
                "      username: n\n",
                "      username: n\n    - rolearn: arn:aws:iam::111122223333:role/X\n      username: x\n      groups:\n        - x\n"
            ),
            "{head:?}"
        );
    }
}

/// Issue 13.9, found by the mutant stream (`mutants.rs`): layouts the editor
/// once failed its own verification on (exit 70). Each is now edited
/// correctly, or refused with its reason.
#[test]
fn layouts_the_mutant_stream_found() {
    let add_role = Op::AddRole(user("arn:aws:iam::111122223333:role/New", "new", &["devs"]));
    let add_account = Op::AddAccount("111122223333".into());
    let remove_a = Op::RemoveRole {
        arn: "arn:aws:iam::111122223333:role/A".into(),
    };
    let append_a = Op::UpdateRole {
        arn: "arn:aws:iam::111122223333:role/A".into(),
        username: None,
        groups: GroupsChange::Append(vec!["extra".into()]),
    };
    let cases: Vec<(&str, String, Op, Option<&str>)> = vec![
        (
            "a whole-document-indented manifest without data",
            "  apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: aws-auth\n".to_owned(),
            add_role.clone(),
            None,
        ),
        (
            "the anchor an alias refers to",
            manifest(
                "  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/A\n      username: a\n      groups: &g\n        - x\n    - rolearn: arn:aws:iam::111122223333:role/B\n      username: b\n      groups: *g\n",
            ),
            remove_a.clone(),
            Some("refers to the YAML anchor of line 10"),
        ),
        (
            "a list extended under an anchor",
            manifest(
                "  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/A\n      username: a\n      groups: &g\n        - x\n    - rolearn: arn:aws:iam::111122223333:role/B\n      username: b\n      groups: *g\n",
            ),
            append_a.clone(),
            Some("refers to the YAML anchor"),
        ),
        (
            "the last entry before a second document",
            manifest(
                "  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/A\n      username: a\n    ---\n    - rolearn: arn:aws:iam::111122223333:role/B\n      username: b\n",
            ),
            remove_a.clone(),
            Some("would put that document's entries into effect"),
        ),
        (
            "a keep block that ends the file without a line feed",
            manifest(
                "  mapRoles: |+\n    - rolearn: arn:aws:iam::111122223333:role/A\n      username: a",
            ),
            add_role.clone(),
            None,
        ),
        (
            "a new key after a block that ends the file without a line feed",
            manifest(
                "  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/A\n      username: a",
            ),
            add_account.clone(),
            None,
        ),
        (
            "a single pair without braces in a flow list",
            manifest(
                "  mapRoles: |\n    [rolearn: arn:aws:iam::111122223333:role/A, {username: b}]\n",
            ),
            append_a.clone(),
            Some("cannot be placed into safely"),
        ),
        (
            "a flow mapping with a trailing comma",
            manifest(
                "  mapRoles: |\n    [{\"rolearn\": \"arn:aws:iam::111122223333:role/A\", \"username\": \"a\",\n    }]\n",
            ),
            append_a.clone(),
            None,
        ),
        (
            "a folded block whose last line has trailing spaces",
            manifest(
                "  mapRoles: >-\n    - rolearn: arn:aws:iam::111122223333:role/A\n\n      username: a  \n",
            ),
            add_role.clone(),
            None,
        ),
        (
            "\"\" as a value",
            manifest("  mapRoles: '\"\"'\n"),
            add_role.clone(),
            None,
        ),
        (
            "comments indented under the last value",
            manifest("  mapUsers: ''\n    # no users here\n"),
            add_account.clone(),
            None,
        ),
        (
            "an empty folded value before another key",
            manifest("  mapRoles: >\n  mapAccounts: \"[]\"\n"),
            add_role.clone(),
            None,
        ),
        (
            "comments indented under the last field of a manifest without data (found by the cli fuzz target)",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\n    # a note\n\n".to_owned(),
            add_role.clone(),
            None,
        ),
        (
            "a line of spaces left first in a block (found by the cli fuzz target)",
            manifest("  mapRoles: |\n    # admins\n    - rolearn: arn:aws:iam::111122223333:role/A\n     \n\n    # the rest\n"),
            remove_a.clone(),
            None,
        ),
        (
            "a scalar item below its dash as the only model (found by the cli fuzz target)",
            manifest("  mapRoles: |\n    -\n      groups:te\n"),
            add_role.clone(),
            None,
        ),
        (
            "a scalar item after a wide dash as the only model",
            manifest("  mapRoles: |\n    -   x\n"),
            add_role.clone(),
            None,
        ),
        (
            "a comment after an absent value (found by the cli fuzz target)",
            manifest("  mapRoles:     # none yet\n\n   "),
            add_role.clone(),
            None,
        ),
        (
            "comments indented under a null value (found by the cli fuzz target)",
            manifest("  mapRoles: ~\n    # none yet"),
            add_role.clone(),
            None,
        ),
        (
            "a block indicator on the line below its key (found by the cli fuzz target)",
            manifest("  mapRoles:\n   | # admins\n    - rolearn: arn:aws:iam::111122223333:role/A\n      username: a\n    - rolearn: arn:aws:iam::111122223333:role/B\n"),
            remove_a.clone(),
            None,
        ),
        (
            "a last line of spaces after a manifest without data (found by the cli fuzz target)",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\n      ".to_owned(),
            add_role.clone(),
            None,
        ),
        (
            "an empty keep block before a document end",
            manifest("  mapRoles: |+\n...\n"),
            add_account.clone(),
            None,
        ),
    ];
    let forced = Guards::new().forced(true);
    for (what, text, op, refused) in cases {
        let doc = Document::parse_manifest(text.as_str()).unwrap_or_else(|e| panic!("{what}: {e}"));
        match (doc.edit(std::slice::from_ref(&op), &forced), refused) {
            (Ok(edited), None) => {
                let written = edited.manifest().unwrap();
                let again = Document::parse_manifest(written)
                    .unwrap_or_else(|e| panic!("{what}: {e}\n{written}"));
                assert_eq!(again.view(), edited.document.view(), "{what}");
                assert_eq!(edited.changes.len(), 1, "{what}");
            }
            (Err(e), Some(reason)) => {
                assert!(!matches!(e, EditError::Verification { .. }), "{what}: {e}");
                assert!(e.to_string().contains(reason), "{what}: {e}");
            }
            (got, _) => panic!("{what}: {:?}", got.map(|e| e.manifest().map(str::to_owned))),
        }
    }
    // kubectl refuses a data section indented under metadata, and tabs that
    // indent: so does the reader, naming the line.
    for (text, reason) in [
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  data:\n    mapRoles: x\n",
            "unknown field metadata.data (line 5)",
        ),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\ndata:\n \tmapRoles: x\n",
            "a tab in the indentation",
        ),
        (
            // Found by the cli fuzz target: yaml.v2 refuses a tab before a
            // block's indentation, even on a blank line.
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\ndata:\n  mapRoles: |\n    - a\n \t\n",
            "a tab in the indentation",
        ),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace:\n    - a\n",
            "metadata.namespace is not a string",
        ),
    ] {
        let e = Document::parse_manifest(text).unwrap_err();
        assert!(e.message.contains(reason), "{e}");
    }
}

#[test]
fn strip_chomped_values_stay_without_a_final_line_feed() {
    let original = manifest(
        "  mapUsers: |-\n    - userarn: arn:aws:iam::111122223333:user/a\n      username: a\n  other: x\n",
    );
    let added = edit(
        &original,
        &[Op::AddUser(user(
            "arn:aws:iam::111122223333:user/b",
            "b",
            &[],
        ))],
    )
    .unwrap();
    assert_eq!(added, original.replace("      username: a\n", "      username: a\n    - userarn: arn:aws:iam::111122223333:user/b\n      username: b\n"));
    let doc = Document::parse_manifest(added.as_str()).unwrap();
    assert_eq!(
        doc.data_string(aws_auth_core::DataKey::MapUsers).unwrap(),
        "- userarn: arn:aws:iam::111122223333:user/a\n  username: a\n- userarn: arn:aws:iam::111122223333:user/b\n  username: b"
    );
    let removed = edit(
        &added,
        &[Op::RemoveUser {
            arn: "arn:aws:iam::111122223333:user/b".into(),
        }],
    )
    .unwrap();
    assert_eq!(removed, original);
}

#[test]
fn terraform_quoted_style_is_copied() {
    let original = manifest(concat!(
        "  \"mapAccounts\": |\n    []\n",
        "  \"mapRoles\": |\n",
        "    - \"groups\":\n      - \"system:bootstrappers\"\n      - \"system:nodes\"\n      \"rolearn\": \"arn:aws:iam::111122223333:role/nodes\"\n      \"username\": \"system:node:{{EC2PrivateDNSName}}\"\n",
    ));
    let added = edit(
        &original,
        &[Op::AddRole(user(
            "arn:aws:iam::111122223333:role/Dev",
            "dev",
            &["devs"],
        ))],
    )
    .unwrap();
    assert!(added.ends_with("      \"username\": \"system:node:{{EC2PrivateDNSName}}\"\n    - \"groups\":\n      - \"devs\"\n      \"rolearn\": \"arn:aws:iam::111122223333:role/Dev\"\n      \"username\": \"dev\"\n"), "{added}");
    let accounts = edit(&original, &[Op::AddAccount("012345678901".into())]).unwrap();
    assert!(
        accounts.contains("  \"mapAccounts\": |\n    - \"012345678901\"\n"),
        "{accounts}"
    );
}

#[test]
fn kubectl_edit_double_quoted_values_are_edited_in_place() {
    let original = manifest(
        "  mapUsers: \"- groups:\\n  - system:masters\\n  userarn: arn:aws:iam::111122223333:user/admin\\n\n    \\ username: admin\\n- groups:\\n  - devs      \\n  userarn: arn:aws:iam::111122223333:user/dev\\n\n    \\ username: dev\\n\"\n",
    );
    let doc = Document::parse_manifest(original.as_str()).unwrap();
    let edited = doc
        .edit(
            &[Op::RemoveUser {
                arn: "arn:aws:iam::111122223333:user/dev".into(),
            }],
            &Guards::default(),
        )
        .unwrap();
    assert_eq!(edited.keys[0].written, Written::InPlace);
    let text = edited.manifest().unwrap();
    assert!(
        text.starts_with(&original[..original.find("- groups:\\n  - devs").unwrap()]),
        "{text}"
    );
    let back = edit(
        text,
        &[Op::AddUser(user(
            "arn:aws:iam::111122223333:user/dev",
            "dev",
            &["devs"],
        ))],
    )
    .unwrap();
    let doc = Document::parse_manifest(back.as_str()).unwrap();
    assert_eq!(doc.view().users.entries[1].value.groups, ["devs"]);
}

#[test]
fn cdk_single_quoted_json_is_edited_item_by_item() {
    let original = manifest(
        "  mapRoles: '[{\"rolearn\":\"arn:aws:iam::111122223333:role/A\",\"username\":\"a\",\"groups\":[\"system:masters\"]},{\"rolearn\":\"arn:aws:iam::111122223333:role/B\",\"username\":\"b\",\"groups\":[]}]'\n",
    );
    let removed = edit(
        &original,
        &[Op::RemoveRole {
            arn: "arn:aws:iam::111122223333:role/B".into(),
        }],
    )
    .unwrap();
    assert_eq!(
        removed,
        original.replace(
            ",{\"rolearn\":\"arn:aws:iam::111122223333:role/B\",\"username\":\"b\",\"groups\":[]}",
            ""
        )
    );
    let added = edit(
        &removed,
        &[Op::AddRole(user(
            "arn:aws:iam::111122223333:role/B",
            "b",
            &[],
        ))],
    )
    .unwrap();
    assert_eq!(added, original.replace(",\"groups\":[]}", "}"));
}

#[test]
fn missing_and_empty_values() {
    let none = format!("{HEAD}  other: x\n");
    let added = edit(&none, &[Op::AddAccount("111122223333".into())]).unwrap();
    assert_eq!(
        added,
        format!("{HEAD}  other: x\n  mapAccounts: |\n    - \"111122223333\"\n")
    );
    let no_data = HEAD.trim_end_matches("data:\n").to_owned();
    let added = edit(
        &no_data,
        &[Op::AddUser(user(
            "arn:aws:iam::111122223333:user/a",
            "a",
            &["g"],
        ))],
    )
    .unwrap();
    assert_eq!(
        added,
        format!(
            "{no_data}data:\n  mapUsers: |\n    - userarn: arn:aws:iam::111122223333:user/a\n      username: a\n      groups:\n        - g\n"
        )
    );
    let empty = manifest("  mapRoles: \"\"\n");
    let added = edit(
        &empty,
        &[Op::AddUser(user(
            "arn:aws:iam::111122223333:user/a",
            "a",
            &[],
        ))],
    )
    .unwrap();
    assert_eq!(
        added,
        manifest(
            "  mapRoles: \"\"\n  mapUsers: |\n    - userarn: arn:aws:iam::111122223333:user/a\n      username: a\n"
        )
    );
    let null_data = HEAD.to_string();
    let added = edit(&null_data, &[Op::AddAccount("111122223333".into())]).unwrap();
    assert_eq!(
        added,
        format!("{HEAD}  mapAccounts: |\n    - \"111122223333\"\n")
    );
}

/// Found by the edit fuzz target: removing what was added under a header
/// comment took the comment too.
#[test]
fn entries_added_under_header_comments_come_off_without_them() {
    for (value, expected) in [
        (
            "  mapUsers: |\n    # no IAM users here\n",
            "  mapUsers: |\n    # no IAM users here\n\n    - userarn: arn:aws:iam::111122223333:user/a\n      username: a\n",
        ),
        (
            "  mapUsers: |-\n    # no IAM users here\n",
            "  mapUsers: |-\n    # no IAM users here\n\n    - userarn: arn:aws:iam::111122223333:user/a\n      username: a\n",
        ),
    ] {
        let original = manifest(value);
        let add = Op::AddUser(user("arn:aws:iam::111122223333:user/a", "a", &[]));
        let added = edit(&original, &[add]).unwrap();
        assert_eq!(added, manifest(expected));
        let remove = Op::RemoveUser {
            arn: "arn:aws:iam::111122223333:user/a".into(),
        };
        assert_eq!(edit(&added, &[remove]).unwrap(), original);
    }
    // Removing the last entry also takes the one blank line above it.
    let text = manifest(
        "  mapRoles: |\n    # header\n\n    # about a\n    - rolearn: arn:aws:iam::111122223333:role/A\n      username: a\n",
    );
    let remove = Op::RemoveRole {
        arn: "arn:aws:iam::111122223333:role/A".into(),
    };
    assert_eq!(
        edit(&text, &[remove]).unwrap(),
        manifest("  mapRoles: |\n    # header\n")
    );
}

/// Found by the read fuzz target: a control character inside a large block
/// made the fast path accept a manifest the YAML parser refuses.
#[test]
fn control_characters_in_large_blocks_are_refused_with_their_position() {
    let mut entries = String::new();
    for i in 0..200 {
        entries.push_str(&format!(
            "    - userarn: arn:aws:iam::111122223333:user/u{i}\n      username: u{i}\n"
        ));
    }
    entries.push_str("      username\0: root\n");
    let text = manifest(&format!("  mapUsers: |\n{entries}"));
    let err = Document::parse_manifest(text.as_str()).unwrap_err();
    assert!(err.message.contains("YAML syntax error"), "{err}");
    assert_eq!(err.position, aws_auth_core::Position::new(408, 15), "{err}");
}

#[test]
fn bad_input_is_refused_with_nothing_written() {
    let original = manifest(ROLES);
    let doc = Document::parse_manifest(original.as_str()).unwrap();
    let cases: Vec<(Op, &str)> = vec![
        (
            Op::AddRole(user("arn:aws:iam::111122223333:user/x", "x", &[])),
            "not a role ARN",
        ),
        (
            Op::AddRole(user("arn:aws:iam::111122223333:role/path/X", "x", &[])),
            "path",
        ),
        (
            Op::AddRole(user("arn:aws:sts::111122223333:assumed-role/X/s", "x", &[])),
            "role session",
        ),
        (
            Op::AddRole(user("arn:aws:iam::111122223333:role/X", "", &[])),
            "must not be empty",
        ),
        (
            Op::AddRole(user(
                "arn:aws:iam::111122223333:role/X",
                "{{sessionName}}",
                &[],
            )),
            "{{SessionName}}",
        ),
        (
            Op::AddRole(user("arn:aws:iam::111122223333:role/X", "x", &["a - b"])),
            "folded",
        ),
        (
            Op::AddRole(user("arn:aws:iam::111122223333:role/Dev", "other", &[])),
            "already mapped at line 21",
        ),
        (
            Op::RemoveRole {
                arn: "arn:aws:iam::111122223333:role/Nobody".into(),
            },
            "not mapped",
        ),
        (
            Op::RemoveUsername {
                username: String::new(),
            },
            "empty username",
        ),
        (Op::AddAccount("12345".into()), "12 digits"),
    ];
    for (op, needle) in cases {
        let err = doc
            .edit(std::slice::from_ref(&op), &Guards::default())
            .unwrap_err();
        assert!(err.to_string().contains(needle), "{op:?}: {err}");
    }
    let broken = manifest(
        "  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/A\n      username: {{SessionName}}\n",
    );
    let doc = Document::parse_manifest(broken.as_str()).unwrap();
    let err = doc
        .edit(
            &[Op::AddRole(user(
                "arn:aws:iam::111122223333:role/B",
                "b",
                &[],
            ))],
            &Guards::default(),
        )
        .unwrap_err();
    assert!(matches!(err, EditError::Unreadable { .. }), "{err}");
    assert!(err.to_string().starts_with("line 9, column 17:"), "{err}");
}

#[test]
fn crlf_manifests_keep_crlf() {
    let original = manifest(ROLES).replace('\n', "\r\n");
    let add = Op::AddUser(user("arn:aws:iam::111122223333:user/z", "z", &["g"]));
    let added = edit(&original, &[add]).unwrap();
    assert!(!added.replace("\r\n", "").contains('\n'), "{added:?}");
    assert!(added.ends_with("  mapUsers: |\r\n    - userarn: arn:aws:iam::111122223333:user/z\r\n      username: z\r\n      groups:\r\n        - g\r\n"), "{added:?}");
    let removed = edit(
        &added,
        &[Op::RemoveUser {
            arn: "arn:aws:iam::111122223333:user/z".into(),
        }],
    )
    .unwrap();
    let op = Op::AddRole(user("arn:aws:iam::111122223333:role/Z", "z", &[]));
    let again = edit(&removed, &[op]).unwrap();
    assert!(!again.replace("\r\n", "").contains('\n'), "{again:?}");
    let back = edit(
        &again,
        &[Op::RemoveRole {
            arn: "arn:aws:iam::111122223333:role/Z".into(),
        }],
    )
    .unwrap();
    assert_eq!(back, removed);
}

/// Issue 10.8: every operation reads back from the JSON it writes (an
/// operator keeps them in a custom resource), and the constructors build
/// what the variants say.
#[test]
fn operations_round_trip_through_json() {
    let ops = vec![
        Op::add_role(
            "arn:aws:iam::111122223333:role/Dev",
            "dev:{{SessionName}}",
            ["dev"],
        ),
        Op::add_user(
            "arn:aws:iam::111122223333:user/alice",
            "alice",
            Vec::<String>::new(),
        ),
        Op::update_role(
            "arn:aws:iam::111122223333:role/Dev",
            Some("dev".into()),
            GroupsChange::Replace(vec!["a".into()]),
        ),
        Op::update_user(
            "arn:aws:iam::111122223333:user/alice",
            None,
            GroupsChange::Append(vec!["b".into()]),
        ),
        Op::remove_role("arn:aws:iam::111122223333:role/Dev"),
        Op::remove_user("arn:aws:iam::111122223333:user/alice"),
        Op::remove_username("ci-bot"),
        Op::add_account("111122223333"),
        Op::remove_account("444455556666"),
    ];
    let json = serde_json::to_string(&ops).unwrap();
    let back: Vec<Op> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, ops);
    insta::assert_snapshot!(serde_json::to_string_pretty(&ops[..4]).unwrap());
    // What a hand-written resource leaves out takes its default.
    let short: Op =
        serde_json::from_str(r#"{"updateRole": {"arn": "arn:aws:iam::111122223333:role/Dev"}}"#)
            .unwrap();
    assert_eq!(
        short,
        Op::update_role(
            "arn:aws:iam::111122223333:role/Dev",
            None,
            GroupsChange::Keep
        )
    );
    let spec: MappingSpec =
        serde_json::from_str(r#"{"arn": "arn:aws:iam::111122223333:user/x"}"#).unwrap();
    assert_eq!(
        spec,
        MappingSpec::new("arn:aws:iam::111122223333:user/x", "", Vec::<String>::new())
    );
    assert_eq!(ops[6].principal(), "ci-bot");
    // Unknown operations are refused with the name in the message.
    let err = serde_json::from_str::<Op>(r#"{"dropTable": {}}"#).unwrap_err();
    assert!(err.to_string().contains("dropTable"), "{err}");
}

/// Issue 10.8: parse, edit and the edited text in one `?` chain.
#[test]
fn parse_edit_and_text_chain_with_one_error_type() -> Result<(), aws_auth_core::Error> {
    let manifest = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/hand-written-comments.yaml"),
    )
    .unwrap();
    let text = Document::parse_manifest(manifest)?
        .edit(&[Op::add_account("111122223333")], &Guards::new())?
        .into_manifest()?;
    assert!(text.contains("111122223333"));
    let err = Document::parse_manifest("- a\n")
        .map_err(aws_auth_core::Error::from)
        .unwrap_err();
    assert!(matches!(err, aws_auth_core::Error::Manifest(_)));
    let data = Document::from_data([("mapRoles", "")]);
    let edited = data.edit(&[Op::add_account("111122223333")], &Guards::new())?;
    assert!(matches!(
        edited.into_manifest(),
        Err(aws_auth_core::Error::NotAManifest)
    ));
    Ok(())
}

/// Issue 14: `Entry::span` is what its documentation says.
#[test]
fn entry_spans_are_as_documented() {
    let block = "# c\n- rolearn: arn:aws:iam::111122223333:role/A\n  username: a\n  groups:\n    - g  # trailing\n\n- rolearn: arn:aws:iam::111122223333:role/B\n  username: b\n";
    let doc = Document::from_data([("mapRoles", block)]);
    let spans: Vec<&str> = doc
        .view()
        .roles
        .entries
        .iter()
        .map(|e| &block[e.span.clone()])
        .collect();
    assert_eq!(
        spans,
        [
            "rolearn: arn:aws:iam::111122223333:role/A\n  username: a\n  groups:\n    - g",
            "rolearn: arn:aws:iam::111122223333:role/B\n  username: b",
        ]
    );
    let flow = "[{rolearn: arn:aws:iam::111122223333:role/A, username: a}, {rolearn: arn:aws:iam::111122223333:role/B, username: b}]";
    let doc = Document::from_data([("mapRoles", flow)]);
    let spans: Vec<&str> = doc
        .view()
        .roles
        .entries
        .iter()
        .map(|e| &flow[e.span.clone()])
        .collect();
    assert_eq!(
        spans,
        [
            "{rolearn: arn:aws:iam::111122223333:role/A, username: a}",
            "{rolearn: arn:aws:iam::111122223333:role/B, username: b}",
        ]
    );
}

/// Issue 14: one mapping of an ARN removed exactly, its hand-written
/// duplicate kept.
#[test]
fn one_mapping_of_an_arn_is_removed_exactly() {
    let roles = "- rolearn: arn:aws:iam::111122223333:role/Dev\n  username: managed\n  syncedBy: team-a\n- rolearn: arn:aws:iam::111122223333:role/dev\n  username: by-hand\n";
    let doc = Document::from_data([("mapRoles", roles)]);
    let op = Op::RemoveRoleMapping {
        arn: "arn:aws:iam::111122223333:role/Dev".into(),
        username: "managed".into(),
    };
    let edited = doc.edit(std::slice::from_ref(&op), &Guards::new()).unwrap();
    assert_eq!(
        edited.changed_data()["mapRoles"],
        "- rolearn: arn:aws:iam::111122223333:role/dev\n  username: by-hand\n"
    );
    let again = edited.document.edit(&[op], &Guards::new()).unwrap_err();
    assert!(
        matches!(again, EditError::NotFound { op: 0, .. }),
        "{again}"
    );
    assert!(
        again.to_string().starts_with("ops[0]: no role mapping"),
        "{again}"
    );
}

/// Issue 14: with `GuardPolicy::SkipGuarded` a guarded operation is left out
/// and reported while the others apply; every guard names its principal.
#[test]
fn guarded_operations_can_be_skipped_while_the_rest_applies() {
    use aws_auth_core::edit::{Cause, Effect, GuardPolicy};
    let roles = "- rolearn: arn:aws:iam::111122223333:role/Nodes\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:bootstrappers, system:nodes]\n- rolearn: arn:aws:iam::111122223333:role/Admin\n  username: admin\n  groups: [system:masters]\n";
    let doc = Document::from_data([("mapRoles", roles)]);
    let ops = [
        Op::remove_role("arn:aws:iam::111122223333:role/Nodes"),
        Op::add_user("arn:aws:iam::111122223333:user/alice", "alice", ["view"]),
        Op::remove_role("arn:aws:iam::111122223333:role/Admin"),
    ];
    // Refused whole by default.
    assert!(matches!(
        doc.edit(&ops, &Guards::new()),
        Err(EditError::Guarded { .. })
    ));
    let edited = doc
        .edit(&ops, &Guards::new().policy(GuardPolicy::SkipGuarded))
        .unwrap();
    let skipped: Vec<usize> = edited.skipped.iter().map(|(i, _)| *i).collect();
    assert_eq!(skipped, [0, 2]);
    for (_, guards) in &edited.skipped {
        assert!(guards.iter().all(|g| g.principal.is_some()), "{guards:?}");
    }
    let effects: Vec<(usize, Effect, Cause)> = edited
        .changes
        .iter()
        .map(|c| (c.op, c.effect, c.cause))
        .collect();
    assert_eq!(
        effects,
        [
            (0, Effect::Skipped, Cause::Guarded),
            (1, Effect::Added, Cause::Requested),
            (2, Effect::Skipped, Cause::Guarded)
        ]
    );
    assert_eq!(
        edited.changes[0].principals,
        ["arn:aws:iam::111122223333:role/Nodes"]
    );
    assert_eq!(edited.document.view().roles.entries.len(), 2);
    assert_eq!(edited.document.view().users.entries.len(), 1);
    // Forcing is a policy too.
    let forced = doc
        .edit(&ops, &Guards::new().policy(GuardPolicy::Force))
        .unwrap();
    assert!(!forced.forced.is_empty() && forced.skipped.is_empty());
}
