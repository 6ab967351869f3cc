//! The local AWS endpoints held to the real AWS CLI (`pip install awscli`;
//! `.ci/test` installs it): if `aws` gets the same answers from them as from
//! AWS, they are honest enough to test our SDK clients on.

use std::process::Command;

use serde_json::{Value, json};

use crate::aws::Aws;

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
    let sts = Aws::start(arn);
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

fn run(home: &std::path::Path, url: &str, args: &[&str]) -> (bool, Value, String) {
    let out = aws(home)
        .args(args)
        .args(["--output", "json", "--endpoint-url", url])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (
        out.status.success(),
        serde_json::from_str(&stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn eks_and_iam_answer_the_aws_cli_as_aws_does() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let fake = Aws::start("arn:aws:sts::111122223333:assumed-role/Admin/alice");
    let url = fake.url();
    fake.cluster("prod", "CONFIG_MAP", "https://127.0.0.1:6443");
    let sso = fake.role(
        "/aws-reserved/sso.amazonaws.com/",
        "AWSReservedSSO_Admin_0123",
    );
    fake.set_polls_per_update(1);

    let (ok, v, err) = run(home, &url, &["eks", "describe-cluster", "--name", "prod"]);
    assert!(ok, "{err}");
    assert_eq!(
        v["cluster"]["accessConfig"]["authenticationMode"],
        "CONFIG_MAP"
    );
    // Access entries need another mode first...
    let (ok, _, err) = run(
        home,
        &url,
        &["eks", "list-access-entries", "--cluster-name", "prod"],
    );
    assert!(!ok);
    assert!(err.contains("An error occurred (InvalidRequestException) when calling the ListAccessEntries operation: The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation."), "{err}");
    // ...and CONFIG_MAP cannot go straight to API.
    let (ok, _, err) = run(
        home,
        &url,
        &[
            "eks",
            "update-cluster-config",
            "--name",
            "prod",
            "--access-config",
            "authenticationMode=API",
        ],
    );
    assert!(!ok);
    assert!(err.contains("(InvalidParameterException) when calling the UpdateClusterConfig operation: Unsupported authentication mode update from CONFIG_MAP to API"), "{err}");
    let (ok, v, err) = run(
        home,
        &url,
        &[
            "eks",
            "update-cluster-config",
            "--name",
            "prod",
            "--access-config",
            "authenticationMode=API_AND_CONFIG_MAP",
        ],
    );
    assert!(ok, "{err}");
    let id = v["update"]["id"].as_str().unwrap().to_owned();
    assert_eq!(v["update"]["status"], "InProgress");
    assert_eq!(v["update"]["type"], "AccessConfigUpdate");
    let (ok, _, err) = run(
        home,
        &url,
        &[
            "eks",
            "update-cluster-config",
            "--name",
            "prod",
            "--access-config",
            "authenticationMode=API",
        ],
    );
    assert!(!ok && err.contains("(ResourceInUseException)"), "{err}");
    // The update in flight is found by listing.
    let (ok, v, err) = run(home, &url, &["eks", "list-updates", "--name", "prod"]);
    assert!(ok, "{err}");
    assert_eq!(v["updateIds"], json!([id]));
    let mut status = String::new();
    for _ in 0..3 {
        let (ok, v, err) = run(
            home,
            &url,
            &[
                "eks",
                "describe-update",
                "--name",
                "prod",
                "--update-id",
                &id,
            ],
        );
        assert!(ok, "{err}");
        status = v["update"]["status"].as_str().unwrap().to_owned();
    }
    assert_eq!(status, "Successful");

    // Entries: validation, duplicates, policies, pagination.
    let (ok, _, err) = run(
        home,
        &url,
        &[
            "eks",
            "create-access-entry",
            "--cluster-name",
            "prod",
            "--principal-arn",
            "arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_0123",
        ],
    );
    assert!(!ok);
    assert!(err.contains("(InvalidParameterException) when calling the CreateAccessEntry operation: The specified principalArn is invalid: invalid principal."), "{err}");
    let (ok, _, err) = run(
        home,
        &url,
        &[
            "eks",
            "create-access-entry",
            "--cluster-name",
            "prod",
            "--principal-arn",
            &sso,
            "--kubernetes-groups",
            "system:masters",
        ],
    );
    assert!(!ok);
    assert!(
        err.contains(
            "The kubernetes group name system:masters is invalid, it cannot start with system:"
        ),
        "{err}"
    );
    let (ok, v, err) = run(
        home,
        &url,
        &[
            "eks",
            "create-access-entry",
            "--cluster-name",
            "prod",
            "--principal-arn",
            &sso,
            "--username",
            "admin:{{SessionName}}",
            "--kubernetes-groups",
            "auditors",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(v["accessEntry"]["type"], "STANDARD");
    let (ok, _, err) = run(
        home,
        &url,
        &[
            "eks",
            "create-access-entry",
            "--cluster-name",
            "prod",
            "--principal-arn",
            &sso,
        ],
    );
    assert!(!ok);
    assert!(err.contains("(ResourceInUseException) when calling the CreateAccessEntry operation: The specified access entry resource is already in use on this cluster."), "{err}");
    let (ok, v, err) = run(
        home,
        &url,
        &[
            "eks",
            "associate-access-policy",
            "--cluster-name",
            "prod",
            "--principal-arn",
            &sso,
            "--policy-arn",
            crate::aws::ADMIN_POLICY,
            "--access-scope",
            "type=cluster",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(
        v["associatedAccessPolicy"]["accessScope"]["type"],
        "cluster"
    );
    let (ok, v, err) = run(
        home,
        &url,
        &[
            "eks",
            "list-associated-access-policies",
            "--cluster-name",
            "prod",
            "--principal-arn",
            &sso,
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(
        v["associatedAccessPolicies"][0]["policyArn"],
        crate::aws::ADMIN_POLICY
    );
    let (ok, v, err) = run(
        home,
        &url,
        &[
            "eks",
            "describe-access-entry",
            "--cluster-name",
            "prod",
            "--principal-arn",
            &sso,
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(v["accessEntry"]["username"], "admin:{{SessionName}}");
    // createdAt is an epoch timestamp (the sync's bootstrap rule reads it),
    // later than the cluster's own.
    let created = v["accessEntry"]["createdAt"].as_f64().expect("a timestamp");
    let (ok, c, err) = run(home, &url, &["eks", "describe-cluster", "--name", "prod"]);
    assert!(ok, "{err}");
    assert!(
        c["cluster"]["createdAt"].as_f64().expect("a timestamp") < created,
        "{c}"
    );
    // Updating, as `access update` does: groups replaced, then emptied
    // (`--no-groups` sends an empty list; the CLI's own flag cannot).
    let (ok, v, err) = run(
        home,
        &url,
        &[
            "eks",
            "update-access-entry",
            "--cluster-name",
            "prod",
            "--principal-arn",
            &sso,
            "--username",
            "admin:{{SessionName}}",
            "--kubernetes-groups",
            "ops",
            "oncall",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(
        v["accessEntry"]["kubernetesGroups"],
        json!(["ops", "oncall"])
    );
    let input = json!({"clusterName": "prod", "principalArn": sso, "kubernetesGroups": []});
    let (ok, v, err) = run(
        home,
        &url,
        &[
            "eks",
            "update-access-entry",
            "--cli-input-json",
            &input.to_string(),
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(v["accessEntry"]["kubernetesGroups"], json!([]), "{v}");
    assert_eq!(v["accessEntry"]["username"], "admin:{{SessionName}}");
    // Disassociating and deleting, as `access sync --prune` does; a second
    // delete is the 404 the CLI names.
    let (ok, _, err) = run(
        home,
        &url,
        &[
            "eks",
            "disassociate-access-policy",
            "--cluster-name",
            "prod",
            "--principal-arn",
            &sso,
            "--policy-arn",
            crate::aws::ADMIN_POLICY,
        ],
    );
    assert!(ok, "{err}");
    let delete = [
        "eks",
        "delete-access-entry",
        "--cluster-name",
        "prod",
        "--principal-arn",
        &sso,
    ];
    let (ok, _, err) = run(home, &url, &delete);
    assert!(ok, "{err}");
    let (ok, _, err) = run(home, &url, &delete);
    assert!(!ok);
    assert!(
        err.contains("(ResourceNotFoundException) when calling the DeleteAccessEntry operation"),
        "{err}"
    );
    fake.with_cluster("prod", |c| {
        for i in 0..150 {
            c.entries.insert(
                format!("arn:aws:iam::111122223333:role/r{i:03}"),
                crate::aws::Entry {
                    kind: "STANDARD".into(),
                    username: "x".into(),
                    groups: vec![],
                    policies: Default::default(),
                },
            );
        }
    });
    // The CLI follows nextToken by itself: every page, 150 entries (the SSO
    // role's was deleted above).
    let (ok, v, err) = run(
        home,
        &url,
        &["eks", "list-access-entries", "--cluster-name", "prod"],
    );
    assert!(ok, "{err}");
    assert_eq!(v["accessEntries"].as_array().unwrap().len(), 150);
    let (ok, v, err) = run(
        home,
        &url,
        &[
            "eks",
            "list-access-entries",
            "--cluster-name",
            "prod",
            "--max-results",
            "100",
            "--no-paginate",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(v["accessEntries"].as_array().unwrap().len(), 100);
    assert!(v["nextToken"].is_string());

    // IAM knows the role's path.
    let (ok, v, err) = run(
        home,
        &url,
        &[
            "iam",
            "get-role",
            "--role-name",
            "awsreservedsso_admin_0123",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(v["Role"]["Arn"], sso);
    assert_eq!(v["Role"]["Path"], "/aws-reserved/sso.amazonaws.com/");
    let (ok, _, err) = run(home, &url, &["iam", "get-role", "--role-name", "Nope"]);
    assert!(!ok);
    assert!(err.contains("An error occurred (NoSuchEntity) when calling the GetRole operation: The role with name Nope cannot be found."), "{err}");
    // And its users.
    let alice = fake.user("alice");
    let (ok, v, err) = run(home, &url, &["iam", "get-user", "--user-name", "Alice"]);
    assert!(ok, "{err}");
    assert_eq!(v["User"]["Arn"], alice);
    assert_eq!(v["User"]["UserName"], "alice");
    let (ok, _, err) = run(home, &url, &["iam", "get-user", "--user-name", "nobody"]);
    assert!(!ok);
    assert!(err.contains("An error occurred (NoSuchEntity) when calling the GetUser operation: The user with name nobody cannot be found."), "{err}");
}

/// Issue 22: the dates that tell a recreated principal, and IAM's own
/// throttle, as the AWS CLI reads them.
#[test]
fn creation_dates_and_iam_throttling_answer_the_aws_cli_as_aws_does() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let fake = Aws::start("arn:aws:sts::111122223333:assumed-role/Admin/alice");
    let url = fake.url();
    fake.cluster("prod", "API", "https://127.0.0.1:6443");
    fake.role("/teams/", "Dev");
    fake.user("alice");
    let (ok, _, err) = run(
        home,
        &url,
        &[
            "eks",
            "create-access-entry",
            "--cluster-name",
            "prod",
            "--principal-arn",
            "arn:aws:iam::111122223333:role/teams/Dev",
        ],
    );
    assert!(ok, "{err}");
    let (ok, v, err) = run(
        home,
        &url,
        &[
            "eks",
            "describe-access-entry",
            "--cluster-name",
            "prod",
            "--principal-arn",
            "arn:aws:iam::111122223333:role/teams/Dev",
        ],
    );
    assert!(ok, "{err}");
    let entered = v["accessEntry"]["createdAt"].clone();
    assert!(entered.is_string() || entered.is_number(), "{v}");
    let (ok, v, err) = run(home, &url, &["iam", "get-role", "--role-name", "Dev"]);
    assert!(ok, "{err}");
    assert_eq!(v["Role"]["CreateDate"], "2024-01-01T00:00:00Z");
    // Made again: a CreateDate later than the entry's.
    fake.recreate("role", "Dev");
    fake.recreate("user", "alice");
    let (_, v, _) = run(home, &url, &["iam", "get-role", "--role-name", "dev"]);
    assert_eq!(v["Role"]["CreateDate"], "2030-01-01T00:00:00Z");
    let (_, v, _) = run(home, &url, &["iam", "get-user", "--user-name", "alice"]);
    assert_eq!(v["User"]["CreateDate"], "2030-01-01T00:00:00Z");
    // IAM throttles apart from EKS, with a 400 the CLI retries and then
    // names.
    fake.set_iam_throttle(0.001, 0.0);
    let out = aws(home)
        .args(["iam", "get-role", "--role-name", "Dev", "--output", "json"])
        .args(["--endpoint-url", &url, "--cli-read-timeout", "5"])
        .env("AWS_MAX_ATTEMPTS", "2")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("An error occurred (Throttling) when calling the GetRole operation")
            && err.contains("Rate exceeded"),
        "{err}"
    );
}
