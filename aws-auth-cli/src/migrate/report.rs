//! What the migrate commands (and the access commands that carry a plan
//! out) return: plans, outcomes and drift as data, with their text.

use std::fmt::Write as _;

use aws_auth_core::eks::{ClusterInfo, Outcome, Status};
use aws_auth_core::entries::{Action, Drift, Plan};
use serde::Serialize;

use crate::exit::OK;
use crate::output;
use crate::report::{Report, Rows, Text};

/// Exit code when the cluster is not (or not yet) what the map stands for.
const DRIFT: u8 = 1;

fn mode(plan: &Plan) -> String {
    plan.authentication_mode
        .map_or_else(|| "unknown (offline)".to_owned(), |m| m.to_string())
}

fn blocked_lines(plan: &Plan, s: &mut String) {
    for b in &plan.blocked {
        let what = if b.arn.is_empty() {
            b.key.to_string()
        } else {
            format!("{} {}", b.key, b.arn)
        };
        let _ = writeln!(
            s,
            "  {what} (line {}): {}\n    fix: {}",
            b.line,
            b.reason,
            b.code.fix()
        );
    }
}

fn unread_lines(plan: &Plan, s: &mut String) {
    if plan.unread.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "could not read their access entries, nothing planned for them ({}; run again):",
        plan.unread.len()
    );
    for u in &plan.unread {
        let _ = writeln!(s, "  {}: {}", u.principal_arn, u.reason);
    }
}

/// A plan, not carried out.
struct Planned(Plan);

impl Serialize for Planned {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl Text for Planned {
    fn text(&self) -> String {
        plan_text(&self.0)
    }
}

/// `migrate plan`, and a dry run of what carries a plan out.
pub(crate) fn plan(plan: Plan) -> Report {
    Report::new(Planned(plan))
}

fn plan_text(plan: &Plan) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "cluster {} (authentication mode {})",
        plan.cluster,
        mode(plan)
    );
    if plan.actions.is_empty() {
        let _ = writeln!(s, "nothing to create");
    } else {
        let _ = writeln!(s, "to do ({}):", plan.actions.len());
        for a in &plan.actions {
            let unverified = match a {
                Action::CreateAccessEntry {
                    path_verified: false,
                    ..
                }
                | Action::AssociateAccessPolicy {
                    path_verified: false,
                    ..
                } => " [role path not verified: apply looks it up]",
                _ => "",
            };
            let _ = writeln!(s, "  {a}{unverified}");
        }
    }
    if !plan.unchanged.is_empty() {
        let _ = writeln!(s, "already there ({}):", plan.unchanged.len());
        for u in &plan.unchanged {
            let _ = writeln!(s, "  {}: {}", u.principal_arn, u.detail);
        }
    }
    if !plan.conflicts.is_empty() {
        let _ = writeln!(
            s,
            "conflicts, left alone ({}; --update-existing makes them match):",
            plan.conflicts.len()
        );
        for c in &plan.conflicts {
            let _ = writeln!(s, "  {}: {}", c.principal_arn, c.differences.join("; "));
        }
    }
    unread_lines(plan, &mut s);
    if !plan.blocked.is_empty() {
        let _ = writeln!(
            s,
            "cannot migrate ({}; they block the switch to API):",
            plan.blocked.len()
        );
        blocked_lines(plan, &mut s);
    }
    if !plan.ignored.is_empty() {
        let _ = writeln!(
            s,
            "not in effect today, nothing to migrate ({}):",
            plan.ignored.len()
        );
        for i in &plan.ignored {
            let what = if i.arn.is_empty() {
                "an entry".to_owned()
            } else {
                i.arn.clone()
            };
            let _ = writeln!(s, "  {} {what} (line {}): {}", i.key, i.line, i.reason);
        }
    }
    s
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    done: usize,
    already_present: usize,
    conflicts: usize,
    failed: usize,
    skipped: usize,
    blocked: usize,
    unread: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApplyOutput<'a> {
    cluster: &'a str,
    authentication_mode: String,
    notes: &'a [String],
    results: &'a [Outcome],
    unchanged: &'a [aws_auth_core::entries::Unchanged],
    conflicts: &'a [aws_auth_core::entries::Conflict],
    blocked: &'a [aws_auth_core::entries::Blocked],
    unread: &'a [aws_auth_core::entries::Unread],
    summary: Summary,
}

/// A plan carried out: each action's outcome.
struct Applied {
    plan: Plan,
    mode: String,
    notes: Vec<String>,
    outcomes: Vec<Outcome>,
}

impl Applied {
    fn summary(&self) -> Summary {
        let (plan, outcomes) = (&self.plan, &self.outcomes);
        let count = |f: fn(&Status) -> bool| outcomes.iter().filter(|o| f(&o.status)).count();
        Summary {
            done: count(|s| *s == Status::Done),
            already_present: count(|s| *s == Status::AlreadyPresent),
            conflicts: count(|s| matches!(s, Status::Conflict(_))) + plan.conflicts.len(),
            failed: count(|s| matches!(s, Status::Failed(_))),
            skipped: count(|s| matches!(s, Status::Skipped(_))),
            blocked: plan.blocked.len(),
            unread: plan.unread.len(),
        }
    }
}

impl Serialize for Applied {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let plan = &self.plan;
        ApplyOutput {
            cluster: &plan.cluster,
            authentication_mode: self.mode.clone(),
            notes: &self.notes,
            results: &self.outcomes,
            unchanged: &plan.unchanged,
            conflicts: &plan.conflicts,
            blocked: &plan.blocked,
            unread: &plan.unread,
            summary: self.summary(),
        }
        .serialize(s)
    }
}

/// What carrying `plan` out did: `outcomes`, with `notes` (a mode switch)
/// first; exit 1 when the cluster is not yet what the plan wanted.
pub(crate) fn apply(
    plan: Plan,
    info: &ClusterInfo,
    outcomes: Vec<Outcome>,
    notes: Vec<String>,
) -> Report {
    let applied = Applied {
        plan,
        mode: info.mode.to_string(),
        notes,
        outcomes,
    };
    let summary = applied.summary();
    let code = if summary.conflicts + summary.failed + summary.skipped + summary.unread > 0 {
        DRIFT
    } else {
        OK
    };
    Report::new(applied).with_code(code)
}

impl Text for Applied {
    fn text(&self) -> String {
        apply_text(self)
    }
}

fn apply_text(a: &Applied) -> String {
    let (plan, outcomes, notes) = (&a.plan, &a.outcomes, &a.notes);
    let summary = a.summary();
    let mut s = String::new();
    for n in notes {
        let _ = writeln!(s, "{n}");
    }
    let rows: Vec<Vec<String>> = outcomes
        .iter()
        .map(|o| {
            let (status, detail) = match &o.status {
                Status::Done => ("done", None),
                Status::AlreadyPresent => ("already there", None),
                Status::Conflict(d) => ("CONFLICT", Some(d)),
                Status::Failed(d) => ("FAILED", Some(d)),
                Status::Skipped(d) => ("skipped", Some(d)),
                _ => ("?", None),
            };
            let action = match detail {
                Some(d) => format!("{}: {d}", o.action),
                None => o.action.to_string(),
            };
            vec![status.to_owned(), action]
        })
        .collect();
    if !rows.is_empty() {
        s.push_str(&output::table(&["RESULT", "ACTION"], &rows));
    }
    for c in &plan.conflicts {
        let _ = writeln!(
            s,
            "conflict, left alone: {}: {} (--update-existing makes it match the map)",
            c.principal_arn,
            c.differences.join("; ")
        );
    }
    unread_lines(plan, &mut s);
    if !plan.blocked.is_empty() {
        let _ = writeln!(
            s,
            "cannot migrate ({}; they block the switch to API):",
            plan.blocked.len()
        );
        blocked_lines(plan, &mut s);
    }
    let _ = writeln!(
        s,
        "{}: {} done, {} already there, {} unchanged, {} conflicts, {} failed, {} skipped, {} blocked",
        plan.cluster,
        summary.done,
        summary.already_present,
        plan.unchanged.len(),
        summary.conflicts,
        summary.failed,
        summary.skipped,
        summary.blocked
    );
    s
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VerifyOutput<'a> {
    cluster: &'a str,
    authentication_mode: String,
    in_sync: bool,
    drift: &'a [Drift],
    unchanged: &'a [aws_auth_core::entries::Unchanged],
    blocked: &'a [aws_auth_core::entries::Blocked],
}

/// `migrate verify`: what differs between the map and the entries.
struct Verified {
    plan: Plan,
    drift: Vec<Drift>,
}

impl Serialize for Verified {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let plan = &self.plan;
        VerifyOutput {
            cluster: &plan.cluster,
            authentication_mode: mode(plan),
            in_sync: self.drift.is_empty(),
            drift: &self.drift,
            unchanged: &plan.unchanged,
            blocked: &plan.blocked,
        }
        .serialize(s)
    }
}

pub(super) fn verify(plan: Plan) -> Report {
    let drift = plan.drift();
    let code = if drift.is_empty() { OK } else { DRIFT };
    Report::new(Verified { plan, drift }).with_code(code)
}

impl Text for Verified {
    fn text(&self) -> String {
        verify_text(&self.plan, &self.drift)
    }

    fn rows(&self) -> Option<Rows> {
        let drift = self
            .drift
            .iter()
            .map(|d| vec![d.principal_arn.clone(), d.problem.clone()]);
        let blocked = self
            .plan
            .blocked
            .iter()
            .map(|b| vec![b.arn.clone(), format!("cannot migrate: {}", b.reason)]);
        Some(Rows {
            headers: vec!["PRINCIPAL", "DRIFT"],
            rows: drift.chain(blocked).collect(),
        })
    }
}

fn verify_text(plan: &Plan, drift: &[Drift]) -> String {
    let mut s = String::new();
    if drift.is_empty() && plan.blocked.is_empty() {
        let _ = writeln!(
            s,
            "{}: every migratable mapping has its access entry ({} entries and policies checked)",
            plan.cluster,
            plan.unchanged.len()
        );
    } else if drift.is_empty() {
        let _ = writeln!(
            s,
            "{}: no drift in the {} entries and policies checked, but not every mapping can move:",
            plan.cluster,
            plan.unchanged.len()
        );
    } else {
        let rows: Vec<Vec<String>> = drift
            .iter()
            .map(|d| vec![d.principal_arn.clone(), d.problem.clone()])
            .collect();
        s.push_str(&output::table(&["PRINCIPAL", "DRIFT"], &rows));
        let _ = writeln!(
            s,
            "{}: {} problem(s); `aws-auth migrate apply` fixes missing entries and policies, with --update-existing entries that differ",
            plan.cluster,
            drift.len()
        );
    }
    if !plan.blocked.is_empty() {
        let _ = writeln!(
            s,
            "cannot migrate ({}; they block the switch to API):",
            plan.blocked.len()
        );
        blocked_lines(plan, &mut s);
    }
    s
}

/// Why a plan is not ready for the switch to API, in one clause.
pub(super) fn not_final(plan: &Plan) -> String {
    let mut why = Vec::new();
    if !plan.actions.is_empty() {
        why.push(format!(
            "{} call(s) are still to make (run migrate apply)",
            plan.actions.len()
        ));
    }
    if !plan.conflicts.is_empty() {
        why.push(format!(
            "{} access entr{} differ from the map ({})",
            plan.conflicts.len(),
            if plan.conflicts.len() == 1 {
                "y"
            } else {
                "ies"
            },
            plan.conflicts
                .iter()
                .map(|c| c.principal_arn.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !plan.unread.is_empty() {
        why.push(format!(
            "the access entries of {} could not be read",
            plan.unread
                .iter()
                .map(|u| u.principal_arn.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !plan.blocked.is_empty() {
        why.push(format!(
            "{} mapping(s) cannot migrate ({})",
            plan.blocked.len(),
            plan.blocked
                .iter()
                .map(|b| if b.arn.is_empty() {
                    b.key.to_string()
                } else {
                    b.arn.clone()
                })
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    why.join(", and ")
}
