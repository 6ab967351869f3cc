//! `-v` logging to stderr.

use std::io::{IsTerminal, Write};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Writes each log record to stderr once it is whole, redacted: the AWS
/// SDK's own warnings quote what a failing credential_process printed, and
/// that may be the very secret it failed to hand over.
struct Redacting;

/// One record on its way.
struct Record(Vec<u8>);

impl Write for Record {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Record {
    fn drop(&mut self) {
        let text = crate::credentials::redact_untrusted(&String::from_utf8_lossy(&self.0));
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }
}

impl<'a> MakeWriter<'a> for Redacting {
    type Writer = Record;

    fn make_writer(&'a self) -> Record {
        Record(Vec::new())
    }
}

/// Installs the logger for `-v` (info), `-vv` (debug) or `-vvv` (trace).
///
/// Only our crates and kube's request log are ever verbose: the HTTP and AWS
/// SDK layers below them can print headers, and headers carry bearer tokens
/// and signatures.
pub(crate) fn init(verbose: u8) {
    let ours = match verbose {
        0 => return,
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let kube = if verbose >= 2 { "debug" } else { "info" };
    let filter = EnvFilter::new(format!(
        "warn,aws_auth_cli={ours},aws_auth_core={ours},kube_client={kube},kube={kube}"
    ));
    let ansi = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Redacting)
        .with_ansi(ansi)
        .with_target(verbose >= 2)
        .try_init();
}
