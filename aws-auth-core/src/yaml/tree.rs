//! A YAML node tree that remembers where every node came from.
//!
//! Both parsers (the full one over granit-parser and the line-oriented fast path)
//! build this tree, so everything downstream (the reader, lint, the editor) is
//! written once and the two parsers can be compared node for node.

use std::ops::Range;

/// Index of a node in [`Tree::nodes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct NodeId(pub(crate) u32);

/// How a scalar was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ScalarStyle {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

/// The tags that change how yaml.v2 decodes a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Tag {
    Str,
    Int,
    Float,
    Bool,
    Null,
    Binary,
    Timestamp,
    Seq,
    Map,
    Merge,
    /// `!` or a local/custom tag: the scalar stays a string.
    Other,
}

/// The decoded text of a scalar: a slice of the source when nothing was unescaped
/// or folded (the common case, no allocation), else an owned copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ScalarText {
    Slice(u32, u32),
    Owned(Box<str>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    Scalar {
        style: ScalarStyle,
        text: ScalarText,
    },
    /// Children are `Tree::children[range]`.
    Seq {
        flow: bool,
        children: Range<u32>,
    },
    /// Children are key, value, key, value, ... in `Tree::children[range]`.
    Map {
        flow: bool,
        children: Range<u32>,
    },
    Alias {
        target: NodeId,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    pub(crate) kind: Kind,
    /// Source bytes of the node: a scalar's token (quotes included), a flow
    /// collection from bracket to bracket, a block collection from its first token to
    /// the end of its last descendant.
    pub(crate) start: u32,
    pub(crate) end: u32,
    pub(crate) tag: Option<Tag>,
    pub(crate) anchor: bool,
}

/// The first document of a YAML stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Tree {
    pub(crate) nodes: Vec<Node>,
    pub(crate) children: Vec<NodeId>,
    /// `None` when the document holds no node (empty or only comments).
    pub(crate) root: Option<NodeId>,
    /// The stream goes on after the first document (yaml.v2 ignores the rest).
    pub(crate) more_documents: bool,
    /// Built by the fast path: one-line scalars, no tags, anchors or aliases.
    pub(crate) simple: bool,
    /// Some plain scalar could resolve to null or a special float (only
    /// meaningful for simple trees; the full parser always sets it).
    pub(crate) may_fail: bool,
}

impl Tree {
    pub(crate) fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.0 as usize]
    }

    /// Follows aliases to the node they stand for.
    pub(crate) fn resolve(&self, mut id: NodeId) -> NodeId {
        // Aliases always point backwards, so this terminates; the bound is a belt.
        for _ in 0..self.nodes.len() {
            match self.node(id).kind {
                Kind::Alias { target } => id = target,
                _ => break,
            }
        }
        id
    }

    pub(crate) fn kids(&self, range: &Range<u32>) -> &[NodeId] {
        &self.children[range.start as usize..range.end as usize]
    }

    /// Sequence items, or `None` when the node is not a sequence.
    pub(crate) fn seq_items(&self, id: NodeId) -> Option<&[NodeId]> {
        match &self.node(self.resolve(id)).kind {
            Kind::Seq { children, .. } => Some(self.kids(children)),
            _ => None,
        }
    }

    /// Mapping pairs as (key, value), or `None` when the node is not a mapping.
    pub(crate) fn map_pairs(
        &self,
        id: NodeId,
    ) -> Option<impl Iterator<Item = (NodeId, NodeId)> + '_> {
        match &self.node(self.resolve(id)).kind {
            Kind::Map { children, .. } => {
                Some(self.kids(children).chunks_exact(2).map(|kv| (kv[0], kv[1])))
            }
            _ => None,
        }
    }

    /// A scalar's decoded text and style (after following aliases).
    pub(crate) fn scalar<'t>(
        &'t self,
        source: &'t str,
        id: NodeId,
    ) -> Option<(&'t str, ScalarStyle)> {
        match &self.node(self.resolve(id)).kind {
            Kind::Scalar { style, text } => Some((scalar_text(source, text), *style)),
            _ => None,
        }
    }

    pub(crate) fn span(&self, id: NodeId) -> Range<usize> {
        let n = self.node(id);
        n.start as usize..n.end as usize
    }

    /// The tree of a whole text from the trees of consecutive pieces of it, each
    /// a block sequence at the root (top-level items of one list, parsed apart):
    /// node for node what [`Builder`] makes of the whole text in one go. `None`
    /// when a piece is not such a tree.
    pub(crate) fn join_seqs(parts: Vec<Tree>) -> Option<Tree> {
        // The root sequence is node 0 and, closed last, owns the tail of `children`.
        fn root_items(t: &Tree) -> Option<Range<u32>> {
            match &t.nodes.first()?.kind {
                Kind::Seq {
                    flow: false,
                    children,
                } if t.root == Some(NodeId(0)) && children.end as usize == t.children.len() => {
                    Some(children.clone())
                }
                _ => None,
            }
        }
        // Reserved up front: growing by doubling would copy a large tree a few times.
        let nodes: usize = parts.iter().map(|p| p.nodes.len()).sum();
        let children: usize = parts.iter().map(|p| p.children.len()).sum();
        let mut parts = parts.into_iter();
        let mut out = parts.next()?;
        out.nodes
            .reserve_exact(nodes.saturating_sub(out.nodes.len()));
        out.children
            .reserve_exact(children.saturating_sub(out.children.len()));
        let first = root_items(&out)?;
        let mut items = out.children.split_off(first.start as usize);
        items.reserve_exact(children.saturating_sub(out.children.len() + items.len()));
        let mut end = out.nodes[0].end;
        for part in parts {
            let r = root_items(&part)?;
            let node_shift = out.nodes.len() as u32 - 1;
            let child_shift = out.children.len() as u32;
            let shift = |c: &NodeId| NodeId(c.0 + node_shift);
            out.children
                .extend(part.children[..r.start as usize].iter().map(shift));
            items.extend(part.children[r.start as usize..].iter().map(shift));
            end = part.nodes[0].end;
            out.may_fail |= part.may_fail;
            out.simple &= part.simple;
            out.more_documents |= part.more_documents;
            out.nodes
                .extend(part.nodes.into_iter().skip(1).map(|mut n| {
                    match &mut n.kind {
                        Kind::Seq { children, .. } | Kind::Map { children, .. } => {
                            *children = children.start + child_shift..children.end + child_shift;
                        }
                        Kind::Alias { target } => target.0 += node_shift,
                        Kind::Scalar { .. } => {}
                    }
                    n
                }));
        }
        let start = out.children.len() as u32;
        out.children.extend(items);
        let range = start..out.children.len() as u32;
        let root = &mut out.nodes[0];
        root.kind = Kind::Seq {
            flow: false,
            children: range,
        };
        root.end = end.max(root.start);
        Some(out)
    }

    /// Items `range` of a root block sequence as a tree of their own, every
    /// offset moved by `delta`: a piece for [`Tree::join_seqs`]. `None` unless
    /// the tree is laid out as [`Builder`] lays out a block list (each item's
    /// nodes, and the children of its collections, contiguous and in order).
    pub(crate) fn items_tree(&self, range: Range<usize>, delta: isize) -> Option<Tree> {
        let root = self.nodes.first()?;
        let Kind::Seq {
            flow: false,
            children: all,
        } = &root.kind
        else {
            return None;
        };
        if self.root != Some(NodeId(0)) || all.end as usize != self.children.len() {
            return None;
        }
        let all = self.kids(all);
        let items = all.get(range.clone())?;
        let (first, last) = (items.first()?.0, items.last()?.0);
        if first == 0 || items.windows(2).any(|w| w[0].0 >= w[1].0) {
            return None;
        }
        let lo = first as usize;
        let hi = all
            .get(range.end)
            .map_or(self.nodes.len(), |n| n.0 as usize);
        let nodes = self.nodes.get(lo..hi)?;
        // The children of the items' collections: one contiguous run.
        let (mut c_lo, mut c_hi, mut total) = (u32::MAX, 0, 0);
        for n in nodes {
            if let Kind::Seq { children, .. } | Kind::Map { children, .. } = &n.kind
                && !children.is_empty()
            {
                c_lo = c_lo.min(children.start);
                c_hi = c_hi.max(children.end);
                total += children.len() as u32;
            }
        }
        if total == 0 {
            (c_lo, c_hi) = (0, 0);
        }
        if c_hi - c_lo != total {
            return None;
        }
        let off = |o: u32| u32::try_from(i64::from(o) + delta as i64).ok();
        let id = |n: NodeId| {
            (lo as u32..hi as u32)
                .contains(&n.0)
                .then(|| NodeId(n.0 - first + 1))
        };
        let mut tree = Tree {
            nodes: Vec::with_capacity(nodes.len() + 1),
            children: Vec::with_capacity(total as usize + items.len()),
            root: Some(NodeId(0)),
            more_documents: false,
            simple: self.simple,
            may_fail: self.may_fail,
        };
        let start = if range.start == 0 {
            root.start
        } else {
            self.nodes[lo].start
        };
        tree.nodes.push(Node {
            kind: Kind::Seq {
                flow: false,
                children: 0..0,
            },
            start: off(start)?,
            end: off(self.nodes[last as usize].end)?,
            tag: root.tag,
            anchor: root.anchor,
        });
        // The items from the first on, not moved (what precedes an edit): ids,
        // offsets and child positions stay as they are, so the nodes and
        // children are copied whole, once their references are checked.
        if delta == 0 && first == 1 && c_lo == 0 {
            let inside = |c: &NodeId| (lo as u32..hi as u32).contains(&c.0);
            let aliases_inside = nodes.iter().all(|n| match &n.kind {
                Kind::Alias { target } => inside(target),
                _ => true,
            });
            if !aliases_inside || !self.children[..c_hi as usize].iter().all(inside) {
                return None;
            }
            tree.nodes.extend_from_slice(nodes);
            tree.children
                .extend_from_slice(&self.children[..c_hi as usize]);
        } else {
            self.moved_items(nodes, (c_lo, c_hi), &off, &id, &mut tree)?;
        }
        let at = tree.children.len() as u32;
        for &c in items {
            tree.children.push(id(c)?);
        }
        tree.nodes[0].kind = Kind::Seq {
            flow: false,
            children: at..tree.children.len() as u32,
        };
        Some(tree)
    }

    /// [`Tree::items_tree`]'s nodes and children of items that move: ids
    /// renumbered by `id`, offsets by `off`, child positions from `c_lo`.
    fn moved_items(
        &self,
        nodes: &[Node],
        (c_lo, c_hi): (u32, u32),
        off: &dyn Fn(u32) -> Option<u32>,
        id: &dyn Fn(NodeId) -> Option<NodeId>,
        tree: &mut Tree,
    ) -> Option<()> {
        for n in nodes {
            let mut n = n.clone();
            n.start = off(n.start)?;
            n.end = off(n.end)?;
            match &mut n.kind {
                Kind::Scalar {
                    text: ScalarText::Slice(a, b),
                    ..
                } => (*a, *b) = (off(*a)?, off(*b)?),
                Kind::Scalar { .. } => {}
                Kind::Seq { children, .. } | Kind::Map { children, .. } => {
                    *children =
                        children.start.saturating_sub(c_lo)..children.end.saturating_sub(c_lo);
                }
                Kind::Alias { target } => *target = id(*target)?,
            }
            tree.nodes.push(n);
        }
        for &c in &self.children[c_lo as usize..c_hi as usize] {
            tree.children.push(id(c)?);
        }
        Some(())
    }

    /// True when the node or anything below it is a flow collection.
    pub(crate) fn is_flow(&self, id: NodeId) -> bool {
        matches!(
            self.node(id).kind,
            Kind::Seq { flow: true, .. } | Kind::Map { flow: true, .. }
        )
    }
}

pub(crate) fn scalar_text<'t>(source: &'t str, text: &'t ScalarText) -> &'t str {
    match text {
        ScalarText::Slice(a, b) => source.get(*a as usize..*b as usize).unwrap_or_default(),
        ScalarText::Owned(s) => s,
    }
}

/// Collects children while a tree is built bottom-up, so that every collection's
/// children end up contiguous in [`Tree::children`] without a vector per node.
#[derive(Debug, Default)]
pub(crate) struct Builder {
    pub(crate) tree: Tree,
    pending: Vec<NodeId>,
    open: Vec<Open>,
}

#[derive(Debug)]
struct Open {
    node: NodeId,
    first_pending: usize,
}

impl Builder {
    pub(crate) fn with_capacity(nodes: usize) -> Self {
        Builder {
            tree: Tree {
                nodes: Vec::with_capacity(nodes),
                children: Vec::with_capacity(nodes),
                ..Tree::default()
            },
            pending: Vec::with_capacity(64),
            open: Vec::with_capacity(8),
        }
    }

    fn push(&mut self, node: Node) -> NodeId {
        let id = NodeId(self.tree.nodes.len() as u32);
        self.tree.nodes.push(node);
        id
    }

    fn attach(&mut self, id: NodeId) {
        if self.open.is_empty() {
            if self.tree.root.is_none() {
                self.tree.root = Some(id);
            }
        } else {
            self.pending.push(id);
        }
    }

    pub(crate) fn scalar(
        &mut self,
        style: ScalarStyle,
        text: ScalarText,
        span: (u32, u32),
        tag: Option<Tag>,
        anchor: bool,
    ) -> NodeId {
        let id = self.push(Node {
            kind: Kind::Scalar { style, text },
            start: span.0,
            end: span.1,
            tag,
            anchor,
        });
        self.attach(id);
        id
    }

    pub(crate) fn alias(&mut self, target: NodeId, span: (u32, u32)) -> NodeId {
        let id = self.push(Node {
            kind: Kind::Alias { target },
            start: span.0,
            end: span.1,
            tag: None,
            anchor: false,
        });
        self.attach(id);
        id
    }

    pub(crate) fn open(
        &mut self,
        map: bool,
        flow: bool,
        start: u32,
        tag: Option<Tag>,
        anchor: bool,
    ) -> NodeId {
        let kind = if map {
            Kind::Map {
                flow,
                children: 0..0,
            }
        } else {
            Kind::Seq {
                flow,
                children: 0..0,
            }
        };
        let id = self.push(Node {
            kind,
            start,
            end: start,
            tag,
            anchor,
        });
        self.attach(id);
        self.open.push(Open {
            node: id,
            first_pending: self.pending.len(),
        });
        id
    }

    /// Closes the innermost collection. `flow_end` is the offset after a flow
    /// collection's closing bracket; block collections end with their last child.
    pub(crate) fn close(&mut self, flow_end: Option<u32>) {
        let Some(open) = self.open.pop() else { return };
        let first = self.tree.children.len() as u32;
        let last_child_end = self
            .pending
            .last()
            .filter(|_| self.pending.len() > open.first_pending)
            .map(|&c| self.tree.nodes[c.0 as usize].end);
        self.tree
            .children
            .extend(self.pending.drain(open.first_pending..));
        let range = first..self.tree.children.len() as u32;
        let node = &mut self.tree.nodes[open.node.0 as usize];
        match &mut node.kind {
            Kind::Seq { children, .. } | Kind::Map { children, .. } => *children = range,
            _ => {}
        }
        node.end = flow_end
            .or(last_child_end)
            .unwrap_or(node.start)
            .max(node.start);
    }

    pub(crate) fn innermost_is_flow(&self) -> bool {
        self.open.last().is_some_and(|o| self.tree.is_flow(o.node))
    }

    pub(crate) fn has_nodes(&self) -> bool {
        !self.tree.nodes.is_empty()
    }

    pub(crate) fn depth(&self) -> usize {
        self.open.len()
    }

    pub(crate) fn finish(self) -> Tree {
        self.tree
    }
}
