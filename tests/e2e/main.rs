//! End-to-end tests of the `aws-auth` binary: real processes, a scrubbed
//! environment, files checked byte for byte.

mod docs;
mod files;

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The binary with an empty environment (no kubeconfig, AWS profile or colour
/// settings leak in from the machine running the tests).
pub(crate) fn aws_auth(home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("aws-auth").expect("the aws-auth binary is built");
    cmd.env_clear().env("HOME", home).env("NO_COLOR", "1");
    cmd
}

/// A fixture's text.
pub(crate) fn fixture(name: &str) -> String {
    std::fs::read_to_string(repo().join("fixtures").join(name)).expect("fixture exists")
}

pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}
