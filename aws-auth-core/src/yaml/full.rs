//! The full YAML parser: granit-parser events turned into a [`Tree`].
//!
//! Handles every YAML construct (flow collections, block scalars, anchors, tags,
//! multi-line scalars). Only the first document is read, as yaml.v2's `Unmarshal`
//! does.

use granit_parser::{Event, Parser, ScalarStyle as GStyle, StructureStyle};

use super::SyntaxError;
use super::tree::{Builder, NodeId, ScalarStyle, ScalarText, Tag, Tree};
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
        let (event, span) = item.map_err(|e| scan_error(text, &e))?;
        let range = span.byte_range().unwrap_or(0..0);
        let (start, end) = (range.start as u32, range.end as u32);
        match event {
            Event::StreamStart => {}
            Event::StreamEnd => break,
            Event::DocumentStart(..) => {
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
