//! Putting a backup's data back: which keys change, and what refuses it.
//!
//! A restore replaces whole data keys, so it is judged like any write: the
//! same guards as an edit on what it would change, a key the authenticator
//! cannot read refused (every mapping in it would be dropped at the next
//! login), and a backup of another object (or of one deleted and created
//! again since) refused. `force` turns each refusal into a report.
//!
//! ```
//! use std::collections::BTreeMap;
//! use aws_auth_core::restore::{ObjectId, RestoreError, plan};
//!
//! let id = ObjectId::new(Some("kube-system".into()), Some("aws-auth".into()), None);
//! let admin = "- rolearn: arn:aws:iam::111122223333:role/Admin\n  username: admin\n  groups: [system:masters]\n";
//! let live = BTreeMap::from([("mapRoles".to_owned(), admin.to_owned())]);
//! // A backup without the only administrator: refused.
//! let backup = BTreeMap::from([("mapRoles".to_owned(), "[]".to_owned())]);
//! let refused = plan(&id, &backup, &id, &live, &[], false).unwrap_err();
//! assert!(matches!(refused, RestoreError::Guarded { .. }));
//! // Forced, it goes through and says what it overrode.
//! let forced = plan(&id, &backup, &id, &live, &[], true).unwrap();
//! assert_eq!(forced.restored(), ["mapRoles"]);
//! assert_eq!(forced.forced.len(), 1);
//! ```

use std::collections::{BTreeMap, BTreeSet};

use crate::arn::Arn;
use crate::document::Document;
use crate::guard::Guard;
use crate::model::{DataKey, KeyState};
use crate::position::Position;

/// Which object a map was read from: a backup is of one object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectId {
    /// `metadata.namespace`.
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: Option<String>,
    /// `metadata.uid`: a new one when the object was deleted and created again.
    pub uid: Option<String>,
}

impl ObjectId {
    /// The object with this namespace, name and uid (each may be unknown).
    pub fn new(namespace: Option<String>, name: Option<String>, uid: Option<String>) -> ObjectId {
        ObjectId {
            namespace,
            name,
            uid,
        }
    }

    /// Why `self` (a backup's object) is not `live`, if it is not; what one
    /// side does not say is taken to agree.
    pub fn differs_from(&self, live: &ObjectId) -> Option<String> {
        let differs =
            |what: &str, mine: &Option<String>, theirs: &Option<String>| match (mine, theirs) {
                (Some(a), Some(b)) if a != b => {
                    Some(format!("its {what} is {a}, the live object's is {b}"))
                }
                _ => None,
            };
        differs("namespace", &self.namespace, &live.namespace)
            .or_else(|| differs("name", &self.name, &live.name))
            .or_else(|| {
                differs("uid", &self.uid, &live.uid)
                    .map(|d| format!("{d} (the ConfigMap was deleted and created again since)"))
            })
    }
}

/// What a restore writes, and what it overrode.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Restore {
    /// The data keys that change: the backup's value, or `None` to delete a
    /// key the backup does not have.
    pub patch: BTreeMap<String, Option<String>>,
    /// The change as a unified diff of the data strings.
    pub diff: String,
    /// The guards the restore trips, overridden by `force`.
    pub forced: Vec<Guard>,
    /// Why the backup is of another object, overridden by `force`.
    pub other_object: Option<String>,
}

impl Restore {
    /// True when the live object already holds the backup's data.
    pub fn is_noop(&self) -> bool {
        self.patch.is_empty()
    }

    /// The keys put back.
    pub fn restored(&self) -> Vec<&str> {
        self.keys(true)
    }

    /// The keys deleted, which the backup does not have.
    pub fn deleted(&self) -> Vec<&str> {
        self.keys(false)
    }

    fn keys(&self, kept: bool) -> Vec<&str> {
        self.patch
            .iter()
            .filter(|(_, v)| v.is_some() == kept)
            .map(|(k, _)| k.as_str())
            .collect()
    }
}

/// Why a restore is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// The backup was taken of another object.
    #[error("not a backup of this object: {why}")]
    OtherObject {
        /// What differs.
        why: String,
    },
    /// A key of the backup cannot be read.
    #[error(
        "{key} cannot be read ({message}); restoring it would make the authenticator drop every mapping in it"
    )]
    Unreadable {
        /// The key.
        key: DataKey,
        /// Why it cannot be read.
        message: String,
        /// Where, in the key's value (line 1 is its first line).
        position: Position,
    },
    /// The restore trips guards.
    #[error("restoring it {}", guards.iter().map(|g| g.message.as_str()).collect::<Vec<_>>().join("; and "))]
    Guarded {
        /// The guards it trips.
        guards: Vec<Guard>,
    },
}

/// What putting `backup_data` (taken of `backup`) back into the live object
/// `live` (holding `live_data`) writes, or why it is refused; `protected`
/// principals are guarded as in an edit (with the map's own protections and
/// the caller's identity already among them).
pub fn plan(
    backup: &ObjectId,
    backup_data: &BTreeMap<String, String>,
    live: &ObjectId,
    live_data: &BTreeMap<String, String>,
    protected: &[Arn],
    force: bool,
) -> Result<Restore, RestoreError> {
    let other_object = backup.differs_from(live);
    if let (Some(why), false) = (&other_object, force) {
        return Err(RestoreError::OtherObject { why: why.clone() });
    }
    let mut patch = BTreeMap::new();
    let mut diff = String::new();
    let keys: BTreeSet<&String> = live_data.keys().chain(backup_data.keys()).collect();
    for key in keys {
        let (before, after) = (live_data.get(key), backup_data.get(key));
        if before == after {
            continue;
        }
        diff.push_str(&crate::edit::data_diff(
            key,
            before.map(String::as_str),
            after.map(String::as_str),
        ));
        patch.insert(key.clone(), after.cloned());
    }
    if patch.is_empty() {
        return Ok(Restore {
            patch,
            diff,
            forced: Vec::new(),
            other_object,
        });
    }
    let restored = Document::from_data(backup_data.clone());
    if !force {
        for key in DataKey::ALL {
            if let KeyState::Unreadable { message, offset } = restored.view().state(key) {
                return Err(RestoreError::Unreadable {
                    key,
                    message: message.clone(),
                    position: restored.position(key, *offset),
                });
            }
        }
    }
    let current = Document::from_data(live_data.clone());
    let tripped = crate::guard::check(&current, restored.view(), protected);
    if !tripped.is_empty() && !force {
        return Err(RestoreError::Guarded { guards: tripped });
    }
    Ok(Restore {
        patch,
        diff,
        forced: tripped,
        other_object,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(uid: &str) -> ObjectId {
        ObjectId::new(
            Some("kube-system".into()),
            Some("aws-auth".into()),
            Some(uid.into()),
        )
    }

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const NODE: &str = "- rolearn: arn:aws:iam::111122223333:role/Node\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:bootstrappers, system:nodes]\n";
    const ADMIN: &str = "- rolearn: arn:aws:iam::111122223333:role/Admin\n  username: admin\n  groups: [system:masters]\n";

    #[test]
    fn each_refusal_and_what_force_makes_of_it() {
        let live = data(&[("mapRoles", &format!("{NODE}{ADMIN}"))]);
        // Another object: refused, or forced and said.
        let e = plan(&id("old"), &live, &id("new"), &live, &[], false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "not a backup of this object: its uid is old, the live object's is new (the ConfigMap was deleted and created again since)"
        );
        let same = plan(&id("old"), &live, &id("new"), &live, &[], true).unwrap();
        assert!(same.is_noop() && same.other_object.is_some());
        // An unreadable key.
        let broken = data(&[("mapRoles", &format!("{ADMIN}\t- x\n"))]);
        let e = plan(&id("u"), &broken, &id("u"), &live, &[], false).unwrap_err();
        assert!(
            matches!(
                e,
                RestoreError::Unreadable {
                    key: DataKey::MapRoles,
                    ..
                }
            ),
            "{e}"
        );
        // The node role dropped; a protected principal's mapping rewritten.
        let no_node = data(&[("mapRoles", ADMIN)]);
        let e = plan(&id("u"), &no_node, &id("u"), &live, &[], false).unwrap_err();
        assert!(e.to_string().starts_with("restoring it "), "{e}");
        let admin: Arn = "arn:aws:iam::111122223333:role/Admin".parse().unwrap();
        let other_admin = data(&[(
            "mapRoles",
            &format!(
                "{NODE}{}",
                ADMIN.replace("username: admin", "username: someone")
            ),
        )]);
        let e = plan(&id("u"), &other_admin, &id("u"), &live, &[admin], false).unwrap_err();
        let RestoreError::Guarded { guards } = e else {
            panic!("{e}")
        };
        assert_eq!(
            guards[0].principal.as_deref(),
            Some("arn:aws:iam::111122223333:role/Admin")
        );
    }

    #[test]
    fn keys_the_backup_lacks_are_deleted_and_the_diff_says_so() {
        let live = data(&[
            ("mapRoles", &format!("{NODE}{ADMIN}")),
            ("mapUsers", "[]\n"),
        ]);
        let backup = data(&[("mapRoles", &format!("{NODE}{ADMIN}"))]);
        let r = plan(&id("u"), &backup, &id("u"), &live, &[], false).unwrap();
        assert_eq!(r.deleted(), ["mapUsers"]);
        assert!(r.restored().is_empty());
        assert!(r.diff.contains("+++ /dev/null"), "{}", r.diff);
    }
}
