//! Property tests: arbitrary input never panics, and generated maps in many
//! styles take generated edits exactly (untouched bytes kept, add then remove
//! restores the file, the view changes by the edit and nothing else).

use aws_auth_core::edit::{GroupsChange, Guards, MappingSpec, Op, Written};
use aws_auth_core::{DataKey, Document};
use proptest::prelude::*;

/// One generated mapping.
#[derive(Debug, Clone, PartialEq)]
struct Mapping {
    role: bool,
    name: String,
    username: String,
    groups: Vec<String>,
    comment: bool,
}

impl Mapping {
    fn arn(&self) -> String {
        format!(
            "arn:aws:iam::111122223333:{}/{}",
            if self.role { "role" } else { "user" },
            self.name
        )
    }
}

/// How a generated list is written.
#[derive(Debug, Clone)]
struct Style {
    order: Vec<usize>,
    key_quote: u8,
    value_quote: u8,
    groups_flow: bool,
    groups_indent: usize,
    bare_dash: bool,
    blank_lines: usize,
    chomp: &'static str,
    trailing_comment: bool,
}

fn quote(v: &str, q: u8) -> String {
    // The generator's own, deliberately simple rule: quote anything unusual.
    let simple = v.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:/{}".contains(c))
        && !v.contains(": ")
        && !["yes", "no", "on", "off", "y", "n", "true", "false", "null"]
            .contains(&v.to_ascii_lowercase().as_str());
    match q {
        0 if simple => v.to_owned(),
        2 => format!("'{}'", v.replace('\'', "''")),
        _ => format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")),
    }
}

fn render_list(items: &[Mapping], key: DataKey, style: &Style) -> String {
    let arn_key = if key == DataKey::MapRoles {
        "rolearn"
    } else {
        "userarn"
    };
    let k = |name: &str| match style.key_quote {
        1 => format!("\"{name}\""),
        2 => format!("'{name}'"),
        _ => name.to_owned(),
    };
    let mut out = String::new();
    for (i, m) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(&"\n".repeat(style.blank_lines));
        }
        if m.comment {
            out.push_str(&format!("# about {}\n", m.name));
        }
        let mut lines: Vec<String> = Vec::new();
        for &field in &style.order {
            match field {
                0 => lines.push(format!(
                    "{}: {}",
                    k(arn_key),
                    quote(&m.arn(), style.value_quote)
                )),
                1 => lines.push(format!(
                    "{}: {}",
                    k("username"),
                    quote(&m.username, style.value_quote)
                )),
                _ if m.groups.is_empty() => {}
                _ if style.groups_flow => {
                    let g: Vec<String> = m.groups.iter().map(|g| quote(g, 1)).collect();
                    lines.push(format!("{}: [{}]", k("groups"), g.join(", ")));
                }
                _ => {
                    lines.push(format!("{}:", k("groups")));
                    for g in &m.groups {
                        lines.push(format!(
                            "{}- {}",
                            " ".repeat(style.groups_indent),
                            quote(g, style.value_quote)
                        ));
                    }
                }
            }
        }
        for (j, line) in lines.iter().enumerate() {
            if j == 0 {
                if style.bare_dash {
                    out.push_str(&format!("-\n  {line}\n"));
                } else {
                    out.push_str(&format!("- {line}\n"));
                }
            } else {
                out.push_str(&format!("  {line}\n"));
            }
        }
        if style.trailing_comment && i == 0 {
            out.push_str("  # deeper note about the first entry\n");
        }
    }
    out
}

fn literal(text: &str, chomp: &str) -> String {
    let body: String = text
        .trim_end_matches('\n')
        .split('\n')
        .map(|l| {
            if l.is_empty() {
                "\n".to_owned()
            } else {
                format!("    {l}\n")
            }
        })
        .collect();
    let extra = if chomp == "+" { "\n" } else { "" };
    format!("|{chomp}\n{body}{extra}")
}

fn manifest(roles: &str, users: &str, style: &Style, quoted_users: bool) -> String {
    let mut s = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n",
    );
    if !roles.is_empty() {
        s.push_str(&format!("  mapRoles: {}", literal(roles, style.chomp)));
    }
    if !users.is_empty() {
        if quoted_users {
            s.push_str(&format!(
                "  mapUsers: \"{}\"\n",
                users
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n")
            ));
        } else {
            s.push_str(&format!("  mapUsers: {}", literal(users, style.chomp)));
        }
    }
    s.push_str("  other: keep-me\n");
    s
}

fn value_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,10}",
        Just("{{SessionName}}".to_owned()),
        Just("dev:{{SessionName}}".to_owned()),
        Just("system:masters".to_owned()),
        Just("yes".to_owned()),
        Just("0777".to_owned()),
        Just("it's: tricky # really".to_owned()),
    ]
}

fn mapping_strategy(role: bool) -> impl Strategy<Value = Mapping> {
    (
        "[A-Za-z][A-Za-z0-9_-]{0,12}",
        value_strategy(),
        prop::collection::vec(value_strategy(), 0..3),
        any::<bool>(),
    )
        .prop_map(move |(name, username, groups, comment)| Mapping {
            role,
            name,
            username,
            groups,
            comment,
        })
}

fn unique(mut v: Vec<Mapping>) -> Vec<Mapping> {
    let mut seen = std::collections::HashSet::new();
    v.retain(|m| seen.insert(m.name.to_ascii_lowercase()));
    for m in &mut v {
        let mut g = std::collections::HashSet::new();
        m.groups.retain(|x| g.insert(x.clone()));
    }
    v
}

fn style_strategy() -> impl Strategy<Value = Style> {
    (
        Just(vec![0usize, 1, 2]).prop_shuffle(),
        0u8..3,
        0u8..3,
        any::<bool>(),
        prop_oneof![Just(0usize), Just(2), Just(4)],
        any::<bool>(),
        0usize..2,
        prop_oneof![Just(""), Just("-"), Just("+")],
        any::<bool>(),
    )
        .prop_map(
            |(
                order,
                key_quote,
                value_quote,
                groups_flow,
                groups_indent,
                bare_dash,
                blank_lines,
                chomp,
                trailing_comment,
            )| Style {
                order,
                key_quote,
                value_quote,
                groups_flow,
                groups_indent,
                bare_dash,
                blank_lines,
                chomp,
                trailing_comment,
            },
        )
}

/// An edit step, resolved against the current list by index.
#[derive(Debug, Clone)]
enum Step {
    Add(Mapping),
    Remove(usize),
    Update(usize, Option<String>, Vec<String>, bool),
}

fn steps_strategy() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        prop_oneof![
            any::<bool>()
                .prop_flat_map(mapping_strategy)
                .prop_map(Step::Add),
            any::<usize>().prop_map(Step::Remove),
            (
                any::<usize>(),
                prop::option::of(value_strategy()),
                prop::collection::vec(value_strategy(), 0..3),
                any::<bool>()
            )
                .prop_map(|(i, u, g, append)| Step::Update(i, u, g, append)),
        ],
        1..5,
    )
}

/// Turns steps into ops, applying them to an independent model of the lists.
fn apply_steps(roles: &mut Vec<Mapping>, users: &mut Vec<Mapping>, steps: &[Step]) -> Vec<Op> {
    let mut ops = Vec::new();
    for step in steps {
        match step {
            Step::Add(m) => {
                let list = if m.role { &mut *roles } else { &mut *users };
                if list.iter().any(|x| x.name.eq_ignore_ascii_case(&m.name)) {
                    continue;
                }
                let mut m = m.clone();
                m.comment = false;
                let mut seen = std::collections::HashSet::new();
                m.groups.retain(|g| seen.insert(g.clone()));
                let spec = MappingSpec::new(m.arn(), m.username.clone(), m.groups.clone());
                ops.push(if m.role {
                    Op::AddRole(spec)
                } else {
                    Op::AddUser(spec)
                });
                list.push(m);
            }
            Step::Remove(i) => {
                let total = roles.len() + users.len();
                if total == 0 {
                    continue;
                }
                let i = i % total;
                let (list, i) = if i < roles.len() {
                    (&mut *roles, i)
                } else {
                    (&mut *users, i - roles.len())
                };
                let m = list.remove(i);
                ops.push(if m.role {
                    Op::RemoveRole { arn: m.arn() }
                } else {
                    Op::RemoveUser { arn: m.arn() }
                });
            }
            Step::Update(i, username, groups, append) => {
                let total = roles.len() + users.len();
                if total == 0 {
                    continue;
                }
                let i = i % total;
                let m = if i < roles.len() {
                    &mut roles[i]
                } else {
                    &mut users[i - roles.len()]
                };
                let mut groups = groups.clone();
                let mut seen = std::collections::HashSet::new();
                groups.retain(|g| seen.insert(g.clone()));
                let change = if *append {
                    GroupsChange::Append(groups.clone())
                } else {
                    GroupsChange::Replace(groups.clone())
                };
                if let Some(u) = username {
                    m.username = u.clone();
                }
                if *append {
                    for g in groups {
                        if !m.groups.contains(&g) {
                            m.groups.push(g);
                        }
                    }
                } else {
                    m.groups = groups;
                }
                let (arn, username) = (m.arn(), username.clone());
                ops.push(if m.role {
                    Op::UpdateRole {
                        arn,
                        username,
                        groups: change,
                    }
                } else {
                    Op::UpdateUser {
                        arn,
                        username,
                        groups: change,
                    }
                });
            }
        }
    }
    ops
}

/// ARN, username and groups of each mapping the reader keeps.
type Mappings = Vec<(String, String, Vec<String>)>;

fn strings(texts: &[aws_auth_core::Text]) -> Vec<String> {
    texts.iter().map(String::from).collect()
}

fn summary(doc: &Document) -> (Mappings, Mappings) {
    let v = doc.view();
    (
        v.roles
            .values()
            .map(|r| {
                (
                    r.rolearn.to_string(),
                    r.username.to_string(),
                    strings(&r.groups),
                )
            })
            .collect(),
        v.users
            .values()
            .map(|u| {
                (
                    u.userarn.to_string(),
                    u.username.to_string(),
                    strings(&u.groups),
                )
            })
            .collect(),
    )
}

fn model(list: &[Mapping]) -> Vec<(String, String, Vec<String>)> {
    list.iter()
        .map(|m| (m.arn(), m.username.clone(), m.groups.clone()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// The generator and the reader agree before any edit.
    #[test]
    fn generated_maps_read_as_generated(
        roles in prop::collection::vec(mapping_strategy(true), 0..5).prop_map(unique),
        users in prop::collection::vec(mapping_strategy(false), 0..4).prop_map(unique),
        style in style_strategy(),
        quoted_users in any::<bool>(),
    ) {
        let text = manifest(&render_list(&roles, DataKey::MapRoles, &style), &render_list(&users, DataKey::MapUsers, &style), &style, quoted_users);
        let doc = Document::parse_manifest(text.as_str()).unwrap();
        let (r, u) = summary(&doc);
        prop_assert_eq!(r, model(&roles), "{}", text);
        prop_assert_eq!(u, model(&users), "{}", text);
    }

    /// The view after an edit is the view before plus exactly the edit; the
    /// entries it does not touch keep their bytes, in order.
    #[test]
    fn edits_change_exactly_what_they_say(
        roles in prop::collection::vec(mapping_strategy(true), 0..5).prop_map(unique),
        users in prop::collection::vec(mapping_strategy(false), 0..4).prop_map(unique),
        style in style_strategy(),
        quoted_users in any::<bool>(),
        steps in steps_strategy(),
    ) {
        let roles_text = render_list(&roles, DataKey::MapRoles, &style);
        let users_text = render_list(&users, DataKey::MapUsers, &style);
        let text = manifest(&roles_text, &users_text, &style, quoted_users);
        let doc = Document::parse_manifest(text.as_str()).unwrap();
        let (mut new_roles, mut new_users) = (roles.clone(), users.clone());
        let ops = apply_steps(&mut new_roles, &mut new_users, &steps);
        let guards = Guards::new().forced(true);
        let edited = doc.edit(&ops, &guards).map_err(|e| TestCaseError::fail(format!("{e}\n{text}\n{ops:?}")))?;
        let (r, u) = summary(&edited.document);
        prop_assert_eq!(&r, &model(&new_roles), "{}\n{:?}", text, ops);
        prop_assert_eq!(&u, &model(&new_users), "{}\n{:?}", text, ops);
        prop_assert_eq!(edited.document.data_value("other"), Some("keep-me"));

        // Untouched entries keep their bytes, in order.
        let touched: std::collections::HashSet<String> = ops.iter().map(|op| match op {
            Op::AddRole(s) | Op::AddUser(s) => s.arn.to_ascii_lowercase(),
            Op::RemoveRole { arn } | Op::RemoveUser { arn } | Op::UpdateRole { arn, .. } | Op::UpdateUser { arn, .. } => arn.to_ascii_lowercase(),
            _ => String::new(),
        }).collect();
        for (key, list, before) in [(DataKey::MapRoles, &roles, &roles_text), (DataKey::MapUsers, &users, &users_text)] {
            let Some(after) = edited.document.data_string(key) else { continue };
            // `|-` values have no final line feed; the entries are rendered with one.
            let after = format!("{}\n", after.trim_end_matches('\n'));
            if edited.keys.iter().any(|k| k.key == key && k.written != Written::InPlace) {
                continue;
            }
            let single = render_list(&[], key, &style);
            prop_assert!(single.is_empty());
            let mut from = 0;
            for m in list.iter().filter(|m| !touched.contains(&m.arn().to_ascii_lowercase())) {
                let mut alone = m.clone();
                alone.comment = false;
                let entry = render_list(&[alone], key, &style);
                // Without the first entry's trailing comment, which belongs to it.
                let entry = entry.replace("  # deeper note about the first entry\n", "");
                let at = after[from..].find(entry.as_str());
                prop_assert!(at.is_some(), "{} lost its bytes:\n{}\nbefore:\n{}", m.name, after, before);
                from += at.unwrap_or(0) + entry.len();
            }
        }
    }

    /// Adding a mapping and removing it gives back the same bytes.
    #[test]
    fn add_then_remove_restores_the_bytes(
        roles in prop::collection::vec(mapping_strategy(true), 0..5).prop_map(unique),
        users in prop::collection::vec(mapping_strategy(false), 0..4).prop_map(unique),
        style in style_strategy(),
        quoted_users in any::<bool>(),
        extra in mapping_strategy(true),
        as_user in any::<bool>(),
    ) {
        let text = manifest(&render_list(&roles, DataKey::MapRoles, &style), &render_list(&users, DataKey::MapUsers, &style), &style, quoted_users);
        let doc = Document::parse_manifest(text.as_str()).unwrap();
        let mut extra = extra;
        extra.role = !as_user;
        extra.name = format!("ZzExtra{}", extra.name);
        let mut seen = std::collections::HashSet::new();
        extra.groups.retain(|g| seen.insert(g.clone()));
        let spec = MappingSpec::new(extra.arn(), extra.username.clone(), extra.groups.clone());
        let (add, remove) = if as_user {
            (Op::AddUser(spec), Op::RemoveUser { arn: extra.arn() })
        } else {
            (Op::AddRole(spec), Op::RemoveRole { arn: extra.arn() })
        };
        let added = doc.edit(&[add], &Guards::default()).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        // Forced: the extra mapping may be the only system:masters one.
        let back = added.document.edit(&[remove], &Guards::new().forced(true)).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        if added.keys[0].written == Written::InPlace {
            prop_assert_eq!(back.manifest().unwrap(), text.as_str());
        } else {
            prop_assert_eq!(summary(&back.document), summary(&doc));
        }
    }

    /// Nothing panics on arbitrary input: reading, lint, explain, edits.
    #[test]
    fn arbitrary_text_never_panics(text in any::<String>(), data in any::<String>(), arn in any::<String>()) {
        let _ = aws_auth_core::lint::lint_manifest(&text);
        if let Ok(doc) = Document::parse_manifest(text.as_str()) {
            let _ = doc.lint();
            let _ = doc.explain(&arn);
        }
        let doc = Document::from_data([("mapRoles", data.clone()), ("mapUsers", data.clone()), ("mapAccounts", data)]);
        let _ = doc.lint();
        let _ = doc.explain("arn:aws:iam::111122223333:user/x");
        let _ = doc.edit(&[Op::AddAccount("111122223333".into()), Op::RemoveUsername { username: arn.clone() }], &Guards::new().forced(true));
    }

    /// Mutated real manifests (bytes inserted, deleted, replaced) never panic,
    /// and a successful edit always verifies.
    #[test]
    fn mutated_fixtures_never_panic(pick in any::<prop::sample::Index>(), edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<char>()), 1..6)) {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
        let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
        files.sort();
        let mut text: Vec<char> = std::fs::read_to_string(pick.get(&files)).unwrap().chars().collect();
        for (at, kind, c) in edits {
            if text.is_empty() { break; }
            let i = at.index(text.len());
            match kind {
                0 => text.insert(i, c),
                1 => { text.remove(i); }
                _ => text[i] = c,
            }
        }
        let text: String = text.into_iter().collect();
        let _ = aws_auth_core::lint::lint_manifest(&text);
        if let Ok(doc) = Document::parse_manifest(text.as_str()) {
            let ops = [
                Op::AddRole(MappingSpec::new("arn:aws:iam::999988887777:role/P", "p", ["g"])),
                Op::AddAccount("999988887777".into()),
            ];
            if let Err(e) = doc.edit(&ops, &Guards::new().forced(true)) {
                prop_assert!(!matches!(e, aws_auth_core::edit::EditError::Verification { .. }), "{e}\n{text}");
            }
        }
    }
}

/// Large maps (whose blocks take the fast manifest path and are shifted rather
/// than read again after an edit): a chain of edits on derived documents gives
/// exactly what the same edits give on documents read from scratch.
#[test]
fn chained_edits_on_large_maps_match_fresh_reads() {
    let mut roles = String::new();
    let mut users = String::new();
    for i in 0..400 {
        roles.push_str(&format!("- rolearn: arn:aws:iam::111122223333:role/r{i}\n  username: r{i}:{{{{SessionName}}}}\n  groups:\n    - team-{}\n", i % 7));
        users.push_str(&format!(
            "- userarn: arn:aws:iam::111122223333:user/u{i}\n  username: u{i}\n  groups: [devs]\n"
        ));
    }
    let indent = |s: &str| s.lines().map(|l| format!("    {l}\n")).collect::<String>();
    let text = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapRoles: |\n{}  mapUsers: |\n{}  mapAccounts: |\n    - \"111122223333\"\n",
        indent(&roles),
        indent(&users)
    );
    let spec = |arn: &str| MappingSpec::new(arn, "n", ["g"]);
    let steps: Vec<Vec<Op>> = vec![
        vec![Op::AddUser(spec("arn:aws:iam::111122223333:user/new"))],
        vec![Op::RemoveRole {
            arn: "arn:aws:iam::111122223333:role/r0".into(),
        }],
        vec![Op::UpdateRole {
            arn: "arn:aws:iam::111122223333:role/r200".into(),
            username: Some("x".into()),
            groups: GroupsChange::Append(vec!["more".into()]),
        }],
        vec![Op::RemoveUser {
            arn: "arn:aws:iam::111122223333:user/u399".into(),
        }],
        vec![
            Op::AddRole(spec("arn:aws:iam::111122223333:role/new")),
            Op::AddAccount("444455556666".into()),
        ],
        vec![
            Op::RemoveAccount("111122223333".into()),
            Op::RemoveUser {
                arn: "arn:aws:iam::111122223333:user/u0".into(),
            },
        ],
    ];
    let guards = Guards::new().forced(true);
    let mut derived = Document::parse_manifest(text.as_str()).unwrap();
    for ops in &steps {
        let fresh = Document::parse_manifest(derived.manifest_text().unwrap()).unwrap();
        let a = derived.edit(ops, &guards).unwrap();
        let b = fresh.edit(ops, &guards).unwrap();
        assert_eq!(a.manifest().ok(), b.manifest().ok(), "{ops:?}");
        assert_eq!(summary(&a.document), summary(&b.document));
        for key in DataKey::ALL {
            assert_eq!(a.document.data_string(key), b.document.data_string(key));
        }
        derived = a.document;
    }
}
