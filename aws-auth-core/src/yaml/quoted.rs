//! Quoted scalars: decoding with a map back to source bytes, and encoding.
//!
//! `kubectl edit` writes `mapRoles` as one double-quoted, folded scalar as soon as
//! any line has trailing spaces; CDK writes it as a single-quoted JSON line. To edit
//! such a value in place, a position in the decoded text has to be found in the
//! source. A scan splits the token into pieces (verbatim runs, escapes, folds) and
//! positions are mapped piece by piece; a position inside an escape or a fold that
//! yields several line feeds has no single source position and maps to `None`.

use std::borrow::Cow;

/// One piece of a quoted scalar's body: source from `src` (an offset in the
/// token) produced `out`. `verbatim` pieces produce exactly their source bytes.
struct Piece<'a> {
    src: usize,
    out: Cow<'a, str>,
    verbatim: bool,
}

fn is_break(b: u8) -> bool {
    b == b'\n' || b == b'\r'
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Splits a quoted token (quotes included) into pieces. `None` when the token is
/// not well formed (the full parser has accepted it, so this does not happen).
fn pieces(token: &str, double: bool) -> Option<Vec<Piece<'_>>> {
    let b = token.as_bytes();
    let quote = if double { b'"' } else { b'\'' };
    if b.len() < 2 || b[0] != quote || b[b.len() - 1] != quote {
        return None;
    }
    let end = b.len() - 1;
    let mut out = Vec::new();
    let mut i = 1;
    while i < end {
        let c = b[i];
        if is_blank(c) {
            let start = i;
            while i < end && is_blank(b[i]) {
                i += 1;
            }
            if i < end && is_break(b[i]) {
                i = fold(b, start, i, end, &mut out);
            } else {
                out.push(Piece {
                    src: start,
                    out: Cow::Borrowed(&token[start..i]),
                    verbatim: true,
                });
            }
        } else if is_break(c) {
            i = fold(b, i, i, end, &mut out);
        } else if double && c == b'\\' {
            let (len, decoded) = escape(token, i)?;
            out.push(Piece {
                src: i,
                out: decoded,
                verbatim: false,
            });
            i += len;
        } else if !double && c == b'\'' {
            if b.get(i + 1) != Some(&b'\'') {
                return None;
            }
            out.push(Piece {
                src: i,
                out: Cow::Borrowed("'"),
                verbatim: false,
            });
            i += 2;
        } else {
            let start = i;
            while i < end {
                let c = b[i];
                if is_blank(c) || is_break(c) || (double && c == b'\\') || (!double && c == b'\'') {
                    break;
                }
                i += 1;
            }
            out.push(Piece {
                src: start,
                out: Cow::Borrowed(&token[start..i]),
                verbatim: true,
            });
        }
    }
    Some(out)
}

/// A line fold: trailing blanks from `start`, line breaks at `at`, blank lines and
/// the next line's indentation. One break reads as a space, n breaks as n-1 line feeds.
fn fold(b: &[u8], start: usize, mut at: usize, end: usize, out: &mut Vec<Piece<'_>>) -> usize {
    let mut breaks = 0;
    while at < end && is_break(b[at]) {
        at += if b[at] == b'\r' && b.get(at + 1) == Some(&b'\n') {
            2
        } else {
            1
        };
        breaks += 1;
        while at < end && is_blank(b[at]) {
            at += 1;
        }
    }
    out.push(Piece {
        src: start,
        out: if breaks == 1 {
            Cow::Borrowed(" ")
        } else {
            Cow::Owned("\n".repeat(breaks - 1))
        },
        verbatim: false,
    });
    at
}

/// A double-quoted escape at `i` (the backslash): its length and what it yields.
fn escape(token: &str, i: usize) -> Option<(usize, Cow<'_, str>)> {
    let b = token.as_bytes();
    let c = *b.get(i + 1)?;
    let simple = |s: &'static str| Some((2, Cow::Borrowed(s)));
    match c {
        b'0' => simple("\0"),
        b'a' => simple("\x07"),
        b'b' => simple("\x08"),
        b't' | b'\t' => simple("\t"),
        b'n' => simple("\n"),
        b'v' => simple("\x0B"),
        b'f' => simple("\x0C"),
        b'r' => simple("\r"),
        b'e' => simple("\x1B"),
        b' ' => simple(" "),
        b'"' => simple("\""),
        // yaml.v2's set (libyaml's): `\'` is one, YAML 1.2's `\/` is not.
        b'\'' => simple("'"),
        b'\\' => simple("\\"),
        b'N' => simple("\u{85}"),
        b'_' => simple("\u{A0}"),
        b'L' => simple("\u{2028}"),
        b'P' => simple("\u{2029}"),
        b'x' | b'u' | b'U' => {
            let width = match c {
                b'x' => 2,
                b'u' => 4,
                _ => 8,
            };
            let hex = token.get(i + 2..i + 2 + width)?;
            let ch = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
            Some((2 + width, Cow::Owned(ch.to_string())))
        }
        b'\r' | b'\n' => {
            // An escaped line break: nothing, and the next line's indentation
            // goes too. Blank lines right after it are not folded: yaml.v2
            // keeps each as a line feed.
            let mut j = i + 1;
            let mut kept = 0;
            loop {
                j += if b[j] == b'\r' && b.get(j + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                while j < b.len() - 1 && is_blank(b[j]) {
                    j += 1;
                }
                if j < b.len() - 1 && is_break(b[j]) {
                    kept += 1;
                } else {
                    break;
                }
            }
            Some((j - i, Cow::Owned("\n".repeat(kept))))
        }
        _ => None,
    }
}

/// Decodes a quoted token.
pub(crate) fn decode(token: &str, double: bool) -> Option<String> {
    let pieces = pieces(token, double)?;
    let mut s = String::with_capacity(token.len());
    for p in &pieces {
        s.push_str(&p.out);
    }
    Some(s)
}

/// Maps sorted decoded byte offsets to token byte offsets (`None` where a position
/// has no single place in the source).
pub(crate) fn locate(token: &str, double: bool, targets: &[usize]) -> Vec<Option<usize>> {
    let mut found = vec![None; targets.len()];
    let Some(pieces) = pieces(token, double) else {
        return found;
    };
    let mut t = 0;
    let mut d = 0;
    for p in &pieces {
        let len = p.out.len();
        while t < targets.len() && targets[t] < d {
            t += 1;
        }
        // Positions strictly inside this piece, or at its start.
        while t < targets.len() && targets[t] < d + len {
            let inner = targets[t] - d;
            found[t] = if inner == 0 {
                Some(p.src)
            } else if p.verbatim {
                Some(p.src + inner)
            } else {
                None
            };
            t += 1;
        }
        // A piece that yields nothing (an escaped line break) shares its position
        // with the next piece; the first place wins.
        while len == 0 && t < targets.len() && targets[t] == d {
            found[t] = Some(p.src);
            t += 1;
        }
        d += len;
    }
    // The end of the text: just before the closing quote.
    while t < targets.len() {
        if targets[t] == d {
            found[t] = Some(token.len() - 1);
        }
        t += 1;
    }
    found
}

/// Escapes text for insertion into a double-quoted scalar, on one line. Blanks at
/// either end are escaped so that no fold around the insertion can strip them.
pub(crate) fn escape_double(text: &str) -> String {
    let mut s = String::with_capacity(text.len() + 8);
    let last = text.chars().count().saturating_sub(1);
    for (i, c) in text.chars().enumerate() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\t' => s.push_str("\\t"),
            ' ' if i == 0 || i == last => s.push_str("\\x20"),
            '\r' => s.push_str("\\r"),
            '\u{2028}' => s.push_str("\\L"),
            '\u{2029}' => s.push_str("\\P"),
            c if (c as u32) < 0x20
                || c == '\u{7F}'
                || ('\u{80}'..='\u{9F}').contains(&c)
                || c == '\u{FEFF}' =>
            {
                if (c as u32) <= 0xFF {
                    s.push_str(&format!("\\x{:02X}", c as u32));
                } else {
                    s.push_str(&format!("\\u{:04X}", c as u32));
                }
            }
            c => s.push(c),
        }
    }
    s
}

/// A whole double-quoted token for `text`.
pub(crate) fn render_double(text: &str) -> String {
    format!("\"{}\"", escape_double(text))
}

/// Escapes text for a single-quoted scalar, when it fits on one line without
/// blanks at its ends (which a fold could strip).
pub(crate) fn escape_single(text: &str) -> Option<String> {
    let printable = text.chars().all(|c| {
        c == '\t' || (!c.is_control() && c != '\u{FEFF}' && c != '\u{2028}' && c != '\u{2029}')
    });
    if !printable || text.starts_with([' ', '\t']) || text.ends_with([' ', '\t']) {
        return None;
    }
    Some(text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_edit_style_decodes_and_locates() {
        // What kubectl writes when a line has trailing spaces.
        let token = "\"- groups:\\n  - system:masters\\n  userarn: arn:aws:iam::111122223333:user/admin\\n\n    \\ username: admin\\n- groups:\\n  - eks-console-dashboard-restricted-access-group\n    \\     \\n\"";
        let text = decode(token, true).unwrap();
        assert_eq!(
            text,
            "- groups:\n  - system:masters\n  userarn: arn:aws:iam::111122223333:user/admin\n  username: admin\n- groups:\n  - eks-console-dashboard-restricted-access-group      \n"
        );
        let line3 = text.find("  username").unwrap();
        let line4 = text.find("- groups:\n  - eks").unwrap();
        let at = locate(token, true, &[0, line3, line4, text.len()]);
        assert_eq!(at[0], Some(1));
        // Line 3 starts with the folded line break.
        assert_eq!(&token[at[1].unwrap()..at[1].unwrap() + 1], "\n");
        assert_eq!(&token[at[2].unwrap()..at[2].unwrap() + 8], "- groups");
        assert_eq!(at[3], Some(token.len() - 1));

        // Removing lines 3..4 and inserting text keeps the rest intact.
        let mut edited = String::new();
        edited.push_str(&token[..at[1].unwrap()]);
        edited.push_str(&escape_double("- inserted\n"));
        edited.push_str(&token[at[2].unwrap()..]);
        let decoded = decode(&edited, true).unwrap();
        assert_eq!(decoded, text.replace("  username: admin\n", "- inserted\n"));
    }

    #[test]
    fn folds_and_escaped_breaks() {
        assert_eq!(decode("\"a  \n   b\"", true).unwrap(), "a b");
        assert_eq!(decode("\"a\n\n\n  b\"", true).unwrap(), "a\n\nb");
        assert_eq!(decode("\"a \\\n   b\"", true).unwrap(), "a b");
        assert_eq!(decode("\"\\x41\\u00e9\\t\"", true).unwrap(), "Aé\t");
        assert_eq!(decode("'it''s\n  here'", false).unwrap(), "it's here");
        // The middle of a two-line-feed fold has no single source position.
        assert_eq!(
            locate("\"a\n\n\nb\"", true, &[1, 2, 3]),
            [Some(2), None, Some(5)]
        );
    }

    #[test]
    fn escaping_round_trips() {
        for text in [
            "plain",
            " lead",
            "trail ",
            "tab\tin",
            "quote\"back\\slash",
            "nl\n",
            "\u{1}\u{85}\u{2028}é",
        ] {
            assert_eq!(
                decode(&render_double(text), true).unwrap(),
                text,
                "{text:?}"
            );
        }
        assert_eq!(escape_single("it's").unwrap(), "it''s");
        assert!(escape_single("two\nlines").is_none());
        assert!(escape_single(" lead").is_none());
    }
}
