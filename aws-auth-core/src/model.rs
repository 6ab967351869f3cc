//! What aws-iam-authenticator sees in the map: the mappings it accepts, the entries
//! it drops and why, and keys it cannot read at all.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::text::Text;

/// One of the three data keys the authenticator reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataKey {
    /// `data.mapRoles`: IAM roles (and `sso` matchers).
    MapRoles,
    /// `data.mapUsers`: IAM users.
    MapUsers,
    /// `data.mapAccounts`: whole AWS accounts.
    MapAccounts,
}

impl DataKey {
    /// The three keys, in the order the authenticator looks principals up.
    pub const ALL: [DataKey; 3] = [DataKey::MapRoles, DataKey::MapUsers, DataKey::MapAccounts];

    /// The key as written in the ConfigMap (case-sensitive).
    pub fn as_str(self) -> &'static str {
        match self {
            DataKey::MapRoles => "mapRoles",
            DataKey::MapUsers => "mapUsers",
            DataKey::MapAccounts => "mapAccounts",
        }
    }

    /// Looks a key up by its exact name.
    pub fn from_name(name: &str) -> Option<DataKey> {
        DataKey::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl serde::Serialize for DataKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl fmt::Display for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An `sso:` matcher of a role entry (aws-iam-authenticator's SSORoleMatch feature).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SsoMatcher {
    /// `permissionSetName`.
    pub permission_set_name: Text,
    /// `accountID`: must be 12 digits.
    pub account_id: Text,
    /// `partition`: a non-empty value never matches (an upstream bug).
    pub partition: Text,
}

/// A `mapRoles` entry as the authenticator decodes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoleMapping {
    /// `rolearn` (matched case-insensitively against the caller's canonical ARN).
    pub rolearn: Text,
    /// `sso`, when the entry matches an IAM Identity Center permission set instead.
    pub sso: Option<SsoMatcher>,
    /// `username`, possibly with templates such as `{{SessionName}}`.
    pub username: Text,
    /// `groups`, possibly with templates.
    pub groups: Vec<Text>,
    /// `userid`.
    pub userid: Text,
    /// Keys the authenticator ignores, with their values as JSON.
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// A `mapUsers` entry as the authenticator decodes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserMapping {
    /// `userarn` (compared with the caller's ARN as written).
    pub userarn: Text,
    /// `username`, possibly with templates.
    pub username: Text,
    /// `groups`.
    pub groups: Vec<Text>,
    /// `userid`.
    pub userid: Text,
    /// Keys the authenticator ignores, with their values as JSON.
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl RoleMapping {
    /// An extra field's value when it is a string (an owner's marker):
    /// without reaching for `serde_json`.
    ///
    /// ```
    /// use aws_auth_core::Document;
    /// let doc = Document::from_data([("mapRoles", "- rolearn: arn:aws:iam::111122223333:role/A\n  username: a\n  syncedBy: team-a\n")]);
    /// assert_eq!(doc.view().roles.entries[0].value.extra_str("syncedBy"), Some("team-a"));
    /// ```
    pub fn extra_str(&self, name: &str) -> Option<&str> {
        self.extra.get(name).and_then(|v| v.as_str())
    }
}

impl UserMapping {
    /// An extra field's value when it is a string; see [`RoleMapping::extra_str`].
    pub fn extra_str(&self, name: &str) -> Option<&str> {
        self.extra.get(name).and_then(|v| v.as_str())
    }
}

/// A mapping together with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry<T> {
    /// The decoded mapping.
    pub value: T,
    /// Its position in the YAML list (dropped entries count).
    pub index: usize,
    /// Its bytes in the data string ([`Document::data_string`](crate::Document::data_string)),
    /// decoded: the item's node, from its first byte (for a block list, the
    /// first key after the `- `; the dash is not included) to the end of its
    /// last value, without the line feed and without comment or blank lines
    /// after it; for a flow list, from its first to its last byte (a flow
    /// mapping's braces included), without the comma.
    /// Empty (`0..0`) for an entry an edit planned but has not written.
    pub span: Range<usize>,
}

/// Whether a data key could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyState {
    /// The ConfigMap has no such key.
    Absent,
    /// Present but empty, blank or null: no entries.
    Empty,
    /// Read as a list.
    Read,
    /// The whole key is dropped: a syntax error or a value that is not a list.
    /// Every mapping in it, node roles included, is ignored.
    Unreadable {
        /// What is wrong.
        message: String,
        /// Byte offset in the data string.
        offset: usize,
    },
}

/// An entry the authenticator drops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// Its position in the YAML list.
    pub index: usize,
    /// Its bytes in the data string.
    pub span: Range<usize>,
    /// Why it is dropped.
    pub reason: String,
}

/// A field whose value has the wrong type and is therefore left empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldIssue {
    /// The entry's position in the YAML list.
    pub index: usize,
    /// The field (`username`, `groups`, `groups[1]`, ...).
    pub field: String,
    /// What the value is, in Go's words (`number`, `bool`, `string`, ...).
    pub found: &'static str,
    /// What the field needs.
    pub expected: &'static str,
    /// The value's bytes in the data string.
    pub span: Range<usize>,
}

/// What the reader makes of one data key.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyView<T> {
    /// Whether the key could be read at all.
    pub state: KeyState,
    /// Accepted entries, in order (later duplicates win at lookup).
    pub entries: Vec<Entry<T>>,
    /// Entries dropped one by one.
    pub dropped: Vec<Dropped>,
    /// Fields left empty because of their type.
    pub field_issues: Vec<FieldIssue>,
}

impl<T> Default for KeyView<T> {
    fn default() -> Self {
        KeyView {
            state: KeyState::Absent,
            entries: Vec::new(),
            dropped: Vec::new(),
            field_issues: Vec::new(),
        }
    }
}

impl<T> KeyView<T> {
    pub(crate) fn with_state(state: KeyState) -> Self {
        KeyView {
            state,
            ..KeyView::default()
        }
    }

    /// The accepted values, without positions.
    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.entries.iter().map(|e| &e.value)
    }

    /// True when the whole key is dropped.
    pub fn is_unreadable(&self) -> bool {
        matches!(self.state, KeyState::Unreadable { .. })
    }
}

/// Everything the authenticator reads from the map. Each key's view is shared
/// (`Arc`) with the documents an edit derives from it when the key is unchanged.
///
/// Serialises to the `aws-auth get -o json` shape:
/// `{"mapRoles":[{"rolearn":..,"username":..,"groups":[..]}],"mapUsers":[..],"mapAccounts":[..]}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MapView {
    /// `mapRoles`.
    pub roles: Arc<KeyView<RoleMapping>>,
    /// `mapUsers`.
    pub users: Arc<KeyView<UserMapping>>,
    /// `mapAccounts`, account IDs as written (`012345678901` keeps its zero).
    pub accounts: Arc<KeyView<String>>,
}

impl MapView {
    /// True when every present key was read and no entry was dropped.
    pub fn is_clean(&self) -> bool {
        ![&self.roles.state, &self.users.state, &self.accounts.state]
            .iter()
            .any(|s| matches!(s, KeyState::Unreadable { .. }))
            && self.roles.dropped.is_empty()
            && self.users.dropped.is_empty()
            && self.accounts.dropped.is_empty()
    }

    /// The state of one key.
    pub fn state(&self, key: DataKey) -> &KeyState {
        match key {
            DataKey::MapRoles => &self.roles.state,
            DataKey::MapUsers => &self.users.state,
            DataKey::MapAccounts => &self.accounts.state,
        }
    }
}

/// The fields a role or user mapping serializes, in the order the
/// authenticator's structs declare them.
struct MappingFields<'a> {
    /// `rolearn` or `userarn`, when written.
    arn: Option<(&'static str, &'a Text)>,
    sso: Option<&'a SsoMatcher>,
    username: &'a Text,
    groups: &'a [Text],
    userid: &'a Text,
    extra: &'a BTreeMap<String, serde_json::Value>,
}

impl Serialize for MappingFields<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let Some((name, arn)) = self.arn {
            m.serialize_entry(name, arn)?;
        }
        if let Some(sso) = self.sso {
            m.serialize_entry("sso", sso)?;
        }
        m.serialize_entry("username", self.username)?;
        m.serialize_entry("groups", self.groups)?;
        if !self.userid.is_empty() {
            m.serialize_entry("userid", self.userid)?;
        }
        for (k, v) in self.extra {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl Serialize for RoleMapping {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        MappingFields {
            // An sso entry has no rolearn to show.
            arn: (!self.rolearn.is_empty() || self.sso.is_none())
                .then_some(("rolearn", &self.rolearn)),
            sso: self.sso.as_ref(),
            username: &self.username,
            groups: &self.groups,
            userid: &self.userid,
            extra: &self.extra,
        }
        .serialize(s)
    }
}

impl Serialize for SsoMatcher {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("permissionSetName", &self.permission_set_name)?;
        m.serialize_entry("accountID", &self.account_id)?;
        if !self.partition.is_empty() {
            m.serialize_entry("partition", &self.partition)?;
        }
        m.end()
    }
}

impl Serialize for UserMapping {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        MappingFields {
            arn: Some(("userarn", &self.userarn)),
            sso: None,
            username: &self.username,
            groups: &self.groups,
            userid: &self.userid,
            extra: &self.extra,
        }
        .serialize(s)
    }
}

struct Values<'a, T>(&'a KeyView<T>);

impl<T: Serialize> Serialize for Values<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.entries.len()))?;
        for e in &self.0.entries {
            seq.serialize_element(&e.value)?;
        }
        seq.end()
    }
}

impl Serialize for MapView {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("mapRoles", &Values(&self.roles))?;
        m.serialize_entry("mapUsers", &Values(&self.users))?;
        m.serialize_entry("mapAccounts", &Values(&self.accounts))?;
        m.end()
    }
}
