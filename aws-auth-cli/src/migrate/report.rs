//! What the migrate commands print.

use std::fmt::Write as _;

use aws_auth_core::entries::{Action, Plan};
use serde::Serialize;

use crate::cli::Output;
use crate::commands::Report;
use crate::exit::OK;
use crate::output;
use aws_auth_core::eks::{ClusterInfo, Outcome, Status};

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
        let _ = writeln!(s, "  {what} (line {}): {}", b.line, b.reason);
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

pub(crate) fn plan(plan: &Plan, format: Output) -> anyhow::Result<Report> {
    if format != Output::Table {
        return Ok(Report {
            stdout: output::structured(format, plan)?,
            stderr: String::new(),
            code: OK,
        });
    }
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
    Ok(Report {
        stdout: s,
        stderr: String::new(),
        code: OK,
    })
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

pub(crate) fn apply(
    plan: &Plan,
    info: &ClusterInfo,
    outcomes: &[Outcome],
    notes: &[String],
    format: Output,
) -> anyhow::Result<Report> {
    let count = |f: fn(&Status) -> bool| outcomes.iter().filter(|o| f(&o.status)).count();
    let summary = Summary {
        done: count(|s| *s == Status::Done),
        already_present: count(|s| *s == Status::AlreadyPresent),
        conflicts: count(|s| matches!(s, Status::Conflict(_))) + plan.conflicts.len(),
        failed: count(|s| matches!(s, Status::Failed(_))),
        skipped: count(|s| matches!(s, Status::Skipped(_))),
        blocked: plan.blocked.len(),
        unread: plan.unread.len(),
    };
    let code = if summary.conflicts + summary.failed + summary.skipped + summary.unread > 0 {
        DRIFT
    } else {
        OK
    };
    if format != Output::Table {
        return Ok(Report {
            stdout: output::structured(
                format,
                &ApplyOutput {
                    cluster: &plan.cluster,
                    authentication_mode: info.mode.to_string(),
                    notes,
                    results: outcomes,
                    unchanged: &plan.unchanged,
                    conflicts: &plan.conflicts,
                    blocked: &plan.blocked,
                    unread: &plan.unread,
                    summary,
                },
            )?,
            stderr: String::new(),
            code,
        });
    }
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
            "conflict, left alone: {}: {}",
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
    Ok(Report {
        stdout: s,
        stderr: String::new(),
        code,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Drift {
    principal_arn: String,
    problem: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VerifyOutput<'a> {
    cluster: &'a str,
    authentication_mode: String,
    in_sync: bool,
    drift: Vec<Drift>,
    unchanged: &'a [aws_auth_core::entries::Unchanged],
    blocked: &'a [aws_auth_core::entries::Blocked],
}

pub(super) fn verify(plan: &Plan, format: Output) -> anyhow::Result<Report> {
    let mut drift: Vec<Drift> = plan
        .actions
        .iter()
        .map(|a| Drift {
            principal_arn: a.principal_arn().to_owned(),
            problem: match a {
                Action::CreateAccessEntry { kind, .. } => format!("no access entry (want {kind})"),
                Action::AssociateAccessPolicy {
                    policy_arn,
                    access_scope,
                    ..
                } => format!(
                    "{} ({access_scope}) is not associated",
                    aws_auth_core::entries::policy_name(policy_arn)
                ),
                other => other.to_string(),
            },
        })
        .collect();
    for c in &plan.conflicts {
        for d in &c.differences {
            drift.push(Drift {
                principal_arn: c.principal_arn.clone(),
                problem: d.clone(),
            });
        }
    }
    for u in &plan.unread {
        drift.push(Drift {
            principal_arn: u.principal_arn.clone(),
            problem: format!("its access entry could not be read: {}", u.reason),
        });
    }
    let code = if drift.is_empty() { OK } else { DRIFT };
    if format != Output::Table {
        return Ok(Report {
            stdout: output::structured(
                format,
                &VerifyOutput {
                    cluster: &plan.cluster,
                    authentication_mode: mode(plan),
                    in_sync: drift.is_empty(),
                    drift,
                    unchanged: &plan.unchanged,
                    blocked: &plan.blocked,
                },
            )?,
            stderr: String::new(),
            code,
        });
    }
    let mut s = String::new();
    if drift.is_empty() {
        let _ = writeln!(
            s,
            "{}: every migratable mapping has its access entry ({} entries and policies checked)",
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
            "{}: {} problem(s); `aws-auth migrate apply` fixes missing entries and policies",
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
    Ok(Report {
        stdout: s,
        stderr: String::new(),
        code,
    })
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
