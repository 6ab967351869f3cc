//! Which lines of a data string belong to which list item.
//!
//! An item owns its lines from its leading comments to its last line: comments
//! directly above its `-` (no blank line between) at or left of the dash column
//! belong to it, and comments deeper than the dash after its content belong to
//! it too. Blank lines between items are separators: removing an item takes the
//! separator above it (or below it, for the first item), so that adding then
//! removing an item gives back the same bytes.

use crate::position::LineIndex;
use crate::yaml::Tree;
use crate::yaml::tree::NodeId;

/// A data string split into lines (a missing final line feed is treated as present).
#[derive(Debug)]
pub(crate) struct Lines<'t> {
    pub(crate) text: &'t str,
    index: LineIndex,
}

impl<'t> Lines<'t> {
    pub(crate) fn new(text: &'t str) -> Self {
        Lines {
            text,
            index: LineIndex::new(text),
        }
    }

    /// Number of lines that hold text (a trailing empty segment is not a line).
    pub(crate) fn count(&self) -> usize {
        let n = self.index.len();
        if self.text.ends_with('\n') || self.text.is_empty() {
            n - 1
        } else {
            n
        }
    }

    pub(crate) fn start(&self, line: usize) -> usize {
        self.index.line_start(line).min(self.text.len())
    }

    /// Offset just past the line's line feed (the next line's start).
    pub(crate) fn end(&self, line: usize) -> usize {
        self.start(line + 1)
    }

    pub(crate) fn line_of(&self, offset: usize) -> usize {
        self.index.line_of(offset)
    }

    pub(crate) fn get(&self, line: usize) -> &'t str {
        let s = self.start(line);
        let e = self.end(line);
        self.text[s..e]
            .strip_suffix('\n')
            .unwrap_or(&self.text[s..e])
    }

    pub(crate) fn indent(&self, line: usize) -> usize {
        let l = self.get(line);
        l.len() - l.trim_start_matches(' ').len()
    }

    pub(crate) fn is_blank(&self, line: usize) -> bool {
        self.get(line).trim().is_empty()
    }

    pub(crate) fn is_comment(&self, line: usize) -> bool {
        self.get(line).trim_start().starts_with('#')
    }

    pub(crate) fn column(&self, offset: usize) -> usize {
        offset - self.start(self.line_of(offset))
    }
}

/// The lines of one list item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ItemLines {
    /// Offset of the `-`.
    pub(crate) dash: usize,
    pub(crate) dash_col: usize,
    pub(crate) dash_line: usize,
    /// First line, leading comments included.
    pub(crate) lead_line: usize,
    /// Last line of the item's own content.
    pub(crate) last_line: usize,
    /// Last line it owns, trailing deeper comments included.
    pub(crate) own_end_line: usize,
}

/// The `-` of a block sequence item: the nearest `-` before its content with only
/// white space between. `None` when anything else (a comment) is in the way.
pub(crate) fn dash_of(text: &str, tree: &Tree, item: NodeId) -> Option<usize> {
    let start = tree.node(item).start as usize;
    let before = text[..start].trim_end_matches([' ', '\n', '\r']);
    before.ends_with('-').then(|| before.len() - 1)
}

/// Lays out every item of a block sequence.
/// Lays out every item of a block sequence (the reference for [`Layouts`]).
#[cfg(test)]
pub(crate) fn items(lines: &Lines<'_>, tree: &Tree, items: &[NodeId]) -> Option<Vec<ItemLines>> {
    let mut out: Vec<ItemLines> = Vec::with_capacity(items.len());
    for i in 0..items.len() {
        let floor = out.last().map_or(0, |p| p.own_end_line + 1);
        out.push(compute(lines, tree, items, i, floor)?);
    }
    Some(out)
}

/// Lays out items on demand: an edit needs only those it touches and their
/// neighbours, not the thousands around them.
#[derive(Debug)]
pub(crate) struct Layouts<'a, 't> {
    lines: &'a Lines<'t>,
    tree: &'a Tree,
    items: &'a [NodeId],
    cache: std::collections::BTreeMap<usize, ItemLines>,
}

impl<'a, 't> Layouts<'a, 't> {
    pub(crate) fn new(lines: &'a Lines<'t>, tree: &'a Tree, items: &'a [NodeId]) -> Self {
        Layouts {
            lines,
            tree,
            items,
            cache: std::collections::BTreeMap::new(),
        }
    }

    pub(crate) fn get(&mut self, i: usize) -> Option<ItemLines> {
        if let Some(l) = self.cache.get(&i) {
            return Some(*l);
        }
        // The floor is where the previous item's own lines end.
        let floor = match i {
            0 => 0,
            _ => own_end(self.lines, self.tree, self.items, i - 1)? + 1,
        };
        let l = compute(self.lines, self.tree, self.items, i, floor)?;
        self.cache.insert(i, l);
        Some(l)
    }
}

/// The last line item `i` owns (its content and trailing deeper comments).
fn own_end(lines: &Lines<'_>, tree: &Tree, items: &[NodeId], i: usize) -> Option<usize> {
    let dash = dash_of(lines.text, tree, items[i])?;
    let dash_line = lines.line_of(dash);
    let end = (tree.node(items[i]).end as usize).max(dash + 1);
    let last_line = lines.line_of(end - 1).max(dash_line);
    Some(trailing_comments(
        lines,
        tree,
        items,
        i,
        last_line,
        lines.column(dash),
    ))
}

fn trailing_comments(
    lines: &Lines<'_>,
    tree: &Tree,
    items: &[NodeId],
    i: usize,
    last_line: usize,
    dash_col: usize,
) -> usize {
    let count = lines.count();
    let next_dash_line = items
        .get(i + 1)
        .and_then(|&n| dash_of(lines.text, tree, n))
        .map_or(count, |d| lines.line_of(d));
    let mut own_end_line = last_line;
    let mut l = last_line + 1;
    while l < next_dash_line.min(count) {
        if lines.is_blank(l) {
            l += 1;
            continue;
        }
        if lines.is_comment(l) && lines.indent(l) > dash_col {
            own_end_line = l;
            l += 1;
            continue;
        }
        break;
    }
    own_end_line
}

fn compute(
    lines: &Lines<'_>,
    tree: &Tree,
    items: &[NodeId],
    i: usize,
    floor: usize,
) -> Option<ItemLines> {
    let dash = dash_of(lines.text, tree, items[i])?;
    let dash_line = lines.line_of(dash);
    let dash_col = lines.column(dash);
    let end = (tree.node(items[i]).end as usize).max(dash + 1);
    let last_line = lines.line_of(end - 1).max(dash_line);
    let mut lead_line = dash_line;
    while lead_line > floor
        && lines.is_comment(lead_line - 1)
        && lines.indent(lead_line - 1) <= dash_col
    {
        lead_line -= 1;
    }
    Some(ItemLines {
        dash,
        dash_col,
        dash_line,
        lead_line,
        last_line,
        own_end_line: trailing_comments(lines, tree, items, i, last_line, dash_col),
    })
}

/// Blank lines directly above `line` (not above `floor`).
pub(crate) fn blanks_above(lines: &Lines<'_>, line: usize, floor: usize) -> usize {
    let mut l = line;
    while l > floor && lines.is_blank(l - 1) {
        l -= 1;
    }
    l
}

/// Blank lines directly below `line` (the first line after them).
pub(crate) fn blanks_below(lines: &Lines<'_>, line: usize) -> usize {
    let mut l = line + 1;
    while l < lines.count() && lines.is_blank(l) {
        l += 1;
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::full;

    #[test]
    fn comments_and_separators_are_owned() {
        let text = "# header\n\n# about a\n- a: 1\n  # deeper, of a\n\n# about b\n- b: 2\n\n  # still b\n- c: 3\n";
        let tree = full::parse(text).unwrap();
        let lines = Lines::new(text);
        let items = items(&lines, &tree, tree.seq_items(tree.root.unwrap()).unwrap()).unwrap();
        let spans: Vec<(usize, usize, usize, usize)> = items
            .iter()
            .map(|i| (i.lead_line, i.dash_line, i.last_line, i.own_end_line))
            .collect();
        assert_eq!(spans, [(2, 3, 3, 4), (6, 7, 7, 9), (10, 10, 10, 10)]);
        let seq = tree.seq_items(tree.root.unwrap()).unwrap();
        let mut lazy = Layouts::new(&lines, &tree, seq);
        for i in (0..seq.len()).rev() {
            assert_eq!(lazy.get(i), Some(items[i]));
        }
        assert_eq!(blanks_above(&lines, 6, 5), 5);
        assert_eq!(blanks_below(&lines, 4), 6);
    }

    #[test]
    fn a_bare_dash_is_found() {
        let text = "-\n  groups:\n  - a\n  rolearn: x\n";
        let tree = full::parse(text).unwrap();
        let lines = Lines::new(text);
        let items = items(&lines, &tree, tree.seq_items(tree.root.unwrap()).unwrap()).unwrap();
        assert_eq!(
            (items[0].dash, items[0].dash_line, items[0].last_line),
            (0, 0, 3)
        );
    }
}
