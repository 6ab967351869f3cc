//! Issue 14: a sync makes one owner's mappings exactly a desired set and
//! touches nothing else; a second sync changes nothing.

use std::collections::BTreeSet;

use aws_auth_core::edit::{Cause, EditError, Effect, Guards, MappingSpec, Op, SyncSpec};
use aws_auth_core::{DataKey, Document, MapView};

use crate::mutants::{Lcg, mutate, seeds};

fn role(name: &str, groups: &[&str]) -> MappingSpec {
    MappingSpec::new(
        format!("arn:aws:iam::999900001111:role/{name}"),
        format!("{name}:{{{{SessionName}}}}"),
        groups.iter().copied(),
    )
}

fn user(name: &str, groups: &[&str]) -> MappingSpec {
    MappingSpec::new(
        format!("arn:aws:iam::999900001111:user/{name}"),
        name,
        groups.iter().copied(),
    )
}

fn team_a() -> SyncSpec {
    SyncSpec::new("team-a")
        .role(role("Dev", &["dev", "view"]))
        .role(role("Ops", &["ops"]))
        .user(user("alice", &["view"]))
        .prune(true)
}

/// (owner marker or none, arn, username, groups as a set) of every entry.
type Reading = BTreeSet<(Option<String>, String, String, BTreeSet<String>)>;

fn reading(view: &MapView) -> Reading {
    let mut out = Reading::new();
    for e in &view.roles.entries {
        let r = &e.value;
        out.insert((
            r.extra
                .get("syncedBy")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
            r.rolearn.to_lowercase(),
            r.username.to_string(),
            r.groups.iter().map(|g| g.to_string()).collect(),
        ));
    }
    for e in &view.users.entries {
        let u = &e.value;
        out.insert((
            u.extra
                .get("syncedBy")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
            u.userarn.to_string(),
            u.username.to_string(),
            u.groups.iter().map(|g| g.to_string()).collect(),
        ));
    }
    out
}

fn owned_by(r: &Reading, owner: &str) -> Reading {
    r.iter()
        .filter(|e| e.0.as_deref() == Some(owner))
        .cloned()
        .collect()
}

fn expected(spec: &SyncSpec) -> Reading {
    spec.roles
        .iter()
        .map(|m| (m, true))
        .chain(spec.users.iter().map(|m| (m, false)))
        .map(|(m, is_role)| {
            (
                Some(spec.owner.clone()),
                if is_role {
                    m.arn.to_lowercase()
                } else {
                    m.arn.clone()
                },
                m.username.clone(),
                m.groups.iter().cloned().collect(),
            )
        })
        .collect()
}

/// Sync, then sync again: the second is a no-op, the owner's mappings are the
/// desired set, the others read as before.
fn check_sync(name: &str, text: &str, spec: &SyncSpec) -> Option<String> {
    let doc = Document::parse_manifest(text).ok()?;
    let edited = match doc.edit(&[Op::Sync(spec.clone())], &Guards::new()) {
        Ok(e) => e,
        Err(EditError::Unreadable { .. }) => return None,
        Err(e) => panic!("{name}: {e}"),
    };
    let after = edited.manifest().unwrap().to_owned();
    let again = edited
        .document
        .edit(&[Op::Sync(spec.clone())], &Guards::new())
        .unwrap_or_else(|e| panic!("{name}: second sync: {e}"));
    assert!(
        again.is_noop(),
        "{name}: a second sync changed {:?}",
        again.changes
    );
    assert_eq!(again.manifest().unwrap(), after, "{name}");
    let (before, now) = (reading(doc.view()), reading(edited.document.view()));
    let others = |r: &Reading| -> Reading {
        r.iter()
            .filter(|e| e.0.as_deref() != Some(spec.owner.as_str()))
            .cloned()
            .collect()
    };
    assert_eq!(
        others(&now),
        others(&before),
        "{name}: other entries changed"
    );
    let skipped = edited.changes.iter().any(|c| c.effect == Effect::Skipped);
    if !skipped {
        assert_eq!(owned_by(&now, &spec.owner), expected(spec), "{name}");
    }
    Some(after)
}

#[test]
fn syncing_every_fixture_twice_changes_it_once() {
    let mut synced = 0;
    for (name, text) in seeds() {
        if let Some(after) = check_sync(&name, &text, &team_a()) {
            synced += 1;
            // The layout of every synced map, for review.
            insta::assert_snapshot!(format!("sync-{}", name.replace(['/', '.'], "-")), after);
            // Every unowned entry keeps its bytes.
            let (before, now) = (
                Document::parse_manifest(text.as_str()).unwrap(),
                Document::parse_manifest(after.as_str()).unwrap(),
            );
            for key in [DataKey::MapRoles, DataKey::MapUsers] {
                let (old, new) = (
                    before.data_string(key).unwrap_or(""),
                    now.data_string(key).unwrap_or(""),
                );
                let spans: Vec<std::ops::Range<usize>> = match key {
                    DataKey::MapRoles => before
                        .view()
                        .roles
                        .entries
                        .iter()
                        .map(|e| e.span.clone())
                        .collect(),
                    _ => before
                        .view()
                        .users
                        .entries
                        .iter()
                        .map(|e| e.span.clone())
                        .collect(),
                };
                for span in spans {
                    let bytes = &old[span];
                    assert!(new.contains(bytes), "{name}: {key} entry {bytes:?} changed");
                }
            }
        }
    }
    assert!(synced > 40, "only {synced} fixtures synced");
}

#[test]
fn the_ports_four_cases() {
    let head = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n";
    // 1. Comments and a node role stay as they are.
    let text = format!(
        "{head}  mapRoles: |\n    # nodes: do not touch\n    - rolearn: arn:aws:iam::999900001111:role/Nodes\n      username: system:node:{{{{EC2PrivateDNSName}}}}\n      groups:\n        - system:bootstrappers\n        - system:nodes\n"
    );
    let after = check_sync("comments", &text, &team_a()).unwrap();
    assert!(after.starts_with(&text), "{after}");
    insta::assert_snapshot!(after);
    // 2. Terraform's yamlencode style: quoted keys, sorted fields.
    let tf = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/terraform-yamlencode.yaml"),
    )
    .unwrap();
    let after = check_sync("terraform", &tf, &team_a()).unwrap();
    assert!(
        after.contains("\"syncedBy\": \"team-a\"") || after.contains("syncedBy: team-a"),
        "{after}"
    );
    // 3. A user someone else mapped, with other groups: left alone, reported.
    let text = format!(
        "{head}  mapUsers: |\n    - userarn: arn:aws:iam::999900001111:user/alice\n      username: alice\n      groups: [admin]\n"
    );
    let doc = Document::parse_manifest(text.as_str()).unwrap();
    for adopt in [false, true] {
        let edited = doc
            .edit(&[Op::Sync(team_a().adopt(adopt))], &Guards::new())
            .unwrap();
        assert!(
            edited.changes.iter().any(|c| c.effect == Effect::Skipped
                && c.cause == Cause::NotOwned
                && c.principals == ["arn:aws:iam::999900001111:user/alice"]),
            "{:?}",
            edited.changes
        );
        assert!(edited.manifest().unwrap().contains("groups: [admin]"));
    }
    // The same, saying what the owner wants: adopted when asked.
    let same = text.replace("[admin]", "[view]");
    let doc = Document::parse_manifest(same.as_str()).unwrap();
    let adopted = doc
        .edit(&[Op::Sync(team_a().adopt(true))], &Guards::new())
        .unwrap();
    let users = &adopted.document.view().users.entries;
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].value.extra["syncedBy"], "team-a");
    // 4. A managed user removed from the set: gone with prune, kept without.
    let owned = format!(
        "{head}  mapUsers: |\n    - userarn: arn:aws:iam::999900001111:user/bob\n      username: bob\n      syncedBy: team-a\n    - userarn: arn:aws:iam::999900001111:user/carol\n      username: carol\n      syncedBy: team-b\n"
    );
    let doc = Document::parse_manifest(owned.as_str()).unwrap();
    let pruned = doc.edit(&[Op::Sync(team_a())], &Guards::new()).unwrap();
    let text = pruned.manifest().unwrap();
    assert!(
        !text.contains("user/bob") && text.contains("user/carol"),
        "{text}"
    );
    let kept = doc
        .edit(&[Op::Sync(team_a().prune(false))], &Guards::new())
        .unwrap();
    assert!(kept.manifest().unwrap().contains("user/bob"));
}

#[test]
fn an_owned_entry_that_differs_is_updated_in_place() {
    let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\ndata:\n  mapRoles: |\n    - rolearn: arn:aws:iam::999900001111:role/Dev\n      username: old\n      groups: [view, dev]\n      syncedBy: team-a  # managed\n";
    let doc = Document::parse_manifest(text).unwrap();
    let spec = SyncSpec::new("team-a").role(role("Dev", &["dev", "view"]));
    // Same groups in another order: nothing to do for them.
    let edited = doc.edit(&[Op::Sync(spec)], &Guards::new()).unwrap();
    let after = edited.manifest().unwrap();
    assert!(
        after.contains("username: Dev:{{SessionName}}")
            || after.contains("username: \"Dev:{{SessionName}}\""),
        "{after}"
    );
    assert!(after.contains("groups: [view, dev]"), "{after}");
    assert!(after.contains("syncedBy: team-a  # managed"), "{after}");
}

#[test]
fn adding_the_same_groups_in_another_order_is_unchanged() {
    let doc = Document::from_data([(
        "mapUsers",
        "- userarn: arn:aws:iam::999900001111:user/alice\n  username: alice\n  groups: [b, a]\n",
    )]);
    let edited = doc
        .edit(
            &[Op::add_user(
                "arn:aws:iam::999900001111:user/alice",
                "alice",
                ["a", "b"],
            )],
            &Guards::new(),
        )
        .unwrap();
    assert!(edited.is_noop());
    assert_eq!(edited.changes[0].effect, Effect::Unchanged);
}

/// For any readable map of the mutant stream and a random desired set: the
/// owner's mappings are the set, everything else reads as before, and a
/// second sync is a no-op.
#[test]
fn sync_holds_on_the_mutant_stream() {
    let seeds = seeds();
    let mut rng = Lcg::new(14);
    let total = crate::mutants::budget(1_500);
    let names = ["Dev", "Ops", "Audit", "Deploy", "Read"];
    let groups = ["dev", "view", "ops", "system:masters"];
    let mut checked = 0;
    for n in 0..total {
        let (name, text) = &seeds[n % seeds.len()];
        let mutant = mutate(text, &mut rng);
        let mut spec = SyncSpec::new(["team-a", "team-b"][rng.below(2)]).prune(rng.below(2) == 0);
        for r in names {
            if rng.below(2) == 0 {
                continue;
            }
            let g: Vec<&str> = groups
                .iter()
                .copied()
                .filter(|_| rng.below(2) == 0)
                .collect();
            spec = spec.role(role(r, &g));
        }
        if rng.below(2) == 0 {
            spec = spec.user(user("alice", &["view"]));
        }
        if check_sync(&format!("mutant {n} of {name}"), &mutant, &spec).is_some() {
            checked += 1;
        }
    }
    assert!(checked > total / 3, "only {checked} of {total} synced");
}

/// Issue 21.1: a user keeps its IAM path (STS names a user with it, and the
/// authenticator compares user ARNs as written); only a role loses it.
#[test]
fn a_users_path_is_kept_and_a_roles_refused() {
    let doc = Document::from_data([("mapUsers", "[]\n")]);
    let jane = "arn:aws:iam::111122223333:user/ops/jane";
    for op in [
        Op::add_user(jane, "jane", ["ops"]),
        Op::Sync(SyncSpec::new("team").user(MappingSpec::new(jane, "jane", ["ops"]))),
    ] {
        let edited = doc.edit(&[op], &Guards::new()).unwrap();
        let caller = jane.parse().unwrap();
        let effective = edited.document.view().effective();
        let aws_auth_core::effective::Resolved::Mapping(m) = effective.resolve(&caller) else {
            panic!("{jane} does not resolve");
        };
        assert_eq!(m.username, "jane");
        // No finding about the path (the marker is the sync's own).
        assert!(
            edited
                .document
                .lint()
                .iter()
                .all(|d| d.message.contains("syncedBy")),
            "{:?}",
            edited.document.lint()
        );
    }
    let e = doc
        .edit(
            &[Op::add_role(
                "arn:aws:iam::111122223333:role/teams/Dev",
                "dev",
                ["dev"],
            )],
            &Guards::new(),
        )
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("write arn:aws:iam::111122223333:role/Dev"),
        "{e}"
    );
}

/// Issue 21.2: the lookup ignores case, so a sync never adds `user/alice`
/// beside an unowned `user/Alice` (which one a login gets would be a coin
/// toss): it is skipped, as `add` refuses it.
#[test]
fn a_principal_in_another_case_is_the_same_principal_for_every_op() {
    let doc = Document::from_data([(
        "mapUsers",
        "- userarn: arn:aws:iam::999900001111:user/Alice\n  username: alice\n  groups: [admin]\n",
    )]);
    let edited = doc
        .edit(
            &[Op::Sync(
                SyncSpec::new("team-a").user(user("alice", &["view"])),
            )],
            &Guards::new(),
        )
        .unwrap();
    assert_eq!(edited.document.view().users.entries.len(), 1);
    assert!(
        edited.changes[0].effect == Effect::Skipped && edited.changes[0].cause == Cause::NotOwned,
        "{:?}",
        edited.changes
    );
    let e = doc
        .edit(
            &[Op::add_user(
                "arn:aws:iam::999900001111:user/alice",
                "alice",
                ["view"],
            )],
            &Guards::new(),
        )
        .unwrap_err();
    assert!(matches!(e, EditError::Conflict { .. }), "{e}");
}

/// Issues 21.3 and 21.4: under `SkipGuarded` a sync is guarded entry by
/// entry: the owner's node role (whose removal trips a guard) is held and
/// reported, while the departed admin is pruned in the same round; every
/// change names its principals and a reason code.
#[test]
fn a_guarded_entry_of_a_sync_is_held_and_the_rest_goes_through() {
    use aws_auth_core::guard::{GuardKind, GuardPolicy};
    let doc = Document::from_data([
        (
            "mapRoles",
            "- rolearn: arn:aws:iam::999900001111:role/Admin\n  username: admin\n  groups: [system:masters]\n\
             - rolearn: arn:aws:iam::999900001111:role/Nodes\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:bootstrappers, system:nodes]\n  syncedBy: team-a\n",
        ),
        (
            "mapUsers",
            "- userarn: arn:aws:iam::999900001111:user/departed\n  username: departed\n  groups: [system:masters]\n  syncedBy: team-a\n\
             - userarn: arn:aws:iam::999900001111:user/bob\n  username: bob\n  groups: [old]\n  syncedBy: team-a\n",
        ),
    ]);
    let spec = SyncSpec::new("team-a")
        .user(user("bob", &["view"]))
        .prune(true);
    // Refused whole by default.
    assert!(matches!(
        doc.edit(&[Op::Sync(spec.clone())], &Guards::new()),
        Err(EditError::Guarded { .. })
    ));
    let edited = doc
        .edit(
            &[Op::Sync(spec)],
            &Guards::new().policy(GuardPolicy::SkipGuarded),
        )
        .unwrap();
    let seen: Vec<(Effect, Cause, Vec<String>)> = edited
        .changes
        .iter()
        .map(|c| (c.effect, c.cause, c.principals.clone()))
        .collect();
    let arn = |s: &str| format!("arn:aws:iam::999900001111:{s}");
    assert!(
        seen.contains(&(Effect::Updated, Cause::Wanted, vec![arn("user/bob")])),
        "{seen:?}"
    );
    assert!(
        seen.contains(&(
            Effect::Removed,
            Cause::NoLongerWanted,
            vec![arn("user/departed")]
        )),
        "{seen:?}"
    );
    let held = edited
        .changes
        .iter()
        .find(|c| c.effect == Effect::Skipped)
        .expect("the node role is reported");
    assert_eq!(
        (held.cause, &held.principals, &held.guards),
        (
            Cause::Guarded,
            &vec![arn("role/Nodes")],
            &vec![GuardKind::NodeRole]
        )
    );
    assert_eq!(held.key, Some(DataKey::MapRoles));
    let view = edited.document.view();
    assert_eq!(view.roles.entries.len(), 2, "the node role stays");
    assert_eq!(view.users.entries.len(), 1, "the departed admin goes");
    // As JSON: principals, reason, guards, and a message.
    let json = serde_json::to_value(&edited.changes).unwrap();
    assert!(
        json.as_array()
            .unwrap()
            .iter()
            .any(|c| c["reason"] == "guarded"
                && c["guards"] == serde_json::json!(["node-role"])
                && c["kind"] == "role"),
        "{json}"
    );
}
