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
