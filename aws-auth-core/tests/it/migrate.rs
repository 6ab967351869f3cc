//! Migration plans: a snapshot of the offline plan of every fixture, and the
//! comparison with what a cluster already has.

use aws_auth_core::Document;
use aws_auth_core::entries::{
    AccessScope, Action, AuthenticationMode, ClusterState, EntryType, ExistingEntry, PlanOptions,
    PolicyAssociation, Resolution, Resolutions,
};
use aws_auth_core::migrate;

#[test]
fn every_fixture_plans_as_snapshotted() {
    for (name, text) in crate::fixtures::fixtures() {
        let Ok(doc) = Document::parse_manifest(text.as_str()) else {
            continue;
        };
        let cluster = ClusterState::empty("fixture", Some(AuthenticationMode::ApiAndConfigMap));
        let plan = migrate::plan(
            &doc,
            &cluster,
            &Resolutions::offline(),
            &PlanOptions::default(),
        );
        insta::assert_json_snapshot!(format!("plan-{name}"), plan);
    }
}

const ADMIN_POLICY: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";

fn doc(roles: &str, users: &str) -> Document {
    Document::from_data([("mapRoles", roles), ("mapUsers", users)])
}

fn resolved(pairs: &[(&str, &str)]) -> Resolutions {
    let mut r = Resolutions::default();
    for (map, full) in pairs {
        r.insert(map, Resolution::Resolved((*full).to_owned()));
    }
    r
}

fn cluster(entries: Vec<ExistingEntry>) -> ClusterState {
    let mut c = ClusterState::empty("prod", Some(AuthenticationMode::ApiAndConfigMap));
    c.account = Some("111122223333".into());
    c.entries = entries
        .into_iter()
        .map(|e| (e.principal_arn.clone(), e))
        .collect();
    c
}

fn standard(
    arn: &str,
    user: &str,
    groups: &[&str],
    policies: Vec<PolicyAssociation>,
) -> ExistingEntry {
    let mut e = ExistingEntry::new(arn, EntryType::Standard)
        .with_username(user)
        .with_groups(groups.iter().copied());
    e.policies = policies;
    e
}

fn admin(scope: AccessScope) -> PolicyAssociation {
    PolicyAssociation::new(ADMIN_POLICY, scope)
}

const SSO_MAP: &str = "arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_0123";
const SSO_FULL: &str = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123";
const ROLES: &str = "\
- rolearn: arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_0123
  username: admin:{{SessionName}}
  groups: [system:masters, auditors]
- rolearn: arn:aws:iam::111122223333:role/Nodes
  username: system:node:{{EC2PrivateDNSName}}
  groups: [system:bootstrappers, system:nodes]
";

#[test]
fn resolved_paths_are_used_and_identical_entries_are_left_alone() {
    let d = doc(ROLES, "");
    let r = resolved(&[
        (SSO_MAP, SSO_FULL),
        (
            "arn:aws:iam::111122223333:role/Nodes",
            "arn:aws:iam::111122223333:role/Nodes",
        ),
    ]);
    let empty = migrate::plan(&d, &cluster(vec![]), &r, &PlanOptions::default());
    assert_eq!(
        empty.actions,
        vec![
            Action::CreateAccessEntry {
                principal_arn: SSO_FULL.into(),
                kind: EntryType::Standard,
                username: Some("admin:{{SessionName}}".into()),
                kubernetes_groups: vec!["auditors".into()],
                path_verified: true,
            },
            Action::AssociateAccessPolicy {
                principal_arn: SSO_FULL.into(),
                policy_arn: ADMIN_POLICY.into(),
                access_scope: AccessScope::cluster(),
                path_verified: true,
            },
            Action::CreateAccessEntry {
                principal_arn: "arn:aws:iam::111122223333:role/Nodes".into(),
                kind: EntryType::Ec2Linux,
                username: None,
                kubernetes_groups: vec![],
                path_verified: true,
            },
        ]
    );
    // The same entries already there (EKS fills a username into node entries).
    let mut node = standard(
        "arn:aws:iam::111122223333:role/Nodes",
        "system:node:{{EC2PrivateDNSName}}",
        &[],
        vec![],
    );
    node.kind = EntryType::Ec2Linux;
    let have = cluster(vec![
        standard(
            SSO_FULL,
            "admin:{{SessionName}}",
            &["auditors"],
            vec![admin(AccessScope::cluster())],
        ),
        node,
    ]);
    let p = migrate::plan(&d, &have, &r, &PlanOptions::default());
    assert!(p.is_final(), "{p:#?}");
    assert_eq!(p.unchanged.len(), 3);
    // The entry without its policy: only the association is planned.
    let have = cluster(vec![standard(
        SSO_FULL,
        "admin:{{SessionName}}",
        &["auditors"],
        vec![],
    )]);
    let p = migrate::plan(&d, &have, &r, &PlanOptions::default());
    assert!(
        matches!(&p.actions[0], Action::AssociateAccessPolicy { principal_arn, .. } if principal_arn == SSO_FULL)
    );
    assert!(p.conflicts.is_empty());
}

#[test]
fn differences_are_conflicts_unless_asked_to_update() {
    let d = doc(ROLES, "");
    let r = resolved(&[
        (SSO_MAP, SSO_FULL),
        (
            "arn:aws:iam::111122223333:role/Nodes",
            "arn:aws:iam::111122223333:role/Nodes",
        ),
    ]);
    let namespaced = AccessScope::namespaces(["dev"]);
    let have = cluster(vec![standard(
        SSO_FULL,
        "someone-else",
        &["auditors", "extra"],
        vec![
            admin(namespaced),
            PolicyAssociation::new(
                "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
                AccessScope::cluster(),
            ),
        ],
    )]);
    let p = migrate::plan(&d, &have, &r, &PlanOptions::default());
    assert_eq!(p.conflicts.len(), 1);
    insta::assert_yaml_snapshot!("conflict-differences", p.conflicts[0].differences);
    assert!(p.actions.iter().all(|a| a.principal_arn() != SSO_FULL));
    let p = migrate::plan(&d, &have, &r, &PlanOptions::new().update_existing(true));
    assert!(p.conflicts.is_empty());
    let fixes: Vec<String> = p
        .actions
        .iter()
        .filter(|a| a.principal_arn() == SSO_FULL)
        .map(ToString::to_string)
        .collect();
    insta::assert_yaml_snapshot!("update-existing-fixes", fixes);
    // A type cannot change, even when asked.
    let mut wrong = standard("arn:aws:iam::111122223333:role/Nodes", "x", &[], vec![]);
    wrong.kind = EntryType::Standard;
    let p = migrate::plan(
        &d,
        &cluster(vec![wrong]),
        &r,
        &PlanOptions::new().update_existing(true),
    );
    assert_eq!(p.conflicts.len(), 1);
    assert!(p.conflicts[0].differences[0].contains("is STANDARD, the map makes it EC2_LINUX"));
}

#[test]
fn unresolved_and_cross_account_roles_are_blocked_not_fatal() {
    let roles = "\
- rolearn: arn:aws:iam::111122223333:role/Gone
  username: gone
- rolearn: arn:aws:iam::444455556666:role/Nodes
  username: system:node:{{EC2PrivateDNSName}}
  groups: [system:bootstrappers, system:nodes]
- rolearn: arn:aws:iam::444455556666:role/Partner
  username: partner
- rolearn: arn:aws:iam::111122223333:role/Ok
  username: ok
";
    let mut r = Resolutions::default();
    r.insert(
        "arn:aws:iam::111122223333:role/Gone",
        Resolution::Failed("IAM has no role Gone".into()),
    );
    r.insert(
        "arn:aws:iam::444455556666:role/Nodes",
        Resolution::Resolved("arn:aws:iam::444455556666:role/Nodes".into()),
    );
    r.insert(
        "arn:aws:iam::111122223333:role/Ok",
        Resolution::Resolved("arn:aws:iam::111122223333:role/Ok".into()),
    );
    let p = migrate::plan(
        &doc(roles, ""),
        &cluster(vec![]),
        &r,
        &PlanOptions::default(),
    );
    let blocked: Vec<(&str, &str)> = p
        .blocked
        .iter()
        .map(|b| (b.arn.as_str(), b.reason.as_str()))
        .collect();
    assert_eq!(blocked.len(), 3, "{blocked:#?}");
    assert!(blocked[0].1.contains("IAM has no role Gone"));
    assert!(
        blocked[1]
            .1
            .contains("must be roles of the cluster's account 111122223333")
    );
    // Not looked up at all (the caller never resolves another account's role
    // in its own): blocked, not guessed.
    assert!(blocked[2].1.contains("its IAM path was not looked up"));
    assert_eq!(p.actions.len(), 1);
}

#[test]
fn the_reader_decides_which_mapping_counts() {
    let roles = "\
- rolearn: arn:aws:iam::111122223333:role/Shared
  username: system:node:{{EC2PrivateDNSName}}
  groups: [system:bootstrappers, system:nodes]
- rolearn: arn:aws:iam::111122223333:role/shared
  username: dev
  groups: [developers]
- rolearn: arn:aws:iam::111122223333:user/both
  username: from-roles
";
    let users = "\
- userarn: arn:aws:iam::111122223333:user/both
  username: from-users
- userarn: arn:aws:iam::111122223333:user/alice
  username: old
- userarn: arn:aws:iam::111122223333:user/alice
  username: alice
";
    let p = migrate::plan(
        &doc(roles, users),
        &cluster(vec![]),
        &Resolutions::offline(),
        &PlanOptions::default(),
    );
    let created: Vec<String> = p.actions.iter().map(ToString::to_string).collect();
    insta::assert_yaml_snapshot!("last-wins-roles-first", (created, &p.ignored));
}

#[test]
fn account_mappings_and_unreadable_keys_block() {
    let d = Document::from_data([
        ("mapAccounts", "- \"012345678901\"\n"),
        (
            "mapRoles",
            "- rolearn: arn:aws:iam::111122223333:role/A\n  username: {{SessionName}}\n",
        ),
    ]);
    let p = migrate::plan(
        &d,
        &cluster(vec![]),
        &Resolutions::offline(),
        &PlanOptions::default(),
    );
    insta::assert_yaml_snapshot!("accounts-and-unreadable", &p.blocked);
    assert!(!p.is_final());
    assert!(p.is_converged());
}

#[test]
fn offline_plans_mark_role_actions_unverified_in_json() {
    let d = doc(
        ROLES,
        "- userarn: arn:aws:iam::111122223333:user/alice\n  username: alice\n",
    );
    let p = migrate::plan(
        &d,
        &ClusterState::empty("prod", Some(AuthenticationMode::ConfigMap)),
        &Resolutions::offline(),
        &PlanOptions::default(),
    );
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["authenticationMode"], "CONFIG_MAP");
    assert_eq!(json["actions"][0]["op"], "create-access-entry");
    assert_eq!(json["actions"][0]["pathVerified"], false);
    assert_eq!(json["actions"][1]["op"], "associate-access-policy");
    assert_eq!(
        json["actions"][1]["accessScope"],
        serde_json::json!({"type": "cluster"})
    );
    // A user ARN is the principal as written: nothing to verify.
    let user = json["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["principalArn"] == "arn:aws:iam::111122223333:user/alice")
        .unwrap();
    assert!(user.get("pathVerified").is_none(), "{user}");
}

/// Issue 21.1: a user ARN with an IAM path is the user's ARN: the migrator
/// creates the entry for it as written, guards protect it as written, and
/// `explain` finds it.
#[test]
fn a_user_with_a_path_is_taken_as_written_everywhere() {
    let jane = "arn:aws:iam::111122223333:user/ops/jane";
    let d = doc(
        "",
        &format!("- userarn: {jane}\n  username: jane\n  groups: [ops, system:masters]\n"),
    );
    let cluster = ClusterState::empty("c", Some(AuthenticationMode::ApiAndConfigMap));
    let plan = migrate::plan(
        &d,
        &cluster,
        &Resolutions::offline(),
        &PlanOptions::default(),
    );
    assert!(
        plan.actions.iter().any(|a| matches!(a,
            Action::CreateAccessEntry { principal_arn, .. } if principal_arn == jane)),
        "{plan:?}"
    );
    assert!(plan.blocked.is_empty(), "{:?}", plan.blocked);
    // The guards: the last admin, and a protection, by the ARN as written.
    let empty = Document::from_data([("mapUsers", "[]\n")]);
    let tripped = aws_auth_core::guard::check(&d, empty.view(), &[jane.parse().unwrap()]);
    let kinds: Vec<_> = tripped.iter().map(|g| g.kind).collect();
    assert!(
        kinds.contains(&aws_auth_core::guard::GuardKind::Protected)
            && kinds.contains(&aws_auth_core::guard::GuardKind::LastAdmin),
        "{tripped:?}"
    );
    let e = d.explain(jane).unwrap();
    assert_eq!(e.username.as_deref(), Some("jane"), "{e:?}");
}
