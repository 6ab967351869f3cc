//! Issue 11: the decision on a change of the map, for every writer.

use aws_auth_core::Document;
use aws_auth_core::admission::{ALLOW_ANNOTATION, PROTECTED_ANNOTATION, ReasonCode, decide};

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
    // A delete is allowed when the object deleted was annotated first.
    let annotated = map(&allow, &format!("{NODES}{ADMIN}"));
    assert!(decide(Some(&annotated), None, &[]).allowed);
    assert!(!decide(Some(&old), None, &[]).allowed);
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
