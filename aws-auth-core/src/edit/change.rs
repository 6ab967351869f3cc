//! What an edit did, as data: each operation's effect on each principal,
//! with a stable reason code, so that an embedder learns which principals
//! were added, removed or skipped, and why, without reading prose.

use std::fmt;

use serde::Serialize;

use crate::guard::GuardKind;
use crate::model::DataKey;

/// What became of a principal's mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Effect {
    /// A mapping or account was added.
    Added,
    /// A mapping was rewritten.
    Updated,
    /// Entries were removed.
    Removed,
    /// Nothing to do: already so.
    Unchanged,
    /// Left alone on purpose; [`Cause`] says why.
    Skipped,
}

/// Why, as a stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Cause {
    /// The operation asked for it (add, update, remove).
    Requested,
    /// A sync wants the mapping (added, or updated to what it wants).
    Wanted,
    /// A sync's prune: the owner's entry is no longer wanted.
    NoLongerWanted,
    /// An earlier duplicate of the owner's own entry (the last one counts).
    Duplicate,
    /// A sync took over an unowned entry that already said what it wants.
    Adopted,
    /// Already mapped this way.
    AlreadySo,
    /// A sync wants a principal an entry without the owner's marker maps.
    NotOwned,
    /// A sync wants a principal another owner's entry maps.
    OwnedByAnother,
    /// Left out because it would trip a guard ([`Change::guards`]).
    Guarded,
}

/// What one operation did to one principal (or, for a removal, to the
/// entries of several).
///
/// ```
/// use aws_auth_core::edit::{Cause, Change, Effect, Guards, Op};
/// use aws_auth_core::{DataKey, Document};
///
/// let doc = Document::from_data([("mapUsers", "- userarn: arn:aws:iam::111122223333:user/a\n  username: a\n")]);
/// let edited = doc.edit(&[Op::RemoveUser { arn: "arn:aws:iam::111122223333:user/a".into() }], &Guards::new())?;
/// let c = &edited.changes[0];
/// assert_eq!((c.effect, c.cause, c.key), (Effect::Removed, Cause::Requested, Some(DataKey::MapUsers)));
/// assert_eq!(c.principals, ["arn:aws:iam::111122223333:user/a"]);
/// assert_eq!(c.planned().to_string(), "would remove arn:aws:iam::111122223333:user/a from mapUsers");
/// # Ok::<(), aws_auth_core::edit::EditError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Change {
    /// Index of the operation in the edit's slice.
    pub op: usize,
    /// What became of it.
    pub effect: Effect,
    /// Why.
    pub cause: Cause,
    /// The data key, when one (a skipped operation may concern none).
    pub key: Option<DataKey>,
    /// The principals (ARNs as written, or account IDs), each once.
    pub principals: Vec<String>,
    /// How many entries (a removal may take several of one principal).
    pub entries: usize,
    /// The guards that held a skipped operation back.
    pub guards: Vec<GuardKind>,
    /// What the message names instead of the principals (`username dev`),
    /// or what was already so, or why it was skipped.
    detail: Option<String>,
}

impl Change {
    fn new(op: usize, effect: Effect, cause: Cause, key: Option<DataKey>) -> Change {
        Change {
            op,
            effect,
            cause,
            key,
            principals: Vec::new(),
            entries: 0,
            guards: Vec::new(),
            detail: None,
        }
    }

    pub(crate) fn added(op: usize, key: DataKey, principal: &str, cause: Cause) -> Change {
        Change {
            principals: vec![principal.to_owned()],
            entries: 1,
            ..Change::new(op, Effect::Added, cause, Some(key))
        }
    }

    pub(crate) fn updated(op: usize, key: DataKey, principal: &str, cause: Cause) -> Change {
        Change {
            principals: vec![principal.to_owned()],
            entries: 1,
            ..Change::new(op, Effect::Updated, cause, Some(key))
        }
    }

    /// `entries` entries of `principals` removed; `named` is what the
    /// message calls them when not by their ARNs (`username dev`).
    pub(crate) fn removed(
        op: usize,
        key: DataKey,
        principals: Vec<String>,
        entries: usize,
        cause: Cause,
        named: Option<String>,
    ) -> Change {
        let mut unique: Vec<String> = Vec::with_capacity(principals.len());
        for p in principals {
            if !unique.contains(&p) {
                unique.push(p);
            }
        }
        Change {
            principals: unique,
            entries,
            detail: named,
            ..Change::new(op, Effect::Removed, cause, Some(key))
        }
    }

    pub(crate) fn unchanged(op: usize, key: DataKey, principal: &str, what: String) -> Change {
        Change {
            principals: vec![principal.to_owned()],
            detail: Some(what),
            ..Change::new(op, Effect::Unchanged, Cause::AlreadySo, Some(key))
        }
    }

    pub(crate) fn skipped(
        op: usize,
        key: Option<DataKey>,
        principals: Vec<String>,
        cause: Cause,
        why: String,
    ) -> Change {
        Change {
            principals,
            detail: Some(why),
            ..Change::new(op, Effect::Skipped, cause, key)
        }
    }

    pub(crate) fn guarded(mut self, guards: Vec<GuardKind>) -> Change {
        self.guards = guards;
        self
    }

    /// The index of the operation the change comes from.
    pub fn op(&self) -> usize {
        self.op
    }

    pub(crate) fn renumber(&mut self, to: impl Fn(usize) -> usize) {
        self.op = to(self.op);
    }

    /// The change as a plan rather than a fact, for dry runs:
    /// "would add … to mapRoles".
    pub fn planned(&self) -> impl fmt::Display + '_ {
        Tense(self, true)
    }

    /// What the message names: the detail, else the principals.
    fn subject(&self) -> String {
        match &self.detail {
            Some(d) => d.clone(),
            None => self.principals.join(", "),
        }
    }
}

/// `{"op": 0, "result": "removed", "reason": "no-longer-wanted", "kind":
/// "user", "key": "mapUsers", "principal": "arn:...", "principals":
/// ["arn:..."], "count": 1, "message": "removed ... from mapUsers"}`: what
/// `aws-auth ... -o json` prints for each change (`principal` is the first
/// of `principals`; `count` the entries a removal took; `guards` the kinds
/// that held a skipped operation back).
impl Serialize for Change {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("op", &self.op)?;
        m.serialize_entry("result", &self.effect)?;
        m.serialize_entry("reason", &self.cause)?;
        if let Some(key) = self.key {
            let kind = match key {
                DataKey::MapRoles => "role",
                DataKey::MapUsers => "user",
                DataKey::MapAccounts => "account",
            };
            m.serialize_entry("kind", kind)?;
            m.serialize_entry("key", &key)?;
        }
        if let Some(first) = self.principals.first() {
            m.serialize_entry("principal", first)?;
            m.serialize_entry("principals", &self.principals)?;
        }
        if self.effect == Effect::Removed {
            m.serialize_entry("count", &self.entries)?;
        }
        if !self.guards.is_empty() {
            m.serialize_entry("guards", &self.guards)?;
        }
        m.serialize_entry("message", &self.to_string())?;
        m.end()
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Tense(self, false).fmt(f)
    }
}

/// A change told as done (`false`) or as planned (`true`).
struct Tense<'a>(&'a Change, bool);

impl fmt::Display for Tense<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.0;
        let verb = |done: &'static str, planned: &'static str| if self.1 { planned } else { done };
        let key = c.key.map(DataKey::as_str).unwrap_or_default();
        match c.effect {
            Effect::Added if c.cause == Cause::Adopted => write!(
                f,
                "{} {} in {key} (it already said the same; now the sync's own)",
                verb("adopted", "would adopt"),
                c.subject()
            ),
            Effect::Added => write!(f, "{} {} to {key}", verb("added", "would add"), c.subject()),
            Effect::Updated => write!(
                f,
                "{} {} in {key}",
                verb("updated", "would update"),
                c.subject()
            ),
            Effect::Removed => {
                let verb = verb("removed", "would remove");
                let why = match c.cause {
                    Cause::NoLongerWanted => " (no longer wanted)",
                    Cause::Duplicate => " (earlier duplicates)",
                    _ => "",
                };
                if c.entries == 1 || c.entries == c.principals.len() && c.detail.is_none() {
                    write!(f, "{verb} {} from {key}{why}", c.subject())
                } else {
                    write!(
                        f,
                        "{verb} {} mappings of {} from {key}{why}",
                        c.entries,
                        c.subject()
                    )
                }
            }
            Effect::Unchanged => write!(f, "unchanged: {}", c.subject()),
            Effect::Skipped => write!(f, "skipped: {}", c.subject()),
        }
    }
}
