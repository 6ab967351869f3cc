//! Reading a data string again after an edit, from its reading before the edit.
//!
//! An edit changes a few top-level items of what is often a long list. In the
//! fast parser's grammar every top-level item reads the same whatever surrounds
//! it: a line with a `-` at the list's column always starts a new item, and
//! nothing in an item depends on another. So the items the edit did not touch
//! keep their tree and their entries, moved by the change in length, and only
//! the lines between the nearest unchanged item starts are parsed and decoded.
//! Whenever that reasoning does not apply (another grammar, a change before the
//! first item, a key that no longer reads), `None` tells the caller to read the
//! whole string.

use std::ops::Range;

use crate::model::{Dropped, Entry, FieldIssue, KeyState, KeyView};
use crate::read::{Parsed, Schema, decode_items};
use crate::yaml::{Tree, fast, json};

/// The reading of `text`, which replaced `old_text` read as `old` and `old_view`.
pub(crate) fn reread<T: Clone + Default>(
    old_text: &str,
    old: &Parsed,
    old_view: &KeyView<T>,
    source: &std::sync::Arc<String>,
    schema: &Schema<T>,
) -> Option<(Parsed, KeyView<T>)> {
    let text = source.as_str();
    let tree = old.tree.as_ref()?;
    if old.state != KeyState::Read || old_view.state != KeyState::Read || !tree.simple {
        return None;
    }
    let items = tree.seq_items(tree.root?)?;
    let (ob, nb) = (old_text.as_bytes(), text.as_bytes());
    let (_, col) = fast::list_column(ob)?;
    let p = common_prefix(ob, nb);
    let s = common_suffix(&ob[p..], &nb[p..]);
    let delta = nb.len() as isize - ob.len() as isize;
    // The last item that starts before the change: the change may continue it.
    let from = item_before(ob, p, col)?;
    // The first item that starts in the unchanged tail.
    let to = item_from(ob, ob.len() - s, col);
    let new_to = match to {
        Some(t) => t.checked_add_signed(delta)?,
        None => nb.len(),
    };
    if !fast::is_item(nb, from, col)
        || to.is_some()
            && !(new_to > from && nb[new_to - 1] == b'\n' && fast::is_item(nb, new_to, col))
    {
        return None;
    }
    let starts = |at: usize| items.partition_point(|&i| (tree.node(i).start as usize) < at);
    let (a, b) = (starts(from), to.map_or(items.len(), starts));
    if a >= items.len() || a > b {
        return None;
    }
    let middle = fast::parse_lines(text, from..new_to)?;
    let middle_items = middle.seq_items(middle.root?)?;
    let mut view = KeyView::with_state(KeyState::Read);
    // Entries, dropped items and field issues each keep those of the items
    // before the change, then the new lines', then those after it, moved.
    let after = (b, a + middle_items.len(), delta);
    view.entries.reserve_exact(
        old_view.entries.len() + middle_items.len() - (b - a).min(old_view.entries.len()),
    );
    keep_before(&old_view.entries, a, &mut view.entries);
    keep_before(&old_view.dropped, a, &mut view.dropped);
    keep_before(&old_view.field_issues, a, &mut view.field_issues);
    decode_items(&mut view, &middle, source, a, middle_items, schema);
    keep_after(&old_view.entries, after, &mut view.entries)?;
    keep_after(&old_view.dropped, after, &mut view.dropped)?;
    keep_after(&old_view.field_issues, after, &mut view.field_issues)?;
    let mut pieces = Vec::with_capacity(3);
    if a > 0 {
        pieces.push(tree.items_tree(0..a, 0)?);
    }
    pieces.push(middle);
    if b < items.len() {
        pieces.push(tree.items_tree(b..items.len(), delta)?);
    }
    let joined = Tree::join_seqs(pieces)?;
    // A special float or a null key in the new lines makes the key unreadable.
    json::check(&joined, text).ok()?;
    Some((
        Parsed {
            tree: Some(joined),
            state: KeyState::Read,
        },
        view,
    ))
}

/// Something in a key's view that belongs to one item and covers some text.
trait Located: Clone {
    fn index(&self) -> usize;
    fn place(&mut self) -> (&mut usize, &mut Range<usize>);
}

impl<T: Clone> Located for Entry<T> {
    fn index(&self) -> usize {
        self.index
    }

    fn place(&mut self) -> (&mut usize, &mut Range<usize>) {
        (&mut self.index, &mut self.span)
    }
}

impl Located for Dropped {
    fn index(&self) -> usize {
        self.index
    }

    fn place(&mut self) -> (&mut usize, &mut Range<usize>) {
        (&mut self.index, &mut self.span)
    }
}

impl Located for FieldIssue {
    fn index(&self) -> usize {
        self.index
    }

    fn place(&mut self) -> (&mut usize, &mut Range<usize>) {
        (&mut self.index, &mut self.span)
    }
}

/// Copies the elements of items before item `a` as they are.
fn keep_before<L: Located>(old: &[L], a: usize, out: &mut Vec<L>) {
    out.extend(old.iter().filter(|l| l.index() < a).cloned());
}

/// Copies the elements of items from `b` on, renumbered to start at `to` and
/// moved by `delta` bytes.
fn keep_after<L: Located>(
    old: &[L],
    (b, to, delta): (usize, usize, isize),
    out: &mut Vec<L>,
) -> Option<()> {
    for l in old.iter().filter(|l| l.index() >= b) {
        let mut l = l.clone();
        let (index, span) = l.place();
        *index = *index - b + to;
        *span = span.start.checked_add_signed(delta)?..span.end.checked_add_signed(delta)?;
        out.push(l);
    }
    Some(())
}

/// `reread` gave the tree a whole reading gives. Its `may_fail` may be set where
/// the whole reading's is not: kept items carry the flag of the old text, which
/// only makes the conversion check run.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn same_tree(reread: &Tree, whole: &Tree) -> bool {
    reread.may_fail >= whole.may_fail
        && Tree {
            may_fail: whole.may_fail,
            ..reread.clone()
        } == *whole
}

/// Where `a` and `b` first differ (the shorter length when one starts the other).
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    const CHUNK: usize = 64;
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + CHUNK <= n && a[i..i + CHUNK] == b[i..i + CHUNK] {
        i += CHUNK;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// How many bytes `a` and `b` end with in common.
fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    const CHUNK: usize = 64;
    let n = a.len().min(b.len());
    let (a, b) = (&a[a.len() - n..], &b[b.len() - n..]);
    let mut i = 0;
    while i + CHUNK <= n && a[n - i - CHUNK..n - i] == b[n - i - CHUNK..n - i] {
        i += CHUNK;
    }
    while i < n && a[n - i - 1] == b[n - i - 1] {
        i += 1;
    }
    i
}

/// The start of the last item line that begins before `at`.
fn item_before(b: &[u8], at: usize, col: usize) -> Option<usize> {
    let mut end = at;
    loop {
        let start = memchr::memrchr(b'\n', &b[..end.saturating_sub(1)]).map_or(0, |i| i + 1);
        if start < at && fast::is_item(b, start, col) {
            return Some(start);
        }
        if start == 0 {
            return None;
        }
        end = start;
    }
}

/// The start of the first item line that begins at or after `at`.
fn item_from(b: &[u8], at: usize, col: usize) -> Option<usize> {
    let mut start = if at == 0 || b.get(at - 1) == Some(&b'\n') {
        at
    } else {
        memchr::memchr(b'\n', &b[at..]).map(|i| at + i + 1)?
    };
    while start < b.len() {
        if fast::is_item(b, start, col) {
            return Some(start);
        }
        start = memchr::memchr(b'\n', &b[start..]).map(|i| start + i + 1)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DataKey;
    use crate::read::{ROLES, parse_key, roles};
    use proptest::prelude::*;
    use std::sync::Arc;

    /// The reading from the previous one, or `None`; when `Some`, it must be
    /// exactly what reading the whole text gives.
    fn check(old: &str, new: &str) -> Result<bool, String> {
        let parsed = parse_key(DataKey::MapRoles, old);
        let view = roles(&parsed, &Arc::new(old.to_owned()));
        let Some((p, v)) = reread(old, &parsed, &view, &Arc::new(new.to_owned()), &ROLES) else {
            return Ok(false);
        };
        let full = parse_key(DataKey::MapRoles, new);
        let full_view = roles(&full, &Arc::new(new.to_owned()));
        let same = match (&p.tree, &full.tree) {
            (Some(a), Some(b)) => same_tree(a, b),
            (a, b) => a == b,
        };
        if !same || p.state != full.state {
            return Err(format!("trees differ:\n{old}\n->\n{new}"));
        }
        if v != full_view {
            return Err(format!(
                "views differ:\n{old}\n->\n{new}\n{v:#?}\n{full_view:#?}"
            ));
        }
        Ok(true)
    }

    const MAP: &str = "# team roles\n- rolearn: arn:aws:iam::1:role/A\n  username: a\n  groups:\n    - system:masters\n\n- rolearn: arn:aws:iam::1:role/B # b\n  username: b\n  groups: [view]\n- rolearn: arn:aws:iam::1:role/C\n  username: c\n  groups:\n  - x\n";

    #[test]
    fn only_the_changed_items_are_read_again() {
        let edits = [
            // An item added at the end, in the middle, at the start.
            format!("{MAP}- rolearn: arn:aws:iam::1:role/D\n  username: d\n"),
            MAP.replace(
                "- rolearn: arn:aws:iam::1:role/C",
                "- rolearn: arn:aws:iam::1:role/N\n  username: n\n- rolearn: arn:aws:iam::1:role/C",
            ),
            MAP.replace(
                "- rolearn: arn:aws:iam::1:role/A",
                "- rolearn: arn:aws:iam::1:role/N\n- rolearn: arn:aws:iam::1:role/A",
            ),
            // An item removed; a group changed; a username emptied.
            MAP.replace(
                "- rolearn: arn:aws:iam::1:role/B # b\n  username: b\n  groups: [view]\n",
                "",
            ),
            MAP.replace("    - system:masters", "    - view"),
            MAP.replace("username: c", "username:"),
            // A change that makes an item a string, a dropped entry, a field issue.
            MAP.replace(
                "- rolearn: arn:aws:iam::1:role/B # b\n  username: b\n  groups: [view]\n",
                "- just text\n",
            ),
            MAP.replace("username: b", "username: yes"),
        ];
        for new in &edits {
            assert_eq!(check(MAP, new), Ok(true), "{new}");
        }
    }

    #[test]
    fn the_last_item_removed_with_its_blank_line() {
        let old = "# worker nodes\n- rolearn: arn:aws:iam::111122223333:role/Nodes\n  username: system:node:{{EC2PrivateDNSName}}\n  groups:\n    - system:bootstrappers\n    - system:nodes\n\n# admins\n- rolearn: arn:aws:iam::111122223333:role/Admin\n  username: admin:{{SessionName}}\n  groups:\n    - system:masters\n\n- rolearn: arn:aws:iam::111122223333:role/Dev\n  username: dev:{{SessionName}}\n  groups:\n    - devs # the team\n  note: kept\n";
        let new = old.replace("\n- rolearn: arn:aws:iam::111122223333:role/Dev\n  username: dev:{{SessionName}}\n  groups:\n    - devs # the team\n  note: kept\n", "");
        let parsed = parse_key(DataKey::MapRoles, old);
        let view = roles(&parsed, &Arc::new(old.to_owned()));
        let (p, _) = reread(old, &parsed, &view, &Arc::new(new.clone()), &ROLES).unwrap();
        let full = parse_key(DataKey::MapRoles, &new);
        assert!(same_tree(
            p.tree.as_ref().unwrap(),
            full.tree.as_ref().unwrap()
        ));
    }

    #[test]
    fn declines_what_it_cannot_prove() {
        for new in [
            // Before the first item, another grammar, a change of indentation that
            // joins two items, a key that no longer reads.
            format!("# new comment\n{MAP}"),
            MAP.replace("username: b", "username: |\n    b"),
            MAP.replace(
                "- rolearn: arn:aws:iam::1:role/C",
                "  - rolearn: arn:aws:iam::1:role/C",
            ),
            MAP.replace("username: b", "username: .nan"),
        ] {
            assert_eq!(check(MAP, &new), Ok(false), "{new}");
        }
    }

    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("- rolearn: arn:aws:iam::111122223333:role/A".to_owned()),
            Just("- rolearn: arn:aws:iam::111122223333:role/B".to_owned()),
            Just("-".to_owned()),
            Just("- text".to_owned()),
            Just("  username: a".to_owned()),
            Just("  username: yes".to_owned()),
            Just("  username:".to_owned()),
            Just("  groups:".to_owned()),
            Just("  groups: [a, b]".to_owned()),
            Just("  - system:masters".to_owned()),
            Just("    - view".to_owned()),
            Just("  rolearn: arn:aws:iam::111122223333:role/C".to_owned()),
            Just("  # comment".to_owned()),
            Just("".to_owned()),
            Just("  username: .nan".to_owned()),
            Just(" - odd".to_owned()),
        ]
    }

    fn item() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => Just("- rolearn: arn:aws:iam::111122223333:role/A\n  username: a\n  groups:\n    - system:masters\n".to_owned()),
            8 => Just("- groups:\n  - system:bootstrappers\n  - system:nodes\n  rolearn: arn:aws:iam::111122223333:role/N\n  username: system:node:{{EC2PrivateDNSName}}\n".to_owned()),
            8 => Just("- \"rolearn\": \"arn:aws:iam::111122223333:role/T\"\n  \"username\": \"t\"\n".to_owned()),
            8 => Just("- rolearn: arn:aws:iam::111122223333:role/B # b\n  username: b\n  groups: [view, edit]\n".to_owned()),
            8 => Just("-\n  rolearn: arn:aws:iam::111122223333:role/C\n  username: yes\n".to_owned()),
            8 => Just("- username: no-arn\n".to_owned()),
            8 => Just("- just text\n".to_owned()),
            8 => Just("-\n".to_owned()),
            8 => Just("\n# owned by squad 7\n".to_owned()),
            8 => Just("- rolearn: arn:aws:iam::111122223333:role/A\n  extra: [1]\n".to_owned()),
            1 => Just("- rolearn: x\n  username: .nan\n".to_owned()),
            1 => Just("- rolearn: x\n  username: |\n    block\n".to_owned()),
            1 => Just("  - rolearn: deeper\n".to_owned()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

        /// Any replacement of any run of lines reads as the whole text reads.
        #[test]
        fn rereading_agrees_with_reading(
            old in prop::collection::vec(line(), 1..14),
            at in any::<prop::sample::Index>(),
            len in 0usize..4,
            insert in prop::collection::vec(line(), 0..4),
        ) {
            let i = at.index(old.len());
            let mut new = old.clone();
            let end = (i + len).min(new.len());
            new.splice(i..end, insert);
            let (old, new) = (old.join("\n") + "\n", new.join("\n") + "\n");
            if let Err(e) = check(&old, &new) {
                return Err(TestCaseError::fail(e));
            }
        }

        /// Items added, removed and replaced, as the editor does it.
        #[test]
        fn rereading_item_edits_agrees_with_reading(
            old in prop::collection::vec(item(), 1..12),
            at in any::<prop::sample::Index>(),
            len in 0usize..3,
            insert in prop::collection::vec(item(), 0..3),
        ) {
            let i = at.index(old.len() + 1);
            let mut new = old.clone();
            let end = (i + len).min(new.len());
            new.splice(i..end, insert);
            if let Err(e) = check(&old.concat(), &new.concat()) {
                return Err(TestCaseError::fail(e));
            }
        }
    }
}
