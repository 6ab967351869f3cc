//! Literal block scalars (`mapRoles: |`): where the body lies, and how decoded
//! positions and inserted text map onto manifest lines.
//!
//! Each decoded line is one body line minus the block's indentation, so an edit of
//! whole decoded lines becomes an edit of whole manifest lines and every other
//! byte of the manifest stays as it was.

use std::ops::Range;

/// How trailing line feeds are kept (`|-` strip, `|` clip, `|+` keep).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chomp {
    Strip,
    Clip,
    Keep,
}

/// The layout of a literal block scalar in a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Literal {
    /// Column of the key that owns the block.
    pub(crate) parent_col: usize,
    /// Indentation of the content.
    pub(crate) indent: usize,
    pub(crate) chomp: Chomp,
    /// Offset of the `|` indicator.
    pub(crate) indicator: usize,
    /// From the first body line to the start of the first line after the block.
    pub(crate) body: Range<usize>,
    /// End of the value: the last text line (before its line feed), or with keep
    /// chomping the last body line.
    pub(crate) end: usize,
    /// The last body line ends with a line feed (not so for a block that ends
    /// the file without one: YAML then adds no final line break).
    pub(crate) final_break: bool,
}

fn line_end(text: &str, from: usize) -> usize {
    memchr::memchr(b'\n', &text.as_bytes()[from..]).map_or(text.len(), |i| from + i)
}

fn next_line(text: &str, from: usize) -> usize {
    let e = line_end(text, from);
    if e < text.len() { e + 1 } else { e }
}

fn spaces(line: &str) -> usize {
    line.bytes().take_while(|&b| b == b' ').count()
}

/// How many line feeds `b` holds (a loop that vectorizes).
fn count_line_feeds(b: &[u8]) -> usize {
    // Byte sums per 64-byte chunk (they cannot overflow) vectorize; a
    // filtered count does not.
    b.chunks(64)
        .map(|c| usize::from(c.iter().fold(0u8, |n, &x| n + u8::from(x == b'\n'))))
        .sum()
}

/// The start of the line `n` line feeds after `from` (`n` > 0), if the text
/// has that many.
fn nth_line(b: &[u8], from: usize, n: usize) -> Option<usize> {
    let (mut pos, mut left) = (from, n);
    // Whole chunks that hold fewer line feeds than are left, counted at once.
    while let Some(chunk) = b.get(pos..pos + 64) {
        let c = count_line_feeds(chunk);
        if c >= left {
            break;
        }
        left -= c;
        pos += 64;
    }
    for _ in 0..left {
        pos += memchr::memchr(b'\n', b.get(pos..)?)? + 1;
    }
    Some(pos)
}

fn is_blank(line: &str) -> bool {
    line.bytes().all(|b| b == b' ' || b == b'\r')
}

impl Literal {
    /// Reads the header at `indicator` (the `|`) and finds the body.
    pub(crate) fn locate(text: &str, indicator: usize, parent_col: usize) -> Option<Literal> {
        Literal::scan(text, indicator, parent_col, None)
    }

    /// [`Literal::locate`] and [`Literal::decode`] in one pass over the body.
    pub(crate) fn locate_decoded(
        text: &str,
        indicator: usize,
        parent_col: usize,
    ) -> Option<(Literal, String)> {
        let mut decoded = String::new();
        let literal = Literal::scan(text, indicator, parent_col, Some(&mut decoded))?;
        Some((literal, decoded))
    }

    fn scan(
        text: &str,
        indicator: usize,
        parent_col: usize,
        mut out: Option<&mut String>,
    ) -> Option<Literal> {
        let header_end = line_end(text, indicator);
        let header = &text[indicator..header_end];
        // A lone CR is a line break to YAML; this layout works on LF lines only.
        let any_cr = memchr::memchr(b'\r', text.as_bytes()).is_some();
        // Only the one CR of a CRLF may end a line: `\r\r\n` is two line breaks.
        let lone_cr = |s: &str| any_cr && s.strip_suffix('\r').unwrap_or(s).contains('\r');
        if lone_cr(header) {
            return None;
        }
        let mut chars = header[1..].chars().peekable();
        let (mut chomp, mut explicit) = (Chomp::Clip, None);
        for _ in 0..2 {
            match chars.peek() {
                Some('-') => chomp = Chomp::Strip,
                Some('+') => chomp = Chomp::Keep,
                Some(c @ '1'..='9') => explicit = c.to_digit(10).map(|d| d as usize),
                _ => break,
            }
            chars.next();
        }
        let rest: String = chars.collect();
        let rest = rest.trim_start_matches([' ', '\t']);
        if !(rest.is_empty() || rest.starts_with('#') || rest == "\r") {
            return None;
        }
        let body_start = next_line(text, indicator);
        let mut indent = explicit.map(|d| parent_col + d);
        let mut pos = body_start;
        let mut last_text: Option<Range<usize>> = None;
        let mut end_of_body = body_start;
        let mut leading_spaces = 0;
        // Decoding as it goes: empty lines are held back until text follows.
        let mut pending_breaks = 0usize;
        let mut any_text = false;
        // Line breaks from the last text line's own on (every one in the body
        // while there is no text). A last line that ends the file without a
        // line feed brings no break: YAML (yaml.v2 and libyaml) then ends the
        // value without one, whatever the chomping.
        let mut breaks = 0usize;
        let mut last_break = false;
        if let Some(out) = out.as_deref_mut() {
            out.reserve(text.len().saturating_sub(body_start).min(1 << 24));
        }
        let bytes = text.as_bytes();
        let mut newlines = memchr::memchr_iter(b'\n', &bytes[body_start.min(bytes.len())..]);
        while pos < text.len() {
            let e = newlines.next().map_or(text.len(), |i| body_start + i);
            let line = &text[pos..e];
            if lone_cr(line) {
                return None;
            }
            let sp = spaces(line);
            // Without CRs a line is blank when it is all spaces.
            let blank = if any_cr {
                is_blank(line)
            } else {
                sp == line.len()
            };
            let is_text = match indent {
                None if blank => {
                    leading_spaces = leading_spaces.max(sp);
                    false
                }
                None => {
                    if sp <= parent_col {
                        break;
                    }
                    // YAML refuses leading blank lines indented deeper than the text.
                    if leading_spaces > sp {
                        return None;
                    }
                    indent = Some(sp);
                    true
                }
                Some(n) => {
                    if !blank && sp < n {
                        break;
                    }
                    !blank || sp > n
                }
            };
            // A CR ends a line for YAML too (only a CRLF's is kept here).
            let has_break = e < text.len() || line.ends_with('\r');
            last_break = has_break;
            if is_text {
                last_text = Some(pos..e);
                if let Some(out) = out.as_deref_mut() {
                    let content = &line[indent.unwrap_or(sp)..];
                    if any_text {
                        out.push('\n');
                    }
                    for _ in 0..pending_breaks {
                        out.push('\n');
                    }
                    out.push_str(content.strip_suffix('\r').unwrap_or(content));
                }
                pending_breaks = 0;
                any_text = true;
                breaks = usize::from(has_break);
            } else if has_break {
                pending_breaks += 1;
                breaks += 1;
            }
            pos = if e < text.len() { e + 1 } else { e };
            end_of_body = pos;
        }
        let indent = indent.unwrap_or(parent_col + 2);
        let end = match (chomp, &last_text) {
            // No body line at all: the value ends with its header.
            (Chomp::Keep, _) if end_of_body == body_start => indicator + header.trim_end().len(),
            // Up to the last line break, which belongs to the line after.
            (Chomp::Keep, _) if last_break => end_of_body
                .saturating_sub(1)
                .max(body_start)
                .min(text.len()),
            (Chomp::Keep, _) => end_of_body.max(body_start).min(text.len()),
            (_, Some(l)) => l.end,
            (_, None) => indicator + header.trim_end().len(),
        };
        let body = match &last_text {
            None if chomp != Chomp::Keep => body_start..body_start,
            _ => body_start..end_of_body,
        };
        if let Some(out) = out {
            match (any_text, chomp) {
                (_, Chomp::Keep) => out.push_str(&"\n".repeat(breaks)),
                (false, _) | (true, Chomp::Strip) => {}
                (true, Chomp::Clip) => {
                    if breaks > 0 {
                        out.push('\n');
                    }
                }
            }
        }
        Some(Literal {
            parent_col,
            indent,
            chomp,
            indicator,
            body,
            end,
            final_break: last_break || body_start >= text.len(),
        })
    }

    /// The body lines that carry decoded lines: `(line start, content)` for each,
    /// up to and including the last text line (or every body line with keep).
    fn lines<'t>(&self, text: &'t str) -> impl Iterator<Item = (usize, &'t str)> + 't {
        self.lines_from(text, self.body.start)
    }

    /// [`Literal::lines`] from the body line that starts at `pos` on.
    fn lines_from<'t>(
        &self,
        text: &'t str,
        mut pos: usize,
    ) -> impl Iterator<Item = (usize, &'t str)> + 't {
        let limit = if self.chomp == Chomp::Keep {
            self.body.end
        } else {
            self.end
        };
        let (body_end, indent) = (self.body.end, self.indent);
        let mut done = pos >= body_end || pos > limit;
        // One scan for all the line feeds from the body on (a `memchr` per line
        // costs more in setting up than in searching these short lines).
        let from = pos.min(text.len());
        let mut newlines = memchr::memchr_iter(b'\n', &text.as_bytes()[from..]);
        std::iter::from_fn(move || {
            if done {
                return None;
            }
            let e = newlines.next().map_or(text.len(), |i| from + i);
            let line = &text[pos..e];
            let content = if is_blank(line) && spaces(line) <= indent {
                ""
            } else {
                line.get(indent..).unwrap_or("")
            };
            let item = (pos, content.strip_suffix('\r').unwrap_or(content));
            pos = if e < text.len() { e + 1 } else { e };
            done = e >= limit || pos >= body_end;
            Some(item)
        })
    }

    /// The decoded value, reconstructed from the layout.
    pub(crate) fn decode(&self, text: &str) -> String {
        let mut s = String::with_capacity(self.body.len());
        let mut pending_breaks = 0usize;
        let mut any_text = false;
        let mut lines = 0usize;
        for (_, content) in self.lines(text) {
            lines += 1;
            if content.is_empty() {
                pending_breaks += 1;
                continue;
            }
            if any_text {
                s.push('\n');
            }
            for _ in 0..pending_breaks {
                s.push('\n');
            }
            pending_breaks = 0;
            s.push_str(content);
            any_text = true;
        }
        // The last body line brings no line break when it ends the file.
        let missing = usize::from(!self.final_break);
        match (any_text, self.chomp) {
            (false, Chomp::Keep) => s.push_str(&"\n".repeat(lines - missing.min(lines))),
            (false, _) | (true, Chomp::Strip) => {}
            (true, Chomp::Clip) => {
                if pending_breaks + 1 > missing {
                    s.push('\n');
                }
            }
            (true, Chomp::Keep) => s.push_str(&"\n".repeat(1 + pending_breaks - missing)),
        }
        s
    }

    /// Manifest offsets of sorted decoded offsets: a line start maps to the start
    /// of its manifest line (before the indentation), anything else into the line.
    pub(crate) fn locate_offsets(&self, text: &str, targets: &[usize]) -> Vec<Option<usize>> {
        self.locate_from(text, targets, (self.body.start, 0, None))
    }

    /// [`Literal::locate_offsets`] given the decoded value, which it skips
    /// through to the line of the first target by counting line feeds (decoded
    /// line k is body line k) instead of decoding every line before it.
    pub(crate) fn locate_offsets_in(
        &self,
        text: &str,
        decoded: &str,
        targets: &[usize],
    ) -> Vec<Option<usize>> {
        let first = targets.first().map_or(0, |&t| t.min(decoded.len()));
        let k = count_line_feeds(&decoded.as_bytes()[..first]);
        let skipped = (k > 0)
            .then(|| {
                let start = nth_line(text.as_bytes(), self.body.start, k)?;
                let before =
                    memchr::memrchr(b'\n', &text.as_bytes()[..start - 1]).map_or(0, |i| i + 1);
                let d = memchr::memrchr(b'\n', &decoded.as_bytes()[..first])? + 1;
                Some((start, d, Some(before)))
            })
            .flatten();
        let found = match skipped {
            Some(from) => self.locate_from(text, targets, from),
            None => self.locate_offsets(text, targets),
        };
        // Tests and fuzzing hold the shortcut to the line-by-line walk.
        #[cfg(any(test, feature = "fuzzing"))]
        assert_eq!(
            found,
            self.locate_offsets(text, targets),
            "skipping lines went astray"
        );
        found
    }

    /// The walk of [`Literal::locate_offsets`] from a body line: its start, the
    /// decoded offset of its start, and the start of the line before it.
    fn locate_from(
        &self,
        text: &str,
        targets: &[usize],
        (from, mut d, mut last_start): (usize, usize, Option<usize>),
    ) -> Vec<Option<usize>> {
        let mut found = vec![None; targets.len()];
        let mut t = 0;
        for (start, content) in self.lines_from(text, from) {
            if t == targets.len() {
                break;
            }
            last_start = Some(start);
            let len = content.len();
            while t < targets.len() && targets[t] <= d + len {
                let col = targets[t] - d;
                found[t] = Some(if col == 0 {
                    start
                } else {
                    start + self.indent + col
                });
                t += 1;
            }
            d += len + 1;
        }
        // Just past the last decoded line feed: the line after the last text line.
        while t < targets.len() {
            if targets[t] == d {
                found[t] = Some(match last_start {
                    Some(s) if !self.body.is_empty() => next_line(text, s),
                    _ => self.body.start,
                });
            }
            t += 1;
        }
        found
    }

    /// Text to put into the manifest for decoded `replacement`. `line_start` says
    /// the replaced range starts at a line start (its indentation was removed too).
    pub(crate) fn encode(&self, replacement: &str, line_start: bool) -> String {
        let pad = " ".repeat(self.indent);
        let mut s = String::with_capacity(replacement.len() + 16);
        for (i, segment) in replacement.split('\n').enumerate() {
            if i > 0 {
                s.push('\n');
            }
            if !segment.is_empty() && (i > 0 || line_start) {
                s.push_str(&pad);
            }
            s.push_str(segment);
        }
        s
    }
}

/// Characters a literal block cannot hold.
fn literal_safe(text: &str) -> bool {
    text.chars().all(|c| {
        c == '\n'
            || c == '\t'
            || !(c.is_control() || c == '\u{FEFF}' || c == '\u{2028}' || c == '\u{2029}')
    })
}

/// A whole literal block for `text` (indicator to the end of the last line, without
/// the final line feed), or `None` when a literal block cannot hold it.
pub(crate) fn render(text: &str, parent_col: usize, indent: usize) -> Option<String> {
    if text.is_empty() || !literal_safe(text) || indent <= parent_col {
        return None;
    }
    let trailing = text.len() - text.trim_end_matches('\n').len();
    let body = text.trim_end_matches('\n');
    if body.is_empty() {
        return None;
    }
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    // The indentation is detected from the first line with text: one that
    // starts with a space, or a blank line before it that holds spaces (YAML
    // refuses those deeper than the text), needs it given explicitly.
    let first_text = body.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let spaced_lead = body
        .lines()
        .take_while(|l| l.trim().is_empty())
        .any(|l| !l.is_empty());
    let indicator = if first_text.starts_with(' ') || spaced_lead {
        format!("{}", indent - parent_col)
    } else {
        String::new()
    };
    if indicator.len() > 1 {
        return None;
    }
    let pad = " ".repeat(indent);
    let mut s = format!("|{indicator}{chomp}");
    for line in body.split('\n') {
        s.push('\n');
        if !line.is_empty() {
            s.push_str(&pad);
            s.push_str(line);
        }
    }
    for _ in 1..trailing {
        s.push('\n');
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(text: &str) -> Literal {
        let indicator = text.find('|').unwrap();
        let l = Literal::locate(text, indicator, 2).unwrap();
        let (l2, decoded) = Literal::locate_decoded(text, indicator, 2).unwrap();
        assert_eq!(
            (&l2, decoded.as_str()),
            (&l, l.decode(text).as_str()),
            "{text:?}"
        );
        l
    }

    #[test]
    fn finds_the_body_and_decodes_it() {
        let text = "data:\n  mapRoles: |\n    - a\n\n      b\n  \n  mapUsers: x\n";
        let l = layout(text);
        assert_eq!(l.indent, 4);
        assert_eq!(l.decode(text), "- a\n\n  b\n");
        assert_eq!(&text[l.body.clone()], "    - a\n\n      b\n  \n");
        assert_eq!(&text[l.indicator..l.end], "|\n    - a\n\n      b");
    }

    #[test]
    fn chomping_and_explicit_indentation() {
        let text = "d:\n  k: |2-\n      x\n    y\n\n";
        let l = layout(text);
        assert_eq!((l.indent, l.chomp), (4, Chomp::Strip));
        assert_eq!(l.decode(text), "  x\ny");
        let text = "d:\n  k: |+\n    x\n\n\n";
        assert_eq!(layout(text).decode(text), "x\n\n\n");
        // At the end of the file without a line feed there is no final line
        // break (yaml.v2: "x"), whatever the chomping.
        let text = "d:\n  k: |\n    x";
        assert_eq!(layout(text).decode(text), "x");
        let text = "d:\n  k: |+\n    x\n\n  ";
        assert_eq!(layout(text).decode(text), "x\n\n");
        let text = "d:\n  k: |+\n    x";
        assert_eq!(layout(text).decode(text), "x");
        let text = "d:\n  k: |\n  other: 1\n";
        let l = layout(text);
        assert_eq!(l.decode(text), "");
        assert!(l.body.is_empty());
    }

    #[test]
    fn locates_line_starts_and_columns() {
        let text = "d:\n  k: |\n    ab\n    cd\n  n: 1\n";
        let l = layout(text);
        let at = l.locate_offsets(text, &[0, 1, 3, 5, 6]);
        let line2 = text.find("    cd").unwrap();
        assert_eq!(
            at,
            [
                Some(text.find("    ab").unwrap()),
                Some(text.find("b\n").unwrap()),
                Some(line2),
                Some(line2 + 6),
                Some(text.find("  n:").unwrap())
            ]
        );
        assert_eq!(l.encode("x\n\ny\n", true), "    x\n\n    y\n");
        assert_eq!(l.encode("\n- z", false), "\n    - z");
    }

    #[test]
    fn render_round_trips() {
        for text in ["- a\n", "- a", "- a\n\n", " lead\n", "x\n  y\n"] {
            let token = render(text, 2, 4).unwrap();
            let manifest = format!("d:\n  k: {token}\n  n: 1\n");
            let l = Literal::locate(&manifest, manifest.find('|').unwrap(), 2).unwrap();
            assert_eq!(l.decode(&manifest), text, "{token}");
        }
        assert!(render("bell\u{7}", 2, 4).is_none());
    }
}
