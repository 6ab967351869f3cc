//! The local AWS endpoints held to the real AWS CLI (`pip install awscli`;
//! `.ci/test` installs it): if `aws` gets the same answers from them as from
//! AWS, they are honest enough to test our SDK clients on.

use std::process::Command;

use serde_json::Value;

use crate::sts::Sts;

/// `aws` with fake credentials and nothing from the machine's AWS config.
pub(crate) fn aws(home: &std::path::Path) -> Command {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path).any(|d| d.join("aws").is_file());
    assert!(
        found,
        "the AWS CLI is not on PATH: install it (pip install awscli), as .ci/test does"
    );
    let mut cmd = Command::new("aws");
    cmd.env_clear()
        .env("PATH", path)
        .env("HOME", home)
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        )
        .env("AWS_DEFAULT_REGION", "eu-west-1")
        .env("AWS_CONFIG_FILE", home.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.join("no-aws-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for var in ["PYENV_ROOT", "PYENV_VERSION"] {
        if let Some(v) = std::env::var_os(var) {
            cmd.env(var, v);
        }
    }
    cmd
}

#[test]
fn sts_answers_the_aws_cli_as_aws_does() {
    let home = tempfile::tempdir().unwrap();
    let arn = "arn:aws:sts::111122223333:assumed-role/Admin/alice@example.com";
    let sts = Sts::start(arn);
    let out = aws(home.path())
        .args([
            "sts",
            "get-caller-identity",
            "--output",
            "json",
            "--endpoint-url",
            &sts.url(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["Arn"], arn);
    assert_eq!(v["Account"], "111122223333");
    assert_eq!(v["UserId"], "AROAEXAMPLE:session");
    // Unsigned requests are refused, as AWS refuses them.
    let out = aws(home.path())
        .args([
            "sts",
            "get-caller-identity",
            "--no-sign-request",
            "--endpoint-url",
            &sts.url(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("MissingAuthenticationToken"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
