//! A key's plan turned into splices of its data string.
//!
//! Block lists are edited line by line (an item's owned lines, one separator),
//! updates rewrite only the fields they change, flow lists are edited item by
//! item. What cannot be edited in place (a null value, an empty `[]`, an item the
//! layout cannot place) is rewritten whole, and the result says so.

use std::borrow::Cow;

use super::layout::{self, ItemLines, Lines, dash_of};
use super::plan::{Fate, KeyPlan, NewItem};
use super::splice::{self, Splice};
use super::style::{BlockStyle, FlowStyle, Quote, scalar};
use crate::document::Document;
use crate::model::DataKey;
use crate::yaml::Tree;
use crate::yaml::json::go_fold_eq;
use crate::yaml::tree::{Kind, NodeId, ScalarStyle};

/// A data string before and after an edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InnerEdit<'d> {
    /// The document's own value (not a copy: it can be long).
    pub(crate) before: &'d str,
    pub(crate) after: String,
    /// Splices of `before` that give `after`.
    pub(crate) splices: Vec<Splice>,
    /// Why the value was rewritten whole rather than edited in place.
    pub(crate) whole: Option<String>,
}

impl<'d> InnerEdit<'d> {
    fn from_splices(before: &'d str, splices: Vec<Splice>) -> Option<InnerEdit<'d>> {
        Some(InnerEdit {
            after: splice::apply(before, &splices)?,
            before,
            splices,
            whole: None,
        })
    }

    fn whole(before: &'d str, after: String, reason: &str) -> InnerEdit<'d> {
        InnerEdit {
            splices: vec![Splice::new(0, before.len(), after.clone())],
            before,
            after,
            whole: Some(reason.to_owned()),
        }
    }
}

/// The style to copy when a list has no entry of its own to copy from: the
/// other keys' entries, else AWS's documentation style.
fn sibling_style(doc: &Document, key: DataKey) -> BlockStyle {
    for other in [DataKey::MapRoles, DataKey::MapUsers, DataKey::MapAccounts] {
        if other == key || (key == DataKey::MapAccounts) != (other == DataKey::MapAccounts) {
            continue;
        }
        let Some(text) = doc.data_string(other) else {
            continue;
        };
        let Some(tree) = &doc.parsed(other).tree else {
            continue;
        };
        let Some(items) = tree.root.and_then(|r| tree.seq_items(r)) else {
            continue;
        };
        if tree.root.is_some_and(|r| tree.is_flow(r)) {
            continue;
        }
        let lines = Lines::new(text);
        if let Some(style) = BlockStyle::infer(text, tree, items, &lines) {
            return style;
        }
    }
    BlockStyle::default_at(0)
}

/// Edits one key.
pub(crate) fn render<'d>(doc: &'d Document, key: DataKey, plan: &KeyPlan) -> Option<InnerEdit<'d>> {
    let text = doc.data_string(key).unwrap_or_default();
    // An invisible byte order mark, or a lone CR, shifts lines and columns
    // differently for YAML than for this layout.
    if text.contains('\u{FEFF}') || crate::yaml::lone_cr(text).is_some() {
        return None;
    }
    let parsed = doc.parsed(key);
    let item_of: Vec<usize> = match key {
        DataKey::MapRoles => doc.view().roles.entries.iter().map(|e| e.index).collect(),
        DataKey::MapUsers => doc.view().users.entries.iter().map(|e| e.index).collect(),
        DataKey::MapAccounts => doc
            .view()
            .accounts
            .entries
            .iter()
            .map(|e| e.index)
            .collect(),
    };
    let root = parsed.tree.as_ref().and_then(|t| t.root.map(|r| (t, r)));
    let Some((tree, root)) = root else {
        // Blank, or only comments: the new entries go after whatever is there.
        return append_fresh(doc, key, text, &plan.new);
    };
    let items = match tree.seq_items(root) {
        Some(items) => items,
        None => {
            let rendered = fresh_items(&sibling_style(doc, key), key, &plan.new);
            return Some(InnerEdit::whole(text, rendered, "it held no list"));
        }
    };
    if tree.is_flow(tree.resolve(root)) {
        if items.is_empty() {
            let rendered = fresh_items(&sibling_style(doc, key), key, &plan.new);
            let end = tree.node(tree.resolve(root)).end as usize;
            let more = text
                .get(end..)
                .is_some_and(|rest| rest.lines().any(|l| !l.trim().is_empty()));
            let reason = if more {
                "the authenticator reads only its empty list ([]): what follows is a second YAML document it ignores"
            } else {
                "it held an empty flow list ([])"
            };
            return Some(InnerEdit::whole(text, rendered, reason));
        }
        return flow(text, tree, items, key, plan, &item_of)
            .and_then(|s| InnerEdit::from_splices(text, s));
    }
    block(doc, text, tree, items, key, plan, &item_of)
        .and_then(|s| InnerEdit::from_splices(text, s))
}

fn fresh_items(style: &BlockStyle, key: DataKey, new: &[NewItem]) -> String {
    let mut style = style.clone();
    style.key_col -= style.dash_col.min(style.key_col);
    style.dash_col = 0;
    let mut out = String::new();
    for (i, item) in new.iter().enumerate() {
        let r = style.render(key, item);
        out.push_str(if i == 0 {
            r.trim_start_matches('\n')
        } else {
            &r
        });
    }
    out
}

fn append_fresh<'d>(
    doc: &Document,
    key: DataKey,
    text: &'d str,
    new: &[NewItem],
) -> Option<InnerEdit<'d>> {
    let style = sibling_style(doc, key);
    let items = fresh_items(&style, key, new);
    // Blank, or one of the values the authenticator skips as empty (`""`).
    if crate::read::is_skippable(text) {
        return Some(InnerEdit::whole(text, items, "it was empty"));
    }
    // Comments already there head the value, not the new entry: a blank line
    // sets them apart (removing every entry takes it away again).
    let sep = if text.ends_with('\n') { "\n" } else { "\n\n" };
    let at = text.len();
    let body = format!("{sep}{items}");
    let body = if text.ends_with('\n') {
        body
    } else {
        body.trim_end_matches('\n').to_owned()
    };
    InnerEdit::from_splices(text, vec![Splice::new(at, at, body)])
}

/// The text with a final line feed, and whether one was added.
fn normalized(text: &str) -> (Cow<'_, str>, bool) {
    if text.is_empty() || text.ends_with('\n') {
        (Cow::Borrowed(text), false)
    } else {
        (Cow::Owned(format!("{text}\n")), true)
    }
}

fn block(
    doc: &Document,
    text: &str,
    tree: &Tree,
    items: &[NodeId],
    key: DataKey,
    plan: &KeyPlan,
    item_of: &[usize],
) -> Option<Vec<Splice>> {
    let (norm, added) = normalized(text);
    let lines = Lines::new(&norm);
    let mut layout = layout::Layouts::new(&lines, tree, items);
    let style =
        BlockStyle::infer(&norm, tree, items, &lines).unwrap_or_else(|| sibling_style(doc, key));
    let mut splices = Vec::new();
    let mut removed = vec![false; items.len()];
    for (&entry, fate) in &plan.fates {
        let item = *item_of.get(entry)?;
        match fate {
            Fate::Keep => {}
            Fate::Remove => removed[item] = true,
            Fate::Update { username, groups } => {
                splices.extend(update_item(
                    &norm,
                    &lines,
                    tree,
                    items[item],
                    &layout.get(item)?,
                    &style,
                    key,
                    username.as_deref(),
                    groups.as_deref(),
                )?);
            }
        }
    }
    for (a, b) in removed_runs(&removed) {
        let (start_line, end_line) = if a > 0 {
            (
                layout::blanks_above(
                    &lines,
                    layout.get(a)?.lead_line,
                    layout.get(a - 1)?.own_end_line + 1,
                ),
                layout.get(b)?.own_end_line + 1,
            )
        } else if b + 1 < items.len() {
            (
                layout.get(a)?.lead_line,
                layout::blanks_below(&lines, layout.get(b)?.own_end_line)
                    .min(layout.get(b + 1)?.lead_line),
            )
        } else {
            // Every item goes: so does the one blank line that set them apart
            // from a header comment (the line an add into a list-less value writes).
            let lead = layout.get(a)?.lead_line;
            let start = if lead > 1 && lines.is_blank(lead - 1) {
                lead - 1
            } else {
                lead
            };
            (start, layout.get(b)?.own_end_line + 1)
        };
        splices.push(Splice::new(
            lines.start(start_line),
            lines.start(end_line),
            "",
        ));
    }
    if !plan.new.is_empty() {
        let insert_line = match items.len() {
            0 => lines.count(),
            n => layout.get(n - 1)?.own_end_line + 1,
        };
        let all_removed = removed.iter().all(|&r| r);
        let mut s = String::new();
        for (n, item) in plan.new.iter().enumerate() {
            let r = style.render(key, item);
            s.push_str(if n == 0 && all_removed {
                r.trim_start_matches('\n')
            } else {
                &r
            });
        }
        let at = lines.start(insert_line);
        splices.push(Splice::new(at, at, s));
    }
    let splices = splice::sorted(splices)?;
    Some(if added {
        splice::denormalize(text.len(), splices)
    } else {
        splices
    })
}

/// The offset just after the `:` that follows a key.
fn colon_after(text: &str, key_end: usize) -> Option<usize> {
    let rest = &text[key_end..];
    let skip = rest.len() - rest.trim_start_matches(' ').len();
    (rest.as_bytes().get(skip) == Some(&b':')).then_some(key_end + skip + 1)
}

fn pairs_named(text: &str, tree: &Tree, map: NodeId, field: &str) -> Vec<(NodeId, NodeId)> {
    tree.map_pairs(map)
        .into_iter()
        .flatten()
        .filter(|(k, _)| {
            tree.scalar(text, *k)
                .is_some_and(|(s, _)| go_fold_eq(s, field))
        })
        .collect()
}

/// A scalar value's own bytes when it sits on its key's line; `None` for empty,
/// block or collection values.
fn inline_token(text: &str, tree: &Tree, v: NodeId) -> Option<(usize, usize, Quote)> {
    let node = tree.node(v);
    match &node.kind {
        Kind::Scalar { style, .. }
            if node.start < node.end
                && !matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) =>
        {
            let s = &text[node.start as usize..node.end as usize];
            (!s.contains('\n')).then_some((
                node.start as usize,
                node.end as usize,
                Quote::of(*style),
            ))
        }
        _ => None,
    }
}

#[allow(clippy::too_many_arguments)]
fn update_item(
    text: &str,
    lines: &Lines<'_>,
    tree: &Tree,
    item: NodeId,
    layout: &ItemLines,
    style: &BlockStyle,
    key: DataKey,
    username: Option<&str>,
    groups: Option<&[String]>,
) -> Option<Vec<Splice>> {
    let map = tree.resolve(item);
    if tree.is_flow(map) {
        return update_flow_item(text, tree, map, username, groups);
    }
    if !matches!(tree.node(map).kind, Kind::Map { .. }) {
        return None;
    }
    let mut splices = Vec::new();
    let first_key_col = lines.column(tree.node(map).start as usize);
    let key_text = |name: &str| match style.key_quote {
        Quote::Plain => name.to_owned(),
        Quote::Double => format!("\"{name}\""),
        Quote::Single => format!("'{name}'"),
    };
    if let Some(user) = username {
        let matches = pairs_named(text, tree, map, "username");
        for &(k, v) in &matches {
            splices.push(replace_value(text, tree, k, v, |quote| {
                scalar(user, quote, false)
            })?);
        }
        if matches.is_empty() {
            let arn_field = if key == DataKey::MapRoles {
                "rolearn"
            } else {
                "userarn"
            };
            let after = pairs_named(text, tree, map, arn_field)
                .last()
                .map(|&(k, v)| {
                    let end = tree.node(v).end.max(tree.node(k).end) as usize;
                    lines.line_of(end.saturating_sub(1))
                });
            let line = after.unwrap_or(layout.last_line) + 1;
            let at = lines.start(line);
            let quote = if style.username_quote == Quote::Plain {
                Quote::Plain
            } else {
                style.username_quote
            };
            splices.push(Splice::new(
                at,
                at,
                format!(
                    "{}{}: {}\n",
                    " ".repeat(first_key_col),
                    key_text("username"),
                    scalar(user, quote, false)
                ),
            ));
        }
    }
    if let Some(new) = groups {
        let matches = pairs_named(text, tree, map, "groups");
        for &(k, v) in &matches {
            splices.extend(rewrite_groups(text, lines, tree, k, v, style, new)?);
        }
        if matches.is_empty() && !new.is_empty() {
            let at = lines.start(layout.last_line + 1);
            let pad = " ".repeat(first_key_col);
            let body = if style.groups_flow {
                format!("{pad}{}: {}\n", key_text("groups"), style.flow_groups(new))
            } else {
                format!(
                    "{pad}{}:\n{}",
                    key_text("groups"),
                    style.group_lines(new, first_key_col + style.groups_indent)
                )
            };
            splices.push(Splice::new(at, at, body));
        }
    }
    Some(splices)
}

/// Replaces a field's value, keeping the old value's quoting when it can.
fn replace_value(
    text: &str,
    tree: &Tree,
    k: NodeId,
    v: NodeId,
    render: impl Fn(Quote) -> String,
) -> Option<Splice> {
    if let Some((start, end, quote)) = inline_token(text, tree, v) {
        return Some(Splice::new(start, end, render(quote)));
    }
    let colon = colon_after(text, tree.node(k).end as usize)?;
    let end = (tree.node(v).end as usize).max(colon);
    Some(Splice::new(
        colon,
        end,
        format!(" {}", render(Quote::Plain)),
    ))
}

fn rewrite_groups(
    text: &str,
    lines: &Lines<'_>,
    tree: &Tree,
    k: NodeId,
    v: NodeId,
    style: &BlockStyle,
    new: &[String],
) -> Option<Vec<Splice>> {
    let v = tree.resolve(v);
    let colon = colon_after(text, tree.node(k).end as usize)?;
    let node = tree.node(v);
    let old: Vec<NodeId> = tree
        .seq_items(v)
        .map(<[NodeId]>::to_vec)
        .unwrap_or_default();
    let local_quote = old
        .first()
        .and_then(|&g| tree.scalar(text, g).map(|(_, s)| Quote::of(s)))
        .unwrap_or(style.group_quote);
    let mut local = style.clone();
    local.group_quote = local_quote;
    if new.is_empty() {
        return Some(vec![Splice::new(
            colon,
            (node.end as usize).max(colon),
            " []",
        )]);
    }
    match &node.kind {
        Kind::Seq { flow: false, .. } if !old.is_empty() => {
            let values: Vec<Option<&str>> = old
                .iter()
                .map(|&g| match &tree.node(tree.resolve(g)).kind {
                    Kind::Scalar { .. } => tree.scalar(text, g).map(|(s, _)| s),
                    _ => None,
                })
                .collect();
            let ranges: Vec<(usize, usize)> = old
                .iter()
                .map(|&g| {
                    let dash = dash_of(text, tree, g)?;
                    let end = (tree.node(g).end as usize).max(dash + 1);
                    Some((lines.line_of(dash), lines.line_of(end - 1)))
                })
                .collect::<Option<_>>()?;
            let col = lines.column(dash_of(text, tree, old[0])?);
            let kept: Vec<&str> = values
                .iter()
                .flatten()
                .copied()
                .filter(|v| new.iter().any(|n| n == v))
                .collect();
            let in_order =
                kept.len() <= new.len() && new[..kept.len()].iter().zip(&kept).all(|(a, b)| a == b);
            let distinct = {
                let mut seen: Vec<&str> = Vec::new();
                values.iter().flatten().all(|v| {
                    let fresh = !seen.contains(v);
                    seen.push(v);
                    fresh
                })
            };
            if in_order && distinct {
                let mut splices = Vec::new();
                for (i, value) in values.iter().enumerate() {
                    if !value.is_some_and(|v| new.iter().any(|n| n == v)) {
                        splices.push(Splice::new(
                            lines.start(ranges[i].0),
                            lines.start(ranges[i].1 + 1),
                            "",
                        ));
                    }
                }
                let additions = &new[kept.len()..];
                if !additions.is_empty() {
                    let at = lines.start(ranges.last()?.1 + 1);
                    splices.push(Splice::new(at, at, local.group_lines(additions, col)));
                }
                Some(splices)
            } else {
                let start = lines.start(ranges.first()?.0);
                let end = lines.start(ranges.last()?.1 + 1);
                Some(vec![Splice::new(start, end, local.group_lines(new, col))])
            }
        }
        Kind::Seq { flow: true, .. } => Some(vec![Splice::new(
            node.start as usize,
            node.end as usize,
            local.flow_groups(new),
        )]),
        Kind::Scalar { .. } if node.start == node.end => {
            // `groups:` with nothing: items go on the next lines.
            let key_line = lines.line_of(tree.node(k).start as usize);
            let key_col = lines.column(tree.node(k).start as usize);
            let at = lines.start(key_line + 1);
            Some(vec![Splice::new(
                at,
                at,
                local.group_lines(new, key_col + style.groups_indent),
            )])
        }
        _ => Some(vec![Splice::new(
            colon,
            (node.end as usize).max(colon),
            format!(" {}", local.flow_groups(new)),
        )]),
    }
}

fn update_flow_item(
    text: &str,
    tree: &Tree,
    map: NodeId,
    username: Option<&str>,
    groups: Option<&[String]>,
) -> Option<Vec<Splice>> {
    let style = FlowStyle::infer(text, tree, &[map]);
    // A single pair written without braces (`[a: b]`) has no `}` to add
    // fields before: that layout is not edited.
    let node = tree.node(map);
    let braced = text.as_bytes().get(node.start as usize) == Some(&b'{')
        && text.as_bytes().get((node.end as usize).checked_sub(1)?) == Some(&b'}');
    if !braced {
        return None;
    }
    let close = node.end as usize - 1;
    let mut splices = Vec::new();
    if let Some(user) = username {
        let matches = pairs_named(text, tree, map, "username");
        for &(k, v) in &matches {
            splices.push(replace_value(text, tree, k, v, |q| {
                scalar(
                    user,
                    if q == Quote::Plain {
                        style.value_quote
                    } else {
                        q
                    },
                    true,
                )
            })?);
        }
        if matches.is_empty() {
            let (at, sep) = new_field_at(text, close, &style.field_separator);
            splices.push(Splice::new(
                at,
                at,
                format!("{sep}{}{}", style.key("username"), style.scalar(user)),
            ));
        }
    }
    if let Some(new) = groups {
        let matches = pairs_named(text, tree, map, "groups");
        for &(k, v) in &matches {
            let v = tree.resolve(v);
            let node = tree.node(v);
            if node.start < node.end {
                splices.push(Splice::new(
                    node.start as usize,
                    node.end as usize,
                    style.groups(new),
                ));
            } else {
                let colon = colon_after(text, tree.node(k).end as usize)?;
                splices.push(Splice::new(colon, colon, format!(" {}", style.groups(new))));
            }
        }
        if matches.is_empty() && !new.is_empty() {
            let (at, sep) = new_field_at(text, close, &style.field_separator);
            splices.push(Splice::new(
                at,
                at,
                format!("{sep}{}{}", style.key("groups"), style.groups(new)),
            ));
        }
    }
    Some(splices)
}

/// Where a new field goes in a flow mapping closed at `close`, and what
/// comes before it: after the last field with `separator`, after a trailing
/// comma with a space, or right after an empty mapping's `{`.
fn new_field_at(text: &str, close: usize, separator: &str) -> (usize, String) {
    let before = text[..close].trim_end();
    match before.as_bytes().last() {
        Some(b',') => (before.len(), " ".to_owned()),
        Some(b'{') => (before.len(), String::new()),
        _ => (close, separator.to_owned()),
    }
}

fn flow(
    text: &str,
    tree: &Tree,
    items: &[NodeId],
    key: DataKey,
    plan: &KeyPlan,
    item_of: &[usize],
) -> Option<Vec<Splice>> {
    let style = FlowStyle::infer(text, tree, items);
    let span = |i: usize| {
        (
            tree.node(items[i]).start as usize,
            tree.node(items[i]).end as usize,
        )
    };
    let mut splices = Vec::new();
    let mut removed = vec![false; items.len()];
    for (&entry, fate) in &plan.fates {
        let item = *item_of.get(entry)?;
        match fate {
            Fate::Keep => {}
            Fate::Remove => removed[item] = true,
            Fate::Update { username, groups } => {
                splices.extend(update_flow_item(
                    text,
                    tree,
                    tree.resolve(items[item]),
                    username.as_deref(),
                    groups.as_deref(),
                )?);
            }
        }
    }
    for (a, b) in removed_runs(&removed) {
        let range = if a > 0 {
            (span(a - 1).1, span(b).1)
        } else if b + 1 < items.len() {
            (span(a).0, span(b + 1).0)
        } else {
            (span(a).0, span(b).1)
        };
        splices.push(Splice::new(range.0, range.1, ""));
    }
    if !plan.new.is_empty() {
        let root = tree.root?;
        let close = tree.node(root).end as usize - 1;
        let mut kept = removed.iter().any(|r| !r);
        let separator = style.separator.clone();
        let mut s = String::new();
        for item in &plan.new {
            if kept {
                s.push_str(&separator);
            }
            s.push_str(&style.render(key, item));
            kept = true;
        }
        // Right after the last item, before any white space ahead of `]`.
        let at = span(items.len() - 1).1.min(close);
        splices.push(Splice::new(at, at, s));
    }
    splice::sorted(splices)
}

/// The runs of consecutive removed items, as first and last index: each run
/// goes as one splice, so the lines between its items go too.
fn removed_runs(removed: &[bool]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < removed.len() {
        if !removed[i] {
            i += 1;
            continue;
        }
        let a = i;
        while i < removed.len() && removed[i] {
            i += 1;
        }
        runs.push((a, i - 1));
    }
    runs
}
