//! Who can get into a cluster, as whom, with what rights, and what of it is
//! stale: one pass over the map, the access entries, IAM and RBAC
//! ([`Sources`]), each finding with a stable code, a severity, the
//! principal, a sentence and the fix.
//!
//! ```
//! use aws_auth_core::Document;
//! use aws_auth_core::audit::{audit, Code};
//! use aws_auth_core::login::Sources;
//!
//! let map = Document::from_data([(
//!     "mapRoles",
//!     "- rolearn: arn:aws:iam::111122223333:role/Admin\n  username: admin\n  groups: [system:masters]\n",
//! )]);
//! let report = audit(&Sources::new().map(&map));
//! assert!(report.findings.iter().any(|f| f.code == Code::SingleAdmin));
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use crate::arn::Arn;
use crate::entries::AuthenticationMode;
use crate::lint::Severity as LintSeverity;
use crate::login::{IamPrincipal, Login, Sources, login};
use crate::model::DataKey;
use crate::position::Position;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Severity {
    /// Access is wrong now: someone gets in who should not, or nobody can.
    Error,
    /// Access is not what it looks like.
    Warning,
    /// Worth knowing.
    Info,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        })
    }
}

/// What a finding is about; stable, for scripts and suppressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Code {
    /// A mapped or entered principal IAM does not have.
    PrincipalMissing,
    /// An access entry older than its principal: it grants nothing.
    PrincipalRecreated,
    /// A group granted that no binding names: it grants nothing.
    GroupUnbound,
    /// A binding to a group nothing grants.
    BindingOrphaned,
    /// A mapping no login uses.
    MappingShadowed,
    /// Nobody is cluster-admin.
    NoAdmin,
    /// One principal alone is cluster-admin.
    SingleAdmin,
    /// Who is cluster-admin, and by which route.
    Admins,
    /// A principal IAM could not be asked about (another account), or IAM
    /// was not consulted at all.
    Unverifiable,
    /// A finding of `aws-auth lint` on the map.
    Lint(crate::lint::Code),
}

impl Code {
    /// The audit's own codes (the map's lint codes come on top).
    pub const OWN: [Code; 9] = [
        Code::PrincipalMissing,
        Code::PrincipalRecreated,
        Code::GroupUnbound,
        Code::BindingOrphaned,
        Code::MappingShadowed,
        Code::NoAdmin,
        Code::SingleAdmin,
        Code::Admins,
        Code::Unverifiable,
    ];

    /// The code as written in reports.
    pub fn as_str(&self) -> &'static str {
        match self {
            Code::PrincipalMissing => "principal-missing",
            Code::PrincipalRecreated => "principal-recreated",
            Code::GroupUnbound => "group-unbound",
            Code::BindingOrphaned => "binding-orphaned",
            Code::MappingShadowed => "mapping-shadowed",
            Code::NoAdmin => "no-admin",
            Code::SingleAdmin => "single-admin",
            Code::Admins => "admins",
            Code::Unverifiable => "unverifiable",
            Code::Lint(c) => c.as_str(),
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Finding {
    /// Stable identifier.
    pub code: Code,
    /// How bad.
    pub severity: Severity,
    /// The principal (or group, for the group findings) concerned.
    pub principal: Option<String>,
    /// What is wrong and what it does.
    pub message: String,
    /// What to do.
    pub fix: String,
    /// The map's data key, for a finding placed in the map.
    #[serde(serialize_with = "key_name")]
    pub key: Option<DataKey>,
    /// Where in the map.
    pub position: Option<Position>,
}

fn key_name<S: serde::Serializer>(key: &Option<DataKey>, s: S) -> Result<S::Ok, S::Error> {
    match key {
        Some(k) => s.serialize_str(k.as_str()),
        None => s.serialize_none(),
    }
}

/// Counts, and who is cluster-admin.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Summary {
    /// The mode the audit assumed.
    pub authentication_mode: Option<AuthenticationMode>,
    /// Principals looked at (the map's honoured mappings and the entries).
    pub principals: usize,
    /// Findings by severity.
    pub errors: usize,
    /// Findings by severity.
    pub warnings: usize,
    /// Findings by severity.
    pub infos: usize,
    /// The principals that are cluster-admin.
    pub admins: Vec<String>,
}

/// What [`audit`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Audit {
    /// Errors first, then warnings, then infos.
    pub findings: Vec<Finding>,
    /// The counts.
    pub summary: Summary,
}

struct Findings(Vec<Finding>);

impl Findings {
    fn push(
        &mut self,
        code: Code,
        severity: Severity,
        principal: Option<&str>,
        message: String,
        fix: impl Into<String>,
    ) -> &mut Finding {
        self.0.push(Finding {
            code,
            severity,
            principal: principal.map(str::to_owned),
            message,
            fix: fix.into(),
            key: None,
            position: None,
        });
        self.0.last_mut().expect("just pushed")
    }
}

/// A principal the audit looks at: where it is named, and the login it gets.
struct Named {
    arn: String,
    /// The map's mapping (key, index) when the map names it.
    mapping: Option<(DataKey, usize)>,
    /// The ARN as the map writes it.
    mapped: Option<String>,
    /// The entry's principal when an entry names it.
    entry: Option<String>,
}

/// Audits `sources`: see the [module](self).
pub fn audit(sources: &Sources<'_>) -> Audit {
    let (mode, assumed) = sources.assumed_mode();
    let mut out = Findings(Vec::new());
    if let Some(note) = assumed {
        out.push(
            Code::Unverifiable,
            Severity::Info,
            None,
            note,
            "audit the cluster itself, or say its mode with --authentication-mode",
        );
    }
    let named = principals(sources, mode);
    let logins: Vec<(usize, Login)> = named
        .iter()
        .enumerate()
        .filter_map(|(i, n)| login(&n.arn, sources).ok().map(|l| (i, l)))
        .collect();
    lint_findings(sources, &mut out);
    iam_findings(sources, &named, &mut out);
    shadowed(sources, &mut out);
    groups(sources, &logins, &mut out);
    let admins = admins(&named, &logins, &mut out);
    let mut findings = out.0;
    findings.sort_by_key(|f| f.severity);
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let summary = Summary {
        authentication_mode: Some(mode),
        principals: named.len(),
        errors: count(Severity::Error),
        warnings: count(Severity::Warning),
        infos: count(Severity::Info),
        admins,
    };
    Audit { findings, summary }
}

/// The principals named by the map's honoured mappings and by the entries,
/// once each (a role by account and name).
fn principals(sources: &Sources<'_>, mode: AuthenticationMode) -> Vec<Named> {
    let mut named: Vec<Named> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut add = |arn: &str, mapping: Option<(DataKey, usize)>, entry: Option<String>| {
        let key = arn
            .parse::<Arn>()
            .map(|a| crate::login::iam_key(&a))
            .unwrap_or_else(|_| arn.to_ascii_lowercase());
        match index.get(&key) {
            Some(&i) => {
                let n: &mut Named = &mut named[i];
                if mapping.is_some() && n.mapping.is_none() {
                    n.mapping = mapping;
                    n.mapped = Some(arn.to_owned());
                }
                n.entry = n.entry.take().or(entry);
            }
            None => {
                index.insert(key, named.len());
                named.push(Named {
                    arn: arn.to_owned(),
                    mapped: mapping.map(|_| arn.to_owned()),
                    mapping,
                    entry,
                });
            }
        }
    };
    if let Some(entries) = sources.entries.filter(|_| mode.has_access_entries()) {
        for e in entries.values() {
            add(&e.principal_arn, None, Some(e.principal_arn.clone()));
        }
    }
    if let Some(map) = sources.map {
        let effective = map.effective();
        for m in effective.mappings() {
            add(m.arn, Some((m.key, m.index)), None);
        }
    }
    named
}

fn lint_findings(sources: &Sources<'_>, out: &mut Findings) {
    let Some(map) = sources.map else { return };
    for d in crate::lint::lint(map) {
        let severity = match d.severity {
            LintSeverity::Error => Severity::Error,
            _ => Severity::Warning,
        };
        let f = out.push(
            Code::Lint(d.code),
            severity,
            None,
            d.message.clone(),
            "see `aws-auth lint`",
        );
        f.key = d.key;
        f.position = Some(d.position);
    }
}

fn iam_findings(sources: &Sources<'_>, named: &[Named], out: &mut Findings) {
    let Some(iam) = sources.iam else {
        out.push(
            Code::Unverifiable,
            Severity::Info,
            None,
            "IAM was not consulted: principals that no longer exist, and entries older than their principal, are not found".to_owned(),
            "run the audit with AWS credentials for the cluster's account",
        );
        return;
    };
    for n in named {
        let Ok(arn) = n.arn.parse::<Arn>() else {
            continue;
        };
        let place = |f: &mut Finding| {
            if let (Some((key, index)), Some(map)) = (n.mapping, sources.map) {
                f.key = Some(key);
                f.position = Some(map.entry_position(key, index));
            }
        };
        match iam.get(&crate::login::iam_key(&arn)) {
            Some(IamPrincipal::Missing) => {
                let (kind, name, account) = (
                    if arn.kind() == crate::arn::PrincipalKind::User {
                        "user"
                    } else {
                        "role"
                    },
                    arn.name(),
                    arn.account(),
                );
                let (message, fix) = if n.mapping.is_some() {
                    (
                        format!(
                            "IAM has no {kind} named {name} in account {account}, yet the map grants it access: whoever creates a {kind} of that name gets it"
                        ),
                        "remove the mapping (aws-auth remove), or create the principal on purpose",
                    )
                } else {
                    (
                        format!(
                            "IAM has no {kind} named {name} in account {account}: its access entry grants nothing, and a {kind} created with that name does not get it"
                        ),
                        "delete the access entry (aws-auth access remove)",
                    )
                };
                place(out.push(
                    Code::PrincipalMissing,
                    Severity::Error,
                    Some(&n.arn),
                    message,
                    fix,
                ));
            }
            Some(IamPrincipal::Exists { arn: real, .. })
                if arn.kind() == crate::arn::PrincipalKind::User
                    && n.mapping.is_some()
                    && !real.eq_ignore_ascii_case(&n.arn) =>
            {
                place(out.push(
                    Code::PrincipalMissing,
                    Severity::Error,
                    Some(&n.arn),
                    format!("IAM's user of that name is {real}: the mapped ARN never matches it (a user's ARN carries its path), and a user created with the mapped path would get the access"),
                    format!("map {real} instead"),
                ));
            }
            Some(IamPrincipal::Exists {
                created_at: Some(made),
                ..
            }) => {
                let entry = n
                    .entry
                    .as_ref()
                    .and_then(|e| sources.entries.and_then(|all| all.get(e)));
                if let Some(entered) = entry.and_then(|e| e.created_at)
                    && *made > entered
                {
                    out.push(
                        Code::PrincipalRecreated,
                        Severity::Error,
                        Some(&n.arn),
                        "the access entry was created before the principal IAM has now: it is bound to the one deleted before, and grants nothing (EKS shows nothing wrong)".to_owned(),
                        "delete the access entry and create it again (aws-auth access remove, then access add)",
                    );
                }
            }
            Some(IamPrincipal::Unverifiable { reason }) => {
                out.push(
                    Code::Unverifiable,
                    Severity::Info,
                    Some(&n.arn),
                    format!("not checked in IAM: {reason}"),
                    "audit with credentials of its account to check it",
                );
            }
            _ => {}
        }
    }
}

fn shadowed(sources: &Sources<'_>, out: &mut Findings) {
    let Some(map) = sources.map else { return };
    for sh in crate::login::shadowed(sources) {
        let why = match &sh.by {
            crate::login::Unused::ApiMode => {
                "the cluster is in authentication mode API, which never reads the map".to_owned()
            }
            crate::login::Unused::AccessEntry(entry) => {
                format!("the access entry of {entry} wins over the map in API_AND_CONFIG_MAP")
            }
        };
        let f = out.push(
            Code::MappingShadowed,
            Severity::Warning,
            Some(&sh.arn),
            format!("no login uses this mapping: {why}"),
            "remove the mapping, or make the access entry grant what the mapping did",
        );
        f.key = Some(sh.key);
        f.position = Some(map.entry_position(sh.key, sh.index));
    }
}

fn groups(sources: &Sources<'_>, logins: &[(usize, Login)], out: &mut Findings) {
    let Some(rbac) = sources.rbac else {
        out.push(
            Code::Unverifiable,
            Severity::Info,
            None,
            "RBAC was not read: groups nothing binds, and bindings to groups nothing grants, are not found".to_owned(),
            "give the RBAC manifests with --rbac, or audit the cluster",
        );
        return;
    };
    // Group -> the principals granting it.
    let mut granted: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (_, l) in logins {
        for g in &l.groups {
            granted
                .entry(g.as_str())
                .or_default()
                .insert(l.principal.as_str());
        }
    }
    let bound: BTreeSet<&str> = rbac.bound_groups().map(|(g, _)| g).collect();
    for (group, by) in &granted {
        if group.starts_with("system:") || bound.contains(group) {
            continue;
        }
        out.push(
            Code::GroupUnbound,
            Severity::Warning,
            Some(group),
            format!(
                "no RoleBinding or ClusterRoleBinding names the group {group}, so it grants nothing to {}",
                by.iter().copied().collect::<Vec<_>>().join(", ")
            ),
            format!("bind {group} to a role (kubectl create rolebinding ... --group {group}), or stop granting it"),
        );
    }
    if sources.map.is_none() && sources.entries.is_none() {
        return;
    }
    let mut seen = BTreeSet::new();
    for (group, binding) in rbac.bound_groups() {
        if group.starts_with("system:") || granted.contains_key(group) {
            continue;
        }
        if !seen.insert((group, &binding.name, &binding.namespace)) {
            continue;
        }
        let place = match &binding.namespace {
            Some(ns) => format!("the RoleBinding {ns}/{}", binding.name),
            None => format!("the ClusterRoleBinding {}", binding.name),
        };
        out.push(
            Code::BindingOrphaned,
            Severity::Info,
            Some(group),
            format!("{place} binds the group {group} to {}, but no mapping or access entry grants that group", binding.role_name()),
            "delete the binding, or grant the group to those it is meant for",
        );
    }
}

/// The cluster-admins, with the findings that list them.
fn admins(named: &[Named], logins: &[(usize, Login)], out: &mut Findings) -> Vec<String> {
    let admins: Vec<&Login> = logins
        .iter()
        .map(|(_, l)| l)
        .filter(|l| l.cluster_admin)
        .collect();
    let list: Vec<String> = admins
        .iter()
        .map(|l| format!("{} ({})", l.principal, l.admin_routes.join("; ")))
        .collect();
    match admins.len() {
        0 => {
            out.push(
                Code::NoAdmin,
                Severity::Error,
                None,
                format!(
                    "none of the {} principals is cluster-admin by any route (system:masters, AmazonEKSClusterAdminPolicy at cluster scope, a ClusterRoleBinding to cluster-admin)",
                    named.len()
                ),
                "grant cluster-admin to a break-glass principal before anything else goes wrong",
            );
        }
        1 => {
            out.push(
                Code::SingleAdmin,
                Severity::Warning,
                Some(&admins[0].principal),
                format!("only {} is cluster-admin: losing it locks everyone out of administering the cluster", list[0]),
                "grant cluster-admin to a second, break-glass principal",
            );
        }
        _ => {}
    }
    if !admins.is_empty() {
        out.push(
            Code::Admins,
            Severity::Info,
            None,
            format!("cluster-admin: {}", list.join(", ")),
            "check that each of them should be",
        );
    }
    admins.iter().map(|l| l.principal.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Document;
    use crate::entries::{AccessScope, EntryType, ExistingEntry, PolicyAssociation};
    use crate::rbac::{Binding, BindingKind, Rbac, RoleKind, RoleRef, SubjectKind};

    const ADMIN_POLICY: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";

    fn codes(a: &Audit) -> Vec<(&'static str, Option<&str>)> {
        a.findings
            .iter()
            .map(|f| (f.code.as_str(), f.principal.as_deref()))
            .collect()
    }

    /// Every finding of issue 22, from one cluster.
    #[test]
    fn each_finding_from_one_cluster() {
        let map = Document::from_data([(
            "mapRoles",
            "- rolearn: arn:aws:iam::111122223333:role/Gone\n  username: gone\n  groups: [system:masters]\n\
             - rolearn: arn:aws:iam::111122223333:role/Dev\n  username: dev\n  groups: [developers]\n\
             - rolearn: arn:aws:iam::111122223333:role/Ops\n  username: ops\n  groups: [ops]\n\
             - rolearn: arn:aws:iam::444455556666:role/Partner\n  username: partner\n  groups: [partners]\n",
        )]);
        let entries: BTreeMap<String, ExistingEntry> = [
            ExistingEntry::new(
                "arn:aws:iam::111122223333:role/teams/Ops",
                EntryType::Standard,
            )
            .with_groups(["ops"])
            .with_created_at(1_700_000_000),
            ExistingEntry::new("arn:aws:iam::111122223333:role/Admin", EntryType::Standard)
                .with_policy(PolicyAssociation::new(ADMIN_POLICY, AccessScope::cluster()))
                .with_created_at(1_700_000_000),
        ]
        .into_iter()
        .map(|e| (e.principal_arn.clone(), e))
        .collect();
        let key = |a: &str| crate::login::iam_key(&a.parse().unwrap());
        let exists = |arn: &str, at: i64| IamPrincipal::Exists {
            arn: arn.into(),
            created_at: Some(at),
        };
        let iam = BTreeMap::from([
            (
                key("arn:aws:iam::111122223333:role/Gone"),
                IamPrincipal::Missing,
            ),
            (
                key("arn:aws:iam::111122223333:role/Dev"),
                exists("arn:aws:iam::111122223333:role/Dev", 1),
            ),
            (
                key("arn:aws:iam::111122223333:role/Ops"),
                exists("arn:aws:iam::111122223333:role/teams/Ops", 1),
            ),
            (
                key("arn:aws:iam::111122223333:role/Admin"),
                exists("arn:aws:iam::111122223333:role/Admin", 1_800_000_000),
            ),
            (
                key("arn:aws:iam::444455556666:role/Partner"),
                IamPrincipal::Unverifiable {
                    reason: "another account".into(),
                },
            ),
        ]);
        let mut rbac = Rbac::new();
        let crb = |name: &str, role: &str, group: &str| {
            Binding::new(
                BindingKind::ClusterRoleBinding,
                name,
                None,
                RoleRef {
                    kind: RoleKind::ClusterRole,
                    name: role.into(),
                },
            )
            .subject(SubjectKind::Group, group)
        };
        rbac.bindings = vec![
            crb("ops", "edit", "ops"),
            crb("auditors", "view", "auditors"),
        ];
        let sources = Sources::new()
            .map(&map)
            .mode(AuthenticationMode::ApiAndConfigMap)
            .entries(&entries)
            .rbac(&rbac)
            .iam(&iam);
        let a = audit(&sources);
        let found = codes(&a);
        for expected in [
            (
                "principal-missing",
                Some("arn:aws:iam::111122223333:role/Gone"),
            ),
            (
                "principal-recreated",
                Some("arn:aws:iam::111122223333:role/Admin"),
            ),
            ("group-unbound", Some("developers")),
            ("group-unbound", Some("partners")),
            ("binding-orphaned", Some("auditors")),
            (
                "mapping-shadowed",
                Some("arn:aws:iam::111122223333:role/Ops"),
            ),
            ("single-admin", Some("arn:aws:iam::111122223333:role/Gone")),
            ("admins", None),
            (
                "unverifiable",
                Some("arn:aws:iam::444455556666:role/Partner"),
            ),
        ] {
            assert!(found.contains(&expected), "{expected:?} not in {found:#?}");
        }
        // The recreated admin's entry grants nothing: only the missing role
        // (through the map) is admin.
        assert_eq!(a.summary.admins, ["arn:aws:iam::111122223333:role/Gone"]);
        assert_eq!(a.summary.principals, 5);
        // Placed in the map where the map names it.
        let missing = a
            .findings
            .iter()
            .find(|f| f.code == Code::PrincipalMissing)
            .unwrap();
        assert_eq!(missing.position.map(|p| p.line), Some(1));
        assert!(
            missing
                .message
                .contains("whoever creates a role of that name"),
            "{}",
            missing.message
        );
        // Errors first.
        assert!(
            a.findings
                .windows(2)
                .all(|w| w[0].severity <= w[1].severity)
        );
        assert_eq!(a.summary.errors, 2);
    }

    #[test]
    fn api_mode_shadows_every_mapping_and_no_admin_is_an_error() {
        let map = Document::from_data([(
            "mapRoles",
            "- rolearn: arn:aws:iam::111122223333:role/Admin\n  username: admin\n  groups: [system:masters]\n",
        )]);
        let entries = BTreeMap::new();
        let a = audit(
            &Sources::new()
                .map(&map)
                .mode(AuthenticationMode::Api)
                .entries(&entries),
        );
        let found = codes(&a);
        assert!(
            found.contains(&(
                "mapping-shadowed",
                Some("arn:aws:iam::111122223333:role/Admin")
            )),
            "{found:?}"
        );
        assert!(found.contains(&("no-admin", None)), "{found:?}");
        // Offline: IAM and RBAC not consulted, and said so.
        assert_eq!(
            a.findings
                .iter()
                .filter(|f| f.code == Code::Unverifiable && f.principal.is_none())
                .count(),
            2
        );
    }

    #[test]
    fn the_maps_lint_findings_come_with_their_codes() {
        let map = Document::from_data([(
            "mapRoles",
            "- rolearn: arn:aws:iam::111122223333:role/A\n  username: a\n  groups: [system:masters]\n\t- x\n",
        )]);
        let a = audit(&Sources::new().map(&map));
        assert!(
            a.findings
                .iter()
                .any(|f| matches!(f.code, Code::Lint(_)) && f.severity == Severity::Error),
            "{:#?}",
            a.findings
        );
    }
}
