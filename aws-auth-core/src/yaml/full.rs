//! The full YAML parser: granit-parser events turned into a [`Tree`].
//!
//! Handles every YAML construct (flow collections, block scalars, anchors, tags,
//! multi-line scalars). Only the first document is read, as yaml.v2's `Unmarshal`
//! does.

use granit_parser::{Event, Parser, ScalarStyle as GStyle, StructureStyle};

use super::SyntaxError;
use super::tree::{Builder, Kind, NodeId, ScalarStyle, ScalarText, Tag, Tree};
use crate::position::LineIndex;

/// Parses the first document of `text`.
pub(crate) fn parse(text: &str) -> Result<Tree, SyntaxError> {
    let mut docs = parse_stream(text, true)?;
    Ok(if docs.is_empty() {
        Tree::default()
    } else {
        docs.swap_remove(0)
    })
}

/// Parses every document of `text` (or only the first), each with offsets into `text`.
pub(crate) fn parse_stream(text: &str, first_only: bool) -> Result<Vec<Tree>, SyntaxError> {
    parse_patched(text, text, first_only, &[])
}

/// [`parse_stream`] of `text`, a copy of `source` of the same length with
/// bytes changed where the full parser and yaml.v2 disagree; double-quoted
/// scalars are decoded from `source`, as yaml.v2 decodes them. `escapes`
/// are the `\'` escapes written `\"` in `text`: each must turn out to be in
/// a double-quoted scalar, or the patch changed what yaml.v2 would read.
fn parse_patched(
    text: &str,
    source: &str,
    first_only: bool,
    escapes: &[usize],
) -> Result<Vec<Tree>, SyntaxError> {
    let docs = parse_events(text, source, first_only, escapes)?;
    let quoted = |at: usize| {
        docs.iter().any(|d| {
            d.nodes.iter().any(|n| {
                matches!(
                    n.kind,
                    Kind::Scalar {
                        style: ScalarStyle::DoubleQuoted,
                        ..
                    }
                ) && (n.start as usize) < at
                    && at < n.end as usize
            })
        })
    };
    let last = docs.last().map_or(0, |d| {
        d.nodes.iter().map(|n| n.end as usize).max().unwrap_or(0)
    });
    if let Some(&at) = escapes.iter().find(|&&at| at < last && !quoted(at)) {
        return Err(SyntaxError::at(
            at,
            "while parsing a quoted scalar, found unknown escape character".to_owned(),
        ));
    }
    Ok(docs)
}

fn parse_events(
    text: &str,
    source: &str,
    first_only: bool,
    escapes: &[usize],
) -> Result<Vec<Tree>, SyntaxError> {
    if text.len() > u32::MAX as usize {
        return Err(SyntaxError::at(
            0,
            "the text is larger than 4 GiB".to_owned(),
        ));
    }
    let options = granit_parser::options! { emit_comments: false };
    let mut parser = Parser::new_from_str_with_options(text, options);
    let mut docs = Vec::new();
    let mut builder = Builder::with_capacity(text.len() / 16);
    let mut anchors: Vec<Option<NodeId>> = Vec::new();
    let base = text.as_ptr() as usize;
    let mut in_document = false;

    while let Some(item) = parser.next_event() {
        let (event, span) = match item {
            Ok(item) => item,
            Err(e) => {
                // The root is complete when no collection is open.
                let root_done = in_document && builder.depth() == 0 && builder.has_nodes();
                let done = std::mem::replace(&mut builder, Builder::with_capacity(0));
                let at = Attempt {
                    text,
                    source,
                    first_only,
                    escapes,
                };
                return at.recover(scan_error(text, &e), docs, root_done.then_some(done));
            }
        };
        let range = span.byte_range().unwrap_or(0..0);
        let (start, end) = (range.start as u32, range.end as u32);
        match event {
            Event::StreamStart => {}
            Event::StreamEnd => {
                if docs.is_empty() {
                    end_marker_first(text, text.len())?;
                }
                break;
            }
            Event::DocumentStart(explicit, _) => {
                if docs.is_empty() {
                    end_marker_first(text, start as usize)?;
                } else if !explicit {
                    // YAML 1.2 lets a bare document follow `...`; yaml.v2 wants
                    // `---` before every document but the first.
                    return Err(SyntaxError::at(
                        start as usize,
                        "did not find expected <document start>".to_owned(),
                    ));
                }
                in_document = true;
            }
            Event::DocumentEnd => {
                in_document = false;
                let more = !matches!(parser.peek(), None | Some(Ok((Event::StreamEnd, _))));
                let mut tree = std::mem::replace(&mut builder, Builder::with_capacity(0)).finish();
                tree.more_documents = more;
                tree.may_fail = true;
                docs.push(tree);
                anchors.clear();
                // yaml.v2 stops after the first document: whatever follows, even
                // broken YAML, is never read.
                if first_only {
                    return Ok(docs);
                }
            }
            Event::Scalar(value, style, anchor, tag) => {
                let style = match style {
                    GStyle::Plain => ScalarStyle::Plain,
                    GStyle::SingleQuoted => ScalarStyle::SingleQuoted,
                    GStyle::DoubleQuoted => ScalarStyle::DoubleQuoted,
                    GStyle::Literal => ScalarStyle::Literal,
                    GStyle::Folded => ScalarStyle::Folded,
                };
                let value = if style == ScalarStyle::DoubleQuoted
                    && memchr::memchr(b'\\', &source.as_bytes()[start as usize..end as usize])
                        .is_some()
                {
                    match super::quoted::decode(&source[start as usize..end as usize], true) {
                        Some(decoded) => std::borrow::Cow::Owned(decoded),
                        None => {
                            return Err(SyntaxError::at(
                                start as usize,
                                "while parsing a quoted scalar, found unknown escape character (yaml.v2 knows no `\\/`)".to_owned(),
                            ));
                        }
                    }
                } else {
                    std::borrow::Cow::Borrowed(value.as_ref())
                };
                let (text_ref, end) = if start == end && style == ScalarStyle::Plain {
                    // An absent value: the parser reports it as `~` with an empty span.
                    (ScalarText::Slice(start, start), end)
                } else {
                    let end = if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) {
                        // A block scalar's span runs on to the next token; keep its content.
                        let content = text.get(start as usize..end as usize).unwrap_or_default();
                        start + content.trim_end().len() as u32
                    } else {
                        end
                    };
                    (scalar_text(base, text.len(), &value), end)
                };
                let id = builder.scalar(
                    style,
                    text_ref,
                    (start, end),
                    tag.as_deref().map(map_tag),
                    anchor != 0,
                );
                remember(&mut anchors, anchor, id);
            }
            Event::Alias(anchor) => {
                let Some(target) = anchors.get(anchor).copied().flatten() else {
                    return Err(SyntaxError::at(
                        start as usize,
                        "an alias refers to an unknown anchor".to_owned(),
                    ));
                };
                builder.alias(target, (start, end));
            }
            Event::SequenceStart(style, anchor, ref tag)
            | Event::MappingStart(style, anchor, ref tag) => {
                let map = matches!(event, Event::MappingStart(..));
                let flow = style == StructureStyle::Flow;
                let id = builder.open(map, flow, start, tag.as_deref().map(map_tag), anchor != 0);
                remember(&mut anchors, anchor, id);
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let flow = builder.innermost_is_flow();
                builder.close(flow.then_some(end));
            }
            _ => {}
        }
    }
    if in_document || builder.depth() != 0 {
        return Err(SyntaxError::at(
            text.len(),
            "the document ends inside a collection".to_owned(),
        ));
    }
    Ok(docs)
}

/// yaml.v2 (libyaml's grammar) wants the first document before any `...`
/// document end marker: one in front of it, even alone in the stream, is an
/// error there ("did not find expected node content") where YAML 1.2 parsers
/// skip it. `first` is where the first document starts.
fn end_marker_first(text: &str, first: usize) -> Result<(), SyntaxError> {
    let mut at = 0;
    for line in text[..first.min(text.len())].split_inclusive('\n') {
        let rest = line.strip_prefix("...");
        if rest.is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t', '\r', '\n'])) {
            return Err(SyntaxError::at(
                at,
                "did not find expected node content: a `...` document end marker comes before the first document, which yaml.v2 refuses; remove the `...` line".to_owned(),
            ));
        }
        at += line.len();
    }
    Ok(())
}

/// Where the first document's root ends when it is a flow collection not
/// used as a key: one past its closing bracket.
fn flow_root_end(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    // Past blank lines, comments and a `---`.
    let mut i = 0;
    loop {
        while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\r' | b'\n') {
            i += 1;
        }
        if b.get(i) == Some(&b'#') || text[i..].starts_with("---") {
            i = text[i..].find('\n').map_or(b.len(), |n| i + n + 1);
            continue;
        }
        break;
    }
    if !matches!(b.get(i), Some(b'[' | b'{')) {
        return None;
    }
    let open = i;
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(b'"') if c == b'\\' => i += 1,
            Some(q) if c == q => {
                if q == b'\'' && b.get(i + 1) == Some(&b'\'') {
                    i += 1;
                } else {
                    quote = None;
                }
            }
            Some(_) => {}
            None => match c {
                b'"' | b'\'' => quote = Some(c),
                b'#' if i > 0 && matches!(b[i - 1], b' ' | b'\t' | b'\n') => {
                    i = text[i..].find('\n').map_or(b.len(), |n| i + n);
                    continue;
                }
                b'[' | b'{' => depth += 1,
                b']' | b'}' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        let line = text[i + 1..].split('\n').next().unwrap_or("");
                        let empty = text[open + 1..i].trim().is_empty();
                        // Checked against yaml.v2: a value indicator later on
                        // the line makes a non-empty collection (with what
                        // follows) a key, and that an error; a `- ` is one.
                        let refused = line.trim_start().starts_with(':')
                            || line.trim_start().starts_with("- ")
                            || (!empty && value_indicator(line));
                        return (!refused).then_some(i + 1);
                    }
                }
                _ => {}
            },
        }
        i += 1;
    }
    None
}

/// True when `line` has a `:` value indicator outside quotes and comments.
fn value_indicator(line: &str) -> bool {
    let b = line.as_bytes();
    let mut quote: Option<u8> = None;
    for (i, &c) in b.iter().enumerate() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                b'"' | b'\'' if i == 0 || matches!(b[i - 1], b' ' | b'\t') => quote = Some(c),
                b'#' if i == 0 || matches!(b[i - 1], b' ' | b'\t') => return false,
                b':' if matches!(b.get(i + 1), None | Some(b' ' | b'\t' | b'\r')) => return true,
                _ => {}
            },
        }
    }
    false
}

/// One parse of a (possibly patched) text, for recovering from its error.
struct Attempt<'a> {
    text: &'a str,
    source: &'a str,
    first_only: bool,
    escapes: &'a [usize],
}

impl Attempt<'_> {
    /// What yaml.v2 makes of a text the full parser stopped on with `error`:
    /// the documents read so far plus the one under way (`root`: its builder,
    /// when its root node is complete), a patched text read again, or the
    /// error. The full parser (YAML 1.2) and yaml.v2 part ways in a few places;
    /// each is a branch here.
    fn recover(
        &self,
        error: SyntaxError,
        mut docs: Vec<Tree>,
        root: Option<Builder>,
    ) -> Result<Vec<Tree>, SyntaxError> {
        // The root node is complete: yaml.v2 needs only the next
        // token to end the document and never parses what follows,
        // so a grammar error there is not one to it.
        let parse_level = error.message.starts_with("while parsing")
            || (error.message.starts_with("did not find expected")
                && !error.message.contains("<document start>"));
        if let Some(builder) = root
            && parse_level
        {
            if self.first_only {
                let mut tree = builder.finish();
                tree.more_documents = true;
                tree.may_fail = true;
                docs.push(tree);
                return Ok(docs);
            }
            return Err(SyntaxError::at(
                error.offset,
                "did not find expected <document start>".to_owned(),
            ));
        }
        if self.first_only
            && docs.is_empty()
            && let Some(end) = flow_root_end(self.text)
            && end < error.offset
            && let Ok(mut head) =
                parse_patched(&self.text[..end], &self.source[..end], true, self.escapes)
            && !head.is_empty()
        {
            // yaml.v2 ends a document whose root is a flow collection at
            // its closing bracket, whatever follows on the line.
            head[0].more_documents = true;
            return Ok(head);
        }
        // A stray bracket past the document, or text after the `...` that
        // ended it on the same line: one token past the document, which
        // yaml.v2 never parses.
        let past_the_end = error.message == "misplaced bracket"
            || (self.first_only && error.message == "invalid content after document end marker");
        if past_the_end && let Some(tree) = ended_before(self.text, error.offset) {
            // yaml.v2 reads the document up to there.
            if self.first_only {
                return Ok(vec![tree]);
            }
            return Err(SyntaxError::at(
                error.offset,
                "did not find expected <document start>".to_owned(),
            ));
        }
        if error.message.contains("unknown escape character")
            && let Some((patched, at)) = quote_escape(self.text, error.offset)
        {
            let escapes: Vec<usize> = self.escapes.iter().copied().chain([at]).collect();
            // `\'` is an escape to yaml.v2 only: read it as `\"` and
            // decode the scalar from the source.
            return parse_patched(&patched, self.source, self.first_only, &escapes);
        }
        if error.message == "wrongly indented line in block scalar"
            && let Some(patched) = comment_to_column_0(self.text, error.offset)
        {
            // yaml.v2 ends the block before a comment indented less
            // than its explicit indentation; the full parser refuses
            // it. The same comment at column 0 ends the block in both,
            // and every offset stays where it was.
            return parse_patched(&patched, self.source, self.first_only, self.escapes);
        }
        Err(error)
    }
}

/// `text` with the first `\'` escape from the line of `at` on written `\"`,
/// and where it is.
fn quote_escape(text: &str, at: usize) -> Option<(String, usize)> {
    let from = text[..at.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
    let b = text.as_bytes();
    let i = memchr::memmem::find_iter(&b[from..], b"\\'")
        .map(|i| from + i)
        .find(|&i| b[..i].iter().rev().take_while(|&&c| c == b'\\').count() % 2 == 0)?;
    let mut patched = text.to_owned();
    patched.replace_range(i + 1..i + 2, "\"");
    Some((patched, i))
}

/// `text` with the comment line at `at` moved to column 0 (same length), or
/// `None` when that line is not a comment.
fn comment_to_column_0(text: &str, at: usize) -> Option<String> {
    let start = text[..at.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[start..];
    let spaces = line.len() - line.trim_start_matches(' ').len();
    if spaces == 0 || !line[spaces..].starts_with('#') {
        return None;
    }
    let mut patched = String::with_capacity(text.len());
    patched.push_str(&text[..start]);
    patched.push('#');
    patched.push_str(&" ".repeat(spaces));
    patched.push_str(&text[start + spaces + 1..]);
    Some(patched)
}

/// The first document of `text`, when it ends before `at` the way yaml.v2
/// ends it: its top-level flow collection closed, or its block collection
/// left by a line indented less. A stray closing bracket there is one token
/// past the document, which yaml.v2 never parses.
fn ended_before(text: &str, at: usize) -> Option<Tree> {
    let head = text.get(..at)?;
    // The document the bracket is in is the last one of the text before it.
    let mut tree = parse_stream(head, false).ok()?.pop()?;
    let root = tree.node(tree.root?);
    let column = |offset: usize| offset - head[..offset].rfind('\n').map_or(0, |i| i + 1);
    let marker = head[root.start as usize..].split('\n').skip(1).any(|line| {
        line.strip_prefix("...")
            .is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t', '\r']))
    });
    let ended = marker
        || match root.kind {
            Kind::Seq { .. } | Kind::Map { .. } if tree.is_flow(tree.root?) => {
                root.end as usize <= at
            }
            Kind::Seq { .. } | Kind::Map { .. } => column(at) < column(root.start as usize),
            _ => false,
        };
    tree.more_documents = true;
    ended.then_some(tree)
}

fn remember(anchors: &mut Vec<Option<NodeId>>, anchor: usize, id: NodeId) {
    if anchor == 0 {
        return;
    }
    if anchors.len() <= anchor {
        anchors.resize(anchor + 1, None);
    }
    anchors[anchor] = Some(id);
}

/// A scalar borrowed from the source becomes a slice (no allocation); an
/// owned one (escapes, folding) can never point into the source.
fn scalar_text(base: usize, len: usize, value: &str) -> ScalarText {
    let p = value.as_ptr() as usize;
    if p >= base && p + value.len() <= base + len {
        let a = (p - base) as u32;
        return ScalarText::Slice(a, a + value.len() as u32);
    }
    ScalarText::Owned(value.into())
}

fn map_tag(tag: &granit_parser::Tag) -> Tag {
    if tag.handle() != "tag:yaml.org,2002:" {
        return Tag::Other;
    }
    match tag.suffix() {
        "str" => Tag::Str,
        "int" => Tag::Int,
        "float" => Tag::Float,
        "bool" => Tag::Bool,
        "null" => Tag::Null,
        "binary" => Tag::Binary,
        "timestamp" => Tag::Timestamp,
        "seq" => Tag::Seq,
        "map" => Tag::Map,
        "merge" => Tag::Merge,
        _ => Tag::Other,
    }
}

fn scan_error(text: &str, e: &granit_parser::ScanError) -> SyntaxError {
    let marker = e.marker();
    let offset = marker.byte_offset().unwrap_or_else(|| {
        // Fall back to line/column (column counts characters).
        let index = LineIndex::new(text);
        let start = index
            .line_start(marker.line().saturating_sub(1))
            .min(text.len());
        text[start..]
            .char_indices()
            .nth(marker.col())
            .map_or(text.len(), |(i, _)| start + i)
    });
    SyntaxError::at(offset, e.info())
}
