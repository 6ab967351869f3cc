//! YAML as the authenticator's yaml.v2 reads it: a node tree with source spans,
//! built by a fast line-oriented parser for the usual block style or by the full
//! parser for everything else.

pub(crate) mod fast;
pub(crate) mod full;
pub(crate) mod json;
pub(crate) mod resolve;
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

#[cfg(test)]
mod tests {
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
