//! `-v` logging to stderr.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

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
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(verbose >= 2)
        .try_init();
}
