//! One error type for the whole crate, so that reading, editing and writing
//! chain with `?`.

use crate::arn::ArnError;
use crate::document::ManifestError;
use crate::edit::EditError;

/// Any error of this crate. Each module's own error converts into it.
///
/// ```
/// use aws_auth_core::edit::{Guards, Op};
///
/// fn grant(manifest: &str) -> Result<String, aws_auth_core::Error> {
///     let doc = aws_auth_core::Document::parse_manifest(manifest)?;
///     let arn = "arn:aws:iam::111122223333:role/Dev";
///     let edited = doc.edit(&[Op::add_role(arn, "dev:{{SessionName}}", ["dev"])], &Guards::new())?;
///     Ok(edited.into_manifest()?)
/// }
/// let text = grant("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n")?;
/// assert!(text.contains("rolearn: arn:aws:iam::111122223333:role/Dev"));
/// # Ok::<(), aws_auth_core::Error>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not a ConfigMap manifest kubectl would apply.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// An edit was refused.
    #[error(transparent)]
    Edit(#[from] EditError),
    /// A file of desired mappings cannot be read.
    #[error(transparent)]
    Desired(#[from] crate::edit::DesiredError),
    /// A principal ARN is not usable.
    #[error(transparent)]
    Arn(#[from] ArnError),
    /// The live ConfigMap could not be read or written.
    #[cfg(feature = "kube")]
    #[cfg_attr(docsrs, doc(cfg(feature = "kube")))]
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterError),
    /// The document did not come from a manifest, so it has no manifest text.
    #[error("the document was not read from a manifest, so it has no manifest text")]
    NotAManifest,
}

/// An error and its causes on one line, `: `-separated, each cause's first
/// line once (hyper hides the useful part in the innermost cause:
/// "connection refused", "deadline has elapsed"; parsers put a snippet of
/// the source under their first line, which stays out).
///
/// ```
/// let e = std::io::Error::other(std::io::Error::other("connection refused"));
/// assert_eq!(aws_auth_core::error_chain(&e), "connection refused");
/// ```
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let first_line = |e: &dyn std::error::Error| {
        e.to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned()
    };
    let mut out = first_line(e);
    let mut cause = e.source();
    while let Some(c) = cause {
        let s = first_line(c);
        if !s.is_empty() && !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cause = c.source();
    }
    out
}
