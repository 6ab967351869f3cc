//! The fast path for large manifests: the big literal blocks of `mapRoles`,
//! `mapUsers` and `mapAccounts` are cut out before the manifest goes to the
//! full parser, and decoded line by line instead.
//!
//! A block's body is opaque to YAML (nothing in it can be a syntax error once its
//! extent is known), so the manifest around it parses the same without it. Each
//! cut is checked afterwards to be the value of a data key; anything else, or any
//! error, sends the manifest to the full parser, which gives the exact error.

use std::sync::Arc;

use super::Codec;
use super::block::Literal;
use crate::yaml::tree::{Kind, ScalarStyle, ScalarText};
use crate::yaml::{Tree, full};

/// A block body removed from the text, with its layout and decoded value.
#[derive(Debug, Clone)]
pub(crate) struct Cut {
    /// Offset (in the original text) where the body starts.
    at: usize,
    len: usize,
    pub(crate) literal: Literal,
    pub(crate) decoded: Arc<String>,
}

/// A manifest the text derives from: unchanged blocks reuse its decoded values.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Previous<'p> {
    pub(crate) text: &'p str,
    pub(crate) manifest: &'p super::Manifest,
    /// What the edit replaced: ranges of `text` and the length of their
    /// replacement, sorted.
    pub(crate) changes: &'p [(std::ops::Range<usize>, usize)],
}

/// The blocks of `previous` that no change touched (their header line, body and
/// the line after them are unchanged), placed where they are in the new text:
/// (start of the header line, cut).
fn untouched(text: &str, min_body: usize, previous: Previous<'_>) -> Vec<(usize, Cut)> {
    let mut out = Vec::new();
    for v in &previous.manifest.values {
        let Codec::Literal(old) = &v.codec else {
            continue;
        };
        if old.body.len() < min_body {
            continue;
        }
        let header =
            memchr::memrchr(b'\n', &previous.text.as_bytes()[..old.indicator]).map_or(0, |i| i + 1);
        let touched = previous
            .changes
            .iter()
            .any(|(r, _)| r.start <= old.body.end && r.end >= header);
        if touched {
            continue;
        }
        let delta: isize = previous
            .changes
            .iter()
            .filter(|(r, _)| r.end < header)
            .map(|(r, len)| *len as isize - r.len() as isize)
            .sum();
        let shift = |o: usize| o.checked_add_signed(delta);
        let (Some(indicator), Some(start), Some(end), Some(lend), Some(header)) = (
            shift(old.indicator),
            shift(old.body.start),
            shift(old.body.end),
            shift(old.end),
            shift(header),
        ) else {
            continue;
        };
        if text.as_bytes().get(indicator) != Some(&b'|') || end > text.len() {
            continue;
        }
        let literal = Literal {
            indicator,
            body: start..end,
            end: lend,
            ..old.clone()
        };
        out.push((
            header,
            Cut {
                at: start,
                len: end - start,
                literal,
                decoded: Arc::clone(&v.decoded),
            },
        ));
    }
    out.sort_by_key(|(h, _)| *h);
    out
}

const KEYS: [&str; 3] = ["mapRoles", "mapUsers", "mapAccounts"];

/// Finds `KEY: |` header lines of the three data keys.
fn headers(text: &str, min_body: usize, previous: Option<Previous<'_>>) -> Vec<Cut> {
    let b = text.as_bytes();
    let mut cuts: Vec<Cut> = Vec::new();
    let known = previous
        .map(|p| untouched(text, min_body, p))
        .unwrap_or_default();
    let mut known = known.into_iter().peekable();
    let mut pos = 0;
    while pos < b.len() {
        if let Some((_, cut)) = known.next_if(|(h, _)| *h == pos) {
            pos = cut.literal.body.end;
            cuts.push(cut);
            continue;
        }
        let end = memchr::memchr(b'\n', &b[pos..]).map_or(b.len(), |i| pos + i);
        let line = &text[pos..end];
        let indent = line.len() - line.trim_start_matches(' ').len();
        let rest = &line[indent..];
        let key = KEYS.iter().find_map(|k| {
            let unquoted = rest.strip_prefix(k);
            let quoted = rest
                .strip_prefix('"')
                .and_then(|r| r.strip_prefix(k))
                .and_then(|r| r.strip_prefix('"'))
                .or_else(|| {
                    rest.strip_prefix('\'')
                        .and_then(|r| r.strip_prefix(k))
                        .and_then(|r| r.strip_prefix('\''))
                });
            unquoted.or(quoted)
        });
        let mut next = if end < b.len() { end + 1 } else { end };
        if let Some(after_key) = key {
            let after_colon = after_key.trim_start_matches(' ').strip_prefix(':');
            if let Some(value) = after_colon {
                let value_trimmed = value.trim_start_matches(' ');
                if value_trimmed.starts_with('|') && value.len() > value_trimmed.len() {
                    let indicator = end - value_trimmed.len();
                    // Decoded in the same pass: a block that reaches here after an
                    // edit was touched by it (untouched ones are known above), so
                    // it rarely reads the same as before; when it does, the
                    // previous value is shared.
                    let found = Literal::locate_decoded(text, indicator, indent).map(|(l, d)| {
                        let decoded = reuse(text, &l, previous).unwrap_or_else(|| Arc::new(d));
                        (l, decoded)
                    });
                    if let Some((literal, decoded)) = found
                        && literal.body.len() >= min_body
                        && literal.body.start == next
                        // A control character makes the whole manifest invalid:
                        // the full parser must see it to say where.
                        && crate::yaml::printable(&text[literal.body.clone()])
                    {
                        next = literal.body.end;
                        cuts.push(Cut {
                            at: literal.body.start,
                            len: literal.body.len(),
                            literal,
                            decoded,
                        });
                    }
                }
            }
        }
        pos = next;
    }
    cuts
}

/// The decoded value of a block whose bytes and layout are the same in the
/// manifest this one derives from (after an edit, the keys it did not touch).
fn reuse(text: &str, literal: &Literal, previous: Option<Previous<'_>>) -> Option<Arc<String>> {
    let p = previous?;
    p.manifest.values.iter().find_map(|v| match &v.codec {
        Codec::Literal(old)
            if old.indent == literal.indent
                && old.chomp == literal.chomp
                && old.end.checked_sub(old.body.start)
                    == literal.end.checked_sub(literal.body.start)
                && p.text.get(old.body.clone()) == text.get(literal.body.clone()) =>
        {
            Some(Arc::clone(&v.decoded))
        }
        _ => None,
    })
}

/// The documents of `text` parsed with the big blocks cut out, with offsets
/// translated back to `text`, and the cuts; `None` when the fast path does not
/// apply or the skeleton does not parse.
pub(crate) fn parse(
    text: &str,
    min_body: usize,
    previous: Option<Previous<'_>>,
) -> Option<(Vec<Tree>, Vec<Cut>)> {
    let cuts = headers(text, min_body, previous);
    if cuts.is_empty() {
        return None;
    }
    let mut skeleton =
        String::with_capacity(text.len() - cuts.iter().map(|c| c.len).sum::<usize>());
    let mut from = 0;
    for c in &cuts {
        skeleton.push_str(&text[from..c.at]);
        from = c.at + c.len;
    }
    skeleton.push_str(&text[from..]);
    let mut docs = full::parse_stream(&skeleton, false).ok()?;
    // Skeleton offset of each cut, and how much text was removed before it.
    let mut points = Vec::with_capacity(cuts.len());
    let mut indicators = Vec::with_capacity(cuts.len());
    let mut removed = 0;
    for c in &cuts {
        points.push((c.at - removed, removed + c.len));
        indicators.push(c.literal.indicator - removed);
        removed += c.len;
    }
    // A skeleton offset at or after a cut point lies after that cut's body.
    let translate = |p: u32| -> u32 {
        let p = p as usize;
        let shift = points
            .iter()
            .take_while(|(at, _)| *at <= p)
            .last()
            .map_or(0, |(_, total)| *total);
        (p + shift) as u32
    };
    let mut claimed = vec![false; cuts.len()];
    for tree in &mut docs {
        for node in &mut tree.nodes {
            let (start, end) = (node.start, node.end);
            // The emptied block itself: its value comes from the cut.
            if let Kind::Scalar {
                style: ScalarStyle::Literal,
                text: t,
            } = &mut node.kind
            {
                // An empty block is reported at its indicator (at the end of the
                // text) or where the next line's content starts.
                if let Some(i) = points
                    .iter()
                    .zip(&indicators)
                    .position(|((at, _), &indicator)| {
                        let (start, at) = (start as usize, *at);
                        start == indicator
                            || (start >= at && skeleton[at..start].bytes().all(|b| b == b' '))
                    })
                {
                    // The block must be empty in the skeleton: text that became its
                    // content there ended the block in the original.
                    if !crate::yaml::tree::scalar_text(&skeleton, t).is_empty() {
                        return None;
                    }
                    let cut = &cuts[i];
                    claimed[i] = true;
                    // The value is taken from the cut (see `Manifest::from_tree`).
                    *t = ScalarText::Owned("".into());
                    node.start = (cut.at + cut.literal.indent.min(cut.len)) as u32;
                    node.end = cut.literal.end as u32;
                    continue;
                }
            }
            node.start = translate(start);
            node.end = translate(end).max(node.start);
            if let Kind::Scalar {
                text: ScalarText::Slice(a, b),
                ..
            } = &mut node.kind
            {
                *a = translate(*a);
                *b = translate(*b).max(*a);
            }
        }
    }
    // A block collection ends where its last child ends: recompute from the
    // translated and patched children (children come after their parents).
    for tree in &mut docs {
        for i in (0..tree.nodes.len()).rev() {
            if let Kind::Seq {
                flow: false,
                children,
            }
            | Kind::Map {
                flow: false,
                children,
            } = &tree.nodes[i].kind
            {
                let last = tree.children[children.start as usize..children.end as usize]
                    .last()
                    .copied();
                if let Some(last) = last {
                    let end = tree.nodes[last.0 as usize].end;
                    tree.nodes[i].end = end.max(tree.nodes[i].start);
                }
            }
        }
    }
    // Every cut must have been a literal block value; otherwise (say, a header
    // inside another block) the skeleton says something else than the text.
    claimed.iter().all(|&c| c).then_some((docs, cuts))
}
