//! Many clusters at once: `--contexts`, `--all-contexts` and
//! `--context-pattern` run a read-only command against each kubeconfig
//! context, a bounded number at a time, and merge the results into one table
//! or one document keyed by context. A cluster that cannot be reached is a
//! row with its error, never the end of the run; writes stay one cluster at
//! a time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;
use serde_json::Value;

use crate::cli::{AccessCommand, ClusterArgs, Command, MapCommand, MigrateCommand};
use crate::exit::{Exit, INTERNAL, OK, USAGE, fail};
use crate::report::{Report, Rows, Text};
use crate::settings::Settings;

/// The contexts the fleet options name, or `None` without them.
/// `fleet` without them runs over every context.
pub(crate) fn contexts(
    s: &Settings,
    a: &ClusterArgs,
    cmd: &Command,
) -> anyhow::Result<Option<Vec<String>>> {
    let every = matches!(cmd, Command::Fleet(_));
    if a.contexts.is_empty() && !a.all_contexts && a.context_pattern.is_none() && !every {
        return Ok(None);
    }
    if !a.contexts.is_empty() {
        return Ok(Some(a.contexts.clone()));
    }
    let (all, _) = crate::eks_context::names(&s.kube);
    let chosen: Vec<String> = match &a.context_pattern {
        Some(glob) => all.into_iter().filter(|c| matches(glob, c)).collect(),
        None => all,
    };
    if chosen.is_empty() {
        return Err(fail(
            USAGE,
            "no kubeconfig context matches: nothing to run (see `kubectl config get-contexts`)",
        ));
    }
    Ok(Some(chosen))
}

/// `*` any text, `?` one character; the rest as written.
fn matches(glob: &str, text: &str) -> bool {
    fn go(g: &[char], t: &[char]) -> bool {
        match (g.first(), t.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&g[1..], t) || (!t.is_empty() && go(g, &t[1..])),
            (Some('?'), Some(_)) => go(&g[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&g[1..], &t[1..]),
            _ => false,
        }
    }
    let g: Vec<char> = glob.chars().collect();
    let t: Vec<char> = text.chars().collect();
    go(&g, &t)
}

/// Refuses what must not run on many clusters: a write (a fleet-wide write
/// is a script over `--dry-run` output), or what reads no cluster.
pub(crate) fn allowed(cmd: &Command) -> anyhow::Result<()> {
    let read_only = matches!(
        cmd,
        Command::Map(
            MapCommand::Get { .. }
                | MapCommand::Lint { .. }
                | MapCommand::Explain { .. }
                | MapCommand::Audit { .. }
                | MapCommand::Status(_)
        ) | Command::Migrate(MigrateCommand::Plan(_) | MigrateCommand::Verify(_))
            | Command::Access(AccessCommand::Get(_))
            | Command::Fleet(_)
    );
    if read_only {
        return Ok(());
    }
    if let Command::Check(a) = cmd {
        if a.live {
            return Ok(());
        }
        return Err(fail(
            USAGE,
            "check over many clusters compares NEW with each cluster's map: give --live",
        ));
    }
    Err(fail(
        USAGE,
        "--contexts, --all-contexts and --context-pattern run read-only commands (get, lint, explain, audit, status, check --live, migrate plan|verify, access get); a write goes to one cluster at a time (script it over each cluster's --dry-run output: docs/fleet.md)",
    ))
}

/// One cluster's part.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Part {
    exit_code: u8,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    notes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip)]
    text: String,
    #[serde(skip)]
    rows: Option<Rows>,
}

/// Every cluster's part, by context.
#[derive(Serialize)]
struct Fleet {
    contexts: BTreeMap<String, Part>,
}

impl Text for Fleet {
    fn text(&self) -> String {
        // Every cluster ran the same command: the rows of one have the
        // headers of all.
        let headers = self
            .contexts
            .values()
            .find_map(|p| p.rows.as_ref().map(|r| r.headers.clone()));
        match headers {
            Some(headers) => self.table(&headers),
            None => self.texts(),
        }
    }
}

impl Fleet {
    /// One table: each cluster's rows under its name (a row saying so when
    /// it has none), its error in place of its rows.
    fn table(&self, headers: &[&'static str]) -> String {
        let mut all = vec!["CONTEXT"];
        all.extend_from_slice(headers);
        let blank = |first: String| {
            let mut row = vec![first];
            row.resize(headers.len(), String::new());
            row
        };
        let mut rows = Vec::new();
        let mut errors = String::new();
        for (ctx, p) in &self.contexts {
            let mine: Vec<Vec<String>> = match (&p.error, &p.rows) {
                (Some(e), _) => {
                    // Below the table: a long message would widen a column.
                    let _ = writeln!(errors, "{ctx}: error: {e}");
                    vec![blank("error (below)".to_owned())]
                }
                (None, Some(r)) if !r.rows.is_empty() => r.rows.clone(),
                (None, _) => vec![blank("(none)".to_owned())],
            };
            for row in mine {
                let mut full = vec![ctx.clone()];
                full.extend(row);
                rows.push(full);
            }
        }
        let mut s = crate::output::table(&all, &rows);
        if !errors.is_empty() {
            let _ = write!(s, "\n{errors}");
        }
        s
    }

    /// A row per cluster with the first line of its result, then each
    /// cluster's whole text under its name.
    fn texts(&self) -> String {
        let rows: Vec<Vec<String>> = self
            .contexts
            .iter()
            .map(|(ctx, p)| {
                let what = match &p.error {
                    Some(e) => format!("error: {e}"),
                    None => p.text.lines().next().unwrap_or("").to_owned(),
                };
                vec![ctx.clone(), p.exit_code.to_string(), what]
            })
            .collect();
        let mut s = crate::output::table(&["CONTEXT", "EXIT", "RESULT"], &rows);
        for (ctx, p) in &self.contexts {
            if p.error.is_none() && p.text.lines().count() > 1 {
                let _ = write!(s, "\n== {ctx}\n{}", p.text);
            }
        }
        s
    }

    /// `N cluster(s): ...` by exit code.
    fn summary(&self) -> String {
        let n = self.contexts.len();
        let failed = self.contexts.values().filter(|p| p.error.is_some()).count();
        let found = self
            .contexts
            .values()
            .filter(|p| p.error.is_none() && p.exit_code != OK)
            .count();
        format!(
            "{n} cluster(s): {} fine, {found} with findings, {failed} could not be read",
            n - failed - found
        )
    }
}

/// The worst of the clusters' exit codes: any failure (3 and above) over
/// errors found (1), over warnings (2), over success.
fn worst(codes: impl Iterator<Item = u8>) -> u8 {
    codes
        .max_by_key(|&c| match c {
            0 => 0,
            2 => 1,
            1 => 2,
            other => 3 + u16::from(other),
        })
        .unwrap_or(OK)
}

/// Runs `cmd` with `s` against each of `contexts`, `parallel` at a time.
pub(crate) fn run(
    s: &Settings,
    cmd: &Command,
    contexts: Vec<String>,
    parallel: usize,
    one: fn(&Settings, &Command) -> anyhow::Result<Report>,
) -> anyhow::Result<Report> {
    allowed(cmd)?;
    if s.file.is_some() {
        return Err(fail(
            USAGE,
            "--contexts and --file do not go together: a file is one map",
        ));
    }
    let next = AtomicUsize::new(0);
    let parts: Mutex<BTreeMap<String, Part>> = Mutex::new(BTreeMap::new());
    let bar = crate::migrate::progress_bar(contexts.len(), s.output);
    if let Some(bar) = &bar {
        // A cluster that hangs must not look like a hung run.
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
    }
    std::thread::scope(|scope| {
        for _ in 0..parallel.min(contexts.len()).max(1) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(ctx) = contexts.get(i) else { break };
                    let mut mine = s.clone();
                    mine.kube.context = Some(ctx.clone());
                    let part = match one(&mine, cmd) {
                        Ok(r) => match r.part() {
                            Ok(p) => Part {
                                exit_code: p.code,
                                notes: p.notes,
                                result: Some(p.data),
                                error: None,
                                // Rows stand for the text where there are rows.
                                text: if p.rows.is_some() {
                                    String::new()
                                } else {
                                    p.text
                                },
                                rows: p.rows,
                            },
                            Err(e) => failed(&e),
                        },
                        Err(e) => failed(&e),
                    };
                    if let Some(bar) = &bar {
                        bar.set_message(ctx.clone());
                        bar.inc(1);
                    }
                    parts
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(ctx.clone(), part);
                }
            });
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let contexts = parts.into_inner().unwrap_or_else(|e| e.into_inner());
    let code = worst(contexts.values().map(|p| p.exit_code));
    // What each cluster said beside its result, under its name.
    let notes: Vec<String> = contexts
        .iter()
        .flat_map(|(ctx, p)| p.notes.iter().map(move |n| format!("{ctx}: {n}")))
        .collect();
    let fleet = Fleet { contexts };
    let summary = fleet.summary();
    let mut report = Report::new(fleet).with_code(code).aside(summary);
    report.prepend_notes(notes);
    Ok(report)
}

/// A cluster's failure as its row.
fn failed(e: &anyhow::Error) -> Part {
    let (code, message) = match e.downcast_ref::<Exit>() {
        Some(x) => (x.code, x.message.clone()),
        None => (INTERNAL, format!("{e:#}")),
    };
    Part {
        exit_code: code,
        notes: Vec::new(),
        result: None,
        error: Some(crate::credentials::redact_known(&message)),
        text: String::new(),
        rows: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_the_worst_code() {
        assert!(matches("prod-*", "prod-eu"));
        assert!(matches("*eu?", "prod-eu1"));
        assert!(!matches("prod-*", "staging-eu"));
        assert!(matches(
            "arn:aws:eks:*:cluster/prod",
            "arn:aws:eks:eu-west-1:1:cluster/prod"
        ));
        assert_eq!(worst([0, 2, 1].into_iter()), 1);
        assert_eq!(worst([0, 2].into_iter()), 2);
        assert_eq!(worst([1, 69, 0].into_iter()), 69);
        assert_eq!(worst([78, 69].into_iter()), 78);
        assert_eq!(worst(std::iter::empty()), 0);
    }

    fn part(code: u8, rows: Option<Vec<Vec<&str>>>, error: Option<&str>) -> Part {
        Part {
            exit_code: code,
            notes: Vec::new(),
            result: None,
            error: error.map(str::to_owned),
            text: "first line\nsecond line\n".to_owned(),
            rows: rows.map(|rows| Rows {
                headers: vec!["SEVERITY", "MESSAGE"],
                rows: rows
                    .into_iter()
                    .map(|r| r.into_iter().map(str::to_owned).collect())
                    .collect(),
            }),
        }
    }

    #[test]
    fn rows_of_every_cluster_in_one_table_errors_below_it() {
        let fleet = Fleet {
            contexts: BTreeMap::from([
                (
                    "a".to_owned(),
                    part(
                        1,
                        Some(vec![vec!["error", "x"], vec!["warning", "y"]]),
                        None,
                    ),
                ),
                ("b".to_owned(), part(0, Some(vec![]), None)),
                ("c".to_owned(), part(69, None, Some("no answer"))),
            ]),
        };
        assert_eq!(
            fleet.text(),
            "CONTEXT  SEVERITY       MESSAGE\n\
             a        error          x\n\
             a        warning        y\n\
             b        (none)\n\
             c        error (below)\n\
             \n\
             c: error: no answer\n"
        );
        assert_eq!(
            fleet.summary(),
            "3 cluster(s): 1 fine, 1 with findings, 1 could not be read"
        );
        // Without rows: a line each, then each cluster's text.
        let fleet = Fleet {
            contexts: BTreeMap::from([("a".to_owned(), part(0, None, None))]),
        };
        assert_eq!(
            fleet.text(),
            "CONTEXT  EXIT  RESULT\na        0     first line\n\n== a\nfirst line\nsecond line\n"
        );
    }
}
