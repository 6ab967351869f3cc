//! A deterministic stream of realistic mutants of every fixture and corpus map:
//! the mistakes people and tools make to aws-auth manifests (a whole document
//! indented, a line shifted, a tab, a stray document marker, another block
//! indicator, YAML 1.1 scalars, tags, key case, duplicated or lost lines).
//!
//! `AWS_AUTH_MUTANTS=N` sets how many mutants each test takes (default: the
//! number in the test); the stream is the same on every machine.

use std::path::PathBuf;

use aws_auth_core::Document;
use aws_auth_core::edit::{EditError, GroupsChange, Guards, MappingSpec, Op};

/// A linear congruential generator: the same stream everywhere, no dependency.
pub(crate) struct Lcg(u64);

impl Lcg {
    pub(crate) fn new(seed: u64) -> Lcg {
        Lcg(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() as usize) % n
        }
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}

/// Every fixture and corpus manifest, by name, in a stable order.
pub(crate) fn seeds() -> Vec<(String, String)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let mut out = Vec::new();
    for dir in [root.clone(), root.join("corpus")] {
        for e in std::fs::read_dir(&dir).expect("fixtures exist") {
            let path = e.unwrap().path();
            if path.extension().is_some_and(|x| x == "yaml") {
                let name = path.strip_prefix(&root).unwrap().display().to_string();
                out.push((name, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// How many mutants a test takes: `AWS_AUTH_MUTANTS`, else `default`.
pub(crate) fn budget(default: usize) -> usize {
    std::env::var("AWS_AUTH_MUTANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// One to three mutations of `text`, chosen by `rng`.
pub(crate) fn mutate(text: &str, rng: &mut Lcg) -> String {
    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    let rounds = 1 + rng.below(3);
    for _ in 0..rounds {
        let n = lines.len().max(1);
        let i = rng.below(n);
        match rng.below(20) {
            // A heredoc or a template indents the whole document.
            0 => {
                let pad = " ".repeat(1 + rng.below(4));
                for l in &mut lines {
                    if !l.is_empty() {
                        l.insert_str(0, &pad);
                    }
                }
            }
            // One line a space or two too deep, or too shallow.
            1 | 2 => {
                if let Some(l) = lines.get_mut(i) {
                    let by = 1 + rng.below(2);
                    if rng.below(2) == 0 {
                        l.insert_str(0, &" ".repeat(by));
                    } else {
                        let cut = indent_of(l).min(by);
                        l.replace_range(..cut, "");
                    }
                }
            }
            3 => {
                if i < lines.len() {
                    lines.remove(i);
                }
            }
            4 => {
                if let Some(l) = lines.get(i).cloned() {
                    lines.insert(i, l);
                }
            }
            5 => {
                if i + 1 < lines.len() {
                    lines.swap(i, i + 1);
                }
            }
            // An editor's tab: in a line's indentation, or a blank line of
            // spaces and a tab left behind.
            6 => {
                if rng.below(3) == 0 {
                    let pad = " ".repeat(rng.below(6));
                    lines.insert(i, format!("{pad}\t"));
                } else if let Some(l) = lines.get_mut(i)
                    && l.starts_with("  ")
                {
                    let at = indent_of(l).saturating_sub(2);
                    l.replace_range(at..at + 2, "\t");
                }
            }
            // Document markers and comments, at the line's indentation or at 0.
            7 | 8 => {
                let col = if rng.below(2) == 0 {
                    0
                } else {
                    lines.get(i).map_or(0, |l| indent_of(l))
                };
                let what = rng.pick(&[
                    "---",
                    "...",
                    "# note",
                    "",
                    "-",
                    "- ",
                    "--- # x",
                    "... # end",
                ]);
                lines.insert(i, format!("{}{what}", " ".repeat(col)));
            }
            // Another block indicator.
            9 => {
                let to = rng.pick(&["|-", "|+", ">", ">-", "|2", "|4-", "| # keep"]);
                if let Some(l) = lines
                    .iter_mut()
                    .filter(|l| l.trim_end().ends_with(": |"))
                    .nth(rng.below(3))
                {
                    let at = l.rfind('|').unwrap();
                    l.replace_range(at.., to);
                }
            }
            // A value quoted, or turned into a YAML 1.1 scalar.
            10 | 11 => {
                if let Some(l) = lines.get_mut(i)
                    && let Some(colon) = l.find(": ")
                {
                    let value = l[colon + 2..].to_owned();
                    let new = match rng.below(4) {
                        0 => format!("\"{value}\""),
                        1 => format!("'{value}'"),
                        2 => rng
                            .pick(&[
                                "yes",
                                "no",
                                "on",
                                "off",
                                "null",
                                "~",
                                "0777",
                                "1e3",
                                "0x1F",
                                ".inf",
                                "2001-12-14",
                            ])
                            .to_owned(),
                        _ => format!("!!str {value}"),
                    };
                    l.replace_range(colon + 2.., &new);
                }
            }
            // A field name in another case.
            12 => {
                if let Some(l) = lines.get_mut(i) {
                    for (from, to) in [
                        ("rolearn", "roleARN"),
                        ("userarn", "UserArn"),
                        ("username", "USERNAME"),
                        ("groups", "Groups"),
                    ] {
                        if l.contains(from) {
                            *l = l.replacen(from, to, 1);
                            break;
                        }
                    }
                }
            }
            // Trailing spaces, a lost final line feed, CRLF.
            13 => {
                if let Some(l) = lines.get_mut(i) {
                    l.push_str("  ");
                }
            }
            14 => {
                if lines.last().is_some_and(String::is_empty) {
                    lines.pop();
                }
            }
            15 => {
                for l in &mut lines {
                    l.push('\r');
                }
                if let Some(l) = lines.last_mut() {
                    l.pop();
                }
            }
            // A template left unquoted, or a list item flattened.
            16 => {
                if let Some(l) = lines.get_mut(i)
                    && l.contains("\"{{")
                {
                    *l = l.replace("\"{{", "{{").replace("}}\"", "}}");
                }
            }
            17 => {
                if let Some(l) = lines.get_mut(i)
                    && let Some(dash) = l.find("- ")
                {
                    l.replace_range(dash..dash + 2, "");
                }
            }
            // A line merged into the one before it.
            18 => {
                if i > 0 && i < lines.len() {
                    let l = lines.remove(i);
                    lines[i - 1].push(' ');
                    lines[i - 1].push_str(l.trim_start());
                }
            }
            // A column-0 comment or key inside a block.
            _ => {
                let what = rng.pick(&["# added by hand", "mapUsers: |", "data:", "  mapRoles: |"]);
                lines.insert(i, what.to_owned());
            }
        }
    }
    lines.join("\n")
}

fn ops(doc: &Document) -> Vec<Op> {
    let view = doc.view();
    let mut ops = vec![
        Op::AddRole(MappingSpec::new(
            "arn:aws:iam::111122223333:role/Mutant",
            "mutant:{{SessionName}}",
            ["devs"],
        )),
        Op::AddUser(MappingSpec::new(
            "arn:aws:iam::111122223333:user/mutant",
            "mutant",
            Vec::<String>::new(),
        )),
        Op::AddAccount("111122223333".into()),
    ];
    if let Some(r) = view.roles.values().find(|r| !r.rolearn.is_empty()) {
        ops.push(Op::RemoveRole {
            arn: r.rolearn.to_string(),
        });
        ops.push(Op::UpdateRole {
            arn: r.rolearn.to_string(),
            username: None,
            groups: GroupsChange::Append(vec!["extra".into()]),
        });
    }
    if let Some(u) = view.users.values().last() {
        ops.push(Op::RemoveUser {
            arn: u.userarn.to_string(),
        });
    }
    ops
}

/// Issue 13.9: the whole file path (manifest text, an operation, the written
/// text) on mutants of every real map never fails its own verification (exit
/// 70), and what it writes reads back as it says.
#[test]
fn edits_of_mutated_manifests_verify() {
    let seeds = seeds();
    let total = budget(5_000);
    let forced = Guards::new().forced(true);
    let mut rng = Lcg::new(13);
    let (mut read, mut written) = (0, 0);
    for n in 0..total {
        let (name, text) = &seeds[n % seeds.len()];
        let mutant = mutate(text, &mut rng);
        let Ok(doc) = Document::parse_manifest(mutant.as_str()) else {
            continue;
        };
        read += 1;
        let ops = ops(&doc);
        let op = &ops[rng.below(ops.len())];
        match doc.edit(std::slice::from_ref(op), &forced) {
            Err(e @ EditError::Verification { .. }) => {
                panic!("mutant {n} of {name}: {op:?} failed verification: {e}\n---\n{mutant}\n---")
            }
            Err(_) => {}
            Ok(edited) => {
                written += 1;
                let new_text = edited.manifest().expect("a manifest edit gives a manifest");
                let again = Document::parse_manifest(new_text).unwrap_or_else(|e| {
                    panic!("mutant {n} of {name}: {op:?} wrote a manifest that does not read ({e})\n---\n{new_text}\n---")
                });
                assert_eq!(
                    again.view(),
                    edited.document.view(),
                    "mutant {n} of {name}: {op:?}"
                );
            }
        }
    }
    // The stream must exercise the editor, not only the manifest checks.
    assert!(
        read > total / 3,
        "only {read} of {total} mutants read as manifests"
    );
    assert!(
        written > total / 4,
        "only {written} of {total} mutants were edited"
    );
}
