//! `aws-auth check`: the admission decision on two manifests, for CI.

use std::fmt::Write as _;
use std::path::Path;

use aws_auth_core::Document;
use aws_auth_core::admission::{self, Decision};
use serde::Serialize;

use crate::cli::CheckArgs;
use crate::exit::{INVALID, IO, OK, REFUSED, USAGE, fail};
use crate::report::{Report, Text};
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &CheckArgs) -> anyhow::Result<Report> {
    let guards = &settings.guards;
    let new_name = args.new.display().to_string();
    let new_text = if args.new == Path::new("-") {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| fail(IO, format!("cannot read stdin: {e}")))?
    } else {
        read(&args.new)?
    };
    let (old_name, old_text) = match (&args.base, &args.base_ref) {
        (Some(path), _) => (path.display().to_string(), Some(read(path)?)),
        (None, Some(rev)) => {
            if args.new == Path::new("-") {
                return Err(fail(
                    USAGE,
                    "--base-ref needs NEW as a path in the repository, not -",
                ));
            }
            (format!("{rev}:{new_name}"), git_show(rev, &args.new)?)
        }
        (None, None) => return Err(fail(USAGE, "give --base OLD or --base-ref REV")),
    };
    let parse = |name: &str, text: &str| {
        Document::parse_manifest(text).map_err(|e| {
            fail(
                INVALID,
                format!(
                    "{name}:{}:{}: {}",
                    e.position.line, e.position.column, e.message
                ),
            )
        })
    };
    let new = parse(&new_name, &new_text)?;
    let old = old_text
        .as_deref()
        .map(|t| parse(&old_name, t))
        .transpose()?;
    let decision = admission::decide(old.as_ref(), Some(&new), &guards.protected);
    Ok(report(decision, old_name, new_name))
}

fn read(path: &Path) -> anyhow::Result<String> {
    crate::commands::read_text(path)
}

/// `git show REV:PATH` with PATH relative to the repository's top; `None`
/// when the revision does not hold the path (the change creates the map).
fn git_show(rev: &str, path: &Path) -> anyhow::Result<Option<String>> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    // `./FILE` makes git resolve the path from the file's own directory.
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .arg("show")
        .arg(format!("{rev}:./{file}"))
        .output()
        .map_err(|e| fail(IO, format!("cannot run git: {e}")))?;
    if out.status.success() {
        return String::from_utf8(out.stdout)
            .map(Some)
            .map_err(|_| fail(INVALID, format!("{rev}:{} is not UTF-8", path.display())));
    }
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("does not exist in") || err.contains("exists on disk, but not in") {
        return Ok(None);
    }
    Err(fail(
        USAGE,
        format!("git show {rev}:{}: {}", path.display(), err.trim()),
    ))
}

/// The admission decision, and the files it places its reasons in.
#[derive(Serialize)]
struct Checked {
    #[serde(flatten)]
    decision: Decision,
    #[serde(skip)]
    old: String,
    #[serde(skip)]
    new: String,
}

impl Text for Checked {
    fn text(&self) -> String {
        let (d, old, new) = (&self.decision, self.old.as_str(), self.new.as_str());
        let mut s = String::new();
        for r in &d.reasons {
            // What goes away is placed in the old manifest, what arrives
            // (an unreadable key) in the new one.
            let file = if r.code == admission::ReasonCode::KeyUnreadable {
                new
            } else {
                old
            };
            let at = r
                .position
                .map(|p| format!("{file}:{}:{}", p.line, p.column))
                .unwrap_or_else(|| file.to_owned());
            let _ = writeln!(s, "{at}: {}: {}", r.code.as_str(), r.message);
        }
        match (&d.overridden, d.allowed) {
            (Some(why), _) => {
                let _ = writeln!(s, "allowed by {}: {why}", admission::ALLOW_ANNOTATION);
            }
            (None, true) => s.push_str("allowed\n"),
            (None, false) if d.override_ignored.is_some() => {
                let _ = writeln!(
                    s,
                    "denied: the change makes the map worse; {}",
                    d.override_ignored.as_deref().unwrap_or_default()
                );
            }
            (None, false) => {
                let _ = writeln!(
                    s,
                    "denied: the change makes the map worse ({} reason{}); annotate the new object with {}: REASON to let it through",
                    d.reasons.len(),
                    if d.reasons.len() == 1 { "" } else { "s" },
                    admission::ALLOW_ANNOTATION
                );
            }
        }
        s
    }
}

fn report(decision: Decision, old: String, new: String) -> Report {
    let code = if decision.allowed { OK } else { REFUSED };
    let mut notes = Vec::new();
    for w in &decision.warnings {
        let at = w
            .position
            .map(|p| format!("{new}:{}:{}", p.line, p.column))
            .unwrap_or_else(|| new.clone());
        notes.push(format!("{at}: warning[{}]: {}", w.code, w.message));
    }
    let mut report = Report::new(Checked { decision, old, new }).with_code(code);
    report.prepend_notes(notes);
    report
}
