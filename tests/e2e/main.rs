//! End-to-end tests of the `aws-auth` binary: real processes, a scrubbed
//! environment, files checked byte for byte.

mod access;
mod apiserver;
mod apiserver_rbac;
mod aws;
mod awscli;
mod cluster;
mod docs;
mod files;
mod grant;
mod kubectl;
mod migrate;
mod proxy;
mod tls;
mod webhook;
mod webhook_client;
mod who;

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

/// The directory of the `kubectl` on the test runner's PATH. The tests that
/// hold the local API server to the real client need it: `.ci/run` installs
/// Debian's `kubernetes-client` when there is none.
pub(crate) fn kubectl_dir() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .find(|d| d.join("kubectl").is_file())
        .expect("kubectl is not on PATH: install it (Debian: apt-get install kubernetes-client), as .ci/run does")
}

/// `kubectl` with a scrubbed environment, pointed at `env`'s server.
pub(crate) fn kubectl(env: &cluster::Env) -> std::process::Command {
    let mut cmd = std::process::Command::new(kubectl_dir().join("kubectl"));
    cmd.env_clear()
        .env("HOME", env.home.path())
        .env("PATH", kubectl_dir())
        .env("KUBECONFIG", &env.kubeconfig);
    cmd
}
