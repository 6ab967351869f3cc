//! Which mapping the authenticator uses for each caller (docs/reader.md §4):
//! the one rule that `get`, `explain`, lint, the guards and the migrator share.
//!
//! Roles are kept by their ARN without case and users by their ARN as written,
//! a later entry replacing an earlier one; a caller is looked up in roles first,
//! then users (without case), then accounts. An entry whose ARN no caller's
//! canonical ARN can equal (an IAM path on a role, a wildcard, a session ARN,
//! a region, a malformed account) is read but never matches.
//!
//! ```
//! use aws_auth_core::Document;
//! use aws_auth_core::effective::{Resolved, Standing};
//! use aws_auth_core::DataKey;
//!
//! let doc = Document::from_data([(
//!     "mapRoles",
//!     concat!(
//!         "- rolearn: arn:aws:iam::111122223333:role/Admin\n  username: old\n",
//!         "- rolearn: arn:aws:iam::111122223333:role/admin\n  username: admin\n  groups: [system:masters]\n",
//!         "- rolearn: arn:aws:iam::111122223333:role/teams/Dev\n  username: dev\n",
//!     ),
//! )]);
//! let effective = doc.view().effective();
//! assert_eq!(effective.standing(DataKey::MapRoles, 0), Some(&Standing::Replaced { by: 1 }));
//! assert!(matches!(effective.standing(DataKey::MapRoles, 2), Some(Standing::NeverMatches { .. })));
//! let session = "arn:aws:sts::111122223333:assumed-role/Admin/alice".parse()?;
//! let Resolved::Mapping(m) = effective.resolve(&session) else { panic!() };
//! assert_eq!(m.username, "admin");
//! assert_eq!(effective.mappings().count(), 1);
//! # Ok::<(), aws_auth_core::arn::ArnError>(())
//! ```

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, OnceLock};

use crate::arn::{Arn, PrincipalKind};
use crate::model::{DataKey, MapView};
use crate::text::Text;

/// The hash of an ARN as the authenticator compares it, ASCII case ignored:
/// rustc's multiply-rotate hash (FxHash) eight bytes at a time. `| 0x20`
/// lower-cases ASCII letters; the few other bytes it merges only collide,
/// they never compare equal.
fn nocase_hash(s: &str) -> u64 {
    let mut h: u64 = 0;
    let mut mix = |w: u64| h = (h.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    let b = s.as_bytes();
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        mix(u64::from_le_bytes(w) | 0x2020_2020_2020_2020);
    }
    for &x in chunks.remainder() {
        mix(u64::from(x | 0x20));
    }
    mix(b.len() as u64);
    h
}

/// A hasher for keys that are hashes already.
#[derive(Debug, Default, Clone, Copy)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Entry indices by the hash of their ARN.
type ByHash = HashMap<u64, Ids, BuildHasherDefault<Prehashed>>;

/// The entries answering under one hash: nearly always one, so no list is
/// allocated for it. Several are either spellings of one user ARN that differ
/// in case, or a hash collision.
#[derive(Debug, Clone)]
enum Ids {
    One(usize),
    Many(Vec<usize>),
}

impl Ids {
    fn push(&mut self, i: usize) {
        match self {
            Ids::One(first) => *self = Ids::Many(vec![*first, i]),
            Ids::Many(all) => all.push(i),
        }
    }

    /// Puts `i` in place of the `k`th entry; returns the old one.
    fn replace(&mut self, k: usize, i: usize) -> usize {
        match self {
            Ids::One(first) => std::mem::replace(first, i),
            Ids::Many(all) => std::mem::replace(&mut all[k], i),
        }
    }

    fn as_slice(&self) -> &[usize] {
        match self {
            Ids::One(i) => std::slice::from_ref(i),
            Ids::Many(all) => all,
        }
    }
}

/// What the authenticator makes of one role or user entry it accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Standing {
    /// It answers for its principal.
    Honoured,
    /// A later entry of the same key maps the same principal and replaces
    /// this one (the last one wins); `by` is that entry's index.
    Replaced {
        /// The index of the entry that answers instead.
        by: usize,
    },
    /// A `mapUsers` entry whose principal `mapRoles` maps too: roles are
    /// looked up first, so this entry is never used.
    ShadowedByRole {
        /// The index of the role entry that answers.
        by: usize,
    },
    /// No caller's ARN, as the authenticator canonicalises it, can equal this
    /// entry's ARN.
    NeverMatches {
        /// Why.
        reason: String,
    },
    /// An `sso` matcher: it needs the SSORoleMatch feature gate, which EKS
    /// does not enable.
    FeatureGated,
}

/// A mapping the authenticator honours.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Mapping<'v> {
    /// `mapRoles` or `mapUsers`.
    pub key: DataKey,
    /// The entry's index in the key's [`KeyView::entries`](crate::KeyView::entries).
    pub index: usize,
    /// The ARN as written.
    pub arn: &'v str,
    /// The username, templates unfilled.
    pub username: &'v str,
    /// The groups, templates unfilled.
    pub groups: &'v [Text],
}

impl Mapping<'_> {
    /// True when the groups include `system:masters`.
    pub fn is_admin(&self) -> bool {
        self.groups.iter().any(|g| g == "system:masters")
    }

    /// The kind of node this mapping lets join, if it is a node mapping.
    pub fn node_kind(&self) -> Option<NodeKind> {
        node_kind(self.username, self.groups)
    }
}

/// The kinds of node mapping, by what the authenticator hands the kubelet
/// (docs/reader.md §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NodeKind {
    /// EC2 Linux (and hybrid) nodes.
    Linux,
    /// EC2 Windows nodes (`eks:kube-proxy-windows`).
    Windows,
    /// Fargate pods (`system:node:{{SessionName}}`, `system:node-proxier`).
    Fargate,
}

/// The kind of node mapping a username and groups make, if any.
pub fn node_kind(username: &str, groups: &[Text]) -> Option<NodeKind> {
    let has = |g: &str| groups.iter().any(|x| x == g);
    if username == "system:node:{{SessionName}}" && has("system:node-proxier") {
        return Some(NodeKind::Fargate);
    }
    if has("eks:kube-proxy-windows") {
        return Some(NodeKind::Windows);
    }
    if username.starts_with("system:node:") || has("system:nodes") || has("system:bootstrappers") {
        return Some(NodeKind::Linux);
    }
    None
}

/// What the authenticator does with one caller.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved<'v> {
    /// This mapping answers.
    Mapping(Mapping<'v>),
    /// Several `mapUsers` entries whose ARNs differ only in case match: which
    /// one answers is unpredictable. The one spelled like the caller comes first.
    Ambiguous(Vec<Mapping<'v>>),
    /// No role or user mapping; the caller's account is in `mapAccounts`: the
    /// caller's own canonical ARN becomes its username, with no groups.
    Account {
        /// The index in `mapAccounts`.
        index: usize,
        /// The caller's canonical ARN, its username.
        username: String,
    },
    /// The authenticator refuses the caller.
    Unmapped,
}

/// A username and groups a caller may end up with.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Grant<'v> {
    /// The username, templates unfilled.
    pub username: Cow<'v, str>,
    /// The groups, templates unfilled.
    pub groups: &'v [Text],
}

impl Grant<'_> {
    /// The same username and the same groups, in any order: the order of
    /// groups means nothing to Kubernetes.
    pub fn same_as(&self, other: &Grant<'_>) -> bool {
        self.username == other.username && same_groups(self.groups, other.groups)
    }
}

/// True when a lookup of one ARN finds a mapping of the other: the
/// authenticator looks callers up without case, in roles and in users alike
/// (users are stored as written, so two spellings of one user are both
/// kept, and which one answers is unpredictable). Every edit decides "is
/// this principal mapped already" with this one rule.
pub fn same_principal(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Two lists of groups that grant the same: compared as sets.
pub fn same_groups<A: AsRef<str>, B: AsRef<str>>(a: &[A], b: &[B]) -> bool {
    use std::collections::BTreeSet;
    let a: BTreeSet<&str> = a.iter().map(AsRef::as_ref).collect();
    let b: BTreeSet<&str> = b.iter().map(AsRef::as_ref).collect();
    a == b
}

impl<'v> Resolved<'v> {
    /// What the caller may be given: one grant, several when ambiguous, none
    /// when unmapped.
    pub fn grants(&self) -> Vec<Grant<'v>> {
        match self {
            Resolved::Mapping(m) => vec![Grant {
                username: Cow::Borrowed(m.username),
                groups: m.groups,
            }],
            Resolved::Ambiguous(all) => all
                .iter()
                .map(|m| Grant {
                    username: Cow::Borrowed(m.username),
                    groups: m.groups,
                })
                .collect(),
            Resolved::Account { username, .. } => vec![Grant {
                username: Cow::Owned(username.clone()),
                groups: &[],
            }],
            Resolved::Unmapped => Vec::new(),
        }
    }

    /// The mappings involved (none for an account or an unmapped caller).
    pub fn mappings(&self) -> &[Mapping<'v>] {
        match self {
            Resolved::Mapping(m) => std::slice::from_ref(m),
            Resolved::Ambiguous(all) => all,
            _ => &[],
        }
    }
}

/// The standings and lookup table of one key's entries: owned, so that a
/// [`Document`](crate::Document) keeps it, and an edit's result shares it for
/// a key the edit did not touch.
#[derive(Debug, Default)]
struct KeyIndex {
    standing: Vec<Standing>,
    /// Role entries: the winner for each ARN without case. User entries: the
    /// winner for each ARN as written.
    by_hash: ByHash,
    /// Whether an honoured entry grants `system:masters`.
    has_admin: OnceLock<bool>,
}

/// The effective reading's tables, without the view they index.
#[derive(Debug, Clone, Default)]
pub(crate) struct Index {
    roles: Arc<KeyIndex>,
    users: Arc<KeyIndex>,
}

impl Index {
    pub(crate) fn build(view: &MapView) -> Index {
        let roles = Arc::new(role_index(view));
        let users = Arc::new(user_index(view, &roles));
        Index { roles, users }
    }

    /// The index of `view`, sharing `from`'s tables for keys that `view`
    /// shares with `from_view` (unchanged by an edit).
    fn derive(view: &MapView, from_view: &MapView, from: &Index) -> Index {
        let same_roles = Arc::ptr_eq(&view.roles, &from_view.roles);
        let roles = if same_roles {
            Arc::clone(&from.roles)
        } else {
            Arc::new(role_index(view))
        };
        // Users depend on roles too (a role shadows a user).
        let users = if same_roles && Arc::ptr_eq(&view.users, &from_view.users) {
            Arc::clone(&from.users)
        } else {
            Arc::new(user_index(view, &roles))
        };
        Index { roles, users }
    }
}

/// Roles: kept by their ARN without case, a later entry replacing an earlier.
fn role_index(view: &MapView) -> KeyIndex {
    let roles = &view.roles.entries;
    let mut by_hash = ByHash::with_capacity_and_hasher(roles.len(), BuildHasherDefault::default());
    let mut standing: Vec<Standing> = Vec::with_capacity(roles.len());
    let mut replaced = Vec::new();
    for (i, e) in roles.iter().enumerate() {
        let arn: &str = &e.value.rolearn;
        if e.value.sso.is_some() {
            standing.push(Standing::FeatureGated);
            continue;
        }
        standing.push(matchable(arn));
        match by_hash.entry(nocase_hash(arn)) {
            Entry::Vacant(v) => {
                v.insert(Ids::One(i));
            }
            Entry::Occupied(mut o) => {
                let same = o
                    .get()
                    .as_slice()
                    .iter()
                    .position(|&j| roles[j].value.rolearn.eq_ignore_ascii_case(arn));
                match same {
                    Some(k) => replaced.push(o.get_mut().replace(k, i)),
                    None => o.get_mut().push(i),
                }
            }
        }
    }
    // Which entry finally won is looked up only for the replaced, which are few.
    for j in replaced {
        let arn: &str = &roles[j].value.rolearn;
        let by = find(&by_hash, arn, |w| {
            roles[w].value.rolearn.eq_ignore_ascii_case(arn)
        })
        .unwrap_or(j);
        standing[j] = Standing::Replaced { by };
    }
    KeyIndex {
        standing,
        by_hash,
        has_admin: OnceLock::new(),
    }
}

/// Users: kept by their ARN as written (a later entry replacing an earlier);
/// looked up without case, after roles.
fn user_index(view: &MapView, roles: &KeyIndex) -> KeyIndex {
    let users = &view.users.entries;
    let role_entries = &view.roles.entries;
    let mut by_hash = ByHash::with_capacity_and_hasher(users.len(), BuildHasherDefault::default());
    let mut standing: Vec<Standing> = Vec::with_capacity(users.len());
    let mut replaced = Vec::new();
    for (i, e) in users.iter().enumerate() {
        let arn: &str = &e.value.userarn;
        let h = nocase_hash(arn);
        let shadow = roles.by_hash.get(&h).and_then(|ids| {
            ids.as_slice()
                .iter()
                .copied()
                .find(|&r| role_entries[r].value.rolearn.eq_ignore_ascii_case(arn))
        });
        standing.push(match shadow {
            Some(by) => Standing::ShadowedByRole { by },
            None => matchable(arn),
        });
        match by_hash.entry(h) {
            Entry::Vacant(v) => {
                v.insert(Ids::One(i));
            }
            Entry::Occupied(mut o) => {
                let same = o
                    .get()
                    .as_slice()
                    .iter()
                    .position(|&j| users[j].value.userarn == *arn);
                match same {
                    Some(k) => replaced.push(o.get_mut().replace(k, i)),
                    None => o.get_mut().push(i),
                }
            }
        }
    }
    for j in replaced {
        let arn: &str = &users[j].value.userarn;
        let by = find(&by_hash, arn, |w| users[w].value.userarn == *arn).unwrap_or(j);
        standing[j] = Standing::Replaced { by };
    }
    KeyIndex {
        standing,
        by_hash,
        has_admin: OnceLock::new(),
    }
}

/// The entry under `arn`'s hash that `is` accepts.
fn find(by_hash: &ByHash, arn: &str, is: impl Fn(usize) -> bool) -> Option<usize> {
    by_hash
        .get(&nocase_hash(arn))?
        .as_slice()
        .iter()
        .copied()
        .find(|&i| is(i))
}

/// The effective reading of a [`MapView`]: every entry's [`Standing`], and
/// lookups by caller. Built in one pass over the entries; a
/// [`Document`](crate::Document) keeps its own.
#[derive(Debug, Clone)]
pub struct Effective<'v> {
    view: &'v MapView,
    index: Index,
}

impl MapView {
    /// Which entry the authenticator uses for each principal; see
    /// [`effective`](crate::effective). [`Document::effective`](crate::Document::effective)
    /// keeps the result.
    pub fn effective(&self) -> Effective<'_> {
        Effective {
            view: self,
            index: Index::build(self),
        }
    }
}

impl<'v> Effective<'v> {
    pub(crate) fn with_index(view: &'v MapView, index: Index) -> Effective<'v> {
        Effective { view, index }
    }

    /// The reading of `view`, which an edit derived from this one's view:
    /// the tables of keys it shares are shared, not built again.
    pub fn derive<'w>(&self, view: &'w MapView) -> Effective<'w> {
        Effective {
            view,
            index: Index::derive(view, self.view, &self.index),
        }
    }

    /// The view this reading is of.
    pub fn view(&self) -> &'v MapView {
        self.view
    }

    /// The standing of a role or user entry (`None` for `mapAccounts` or an
    /// index past the end).
    pub fn standing(&self, key: DataKey, index: usize) -> Option<&Standing> {
        match key {
            DataKey::MapRoles => self.index.roles.standing.get(index),
            DataKey::MapUsers => self.index.users.standing.get(index),
            DataKey::MapAccounts => None,
        }
    }

    /// True when the entry answers for its principal.
    pub fn is_honoured(&self, key: DataKey, index: usize) -> bool {
        self.standing(key, index) == Some(&Standing::Honoured)
    }

    fn mapping(&self, key: DataKey, index: usize) -> Mapping<'v> {
        match key {
            DataKey::MapRoles => {
                let r = &self.view.roles.entries[index].value;
                Mapping {
                    key,
                    index,
                    arn: &r.rolearn,
                    username: &r.username,
                    groups: &r.groups,
                }
            }
            _ => {
                let u = &self.view.users.entries[index].value;
                Mapping {
                    key: DataKey::MapUsers,
                    index,
                    arn: &u.userarn,
                    username: &u.username,
                    groups: &u.groups,
                }
            }
        }
    }

    /// Every mapping the authenticator honours, roles first, in the order of
    /// the entries.
    pub fn mappings(&self) -> impl Iterator<Item = Mapping<'v>> + '_ {
        self.mappings_of(DataKey::MapRoles)
            .chain(self.mappings_of(DataKey::MapUsers))
    }

    /// The mappings of one key the authenticator honours, in order.
    pub fn mappings_of(&self, key: DataKey) -> impl Iterator<Item = Mapping<'v>> + '_ {
        let standing: &[Standing] = match key {
            DataKey::MapRoles => &self.index.roles.standing,
            DataKey::MapUsers => &self.index.users.standing,
            DataKey::MapAccounts => &[],
        };
        standing
            .iter()
            .enumerate()
            .filter(|(_, s)| **s == Standing::Honoured)
            .map(move |(i, _)| self.mapping(key, i))
    }

    /// The entries a winner replaced: earlier entries of the same principal,
    /// in order.
    pub fn replaced(&self, key: DataKey, winner: usize) -> Vec<usize> {
        let list = match key {
            DataKey::MapRoles => &self.index.roles.standing,
            DataKey::MapUsers => &self.index.users.standing,
            DataKey::MapAccounts => return Vec::new(),
        };
        list.iter()
            .enumerate()
            .filter(|(_, s)| **s == Standing::Replaced { by: winner })
            .map(|(i, _)| i)
            .collect()
    }

    /// What the authenticator does for a caller with this ARN (a session ARN
    /// is canonicalised first).
    pub fn resolve(&self, caller: &Arn) -> Resolved<'v> {
        let canonical = caller.canonical();
        let arn = canonical.to_string();
        if let Some(found) = self.answer(&arn) {
            return found;
        }
        if canonical.is_iam_principal()
            && let Some(index) = self
                .view
                .accounts
                .entries
                .iter()
                .position(|e| e.value == canonical.account())
        {
            return Resolved::Account {
                index,
                username: arn,
            };
        }
        Resolved::Unmapped
    }

    /// The role or user mapping a canonical ARN finds, as written (no
    /// canonicalisation, no accounts).
    fn answer(&self, arn: &str) -> Option<Resolved<'v>> {
        let roles = &self.view.roles.entries;
        let h = nocase_hash(arn);
        let role = self.index.roles.by_hash.get(&h).and_then(|ids| {
            ids.as_slice()
                .iter()
                .copied()
                .find(|&i| roles[i].value.rolearn.eq_ignore_ascii_case(arn))
        });
        if let Some(i) = role {
            return Some(Resolved::Mapping(self.mapping(DataKey::MapRoles, i)));
        }
        let users = &self.view.users.entries;
        let mut all: Vec<Mapping<'v>> = self
            .index
            .users
            .by_hash
            .get(&h)?
            .as_slice()
            .iter()
            .copied()
            .filter(|&i| users[i].value.userarn.eq_ignore_ascii_case(arn))
            .map(|i| self.mapping(DataKey::MapUsers, i))
            .collect();
        if all.is_empty() {
            return None;
        }
        // The caller's own spelling first: the likelier answer, and stable.
        all.sort_by_key(|m| m.arn != arn);
        Some(if all.len() == 1 {
            Resolved::Mapping(all.remove(0))
        } else {
            Resolved::Ambiguous(all)
        })
    }

    /// The role entry that answers for `arn` (compared without case).
    pub(crate) fn role_winner(&self, arn: &str) -> Option<usize> {
        let roles = &self.view.roles.entries;
        find(&self.index.roles.by_hash, arn, |i| {
            roles[i].value.rolearn.eq_ignore_ascii_case(arn)
        })
    }

    /// The user entries that answer for `arn` compared without case: one per
    /// spelling.
    pub(crate) fn user_winners<'a>(&'a self, arn: &'a str) -> impl Iterator<Item = usize> + 'a {
        let users = &self.view.users.entries;
        self.index
            .users
            .by_hash
            .get(&nocase_hash(arn))
            .map(Ids::as_slice)
            .unwrap_or_default()
            .iter()
            .copied()
            .filter(move |&i| users[i].value.userarn.eq_ignore_ascii_case(arn))
    }

    /// True when an honoured mapping of `key` grants `system:masters`
    /// (worked out once per key's table).
    pub fn has_admin(&self, key: DataKey) -> bool {
        let index = match key {
            DataKey::MapRoles => &self.index.roles,
            DataKey::MapUsers => &self.index.users,
            DataKey::MapAccounts => return false,
        };
        *index
            .has_admin
            .get_or_init(|| self.mappings_of(key).any(|m| m.is_admin()))
    }

    /// What the principal of an honoured mapping gets in this reading (used
    /// to compare two readings: the principal may be answered by another
    /// entry, or another key, or nothing).
    pub fn answer_for(&self, arn: &str) -> Resolved<'v> {
        self.answer(arn).unwrap_or(Resolved::Unmapped)
    }
}

/// `Honoured`, or why no caller can ever match `arn`.
fn matchable(arn: &str) -> Standing {
    match never_matches(arn) {
        None => Standing::Honoured,
        Some(reason) => Standing::NeverMatches { reason },
    }
}

/// Why no caller's canonical ARN can equal `arn` (compared without case), or
/// `None` when one can.
pub fn never_matches(arn: &str) -> Option<String> {
    if plain_principal(arn) {
        return None;
    }
    // The comparison ignores case, so the check does too.
    let lower;
    let text = if arn.bytes().any(|b| b.is_ascii_uppercase()) {
        lower = arn.to_ascii_lowercase();
        lower.as_str()
    } else {
        arn
    };
    match text.parse::<Arn>() {
        Err(e) => Some(format!("{e}")),
        Ok(a) if a.kind() == PrincipalKind::AssumedRole => Some(
            "it is a role session ARN, and callers are compared as their role (arn:...:iam::ACCOUNT:role/NAME)".to_owned(),
        ),
        Ok(a) if a.kind() == PrincipalKind::Role && a.has_path() => Some(format!(
            "it is a role ARN with the IAM path {}, and a role's sessions are compared without their path",
            a.path()
        )),
        Ok(_) => None,
    }
}

/// The bytes of an IAM role or user name (`[\w+=,.@-]`).
const NAME_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = crate::arn::is_name_byte(b);
        c += 1;
    }
    t
};

/// `arn:PARTITION:iam::ACCOUNT:role/NAME` or `user/NAME`, any case, no path,
/// nothing odd in the name: nearly every entry, recognised without parsing.
fn plain_principal(arn: &str) -> bool {
    // Byte by byte: the library's case-folding compare costs more than these
    // few bytes.
    fn is(a: &[u8], lower: &[u8]) -> bool {
        a.len() == lower.len()
            && a.iter()
                .zip(lower)
                .all(|(x, y)| x.to_ascii_lowercase() == *y)
    }
    let b = arn.as_bytes();
    if b.len() < 4 || !is(&b[..4], b"arn:") {
        return false;
    }
    let rest = &b[4..];
    let Some(colon) = rest.iter().take(12).position(|&c| c == b':') else {
        return false;
    };
    let partition = &rest[..colon];
    if !is(partition, b"aws")
        && !crate::arn::Partition::ALL
            .iter()
            .any(|p| is(partition, p.as_str().as_bytes()))
    {
        return false;
    }
    // iam::DDDDDDDDDDDD:role/ and at least one byte of name.
    let rest = &rest[colon + 1..];
    if rest.len() < 24
        || !is(&rest[..5], b"iam::")
        || rest[17] != b':'
        || !rest[5..17].iter().all(u8::is_ascii_digit)
    {
        return false;
    }
    let kind = &rest[18..23];
    (is(kind, b"role/") || is(kind, b"user/"))
        && rest.len() - 23 <= crate::arn::MAX_NAME
        && rest[23..].iter().all(|&c| NAME_BYTE[usize::from(c)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Document;

    fn doc() -> Document {
        Document::from_data([
            (
                "mapRoles",
                concat!(
                    "- rolearn: arn:aws:iam::111122223333:role/Nodes\n",
                    "  username: system:node:{{EC2PrivateDNSName}}\n",
                    "  groups: [system:bootstrappers, system:nodes]\n",
                    "- rolearn: arn:aws:iam::111122223333:role/Dev\n  username: old\n",
                    "- rolearn: arn:aws:iam::111122223333:role/dev\n  username: dev\n",
                    "- rolearn: arn:aws:iam::111122223333:role/team/Path\n  username: p\n  groups: [system:masters]\n",
                    "- rolearn: arn:aws:iam::111122223333:role/teams/*\n  username: w\n",
                    "- rolearn: arn:aws:sts::111122223333:assumed-role/A/s\n  username: s\n",
                    "- sso: {permissionSetName: Admin, accountID: \"111122223333\"}\n  username: sso\n",
                    "- rolearn: arn:aws:iam::111122223333:user/alsoRole\n  username: ur\n",
                ),
            ),
            (
                "mapUsers",
                concat!(
                    "- userarn: arn:aws:iam::111122223333:user/Alice\n  username: a1\n",
                    "- userarn: arn:aws:iam::111122223333:user/alice\n  username: a2\n",
                    "- userarn: arn:aws:iam::111122223333:user/alice\n  username: a3\n",
                    "- userarn: arn:aws:iam::111122223333:user/alsorole\n  username: shadowed\n",
                    "- userarn: arn:aws:iam:us-east-1:111122223333:user/r\n  username: r\n",
                ),
            ),
            ("mapAccounts", "- \"444455556666\"\n"),
        ])
    }

    #[test]
    fn every_entry_has_its_standing() {
        let d = doc();
        let e = d.view().effective();
        let roles: Vec<&Standing> = (0..8)
            .map(|i| e.standing(DataKey::MapRoles, i).unwrap())
            .collect();
        assert_eq!(roles[0], &Standing::Honoured);
        assert_eq!(roles[1], &Standing::Replaced { by: 2 });
        assert_eq!(roles[2], &Standing::Honoured);
        for i in [3, 4, 5] {
            assert!(
                matches!(roles[i], Standing::NeverMatches { .. }),
                "{i}: {:?}",
                roles[i]
            );
        }
        assert_eq!(roles[6], &Standing::FeatureGated);
        assert_eq!(roles[7], &Standing::Honoured);
        let users: Vec<&Standing> = (0..5)
            .map(|i| e.standing(DataKey::MapUsers, i).unwrap())
            .collect();
        assert_eq!(users[0], &Standing::Honoured);
        assert_eq!(users[1], &Standing::Replaced { by: 2 });
        assert_eq!(users[2], &Standing::Honoured);
        assert_eq!(users[3], &Standing::ShadowedByRole { by: 7 });
        assert!(matches!(users[4], Standing::NeverMatches { .. }));
        let honoured: Vec<(DataKey, usize)> = e.mappings().map(|m| (m.key, m.index)).collect();
        assert_eq!(
            honoured,
            [
                (DataKey::MapRoles, 0),
                (DataKey::MapRoles, 2),
                (DataKey::MapRoles, 7),
                (DataKey::MapUsers, 0),
                (DataKey::MapUsers, 2)
            ]
        );
        assert_eq!(e.replaced(DataKey::MapUsers, 2), [1]);
    }

    #[test]
    fn callers_resolve_as_the_authenticator_looks_them_up() {
        let d = doc();
        let e = d.view().effective();
        let arn = |s: &str| s.parse::<Arn>().unwrap();
        let Resolved::Mapping(m) = e.resolve(&arn("arn:aws:sts::111122223333:assumed-role/DEV/x"))
        else {
            panic!()
        };
        assert_eq!((m.key, m.index, m.username), (DataKey::MapRoles, 2, "dev"));
        // A role with a path is compared without it, and its mapping never matches.
        assert_eq!(
            e.resolve(&arn("arn:aws:iam::111122223333:role/team/Path")),
            Resolved::Unmapped
        );
        let Resolved::Ambiguous(all) = e.resolve(&arn("arn:aws:iam::111122223333:user/alice"))
        else {
            panic!()
        };
        assert_eq!(
            all.iter().map(|m| m.username).collect::<Vec<_>>(),
            ["a3", "a1"]
        );
        let Resolved::Mapping(m) = e.resolve(&arn("arn:aws:iam::111122223333:user/alsoRole"))
        else {
            panic!()
        };
        assert_eq!(m.key, DataKey::MapRoles);
        assert!(matches!(
            e.resolve(&arn("arn:aws:iam::444455556666:user/carol")),
            Resolved::Account { index: 0, ref username } if username == "arn:aws:iam::444455556666:user/carol"
        ));
        assert_eq!(
            e.resolve(&arn("arn:aws:iam::999999999999:user/x")),
            Resolved::Unmapped
        );
    }

    #[test]
    fn never_matching_arns_say_why() {
        for (arn, want) in [
            ("arn:aws:iam::111122223333:role/a/B", Some("path")),
            ("ARN:AWS:IAM::111122223333:ROLE/B", None),
            (
                "arn:aws-us-gov:iam::111122223333:role/a.b@c+d=e,f_g-h",
                None,
            ),
            ("arn:aws:iam::111122223333:role/", Some("no name")),
            ("arn:aws:iam::111122223333:root", None),
            ("arn:aws:iam::111122223333:user/a/B", None),
            ("arn:aws:iam::11112222333:role/B", Some("12 digits")),
            ("arn:aws:iam::111122223333:role/*", Some("wildcard")),
            (
                "arn:aws:sts::111122223333:assumed-role/B/s",
                Some("session"),
            ),
            ("<role>", Some("placeholder")),
            (
                "arn:aws:iam::111122223333:role/${var.admin_role}",
                Some("no IAM principal can have"),
            ),
            (
                "arn:aws:iam::111122223333:role/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                Some("65 characters"),
            ),
            (" arn:aws:iam::111122223333:role/B", Some("white space")),
        ] {
            let got = never_matches(arn);
            match want {
                None => assert_eq!(got, None, "{arn}"),
                Some(w) => assert!(
                    got.as_deref().is_some_and(|g| g.contains(w)),
                    "{arn}: {got:?}"
                ),
            }
        }
    }
}
