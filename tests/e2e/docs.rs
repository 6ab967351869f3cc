//! The README documents what the binary does: every lint code with its
//! severity, and the set-up command that runs the example.

use aws_auth_core::lint::{Code, Severity};

use crate::{aws_auth, repo};

fn readme() -> String {
    std::fs::read_to_string(repo().join("README.md")).expect("README.md exists")
}

#[test]
fn every_lint_code_is_documented_with_its_severity() {
    let readme = readme();
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Lint codes"))
        .expect("README.md has a Lint codes section");
    let rows: Vec<(&str, &str)> = section
        .lines()
        .filter_map(|l| {
            let mut cells = l.split('|').map(str::trim).skip(1);
            let code = cells.next()?.strip_prefix('`')?.strip_suffix('`')?;
            Some((code, cells.next()?))
        })
        .collect();
    for code in Code::ALL {
        let severity = match code.severity() {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        assert!(
            rows.contains(&(code.as_str(), severity)),
            "README.md lacks the row for {} ({severity})",
            code.as_str()
        );
    }
    assert_eq!(
        rows.len(),
        Code::ALL.len(),
        "README.md lists codes that do not exist"
    );
}

/// The first set-up command, run as written (minus `cargo run`).
#[test]
fn the_readme_example_runs() {
    let readme = readme();
    let line = readme
        .lines()
        .find(|l| l.starts_with("cargo run -q -p aws-auth-cli -- "))
        .expect("README.md has the example command");
    let args = line.trim_start_matches("cargo run -q -p aws-auth-cli -- ");
    // Split like a shell would for this simple line: single quotes group words.
    let mut words = Vec::new();
    for (i, part) in args.split('\'').enumerate() {
        if i % 2 == 1 {
            words.push(part.to_owned());
        } else {
            words.extend(part.split_whitespace().map(str::to_owned));
        }
    }
    let home = tempfile::tempdir().unwrap();
    let before = crate::fixture("hand-written-comments.yaml");
    let out = aws_auth(home.path())
        .current_dir(repo())
        .args(&words)
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        stdout.contains("+- rolearn: arn:aws:iam::111122223333:role/Developers\n"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("dry run: nothing was written\n"),
        "{stdout}"
    );
    assert_eq!(crate::fixture("hand-written-comments.yaml"), before);
}
