//! Editing without wholesale replacement.
//!
//! An edit is a list of operations applied together. Only the bytes of the
//! entries it touches change: every other byte of every data string and of the
//! manifest stays as it was, and new entries are written in the style of their
//! neighbours. After the edit the result is read again and compared with what
//! the operations should produce; anything else is an error and nothing is
//! returned to write. In a long list only the items between the nearest
//! unchanged item starts are parsed again: the others read the same wherever
//! they stand, so they keep their reading (the tests and the fuzz targets check
//! this shortcut against a whole reading of every edited value).
//!
//! ```
//! use aws_auth_core::edit::{Guards, Op};
//! use aws_auth_core::Document;
//!
//! let doc = Document::parse_manifest(concat!(
//!     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n",
//!     "  mapRoles: |\n",
//!     "    # nodes\n",
//!     "    - rolearn: arn:aws:iam::111122223333:role/Nodes\n",
//!     "      username: system:node:{{EC2PrivateDNSName}}\n",
//!     "      groups: [system:bootstrappers, system:nodes]\n",
//! ))?;
//! let add = Op::add_user("arn:aws:iam::111122223333:user/alice", "alice", ["devs"]);
//! let text = doc.edit(&[add], &Guards::new())?.into_manifest()?;
//! assert!(text.starts_with(doc.manifest_text().unwrap()));
//! // The new key copies the style of its neighbours (flow-style groups here).
//! assert!(text.ends_with("  mapUsers: |\n    - userarn: arn:aws:iam::111122223333:user/alice\n      username: alice\n      groups: [devs]\n"));
//! # Ok::<(), aws_auth_core::Error>(())
//! ```

mod change;
mod desired;
mod layout;
pub(crate) mod plan;
mod render;
mod splice;
mod style;
mod write;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::document::Document;
use crate::model::{DataKey, FieldIssue, KeyState, KeyView, MapView};
use crate::position::Position;
use crate::text::Text;

/// A role or user mapping to add.
///
/// It reads from JSON or YAML as `{"arn": ..., "username": ..., "groups": [...]}`
/// (`username` and `groups` may be left out), as an operator finds it in a
/// custom resource.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct MappingSpec {
    /// The role or user ARN (a role without its IAM path).
    pub arn: String,
    /// The Kubernetes user name (templates allowed, e.g. `dev:{{SessionName}}`).
    #[serde(default)]
    pub username: String,
    /// The Kubernetes groups.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Fields the authenticator ignores, written after the others: an
    /// owner's marker (`syncedBy: team-a`), a comment for people. String
    /// values only; a name may not be one of the mapping's own fields.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
}

impl MappingSpec {
    /// This mapping with one more extra field.
    ///
    /// ```
    /// let spec = aws_auth_core::edit::MappingSpec::new("arn:aws:iam::111122223333:user/alice", "alice", ["view"])
    ///     .with_extra("syncedBy", "team-a");
    /// assert_eq!(spec.extra["syncedBy"], "team-a");
    /// ```
    pub fn with_extra(mut self, name: impl Into<String>, value: impl Into<String>) -> MappingSpec {
        self.extra.insert(name.into(), value.into());
        self
    }

    /// A mapping of `arn` to `username` and `groups`.
    ///
    /// ```
    /// let spec = aws_auth_core::edit::MappingSpec::new("arn:aws:iam::111122223333:user/alice", "alice", ["view"]);
    /// assert_eq!(spec.groups, ["view"]);
    /// ```
    pub fn new(
        arn: impl Into<String>,
        username: impl Into<String>,
        groups: impl IntoIterator<Item = impl Into<String>>,
    ) -> MappingSpec {
        MappingSpec {
            arn: arn.into(),
            username: username.into(),
            groups: groups.into_iter().map(Into::into).collect(),
            extra: BTreeMap::new(),
        }
    }
}

/// The mappings one owner wants in the map: [`Op::Sync`].
///
/// The owner's entries carry a marker field (`syncedBy: OWNER` by default;
/// the authenticator ignores unknown fields). A sync adds the desired
/// mappings that are missing, with the marker; updates the owner's entries
/// whose username or groups differ (groups compare as sets); with `prune`,
/// removes the owner's entries that are no longer desired. Entries of other
/// owners and unowned entries are never changed or removed: a desired
/// mapping whose ARN another entry maps is skipped and reported, unless
/// `adopt` is set and that entry already says the same, in which case it is
/// taken over (written again, with the marker, at the end). A second sync
/// with the same set changes nothing.
///
/// ```
/// use aws_auth_core::Document;
/// use aws_auth_core::edit::{Guards, MappingSpec, Op, SyncSpec};
///
/// let doc = Document::from_data([("mapRoles", "- rolearn: arn:aws:iam::111122223333:role/Nodes\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:bootstrappers, system:nodes]\n")]);
/// let want = SyncSpec::new("team-a")
///     .role(MappingSpec::new("arn:aws:iam::111122223333:role/Dev", "dev:{{SessionName}}", ["dev"]));
/// let edited = doc.edit(&[Op::Sync(want.clone())], &Guards::new())?;
/// assert!(edited.changed_data()["mapRoles"].ends_with("  groups: [dev]\n  syncedBy: team-a\n"));
/// // Again: nothing to do.
/// assert!(edited.document.edit(&[Op::Sync(want)], &Guards::new())?.is_noop());
/// # Ok::<(), aws_auth_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SyncSpec {
    /// Who owns the entries (the marker's value).
    pub owner: String,
    /// The marker field's name.
    #[serde(default = "default_marker")]
    pub marker: String,
    /// The role mappings wanted.
    #[serde(default)]
    pub roles: Vec<MappingSpec>,
    /// The user mappings wanted.
    #[serde(default)]
    pub users: Vec<MappingSpec>,
    /// Remove the owner's entries that are not wanted any more.
    #[serde(default)]
    pub prune: bool,
    /// Take over unowned entries that already say what a wanted mapping says.
    #[serde(default)]
    pub adopt: bool,
    /// The desired set may leave the owner with nothing: without it, a prune
    /// that would remove every entry the owner has trips
    /// [`GuardKind::PruneAll`](crate::guard::GuardKind::PruneAll), since an
    /// empty or cut-short source (a failed listing, a truncated file) looks
    /// just like that.
    #[serde(default)]
    pub prune_all: bool,
    /// Principals (compared without case) this sync leaves as they are,
    /// whatever the desired set says: those a guard holds back under
    /// [`GuardPolicy::SkipGuarded`](crate::guard::GuardPolicy::SkipGuarded).
    #[serde(skip)]
    pub(crate) held: Vec<String>,
}

fn default_marker() -> String {
    "syncedBy".to_owned()
}

impl SyncSpec {
    /// Nothing wanted yet, for `owner`, with the `syncedBy` marker.
    pub fn new(owner: impl Into<String>) -> SyncSpec {
        SyncSpec {
            owner: owner.into(),
            marker: default_marker(),
            roles: Vec::new(),
            users: Vec::new(),
            prune: false,
            adopt: false,
            prune_all: false,
            held: Vec::new(),
        }
    }

    /// Wants a role mapping.
    pub fn role(mut self, spec: MappingSpec) -> SyncSpec {
        self.roles.push(spec);
        self
    }

    /// Wants a user mapping.
    pub fn user(mut self, spec: MappingSpec) -> SyncSpec {
        self.users.push(spec);
        self
    }

    /// Another marker field name (tools already write e.g. `managedBy`).
    pub fn marker(mut self, name: impl Into<String>) -> SyncSpec {
        self.marker = name.into();
        self
    }

    /// [`SyncSpec::prune`].
    pub fn prune(mut self, prune: bool) -> SyncSpec {
        self.prune = prune;
        self
    }

    /// [`SyncSpec::adopt`].
    pub fn adopt(mut self, adopt: bool) -> SyncSpec {
        self.adopt = adopt;
        self
    }

    /// [`SyncSpec::prune_all`].
    pub fn prune_all(mut self, prune_all: bool) -> SyncSpec {
        self.prune_all = prune_all;
        self
    }
}

/// What an update does to the groups.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum GroupsChange {
    /// Leave them as they are.
    #[default]
    Keep,
    /// Replace them.
    Replace(Vec<String>),
    /// Add these after the existing ones (those already present are skipped).
    Append(Vec<String>),
}

/// One operation of an edit.
///
/// Operations read from JSON or YAML with the operation as the key, e.g.
/// `{"addRole": {"arn": "...", "groups": ["dev"]}}`, `{"removeUser": {"arn":
/// "..."}}` or `{"addAccount": "111122223333"}`:
///
/// ```
/// use aws_auth_core::edit::Op;
///
/// let ops: Vec<Op> = serde_json::from_str(r#"[
///     {"addRole": {"arn": "arn:aws:iam::111122223333:role/Dev", "username": "dev", "groups": ["dev"]}},
///     {"updateUser": {"arn": "arn:aws:iam::111122223333:user/alice", "groups": {"append": ["view"]}}},
///     {"removeAccount": "444455556666"}
/// ]"#)?;
/// assert_eq!(ops[0], Op::add_role("arn:aws:iam::111122223333:role/Dev", "dev", ["dev"]));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase")]
#[non_exhaustive]
pub enum Op {
    /// Map a role (refused if the role is already mapped differently).
    AddRole(MappingSpec),
    /// Map a user (refused if the user is already mapped differently).
    AddUser(MappingSpec),
    /// Change the mapping of a role the reader uses (the last one).
    UpdateRole {
        /// The role ARN (matched without case, as the reader does).
        arn: String,
        /// A new username, or `None` to keep it.
        #[serde(default)]
        username: Option<String>,
        /// What happens to the groups.
        #[serde(default)]
        groups: GroupsChange,
    },
    /// Change the mapping of a user.
    UpdateUser {
        /// The user ARN.
        arn: String,
        /// A new username, or `None` to keep it.
        #[serde(default)]
        username: Option<String>,
        /// What happens to the groups.
        #[serde(default)]
        groups: GroupsChange,
    },
    /// Remove every mapping of a role (duplicates included: leaving one would
    /// bring an older mapping back to life).
    RemoveRole {
        /// The role ARN.
        arn: String,
    },
    /// Remove every mapping of a user.
    RemoveUser {
        /// The user ARN.
        arn: String,
    },
    /// Remove the role mappings of an ARN that have exactly this username,
    /// leaving the ARN's other mappings (a hand-written duplicate) alone.
    RemoveRoleMapping {
        /// The role ARN (matched without case).
        arn: String,
        /// The username, exactly.
        username: String,
    },
    /// Remove the user mappings of an ARN that have exactly this username.
    RemoveUserMapping {
        /// The user ARN.
        arn: String,
        /// The username, exactly.
        username: String,
    },
    /// Remove every role and user mapping with this exact username.
    RemoveUsername {
        /// The username (must not be empty).
        username: String,
    },
    /// Make the mappings one owner manages exactly these, touching nothing
    /// else: see [`SyncSpec`].
    Sync(SyncSpec),
    /// Add an account to `mapAccounts`.
    AddAccount(String),
    /// Remove an account from `mapAccounts`.
    RemoveAccount(String),
}

impl Op {
    /// Map a role: [`Op::AddRole`].
    pub fn add_role(
        arn: impl Into<String>,
        username: impl Into<String>,
        groups: impl IntoIterator<Item = impl Into<String>>,
    ) -> Op {
        Op::AddRole(MappingSpec::new(arn, username, groups))
    }

    /// Map a user: [`Op::AddUser`].
    pub fn add_user(
        arn: impl Into<String>,
        username: impl Into<String>,
        groups: impl IntoIterator<Item = impl Into<String>>,
    ) -> Op {
        Op::AddUser(MappingSpec::new(arn, username, groups))
    }

    /// Change a role's mapping: [`Op::UpdateRole`].
    pub fn update_role(
        arn: impl Into<String>,
        username: Option<String>,
        groups: GroupsChange,
    ) -> Op {
        Op::UpdateRole {
            arn: arn.into(),
            username,
            groups,
        }
    }

    /// Change a user's mapping: [`Op::UpdateUser`].
    pub fn update_user(
        arn: impl Into<String>,
        username: Option<String>,
        groups: GroupsChange,
    ) -> Op {
        Op::UpdateUser {
            arn: arn.into(),
            username,
            groups,
        }
    }

    /// Remove every mapping of a role: [`Op::RemoveRole`].
    pub fn remove_role(arn: impl Into<String>) -> Op {
        Op::RemoveRole { arn: arn.into() }
    }

    /// Remove every mapping of a user: [`Op::RemoveUser`].
    pub fn remove_user(arn: impl Into<String>) -> Op {
        Op::RemoveUser { arn: arn.into() }
    }

    /// Remove every mapping with this username: [`Op::RemoveUsername`].
    pub fn remove_username(username: impl Into<String>) -> Op {
        Op::RemoveUsername {
            username: username.into(),
        }
    }

    /// Add an account: [`Op::AddAccount`].
    pub fn add_account(id: impl Into<String>) -> Op {
        Op::AddAccount(id.into())
    }

    /// Remove an account: [`Op::RemoveAccount`].
    pub fn remove_account(id: impl Into<String>) -> Op {
        Op::RemoveAccount(id.into())
    }

    /// True when the operation can only add to the map: it never removes or
    /// rewrites a mapping, so no guard can trip and nobody's access can be
    /// lost (a writer need not look up whom to protect). A sync is not: it
    /// rewrites and prunes what its owner mapped before.
    ///
    /// ```
    /// use aws_auth_core::edit::Op;
    /// assert!(Op::add_account("111122223333").only_adds());
    /// assert!(!Op::remove_account("111122223333").only_adds());
    /// ```
    pub fn only_adds(&self) -> bool {
        matches!(self, Op::AddRole(_) | Op::AddUser(_) | Op::AddAccount(_))
    }

    /// True when the operation makes sense on a map that does not exist yet,
    /// so a writer may create it: what [only adds](Op::only_adds), and a
    /// sync (which on an empty map has nothing of its owner to rewrite).
    ///
    /// ```
    /// use aws_auth_core::edit::{Op, SyncSpec};
    /// assert!(Op::Sync(SyncSpec::new("iam-sync")).can_start_a_map());
    /// assert!(!Op::remove_role("arn:aws:iam::111122223333:role/A").can_start_a_map());
    /// ```
    pub fn can_start_a_map(&self) -> bool {
        self.only_adds() || matches!(self, Op::Sync(_))
    }

    /// The ARN, account ID or username the operation is about.
    ///
    /// ```
    /// use aws_auth_core::edit::Op;
    /// assert_eq!(Op::remove_account("111122223333").principal(), "111122223333");
    /// ```
    pub fn principal(&self) -> &str {
        match self {
            Op::AddRole(s) | Op::AddUser(s) => &s.arn,
            Op::UpdateRole { arn, .. }
            | Op::UpdateUser { arn, .. }
            | Op::RemoveRole { arn }
            | Op::RemoveUser { arn }
            | Op::RemoveRoleMapping { arn, .. }
            | Op::RemoveUserMapping { arn, .. } => arn,
            Op::RemoveUsername { username } => username,
            Op::AddAccount(id) | Op::RemoveAccount(id) => id,
            Op::Sync(spec) => &spec.owner,
        }
    }

    pub(crate) fn key(&self) -> Option<DataKey> {
        match self {
            Op::AddRole(_)
            | Op::UpdateRole { .. }
            | Op::RemoveRole { .. }
            | Op::RemoveRoleMapping { .. } => Some(DataKey::MapRoles),
            Op::AddUser(_)
            | Op::UpdateUser { .. }
            | Op::RemoveUser { .. }
            | Op::RemoveUserMapping { .. } => Some(DataKey::MapUsers),
            Op::AddAccount(_) | Op::RemoveAccount(_) => Some(DataKey::MapAccounts),
            Op::RemoveUsername { .. } | Op::Sync(_) => None,
        }
    }
}

pub use crate::guard::{Guard, GuardKind, GuardPolicy, Guards};
pub use change::{Cause, Change, Effect};
pub use desired::{DesiredError, read_desired};

/// How a data value was written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Written {
    /// Only the touched entries' bytes changed.
    InPlace,
    /// The value was rendered again as a whole (only this value).
    Rewritten {
        /// Why it could not be edited in place.
        reason: String,
    },
    /// The key did not exist and was added.
    Created,
}

/// One data key before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyEdit {
    /// The key.
    pub key: DataKey,
    /// The value before (`None`: the key did not exist), shared with the
    /// document it was edited from.
    pub before: Option<Text>,
    /// The value after.
    pub after: String,
    /// How it was written.
    pub written: Written,
    /// Text of the value before that a whole rewrite deleted, when it was
    /// more than an empty list or null (only with [`Guards::force`]; without
    /// it such an edit is refused with [`EditError::WouldDelete`]).
    pub deleted: Option<String>,
}

/// The result of an edit, verified.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Edited {
    /// What each operation did.
    pub changes: Vec<Change>,
    /// The data keys that changed.
    pub keys: Vec<KeyEdit>,
    /// Guards overridden with [`Guards::force`].
    pub forced: Vec<Guard>,
    /// With [`GuardPolicy::SkipGuarded`]: the operations left out (their
    /// index in the edit's slice) and the guards each would have tripped.
    pub skipped: Vec<(usize, Vec<Guard>)>,
    /// The document after the edit.
    pub document: Document,
}

impl Edited {
    /// True when nothing changed.
    pub fn is_noop(&self) -> bool {
        self.keys.is_empty()
    }

    /// The new manifest text; [`Error::NotAManifest`](crate::Error::NotAManifest)
    /// when the document was read from data strings (a live ConfigMap's
    /// edit is its [`changed_data`](Edited::changed_data)).
    pub fn manifest(&self) -> Result<&str, crate::Error> {
        self.document
            .manifest_text()
            .ok_or(crate::Error::NotAManifest)
    }

    /// [`Edited::manifest`], owned.
    pub fn into_manifest(self) -> Result<String, crate::Error> {
        self.manifest().map(str::to_owned)
    }

    /// The changed data keys and their new values (what a write must send).
    pub fn changed_data(&self) -> BTreeMap<String, String> {
        self.keys
            .iter()
            .map(|k| (k.key.as_str().to_owned(), k.after.clone()))
            .collect()
    }

    /// A unified diff of the changed data strings.
    pub fn diff(&self) -> String {
        self.keys
            .iter()
            .map(|k| data_diff(k.key.as_str(), k.before.as_deref(), Some(&k.after)))
            .collect()
    }
}

/// A unified diff of one data value (`None`: the key is absent), labelled
/// `a/data.KEY` and `b/data.KEY` (or `/dev/null`).
///
/// ```
/// let d = aws_auth_core::edit::data_diff("mapAccounts", None, Some("- \"111122223333\"\n"));
/// assert_eq!(d, "--- /dev/null\n+++ b/data.mapAccounts\n@@ -0,0 +1 @@\n+- \"111122223333\"\n");
/// ```
pub fn data_diff(key: &str, before: Option<&str>, after: Option<&str>) -> String {
    let label = |side: &str, v: Option<&str>| match v {
        Some(_) => format!("{side}/data.{key}"),
        None => "/dev/null".to_owned(),
    };
    similar::TextDiff::from_lines(before.unwrap_or(""), after.unwrap_or(""))
        .unified_diff()
        .context_radius(3)
        .header(&label("a", before), &label("b", after))
        .to_string()
}

/// Why an edit was refused. Nothing is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    /// An operation's input is not acceptable.
    #[error("ops[{op}]: {message}")]
    Invalid {
        /// Index of the operation in the slice given to the edit (0 for the
        /// first), as the message says it: `ops[0]`.
        op: usize,
        /// What is wrong.
        message: String,
    },
    /// An update or removal names something that is not mapped.
    #[error("ops[{op}]: {message}")]
    NotFound {
        /// Index of the operation.
        op: usize,
        /// What is missing.
        message: String,
    },
    /// An add names something already mapped differently.
    #[error("ops[{op}]: {message}")]
    Conflict {
        /// Index of the operation.
        op: usize,
        /// The existing mapping.
        message: String,
    },
    /// The key to edit cannot be read; fix it first (`aws-auth lint` says how).
    #[error("line {}, column {}: {key} cannot be read ({message}); fix it before editing it", position.line, position.column)]
    Unreadable {
        /// The key.
        key: DataKey,
        /// Why it cannot be read.
        message: String,
        /// Where.
        position: Position,
    },
    /// Guards refused the edit (use `force` to override).
    #[error("refused: {}", guards.iter().map(|g| g.message.as_str()).collect::<Vec<_>>().join("; "))]
    Guarded {
        /// The guards tripped.
        guards: Vec<Guard>,
    },
    /// The key cannot be edited in place, and writing it whole would delete
    /// text that is more than an empty list (use `force` to do it anyway).
    #[error("line {}, column {}: {key} cannot be edited in place because {reason}; writing it whole would delete {}", position.line, position.column, describe_deleted(deleted))]
    WouldDelete {
        /// The key.
        key: DataKey,
        /// Why it cannot be edited in place.
        reason: String,
        /// The text that would go (the whole value before).
        deleted: String,
        /// Where the first line that would go is.
        position: Position,
    },
    /// The manifest's layout does not allow the edit.
    #[error("{message}")]
    Layout {
        /// Why.
        message: String,
    },
    /// The edited result does not read back as intended (a bug; nothing is written).
    #[error(
        "the edit was not applied because its result does not read back as intended: {message}"
    )]
    Verification {
        /// What differed.
        message: String,
    },
}

/// `value` as a YAML scalar: plain when every YAML reader (yaml.v2's YAML 1.1
/// included) reads it back as this string, double-quoted otherwise.
///
/// ```
/// use aws_auth_core::edit::yaml_scalar;
///
/// assert_eq!(yaml_scalar("system:masters"), "system:masters");
/// assert_eq!(yaml_scalar("{{SessionName}}"), "\"{{SessionName}}\"");
/// assert_eq!(yaml_scalar("012345678901"), "\"012345678901\"");
/// assert_eq!(yaml_scalar("no"), "\"no\"");
/// ```
pub fn yaml_scalar(value: &str) -> String {
    style::scalar(value, style::Quote::Plain, false)
}

/// A value whose list is followed by another YAML document (which the
/// authenticator ignores) must keep a first document: removing its last
/// entry would put the next document's entries into effect.
fn revives_next_document(doc: &Document, key: DataKey, expected: &MapView) -> Option<String> {
    let tree = doc.parsed(key).tree.as_ref()?;
    let empty_after = match key {
        DataKey::MapRoles => expected.roles.entries.is_empty() && expected.roles.dropped.is_empty(),
        DataKey::MapUsers => expected.users.entries.is_empty() && expected.users.dropped.is_empty(),
        DataKey::MapAccounts => {
            expected.accounts.entries.is_empty() && expected.accounts.dropped.is_empty()
        }
    };
    if !(tree.more_documents && empty_after) {
        return None;
    }
    let text = doc.data_string(key)?;
    let end = tree.root.map_or(0, |r| tree.node(r).end as usize);
    let at = text[end..]
        .find("\n---")
        .or_else(|| text[end..].find("\n..."))
        .map_or(end, |i| end + i + 1);
    Some(format!(
        "line {}: {key} holds a second YAML document after its list, which the authenticator ignores; removing the last entry of the list would put that document's entries into effect: delete or merge that document first; nothing was written",
        doc.position(key, at).line
    ))
}

/// An alias that the edit leaves in place but whose anchored node it removes
/// or changes: the key would not parse (unknown anchor), or the alias would
/// silently take the new value.
fn breaks_alias(doc: &Document, key: DataKey, splices: &[splice::Splice]) -> Option<String> {
    let tree = doc.parsed(key).tree.as_ref()?;
    let text = doc.data_string(key)?;
    let touches = |start: usize, end: usize| {
        splices.iter().any(|s| {
            if s.start == s.end {
                // An insertion at the end of a block list may extend it.
                start < s.start && s.start <= end
            } else {
                s.start < end && start < s.end
            }
        })
    };
    let inside = |at: usize| splices.iter().any(|s| s.start <= at && at < s.end);
    for node in &tree.nodes {
        let crate::yaml::tree::Kind::Alias { target } = node.kind else {
            continue;
        };
        if inside(node.start as usize) {
            continue;
        }
        let t = tree.node(target);
        // A block list ends with its last token; lines inserted after that
        // line may extend it.
        let end = t.end as usize;
        let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
        if touches(t.start as usize, line_end) {
            let alias = text
                .get(node.start as usize..node.end as usize)
                .unwrap_or("*");
            let at = doc.position(key, node.start as usize);
            // The `&name` token stands before the node it anchors.
            let anchor_at = text[..t.start as usize]
                .rfind('&')
                .unwrap_or(t.start as usize);
            let anchor = doc.position(key, anchor_at);
            return Some(format!(
                "line {}: {key} refers to the YAML anchor of line {} ({alias}), which this edit would remove or change; write the aliased value out in full there first; nothing was written",
                at.line, anchor.line
            ));
        }
    }
    None
}

/// "its 4 lines from `- userarn: ...`": what a whole rewrite deletes, in a
/// few words.
fn describe_deleted(deleted: &str) -> String {
    let lines = deleted.lines().filter(|l| !l.trim().is_empty()).count();
    let first = deleted
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !is_empty_value(l))
        .unwrap_or_default();
    let first: String = first.chars().take(60).collect();
    let s = if lines == 1 { "" } else { "s" };
    format!("its {lines} line{s}, from `{first}`")
}

/// A value that holds no entries and says nothing: blank, null or `[]`.
fn is_empty_value(text: &str) -> bool {
    matches!(
        text.trim(),
        "" | "[]" | "null" | "Null" | "NULL" | "~" | "\"\"" | "''" | "``"
    )
}

/// Where the text a whole rewrite deletes starts to matter: the first line
/// that is not blank and not the empty value itself.
fn first_deleted_offset(text: &str) -> usize {
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        if !is_empty_value(line) {
            return at + (line.len() - line.trim_start().len());
        }
        at += line.len();
    }
    0
}

impl EditError {
    /// The same error with its operation index mapped through `to`.
    fn renumbered(self, to: impl Fn(usize) -> usize) -> Self {
        match self {
            EditError::Invalid { op, message } => EditError::Invalid {
                op: to(op),
                message,
            },
            EditError::NotFound { op, message } => EditError::NotFound {
                op: to(op),
                message,
            },
            EditError::Conflict { op, message } => EditError::Conflict {
                op: to(op),
                message,
            },
            other => other,
        }
    }

    pub(crate) fn invalid(op: usize, message: impl Into<String>) -> Self {
        EditError::Invalid {
            op,
            message: message.into(),
        }
    }
}

impl Document {
    /// The guards a plan trips: its own (judged on the operations), then
    /// those judged on the map before and after.
    fn tripped(&self, mut own: Vec<Guard>, expected: &MapView, guards: &Guards) -> Vec<Guard> {
        own.extend(crate::guard::check(self, expected, &guards.protected));
        own
    }

    /// [`GuardPolicy::SkipGuarded`]: the operations taken one by one, each
    /// kept when it and those kept before it trip no guard. A sync is
    /// guarded principal by principal: the principals a tripped guard names
    /// are held (left as they are) and the rest of the sync goes through;
    /// only a guard that names none of its principals skips it whole.
    fn edit_skipping_guarded(&self, ops: &[Op], guards: &Guards) -> Result<Edited, EditError> {
        let mut kept: Vec<(usize, Op)> = Vec::new();
        let mut skipped: Vec<(usize, Vec<Guard>)> = Vec::new();
        // Principals held back inside a sync, and why.
        let mut held: Vec<(usize, Option<DataKey>, String, Vec<Guard>)> = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            let mut op = op.clone();
            let mut op_held: Vec<(String, Option<DataKey>, Vec<Guard>)> = Vec::new();
            let verdict = loop {
                let trial: Vec<Op> = kept
                    .iter()
                    .map(|(_, o)| o.clone())
                    .chain([op.clone()])
                    .collect();
                let (plan, expected) = plan::plan(self, &trial).map_err(|e| e.renumbered(|_| i))?;
                let tripped = self.tripped(plan.guards, &expected, guards);
                if tripped.is_empty() {
                    break Ok(());
                }
                let Op::Sync(spec) = &mut op else {
                    break Err(tripped);
                };
                // The tripped guards' principals this sync touches (and in
                // which key), not yet held.
                let touched = |p: &str| {
                    plan.changes
                        .iter()
                        .filter(|c| c.op == trial.len() - 1)
                        .find(|c| c.principals.iter().any(|x| x.eq_ignore_ascii_case(p)))
                        .map(|c| c.key)
                };
                let mut more: Vec<(String, Option<DataKey>, Vec<Guard>)> = Vec::new();
                for g in &tripped {
                    let Some(p) = g.principal.as_deref() else {
                        continue;
                    };
                    let Some(key) = touched(p) else { continue };
                    if spec.held.iter().any(|h| h.eq_ignore_ascii_case(p)) {
                        continue;
                    }
                    match more.iter_mut().find(|(q, _, _)| q.eq_ignore_ascii_case(p)) {
                        Some((_, _, gs)) => gs.push(g.clone()),
                        None => more.push((p.to_owned(), key, vec![g.clone()])),
                    }
                }
                if more.is_empty() {
                    break Err(tripped);
                }
                spec.held.extend(more.iter().map(|(p, _, _)| p.clone()));
                op_held.extend(more);
            };
            match verdict {
                Ok(()) => {
                    for (p, key, gs) in op_held {
                        held.push((i, key, p, gs));
                    }
                    kept.push((i, op));
                }
                Err(tripped) => skipped.push((i, tripped)),
            }
        }
        let index: Vec<usize> = kept.iter().map(|(i, _)| *i).collect();
        let kept_ops: Vec<Op> = kept.into_iter().map(|(_, o)| o).collect();
        let strict = Guards {
            policy: GuardPolicy::Refuse,
            ..guards.clone()
        };
        let mut edited = self
            .edit(&kept_ops, &strict)
            .map_err(|e| e.renumbered(|k| index[k]))?;
        for change in &mut edited.changes {
            change.renumber(|k| index[k]);
        }
        let told = |gs: &[Guard]| {
            gs.iter()
                .map(|g| g.message.as_str())
                .collect::<Vec<_>>()
                .join("; and ")
        };
        for (op, tripped) in &skipped {
            let principal = ops[*op].principal().to_owned();
            edited.changes.push(
                Change::skipped(
                    *op,
                    ops[*op].key(),
                    vec![principal],
                    Cause::Guarded,
                    format!("not applied: it {}", told(tripped)),
                )
                .guarded(tripped.iter().map(|g| g.kind).collect()),
            );
        }
        for (op, key, principal, gs) in held {
            edited.changes.push(
                Change::skipped(
                    op,
                    key,
                    vec![principal.clone()],
                    Cause::Guarded,
                    format!("{principal} left as it is: changing it {}", told(&gs)),
                )
                .guarded(gs.iter().map(|g| g.kind).collect()),
            );
            skipped.push((op, gs));
        }
        edited.changes.sort_by_key(Change::op);
        skipped.sort_by_key(|(op, _)| *op);
        edited.skipped = skipped;
        Ok(edited)
    }

    /// Applies operations together, with guards; see the [module](crate::edit) docs.
    pub fn edit(&self, ops: &[Op], guards: &Guards) -> Result<Edited, EditError> {
        let (mut plan, expected) = plan::plan(self, ops)?;
        let tripped = self.tripped(std::mem::take(&mut plan.guards), &expected, guards);
        if !tripped.is_empty() && guards.policy == GuardPolicy::SkipGuarded && !guards.forcing() {
            return self.edit_skipping_guarded(ops, guards);
        }
        if !tripped.is_empty() && !guards.forcing() {
            return Err(EditError::Guarded { guards: tripped });
        }
        let force = guards.forcing();
        let mut inner = Vec::new();
        for key in DataKey::ALL {
            let key_plan = plan.key(key);
            if key_plan.is_noop() {
                continue;
            }
            if let Some(message) = revives_next_document(self, key, &expected) {
                return Err(EditError::Layout { message });
            }
            let edit = render::render(self, key, key_plan).ok_or_else(|| EditError::Layout {
                message: format!("{key} is laid out in a way this edit cannot be placed into safely (a comment between an item's `-` and its content, a byte order mark, or a carriage return without a line feed); nothing was written"),
            })?;
            // A whole rewrite must not delete text silently: a `[]` followed by
            // items (the authenticator reads only the `[]`), comments, another
            // document.
            if let Some(reason) = &edit.whole
                && !is_empty_value(edit.before)
                && !force
            {
                return Err(EditError::WouldDelete {
                    key,
                    reason: reason.clone(),
                    deleted: edit.before.to_owned(),
                    position: self.position(key, first_deleted_offset(edit.before)),
                });
            }
            if let Some(message) = breaks_alias(self, key, &edit.splices) {
                return Err(EditError::Layout { message });
            }
            if edit.after != edit.before || self.data_string(key).is_none() {
                inner.push((key, edit));
            }
        }
        if inner.is_empty() {
            return Ok(Edited {
                changes: plan.changes,
                keys: Vec::new(),
                forced: if force { tripped } else { Vec::new() },
                skipped: Vec::new(),
                document: self.clone(),
            });
        }
        let (document, written) = write::write(self, &inner)?;
        verify(self, &document, &expected, &inner)?;
        let keys = inner
            .into_iter()
            .zip(written)
            .map(|((key, edit), (_, written))| KeyEdit {
                key,
                before: self.shared_data(key).map(Text::whole),
                deleted: (edit.whole.is_some() && !is_empty_value(edit.before))
                    .then(|| edit.before.to_owned()),
                after: edit.after,
                written,
            })
            .collect();
        Ok(Edited {
            changes: plan.changes,
            keys,
            forced: tripped,
            skipped: Vec::new(),
            document,
        })
    }
}

/// The reader's view after the edit must be the view before plus exactly the
/// operations; every other data value must be untouched.
fn verify(
    before: &Document,
    after: &Document,
    expected: &MapView,
    edits: &[(DataKey, render::InnerEdit<'_>)],
) -> Result<(), EditError> {
    let fail = |message: String| Err(EditError::Verification { message });
    for key in before.data_keys() {
        if edits.iter().any(|(k, _)| k.as_str() == key) {
            continue;
        }
        let unchanged = match (before.data_value(key), after.data_value(key)) {
            (Some(a), Some(b)) => std::ptr::eq(a, b) || a == b,
            (a, b) => a == b,
        };
        if !unchanged {
            return fail(format!(
                "data.{key} changed although the edit does not touch it"
            ));
        }
    }
    let got = after.view();
    // A key shared with the expected view (unchanged, not read again) agrees.
    if !Arc::ptr_eq(&got.roles, &expected.roles) {
        same(
            DataKey::MapRoles,
            &got.roles,
            &expected.roles,
            &before.view().roles.field_issues,
        )?;
    }
    if !Arc::ptr_eq(&got.users, &expected.users) {
        same(
            DataKey::MapUsers,
            &got.users,
            &expected.users,
            &before.view().users.field_issues,
        )?;
    }
    if !Arc::ptr_eq(&got.accounts, &expected.accounts) {
        same(
            DataKey::MapAccounts,
            &got.accounts,
            &expected.accounts,
            &before.view().accounts.field_issues,
        )?;
    }
    Ok(())
}

fn same<T: PartialEq + fmt::Debug>(
    key: DataKey,
    got: &KeyView<T>,
    want: &KeyView<T>,
    issues_before: &[FieldIssue],
) -> Result<(), EditError> {
    let fail = |message: String| {
        Err(EditError::Verification {
            message: format!("{key}: {message}"),
        })
    };
    let state_ok = got.state == want.state
        || (want.entries.is_empty()
            && matches!(
                got.state,
                KeyState::Empty | KeyState::Read | KeyState::Absent
            ));
    if !state_ok {
        return fail(format!(
            "it reads as {:?} instead of {:?}",
            got.state, want.state
        ));
    }
    let got_values: Vec<&T> = got.values().collect();
    let want_values: Vec<&T> = want.values().collect();
    if got_values != want_values {
        let at = got_values
            .iter()
            .zip(&want_values)
            .position(|(a, b)| a != b)
            .unwrap_or(got_values.len().min(want_values.len()));
        return fail(format!(
            "entry {} reads as {:?}, expected {:?}",
            at + 1,
            got_values.get(at),
            want_values.get(at)
        ));
    }
    let reasons = |v: &KeyView<T>| {
        v.dropped
            .iter()
            .map(|d| d.reason.clone())
            .collect::<Vec<_>>()
    };
    if reasons(got) != reasons(want) {
        return fail("the entries the reader drops changed".to_owned());
    }
    let known = |i: &FieldIssue| {
        issues_before
            .iter()
            .any(|b| b.field == i.field && b.found == i.found && b.expected == i.expected)
    };
    if let Some(new) = got.field_issues.iter().find(|i| !known(i)) {
        return fail(format!("the edit made {} a {}", new.field, new.found));
    }
    Ok(())
}
