//! Planning the move from aws-auth to EKS access entries. Pure: the caller
//! reads the map, the cluster's access entries and the IAM paths of the roles;
//! [`plan`] says what to create, what is already there, what differs and what
//! cannot move.
//!
//! Each mapping the authenticator honours (the last of duplicates) becomes one
//! access entry, translated as in the EKS user guide: node roles become
//! `EC2_LINUX` (`EC2_WINDOWS` with `eks:kube-proxy-windows`), Fargate pod
//! execution roles `FARGATE_LINUX`, hybrid node roles `HYBRID_LINUX`, and
//! everything else `STANDARD` with its username and groups; `system:masters`
//! becomes the `AmazonEKSClusterAdminPolicy` association, the other groups are
//! kept. What has no access-entry form (other `system:` groups, forbidden
//! usernames and templates, `sso` entries, `mapAccounts`, service-linked roles,
//! wildcards, session ARNs, roles whose IAM path is unknown) is blocked with
//! the reason, never guessed.
//!
//! ```
//! use aws_auth_core::Document;
//! use aws_auth_core::migrate;
//! use aws_auth_core::entries::{AuthenticationMode, ClusterState, PlanOptions, Resolutions};
//!
//! let doc = Document::from_data([(
//!     "mapRoles",
//!     "- rolearn: arn:aws:iam::111122223333:role/Admin\n  username: admin:{{SessionName}}\n  groups: [system:masters, viewers]\n",
//! )]);
//! let cluster = ClusterState::empty("prod", Some(AuthenticationMode::ApiAndConfigMap));
//! let plan = migrate::plan(&doc, &cluster, &Resolutions::offline(), &PlanOptions::default());
//! assert_eq!(plan.actions.len(), 2); // the entry (groups: viewers) and the admin policy
//! assert!(plan.blocked.is_empty());
//! ```

pub(crate) mod translate;

use std::collections::BTreeMap;

use crate::arn::Arn;
use crate::entries::{
    BlockedCode, ClusterState, Plan, PlanOptions, Resolution, Resolutions, compare,
};
use crate::login::{IamPrincipal, iam_key};
use crate::{DataKey, Document};

/// The role ARNs whose IAM paths a plan needs, as the map writes them (the
/// last of duplicates, migratable mappings only), in map order.
pub fn roles_to_resolve(doc: &Document) -> Vec<Arn> {
    translate::translate(doc)
        .desired
        .iter()
        .filter_map(|d| {
            let arn: Arn = d.map_arn.parse().ok()?;
            (arn.kind() == crate::arn::PrincipalKind::Role).then_some(arn)
        })
        .collect()
}

/// Why a mapping of `arn` to `username` and `groups` would have no access-entry
/// form (and so block the move to access entries), if it would not: the rule
/// [`plan`] applies, for a tool to warn before such a mapping is written.
///
/// ```
/// use aws_auth_core::migrate::{blocks_migration};
/// use aws_auth_core::entries::{BlockedCode};
///
/// let (code, _) = blocks_migration("arn:aws:iam::111122223333:role/Dev", "{{SessionName}}", &[]).unwrap();
/// assert_eq!(code, BlockedCode::TemplateWithoutColon);
/// assert!(blocks_migration("arn:aws:iam::111122223333:role/Dev", "dev:{{SessionName}}", &["devs".into()]).is_none());
/// ```
pub fn blocks_migration(
    arn: &str,
    username: &str,
    groups: &[String],
) -> Option<(BlockedCode, String)> {
    let groups: Vec<crate::Text> = groups.iter().map(crate::Text::from).collect();
    translate::mapping(arn, username, &groups).err()
}

/// The user ARNs a plan should check IAM for (a mapped user that does not
/// exist cannot get an access entry), as the map writes them, in map order.
pub fn users_to_check(doc: &Document) -> Vec<Arn> {
    translate::translate(doc)
        .desired
        .iter()
        .filter_map(|d| {
            let arn: Arn = d.map_arn.parse().ok()?;
            (arn.kind() == crate::arn::PrincipalKind::User).then_some(arn)
        })
        .collect()
}

/// The principals whose access entries a plan of `doc` looks at: every
/// mapping that can move, its role path resolved, in map order and once each.
/// Read these entries from the cluster (`DescribeAccessEntry` and
/// `ListAssociatedAccessPolicies`) to build the [`ClusterState`] for [`plan`];
/// `account` is the cluster's, which node entries must belong to.
///
/// ```
/// use aws_auth_core::Document;
/// use aws_auth_core::migrate::{principals};
/// use aws_auth_core::entries::{Resolutions};
///
/// let doc = Document::from_data([("mapUsers", "- userarn: arn:aws:iam::111122223333:user/alice\n  username: alice\n")]);
/// assert_eq!(principals(&doc, &Resolutions::offline(), None), ["arn:aws:iam::111122223333:user/alice"]);
/// ```
pub fn principals(doc: &Document, resolutions: &Resolutions, account: Option<&str>) -> Vec<String> {
    let mut empty = ClusterState::empty("", None);
    empty.account = account.map(str::to_owned);
    let mut out: Vec<String> = Vec::new();
    for action in plan(doc, &empty, resolutions, &PlanOptions::new()).actions {
        let p = action.principal_arn();
        if !out.iter().any(|o| o == p) {
            out.push(p.to_owned());
        }
    }
    out
}

/// How `--role-arn-map` files key a role: account and name, lower case.
pub fn role_key(arn: &Arn) -> String {
    format!("{}:{}", arn.account(), arn.name()).to_lowercase()
}

/// A role of another account than the credentials': IAM cannot say its path.
pub(crate) fn foreign_role(role: &Arn, caller_account: &str) -> Resolution {
    Resolution::Failed(format!(
        "the role is in account {}, not the account of these credentials ({caller_account}); give its full ARN with --role-arn-map",
        role.account()
    ))
}

/// What IAM's answer for a mapped role means for its plan.
pub(crate) fn role_resolution(role: &Arn, fact: &IamPrincipal) -> Resolution {
    match fact {
        IamPrincipal::Exists { arn, .. } => Resolution::Resolved(arn.clone()),
        IamPrincipal::Missing => Resolution::Failed(format!(
            "IAM has no role named {} in account {}",
            role.name(),
            role.account()
        )),
        IamPrincipal::Unverifiable { reason } => Resolution::Failed(reason.clone()),
    }
}

/// What IAM's answer for a mapped user means for its plan: a user that does
/// not exist, or exists under another ARN (another path), cannot move.
pub(crate) fn user_resolution(user: &Arn, fact: &IamPrincipal) -> Resolution {
    match fact {
        IamPrincipal::Exists { arn, .. } if *arn == user.to_string() => {
            Resolution::Resolved(arn.clone())
        }
        IamPrincipal::Exists { arn, .. } => Resolution::Failed(format!(
            "IAM's user of that name is {arn}: the mapped ARN never matched it (a user's ARN carries its path), and an access entry needs the real one"
        )),
        IamPrincipal::Missing => Resolution::Failed(format!(
            "IAM has no user named {} in account {}: an access entry needs a principal that exists",
            user.name(),
            user.account()
        )),
        IamPrincipal::Unverifiable { reason } => Resolution::Failed(reason.clone()),
    }
}

/// The resolutions a plan of `doc` needs, from what IAM already said of its
/// principals (by [`iam_key`], as [`Sources::iam`](crate::login::Sources::iam)
/// holds it) and the full ARNs of `role_map` (by [`role_key`]), IAM asked
/// with credentials of `caller_account`: the same answers as asking IAM
/// again. A principal IAM was not asked about stays unresolved, never
/// guessed.
///
/// ```
/// use std::collections::BTreeMap;
/// use aws_auth_core::Document;
/// use aws_auth_core::entries::Resolution;
/// use aws_auth_core::login::{IamPrincipal, iam_key};
/// use aws_auth_core::migrate::resolutions_from_iam;
///
/// let doc = Document::from_data([("mapRoles", "- rolearn: arn:aws:iam::111122223333:role/Dev\n  username: dev\n")]);
/// let role = "arn:aws:iam::111122223333:role/Dev".parse()?;
/// let iam = BTreeMap::from([(iam_key(&role), IamPrincipal::Exists {
///     arn: "arn:aws:iam::111122223333:role/teams/Dev".into(), created_at: None })]);
/// let r = resolutions_from_iam(&doc, &iam, &BTreeMap::new(), "111122223333");
/// assert_eq!(r.get("arn:aws:iam::111122223333:role/Dev"),
///            Resolution::Resolved("arn:aws:iam::111122223333:role/teams/Dev".into()));
/// # Ok::<(), aws_auth_core::arn::ArnError>(())
/// ```
pub fn resolutions_from_iam(
    doc: &Document,
    iam: &BTreeMap<String, IamPrincipal>,
    role_map: &BTreeMap<String, String>,
    caller_account: &str,
) -> Resolutions {
    let mut out = Resolutions::default();
    for role in roles_to_resolve(doc) {
        if let Some(full) = role_map.get(&role_key(&role)) {
            out.insert(&role.to_string(), Resolution::Resolved(full.clone()));
        } else if role.account() != caller_account {
            out.insert(&role.to_string(), foreign_role(&role, caller_account));
        } else if let Some(fact) = iam.get(&iam_key(&role)) {
            out.insert(&role.to_string(), role_resolution(&role, fact));
        }
    }
    // Users of other accounts are not looked up (see `Eks::check_users`).
    for user in users_to_check(doc) {
        if user.account() != caller_account {
            continue;
        }
        if let Some(fact) = iam.get(&iam_key(&user)) {
            out.insert(&user.to_string(), user_resolution(&user, fact));
        }
    }
    out
}

/// Plans the migration of `doc`'s mappings to `cluster`.
pub fn plan(
    doc: &Document,
    cluster: &ClusterState,
    resolutions: &Resolutions,
    options: &PlanOptions,
) -> Plan {
    let t = translate::translate(doc);
    let mut plan = Plan {
        cluster: cluster.name.clone(),
        authentication_mode: cluster.mode,
        actions: Vec::new(),
        unchanged: Vec::new(),
        conflicts: Vec::new(),
        blocked: t.blocked,
        ignored: t.ignored,
        unread: Vec::new(),
    };
    compare::compare(
        &mut plan,
        t.desired,
        cluster,
        resolutions,
        options,
        "the map",
    );
    // In map order, whichever step found them.
    let order = |key: DataKey| DataKey::ALL.iter().position(|k| *k == key);
    plan.blocked.sort_by_key(|b| (order(b.key), b.line));
    plan.ignored.sort_by_key(|i| (order(i.key), i.line));
    plan
}
