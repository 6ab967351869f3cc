//! Internal consistency checks for the fuzz targets in `aws-auth-core/fuzz/`.
//!
//! Not a stable API: enabled by the `fuzzing` feature only. Each check returns
//! `Err` with a description when two code paths that must agree do not.

use crate::manifest::Manifest;

/// The fast line parser either declines `text` or builds exactly the tree the
/// full YAML parser builds.
pub fn fast_parser_agrees(text: &str) -> Result<(), String> {
    crate::yaml::fast::agree(text).map(|_| ())
}

/// Reading a manifest with its literal blocks cut out first (the path large
/// maps take) gives exactly what the full parse gives.
pub fn skeleton_agrees(text: &str) -> Result<(), String> {
    let skeleton = Manifest::parse_with(text, 0);
    let full = Manifest::parse_full(text);
    if skeleton == full {
        Ok(())
    } else {
        Err(format!(
            "skeleton and full parse differ for:\n{text}\nskeleton: {skeleton:#?}\nfull: {full:#?}"
        ))
    }
}
