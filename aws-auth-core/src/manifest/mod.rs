//! The ConfigMap manifest around the data strings.
//!
//! The manifest is checked the way `kubectl apply` checks it (strict fields, string
//! values), and every data value is located with the style it was written in, so
//! that an edit of a decoded string can be written back into exactly the bytes
//! that hold it.

pub(crate) mod block;
pub(crate) mod skeleton;

use std::ops::Range;
use std::sync::Arc;

use crate::yaml::json::{JsonType, json_type, resolve_scalar};
use crate::yaml::resolve::Resolved;
use crate::yaml::tree::{Kind, NodeId, ScalarStyle};
use crate::yaml::{Tree, full, quoted};
use block::Literal;

/// Why a manifest is not a ConfigMap that `kubectl apply` would accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rejection {
    pub(crate) message: String,
    pub(crate) offset: usize,
}

impl Rejection {
    fn new(offset: usize, message: impl Into<String>) -> Self {
        Rejection {
            message: message.into(),
            offset,
        }
    }
}

/// How a data value can be edited in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Codec {
    /// `|`, `|-`, `|+`: line for line.
    Literal(Literal),
    /// `"..."` or `'...'`: through the quoted-scalar position map.
    Quoted { double: bool },
    /// Folded, plain or aliased values: edits re-render the whole value.
    Whole,
}

/// One `data` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DataValue {
    pub(crate) key: String,
    /// Offset of the key token.
    pub(crate) key_start: usize,
    /// Column of the key (its parent indentation for block scalars).
    pub(crate) key_col: usize,
    /// The value's bytes, replaced when the value is re-rendered.
    pub(crate) token: Range<usize>,
    pub(crate) style: ScalarStyle,
    pub(crate) decoded: Arc<String>,
    pub(crate) codec: Codec,
}

/// Where new data keys can go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DataSection {
    /// A block mapping: new keys go on a new line at `insert_at`, at column `col`.
    Block { col: usize, insert_at: usize },
    /// No `data:` key: a new section goes at `insert_at` (start of a line),
    /// at column `col` (the top-level keys' column: a heredoc-indented
    /// manifest has them deeper than 0).
    Absent { insert_at: usize, col: usize },
    /// `data:` with a null or empty-flow value at `token`; the key is at `key_col`.
    Replace { token: Range<usize>, key_col: usize },
    /// A non-empty flow mapping: values can change, keys cannot be added.
    Flow,
}

/// A ConfigMap manifest located in its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Manifest {
    pub(crate) name: Option<String>,
    pub(crate) namespace: Option<String>,
    pub(crate) resource_version: Option<String>,
    pub(crate) uid: Option<String>,
    /// `metadata.annotations` with string values.
    pub(crate) annotations: std::collections::BTreeMap<String, String>,
    pub(crate) data: DataSection,
    pub(crate) values: Vec<DataValue>,
}

const TOP_LEVEL: [&str; 6] = [
    "apiVersion",
    "kind",
    "metadata",
    "data",
    "binaryData",
    "immutable",
];

/// The fields of `metadata` (ObjectMeta) that kubectl's strict field
/// validation accepts.
const OBJECT_META: [&str; 15] = [
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

impl Manifest {
    /// Parses and checks `text`, choosing the `aws-auth` ConfigMap if the file holds
    /// several documents.
    pub(crate) fn parse(text: &str) -> Result<Manifest, Rejection> {
        Manifest::parse_with(text, SKELETON_MIN_BODY)
    }

    /// [`Manifest::parse`], cutting literal blocks of at least `min_body` bytes
    /// out before the full parser sees the manifest.
    pub(crate) fn parse_with(text: &str, min_body: usize) -> Result<Manifest, Rejection> {
        Manifest::parse_from(text, min_body, None)
    }

    /// [`Manifest::parse`] for a text derived from `previous` (after an edit):
    /// blocks whose bytes did not change are not decoded again.
    pub(crate) fn parse_derived(
        text: &str,
        previous: skeleton::Previous<'_>,
    ) -> Result<Manifest, Rejection> {
        Manifest::parse_from(text, SKELETON_MIN_BODY, Some(previous))
    }

    fn parse_from(
        text: &str,
        min_body: usize,
        previous: Option<skeleton::Previous<'_>>,
    ) -> Result<Manifest, Rejection> {
        refuse_lone_cr(text)?;
        kubectl_pieces(text)?;
        if let Some((docs, cuts)) = skeleton::parse(text, min_body, previous) {
            let docs: Vec<Tree> = docs.into_iter().filter(|d| d.root.is_some()).collect();
            if let Ok(m) =
                choose(text, docs, &cuts).and_then(|tree| Manifest::from_tree(text, &tree, &cuts))
            {
                return Ok(m);
            }
            // Errors are reported by the full parse below, with exact positions.
        }
        Manifest::parse_full(text)
    }

    pub(crate) fn parse_full(text: &str) -> Result<Manifest, Rejection> {
        refuse_lone_cr(text)?;
        kubectl_pieces(text)?;
        let docs = full::parse_stream(text, false).map_err(|e| {
            let hint = end_marker_hint(text, e.offset, &e.message)
                .or_else(|| block_hint(text, e.offset))
                .map(|h| format!("; {h}"))
                .unwrap_or_default();
            Rejection::new(e.offset, format!("YAML syntax error: {}{hint}", e.message))
        })?;
        let docs: Vec<Tree> = docs.into_iter().filter(|d| d.root.is_some()).collect();
        let tree = choose(text, docs, &[])?;
        Manifest::from_tree(text, &tree, &[])
    }

    fn from_tree(text: &str, tree: &Tree, cuts: &[skeleton::Cut]) -> Result<Manifest, Rejection> {
        let root = tree.root.unwrap_or(NodeId(0));
        let root_start = tree.node(root).start as usize;
        if let Some(at) = tab_indentation(text, tree, root, cuts) {
            return Err(Rejection::new(at, TAB_MESSAGE));
        }
        let Some(pairs) = tree.map_pairs(root) else {
            return Err(Rejection::new(
                root_start,
                "the manifest is not a mapping of fields",
            ));
        };
        let pairs: Vec<(NodeId, NodeId)> = pairs.collect();
        check_top_level(text, tree, &pairs)?;
        let field = |name: &str| -> Option<NodeId> {
            pairs
                .iter()
                .find(|(k, _)| tree.scalar(text, *k).is_some_and(|(s, _)| s == name))
                .map(|(_, v)| *v)
        };
        match field("kind").and_then(|k| tree.scalar(text, k)) {
            Some(("ConfigMap", _)) => {}
            Some((other, _)) => {
                return Err(Rejection::new(
                    root_start,
                    format!("the manifest is a {other}, not a ConfigMap"),
                ));
            }
            None => {
                return Err(Rejection::new(
                    root_start,
                    "the manifest has no kind: ConfigMap",
                ));
            }
        }
        match field("apiVersion").and_then(|k| tree.scalar(text, k)) {
            Some(("v1", _)) => {}
            Some((other, _)) => {
                return Err(Rejection::new(
                    root_start,
                    format!("a ConfigMap has apiVersion v1, not {other}"),
                ));
            }
            None => {
                return Err(Rejection::new(
                    root_start,
                    "the manifest has no apiVersion: v1",
                ));
            }
        }
        let metadata = field("metadata");
        let meta = |name: &str| -> Option<String> {
            let m = metadata?;
            let (_, v) = tree
                .map_pairs(m)?
                .find(|(k, _)| tree.scalar(text, *k).is_some_and(|(s, _)| s == name))?;
            tree.scalar(text, v).map(|(s, _)| s.to_owned())
        };
        check_metadata(text, tree, metadata)?;
        let (name, namespace, resource_version, uid) = (
            meta("name"),
            meta("namespace"),
            meta("resourceVersion"),
            meta("uid"),
        );
        let annotations = metadata
            .and_then(|m| {
                let (_, v) = tree.map_pairs(m)?.find(|(k, _)| {
                    tree.scalar(text, *k)
                        .is_some_and(|(s, _)| s == "annotations")
                })?;
                let v = tree.resolve(v);
                matches!(tree.node(v).kind, Kind::Map { .. }).then(|| {
                    crate::yaml::json::object_entries(tree, text, v)
                        .into_iter()
                        .filter_map(|(k, v, _)| match json_type(tree, text, v) {
                            JsonType::String(s) => Some((k, s.to_owned())),
                            _ => None,
                        })
                        .collect()
                })
            })
            .unwrap_or_default();

        let data_key = pairs
            .iter()
            .find(|(k, _)| tree.scalar(text, *k).is_some_and(|(s, _)| s == "data"))
            .copied();
        let (data, values) = match data_key {
            None if tree.is_flow(root) => (DataSection::Flow, Vec::new()),
            None => {
                let col = pairs
                    .first()
                    .map_or(0, |(k, _)| key_column(text, tree.node(*k).start as usize));
                (
                    DataSection::Absent {
                        // Past comments indented under the last field, which a
                        // new block would take in.
                        insert_at: after_deeper_lines(text, document_end(text, tree, root), col),
                        col,
                    },
                    Vec::new(),
                )
            }
            Some((k, v)) => data_values(text, tree, k, v, cuts)?,
        };
        duplicate_keys(text, tree)?;
        Ok(Manifest {
            name,
            namespace,
            resource_version,
            uid,
            annotations,
            data,
            values,
        })
    }

    /// The value of a data key.
    pub(crate) fn value(&self, key: &str) -> Option<&DataValue> {
        self.values.iter().find(|v| v.key == key)
    }
}

/// Explains content after the end of the first YAML document that does not
/// start a new one with `---`: after a `...` marker, or after a line indented
/// less than the document's first line. yaml.v2 (and so kubectl) reads the
/// document only up to there and drops the rest without a word.
fn end_marker_hint(text: &str, offset: usize, message: &str) -> Option<String> {
    let before = &text[..offset.min(text.len())];
    let mut marker = None;
    let mut at = 0;
    for line in before.split_inclusive('\n') {
        if line.starts_with("---") {
            marker = None;
        } else if line
            .strip_prefix("...")
            .is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t', '\r', '\n']))
        {
            marker = Some(at);
        }
        at += line.len();
    }
    let line = line_of(text, offset);
    Some(match marker {
        Some(m) => format!(
            "line {} is a `...` document end marker: the YAML document ends there, and kubectl drops everything after it up to the next `---` line; remove the `...` line",
            line_of(text, m)
        ),
        None if !message.contains("did not find expected <document start>") => return None,
        None => format!(
            "the YAML document ends before line {line} (indented less than the document's first line, or past the end of its top-level collection), and kubectl drops everything after it up to the next `---` line; indent line {line} like the lines above it"
        ),
    })
}

/// Explains a syntax error inside or just after a `key: |` block, the usual way
/// aws-auth manifests break: content not indented past its key, or a first line
/// indented deeper than the rest.
fn block_hint(text: &str, offset: usize) -> Option<String> {
    let lines: Vec<&str> = text.split('\n').collect();
    let error_line = text[..offset.min(text.len())].matches('\n').count();
    let indent = |l: &str| l.len() - l.trim_start_matches(' ').len();
    let error_indent = indent(lines.get(error_line)?);
    let mut comments: Vec<(usize, usize)> = Vec::new();
    for h in (0..error_line).rev() {
        let line = lines[h];
        let content = line.trim();
        if content.starts_with('#') {
            comments.push((h, indent(line)));
            continue;
        }
        if content.is_empty() {
            continue;
        }
        let header = content.split_once(':').and_then(|(key, rest)| {
            let rest = rest.split('#').next().unwrap_or("").trim();
            let is_header = rest.starts_with(['|', '>'])
                && rest[1..]
                    .chars()
                    .all(|c| matches!(c, '-' | '+' | '1'..='9'));
            is_header.then_some((key, rest))
        });
        let Some((key, rest)) = header else {
            // A line of the block itself: keep looking for its header.
            if indent(line) > 0 {
                continue;
            }
            return None;
        };
        let key_col = indent(line);
        if let Some(&(c, col)) = comments.iter().rev().find(|&&(_, col)| col <= key_col) {
            return Some(format!(
                "the comment on line {} starts at column {}, which ends the `{key}: {rest}` block begun on line {}; indent the comment like the value or remove it",
                c + 1,
                col + 1,
                h + 1
            ));
        }
        let first = (h + 1..lines.len()).find(|&i| !lines[i].trim().is_empty())?;
        let first_indent = indent(lines[first]);
        let (el, hl, fl) = (error_line + 1, h + 1, first + 1);
        if first_indent <= key_col {
            return Some(format!(
                "the value of `{key}: {rest}` (line {hl}) must be indented deeper than `{key}`, but line {fl} is not"
            ));
        }
        if error_indent <= key_col && error_line > first {
            return Some(format!(
                "line {el} is not indented deeper than `{key}:` (line {hl}), so it ends that block early; indent every line of the value deeper than the key"
            ));
        }
        if error_indent < first_indent {
            return Some(format!(
                "the indentation of the `{key}: {rest}` block is set by its first line (line {fl}, {first_indent} spaces), and line {el} has only {error_indent}"
            ));
        }
        return None;
    }
    None
}

const TAB_MESSAGE: &str = "a tab in the indentation: YAML (and so kubectl) allows only spaces to indent; replace it with spaces";

/// Picks the ConfigMap among the documents of a file, the items of a
/// `kind: List` (or `ConfigMapList`, any `*List`) counting as documents:
/// `kubectl apply` applies each item as its own object.
fn choose(text: &str, docs: Vec<Tree>, cuts: &[skeleton::Cut]) -> Result<Tree, Rejection> {
    if docs.len() <= 1 && docs.first().is_none_or(|d| list_items(text, d).is_none()) {
        return docs
            .into_iter()
            .next()
            .ok_or_else(|| Rejection::new(0, "the file holds no YAML document"));
    }
    // kubectl decodes every document of a file into an object and refuses
    // the whole file when one is not.
    for d in &docs {
        if let Some(root) = d.root
            && !matches!(d.node(d.resolve(root)).kind, Kind::Map { .. })
            && json_type(d, text, root) != JsonType::Null
        {
            let at = d.node(root).start as usize;
            return Err(Rejection::new(
                at,
                format!(
                    "the document at line {} is not a mapping of fields: kubectl refuses the whole file",
                    line_of(text, at)
                ),
            ));
        }
        duplicate_keys(text, d)?;
        floats_json_refuses(text, d)?;
        // kubectl parses every document; the chosen one is checked with the rest
        // of its fields.
        if let Some(root) = d.root
            && let Some(at) = tab_indentation(text, d, root, cuts)
        {
            return Err(Rejection::new(at, TAB_MESSAGE));
        }
    }
    let field = |tree: &Tree, path: &[&str]| field_of(text, tree, path);
    let mut objects = Vec::with_capacity(docs.len());
    for d in docs {
        match list_items(text, &d) {
            Some(items) => objects.extend(items.into_iter().map(|item| Tree {
                root: Some(item),
                ..d.clone()
            })),
            None => objects.push(d),
        }
    }
    let mut config_maps: Vec<Tree> = objects
        .into_iter()
        .filter(|d| field(d, &["kind"]).as_deref() == Some("ConfigMap"))
        .collect();
    // kube-system/aws-auth; a document without a namespace may be applied
    // there too. Two of them make an edit ambiguous: refused, not guessed.
    let namespace = |d: &Tree| field(d, &["metadata", "namespace"]);
    let named: Vec<usize> = (0..config_maps.len())
        .filter(|&i| {
            field(&config_maps[i], &["metadata", "name"]).as_deref() == Some("aws-auth")
                && namespace(&config_maps[i]).is_none_or(|n| n == "kube-system")
        })
        .collect();
    if let [first, second, ..] = named[..] {
        let line = |i: usize| {
            let start = config_maps[i]
                .root
                .map_or(0, |r| config_maps[i].node(r).start as usize);
            (start, line_of(text, start))
        };
        let ((_, a), (at, b)) = (line(first), line(second));
        return Err(Rejection::new(
            at,
            format!(
                "the file holds more than one kube-system/aws-auth ConfigMap (the documents at lines {a} and {b}); an edit of one would leave the other to undo it when the file is applied: keep one"
            ),
        ));
    }
    if let Some(&i) = named.first() {
        return Ok(config_maps.swap_remove(i));
    }
    if let Some(i) = config_maps
        .iter()
        .position(|d| field(d, &["metadata", "name"]).as_deref() == Some("aws-auth"))
    {
        return Ok(config_maps.swap_remove(i));
    }
    match config_maps.len() {
        1 => Ok(config_maps.swap_remove(0)),
        0 => Err(Rejection::new(
            0,
            "none of the documents in the file is a ConfigMap",
        )),
        _ => Err(Rejection::new(
            0,
            "the file holds several ConfigMaps and none is named aws-auth",
        )),
    }
}

/// The scalar at `path` of fields from a tree's root.
fn field_of(text: &str, tree: &Tree, path: &[&str]) -> Option<String> {
    let mut node = tree.root?;
    for name in path {
        let (_, v) = tree
            .map_pairs(node)?
            .find(|(k, _)| tree.scalar(text, *k).is_some_and(|(s, _)| s == *name))?;
        node = v;
    }
    tree.scalar(text, node).map(|(s, _)| s.to_owned())
}

/// The items of a list object (`kind: List`, `ConfigMapList`, any kind
/// ending in `List` with an `items` sequence), as kubectl flattens it.
fn list_items(text: &str, tree: &Tree) -> Option<Vec<NodeId>> {
    let kind = field_of(text, tree, &["kind"])?;
    if !kind.ends_with("List") {
        return None;
    }
    let (_, items) = tree
        .map_pairs(tree.root?)?
        .find(|(k, _)| tree.scalar(text, *k).is_some_and(|(s, _)| s == "items"))?;
    let items = tree.resolve(items);
    Some(
        tree.seq_items(items)?
            .iter()
            .map(|&i| tree.resolve(i))
            .filter(|&i| matches!(tree.node(i).kind, Kind::Map { .. }))
            .collect(),
    )
}

/// kubectl cuts a file into documents at lines that start with `---` before
/// any YAML parser sees it, and reads each piece on its own: a separator with
/// more than a comment after it is refused, and a piece that starts with a
/// `...` marker is broken YAML to yaml.v2. A YAML stream parser reads both.
fn kubectl_pieces(text: &str) -> Result<(), Rejection> {
    let bytes = text.as_bytes();
    let starts = std::iter::once(0)
        .filter(|_| bytes.starts_with(b"---"))
        .chain(memchr::memmem::find_iter(bytes, b"\n---").map(|i| i + 1));
    for at in starts {
        let end = text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
        let rest = text[at + 3..end].trim();
        if !(rest.is_empty() || rest.starts_with('#')) {
            return Err(Rejection::new(
                at,
                format!(
                    "line {} starts with `---` but is not a plain document separator: kubectl refuses anything but a comment after the `---`",
                    line_of(text, at)
                ),
            ));
        }
        let next = text[end..]
            .split_inclusive('\n')
            .scan(end, |pos, line| {
                let here = *pos;
                *pos += line.len();
                Some((here, line))
            })
            .find(|(_, line)| {
                let t = line.trim_start_matches([' ', '\t']);
                !(t.trim().is_empty() || t.starts_with('#'))
            });
        if let Some((pos, line)) = next
            && line
                .strip_prefix("...")
                .is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t', '\r', '\n']))
        {
            return Err(Rejection::new(
                pos,
                format!(
                    "the document begun at line {} starts with a `...` end marker (line {}), which yaml.v2 refuses, and with it kubectl the whole file; remove the `...` line",
                    line_of(text, at),
                    line_of(text, pos)
                ),
            ));
        }
    }
    tabs_in_empty_pieces(text)
}

/// yaml.v2 reads every piece kubectl cuts, those of only comments and blank
/// lines too (the stream parser here finds no document in them): a tab that
/// cannot start a token there refuses the file.
fn tabs_in_empty_pieces(text: &str) -> Result<(), Rejection> {
    if memchr::memchr(b'\t', text.as_bytes()).is_none() {
        return Ok(());
    }
    let mut bounds = vec![0];
    bounds.extend(memchr::memmem::find_iter(text.as_bytes(), b"\n---").map(|i| i + 1));
    bounds.push(text.len());
    let empty = Tree::default();
    for w in bounds.windows(2) {
        let piece = &text[w[0]..w[1]];
        let content = piece.lines().enumerate().any(|(i, l)| {
            let t = l.trim_start_matches([' ', '\t']);
            !(t.trim().is_empty() || t.starts_with('#') || (i == 0 && l.starts_with("---")))
        });
        if !content && let Some(at) = crate::yaml::tabs::refused_in(text, &empty, w[0]..w[1], &[]) {
            return Err(Rejection::new(at, TAB_MESSAGE));
        }
    }
    Ok(())
}

/// A lone CR is a line break to YAML (and so to kubectl) but not to editors,
/// diffs or line-based layouts: what the file shows is not what is applied.
fn refuse_lone_cr(text: &str) -> Result<(), Rejection> {
    match crate::yaml::lone_cr(text) {
        Some(at) => Err(Rejection::new(
            at,
            "a carriage return without a line feed (an old Mac line end): YAML and kubectl read it as a line break where editors show none; convert it to a line feed",
        )),
        None => Ok(()),
    }
}

/// ObjectMeta as kubectl's strict decoding holds it: a mapping of known
/// fields, each of its type.
fn check_metadata(text: &str, tree: &Tree, metadata: Option<NodeId>) -> Result<(), Rejection> {
    if let Some(m) = metadata
        && !matches!(
            json_type(tree, text, m),
            JsonType::Object(_) | JsonType::Null
        )
    {
        return Err(Rejection::new(
            tree.node(m).start as usize,
            "metadata is not a mapping",
        ));
    }
    if let Some(m) = metadata {
        for (k, v) in tree.map_pairs(m).into_iter().flatten() {
            let Some((field, _)) = tree.scalar(text, k) else {
                continue;
            };
            if let Some(want) = meta_type_error(tree, text, field, v) {
                return Err(Rejection::new(
                    tree.node(v).start as usize,
                    format!("metadata.{field} is not {want}: kubectl refuses it"),
                ));
            }
            if !OBJECT_META.contains(&field) {
                let at = tree.node(k).start as usize;
                let hint = if matches!(
                    field,
                    "data" | "binaryData" | "mapRoles" | "mapUsers" | "mapAccounts"
                ) {
                    format!(
                        "; {field} belongs at the top level (indented like metadata:), not under it"
                    )
                } else {
                    String::new()
                };
                return Err(Rejection::new(
                    at,
                    format!(
                        "unknown field metadata.{field} (line {}): kubectl refuses it{hint}",
                        line_of(text, at)
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The top-level fields: plain names, each once, of those a ConfigMap has.
fn check_top_level(text: &str, tree: &Tree, pairs: &[(NodeId, NodeId)]) -> Result<(), Rejection> {
    let mut seen: Vec<(String, usize)> = Vec::new();
    let mut unknown: Vec<(String, usize)> = Vec::new();
    for (k, _) in pairs {
        let at = tree.node(*k).start as usize;
        let Some((name, _)) = tree.scalar(text, *k) else {
            return Err(Rejection::new(at, "a top-level key is not a plain name"));
        };
        if let Some((_, first)) = seen.iter().find(|(n, _)| n == name) {
            return Err(Rejection::new(
                at,
                format!(
                    "the field {name} appears twice (lines {} and {})",
                    line_of(text, *first),
                    line_of(text, at)
                ),
            ));
        }
        seen.push((name.to_owned(), at));
        if !TOP_LEVEL.contains(&name) {
            unknown.push((name.to_owned(), at));
        }
    }
    if let Some((_, at)) = unknown.first() {
        let names: Vec<String> = unknown
            .iter()
            .map(|(n, a)| format!("{n} (line {})", line_of(text, *a)))
            .collect();
        let hint = if unknown
            .iter()
            .any(|(n, _)| matches!(n.as_str(), "mapRoles" | "mapUsers" | "mapAccounts"))
        {
            "; mapRoles, mapUsers and mapAccounts must be indented under data:"
        } else {
            ""
        };
        let s = if unknown.len() == 1 { "" } else { "s" };
        return Err(Rejection::new(
            *at,
            format!(
                "unknown top-level field{s} {}: a ConfigMap has only apiVersion, kind, metadata, data, binaryData and immutable{hint}",
                names.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Why a metadata field's value is not of the type ObjectMeta gives it (what
/// it should be), or `None`. Null is always accepted.
fn meta_type_error(tree: &Tree, text: &str, field: &str, v: NodeId) -> Option<&'static str> {
    let ty = json_type(tree, text, v);
    if ty == JsonType::Null {
        return None;
    }
    let strings = |map: NodeId| {
        crate::yaml::json::object_entries(tree, text, map)
            .iter()
            .all(|(_, v, _)| {
                matches!(
                    json_type(tree, text, *v),
                    JsonType::String(_) | JsonType::Null
                )
            })
    };
    match (field, ty) {
        (
            "name" | "namespace" | "generateName" | "uid" | "resourceVersion" | "selfLink"
            | "creationTimestamp" | "deletionTimestamp",
            JsonType::String(_),
        )
        | ("generation" | "deletionGracePeriodSeconds", JsonType::Number)
        | ("ownerReferences" | "managedFields", JsonType::Array(_)) => None,
        ("labels" | "annotations", JsonType::Object(m)) if strings(m) => None,
        ("finalizers", JsonType::Array(list)) => tree
            .seq_items(list)
            .unwrap_or_default()
            .iter()
            .all(|&i| {
                matches!(
                    json_type(tree, text, i),
                    JsonType::String(_) | JsonType::Null
                )
            })
            .then_some(())
            .map_or(Some("a list of strings"), |()| None),
        ("name" | "namespace" | "generateName" | "uid" | "resourceVersion" | "selfLink", _) => {
            Some("a string")
        }
        ("creationTimestamp" | "deletionTimestamp", _) => Some("a timestamp string"),
        ("generation" | "deletionGracePeriodSeconds", _) => Some("a number"),
        ("ownerReferences" | "managedFields" | "finalizers", _) => Some("a list"),
        ("labels" | "annotations", _) => Some("a mapping of keys to strings"),
        _ => None,
    }
}

/// A key given twice in one mapping of a manifest: kubectl's strict decoding
/// refuses the file (yaml.v2 compares the keys as the values they resolve
/// to: `1` and `0x1` are the same key, `1` and `"1"` are not).
/// kubectl turns every document into JSON, which has no NaN or infinity:
/// a `.nan` or `.inf` anywhere in the file refuses it.
fn floats_json_refuses(text: &str, tree: &Tree) -> Result<(), Rejection> {
    for (i, node) in tree.nodes.iter().enumerate() {
        if !matches!(node.kind, Kind::Scalar { .. }) {
            continue;
        }
        if let Ok(Resolved::Float(f)) = resolve_scalar(tree, text, NodeId(i as u32))
            && !f.is_finite()
        {
            let at = node.start as usize;
            return Err(Rejection::new(
                at,
                format!(
                    "{} (line {}) is a YAML float that JSON cannot hold, and kubectl turns every document into JSON: it refuses the whole file; quote it if it is text",
                    &text[at..(node.end as usize).min(text.len())],
                    line_of(text, at)
                ),
            ));
        }
    }
    Ok(())
}

fn duplicate_keys(text: &str, tree: &Tree) -> Result<(), Rejection> {
    let identity = |k: NodeId| -> Option<String> {
        let (raw, _) = tree.scalar(text, k)?;
        Some(match resolve_scalar(tree, text, k).ok()? {
            Resolved::Str => format!("s{raw}"),
            Resolved::Null => "n".to_owned(),
            Resolved::Bool(b) => format!("b{b}"),
            Resolved::Int(i) => format!("i{i}"),
            Resolved::Float(f) if f.is_nan() => return None,
            Resolved::Float(f) => format!("f{f}"),
        })
    };
    for (i, node) in tree.nodes.iter().enumerate() {
        if !matches!(node.kind, Kind::Map { .. }) {
            continue;
        }
        let mut seen: Vec<(String, NodeId)> = Vec::new();
        for (k, _) in tree.map_pairs(NodeId(i as u32)).into_iter().flatten() {
            // yaml.v2 decodes into Go maps, whose keys cannot be maps or lists.
            if matches!(
                tree.node(tree.resolve(k)).kind,
                Kind::Map { .. } | Kind::Seq { .. }
            ) {
                let at = tree.node(k).start as usize;
                return Err(Rejection::new(
                    at,
                    format!(
                        "a mapping or list used as a key (line {}): yaml.v2, and so kubectl, refuses the whole file; quote it if it is text (an unquoted {{{{...}}}} is YAML flow syntax)",
                        line_of(text, at)
                    ),
                ));
            }
            let Some(id) = identity(k) else { continue };
            if id == "s<<" {
                continue;
            }
            if let Some((_, first)) = seen.iter().find(|(s, _)| *s == id) {
                let (a, b) = (
                    tree.node(*first).start as usize,
                    tree.node(k).start as usize,
                );
                let name = tree.scalar(text, k).map_or("", |(s, _)| s);
                return Err(Rejection::new(
                    b,
                    format!(
                        "the key {name:?} appears twice in one mapping (lines {} and {}): kubectl refuses duplicate fields",
                        line_of(text, a),
                        line_of(text, b)
                    ),
                ));
            }
            seen.push((id, k));
        }
    }
    Ok(())
}

/// Where a `data:` section can be appended: the start of the line after the
/// document's last node.
fn document_end(text: &str, tree: &Tree, root: NodeId) -> usize {
    let end = tree.node(root).end as usize;
    match text[end..].find('\n') {
        Some(i) => end + i + 1,
        None => text.len(),
    }
}

/// Below this size a block is parsed with the rest of the manifest.
const SKELETON_MIN_BODY: usize = 4096;

/// The column a block mapping key stands at: the column of its line's first
/// token when only a tag or an anchor precedes the key (`!!str  mapRoles: |`
/// is a key at column 2), else the key's own column.
fn key_column(text: &str, key_start: usize) -> usize {
    let line_start = memchr::memrchr(b'\n', &text.as_bytes()[..key_start]).map_or(0, |i| i + 1);
    let prefix = &text[line_start..key_start];
    let content = prefix.trim_start_matches(' ');
    // A tab is one column to YAML: the key's own column counts then.
    let only_properties = !prefix.contains('\t')
        && content
            .split_ascii_whitespace()
            .all(|t| t.starts_with('!') || t.starts_with('&'));
    if only_properties {
        prefix.len() - content.len()
    } else {
        key_start - line_start
    }
}

/// The 1-based line of an offset (for messages).
fn line_of(text: &str, offset: usize) -> usize {
    memchr::memchr_iter(b'\n', &text.as_bytes()[..offset.min(text.len())]).count() + 1
}

fn data_values(
    text: &str,
    tree: &Tree,
    data_key: NodeId,
    data: NodeId,
    cuts: &[skeleton::Cut],
) -> Result<(DataSection, Vec<DataValue>), Rejection> {
    let data_res = tree.resolve(data);
    let node = tree.node(data_res);
    let key_col = key_column(text, tree.node(data_key).start as usize);
    if !matches!(node.kind, Kind::Map { .. }) {
        return data_not_a_map(text, tree, data_key, data_res, key_col);
    }
    let mut values: Vec<DataValue> = Vec::new();
    let mut last_end = node.start as usize;
    for (k, v) in tree.map_pairs(data_res).into_iter().flatten() {
        let key = data_key_name(text, tree, k, &values)?;
        let value = data_value(text, tree, k, v, key, cuts)?;
        last_end = last_end.max(value.token.end);
        values.push(value);
    }
    let section = data_section(text, tree, data_res, key_col, last_end, &values);
    Ok((section, values))
}

/// `data` that is not a mapping: `null` (or nothing) is an empty one, whose
/// token a write replaces; anything else is refused.
fn data_not_a_map(
    text: &str,
    tree: &Tree,
    data_key: NodeId,
    data_res: NodeId,
    key_col: usize,
) -> Result<(DataSection, Vec<DataValue>), Rejection> {
    let node = tree.node(data_res);
    let start = node.start as usize;
    match &node.kind {
        Kind::Scalar { .. } => match resolve_scalar(tree, text, data_res) {
            Ok(Resolved::Null) => Ok((
                DataSection::Replace {
                    token: value_token(
                        text,
                        tree.node(data_key).end as usize,
                        start,
                        node.end as usize,
                    ),
                    key_col,
                },
                Vec::new(),
            )),
            _ => Err(Rejection::new(
                start,
                "data is not a mapping of keys to strings",
            )),
        },
        Kind::Seq { .. } => Err(Rejection::new(
            start,
            "data is a list, not a mapping of keys to strings",
        )),
        _ => Err(Rejection::new(start, "data is an unresolved alias")),
    }
}

/// The name of the data key `k`, which must be one the API server takes and
/// not one already among `values`.
fn data_key_name(
    text: &str,
    tree: &Tree,
    k: NodeId,
    values: &[DataValue],
) -> Result<String, Rejection> {
    let key_start = tree.node(k).start as usize;
    let Some((key, _)) = tree.scalar(text, k) else {
        return Err(Rejection::new(key_start, "a data key is not a plain name"));
    };
    let key = key.to_owned();
    if key.is_empty()
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
    {
        return Err(Rejection::new(
            key_start,
            format!(
                "the data key {key:?} is not valid: keys may hold only letters, digits, '-', '_' and '.'"
            ),
        ));
    }
    if let Some(first) = values.iter().find(|d| d.key == key) {
        return Err(Rejection::new(
            key_start,
            format!(
                "data.{key} appears twice (lines {} and {}); kubectl refuses duplicate fields",
                line_of(text, first.key_start),
                line_of(text, key_start)
            ),
        ));
    }
    Ok(key)
}

/// The value of data key `k` (named `key`): its string as the API server
/// stores it, and its layout for writing it back.
fn data_value(
    text: &str,
    tree: &Tree,
    k: NodeId,
    v: NodeId,
    key: String,
    cuts: &[skeleton::Cut],
) -> Result<DataValue, Rejection> {
    let key_node = tree.node(k);
    let key_start = key_node.start as usize;
    let value_node = tree.node(tree.resolve(v));
    // A block cut out by the skeleton path brings its layout and value.
    let cut = match &value_node.kind {
        Kind::Scalar {
            style: ScalarStyle::Literal,
            ..
        } => block_indicator(text, key_node.end as usize, usize::MAX)
            .and_then(|i| cuts.iter().find(|c| c.literal.indicator == i)),
        _ => None,
    };
    let decoded = decoded_value(text, tree, k, v, &key, cut)?;
    let key_col = key_column(text, key_start);
    let vstart = value_node.start as usize;
    let aliased = matches!(tree.node(v).kind, Kind::Alias { .. });
    let (style, token, codec) = match (&value_node.kind, cut) {
        (_, Some(c)) => (
            ScalarStyle::Literal,
            c.literal.indicator..c.literal.end,
            Codec::Literal(c.literal.clone()),
        ),
        (Kind::Scalar { style, .. }, None) if !aliased => {
            let (token, codec) = codec_for(
                text,
                *style,
                key_node.end as usize,
                vstart,
                value_node.end as usize,
                key_col,
                &decoded,
            );
            (*style, token, codec)
        }
        _ => (
            ScalarStyle::Plain,
            vstart..value_node.end as usize,
            Codec::Whole,
        ),
    };
    let token = value_token(text, key_node.end as usize, token.start, token.end);
    Ok(DataValue {
        key,
        key_start,
        key_col,
        token,
        style,
        decoded,
        codec,
    })
}

/// The string a data value holds, as the API server stores it; a value that
/// is not a string is refused with the fix.
fn decoded_value(
    text: &str,
    tree: &Tree,
    k: NodeId,
    v: NodeId,
    key: &str,
    cut: Option<&skeleton::Cut>,
) -> Result<Arc<String>, Rejection> {
    let key_node = tree.node(k);
    let value_node = tree.node(tree.resolve(v));
    let vstart = value_node.start as usize;
    // A literal block is decoded by its own scanner, which follows yaml.v2
    // where the full parser does not (no final line break when the block
    // ends the file without one).
    let scanned = match (&value_node.kind, cut) {
        (
            Kind::Scalar {
                style: ScalarStyle::Literal,
                ..
            },
            None,
        ) if !matches!(tree.node(v).kind, Kind::Alias { .. }) => {
            block_indicator(text, key_node.end as usize, vstart).and_then(|i| {
                Literal::locate_decoded(text, i, key_column(text, key_node.start as usize))
            })
        }
        _ => None,
    };
    let not_a_string = |what: String| Err(Rejection::new(vstart, what));
    match (cut, json_type(tree, text, v)) {
        (Some(c), _) => Ok(Arc::clone(&c.decoded)),
        (None, JsonType::String(_)) if scanned.is_some() => {
            Ok(Arc::new(scanned.map(|(_, d)| d).unwrap_or_default()))
        }
        (None, JsonType::String(s))
            if matches!(
                value_node.kind,
                Kind::Scalar {
                    style: ScalarStyle::Folded,
                    ..
                }
            ) && !text[value_node.end as usize..].contains(['\n', '\r'])
                && s.ends_with('\n') =>
        {
            // Likewise a folded block that ends the file without a line break.
            Ok(Arc::new(s[..s.len() - 1].to_owned()))
        }
        (None, JsonType::String(s)) => Ok(Arc::new(s.to_owned())),
        (None, JsonType::Null) => Ok(Arc::new(String::new())),
        (None, JsonType::Array(_)) => not_a_string(format!(
            "data.{key} is a YAML list, but ConfigMap values are strings: write `{key}: |` and indent the list below it"
        )),
        (None, JsonType::Object(_)) => not_a_string(format!(
            "data.{key} is a YAML mapping, but ConfigMap values are strings: write `{key}: |` and indent the YAML below it"
        )),
        (None, other) => not_a_string(format!(
            "data.{key} is a {}, but ConfigMap values are strings: quote it",
            other.go_name()
        )),
    }
}

/// Where a new data key goes: in a block mapping, after the last value (or
/// before the first, when the last ends the file without a line feed); a
/// flow mapping is rewritten, an empty one replaced.
fn data_section(
    text: &str,
    tree: &Tree,
    data_res: NodeId,
    key_col: usize,
    last_end: usize,
    values: &[DataValue],
) -> DataSection {
    let node = tree.node(data_res);
    if tree.is_flow(data_res) {
        return if values.is_empty() {
            DataSection::Replace {
                token: node.start as usize..node.end as usize,
                key_col,
            }
        } else {
            DataSection::Flow
        };
    }
    let col = values.first().map_or(key_col + 2, |v| v.key_col);
    let insert_at = match (text[last_end..].find('\n'), values.first()) {
        (Some(i), _) => after_deeper_lines(text, last_end + i + 1, col),
        // The last value ends the file without a line feed: a key added
        // after it would give a block its final line break, and so change
        // its value. New keys go before the first one instead.
        (None, Some(first)) => {
            memchr::memrchr(b'\n', &text.as_bytes()[..first.key_start]).map_or(0, |i| i + 1)
        }
        (None, None) => text.len(),
    };
    DataSection::Block { col, insert_at }
}

/// The first tab of the document that yaml.v2 (kubectl's parser) refuses
/// although the full parser here takes it: the rule the map's own YAML is
/// read by ([`crate::yaml::tabs`]), over the document's lines from its own
/// marker, with the data values cut out for speed given by their layout.
fn tab_indentation(text: &str, tree: &Tree, root: NodeId, cuts: &[skeleton::Cut]) -> Option<usize> {
    let known: Vec<crate::yaml::tabs::KnownBlock> = cuts
        .iter()
        .map(|c| (c.literal.indicator, c.literal.body.end, c.literal.indent))
        .collect();
    let root_start = tree.node(root).start as usize;
    let line = text[..root_start].rfind('\n').map_or(0, |i| i + 1);
    // From the document's own marker: earlier lines are another document's.
    let mut from = 0;
    let mut pos = 0;
    for l in text[..line].split_inclusive('\n') {
        pos += l.len();
        if l.starts_with("---") || l.starts_with("...") {
            from = pos;
        }
    }
    if text[line..].starts_with("---") {
        from = line;
    }
    crate::yaml::tabs::refused_in(
        text,
        tree,
        from..crate::yaml::tabs::document_end(text, root_start),
        &known,
    )
}

/// Past the lines from `at` on that are indented deeper than `col` (comments
/// that follow the last value): a key inserted before them would take them
/// into its block. Blank lines after the last such line stay after the key.
fn after_deeper_lines(text: &str, at: usize, col: usize) -> usize {
    let mut pos = at;
    let mut end = at;
    while pos < text.len() {
        let line_end = text[pos..].find('\n').map_or(text.len(), |i| pos + i + 1);
        let line = &text[pos..line_end];
        let content = line.trim_start_matches([' ', '\t']);
        if content.trim().is_empty() {
            pos = line_end;
            continue;
        }
        if line.len() - content.len() <= col {
            break;
        }
        pos = line_end;
        end = line_end;
    }
    // Only blank lines to the end: a block added before them would take in
    // their spaces; it goes after them.
    if pos >= text.len() { text.len() } else { end }
}

/// An absent value (`key:`) is placed right after its key's colon, where a new
/// value can be written; other tokens are kept.
fn value_token(text: &str, key_end: usize, start: usize, end: usize) -> Range<usize> {
    if start != end {
        return start..end;
    }
    let rest = &text[key_end..];
    let skip = rest.len() - rest.trim_start_matches(' ').len();
    if rest.as_bytes().get(skip) == Some(&b':') {
        let at = key_end + skip + 1;
        return at..at;
    }
    start..end
}

/// The `|` or `>` that starts a block scalar value: after the key's colon, past
/// any tag or anchor (`mapRoles: !!str |`).
// The full parser places an empty block that ends the text at its indicator,
// hence `<=`.
fn block_indicator(text: &str, key_end: usize, content_start: usize) -> Option<usize> {
    let b = text.as_bytes();
    let mut i = key_end;
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    if b.get(i) != Some(&b':') {
        return None;
    }
    i += 1;
    loop {
        // The indicator may stand on a line of its own below the key.
        while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            i += 1;
        }
        match b.get(i)? {
            b'|' | b'>' => return (i <= content_start).then_some(i),
            b'!' | b'&' => {
                while b.get(i).is_some_and(|c| !c.is_ascii_whitespace()) {
                    i += 1;
                }
            }
            _ => return None,
        }
    }
}

/// The end of a block scalar's last line: spaces after its last visible
/// character are content too, and go with it when it is rewritten.
fn block_end(text: &str, end: usize) -> usize {
    // An empty block's node may end past its header's line break, even into
    // the next line's indentation: the token stops at its last visible
    // character, like every other value's.
    let end = text[..end].trim_end().len();
    end + text[end..]
        .bytes()
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .count()
}

/// The token a value occupies and how it can be edited in place.
fn codec_for(
    text: &str,
    style: ScalarStyle,
    key_end: usize,
    start: usize,
    end: usize,
    key_col: usize,
    decoded: &str,
) -> (Range<usize>, Codec) {
    match style {
        ScalarStyle::Literal => {
            let Some(indicator) = block_indicator(text, key_end, start) else {
                return (start..end, Codec::Whole);
            };
            if let Some(l) = Literal::locate(text, indicator, key_col)
                && l.decode(text) == decoded
            {
                return (indicator..l.end, Codec::Literal(l));
            }
            // Re-rendered whole, from the indicator on.
            (indicator..block_end(text, end), Codec::Whole)
        }
        ScalarStyle::DoubleQuoted | ScalarStyle::SingleQuoted => {
            let double = style == ScalarStyle::DoubleQuoted;
            let token = &text[start..end];
            if quoted::decode(token, double).as_deref() == Some(decoded) {
                (start..end, Codec::Quoted { double })
            } else {
                (start..end, Codec::Whole)
            }
        }
        ScalarStyle::Folded => {
            let from = block_indicator(text, key_end, start).unwrap_or(start);
            (from..block_end(text, end), Codec::Whole)
        }
        ScalarStyle::Plain => (start..end, Codec::Whole),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Manifest::parse(text).expect_err(text).message
    }

    const HEAD: &str =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\n";

    /// What kubectl (yaml.v2, its document splitter, strict decoding) refuses
    /// or silently truncates, each checked against the Go stack
    /// (`tests/goparse`).
    #[test]
    fn refuses_what_kubectl_refuses_or_truncates() {
        let data = "data:\n  mapRoles: |\n    - rolearn: a\n";
        for (text, needle) in [
            // yaml.v2 ends the document at `...`; kubectl drops the rest.
            (
                format!("{HEAD}...\n{data}"),
                "line 6 is a `...` document end marker",
            ),
            (
                format!("{HEAD}{data}...\n- x\n"),
                "line 9 is a `...` document end marker",
            ),
            // A root indented deeper than a later line.
            (
                format!(
                    "  apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: aws-auth\n{data}"
                ),
                "the YAML document ends before line 5",
            ),
            // Strict decoding: a key twice in any mapping.
            (
                format!("{HEAD}  name: other\n{data}"),
                "the key \"name\" appears twice in one mapping (lines 4 and 6)",
            ),
            (
                format!("{HEAD}  labels: {{a: \"1\", a: \"2\"}}\n"),
                "appears twice",
            ),
            // Every document of a file must be an object.
            (
                format!("{HEAD}---\n- a\n"),
                "line 7 is not a mapping of fields",
            ),
            // ObjectMeta's types.
            (
                format!("{HEAD}  annotations:\n    a: {{b: c}}\n"),
                "metadata.annotations is not a mapping of keys to strings",
            ),
            (
                format!("{HEAD}  finalizers: [a, [b]]\n"),
                "metadata.finalizers is not a list of strings",
            ),
            (
                format!("{HEAD}  generation: x\n"),
                "metadata.generation is not a number",
            ),
            // A lone CR is a line break to YAML only.
            (
                format!("{HEAD}{data}  mapUsers: x\r  y: z\n"),
                "carriage return without a line feed",
            ),
            // kubectl's document splitter.
            (
                format!("{HEAD}--- x\n"),
                "line 6 starts with `---` but is not a plain document separator",
            ),
            (
                format!("{HEAD}{data}--- # next\n...\n"),
                "starts with a `...` end marker",
            ),
        ] {
            let message = err(&text);
            assert!(message.contains(needle), "{text}\n{message}");
        }
        // What kubectl reads stays readable.
        for text in [
            format!("{HEAD}{data}...\n"),
            format!(
                "{HEAD}{data}...\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n"
            ),
            format!(
                "{HEAD}  labels: {{a: \"1\", b: null}}\n  finalizers: [a]\n  generation: 3\n{data}"
            ),
            format!("{HEAD}{data}---\n---\n"),
        ] {
            Manifest::parse(&text).unwrap_or_else(|e| panic!("{text}\n{}", e.message));
        }
    }

    #[test]
    fn locates_values_in_every_style() {
        let text = format!(
            "{HEAD}data:\n  mapRoles: |\n    - rolearn: a\n  mapUsers: \"- userarn: b\\n\"\n  mapAccounts: '[\"1\"]'\n  other: >\n    folded\n"
        );
        let m = Manifest::parse(&text).unwrap();
        assert_eq!(m.name.as_deref(), Some("aws-auth"));
        let roles = m.value("mapRoles").unwrap();
        assert_eq!(&*roles.decoded, "- rolearn: a\n");
        assert!(matches!(roles.codec, Codec::Literal(_)));
        assert_eq!(&text[roles.token.clone()], "|\n    - rolearn: a");
        assert_eq!(
            m.value("mapUsers").unwrap().codec,
            Codec::Quoted { double: true }
        );
        assert_eq!(&*m.value("mapAccounts").unwrap().decoded, "[\"1\"]");
        assert_eq!(m.value("other").unwrap().codec, Codec::Whole);
        assert_eq!(
            m.data,
            DataSection::Block {
                col: 2,
                insert_at: text.len()
            }
        );
    }

    #[test]
    fn refuses_what_kubectl_refuses() {
        assert!(err("a: [").contains("syntax"));
        assert!(err(&format!("{HEAD}mapRoles: |\n  - x\n")).contains("indented under data"));
        assert!(
            err(&format!("{HEAD}data:\n  mapRoles:\n    - rolearn: a\n"))
                .contains("write `mapRoles: |`")
        );
        assert!(err(&format!("{HEAD}data:\n  mapAccounts: 111122223333\n")).contains("quote it"));
        assert!(err(&format!("{HEAD}data:\n  mapRoles: x\n  mapRoles: y\n")).contains("twice"));
        assert!(err("apiVersion: v1\nkind: Secret\n").contains("Secret"));
        assert!(err("- a\n").contains("not a mapping"));
        assert!(err("").contains("no YAML document"));
    }

    #[test]
    fn data_sections() {
        let m = Manifest::parse(HEAD).unwrap();
        assert_eq!(
            m.data,
            DataSection::Absent {
                insert_at: HEAD.len(),
                col: 0
            }
        );
        let text = format!("{HEAD}data: {{}}\n");
        assert!(matches!(
            Manifest::parse(&text).unwrap().data,
            DataSection::Replace { .. }
        ));
        let text = format!("{HEAD}data:\n");
        assert!(matches!(
            Manifest::parse(&text).unwrap().data,
            DataSection::Replace { .. }
        ));
    }

    fn manifests() -> Vec<String> {
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let mut out = Vec::new();
        for dir in [root.join("../fixtures"), root.join("../fixtures/corpus")] {
            for e in std::fs::read_dir(dir).into_iter().flatten() {
                let path = e.unwrap().path();
                if path.extension().is_some_and(|x| x == "yaml") {
                    out.push(std::fs::read_to_string(path).unwrap());
                }
            }
        }
        out.sort();
        out
    }

    /// Found by the read fuzz target: an empty block ending the text (a last
    /// line of spaces, no line feed) was re-rendered whole instead of edited.
    #[test]
    fn an_empty_block_at_the_end_of_the_text_is_a_literal() {
        for tail in ["", " ", "  ", "\n", "\n "] {
            let text = format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\ndata:\n  mapRoles: |{tail}"
            );
            let m = Manifest::parse_full(&text).unwrap();
            assert!(
                matches!(m.values[0].codec, Codec::Literal(_)),
                "{text:?}: {:?}",
                m.values[0].codec
            );
            assert_eq!(
                Manifest::parse_with(&text, 0),
                Manifest::parse_full(&text),
                "{text:?}"
            );
        }
    }

    /// Found by the read fuzz target: `\r\r\n` ending a block line was taken for
    /// one CRLF instead of two line breaks.
    #[test]
    fn carriage_returns_before_a_line_feed_are_line_breaks() {
        let mut body = String::new();
        for i in 0..300 {
            body.push_str(&format!("    - \"1111222233{i:02}\"\n"));
        }
        for tail in ["x\r\r\n", "x\r\r\r\r\n", "x\r\n", "x\r"] {
            let text = format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\ndata:\n  mapAccounts: |\n{body}    - {tail}"
            );
            assert_eq!(
                Manifest::parse_with(&text, 0),
                Manifest::parse_full(&text),
                "{tail:?}"
            );
            assert_eq!(
                Manifest::parse(&text),
                Manifest::parse_full(&text),
                "{tail:?}"
            );
        }
    }

    #[test]
    fn the_skeleton_path_equals_the_full_parse() {
        let mut cut = 0;
        for text in manifests() {
            let fast = Manifest::parse_with(&text, 0);
            assert_eq!(fast, Manifest::parse_full(&text), "{text}");
            cut += usize::from(skeleton::parse(&text, 0, None).is_some());
        }
        assert!(
            cut > 40,
            "the skeleton path applied to only {cut} manifests"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 3000, ..Default::default() })]

        #[test]
        fn the_skeleton_path_equals_the_full_parse_on_mutations(
            pick in proptest::prelude::any::<proptest::sample::Index>(),
            edits in proptest::collection::vec((proptest::prelude::any::<proptest::sample::Index>(), 0u8..3, proptest::sample::select(vec![' ', '-', ':', '#', '\n', '"', '\'', '|', '>', 'a', '+', '2', '\r'])), 1..5),
        ) {
            let texts = manifests();
            let mut text: Vec<char> = pick.get(&texts).chars().collect();
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
            proptest::prop_assert_eq!(Manifest::parse_with(&text, 0), Manifest::parse_full(&text), "{}", text);
        }
    }

    #[test]
    fn untouched_blocks_are_shifted_not_read_again() {
        let body: String = (0..300)
            .map(|i| {
                format!(
                    "    - rolearn: arn:aws:iam::111122223333:role/r{i}\n      username: r{i}\n"
                )
            })
            .collect();
        let old = format!(
            "{HEAD}data:\n  other: x\n  mapRoles: |\n{body}  mapUsers: |\n    - userarn: a\n"
        );
        let previous = Manifest::parse_with(&old, 1024).unwrap();
        // Replace `other: x` by `other: longer` (before the block), and edit after it.
        let x = old.find("other: x").unwrap() + 7;
        let tail = old.len();
        let new = format!("{}longer{}    - userarn: b\n", &old[..x], &old[x + 1..]);
        let changes = vec![(x..x + 1, 6), (tail..tail, 16)];
        let derived = Manifest::parse_from(
            &new,
            1024,
            Some(skeleton::Previous {
                text: &old,
                manifest: &previous,
                changes: &changes,
            }),
        )
        .unwrap();
        assert_eq!(derived, Manifest::parse_full(&new).unwrap());
        let (a, b) = (
            previous.value("mapRoles").unwrap(),
            derived.value("mapRoles").unwrap(),
        );
        assert!(
            Arc::ptr_eq(&a.decoded, &b.decoded),
            "the block was decoded again"
        );
        assert_eq!(b.token.start, a.token.start + 5);
    }

    #[test]
    fn items_of_a_list_are_documents() {
        let item = |name: &str, roles: &str| {
            format!(
                "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: {name}\n    namespace: kube-system\n  data:\n    mapRoles: |\n      {roles}\n"
            )
        };
        let node = "- rolearn: arn:aws:iam::111122223333:role/Nodes";
        for kind in ["List", "ConfigMapList"] {
            // One aws-auth among the items: it is the one judged and edited.
            let text = format!(
                "apiVersion: v1\nkind: {kind}\nitems:\n{}{}",
                item("other", "[]"),
                item("aws-auth", node)
            );
            let m = Manifest::parse(&text).unwrap();
            assert_eq!(m.name.as_deref(), Some("aws-auth"), "{kind}");
            let v = m.value("mapRoles").unwrap();
            assert!(text[v.key_start..].starts_with("mapRoles"), "{kind}");
            assert!(v.key_start > text.find("name: aws-auth").unwrap(), "{kind}");
            // Two: refused, as two documents are.
            let two = format!(
                "apiVersion: v1\nkind: {kind}\nitems:\n{}{}",
                item("aws-auth", node),
                item("aws-auth", "[]")
            );
            assert!(
                err(&two).contains("more than one kube-system/aws-auth"),
                "{kind}"
            );
        }
        // A List beside a document that is aws-auth too.
        let mixed = format!(
            "{HEAD}data:\n  mapRoles: \"\"\n---\napiVersion: v1\nkind: List\nitems:\n{}",
            item("aws-auth", node)
        );
        assert!(err(&mixed).contains("more than one kube-system/aws-auth"));
    }

    #[test]
    fn picks_aws_auth_among_documents() {
        let text = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n---\n{HEAD}data:\n  mapRoles: \"\"\n"
        );
        let m = Manifest::parse(&text).unwrap();
        assert_eq!(m.name.as_deref(), Some("aws-auth"));
        assert!(m.value("mapRoles").unwrap().key_start > text.find("---").unwrap());
    }
}
