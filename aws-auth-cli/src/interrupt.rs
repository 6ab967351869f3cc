//! Ctrl-C, SIGTERM and SIGHUP (a closed terminal): the temporary files being
//! written beside a manifest are removed before the process ends (exit 130,
//! 143 or 129, as a shell reports death by these signals).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// Temporary files that must not outlive the process.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// What a long-running command does on the first signal instead of exiting
/// (the webhook's graceful shutdown); a second signal exits.
static ON_SIGNAL: std::sync::OnceLock<Box<dyn Fn() + Send + Sync>> = std::sync::OnceLock::new();

/// Makes the first SIGINT, SIGTERM or SIGHUP call `f` instead of ending the
/// process.
pub(crate) fn on_signal(f: impl Fn() + Send + Sync + 'static) {
    let _ = ON_SIGNAL.set(Box::new(f));
}

/// Starts the thread that waits for SIGINT, SIGTERM and SIGHUP. Without it (it could
/// not be started) the signals keep their default action.
pub(crate) fn install() {
    let Ok(mut signals) = Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    let _ = std::thread::Builder::new()
        .name("signals".to_owned())
        .spawn(move || {
            let mut signals = signals.forever();
            let first = signals.next();
            if let (Some(_), Some(f)) = (first, ON_SIGNAL.get()) {
                f();
                // A second signal does not wait for the graceful end.
                if let Some(signal) = signals.next() {
                    std::process::exit(128 + signal);
                }
                return;
            }
            if let Some(signal) = first {
                // Held until exit: no file is renamed into place meanwhile.
                let pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
                for path in pending.iter() {
                    let _ = std::fs::remove_file(path);
                }
                std::process::exit(128 + signal);
            }
        });
}

/// A temporary file, removed if the process is interrupted while it exists.
#[derive(Debug)]
pub(crate) struct Pending(PathBuf);

impl Pending {
    pub(crate) fn new(path: &Path) -> Pending {
        PENDING
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(path.to_owned());
        Pending(path.to_owned())
    }

    /// Runs `f` (the rename into place) with signals held off, then forgets
    /// the file.
    pub(crate) fn finish<T>(self, f: impl FnOnce() -> T) -> T {
        let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
        let out = f();
        pending.retain(|p| p != &self.0);
        out
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        PENDING
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|p| p != &self.0);
    }
}
