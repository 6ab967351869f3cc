//! Applying operations to the reader's view: which entries an edit removes,
//! rewrites or appends, and what the view must look like afterwards.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Cause, Change, EditError, GroupsChange, MappingSpec, Op, SyncSpec};
use crate::arn::{Arn, PrincipalKind};
use crate::document::Document;
use crate::effective::{same_groups, same_principal};
use crate::guard::{Guard, GuardKind};
use crate::model::{DataKey, Entry, KeyState, KeyView, MapView, RoleMapping, UserMapping};
use crate::template;
use crate::text::Text;

/// What happens to one existing entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fate {
    Keep,
    Remove,
    /// Rewrite username and/or groups (`None`: unchanged).
    Update {
        username: Option<String>,
        groups: Option<Vec<String>>,
    },
}

/// A new entry to append (roles and users), or account.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NewItem {
    pub(crate) arn: String,
    pub(crate) username: String,
    pub(crate) groups: Vec<String>,
    /// Fields after the others, as `name: value`.
    pub(crate) extra: Vec<(String, String)>,
}

impl From<&MappingSpec> for NewItem {
    fn from(spec: &MappingSpec) -> NewItem {
        NewItem {
            arn: spec.arn.clone(),
            username: spec.username.clone(),
            groups: spec.groups.clone(),
            extra: spec
                .extra
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}

/// The plan for one key: a fate per existing entry (by view entry index) and the
/// items to append.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct KeyPlan {
    /// Entries that change, by view entry index; the others are kept.
    pub(crate) fates: BTreeMap<usize, Fate>,
    pub(crate) new: Vec<NewItem>,
}

impl KeyPlan {
    pub(crate) fn is_noop(&self) -> bool {
        self.new.is_empty() && self.fates.values().all(|f| *f == Fate::Keep)
    }
}

/// The whole plan.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    pub(crate) roles: KeyPlan,
    pub(crate) users: KeyPlan,
    pub(crate) accounts: KeyPlan,
    pub(crate) changes: Vec<Change>,
    /// Guards only the operations can judge (a sync knows whose entries are
    /// whose; the map's before and after do not).
    pub(crate) guards: Vec<Guard>,
}

impl Plan {
    pub(crate) fn key(&self, key: DataKey) -> &KeyPlan {
        match key {
            DataKey::MapRoles => &self.roles,
            DataKey::MapUsers => &self.users,
            DataKey::MapAccounts => &self.accounts,
        }
    }
}

/// Checks an ARN given for a role or user mapping.
fn principal(arn: &str, want: PrincipalKind, op: usize) -> Result<Arn, EditError> {
    let parsed: Arn = arn
        .parse()
        .map_err(|e| EditError::invalid(op, format!("{e}")))?;
    let what = if want == PrincipalKind::Role {
        "role"
    } else {
        "user"
    };
    match parsed.kind() {
        k if k == want => {}
        PrincipalKind::AssumedRole if want == PrincipalKind::Role => {
            return Err(EditError::invalid(
                op,
                format!(
                    "{arn} is a role session; map the role itself: {}",
                    parsed.canonical()
                ),
            ));
        }
        k => {
            return Err(EditError::invalid(
                op,
                format!("{arn} is an IAM {}, not a {what} ARN", k.as_str()),
            ));
        }
    }
    // Only a role loses its path: callers arrive as sessions of the role,
    // whose ARNs carry none; STS names a user with its path, and the
    // authenticator compares user ARNs as written.
    if parsed.has_path() && want == PrincipalKind::Role {
        return Err(EditError::invalid(
            op,
            format!(
                "{arn} has the IAM path {}; the authenticator never matches role ARNs with a path, write {}",
                parsed.path(),
                parsed.without_path()
            ),
        ));
    }
    Ok(parsed)
}

fn check_name(what: &str, value: &str, op: usize, allow_empty: bool) -> Result<(), EditError> {
    if value.is_empty() && !allow_empty {
        return Err(EditError::invalid(op, format!("{what} must not be empty")));
    }
    if value.trim() != value {
        return Err(EditError::invalid(
            op,
            format!("{what} {value:?} has leading or trailing white space"),
        ));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(EditError::invalid(
            op,
            format!("{what} {value:?} contains a control character"),
        ));
    }
    if let Some(problem) = template::unknown(value).into_iter().next() {
        return Err(EditError::invalid(
            op,
            format!("{what} {value:?}: {problem}"),
        ));
    }
    Ok(())
}

fn check_spec(spec: &MappingSpec, op: usize) -> Result<(), EditError> {
    check_name("the username", &spec.username, op, false)?;
    check_groups(&spec.groups, op)?;
    for (name, value) in &spec.extra {
        // The authenticator matches field names without regard to case: an
        // extra field named like one of its own would be read as it.
        if ["rolearn", "userarn", "username", "groups", "userid", "sso"]
            .iter()
            .any(|f| crate::yaml::json::go_fold_eq(name, f))
            || name.is_empty()
        {
            return Err(EditError::invalid(
                op,
                format!(
                    "the extra field {name:?} would be read as one of the mapping's own fields"
                ),
            ));
        }
        check_name(&format!("the extra field {name}"), value, op, true)?;
    }
    Ok(())
}

fn check_groups(groups: &[String], op: usize) -> Result<(), EditError> {
    for g in groups {
        check_name("a group", g, op, false)?;
        if g.contains(" - ") {
            return Err(EditError::invalid(
                op,
                format!("the group {g:?} looks like two groups folded into one"),
            ));
        }
    }
    Ok(())
}

fn check_account(id: &str, op: usize) -> Result<(), EditError> {
    if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EditError::invalid(
            op,
            format!("the account ID {id:?} is not 12 digits"),
        ));
    }
    Ok(())
}

/// A mutable list of (origin, value) pairs: origin is an existing view entry or
/// a new item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Old(usize),
    New(usize),
}

struct Working<T> {
    list: Vec<(Origin, T)>,
    plan: KeyPlan,
}

impl<T: Clone> Working<T> {
    fn from_view(view: &KeyView<T>) -> Self {
        // Room for a few additions without copying a long list to grow it.
        let mut list = Vec::with_capacity(view.entries.len() + 16);
        list.extend(
            view.entries
                .iter()
                .enumerate()
                .map(|(i, e)| (Origin::Old(i), e.value.clone())),
        );
        Working {
            list,
            plan: KeyPlan::default(),
        }
    }

    /// Removes the items at these positions of the list, in one pass;
    /// returns them.
    fn remove_positions(&mut self, positions: &std::collections::HashSet<usize>) -> Vec<T> {
        let mut i = 0;
        self.remove_where(|_| {
            let hit = positions.contains(&i);
            i += 1;
            hit
        })
    }

    /// Removes the items `pred` picks, in one pass; returns them.
    fn remove_where(&mut self, mut pred: impl FnMut(&T) -> bool) -> Vec<T> {
        let mut removed = Vec::new();
        let mut removed_new = Vec::new();
        let mut kept = Vec::with_capacity(self.list.len());
        for (origin, v) in std::mem::take(&mut self.list) {
            if !pred(&v) {
                kept.push((origin, v));
                continue;
            }
            match origin {
                Origin::Old(i) => {
                    self.plan.fates.insert(i, Fate::Remove);
                }
                Origin::New(n) => removed_new.push(n),
            }
            removed.push(v);
        }
        self.list = kept;
        // New items are dropped from the plan; later indices shift down.
        removed_new.sort_unstable();
        for n in removed_new.into_iter().rev() {
            self.plan.new.remove(n);
            for (origin, _) in &mut self.list {
                if let Origin::New(m) = origin
                    && *m > n
                {
                    *m -= 1;
                }
            }
        }
        removed
    }
}

/// A key's working list, copied from the view only when an operation touches it.
struct Lazy<'v, T> {
    view: &'v Arc<KeyView<T>>,
    inner: Option<Working<T>>,
}

impl<'v, T: Clone> Lazy<'v, T> {
    fn new(view: &'v Arc<KeyView<T>>) -> Self {
        Lazy { view, inner: None }
    }

    fn get(&mut self) -> &mut Working<T> {
        let view = self.view;
        self.inner.get_or_insert_with(|| Working::from_view(view))
    }

    /// The key's plan and the view it must read as afterwards.
    fn finish(self) -> (KeyPlan, Arc<KeyView<T>>) {
        match self.inner {
            None => (KeyPlan::default(), Arc::clone(self.view)),
            Some(w) => {
                let expected = expected_view(self.view, w.list);
                (w.plan, Arc::new(expected))
            }
        }
    }
}

fn groups_after(current: &[Text], change: &GroupsChange) -> Vec<String> {
    match change {
        GroupsChange::Keep => current.iter().map(String::from).collect(),
        GroupsChange::Replace(g) => g.clone(),
        GroupsChange::Append(g) => {
            let mut out: Vec<String> = current.iter().map(String::from).collect();
            for x in g {
                if !out.contains(x) {
                    out.push(x.clone());
                }
            }
            out
        }
    }
}

/// A spec's extra fields as the reader holds them.
fn extra_values(spec: &MappingSpec) -> BTreeMap<String, serde_json::Value> {
    spec.extra
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect()
}

/// A role or a user mapping: what the operations on either need to know.
trait Mapped: Clone {
    const KEY: DataKey;
    const KIND: PrincipalKind;
    /// "role" or "user".
    const NOUN: &'static str;
    fn arn(&self) -> &str;
    fn from_spec(spec: &MappingSpec) -> Self;
    /// True when adding `spec` would change nothing.
    fn same_as(&self, spec: &MappingSpec) -> bool;
    /// How the existing mapping is described in a conflict.
    fn describe(&self) -> String;
    fn username_and_groups(&mut self) -> (&mut Text, &mut Vec<Text>);
    fn groups(&self) -> &[Text];
    fn extra(&self) -> &BTreeMap<String, serde_json::Value>;
    fn username(&self) -> &str;
}

impl Mapped for RoleMapping {
    const KEY: DataKey = DataKey::MapRoles;
    const KIND: PrincipalKind = PrincipalKind::Role;
    const NOUN: &'static str = "role";
    fn arn(&self) -> &str {
        &self.rolearn
    }
    fn from_spec(spec: &MappingSpec) -> Self {
        RoleMapping {
            rolearn: spec.arn.as_str().into(),
            username: spec.username.as_str().into(),
            groups: spec.groups.iter().map(Text::from).collect(),
            extra: extra_values(spec),
            ..RoleMapping::default()
        }
    }
    fn same_as(&self, spec: &MappingSpec) -> bool {
        self.username == spec.username
            && same_groups(&self.groups, &spec.groups)
            && self.sso.is_none()
    }
    fn describe(&self) -> String {
        format!("(username {:?}, groups {:?})", self.username, self.groups)
    }
    fn username_and_groups(&mut self) -> (&mut Text, &mut Vec<Text>) {
        (&mut self.username, &mut self.groups)
    }
    fn groups(&self) -> &[Text] {
        &self.groups
    }
    fn extra(&self) -> &BTreeMap<String, serde_json::Value> {
        &self.extra
    }
    fn username(&self) -> &str {
        &self.username
    }
}

impl Mapped for UserMapping {
    const KEY: DataKey = DataKey::MapUsers;
    const KIND: PrincipalKind = PrincipalKind::User;
    const NOUN: &'static str = "user";
    fn arn(&self) -> &str {
        &self.userarn
    }
    fn from_spec(spec: &MappingSpec) -> Self {
        UserMapping {
            userarn: spec.arn.as_str().into(),
            username: spec.username.as_str().into(),
            groups: spec.groups.iter().map(Text::from).collect(),
            extra: extra_values(spec),
            ..UserMapping::default()
        }
    }
    // User ARNs are stored as written: one that differs in case is another entry.
    fn same_as(&self, spec: &MappingSpec) -> bool {
        self.userarn == spec.arn
            && self.username == spec.username
            && same_groups(&self.groups, &spec.groups)
    }
    fn describe(&self) -> String {
        format!(
            "as {} (username {:?}, groups {:?})",
            self.userarn, self.username, self.groups
        )
    }
    fn username_and_groups(&mut self) -> (&mut Text, &mut Vec<Text>) {
        (&mut self.username, &mut self.groups)
    }
    fn groups(&self) -> &[Text] {
        &self.groups
    }
    fn extra(&self) -> &BTreeMap<String, serde_json::Value> {
        &self.extra
    }
    fn username(&self) -> &str {
        &self.username
    }
}

/// The working state of a plan: each key's list, copied on first touch, and
/// what each operation did.
struct Planner<'d> {
    doc: &'d Document,
    roles: Lazy<'d, RoleMapping>,
    users: Lazy<'d, UserMapping>,
    accounts: Lazy<'d, String>,
    changes: Vec<Change>,
    guards: Vec<Guard>,
}

impl<'d> Planner<'d> {
    fn new(doc: &'d Document) -> Self {
        let view = doc.view();
        Planner {
            doc,
            roles: Lazy::new(&view.roles),
            users: Lazy::new(&view.users),
            accounts: Lazy::new(&view.accounts),
            changes: Vec::new(),
            guards: Vec::new(),
        }
    }

    fn readable(&self, key: DataKey) -> Result<(), EditError> {
        match self.doc.view().state(key) {
            KeyState::Unreadable { message, offset } => Err(EditError::Unreadable {
                key,
                message: message.clone(),
                position: self.doc.position(key, *offset),
            }),
            _ => Ok(()),
        }
    }

    fn apply(&mut self, op_index: usize, op: &Op) -> Result<(), EditError> {
        if let Some(key) = op.key() {
            self.readable(key)?;
        }
        let doc = self.doc;
        let changes = &mut self.changes;
        match op {
            Op::AddRole(spec) => add(&mut self.roles, doc, spec, op_index, changes),
            Op::AddUser(spec) => add(&mut self.users, doc, spec, op_index, changes),
            Op::UpdateRole {
                arn,
                username,
                groups,
            } => update_mapping(&mut self.roles, arn, username, groups, op_index, changes),
            Op::UpdateUser {
                arn,
                username,
                groups,
            } => update_mapping(&mut self.users, arn, username, groups, op_index, changes),
            Op::RemoveRole { arn } => remove(&mut self.roles, arn, op_index, changes),
            Op::RemoveUser { arn } => remove(&mut self.users, arn, op_index, changes),
            Op::RemoveRoleMapping { arn, username } => {
                remove_exact(&mut self.roles, arn, username, op_index, changes)
            }
            Op::RemoveUserMapping { arn, username } => {
                remove_exact(&mut self.users, arn, username, op_index, changes)
            }
            Op::RemoveUsername { username } => self.remove_username(username, op_index),
            Op::Sync(spec) => self.sync(spec, op_index),
            Op::AddAccount(id) => self.add_account(id, op_index),
            Op::RemoveAccount(id) => self.remove_account(id, op_index),
        }
    }

    fn remove_username(&mut self, username: &str, op_index: usize) -> Result<(), EditError> {
        if username.is_empty() {
            return Err(EditError::invalid(
                op_index,
                "refusing to remove by an empty username: it would match every entry without one"
                    .to_owned(),
            ));
        }
        self.readable(DataKey::MapRoles)?;
        self.readable(DataKey::MapUsers)?;
        let r: Vec<String> = (self.roles.get())
            .remove_where(|r| r.username == username)
            .iter()
            .map(|m| m.rolearn.to_string())
            .collect();
        let u: Vec<String> = (self.users.get())
            .remove_where(|x| x.username == username)
            .iter()
            .map(|m| m.userarn.to_string())
            .collect();
        if r.is_empty() && u.is_empty() {
            return Err(EditError::NotFound {
                op: op_index,
                message: format!("no mapping has the username {username:?}"),
            });
        }
        for (key, arns) in [(DataKey::MapRoles, r), (DataKey::MapUsers, u)] {
            if !arns.is_empty() {
                let count = arns.len();
                self.changes.push(Change::removed(
                    op_index,
                    key,
                    arns,
                    count,
                    Cause::Requested,
                    Some(format!("username {username}")),
                ));
            }
        }
        Ok(())
    }

    fn sync(&mut self, spec: &SyncSpec, op_index: usize) -> Result<(), EditError> {
        check_name("the owner", &spec.owner, op_index, false)?;
        check_name("the marker", &spec.marker, op_index, false)?;
        let marked = |m: &MappingSpec| m.clone().with_extra(&spec.marker, &spec.owner);
        let roles: Vec<MappingSpec> = spec.roles.iter().map(marked).collect();
        let users: Vec<MappingSpec> = spec.users.iter().map(marked).collect();
        for (list, kind) in [(&roles, PrincipalKind::Role), (&users, PrincipalKind::User)] {
            for (i, m) in list.iter().enumerate() {
                principal(&m.arn, kind, op_index)?;
                check_spec(m, op_index)?;
                if list[..i].iter().any(|o| same_principal(&o.arn, &m.arn)) {
                    return Err(EditError::invalid(
                        op_index,
                        format!("{} is wanted twice", m.arn),
                    ));
                }
            }
        }
        self.readable(DataKey::MapRoles)?;
        self.readable(DataKey::MapUsers)?;
        let (roles_left, roles_pruned) =
            sync_key(&mut self.roles, &roles, spec, op_index, &mut self.changes);
        let (users_left, users_pruned) =
            sync_key(&mut self.users, &users, spec, op_index, &mut self.changes);
        let pruned = roles_pruned + users_pruned;
        if pruned > 0 && roles_left + users_left == 0 && !spec.prune_all {
            self.guards.push(Guard {
                kind: GuardKind::PruneAll,
                principal: None,
                position: None,
                message: format!(
                    "would remove every mapping {} has ({pruned}) and leave it none: a desired set that leaves its owner nothing is refused unless it says so (empty lists written out, or prune_all)",
                    spec.owner
                ),
            });
        }
        Ok(())
    }

    fn add_account(&mut self, id: &str, op_index: usize) -> Result<(), EditError> {
        check_account(id, op_index)?;
        let accounts = self.accounts.get();
        if accounts.list.iter().any(|(_, a)| a == id) {
            self.changes.push(Change::unchanged(
                op_index,
                DataKey::MapAccounts,
                id,
                format!("account {id} is already mapped"),
            ));
            return Ok(());
        }
        accounts.plan.new.push(NewItem {
            arn: id.to_owned(),
            username: String::new(),
            groups: Vec::new(),
            extra: Vec::new(),
        });
        let n = accounts.plan.new.len() - 1;
        accounts.list.push((Origin::New(n), id.to_owned()));
        self.changes.push(Change::added(
            op_index,
            DataKey::MapAccounts,
            id,
            Cause::Requested,
        ));
        Ok(())
    }

    fn remove_account(&mut self, id: &str, op_index: usize) -> Result<(), EditError> {
        let n = self.accounts.get().remove_where(|a| a == id).len();
        if n == 0 {
            return Err(EditError::NotFound {
                op: op_index,
                message: format!("account {id} is not in mapAccounts"),
            });
        }
        self.changes.push(Change::removed(
            op_index,
            DataKey::MapAccounts,
            vec![id.to_owned()],
            n,
            Cause::Requested,
            None,
        ));
        Ok(())
    }

    fn finish(self) -> (Plan, MapView) {
        let (roles, expected_roles) = self.roles.finish();
        let (users, expected_users) = self.users.finish();
        let (accounts, expected_accounts) = self.accounts.finish();
        (
            Plan {
                roles,
                users,
                accounts,
                changes: self.changes,
                guards: self.guards,
            },
            MapView {
                roles: expected_roles,
                users: expected_users,
                accounts: expected_accounts,
            },
        )
    }
}

/// Adds a role or user mapping, unless one of its ARN is there already (the
/// same: unchanged; another: a conflict).
fn add<T: Mapped>(
    state: &mut Lazy<'_, T>,
    doc: &Document,
    spec: &MappingSpec,
    op_index: usize,
    changes: &mut Vec<Change>,
) -> Result<(), EditError> {
    principal(&spec.arn, T::KIND, op_index)?;
    check_spec(spec, op_index)?;
    let working = state.get();
    let existing = working
        .list
        .iter()
        .rev()
        .find(|(_, m)| same_principal(m.arn(), &spec.arn));
    match existing {
        Some((_, m)) if m.same_as(spec) => {
            changes.push(Change::unchanged(
                op_index,
                T::KEY,
                &spec.arn,
                format!("{} {} is already mapped this way", T::NOUN, spec.arn),
            ));
            Ok(())
        }
        Some((origin, m)) => Err(EditError::Conflict {
            op: op_index,
            message: format!(
                "{} {} is already mapped{} {}; use update to change it",
                T::NOUN,
                spec.arn,
                origin_line(doc, T::KEY, *origin),
                m.describe()
            ),
        }),
        None => {
            working.plan.new.push(NewItem::from(spec));
            let n = working.plan.new.len() - 1;
            working.list.push((Origin::New(n), T::from_spec(spec)));
            changes.push(Change::added(op_index, T::KEY, &spec.arn, Cause::Requested));
            Ok(())
        }
    }
}

/// Changes the username or groups of the mapping the reader uses (the last).
fn update_mapping<T: Mapped>(
    state: &mut Lazy<'_, T>,
    arn: &str,
    username: &Option<String>,
    groups: &GroupsChange,
    op_index: usize,
    changes: &mut Vec<Change>,
) -> Result<(), EditError> {
    if let Some(u) = username {
        check_name("the username", u, op_index, false)?;
    }
    if let GroupsChange::Replace(g) | GroupsChange::Append(g) = groups {
        check_groups(g, op_index)?;
    }
    let working = state.get();
    let Some(pos) = working
        .list
        .iter()
        .rposition(|(_, m)| same_principal(m.arn(), arn))
    else {
        return Err(EditError::NotFound {
            op: op_index,
            message: format!("{} {arn} is not mapped in {}", T::NOUN, T::KEY),
        });
    };
    if update(working, pos, username, groups, T::username_and_groups) {
        changes.push(Change::updated(op_index, T::KEY, arn, Cause::Requested));
    } else {
        changes.push(Change::unchanged(
            op_index,
            T::KEY,
            arn,
            format!("{arn} already has that username and those groups"),
        ));
    }
    Ok(())
}

/// Removes every mapping of an ARN (duplicates included).
fn remove<T: Mapped>(
    state: &mut Lazy<'_, T>,
    arn: &str,
    op_index: usize,
    changes: &mut Vec<Change>,
) -> Result<(), EditError> {
    let removed = state.get().remove_where(|m| same_principal(m.arn(), arn));
    if removed.is_empty() {
        return Err(EditError::NotFound {
            op: op_index,
            message: format!("{} {arn} is not mapped in {}", T::NOUN, T::KEY),
        });
    }
    let arns: Vec<String> = removed.iter().map(|m| m.arn().to_owned()).collect();
    changes.push(Change::removed(
        op_index,
        T::KEY,
        arns,
        removed.len(),
        Cause::Requested,
        Some(arn.to_owned()),
    ));
    Ok(())
}

/// One key's part of a sync: `desired` already carries the marker; the
/// principals in `held` are left as they are. Returns how many entries the
/// owner has after it, and how many the prune removed. One pass to index
/// the entries by principal, one per desired mapping, one to remove: linear
/// in the map and the desired set.
fn sync_key<T: Mapped>(
    state: &mut Lazy<'_, T>,
    desired: &[MappingSpec],
    spec: &SyncSpec,
    op: usize,
    changes: &mut Vec<Change>,
) -> (usize, usize) {
    use std::collections::{HashMap, HashSet};
    let marker = |m: &T| {
        m.extra()
            .get(&spec.marker)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let owned = |m: &T| marker(m).as_deref() == Some(spec.owner.as_str());
    let held: HashSet<String> = spec.held.iter().map(|p| p.to_ascii_lowercase()).collect();
    let w = state.get();
    // Entries by principal, as the lookup finds them (without case).
    let mut by_principal: HashMap<String, Vec<usize>> = HashMap::with_capacity(w.list.len());
    for (pos, (_, m)) in w.list.iter().enumerate() {
        by_principal
            .entry(m.arn().to_ascii_lowercase())
            .or_default()
            .push(pos);
    }
    let mut gone: HashSet<usize> = HashSet::new();
    for want in desired {
        let principal = want.arn.to_ascii_lowercase();
        if held.contains(&principal) {
            continue;
        }
        let found: &[usize] = by_principal.get(&principal).map_or(&[], Vec::as_slice);
        let mine: Vec<usize> = found
            .iter()
            .copied()
            .filter(|&p| owned(&w.list[p].1))
            .collect();
        if let Some((&last, earlier)) = mine.split_last() {
            // Earlier duplicates of the owner's own entry go: the last is the
            // one the authenticator uses.
            gone.extend(earlier.iter().copied());
            if w.list[last].1.same_as(want) {
                changes.push(Change::unchanged(
                    op,
                    T::KEY,
                    &want.arn,
                    format!("{} {} is already mapped this way", T::NOUN, want.arn),
                ));
            } else {
                // Groups in another order are the same groups: kept as written.
                let groups = if same_groups(w.list[last].1.groups(), &want.groups) {
                    GroupsChange::Keep
                } else {
                    GroupsChange::Replace(want.groups.clone())
                };
                update(
                    w,
                    last,
                    &Some(want.username.clone()),
                    &groups,
                    T::username_and_groups,
                );
                changes.push(Change::updated(op, T::KEY, &want.arn, Cause::Wanted));
            }
            if !earlier.is_empty() {
                let arns = earlier
                    .iter()
                    .map(|&p| w.list[p].1.arn().to_owned())
                    .collect();
                changes.push(Change::removed(
                    op,
                    T::KEY,
                    arns,
                    earlier.len(),
                    Cause::Duplicate,
                    None,
                ));
            }
            continue;
        }
        let mut cause = Cause::Wanted;
        if let Some(&p) = found.iter().rev().find(|p| !gone.contains(p)) {
            let entry = &w.list[p].1;
            if !(spec.adopt && entry.same_as(want)) {
                let (why, whose) = match marker(entry) {
                    Some(other) => (Cause::OwnedByAnother, format!("{other}'s entry")),
                    None => (
                        Cause::NotOwned,
                        format!("an entry {} does not own", spec.owner),
                    ),
                };
                changes.push(Change::skipped(
                    op,
                    Some(T::KEY),
                    vec![want.arn.clone()],
                    why,
                    format!(
                        "{} {} is mapped by {whose}; not taking it over{}",
                        T::NOUN,
                        want.arn,
                        if spec.adopt {
                            " (it says something else)"
                        } else {
                            " (adopt would, if it said the same)"
                        }
                    ),
                ));
                continue;
            }
            // Adopted: written again with the marker.
            gone.insert(p);
            cause = Cause::Adopted;
        }
        w.plan.new.push(NewItem::from(want));
        let n = w.plan.new.len() - 1;
        w.list.push((Origin::New(n), T::from_spec(want)));
        changes.push(Change::added(op, T::KEY, &want.arn, cause));
    }
    let mut pruned = Vec::new();
    if spec.prune {
        let wanted: HashSet<String> = desired.iter().map(|d| d.arn.to_ascii_lowercase()).collect();
        for (pos, (_, m)) in w.list.iter().enumerate() {
            let principal = m.arn().to_ascii_lowercase();
            if owned(m)
                && !wanted.contains(&principal)
                && !held.contains(&principal)
                && gone.insert(pos)
            {
                pruned.push(m.arn().to_owned());
            }
        }
    }
    w.remove_positions(&gone);
    let pruned_count = pruned.len();
    if !pruned.is_empty() {
        let count = pruned.len();
        changes.push(Change::removed(
            op,
            T::KEY,
            pruned,
            count,
            Cause::NoLongerWanted,
            None,
        ));
    }
    let left = w.list.iter().filter(|(_, m)| owned(m)).count();
    (left, pruned_count)
}

/// Removes the mappings of an ARN with exactly this username.
fn remove_exact<T: Mapped>(
    state: &mut Lazy<'_, T>,
    arn: &str,
    username: &str,
    op_index: usize,
    changes: &mut Vec<Change>,
) -> Result<(), EditError> {
    let removed = state
        .get()
        .remove_where(|m| same_principal(m.arn(), arn) && m.username() == username);
    if removed.is_empty() {
        return Err(EditError::NotFound {
            op: op_index,
            message: format!(
                "no {} mapping of {arn} has the username {username:?}",
                T::NOUN
            ),
        });
    }
    let arns: Vec<String> = removed.iter().map(|m| m.arn().to_owned()).collect();
    changes.push(Change::removed(
        op_index,
        T::KEY,
        arns,
        removed.len(),
        Cause::Requested,
        Some(format!("{arn} ({username})")),
    ));
    Ok(())
}

/// Builds the plan and the view the edit must produce.
pub(crate) fn plan(doc: &Document, ops: &[Op]) -> Result<(Plan, MapView), EditError> {
    let mut planner = Planner::new(doc);
    for (op_index, op) in ops.iter().enumerate() {
        planner.apply(op_index, op)?;
    }
    Ok(planner.finish())
}

fn origin_line(doc: &Document, key: DataKey, origin: Origin) -> String {
    match origin {
        Origin::Old(i) => {
            if doc.view().state(key).eq(&KeyState::Read) {
                {
                    let at = match key {
                        DataKey::MapRoles => doc.view().roles.entries[i].span.start,
                        DataKey::MapUsers => doc.view().users.entries[i].span.start,
                        DataKey::MapAccounts => doc.view().accounts.entries[i].span.start,
                    };
                    format!(" at line {}", doc.position(key, at).line)
                }
            } else {
                Default::default()
            }
        }
        Origin::New(_) => " earlier in this edit".to_owned(),
    }
}

/// Applies an update to the entry at `pos`; `true` when anything changed.
fn update<T: Clone>(
    w: &mut Working<T>,
    pos: usize,
    username: &Option<String>,
    groups: &GroupsChange,
    fields: impl Fn(&mut T) -> (&mut Text, &mut Vec<Text>),
) -> bool {
    let (origin, value) = &mut w.list[pos];
    let (user, group_list) = fields(value);
    let new_user = username.clone().unwrap_or_else(|| user.to_string());
    let new_groups = groups_after(group_list, groups);
    if new_user == *user && new_groups == *group_list {
        return false;
    }
    let user_changed = new_user != *user;
    let groups_changed = new_groups != *group_list;
    *user = Text::from(&new_user);
    *group_list = new_groups.iter().map(Text::from).collect();
    match origin {
        Origin::Old(i) => {
            let (mut u, mut g) = match w.plan.fates.get(i).unwrap_or(&Fate::Keep) {
                Fate::Update { username, groups } => (username.clone(), groups.clone()),
                _ => (None, None),
            };
            if user_changed {
                u = Some(new_user);
            }
            if groups_changed {
                g = Some(new_groups);
            }
            w.plan.fates.insert(
                *i,
                Fate::Update {
                    username: u,
                    groups: g,
                },
            );
        }
        Origin::New(n) => {
            let item = &mut w.plan.new[*n];
            item.username = new_user;
            item.groups = new_groups;
        }
    }
    true
}

fn expected_view<T>(before: &KeyView<T>, list: Vec<(Origin, T)>) -> KeyView<T> {
    let mut view = KeyView::with_state(before.state.clone());
    if !list.is_empty() && view.state != KeyState::Read {
        view.state = KeyState::Read;
    }
    view.dropped = before.dropped.clone();
    view.entries = list
        .into_iter()
        .map(|(_, value)| Entry {
            value,
            index: 0,
            span: 0..0,
        })
        .collect();
    view
}
