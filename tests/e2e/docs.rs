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
/// Issue 22: docs/audit.md says what each audit code means and what to do.
#[test]
fn every_audit_code_is_documented_with_its_fix() {
    let page = std::fs::read_to_string(repo().join("docs/audit.md")).expect("docs/audit.md");
    for code in aws_auth_core::audit::Code::OWN {
        let row = page
            .lines()
            .find(|l| l.starts_with(&format!("| `{code}` |")))
            .unwrap_or_else(|| panic!("docs/audit.md lacks the row for {code}"));
        assert_eq!(row.matches(" | ").count(), 3, "{row}");
    }
}

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

/// MIGRATION.md's worked example is real output: every `$ aws-auth ...` line
/// in its console blocks runs, in order, against the local cluster and AWS
/// the migrator tests use, and must print exactly what the page shows
/// (stderr, then stdout); `$ echo $?` shows the exit code of the line before
/// and `$ cat FILE` a file the reader writes.
/// `AWS_AUTH_BLESS_DOCS=1` writes the real output into the page instead.
#[test]
fn the_migration_worked_example_is_real_output() {
    let path = repo().join("MIGRATION.md");
    let page = std::fs::read_to_string(&path).expect("MIGRATION.md exists");
    let start = page
        .find("\n## Worked example")
        .expect("MIGRATION.md has a Worked example section");
    let end = page[start + 1..]
        .find("\n## ")
        .map_or(page.len(), |e| e + start + 1);
    let bless = std::env::var_os("AWS_AUTH_BLESS_DOCS").is_some();
    let setup = crate::migrate::Setup::new("CONFIG_MAP");
    let cwd = tempfile::tempdir().unwrap();
    let mut blessed = String::new();
    let mut ran = 0;
    let mut last_code = None;
    let mut blocks = page[start..end].split("```console\n");
    blessed.push_str(blocks.next().unwrap_or_default());
    for block in blocks {
        let (body, rest) = block.split_once("```").expect("a console block ends");
        blessed.push_str("```console\n");
        let mut steps: Vec<(&str, String)> = Vec::new();
        for line in body.lines() {
            match line.strip_prefix("$ ") {
                Some(cmd) => steps.push((cmd, String::new())),
                None => {
                    let (_, out) = steps.last_mut().expect("a block starts with a command");
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        for (cmd, expected) in steps {
            let shown = if cmd == "echo $?" {
                format!("{}\n", last_code.expect("`echo $?` follows a command"))
            } else if let Some(name) = cmd.strip_prefix("cat ") {
                // The page shows a file the reader writes: write it.
                std::fs::write(cwd.path().join(name), &expected).unwrap();
                expected.clone()
            } else {
                let words: Vec<&str> = cmd.split_whitespace().collect();
                assert_eq!(words[0], "aws-auth", "only aws-auth runs here: {cmd}");
                let mut run = setup.cmd();
                run.current_dir(cwd.path()).args(&words[1..]);
                if words.get(1) == Some(&"migrate") {
                    run.args(["--poll-interval", "0.05"]);
                }
                let out = run.output().unwrap();
                last_code = out.status.code();
                ran += 1;
                let shown = format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stderr),
                    String::from_utf8_lossy(&out.stdout)
                );
                steady(&shown, &setup.env.home.path().join("state"))
            };
            if !bless {
                assert_eq!(
                    shown, expected,
                    "MIGRATION.md shows other output for `{cmd}`"
                );
            }
            blessed.push_str(&format!("$ {cmd}\n{shown}"));
        }
        blessed.push_str("```");
        blessed.push_str(rest);
    }
    assert!(ran >= 5, "the worked example runs the migration");
    if bless {
        std::fs::write(
            &path,
            format!("{}{blessed}{}", &page[..start], &page[end..]),
        )
        .unwrap();
    }
}

/// Output with what changes from run to run made steady: the state
/// directory shown as the default one, backup times as one fixed time.
fn steady(text: &str, state: &std::path::Path) -> String {
    let text = text.replace(&*state.to_string_lossy(), "~/.local/state");
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("aws-auth-") {
        let (head, tail) = rest.split_at(i + "aws-auth-".len());
        out.push_str(head);
        let stamp = tail.get(..16).unwrap_or_default();
        let is_time = stamp.len() == 16
            && stamp.char_indices().all(|(i, c)| match i {
                8 => c == 'T',
                15 => c == 'Z',
                _ => c.is_ascii_digit(),
            });
        if is_time {
            out.push_str("20261123T101500Z");
            rest = &tail[16..];
        } else {
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

/// Issue 10.9: only the final binary picks a k8s-openapi version; a library
/// that picks one breaks every embedder on another (kube-rs picks none).
#[test]
fn the_library_picks_no_kubernetes_version() {
    let read = |p: &str| std::fs::read_to_string(repo().join(p)).unwrap();
    let workspace = read("Cargo.toml");
    let line = workspace
        .lines()
        .find(|l| l.starts_with("k8s-openapi"))
        .expect("the workspace declares k8s-openapi");
    assert!(!line.contains("v1_") && !line.contains("latest"), "{line}");
    let core = read("aws-auth-core/Cargo.toml");
    let deps = core
        .split("[dependencies]")
        .nth(1)
        .and_then(|d| d.split("\n[").next())
        .unwrap();
    assert!(!deps.contains("v1_") && !deps.contains("latest"), "{deps}");
    assert!(
        read("aws-auth-cli/Cargo.toml")
            .contains(r#"k8s-openapi = { workspace = true, features = ["v1_33"] }"#)
    );
}

/// Issue 25.3: a package ships its licence text and a page of its own.
#[test]
fn each_crate_ships_the_licence_and_a_readme() {
    let root = repo();
    let licence = std::fs::read_to_string(root.join("LICENSE")).unwrap();
    assert!(licence.contains("Apache License") && licence.contains("Version 2.0"));
    for krate in ["aws-auth-cli", "aws-auth-core"] {
        let dir = root.join(krate);
        // A link to the repository's text: the package takes its content.
        assert_eq!(
            std::fs::read_to_string(dir.join("LICENSE")).unwrap(),
            licence,
            "{krate}"
        );
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(manifest.contains("readme = \"README.md\""), "{krate}");
        let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
        assert!(readme.len() > 400, "{krate}: README too short");
    }
    let workspace = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    assert!(workspace.contains("license = \"Apache-2.0\""));
}
