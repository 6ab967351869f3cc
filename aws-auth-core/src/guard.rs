//! The guards: what no change of the map may do without being forced.
//!
//! A change is judged on the effective reading before and after it
//! ([`effective`](crate::effective)), whoever makes it: an edit, a restore, a
//! review of someone else's write. It trips a guard when
//! - a node, Fargate or Windows node role that the authenticator honoured gets
//!   another username or other groups, or none;
//! - a protected principal (the caller, the cluster creator, a break-glass
//!   role) is given something else than before;
//! - the last honoured mapping that grants `system:masters` goes.
//!
//! Entries the authenticator never uses (replaced by a later duplicate, shadowed
//! by a role, an ARN no caller can have, an unreadable key) count for nothing,
//! before as after.
//!
//! ```
//! use aws_auth_core::guard::{check, GuardKind};
//! use aws_auth_core::Document;
//!
//! let before = Document::from_data([(
//!     "mapRoles",
//!     "- rolearn: arn:aws:iam::111122223333:role/Admin\n  username: admin\n  groups: [system:masters]\n\
//!      - rolearn: arn:aws:iam::111122223333:role/team/Admin\n  username: admin\n  groups: [system:masters]\n",
//! )]);
//! // Only the mapping with an IAM path would be left: it never matches anyone.
//! let after = Document::from_data([(
//!     "mapRoles",
//!     "- rolearn: arn:aws:iam::111122223333:role/team/Admin\n  username: admin\n  groups: [system:masters]\n",
//! )]);
//! let tripped = check(&before, after.view(), &[]);
//! assert_eq!(tripped[0].kind, GuardKind::LastAdmin);
//! ```

use std::fmt;
use std::sync::Arc;

use crate::arn::Arn;
use crate::document::Document;
use crate::effective::{Mapping, NodeKind, Resolved};
use crate::model::{DataKey, MapView};
use crate::position::Position;

/// The safety net of an edit.
///
/// ```
/// use aws_auth_core::edit::Guards;
/// let guards = Guards::new().protect("arn:aws:iam::111122223333:role/BreakGlass".parse()?);
/// assert!(!guards.force && guards.protected.len() == 1);
/// # Ok::<(), aws_auth_core::arn::ArnError>(())
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Guards {
    /// Carry on despite the guards (they are reported in
    /// [`Edited::forced`](crate::edit::Edited::forced)); the same as
    /// [`GuardPolicy::Force`].
    pub force: bool,
    /// What a tripped guard does to the edit.
    pub policy: GuardPolicy,
    /// Principals whose mappings must not be removed or rewritten: the caller's
    /// own identity, the cluster creator's entry. Role sessions and role paths
    /// are canonicalised before comparing.
    pub protected: Vec<Arn>,
}

/// What a tripped guard does to an edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum GuardPolicy {
    /// Refuse the whole edit ([`EditError::Guarded`](crate::edit::EditError::Guarded)).
    #[default]
    Refuse,
    /// Leave out the operations that trip a guard, apply the rest, and report
    /// each one left out (a [`Change`](crate::edit::Change) with
    /// [`Cause::Guarded`](crate::edit::Cause::Guarded), and
    /// [`Edited::skipped`](crate::edit::Edited::skipped)): what a sync
    /// controller wants when one mapping of many is guarded. A sync is
    /// guarded entry by entry: the principals a guard names are left as they
    /// are and reported, and the rest of the sync goes through (a departed
    /// admin is still pruned while the owner's node role is held); a guard
    /// that names none of its principals ([`GuardKind::PruneAll`]) leaves
    /// the sync out whole.
    SkipGuarded,
    /// Carry on despite the guards.
    Force,
}

impl Guards {
    /// Every guard on, nothing protected beyond what the map itself needs.
    pub fn new() -> Guards {
        Guards::default()
    }

    /// What a tripped guard does ([`GuardPolicy`]).
    pub fn policy(mut self, policy: GuardPolicy) -> Guards {
        self.policy = policy;
        self
    }

    /// True when guards are reported, not obeyed.
    pub(crate) fn forcing(&self) -> bool {
        self.force || self.policy == GuardPolicy::Force
    }

    /// Carry on despite the guards ([`Guards::force`]).
    pub fn forced(mut self, force: bool) -> Guards {
        self.force = force;
        self
    }

    /// Protect a principal's mappings from removal or rewriting.
    pub fn protect(mut self, arn: Arn) -> Guards {
        self.protected.push(arn);
        self
    }

    /// The guards of one write to one map: these, and the principals the
    /// map's own [`PROTECTED_ANNOTATION`](crate::admission::PROTECTED_ANNOTATION)
    /// names (`annotation`, its value), and the writer itself when its
    /// identity is known: nobody edits away their own access by mistake.
    ///
    /// ```
    /// use aws_auth_core::edit::Guards;
    /// let me = "arn:aws:sts::111122223333:assumed-role/Ops/jane".parse()?;
    /// let guards = Guards::new().for_writer(
    ///     Some("arn:aws:iam::111122223333:role/BreakGlass"),
    ///     Some(me),
    /// );
    /// assert_eq!(guards.protected.len(), 2);
    /// # Ok::<(), aws_auth_core::arn::ArnError>(())
    /// ```
    pub fn for_writer(&self, annotation: Option<&str>, caller: Option<Arn>) -> Guards {
        let mut guards = self.clone();
        if let Some(value) = annotation {
            guards
                .protected
                .extend(crate::admission::protected_in(value));
        }
        guards.protected.extend(caller);
        guards
    }
}

/// Why a guard stopped a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum GuardKind {
    /// A node role (`system:node:...`, `system:nodes`, `system:bootstrappers`).
    NodeRole,
    /// A Fargate pod execution role.
    FargateRole,
    /// A Windows node role (`eks:kube-proxy-windows`).
    WindowsNodeRole,
    /// A principal the caller protected.
    Protected,
    /// The last mapping that grants `system:masters`.
    LastAdmin,
    /// A pruning sync that would remove every mapping its owner has
    /// ([`SyncSpec::prune_all`](crate::edit::SyncSpec::prune_all)).
    PruneAll,
}

impl GuardKind {
    fn of_node(kind: NodeKind) -> GuardKind {
        match kind {
            NodeKind::Linux => GuardKind::NodeRole,
            NodeKind::Windows => GuardKind::WindowsNodeRole,
            NodeKind::Fargate => GuardKind::FargateRole,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            GuardKind::NodeRole => "node role",
            GuardKind::FargateRole => "Fargate pod execution role",
            GuardKind::WindowsNodeRole => "Windows node role",
            GuardKind::Protected => "protected principal",
            GuardKind::LastAdmin => "last administrator",
            GuardKind::PruneAll => "owner's mappings",
        }
    }

    fn consequence(self) -> &'static str {
        match self {
            GuardKind::NodeRole => "nodes using this role would stop joining the cluster",
            GuardKind::FargateRole => "Fargate pods would stop being scheduled",
            GuardKind::WindowsNodeRole => "Windows nodes would stop joining or lose DNS",
            GuardKind::Protected => "the principal would lose its access",
            GuardKind::LastAdmin => "nobody could administer the cluster",
            GuardKind::PruneAll => "everyone the owner maps would lose access",
        }
    }
}

/// A guard a change trips.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Guard {
    /// What kind of guard.
    pub kind: GuardKind,
    /// The ARN of the mapping concerned (for the last administrator, the first
    /// of the administrators that would go).
    pub principal: Option<String>,
    /// Where that mapping is, before the change.
    pub position: Option<Position>,
    /// What would break.
    pub message: String,
}

impl Guard {
    /// The same guard for the same principal, wherever its mapping now sits
    /// (after another writer's change the line may differ).
    pub fn same_as(&self, other: &Guard) -> bool {
        self.kind == other.kind
            && match (&self.principal, &other.principal) {
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                (a, b) => a == b,
            }
    }
}

impl fmt::Display for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The guards a change from `before`'s reading to `after` trips, judged on
/// the effective readings of both. `protected` principals are compared as the
/// authenticator would look them up.
pub fn check(before: &Document, after: &MapView, protected: &[Arn]) -> Vec<Guard> {
    let old = before.effective();
    // An edit's result shares the keys it did not touch: their tables too.
    let new = old.derive(after);
    let view = before.view();
    let same_roles = Arc::ptr_eq(&view.roles, &after.roles);
    let same_users = same_roles && Arc::ptr_eq(&view.users, &after.users);
    if same_users && Arc::ptr_eq(&view.accounts, &after.accounts) {
        return Vec::new();
    }
    let position = |m: &Mapping<'_>| {
        let span = match m.key {
            DataKey::MapRoles => &view.roles.entries[m.index].span,
            _ => &view.users.entries[m.index].span,
        };
        before.position(m.key, span.start)
    };
    let mut out = Vec::new();
    // A principal a role answers for is answered the same while mapRoles is
    // the same (roles are looked up first); one a user answers for, while
    // both keys are.
    let keys: &[DataKey] = match (same_roles, same_users) {
        (true, true) => &[],
        (true, false) => &[DataKey::MapUsers],
        _ => &[DataKey::MapRoles, DataKey::MapUsers],
    };
    for &key in keys {
        for m in old.mappings_of(key) {
            let Some(kind) = m.node_kind() else { continue };
            let now = new.answer_for(m.arn);
            if same_grants(&Resolved::Mapping(m), &now) {
                continue;
            }
            let kind = GuardKind::of_node(kind);
            let at = position(&m);
            out.push(Guard {
                kind,
                principal: Some(m.arn.to_owned()),
                position: Some(at),
                message: format!(
                    "would {} the {} mapping of {} (line {}): {}",
                    verb(&now),
                    kind.describe(),
                    m.arn,
                    at.line,
                    kind.consequence()
                ),
            });
        }
    }
    for p in protected {
        let was = old.resolve(p);
        if was == Resolved::Unmapped {
            continue;
        }
        let now = new.resolve(p);
        if same_grants(&was, &now) {
            continue;
        }
        let (arn, at) = match &was {
            Resolved::Mapping(m) => (m.arn.to_owned(), Some(position(m))),
            Resolved::Ambiguous(all) => (all[0].arn.to_owned(), Some(position(&all[0]))),
            Resolved::Account { index, .. } => {
                let span = &before.view().accounts.entries[*index].span;
                (
                    p.canonical().to_string(),
                    Some(before.position(DataKey::MapAccounts, span.start)),
                )
            }
            Resolved::Unmapped => continue,
        };
        let line = at
            .map(|a| format!(" (line {})", a.line))
            .unwrap_or_default();
        out.push(Guard {
            kind: GuardKind::Protected,
            principal: Some(arn.clone()),
            position: at,
            message: format!(
                "would {} the mapping of the protected principal {arn}{line}",
                verb(&now)
            ),
        });
    }
    let had_admin = old.has_admin(DataKey::MapRoles) || old.has_admin(DataKey::MapUsers);
    if had_admin && !new.has_admin(DataKey::MapRoles) && !new.has_admin(DataKey::MapUsers) {
        let admins: Vec<Mapping<'_>> = old.mappings().filter(Mapping::is_admin).collect();
        if let Some(first) = admins.first() {
            let at = position(first);
            let named: Vec<String> = admins
                .iter()
                .map(|m| format!("{} (line {})", m.arn, position(m).line))
                .collect();
            out.push(Guard {
                kind: GuardKind::LastAdmin,
                principal: Some(first.arn.to_owned()),
                position: Some(at),
                message: format!(
                    "would remove the last mapping that grants system:masters ({}): {} through aws-auth (only the cluster creator's implicit access would remain)",
                    named.join(", "),
                    GuardKind::LastAdmin.consequence()
                ),
            });
        }
    }
    out
}

/// A principal's grants are the same before and after (the same username and
/// groups in any order, whichever entry holds them).
fn same_grants(before: &Resolved<'_>, after: &Resolved<'_>) -> bool {
    let (before, after) = (before.grants(), after.grants());
    before.len() == after.len() && before.iter().zip(&after).all(|(b, a)| b.same_as(a))
}

fn verb(after: &Resolved<'_>) -> &'static str {
    match after {
        Resolved::Unmapped => "remove",
        _ => "rewrite",
    }
}
