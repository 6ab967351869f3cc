//! Backups of the whole ConfigMap, saved before every write and on demand.
//!
//! A backup is the object as the API server returned it, as pretty JSON (which
//! is also YAML, so `kubectl apply -f` and `aws-auth restore` both take it),
//! readable by its owner only: the map says who may administer the cluster.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_auth_core::restore::ObjectId;
use k8s_openapi::api::core::v1::ConfigMap;

use crate::exit::{INVALID, IO, fail};

/// `$XDG_STATE_HOME/aws-auth/backups/<context>/`, `$XDG_STATE_HOME` defaulting
/// to `~/.local/state`.
pub(crate) fn default_dir(context: &str) -> anyhow::Result<PathBuf> {
    let dir = state_dir("backups").map_err(|_| {
        fail(
            IO,
            "cannot place the backup: neither XDG_STATE_HOME nor HOME is set (give --out FILE)",
        )
    })?;
    Ok(dir.join(safe_component(context)))
}

/// `$XDG_STATE_HOME/aws-auth/<what>`, `$XDG_STATE_HOME` defaulting to
/// `~/.local/state`; `Err` when neither is set.
pub(crate) fn state_dir(what: &str) -> Result<PathBuf, ()> {
    let state = match std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            Some(home) => PathBuf::from(home).join(".local").join("state"),
            None => return Err(()),
        },
    };
    Ok(state.join("aws-auth").join(what))
}

/// A context name as one path component (they hold `:` and `/`, e.g. an EKS ARN).
pub(crate) fn safe_component(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@') {
                c
            } else {
                '_'
            }
        })
        .collect();
    match s.as_str() {
        "" | "." | ".." => "default".to_owned(),
        _ => s,
    }
}

/// `aws-auth-20261123T101500Z-rv12345.json`.
pub(crate) fn file_name(now: SystemTime, resource_version: Option<&str>) -> String {
    let rv = resource_version.map_or_else(|| "none".to_owned(), safe_component);
    format!("aws-auth-{}-rv{rv}.json", timestamp(now))
}

/// UTC `YYYYMMDDTHHMMSSZ`.
fn timestamp(now: SystemTime) -> String {
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Saves `config_map` into `dir` under a fresh name, or to `file`; returns the path.
pub(crate) fn save(
    config_map: &ConfigMap,
    dir: &Path,
    file: Option<&Path>,
) -> anyhow::Result<PathBuf> {
    let mut text = serde_json::to_string_pretty(config_map)?;
    text.push('\n');
    if let Some(file) = file {
        write_private(file, &text, false)?;
        return Ok(file.to_owned());
    }
    create_private_dir(dir)?;
    let base = file_name(
        SystemTime::now(),
        config_map.metadata.resource_version.as_deref(),
    );
    for n in 0..100 {
        let name = match n {
            0 => base.clone(),
            n => base.replace(".json", &format!("-{n}.json")),
        };
        let path = dir.join(name);
        match write_private(&path, &text, true) {
            Ok(()) => return Ok(path),
            Err(WriteError::Exists) => continue,
            Err(WriteError::Other(e)) => return Err(e),
        }
    }
    Err(fail(
        IO,
        format!("cannot find a free backup name in {}", dir.display()),
    ))
}

enum WriteError {
    Exists,
    Other(anyhow::Error),
}

impl From<WriteError> for anyhow::Error {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Exists => fail(IO, "the backup file already exists"),
            WriteError::Other(e) => e,
        }
    }
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| {
        fail(
            IO,
            format!("cannot create the backup directory {}: {e}", dir.display()),
        )
    })?;
    check_private_dir(dir)
}

/// Backups say who administers the cluster: a directory others can write to
/// (or that someone else owns) could have them swapped or read.
fn check_private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(dir).map_err(|e| {
        fail(
            IO,
            format!("cannot read the backup directory {}: {e}", dir.display()),
        )
    })?;
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(fail(
            IO,
            format!(
                "the backup directory {} belongs to uid {}, not to you (uid {me}); refusing to keep backups there (fix its owner, or set XDG_STATE_HOME)",
                dir.display(),
                meta.uid()
            ),
        ));
    }
    if meta.mode() & 0o022 != 0 {
        let who = if meta.mode() & 0o002 != 0 {
            "anyone"
        } else {
            "its group"
        };
        return Err(fail(
            IO,
            format!(
                "the backup directory {} can be written by {who} (mode {:04o}); refusing to keep backups there (chmod go-w it)",
                dir.display(),
                meta.mode() & 0o7777
            ),
        ));
    }
    // Whoever can write to a directory above can move this one aside and
    // put theirs in its place, unless the sticky bit (as on /tmp) stops
    // them from renaming what is not theirs.
    for parent in dir.ancestors().skip(1) {
        let Ok(meta) = std::fs::metadata(parent) else {
            continue;
        };
        let owner_ok = meta.uid() == me || meta.uid() == 0;
        let shared = meta.mode() & 0o022 != 0 && meta.mode() & 0o1000 == 0;
        if !owner_ok || shared {
            let why = if owner_ok {
                format!(
                    "can be written by others (mode {:04o})",
                    meta.mode() & 0o7777
                )
            } else {
                format!("belongs to uid {}", meta.uid())
            };
            return Err(fail(
                IO,
                format!(
                    "the backup directory {} is inside {}, which {why}: whoever can write there could swap the backups; refusing to keep backups there (fix it, or set XDG_STATE_HOME)",
                    dir.display(),
                    parent.display()
                ),
            ));
        }
    }
    Ok(())
}

fn write_private(path: &Path, text: &str, new: bool) -> Result<(), WriteError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if new {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = match options.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(WriteError::Exists),
        Err(e) => {
            return Err(WriteError::Other(fail(
                IO,
                format!("cannot write the backup {}: {e}", path.display()),
            )));
        }
    };
    // An existing file named with --out keeps its mode otherwise.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = f.set_permissions(std::fs::Permissions::from_mode(0o600));
    }
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| {
            WriteError::Other(fail(
                IO,
                format!("cannot write the backup {}: {e}", path.display()),
            ))
        })
}

/// What a backup file holds: the object it was taken of, and its data.
#[derive(Debug, Clone, Default)]
pub(crate) struct Backup {
    pub(crate) id: ObjectId,
    pub(crate) data: BTreeMap<String, String>,
}

/// A backup: a ConfigMap as JSON (what `backup` writes) or any ConfigMap
/// manifest in YAML (`kubectl get -o yaml`).
pub(crate) fn read(path: &Path) -> anyhow::Result<Backup> {
    let text = crate::commands::read_text(path)?;
    if let Ok(cm) = serde_json::from_str::<ConfigMap>(&text) {
        return Ok(Backup {
            id: ObjectId::new(cm.metadata.namespace, cm.metadata.name, cm.metadata.uid),
            data: cm.data.unwrap_or_default(),
        });
    }
    let doc = aws_auth_core::Document::parse_manifest(text.as_str()).map_err(|e| {
        fail(
            INVALID,
            format!(
                "{}:{}:{}: not a ConfigMap backup: {}",
                path.display(),
                e.position.line,
                e.position.column,
                e.message
            ),
        )
    })?;
    Ok(Backup {
        id: ObjectId::new(
            doc.namespace().map(str::to_owned),
            doc.name().map(str::to_owned),
            doc.uid().map(str::to_owned),
        ),
        data: doc
            .data_keys()
            .into_iter()
            .filter_map(|k| doc.data_value(k).map(|v| (k.to_owned(), v.to_owned())))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn names_sort_by_time_and_carry_the_version() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        assert_eq!(
            file_name(t, Some("123456")),
            "aws-auth-20261118T110640Z-rv123456.json"
        );
        assert_eq!(
            file_name(UNIX_EPOCH, None),
            "aws-auth-19700101T000000Z-rvnone.json"
        );
        // Leap day, and the last second of a year.
        assert_eq!(
            timestamp(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "20000229T000000Z"
        );
        assert_eq!(
            timestamp(UNIX_EPOCH + Duration::from_secs(1_767_225_599)),
            "20251231T235959Z"
        );
    }

    #[test]
    fn context_names_become_one_path_component() {
        assert_eq!(
            safe_component("arn:aws:eks:eu-west-1:111122223333:cluster/prod"),
            "arn_aws_eks_eu-west-1_111122223333_cluster_prod"
        );
        assert_eq!(safe_component(".."), "default");
        assert_eq!(safe_component(""), "default");
    }
}
