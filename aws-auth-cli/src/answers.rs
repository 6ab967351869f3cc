//! The answers of `explain` and `audit`: what the library decided from
//! what [`crate::who`] gathered, as data with its text.

use std::fmt::Write as _;

use aws_auth_core::audit::{Audit, Severity};
use aws_auth_core::entries::{AuthenticationMode, ClusterState, Plan, PlanOptions, Resolutions};
use aws_auth_core::explain::{Explanation, LoginContext};
use aws_auth_core::login::{Login, Source};
use aws_auth_core::status::{Readiness, Status};
use serde::Serialize;

use crate::exit::{INVALID, LINT_ERRORS, LINT_WARNINGS, NO_MAPPING, OK, fail};
use crate::report::{Report, Rows, Text};
use crate::who::Gathered;

/// `explain`: what the login gets, and how the map reads the principal.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Explained {
    #[serde(flatten)]
    login: Login,
    /// The mode the answer rests on (`null`: not read).
    authentication_mode: Option<AuthenticationMode>,
    /// The map's reading of the principal, when the map was read.
    map: Option<Explanation>,
}

/// `explain ARN`.
pub(crate) fn explain(g: &Gathered, arn: &str, context: &LoginContext) -> anyhow::Result<Report> {
    let invalid = |e: aws_auth_core::arn::ArnError| fail(INVALID, e.to_string());
    let login = aws_auth_core::login::login_with(arn, &g.sources(), context).map_err(invalid)?;
    let map = match &g.map {
        Some(doc) => Some(doc.explain_with(arn, context).map_err(invalid)?),
        None => None,
    };
    // Refused at login: exit 1, for scripts.
    let code = if login.username.is_none() {
        NO_MAPPING
    } else {
        OK
    };
    let mut report = Report::new(Explained {
        login,
        authentication_mode: g.mode,
        map,
    })
    .with_code(code);
    report.prepend_notes(g.notes.iter().map(|n| format!("aws-auth: {n}")));
    Ok(report)
}

impl Text for Explained {
    fn text(&self) -> String {
        let l = &self.login;
        let mut s = String::new();
        let _ = writeln!(s, "principal: {}", l.principal);
        if let Some(e) = &self.map {
            map_lines(&mut s, e);
        }
        // Unread, the library's note says what the answer assumed.
        let mode = self
            .authentication_mode
            .map_or_else(String::new, |m| format!(" (authentication mode {m})"));
        let source = match (l.source, &l.entry) {
            (Source::AccessEntry, Some(p)) => format!("access entry {p}"),
            (Source::ConfigMap, _) => "the aws-auth map".to_owned(),
            _ => "none: the login is refused".to_owned(),
        };
        let _ = writeln!(s, "source: {source}{mode}");
        if let Some(user) = &l.username {
            let _ = writeln!(s, "username: {user}");
            let groups = if l.groups.is_empty() {
                "(none)".to_owned()
            } else {
                l.groups.join(", ")
            };
            let _ = writeln!(s, "groups: {groups}");
        }
        for p in &l.access_policies {
            let scope = if p.namespaces.is_empty() {
                "cluster".to_owned()
            } else {
                format!("namespaces {}", p.namespaces.join(", "))
            };
            let _ = writeln!(s, "access policy: {} ({scope})", p.policy);
        }
        match &l.bindings {
            Some(b) if b.is_empty() && l.username.is_some() => {
                let _ = writeln!(s, "bindings: none");
            }
            Some(b) => {
                for b in b {
                    let at = b
                        .namespace
                        .as_ref()
                        .map_or_else(String::new, |ns| format!("{ns}/"));
                    let _ = writeln!(
                        s,
                        "binding: {:?} {at}{} -> {} ({})",
                        b.kind, b.name, b.role, b.subject
                    );
                }
            }
            None if l.username.is_some() => {
                let _ = writeln!(s, "bindings: unknown");
            }
            None => {}
        }
        if l.username.is_some() {
            if l.cluster_admin {
                let _ = writeln!(s, "cluster-admin: yes, by {}", l.admin_routes.join("; "));
            } else if l.bindings.is_none() {
                let _ = writeln!(
                    s,
                    "cluster-admin: not by system:masters or an access policy; RBAC unknown"
                );
            } else {
                let _ = writeln!(s, "cluster-admin: no");
            }
        }
        for n in &l.notes {
            let _ = writeln!(s, "note: {n}");
        }
        s
    }
}

/// The map's part: which mapping the reader picks, and why not another.
fn map_lines(s: &mut String, e: &Explanation) {
    if e.canonical != e.principal {
        let _ = writeln!(s, "compared as: {}", e.canonical);
    }
    match &e.matched {
        None => {
            let _ = writeln!(
                s,
                "mapping: none (no role, user or account of the map matches)"
            );
        }
        Some(m) => {
            let _ = writeln!(
                s,
                "mapping: {} {} (line {})",
                m.key, m.principal, m.position.line
            );
            for p in &m.ignored {
                let _ = writeln!(
                    s,
                    "ignored: an earlier mapping of the same principal (line {})",
                    p.line
                );
            }
            for a in &e.ambiguous {
                let _ = writeln!(
                    s,
                    "or: {} {} (line {}), which differs only in case",
                    a.key, a.principal, a.position.line
                );
            }
        }
    }
}

/// `audit`: the findings, placed.
#[derive(Serialize)]
struct Audited {
    #[serde(flatten)]
    audit: Audit,
    /// Where the map's findings are (`NAME:line:column`).
    #[serde(skip)]
    name: String,
    /// The map is a manifest file: its positions are the file's, not a data
    /// key's.
    #[serde(skip)]
    manifest: bool,
}

/// `audit`: exit 1 with errors, 2 with warnings under `--strict`.
pub(crate) fn audit(g: &Gathered, name: &str, manifest: bool, strict: bool) -> Report {
    let audit = aws_auth_core::audit::audit(&g.sources());
    let sum = &audit.summary;
    let code = if sum.errors > 0 {
        LINT_ERRORS
    } else if strict && sum.warnings > 0 {
        LINT_WARNINGS
    } else {
        OK
    };
    let summary = format!(
        "{name}: {} error(s), {} warning(s), {} info; cluster-admin: {}",
        sum.errors,
        sum.warnings,
        sum.infos,
        if sum.admins.is_empty() {
            "nobody".to_owned()
        } else {
            sum.admins.join(", ")
        }
    );
    let mut report = Report::new(Audited {
        audit,
        name: name.to_owned(),
        manifest,
    })
    .with_code(code)
    .aside(summary);
    report.prepend_notes(g.notes.iter().map(|n| format!("aws-auth: {n}")));
    report
}

impl Text for Audited {
    fn text(&self) -> String {
        let mut s = String::new();
        let mut last = None;
        for f in &self.audit.findings {
            if last != Some(f.severity) && last.is_some() {
                s.push('\n');
            }
            last = Some(f.severity);
            let at = match (f.key, f.position) {
                (Some(key), Some(p)) if !self.manifest => {
                    format!(" ({}:data.{key}:{}:{})", self.name, p.line, p.column)
                }
                (_, Some(p)) => format!(" ({}:{}:{})", self.name, p.line, p.column),
                _ => String::new(),
            };
            let who = f
                .principal
                .as_ref()
                .map_or_else(String::new, |p| format!(" {p}"));
            let _ = writeln!(s, "{}[{}]{who}{at}: {}", f.severity, f.code, f.message);
            if f.severity != Severity::Info || f.code != aws_auth_core::audit::Code::Admins {
                let _ = writeln!(s, "  fix: {}", f.fix);
            }
        }
        s
    }

    fn rows(&self) -> Option<Rows> {
        let rows = self
            .audit
            .findings
            .iter()
            .map(|f| {
                vec![
                    f.severity.to_string(),
                    f.code.to_string(),
                    f.principal.clone().unwrap_or_default(),
                    f.message.clone(),
                ]
            })
            .collect();
        Some(Rows {
            headers: vec!["SEVERITY", "CODE", "PRINCIPAL", "MESSAGE"],
            rows,
        })
    }
}

/// `status`: one cluster at a glance.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Glance {
    /// The EKS cluster, when one was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster: Option<String>,
    #[serde(flatten)]
    status: Status,
    /// What to run next.
    next: &'static str,
}

/// What moves a cluster at `readiness` on.
fn next_step(readiness: Readiness) -> &'static str {
    match readiness {
        Readiness::NotStarted => {
            "aws-auth migrate plan, then aws-auth migrate apply --enable-api-mode"
        }
        Readiness::Blocked => "aws-auth migrate plan (says what cannot move, and why)",
        Readiness::Drift => "aws-auth migrate apply (aws-auth migrate verify lists the drift)",
        Readiness::Ready => "aws-auth migrate finalize (switches to API)",
        Readiness::Done => "nothing: access entries only",
        _ => "read the notes: the mode or the entries could not be read",
    }
}

/// `status`: the library's status of what was gathered, with the migration
/// planned against the same reading (IAM's answers resolve the role paths;
/// `role_map` is the cluster's kept `--role-arn-map`). Exit 1 with audit
/// errors, 2 with warnings under `--strict`.
pub(crate) fn status(
    g: &Gathered,
    name: &str,
    role_map: &std::collections::BTreeMap<String, String>,
    strict: bool,
) -> Report {
    let sources = g.sources();
    let plan = plan_of(g, name, role_map);
    let audit = aws_auth_core::audit::audit(&sources);
    let status = aws_auth_core::status::status_with(&sources, &audit, plan.as_ref());
    let code = if status.audit_errors > 0 {
        LINT_ERRORS
    } else if strict && status.audit_warnings > 0 {
        LINT_WARNINGS
    } else {
        OK
    };
    let next = next_step(status.readiness);
    let mut report = Report::new(Glance {
        cluster: g.cluster.clone(),
        status,
        next,
    })
    .with_code(code);
    report.prepend_notes(g.notes.iter().map(|n| format!("aws-auth: {n}")));
    report
}

/// The migration plan of what was gathered: against the entries read (none
/// in `CONFIG_MAP`), role paths from IAM's answers (as written, unverified,
/// when IAM was not asked); `None` when the mode or the entries are unknown.
fn plan_of(
    g: &Gathered,
    name: &str,
    role_map: &std::collections::BTreeMap<String, String>,
) -> Option<Plan> {
    let mode = g.mode?;
    if mode.has_access_entries() && g.entries.is_none() {
        return None;
    }
    let Some(doc) = &g.map else {
        return Some(Plan::empty(name, Some(mode)));
    };
    let mut state = ClusterState::empty(name, Some(mode));
    state.account.clone_from(&g.cluster_account);
    state.entries = g.entries.clone().unwrap_or_default();
    let resolutions = match (&g.iam, &g.caller_account) {
        (Some(iam), Some(account)) => {
            aws_auth_core::migrate::resolutions_from_iam(doc, iam, role_map, account)
        }
        _ => Resolutions::offline(),
    };
    Some(aws_auth_core::migrate::plan(
        doc,
        &state,
        &resolutions,
        &PlanOptions::new(),
    ))
}

impl Text for Glance {
    fn text(&self) -> String {
        let st = &self.status;
        let mut s = String::new();
        let mode = st
            .authentication_mode
            .map_or_else(|| "unknown".to_owned(), |m| m.to_string());
        match &self.cluster {
            Some(c) => {
                let _ = writeln!(s, "cluster: {c} (authentication mode {mode})");
            }
            None => {
                let _ = writeln!(s, "authentication mode: {mode}");
            }
        }
        match &st.map {
            Some(m) => {
                let _ = writeln!(
                    s,
                    "map: {} mapping(s) ({} role(s), {} user(s), {} account(s)); lint: {} error(s), {} warning(s)",
                    m.mappings, m.roles, m.users, m.accounts, m.errors, m.warnings
                );
            }
            None => {
                let _ = writeln!(s, "map: none");
            }
        }
        let entries = st
            .entries
            .map_or_else(|| "not read".to_owned(), |n| n.to_string());
        let _ = writeln!(s, "access entries: {entries}");
        let _ = writeln!(
            s,
            "audit: {} error(s), {} warning(s); cluster-admin: {} principal(s)",
            st.audit_errors, st.audit_warnings, st.admins
        );
        let counts = match (st.blocked, st.drift) {
            (Some(b), Some(d)) => format!(" ({b} blocked, {d} to move or fix)"),
            _ => String::new(),
        };
        let _ = writeln!(s, "migration: {}{counts}", st.readiness);
        let _ = writeln!(s, "next: {}", self.next);
        s
    }

    fn rows(&self) -> Option<Rows> {
        let st = &self.status;
        let count = |n: Option<usize>| n.map_or_else(|| "-".to_owned(), |n| n.to_string());
        let (lint, mappings) = match &st.map {
            Some(m) => (
                format!("{}/{}", m.errors, m.warnings),
                m.mappings.to_string(),
            ),
            None => ("-".to_owned(), "no map".to_owned()),
        };
        Some(Rows {
            headers: vec![
                "MODE",
                "LINT E/W",
                "MAPPINGS",
                "ENTRIES",
                "AUDIT E/W",
                "ADMINS",
                "MIGRATION",
                "BLOCKED",
                "DRIFT",
            ],
            rows: vec![vec![
                st.authentication_mode
                    .map_or_else(|| "unknown".to_owned(), |m| m.to_string()),
                lint,
                mappings,
                count(st.entries),
                format!("{}/{}", st.audit_errors, st.audit_warnings),
                st.admins.to_string(),
                st.readiness.to_string(),
                count(st.blocked),
                count(st.drift),
            ]],
        })
    }
}
