//! `aws-auth access`: access entries directly, against the local AWS with
//! the real SDK clients. The workshop job, `sync` with its ownership rules,
//! bad files, the guards, a killed run, throttling and a concurrent writer.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::aws::{ACCOUNT, ADMIN_POLICY, Aws, Entry};
use crate::migrate::{CLUSTER, Setup};

const VIEW: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
const EDIT: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy";
const ACK: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSACKPolicy";
const CREATOR: &str = "arn:aws:iam::111122223333:role/Terraform";
const NODES: &str = "arn:aws:iam::111122223333:role/NodeInstanceRole";
const CAPABILITY: &str = "arn:aws:iam::111122223333:role/AckCapabilityRole";
/// The caller of every command (STS says `assumed-role/Admin/...`).
const ME: &str = "arn:aws:iam::111122223333:role/Admin";

fn out(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

fn err(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

fn entry(kind: &str, username: &str, policies: &[&str]) -> Entry {
    Entry {
        kind: kind.to_owned(),
        username: username.to_owned(),
        groups: Vec::new(),
        policies: policies
            .iter()
            .map(|p| ((*p).to_owned(), json!({"type": "cluster"})))
            .collect(),
    }
}

/// A cluster in API mode with what EKS and AWS services made (the creator's
/// bootstrap entry at the cluster's creation, a managed node group's entry,
/// an EKS capability's), and people's entries made later.
fn migrated() -> Setup {
    let s = Setup::new("API");
    s.aws.role("/", "Terraform");
    s.aws.role("/", "Admin");
    s.aws.role("/", "AckCapabilityRole");
    s.aws.role("/teams/", "Dev");
    s.aws.user("leaver");
    s.aws.with_cluster(CLUSTER, |c| {
        let later = c.created_at + 86_400.0;
        for (p, e, at) in [
            (
                CREATOR,
                entry(
                    "STANDARD",
                    "arn:aws:sts::111122223333:assumed-role/Terraform/{{SessionName}}",
                    &[ADMIN_POLICY],
                ),
                c.created_at + 30.0,
            ),
            (
                NODES,
                entry("EC2_LINUX", "system:node:{{EC2PrivateDNSName}}", &[]),
                later,
            ),
            (CAPABILITY, entry("STANDARD", "ack", &[ACK]), later),
            (ME, entry("STANDARD", "admin", &[ADMIN_POLICY]), later),
            (
                "arn:aws:iam::111122223333:user/leaver",
                entry("STANDARD", "leaver", &[VIEW]),
                later,
            ),
            (
                "arn:aws:iam::111122223333:user/alice",
                entry("STANDARD", "alice", &[ADMIN_POLICY]),
                later,
            ),
        ] {
            c.entries.insert(p.to_owned(), e);
            c.entry_created.insert(p.to_owned(), at);
        }
    });
    s
}

fn write(s: &Setup, name: &str, text: &str) -> String {
    let path = s.env.home.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// The file every sync test starts from: Admin (ourselves) kept as is,
/// alice down to view, bob new with cluster-admin, the Dev role (its IAM
/// path left out) with edit in two namespaces.
const DESIRED: &str = "\
# who may use prod
entries:
  - principalArn: arn:aws:iam::111122223333:role/Admin
    username: admin
    accessPolicies: [{policy: cluster-admin}]
  - principalArn: arn:aws:iam::111122223333:user/alice
    username: alice
    accessPolicies:
      - policy: view
  - principalArn: arn:aws:iam::111122223333:user/bob
    kubernetesGroups: [oncall]
    accessPolicies:
      - policy: AmazonEKSClusterAdminPolicy
  - principalArn: arn:aws:iam::111122223333:role/Dev
    username: dev:{{SessionName}}
    accessPolicies:
      - policy: edit
        namespaces: [dev, staging]
";

/// Issue 12's workshop job: twenty IAM users from a file, cluster-admin
/// each, in one command; run again, nothing happens and nothing fails.
#[test]
fn the_workshop_job_grants_twenty_users_cluster_admin_and_can_run_again() {
    let s = Setup::new("API_AND_CONFIG_MAP");
    let mut list = String::from("# the workshop's attendees\n");
    for i in 0..20 {
        let arn = s.aws.user(&format!("attendee{i:02}"));
        list.push_str(&format!("{arn}\n"));
    }
    let file = write(&s, "attendees.txt", &list);
    let args = [
        "add",
        "--from-file",
        &file,
        "--policy",
        "cluster-admin",
        "-o",
        "json",
    ];
    let first = s.access(&args).assert().success();
    let v: Value = serde_json::from_str(&out(&first)).unwrap();
    assert_eq!(v["summary"]["done"], 40, "{v}");
    assert_eq!(v["summary"]["failed"], 0, "{v}");
    let entries = s.entries();
    for i in 0..20 {
        let e = &entries[&format!("arn:aws:iam::{ACCOUNT}:user/attendee{i:02}")];
        assert_eq!(e.policies[ADMIN_POLICY]["type"], "cluster");
        // EKS chose the username: the user's ARN.
        assert_eq!(
            e.username,
            format!("arn:aws:iam::{ACCOUNT}:user/attendee{i:02}")
        );
    }
    // Again: everything is already there, no conflict, no call that writes.
    s.aws.clear_calls();
    let again = s.access(&args).assert().success();
    let v: Value = serde_json::from_str(&out(&again)).unwrap();
    assert_eq!(v["results"].as_array().map_or(1, Vec::len), 0, "{v}");
    assert_eq!(v["conflicts"].as_array().map_or(1, Vec::len), 0, "{v}");
    assert!(
        s.aws
            .calls()
            .iter()
            .all(|c| !c.op.starts_with("Create") && !c.op.starts_with("Associate")),
        "{:?}",
        s.aws.calls()
    );
    assert_eq!(s.entries(), entries);
    // One of them asked for another username: a conflict, said in the
    // request's words, left alone, exit 1.
    let a = s
        .access(&[
            "add",
            &format!("arn:aws:iam::{ACCOUNT}:user/attendee00"),
            "-u",
            "att00",
            "--policy",
            "cluster-admin",
        ])
        .assert()
        .code(1);
    assert!(
        out(&a).contains(&format!(
            "the username is arn:aws:iam::{ACCOUNT}:user/attendee00, the request says att00"
        )),
        "{}",
        out(&a)
    );
    assert_eq!(s.entries(), entries);
    // The workshop is over for half of them: a file of the others, pruned.
    let mut stay = String::from("entries:\n");
    for i in 0..10 {
        stay.push_str(&format!(
            "  - principalArn: arn:aws:iam::{ACCOUNT}:user/attendee{i:02}\n    accessPolicies: [{{policy: cluster-admin}}]\n"
        ));
    }
    let stay = write(&s, "stay.yaml", &stay);
    s.access(&["sync", &stay, "--prune"]).assert().success();
    let left: Vec<String> = s.entries().into_keys().collect();
    let want: Vec<String> = (0..10)
        .map(|i| format!("arn:aws:iam::{ACCOUNT}:user/attendee{i:02}"))
        .collect();
    assert_eq!(left, want);
}

#[test]
fn sync_makes_the_entries_what_the_file_says_and_prunes_only_when_asked() {
    let s = migrated();
    let file = write(&s, "entries.yaml", DESIRED);
    let before = s.entries();
    // The plan, nothing sent.
    let plan = s.access(&["sync", &file, "--dry-run"]).assert().success();
    let text = out(&plan);
    for line in [
        "create STANDARD access entry for arn:aws:iam::111122223333:user/bob, groups oncall",
        "create STANDARD access entry for arn:aws:iam::111122223333:role/teams/Dev, username dev:{{SessionName}}",
        "associate AmazonEKSEditPolicy (namespace scope [dev, staging]) with arn:aws:iam::111122223333:role/teams/Dev",
        "disassociate AmazonEKSClusterAdminPolicy from arn:aws:iam::111122223333:user/alice",
        "arn:aws:iam::111122223333:user/leaver: not in the file, kept (--prune deletes it)",
    ] {
        assert!(text.contains(line), "{line:?} not in\n{text}");
    }
    assert_eq!(s.entries(), before, "a dry run changed something");
    // Applied without --prune: the leaver stays.
    s.access(&["sync", &file]).assert().success();
    let after = s.entries();
    assert_eq!(after[CREATOR], before[CREATOR]);
    assert!(after.contains_key("arn:aws:iam::111122223333:user/leaver"));
    assert_eq!(
        after["arn:aws:iam::111122223333:user/alice"]
            .policies
            .keys()
            .collect::<Vec<_>>(),
        [VIEW]
    );
    assert_eq!(
        after["arn:aws:iam::111122223333:role/teams/Dev"].policies[EDIT],
        json!({"type": "namespace", "namespaces": ["dev", "staging"]})
    );
    assert_eq!(
        after["arn:aws:iam::111122223333:user/bob"].groups,
        ["oncall"]
    );
    // With --prune: the leaver goes; what EKS and AWS services made stays.
    let pruned = s
        .access(&["sync", &file, "--prune", "-o", "json"])
        .assert()
        .success();
    let v: Value = serde_json::from_str(&out(&pruned)).unwrap();
    assert_eq!(
        v["results"],
        json!([{"op": "delete-access-entry", "principalArn": "arn:aws:iam::111122223333:user/leaver", "status": "done"}])
    );
    let kept: Vec<String> = v["unchanged"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["detail"].as_str().unwrap().starts_with("not in the file"))
        .map(|u| format!("{}: {}", u["principalArn"], u["detail"]))
        .collect();
    insta::assert_snapshot!(kept.join("\n"));
    let entries = s.entries();
    assert!(!entries.contains_key("arn:aws:iam::111122223333:user/leaver"));
    for p in [CREATOR, NODES, CAPABILITY, ME] {
        assert_eq!(entries[p], before[p], "{p}");
    }
    // Converged: a further run sends nothing.
    s.aws.clear_calls();
    let again = s
        .access(&["sync", &file, "--prune", "-o", "json"])
        .assert()
        .success();
    let v: Value = serde_json::from_str(&out(&again)).unwrap();
    assert_eq!(v["results"], json!([]), "{v}");
    assert!(
        s.aws.calls().iter().all(|c| c.op.starts_with("List")
            || c.op.starts_with("Describe")
            || c.op.starts_with("Get")),
        "{:?}",
        s.aws.calls()
    );
}

/// Every mistake is named with its line before any call is made.
#[test]
fn sync_refuses_a_bad_file_before_any_call() {
    let s = migrated();
    let cases: [(&str, &str); 16] = [
        // Issue 20.5: what could be an empty or cut-short file.
        ("", "line 1, column 1: the file is empty"),
        ("{}\n", "line 1, column 1: the file has no `entries`"),
        ("entries:\n", "line 1, column 1: `entries` is empty (null)"),
        (
            "entries:\n  - principalArn: arn:aws:iam::111122223333:user/a\n...\n  - principalArn: arn:aws:iam::111122223333:user/b\n",
            "line 3, column 1: a `...` marker ends the YAML document here",
        ),
        (
            "entries:\n  - principalArn: arn:aws:iam::111122223333:user/a\n---\nentries: []\n",
            "line 3, column 1: a `---` marker starts a second YAML document",
        ),
        (
            "entries:\n  - principalArn: arn:aws:iam::111122223333:user/a\n    kubernetesGroups: [system:masters]\n",
            "line 2, column 5: entries[0]: arn:aws:iam::111122223333:user/a: access entries refuse the group system:masters: give the access policy cluster-admin instead",
        ),
        (
            "entries:\n  - principalArn: arn:aws:iam::111122223333:user/a\n  - principalArn: arn:aws:iam::111122223333:user/b\n    username: eks:b\n",
            "line 3, column 5: entries[1]: arn:aws:iam::111122223333:user/b: the username \"eks:b\" starts with eks:",
        ),
        (
            "entries:\n  - principalArn: arn:aws:iam::111122223333:user/a\n    accessPolicies: [{policy: root}]\n",
            "entries[0].accessPolicies[0]: no access policy \"root\"",
        ),
        (
            "entries:\n  - principalArn: arn:aws:iam::111122223333:user/a\n    type: EC2_LINUX\n",
            "EC2_LINUX entries are for roles",
        ),
        (
            "entries:\n  - principalArn: arn:aws:iam::111122223333:user/a\n    usrname: a\n",
            "entries[0]: unknown field \"usrname\"",
        ),
        (
            "entries:\n  - principalArn: arn:aws:iam::111122223333:user/a\n  - principalArn: arn:aws:iam::111122223333:user/a\n",
            "line 3, column 5: entries[1]: arn:aws:iam::111122223333:user/a is named twice",
        ),
        (
            "entries:\n  - principalArn: arn:aws:iam::111122223333:role/teams/Dev\n  - principalArn: arn:aws:iam::111122223333:role/dev\n",
            "line 3, column 5: entries[1]: arn:aws:iam::111122223333:role/dev is named twice",
        ),
        (
            "entries:\n  - principalArn: arn:aws:iam::111122223333:user/a\n    accessPolicies: [{policy: view, namespaces: []}]\n",
            "line 2, column 5: entries[0].accessPolicies[0].namespaces: an empty list (leave namespaces out for cluster scope)",
        ),
        (
            "entries:\n  - principalArn: arn:aws:sts::111122223333:assumed-role/Dev/s\n",
            "an access entry is for an IAM role or user",
        ),
        ("entries:\n\t- principalArn: x\n", "line 2"),
        (
            "- principalArn: arn:aws:iam::111122223333:user/a\n",
            "the file is not a mapping with `entries`",
        ),
    ];
    let before = s.entries();
    for (i, (text, want)) in cases.iter().enumerate() {
        let file = write(&s, &format!("bad{i}.yaml"), text);
        s.aws.clear_calls();
        let a = s.access(&["sync", &file, "--prune"]).assert().code(5);
        let e = err(&a);
        assert!(e.contains(want), "case {i}: {want:?} not in {e}");
        assert!(e.contains(&file), "case {i}: the file is not named: {e}");
        assert_eq!(e.trim().lines().count(), 1, "case {i}: {e}");
        assert!(s.aws.calls().is_empty(), "case {i}: {:?}", s.aws.calls());
    }
    assert_eq!(s.entries(), before);
    // A principal IAM does not know: refused after asking IAM, before any
    // EKS write.
    let file = write(
        &s,
        "ghost.yaml",
        "entries:\n  - principalArn: arn:aws:iam::111122223333:user/ghost\n",
    );
    s.aws.clear_calls();
    let a = s.access(&["sync", &file]).assert().code(5);
    assert!(err(&a).contains("user/ghost"), "{}", err(&a));
    assert!(
        s.aws
            .calls()
            .iter()
            .all(|c| !c.op.starts_with("Create") && !c.op.starts_with("Delete")),
        "{:?}",
        s.aws.calls()
    );
    // A missing file.
    s.access(&["sync", "/nonexistent/entries.yaml"])
        .assert()
        .code(3);
}

/// The guards hold from every command: sync, remove and update.
#[test]
fn the_guards_hold_for_sync_remove_and_update() {
    let s = migrated();
    let before = s.entries();
    // A file without us, pruned: our own entry would go.
    let without_me = write(
        &s,
        "without-me.yaml",
        "entries:\n  - principalArn: arn:aws:iam::111122223333:user/alice\n    username: alice\n    accessPolicies: [{policy: cluster-admin}]\n",
    );
    let a = s.access(&["sync", &without_me, "--prune"]).assert().code(4);
    assert!(
        err(&a).contains(&format!("would delete your own entry ({ME})")),
        "{}",
        err(&a)
    );
    // A file that takes cluster-admin from everyone who has it (the
    // creator named without policies, so it is the file's).
    let no_admin = write(
        &s,
        "no-admin.yaml",
        &format!(
            "entries:\n  - principalArn: {ME}\n    username: admin\n  - principalArn: {CREATOR}\n  - principalArn: arn:aws:iam::111122223333:user/alice\n    username: alice\n"
        ),
    );
    let a = s.access(&["sync", &no_admin, "--prune"]).assert().code(4);
    assert!(err(&a).contains("last entry with it"), "{}", err(&a));
    // A protected principal.
    let a = s
        .access(&[
            "remove",
            "arn:aws:iam::111122223333:user/leaver",
            "--protect",
            "arn:aws:iam::111122223333:user/leaver",
        ])
        .assert()
        .code(4);
    assert!(err(&a).contains("protected principal"), "{}", err(&a));
    // A node entry, by remove (sync never prunes it).
    let a = s.access(&["remove", NODES]).assert().code(4);
    assert!(
        err(&a).contains("nodes using it would stop joining"),
        "{}",
        err(&a)
    );
    // Rewriting our own entry, by update and by add --update-existing.
    let a = s
        .access(&["update", ME, "--remove-policy", "cluster-admin"])
        .assert()
        .code(4);
    assert!(err(&a).contains("your own entry"), "{}", err(&a));
    let a = s
        .access(&["add", ME, "-u", "someone-else", "--update-existing"])
        .assert()
        .code(4);
    assert!(
        err(&a).contains(&format!("would rewrite your own entry ({ME})")),
        "{}",
        err(&a)
    );
    assert_eq!(s.entries(), before, "a refused command changed something");
    // --force does it, and says what it forced.
    let a = s
        .access(&[
            "remove",
            "--force",
            "arn:aws:iam::111122223333:user/leaver",
            "--protect",
            "arn:aws:iam::111122223333:user/leaver",
        ])
        .assert()
        .success();
    assert!(err(&a).contains("forced:"), "{}", err(&a));
    assert!(
        !s.entries()
            .contains_key("arn:aws:iam::111122223333:user/leaver")
    );
    // remove --from-file, a role named without its IAM path.
    let list = write(
        &s,
        "leavers.txt",
        "# gone\narn:aws:iam::111122223333:role/AckCapabilityRole\n",
    );
    s.access(&["remove", "--from-file", &list])
        .assert()
        .success();
    assert!(!s.entries().contains_key(CAPABILITY));
}

/// Killed after any number of calls, a re-run of `add` or `sync --prune`
/// converges to what one uninterrupted run makes, without a duplicate.
#[test]
fn a_killed_add_or_sync_converges_when_run_again() {
    let reference = {
        let s = migrated();
        let file = write(&s, "entries.yaml", DESIRED);
        s.access(&["sync", &file, "--prune"]).assert().success();
        s.entries()
    };
    for k in [1, 3, 6, 9, 12, 15] {
        let s = migrated();
        let file = write(&s, "entries.yaml", DESIRED);
        s.kill_after_calls(
            k,
            &["access", "sync", &file, "--prune", "--cluster", CLUSTER],
        );
        s.aws.clear_calls();
        s.access(&["sync", &file, "--prune"]).assert().success();
        assert_eq!(s.entries(), reference, "k={k}");
        let conflicts: Vec<_> = s
            .aws
            .calls()
            .into_iter()
            .filter(|c| c.status == 409)
            .collect();
        assert!(conflicts.len() <= 1, "k={k}: {conflicts:?}");
    }
    // The same for the workshop job.
    for k in [2, 5] {
        let s = Setup::new("API");
        let mut list = String::new();
        for i in 0..6 {
            list.push_str(&format!("{}\n", s.aws.user(&format!("u{i}"))));
        }
        let file = write(&s, "users.txt", &list);
        s.kill_after_calls(
            k,
            &[
                "access",
                "add",
                "--from-file",
                &file,
                "--policy",
                "cluster-admin",
                "--cluster",
                CLUSTER,
            ],
        );
        s.access(&["add", "--from-file", &file, "--policy", "cluster-admin"])
            .assert()
            .success();
        let entries = s.entries();
        for i in 0..6 {
            assert!(
                entries[&format!("arn:aws:iam::{ACCOUNT}:user/u{i}")]
                    .policies
                    .contains_key(ADMIN_POLICY),
                "k={k} u{i}"
            );
        }
    }
}

/// Throttling and 5xx answers are retried under one pacer: nothing fails.
#[test]
fn throttled_and_failing_calls_are_retried() {
    let s = migrated();
    let file = write(&s, "entries.yaml", DESIRED);
    s.aws.set_throttle(20.0, 2.0);
    s.aws.fail(
        "CreateAccessEntry",
        &[
            (500, "ServerException"),
            (503, "ServiceUnavailableException"),
        ],
    );
    s.aws.fail(
        "AssociateAccessPolicy",
        &[(429, "TooManyRequestsException")],
    );
    s.aws
        .fail("DeleteAccessEntry", &[(429, "ThrottlingException")]);
    let a = s
        .access(&["sync", &file, "--prune", "-o", "json"])
        .assert()
        .success();
    let v: Value = serde_json::from_str(&out(&a)).unwrap();
    assert_eq!(v["summary"]["failed"], 0, "{v}");
    assert!(
        s.aws.calls().iter().any(|c| c.status == 429),
        "the throttle never bit"
    );
    assert!(
        !s.entries()
            .contains_key("arn:aws:iam::111122223333:user/leaver")
    );
}

/// Someone else creates an entry the file names between our read and our
/// create: ours meets theirs, looks, and makes it what the file says.
#[test]
fn a_concurrent_writer_is_met_and_made_to_match() {
    let s = migrated();
    let file = write(&s, "entries.yaml", DESIRED);
    s.aws.after_next("ListAccessEntries", |clusters| {
        clusters.get_mut(CLUSTER).unwrap().entries.insert(
            "arn:aws:iam::111122223333:user/bob".to_owned(),
            entry("STANDARD", "someone-else", &[]),
        );
    });
    s.access(&["sync", &file]).assert().success();
    let bob = &s.entries()["arn:aws:iam::111122223333:user/bob"];
    assert_eq!(bob.groups, ["oncall"]);
    assert!(bob.policies.contains_key(ADMIN_POLICY));
    assert_eq!(bob.username, "arn:aws:iam::111122223333:user/bob");
}

/// The last-admin guard counted on our own entry keeping cluster-admin;
/// another writer takes it from us while the sync grants. Nothing is taken
/// away (exit 4) instead of leaving nobody with cluster-admin; a re-run
/// plans afresh, gives it back first, and converges.
#[test]
fn an_admin_taken_meanwhile_stops_the_deletes() {
    let s = Setup::new("API");
    s.aws.role("/", "Admin");
    s.aws.user("alice");
    s.aws.user("carol");
    let alice = "arn:aws:iam::111122223333:user/alice";
    let carol = "arn:aws:iam::111122223333:user/carol";
    s.aws.with_cluster(CLUSTER, |c| {
        c.entries
            .insert(ME.to_owned(), entry("STANDARD", "admin", &[ADMIN_POLICY]));
        c.entries.insert(
            alice.to_owned(),
            entry("STANDARD", "alice", &[ADMIN_POLICY]),
        );
    });
    let file = write(
        &s,
        "entries.yaml",
        &format!(
            "entries:\n  - principalArn: {ME}\n    username: admin\n    accessPolicies: [{{policy: cluster-admin}}]\n  - principalArn: {carol}\n    accessPolicies: [{{policy: view}}]\n"
        ),
    );
    s.aws.after_next("CreateAccessEntry", |clusters| {
        let me = clusters
            .get_mut(CLUSTER)
            .unwrap()
            .entries
            .get_mut(ME)
            .unwrap();
        me.policies.remove(ADMIN_POLICY);
    });
    let a = s.access(&["sync", &file, "--prune"]).assert().code(4);
    assert!(
        err(&a).contains("another writer took AmazonEKSClusterAdminPolicy"),
        "{}",
        err(&a)
    );
    let entries = s.entries();
    assert!(
        entries[alice].policies.contains_key(ADMIN_POLICY),
        "alice was deleted"
    );
    assert!(entries.contains_key(carol), "the grant was made");
    // Run again: our cluster-admin back first, then alice goes.
    s.access(&["sync", &file, "--prune"]).assert().success();
    let entries = s.entries();
    assert!(!entries.contains_key(alice));
    assert!(entries[ME].policies.contains_key(ADMIN_POLICY));
}

/// On a terminal the calls show as a progress bar; the summary follows.
#[test]
fn on_a_terminal_add_shows_progress() {
    let s = Setup::new("API");
    s.aws.set_latency(Duration::from_millis(150));
    let vars = [
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "secret".to_owned()),
        ("AWS_REGION", "eu-west-1".to_owned()),
        ("AWS_ENDPOINT_URL", s.aws.url()),
        ("TERM", "xterm".to_owned()),
    ];
    let args = [
        "access",
        "add",
        "arn:aws:iam::111122223333:user/alice",
        "arn:aws:iam::111122223333:user/bob",
        "--policy",
        "view",
        "--cluster",
        CLUSTER,
    ];
    let (code, out) = crate::cluster::on_terminal_with(&s.env, &vars, &args, "");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("/4 "), "no progress bar: {out}");
    assert!(out.contains("prod: 4 done"), "{out}");
}

/// EKS's 3,000 entries per cluster, counted before the first create.
#[test]
fn the_entry_limit_is_checked_before_any_create() {
    let s = Setup::new("API");
    s.aws.with_cluster(CLUSTER, |c| {
        for i in 0..2999 {
            c.entries.insert(
                format!("arn:aws:iam::{ACCOUNT}:role/r{i:04}"),
                entry("STANDARD", "r", &[]),
            );
        }
    });
    s.aws.clear_calls();
    let a = s
        .access(&[
            "add",
            "arn:aws:iam::111122223333:user/alice",
            "arn:aws:iam::111122223333:user/bob",
        ])
        .assert()
        .code(5);
    assert!(err(&a).contains("past EKS's limit of 3000"), "{}", err(&a));
    assert!(
        s.aws.calls().iter().all(|c| c.op != "CreateAccessEntry"),
        "{:?}",
        s.aws
            .calls()
            .iter()
            .filter(|c| c.op == "CreateAccessEntry")
            .collect::<Vec<_>>()
    );
    // One fits.
    s.access(&["add", "arn:aws:iam::111122223333:user/alice"])
        .assert()
        .success();
}

/// `add` refuses, before any write, what EKS would refuse halfway: groups on
/// a node type, a user as a node, a node role of another account, a
/// principal IAM does not know, a template access entries do not fill, a
/// service-linked role.
#[test]
fn add_refuses_what_eks_would_refuse_before_any_write() {
    let s = Setup::new("API");
    let cases: [(&[&str], &str); 6] = [
        (
            &[
                "arn:aws:iam::111122223333:role/NodeInstanceRole",
                "--type",
                "EC2_LINUX",
                "-g",
                "nodes",
            ],
            "EC2_LINUX entries take no username, groups or access policies",
        ),
        (
            &[
                "arn:aws:iam::111122223333:user/alice",
                "--type",
                "FARGATE_LINUX",
            ],
            "FARGATE_LINUX entries are for roles",
        ),
        (
            &[
                "arn:aws:iam::444455556666:role/Deployer",
                "--type",
                "EC2_LINUX",
            ],
            "arn:aws:iam::444455556666:role/Deployer",
        ),
        (&["arn:aws:iam::111122223333:user/nobody"], "user/nobody"),
        (
            &[
                "arn:aws:iam::111122223333:role/Dev",
                "-u",
                "dev:{{AccountID}}",
            ],
            "access entries accept only {{SessionName}} and {{SessionNameRaw}}",
        ),
        (
            &[
                "arn:aws:iam::111122223333:role/aws-service-role/eks.amazonaws.com/AWSServiceRoleForAmazonEKS",
            ],
            "EKS refuses access entries for service-linked roles",
        ),
    ];
    for (args, want) in cases {
        s.aws.clear_calls();
        let mut all = vec!["add"];
        all.extend_from_slice(args);
        let a = s.access(&all).assert().code(5);
        assert!(
            err(&a).contains(want),
            "{args:?}: {want:?} not in {}",
            err(&a)
        );
        assert!(
            s.aws
                .calls()
                .iter()
                .all(|c| !c.op.starts_with("Create") && !c.op.starts_with("Associate")),
            "{args:?}: {:?}",
            s.aws.calls()
        );
    }
    assert!(s.entries().is_empty());
}

/// `--namespace` (and `-n`) on `add` and `update` is the policies' scope,
/// as the issue spells it: were it the global ConfigMap namespace there, a
/// grant asked for one namespace would silently be made cluster-wide.
#[test]
fn namespace_on_add_and_update_scopes_the_policies() {
    let s = Setup::new("API");
    s.aws.user("alice");
    let alice = "arn:aws:iam::111122223333:user/alice";
    s.access(&[
        "add",
        alice,
        "--policy",
        "view",
        "--namespace",
        "dev",
        "-n",
        "qa-*",
    ])
    .assert()
    .success();
    s.access(&["update", alice, "--add-policy", "edit", "-n", "ops"])
        .assert()
        .success();
    // The earlier spelling still works.
    s.access(&[
        "update",
        alice,
        "--add-policy",
        "admin",
        "--namespace-scope",
        "ci",
    ])
    .assert()
    .success();
    let policies = &s.entries()[alice].policies;
    let scope = |p: &str| policies.get(p).cloned().unwrap_or(Value::Null);
    assert_eq!(
        scope(VIEW),
        json!({"type": "namespace", "namespaces": ["dev", "qa-*"]})
    );
    assert_eq!(
        scope(EDIT),
        json!({"type": "namespace", "namespaces": ["ops"]})
    );
    assert_eq!(
        scope("arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy"),
        json!({"type": "namespace", "namespaces": ["ci"]})
    );
    // Before the command it is the ConfigMap's namespace: refused, not
    // silently a cluster-wide grant.
    s.aws.clear_calls();
    let mut before = s.cmd();
    before.args([
        "-n",
        "dev",
        "access",
        "add",
        alice,
        "--policy",
        "edit",
        "--cluster",
        CLUSTER,
    ]);
    let a = before.assert().code(64);
    assert!(
        err(&a).contains("put `--namespace dev` after the command"),
        "{}",
        err(&a)
    );
    assert!(s.aws.calls().is_empty(), "{:?}", s.aws.calls());
    // Narrowing the last cluster-admin to a namespace is taking it away.
    s.aws.user("bob");
    let bob = "arn:aws:iam::111122223333:user/bob";
    s.access(&["add", bob, "--policy", "cluster-admin"])
        .assert()
        .success();
    let a = s
        .access(&["update", bob, "--add-policy", "cluster-admin", "-n", "dev"])
        .assert()
        .code(4);
    assert!(
        err(&a).contains("from the last entry with it"),
        "{}",
        err(&a)
    );
    assert_eq!(s.entries()[bob].policies[ADMIN_POLICY]["type"], "cluster");
    s.aws.clear_calls();
    // A scope with no policy to scope is a mistake, not a no-op.
    for args in [
        &["add", alice, "-n", "dev"][..],
        &["update", alice, "-u", "al", "-n", "dev"],
    ] {
        let a = s.access(args).assert().code(64);
        assert!(
            err(&a).contains("--policy") || err(&a).contains("--add-policy"),
            "{}",
            err(&a)
        );
    }
    assert!(s.aws.calls().is_empty(), "{:?}", s.aws.calls());
    // The help says what it is.
    let help = s.access(&["add", "--help"]).assert().success();
    assert!(
        out(&help).contains("-n, --namespace <NS>"),
        "{}",
        out(&help)
    );
    assert!(!out(&help).contains("ConfigMap"), "{}", out(&help));
}

/// A kubeconfig as `aws eks update-kubeconfig` writes it for the test
/// cluster (the exec plugin with `extra` arguments), current, beside a kind
/// cluster's context.
fn eks_kubeconfig(s: &Setup, extra: &[&str]) -> String {
    let arn = format!("arn:aws:eks:eu-west-1:111122223333:cluster/{CLUSTER}");
    let mut args = vec![
        "--region",
        "eu-west-1",
        "eks",
        "get-token",
        "--cluster-name",
        CLUSTER,
        "--output",
        "json",
    ];
    args.extend_from_slice(extra);
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": arn, "cluster": {"server": "https://127.0.0.1:1"}},
            {"name": "kind-dev", "cluster": {"server": "https://127.0.0.1:2"}},
        ],
        "users": [
            {"name": arn, "user": {"exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1",
                "command": "aws",
                "args": args,
            }}},
            {"name": "kind-dev", "user": {"token": "t"}},
        ],
        "contexts": [
            {"name": arn, "context": {"cluster": arn, "user": arn}},
            {"name": "kind-dev", "context": {"cluster": "kind-dev", "user": "kind-dev"}},
        ],
        "current-context": arn,
    });
    write(s, "eks-kubeconfig", &config.to_string())
}

/// The role the kubeconfig's exec plugin assumes is whom kubectl logs in
/// as: its entry is the caller's own, guarded like the STS caller's,
/// whether the cluster came from the kubeconfig or from `--cluster`.
#[test]
fn the_role_the_kubeconfig_logs_in_with_is_guarded() {
    let s = Setup::new("API");
    let k8s_admin = s.aws.role("/", "K8sAdmin");
    s.aws.with_cluster(CLUSTER, |c| {
        c.entries
            .insert(ME.to_owned(), entry("STANDARD", "admin", &[ADMIN_POLICY]));
        c.entries.insert(
            k8s_admin.clone(),
            entry("STANDARD", "k8s-admin", &[ADMIN_POLICY]),
        );
    });
    let kubeconfig = eks_kubeconfig(&s, &["--role-arn", &k8s_admin]);
    for cluster in [&[][..], &["--cluster", CLUSTER]] {
        let a = s
            .cmd()
            .args(["access", "remove", &k8s_admin, "--kubeconfig", &kubeconfig])
            .args(cluster)
            .assert()
            .code(4);
        assert!(
            err(&a).contains("the entry your kubeconfig logs in with"),
            "{cluster:?}: {}",
            err(&a)
        );
        assert!(s.entries().contains_key(&k8s_admin));
    }
    // Another cluster's kubeconfig protects nothing here.
    let other = write(
        &s,
        "other-kubeconfig",
        "apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n",
    );
    s.cmd()
        .args([
            "access",
            "remove",
            &k8s_admin,
            "--kubeconfig",
            &other,
            "--cluster",
            CLUSTER,
            "--dry-run",
        ])
        .assert()
        .success();
    s.cmd()
        .args([
            "access",
            "remove",
            &k8s_admin,
            "--kubeconfig",
            &kubeconfig,
            "--force",
        ])
        .assert()
        .success();
    assert!(!s.entries().contains_key(&k8s_admin));
}

/// Without `--cluster`, the EKS cluster the kubeconfig context names (as
/// `aws eks update-kubeconfig` writes it), said on stderr; `--context`
/// picks another context; `--cluster` wins; a context that names no EKS
/// cluster is a usage error naming it, before any call.
#[test]
fn without_cluster_the_kubeconfig_context_names_it() {
    let s = Setup::new("API");
    s.aws.user("alice");
    let arn = format!("arn:aws:eks:eu-west-1:111122223333:cluster/{CLUSTER}");
    let kubeconfig = eks_kubeconfig(&s, &[]);
    let access = |args: &[&str]| {
        let mut cmd = s.cmd();
        cmd.arg("access")
            .args(args)
            .args(["--kubeconfig", &kubeconfig]);
        cmd
    };
    let alice = "arn:aws:iam::111122223333:user/alice";
    let a = access(&["add", alice, "--policy", "view"])
        .assert()
        .success();
    assert!(
        err(&a).contains(&format!(
            "cluster {CLUSTER} (from the kubeconfig context {arn:?})"
        )),
        "{}",
        err(&a)
    );
    assert!(s.entries()[alice].policies.contains_key(VIEW));
    let a = access(&["get", "-o", "json"]).assert().success();
    let v: Value = serde_json::from_str(&out(&a)).unwrap();
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .any(|e| e["principalArn"] == alice),
        "{v}"
    );
    // Another context that names no EKS cluster: refused before any call.
    s.aws.clear_calls();
    let a = access(&["get", "--context", "kind-dev"]).assert().code(64);
    assert!(
        err(&a).contains(
            "give --cluster NAME: the kubeconfig context \"kind-dev\" names no EKS cluster"
        ),
        "{}",
        err(&a)
    );
    assert!(s.aws.calls().is_empty(), "{:?}", s.aws.calls());
    // A context the kubeconfig does not have: named with those it has.
    let a = access(&["get", "--context", "nope"]).assert().code(78);
    assert!(
        err(&a).contains("has no context \"nope\" (it has: "),
        "{}",
        err(&a)
    );
    // --cluster wins, and needs no kubeconfig.
    let a = access(&["get", "--context", "kind-dev", "--cluster", CLUSTER])
        .assert()
        .success();
    assert!(!err(&a).contains("kubeconfig context"), "{}", err(&a));
    // The suite's own kubeconfig (a token user, context "test").
    let a = s.cmd().args(["access", "get"]).assert().code(64);
    assert!(
        err(&a).contains("context \"test\" names no EKS cluster"),
        "{}",
        err(&a)
    );
}

/// `update -g` replaces the groups, `--no-groups` takes them all away (EKS
/// replaces the list it is given, an empty one too); both at once is a
/// usage error. A role may be named without its IAM path.
#[test]
fn update_replaces_or_clears_the_groups() {
    let s = Setup::new("API");
    s.aws.user("alice");
    let alice = "arn:aws:iam::111122223333:user/alice";
    s.access(&["add", alice, "-g", "dev"]).assert().success();
    s.access(&["update", alice, "-g", "ops,oncall"])
        .assert()
        .success();
    assert_eq!(s.entries()[alice].groups, ["ops", "oncall"]);
    s.access(&["update", alice, "--no-groups"])
        .assert()
        .success();
    assert!(s.entries()[alice].groups.is_empty());
    s.aws.clear_calls();
    s.access(&["update", alice, "-g", "x", "--no-groups"])
        .assert()
        .code(64);
    assert!(s.aws.calls().is_empty());
    // Nothing to clear: nothing sent but reads.
    s.access(&["update", alice, "--no-groups"])
        .assert()
        .success();
    assert!(
        s.aws.calls().iter().all(|c| !c.op.starts_with("Update")),
        "{:?}",
        s.aws.calls()
    );
    // A role named without its IAM path, as in the map: found as `remove`
    // finds it.
    s.aws.role("/teams/", "Dev");
    let dev = "arn:aws:iam::111122223333:role/Dev";
    s.access(&["add", dev, "-g", "dev"]).assert().success();
    s.access(&["update", dev, "-g", "ops"]).assert().success();
    let entries = s.entries();
    assert_eq!(
        entries["arn:aws:iam::111122223333:role/teams/Dev"].groups,
        ["ops"]
    );
    assert_eq!(entries.len(), 2, "{entries:?}");
}

/// A role of another account (a CI role in a tooling account) cannot be
/// looked up in IAM with these credentials: it is taken as written, path
/// and all, and the note says it was not checked. As a node type it is
/// still refused.
#[test]
fn roles_of_other_accounts_are_taken_as_written() {
    let s = Setup::new("API");
    let ci = "arn:aws:iam::444455556666:role/ci/Deployer";
    let a = s
        .access(&["add", ci, "--policy", "edit", "-n", "apps"])
        .assert()
        .success();
    assert!(
        err(&a).contains(&format!("not checked in IAM (another account than 111122223333's credentials), taken as written: {ci}")),
        "{}",
        err(&a)
    );
    assert!(s.entries()[ci].policies.contains_key(EDIT));
    assert!(
        s.aws.calls().iter().all(|c| c.op != "GetRole"),
        "{:?}",
        s.aws.calls()
    );
    // The same from a sync file: converged, nothing to do.
    let file = write(
        &s,
        "ci.yaml",
        &format!(
            "entries:\n  - principalArn: {ci}\n    accessPolicies: [{{policy: edit, namespaces: [apps]}}]\n"
        ),
    );
    let a = s.access(&["sync", &file, "-o", "json"]).assert().success();
    let v: Value = serde_json::from_str(&out(&a)).unwrap();
    assert_eq!(v["results"].as_array().map_or(0, Vec::len), 0, "{v}");
}

/// `get --as-file` writes the file a sync leaves as it is: the start of a
/// declarative file for a cluster that has entries already.
#[test]
fn get_as_file_round_trips_through_sync() {
    let s = migrated();
    // Someone's entry with namespace scopes and groups, and one only EKS
    // could make.
    s.aws.with_cluster(CLUSTER, |c| {
        let mut dev = entry("STANDARD", "dev:{{SessionName}}", &[]);
        dev.groups = vec!["developers".into()];
        dev.policies.insert(
            EDIT.into(),
            json!({"type": "namespace", "namespaces": ["dev", "qa-*"]}),
        );
        c.entries
            .insert("arn:aws:iam::111122223333:role/teams/Dev".into(), dev);
        c.entries.insert(
            "arn:aws:iam::111122223333:role/AutoClusterRole".into(),
            entry("STANDARD", "eks:auto-mode", &[]),
        );
    });
    let got = s.access(&["get", "--as-file"]).assert().success();
    let text = out(&got);
    insta::assert_snapshot!(text);
    assert!(err(&got).contains("role/AutoClusterRole"), "{}", err(&got));
    let file = write(&s, "entries.yaml", &text);
    let before = s.entries();
    let plan = s
        .access(&["sync", &file, "--prune", "-o", "json", "--dry-run"])
        .assert()
        .success();
    let v: Value = serde_json::from_str(&out(&plan)).unwrap();
    assert_eq!(v["actions"], json!([]), "{v}");
    s.access(&["sync", &file, "--prune"]).assert().success();
    assert_eq!(s.entries(), before);
}

/// An answer lost after EKS carried the call out (the connection closed): the
/// retry meets what the first call did (409 on a create, 404 on a delete)
/// and takes it for done.
#[test]
fn lost_answers_are_retried_and_recognised() {
    let reference = {
        let s = migrated();
        let file = write(&s, "entries.yaml", DESIRED);
        s.access(&["sync", &file, "--prune"]).assert().success();
        s.entries()
    };
    let s = migrated();
    let file = write(&s, "entries.yaml", DESIRED);
    for op in [
        "CreateAccessEntry",
        "AssociateAccessPolicy",
        "DisassociateAccessPolicy",
        "DeleteAccessEntry",
    ] {
        s.aws.drop_answers(op, 1);
    }
    let a = s
        .access(&["sync", &file, "--prune", "-o", "json"])
        .assert()
        .success();
    let v: Value = serde_json::from_str(&out(&a)).unwrap();
    assert_eq!(v["summary"]["failed"], 0, "{v}");
    assert_eq!(s.entries(), reference);
    let calls = s.aws.calls();
    let lost: Vec<&str> = calls
        .iter()
        .filter(|c| c.status == 0)
        .map(|c| c.op.as_str())
        .collect();
    assert_eq!(lost.len(), 4, "{calls:?}");
    assert!(
        calls
            .iter()
            .any(|c| c.op == "CreateAccessEntry" && c.status == 409),
        "the lost create was not retried into a 409: {calls:?}"
    );
    assert!(
        calls
            .iter()
            .any(|c| c.op == "DeleteAccessEntry" && c.status == 404),
        "the lost delete was not retried into a 404: {calls:?}"
    );
}

/// Recognisable fake AWS secrets never appear in anything `access` prints,
/// at the highest verbosity, on success and on failure.
#[test]
fn aws_secrets_are_never_printed_at_any_verbosity() {
    let s = migrated();
    let file = write(&s, "entries.yaml", DESIRED);
    s.aws.fail("CreateAccessEntry", &[(500, "ServerException")]);
    s.aws
        .fail("DeleteAccessEntry", &[(403, "AccessDeniedException")]);
    let mut runs = Vec::new();
    for args in [
        &["sync", file.as_str(), "--prune", "-vvv"][..],
        &["get", "-vvv", "-o", "json"],
        &["add", "arn:aws:iam::111122223333:user/nobody", "-vvv"],
    ] {
        let mut cmd = s.access(args);
        cmd.env("AWS_SECRET_ACCESS_KEY", "aws-SECRET-access-key")
            .env("AWS_SESSION_TOKEN", "aws-SECRET-session-token");
        let o = cmd.output().unwrap();
        runs.push((
            format!("{args:?}"),
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
        ));
    }
    for (what, text) in &runs {
        assert!(!text.is_empty(), "{what} printed nothing at -vvv");
        for part in ["aws-SECRET", "SECRET-access", "SECRET-session"] {
            assert!(!text.contains(part), "{what} printed a secret:\n{text}");
        }
    }
    // The failure was reported, not hidden; the requests were logged.
    assert!(runs[0].1.contains("AccessDeniedException"), "{}", runs[0].1);
    assert!(
        runs[0].1.contains("done action=") && runs[0].1.contains("protecting the caller's own"),
        "-vvv logged little:\n{}",
        runs[0].1
    );
}

/// A credential_process that fails or hangs is one clear sentence, soon, with
/// nothing sent to EKS and nothing it printed repeated; what it said is shown
/// only with -v, redacted (issue 20.6). A hanging one is cut at
/// --request-timeout, and it and what it started are ended (issue 20.12).
#[test]
fn failing_and_hanging_credential_processes_are_reported() {
    let s = migrated();
    let dir = s.env.home.path();
    let fail = dir.join("fail.sh");
    std::fs::write(
        &fail,
        "#!/bin/sh\necho 'token=aws-SECRET-from-plugin expired; token aws-SECRET-second-shape' >&2\nexit 1\n",
    )
    .unwrap();
    let pid_file = dir.join("hang.pid");
    let hang = dir.join("hang.sh");
    std::fs::write(
        &hang,
        format!(
            "#!/bin/sh\nsleep 120 &\necho $! > {}\nwait\n",
            pid_file.display()
        ),
    )
    .unwrap();
    for f in [&fail, &hang] {
        crate::cluster::make_executable(f);
    }
    let config = dir.join("aws-config");
    std::fs::write(
        &config,
        format!(
            "[profile failing]\nregion = eu-west-1\ncredential_process = {}\n\n[profile hanging]\nregion = eu-west-1\ncredential_process = {}\n",
            fail.display(),
            hang.display()
        ),
    )
    .unwrap();
    for (profile, verbosity) in [
        ("failing", None),
        ("failing", Some("-v")),
        ("failing", Some("-vvv")),
        ("hanging", None),
    ] {
        s.aws.clear_calls();
        let started = Instant::now();
        let mut cmd = s.access(&["get", "--profile", profile, "--request-timeout", "3"]);
        cmd.args(verbosity)
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env("AWS_CONFIG_FILE", &config)
            .timeout(Duration::from_secs(60));
        let a = cmd.assert().code(78);
        let took = started.elapsed();
        let e = err(&a);
        assert!(
            took < Duration::from_secs(15),
            "{profile}: took {took:?}: {e}"
        );
        let last = e.lines().last().unwrap_or_default();
        assert!(
            last.contains(&format!("no AWS credentials for profile {profile}")),
            "{profile}: {e}"
        );
        assert!(!e.contains("SECRET"), "{profile} printed a secret: {e}");
        if profile == "failing" {
            // What it said: never in the sentence, in the log with -v.
            assert!(!last.contains("expired"), "{e}");
            assert!(last.contains("run with -v to see what it said"), "{e}");
            assert_eq!(
                verbosity.is_some(),
                e.contains("token=[redacted] expired; token [redacted]"),
                "{verbosity:?}: {e}"
            );
        } else {
            assert!(last.contains("(--request-timeout)"), "{e}");
        }
        assert!(
            s.aws.calls().iter().all(|c| !c.op.contains("Access")),
            "{profile}: {:?}",
            s.aws.calls()
        );
    }
    // The hanging process's child is gone, not left running.
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let stat = std::path::PathBuf::from(format!("/proc/{}/stat", pid.trim()));
    let started = Instant::now();
    while std::fs::read_to_string(&stat).is_ok_and(|s| !s.contains(") Z")) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the credential_process's child {pid} was left running"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// An EKS that stops answering: each attempt gives up after
/// --request-timeout, the call after four, and the command says so in one
/// sentence instead of hanging.
#[test]
fn an_eks_that_stops_answering_is_a_clear_failure_not_a_hang() {
    let s = migrated();
    let file = write(&s, "entries.yaml", DESIRED);
    let before = s.entries();
    for (args, after_calls) in [
        (vec!["get", "--request-timeout", "1"], 1),
        (
            vec!["sync", file.as_str(), "--prune", "--request-timeout", "1"],
            3,
        ),
    ] {
        s.aws.hang_after(Some(after_calls));
        let started = Instant::now();
        let mut cmd = s.access(&args);
        cmd.timeout(Duration::from_secs(60));
        let a = cmd.assert().code(69);
        let took = started.elapsed();
        s.aws.hang_after(None);
        let e = err(&a);
        assert!(took < Duration::from_secs(30), "{args:?}: took {took:?}");
        assert_eq!(e.trim().lines().count(), 1, "{args:?}: {e}");
        assert!(
            e.contains("timeout") || e.contains("timed out"),
            "{args:?}: {e}"
        );
    }
    assert_eq!(s.entries(), before);
}

/// The caller whose own entry is kept is the one the command's credentials
/// name: with `--profile`, that profile's (no default credentials exist).
#[test]
fn the_own_entry_guard_follows_the_profile_in_use() {
    let s = migrated();
    let dir = s.env.home.path();
    let credentials = dir.join("aws-credentials");
    std::fs::write(
        &credentials,
        "[ops]\naws_access_key_id = AKIDOPS\naws_secret_access_key = ops-secret-key\n",
    )
    .unwrap();
    let config = dir.join("aws-config");
    std::fs::write(&config, "[profile ops]\nregion = eu-west-1\n").unwrap();
    let without_me = write(
        &s,
        "without-me.yaml",
        "entries:\n  - principalArn: arn:aws:iam::111122223333:user/alice\n    username: alice\n    accessPolicies: [{policy: cluster-admin}]\n",
    );
    let mut cmd = s.access(&["sync", &without_me, "--prune", "--profile", "ops"]);
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_REGION")
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", &credentials);
    let a = cmd.assert().code(4);
    assert!(
        err(&a).contains(&format!("would delete your own entry ({ME})")),
        "{}",
        err(&a)
    );
    assert!(s.entries().contains_key(ME));
}

/// Issue 20.13: `--timeout` bounds an access command as it bounds a map
/// edit: at one call a second, no call is sent after the deadline, the
/// command exits 69 saying how many were not, and a re-run finishes. A
/// throttled answer's Retry-After holds the next call back.
#[test]
fn access_commands_stop_at_their_timeout_and_honour_retry_after() {
    let s = Setup::new("API_AND_CONFIG_MAP");
    let mut list = String::new();
    for i in 0..10 {
        list.push_str(&format!("{}\n", s.aws.user(&format!("late{i}"))));
    }
    let file = write(&s, "late.txt", &list);
    s.aws.set_throttle(1.0, 1.0);
    let started = Instant::now();
    let mut cmd = s.access(&[
        "add",
        "--from-file",
        &file,
        "--policy",
        "view",
        "--timeout",
        "3",
        "-o",
        "json",
    ]);
    cmd.timeout(Duration::from_secs(60));
    let a = cmd.assert().code(69);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(12), "took {took:?}");
    let e = err(&a);
    assert!(
        e.contains("--timeout 3 s passed with") && e.contains("calls not sent"),
        "{e}"
    );
    let v: Value = serde_json::from_str(&out(&a)).unwrap();
    assert!(
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["status"] == "skipped" && r["detail"] == "not sent: the deadline passed"),
        "{v}"
    );
    // No call was sent after the deadline (and its grace for one in flight).
    let last = s.aws.calls().len();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(s.aws.calls().len(), last);
    // Again, with time enough: it finishes what was left.
    s.aws.set_throttle(50.0, 50.0);
    let a = s
        .access(&[
            "add",
            "--from-file",
            &file,
            "--policy",
            "view",
            "-o",
            "json",
        ])
        .assert()
        .success();
    let v: Value = serde_json::from_str(&out(&a)).unwrap();
    assert_eq!(v["summary"]["failed"], 0, "{v}");
    let entries = s.entries();
    assert_eq!(
        (0..10)
            .filter(|i| entries
                .get(&format!("arn:aws:iam::{ACCOUNT}:user/late{i}"))
                .is_some_and(|e| e.policies.contains_key(VIEW)))
            .count(),
        10
    );
    // Retry-After: 2 on every throttled answer: the call after one waits it.
    s.aws.set_throttle(1.0, 1.0);
    s.aws.set_retry_after(2);
    s.aws.clear_calls();
    let user = s.aws.user("patient");
    s.access(&["add", &user, "--policy", "view"])
        .assert()
        .success();
    let calls = s.aws.calls();
    let throttled = calls
        .iter()
        .position(|c| c.status == 429)
        .expect("throttled once");
    let next = &calls[throttled + 1];
    let gap = next.at.duration_since(calls[throttled].at);
    assert!(
        gap >= Duration::from_millis(1900),
        "the call after Retry-After came {gap:?} later"
    );
}

/// Issue 20.14: behind TLS interception every AWS answer is signed by a
/// corporate CA: AWS_CA_BUNDLE, else the profile's `ca_bundle`, is trusted
/// as the AWS CLI trusts it; without it the handshake fails; a bundle that
/// cannot be read is one sentence, exit 78, before any call.
#[test]
fn the_aws_ca_bundle_is_trusted_for_every_aws_call() {
    let env = crate::cluster::Env::new();
    let aws = Aws::start_tls("arn:aws:sts::111122223333:assumed-role/Admin/alice@example.com");
    aws.cluster(CLUSTER, "API", &env.server.url());
    let dir = env.home.path();
    let bundle = dir.join("corporate-ca.pem");
    std::fs::write(&bundle, aws.ca_pem.as_deref().unwrap()).unwrap();
    let run = |extra: &[(&str, String)]| {
        let mut cmd = env.cmd();
        cmd.args([
            "access",
            "get",
            "--cluster",
            CLUSTER,
            "--request-timeout",
            "1",
        ])
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        )
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_ENDPOINT_URL", aws.url());
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.assert()
    };
    // The system's roots do not know the corporate CA.
    let a = run(&[]).code(69);
    assert!(err(&a).contains("cluster prod"), "{}", err(&a));
    assert!(aws.calls().is_empty(), "{:?}", aws.calls());
    // AWS_CA_BUNDLE.
    run(&[("AWS_CA_BUNDLE", bundle.display().to_string())]).success();
    assert!(aws.calls().iter().any(|c| c.op == "DescribeCluster"));
    // The profile's ca_bundle, with ~ for the home directory.
    let config = dir.join("aws-config");
    std::fs::write(
        &config,
        "[default]\nregion = eu-west-1\n\n[profile corp]\nregion = eu-west-1\nca_bundle = ~/corporate-ca.pem\n",
    )
    .unwrap();
    run(&[
        ("AWS_CONFIG_FILE", config.display().to_string()),
        ("AWS_PROFILE", "corp".to_owned()),
    ])
    .success();
    // Not for another profile.
    run(&[("AWS_CONFIG_FILE", config.display().to_string())]).code(69);
    // A bundle that is not there, or holds no certificate: said, exit 78.
    aws.clear_calls();
    for (path, said) in [
        (dir.join("missing.pem"), "cannot be read"),
        (dir.join("aws-config"), "holds no PEM certificate"),
    ] {
        let a = run(&[("AWS_CA_BUNDLE", path.display().to_string())]).code(78);
        assert!(
            err(&a).contains(&format!(
                "the CA bundle {} (AWS_CA_BUNDLE) {said}",
                path.display()
            )),
            "{}",
            err(&a)
        );
    }
    assert!(aws.calls().is_empty());
}

/// Issue 25.8: what the tool knows it says: `system:masters` names the
/// policy that grants the same; removing an entry that is not there exits
/// 3, as the map's `remove` does, and sends nothing.
#[test]
fn masters_points_to_the_policy_and_a_missing_entry_is_not_found() {
    let s = migrated();
    let calls = s.aws.eks_calls();
    let a = s
        .access(&[
            "add",
            "arn:aws:iam::111122223333:user/alice",
            "-g",
            "system:masters",
        ])
        .assert()
        .code(5);
    assert!(
        err(&a).contains("access entries refuse the group system:masters: give the access policy cluster-admin instead, which grants the same"),
        "{}",
        err(&a)
    );
    assert_eq!(s.aws.eks_calls(), calls, "a refused request was sent");
    let before = s.entries();
    let a = s
        .access(&["remove", "arn:aws:iam::111122223333:user/nobody", NODES])
        .assert()
        .code(3);
    assert_eq!(
        err(&a),
        "error: arn:aws:iam::111122223333:user/nobody has no access entry in cluster prod; nothing was removed\n"
    );
    assert_eq!(s.entries().len(), before.len());
    // The map's remove: the same code.
    let a = s
        .cmd()
        .args(["remove", "user", "arn:aws:iam::111122223333:user/nobody"])
        .assert()
        .code(3);
    assert!(err(&a).contains("is not mapped in mapUsers"), "{}", err(&a));
}

/// Issue 25.7: `access add --from-file` takes names without an ARN in the
/// caller's account (or --account), and reports every bad line at once.
#[test]
fn a_list_of_names_is_in_the_callers_account() {
    let s = migrated();
    let file = write(&s, "team.txt", "bob\nrole/Deployer ci\n");
    s.access(&["add", "--from-file", &file, "--policy", "view"])
        .assert()
        .success();
    let entries = s.entries();
    assert!(
        entries.contains_key("arn:aws:iam::111122223333:user/bob"),
        "{:?}",
        entries.keys()
    );
    assert!(
        entries.contains_key("arn:aws:iam::111122223333:role/Deployer"),
        "{:?}",
        entries.keys()
    );
    // The rate the run learnt is kept for the next run of the cluster.
    let kept = s.env.home.path().join("state/aws-auth/eks-rates/prod");
    let rate: f64 = std::fs::read_to_string(&kept)
        .unwrap_or_else(|e| panic!("{}: {e}", kept.display()))
        .trim()
        .parse()
        .unwrap();
    assert!(rate > 0.0, "{rate}");
    let calls = s.aws.eks_calls();
    let bad = write(
        &s,
        "bad.txt",
        "arn:aws:iam::1:user/x\nbob\nbob\n-g system:masters\n",
    );
    let a = s
        .access(&["add", "--from-file", &bad, "--account", "444455556666"])
        .assert()
        .code(5);
    let e = err(&a);
    assert!(e.contains("lines are wrong, nothing was done"), "{e}");
    assert!(
        e.contains("bad.txt:1:") && e.contains("bad.txt:3:") && e.contains("bad.txt:4:"),
        "{e}"
    );
    assert_eq!(s.aws.eks_calls(), calls, "a bad list was sent");
}
