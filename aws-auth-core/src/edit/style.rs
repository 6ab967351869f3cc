//! How the entries of a list are written, and new entries written the same way.

use crate::model::DataKey;
use crate::yaml::Tree;
use crate::yaml::json::go_fold_eq;
use crate::yaml::resolve::{Resolved, resolve_plain};
use crate::yaml::tree::{Kind, NodeId, ScalarStyle};

use super::layout::{Lines, dash_of};
use super::plan::NewItem;

/// How a scalar is quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quote {
    Plain,
    Double,
    Single,
}

impl Quote {
    pub(crate) fn of(style: ScalarStyle) -> Quote {
        match style {
            ScalarStyle::DoubleQuoted => Quote::Double,
            ScalarStyle::SingleQuoted => Quote::Single,
            _ => Quote::Plain,
        }
    }
}

/// True when `v` can be written unquoted and every YAML reader (yaml.v2's YAML
/// 1.1 as well as YAML 1.2 tools) reads it back as this exact string.
pub(crate) fn plain_ok(v: &str, flow: bool) -> bool {
    let Some(first) = v.chars().next() else {
        return false;
    };
    if !(first.is_ascii_alphanumeric() || "_/.(".contains(first)) || v.trim() != v {
        return false;
    }
    if v.contains(": ") || v.contains(" #") || v.ends_with(':') {
        return false;
    }
    if v.chars()
        .any(|c| c.is_control() || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{FEFF}'))
    {
        return false;
    }
    if flow && v.contains(['[', ']', '{', '}', ',']) {
        return false;
    }
    resolve_plain(v) == Resolved::Str && !yaml12_special(v)
}

/// YAML 1.2 core-schema values that YAML 1.1 reads as strings.
fn yaml12_special(v: &str) -> bool {
    v.starts_with("0o") || v.starts_with(".")
}

/// A scalar as YAML text.
pub(crate) fn scalar(v: &str, quote: Quote, flow: bool) -> String {
    match quote {
        Quote::Plain if plain_ok(v, flow) => v.to_owned(),
        Quote::Single => match crate::yaml::quoted::escape_single(v) {
            Some(s) => format!("'{s}'"),
            None => crate::yaml::quoted::render_double(v),
        },
        _ => crate::yaml::quoted::render_double(v),
    }
}

/// The fields of a new entry, in the order they are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Arn,
    Username,
    Groups,
}

/// How the items of a block list are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BlockStyle {
    pub(crate) dash_col: usize,
    /// Spaces between `-` and the first key.
    pub(crate) after_dash: usize,
    /// `-` alone on its line, keys below it.
    pub(crate) bare_dash: bool,
    /// Column of the keys of an item.
    pub(crate) key_col: usize,
    pub(crate) key_quote: Quote,
    pub(crate) order: Vec<Field>,
    pub(crate) arn_quote: Quote,
    pub(crate) username_quote: Quote,
    pub(crate) group_quote: Quote,
    pub(crate) groups_flow: bool,
    /// Columns from the `groups` key to its items' `-`.
    pub(crate) groups_indent: usize,
    /// Blank lines between items.
    pub(crate) blank_lines: usize,
}

impl BlockStyle {
    /// The style of AWS's documentation, used for lists with nothing to copy.
    pub(crate) fn default_at(dash_col: usize) -> BlockStyle {
        BlockStyle {
            dash_col,
            after_dash: 1,
            bare_dash: false,
            key_col: dash_col + 2,
            key_quote: Quote::Plain,
            order: vec![Field::Arn, Field::Username, Field::Groups],
            arn_quote: Quote::Plain,
            username_quote: Quote::Plain,
            group_quote: Quote::Plain,
            groups_flow: false,
            groups_indent: 2,
            blank_lines: 0,
        }
    }

    /// Learns the style of a block list from its last items.
    pub(crate) fn infer(
        text: &str,
        tree: &Tree,
        items: &[NodeId],
        lines: &Lines<'_>,
    ) -> Option<BlockStyle> {
        let &last = items.last()?;
        let dash = dash_of(text, tree, last)?;
        let dash_col = lines.column(dash);
        let mut style = BlockStyle::default_at(dash_col);
        // Separators: the gap above the last item.
        if items.len() > 1 {
            let dash_line = lines.line_of(dash);
            let mut l = dash_line;
            while l > 0
                && (lines.is_blank(l - 1)
                    || (lines.is_comment(l - 1) && lines.indent(l - 1) <= dash_col))
            {
                l -= 1;
            }
            style.blank_lines = (l..dash_line).filter(|&x| lines.is_blank(x)).count().min(2);
        }
        // Copy from the last item that is a block mapping.
        let model = items.iter().rev().copied().find(|&i| {
            matches!(
                tree.node(tree.resolve(i)).kind,
                Kind::Map { flow: false, .. }
            )
        });
        let Some(model) = model else {
            if let Some((_, s)) = tree.scalar(text, last) {
                let _ = s;
                style.arn_quote = Quote::of(scalar_style(tree, last));
            }
            // The spacing after the dash of a scalar on the dash's line; one
            // below it (`-` alone) says nothing of a mapping's layout.
            let first = tree.node(last).start as usize;
            if lines.line_of(first) == lines.line_of(dash) {
                style.after_dash = first.saturating_sub(dash + 1).max(1);
                style.key_col = dash_col + 1 + style.after_dash;
            }
            return Some(style);
        };
        let model_dash = dash_of(text, tree, model)?;
        let first_key = tree.node(model).start as usize;
        style.bare_dash = lines.line_of(first_key) != lines.line_of(model_dash);
        style.key_col = lines.column(first_key);
        style.dash_col = lines.column(model_dash);
        if !style.bare_dash {
            style.after_dash = first_key - model_dash - 1;
        }
        let mut order = Vec::new();
        for (k, v) in tree.map_pairs(model).into_iter().flatten() {
            let Some((name, kstyle)) = tree.scalar(text, k) else {
                continue;
            };
            let field = if go_fold_eq(name, "rolearn") || go_fold_eq(name, "userarn") {
                Field::Arn
            } else if go_fold_eq(name, "username") {
                Field::Username
            } else if go_fold_eq(name, "groups") {
                Field::Groups
            } else {
                continue;
            };
            if order.is_empty() {
                style.key_quote = Quote::of(kstyle);
            }
            if !order.contains(&field) {
                order.push(field);
            }
            match field {
                Field::Arn => style.arn_quote = Quote::of(scalar_style(tree, v)),
                Field::Username => style.username_quote = Quote::of(scalar_style(tree, v)),
                Field::Groups => {
                    let v = tree.resolve(v);
                    style.groups_flow = tree.is_flow(v);
                    if let Some(&g) = tree.seq_items(v).and_then(|g| g.first()) {
                        style.group_quote = Quote::of(scalar_style(tree, g));
                        if !style.groups_flow
                            && let Some(gd) = dash_of(text, tree, g)
                        {
                            style.groups_indent = lines
                                .column(gd)
                                .saturating_sub(lines.column(tree.node(k).start as usize));
                        }
                    }
                }
            }
        }
        for f in [Field::Arn, Field::Username, Field::Groups] {
            if !order.contains(&f) {
                order.push(f);
            }
        }
        style.order = order;
        // A list written all in one quoting style gets quoted values throughout.
        if style.key_quote != Quote::Plain {
            for q in [
                &mut style.arn_quote,
                &mut style.username_quote,
                &mut style.group_quote,
            ] {
                if *q == Quote::Plain {
                    *q = style.key_quote;
                }
            }
        }
        Some(style)
    }

    fn key(&self, name: &str) -> String {
        match self.key_quote {
            Quote::Plain => name.to_owned(),
            Quote::Double => format!("\"{name}\""),
            Quote::Single => format!("'{name}'"),
        }
    }

    /// The lines of a new entry, each ending with a line feed, preceded by the
    /// blank separator lines.
    pub(crate) fn render(&self, key: DataKey, item: &NewItem) -> String {
        let mut s = "\n".repeat(self.blank_lines);
        let dash_pad = " ".repeat(self.dash_col);
        let key_pad = " ".repeat(self.key_col);
        if key == DataKey::MapAccounts {
            let quote = if self.arn_quote == Quote::Plain {
                Quote::Double
            } else {
                self.arn_quote
            };
            s.push_str(&format!(
                "{dash_pad}-{}{}\n",
                " ".repeat(self.after_dash),
                scalar(&item.arn, quote, false)
            ));
            return s;
        }
        let arn_key = if key == DataKey::MapRoles {
            "rolearn"
        } else {
            "userarn"
        };
        let mut first = true;
        let mut line = |s: &mut String, body: String| {
            if first {
                first = false;
                if self.bare_dash {
                    s.push_str(&format!("{dash_pad}-\n{key_pad}{body}\n"));
                } else {
                    s.push_str(&format!(
                        "{dash_pad}-{}{body}\n",
                        " ".repeat(self.after_dash)
                    ));
                }
            } else {
                s.push_str(&format!("{key_pad}{body}\n"));
            }
        };
        for field in &self.order {
            match field {
                Field::Arn => line(
                    &mut s,
                    format!(
                        "{}: {}",
                        self.key(arn_key),
                        scalar(&item.arn, self.arn_quote, false)
                    ),
                ),
                Field::Username => line(
                    &mut s,
                    format!(
                        "{}: {}",
                        self.key("username"),
                        scalar(&item.username, self.username_quote, false)
                    ),
                ),
                Field::Groups if item.groups.is_empty() => {}
                Field::Groups if self.groups_flow => {
                    line(
                        &mut s,
                        format!("{}: {}", self.key("groups"), self.flow_groups(&item.groups)),
                    );
                }
                Field::Groups => {
                    line(&mut s, format!("{}:", self.key("groups")));
                    let pad = " ".repeat(self.key_col + self.groups_indent);
                    for g in &item.groups {
                        s.push_str(&format!("{pad}- {}\n", scalar(g, self.group_quote, false)));
                    }
                }
            }
        }
        for (name, value) in &item.extra {
            line(
                &mut s,
                format!(
                    "{}: {}",
                    scalar(name, Quote::Plain, false),
                    scalar(value, self.username_quote, false)
                ),
            );
        }
        s
    }

    /// Group items as block lines at `col` (for rewriting a groups field).
    pub(crate) fn group_lines(&self, groups: &[String], col: usize) -> String {
        let pad = " ".repeat(col);
        groups
            .iter()
            .map(|g| format!("{pad}- {}\n", scalar(g, self.group_quote, false)))
            .collect()
    }

    pub(crate) fn flow_groups(&self, groups: &[String]) -> String {
        let items: Vec<String> = groups
            .iter()
            .map(|g| scalar(g, self.group_quote, true))
            .collect();
        format!("[{}]", items.join(", "))
    }
}

fn scalar_style(tree: &Tree, id: NodeId) -> ScalarStyle {
    match &tree.node(tree.resolve(id)).kind {
        Kind::Scalar { style, .. } => *style,
        _ => ScalarStyle::Plain,
    }
}

/// How the items of a flow (JSON-like) list are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FlowStyle {
    pub(crate) key_quote: Quote,
    pub(crate) value_quote: Quote,
    /// `": "` rather than `":"`.
    pub(crate) colon_space: bool,
    /// What separates entries (`, `, `,`, `,\n  `).
    pub(crate) separator: String,
    /// What separates fields inside an entry.
    pub(crate) field_separator: String,
}

impl FlowStyle {
    pub(crate) fn infer(text: &str, tree: &Tree, items: &[NodeId]) -> FlowStyle {
        let mut style = FlowStyle {
            key_quote: Quote::Double,
            value_quote: Quote::Double,
            colon_space: false,
            separator: ",".to_owned(),
            field_separator: ",".to_owned(),
        };
        let learned_separator = items.len() >= 2;
        if learned_separator {
            let a = tree.node(items[0]).end as usize;
            let b = tree.node(items[1]).start as usize;
            style.separator = text[a..b].to_owned();
        }
        if let Some(&first) = items.first() {
            let pairs: Vec<(NodeId, NodeId)> =
                tree.map_pairs(first).into_iter().flatten().collect();
            if let Some(&(k, v)) = pairs.first() {
                style.key_quote = Quote::of(scalar_style(tree, k));
                style.value_quote = Quote::of(scalar_style(tree, v));
                let between = &text[tree.node(k).end as usize..tree.node(v).start as usize];
                // Only a quoted key may be followed by `:` without a space.
                style.colon_space = between.ends_with(' ') || style.key_quote == Quote::Plain;
            }
            if pairs.len() >= 2 {
                let a = tree.node(pairs[0].1).end as usize;
                let b = tree.node(pairs[1].0).start as usize;
                style.field_separator = text[a..b].to_owned();
            }
        }
        // With one entry to learn from, entries are spaced like its fields.
        if !learned_separator && !style.field_separator.contains('\n') {
            style.separator = style.field_separator.clone();
        }
        style
    }

    pub(crate) fn scalar(&self, v: &str) -> String {
        scalar(v, self.value_quote, true)
    }

    pub(crate) fn key(&self, name: &str) -> String {
        let colon = if self.colon_space { ": " } else { ":" };
        match self.key_quote {
            Quote::Plain => format!("{name}{colon}"),
            Quote::Double => format!("\"{name}\"{colon}"),
            Quote::Single => format!("'{name}'{colon}"),
        }
    }

    pub(crate) fn groups(&self, groups: &[String]) -> String {
        let items: Vec<String> = groups.iter().map(|g| self.scalar(g)).collect();
        format!("[{}]", items.join(&self.field_separator))
    }

    /// A new entry as a flow item.
    pub(crate) fn render(&self, key: DataKey, item: &NewItem) -> String {
        if key == DataKey::MapAccounts {
            return self.scalar(&item.arn);
        }
        let arn_key = if key == DataKey::MapRoles {
            "rolearn"
        } else {
            "userarn"
        };
        let mut fields = vec![
            format!("{}{}", self.key(arn_key), self.scalar(&item.arn)),
            format!("{}{}", self.key("username"), self.scalar(&item.username)),
        ];
        if !item.groups.is_empty() {
            fields.push(format!(
                "{}{}",
                self.key("groups"),
                self.groups(&item.groups)
            ));
        }
        for (name, value) in &item.extra {
            fields.push(format!("{}{}", self.key(name), self.scalar(value)));
        }
        format!("{{{}}}", fields.join(&self.field_separator))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::full;

    fn item() -> NewItem {
        NewItem {
            extra: Vec::new(),
            arn: "arn:aws:iam::111122223333:role/Dev".to_owned(),
            username: "dev:{{SessionName}}".to_owned(),
            groups: vec!["devs".to_owned(), "yes".to_owned()],
        }
    }

    fn infer(text: &str) -> BlockStyle {
        let tree = full::parse(text).unwrap();
        let lines = Lines::new(text);
        BlockStyle::infer(
            text,
            &tree,
            tree.seq_items(tree.root.unwrap()).unwrap(),
            &lines,
        )
        .unwrap()
    }

    #[test]
    fn plain_only_when_it_reads_back_the_same() {
        for v in [
            "arn:aws:iam::111122223333:role/A",
            "system:node:{{EC2PrivateDNSName}}",
            "dev-team",
            "a b",
        ] {
            assert!(plain_ok(v, false), "{v}");
        }
        for v in [
            "{{SessionName}}",
            "yes",
            "No",
            "123",
            "0777",
            "",
            " x",
            "a: b",
            "a #b",
            "-x",
            "~",
            "null",
            ".inf",
            "x:",
        ] {
            assert!(!plain_ok(v, false), "{v}");
        }
        assert!(!plain_ok("a,b", true));
        assert_eq!(
            scalar("{{SessionName}}", Quote::Plain, false),
            "\"{{SessionName}}\""
        );
        assert_eq!(scalar("it's", Quote::Single, false), "'it''s'");
    }

    #[test]
    fn copies_eksctl_sorted_style() {
        let style = infer(
            "- groups:\n  - system:masters\n  rolearn: arn:aws:iam::1:role/A\n  username: a\n",
        );
        assert_eq!(style.order, [Field::Groups, Field::Arn, Field::Username]);
        assert_eq!(style.groups_indent, 0);
        assert_eq!(
            style.render(DataKey::MapRoles, &item()),
            "- groups:\n  - devs\n  - \"yes\"\n  rolearn: arn:aws:iam::111122223333:role/Dev\n  username: dev:{{SessionName}}\n"
        );
    }

    #[test]
    fn copies_terraform_quoting_and_separators() {
        let style = infer(
            "- \"groups\":\n  - \"a\"\n  \"rolearn\": \"x\"\n  \"username\": \"x\"\n\n- \"groups\":\n  - \"b\"\n  \"rolearn\": \"y\"\n  \"username\": \"y\"\n",
        );
        assert_eq!(style.blank_lines, 1);
        assert_eq!(
            style.render(DataKey::MapRoles, &item()),
            "\n- \"groups\":\n  - \"devs\"\n  - \"yes\"\n  \"rolearn\": \"arn:aws:iam::111122223333:role/Dev\"\n  \"username\": \"dev:{{SessionName}}\"\n"
        );
    }

    #[test]
    fn copies_bare_dashes_and_deep_groups() {
        let style = infer("-\n    rolearn: x\n    username: y\n    groups:\n        - a\n");
        assert!(style.bare_dash);
        assert_eq!((style.key_col, style.groups_indent), (4, 4));
        assert_eq!(
            style.render(DataKey::MapUsers, &item()),
            "-\n    userarn: arn:aws:iam::111122223333:role/Dev\n    username: dev:{{SessionName}}\n    groups:\n        - devs\n        - \"yes\"\n"
        );
    }

    #[test]
    fn flow_items_copy_json_spacing() {
        let text = "[{\"rolearn\":\"a\",\"username\":\"b\",\"groups\":[\"c\"]}]";
        let tree = full::parse(text).unwrap();
        let style = FlowStyle::infer(text, &tree, tree.seq_items(tree.root.unwrap()).unwrap());
        assert_eq!(
            style.render(DataKey::MapRoles, &item()),
            "{\"rolearn\":\"arn:aws:iam::111122223333:role/Dev\",\"username\":\"dev:{{SessionName}}\",\"groups\":[\"devs\",\"yes\"]}"
        );
    }
}
