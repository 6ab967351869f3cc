//! A line-oriented parser for the block style nearly every aws-auth map uses.
//!
//! It accepts a deliberately small grammar: a block list of block mappings whose
//! values are one-line scalars, `[]`, or block lists of one-line scalars, with
//! comments and blank lines anywhere. It builds exactly the tree the full parser
//! builds (the property tests compare them) and returns `None` at the first thing
//! outside that grammar, leaving the text to the full parser. ASCII only; no tabs,
//! carriage returns, flow collections (but `[]`), block scalars, anchors, tags,
//! directives or multi-line scalars.

use super::tree::{Builder, ScalarStyle, ScalarText, Tree};

/// A key's token (start, end), style, and the offset after its `:`.
type Key = (usize, usize, ScalarStyle, usize);

/// One line: where it starts, its indentation and where it ends (before `\n`).
#[derive(Debug, Clone, Copy)]
struct Line {
    start: usize,
    indent: usize,
    end: usize,
}

impl Line {
    fn content(&self) -> usize {
        self.start + self.indent
    }
}

struct Parser<'t> {
    text: &'t str,
    b: &'t [u8],
    /// Start of the next unread line.
    pos: usize,
    /// The line feeds ahead, found by one continuous scan from `newline_base`.
    newlines: memchr::Memchr<'t>,
    newline_base: usize,
    peeked: Option<Line>,
    builder: Builder,
    /// A plain scalar or key starts like null or a special float.
    may_fail: bool,
}

/// Parses `text` if it is in the fast grammar.
pub(crate) fn parse(text: &str) -> Option<Tree> {
    parse_in(text, 1)
}

/// [`parse`], cutting the text into about `pieces` pieces at top-level items,
/// parsing each on its own and joining the trees. In this grammar a line with a
/// `-` at the list's own column always starts a new top-level item, and nothing
/// in an item depends on the items around it, so the joined tree is the tree of
/// the whole text: what `crate::reread` relies on, and what the tests check here.
pub(crate) fn parse_in(text: &str, pieces: usize) -> Option<Tree> {
    let b = text.as_bytes();
    if text.len() > u32::MAX as usize || !plain_ascii(b) {
        return None;
    }
    let cuts = cut_points(b, pieces);
    if cuts.is_empty() {
        return parse_range(text, 0..text.len());
    }
    let bounds: Vec<(usize, usize)> = std::iter::once(0)
        .chain(cuts.iter().copied())
        .zip(cuts.iter().copied().chain(std::iter::once(text.len())))
        .collect();
    let parts = bounds
        .iter()
        .map(|&(from, to)| parse_range(text, from..to))
        .collect::<Option<Vec<Tree>>>()?;
    Tree::join_seqs(parts)
}

/// The first line that is neither blank nor a comment: where it starts and its
/// indentation, which for a text in this grammar is the list's column.
pub(crate) fn list_column(b: &[u8]) -> Option<(usize, usize)> {
    let mut start = 0;
    for line in b.split(|&c| c == b'\n') {
        let indent = line.iter().take_while(|&&c| c == b' ').count();
        if indent < line.len() && line[indent] != b'#' {
            return Some((start, indent));
        }
        start += line.len() + 1;
    }
    None
}

/// The line starting at `at` is a `-` at column `col`: in this grammar, the start
/// of a top-level item when `col` is the list's column.
pub(crate) fn is_item(b: &[u8], at: usize, col: usize) -> bool {
    let line = b.get(at..).unwrap_or_default();
    line.len() > col
        && line[..col].iter().all(|&c| c == b' ')
        && line[col] == b'-'
        && matches!(line.get(col + 1), None | Some(b' ' | b'\n'))
}

/// [`parse`] of the whole lines in `range` of `text` as a document of their own,
/// with offsets into `text`.
pub(crate) fn parse_lines(text: &str, range: std::ops::Range<usize>) -> Option<Tree> {
    let piece = text.as_bytes().get(range.clone())?;
    if text.len() > u32::MAX as usize || !plain_ascii(piece) {
        return None;
    }
    parse_range(text, range)
}

/// Starts of top-level items (lines with `-` at the column of the first item)
/// near `pieces` evenly spaced offsets, in order, without the first.
fn cut_points(b: &[u8], pieces: usize) -> Vec<usize> {
    let mut cuts = Vec::new();
    if pieces < 2 {
        return cuts;
    }
    // The first piece holds the first item.
    let Some((mut from, col)) = list_column(b) else {
        return cuts;
    };
    let is_item = |at: usize| is_item(b, at, col);
    for i in 1..pieces {
        let target = (b.len() / pieces * i).max(from + 1);
        let Some(nl) = memchr::memchr(b'\n', &b[target.min(b.len())..]) else {
            break;
        };
        let mut at = target + nl + 1;
        while at < b.len() && !is_item(at) {
            at = memchr::memchr(b'\n', &b[at..]).map_or(b.len(), |i| at + i + 1);
        }
        if at >= b.len() {
            break;
        }
        cuts.push(at);
        from = at;
    }
    cuts
}

/// Parses the lines of `text` in `range` (whole lines) as a document of their own,
/// with offsets into `text`.
fn parse_range(text: &str, range: std::ops::Range<usize>) -> Option<Tree> {
    let text = &text[..range.end];
    let b = text.as_bytes();
    let mut p = Parser {
        text,
        b,
        pos: range.start,
        newlines: memchr::memchr_iter(b'\n', &b[range.start..]),
        newline_base: range.start,
        peeked: None,
        // Generous: capacity never touched costs no memory.
        builder: Builder::with_capacity(range.len() / 6 + 16),
        may_fail: false,
    };
    if let Some(first) = p.peek()? {
        if !p.is_dash(first) {
            return None;
        }
        p.seq_of_items(first.indent)?;
        if p.peek()?.is_some() {
            return None;
        }
    }
    let may_fail = p.may_fail;
    let mut tree = p.builder.finish();
    tree.simple = true;
    tree.may_fail = may_fail;
    Some(tree)
}

impl<'t> Parser<'t> {
    /// The next line that is neither blank nor a comment. `Err`-like `None` for
    /// lines the grammar excludes (document markers, directives).
    fn peek(&mut self) -> Option<Option<Line>> {
        if let Some(l) = self.peeked {
            return Some(Some(l));
        }
        while self.pos < self.b.len() {
            let start = self.pos;
            let end = self
                .newlines
                .next()
                .map_or(self.b.len(), |i| self.newline_base + i);
            self.pos = if end < self.b.len() { end + 1 } else { end };
            let indent = self.b[start..end]
                .iter()
                .take_while(|&&c| c == b' ')
                .count();
            if start + indent == end || self.b[start + indent] == b'#' {
                continue;
            }
            let line = &self.b[start..end];
            if indent == 0
                && (line.starts_with(b"---") || line.starts_with(b"...") || line[0] == b'%')
            {
                return None;
            }
            let l = Line { start, indent, end };
            self.peeked = Some(l);
            return Some(Some(l));
        }
        Some(None)
    }

    fn take(&mut self) {
        self.peeked = None;
    }

    /// `-` followed by a space or the end of the line.
    fn is_dash(&self, l: Line) -> bool {
        let c = l.content();
        self.b[c] == b'-' && (c + 1 == l.end || self.b[c + 1] == b' ')
    }

    /// The next significant line must not be deeper than `col`: otherwise it would
    /// continue a plain scalar or open something this grammar does not cover.
    fn ends_at(&mut self, col: usize) -> Option<()> {
        match self.peek()? {
            Some(l) if l.indent > col => None,
            _ => Some(()),
        }
    }

    /// The top-level list: items that are mappings or one-line scalars.
    fn seq_of_items(&mut self, col: usize) -> Option<()> {
        let first = self.peek()??;
        self.builder
            .open(false, false, first.content() as u32, None, false);
        while let Some(l) = self.peek()? {
            if l.indent != col || !self.is_dash(l) {
                if l.indent > col {
                    return None;
                }
                break;
            }
            self.take();
            let dash = l.content();
            let after = dash + 1;
            let spaces = self.b[after..l.end]
                .iter()
                .take_while(|&&c| c == b' ')
                .count();
            let content = after + spaces;
            if content == l.end || self.b[content] == b'#' {
                // A bare `-`: a mapping on the following lines, or nothing.
                if spaces == 0 && content < l.end {
                    return None;
                }
                match self.peek()? {
                    Some(next) if next.indent > col => {
                        if self.is_dash(next) {
                            return None;
                        }
                        let key = self.key(next.content(), next.end)?;
                        self.take();
                        self.mapping(key, next.end, next.indent)?;
                    }
                    _ => {
                        // The full parser places an empty item at the end of its line.
                        let at = l.end as u32;
                        self.builder.scalar(
                            ScalarStyle::Plain,
                            ScalarText::Slice(at, at),
                            (at, at),
                            None,
                            false,
                        );
                    }
                }
                continue;
            }
            if self.b[content] == b'-' && (content + 1 == l.end || self.b[content + 1] == b' ') {
                return None;
            }
            match self.key(content, l.end) {
                Some(key) => self.mapping(key, l.end, col + 1 + spaces)?,
                None => {
                    self.scalar(content, l.end)?;
                    self.ends_at(col)?;
                }
            }
        }
        self.builder.close(None);
        Some(())
    }

    /// A key: its token span and style, and the offset just after its `:`.
    fn key(&self, from: usize, end: usize) -> Option<Key> {
        let b = self.b;
        let (tok_end, style) = match b[from] {
            q @ (b'"' | b'\'') => {
                let close = from + 1 + b[from + 1..end].iter().position(|&c| c == q)?;
                if b[from + 1..close].contains(&b'\\') || b.get(close + 1) == Some(&q) {
                    return None;
                }
                let style = if q == b'"' {
                    ScalarStyle::DoubleQuoted
                } else {
                    ScalarStyle::SingleQuoted
                };
                (close + 1, style)
            }
            c if is_plain_start(c) => {
                // The first `:` followed by a space or the end of the line.
                let mut i = from;
                loop {
                    let colon = i + memchr::memchr(b':', &b[i..end])?;
                    if colon + 1 == end || b[colon + 1] == b' ' {
                        let key_end = from + self.text[from..colon].trim_end_matches(' ').len();
                        // One pass: no comment (` #`), quote, bracket or comma.
                        let mut prev = 0u8;
                        for &c in &b[from..key_end] {
                            if matches!(c, b'"' | b'\'' | b'{' | b'[' | b'}' | b']' | b',')
                                || (c == b'#' && prev == b' ')
                            {
                                return None;
                            }
                            prev = c;
                        }
                        return Some((from, key_end, ScalarStyle::Plain, colon + 1));
                    }
                    i = colon + 1;
                }
            }
            _ => return None,
        };
        let rest = &b[tok_end..end];
        let spaces = rest.iter().take_while(|&&c| c == b' ').count();
        let colon = tok_end + spaces;
        if b.get(colon) != Some(&b':')
            || !(colon + 1 == end || b[colon + 1] == b' ')
            || colon >= end
        {
            return None;
        }
        Some((from, tok_end, style, colon + 1))
    }

    /// A block mapping at column `col` whose first key (already read) is on a line
    /// already taken, ending at `end`.
    fn mapping(&mut self, first: Key, end: usize, col: usize) -> Option<()> {
        self.builder.open(true, false, first.0 as u32, None, false);
        let mut line_end = end;
        let mut next_key = Some(first);
        loop {
            let (kstart, kend, kstyle, after_colon) = next_key.take()?;
            let text = match kstyle {
                ScalarStyle::Plain => {
                    // `~:` or `null:` is a null key, which the JSON conversion refuses.
                    self.may_fail |= matches!(self.b[kstart], b'~' | b'n' | b'N');
                    ScalarText::Slice(kstart as u32, kend as u32)
                }
                _ => ScalarText::Slice(kstart as u32 + 1, kend as u32 - 1),
            };
            self.builder
                .scalar(kstyle, text, (kstart as u32, kend as u32), None, false);
            self.value(after_colon, line_end, col)?;
            match self.peek()? {
                Some(l) if l.indent == col && !self.is_dash(l) => {
                    self.take();
                    next_key = Some(self.key(l.content(), l.end)?);
                    line_end = l.end;
                }
                Some(l) if l.indent >= col => return None,
                _ => break,
            }
        }
        self.builder.close(None);
        Some(())
    }

    /// The value after `key:`.
    fn value(&mut self, after_colon: usize, end: usize, col: usize) -> Option<()> {
        let b = self.b;
        let spaces = b[after_colon..end]
            .iter()
            .take_while(|&&c| c == b' ')
            .count();
        let v = after_colon + spaces;
        if v == end || (b[v] == b'#' && spaces > 0) {
            // Nothing on this line: a list of scalars below, or null.
            match self.peek()? {
                Some(l) if l.indent >= col && self.is_dash(l) => {
                    return self.seq_of_scalars(l.indent, l.indent == col);
                }
                Some(l) if l.indent > col => return None,
                _ => {
                    // The full parser places an absent value at the colon.
                    let at = (after_colon - 1) as u32;
                    self.builder.scalar(
                        ScalarStyle::Plain,
                        ScalarText::Slice(at, at),
                        (at, at),
                        None,
                        false,
                    );
                    return Some(());
                }
            }
        }
        if b[v] == b'[' {
            let close = self.flow_list(v, end)?;
            self.trailing(close, end)?;
            return self.ends_at(col);
        }
        self.scalar(v, end)?;
        self.ends_at(col)
    }

    /// A block list of one-line scalars at column `col` (group names).
    /// `indentless` lists (items at their key's column) start, as the full parser
    /// reports them, at the first item's content rather than at its `-`.
    fn seq_of_scalars(&mut self, col: usize, indentless: bool) -> Option<()> {
        let first = self.peek()??;
        let start = if indentless {
            let dash = first.content();
            dash + 1
                + self.b[dash + 1..first.end]
                    .iter()
                    .take_while(|&&c| c == b' ')
                    .count()
        } else {
            first.content()
        };
        self.builder.open(false, false, start as u32, None, false);
        while let Some(l) = self.peek()? {
            if l.indent != col || !self.is_dash(l) {
                if l.indent > col {
                    return None;
                }
                break;
            }
            self.take();
            let dash = l.content();
            let spaces = self.b[dash + 1..l.end]
                .iter()
                .take_while(|&&c| c == b' ')
                .count();
            let content = dash + 1 + spaces;
            if spaces == 0 || content == l.end || self.b[content] == b'#' || self.b[content] == b'-'
            {
                return None;
            }
            self.scalar(content, l.end)?;
            self.ends_at(col)?;
        }
        self.builder.close(None);
        Some(())
    }

    /// A one-line flow list of scalars (`[a, "b"]`) at `open`; returns the offset
    /// after its `]`.
    fn flow_list(&mut self, open: usize, end: usize) -> Option<usize> {
        let b = self.b;
        self.builder.open(false, true, open as u32, None, false);
        let mut i = open + 1;
        let skip = |i: &mut usize| {
            while *i < end && b[*i] == b' ' {
                *i += 1;
            }
        };
        skip(&mut i);
        if b.get(i) == Some(&b']') && i < end {
            self.builder.close(Some(i as u32 + 1));
            return Some(i + 1);
        }
        loop {
            if i >= end {
                return None;
            }
            let item_end = match b[i] {
                b'"' | b'\'' => {
                    let q = b[i];
                    let mut j = i + 1;
                    while j < end && b[j] != q {
                        // Escapes and doubled quotes are left to the full parser.
                        if b[j] == b'\\' {
                            return None;
                        }
                        j += 1;
                    }
                    if j >= end || b.get(j + 1) == Some(&q) {
                        return None;
                    }
                    let style = if q == b'"' {
                        ScalarStyle::DoubleQuoted
                    } else {
                        ScalarStyle::SingleQuoted
                    };
                    self.builder.scalar(
                        style,
                        ScalarText::Slice(i as u32 + 1, j as u32),
                        (i as u32, j as u32 + 1),
                        None,
                        false,
                    );
                    j + 1
                }
                c if is_plain_start(c) => {
                    let mut j = i;
                    loop {
                        while j < end
                            && !matches!(b[j], b',' | b']' | b'[' | b'{' | b'}' | b'#' | b':')
                        {
                            j += 1;
                        }
                        // `system:masters`: a colon followed by a name character stays
                        // in the scalar; `a: b` or `a:]` would be a mapping.
                        if j + 1 < end
                            && b[j] == b':'
                            && !matches!(b[j + 1], b' ' | b',' | b']' | b'[' | b'{' | b'}' | b'#')
                        {
                            j += 1;
                            continue;
                        }
                        break;
                    }
                    if j >= end || matches!(b[j], b'[' | b'{' | b'}' | b'#' | b':') {
                        return None;
                    }
                    let e = i + self.text[i..j].trim_end_matches(' ').len();
                    self.may_fail |= matches!(c, b'.' | b'+' | b'-');
                    self.builder.scalar(
                        ScalarStyle::Plain,
                        ScalarText::Slice(i as u32, e as u32),
                        (i as u32, e as u32),
                        None,
                        false,
                    );
                    j
                }
                _ => return None,
            };
            i = item_end;
            skip(&mut i);
            match b.get(i) {
                Some(b',') if i < end => {
                    i += 1;
                    skip(&mut i);
                    if b.get(i) == Some(&b']') {
                        return None;
                    }
                }
                Some(b']') if i < end => {
                    self.builder.close(Some(i as u32 + 1));
                    return Some(i + 1);
                }
                _ => return None,
            }
        }
    }

    /// Only spaces, then optionally a comment, up to the end of the line.
    fn trailing(&self, from: usize, end: usize) -> Option<()> {
        let rest = &self.b[from..end];
        let spaces = rest.iter().take_while(|&&c| c == b' ').count();
        if spaces == rest.len() || (spaces > 0 && rest[spaces] == b'#') {
            Some(())
        } else {
            None
        }
    }

    /// A one-line scalar starting at `from`.
    fn scalar(&mut self, from: usize, end: usize) -> Option<()> {
        let b = self.b;
        match b[from] {
            b'"' => {
                let mut i = from + 1;
                let mut escaped = false;
                while i < end && b[i] != b'"' {
                    if b[i] == b'\\' {
                        escaped = true;
                        i += 1;
                    }
                    i += 1;
                }
                if i >= end {
                    return None;
                }
                let close = i + 1;
                self.trailing(close, end)?;
                let text = if escaped {
                    let decoded = super::quoted::decode(&self.text[from..close], true)?;
                    ScalarText::Owned(decoded.into())
                } else {
                    ScalarText::Slice(from as u32 + 1, i as u32)
                };
                self.builder.scalar(
                    ScalarStyle::DoubleQuoted,
                    text,
                    (from as u32, close as u32),
                    None,
                    false,
                );
            }
            b'\'' => {
                let mut i = from + 1;
                let mut escaped = false;
                loop {
                    if i >= end {
                        return None;
                    }
                    if b[i] == b'\'' {
                        if b.get(i + 1) == Some(&b'\'') && i + 1 < end {
                            escaped = true;
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                let close = i + 1;
                self.trailing(close, end)?;
                let text = if escaped {
                    ScalarText::Owned(self.text[from + 1..i].replace("''", "'").into())
                } else {
                    ScalarText::Slice(from as u32 + 1, i as u32)
                };
                self.builder.scalar(
                    ScalarStyle::SingleQuoted,
                    text,
                    (from as u32, close as u32),
                    None,
                    false,
                );
            }
            c if is_plain_start(c) => {
                // Up to a comment (` #`) or the end of the line, trailing spaces cut;
                // `: ` inside, or a `:` ending the line, would make it a mapping.
                // Both marks need a space (or the line end), so only spaces are
                // searched: ARNs hold colons but rarely a space.
                let mut i = from;
                let body_end = loop {
                    match memchr::memchr(b' ', &b[i..end]) {
                        None if b[end - 1] == b':' => return None,
                        None => break end,
                        Some(k) => {
                            let j = i + k;
                            if b[j - 1] == b':' {
                                return None;
                            }
                            if b.get(j + 1) == Some(&b'#') && j + 1 < end {
                                break j + 1;
                            }
                            i = j + 1;
                        }
                    }
                };
                let e = (from + self.text[from..body_end].trim_end_matches(' ').len()) as u32;
                // `.nan`, `+.inf`, `-.inf` break the JSON conversion.
                self.may_fail |= matches!(c, b'.' | b'+' | b'-');
                self.builder.scalar(
                    ScalarStyle::Plain,
                    ScalarText::Slice(from as u32, e),
                    (from as u32, e),
                    None,
                    false,
                );
            }
            _ => return None,
        }
        Some(())
    }
}

/// Printable ASCII and line feeds only; written to vectorize (no early exit
/// inside a chunk).
fn plain_ascii(b: &[u8]) -> bool {
    b.chunks(64).all(|chunk| {
        chunk.iter().fold(0u8, |bad, &c| {
            bad | u8::from(c >= 0x7f) | u8::from(c < 0x20 && c != b'\n')
        }) == 0
    })
}

/// A byte that can start a plain scalar here (YAML indicators cannot).
fn is_plain_start(c: u8) -> bool {
    !matches!(
        c,
        b'-' | b'?'
            | b':'
            | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
            | b' '
    )
}

/// Every node, in order, with everything the reader and the editor use.
#[cfg(any(test, feature = "fuzzing"))]
fn dump(tree: &Tree, text: &str) -> Vec<String> {
    use crate::yaml::tree::{Kind, scalar_text};
    let mut out = vec![format!("root {:?} more {}", tree.root, tree.more_documents)];
    for (i, n) in tree.nodes.iter().enumerate() {
        let what = match &n.kind {
            Kind::Scalar { style, text: t } => {
                format!("scalar {style:?} {:?}", scalar_text(text, t))
            }
            Kind::Seq { flow, children } => {
                format!("seq flow={flow} {:?}", tree.kids(children))
            }
            Kind::Map { flow, children } => {
                format!("map flow={flow} {:?}", tree.kids(children))
            }
            Kind::Alias { target } => format!("alias {target:?}"),
        };
        out.push(format!(
            "{i}: {what} {}..{} {:?} {}",
            n.start, n.end, n.tag, n.anchor
        ));
    }
    out
}

/// The fast path either declines (`Ok(false)`) or agrees with the full parser
/// exactly (`Ok(true)`); anything else is a bug, described in the error.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn agree(text: &str) -> Result<bool, String> {
    let whole = parse_in(text, 1);
    // Parsed in pieces, the text must give the tree it gives in one go.
    for pieces in [2, 3, 7] {
        let split = parse_in(text, pieces);
        if split.as_ref().map(|t| dump(t, text)) != whole.as_ref().map(|t| dump(t, text)) {
            return Err(format!(
                "parsed in {pieces} pieces (cut at {:?}), the tree differs for:\n{text}",
                cut_points(text.as_bytes(), pieces)
            ));
        }
    }
    let Some(fast) = whole else {
        return Ok(false);
    };
    match crate::yaml::full::parse(text) {
        Err(e) => Err(format!(
            "the fast path read a text the full parser refuses ({}):\n{text}",
            e.message
        )),
        Ok(full) if dump(&full, text) != dump(&fast, text) => Err(format!(
            "trees differ for:\n{text}\nfull: {:#?}\nfast: {:#?}",
            dump(&full, text),
            dump(&fast, text)
        )),
        Ok(full)
            if crate::yaml::json::check(&full, text).is_ok()
                != crate::yaml::json::check(&fast, text).is_ok() =>
        {
            Err(format!("the conversion check differs for:\n{text}"))
        }
        Ok(_) => Ok(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn takes_the_usual_styles() {
        for text in [
            "- rolearn: arn:aws:iam::1:role/A\n  username: a\n  groups:\n    - system:masters\n",
            "- groups:\n  - system:bootstrappers\n  - system:nodes\n  rolearn: x\n  username: system:node:{{EC2PrivateDNSName}}\n",
            "# c\n\n- \"groups\":\n  - \"a\"\n  \"rolearn\": \"x\" # c\n  \"username\": 'it''s'\n",
            "-\n  rolearn : x\n  groups: []\n  username:\n- \"012345678901\"\n- 555555555555\n",
            "- userarn: x\n  groups:\n  # - old\n  - \"a\\tb\"\n",
            "",
            "# nothing\n",
            "- rolearn: x\n  groups: [a, \"b\", 'c']  # note\n  other: [ x , y ]\n",
            "- rolearn: x\n  groups: [system:masters, arn:aws:iam::1:role/a]\n",
        ] {
            assert_eq!(agree(text), Ok(true), "{text}");
        }
    }

    #[test]
    fn declines_everything_else() {
        for text in [
            "- a: {{x}}\n",
            "- a: |\n    b\n",
            "- a: [x, {y: z}]\n",
            "- a: [\"x\\ty\"]\n",
            "- a: [x, ]\n",
            "- a: [b: c]\n",
            "- a: [b:]\n",
            "- a: &x b\n",
            "- a: b\n   c\n",
            "---\n- a: b\n",
            "- a:\tb\n",
            "- a: b\r\n",
            "- groups:\n    - a\n     - b\n",
            "a: b\n",
            "- a: b: c\n",
            "- é: b\n",
        ] {
            assert_eq!(parse(text).map(|_| ()), None, "{text}");
        }
    }

    #[test]
    fn agrees_on_every_fixture_and_corpus_string() {
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let mut taken = 0;
        for dir in [root.join("../fixtures"), root.join("../fixtures/corpus")] {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries {
                let path = e.unwrap().path();
                if path.extension().is_none_or(|x| x != "yaml") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                let Ok(m) = crate::manifest::Manifest::parse(&text) else {
                    continue;
                };
                for v in &m.values {
                    if agree(&v.decoded).unwrap_or_else(|e| panic!("{}: {e}", path.display())) {
                        taken += 1;
                    }
                }
            }
        }
        assert!(taken > 40, "the fast path took only {taken} strings");
    }

    fn fixture_strings() -> Vec<String> {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            if path.extension().is_none_or(|x| x != "yaml") {
                continue;
            }
            let text = std::fs::read_to_string(path).unwrap();
            if let Ok(m) = crate::manifest::Manifest::parse(&text) {
                out.extend(
                    m.values
                        .into_iter()
                        .map(|v| v.decoded.to_string())
                        .filter(|d| d.len() > 20),
                );
            }
        }
        out.sort();
        out
    }

    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("- rolearn: arn:aws:iam::111122223333:role/A".to_owned()),
            Just("- groups:".to_owned()),
            Just("-".to_owned()),
            Just("- ".to_owned()),
            Just("  username: system:node:{{EC2PrivateDNSName}}".to_owned()),
            Just("  username: \"{{SessionName}}\"".to_owned()),
            Just("  username: 'a''b' # c".to_owned()),
            Just("  username:".to_owned()),
            Just("  username: yes".to_owned()),
            Just("  groups:".to_owned()),
            Just("  groups: []".to_owned()),
            Just("  - system:masters".to_owned()),
            Just("    - system:nodes".to_owned()),
            Just("     - folded".to_owned()),
            Just("  \"rolearn\": \"x\"".to_owned()),
            Just("  rolearn : x".to_owned()),
            Just("  # comment".to_owned()),
            Just("# comment".to_owned()),
            Just("".to_owned()),
            Just("- \"012345678901\"".to_owned()),
            Just("- 555555555555".to_owned()),
            Just("  key: a: b".to_owned()),
            Just("  key: value # note".to_owned()),
            Just("  username: .nan".to_owned()),
            Just("  username: -.inf".to_owned()),
            Just("  groups: [.inf]".to_owned()),
            Just("  null: x".to_owned()),
            Just("  ~: x".to_owned()),
            Just("  key: value#not-a-comment".to_owned()),
            Just("  - [x]".to_owned()),
            Just("  groups: [a, \"b\", 'c']".to_owned()),
            Just("  groups: [ a ,b ]".to_owned()),
            Just("  groups: [a,]".to_owned()),
            Just("  groups: [a: b]".to_owned()),
            Just("  groups: [system:masters, a:b:c, x:]".to_owned()),
            Just("  groups: [system:masters]".to_owned()),
            Just("    more text".to_owned()),
            Just("---".to_owned()),
            "[ -~]{0,30}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn mutated_fixture_strings_agree(
            pick in any::<prop::sample::Index>(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, prop::sample::select(vec![' ', '-', ':', '#', '\n', '"', '\'', '[', ']', '{', 'a', '0', '\\', '|', '>', '&', '!', '?'])), 1..5),
        ) {
            let strings = fixture_strings();
            let mut text: Vec<char> = pick.get(&strings).chars().collect();
            for (at, kind, c) in edits {
                if text.is_empty() { break; }
                let i = at.index(text.len());
                match kind {
                    0 => text.insert(i, c),
                    1 => { text.remove(i); }
                    _ => text[i] = c,
                }
            }
            let text: String = text.into_iter().collect();
            if let Err(e) = agree(&text) {
                return Err(TestCaseError::fail(e));
            }
        }

        #[test]
        fn fast_and_full_parsers_agree(lines in prop::collection::vec(line(), 0..12), final_newline in any::<bool>()) {
            let mut text = lines.join("\n");
            if final_newline {
                text.push('\n');
            }
            if let Err(e) = agree(&text) {
                return Err(TestCaseError::fail(e));
            }
        }
    }
}
