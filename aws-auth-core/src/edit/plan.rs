//! Applying operations to the reader's view: which entries an edit removes,
//! rewrites or appends, and what the view must look like afterwards.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Change, EditError, GroupsChange, MappingSpec, Op};
use crate::arn::{Arn, PrincipalKind};
use crate::document::Document;
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
    if parsed.has_path() {
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
    check_groups(&spec.groups, op)
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

    fn remove_where(&mut self, pred: impl Fn(&T) -> bool) -> usize {
        let before = self.list.len();
        let mut removed_new = Vec::new();
        self.list.retain(|(origin, v)| {
            if !pred(v) {
                return true;
            }
            match origin {
                Origin::Old(i) => {
                    self.plan.fates.insert(*i, Fate::Remove);
                }
                Origin::New(n) => removed_new.push(*n),
            }
            false
        });
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
        before - self.list.len()
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

/// Builds the plan and the view the edit must produce.
pub(crate) fn plan(doc: &Document, ops: &[Op]) -> Result<(Plan, MapView), EditError> {
    let view = doc.view();
    let mut roles = Lazy::new(&view.roles);
    let mut users = Lazy::new(&view.users);
    let mut accounts = Lazy::new(&view.accounts);
    let mut changes = Vec::new();

    for (op_index, op) in ops.iter().enumerate() {
        let key = op.key();
        if let Some(key) = key
            && let KeyState::Unreadable { message, offset } = view.state(key)
        {
            return Err(EditError::Unreadable {
                key,
                message: message.clone(),
                position: doc.position(key, *offset),
            });
        }
        match op {
            Op::AddRole(spec) => {
                principal(&spec.arn, PrincipalKind::Role, op_index)?;
                check_spec(spec, op_index)?;
                let existing = roles
                    .get()
                    .list
                    .iter()
                    .rev()
                    .find(|(_, r)| r.rolearn.eq_ignore_ascii_case(&spec.arn));
                match existing {
                    Some((_, r))
                        if r.username == spec.username
                            && r.groups == spec.groups
                            && r.sso.is_none() =>
                    {
                        changes.push(Change::Unchanged {
                            op: op_index,
                            what: format!("role {} is already mapped this way", spec.arn),
                        });
                    }
                    Some((origin, r)) => {
                        return Err(EditError::Conflict {
                            op: op_index,
                            message: format!(
                                "role {} is already mapped{} (username {:?}, groups {:?}); use update to change it",
                                spec.arn,
                                origin_line(doc, DataKey::MapRoles, *origin),
                                r.username,
                                r.groups
                            ),
                        });
                    }
                    None => {
                        roles.get().plan.new.push(NewItem {
                            arn: spec.arn.clone(),
                            username: spec.username.clone(),
                            groups: spec.groups.clone(),
                        });
                        let n = roles.get().plan.new.len() - 1;
                        roles.get().list.push((
                            Origin::New(n),
                            RoleMapping {
                                rolearn: spec.arn.as_str().into(),
                                username: spec.username.as_str().into(),
                                groups: spec.groups.iter().map(Text::from).collect(),
                                ..RoleMapping::default()
                            },
                        ));
                        changes.push(Change::Added {
                            op: op_index,
                            key: DataKey::MapRoles,
                            principal: spec.arn.clone(),
                        });
                    }
                }
            }
            Op::AddUser(spec) => {
                principal(&spec.arn, PrincipalKind::User, op_index)?;
                check_spec(spec, op_index)?;
                let existing = users
                    .get()
                    .list
                    .iter()
                    .rev()
                    .find(|(_, u)| u.userarn.eq_ignore_ascii_case(&spec.arn));
                match existing {
                    Some((_, u))
                        if u.userarn == spec.arn
                            && u.username == spec.username
                            && u.groups == spec.groups =>
                    {
                        changes.push(Change::Unchanged {
                            op: op_index,
                            what: format!("user {} is already mapped this way", spec.arn),
                        });
                    }
                    Some((origin, u)) => {
                        return Err(EditError::Conflict {
                            op: op_index,
                            message: format!(
                                "user {} is already mapped{} as {} (username {:?}, groups {:?}); use update to change it",
                                spec.arn,
                                origin_line(doc, DataKey::MapUsers, *origin),
                                u.userarn,
                                u.username,
                                u.groups
                            ),
                        });
                    }
                    None => {
                        users.get().plan.new.push(NewItem {
                            arn: spec.arn.clone(),
                            username: spec.username.clone(),
                            groups: spec.groups.clone(),
                        });
                        let n = users.get().plan.new.len() - 1;
                        users.get().list.push((
                            Origin::New(n),
                            UserMapping {
                                userarn: spec.arn.as_str().into(),
                                username: spec.username.as_str().into(),
                                groups: spec.groups.iter().map(Text::from).collect(),
                                ..UserMapping::default()
                            },
                        ));
                        changes.push(Change::Added {
                            op: op_index,
                            key: DataKey::MapUsers,
                            principal: spec.arn.clone(),
                        });
                    }
                }
            }
            Op::UpdateRole {
                arn,
                username,
                groups,
            }
            | Op::UpdateUser {
                arn,
                username,
                groups,
            } => {
                let is_role = matches!(op, Op::UpdateRole { .. });
                if let Some(u) = username {
                    check_name("the username", u, op_index, false)?;
                }
                if let GroupsChange::Replace(g) | GroupsChange::Append(g) = groups {
                    check_groups(g, op_index)?;
                }
                let (key, found) = if is_role {
                    let pos = roles
                        .get()
                        .list
                        .iter()
                        .rposition(|(_, r)| r.rolearn.eq_ignore_ascii_case(arn));
                    (
                        DataKey::MapRoles,
                        pos.map(|p| {
                            update(roles.get(), p, username, groups, |r| {
                                (&mut r.username, &mut r.groups)
                            })
                        }),
                    )
                } else {
                    let pos = users
                        .get()
                        .list
                        .iter()
                        .rposition(|(_, u)| u.userarn.eq_ignore_ascii_case(arn));
                    (
                        DataKey::MapUsers,
                        pos.map(|p| {
                            update(users.get(), p, username, groups, |u| {
                                (&mut u.username, &mut u.groups)
                            })
                        }),
                    )
                };
                match found {
                    None => {
                        return Err(EditError::NotFound {
                            op: op_index,
                            message: format!(
                                "{} {arn} is not mapped in {key}",
                                if is_role { "role" } else { "user" }
                            ),
                        });
                    }
                    Some(false) => changes.push(Change::Unchanged {
                        op: op_index,
                        what: format!("{arn} already has that username and those groups"),
                    }),
                    Some(true) => changes.push(Change::Updated {
                        op: op_index,
                        key,
                        principal: arn.clone(),
                    }),
                }
            }
            Op::RemoveRole { arn } => {
                let n = roles
                    .get()
                    .remove_where(|r| r.rolearn.eq_ignore_ascii_case(arn));
                if n == 0 {
                    return Err(EditError::NotFound {
                        op: op_index,
                        message: format!("role {arn} is not mapped in mapRoles"),
                    });
                }
                changes.push(Change::Removed {
                    op: op_index,
                    key: DataKey::MapRoles,
                    principal: arn.clone(),
                    count: n,
                });
            }
            Op::RemoveUser { arn } => {
                let n = users
                    .get()
                    .remove_where(|u| u.userarn.eq_ignore_ascii_case(arn));
                if n == 0 {
                    return Err(EditError::NotFound {
                        op: op_index,
                        message: format!("user {arn} is not mapped in mapUsers"),
                    });
                }
                changes.push(Change::Removed {
                    op: op_index,
                    key: DataKey::MapUsers,
                    principal: arn.clone(),
                    count: n,
                });
            }
            Op::RemoveUsername { username } => {
                if username.is_empty() {
                    return Err(EditError::invalid(op_index, "refusing to remove by an empty username: it would match every entry without one".to_owned()));
                }
                for key in [DataKey::MapRoles, DataKey::MapUsers] {
                    if let KeyState::Unreadable { message, offset } = view.state(key) {
                        return Err(EditError::Unreadable {
                            key,
                            message: message.clone(),
                            position: doc.position(key, *offset),
                        });
                    }
                }
                let r = roles.get().remove_where(|r| &r.username == username);
                let u = users.get().remove_where(|x| &x.username == username);
                if r + u == 0 {
                    return Err(EditError::NotFound {
                        op: op_index,
                        message: format!("no mapping has the username {username:?}"),
                    });
                }
                if r > 0 {
                    changes.push(Change::Removed {
                        op: op_index,
                        key: DataKey::MapRoles,
                        principal: format!("username {username}"),
                        count: r,
                    });
                }
                if u > 0 {
                    changes.push(Change::Removed {
                        op: op_index,
                        key: DataKey::MapUsers,
                        principal: format!("username {username}"),
                        count: u,
                    });
                }
            }
            Op::AddAccount(id) => {
                check_account(id, op_index)?;
                if accounts.get().list.iter().any(|(_, a)| a == id) {
                    changes.push(Change::Unchanged {
                        op: op_index,
                        what: format!("account {id} is already mapped"),
                    });
                } else {
                    accounts.get().plan.new.push(NewItem {
                        arn: id.clone(),
                        username: String::new(),
                        groups: Vec::new(),
                    });
                    let n = accounts.get().plan.new.len() - 1;
                    accounts.get().list.push((Origin::New(n), id.clone()));
                    changes.push(Change::Added {
                        op: op_index,
                        key: DataKey::MapAccounts,
                        principal: id.clone(),
                    });
                }
            }
            Op::RemoveAccount(id) => {
                let n = accounts.get().remove_where(|a| a == id);
                if n == 0 {
                    return Err(EditError::NotFound {
                        op: op_index,
                        message: format!("account {id} is not in mapAccounts"),
                    });
                }
                changes.push(Change::Removed {
                    op: op_index,
                    key: DataKey::MapAccounts,
                    principal: id.clone(),
                    count: n,
                });
            }
        }
    }

    let (roles, expected_roles) = roles.finish();
    let (users, expected_users) = users.finish();
    let (accounts, expected_accounts) = accounts.finish();
    let expected = MapView {
        roles: expected_roles,
        users: expected_users,
        accounts: expected_accounts,
    };
    Ok((
        Plan {
            roles,
            users,
            accounts,
            changes,
        },
        expected,
    ))
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
