//! `aws-auth --file`: every command on manifest files, and every way it fails.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;

use insta::assert_snapshot;

use std::path::Path;

use crate::{aws_auth, fixture, repo};

/// A scratch directory holding one manifest.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn with(name: &str) -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("aws-auth.yaml"), fixture(name)).unwrap();
        Scratch { dir }
    }

    fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("aws-auth.yaml")
    }

    fn text(&self) -> String {
        std::fs::read_to_string(self.path()).unwrap()
    }

    /// Runs `aws-auth --file aws-auth.yaml ARGS` in the scratch directory.
    fn run(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        aws_auth(self.dir.path())
            .current_dir(self.dir.path())
            .args(["--file", "aws-auth.yaml"])
            .args(args)
            .assert()
    }
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(a.get_output().stdout.clone()).unwrap()
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(a.get_output().stderr.clone()).unwrap()
}

#[test]
fn get_in_every_format() {
    let s = Scratch::with("duplicates-last-wins.yaml");
    let table = s.run(&["get"]).success();
    assert_snapshot!("get_table", stdout(&table));
    let json = s.run(&["get", "-o", "json"]).success();
    let value: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(value["mapRoles"][2]["username"], "developer");
    assert_eq!(value["mapUsers"].as_array().unwrap().len(), 2);
    assert_snapshot!("get_json", stdout(&json));
    // Options are accepted after the command too.
    let yaml = aws_auth(s.dir.path())
        .current_dir(s.dir.path())
        .args(["get", "--file", "aws-auth.yaml", "--output", "yaml"])
        .assert()
        .success();
    assert_snapshot!("get_yaml", stdout(&yaml));
}

#[test]
fn get_warns_about_unreadable_keys() {
    let s = Scratch::with("bad-unquoted-template.yaml");
    let a = s.run(&["get"]).success();
    assert!(
        stderr(&a).contains("warning: mapRoles cannot be read"),
        "{}",
        stderr(&a)
    );
    assert_eq!(stdout(&a), "no mappings\n");
}

#[test]
fn lint_exit_codes_and_formats() {
    let s = Scratch::with("bad-unquoted-template.yaml");
    let a = s.run(&["lint"]).code(1);
    assert_snapshot!("lint_errors", stdout(&a));
    assert!(stderr(&a).contains("1 error(s)"));

    let s = Scratch::with("case-keys.yaml");
    s.run(&["lint"]).code(0);
    s.run(&["lint", "--strict"]).code(2);
    let a = s.run(&["lint", "-o", "json"]).code(0);
    let v: serde_json::Value = serde_json::from_str(&stdout(&a)).unwrap();
    let first = &v["diagnostics"][0];
    assert_eq!(first["code"], "key-case");
    assert_eq!(first["severity"], "warning");
    assert_eq!(first["key"], "mapRoles");
    assert_eq!(
        (first["line"].as_u64(), first["column"].as_u64()),
        (Some(9), Some(7))
    );

    let s = Scratch::with("eksctl-rolearn-first.yaml");
    let a = s.run(&["lint"]).code(0);
    assert!(stderr(&a).contains("no problems found"));

    let s = Scratch::with("bad-missing-bar.yaml");
    let a = s.run(&["lint", "-o", "json"]).code(1);
    let v: serde_json::Value = serde_json::from_str(&stdout(&a)).unwrap();
    assert_eq!(v["diagnostics"][0]["code"], "manifest-invalid");
    assert_eq!(v["diagnostics"][0]["key"], serde_json::Value::Null);
}

#[test]
fn explain_a_session() {
    let s = Scratch::with("templates-all.yaml");
    let a = s
        .run(&[
            "explain",
            "arn:aws:sts::111122223333:assumed-role/Federated/alice@example.com",
        ])
        .success();
    assert_snapshot!("explain_text", stdout(&a));
    let a = s
        .run(&[
            "explain",
            "arn:aws:sts::111122223333:assumed-role/Instances/i-0123456789abcdef0",
            "-o",
            "json",
        ])
        .success();
    let v: serde_json::Value = serde_json::from_str(&stdout(&a)).unwrap();
    assert_eq!(
        v["username"],
        "aws:111122223333:instance:i-0123456789abcdef0"
    );
    assert_eq!(
        v["groups"],
        serde_json::json!(["system:bootstrappers", "aws:instances"])
    );
    // No mapping: the authenticator refuses the caller, exit 1.
    let a = s
        .run(&["explain", "arn:aws:iam::999999999999:user/nobody"])
        .code(1);
    assert!(stdout(&a).contains("mapping: none"), "{}", stdout(&a));
    let a = s.run(&["explain", "not-an-arn"]).code(5);
    assert!(
        stderr(&a).starts_with("error: \"not-an-arn\" is not an ARN"),
        "{}",
        stderr(&a)
    );
}

#[test]
fn add_writes_in_place_keeping_permissions_and_remove_restores() {
    let s = Scratch::with("hand-written-comments.yaml");
    let original = s.text();
    std::fs::set_permissions(s.path(), std::fs::Permissions::from_mode(0o640)).unwrap();
    let a = s
        .run(&[
            "add",
            "role",
            "arn:aws:iam::111122223333:role/Deployer",
            "-u",
            "deploy:{{SessionName}}",
            "-g",
            "deployers,view",
        ])
        .success();
    assert_eq!(
        stdout(&a),
        "added arn:aws:iam::111122223333:role/Deployer to mapRoles\n"
    );
    let added = s.text();
    assert!(added.starts_with(original.trim_end_matches('\n')));
    assert_snapshot!(
        "add_role_result",
        added.strip_prefix(original.as_str()).unwrap_or(&added)
    );
    assert_eq!(
        std::fs::metadata(s.path()).unwrap().permissions().mode() & 0o777,
        0o640
    );
    // No temporary file is left behind.
    assert_eq!(std::fs::read_dir(s.dir.path()).unwrap().count(), 1);
    s.run(&["remove", "role", "arn:aws:iam::111122223333:role/Deployer"])
        .success();
    assert_eq!(s.text(), original);
}

#[test]
fn dry_run_prints_the_diff_and_writes_nothing() {
    let s = Scratch::with("kubectl-edit-double-quoted.yaml");
    let original = s.text();
    let a = s
        .run(&[
            "remove",
            "user",
            "arn:aws:iam::444455556666:user/my-user",
            "--dry-run",
        ])
        .success();
    assert_snapshot!("dry_run_diff", stdout(&a));
    assert_eq!(s.text(), original);
}

#[test]
fn update_and_remove_by_username() {
    let s = Scratch::with("eksctl-rolearn-first.yaml");
    s.run(&[
        "update",
        "role",
        "arn:aws:iam::111122223333:role/Developers",
        "-g",
        "readers",
        "--append",
    ])
    .success();
    assert!(
        s.text().contains("        - dev-team\n        - readers\n"),
        "{}",
        s.text()
    );
    s.run(&[
        "update",
        "role",
        "arn:aws:iam::111122223333:role/Developers",
        "-u",
        "dev",
    ])
    .success();
    assert!(s.text().contains("      username: dev\n"));
    let a = s
        .run(&[
            "update",
            "role",
            "arn:aws:iam::111122223333:role/Developers",
        ])
        .code(64);
    assert!(stderr(&a).contains("nothing to update"));
    s.run(&["remove", "--username", "dev"]).success();
    assert!(!s.text().contains("role/Developers"));
    let a = s.run(&["remove", "--username", "nobody"]).code(3);
    assert!(stderr(&a).contains("no mapping has the username \"nobody\""));
}

#[test]
fn stdin_to_stdout() {
    let home = tempfile::tempdir().unwrap();
    let input = fixture("terraform-yamlencode.yaml");
    let a = aws_auth(home.path())
        .args(["--file", "-", "add", "account", "012345678901"])
        .write_stdin(input.clone())
        .assert()
        .success();
    let out = stdout(&a);
    assert_eq!(
        out,
        input.replace(
            "  \"mapAccounts\": |\n    []\n",
            "  \"mapAccounts\": |\n    - \"012345678901\"\n"
        )
    );
    assert!(stderr(&a).contains("added 012345678901 to mapAccounts"));
    // Nothing to do: the manifest goes through unchanged.
    let a = aws_auth(home.path())
        .args(["--file", "-", "add", "account", "012345678901"])
        .write_stdin(out.clone())
        .assert()
        .success();
    assert_eq!(stdout(&a), out);
}

#[test]
fn batch_files_add_together_or_not_at_all() {
    let s = Scratch::with("eksctl-rolearn-first.yaml");
    let original = s.text();
    std::fs::write(
        s.dir.path().join("team.txt"),
        "# onboarding, March\narn:aws:iam::111122223333:user/alice\narn:aws:iam::111122223333:user/bob bob-k\n\n",
    )
    .unwrap();
    s.run(&["add", "user", "--from-file", "team.txt", "-g", "devs"])
        .success();
    let text = s.text();
    assert!(
        text.contains("userarn: arn:aws:iam::111122223333:user/alice\n      username: alice\n"),
        "{text}"
    );
    assert!(text.contains("username: bob-k\n"));
    std::fs::write(
        s.dir.path().join("bad.txt"),
        "arn:aws:iam::111122223333:user/carol\nnot:an-arn\n",
    )
    .unwrap();
    std::fs::write(s.path(), &original).unwrap();
    let a = s.run(&["add", "user", "--from-file", "bad.txt"]).code(5);
    assert!(
        stderr(&a).starts_with("error: bad.txt:2: \"not:an-arn\" is not an ARN"),
        "{}",
        stderr(&a)
    );
    assert_eq!(s.text(), original);
}

#[test]
fn every_failure_is_one_sentence_with_its_exit_code_and_nothing_written() {
    let s = Scratch::with("fargate.yaml");
    let original = s.text();
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &[
                "remove",
                "role",
                "arn:aws:iam::111122223333:role/AmazonEKSFargatePodExecutionRole",
            ],
            4,
            "Fargate pod execution role",
        ),
        (
            &["add", "role", "arn:aws:iam::111122223333:user/u", "-u", "x"],
            5,
            "not a role ARN",
        ),
        (
            &[
                "add",
                "user",
                "arn:aws:iam::111122223333:user/u",
                "-u",
                "{{sessionname}}",
            ],
            5,
            "write {{SessionName}}",
        ),
        (
            &[
                "add",
                "role",
                "arn:aws:iam::111122223333:role/NodeInstanceRole",
                "-u",
                "other",
            ],
            5,
            "already mapped at line 15",
        ),
        (
            &["remove", "user", "arn:aws:iam::111122223333:user/nobody"],
            3,
            "not mapped in mapUsers",
        ),
        (&["add", "account", "123"], 5, "not 12 digits"),
        (
            &["--protect", "not-an-arn", "add", "account", "111122223333"],
            5,
            "--protect",
        ),
    ];
    for (args, code, needle) in cases {
        let a = s.run(args).code(*code);
        let err = stderr(&a);
        assert!(
            err.starts_with("error: ") && err.contains(needle),
            "{args:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
        assert_eq!(s.text(), original, "{args:?} wrote the file");
    }
    // --force carries out what a guard refused, and says so.
    let a = s
        .run(&[
            "remove",
            "role",
            "arn:aws:iam::111122223333:role/AmazonEKSFargatePodExecutionRole",
            "--force",
            "--yes",
        ])
        .success();
    assert!(stderr(&a).contains(
        "warning: forced: this edit would remove the Fargate pod execution role mapping"
    ));
    assert!(!s.text().contains("AmazonEKSFargatePodExecutionRole"));
}

/// Every guard from every edit command that can trip it: exit 4, one
/// sentence naming what would break, nothing written; `--yes` overrides none.
#[test]
fn every_guard_from_every_edit_command() {
    let map = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/Linux\n      username: system:node:{{EC2PrivateDNSName}}\n      groups: [system:bootstrappers, system:nodes]\n    - rolearn: arn:aws:iam::111122223333:role/Windows\n      username: system:node:{{EC2PrivateDNSName}}\n      groups: [system:bootstrappers, system:nodes, eks:kube-proxy-windows]\n    - rolearn: arn:aws:iam::111122223333:role/Fargate\n      username: system:node:{{SessionName}}\n      groups: [system:bootstrappers, system:nodes, system:node-proxier]\n    - rolearn: arn:aws:iam::111122223333:role/team/Admin\n      username: never-matches\n      groups: [system:masters]\n  mapUsers: |\n    - userarn: arn:aws:iam::111122223333:user/ops\n      username: ops\n      groups: [system:masters]\n    - userarn: arn:aws:iam::111122223333:user/dev\n      username: dev\n      groups: [devs]\n";
    let role = |n: &str| format!("arn:aws:iam::111122223333:role/{n}");
    let (linux, windows, fargate) = (role("Linux"), role("Windows"), role("Fargate"));
    let ops = "arn:aws:iam::111122223333:user/ops";
    let dev = "arn:aws:iam::111122223333:user/dev";
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["remove", "role", &linux],
            "would remove the node role mapping",
        ),
        (
            vec!["update", "role", &linux, "-g", "x"],
            "would rewrite the node role mapping",
        ),
        (
            vec!["update", "role", &linux, "-u", "x"],
            "would rewrite the node role mapping",
        ),
        (
            vec!["remove", "--username", "system:node:{{EC2PrivateDNSName}}"],
            "would remove the node role mapping",
        ),
        (
            vec!["remove", "role", &windows],
            "would remove the Windows node role mapping",
        ),
        (
            vec!["update", "role", &windows, "-g", "x", "--append"],
            "would rewrite the Windows node role mapping",
        ),
        (
            vec!["remove", "role", &fargate],
            "would remove the Fargate pod execution role mapping",
        ),
        (
            vec!["remove", "--username", "system:node:{{SessionName}}"],
            "would remove the Fargate pod execution role mapping",
        ),
        (
            vec!["remove", "user", ops],
            "would remove the last mapping that grants system:masters",
        ),
        (
            vec!["update", "user", ops, "-g", "view"],
            "would remove the last mapping that grants system:masters",
        ),
        (
            vec!["update", "user", ops, "--no-groups"],
            "would remove the last mapping that grants system:masters",
        ),
        (
            vec!["remove", "--username", "ops"],
            "would remove the last mapping that grants system:masters",
        ),
        (
            vec!["--protect", dev, "remove", "user", dev],
            "would remove the mapping of the protected principal",
        ),
        (
            vec!["--protect", dev, "update", "user", dev, "-u", "d"],
            "would rewrite the mapping of the protected principal",
        ),
        (
            vec!["--protect", dev, "remove", "--username", "dev"],
            "would remove the mapping of the protected principal",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aws-auth.yaml");
    std::fs::write(&path, map).unwrap();
    for (args, needle) in &cases {
        for yes in [false, true] {
            let mut cmd = aws_auth(dir.path());
            cmd.current_dir(dir.path())
                .args(["--file", "aws-auth.yaml"])
                .args(args);
            if yes {
                cmd.arg("--yes");
            }
            let a = cmd.assert().code(4);
            let err = stderr(&a);
            assert!(
                err.starts_with("error: refused: ") && err.contains(needle),
                "{args:?}: {err}"
            );
            assert!(err.contains("nothing was written"), "{args:?}: {err}");
            assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
            assert_eq!(
                std::fs::read_to_string(&path).unwrap(),
                map,
                "{args:?} wrote"
            );
        }
    }
}

/// Issue 13.3: a key that cannot be edited in place is refused (exit 5, its
/// line and why) instead of being rewritten whole over text; `--force` does
/// it and names the deleted text, which the dry-run diff shows.
#[test]
fn text_is_never_deleted_silently() {
    let map = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapUsers: |\n    []\n    - userarn: arn:aws:iam::111122223333:user/bob\n      username: bob\n      groups:\n        - system:masters\n";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aws-auth.yaml");
    std::fs::write(&path, map).unwrap();
    let run = |args: &[&str]| {
        aws_auth(dir.path())
            .current_dir(dir.path())
            .args([
                "--file",
                "aws-auth.yaml",
                "add",
                "user",
                "arn:aws:iam::111122223333:user/alice",
                "-g",
                "devs",
            ])
            .args(args)
            .assert()
    };
    let a = run(&[]).code(5);
    let err = stderr(&a);
    assert!(err.starts_with("error: aws-auth.yaml:9:5: mapUsers cannot be edited in place because the authenticator reads only its empty list ([])"), "{err}");
    assert!(err.contains("use --force"), "{err}");
    assert_eq!(err.lines().count(), 1);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), map);
    let a = run(&["--force", "--dry-run"]).success();
    let out = stdout(&a);
    assert!(
        out.contains("-- userarn: arn:aws:iam::111122223333:user/bob\n"),
        "{out}"
    );
    assert!(out.contains("note: forced: would rewrite data.mapUsers whole, deleting its former text:\n  | []\n  | - userarn: arn:aws:iam::111122223333:user/bob\n"), "{out}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), map);
    let a = run(&["--force", "-o", "json"]).code(4);
    assert!(stderr(&a).contains("give --yes too"), "{}", stderr(&a));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), map);
    let a = run(&["--force", "--yes", "-o", "json"]).success();
    let v: serde_json::Value = serde_json::from_str(&stdout(&a)).unwrap();
    assert!(
        v["keys"][0]["deleted"]
            .as_str()
            .unwrap()
            .contains("user/bob"),
        "{v}"
    );
    let now = std::fs::read_to_string(&path).unwrap();
    assert!(
        !now.contains("user/bob") && now.contains("user/alice"),
        "{now}"
    );
}

/// Issue 13.9: a whole-document-indented manifest (a heredoc) gets its new
/// data section at its own indentation; one whose `data:` slipped under
/// `metadata` is refused as kubectl refuses it, not edited into exit 70.
#[test]
fn indented_manifests_are_edited_or_refused_never_exit_70() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aws-auth.yaml");
    let run = || {
        aws_auth(dir.path())
            .current_dir(dir.path())
            .args([
                "--file",
                "aws-auth.yaml",
                "add",
                "role",
                "arn:aws:iam::111122223333:role/Dev",
                "-g",
                "devs",
            ])
            .assert()
    };
    std::fs::write(&path, "  apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: aws-auth\n    namespace: kube-system\n").unwrap();
    run().success();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "  apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: aws-auth\n    namespace: kube-system\n  data:\n    mapRoles: |\n      - rolearn: arn:aws:iam::111122223333:role/Dev\n        username: Dev\n        groups:\n          - devs\n"
    );
    let misplaced = "  apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: aws-auth\n    data:\n      mapRoles: |\n        - rolearn: arn:aws:iam::111122223333:role/Nodes\n";
    std::fs::write(&path, misplaced).unwrap();
    let a = run().code(5);
    let err = stderr(&a);
    assert!(
        err.starts_with("error: aws-auth.yaml:5:5: unknown field metadata.data"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), misplaced);
}

/// Issue 13.11: in a GitOps bundle the kube-system/aws-auth ConfigMap is found
/// and edited in place, every other document byte for byte as it was; two of
/// them are refused, naming both.
#[test]
fn bundles_are_edited_in_their_aws_auth_document_and_two_are_refused() {
    let s = Scratch::with("multi-document.yaml");
    let original = s.text();
    s.run(&[
        "add",
        "user",
        "arn:aws:iam::111122223333:user/alice",
        "-g",
        "devs",
    ])
    .success();
    let after = s.text();
    let cut = original.rfind("---").unwrap();
    assert_eq!(
        after[..cut],
        original[..cut],
        "the other documents are untouched"
    );
    assert!(after.ends_with("  mapUsers: |\n    - userarn: arn:aws:iam::111122223333:user/alice\n      username: alice\n      groups: [devs]\n"), "{after}");
    // A second kube-system/aws-auth (here without a namespace, which kubectl
    // may apply to kube-system too).
    let two = format!(
        "{original}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\ndata:\n  mapUsers: \"\"\n"
    );
    std::fs::write(s.path(), &two).unwrap();
    for args in [
        &["add", "user", "arn:aws:iam::111122223333:user/bob"][..],
        &["get"][..],
    ] {
        let a = s.run(args).code(5);
        let err = stderr(&a);
        assert!(
            err.contains(
                "more than one kube-system/aws-auth ConfigMap (the documents at lines 15 and 26)"
            ),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1);
        assert_eq!(s.text(), two);
    }
    // One in another namespace is not the one.
    let other = original
        + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: staging\ndata:\n  mapUsers: \"\"\n";
    std::fs::write(s.path(), &other).unwrap();
    let a = s.run(&["get", "-o", "json"]).success();
    assert!(stdout(&a).contains("role/NodeRole"), "{}", stdout(&a));
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

fn add_alice(dir: &std::path::Path, file: &str) -> assert_cmd::assert::Assert {
    aws_auth(dir)
        .current_dir(dir)
        .args([
            "--file",
            file,
            "add",
            "user",
            "arn:aws:iam::111122223333:user/alice",
        ])
        .assert()
}

/// Issue 13.10: a read-only manifest is refused, not replaced; owner, group
/// and mode are kept (or the write is refused); a hard-linked manifest is
/// written in place, every name seeing the new text.
#[test]
fn manifests_keep_their_mode_owner_group_and_links() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aws-auth.yaml");
    let original = fixture("hand-written-comments.yaml");
    std::fs::write(&path, &original).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    let a = add_alice(dir.path(), "aws-auth.yaml").code(74);
    let err = stderr(&a);
    assert!(
        err.contains("aws-auth.yaml is read-only (mode 0444); nothing was written"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
    assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o444);

    // A hard link: both names see the edit; the link stays.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = dir.path().join("linked.yaml");
    std::fs::hard_link(&path, &link).unwrap();
    add_alice(dir.path(), "linked.yaml").success();
    let edited = std::fs::read_to_string(&path).unwrap();
    assert!(edited.contains("user/alice"), "{edited}");
    assert_eq!(std::fs::read_to_string(&link).unwrap(), edited);
    assert_eq!(std::fs::metadata(&path).unwrap().nlink(), 2);
    std::fs::remove_file(&link).unwrap();

    if !is_root() {
        // Files of another owner can only be made by root; the rest is done.
        return;
    }
    // Owner, group and mode survive the atomic rename.
    std::fs::write(&path, &original).unwrap();
    std::os::unix::fs::chown(&path, Some(1234), Some(5678)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    add_alice(dir.path(), "aws-auth.yaml").success();
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        (1234, 5678, 0o640)
    );
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("user/alice")
    );
    // A user who may write the file but cannot give a new one its owner:
    // refused, not replaced by a file of theirs.
    std::fs::write(&path, &original).unwrap();
    std::os::unix::fs::chown(&path, Some(1234), Some(65534)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o664)).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("aws-auth");
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(bin)
        .args([
            "--file",
            "aws-auth.yaml",
            "add",
            "user",
            "arn:aws:iam::111122223333:user/alice",
        ])
        .current_dir(dir.path())
        .env_clear()
        .env("HOME", dir.path())
        .output()
        .expect("setpriv runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(74), "{err}");
    assert!(
        err.contains("cannot give the new aws-auth.yaml its owner and group (uid 1234, gid 65534)"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
    assert_eq!(std::fs::metadata(&path).unwrap().uid(), 1234);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Issue 13.10: interrupted (SIGINT, SIGTERM) while the new manifest is being
/// written, the temporary file beside it is removed and the manifest is as it
/// was.
#[test]
fn an_interrupted_write_leaves_no_temporary_file() {
    // SIGHUP: the terminal closed (issue 20.15).
    for (signal, code) in [("INT", 130), ("TERM", 143), ("HUP", 129)] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("aws-auth.yaml");
        let original = fixture("hand-written-comments.yaml");
        std::fs::write(&path, &original).unwrap();
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("aws-auth"))
            .args([
                "--file",
                "aws-auth.yaml",
                "add",
                "user",
                "arn:aws:iam::111122223333:user/alice",
            ])
            .current_dir(dir.path())
            .env_clear()
            .env("HOME", dir.path())
            .env("AWS_AUTH_TEST_PAUSE_WRITE_MS", "20000")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let tmp = || {
            std::fs::read_dir(dir.path())
                .unwrap()
                .filter_map(|e| e.ok())
                .any(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        };
        let start = std::time::Instant::now();
        while !tmp() {
            assert!(start.elapsed().as_secs() < 20, "no temporary file appeared");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        std::process::Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(code), "SIG{signal}");
        assert!(!tmp(), "SIG{signal} left the temporary file");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
    }
}

/// Issue 10.15: a mapping that would block the move to access entries is
/// said when it is added.
#[test]
fn add_warns_when_a_mapping_cannot_migrate() {
    let s = Scratch::with("hand-written-comments.yaml");
    let a = s
        .run(&[
            "add",
            "role",
            "arn:aws:iam::111122223333:role/Ci",
            "-u",
            "{{SessionName}}",
            "-g",
            "ci",
        ])
        .success();
    assert!(
        stderr(&a).contains("warning: arn:aws:iam::111122223333:role/Ci cannot move to EKS access entries as it is: the username \"{{SessionName}}\" has a template without a `:` before it"),
        "{}",
        stderr(&a)
    );
    let a = s
        .run(&[
            "add",
            "role",
            "arn:aws:iam::111122223333:role/Dev2",
            "-u",
            "dev:{{SessionName}}",
            "-g",
            "devs",
        ])
        .success();
    assert!(!stderr(&a).contains("warning"), "{}", stderr(&a));
}

/// Issue 10.15: `--create` works with `--file`: a new manifest.
#[test]
fn create_starts_a_new_manifest_file() {
    let dir = tempfile::tempdir().unwrap();
    let add = |extra: &[&str]| {
        aws_auth(dir.path())
            .current_dir(dir.path())
            .args([
                "--file",
                "new.yaml",
                "add",
                "user",
                "arn:aws:iam::111122223333:user/alice",
                "-g",
                "devs",
            ])
            .args(extra)
            .assert()
    };
    let a = add(&[]).code(3);
    assert!(
        stderr(&a).contains("(add --create to start a new manifest)"),
        "{}",
        stderr(&a)
    );
    add(&["--create"]).success();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("new.yaml")).unwrap(),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapUsers: |\n    - userarn: arn:aws:iam::111122223333:user/alice\n      username: alice\n      groups:\n        - devs\n"
    );
    // An existing file is edited as usual with --create.
    add(&["--create"]).success();
    let a = aws_auth(dir.path())
        .current_dir(dir.path())
        .args([
            "--file",
            "other.yaml",
            "--create",
            "remove",
            "user",
            "arn:aws:iam::111122223333:user/alice",
        ])
        .assert()
        .code(64);
    assert!(stderr(&a).contains("--create makes a new manifest for add and sync only"));
    assert!(!dir.path().join("other.yaml").exists());
}

#[test]
fn unreadable_keys_and_invalid_manifests_are_refused_with_positions() {
    let s = Scratch::with("bad-unquoted-template.yaml");
    let original = s.text();
    let a = s
        .run(&["add", "role", "arn:aws:iam::111122223333:role/X", "-u", "x"])
        .code(5);
    assert_eq!(
        stderr(&a),
        "error: aws-auth.yaml:15:17: mapRoles cannot be read (a mapping key is itself a collection (an unquoted {{...}} template is read as one)); fix it first (see `aws-auth lint`)\n"
    );
    assert_eq!(s.text(), original);
    let s = Scratch::with("bad-column0-comment.yaml");
    let a = s.run(&["get"]).code(5);
    assert!(
        stderr(&a).starts_with("error: aws-auth.yaml:12:7: YAML syntax error"),
        "{}",
        stderr(&a)
    );
    let a = s.run(&["add", "account", "111122223333"]).code(5);
    assert!(
        stderr(&a).contains("the comment on line 11 starts at column 1"),
        "{}",
        stderr(&a)
    );
}

#[test]
fn missing_files_and_usage_errors() {
    let home = tempfile::tempdir().unwrap();
    let a = aws_auth(home.path())
        .args(["--file", "nope.yaml", "get"])
        .assert()
        .code(3);
    assert_eq!(stderr(&a), "error: nope.yaml does not exist\n");
    aws_auth(home.path()).args(["frobnicate"]).assert().code(64);
    aws_auth(home.path()).args(["--help"]).assert().success();
}

#[test]
fn writes_through_symlinks() {
    let s = Scratch::with("emr-on-eks.yaml");
    let link = s.dir.path().join("link.yaml");
    std::os::unix::fs::symlink(s.path(), &link).unwrap();
    aws_auth(s.dir.path())
        .current_dir(s.dir.path())
        .args(["--file", "link.yaml", "add", "account", "111122223333"])
        .assert()
        .success();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(s.text().contains("mapAccounts"));
}

/// The candidates `shell` offers for `line` (the cursor at its end), with the
/// script `aws-auth completions SHELL` prints installed. The shells are driven
/// for real: bash through its completion function, zsh in a pseudo-terminal,
/// fish through `complete -C`.
fn offered(shell: &str, line: &str) -> Vec<String> {
    let home = tempfile::tempdir().unwrap();
    let script = stdout(
        &aws_auth(home.path())
            .args(["completions", shell])
            .assert()
            .success(),
    );
    let bin = assert_cmd::cargo::cargo_bin("aws-auth");
    let path = std::env::join_paths([
        bin.parent().unwrap(),
        Path::new("/usr/bin"),
        Path::new("/bin"),
    ])
    .unwrap();
    let dir = home.path();
    // A kubeconfig to read contexts and EKS clusters from.
    std::fs::create_dir_all(dir.join(".kube")).unwrap();
    std::fs::write(
        dir.join(".kube/config"),
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: arn:aws:eks:eu-west-1:111122223333:cluster/prod\n  context: {cluster: c, user: u}\n- name: kind-dev\n  context: {cluster: c, user: u}\ncurrent-context: kind-dev\n",
    )
    .unwrap();
    let mut cmd = match shell {
        "bash" => {
            std::fs::write(dir.join("aws-auth.bash"), &script).unwrap();
            let words: Vec<String> = line.split(' ').map(|w| format!("'{w}'")).collect();
            let mut c = std::process::Command::new("bash");
            c.args([
                "--noprofile",
                "--norc",
                "-c",
                &format!(
                    "source ./aws-auth.bash; COMP_WORDS=({words}); COMP_CWORD={cword}; COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}; _aws__auth aws-auth \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
                    words = words.join(" "),
                    cword = words.len() - 1,
                ),
            ]);
            c
        }
        "zsh" => {
            std::fs::write(dir.join("_aws-auth"), &script).unwrap();
            let mut c = std::process::Command::new("zsh");
            c.arg("-f")
                .arg(repo().join("tests/e2e/shells/capture.zsh"))
                .arg(dir)
                .arg(line);
            c
        }
        "fish" => {
            std::fs::write(dir.join("aws-auth.fish"), &script).unwrap();
            let mut c = std::process::Command::new("fish");
            c.args([
                "--no-config",
                "-c",
                &format!("source ./aws-auth.fish; complete -C '{line}'"),
            ]);
            c
        }
        other => panic!("no driver for {other}"),
    };
    let out = cmd
        .current_dir(dir)
        .env_clear()
        .env("HOME", dir)
        .env("PATH", path)
        .env("TERM", "dumb")
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {shell} ({e}): install it (Debian: apt-get install bash zsh fish), as .ci/test does")
        });
    assert!(
        out.status.success(),
        "{shell}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut words: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        // fish prints `candidate<TAB>description`.
        .map(|l| l.split('\t').next().unwrap_or("").trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    words.sort();
    words.dedup();
    words
}

/// Issue 10.12: completion works below the top level in every shell (bash's
/// script from clap_complete completed nothing there for a hyphenated name).
#[test]
fn completions_work_at_every_level_in_bash_zsh_and_fish() {
    for shell in ["bash", "zsh", "fish"] {
        let top = offered(shell, "aws-auth ");
        for word in ["add", "get", "migrate", "restore"] {
            assert!(top.contains(&word.to_owned()), "{shell}: {top:?}");
        }
        let migrate = offered(shell, "aws-auth migrate ");
        for word in ["apply", "finalize", "plan", "verify"] {
            assert!(migrate.contains(&word.to_owned()), "{shell}: {migrate:?}");
        }
        let add = offered(shell, "aws-auth add ");
        for word in ["account", "role", "user"] {
            assert!(add.contains(&word.to_owned()), "{shell}: {add:?}");
        }
        let flag = offered(shell, "aws-auth add role --dry");
        assert!(flag.contains(&"--dry-run".to_owned()), "{shell}: {flag:?}");
        let apply = offered(shell, "aws-auth migrate apply --enable");
        assert!(
            apply.iter().any(|w| w.starts_with("--enable-api-mode")),
            "{shell}: {apply:?}"
        );
        // Issue 25.12: values, and only the options that apply.
        let policy = offered(shell, "aws-auth access add --policy ");
        for word in ["cluster-admin", "admin", "edit", "view", "admin-view"] {
            assert!(
                policy.iter().any(|w| w.starts_with(word)),
                "{shell}: {policy:?}"
            );
        }
        let kind = offered(shell, "aws-auth access add --type ");
        assert!(
            kind.iter().any(|w| w.starts_with("EC2_LINUX")),
            "{shell}: {kind:?}"
        );
        let output = offered(shell, "aws-auth get -o ");
        for word in ["table", "wide", "json", "yaml"] {
            assert!(
                output.iter().any(|w| w.starts_with(word)),
                "{shell}: {output:?}"
            );
        }
        let clusterrole = offered(shell, "aws-auth grant user x --clusterrole ");
        assert!(
            clusterrole.iter().any(|w| w.starts_with("view")),
            "{shell}: {clusterrole:?}"
        );
        let contexts = offered(shell, "aws-auth get --context ");
        for want in [
            "arn:aws:eks:eu-west-1:111122223333:cluster/prod",
            "kind-dev",
        ] {
            assert!(
                contexts.iter().any(|w| w.ends_with(want) || w == want),
                "{shell}: {contexts:?}"
            );
        }
        let clusters = offered(shell, "aws-auth access get --cluster ");
        assert_eq!(clusters, ["prod"], "{shell}");
        let access = offered(shell, "aws-auth access add --");
        assert!(
            access.iter().any(|w| w.starts_with("--policy")),
            "{shell}: {access:?}"
        );
        for hidden in [
            "--retry-delay",
            "--configmap-namespace",
            "--create",
            "--file",
        ] {
            assert!(
                !access.iter().any(|w| w.starts_with(hidden)),
                "{shell}: {hidden} offered under access add: {access:?}"
            );
        }
    }
    // A mistyped command gets a suggestion.
    let home = tempfile::tempdir().unwrap();
    let a = aws_auth(home.path()).arg("explian").assert().code(64);
    assert!(
        String::from_utf8_lossy(&a.get_output().stderr)
            .contains("a similar subcommand exists: 'explain'"),
        "{}",
        String::from_utf8_lossy(&a.get_output().stderr)
    );
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    let s = Scratch::with("partitions.yaml");
    let bin = assert_cmd::cargo::cargo_bin("aws-auth");
    let mut child = std::process::Command::new(bin)
        .env_clear()
        .current_dir(s.dir.path())
        .args(["--file", "aws-auth.yaml", "get", "-o", "yaml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "{status}: {err}");
    assert_eq!(first, "mapRoles:\n");
}

fn help(args: &[&str]) -> String {
    let home = tempfile::tempdir().unwrap();
    let a = aws_auth(home.path())
        .args(args)
        .arg("--help")
        .assert()
        .success();
    stdout(&a)
}

/// Issue 10.14: each command's help lists only the options it uses, and has
/// examples; migrate's commands say what --cluster is to each of them.
#[test]
fn help_shows_only_what_applies_with_examples() {
    let get = help(&["get"]);
    for absent in ["--create", "--dry-run", "--force", "--protect", "--yes"] {
        assert!(!get.contains(absent), "get --help lists {absent}:\n{get}");
    }
    for present in [
        "--file",
        "--output",
        "--no-headers",
        "--kubeconfig",
        "Examples:",
    ] {
        assert!(get.contains(present), "get --help lacks {present}:\n{get}");
    }
    let add = help(&["add", "role"]);
    for present in [
        "--create",
        "--dry-run",
        "--force",
        "--protect",
        "--yes",
        "Examples:",
    ] {
        assert!(
            add.contains(present),
            "add role --help lacks {present}:\n{add}"
        );
    }
    assert!(!help(&["update", "role"]).contains("--create"));
    assert!(!help(&["backup"]).contains("--file"));
    let completions = help(&["completions"]);
    assert!(!completions.contains("--kubeconfig") && !completions.contains("--file"));
    let leaves: &[&[&str]] = &[
        &["get"],
        &["lint"],
        &["explain"],
        &["add", "role"],
        &["add", "user"],
        &["add", "account"],
        &["update", "role"],
        &["update", "user"],
        &["remove"],
        &["backup"],
        &["restore"],
        &["migrate", "plan"],
        &["migrate", "apply"],
        &["migrate", "verify"],
        &["migrate", "finalize"],
        &["completions"],
    ];
    for leaf in leaves {
        assert!(help(leaf).contains("Examples:\n  aws-auth "), "{leaf:?}");
    }
    // The option's line and the next (long help puts the text below it).
    let cluster = |cmd: &str| {
        let text = help(&["migrate", cmd]);
        let lines: Vec<&str> = text.lines().collect();
        let i = lines
            .iter()
            .position(|l| l.contains("--cluster <NAME>"))
            .unwrap();
        format!("{} {}", lines[i], lines.get(i + 1).unwrap_or(&""))
    };
    let words: Vec<String> = ["plan", "apply", "verify", "finalize"]
        .iter()
        .map(|c| cluster(c))
        .collect();
    for (i, a) in words.iter().enumerate() {
        for b in &words[i + 1..] {
            assert_ne!(a, b);
        }
    }
    assert!(
        words[1].contains("create the access entries"),
        "{}",
        words[1]
    );
}

/// Issue 10.14: run by kubectl as a plugin, the usage says `kubectl aws-auth`.
#[test]
fn the_kubectl_plugin_says_kubectl_aws_auth() {
    let home = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("kubectl-aws_auth");
    for args in [&["--help"][..], &["get", "--help"]] {
        let out = std::process::Command::new(&bin)
            .env_clear()
            .env("HOME", home.path())
            .args(args)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Usage: kubectl aws-auth"), "{args:?}: {text}");
    }
    let get = std::process::Command::new(&bin)
        .env_clear()
        .args(["get", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&get.stdout).contains("\n  kubectl aws-auth get -o json"));
}

/// Issue 10.14: `--no-headers` for scripts; on a terminal the table is cut to
/// its width (driven through `script`, which gives the command a terminal).
#[test]
fn tables_drop_headers_and_fit_the_terminal() {
    let s = Scratch::with("hand-written-comments.yaml");
    let a = aws_auth(s.dir.path())
        .current_dir(s.dir.path())
        .args(["--file", "aws-auth.yaml", "get", "--no-headers"])
        .assert()
        .success();
    let out = stdout(&a);
    assert!(out.starts_with("role "), "{out}");
    assert!(!out.contains("KIND"));
    let bin = assert_cmd::cargo::cargo_bin("aws-auth");
    let run = |columns: &str| {
        let out = std::process::Command::new("script")
            .env_clear()
            .env("COLUMNS", columns)
            .env("TERM", "dumb")
            .env("HOME", s.dir.path())
            .current_dir(s.dir.path())
            .args([
                "-qec",
                &format!("{} --file aws-auth.yaml get", bin.display()),
                "/dev/null",
            ])
            .output()
            .expect("script (util-linux) runs");
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).replace('\r', "")
    };
    let narrow = run("60");
    assert!(narrow.contains("KIND"), "{narrow}");
    assert!(narrow.lines().all(|l| l.chars().count() <= 60), "{narrow}");
    assert!(narrow.contains('…'), "{narrow}");
    let wide = run("300");
    assert!(!wide.contains('…'), "{wide}");
}

/// Issue 14: `sync` on a manifest file: the first run adds the owner's
/// mappings with their marker, a second changes nothing, a dry run writes
/// nothing, and lint can be told the marker is on purpose.
#[test]
fn sync_a_manifest_file_twice() {
    let s = Scratch::with("hand-written-comments.yaml");
    std::fs::write(
        s.dir.path().join("team-a.yaml"),
        "mapRoles:\n  - rolearn: arn:aws:iam::111122223333:role/Dev\n    username: \"dev:{{SessionName}}\"\n    groups: [dev]\n",
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "--file",
            "aws-auth.yaml",
            "sync",
            "team-a.yaml",
            "--owner",
            "team-a",
        ];
        args.extend_from_slice(extra);
        aws_auth(s.dir.path())
            .current_dir(s.dir.path())
            .args(&args)
            .assert()
            .success()
    };
    let original = std::fs::read_to_string(s.path()).unwrap();
    let dry = run(&["--dry-run"]);
    assert!(
        stdout(&dry).contains("+  syncedBy: team-a") || stdout(&dry).contains("syncedBy: team-a"),
        "{}",
        stdout(&dry)
    );
    assert_eq!(std::fs::read_to_string(s.path()).unwrap(), original);
    run(&[]);
    let once = std::fs::read_to_string(s.path()).unwrap();
    assert!(once.starts_with(&original));
    assert!(
        once.ends_with("      groups:\n        - dev\n      syncedBy: team-a\n"),
        "{once}"
    );
    let again = run(&[]);
    assert!(stdout(&again).contains("unchanged"), "{}", stdout(&again));
    assert_eq!(std::fs::read_to_string(s.path()).unwrap(), once);
    let lint = aws_auth(s.dir.path())
        .current_dir(s.dir.path())
        .args([
            "--file",
            "aws-auth.yaml",
            "lint",
            "--extension-key",
            "syncedBy",
            "--strict",
        ])
        .assert()
        .success();
    let said = format!(
        "{}{}",
        stdout(&lint),
        String::from_utf8_lossy(&lint.get_output().stderr)
    );
    assert!(said.contains("no problems"), "{said}");
}

/// Issue 10.6: arguments are resolved once, before any command runs: a bad
/// `--protect` is one sentence whatever the command.
#[test]
fn arguments_are_resolved_before_the_command_runs() {
    let s = Scratch::with("hand-written-comments.yaml");
    for args in [&["get"][..], &["add", "account", "111122223333"], &["lint"]] {
        let a = aws_auth(s.dir.path())
            .current_dir(s.dir.path())
            .args(["--file", "aws-auth.yaml", "--protect", "not-an-arn"])
            .args(args)
            .assert()
            .code(5);
        let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
        assert!(err.starts_with("error: --protect: "), "{args:?}: {err}");
    }
}

/// Issue 11: `aws-auth check` gives the admission decision on two manifests:
/// 0 allowed, 4 denied with reasons and positions, JSON, a git base, and the
/// auditable override.
#[test]
fn check_decides_on_a_change_for_ci() {
    let s = Scratch::with("hand-written-comments.yaml");
    let old = std::fs::read_to_string(s.path()).unwrap();
    let dir = s.dir.path();
    let run = |args: &[&str]| aws_auth(dir).current_dir(dir).args(args).assert();
    // No change: allowed.
    let a = run(&["check", "--base", "aws-auth.yaml", "aws-auth.yaml"]).code(0);
    assert_eq!(stdout(&a), "allowed\n");
    // The node role dropped, as a wholesale apply of an old copy does.
    let without_nodes = old.replace(
        "role/prod-nodes   # managed node group",
        "role/other-nodes   # managed node group",
    );
    assert_ne!(without_nodes, old);
    std::fs::write(dir.join("new.yaml"), &without_nodes).unwrap();
    let a = run(&["check", "--base", "aws-auth.yaml", "new.yaml"]).code(4);
    let out = stdout(&a);
    assert!(
        out.contains("aws-auth.yaml:11:7: node-role: would remove the node role mapping of arn:aws:iam::111122223333:role/prod-nodes"),
        "{out}"
    );
    assert!(out.ends_with("REASON to let it through\n"), "{out}");
    let a = run(&["check", "--base", "aws-auth.yaml", "new.yaml", "-o", "json"]).code(4);
    let v: serde_json::Value = serde_json::from_str(&stdout(&a)).unwrap();
    assert_eq!(v["allowed"], false);
    assert_eq!(v["reasons"][0]["code"], "node-role");
    assert_eq!(v["reasons"][0]["position"]["line"], 11);
    // The override, with its reason for the audit log.
    let allowed = without_nodes.replace(
        "  namespace: kube-system\n",
        "  namespace: kube-system\n  annotations:\n    aws-auth/allow-change: node group renamed, OPS-42\n",
    );
    std::fs::write(dir.join("new.yaml"), &allowed).unwrap();
    let a = run(&["check", "--base", "aws-auth.yaml", "new.yaml"]).code(0);
    assert!(
        stdout(&a).contains("allowed by aws-auth/allow-change: node group renamed, OPS-42"),
        "{}",
        stdout(&a)
    );
    // Against a git revision: the committed file is the base.
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git")
            .current_dir(dir)
            .args(["-c", "user.email=ci@example.com", "-c", "user.name=ci"])
            .args(args)
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q", "."]);
    git(&["add", "aws-auth.yaml"]);
    git(&["commit", "-qm", "base"]);
    std::fs::write(s.path(), &without_nodes).unwrap();
    run(&["check", "--base-ref", "HEAD", "aws-auth.yaml"]).code(4);
    std::fs::write(s.path(), &old).unwrap();
    run(&["check", "--base-ref", "HEAD", "aws-auth.yaml"]).code(0);
    // A manifest that is not one: one sentence with the place, exit 5.
    std::fs::write(
        dir.join("bad.yaml"),
        "apiVersion: v1\nkind: ConfigMap\n\tdata: x\n",
    )
    .unwrap();
    let a = run(&["check", "--base", "aws-auth.yaml", "bad.yaml"]).code(5);
    assert!(
        String::from_utf8_lossy(&a.get_output().stderr)
            .starts_with("error: bad.yaml:2:7: YAML syntax error")
    );
}

/// Issue 20.1: a `system:masters` mapping whose ARN no principal can have (an
/// unrendered Terraform variable, a character IAM refuses, a name too long)
/// keeps nobody in: `remove` of the real admin is refused, `lint` calls it an
/// error, and `check` denies the change.
#[test]
fn an_admin_no_principal_can_be_is_no_admin() {
    let impossible = [
        "role/${var.admin_role}",
        "role/[admin]",
        "role/o'brien",
        "role/100%admin",
        "role/a\\\\b",
        "role/J\u{f6}rg",
        "role/team:admin",
        &format!("role/{}", "A".repeat(65)),
        "role/p\u{e4}th/Admin",
    ];
    for name in impossible {
        let map = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/Admin\n      username: admin\n      groups: [system:masters]\n    - rolearn: \"arn:aws:iam::111122223333:{name}\"\n      username: admin2\n      groups: [system:masters]\n"
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("aws-auth.yaml"), &map).unwrap();
        let run = |args: &[&str]| {
            aws_auth(dir.path())
                .current_dir(dir.path())
                .args(args)
                .assert()
        };
        let a = run(&[
            "--file",
            "aws-auth.yaml",
            "remove",
            "role",
            "arn:aws:iam::111122223333:role/Admin",
        ])
        .code(4);
        assert!(
            stderr(&a).contains("would remove the last mapping that grants system:masters"),
            "{name}: {}",
            stderr(&a)
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("aws-auth.yaml")).unwrap(),
            map
        );
        let a = run(&["--file", "aws-auth.yaml", "lint"]).code(1);
        let out = stdout(&a);
        assert!(
            out.contains("error") && out.contains("invalid-name") && out.contains(":11:"),
            "{name}: {out}"
        );
        // The change as a pull request would make it: check denies it.
        let without = map.replace(
            "    - rolearn: arn:aws:iam::111122223333:role/Admin\n      username: admin\n      groups: [system:masters]\n",
            "",
        );
        std::fs::write(dir.path().join("new.yaml"), &without).unwrap();
        let a = run(&["check", "--base", "aws-auth.yaml", "new.yaml"]).code(4);
        assert!(stdout(&a).contains("last-admin"), "{name}: {}", stdout(&a));
    }
}

/// Issue 20.4: writing a node role's groups in another order changes no
/// grant, so no guard trips (the map's text changes, its meaning does not).
#[test]
fn a_node_role_with_its_groups_swapped_is_not_rewritten() {
    let s = Scratch::with("hand-written-comments.yaml");
    let node = "arn:aws:iam::111122223333:role/prod-nodes";
    let a = s
        .run(&[
            "update",
            "role",
            node,
            "-g",
            "system:nodes,system:bootstrappers",
        ])
        .success();
    assert!(s.text().contains("system:nodes"), "{}", stderr(&a));
    let a = s
        .run(&["update", "role", node, "-g", "system:nodes"])
        .code(4);
    assert!(
        stderr(&a).contains("would rewrite the node role mapping"),
        "{}",
        stderr(&a)
    );
}

/// Issue 20.3: `check` honours an override only in the change that sets it:
/// a base that already carries it lets nothing more through.
#[test]
fn check_honours_an_override_only_where_it_is_set() {
    let s = Scratch::with("hand-written-comments.yaml");
    let dir = s.dir.path();
    let old = s.text();
    let annotate = |text: &str, reason: &str| {
        text.replace(
            "  namespace: kube-system\n",
            &format!(
                "  namespace: kube-system\n  annotations:\n    aws-auth/allow-change: {reason}\n"
            ),
        )
    };
    let without_nodes = old.replace("role/prod-nodes ", "role/other-nodes ");
    assert_ne!(without_nodes, old);
    let run = |args: &[&str]| aws_auth(dir).current_dir(dir).args(args).assert();
    // The base carries the annotation (an earlier change set it): it does not
    // count for this one.
    std::fs::write(dir.join("base.yaml"), annotate(&old, "OPS-41")).unwrap();
    std::fs::write(dir.join("new.yaml"), annotate(&without_nodes, "OPS-41")).unwrap();
    let a = run(&["check", "--base", "base.yaml", "new.yaml"]).code(4);
    assert!(
        stdout(&a).contains("counts only for the change that sets it"),
        "{}",
        stdout(&a)
    );
    let a = run(&["check", "--base", "base.yaml", "new.yaml", "-o", "json"]).code(4);
    let v: serde_json::Value = serde_json::from_str(&stdout(&a)).unwrap();
    assert_eq!(v["allowed"], false);
    assert!(v["overrideIgnored"].is_string(), "{v}");
    // A new reason for this change: allowed.
    std::fs::write(dir.join("new.yaml"), annotate(&without_nodes, "OPS-42")).unwrap();
    let a = run(&["check", "--base", "base.yaml", "new.yaml"]).code(0);
    assert!(stdout(&a).contains("allowed by aws-auth/allow-change: OPS-42"));
}

/// Issue 20.2: the items of a `kind: List` (or `ConfigMapList`) are objects
/// kubectl applies one by one: `check` judges the aws-auth among them, an
/// edit edits it, and two are refused.
#[test]
fn the_aws_auth_inside_a_list_is_judged_and_edited() {
    let s = Scratch::with("hand-written-comments.yaml");
    let dir = s.dir.path();
    let old = s.text();
    // The same map as an item of a List, indented under `items:`.
    let as_item = |text: &str| {
        let mut out = String::new();
        for (i, line) in text.lines().enumerate() {
            let prefix = if i == 0 { "- " } else { "  " };
            if line.is_empty() {
                out.push('\n');
            } else {
                out.push_str(prefix);
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    };
    let other = "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: other\n    namespace: default\n  data:\n    x: y\n";
    for kind in ["List", "ConfigMapList"] {
        let list = |map: &str| {
            format!(
                "apiVersion: v1\nkind: {kind}\nitems:\n{other}{}",
                as_item(map)
            )
        };
        let without_nodes = old.replace("role/prod-nodes ", "role/other-nodes ");
        std::fs::write(dir.join("new.yaml"), list(&without_nodes)).unwrap();
        let a = aws_auth(dir)
            .current_dir(dir)
            .args(["check", "--base", "aws-auth.yaml", "new.yaml"])
            .assert()
            .code(4);
        assert!(stdout(&a).contains("node-role"), "{kind}: {}", stdout(&a));
        // Two aws-auth ConfigMaps in one file: refused, whichever holds them.
        let two = format!("{}{}", list(&old), as_item(&without_nodes));
        std::fs::write(dir.join("two.yaml"), &two).unwrap();
        let a = aws_auth(dir)
            .current_dir(dir)
            .args(["check", "--base", "aws-auth.yaml", "two.yaml"])
            .assert()
            .code(5);
        assert!(
            stderr(&a).contains("more than one kube-system/aws-auth ConfigMap"),
            "{kind}: {}",
            stderr(&a)
        );
        // An edit of the file edits the item, and leaves the rest byte for byte.
        std::fs::write(dir.join("list.yaml"), list(&old)).unwrap();
        aws_auth(dir)
            .current_dir(dir)
            .args([
                "--file",
                "list.yaml",
                "add",
                "user",
                "arn:aws:iam::111122223333:user/alice",
                "-g",
                "devs",
            ])
            .assert()
            .success();
        let edited = std::fs::read_to_string(dir.join("list.yaml")).unwrap();
        assert!(edited.starts_with(&format!("apiVersion: v1\nkind: {kind}\nitems:\n{other}")));
        let a = aws_auth(dir)
            .current_dir(dir)
            .args(["--file", "list.yaml", "get", "-o", "json"])
            .assert()
            .success();
        assert!(stdout(&a).contains("user/alice"), "{kind}: {edited}");
        // And the guards hold there too.
        let a = aws_auth(dir)
            .current_dir(dir)
            .args([
                "--file",
                "list.yaml",
                "remove",
                "role",
                "arn:aws:iam::111122223333:role/prod-nodes",
            ])
            .assert()
            .code(4);
        assert!(stderr(&a).contains("node role"), "{}", stderr(&a));
    }
}

/// Issue 20.5: a pruning sync of an empty or cut-short desired file is
/// refused at its line with nothing written; one that would leave the owner
/// nothing needs the empty lists written out, or `--force`.
#[test]
fn a_pruning_sync_never_acts_on_an_empty_or_truncated_file() {
    let s = Scratch::with("hand-written-comments.yaml");
    let dir = s.dir.path();
    let two = "mapUsers:\n  - userarn: arn:aws:iam::111122223333:user/a\n    username: a\n  - userarn: arn:aws:iam::111122223333:user/b\n    username: b\n";
    let sync = |desired: &str, extra: &[&str]| {
        std::fs::write(dir.join("team-a.yaml"), desired).unwrap();
        aws_auth(dir)
            .current_dir(dir)
            .args([
                "--file",
                "aws-auth.yaml",
                "sync",
                "team-a.yaml",
                "--owner",
                "team-a",
                "--prune",
            ])
            .args(extra)
            .assert()
    };
    sync(two, &[]).success();
    let synced = s.text();
    assert!(synced.contains("user/b"));
    for (desired, line, needle) in [
        ("", 1, "the file is empty"),
        ("{}\n", 1, "neither mapRoles nor mapUsers"),
        ("mapUsers:\n", 1, "mapUsers is empty (null)"),
        (
            "mapUsers:\n  - userarn: arn:aws:iam::111122223333:user/a\n    username: a\n...\n  - userarn: arn:aws:iam::111122223333:user/b\n    username: b\n",
            4,
            "`...` marker",
        ),
        (
            "mapUsers:\n  - userarn: arn:aws:iam::111122223333:user/a\n    username: a\n---\nmapUsers: []\n",
            4,
            "second YAML document",
        ),
    ] {
        let a = sync(desired, &[]).code(5);
        let err = stderr(&a);
        assert!(
            err.contains(&format!("team-a.yaml: line {line}, column")) && err.contains(needle),
            "{desired:?}: {err}"
        );
        assert_eq!(s.text(), synced, "{desired:?} wrote");
    }
    // The owner left with nothing: refused as a guard unless the file says so.
    let others =
        "mapRoles:\n  - rolearn: arn:aws:iam::111122223333:role/prod-nodes\n    username: x\n";
    let a = sync(others, &[]).code(4);
    assert!(
        stderr(&a).contains("would remove every mapping team-a has (2)"),
        "{}",
        stderr(&a)
    );
    assert_eq!(s.text(), synced);
    let a = sync("mapRoles: []\nmapUsers: []\n", &["--dry-run"]).success();
    assert!(
        stdout(&a).contains("-  - userarn: arn:aws:iam::111122223333:user/a")
            || stdout(&a).contains("user/a"),
        "{}",
        stdout(&a)
    );
    sync(others, &["--force", "--yes"]).success();
    assert!(!s.text().contains("user/b"));
}

/// Issue 20.11: a data key written as YAML allows but the editor cannot
/// place a value beside (a tab before its colon, an explicit `? key`, a
/// block scalar key) is read, and an edit is refused with exit 5, its line
/// and what to write instead; never exit 70.
#[test]
fn keys_written_oddly_are_read_and_edits_refused_clearly() {
    let head = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n";
    let role = "    - rolearn: arn:aws:iam::111122223333:role/a\n      username: a\n";
    for (data, key, why) in [
        (
            format!("  mapRoles\t: |\n{role}"),
            "mapRoles",
            "a tab before its colon",
        ),
        (
            format!("  ? mapRoles\n  : |\n{role}"),
            "mapRoles",
            "explicit key",
        ),
        (
            format!("  ? |-\n    mapRoles\n  : |\n{role}"),
            "mapRoles",
            "colon on another line",
        ),
        (
            format!("  mapUsers:  |\n    []\n  ? mapRoles\n  : |\n{role}"),
            "mapRoles",
            "explicit key",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let text = format!("{head}{data}");
        std::fs::write(dir.path().join("aws-auth.yaml"), &text).unwrap();
        let run = |args: &[&str]| {
            aws_auth(dir.path())
                .current_dir(dir.path())
                .args(["--file", "aws-auth.yaml"])
                .args(args)
                .assert()
        };
        let a = run(&["get", "-o", "json"]).success();
        assert!(stdout(&a).contains("role/a"), "{data:?}: {}", stdout(&a));
        for args in [
            &["add", "user", "arn:aws:iam::111122223333:user/b"][..],
            &["add", "role", "arn:aws:iam::111122223333:role/b"][..],
            &[
                "remove",
                "role",
                "arn:aws:iam::111122223333:role/a",
                "--force",
                "--yes",
            ][..],
        ] {
            let a = run(args).code(5);
            let err = stderr(&a);
            assert!(
                err.contains(&format!("data.{key} (line")) && err.contains(why),
                "{data:?} {args:?}: {err}"
            );
            assert_eq!(
                std::fs::read_to_string(dir.path().join("aws-auth.yaml")).unwrap(),
                text
            );
        }
    }
}

/// Issue 25, items 6 and 10: a role ARN with its IAM path (as the IAM
/// console shows an SSO role) is written without it, and said; a role
/// whose sessions would share one name, and a mapping with no groups, are
/// warned about.
#[test]
fn what_the_tool_knows_it_writes_and_what_it_doubts_it_says() {
    let s = Scratch::with("hand-written-comments.yaml");
    let sso = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Dev_0123456789abcdef";
    let a = s.run(&["add", "role", sso, "-g", "dev"]).success();
    let err = stderr(&a);
    assert!(
        err.contains("note: wrote arn:aws:iam::111122223333:role/AWSReservedSSO_Dev_0123456789abcdef for arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Dev_0123456789abcdef: the authenticator compares a role's ARN without its IAM path"),
        "{err}"
    );
    assert!(
        s.text().contains(
            "rolearn: arn:aws:iam::111122223333:role/AWSReservedSSO_Dev_0123456789abcdef"
        )
    );
    assert!(!s.text().contains("aws-reserved"));
    // Without a template, every session shares the name.
    assert!(
        err.contains("logs in as \"AWSReservedSSO_Dev_0123456789abcdef\", so the audit log cannot tell who did what; a username like \"AWSReservedSSO_Dev_0123456789abcdef:{{SessionName}}\" names each session"),
        "{err}"
    );
    // The same path given to remove finds it.
    s.run(&["remove", "role", sso]).success();
    assert!(!s.text().contains("AWSReservedSSO_Dev"));
    // No groups: warned; a templated role with groups: nothing said.
    let a = s
        .run(&["add", "user", "arn:aws:iam::111122223333:user/nogroups"])
        .success();
    assert!(stderr(&a).contains("gets no groups"), "{}", stderr(&a));
    let a = s
        .run(&[
            "add",
            "role",
            "arn:aws:iam::111122223333:role/Ci",
            "-u",
            "ci:{{SessionName}}",
            "-g",
            "ci",
        ])
        .success();
    assert!(!stderr(&a).contains("warning"), "{}", stderr(&a));
}

/// Issue 25.7: a list names principals by bare name in `--account`, and a
/// list with several bad lines says each of them, writing nothing.
#[test]
fn lists_take_bare_names_and_report_every_bad_line() {
    let s = Scratch::with("hand-written-comments.yaml");
    std::fs::write(
        s.dir.path().join("team.txt"),
        "# the team\nalice\nbob bobby\narn:aws:iam::444455556666:user/carol\n",
    )
    .unwrap();
    s.run(&[
        "add",
        "user",
        "--from-file",
        "team.txt",
        "--account",
        "111122223333",
        "-g",
        "dev",
    ])
    .success();
    let text = s.text();
    for want in [
        "userarn: arn:aws:iam::111122223333:user/alice",
        "userarn: arn:aws:iam::111122223333:user/bob",
        "username: bobby",
        "userarn: arn:aws:iam::444455556666:user/carol",
    ] {
        assert!(text.contains(want), "{want} not in {text}");
    }
    // Without --account and without AWS credentials: told what to give.
    std::fs::write(s.dir.path().join("more.txt"), "dave\n").unwrap();
    let before = s.text();
    let a = s
        .run(&["add", "user", "--from-file", "more.txt", "-g", "dev"])
        .code(78);
    assert!(stderr(&a).contains("give --account ID"), "{}", stderr(&a));
    assert_eq!(s.text(), before);
    // Every bad line at once, and nothing written.
    std::fs::write(
        s.dir.path().join("bad.txt"),
        "erin\narn:aws:iam::1:user/x\nfrank a b\narn:aws:iam::111122223333:user/gina\n",
    )
    .unwrap();
    let a = s
        .run(&[
            "add",
            "user",
            "--from-file",
            "bad.txt",
            "--account",
            "111122223333",
        ])
        .code(5);
    let err = stderr(&a);
    assert!(err.starts_with("error: "), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    // batch's own check (the field count) comes first, then the ARNs.
    assert!(
        err.contains("bad.txt:3: expected `ARN [USERNAME]`, found more fields"),
        "{err}"
    );
    assert_eq!(s.text(), before);
    std::fs::write(
        s.dir.path().join("bad.txt"),
        "erin\narn:aws:iam::1:user/x\narn:aws:iam::111122223333:user/gina\nnot:an:arn:x\n",
    )
    .unwrap();
    let a = s
        .run(&[
            "add",
            "user",
            "--from-file",
            "bad.txt",
            "--account",
            "111122223333",
        ])
        .code(5);
    let err = stderr(&a);
    assert!(
        err.contains("2 lines are wrong, nothing was done: bad.txt:2: "),
        "{err}"
    );
    assert!(err.contains("; bad.txt:4: "), "{err}");
    assert_eq!(s.text(), before);
}

/// Issue 25.11: `sync` takes the ConfigMap manifest a repository keeps as
/// its desired file, and says which entries it adopted.
#[test]
fn sync_takes_the_config_map_a_repository_keeps() {
    let s = Scratch::with("hand-written-comments.yaml");
    std::fs::write(
        s.dir.path().join("desired.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/AWSReservedSSO_ReadOnly_fedcba9876543210\n      username: readonly:{{SessionName}}\n      groups: [view-only]\n  mapUsers: |\n    - userarn: arn:aws:iam::111122223333:user/alice\n      username: alice\n      groups: [dev]\n",
    )
    .unwrap();
    let a = s
        .run(&["sync", "desired.yaml", "--owner", "team-a", "--adopt"])
        .success();
    let out = stdout(&a);
    assert!(
        out.contains("adopted arn:aws:iam::111122223333:role/AWSReservedSSO_ReadOnly_fedcba9876543210 in mapRoles (it already said the same; now the sync's own)"),
        "{out}"
    );
    assert!(
        out.contains("added arn:aws:iam::111122223333:user/alice to mapUsers"),
        "{out}"
    );
    let text = s.text();
    assert!(text.contains("syncedBy: team-a"), "{text}");
    // Again: nothing to do.
    let a = s
        .run(&["sync", "desired.yaml", "--owner", "team-a", "--adopt"])
        .success();
    assert!(!stdout(&a).contains("added"), "{}", stdout(&a));
    // A manifest whose key the authenticator cannot read is refused, with
    // its line: never read as "nothing wanted".
    std::fs::write(
        s.dir.path().join("broken.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\ndata:\n  mapUsers: |\n    - userarn: [\n",
    )
    .unwrap();
    let a = s
        .run(&["sync", "broken.yaml", "--owner", "team-a", "--prune"])
        .code(5);
    assert!(
        stderr(&a).contains("broken.yaml: line 7, column 16: mapUsers cannot be read"),
        "{}",
        stderr(&a)
    );
    assert!(s.text().contains("user/alice"));
}

/// Issue 25.4: at 80 columns 150 users of one account read apart (the
/// shared account is cut, never the names); at 200 nothing is cut; `-o
/// wide` never cuts; help wraps at the terminal's width.
#[test]
fn narrow_tables_keep_what_tells_rows_apart() {
    let home = tempfile::tempdir().unwrap();
    let users: String = (0..150)
        .map(|i| {
            format!(
                "    - userarn: arn:aws:iam::111122223333:user/engineering/person-{i:03}\n      username: person-{i:03}\n      groups: [developers, view]\n"
            )
        })
        .collect();
    std::fs::write(
        home.path().join("aws-auth.yaml"),
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapUsers: |\n{users}"),
    )
    .unwrap();
    let bin = assert_cmd::cargo::cargo_bin("aws-auth");
    let run = |columns: &str, extra: &str| {
        let out = std::process::Command::new("script")
            .env_clear()
            .env("COLUMNS", columns)
            .env("TERM", "dumb")
            .env("HOME", home.path())
            .current_dir(home.path())
            .args([
                "-qec",
                &format!("{} --file aws-auth.yaml get {extra}", bin.display()),
                "/dev/null",
            ])
            .output()
            .expect("script (util-linux) runs");
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).replace('\r', "")
    };
    let narrow = run("80", "");
    let lines: Vec<&str> = narrow.lines().collect();
    assert_eq!(lines.len(), 151, "{narrow}");
    assert!(lines.iter().all(|l| l.chars().count() <= 80), "{narrow}");
    let distinct: std::collections::HashSet<&&str> = lines.iter().collect();
    assert_eq!(distinct.len(), 151, "rows read alike:\n{narrow}");
    assert!(narrow.contains("…person-149"), "{narrow}");
    let roomy = run("200", "");
    assert!(!roomy.contains('…'), "{roomy}");
    assert!(roomy.contains("arn:aws:iam::111122223333:user/engineering/person-000"));
    let wide = run("80", "-o wide");
    assert!(!wide.contains('…'), "{wide}");
    assert!(wide.contains("arn:aws:iam::111122223333:user/engineering/person-149"));
    // Help, at the terminal's width.
    let out = std::process::Command::new(&bin)
        .env_clear()
        .env("COLUMNS", "60")
        .args(["grant", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.lines().count() > 20, "{help}");
    let over: Vec<&str> = help.lines().filter(|l| l.chars().count() > 60).collect();
    assert!(over.len() <= 2, "lines over 60 columns: {over:#?}");
}

/// Issue 25.5: `check` says what the change does to access, per principal
/// (text and JSON); takes several files; reads `--base -` from stdin; and
/// in a clone without the base revision says to fetch it.
#[test]
fn check_tells_a_reviewer_who_gains_and_who_loses() {
    let s = Scratch::with("hand-written-comments.yaml");
    let old = std::fs::read_to_string(s.path()).unwrap();
    let dir = s.dir.path();
    let run = |args: &[&str]| aws_auth(dir).current_dir(dir).args(args).assert();
    let changed = old.replace(
        "        - view-only\n",
        "        - view-only\n        - auditors\n",
    ) + "  mapUsers: |\n    - userarn: arn:aws:iam::111122223333:user/alice\n      username: alice\n      groups: [dev]\n";
    std::fs::write(dir.join("new.yaml"), &changed).unwrap();
    let a = run(&["check", "--base", "aws-auth.yaml", "new.yaml"]).code(0);
    let out = stdout(&a);
    assert!(
        out.contains("access: mapRoles arn:aws:iam::111122223333:role/AWSReservedSSO_ReadOnly_fedcba9876543210: readonly:{{SessionName}} [view-only] -> readonly:{{SessionName}} [view-only, auditors]"),
        "{out}"
    );
    assert!(
        out.contains("access: mapUsers arn:aws:iam::111122223333:user/alice: gains alice [dev]"),
        "{out}"
    );
    assert!(out.ends_with("allowed\n"), "{out}");
    // JSON: the same, per principal.
    let a = run(&["check", "--base", "aws-auth.yaml", "new.yaml", "-o", "json"]).code(0);
    let v: serde_json::Value = serde_json::from_str(&stdout(&a)).unwrap();
    assert_eq!(v["access"][1]["effect"], "gains");
    assert_eq!(
        v["access"][1]["after"]["groups"],
        serde_json::json!(["dev"])
    );
    // The base from stdin.
    let a = aws_auth(dir)
        .current_dir(dir)
        .args(["check", "--base", "-", "new.yaml"])
        .write_stdin(old.clone())
        .assert()
        .code(0);
    assert!(stdout(&a).contains("gains alice"), "{}", stdout(&a));
    // Several files against a revision; the worst decides the exit code.
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git")
            .current_dir(dir)
            .args(["-c", "user.email=ci@example.com", "-c", "user.name=ci"])
            .args(args)
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "git {args:?}");
    };
    std::fs::write(dir.join("other.yaml"), &old).unwrap();
    git(&["init", "-q", "."]);
    git(&["add", "aws-auth.yaml", "other.yaml"]);
    git(&["commit", "-qm", "base"]);
    std::fs::write(s.path(), &changed).unwrap();
    let without_nodes = old.replace("role/prod-nodes", "role/other-nodes");
    std::fs::write(dir.join("other.yaml"), &without_nodes).unwrap();
    let a = run(&["check", "--base-ref", "HEAD", "aws-auth.yaml", "other.yaml"]).code(4);
    let out = stdout(&a);
    assert!(out.contains("aws-auth.yaml:\naccess: "), "{out}");
    assert!(
        out.contains(
            "other.yaml:\naccess: mapRoles arn:aws:iam::111122223333:role/other-nodes: gains"
        ),
        "{out}"
    );
    assert!(
        out.contains("loses system:node:{{EC2PrivateDNSName}}"),
        "{out}"
    );
    // A revision this clone does not have: fetch it (exit 3), not a usage error.
    let a = run(&["check", "--base-ref", "origin/main", "aws-auth.yaml"]).code(3);
    assert!(
        String::from_utf8_lossy(&a.get_output().stderr)
            .contains("the revision origin/main is not in this clone (a shallow or single-branch checkout?): fetch it first, e.g. `git fetch --depth=1 origin main`"),
        "{}",
        String::from_utf8_lossy(&a.get_output().stderr)
    );
    // --base with several files: one base, one file.
    run(&["check", "--base", "aws-auth.yaml", "new.yaml", "other.yaml"]).code(64);
}
