//! YAML as the authenticator's yaml.v2 reads it: a node tree with source spans,
//! built by a fast line-oriented parser for the usual block style or by the full
//! parser for everything else.

pub(crate) mod fast;
pub(crate) mod full;
pub(crate) mod json;
pub(crate) mod quoted;
pub(crate) mod resolve;
pub(crate) mod tabs;
pub(crate) mod tree;

pub(crate) use tree::Tree;

/// A YAML syntax error at a byte offset of the parsed text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub(crate) offset: usize,
    pub(crate) message: String,
}

impl SyntaxError {
    pub(crate) fn at(offset: usize, message: String) -> Self {
        SyntaxError { offset, message }
    }
}

/// Parses the first document of `text`: the fast path when the text is in its
/// grammar, the full parser otherwise. Both build the same tree.
pub(crate) fn parse(text: &str) -> Result<Tree, SyntaxError> {
    match fast::parse(text) {
        Some(tree) => Ok(tree),
        None => full::parse(text),
    }
}

/// Where an implicit mapping key runs over more than one line: yaml.v2 only
/// takes a key that starts and ends on one line (the full parser is lenient
/// in flow mappings). An explicit `? key` may span lines.
pub(crate) fn multiline_key(text: &str, tree: &Tree) -> Option<usize> {
    // The fast path builds one-line scalars only.
    if tree.simple {
        return None;
    }
    tree.nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| matches!(n.kind, tree::Kind::Map { .. }))
        .flat_map(|(i, _)| tree.map_pairs(tree::NodeId(i as u32)).into_iter().flatten())
        .map(|(k, _)| tree.node(k))
        .find(|k| {
            let (s, e) = (k.start as usize, (k.end as usize).min(text.len()));
            s < e
                && text[s..e].contains('\n')
                && !text[..s]
                    .trim_end_matches([' ', '\t', '\r', '\n'])
                    .ends_with('?')
        })
        .map(|k| k.start as usize)
}

/// Where `text` has a `\r` not followed by `\n`: a line break to YAML that
/// editors, and this crate's line-based layouts, do not show as one.
pub(crate) fn lone_cr(text: &str) -> Option<usize> {
    // memchr: std's char search is several times slower on a long manifest.
    let b = text.as_bytes();
    memchr::memchr_iter(b'\r', b).find(|&i| b.get(i + 1) != Some(&b'\n'))
}

/// True when every character of `text` may appear in a YAML stream: the full
/// parser refuses C0 controls other than tab and line breaks, DEL, C1 controls
/// other than NEL, and U+FFFE/U+FFFF, even inside a block scalar.
pub(crate) fn printable(text: &str) -> bool {
    let mut non_ascii = false;
    let ascii_ok = text.as_bytes().chunks(64).all(|chunk| {
        // Printable ASCII and line feeds, the common case, in a loop that
        // vectorizes; tabs, CRs and non-ASCII bytes take the slow path.
        let plain = chunk.iter().fold(0u8, |bad, &c| {
            bad | u8::from(c >= 0x7f) | u8::from(c < 0x20 && c != b'\n')
        }) == 0;
        if plain {
            return true;
        }
        let (bad, high) = chunk.iter().fold((0u8, 0u8), |(bad, high), &c| {
            (
                bad | u8::from(c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r'))
                    | u8::from(c == 0x7f),
                high | (c & 0x80),
            )
        });
        non_ascii |= high != 0;
        bad == 0
    });
    ascii_ok
        && (!non_ascii
            || !text.chars().any(|c| {
                matches!(c, '\u{80}'..='\u{84}' | '\u{86}'..='\u{9f}' | '\u{fffe}' | '\u{ffff}')
            }))
}

/// Where a file meant to hold one YAML document holds a marker that ends it
/// early or starts another (`...`, or a `---` after content): everything
/// after such a marker is ignored or taken as another document, so a reader
/// of desired state must refuse it rather than act on the part before it.
/// A `---` before any content (a common first line) is fine.
pub(crate) fn second_document(text: &str) -> Option<(usize, &'static str)> {
    let mut offset = 0;
    let mut content = false;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let marker = |m: &str| {
            body.strip_prefix(m)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
        };
        if marker("...") {
            return Some((
                offset,
                "a `...` marker ends the YAML document here: what follows would be left out",
            ));
        }
        if marker("---") {
            if content {
                return Some((
                    offset,
                    "a `---` marker starts a second YAML document here: the file must hold one",
                ));
            }
            let rest = body[3..].trim_start();
            content = !rest.is_empty() && !rest.starts_with('#');
        } else {
            let t = body.trim_start();
            content |= !t.is_empty() && !t.starts_with('#');
        }
        offset += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::second_document;

    #[test]
    fn one_document_or_where_the_second_starts() {
        for ok in [
            "",
            "a: 1\n",
            "---\na: 1\n",
            "# c\n---\na: 1\n",
            "a: |\n  ---\n  ...\n",
            "a: ----\nb: ...x\n",
        ] {
            assert_eq!(second_document(ok), None, "{ok:?}");
        }
        for (bad, at) in [
            ("a:\n- 1\n...\n- 2\n", 7),
            ("a: 1\n---\nb: 2\n", 5),
            ("--- a: 1\n---\n", 9),
            ("a: 1\n...", 5),
            ("a: 1\r\n--- \r\n", 6),
        ] {
            assert_eq!(second_document(bad).map(|(o, _)| o), Some(at), "{bad:?}");
        }
    }

    /// The set the full parser refuses, character by character.
    #[test]
    fn printable_matches_the_full_parser() {
        for c in (0u32..0x11_0000).filter_map(char::from_u32) {
            // Line breaks end the block line; they are not about printability.
            if matches!(c, '\n' | '\r') {
                continue;
            }
            let text = format!("k: |\n  a{c}b\n");
            assert_eq!(
                super::printable(&text),
                super::full::parse(&text).is_ok(),
                "U+{:04X}",
                c as u32
            );
        }
    }
}
