//! The reader: a data string turned into what aws-iam-authenticator sees.
//!
//! `mapRoles` and `mapUsers` go through yaml.v2, the YAML -> JSON conversion and
//! Go's `encoding/json` into structs, then each entry is validated alone
//! (docs/reader.md §2, §3). `mapAccounts` is decoded by yaml.v2 straight into a
//! list of strings, so an unquoted `012345678901` keeps its text.

use std::ops::Range;
use std::sync::Arc;

use crate::model::{
    DataKey, Dropped, Entry, FieldIssue, KeyState, KeyView, RoleMapping, SsoMatcher, UserMapping,
};
use crate::text::Text;
use crate::yaml::json::{self, JsonType, go_fold_eq, json_type};
use crate::yaml::resolve::{Resolved, resolve_plain};
use crate::yaml::tree::{Kind, NodeId, ScalarStyle, scalar_text};
use crate::yaml::{self, Tree};

/// A data string parsed into a tree, before its entries are decoded.
#[derive(Debug, Clone)]
pub(crate) struct Parsed {
    /// `None` when the value is blank or does not parse.
    pub(crate) tree: Option<Tree>,
    pub(crate) state: KeyState,
}

/// The authenticator skips these values without reading them.
pub(crate) fn is_skippable(text: &str) -> bool {
    matches!(text.trim(), "" | "\"\"" | "''")
}

/// Parses one data string and runs the checks that drop the whole key.
pub(crate) fn parse_key(key: DataKey, text: &str) -> Parsed {
    if is_skippable(text) {
        return Parsed {
            tree: None,
            state: KeyState::Empty,
        };
    }
    let tree = match yaml::parse(text) {
        Ok(tree) => tree,
        Err(e) => {
            return Parsed {
                tree: None,
                state: KeyState::Unreadable {
                    message: format!("YAML syntax error: {}", e.message),
                    offset: e.offset,
                },
            };
        }
    };
    if let Some(at) = yaml::tabs::refused(text, &tree) {
        return Parsed {
            tree: None,
            state: KeyState::Unreadable {
                message: "YAML syntax error: a tab where yaml.v2 allows only spaces (in the indentation, or after `-`); replace it with spaces".to_owned(),
                offset: at,
            },
        };
    }
    if let Some(at) = yaml::multiline_key(text, &tree) {
        return Parsed {
            tree: None,
            state: KeyState::Unreadable {
                message: "YAML syntax error: a mapping key runs over more than one line (a missing `,` or `:`?), which yaml.v2 refuses".to_owned(),
                offset: at,
            },
        };
    }
    // mapAccounts never goes through JSON, so JSON-only failures do not apply.
    let checked = match key {
        DataKey::MapAccounts => json::check_yaml(&tree, text),
        _ => json::check(&tree, text),
    };
    let state = match checked {
        Err(e) => KeyState::Unreadable {
            message: e.message,
            offset: tree.node(e.node).start as usize,
        },
        Ok(()) => match tree.root {
            None => KeyState::Empty,
            Some(root) => match json_type(&tree, text, root) {
                JsonType::Array(_) => KeyState::Read,
                // An empty string is no entries, however it is written
                // (`""`, `''`, `|` with no text).
                JsonType::Null | JsonType::String("") => KeyState::Empty,
                other => KeyState::Unreadable {
                    message: format!("the value is {}, not a list", article(other.go_name())),
                    offset: tree.node(root).start as usize,
                },
            },
        },
    };
    Parsed {
        tree: Some(tree),
        state,
    }
}

fn article(name: &str) -> String {
    match name {
        "array" => "a list".to_owned(),
        "object" => "a mapping".to_owned(),
        "null" => "null".to_owned(),
        other => format!("a {other}"),
    }
}

/// The items of a readable key's list.
fn items(parsed: &Parsed) -> Option<(&Tree, &[NodeId])> {
    if parsed.state != KeyState::Read {
        return None;
    }
    let tree = parsed.tree.as_ref()?;
    Some((tree, tree.seq_items(tree.root?)?))
}

/// Collects type problems while a struct is decoded.
pub(crate) struct Decoder<'t> {
    tree: &'t Tree,
    text: &'t str,
    /// `text`, shared with the strings read from it.
    source: &'t Arc<String>,
    index: usize,
    issues: Vec<FieldIssue>,
}

impl<'t> Decoder<'t> {
    fn issue(&mut self, field: String, node: NodeId, found: &'static str, expected: &'static str) {
        self.issues.push(FieldIssue {
            index: self.index,
            field,
            found,
            expected,
            span: self.tree.span(node),
        });
    }

    /// Go: a JSON string sets the field, null leaves it, anything else is a type
    /// error that leaves it as it was.
    fn string(&mut self, slot: &mut Text, field: &str, node: NodeId) {
        match json_type(self.tree, self.text, node) {
            JsonType::String(s) => *slot = Text::within(self.source, s),
            JsonType::Null => {}
            other => self.issue(field.to_owned(), node, other.go_name(), "string"),
        }
    }

    fn string_list(&mut self, slot: &mut Vec<Text>, field: &str, node: NodeId) {
        match json_type(self.tree, self.text, node) {
            JsonType::Null => slot.clear(),
            JsonType::Array(seq) => {
                let items = self.tree.seq_items(seq).unwrap_or_default();
                let mut out = Vec::with_capacity(items.len());
                for (i, &item) in items.iter().enumerate() {
                    match json_type(self.tree, self.text, item) {
                        JsonType::String(s) => out.push(Text::within(self.source, s)),
                        JsonType::Null => out.push(Text::new()),
                        other => {
                            self.issue(format!("{field}[{i}]"), item, other.go_name(), "string");
                            out.push(Text::new());
                        }
                    }
                }
                *slot = out;
            }
            other => self.issue(field.to_owned(), node, other.go_name(), "list of strings"),
        }
    }

    fn sso(&mut self, slot: &mut Option<SsoMatcher>, node: NodeId) {
        match json_type(self.tree, self.text, node) {
            JsonType::Null => *slot = None,
            JsonType::Object(map) => {
                // Go decodes into the existing struct when an earlier key set one.
                let mut sso = slot.take().unwrap_or_default();
                for (key, value, _) in json::object_entries(self.tree, self.text, map) {
                    if go_fold_eq(&key, "permissionSetName") {
                        self.string(&mut sso.permission_set_name, "sso.permissionSetName", value);
                    } else if go_fold_eq(&key, "accountID") {
                        self.string(&mut sso.account_id, "sso.accountID", value);
                    } else if go_fold_eq(&key, "partition") {
                        self.string(&mut sso.partition, "sso.partition", value);
                    }
                }
                *slot = Some(sso);
            }
            other => self.issue("sso".to_owned(), node, other.go_name(), "mapping"),
        }
    }
}

/// How one list's entries decode into `T`: the Go struct's field names, how a
/// field is set, and the check each entry must pass.
pub(crate) struct Schema<T: 'static> {
    fields: &'static [&'static str],
    field: fn(&mut Decoder<'_>, &mut T, Option<usize>, &str, NodeId),
    validate: fn(&T) -> Result<(), String>,
}

/// Decodes the entries of a list into `T`, one Go struct decode each.
fn decode_list<T: Default>(parsed: &Parsed, text: &Arc<String>, schema: &Schema<T>) -> KeyView<T> {
    let mut view = KeyView::with_state(parsed.state.clone());
    let Some((tree, items)) = items(parsed) else {
        return view;
    };
    decode_items(&mut view, tree, text, 0, items, schema);
    view
}

/// Decodes `items` of `tree`, the first of which is item `first` of its list,
/// into `view`. Each item decodes on its own: nothing carries from one to the next.
pub(crate) fn decode_items<T: Default>(
    view: &mut KeyView<T>,
    tree: &Tree,
    source: &Arc<String>,
    first: usize,
    items: &[NodeId],
    schema: &Schema<T>,
) {
    let text = source.as_str();
    let Schema {
        fields,
        field,
        validate,
    } = schema;
    view.entries.reserve(items.len());
    let mut keys: Vec<(&str, Option<usize>, NodeId)> = Vec::with_capacity(8);
    let mut decoder = Decoder {
        tree,
        text,
        source,
        index: 0,
        issues: Vec::new(),
    };
    for (index, &item) in (first..).zip(items) {
        decoder.index = index;
        let span = entry_span(tree, item);
        let mut value = T::default();
        match json_type(tree, text, item) {
            JsonType::Object(map) => {
                if simple_keys(tree, text, map, fields, &mut keys) {
                    for &(key, index, node) in &keys {
                        field(&mut decoder, &mut value, index, key, node);
                    }
                } else {
                    for (key, node, _) in json::object_entries(tree, text, map) {
                        let index = fields.iter().position(|f| go_fold_eq(&key, f));
                        field(&mut decoder, &mut value, index, &key, node);
                    }
                }
            }
            JsonType::Null => {
                view.dropped.push(Dropped {
                    index,
                    span,
                    reason: "the list item is empty".to_owned(),
                });
                continue;
            }
            other => {
                view.dropped.push(Dropped {
                    index,
                    span,
                    reason: format!(
                        "the list item is {}, not a mapping",
                        article(other.go_name())
                    ),
                });
                continue;
            }
        }
        match validate(&value) {
            Ok(()) => view.entries.push(Entry { value, index, span }),
            Err(reason) => view.dropped.push(Dropped {
                index,
                span,
                reason,
            }),
        }
    }
    decoder.issues.sort_by_key(|i| i.span.start);
    view.field_issues.append(&mut decoder.issues);
}

/// The keys of a mapping in document order, when that order gives what Go's
/// sorted order gives: no merge key, every key a string, no field set twice.
fn simple_keys<'t>(
    tree: &'t Tree,
    text: &'t str,
    map: NodeId,
    fields: &[&str],
    out: &mut Vec<(&'t str, Option<usize>, NodeId)>,
) -> bool {
    out.clear();
    let mut seen = 0u32;
    for (k, v) in tree.map_pairs(map).into_iter().flatten() {
        let node = tree.node(k);
        let Kind::Scalar { style, text: t } = &node.kind else {
            return false;
        };
        if node.tag.is_some() {
            return false;
        }
        let key = scalar_text(text, t);
        // A field's own name is a plain string: only other keys need resolving.
        let exact = fields.iter().position(|f| *f == key);
        if exact.is_none()
            && *style == ScalarStyle::Plain
            && (key == "<<" || resolve_plain(key) != Resolved::Str)
        {
            return false;
        }
        let index = exact.or_else(|| fields.iter().position(|f| go_fold_eq(key, f)));
        if let Some(i) = index {
            if seen & (1 << i) != 0 {
                return false;
            }
            seen |= 1 << i;
        }
        out.push((key, index, v));
    }
    true
}

fn entry_span(tree: &Tree, item: NodeId) -> Range<usize> {
    tree.span(item)
}

/// Unknown keys are kept, as JSON, in `extra`.
fn extra(
    decoder: &Decoder<'_>,
    map: &mut std::collections::BTreeMap<String, serde_json::Value>,
    key: &str,
    node: NodeId,
) {
    map.insert(
        key.to_owned(),
        json::to_json(decoder.tree, decoder.text, node),
    );
}

/// How `mapRoles` entries decode.
pub(crate) const ROLES: Schema<RoleMapping> = Schema {
    fields: &["rolearn", "sso", "username", "groups", "userid"],
    field: |d, role, field, key, node| match field {
        Some(0) => d.string(&mut role.rolearn, "rolearn", node),
        Some(1) => d.sso(&mut role.sso, node),
        Some(2) => d.string(&mut role.username, "username", node),
        Some(3) => d.string_list(&mut role.groups, "groups", node),
        Some(4) => d.string(&mut role.userid, "userid", node),
        _ => extra(d, &mut role.extra, key, node),
    },
    validate: validate_role,
};

/// The `mapRoles` entries the authenticator accepts.
pub(crate) fn roles(parsed: &Parsed, text: &Arc<String>) -> KeyView<RoleMapping> {
    decode_list(parsed, text, &ROLES)
}

fn validate_role(role: &RoleMapping) -> Result<(), String> {
    match (&role.rolearn, &role.sso) {
        (arn, None) if arn.is_empty() => Err("the entry has no rolearn (and no sso)".to_owned()),
        (arn, Some(_)) if !arn.is_empty() => {
            Err("the entry has both rolearn and sso; only one is allowed".to_owned())
        }
        (_, Some(sso)) => {
            if sso.account_id.len() != 12 || !sso.account_id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "sso.accountID {:?} is not 12 digits",
                    sso.account_id
                ));
            }
            let name = &sso.permission_set_name;
            let valid = (1..=32).contains(&name.chars().count())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
            if !valid {
                return Err(format!(
                    "sso.permissionSetName {name:?} is not 1 to 32 of the characters [A-Za-z0-9_+=,.@-]"
                ));
            }
            // The authenticator's own list, narrower than the partitions ARNs use.
            if !matches!(
                sso.partition.as_ref(),
                "" | "aws" | "aws-cn" | "aws-us-gov" | "aws-iso" | "aws-iso-b"
            ) {
                return Err(format!(
                    "sso.partition {:?} is not one the authenticator accepts (aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b)",
                    sso.partition
                ));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// How `mapUsers` entries decode.
pub(crate) const USERS: Schema<UserMapping> = Schema {
    fields: &["userarn", "username", "groups", "userid"],
    field: |d, user, field, key, node| match field {
        Some(0) => d.string(&mut user.userarn, "userarn", node),
        Some(1) => d.string(&mut user.username, "username", node),
        Some(2) => d.string_list(&mut user.groups, "groups", node),
        Some(3) => d.string(&mut user.userid, "userid", node),
        _ => extra(d, &mut user.extra, key, node),
    },
    validate: |user| {
        if user.userarn.is_empty() {
            Err("the entry has no userarn".to_owned())
        } else {
            Ok(())
        }
    },
};

/// The `mapUsers` entries the authenticator accepts.
pub(crate) fn users(parsed: &Parsed, text: &Arc<String>) -> KeyView<UserMapping> {
    decode_list(parsed, text, &USERS)
}

/// The `mapAccounts` entries: yaml.v2 decodes every scalar into its text (null
/// into `""`) and skips collections.
pub(crate) fn accounts(parsed: &Parsed, text: &Arc<String>) -> KeyView<String> {
    let text = text.as_str();
    let mut view = KeyView::with_state(parsed.state.clone());
    let Some((tree, items)) = items(parsed) else {
        return view;
    };
    for (index, &item) in items.iter().enumerate() {
        let span = entry_span(tree, item);
        let resolved = tree.resolve(item);
        match &tree.node(resolved).kind {
            Kind::Scalar { .. } => {
                let value = match json::resolve_scalar(tree, text, resolved) {
                    Ok(yaml::resolve::Resolved::Null) => String::new(),
                    _ => tree
                        .scalar(text, resolved)
                        .map(|(s, _)| s.to_owned())
                        .unwrap_or_default(),
                };
                view.entries.push(Entry { value, index, span });
            }
            _ => view.dropped.push(Dropped {
                index,
                span,
                reason: "the list item is a collection, not an account ID".to_owned(),
            }),
        }
    }
    view
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles_of(text: &str) -> KeyView<RoleMapping> {
        roles(
            &parse_key(DataKey::MapRoles, text),
            &Arc::new(text.to_owned()),
        )
    }

    #[test]
    fn keys_match_case_insensitively_and_unknown_keys_are_kept() {
        let view = roles_of(
            "- roleARN: arn:aws:iam::111122223333:role/A\n  UsErNaMe: a\n  note: keep me\n",
        );
        assert_eq!(view.state, KeyState::Read);
        let role = &view.entries[0].value;
        assert_eq!(role.rolearn, "arn:aws:iam::111122223333:role/A");
        assert_eq!(role.username, "a");
        assert_eq!(role.extra["note"], serde_json::json!("keep me"));
    }

    #[test]
    fn a_wrongly_typed_field_is_zeroed_and_the_entry_kept() {
        let view = roles_of(
            "- rolearn: arn:aws:iam::111122223333:role/A\n  username: yes\n  groups: system:masters\n",
        );
        let role = &view.entries[0].value;
        assert_eq!(role.username, "");
        assert!(role.groups.is_empty());
        let fields: Vec<&str> = view.field_issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(fields, ["username", "groups"]);
    }

    #[test]
    fn differently_cased_duplicates_resolve_in_sorted_key_order() {
        // JSON keys are sorted: "ROLEARN" < "rolearn", so the lower-case one wins.
        let view = roles_of(
            "- rolearn: arn:aws:iam::111122223333:role/Low\n  ROLEARN: arn:aws:iam::111122223333:role/Up\n",
        );
        assert_eq!(
            view.entries[0].value.rolearn,
            "arn:aws:iam::111122223333:role/Low"
        );
    }

    #[test]
    fn whole_key_failures() {
        for (text, needle) in [
            ("- rolearn: a\n  username: {{SessionName}}\n", "collection"),
            ("- rolearn: a\n\tusername: b\n", "syntax"),
            ("rolearn: a\n", "mapping, not a list"),
            ("- rolearn: a\n  username: .inf\n", "special float"),
        ] {
            let view = roles_of(text);
            match &view.state {
                KeyState::Unreadable { message, .. } => {
                    assert!(message.contains(needle), "{text}: {message}")
                }
                other => panic!("{text}: {other:?}"),
            }
            assert!(view.entries.is_empty());
        }
        for text in ["", "  \n", "\"\"", "''", "|", "~", "# only a comment\n"] {
            assert_eq!(roles_of(text).state, KeyState::Empty, "{text:?}");
        }
    }

    #[test]
    fn entries_are_validated_one_by_one() {
        let view = roles_of(concat!(
            "- username: no-arn\n",
            "- rolearn: arn:aws:iam::111122223333:role/A\n",
            "- sso: {permissionSetName: Admin, accountID: \"1234\"}\n",
            "- sso: {permissionSetName: Admin, accountID: \"111122223333\"}\n",
            "- just a string\n",
            "-\n",
        ));
        assert_eq!(view.entries.len(), 2);
        let reasons: Vec<&str> = view.dropped.iter().map(|d| d.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "the entry has no rolearn (and no sso)",
                "sso.accountID \"1234\" is not 12 digits",
                "the list item is a string, not a mapping",
                "the list item is empty",
            ]
        );
    }

    #[test]
    fn folded_list_item_becomes_one_group() {
        let text = "- rolearn: arn:aws:iam::1:role/N\n  groups:\n    - system:bootstrappers\n     - system:nodes\n";
        assert_eq!(
            roles_of(text).entries[0].value.groups,
            ["system:bootstrappers - system:nodes"]
        );
    }

    #[test]
    fn accounts_keep_their_text() {
        let text = "- 012345678901\n- \"111122223333\"\n- 0777\n- ~\n- [nested]\n";
        let view = accounts(
            &parse_key(DataKey::MapAccounts, text),
            &Arc::new(text.to_owned()),
        );
        let ids: Vec<&str> = view.values().map(String::as_str).collect();
        assert_eq!(ids, ["012345678901", "111122223333", "0777", ""]);
        assert_eq!(view.dropped.len(), 1);
        // NaN is only a problem for JSON; mapAccounts never goes through it.
        let text = "- .nan\n";
        assert_eq!(
            accounts(
                &parse_key(DataKey::MapAccounts, text),
                &Arc::new(text.to_owned())
            )
            .entries
            .len(),
            1
        );
    }
}
