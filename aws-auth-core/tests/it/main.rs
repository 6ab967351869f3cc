//! The core crate's integration tests: the shared corpus, the fixtures, and
//! property tests of the reader and the editor.

mod corpus;
mod edit;
mod fixtures;
mod migrate;
mod props;
