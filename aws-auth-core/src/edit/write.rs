//! Edited data strings written back into the manifest.
//!
//! Each key's splices go through its value's codec (literal block line for line,
//! quoted scalars through their position map). Where that is not possible the
//! value alone is rendered again in its style. New keys are added to `data`.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::render::InnerEdit;
use super::splice::{self, Splice};
use super::{EditError, Written};
use crate::document::{Document, Source};
use crate::manifest::{Codec, DataSection, DataValue, block};
use crate::model::DataKey;
use crate::yaml::quoted;
use crate::yaml::tree::ScalarStyle;

/// The new document and how each key was written.
pub(crate) fn write(
    doc: &Document,
    edits: &[(DataKey, InnerEdit<'_>)],
) -> Result<(Document, Vec<(DataKey, Written)>), EditError> {
    match &doc.source {
        Source::Data { data } => {
            let mut data: BTreeMap<String, Arc<String>> = data.clone();
            let mut written = Vec::new();
            for (key, edit) in edits {
                let how = if !data.contains_key(key.as_str()) {
                    Written::Created
                } else if let Some(reason) = &edit.whole {
                    Written::Rewritten {
                        reason: reason.clone(),
                    }
                } else {
                    Written::InPlace
                };
                data.insert(key.as_str().to_owned(), Arc::new(edit.after.clone()));
                written.push((*key, how));
            }
            Ok((
                Document::build_sharing(Source::Data { data }, Some(doc)),
                written,
            ))
        }
        Source::Manifest { text, manifest, .. } => {
            // A manifest with a lone CR is refused when read (manifest::lone_cr).
            let mut whole: Vec<DataKey> = Vec::new();
            // A key whose in-place splices do not read back (or break the
            // manifest) is rendered whole; a second failure is a bug,
            // reported rather than written.
            for _attempt in 0..2 {
                let NewManifest {
                    text: new_text,
                    written,
                    changes,
                } = manifest_text(text, manifest, edits, &whole)?;
                let bad: Vec<DataKey> =
                    match Document::parse_manifest_sharing(new_text, doc, &changes) {
                        Ok(new_doc) => {
                            let bad: Vec<DataKey> = edits
                                .iter()
                                .filter(|(key, edit)| {
                                    new_doc.data_string(*key) != Some(edit.after.as_str())
                                })
                                .map(|(key, _)| *key)
                                .collect();
                            if bad.is_empty() {
                                return Ok((new_doc, written));
                            }
                            bad
                        }
                        Err(e) if whole.len() == edits.len() => {
                            return Err(EditError::Verification {
                                message: format!("the edited manifest does not parse ({e})"),
                            });
                        }
                        Err(_) => edits.iter().map(|(key, _)| *key).collect(),
                    };
                if bad.iter().all(|k| whole.contains(k)) {
                    break;
                }
                whole.extend(
                    bad.into_iter()
                        .filter(|k| !whole.contains(k))
                        .collect::<Vec<_>>(),
                );
            }
            Err(EditError::Verification {
                message: "an edited data value does not read back as intended".to_owned(),
            })
        }
    }
}

/// A replaced range of the old manifest and the length of what replaced it.
pub(crate) type Change = (std::ops::Range<usize>, usize);

/// The new manifest text, how each key was written and which ranges changed.
struct NewManifest {
    text: String,
    written: Vec<(DataKey, Written)>,
    changes: Vec<Change>,
}

fn manifest_text(
    text: &str,
    manifest: &crate::manifest::Manifest,
    edits: &[(DataKey, InnerEdit<'_>)],
    force_whole: &[DataKey],
) -> Result<NewManifest, EditError> {
    let mut splices = Vec::new();
    let mut written = Vec::new();
    let mut created: Vec<(DataKey, &InnerEdit<'_>)> = Vec::new();
    // Any key of the section: a new key goes after the last one.
    for value in &manifest.values {
        if let Some(why) = odd_key(text, value) {
            return Err(EditError::Layout {
                message: format!(
                    "data.{} (line {}) is written {why}: YAML allows it, but this edit cannot place a value beside it safely; write it as `{}: |` and run the edit again",
                    value.key,
                    text[..value.key_start].matches('\n').count() + 1,
                    value.key
                ),
            });
        }
    }
    for (key, edit) in edits {
        let Some(value) = manifest.value(key.as_str()) else {
            created.push((*key, edit));
            written.push((*key, Written::Created));
            continue;
        };
        let in_place = if force_whole.contains(key) {
            None
        } else {
            in_place(text, value, edit)
        };
        match in_place {
            Some(s) => {
                splices.extend(s);
                let how = match &edit.whole {
                    Some(reason) => Written::Rewritten {
                        reason: reason.clone(),
                    },
                    None => Written::InPlace,
                };
                written.push((*key, how));
            }
            None => {
                splices.extend(rerender(text, value, &edit.after));
                let reason = match value.codec {
                    Codec::Whole => format!(
                        "its {} style cannot be edited line by line",
                        style_name(value.style)
                    ),
                    _ => "it could not be edited in place".to_owned(),
                };
                written.push((*key, Written::Rewritten { reason }));
            }
        }
    }
    if !created.is_empty() {
        splices.push(create_keys(text, &manifest.data, &created)?);
    }
    // A manifest written with CRLF line ends keeps them in what is added.
    if memchr::memmem::find(text.as_bytes(), b"\r\n").is_some()
        && !text.replace("\r\n", "").contains('\n')
    {
        for s in &mut splices {
            s.text = s.text.replace('\n', "\r\n");
        }
    }
    let splices = splice::sorted(splices).ok_or_else(|| EditError::Verification {
        message: "edits of the manifest overlap".to_owned(),
    })?;
    let new_text = splice::apply(text, &splices).ok_or_else(|| EditError::Verification {
        message: "edits of the manifest do not fit its text".to_owned(),
    })?;
    let changes = splices
        .iter()
        .map(|s| (s.start..s.end, s.text.len()))
        .collect();
    Ok(NewManifest {
        text: new_text,
        written,
        changes,
    })
}

/// How a data key is written, when it is not `KEY:` (or `"KEY":`) with
/// spaces at most before the colon: an explicit `? KEY` key, or a tab or a
/// line break before the colon. The reader reads these as yaml.v2 does; an
/// edit would have to guess where the value starts.
fn odd_key(text: &str, value: &DataValue) -> Option<&'static str> {
    let line_start = text[..value.key_start].rfind('\n').map_or(0, |i| i + 1);
    if text[line_start..value.key_start].contains('?') {
        return Some("as an explicit key (`? KEY`)");
    }
    let rest = &text[value.key_start..];
    let key_len = match rest.as_bytes().first() {
        Some(&q @ (b'"' | b'\'')) => rest[1..].find(q as char).map_or(rest.len(), |i| i + 2),
        _ => rest
            .find(|c: char| c == ':' || c.is_whitespace())
            .unwrap_or(rest.len()),
    };
    let after_key = &rest[key_len..];
    let gap = after_key.len() - after_key.trim_start_matches([' ', '\t', '\n', '\r']).len();
    match &after_key[..gap] {
        g if g.contains(['\n', '\r']) => Some("with its colon on another line"),
        g if g.contains('\t') => Some("with a tab before its colon"),
        _ => None,
    }
}

fn style_name(style: ScalarStyle) -> &'static str {
    match style {
        ScalarStyle::Plain => "plain",
        ScalarStyle::SingleQuoted => "single-quoted",
        ScalarStyle::DoubleQuoted => "double-quoted",
        ScalarStyle::Literal => "literal block",
        ScalarStyle::Folded => "folded block (>)",
    }
}

/// Maps a value's splices into the manifest, or `None` when the codec cannot.
fn in_place(text: &str, value: &DataValue, edit: &InnerEdit<'_>) -> Option<Vec<Splice>> {
    let before = edit.before;
    let mut targets: Vec<usize> = edit.splices.iter().flat_map(|s| [s.start, s.end]).collect();
    targets.sort_unstable();
    targets.dedup();
    let find = |located: &[Option<usize>], offset: usize| -> Option<usize> {
        let i = targets.binary_search(&offset).ok()?;
        located[i]
    };
    match &value.codec {
        Codec::Literal(l) => {
            let located = l.locate_offsets_in(text, before, &targets);
            let line_start = |o: usize| o == 0 || before.as_bytes().get(o - 1) == Some(&b'\n');
            edit.splices
                .iter()
                .map(|s| {
                    let (a, b) = (find(&located, s.start)?, find(&located, s.end)?);
                    let (sa, sb) = (
                        line_start(s.start),
                        line_start(s.end) || s.end == before.len(),
                    );
                    if sa != sb && (s.start != s.end) {
                        return None;
                    }
                    Some(Splice::new(a, b, l.encode(&s.text, sa)))
                })
                .collect()
        }
        Codec::Quoted { double } => {
            let token = &text[value.token.clone()];
            let located = quoted::locate(token, *double, &targets);
            edit.splices
                .iter()
                .map(|s| {
                    let a = value.token.start + find(&located, s.start)?;
                    let b = value.token.start + find(&located, s.end)?;
                    let encoded = if *double {
                        quoted::escape_double(&s.text)
                    } else {
                        quoted::escape_single(&s.text)?
                    };
                    Some(Splice::new(a, b, encoded))
                })
                .collect()
        }
        Codec::Whole => None,
    }
}

/// The value rendered whole, in its own style where possible.
fn render_value(after: &str, style: ScalarStyle, key_col: usize, indent: usize) -> String {
    if after.is_empty() {
        return "\"\"".to_owned();
    }
    match style {
        ScalarStyle::DoubleQuoted => quoted::render_double(after),
        ScalarStyle::SingleQuoted => match quoted::escape_single(after) {
            Some(s) if !after.contains('\n') => format!("'{s}'"),
            _ => block::render(after, key_col, indent)
                .unwrap_or_else(|| quoted::render_double(after)),
        },
        _ => block::render(after, key_col, indent).unwrap_or_else(|| quoted::render_double(after)),
    }
}

fn rerender(text: &str, value: &DataValue, after: &str) -> Vec<Splice> {
    let indent = match &value.codec {
        Codec::Literal(l) => l.indent,
        _ => value.key_col + 2,
    };
    let mut rendered = render_value(after, value.style, value.key_col, indent);
    // Lines indented under the key after the value (comments) would become
    // a block's text: then the value goes in double quotes instead.
    let after_token = text[value.token.end..]
        .find('\n')
        .map_or(text.len(), |i| value.token.end + i + 1);
    let deeper_follows = text[after_token..]
        .lines()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| l.len() - l.trim_start_matches([' ', '\t']).len() > value.key_col);
    if deeper_follows && rendered.starts_with(['|', '>']) {
        rendered = quoted::render_double(after);
    }
    // An absent value (`mapRoles:`) goes after the colon; a comment may end
    // the key's line (`mapRoles: # none yet`), and a block's text must go
    // after it, on the lines below.
    let at = value.token.start;
    let line_end = text[at..].find(['\n', '\r']).map_or(text.len(), |i| at + i);
    let split = value.token.is_empty()
        && rendered.starts_with(['|', '>'])
        && !text[at..line_end].trim().is_empty();
    // A block's last line break is the one after where its text ends; at the
    // end of a file without one, the block brings its own.
    let body_end = if split { line_end } else { value.token.end };
    if !text[body_end..].starts_with(['\n', '\r'])
        && rendered.starts_with('|')
        && after.ends_with('\n')
    {
        rendered.push('\n');
    }
    if !value.token.is_empty() {
        return vec![Splice::new(value.token.start, value.token.end, rendered)];
    }
    let lead = if text[..at].ends_with(' ') { "" } else { " " };
    if split {
        let (header, body) = rendered.split_at(rendered.find('\n').unwrap_or(rendered.len()));
        return vec![
            Splice::new(at, at, format!("{lead}{header} ")),
            Splice::new(line_end, line_end, body.to_owned()),
        ];
    }
    vec![Splice::new(at, at, format!("{lead}{rendered}"))]
}

fn create_keys(
    text: &str,
    section: &DataSection,
    created: &[(DataKey, &InnerEdit<'_>)],
) -> Result<Splice, EditError> {
    let entries = |col: usize| -> String {
        created
            .iter()
            .map(|(key, edit)| {
                format!(
                    "{}{key}: {}\n",
                    " ".repeat(col),
                    render_value(&edit.after, ScalarStyle::Literal, col, col + 2)
                )
            })
            .collect()
    };
    let newline = |at: usize| {
        if at == 0 || text[..at].ends_with('\n') {
            ""
        } else {
            "\n"
        }
    };
    Ok(match section {
        DataSection::Block { col, insert_at } => Splice::new(
            *insert_at,
            *insert_at,
            format!("{}{}", newline(*insert_at), entries(*col)),
        ),
        DataSection::Absent { insert_at, col } => Splice::new(
            *insert_at,
            *insert_at,
            format!(
                "{}{}data:\n{}",
                newline(*insert_at),
                " ".repeat(*col),
                entries(col + 2)
            ),
        ),
        DataSection::Replace { token, key_col } => {
            let start = text[..token.start].trim_end_matches(' ').len();
            let body = entries(key_col + 2);
            let needs_newline = !text[token.end..].starts_with('\n') && token.end < text.len();
            let body = if needs_newline {
                body
            } else {
                body.trim_end_matches('\n').to_owned()
            };
            Splice::new(start, token.end, format!("\n{body}"))
        }
        DataSection::Flow => {
            return Err(EditError::Layout {
                message: format!(
                    "cannot add {} to a manifest or data mapping written in flow style ({{...}}); write it in block style first",
                    created
                        .iter()
                        .map(|(k, _)| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
    })
}
