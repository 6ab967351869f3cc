//! Whether a change of the aws-auth ConfigMap may go through, whoever makes
//! it: the decision an admission webhook and a CI check both take, on the
//! same rules as the editor's guards.
//!
//! A change is denied when it makes things worse: a data key that was
//! readable becomes unreadable; a node role mapping (Linux, Windows, Fargate,
//! hybrid) is removed or rewritten; no effective `system:masters` mapping is
//! left where there was one; a protected principal's mapping is removed or
//! rewritten, or its protection removed; the ConfigMap is deleted. A map that
//! already has problems may still be changed, as long as the change adds
//! none: the fix of a broken map must never be blocked. Lint findings the
//! change introduces are warnings.
//!
//! An explicit, auditable override: the annotation [`ALLOW_ANNOTATION`] on
//! the new object, carrying a reason, lets a denied change through (the
//! reason is returned for the audit log). It counts only for the change that
//! sets it: a value the old object already had overrides nothing, so an
//! annotation left behind never waves later changes through. A delete
//! carries no new object: it is allowed when the object being deleted
//! carries the annotation with an expiry (`REASON (until
//! 2026-12-07T13:00:00Z)`, see [`delete_override`]) that has not passed and
//! lies at most [`DELETE_OVERRIDE_MAX`] ahead.
//!
//! ```
//! use aws_auth_core::Document;
//! use aws_auth_core::admission::decide;
//!
//! let head = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\n";
//! let old = Document::parse_manifest(format!("{head}data:\n  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/Nodes\n      username: system:node:{{{{EC2PrivateDNSName}}}}\n      groups: [system:bootstrappers, system:nodes]\n"))?;
//! // A copy applied without the node role.
//! let new = Document::parse_manifest(format!("{head}data:\n  mapRoles: \"\"\n"))?;
//! let decision = decide(Some(&old), Some(&new), &[]);
//! assert!(!decision.allowed);
//! assert_eq!(decision.reasons[0].code.as_str(), "node-role");
//! # Ok::<(), aws_auth_core::Error>(())
//! ```

use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::arn::Arn;
use crate::document::Document;
use crate::guard::GuardKind;
use crate::model::{DataKey, KeyState};
use crate::position::Position;

mod protection;
mod review;

pub use protection::{ProtectionChange, ProtectionError, change_protection};
pub use review::{MalformedReview, Review, review, review_bytes};

/// The annotation that lets a denied change through; its value is the
/// reason, returned for the audit log.
pub const ALLOW_ANNOTATION: &str = "aws-auth/allow-change";

/// The furthest ahead a delete's override may expire: an override for a
/// delete is meant for the delete that follows it, not for one months later.
pub const DELETE_OVERRIDE_MAX: Duration = Duration::from_secs(3600);

/// The [`ALLOW_ANNOTATION`] value that lets the object be deleted until
/// `now + ttl` (at most [`DELETE_OVERRIDE_MAX`] counts): `REASON (until
/// 2026-12-07T13:00:00Z)`.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use aws_auth_core::admission::{delete_override, override_expiry};
/// let now = UNIX_EPOCH + Duration::from_secs(1_796_641_200);
/// let value = delete_override("migrated, OPS-7", now, Duration::from_secs(600));
/// assert_eq!(value, "migrated, OPS-7 (until 2026-12-07T11:10:00Z)");
/// assert_eq!(override_expiry(&value), Some(now + Duration::from_secs(600)));
/// ```
pub fn delete_override(reason: &str, now: SystemTime, ttl: Duration) -> String {
    format!("{reason} (until {})", crate::time::format_utc(now + ttl))
}

/// The expiry an override value names (`until YYYY-MM-DDTHH:MM:SSZ`, the
/// last one written), if any.
pub fn override_expiry(value: &str) -> Option<SystemTime> {
    let at = value.rfind("until ")?;
    let rest = &value[at + "until ".len()..];
    let end = rest
        .find(|c: char| c.is_whitespace() || matches!(c, ')' | ']' | ',' | ';'))
        .unwrap_or(rest.len());
    crate::time::parse_utc(&rest[..end])
}

/// The annotation listing protected principals (ARNs separated by commas or
/// white space): their mappings may not be removed or rewritten, nor their
/// protection removed, without the override.
pub const PROTECTED_ANNOTATION: &str = "aws-auth/protected";

/// The principals a [`PROTECTED_ANNOTATION`] value names (ARNs separated by
/// commas or white space; what is not an ARN is left out).
///
/// ```
/// let arns = aws_auth_core::admission::protected_in("arn:aws:iam::111122223333:role/A, arn:aws:iam::111122223333:user/b");
/// assert_eq!(arns.len(), 2);
/// ```
pub fn protected_in(value: &str) -> Vec<Arn> {
    value
        .split([',', ' ', '\n', '\t'])
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// Why a change is denied, as a stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ReasonCode {
    /// A readable data key becomes unreadable: every mapping in it is dropped.
    KeyUnreadable,
    /// A node, Fargate, Windows or hybrid node role mapping is removed or rewritten.
    NodeRole,
    /// No effective `system:masters` mapping is left.
    LastAdmin,
    /// A protected principal's mapping is removed or rewritten.
    Protected,
    /// A principal's protection is removed.
    Unprotected,
    /// The ConfigMap is deleted.
    Deleted,
}

impl ReasonCode {
    /// The code as it is printed (`node-role`).
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::KeyUnreadable => "key-unreadable",
            ReasonCode::NodeRole => "node-role",
            ReasonCode::LastAdmin => "last-admin",
            ReasonCode::Protected => "protected",
            ReasonCode::Unprotected => "unprotected",
            ReasonCode::Deleted => "deleted",
        }
    }
}

/// One reason to deny, or one warning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Finding<C> {
    /// Stable code.
    pub code: C,
    /// One sentence.
    pub message: String,
    /// The data key concerned, if one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<&'static str>,
    /// Where, in the object it is about (the old one for what goes away, the
    /// new one for what arrives).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
}

/// A reason to deny.
pub type Reason = Finding<ReasonCode>;

/// A lint finding the change introduces.
pub type Warning = Finding<&'static str>;

/// The decision on a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Decision {
    /// Whether the change may go through.
    pub allowed: bool,
    /// What the change makes worse (empty when nothing): why it is denied, or
    /// what the override let through.
    pub reasons: Vec<Reason>,
    /// Lint findings the change introduces.
    pub warnings: Vec<Warning>,
    /// The override's reason, when it let a change with reasons through.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overridden: Option<String>,
    /// Why an [`ALLOW_ANNOTATION`] present did not override (the old object
    /// already had it, or its expiry passed), when the change needed one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub override_ignored: Option<String>,
}

/// Decides on a change from `old` (`None`: a create) to `new` (`None`: a
/// delete), now. `protected` adds to the principals the old object's
/// [`PROTECTED_ANNOTATION`] protects.
pub fn decide(old: Option<&Document>, new: Option<&Document>, protected: &[Arn]) -> Decision {
    decide_at(old, new, protected, SystemTime::now())
}

/// [`decide`] at the time `now` (an override's expiry is judged against it).
pub fn decide_at(
    old: Option<&Document>,
    new: Option<&Document>,
    protected: &[Arn],
    now: SystemTime,
) -> Decision {
    let notes = |d: Option<&Document>| Annotations {
        allow: d
            .and_then(|d| d.annotation(ALLOW_ANNOTATION))
            .map(str::to_owned),
        protected: d
            .and_then(|d| d.annotation(PROTECTED_ANNOTATION))
            .map(str::to_owned),
    };
    decide_annotated(old, new, protected, &notes(old), &notes(new), now)
}

/// The annotations a decision reads, for objects that are not manifests
/// (the API server's JSON, read with [`Document::from_data`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Annotations {
    /// [`ALLOW_ANNOTATION`]'s value.
    pub allow: Option<String>,
    /// [`PROTECTED_ANNOTATION`]'s value.
    pub protected: Option<String>,
}

impl Annotations {
    /// Read from an object's `metadata.annotations` (JSON).
    pub fn from_json(annotations: &serde_json::Value) -> Annotations {
        let get = |k: &str| {
            annotations
                .get(k)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        Annotations {
            allow: get(ALLOW_ANNOTATION),
            protected: get(PROTECTED_ANNOTATION),
        }
    }
}

/// [`decide_at`], with each object's annotations given apart.
pub fn decide_annotated(
    old: Option<&Document>,
    new: Option<&Document>,
    protected: &[Arn],
    old_notes: &Annotations,
    new_notes: &Annotations,
    now: SystemTime,
) -> Decision {
    let empty = Document::from_data(std::iter::empty::<(String, String)>());
    let before = old.unwrap_or(&empty);
    let mut reasons = Vec::new();
    let Some(after) = new else {
        reasons.push(Reason {
            code: ReasonCode::Deleted,
            message: "deletes the aws-auth ConfigMap: every mapping in it, node roles included, stops working at once".to_owned(),
            key: None,
            position: None,
        });
        return finish(reasons, Vec::new(), delete_allowed(old_notes, now));
    };
    // Keys that become unreadable.
    for key in DataKey::ALL {
        let was_readable = !matches!(before.view().state(key), KeyState::Unreadable { .. });
        if let KeyState::Unreadable { message, offset } = after.view().state(key)
            && was_readable
        {
            reasons.push(Reason {
                code: ReasonCode::KeyUnreadable,
                message: format!(
                    "makes {key} unreadable ({message}): the authenticator would drop every mapping in it, node roles included"
                ),
                key: Some(key.as_str()),
                position: Some(after.position(key, *offset)),
            });
        }
    }
    // The guards, on the effective readings; the old object's protections
    // count.
    let annotated = |notes: &Annotations| -> Vec<Arn> {
        notes
            .protected
            .as_deref()
            .map(protected_in)
            .unwrap_or_default()
    };
    let mut all_protected: Vec<Arn> = protected.to_vec();
    all_protected.extend(annotated(old_notes));
    for guard in crate::guard::check(before, after.view(), &all_protected) {
        let code = match guard.kind {
            GuardKind::LastAdmin => ReasonCode::LastAdmin,
            GuardKind::Protected => ReasonCode::Protected,
            _ => ReasonCode::NodeRole,
        };
        reasons.push(Reason {
            code,
            message: guard.message.clone(),
            key: None,
            position: guard.position,
        });
    }
    let still: Vec<String> = annotated(new_notes)
        .iter()
        .map(|a| a.canonical().to_string())
        .collect();
    for arn in annotated(old_notes) {
        if !still.contains(&arn.canonical().to_string()) {
            reasons.push(Reason {
                code: ReasonCode::Unprotected,
                message: format!("removes the protection of {arn} ({PROTECTED_ANNOTATION})"),
                key: None,
                position: None,
            });
        }
    }
    // Lint findings that are new.
    let known: Vec<(crate::lint::Code, String)> = before
        .lint()
        .into_iter()
        .map(|d| (d.code, d.message))
        .collect();
    let warnings = after
        .lint()
        .into_iter()
        .filter(|d| !known.iter().any(|(c, m)| *c == d.code && *m == d.message))
        .map(|d| Warning {
            code: d.code.as_str(),
            message: d.message,
            key: d.key.map(DataKey::as_str),
            position: Some(d.position),
        })
        .collect();
    finish(reasons, warnings, change_allowed(old_notes, new_notes, now))
}

/// The override of a create or an update: the new object's value, when it
/// is new in this change and has not expired.
fn change_allowed(old: &Annotations, new: &Annotations, now: SystemTime) -> Override {
    let Some(value) = given(&new.allow) else {
        return Override::None;
    };
    if given(&old.allow) == Some(value) {
        return Override::Ignored(format!(
            "the object already had {ALLOW_ANNOTATION}: {value:?}; an override counts only for the change that sets it, so give this change its own reason"
        ));
    }
    match override_expiry(value) {
        Some(until) if until < now => {
            Override::Ignored(format!("the {ALLOW_ANNOTATION} value {value:?} expired"))
        }
        _ => Override::Allow(value.to_owned()),
    }
}

/// The override of a delete: the deleted object's value, with an expiry
/// that has not passed and is not too far ahead.
fn delete_allowed(old: &Annotations, now: SystemTime) -> Override {
    let Some(value) = given(&old.allow) else {
        return Override::None;
    };
    match override_expiry(value) {
        None => Override::Ignored(format!(
            "a delete is let through only by an {ALLOW_ANNOTATION} value that expires within the hour, such as \"REASON (until {})\"",
            crate::time::format_utc(now + Duration::from_secs(600))
        )),
        Some(until) if until < now => {
            Override::Ignored(format!("the {ALLOW_ANNOTATION} value {value:?} expired"))
        }
        Some(until) if until > now + DELETE_OVERRIDE_MAX => Override::Ignored(format!(
            "the {ALLOW_ANNOTATION} value {value:?} expires more than an hour from now; a delete's override must expire within the hour"
        )),
        Some(_) => Override::Allow(value.to_owned()),
    }
}

/// A non-empty override value.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|r| !r.is_empty())
}

/// What the override annotation does to a decision.
enum Override {
    None,
    Allow(String),
    Ignored(String),
}

fn finish(reasons: Vec<Reason>, warnings: Vec<Warning>, allow: Override) -> Decision {
    let needed = !reasons.is_empty();
    let (overridden, override_ignored) = match allow {
        Override::Allow(why) if needed => (Some(why), None),
        Override::Ignored(why) if needed => (None, Some(why)),
        _ => (None, None),
    };
    Decision {
        allowed: !needed || overridden.is_some(),
        overridden,
        override_ignored,
        reasons,
        warnings,
    }
}
