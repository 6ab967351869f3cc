//! Manifest files: read, and written back atomically with their permissions.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::exit::{INVALID, IO, NOT_FOUND, fail};
use aws_auth_core::Document;

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
            Target::Path(p) => write_atomically(p, text)
                .map_err(|e| fail(IO, format!("cannot write {}: {e}", p.display()))),
        }
    }
}

fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    // Write through a symlink to the file it names, keeping the link.
    let path = std::fs::canonicalize(path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let permissions = std::fs::metadata(&path)?.permissions();
    let mut tmp = tempfile::Builder::new()
        .prefix(".aws-auth-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    std::fs::set_permissions(tmp.path(), permissions)?;
    tmp.persist(&path).map_err(|e| e.error)?;
    Ok(())
}
