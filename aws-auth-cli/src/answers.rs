//! The answers of `explain` and `audit`: what the library decided from
//! what [`crate::who`] gathered, as data with its text.

use std::fmt::Write as _;

use aws_auth_core::audit::{Audit, Severity};
use aws_auth_core::entries::AuthenticationMode;
use aws_auth_core::explain::{Explanation, LoginContext};
use aws_auth_core::login::{Login, Source};
use serde::Serialize;

use crate::exit::{INVALID, LINT_ERRORS, LINT_WARNINGS, NO_MAPPING, OK, fail};
use crate::report::{Report, Text};
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
}
