//! `grant` and `revoke` on a GitOps checkout: the map manifest edited in
//! place (`--file`), and the bindings written to `--rbac-out`, a file of
//! YAML documents (the others in it kept as written) or a directory (one
//! file per binding).

use std::path::{Path, PathBuf};

use aws_auth_core::arn::Arn;
use aws_auth_core::entries::AuthenticationMode;
use aws_auth_core::grant::{Found, Grant, compare, made_for};
use serde_json::Value;

use crate::cli::{GrantArgs, RevokeArgs};
use crate::commands::{Ops, read_text};
use crate::exit::{INVALID, IO, REFUSED, USAGE, fail};
use crate::file::Target;
use crate::report::Report;
use crate::settings::Settings;

pub(crate) fn grant(
    s: &Settings,
    a: &GrantArgs,
    grant: &Grant,
    map: &Path,
) -> anyhow::Result<Report> {
    let target = manifest(map)?;
    let Some(out) = &a.rbac_out else {
        return Err(fail(
            USAGE,
            "with --file, give --rbac-out PATH: where the bindings go (a file of YAML documents, or a directory)",
        ));
    };
    // A manifest is read as the map alone.
    let plan = aws_auth_core::grant::plan(grant, AuthenticationMode::ConfigMap)
        .map_err(|e| fail(INVALID, format!("{e}; nothing was written")))?;
    let doc = target.document()?;
    let op = plan.map_op(&doc);
    let objects = plan.objects();
    let dry_run = s.dry_run();
    // Refused before anything is written: a binding of that name not ours.
    let out = Out::read(out)?;
    let mut bindings = Vec::new();
    let mut outcomes = Vec::new();
    for o in &objects {
        let found = compare(out.find(o), o, &plan.principal);
        if found == Found::NotOurs {
            return Err(fail(
                REFUSED,
                format!(
                    "{} already holds a binding named {} that grant did not make for {}; nothing was written",
                    out.path.display(),
                    o["metadata"]["name"].as_str().unwrap_or_default(),
                    plan.principal
                ),
            ));
        }
        let outcome = match (found, dry_run) {
            (Found::Same, _) => "unchanged".to_owned(),
            (_, true) => format!("would be written to {}", out.place(o).display()),
            _ => format!("written to {}", out.place(o).display()),
        };
        outcomes.push((o, found));
        bindings.push(crate::grant::Written::of(o, outcome));
    }
    if !dry_run {
        out.write(&outcomes)?;
    }
    let identity = match op {
        Some(op) => Some(crate::source::edit_file(s, &target, Ops::one(op))?.part()?),
        None => None,
    };
    Ok(crate::grant::done(
        &plan.principal,
        Some(plan.clone()),
        bindings,
        objects,
        dry_run,
    )
    .report(identity, Vec::new()))
}

pub(crate) fn revoke(
    s: &Settings,
    a: &RevokeArgs,
    principal: &Arn,
    map: &Path,
) -> anyhow::Result<Report> {
    let target = manifest(map)?;
    let doc = target.document()?;
    let dry_run = s.dry_run();
    let identity = match aws_auth_core::grant::revoke_op(&doc, principal) {
        Some(op) => Some(crate::source::edit_file(s, &target, Ops::one(op))?.part()?),
        None => None,
    };
    let mut bindings = Vec::new();
    if let Some(out) = &a.rbac_out {
        let out = Out::read(out)?;
        let gone = out.remove(principal, dry_run)?;
        for (o, at) in gone {
            let verb = if dry_run {
                "would be deleted"
            } else {
                "deleted"
            };
            bindings.push(crate::grant::Written::of(
                &o,
                format!("{verb} from {}", at.display()),
            ));
        }
    }
    Ok(
        crate::grant::done(principal, None, bindings, Vec::new(), dry_run)
            .report(identity, Vec::new()),
    )
}

/// The map manifest: a file edited in place (stdin and stdout carry one
/// document; a grant writes two places).
fn manifest(path: &Path) -> anyhow::Result<Target> {
    let target = Target::new(path);
    if matches!(target, Target::Stdio) {
        return Err(fail(
            USAGE,
            "grant and revoke edit a manifest file in place: give its path to --file, not -",
        ));
    }
    Ok(target)
}

/// Where the bindings go, and what is there already.
struct Out {
    path: PathBuf,
    /// A directory: each file's path and object; a file: its documents'
    /// text and object.
    dir: bool,
    docs: Vec<(PathBuf, String, Option<Value>)>,
}

impl Out {
    fn read(path: &Path) -> anyhow::Result<Out> {
        let dir = crate::grant::is_dir(path);
        let mut docs = Vec::new();
        if dir {
            if path.exists() {
                for f in crate::commands::manifest_files(path)? {
                    let text = read_text(&f)?;
                    for (doc, value) in split(&f, &text)? {
                        docs.push((f.clone(), doc, value));
                    }
                }
            }
        } else if path.exists() {
            let text = read_text(path)?;
            for (doc, value) in split(path, &text)? {
                docs.push((path.to_path_buf(), doc, value));
            }
        }
        Ok(Out {
            path: path.to_path_buf(),
            dir,
            docs,
        })
    }

    /// The object of `o`'s kind, namespace and name, if one is here.
    fn find(&self, o: &Value) -> Option<&Value> {
        self.docs
            .iter()
            .filter_map(|(_, _, v)| v.as_ref())
            .find(|v| same_object(v, o))
    }

    /// The file `o` is (or would be) in.
    fn place(&self, o: &Value) -> PathBuf {
        if !self.dir {
            return self.path.clone();
        }
        self.docs
            .iter()
            .find(|(_, _, v)| v.as_ref().is_some_and(|v| same_object(v, o)))
            .map_or_else(|| self.path.join(file_name(o)), |(p, _, _)| p.clone())
    }

    /// Writes the objects that are new or differ, keeping everything else.
    fn write(&self, outcomes: &[(&Value, Found)]) -> anyhow::Result<()> {
        let changed: Vec<&Value> = outcomes
            .iter()
            .filter(|(_, f)| *f != Found::Same)
            .map(|(o, _)| *o)
            .collect();
        if changed.is_empty() {
            return Ok(());
        }
        if self.dir {
            std::fs::create_dir_all(&self.path)
                .map_err(|e| fail(IO, format!("cannot create {}: {e}", self.path.display())))?;
            for o in changed {
                write_file(&self.place(o), &crate::output::yaml(o))?;
            }
            return Ok(());
        }
        let mut texts: Vec<String> = Vec::new();
        for (_, doc, v) in &self.docs {
            match v
                .as_ref()
                .and_then(|v| changed.iter().find(|o| same_object(v, o)))
            {
                Some(o) => texts.push(crate::output::yaml(o)),
                None => texts.push(doc.clone()),
            }
        }
        for o in changed {
            if self.find(o).is_none() {
                texts.push(crate::output::yaml(o));
            }
        }
        write_file(&self.path, &join(texts))
    }

    /// Takes out what grants made for `principal`: the objects and where
    /// they were.
    fn remove(&self, principal: &Arn, dry_run: bool) -> anyhow::Result<Vec<(Value, PathBuf)>> {
        let ours = |v: &Option<Value>| v.as_ref().is_some_and(|v| made_for(v, principal));
        let gone: Vec<(Value, PathBuf)> = self
            .docs
            .iter()
            .filter(|(_, _, v)| ours(v))
            .map(|(p, _, v)| (v.clone().unwrap_or_default(), p.clone()))
            .collect();
        if dry_run || gone.is_empty() {
            return Ok(gone);
        }
        // Each file that held one keeps its other documents (none: deleted).
        let mut files: Vec<&PathBuf> = gone.iter().map(|(_, p)| p).collect();
        files.dedup();
        for f in files {
            let kept: Vec<String> = self
                .docs
                .iter()
                .filter(|(p, _, v)| p == f && !ours(v))
                .map(|(_, d, _)| d.clone())
                .collect();
            let only_blank = kept.iter().all(|d| d.trim().is_empty());
            if only_blank && self.dir {
                std::fs::remove_file(f)
                    .map_err(|e| fail(IO, format!("cannot delete {}: {e}", f.display())))?;
            } else {
                write_file(f, &join(kept))?;
            }
        }
        Ok(gone)
    }
}

/// Each document's text and object.
fn split(path: &Path, text: &str) -> anyhow::Result<Vec<(String, Option<Value>)>> {
    Ok(aws_auth_core::rbac::split_manifests(text)
        .map_err(|e| fail(INVALID, format!("{}: {e}", path.display())))?
        .into_iter()
        .map(|d| (d.text.to_owned(), d.object))
        .collect())
}

fn same_object(a: &Value, b: &Value) -> bool {
    let key = |v: &Value| {
        (
            v["kind"].as_str().map(str::to_owned),
            v["metadata"]["namespace"].as_str().map(str::to_owned),
            v["metadata"]["name"].as_str().map(str::to_owned),
        )
    };
    key(a) == key(b)
}

/// `NAMESPACE.NAME.yaml` (`cluster.NAME.yaml` for a ClusterRoleBinding),
/// with the name's colons made dashes for every file system.
fn file_name(o: &Value) -> String {
    let ns = o["metadata"]["namespace"].as_str().unwrap_or("cluster");
    let name = o["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .replace(':', "-");
    format!("{ns}.{name}.yaml")
}

/// Documents joined by `---` lines.
fn join(docs: Vec<String>) -> String {
    let docs: Vec<String> = docs
        .into_iter()
        .filter(|d| !d.trim().is_empty())
        .map(|d| {
            if d.ends_with('\n') {
                d
            } else {
                format!("{d}\n")
            }
        })
        .collect();
    docs.join("---\n")
}

fn write_file(path: &Path, text: &str) -> anyhow::Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|t| t == text) {
        return Ok(());
    }
    std::fs::write(path, text)
        .map_err(|e| fail(IO, format!("cannot write {}: {e}", path.display())))
}
