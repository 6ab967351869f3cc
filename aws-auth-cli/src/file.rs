//! Manifest files: read, and written back atomically with their permissions.

use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::exit::{INVALID, IO, NOT_FOUND, fail};
use aws_auth_core::Document;

/// What `--file NEW --create` starts from: the kube-system/aws-auth ConfigMap
/// with no data.
pub(crate) const NEW_MANIFEST: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\n";

/// Where the manifest comes from and goes to.
#[derive(Debug)]
pub(crate) enum Target {
    Stdio,
    Path(PathBuf),
}

impl Target {
    pub(crate) fn new(path: &Path) -> Target {
        if path == Path::new("-") {
            Target::Stdio
        } else {
            Target::Path(path.to_owned())
        }
    }

    /// A name for messages.
    pub(crate) fn name(&self) -> String {
        match self {
            Target::Stdio => "<stdin>".to_owned(),
            Target::Path(p) => p.display().to_string(),
        }
    }

    pub(crate) fn read(&self) -> anyhow::Result<String> {
        let mut text = String::new();
        let result = match self {
            Target::Stdio => std::io::stdin().read_to_string(&mut text).map(|_| ()),
            Target::Path(p) => std::fs::read_to_string(p).map(|t| text = t),
        };
        match result {
            Ok(()) => Ok(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(fail(NOT_FOUND, format!("{} does not exist", self.name())))
            }
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                Err(fail(INVALID, format!("{} is not UTF-8 text", self.name())))
            }
            Err(e) => Err(fail(IO, format!("cannot read {}: {e}", self.name()))),
        }
    }

    /// Reads and parses the manifest.
    pub(crate) fn document(&self) -> anyhow::Result<Document> {
        let text = self.read()?;
        Document::parse_manifest(text).map_err(|e| {
            fail(
                INVALID,
                format!(
                    "{}:{}:{}: {}",
                    self.name(),
                    e.position.line,
                    e.position.column,
                    e.message
                ),
            )
        })
    }

    /// Writes a manifest that did not exist (and must not exist now: a file
    /// made meanwhile is not overwritten).
    pub(crate) fn create(&self, text: &str) -> anyhow::Result<()> {
        let Target::Path(p) = self else {
            return self.write(text);
        };
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(p)
            .map_err(|e| fail(IO, format!("cannot create {}: {e}", p.display())))?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| fail(IO, format!("cannot write {}: {e}", p.display())))
    }

    /// Writes the new manifest: stdout, or a temporary file beside the target
    /// renamed over it, so that readers see the old or the new file, never half.
    pub(crate) fn write(&self, text: &str) -> anyhow::Result<()> {
        match self {
            Target::Stdio => {
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes())
                    .and_then(|()| out.flush())
                    .map_err(|e| fail(IO, format!("cannot write to stdout: {e}")))
            }
            Target::Path(p) => write_file(p, text),
        }
    }
}

/// Writes `text` over the manifest at `path`, keeping what the file is:
/// its mode, owner and group, its hard links; a read-only file is refused.
fn write_file(path: &Path, text: &str) -> anyhow::Result<()> {
    let io = |e: std::io::Error| fail(IO, format!("cannot write {}: {e}", path.display()));
    // Write through a symlink to the file it names, keeping the link.
    let real = std::fs::canonicalize(path).map_err(io)?;
    let meta = std::fs::metadata(&real).map_err(io)?;
    if !writable(&meta) {
        return Err(fail(
            IO,
            format!(
                "{} is read-only (mode {:04o}); nothing was written (make it writable to edit it)",
                path.display(),
                meta.mode() & 0o7777
            ),
        ));
    }
    if meta.nlink() > 1 {
        // A rename would leave the other names with the old text.
        return write_in_place(&real, text).map_err(io);
    }
    write_atomically(&real, &meta, text).map_err(|e| match e {
        Failure::Io(e) => io(e),
        Failure::Owner(e) => fail(
            IO,
            format!(
                "cannot give the new {} its owner and group (uid {}, gid {}): {e}; nothing was written",
                path.display(),
                meta.uid(),
                meta.gid()
            ),
        ),
    })
}

/// The file's mode lets us write it (by its bits, not by privilege: root
/// honours a read-only file too).
fn writable(meta: &std::fs::Metadata) -> bool {
    let mode = meta.mode();
    let uid = rustix::process::geteuid().as_raw();
    if uid == 0 {
        return mode & 0o222 != 0;
    }
    if meta.uid() == uid {
        return mode & 0o200 != 0;
    }
    let gid = meta.gid();
    let in_group = rustix::process::getegid().as_raw() == gid
        || rustix::process::getgroups()
            .map(|gs| gs.iter().any(|g| g.as_raw() == gid))
            .unwrap_or(false);
    if in_group {
        return mode & 0o020 != 0;
    }
    mode & 0o002 != 0
}

/// Why an atomic write failed.
enum Failure {
    Io(std::io::Error),
    Owner(std::io::Error),
}

/// A temporary file in the same directory, synced, given the original's mode,
/// owner and group, then renamed over it: readers see the old file or the new
/// one, never half. Interrupted, the temporary file is removed.
fn write_atomically(path: &Path, meta: &std::fs::Metadata, text: &str) -> Result<(), Failure> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".aws-auth-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(Failure::Io)?;
    let pending = crate::interrupt::Pending::new(tmp.path());
    #[cfg(debug_assertions)]
    if let Some(ms) = std::env::var_os("AWS_AUTH_TEST_PAUSE_WRITE_MS") {
        // Lets the tests interrupt a write half way; debug builds only.
        let ms = ms.to_string_lossy().parse().unwrap_or(0);
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
    tmp.write_all(text.as_bytes()).map_err(Failure::Io)?;
    tmp.as_file().sync_all().map_err(Failure::Io)?;
    std::fs::set_permissions(tmp.path(), meta.permissions()).map_err(Failure::Io)?;
    let made = tmp.as_file().metadata().map_err(Failure::Io)?;
    if (made.uid(), made.gid()) != (meta.uid(), meta.gid()) {
        std::os::unix::fs::chown(tmp.path(), Some(meta.uid()), Some(meta.gid()))
            .map_err(Failure::Owner)?;
        // chown may clear set-id bits: the mode again.
        std::fs::set_permissions(tmp.path(), meta.permissions()).map_err(Failure::Io)?;
    }
    pending
        .finish(|| tmp.persist(path))
        .map_err(|e| Failure::Io(e.error))?;
    Ok(())
}

/// Overwrites the file itself (every hard link sees the new text). Not
/// atomic: a reader may see it half written.
fn write_in_place(path: &Path, text: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
    f.write_all(text.as_bytes())?;
    f.set_len(text.len() as u64)?;
    f.sync_all()
}
