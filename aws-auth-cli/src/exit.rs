//! Exit codes (documented in the README) and the error that carries one.

use std::fmt;

/// Success.
pub(crate) const OK: u8 = 0;
/// lint found errors.
pub(crate) const LINT_ERRORS: u8 = 1;
/// explain: the principal gets no mapping (the authenticator refuses it).
pub(crate) const NO_MAPPING: u8 = 1;
/// lint --strict found warnings only.
pub(crate) const LINT_WARNINGS: u8 = 2;
/// The manifest file or the ConfigMap does not exist.
pub(crate) const NOT_FOUND: u8 = 3;
/// A guard refused the edit (needs --force), or the confirmation was declined.
pub(crate) const REFUSED: u8 = 4;
/// Invalid input: manifest, ARN, value, a mapping that is missing or conflicts.
pub(crate) const INVALID: u8 = 5;
/// Other writers kept changing the map, or changed it so that the edit no
/// longer applies; nothing was written.
pub(crate) const CONFLICT: u8 = 6;
/// Usage error.
pub(crate) const USAGE: u8 = 64;
/// The Kubernetes API could not be reached, timed out or failed (5xx).
pub(crate) const UNAVAILABLE: u8 = 69;
/// Internal error: an edit did not verify; nothing was written.
pub(crate) const INTERNAL: u8 = 70;
/// Reading or writing a file failed.
pub(crate) const IO: u8 = 74;
/// The API server refused access (401, 403: RBAC or credentials).
pub(crate) const NOPERM: u8 = 77;
/// The kubeconfig is missing, unreadable or names a context that does not exist.
pub(crate) const CONFIG: u8 = 78;

/// An error with the exit code it ends the program with.
#[derive(Debug)]
pub(crate) struct Exit {
    pub(crate) code: u8,
    pub(crate) message: String,
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

/// An error that ends the program with `code`.
pub(crate) fn fail(code: u8, message: impl Into<String>) -> anyhow::Error {
    Exit {
        code,
        message: message.into(),
    }
    .into()
}
