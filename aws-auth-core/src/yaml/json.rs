//! What `sigs.k8s.io/yaml.YAMLToJSON` and Go's `encoding/json` make of a node.
//!
//! The authenticator decodes `mapRoles`/`mapUsers` in two steps: yaml.v2 into
//! generic Go values, converted to JSON text (map keys sorted, NaN refused), and
//! that JSON into Go structs. This module answers the questions the reader needs
//! from each step without building the JSON text.

use std::collections::HashMap;

use super::resolve::{Resolved, resolve_plain, resolve_tagged};
use super::tree::{Kind, NodeId, ScalarStyle, Tag, Tree, scalar_text};

/// A reason the whole YAML -> JSON conversion fails, with the offending node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ConversionError {
    pub(crate) node: NodeId,
    pub(crate) message: String,
}

/// The JSON type a node converts to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum JsonType<'t> {
    Null,
    Bool,
    Number,
    String(&'t str),
    Array(NodeId),
    Object(NodeId),
}

impl JsonType<'_> {
    /// Go's name for the JSON type, as in "cannot unmarshal number into ...".
    pub(crate) fn go_name(&self) -> &'static str {
        match self {
            JsonType::Null => "null",
            JsonType::Bool => "bool",
            JsonType::Number => "number",
            JsonType::String(_) => "string",
            JsonType::Array(_) => "array",
            JsonType::Object(_) => "object",
        }
    }
}

/// How yaml.v2 resolves a scalar node (tags included).
pub(crate) fn resolve_scalar(
    tree: &Tree,
    text: &str,
    id: NodeId,
) -> Result<Resolved, &'static str> {
    let node = tree.node(id);
    let Kind::Scalar { style, text: t } = &node.kind else {
        return Ok(Resolved::Str);
    };
    let value = scalar_text(text, t);
    match node.tag {
        Some(tag) => resolve_tagged(tag, value),
        None if *style == ScalarStyle::Plain => Ok(resolve_plain(value)),
        None => Ok(Resolved::Str),
    }
}

/// The JSON type of a node (aliases followed). Call [`check`] first: nodes that
/// fail the conversion are reported there and read as null here.
pub(crate) fn json_type<'t>(tree: &'t Tree, text: &'t str, id: NodeId) -> JsonType<'t> {
    // The common case, an untagged scalar, without following aliases or
    // looking the node up twice.
    let node = tree.node(id);
    if let Kind::Scalar { style, text: t } = &node.kind
        && node.tag.is_none()
    {
        let value = scalar_text(text, t);
        if *style != ScalarStyle::Plain {
            return JsonType::String(value);
        }
        return match resolve_plain(value) {
            Resolved::Str => JsonType::String(value),
            Resolved::Null => JsonType::Null,
            Resolved::Bool(_) => JsonType::Bool,
            Resolved::Int(_) | Resolved::Float(_) => JsonType::Number,
        };
    }
    let id = tree.resolve(id);
    match &tree.node(id).kind {
        Kind::Seq { .. } => JsonType::Array(id),
        Kind::Map { .. } => JsonType::Object(id),
        Kind::Alias { .. } => JsonType::Null,
        Kind::Scalar { text: t, .. } => match resolve_scalar(tree, text, id) {
            Ok(Resolved::Str) => JsonType::String(scalar_text(text, t)),
            Ok(Resolved::Null) | Err(_) => JsonType::Null,
            Ok(Resolved::Bool(_)) => JsonType::Bool,
            Ok(Resolved::Int(_) | Resolved::Float(_)) => JsonType::Number,
        },
    }
}

/// The JSON object key a mapping key becomes, or why it cannot be one.
fn key_string(tree: &Tree, text: &str, key: NodeId) -> Result<String, String> {
    let key = tree.resolve(key);
    match &tree.node(key).kind {
        Kind::Seq { .. } | Kind::Map { .. } => Err(
            "a mapping key is itself a collection (an unquoted {{...}} template is read as one)"
                .to_owned(),
        ),
        Kind::Alias { .. } => Err("a mapping key is an unresolved alias".to_owned()),
        Kind::Scalar { text: t, .. } => {
            let raw = scalar_text(text, t);
            match resolve_scalar(tree, text, key) {
                Ok(Resolved::Str) => Ok(raw.to_owned()),
                Ok(Resolved::Null) => Err("a mapping key is null".to_owned()),
                Ok(Resolved::Bool(b)) => Ok(b.to_string()),
                Ok(Resolved::Int(i)) => Ok(i.to_string()),
                // Go formats float keys with FormatFloat(f, 'g', -1, 32).
                Ok(Resolved::Float(f)) => Ok(format_float_key(f)),
                Err(e) => Err(format!("the key {raw:?} {e}")),
            }
        }
    }
}

fn format_float_key(f: f64) -> String {
    if f.is_nan() {
        ".nan".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { ".inf" } else { "-.inf" }.to_owned()
    } else {
        let v = f as f32;
        if v == v.trunc() && v.abs() < 1e21 {
            format!("{}", v as f64)
        } else {
            format!("{v}")
        }
    }
}

/// A mapping's entries as Go sees them after yaml.v2 and the JSON conversion:
/// merge keys (`<<`) applied in yaml.v2's order, then one entry per JSON key (the
/// last written wins), sorted by key as `json.Marshal` writes them.
pub(crate) fn object_entries(
    tree: &Tree,
    text: &str,
    map: NodeId,
) -> Vec<(String, NodeId, NodeId)> {
    let mut flat: Vec<(String, NodeId, NodeId)> = Vec::new();
    flatten(tree, text, map, &mut flat, 0);
    // Stable sort keeps document order among equal keys; keep the last of each.
    flat.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out: Vec<(String, NodeId, NodeId)> = Vec::with_capacity(flat.len());
    for entry in flat {
        match out.last_mut() {
            Some(last) if last.0 == entry.0 => *last = entry,
            _ => out.push(entry),
        }
    }
    out
}

fn flatten(
    tree: &Tree,
    text: &str,
    map: NodeId,
    out: &mut Vec<(String, NodeId, NodeId)>,
    depth: usize,
) {
    if depth > 64 {
        return;
    }
    let Some(pairs) = tree.map_pairs(map) else {
        return;
    };
    for (k, v) in pairs {
        if is_merge_key(tree, text, k) {
            let v = tree.resolve(v);
            match &tree.node(v).kind {
                Kind::Map { .. } => flatten(tree, text, v, out, depth + 1),
                // yaml.v2 merges a sequence of maps from the last to the first.
                Kind::Seq { .. } => {
                    let items: Vec<NodeId> = tree.seq_items(v).unwrap_or_default().to_vec();
                    for item in items.into_iter().rev() {
                        flatten(tree, text, tree.resolve(item), out, depth + 1);
                    }
                }
                _ => {}
            }
            continue;
        }
        if let Ok(key) = key_string(tree, text, k) {
            out.push((key, v, k));
        }
    }
}

fn is_merge_key(tree: &Tree, text: &str, key: NodeId) -> bool {
    let node = tree.node(key);
    matches!(&node.kind, Kind::Scalar { style: ScalarStyle::Plain, text: t } if scalar_text(text, t) == "<<")
        && matches!(node.tag, None | Some(Tag::Merge | Tag::Other))
}

/// Finds the first reason the YAML -> JSON conversion of the whole document fails,
/// as sigs.k8s.io/yaml would (NaN or infinite numbers, null or collection keys, bad
/// merges, tags that do not fit, recursive or excessive aliases).
pub(crate) fn check(tree: &Tree, text: &str) -> Result<(), ConversionError> {
    // The fast path knows when nothing can fail.
    if tree.simple && !tree.may_fail {
        return Ok(());
    }
    let has_aliases = tree
        .nodes
        .iter()
        .any(|n| matches!(n.kind, Kind::Alias { .. }));
    // Only a few plain scalars can fail: special floats (`.nan`, `-.inf`...)
    // and null keys; tagged scalars can fail any way.
    let may_fail = |id: NodeId| -> bool {
        let n = tree.node(id);
        match &n.kind {
            Kind::Scalar {
                style: ScalarStyle::Plain,
                text: t,
            } if n.tag.is_none() => matches!(
                scalar_text(text, t).as_bytes().first(),
                None | Some(b'.' | b'+' | b'-' | b'~' | b'n' | b'N')
            ),
            Kind::Scalar { .. } => n.tag.is_some(),
            _ => true,
        }
    };
    // Every node of the first document is in the arena, so without aliases a
    // linear pass sees exactly what yaml.v2 would.
    for (i, node) in tree.nodes.iter().enumerate() {
        let id = NodeId(i as u32);
        let fail = |message: String| Err(ConversionError { node: id, message });
        match &node.kind {
            Kind::Scalar { .. } if !may_fail(id) => {}
            Kind::Scalar { text: t, .. } => match resolve_scalar(tree, text, id) {
                // A value a later duplicate key replaces never reaches the
                // JSON encoder.
                Ok(Resolved::Float(f)) if !f.is_finite() && reaches_json(tree, text, id) => {
                    return fail(format!(
                        "the value {:?} is read as a special float, which JSON cannot hold",
                        scalar_text(text, t)
                    ));
                }
                Err(e) => return fail(format!("the value {:?} {e}", scalar_text(text, t))),
                _ => {}
            },
            Kind::Map { .. } => {
                for (k, v) in tree.map_pairs(id).into_iter().flatten() {
                    if is_merge_key(tree, text, k) {
                        let target = tree.resolve(v);
                        let ok = match &tree.node(target).kind {
                            Kind::Map { .. } => true,
                            Kind::Seq { .. } => {
                                tree.seq_items(target).unwrap_or_default().iter().all(|&i| {
                                    matches!(tree.node(tree.resolve(i)).kind, Kind::Map { .. })
                                })
                            }
                            _ => false,
                        };
                        if !ok {
                            return Err(ConversionError {
                                node: k,
                                message: "a merge key (<<) needs a mapping or a list of mappings"
                                    .to_owned(),
                            });
                        }
                        continue;
                    }
                    if !may_fail(k) {
                        continue;
                    }
                    if let Err(message) = key_string(tree, text, k) {
                        // A collection key (`{{x}}`) is reported where its mapping starts.
                        let node = if matches!(tree.node(tree.resolve(k)).kind, Kind::Scalar { .. })
                        {
                            k
                        } else {
                            id
                        };
                        return Err(ConversionError { node, message });
                    }
                }
            }
            Kind::Seq { .. } | Kind::Alias { .. } => {}
        }
    }
    if has_aliases {
        check_aliases(tree)?;
    }
    Ok(())
}

/// True when `target` is part of the value yaml.v2 hands to the JSON encoder:
/// reachable from the root through list items and the mapping entries that
/// stand after merges and duplicate keys.
fn reaches_json(tree: &Tree, text: &str, target: NodeId) -> bool {
    fn walk(tree: &Tree, text: &str, id: NodeId, target: NodeId, depth: usize) -> bool {
        if depth > 64 {
            return false;
        }
        let id = tree.resolve(id);
        if id == target {
            return true;
        }
        match &tree.node(id).kind {
            Kind::Seq { .. } => tree
                .seq_items(id)
                .unwrap_or_default()
                .iter()
                .any(|&i| walk(tree, text, i, target, depth + 1)),
            Kind::Map { .. } => object_entries(tree, text, id)
                .iter()
                .any(|&(_, v, _)| walk(tree, text, v, target, depth + 1)),
            _ => false,
        }
    }
    tree.root
        .is_some_and(|root| walk(tree, text, root, target, 0))
}

/// The failures of yaml.v2 decoding a list of strings (`mapAccounts`): it never
/// looks inside the items it skips, so only the list and its scalars matter.
pub(crate) fn check_yaml(tree: &Tree, text: &str) -> Result<(), ConversionError> {
    if tree
        .nodes
        .iter()
        .any(|n| matches!(n.kind, Kind::Alias { .. }))
    {
        check_aliases(tree)?;
    }
    let Some(root) = tree.root else { return Ok(()) };
    let items = tree
        .seq_items(root)
        .map(<[NodeId]>::to_vec)
        .unwrap_or_else(|| vec![root]);
    for id in items {
        let id = tree.resolve(id);
        if let Kind::Scalar { text: t, .. } = &tree.node(id).kind
            && let Err(e) = resolve_scalar(tree, text, id)
        {
            return Err(ConversionError {
                node: id,
                message: format!("the value {:?} {e}", scalar_text(text, t)),
            });
        }
    }
    Ok(())
}

/// yaml.v2 refuses an anchor that contains an alias to itself and documents whose
/// aliases expand far beyond their size ("billion laughs").
fn check_aliases(tree: &Tree) -> Result<(), ConversionError> {
    for (i, node) in tree.nodes.iter().enumerate() {
        if let Kind::Alias { target } = node.kind {
            let t = tree.node(target);
            if t.start <= node.start && node.end <= t.end && !matches!(t.kind, Kind::Scalar { .. })
            {
                return Err(ConversionError {
                    node: NodeId(i as u32),
                    message: "an anchor's value contains an alias to itself".to_owned(),
                });
            }
        }
    }
    let Some(root) = tree.root else { return Ok(()) };
    let mut sizes: HashMap<NodeId, u64> = HashMap::new();
    let total = expanded_size(tree, root, &mut sizes);
    let plain = tree.nodes.len() as u64;
    let alias_driven = total.saturating_sub(plain);
    if alias_driven > 100
        && total > 1000
        && alias_driven as f64 / total as f64 > allowed_alias_ratio(total)
    {
        return Err(ConversionError {
            node: root,
            message: "the document contains excessive aliasing".to_owned(),
        });
    }
    Ok(())
}

fn allowed_alias_ratio(decodes: u64) -> f64 {
    const LOW: f64 = 400_000.0;
    const HIGH: f64 = 4_000_000.0;
    let d = decodes as f64;
    if d <= LOW {
        0.99
    } else if d >= HIGH {
        0.10
    } else {
        0.99 - 0.89 * ((d - LOW) / (HIGH - LOW))
    }
}

fn expanded_size(tree: &Tree, id: NodeId, memo: &mut HashMap<NodeId, u64>) -> u64 {
    if let Some(&s) = memo.get(&id) {
        return s;
    }
    // Recursion was ruled out above, so this terminates; saturate to stay bounded.
    let size = match &tree.node(id).kind {
        Kind::Scalar { .. } => 1,
        Kind::Alias { target } => expanded_size(tree, *target, memo),
        Kind::Seq { children, .. } | Kind::Map { children, .. } => {
            let kids = tree.kids(children).to_vec();
            kids.into_iter().fold(1u64, |acc, c| {
                acc.saturating_add(expanded_size(tree, c, memo))
            })
        }
    };
    memo.insert(id, size);
    size
}

/// The JSON value a node converts to, for showing fields the reader ignores.
pub(crate) fn to_json(tree: &Tree, text: &str, id: NodeId) -> serde_json::Value {
    to_json_depth(tree, text, id, 0)
}

fn to_json_depth(tree: &Tree, text: &str, id: NodeId, depth: usize) -> serde_json::Value {
    use serde_json::Value;
    if depth > 64 {
        return Value::Null;
    }
    let id = tree.resolve(id);
    match &tree.node(id).kind {
        Kind::Seq { children, .. } => Value::Array(
            tree.kids(children)
                .iter()
                .map(|&c| to_json_depth(tree, text, c, depth + 1))
                .collect(),
        ),
        Kind::Map { .. } => Value::Object(
            object_entries(tree, text, id)
                .into_iter()
                .map(|(k, v, _)| (k, to_json_depth(tree, text, v, depth + 1)))
                .collect(),
        ),
        Kind::Alias { .. } => Value::Null,
        Kind::Scalar { text: t, .. } => match resolve_scalar(tree, text, id) {
            Ok(Resolved::Str) => Value::String(scalar_text(text, t).to_owned()),
            Ok(Resolved::Bool(b)) => Value::Bool(b),
            Ok(Resolved::Int(i)) => i64::try_from(i)
                .map(Value::from)
                .or_else(|_| u64::try_from(i).map(Value::from))
                .unwrap_or(Value::Null),
            Ok(Resolved::Float(f)) => {
                serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
            }
            Ok(Resolved::Null) | Err(_) => Value::Null,
        },
    }
}

/// Go's `encoding/json` field-name matching: case-insensitive with Unicode simple
/// folding, which also folds `ſ` (U+017F) to `s` and the Kelvin sign (U+212A) to `k`.
pub(crate) fn go_fold_eq(key: &str, field: &str) -> bool {
    // The fields are ASCII; only `ſ` and the Kelvin sign fold into ASCII.
    if key.is_ascii() {
        return key.eq_ignore_ascii_case(field);
    }
    let mut k = key.chars();
    for f in field.chars() {
        let Some(c) = k.next() else { return false };
        let folded = match c {
            '\u{17F}' => 's',
            '\u{212A}' => 'k',
            c => c.to_ascii_lowercase(),
        };
        if folded != f.to_ascii_lowercase() {
            return false;
        }
    }
    k.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::full;

    #[test]
    fn go_folding_matches_special_characters() {
        assert!(go_fold_eq("RoleArn", "rolearn"));
        assert!(go_fold_eq("uſername", "username"));
        assert!(!go_fold_eq("role_arn", "rolearn"));
        assert!(!go_fold_eq("rolearns", "rolearn"));
    }

    #[test]
    fn keys_are_sorted_and_the_last_duplicate_wins() {
        let text = "b: 1\na: 2\nb: 3\nB: 4\n";
        let tree = full::parse(text).unwrap();
        let entries = object_entries(&tree, text, tree.root.unwrap());
        let keys: Vec<(&str, &str)> = entries
            .iter()
            .map(|(k, v, _)| (k.as_str(), tree.scalar(text, *v).unwrap().0))
            .collect();
        assert_eq!(keys, [("B", "4"), ("a", "2"), ("b", "3")]);
    }

    #[test]
    fn merges_apply_in_yaml_v2_order() {
        // (`y` would be YAML 1.1's `true`, hence `u`.)
        let text = "base: &b {x: 1, u: 2}\nm:\n  x: 0\n  <<: *b\n  u: 3\n";
        let tree = full::parse(text).unwrap();
        let m = tree
            .map_pairs(tree.root.unwrap())
            .unwrap()
            .nth(1)
            .unwrap()
            .1;
        let entries = object_entries(&tree, text, m);
        let got: Vec<(&str, &str)> = entries
            .iter()
            .map(|(k, v, _)| (k.as_str(), tree.scalar(text, *v).unwrap().0))
            .collect();
        assert_eq!(got, [("u", "3"), ("x", "1")]);
    }

    #[test]
    fn conversion_failures_are_found() {
        for (text, needle) in [
            ("- username: .nan\n", "special float"),
            ("- username: {{SessionName}}\n", "collection"),
            ("- ~: x\n", "null"),
            ("- <<: 1\n", "merge"),
            ("- !!int abc\n", "!!int"),
            ("- &a [*a]\n", "itself"),
        ] {
            let tree = full::parse(text).unwrap();
            let err = check(&tree, text).expect_err(text);
            assert!(err.message.contains(needle), "{text}: {}", err.message);
        }
        let text = "- a: [1, 2.5, yes, ~, x]\n";
        let tree = full::parse(text).unwrap();
        assert!(check(&tree, text).is_ok());
        assert_eq!(
            to_json(&tree, text, tree.root.unwrap()),
            serde_json::json!([{"a": [1, 2.5, true, null, "x"]}])
        );
    }

    #[test]
    fn billion_laughs_is_refused() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (i, name) in ["b", "c", "d", "e", "f", "g"].iter().enumerate() {
            let prev = ["a", "b", "c", "d", "e", "f"][i];
            text.push_str(&format!(
                "{name}: &{name} [{}]\n",
                vec![format!("*{prev}"); 10].join(", ")
            ));
        }
        let tree = full::parse(&text).unwrap();
        assert!(
            check(&tree, &text)
                .unwrap_err()
                .message
                .contains("excessive aliasing")
        );
    }
}
