//! The core crate's integration tests: the corpus, the fixtures, mutants of both, and
//! property tests of the reader and the editor.

mod access_schema;
mod admission;
mod corpus;
mod edit;
mod fixtures;
mod migrate;
mod mutants;
mod oracle;
mod props;
#[cfg(feature = "store")]
mod store;
mod sync;
