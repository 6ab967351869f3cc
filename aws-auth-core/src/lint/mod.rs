//! Lint: what the reader rejects (errors) and what it accepts but does not do
//! what the author meant (warnings), each with a stable code and a position.
//!
//! ```
//! use aws_auth_core::lint::{lint_manifest, Severity};
//!
//! let manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\ndata:\n  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/Dev\n      username: {{SessionName}}\n";
//! let diagnostics = lint_manifest(manifest);
//! assert_eq!(diagnostics[0].code.as_str(), "unquoted-template");
//! assert_eq!(diagnostics[0].severity, Severity::Error);
//! assert_eq!((diagnostics[0].position.line, diagnostics[0].position.column), (8, 17));
//! ```

mod entries;
mod syntax;

use std::fmt;

use serde::Serialize;

use crate::document::Document;
use crate::model::DataKey;
use crate::position::Position;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The authenticator rejects something: a key, an entry or a field is lost.
    Error,
    /// Accepted, but it does not do what the author meant.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

macro_rules! codes {
    ($($variant:ident => $name:literal, $severity:ident, $summary:literal;)*) => {
        /// A diagnostic's stable identifier.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum Code {
            $(#[doc = $summary] $variant,)*
        }

        impl Code {
            /// Every code, in documentation order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code as printed (`kebab-case`, stable across releases).
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// The severity every diagnostic with this code has.
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }

            /// One line saying what the code is about.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary,)* }
            }
        }
    };
}

codes! {
    ManifestInvalid => "manifest-invalid", Error, "The ConfigMap itself is not valid: kubectl apply would refuse it.";
    UnquotedTemplate => "unquoted-template", Error, "An unquoted {{...}} template is YAML flow syntax: the whole key is dropped.";
    KeyUnreadable => "key-unreadable", Error, "The key cannot be read (syntax error, not a list): every mapping in it is ignored.";
    EntryDropped => "entry-dropped", Error, "An entry the reader drops (no ARN, not a mapping, invalid sso).";
    FieldWrongType => "field-wrong-type", Error, "A field of the wrong type (yes, 123, a string for groups) is read as empty.";
    FoldedListItem => "folded-list-item", Warning, "A list item indented one space too far folds into the previous value.";
    RolearnWithPath => "rolearn-with-path", Warning, "A role ARN with an IAM path never matches: session ARNs carry no path.";
    DuplicateArn => "duplicate-arn", Warning, "The same ARN is mapped more than once: only the last mapping counts.";
    ArnCaseMismatch => "arn-case-mismatch", Warning, "ARNs that differ only in case: the reader cannot tell them apart.";
    UserArnInMapRoles => "user-arn-in-maproles", Warning, "An IAM user ARN under mapRoles.";
    RoleArnInMapUsers => "role-arn-in-mapusers", Warning, "An IAM role ARN under mapUsers.";
    AssumedRoleArn => "assumed-role-arn", Warning, "An sts assumed-role ARN never matches: map the role ARN.";
    WildcardArn => "wildcard-arn", Warning, "Wildcards in ARNs are compared literally and never match.";
    InvalidName => "invalid-name", Error, "A role or user name no IAM principal can have (an unrendered `${var}`, a character outside `[\\w+=,.@-]`, over 64 characters): the mapping grants nothing.";
    InvalidArn => "invalid-arn", Warning, "A value that is not an IAM principal ARN never matches.";
    SsoEntry => "sso-entry", Warning, "sso entries need the SSORoleMatch feature gate, which EKS does not enable.";
    UnknownTemplate => "unknown-template", Warning, "A template the reader does not know (or mis-cased) stays literal text.";
    TemplateNotApplicable => "template-not-applicable", Warning, "A template that cannot be filled for this kind of mapping.";
    TemplateEaten => "template-eaten", Warning, "A node user name whose template was removed (system:node:).";
    UnknownKey => "unknown-key", Warning, "A key the reader ignores.";
    DuplicateKey => "duplicate-key", Warning, "A field set twice in one entry: only one of the values counts.";
    KeyCase => "key-case", Warning, "A key in a case that aws-iam-authenticator 0.5 ignores.";
    MissingUsername => "missing-username", Warning, "An entry without a username.";
    GroupsEmpty => "groups-empty", Warning, "An entry without groups.";
    SurroundingSpace => "surrounding-space", Warning, "A value with leading or trailing spaces never matches as intended.";
    TrailingWhitespace => "trailing-whitespace", Warning, "Lines end with spaces: kubectl edit then rewrites the value as one quoted string.";
    Tab => "tab", Warning, "A tab character; YAML indentation must use spaces.";
    Placeholder => "placeholder", Warning, "A documentation placeholder such as `<ARN of the role>` is still in place.";
    NodeRoleIncomplete => "node-role-incomplete", Warning, "A node mapping without system:bootstrappers or system:nodes: nodes cannot join.";
    AccountIdNotString => "account-id-not-string", Warning, "An unquoted account ID: other YAML tools may read it as a number.";
    AccountIdInvalid => "account-id-invalid", Warning, "An account ID that is not 12 digits never matches.";
    MultipleDocuments => "multiple-documents", Warning, "The value holds several YAML documents; only the first is read.";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Diagnostic {
    /// Stable identifier.
    pub code: Code,
    /// Error or warning.
    pub severity: Severity,
    /// One or two sentences: what is wrong, what it does, how to fix it.
    pub message: String,
    /// The data key, or `None` for the manifest itself.
    #[serde(serialize_with = "key_name")]
    pub key: Option<DataKey>,
    /// Where: in the manifest, or in the bare data string.
    #[serde(flatten)]
    pub position: Position,
}

fn key_name<S: serde::Serializer>(key: &Option<DataKey>, s: S) -> Result<S::Ok, S::Error> {
    match key {
        Some(k) => s.serialize_str(k.as_str()),
        None => s.serialize_none(),
    }
}

/// Collects diagnostics with positions resolved against the document.
pub(crate) struct Sink<'d> {
    doc: &'d Document,
    out: Vec<(DataKey, usize, Diagnostic)>,
}

impl<'d> Sink<'d> {
    pub(crate) fn line(&self, key: DataKey, offset: usize) -> usize {
        self.doc.position(key, offset).line
    }

    /// An empty sink for the same document, to fill on another thread.
    pub(crate) fn fork(&self) -> Sink<'d> {
        Sink {
            doc: self.doc,
            out: Vec::new(),
        }
    }

    /// Takes in what a fork collected (the order is settled when linting ends).
    pub(crate) fn join(&mut self, other: Sink<'d>) {
        self.out.extend(other.out);
    }

    pub(crate) fn push(&mut self, code: Code, key: DataKey, offset: usize, message: String) {
        let position = self.doc.position(key, offset);
        self.out.push((
            key,
            offset,
            Diagnostic {
                code,
                severity: code.severity(),
                message,
                key: Some(key),
                position,
            },
        ));
    }
}

/// From this many role entries on, they are checked on a thread of their own.
const PARALLEL_ROLES: usize = 2048;

/// Lints a document.
pub fn lint(doc: &Document) -> Vec<Diagnostic> {
    lint_on(doc, doc.view().roles.entries.len() >= PARALLEL_ROLES)
}

/// [`lint`], on two threads or one.
fn lint_on(doc: &Document, two_threads: bool) -> Vec<Diagnostic> {
    let mut sink = Sink {
        doc,
        out: Vec::new(),
    };
    if !two_threads {
        for key in DataKey::ALL {
            syntax::check(doc, key, &mut sink);
        }
        entries::roles(doc, &mut sink);
        entries::rest(doc, &mut sink);
    } else {
        // A long mapRoles is checked, text and entries, on a second thread
        // while the rest is checked on this one.
        let mut beside = sink.fork();
        std::thread::scope(|scope| {
            let handle = scope.spawn(|| {
                syntax::check(doc, DataKey::MapRoles, &mut beside);
                entries::roles(doc, &mut beside);
            });
            syntax::check(doc, DataKey::MapUsers, &mut sink);
            syntax::check(doc, DataKey::MapAccounts, &mut sink);
            entries::rest(doc, &mut sink);
            // A panic in a check is a bug; it is passed on, not hidden.
            handle
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e));
        });
        sink.join(beside);
    }
    // Every check's diagnostics in the same order, whichever thread ran it.
    let mut out = sink.out;
    out.sort_by_key(|a| (a.0, a.1, a.2.code));
    out.dedup_by(|a, b| a.2 == b.2);
    out.into_iter().map(|(_, _, d)| d).collect()
}

/// What a lint is told beyond the map.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct LintOptions {
    /// Fields of entries that tools write on purpose (an owner's marker such
    /// as `syncedBy`): not reported as `unknown-key`.
    pub extension_keys: Vec<String>,
}

impl LintOptions {
    /// Nothing declared.
    pub fn new() -> LintOptions {
        LintOptions::default()
    }

    /// Declares an extension field.
    pub fn extension_key(mut self, name: impl Into<String>) -> LintOptions {
        self.extension_keys.push(name.into());
        self
    }
}

/// [`lint`], with declared extension fields left unreported.
///
/// ```
/// use aws_auth_core::Document;
/// use aws_auth_core::lint::{LintOptions, lint, lint_with};
///
/// let doc = Document::from_data([("mapUsers", "- userarn: arn:aws:iam::111122223333:user/a\n  username: a\n  syncedBy: team-a\n")]);
/// assert!(lint(&doc).iter().any(|d| d.code.as_str() == "unknown-key"));
/// let declared = lint_with(&doc, &LintOptions::new().extension_key("syncedBy"));
/// assert!(!declared.iter().any(|d| d.code.as_str() == "unknown-key"));
/// ```
pub fn lint_with(doc: &Document, options: &LintOptions) -> Vec<Diagnostic> {
    let mut out = lint(doc);
    let declared = |message: &str| {
        options.extension_keys.iter().any(|k| {
            let m = unknown_key_message(k, "");
            message == m || message.starts_with(&format!("{m}; "))
        })
    };
    out.retain(|d| !(d.code == Code::UnknownKey && declared(&d.message)));
    out
}

/// The message of an `unknown-key` diagnostic (`rest` is what follows the
/// name, if anything).
pub(crate) fn unknown_key_message(name: &str, rest: &str) -> String {
    format!("the authenticator ignores the key `{name}`{rest}")
}

/// Lints a manifest's text: a manifest that is not a valid ConfigMap gives one
/// `manifest-invalid` error, anything else the diagnostics of its data.
pub fn lint_manifest(text: &str) -> Vec<Diagnostic> {
    lint_manifest_with(text, &LintOptions::new())
}

/// [`lint_manifest`] with [`LintOptions`].
pub fn lint_manifest_with(text: &str, options: &LintOptions) -> Vec<Diagnostic> {
    match Document::parse_manifest(text) {
        Ok(doc) => lint_with(&doc, options),
        Err(e) => vec![Diagnostic {
            code: Code::ManifestInvalid,
            severity: Severity::Error,
            message: e.message,
            key: None,
            position: e.position,
        }],
    }
}

impl Document {
    /// Lints this document; see [`lint`].
    pub fn lint(&self) -> Vec<Diagnostic> {
        lint(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The diagnostics do not depend on how many threads ran the checks.
    #[test]
    fn two_threads_give_what_one_gives() {
        let mut roles = String::new();
        let mut users = String::new();
        for i in 0..300 {
            roles.push_str(&format!(
                "- rolearn: arn:aws:iam::111122223333:role/r{}\n  username: u{i}:{{{{SessionName}}}} \n  Groups: [system:masters, {{{{Bad}}}}]\n  extra: 1\n-\n- rolearn: arn:aws:iam::111122223333:role/path/r{i}\n  username: system:node:{{{{EC2PrivateDNSName}}}}\n  groups: [system:nodes]\n",
                i % 7
            ));
            users.push_str(&format!(
                "- userarn: arn:aws:iam::111122223333:user/U{}\n  username: \"u{i}\"\n  groups: admins\n\tx: 1\n- userarn: arn:aws:iam::111122223333:role/r{}\n  username: u\n",
                i % 5,
                i % 7
            ));
        }
        let doc = Document::from_data([
            ("mapRoles", roles),
            ("mapUsers", users),
            ("mapAccounts", "- 12345\n- \"111122223333\"\n".to_owned()),
        ]);
        let one = lint_on(&doc, false);
        assert!(one.len() > 500, "{}", one.len());
        assert_eq!(one, lint_on(&doc, true));
    }
}
