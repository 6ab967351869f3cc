//! One mapping to one access entry, or the reason it cannot be one.

use crate::arn::{Arn, PrincipalKind};
use crate::effective::Standing;
use crate::entries::rules::{entry_username, service_linked};
use crate::entries::{
    AccessScope, Blocked, BlockedCode as Code, Desired, EntryType, Ignored, PolicyAssociation,
    cluster_admin_policy,
};
use crate::model::KeyState;
use crate::text::Text;
use crate::{DataKey, Document};

pub(super) struct Translation {
    pub(super) desired: Vec<Desired>,
    pub(super) blocked: Vec<Blocked>,
    pub(super) ignored: Vec<Ignored>,
}

const NODE_GROUPS: [&str; 2] = ["system:bootstrappers", "system:nodes"];
const WINDOWS_GROUP: &str = "eks:kube-proxy-windows";
const FARGATE_GROUP: &str = "system:node-proxier";

pub(super) fn translate(doc: &Document) -> Translation {
    let view = doc.view();
    let mut t = Translation {
        desired: Vec::new(),
        blocked: Vec::new(),
        ignored: Vec::new(),
    };
    let line = |key: DataKey, offset: usize| doc.position(key, offset).line;
    for key in DataKey::ALL {
        if let KeyState::Unreadable { message, offset } = view.state(key) {
            t.blocked.push(Blocked {
                key,
                arn: String::new(),
                line: line(key, *offset),
                code: Code::KeyUnreadable,
                reason: format!(
                    "{key} cannot be read ({message}): the authenticator ignores all of it, so nothing in it is in effect to migrate; fix it first (aws-auth lint)"
                ),
            });
        }
    }
    for d in &view.roles.dropped {
        t.ignored.push(Ignored {
            key: DataKey::MapRoles,
            arn: String::new(),
            line: line(DataKey::MapRoles, d.span.start),
            reason: format!("the authenticator drops this entry: {}", d.reason),
        });
    }
    for d in &view.users.dropped {
        t.ignored.push(Ignored {
            key: DataKey::MapUsers,
            arn: String::new(),
            line: line(DataKey::MapUsers, d.span.start),
            reason: format!("the authenticator drops this entry: {}", d.reason),
        });
    }

    // Which entries the authenticator uses: the effective reading
    // (docs/reader.md §4).
    let effective = doc.effective();
    for (i, e) in view.roles.entries.iter().enumerate() {
        let r = &e.value;
        let at = line(DataKey::MapRoles, e.span.start);
        if let Some(sso) = &r.sso {
            t.blocked.push(Blocked {
                key: DataKey::MapRoles,
                arn: format!("sso:{}/{}", sso.account_id, sso.permission_set_name),
                line: at,
                code: Code::SsoEntry,
                reason: "an sso entry matches permission-set roles by name, which access entries cannot; and EKS does not enable the SSORoleMatch feature it needs, so it grants nothing today: map each AWSReservedSSO_ role by ARN instead".to_owned(),
            });
            continue;
        }
        if let Some(Standing::Replaced { by }) = effective.standing(DataKey::MapRoles, i) {
            t.ignored.push(Ignored {
                key: DataKey::MapRoles,
                arn: r.rolearn.to_string(),
                line: at,
                reason: format!(
                    "mapped again at line {}; the authenticator uses the last mapping",
                    line(DataKey::MapRoles, view.roles.entries[*by].span.start)
                ),
            });
            continue;
        }
        t.add(DataKey::MapRoles, &r.rolearn, at, &r.username, &r.groups);
    }
    for (i, e) in view.users.entries.iter().enumerate() {
        let u = &e.value;
        let at = line(DataKey::MapUsers, e.span.start);
        if let Some(r) = effective.role_winner(&u.userarn) {
            t.ignored.push(Ignored {
                key: DataKey::MapUsers,
                arn: u.userarn.to_string(),
                line: at,
                reason: format!(
                    "also mapped under mapRoles (line {}), which the authenticator looks up first",
                    line(DataKey::MapRoles, view.roles.entries[r].span.start)
                ),
            });
            continue;
        }
        if let Some(Standing::Replaced { by }) = effective.standing(DataKey::MapUsers, i) {
            t.ignored.push(Ignored {
                key: DataKey::MapUsers,
                arn: u.userarn.to_string(),
                line: at,
                reason: format!(
                    "mapped again at line {}; the authenticator uses the last mapping",
                    line(DataKey::MapUsers, view.users.entries[*by].span.start)
                ),
            });
            continue;
        }
        t.add(DataKey::MapUsers, &u.userarn, at, &u.username, &u.groups);
    }
    for e in &view.accounts.entries {
        t.blocked.push(Blocked {
            key: DataKey::MapAccounts,
            arn: e.value.clone(),
            line: line(DataKey::MapAccounts, e.span.start),
            code: Code::MapAccounts,
            reason: "mapAccounts has no access-entry form: each principal of the account that needs access must get its own entry".to_owned(),
        });
    }
    t
}

pub(super) type Entry = (
    EntryType,
    Option<String>,
    Vec<String>,
    Vec<PolicyAssociation>,
);

impl Translation {
    /// One mapping the authenticator honours: desired, or blocked with why.
    fn add(&mut self, key: DataKey, arn: &str, line: usize, username: &str, groups: &[Text]) {
        match mapping(arn, username, groups) {
            Ok((kind, username, kubernetes_groups, policies)) => self.desired.push(Desired {
                key,
                map_arn: arn.to_owned(),
                line,
                kind,
                username,
                kubernetes_groups,
                policies,
            }),
            Err((code, reason)) => self.blocked.push(Blocked {
                key,
                arn: arn.to_owned(),
                line,
                code,
                reason,
            }),
        }
    }
}

/// The access entry for one mapping, or why there is none.
pub(super) fn mapping(
    arn_text: &str,
    username: &str,
    groups: &[Text],
) -> Result<Entry, (Code, String)> {
    if arn_text.contains(['*', '?']) {
        return Err((Code::WildcardArn, "a wildcard ARN: the authenticator compares it literally (it never matched anyone) and access entries take one principal".to_owned()));
    }
    let arn: Arn = arn_text.parse().map_err(|e| {
        (
            Code::InvalidArn,
            format!("not an IAM principal ARN ({e}); it never matched anyone"),
        )
    })?;
    match arn.kind() {
        PrincipalKind::Role | PrincipalKind::User => {}
        PrincipalKind::AssumedRole => {
            return Err((
                Code::SessionArn,
                format!(
                    "an sts assumed-role ARN never matches in aws-auth and is refused by access entries; map the role {} instead",
                    arn.canonical()
                ),
            ));
        }
        other => {
            return Err((
                Code::NotUserOrRole,
                format!("a {} ARN is not an IAM user or role", other.as_str()),
            ));
        }
    }
    service_linked(&arn)?;
    if arn.kind() == PrincipalKind::Role && arn.has_path() {
        return Err((
            Code::RoleArnWithPath,
            format!(
                "the rolearn has the IAM path {}: callers arrive without it, so the authenticator never matched this mapping, and migrating it would grant access it never gave (drop the path in aws-auth first if it is meant)",
                arn.path()
            ),
        ));
    }
    let is_role = arn.kind() == PrincipalKind::Role;
    let has = |g: &str| groups.iter().any(|x| x == g);
    let node_type = match username {
        "system:node:{{EC2PrivateDNSName}}" => Some(if has(WINDOWS_GROUP) {
            EntryType::Ec2Windows
        } else {
            EntryType::Ec2Linux
        }),
        "system:node:{{SessionName}}" if has(FARGATE_GROUP) => Some(EntryType::FargateLinux),
        "system:node:{{SessionName}}" => Some(EntryType::HybridLinux),
        _ => None,
    };
    if let Some(kind) = node_type {
        if !is_role {
            return Err((
                Code::NodeMappingOnUser,
                format!("a node mapping ({username}) on an IAM user: {kind} entries are for roles"),
            ));
        }
        let mut expected: Vec<&str> = NODE_GROUPS.to_vec();
        match kind {
            EntryType::Ec2Windows => expected.push(WINDOWS_GROUP),
            EntryType::FargateLinux => expected.push(FARGATE_GROUP),
            _ => {}
        }
        let missing: Vec<&str> = expected.iter().copied().filter(|g| !has(g)).collect();
        if !missing.is_empty() {
            return Err((
                Code::NodeGroupsIncomplete,
                format!(
                    "a node mapping without {}: a {kind} entry would grant what this mapping does not; fix the groups first",
                    missing.join(" and ")
                ),
            ));
        }
        let extra: Vec<&str> = groups
            .iter()
            .map(Text::as_str)
            .filter(|g| !expected.contains(g))
            .collect();
        if !extra.is_empty() {
            return Err((
                Code::NodeExtraGroups,
                format!(
                    "a node mapping with the extra groups {}: {kind} entries carry no groups, so those would be lost",
                    extra.join(", ")
                ),
            ));
        }
        return Ok((kind, None, Vec::new(), Vec::new()));
    }

    // STANDARD.
    if username.is_empty() {
        return Err((Code::NoUsername, "no username: EKS would make one up for the entry, which is not what this mapping does; give it a username first".to_owned()));
    }
    entry_username(username, is_role)?;
    let mut kubernetes_groups: Vec<String> = Vec::new();
    let mut policies = Vec::new();
    let mut system = Vec::new();
    for g in groups {
        if g == "system:masters" {
            if policies.is_empty() {
                policies.push(PolicyAssociation {
                    policy_arn: cluster_admin_policy(arn.partition()),
                    access_scope: AccessScope::cluster(),
                });
            }
        } else if g.starts_with("system:") {
            system.push(g.as_str());
        } else if g.is_empty() {
            return Err((Code::EmptyGroup, "an empty group name".to_owned()));
        } else if !crate::template::placeholders(g).is_empty() {
            return Err((
                Code::GroupTemplate,
                format!("the group {g:?} holds a template, which access entries do not fill"),
            ));
        } else if !kubernetes_groups.iter().any(|k| k == g) {
            kubernetes_groups.push(g.to_string());
        }
    }
    if !system.is_empty() {
        return Err((
            Code::SystemGroup,
            format!(
                "the groups {} start with system:, which access entries refuse (only system:masters has a replacement, the cluster-admin access policy)",
                system.join(", ")
            ),
        ));
    }
    Ok((
        EntryType::Standard,
        Some(username.to_owned()),
        kubernetes_groups,
        policies,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(g: &[&str]) -> Vec<Text> {
        g.iter().map(|s| Text::from(*s)).collect()
    }

    const ROLE: &str = "arn:aws:iam::111122223333:role/R";
    const USER: &str = "arn:aws:iam::111122223333:user/u";

    fn kind(arn: &str, user: &str, g: &[&str]) -> Result<EntryType, String> {
        mapping(arn, user, &groups(g)).map(|e| e.0).map_err(|e| e.1)
    }

    #[test]
    fn node_roles_become_node_entries_without_username_or_groups() {
        let linux = mapping(
            ROLE,
            "system:node:{{EC2PrivateDNSName}}",
            &groups(&["system:bootstrappers", "system:nodes"]),
        )
        .unwrap();
        assert_eq!(linux, (EntryType::Ec2Linux, None, vec![], vec![]));
        assert_eq!(
            kind(
                ROLE,
                "system:node:{{EC2PrivateDNSName}}",
                &[
                    "system:bootstrappers",
                    "system:nodes",
                    "eks:kube-proxy-windows"
                ]
            ),
            Ok(EntryType::Ec2Windows)
        );
        assert_eq!(
            kind(
                ROLE,
                "system:node:{{SessionName}}",
                &[
                    "system:bootstrappers",
                    "system:nodes",
                    "system:node-proxier"
                ]
            ),
            Ok(EntryType::FargateLinux)
        );
        assert_eq!(
            kind(
                ROLE,
                "system:node:{{SessionName}}",
                &["system:bootstrappers", "system:nodes"]
            ),
            Ok(EntryType::HybridLinux)
        );
    }

    #[test]
    fn node_mappings_that_would_change_meaning_are_blocked() {
        let e = kind(ROLE, "system:node:{{EC2PrivateDNSName}}", &["system:nodes"]).unwrap_err();
        assert!(e.contains("without system:bootstrappers"), "{e}");
        let e = kind(
            ROLE,
            "system:node:{{EC2PrivateDNSName}}",
            &["system:bootstrappers", "system:nodes", "ops"],
        )
        .unwrap_err();
        assert!(e.contains("extra groups ops"), "{e}");
        let e = kind(
            USER,
            "system:node:{{EC2PrivateDNSName}}",
            &["system:bootstrappers", "system:nodes"],
        )
        .unwrap_err();
        assert!(e.contains("on an IAM user"), "{e}");
        // The folded list item: one group "system:bootstrappers - system:nodes".
        let e = kind(
            ROLE,
            "system:node:{{EC2PrivateDNSName}}",
            &["system:bootstrappers - system:nodes"],
        )
        .unwrap_err();
        assert!(
            e.contains("without system:bootstrappers and system:nodes"),
            "{e}"
        );
    }

    #[test]
    fn masters_becomes_the_admin_policy_and_the_other_groups_stay() {
        let (k, user, g, p) = mapping(
            "arn:aws-cn:iam::111122223333:role/Admin",
            "admin:{{SessionName}}",
            &groups(&["viewers", "system:masters", "ops", "viewers"]),
        )
        .unwrap();
        assert_eq!(k, EntryType::Standard);
        assert_eq!(user.as_deref(), Some("admin:{{SessionName}}"));
        assert_eq!(g, groups(&["viewers", "ops"]));
        assert_eq!(
            p,
            vec![PolicyAssociation {
                policy_arn: "arn:aws-cn:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
                    .into(),
                access_scope: AccessScope::cluster(),
            }]
        );
    }

    #[test]
    fn what_access_entries_refuse_is_blocked_with_the_reason() {
        let cases: &[(&str, &str, &[&str], &str)] = &[
            (ROLE, "x", &["system:authenticated"], "start with system:"),
            (ROLE, "system:admin", &[], "starts with system:"),
            (ROLE, "eks:thing", &[], "starts with eks:"),
            (ROLE, "aws:x", &[], "starts with aws:"),
            (ROLE, "amazon:x", &[], "starts with amazon:"),
            (ROLE, "iam:x", &[], "starts with iam:"),
            (ROLE, "dev-{{SessionName}}", &[], "without a `:` before it"),
            (ROLE, "dev:{{AccountID}}", &[], "uses {{AccountID}}"),
            (ROLE, "dev:{{AccessKeyID}}", &[], "uses {{AccessKeyID}}"),
            (
                ROLE,
                "dev:{{EC2PrivateDNSName}}",
                &[],
                "uses {{EC2PrivateDNSName}}",
            ),
            (ROLE, "dev:{{sessionname}}", &[], "uses {{sessionname}}"),
            (USER, "u:{{SessionName}}", &[], "only role sessions fill"),
            (ROLE, "", &["dev"], "no username"),
            (ROLE, "x", &["team-{{SessionName}}"], "holds a template"),
            (
                "arn:aws:iam::111122223333:role/teams/*",
                "x",
                &[],
                "wildcard",
            ),
            (
                "arn:aws:sts::111122223333:assumed-role/R/s",
                "x",
                &[],
                "map the role arn:aws:iam::111122223333:role/R",
            ),
            (
                "arn:aws:iam::111122223333:role/aws-service-role/eks.amazonaws.com/AWSServiceRoleForAmazonEKS",
                "x",
                &[],
                "service-linked",
            ),
            (
                "arn:aws:iam::111122223333:role/AWSServiceRoleForAmazonEMRContainers",
                "emr-containers",
                &[],
                "service-linked",
            ),
            (
                "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123",
                "x",
                &[],
                "IAM path /aws-reserved/sso.amazonaws.com/",
            ),
            (
                "arn:aws:iam::111122223333:root",
                "x",
                &[],
                "not an IAM user or role",
            ),
            ("<ARN of the role>", "x", &[], "not an IAM principal ARN"),
        ];
        for (arn, user, g, needle) in cases {
            let e = kind(arn, user, g).unwrap_err();
            assert!(e.contains(needle), "{arn} {user} {g:?}: {e}");
        }
        // Accepted: the two session templates after a colon, plain names.
        for user in [
            "dev:{{SessionName}}",
            "dev:{{SessionNameRaw}}",
            "plain",
            "emr-containers",
        ] {
            assert_eq!(
                kind(ROLE, user, &["dev"]),
                Ok(EntryType::Standard),
                "{user}"
            );
        }
        assert_eq!(kind(USER, "alice", &[]), Ok(EntryType::Standard));
    }
}
