//! Checks of a data string's text and YAML structure.

use super::{Code, Sink};
use crate::document::Document;
use crate::model::{DataKey, KeyState};
use crate::yaml::Tree;
use crate::yaml::json::go_fold_eq;
use crate::yaml::tree::{Kind, NodeId, ScalarStyle};

pub(crate) fn check(doc: &Document, key: DataKey, sink: &mut Sink<'_>) {
    let Some(text) = doc.data_string(key) else {
        return;
    };
    let parsed = doc.parsed(key);
    if let KeyState::Unreadable { message, offset } = &parsed.state {
        unreadable(text, key, message, *offset, sink);
    }
    if let Some(tab) = memchr::memchr(b'\t', text.as_bytes()) {
        sink.push(
            Code::Tab,
            key,
            tab,
            "a tab character: YAML does not allow tabs for indentation, and in values they are kept as they are; use spaces".to_owned(),
        );
    }
    trailing_whitespace(text, key, sink);
    let Some(tree) = &parsed.tree else { return };
    if tree.more_documents {
        let end = tree.root.map_or(0, |r| tree.node(r).end as usize);
        let at = text[end..]
            .find("\n---")
            .or_else(|| text[end..].find("\n..."))
            .map_or(end, |i| end + i + 1);
        sink.push(
            Code::MultipleDocuments,
            key,
            at,
            format!("{key} holds more than one YAML document; the authenticator reads only the first and ignores everything from here on"),
        );
    }
    folded_items(tree, text, key, sink);
    if key != DataKey::MapAccounts {
        entry_keys(tree, text, key, sink);
    }
}

fn unreadable(text: &str, key: DataKey, message: &str, offset: usize, sink: &mut Sink<'_>) {
    let templates = unquoted_templates(text);
    if !templates.is_empty() {
        for at in templates {
            let token: String = text[at..]
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != ',')
                .collect();
            sink.push(
                Code::UnquotedTemplate,
                key,
                at,
                format!(
                    "{token} is not quoted, so YAML reads it as a mapping and the whole {key} key is dropped (every mapping in it, node roles included); quote it: \"{token}\""
                ),
            );
        }
        return;
    }
    let line_start = text[..offset.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let mut around = text[line_start..].split('\n');
    let line = around.next().unwrap_or("");
    let next = around.next().unwrap_or("");
    let eaten = [line, next].into_iter().find(|l| {
        let t = l.split(" #").next().unwrap_or("").trim_end();
        t.ends_with("system:node:") && !t.contains(['"', '\''])
    });
    let hint = if let Some(eaten) = eaten {
        format!(
            "; `{}` ends with a colon, so YAML reads a nested mapping there: a template engine probably removed {{{{EC2PrivateDNSName}}}} (write system:node:{{{{EC2PrivateDNSName}}}})",
            eaten.trim()
        )
    } else if line.contains('\t') || next.contains('\t') {
        "; a line here holds a tab, and YAML indentation must use spaces".to_owned()
    } else if message.contains("a mapping, not a list") {
        "; each mapping must start with `- `".to_owned()
    } else if message.contains("not a list") {
        "; write one mapping per list item, each starting with `- `".to_owned()
    } else if line.matches(": ").count() >= 2 {
        "; this line holds several `key: value` pairs, which YAML cannot read on one line: give each key its own line".to_owned()
    } else {
        String::new()
    };
    sink.push(
        Code::KeyUnreadable,
        key,
        offset,
        format!(
            "{key} cannot be read: {message}{hint}. The authenticator ignores every mapping in it"
        ),
    );
}

/// Offsets of `{{` that begin a plain scalar: after `key: `, `- `, `[` or `,`.
fn unquoted_templates(text: &str) -> Vec<usize> {
    let mut found = Vec::new();
    let mut line_start = 0;
    for line in text.split('\n') {
        let mut search = 0;
        while let Some(i) = line[search..].find("{{").map(|i| search + i) {
            search = i + 2;
            let before = &line[..i];
            let trimmed = before.trim_end_matches(' ');
            let spaced = trimmed.len() < before.len();
            let quotes = before.matches('"').count() + before.matches('\'').count();
            let starts_value = match trimmed.chars().last() {
                Some(':') | Some('-') => spaced,
                Some('[') | Some(',') => true,
                None => true,
                _ => false,
            };
            let dash_ok = !trimmed.ends_with('-') || trimmed.trim_start() == "-";
            if starts_value && dash_ok && quotes % 2 == 0 && !before.trim_start().starts_with('#') {
                found.push(line_start + i);
            }
        }
        line_start += line.len() + 1;
    }
    found
}

fn trailing_whitespace(text: &str, key: DataKey, sink: &mut Sink<'_>) {
    // Candidates are a blank right before a line feed (or at the very end).
    let b = text.as_bytes();
    let mut first = None;
    let mut count = 0;
    let mut candidates = memchr::memmem::find_iter(b, b" \n")
        .chain(memchr::memmem::find_iter(b, b"\t\n"))
        .map(|i| i + 1)
        .collect::<Vec<_>>();
    if b.last().is_some_and(|&c| c == b' ' || c == b'\t') {
        candidates.push(b.len());
    }
    candidates.sort_unstable();
    for end in candidates {
        let start = memchr::memrchr(b'\n', &b[..end]).map_or(0, |i| i + 1);
        let line = &text[start..end];
        let trimmed = line.trim_end_matches([' ', '\t']);
        if !trimmed.is_empty() {
            count += 1;
            first.get_or_insert(start + trimmed.len());
        }
    }
    if let Some(at) = first {
        let lines = if count == 1 {
            "a line ends".to_owned()
        } else {
            format!("{count} lines end")
        };
        sink.push(
            Code::TrailingWhitespace,
            key,
            at,
            format!("{lines} with spaces (this is the first); the reader does not mind, but `kubectl edit` then rewrites the whole {key} value as one double-quoted string"),
        );
    }
}

/// Plain scalars whose continuation line starts with `- `: a list item indented
/// deeper than its siblings, folded into the item above.
fn folded_items(tree: &Tree, text: &str, key: DataKey, sink: &mut Sink<'_>) {
    // The fast path reads only one-line scalars.
    if tree.simple {
        return;
    }
    for node in &tree.nodes {
        let Kind::Scalar {
            style: ScalarStyle::Plain,
            text: value,
        } = &node.kind
        else {
            continue;
        };
        let source = &text[node.start as usize..node.end as usize];
        let Some(first_break) = source.find('\n') else {
            continue;
        };
        let mut offset = node.start as usize + first_break + 1;
        for line in source[first_break + 1..].split('\n') {
            let content = line.trim_start();
            if content.starts_with("- ") || content == "-" {
                let at = offset + (line.len() - content.len());
                let value = crate::yaml::tree::scalar_text(text, value);
                sink.push(
                    Code::FoldedListItem,
                    key,
                    at,
                    format!(
                        "this list item is indented deeper than the item above it, so YAML folds the two into one value: \"{value}\"; align its `-` with the line above"
                    ),
                );
            }
            offset += line.len() + 1;
        }
    }
}

const ROLE_FIELDS: [&str; 5] = ["rolearn", "sso", "username", "groups", "userid"];
const USER_FIELDS: [&str; 4] = ["userarn", "username", "groups", "userid"];
const SSO_FIELDS: [&str; 3] = ["permissionSetName", "accountID", "partition"];

/// Keys of each entry, as written: unknown ones, 0.5-incompatible case, repeats.
fn entry_keys(tree: &Tree, text: &str, key: DataKey, sink: &mut Sink<'_>) {
    let fields: &[&str] = if key == DataKey::MapRoles {
        &ROLE_FIELDS
    } else {
        &USER_FIELDS
    };
    let Some(items) = tree.root.and_then(|r| tree.seq_items(r)) else {
        return;
    };
    for &item in items {
        let sso = check_keys(tree, text, key, item, fields, true, sink);
        if key == DataKey::MapRoles
            && let Some(v) = sso
        {
            check_keys(tree, text, key, v, &SSO_FIELDS, false, sink);
        }
    }
}

fn check_keys(
    tree: &Tree,
    text: &str,
    key: DataKey,
    map: NodeId,
    fields: &[&str],
    v05: bool,
    sink: &mut Sink<'_>,
) -> Option<NodeId> {
    let pairs = tree.map_pairs(map)?;
    // Where each field was first set, by its index in `fields`.
    let mut seen = [None::<usize>; 8];
    // The value of the first key read as `sso` (of a role), found on the way.
    let mut sso = None;
    for (k, v) in pairs {
        let Some((name, _)) = tree.scalar(text, k) else {
            continue;
        };
        if name == "<<" {
            continue;
        }
        let at = tree.node(k).start as usize;
        let index = fields
            .iter()
            .position(|f| *f == name)
            .or_else(|| fields.iter().position(|f| go_fold_eq(name, f)));
        match index {
            Some(i) => {
                let field = fields[i];
                if field == "sso" {
                    sso = sso.or(Some(v));
                }
                if v05 && name != field {
                    sink.push(
                        Code::KeyCase,
                        key,
                        at,
                        format!("`{name}` is read as `{field}` by aws-iam-authenticator 0.6 and later, but 0.5 reads keys case-sensitively and ignores it (the entry then never matches); write `{field}`"),
                    );
                }
                match seen.get(i).copied().flatten() {
                    Some(first) => {
                        let first_line = sink.line(key, first);
                        sink.push(
                            Code::DuplicateKey,
                            key,
                            at,
                            format!("`{field}` is set a second time in this entry (first on line {first_line}); only one of them is used, and which one depends on the keys' spelling"),
                        );
                    }
                    None => {
                        if let Some(slot) = seen.get_mut(i) {
                            *slot = Some(at);
                        }
                    }
                }
            }
            None => {
                let suggestion = suggest(name, fields)
                    .map(|f| format!("; did you mean `{f}`?"))
                    .unwrap_or_default();
                sink.push(
                    Code::UnknownKey,
                    key,
                    at,
                    super::unknown_key_message(name, &suggestion),
                );
            }
        }
    }
    sso
}

/// A field the key was probably meant to be.
fn suggest<'f>(name: &str, fields: &[&'f str]) -> Option<&'f str> {
    let norm: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    fields
        .iter()
        .copied()
        .filter_map(|f| {
            let lower = f.to_ascii_lowercase();
            let score = if norm == lower
                || (norm.len() >= 4 && (lower.starts_with(&norm) || norm.starts_with(&lower)))
            {
                0
            } else {
                edit_distance(&norm, &lower)
            };
            (score <= 2).then_some((score, f))
        })
        .min_by_key(|(score, _)| *score)
        .map(|(_, f)| f)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_unquoted_templates_only_where_a_value_starts() {
        let text = "- rolearn: a\n  username: {{SessionName}}\n  groups: [{{AccountID}}, \"{{x}}\"]\n  u: system:node:{{EC2PrivateDNSName}}\n- {{y}}\n# username: {{z}}\n";
        let found: Vec<&str> = unquoted_templates(text)
            .iter()
            .map(|&i| &text[i..i + 5])
            .collect();
        assert_eq!(found, ["{{Ses", "{{Acc", "{{y}}"]);
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggest("role_arn", &ROLE_FIELDS), Some("rolearn"));
        assert_eq!(suggest("group", &ROLE_FIELDS), Some("groups"));
        assert_eq!(suggest("userame", &USER_FIELDS), Some("username"));
        assert_eq!(suggest("comment", &USER_FIELDS), None);
    }
}
