//! The map commands' parts shared by a manifest file and a cluster: the
//! results of get, lint, explain and edits (as data, see [`crate::report`]),
//! the operations built from the arguments, and the one rule of
//! confirmation.

use std::fmt::Write as _;
use std::path::Path;

use aws_auth_core::arn::Arn;
use aws_auth_core::edit::{EditError, Edited, Effect, GroupsChange, MappingSpec, Op, Written};
use aws_auth_core::effective::Standing;
use aws_auth_core::lint::{Diagnostic, Severity};
use aws_auth_core::{DataKey, Document, KeyState};
use serde::Serialize;

use crate::cli::{AddCommand, AddMapping, RemoveArgs, RemoveCommand, UpdateCommand, UpdateMapping};
use crate::exit::{INTERNAL, INVALID, LINT_ERRORS, LINT_WARNINGS, OK, REFUSED, fail};
use crate::output;
use crate::report::{Report, Rows, Text};
use crate::settings::Settings;

/// `get`: the map as the authenticator reads it, with the mappings no login
/// uses (an access entry wins, or the cluster is in API mode).
struct Mappings {
    doc: Document,
    unused: Vec<aws_auth_core::login::Shadowed>,
}

impl Mappings {
    fn unused(&self, key: DataKey, index: usize) -> Option<&aws_auth_core::login::Unused> {
        self.unused
            .iter()
            .find(|u| u.key == key && u.index == index)
            .map(|u| &u.by)
    }
}

impl Serialize for Mappings {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use aws_auth_core::login::Unused;
        let mut v = serde_json::to_value(self.doc.view()).map_err(serde::ser::Error::custom)?;
        for u in &self.unused {
            if let Some(entry) = v
                .get_mut(u.key.as_str())
                .and_then(|list| list.get_mut(u.index))
                .and_then(serde_json::Value::as_object_mut)
            {
                let (why, by) = match &u.by {
                    Unused::AccessEntry(p) => ("accessEntry", Some(p.clone())),
                    Unused::ApiMode => ("apiMode", None),
                    _ => ("unknown", None),
                };
                entry.insert("notUsed".to_owned(), why.into());
                if let Some(p) = by {
                    entry.insert("accessEntry".to_owned(), p.into());
                }
            }
        }
        v.serialize(s)
    }
}

impl Text for Mappings {
    fn text(&self) -> String {
        self.table().table("no mappings")
    }

    fn rows(&self) -> Option<Rows> {
        Some(self.table())
    }
}

/// `get`: the map, and what else was read of the cluster.
pub(crate) fn get(g: crate::who::Gathered) -> Report {
    let unused = aws_auth_core::login::shadowed(&g.sources());
    let Some(doc) = g.map else {
        return Report::new(Mappings {
            doc: Document::from_data(std::collections::BTreeMap::<String, String>::new()),
            unused,
        });
    };
    let mut notes = g.notes;
    for key in DataKey::ALL {
        if let KeyState::Unreadable { message, .. } = doc.view().state(key) {
            notes.push(format!(
                "warning: {key} cannot be read ({message}); the authenticator ignores all of it (see `aws-auth lint`)"
            ));
        }
    }
    let mut report = Report::new(Mappings { doc, unused });
    report.prepend_notes(notes);
    report
}

impl Mappings {
    /// Its rows: a mapping each, with a note where one is not used.
    fn table(&self) -> Rows {
        let m = self;
        use aws_auth_core::login::Unused;
        let doc = &m.doc;
        let view = doc.view();
        // One pass over the entries works out which ones the authenticator uses.
        let effective = doc.effective();
        let note = |key: DataKey, i: usize| match (effective.standing(key, i), m.unused(key, i)) {
            (Some(Standing::Replaced { .. }), _) => "ignored: mapped again below",
            (Some(Standing::ShadowedByRole { .. }), _) => "ignored: mapRoles maps it too",
            (Some(Standing::NeverMatches { .. }), _) => "never matches (see aws-auth lint)",
            (Some(Standing::FeatureGated), _) => "never matches on EKS (sso)",
            (_, Some(Unused::AccessEntry(_))) => "not used: an access entry wins",
            (_, Some(Unused::ApiMode)) => "not used: API mode reads no map",
            _ => "",
        };
        let mut rows = Vec::new();
        for (i, e) in view.roles.entries.iter().enumerate() {
            let r = &e.value;
            let (kind, arn) = match &r.sso {
                Some(sso) => (
                    "sso",
                    format!("{}/{}", sso.account_id, sso.permission_set_name),
                ),
                None => ("role", r.rolearn.to_string()),
            };
            rows.push(vec![
                kind.to_owned(),
                arn,
                r.username.to_string(),
                r.groups.join(","),
                note(DataKey::MapRoles, i).to_owned(),
            ]);
        }
        for (i, e) in view.users.entries.iter().enumerate() {
            let u = &e.value;
            rows.push(vec![
                "user".to_owned(),
                u.userarn.to_string(),
                u.username.to_string(),
                u.groups.join(","),
                note(DataKey::MapUsers, i).to_owned(),
            ]);
        }
        for e in &view.accounts.entries {
            rows.push(vec![
                "account".to_owned(),
                e.value.clone(),
                "(its own ARN)".to_owned(),
                String::new(),
                String::new(),
            ]);
        }
        let notes = rows.iter().any(|r| !r[4].is_empty());
        if !notes {
            for r in &mut rows {
                r.pop();
            }
            return Rows {
                headers: vec!["KIND", "ARN", "USERNAME", "GROUPS"],
                rows,
            };
        }
        Rows {
            headers: vec!["KIND", "ARN", "USERNAME", "GROUPS", "NOTE"],
            rows,
        }
    }
}

/// `lint`: the findings, each with where an editor finds it.
#[derive(Serialize)]
struct Findings {
    diagnostics: Vec<Diagnostic>,
    /// `file:line:column` (or the data key's place) of each finding.
    #[serde(skip)]
    places: Vec<String>,
}

impl Text for Findings {
    fn text(&self) -> String {
        let mut s = String::new();
        for (d, at) in self.diagnostics.iter().zip(&self.places) {
            let _ = writeln!(s, "{at}: {}[{}]: {}", d.severity, d.code, d.message);
        }
        s
    }

    fn rows(&self) -> Option<Rows> {
        let rows = self
            .diagnostics
            .iter()
            .zip(&self.places)
            .map(|(d, at)| {
                vec![
                    d.severity.to_string(),
                    d.code.to_string(),
                    at.clone(),
                    d.message.clone(),
                ]
            })
            .collect();
        Some(Rows {
            headers: vec!["SEVERITY", "CODE", "WHERE", "MESSAGE"],
            rows,
        })
    }
}

/// `lint`: `place` says where a diagnostic is (`file:line:column`).
pub(crate) fn lint(
    name: &str,
    diagnostics: Vec<Diagnostic>,
    place: &dyn Fn(&Diagnostic) -> String,
    strict: bool,
) -> Report {
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diagnostics.len() - errors;
    let summary = if diagnostics.is_empty() {
        format!("{name}: no problems found")
    } else {
        format!("{name}: {errors} error(s), {warnings} warning(s)")
    };
    let code = if errors > 0 {
        LINT_ERRORS
    } else if strict && warnings > 0 {
        LINT_WARNINGS
    } else {
        OK
    };
    let places = diagnostics.iter().map(place).collect();
    Report::new(Findings {
        diagnostics,
        places,
    })
    .aside(summary)
    .with_code(code)
}

/// A file the user named, or why not (exit 3 when it does not exist).
pub(crate) fn read_text(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).map_err(|e| {
        let code = if e.kind() == std::io::ErrorKind::NotFound {
            crate::exit::NOT_FOUND
        } else {
            crate::exit::IO
        };
        fail(code, format!("cannot read {}: {e}", path.display()))
    })
}

/// The `.yaml`, `.yml` and `.json` files of a directory (not below it),
/// sorted: a directory of manifests.
pub(crate) fn manifest_files(dir: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| {
            fail(
                crate::exit::IO,
                format!("cannot read {}: {e}", dir.display()),
            )
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Reads a batch file: `ARN [USERNAME]` per line, `#` comments, blank lines.
/// Returns (line number, first field, optional second field); every bad
/// line is reported at once.
pub(crate) fn batch(path: &Path) -> anyhow::Result<Vec<(usize, String, Option<String>)>> {
    let text = read_text(path)?;
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut fields = line.split_whitespace();
        let first = fields.next().unwrap_or_default().to_owned();
        let second = fields.next().map(str::to_owned);
        if fields.next().is_some() {
            bad.push(format!(
                "{}:{}: expected `ARN [USERNAME]`, found more fields",
                path.display(),
                i + 1
            ));
            continue;
        }
        out.push((i + 1, first, second));
    }
    bad_lines(bad)?;
    if out.is_empty() {
        return Err(fail(
            INVALID,
            format!("{} holds no entries", path.display()),
        ));
    }
    Ok(out)
}

/// Every bad line of a file as one error (nothing is done with the rest).
pub(crate) fn bad_lines(bad: Vec<String>) -> anyhow::Result<()> {
    match bad.len() {
        0 => Ok(()),
        1 => Err(fail(INVALID, bad.join(""))),
        n => Err(fail(
            INVALID,
            format!("{n} lines are wrong, nothing was done: {}", bad.join("; ")),
        )),
    }
}

/// True when a principals file names someone without an ARN.
pub(crate) fn names_without_arn(path: &Path) -> bool {
    batch(path).is_ok_and(|lines| lines.iter().any(|(_, first, _)| iam_name(first)))
}

/// An IAM name, with `user/` or `role/` and a path if any: what a list may
/// give instead of an ARN.
fn iam_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-/".contains(c))
}

/// A line's principals, as ARNs, and the lines that are wrong.
type Lines = (Vec<(usize, String, Option<String>)>, Vec<String>);

/// The principals of a batch file as ARNs: an ARN as written, or
/// `user/NAME`, `role/NAME` (an IAM path allowed) or a bare `NAME` of kind
/// `default` in `account`. Every bad line is reported at once.
pub(crate) fn principals_file(
    path: &Path,
    default: aws_auth_core::arn::PrincipalKind,
    account: Option<&str>,
) -> anyhow::Result<Vec<(usize, String, Option<String>)>> {
    let (out, bad) = principal_lines(path, default, account)?;
    bad_lines(bad)?;
    Ok(out)
}

/// [`principals_file`], the bad lines returned beside the good ones (for a
/// caller that finds more wrong with the good ones).
pub(crate) fn principal_lines(
    path: &Path,
    default: aws_auth_core::arn::PrincipalKind,
    account: Option<&str>,
) -> anyhow::Result<Lines> {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for (line, first, second) in batch(path)? {
        let at = format!("{}:{line}", path.display());
        let arn = if !iam_name(&first) {
            first
        } else {
            let (kind, name) = match first.split_once('/') {
                Some(("user", rest)) => ("user", rest),
                Some(("role", rest)) => ("role", rest),
                _ if default == aws_auth_core::arn::PrincipalKind::Role => ("role", first.as_str()),
                _ => ("user", first.as_str()),
            };
            let Some(account) = account else {
                bad.push(format!(
                    "{at}: {first} is not an ARN, and no account is known for it: give --account"
                ));
                continue;
            };
            format!("arn:aws:iam::{account}:{kind}/{name}")
        };
        match arn.parse::<Arn>() {
            Ok(_) => out.push((line, arn, second)),
            Err(e) => bad.push(format!("{at}: {e}")),
        }
    }
    Ok((out, bad))
}

/// The IAM name of an ARN, the default username.
fn default_username(arn: &str) -> String {
    arn.parse::<Arn>()
        .map(|a| a.name().to_owned())
        .unwrap_or_default()
}

/// The operations of an edit command, and for batch files the line of each op.
pub(crate) struct Ops {
    pub(crate) ops: Vec<Op>,
    pub(crate) lines: Option<(String, Vec<usize>)>,
    /// What was made of the arguments, said with the result (a role ARN
    /// written without its path).
    pub(crate) notes: Vec<String>,
}

impl Ops {
    /// One operation, from the command line.
    pub(crate) fn one(op: Op) -> Ops {
        Ops {
            ops: vec![op],
            lines: None,
            notes: Vec::new(),
        }
    }
}

/// A role ARN as the map needs it: without its IAM path (the form the IAM
/// console shows), which the authenticator never matches. The correction
/// is said in `notes`; any other ARN is kept as written.
fn map_arn(arn: String, notes: &mut Vec<String>) -> String {
    match arn.parse::<Arn>() {
        Ok(a) if a.kind() == aws_auth_core::arn::PrincipalKind::Role && a.has_path() => {
            let bare = a.without_path().to_string();
            notes.push(format!(
                "note: wrote {bare} for {arn}: the authenticator compares a role's ARN without its IAM path"
            ));
            bare
        }
        _ => arn,
    }
}

/// `add role` or `add user`: `op` makes the operation of one mapping; the
/// bare names of a file are in `account`.
fn mapping_ops(
    args: &AddMapping,
    op: fn(MappingSpec) -> Op,
    kind: aws_auth_core::arn::PrincipalKind,
    account: Option<&str>,
) -> anyhow::Result<Ops> {
    let mut notes = Vec::new();
    let mut make = |arn: String, username: Option<String>| {
        let username = username
            .or_else(|| args.username.clone())
            .unwrap_or_else(|| default_username(&arn));
        op(MappingSpec::new(
            map_arn(arn, &mut notes),
            username,
            &args.groups,
        ))
    };
    let mut ops = match (&args.arn, &args.from_file) {
        (Some(arn), None) => Ops::one(make(arn.clone(), None)),
        (None, Some(path)) => {
            let entries = principals_file(path, kind, account)?;
            Ops {
                lines: Some((
                    path.display().to_string(),
                    entries.iter().map(|e| e.0).collect(),
                )),
                notes: Vec::new(),
                ops: entries
                    .into_iter()
                    .map(|(_, arn, user)| make(arn, user))
                    .collect(),
            }
        }
        _ => return Err(fail(crate::exit::USAGE, "give an ARN or --from-file")),
    };
    ops.notes = notes;
    Ok(ops)
}

fn list_ops(
    arg: &Option<String>,
    file: &Option<std::path::PathBuf>,
    make: impl Fn(String) -> Op,
) -> anyhow::Result<Ops> {
    match (arg, file) {
        (Some(v), None) => Ok(Ops::one(make(v.clone()))),
        (None, Some(path)) => {
            let entries = batch(path)?;
            Ok(Ops {
                lines: Some((
                    path.display().to_string(),
                    entries.iter().map(|e| e.0).collect(),
                )),
                notes: Vec::new(),
                ops: entries.into_iter().map(|(_, v, _)| make(v)).collect(),
            })
        }
        _ => Err(fail(crate::exit::USAGE, "give a value or --from-file")),
    }
}

/// `account`: the account of the bare names of a `--from-file` list.
pub(crate) fn add_ops(cmd: &AddCommand, account: Option<&str>) -> anyhow::Result<Ops> {
    use aws_auth_core::arn::PrincipalKind;
    match cmd {
        AddCommand::Role(a) => mapping_ops(a, Op::AddRole, PrincipalKind::Role, account),
        AddCommand::User(a) => mapping_ops(a, Op::AddUser, PrincipalKind::User, account),
        AddCommand::Account(a) => list_ops(&a.id, &a.from_file, Op::AddAccount),
    }
}

pub(crate) fn update_ops(cmd: &UpdateCommand) -> anyhow::Result<Ops> {
    type Make = fn(String, Option<String>, GroupsChange) -> Op;
    let (m, make): (&UpdateMapping, Make) = match cmd {
        UpdateCommand::Role(m) => (m, Op::update_role),
        UpdateCommand::User(m) => (m, Op::update_user),
    };
    let groups = if m.no_groups {
        GroupsChange::Replace(Vec::new())
    } else if m.groups.is_empty() {
        GroupsChange::Keep
    } else if m.append {
        GroupsChange::Append(m.groups.clone())
    } else {
        GroupsChange::Replace(m.groups.clone())
    };
    if m.username.is_none() && groups == GroupsChange::Keep {
        return Err(fail(
            crate::exit::USAGE,
            "nothing to update: give --username, --group or --no-groups",
        ));
    }
    let mut notes = Vec::new();
    let op = make(
        map_arn(m.arn.clone(), &mut notes),
        m.username.clone(),
        groups,
    );
    let mut ops = Ops::one(op);
    ops.notes = notes;
    Ok(ops)
}

pub(crate) fn remove_ops(args: &RemoveArgs) -> anyhow::Result<Ops> {
    match (&args.what, &args.username) {
        (Some(RemoveCommand::Role(r)), None) => {
            let notes = std::cell::RefCell::new(Vec::new());
            let mut ops = list_ops(&r.arn, &r.from_file, |arn| {
                Op::remove_role(map_arn(arn, &mut notes.borrow_mut()))
            })?;
            ops.notes = notes.into_inner();
            Ok(ops)
        }
        (Some(RemoveCommand::User(r)), None) => list_ops(&r.arn, &r.from_file, Op::remove_user),
        (Some(RemoveCommand::Account(a)), None) => list_ops(&a.id, &a.from_file, Op::RemoveAccount),
        (None, Some(username)) => Ok(Ops::one(Op::RemoveUsername {
            username: username.clone(),
        })),
        _ => Err(fail(
            crate::exit::USAGE,
            "say what to remove: role ARN, user ARN, account ID or --username NAME",
        )),
    }
}

/// One principal ARN, as a protection names it. A list in one argument
/// (`A,B`, `A B`) is refused rather than read as one odd ARN: IAM paths may
/// hold commas and colons, so `role/A,arn:...:role/B` would parse as the
/// role `B` with a strange path and protect someone nobody named.
pub(crate) fn one_arn(text: &str) -> Result<Arn, String> {
    let more = text.matches("arn:").count() > 1 || text.contains([',', ' ', '\t', '\n']);
    if more {
        let parts = text
            .split([',', ' ', '\t', '\n'])
            .filter(|p| !p.is_empty())
            .count()
            .max(text.matches("arn:").count());
        return Err(format!(
            "{text:?} is not one ARN (it holds {parts}): give one ARN per argument"
        ));
    }
    text.parse::<Arn>().map_err(|e| e.to_string())
}

/// The one rule of confirmation for what `--force` overrides (tripped guards,
/// text a whole rewrite deletes): `--dry-run` never asks; on a terminal the
/// user is asked; without one, `--yes` must say so.
pub(crate) fn confirm_forced(edited: &Edited, g: &Settings) -> anyhow::Result<()> {
    let mut what: Vec<String> = edited.forced.iter().map(|f| f.message.clone()).collect();
    what.extend(edited.keys.iter().filter(|k| k.deleted.is_some()).map(|k| {
        format!(
            "would rewrite data.{} whole, deleting its former text",
            k.key
        )
    }));
    if what.is_empty() || g.dry_run.is_some() {
        return Ok(());
    }
    let question = format!("this edit {}. Carry it out anyway?", what.join("; and "));
    match crate::confirm::ask(&question, g.yes) {
        crate::confirm::Answer::Yes => Ok(()),
        crate::confirm::Answer::No => Err(fail(REFUSED, "not confirmed; nothing was written")),
        crate::confirm::Answer::NoTerminal => Err(fail(
            REFUSED,
            format!(
                "--force overrides what this edit would break ({}): give --yes too to confirm without a terminal; nothing was written",
                what.join("; and ")
            ),
        )),
    }
}

/// An edit error as one sentence with its exit code; batch errors name the
/// line of the batch file.
pub(crate) fn edit_error(source: &str, ops: &Ops, e: EditError) -> anyhow::Error {
    let op_line = |op: usize| -> String {
        match &ops.lines {
            Some((file, lines)) => format!("{file}:{}", lines.get(op).copied().unwrap_or(0)),
            None => source.to_owned(),
        }
    };
    match e {
        // Nothing to update or remove: not found, as for an access entry.
        EditError::NotFound { op, message } => fail(
            crate::exit::NOT_FOUND,
            format!("{}: {message}", op_line(op)),
        ),
        EditError::Invalid { op, message } | EditError::Conflict { op, message } => {
            fail(INVALID, format!("{}: {message}", op_line(op)))
        }
        EditError::Unreadable {
            key,
            message,
            position,
        } => fail(
            INVALID,
            format!(
                "{source}:{}:{}: {key} cannot be read ({message}); fix it first (see `aws-auth lint`)",
                position.line, position.column
            ),
        ),
        EditError::Guarded { guards } => {
            let reasons: Vec<String> = guards.iter().map(|g| g.message.clone()).collect();
            fail(
                REFUSED,
                format!(
                    "refused: this edit {}; nothing was written (use --force to do it anyway)",
                    reasons.join("; and ")
                ),
            )
        }
        EditError::WouldDelete {
            key,
            reason,
            position,
            ..
        } => fail(
            INVALID,
            format!(
                "{source}:{}:{}: {key} cannot be edited in place because {reason}, and writing it whole would delete the text from this line on, which the authenticator does not read; nothing was written (fix it by hand, or use --force to rewrite it and delete that text)",
                position.line, position.column
            ),
        ),
        EditError::Layout { message } => fail(INVALID, format!("{source}: {message}")),
        e @ EditError::Verification { .. } => fail(INTERNAL, format!("{source}: {e}")),
        other => fail(INTERNAL, format!("{source}: {other}")),
    }
}

/// What an edit prints with `-o json|yaml`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EditOutput<'a> {
    changes: &'a [aws_auth_core::edit::Change],
    keys: Vec<KeyOutput>,
    forced: &'a [aws_auth_core::edit::Guard],
    dry_run: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster: Option<&'a ClusterWrite>,
}

/// How a cluster write went, for the report.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ClusterWrite {
    /// `namespace/name`.
    pub(crate) object: String,
    pub(crate) resource_version_before: Option<String>,
    pub(crate) resource_version_after: Option<String>,
    pub(crate) attempts: u32,
    pub(crate) created: bool,
    /// The API server validated the write and stored nothing.
    pub(crate) server_dry_run: bool,
    pub(crate) backup: Option<String>,
}

#[derive(Serialize)]
struct KeyOutput {
    key: &'static str,
    written: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    deleted: Option<String>,
}

fn written(w: &Written) -> String {
    match w {
        Written::InPlace => "in place".to_owned(),
        Written::Rewritten { reason } => format!("rewritten whole ({reason})"),
        Written::Created => "created".to_owned(),
        _ => "written".to_owned(),
    }
}

/// An edit's result: what it changed and, on a cluster, how the write went.
struct EditResult {
    edited: Edited,
    /// `--dry-run=client` (nothing was sent).
    dry_run: bool,
    cluster: Option<ClusterWrite>,
}

impl EditResult {
    /// Nothing was stored: a client or a server dry run.
    fn nothing_stored(&self) -> bool {
        self.dry_run || self.cluster.as_ref().is_some_and(|c| c.server_dry_run)
    }
}

impl Serialize for EditResult {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        EditOutput {
            changes: &self.edited.changes,
            keys: self
                .edited
                .keys
                .iter()
                .map(|k| KeyOutput {
                    key: k.key.as_str(),
                    written: written(&k.written),
                    deleted: k.deleted.clone(),
                })
                .collect(),
            forced: &self.edited.forced,
            dry_run: self.nothing_stored(),
            cluster: self.cluster.as_ref(),
        }
        .serialize(s)
    }
}

impl Text for EditResult {
    fn text(&self) -> String {
        let (edited, dry_run) = (&self.edited, self.dry_run);
        let mut s = String::new();
        if self.nothing_stored() {
            s.push_str(&output::color_diff(&edited.diff()));
        }
        for c in &edited.changes {
            if dry_run {
                let _ = writeln!(s, "{}", c.planned());
            } else {
                let _ = writeln!(s, "{c}");
            }
        }
        for k in &edited.keys {
            if let Written::Rewritten { reason } = &k.written {
                let _ = writeln!(
                    s,
                    "note: data.{} {} whole because {reason}",
                    k.key,
                    if dry_run {
                        "would be rewritten"
                    } else {
                        "was rewritten"
                    }
                );
            }
            if let Some(deleted) = &k.deleted {
                let _ = writeln!(
                    s,
                    "note: forced: {} data.{} whole, deleting its former text:",
                    if dry_run { "would rewrite" } else { "rewrote" },
                    k.key
                );
                for line in deleted.lines() {
                    let _ = writeln!(s, "  | {line}");
                }
            }
        }
        match &self.cluster {
            Some(c) if c.server_dry_run => {
                let _ = writeln!(
                    s,
                    "dry run: the API server accepted the write to {} and stored nothing",
                    c.object
                );
            }
            _ if dry_run => s.push_str("dry run: nothing was written\n"),
            Some(c) => {
                let verb = if c.created { "created" } else { "written to" };
                let _ = write!(s, "{verb} {}", c.object);
                match (&c.resource_version_before, &c.resource_version_after) {
                    (Some(a), Some(b)) => {
                        let _ = write!(s, " (resourceVersion {a} -> {b})");
                    }
                    (None, Some(b)) => {
                        let _ = write!(s, " (resourceVersion {b})");
                    }
                    _ => {}
                }
                if c.attempts > 1 {
                    let _ = write!(
                        s,
                        " after {} attempts: other writers changed the map meanwhile and their changes were kept",
                        c.attempts
                    );
                }
                s.push('\n');
            }
            None => {}
        }
        s
    }
}

/// What an edit reports: a summary (or the diff with --dry-run), and for a
/// cluster how the write went.
/// What is worth saying of a mapping just added: no access-entry form
/// (said now, not when the migration stops on it), a role whose sessions
/// all log in under one name, no groups at all.
fn added_warnings(spec: &MappingSpec, role: bool) -> Vec<String> {
    let mut out = Vec::new();
    if let Some((_, why)) =
        aws_auth_core::migrate::blocks_migration(&spec.arn, &spec.username, &spec.groups)
    {
        out.push(format!(
            "warning: {} cannot move to EKS access entries as it is: {why}",
            spec.arn
        ));
    }
    if role && !spec.username.contains("{{") {
        out.push(format!(
            "warning: every session of {} logs in as {:?}, so the audit log cannot tell who did what; a username like \"{}:{{{{SessionName}}}}\" names each session",
            spec.arn, spec.username, spec.username
        ));
    }
    if spec.groups.is_empty() {
        out.push(format!(
            "warning: {} gets no groups: it may log in but do nothing until a binding names its username (`aws-auth grant` writes the mapping and its binding together)",
            spec.arn
        ));
    }
    out
}

pub(crate) fn edit_report(
    edited: Edited,
    ops: &Ops,
    dry_run: bool,
    cluster: Option<ClusterWrite>,
) -> Report {
    let mut notes = ops.notes.clone();
    for c in &edited.changes {
        if c.effect != Effect::Added {
            continue;
        }
        if let Some(op @ (Op::AddRole(spec) | Op::AddUser(spec))) = ops.ops.get(c.op) {
            notes.extend(added_warnings(spec, matches!(op, Op::AddRole(_))));
        }
    }
    for g in &edited.forced {
        notes.push(format!("warning: forced: this edit {}", g.message));
    }
    let backup = cluster.as_ref().and_then(|c| c.backup.clone());
    let mut report = Report::new(EditResult {
        edited,
        dry_run,
        cluster,
    });
    report.prepend_notes(notes);
    match backup {
        Some(b) => report.aside(format!("backup of the prior object: {b}")),
        None => report,
    }
}
