//! `aws-auth check`: the admission decision on two manifests, for CI.

use std::fmt::Write as _;
use std::path::Path;

use aws_auth_core::Document;
use aws_auth_core::admission::{self, Decision};
use aws_auth_core::diff::{AccessChange, AccessEffect};
use serde::Serialize;

use crate::cli::CheckArgs;
use crate::exit::{INVALID, IO, OK, REFUSED, USAGE, fail};
use crate::report::{Report, Rows, Text};
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &CheckArgs) -> anyhow::Result<Report> {
    let stdin_uses = args.new.iter().filter(|p| *p == Path::new("-")).count()
        + usize::from(args.base.as_deref() == Some(Path::new("-")));
    if stdin_uses > 1 {
        return Err(fail(
            USAGE,
            "only one of the manifests can be read from stdin (-)",
        ));
    }
    if args.base.is_some() && args.new.len() > 1 {
        return Err(fail(
            USAGE,
            "--base OLD is the one manifest before the change: check several files with --base-ref REV",
        ));
    }
    let live = if args.live {
        Some(live_map(settings)?)
    } else {
        None
    };
    let mut checked = Vec::new();
    for new in &args.new {
        checked.push(check_one(settings, args, new, live.as_ref())?);
    }
    Ok(report(checked))
}

/// The cluster's map, named; `None` when the cluster has none (NEW then
/// creates it).
fn live_map(settings: &Settings) -> anyhow::Result<(String, Option<Document>)> {
    if settings.file.is_some() {
        return Err(fail(
            USAGE,
            "--live compares with the cluster's map: drop --file (or give --base FILE)",
        ));
    }
    crate::runtime()?.block_on(async {
        let session = crate::live::Session::connect(settings).await?;
        let name = format!("{} (in the cluster)", session.object());
        match session.read().await {
            Ok(snapshot) => Ok((name, Some(snapshot.document))),
            Err(e)
                if e.downcast_ref::<crate::exit::Exit>()
                    .is_some_and(|x| x.code == crate::exit::NOT_FOUND) =>
            {
                Ok((name, None))
            }
            Err(e) => Err(e),
        }
    })
}

/// One manifest against its base.
fn check_one(
    settings: &Settings,
    args: &CheckArgs,
    new_path: &Path,
    live: Option<&(String, Option<Document>)>,
) -> anyhow::Result<Checked> {
    let new_name = new_path.display().to_string();
    let new_text = read(new_path)?;
    let (old_name, old_text) = match (&args.base, &args.base_ref) {
        _ if let Some((name, _)) = live => (name.clone(), None),
        (Some(path), _) => (path.display().to_string(), Some(read(path)?)),
        (None, Some(rev)) => {
            if new_path == Path::new("-") {
                return Err(fail(
                    USAGE,
                    "--base-ref needs NEW as a path in the repository, not -",
                ));
            }
            (format!("{rev}:{new_name}"), git_show(rev, new_path)?)
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
    let parsed = old_text
        .as_deref()
        .map(|t| parse(&old_name, t))
        .transpose()?;
    let old = match live {
        Some((_, doc)) => doc.as_ref(),
        None => parsed.as_ref(),
    };
    let decision = admission::decide(old, Some(&new), &settings.guards.protected);
    let access = aws_auth_core::diff::access_changes(old, &new);
    Ok(Checked {
        file: new_name.clone(),
        decision,
        access,
        old: old_name,
        new: new_name,
    })
}

/// A file, or stdin for `-`.
fn read(path: &Path) -> anyhow::Result<String> {
    if path == Path::new("-") {
        return std::io::read_to_string(std::io::stdin())
            .map_err(|e| fail(IO, format!("cannot read stdin: {e}")));
    }
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
    // A shallow or single-branch checkout (CI's usual) lacks the base.
    if err.contains("invalid object name") || err.contains("unknown revision") {
        return Err(fail(
            crate::exit::NOT_FOUND,
            format!(
                "the revision {rev} is not in this clone (a shallow or single-branch checkout?): fetch it first, e.g. `git fetch --depth=1 origin {}`",
                rev.strip_prefix("origin/").unwrap_or(rev)
            ),
        ));
    }
    Err(fail(
        USAGE,
        format!("git show {rev}:{}: {}", path.display(), err.trim()),
    ))
}

/// The admission decision on one manifest, what the change does to
/// access, and the files it places its reasons in.
#[derive(Serialize)]
struct Checked {
    file: String,
    #[serde(flatten)]
    decision: Decision,
    /// Per principal: gains, loses, changes.
    access: Vec<AccessChange>,
    #[serde(skip)]
    old: String,
    #[serde(skip)]
    new: String,
}

/// Several manifests' results (one alone is written as itself).
struct AllChecked(Vec<Checked>);

impl Serialize for AllChecked {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => one.serialize(s),
            all => all.serialize(s),
        }
    }
}

impl Text for AllChecked {
    fn rows(&self) -> Option<Rows> {
        let mut rows = Vec::new();
        for c in &self.0 {
            let decision = if c.decision.allowed {
                "allowed"
            } else {
                "denied"
            };
            if c.decision.reasons.is_empty() {
                rows.push(vec![
                    c.file.clone(),
                    decision.to_owned(),
                    String::new(),
                    String::new(),
                ]);
            }
            for r in &c.decision.reasons {
                rows.push(vec![
                    c.file.clone(),
                    decision.to_owned(),
                    r.code.as_str().to_owned(),
                    r.message.clone(),
                ]);
            }
        }
        Some(Rows {
            headers: vec!["FILE", "DECISION", "REASON", "MESSAGE"],
            rows,
        })
    }

    fn text(&self) -> String {
        let several = self.0.len() > 1;
        let mut s = String::new();
        for c in &self.0 {
            if several {
                let _ = writeln!(s, "{}:", c.file);
            }
            s.push_str(&c.text());
        }
        s
    }
}

/// `identity` in a few words.
fn login(i: &aws_auth_core::diff::Identity) -> String {
    if i.groups.is_empty() {
        format!("{} (no groups)", i.username)
    } else {
        format!("{} [{}]", i.username, i.groups.join(", "))
    }
}

impl Checked {
    fn text(&self) -> String {
        let (d, old, new) = (&self.decision, self.old.as_str(), self.new.as_str());
        let mut s = String::new();
        for c in &self.access {
            let line = match (c.effect, &c.before, &c.after) {
                (AccessEffect::Gains, _, Some(a)) => format!("gains {}", login(a)),
                (AccessEffect::Loses, Some(b), _) => format!("loses {}", login(b)),
                (_, Some(b), Some(a)) => format!("{} -> {}", login(b), login(a)),
                _ => continue,
            };
            let _ = writeln!(s, "access: {} {}: {line}", c.key, c.principal);
        }
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

fn report(checked: Vec<Checked>) -> Report {
    let code = if checked.iter().all(|c| c.decision.allowed) {
        OK
    } else {
        REFUSED
    };
    let mut notes = Vec::new();
    for c in &checked {
        for w in &c.decision.warnings {
            let at = w
                .position
                .map(|p| format!("{}:{}:{}", c.new, p.line, p.column))
                .unwrap_or_else(|| c.new.clone());
            notes.push(format!("{at}: warning[{}]: {}", w.code, w.message));
        }
    }
    let mut report = Report::new(AllChecked(checked)).with_code(code);
    report.prepend_notes(notes);
    report
}
