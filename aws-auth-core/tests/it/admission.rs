//! Issue 11: the decision on a change of the map, for every writer.

use aws_auth_core::Document;
use std::time::{Duration, UNIX_EPOCH};

use aws_auth_core::admission::{
    ALLOW_ANNOTATION, PROTECTED_ANNOTATION, ReasonCode, decide, decide_at, delete_override,
};

use crate::mutants::seeds;

const HEAD: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\n";
const NODES: &str = "    - rolearn: arn:aws:iam::111122223333:role/Nodes\n      username: system:node:{{EC2PrivateDNSName}}\n      groups: [system:bootstrappers, system:nodes]\n";
const ADMIN: &str = "    - rolearn: arn:aws:iam::111122223333:role/Admin\n      username: admin\n      groups: [system:masters]\n";
const DEV: &str =
    "    - rolearn: arn:aws:iam::111122223333:role/Dev\n      username: dev\n      groups: [dev]\n";

fn map(annotations: &str, roles: &str) -> Document {
    let meta = if annotations.is_empty() {
        String::new()
    } else {
        format!("  annotations:\n{annotations}")
    };
    Document::parse_manifest(format!("{HEAD}{meta}data:\n  mapRoles: |\n{roles}")).unwrap()
}

fn codes(old: Option<&Document>, new: Option<&Document>) -> Vec<&'static str> {
    decide(old, new, &[])
        .reasons
        .iter()
        .map(|r| r.code.as_str())
        .collect()
}

#[test]
fn what_makes_things_worse_is_denied() {
    let old = map("", &format!("{NODES}{ADMIN}{DEV}"));
    // A copy applied without the node role.
    assert_eq!(
        codes(Some(&old), Some(&map("", &format!("{ADMIN}{DEV}")))),
        ["node-role"]
    );
    // The node role rewritten.
    let rewritten = map(
        "",
        &format!("{}{ADMIN}{DEV}", NODES.replace("system:nodes]", "dev]")),
    );
    assert_eq!(codes(Some(&old), Some(&rewritten)), ["node-role"]);
    // The last administrator removed.
    assert_eq!(
        codes(Some(&old), Some(&map("", &format!("{NODES}{DEV}")))),
        ["last-admin"]
    );
    // A key made unreadable (an unquoted template).
    let broken = map(
        "",
        &format!(
            "{NODES}{ADMIN}{}",
            DEV.replace("username: dev", "username: {{SessionName}}")
        ),
    );
    let d = decide(Some(&old), Some(&broken), &[]);
    assert_eq!(d.reasons[0].code, ReasonCode::KeyUnreadable, "{d:?}");
    assert_eq!(d.reasons[0].key, Some("mapRoles"));
    assert!(d.reasons[0].position.is_some());
    // Deleted.
    assert_eq!(codes(Some(&old), None), ["deleted"]);
    // A protected principal, by parameter and by annotation.
    let without_dev = map("", &format!("{NODES}{ADMIN}"));
    let dev: aws_auth_core::arn::Arn = "arn:aws:iam::111122223333:role/Dev".parse().unwrap();
    let d = decide(Some(&old), Some(&without_dev), std::slice::from_ref(&dev));
    assert_eq!(d.reasons[0].code, ReasonCode::Protected, "{d:?}");
    let protected = format!("    {PROTECTED_ANNOTATION}: arn:aws:iam::111122223333:role/Dev\n");
    let old_p = map(&protected, &format!("{NODES}{ADMIN}{DEV}"));
    let d = codes(
        Some(&old_p),
        Some(&map(&protected, &format!("{NODES}{ADMIN}"))),
    );
    assert_eq!(d, ["protected"]);
    // Removing the protection is itself denied.
    assert_eq!(codes(Some(&old_p), Some(&old)), ["unprotected"]);
}

#[test]
fn an_override_lets_a_change_through_and_says_why() {
    let old = map("", &format!("{NODES}{ADMIN}"));
    let allow = format!("    {ALLOW_ANNOTATION}: \"node group retired, ticket OPS-42\"\n");
    let new = map(&allow, ADMIN);
    let d = decide(Some(&old), Some(&new), &[]);
    assert!(d.allowed);
    assert_eq!(d.reasons[0].code, ReasonCode::NodeRole);
    assert_eq!(
        d.overridden.as_deref(),
        Some("node group retired, ticket OPS-42")
    );
    // An empty reason is no override.
    let empty = map(&format!("    {ALLOW_ANNOTATION}: \"\"\n"), ADMIN);
    assert!(!decide(Some(&old), Some(&empty), &[]).allowed);
    // A delete is allowed when the object deleted was annotated first, with
    // an expiry within the hour.
    let now = UNIX_EPOCH + Duration::from_secs(1_796_641_200);
    let soon = delete_override("finalized", now, Duration::from_secs(600));
    let annotated = map(
        &format!("    {ALLOW_ANNOTATION}: \"{soon}\"\n"),
        &format!("{NODES}{ADMIN}"),
    );
    assert!(decide_at(Some(&annotated), None, &[], now).allowed);
    assert!(!decide_at(Some(&old), None, &[], now).allowed);
}

/// Issue 20.3: an override counts for the change that sets it, never for
/// the later ones that keep it; a delete's expires.
#[test]
fn an_override_is_given_for_one_change_only() {
    let now = UNIX_EPOCH + Duration::from_secs(1_796_641_200);
    let allow = |v: &str| format!("    {ALLOW_ANNOTATION}: \"{v}\"\n");
    let kept = allow("node group retired, OPS-42");
    let base = map("", &format!("{NODES}{ADMIN}{DEV}"));
    // Set with the change that needs it: allowed.
    let first = map(&kept, &format!("{ADMIN}{DEV}"));
    assert!(decide_at(Some(&base), Some(&first), &[], now).allowed);
    // Months later, the annotation still there: a change that takes the last
    // admin is denied, and says why the annotation did not count.
    let later = map(&kept, DEV);
    let d = decide_at(Some(&first), Some(&later), &[], now);
    assert!(!d.allowed, "{d:?}");
    assert_eq!(d.reasons[0].code, ReasonCode::LastAdmin);
    assert!(
        d.override_ignored
            .as_deref()
            .is_some_and(|w| w.contains("counts only for the change that sets it")),
        "{d:?}"
    );
    // A new reason for this change: allowed.
    let renewed = map(&allow("break-glass drill, OPS-43"), DEV);
    let d = decide_at(Some(&first), Some(&renewed), &[], now);
    assert_eq!(d.overridden.as_deref(), Some("break-glass drill, OPS-43"));
    // A change that needs nothing is not concerned by a kept annotation.
    let harmless = map(&kept, &format!("{ADMIN}{DEV}{DEV}"));
    let d = decide_at(Some(&first), Some(&harmless), &[], now);
    assert!(d.allowed && d.override_ignored.is_none(), "{d:?}");
    // An expired value overrides nothing, new or not.
    let expired = map(
        &allow("retired (until 2026-12-07T10:00:00Z)"),
        &format!("{ADMIN}{DEV}"),
    );
    let d = decide_at(Some(&base), Some(&expired), &[], now);
    assert!(
        !d.allowed
            && d.override_ignored
                .as_deref()
                .is_some_and(|w| w.contains("expired"))
    );
    // A delete: only a value that expires within the hour, not yet passed.
    let with = |v: &str| map(&allow(v), &format!("{NODES}{ADMIN}"));
    for (value, ok) in [
        ("finalized".to_owned(), false),
        (
            delete_override("finalized", now, Duration::from_secs(600)),
            true,
        ),
        (
            delete_override("finalized", now, Duration::from_secs(3600)),
            true,
        ),
        (
            delete_override("finalized", now, Duration::from_secs(3601)),
            false,
        ),
        ("finalized (until 2026-12-07T10:59:59Z)".to_owned(), false),
        ("finalized (until 2099-01-01T00:00:00Z)".to_owned(), false),
    ] {
        let d = decide_at(Some(&with(&value)), None, &[], now);
        assert_eq!(d.allowed, ok, "{value}: {d:?}");
        if !ok {
            assert!(d.override_ignored.is_some(), "{value}: {d:?}");
        }
    }
}

#[test]
fn only_what_the_change_makes_worse_counts() {
    // A map that is already broken may be changed without adding problems,
    // and fixed.
    let broken_users = "  mapUsers: |\n    - userarn: arn:aws:iam::111122223333:user/a\n      username: {{SessionName}}\n";
    let old = Document::parse_manifest(format!(
        "{HEAD}data:\n  mapRoles: |\n{NODES}{ADMIN}{broken_users}"
    ))
    .unwrap();
    let more = Document::parse_manifest(format!(
        "{HEAD}data:\n  mapRoles: |\n{NODES}{ADMIN}{DEV}{broken_users}"
    ))
    .unwrap();
    let d = decide(Some(&old), Some(&more), &[]);
    assert!(d.allowed && d.reasons.is_empty(), "{d:?}");
    let fixed = map("", &format!("{NODES}{ADMIN}"));
    assert!(decide(Some(&old), Some(&fixed), &[]).allowed);
    // A map without an administrator may stay without one.
    let no_admin = map("", NODES);
    let still = map("", &format!("{NODES}{DEV}"));
    assert!(decide(Some(&no_admin), Some(&still), &[]).allowed);
    // New lint findings are warnings, not reasons.
    let odd = map(
        "",
        &format!(
            "{NODES}{ADMIN}    - rolearn: arn:aws:iam::111122223333:role/X\n      username: x\n      grups: [x]\n"
        ),
    );
    let d = decide(Some(&fixed), Some(&odd), &[]);
    assert!(d.allowed);
    assert!(d.warnings.iter().any(|w| w.code == "unknown-key"), "{d:?}");
    // A create of a healthy map is allowed.
    assert!(decide(None, Some(&fixed), &[]).allowed);
}

#[test]
fn no_change_to_any_fixture_is_denied() {
    for (name, text) in seeds() {
        let Ok(doc) = Document::parse_manifest(text.as_str()) else {
            continue;
        };
        let d = decide(Some(&doc), Some(&doc), &[]);
        assert!(
            d.allowed && d.reasons.is_empty() && d.warnings.is_empty(),
            "{name}: {d:?}"
        );
    }
}

/// The decision on two changes of every fixture and corpus map, for review:
/// its node roles dropped (as a stale copy applied wholesale), and one
/// ordinary mapping added.
#[test]
fn decisions_on_every_fixture() {
    use aws_auth_core::edit::{GuardPolicy, Guards, Op};
    let mut table = String::new();
    for (name, text) in seeds() {
        let Ok(doc) = Document::parse_manifest(text.as_str()) else {
            continue;
        };
        let force = Guards::new().policy(GuardPolicy::Force);
        let nodes: Vec<Op> = doc
            .effective()
            .mappings()
            .filter(|m| m.node_kind().is_some() && m.key == aws_auth_core::DataKey::MapRoles)
            .map(|m| Op::remove_role(m.arn))
            .collect();
        let mut line = format!("{name}:");
        if !nodes.is_empty()
            && let Ok(e) = doc.edit(&nodes, &force)
        {
            let d = decide(Some(&doc), Some(&e.document), &[]);
            let codes: Vec<&str> = d.reasons.iter().map(|r| r.code.as_str()).collect();
            line.push_str(&format!(
                " nodes removed -> {} {codes:?};",
                if d.allowed { "allowed" } else { "denied" }
            ));
        }
        let add = Op::add_role(
            "arn:aws:iam::999900001111:role/Ordinary",
            "ordinary",
            ["view"],
        );
        if let Ok(e) = doc.edit(&[add], &Guards::new()) {
            let d = decide(Some(&doc), Some(&e.document), &[]);
            line.push_str(&format!(
                " ordinary added -> {} {} warnings",
                if d.allowed { "allowed" } else { "denied" },
                d.warnings.len()
            ));
        }
        table.push_str(&line);
        table.push('\n');
    }
    insta::assert_snapshot!(table);
}

/// Properties over the mutant stream: adding an ordinary mapping to any
/// readable map is allowed; removing the only node role is denied.
#[test]
fn adding_is_allowed_and_removing_the_only_node_role_is_denied() {
    use crate::mutants::{Lcg, budget, mutate};
    use aws_auth_core::edit::{GuardPolicy, Guards, Op};
    let seeds = seeds();
    let mut rng = Lcg::new(11);
    let (mut added, mut removed) = (0, 0);
    for n in 0..budget(2_000) {
        let (name, text) = &seeds[n % seeds.len()];
        let mutant = mutate(text, &mut rng);
        let Ok(doc) = Document::parse_manifest(mutant.as_str()) else {
            continue;
        };
        let add = Op::add_role(
            "arn:aws:iam::999900001111:role/Ordinary",
            "ordinary",
            ["view"],
        );
        if let Ok(e) = doc.edit(&[add], &Guards::new()) {
            let d = decide(Some(&doc), Some(&e.document), &[]);
            assert!(
                d.allowed && d.reasons.is_empty(),
                "mutant {n} of {name}: {d:?}\n{mutant}"
            );
            added += 1;
        }
        let nodes: Vec<String> = doc
            .effective()
            .mappings()
            .filter(|m| m.node_kind().is_some() && m.key == aws_auth_core::DataKey::MapRoles)
            .map(|m| m.arn.to_lowercase())
            .collect();
        if let [only] = &nodes[..] {
            let force = Guards::new().policy(GuardPolicy::Force);
            if let Ok(e) = doc.edit(&[Op::remove_role(only.clone())], &force) {
                let d = decide(Some(&doc), Some(&e.document), &[]);
                assert!(
                    !d.allowed && d.reasons.iter().any(|r| r.code == ReasonCode::NodeRole),
                    "mutant {n} of {name}: {d:?}"
                );
                removed += 1;
            }
        }
    }
    assert!(
        added > 500 && removed > 100,
        "added {added}, removed {removed}"
    );
}

/// An AdmissionReview as the Kubernetes API reference shapes it, and the
/// response it gets.
#[test]
fn reviews_are_answered_in_the_api_reference_shape() {
    use serde_json::json;
    let object = |roles: &str, annotations: serde_json::Value| {
        json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "aws-auth", "namespace": "kube-system", "uid": "0d2f1c66", "resourceVersion": "42",
            "creationTimestamp": "2026-01-01T00:00:00Z", "annotations": annotations,
            "managedFields": [{"manager": "kubectl", "operation": "Update"}]},
        "data": {"mapRoles": roles}})
    };
    let roles = format!("{}{}", NODES, ADMIN).replace("    ", "");
    let review = json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": {"group": "", "version": "v1", "kind": "ConfigMap"},
            "resource": {"group": "", "version": "v1", "resource": "configmaps"},
            "requestKind": {"group": "", "version": "v1", "kind": "ConfigMap"},
            "requestResource": {"group": "", "version": "v1", "resource": "configmaps"},
            "name": "aws-auth",
            "namespace": "kube-system",
            "operation": "UPDATE",
            "userInfo": {"username": "admin", "uid": "014fbff9a07c", "groups": ["system:authenticated", "my-admin-group"]},
            "object": object(ADMIN.replace("    ", "").as_str(), json!({})),
            "oldObject": object(&roles, json!({})),
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "UpdateOptions"},
            "dryRun": false
        }
    });
    let answer = aws_auth_core::admission::review(&review, &[]).unwrap();
    let r = &answer.response;
    assert_eq!(r["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(r["kind"], "AdmissionReview");
    assert_eq!(r["response"]["uid"], "705ab4f5-6393-11e8-b7cc-42010a800002");
    assert_eq!(r["response"]["allowed"], false);
    assert_eq!(r["response"]["status"]["code"], 403);
    assert!(
        r["response"]["status"]["message"]
            .as_str()
            .unwrap()
            .starts_with("aws-auth: this change would remove the node role mapping")
    );
    assert_eq!(answer.log["user"], "admin");
    assert_eq!(answer.log["dryRun"], false);
}

/// Issue 20.1: an administrator whose ARN names no possible principal is
/// none; the webhook's decision is the editor's.
#[test]
fn an_impossible_admin_counts_for_nothing() {
    let fake = "    - rolearn: arn:aws:iam::111122223333:role/${var.admin_role}\n      username: admin\n      groups: [system:masters]\n";
    let old = map("", &format!("{NODES}{ADMIN}{fake}"));
    let new = map("", &format!("{NODES}{fake}"));
    assert_eq!(codes(Some(&old), Some(&new)), ["last-admin"]);
    // Adding one is a new lint error, which the decision reports.
    let d = decide(Some(&map("", &format!("{NODES}{ADMIN}"))), Some(&old), &[]);
    assert!(d.allowed);
    assert_eq!(d.warnings[0].code, "invalid-name", "{d:?}");
}

/// Issue 20.4: a node role's groups in another order grant the same: the
/// guards compare groups as sets, before the webhook as in the editor.
#[test]
fn groups_in_another_order_are_the_same_grant() {
    let old = map("", &format!("{NODES}{ADMIN}"));
    let swapped = NODES.replace(
        "[system:bootstrappers, system:nodes]",
        "[system:nodes, system:bootstrappers]",
    );
    let twice = NODES.replace(
        "[system:bootstrappers, system:nodes]",
        "[system:nodes, system:bootstrappers, system:nodes]",
    );
    for nodes in [swapped, twice] {
        let new = map("", &format!("{nodes}{ADMIN}"));
        let d = decide(Some(&old), Some(&new), &[]);
        assert!(d.allowed && d.reasons.is_empty(), "{nodes}: {d:?}");
    }
    // A group taken away is still a rewrite.
    let fewer = NODES.replace("[system:bootstrappers, system:nodes]", "[system:nodes]");
    assert_eq!(
        codes(Some(&old), Some(&map("", &format!("{fewer}{ADMIN}")))),
        ["node-role"]
    );
}
