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

/// The offset of the first tab yaml.v2 refuses in `text`, parsed as `tree`.
pub(crate) fn refused(text: &str, tree: &Tree) -> Option<usize> {
    let bytes = text.as_bytes();
    memchr::memchr(b'\t', bytes)?;
    // Spans where tabs are someone else's business: quoted and multi-line
    // scalars and flow collections (their own rules), and block scalars
    // (checked against their indentation below).
    let mut exempt: Vec<(usize, usize)> = Vec::new();
    let mut blocks: Vec<(usize, usize, usize)> = Vec::new();
    for node in &tree.nodes {
        let (start, end) = (node.start as usize, (node.end as usize).min(text.len()));
        match &node.kind {
            Kind::Scalar {
                style: ScalarStyle::Literal | ScalarStyle::Folded,
                ..
            } => {
                let body = text[start..]
                    .find('\n')
                    .map_or(text.len(), |i| start + i + 1);
                let indent = text[body..end.max(body)]
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .map_or(usize::MAX, |l| l.len() - l.trim_start_matches(' ').len());
                // The blank lines after a block are read as its own.
                let mut stop = line_end(text, end);
                while stop < text.len() && text[stop..line_end(text, stop)].trim().is_empty() {
                    stop = line_end(text, stop);
                }
                blocks.push((body, stop, indent));
                exempt.push((start, body));
            }
            Kind::Scalar {
                style: ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted,
                ..
            } => exempt.push((start, end)),
            Kind::Scalar { .. } if text[start..end].contains('\n') => exempt.push((start, end)),
            Kind::Seq { flow: true, .. } | Kind::Map { flow: true, .. } => {
                exempt.push((start, end))
            }
            _ => {}
        }
    }
    let column = |at: usize| at - text[..at].rfind('\n').map_or(0, |i| i + 1);
    // yaml.v2 reads nothing past the marker that ends the first document.
    let from = tree.root.map_or(0, |r| tree.node(r).start as usize);
    let mut limit = text.len();
    let mut pos = line_end(text, from);
    while pos < text.len() {
        let line = &text[pos..line_end(text, pos)];
        let marker = (line.starts_with("...") || line.starts_with("---"))
            && line[3..].starts_with([' ', '\t', '\r', '\n'])
            || line == "..."
            || line == "---";
        if marker {
            limit = pos;
            break;
        }
        pos += line.len();
    }
    for at in memchr::memchr_iter(b'\t', &bytes[..limit]) {
        if exempt.iter().any(|&(s, e)| s <= at && at < e) {
            continue;
        }
        if let Some(&(_, _, indent)) = blocks.iter().find(|&&(s, e, _)| s <= at && at < e) {
            if column(at) < indent {
                return Some(at);
            }
            continue;
        }
        let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        let before = &text[line_start..at];
        let lead = before.trim_start_matches([' ', '\t']);
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
    // Its indentation: one past the innermost block collection around it.
    let at = scalar.start as usize;
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
    let indent = parent.map_or(0, |p| {
        let s = p.start as usize;
        s - text[..s].rfind('\n').map_or(0, |i| i + 1) + 1
    });
    col >= indent
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
