//! Where yaml.v2 refuses a tab that YAML 1.2 parsers accept.
//!
//! yaml.v2's scanner (libyaml's) skips a tab between tokens only where a
//! simple key cannot start. In the block context a key can start at the
//! beginning of every line and right after a `-` or `?` indicator, so a tab
//! there "cannot start any token". The exceptions are whitespace the scanner
//! takes in while reading a token: the lines after a plain scalar (a tab from
//! the scalar's indentation on is part of its folding) and the body of a
//! block scalar (a tab from its indentation on is text). The full parser
//! accepts all of these, so the reader checks them here.

use super::tree::{Kind, ScalarStyle, Tree};

/// A block scalar whose layout the caller decoded itself: its indicator's
/// offset, the end of its body and its indentation (the manifest reader's
/// cut-out data values).
pub(crate) type KnownBlock = (usize, usize, usize);

/// The offset of the first tab yaml.v2 refuses in `text`, parsed as `tree`
/// (one document: nothing past the marker that ends it is read).
pub(crate) fn refused(text: &str, tree: &Tree) -> Option<usize> {
    let from = tree.root.map_or(0, |r| tree.node(r).start as usize);
    refused_in(text, tree, 0..document_end(text, from), &[])
}

/// The start of the line of the first `---` or `...` marker after the line
/// of `at`: where the document holding `at` ends for yaml.v2.
pub(crate) fn document_end(text: &str, at: usize) -> usize {
    let mut pos = line_end(text, at);
    while pos < text.len() {
        let line = &text[pos..line_end(text, pos)];
        let marker = (line.starts_with("...") || line.starts_with("---"))
            && line[3..].starts_with([' ', '\t', '\r', '\n'])
            || line == "..."
            || line == "---";
        if marker {
            return pos;
        }
        pos += line.len();
    }
    text.len()
}

/// A block scalar's body as the scanner reads it.
struct Block {
    /// From its first body line to past the blank lines after it (read as
    /// its own).
    body: std::ops::Range<usize>,
    /// Its indentation: a tab before it is refused.
    indent: usize,
    /// Without an indentation indicator, yaml.v2 finds the indentation on
    /// the first line with text, refusing any tab before that text there and
    /// on the blank lines above it: where that text starts.
    detected_at: usize,
}

/// The block scalar `node` spans `start..end`; `known` may give its layout.
fn block(text: &str, start: usize, end: usize, known: &[KnownBlock]) -> Block {
    // The node starts at its indicator, or at its first line of text (then
    // from that line's start).
    let header = matches!(text.as_bytes().get(start), Some(b'|' | b'>'));
    let body_start = if header {
        line_end(text, start)
    } else {
        text[..start].rfind('\n').map_or(0, |i| i + 1)
    };
    let header_from = text[..body_start.saturating_sub(1)]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let header_line = text[header_from..body_start]
        .split(" #")
        .next()
        .unwrap_or("");
    // An indentation indicator: the block is indented that much more than
    // the line of its key.
    let explicit = header_line.rfind(['|', '>']).and_then(|i| {
        header_line[i + 1..]
            .bytes()
            .take_while(|b| matches!(b, b'-' | b'+' | b'0'..=b'9'))
            .find(u8::is_ascii_digit)
            .map(|d| {
                let key_indent = header_line.len() - header_line.trim_start_matches(' ').len();
                key_indent + usize::from(d - b'0')
            })
    });
    let mine = known
        .iter()
        .find(|(indicator, _, _)| (header_from..body_start).contains(indicator));
    let (end, indent) = match mine {
        Some(&(_, body_end, indent)) => (body_end.max(body_start), indent),
        None => {
            let end = end.max(body_start).min(text.len());
            let indent = explicit.unwrap_or_else(|| {
                text[body_start..end]
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .map_or(usize::MAX, |l| l.len() - l.trim_start_matches(' ').len())
            });
            (end, indent)
        }
    };
    // The blank lines after a block are read as its own.
    let mut stop = line_end(text, end.saturating_sub(1).max(body_start));
    while stop < text.len() && text[stop..line_end(text, stop)].trim().is_empty() {
        stop = line_end(text, stop);
    }
    let mut detected_at = body_start;
    if explicit.is_none() {
        for line in text[body_start..].split_inclusive('\n') {
            let lead = line.len() - line.trim_start_matches([' ', '\t']).len();
            if !line.trim().is_empty() {
                detected_at += lead;
                break;
            }
            detected_at += line.len();
        }
    }
    Block {
        body: body_start..stop.max(body_start),
        indent,
        detected_at,
    }
}

/// The offset of the first tab yaml.v2 refuses in `span` of `text`, one
/// document parsed as `tree`. `known` gives the layout of block scalars the
/// caller decoded itself.
pub(crate) fn refused_in(
    text: &str,
    tree: &Tree,
    span: std::ops::Range<usize>,
    known: &[KnownBlock],
) -> Option<usize> {
    let bytes = text.as_bytes();
    let span = span.start.min(text.len())..span.end.min(text.len());
    memchr::memchr(b'\t', &bytes[span.clone()])?;
    // Spans where tabs are someone else's business: quoted and multi-line
    // scalars and flow collections (their own rules), and block scalars
    // (checked against their indentation below).
    let mut exempt: Vec<(usize, usize)> = Vec::new();
    let mut blocks: Vec<Block> = Vec::new();
    let mut plains: Vec<(usize, usize, usize)> = Vec::new();
    for node in &tree.nodes {
        let (start, end) = (node.start as usize, (node.end as usize).min(text.len()));
        match &node.kind {
            Kind::Scalar {
                style: ScalarStyle::Literal | ScalarStyle::Folded,
                ..
            } => {
                let b = block(text, start, end, known);
                exempt.push((start, b.body.start));
                blocks.push(b);
            }
            Kind::Scalar {
                style: ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted,
                ..
            } => exempt.push((start, end)),
            // A plain scalar folds its lines: a tab from its indentation
            // on is part of that, one before it is refused.
            Kind::Scalar {
                style: ScalarStyle::Plain,
                ..
            } if text[start..end].contains('\n') => {
                plains.push((start, end, plain_indent(text, tree, start)));
            }
            Kind::Scalar { .. } if text[start..end].contains('\n') => exempt.push((start, end)),
            Kind::Seq { flow: true, .. } | Kind::Map { flow: true, .. } => {
                exempt.push((start, end))
            }
            _ => {}
        }
    }
    let column = |at: usize| at - text[..at].rfind('\n').map_or(0, |i| i + 1);
    for at in memchr::memchr_iter(b'\t', &bytes[span.clone()]).map(|i| span.start + i) {
        if let Some(b) = blocks.iter().find(|b| b.body.contains(&at)) {
            if at < b.detected_at || column(at) < b.indent {
                return Some(at);
            }
            continue;
        }
        if exempt.iter().any(|&(s, e)| s <= at && at < e) {
            continue;
        }
        let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        let before = &text[line_start..at];
        let lead = before.trim_start_matches([' ', '\t']);
        if let Some(&(_, _, indent)) = plains.iter().find(|&&(s, e, _)| s < at && at < e) {
            if lead.is_empty() && column(at) < indent {
                return Some(at);
            }
            continue;
        }
        if lead.is_empty() {
            // In a line's indentation.
            if !continues_plain(text, tree, line_start, column(at)) {
                return Some(at);
            }
            continue;
        }
        if before.contains('#') && comment_starts(before) {
            continue;
        }
        // Right after a `-` or `?` indicator, or the `:` of a complex key.
        let token = lead.trim_end_matches([' ', '\t']);
        let indicators = token.ends_with(['-', '?'])
            && token
                .split([' ', '\t'])
                .all(|t| t.is_empty() || t == "-" || t == "?");
        if indicators || token == ":" {
            return Some(at);
        }
    }
    None
}

/// True when a `#` in `line` (the text before a tab) starts a comment.
fn comment_starts(line: &str) -> bool {
    let b = line.as_bytes();
    b.iter()
        .enumerate()
        .any(|(i, &c)| c == b'#' && (i == 0 || matches!(b[i - 1], b' ' | b'\t')))
}

fn line_end(text: &str, at: usize) -> usize {
    text[at.min(text.len())..]
        .find('\n')
        .map_or(text.len(), |i| at + i + 1)
}

/// True when the line at `line_start` is read as the continuation of a plain
/// scalar that ends the text before it (only blank lines between), and a tab
/// at `col` is at or past that scalar's indentation.
fn continues_plain(text: &str, tree: &Tree, line_start: usize, col: usize) -> bool {
    let before = text[..line_start].trim_end_matches([' ', '\t', '\r', '\n']);
    let last = before.len();
    if last == 0 {
        return false;
    }
    let Some(scalar) = tree.nodes.iter().find(|n| {
        matches!(
            n.kind,
            Kind::Scalar {
                style: ScalarStyle::Plain,
                ..
            }
        ) && n.start < n.end
            && text[..(n.end as usize).min(text.len())]
                .trim_end_matches([' ', '\t'])
                .len()
                == last
    }) else {
        return false;
    };
    col >= plain_indent(text, tree, scalar.start as usize)
}

/// The indentation of the plain scalar starting at `at`: one past the
/// innermost block collection around it.
fn plain_indent(text: &str, tree: &Tree, at: usize) -> usize {
    let parent = tree
        .nodes
        .iter()
        .filter(|n| {
            matches!(
                n.kind,
                Kind::Seq { flow: false, .. } | Kind::Map { flow: false, .. }
            ) && (n.start as usize) <= at
                && at < n.end as usize
        })
        .max_by_key(|n| n.start);
    parent.map_or(0, |p| {
        let s = p.start as usize;
        s - text[..s].rfind('\n').map_or(0, |i| i + 1) + 1
    })
}

#[cfg(test)]
mod tests {
    use super::refused;
    use crate::yaml::full;

    /// Each case was checked against gopkg.in/yaml.v2.
    #[test]
    fn tabs_as_yaml_v2_reads_them() {
        for (text, ok) in [
            ("-\ta\n", false),
            ("- \ta\n", false),
            ("-  \t a\n", false),
            ("-\t\n  a\n", false),
            ("a:\tb\n", true),
            ("a: \tb\n", true),
            ("a:\t\n  b: 1\n", true),
            ("- a:\t1\n", true),
            ("- [a,\tb]\n", true),
            ("- a\t# c\n", true),
            ("a: 'x'\n  \t# c\nb: 2\n", false),
            ("a: x\n  \t# c\nb: 2\n", true),
            ("- a: 1\n  \tb: 2\n", false),
            ("- a\n \t\n- b\n", true),
            ("- a\n\t\n- b\n", false),
            ("\t# c\na: 1\n", false),
            ("a: 1\n\t# c\nb: 2\n", false),
            ("a: |\n  x\n \t\nb: 1\n", false),
            ("a: |\n  x\n  \ty\nb: 1\n", true),
            ("a: \"x\ty\"\n", true),
            ("- a\n...\n\t- b\n", true),
        ] {
            // The full parser refuses some itself.
            let read = full::parse(text).is_ok_and(|tree| refused(text, &tree).is_none());
            assert_eq!(read, ok, "{text:?}");
        }
    }
}
