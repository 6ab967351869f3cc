//! One cluster at a glance: its authentication mode, how healthy its map is,
//! how many mappings and access entries it has, what the audit finds, and
//! how far its move to access entries has come. The row a platform team
//! reads first for each of its clusters (`aws-auth status`, `aws-auth
//! fleet`), from what [`audit`](crate::audit::audit) and
//! [`migrate::plan`](crate::migrate::plan) already decide.
//!
//! ```
//! use aws_auth_core::Document;
//! use aws_auth_core::entries::{AuthenticationMode, ClusterState, PlanOptions, Resolutions};
//! use aws_auth_core::login::Sources;
//! use aws_auth_core::status::{Readiness, status};
//!
//! let map = Document::from_data([(
//!     "mapRoles",
//!     "- rolearn: arn:aws:iam::111122223333:role/Admin\n  username: admin\n  groups: [system:masters]\n",
//! )]);
//! let cluster = ClusterState::empty("prod", Some(AuthenticationMode::ConfigMap));
//! let plan = aws_auth_core::migrate::plan(&map, &cluster, &Resolutions::offline(), &PlanOptions::new());
//! let s = status(&Sources::new().map(&map).mode(AuthenticationMode::ConfigMap), Some(&plan));
//! assert_eq!(s.readiness, Readiness::NotStarted);
//! assert_eq!(s.map.unwrap().mappings, 1);
//! ```

use std::fmt;

use serde::Serialize;

use crate::audit::{Audit, Code, Severity};
use crate::entries::{AuthenticationMode, Plan};
use crate::login::Sources;
use crate::model::DataKey;

/// How far a cluster's move from the map to access entries has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Readiness {
    /// Authentication mode `CONFIG_MAP`: access entries are not enabled
    /// (`migrate apply --enable-api-mode` starts).
    NotStarted,
    /// Some mappings cannot become access entries: the switch to `API`
    /// would lock them out (`migrate plan` says why).
    Blocked,
    /// Entries or policies the map stands for are missing or differ
    /// (`migrate apply`, `migrate verify`).
    Drift,
    /// Every mapping has its access entry: `migrate finalize` may switch
    /// the cluster to `API`.
    Ready,
    /// Authentication mode `API`: the map is no longer read.
    Done,
    /// The mode or the entries could not be read.
    Unknown,
}

impl Readiness {
    /// The name reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            Readiness::NotStarted => "not-started",
            Readiness::Blocked => "blocked",
            Readiness::Drift => "drift",
            Readiness::Ready => "ready",
            Readiness::Done => "done",
            Readiness::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Readiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The map's part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MapStatus {
    /// Lint errors: what the authenticator rejects.
    pub errors: usize,
    /// Lint warnings: what it misreads.
    pub warnings: usize,
    /// The mappings it honours (roles, users and accounts).
    pub mappings: usize,
    /// Of which `mapRoles`.
    pub roles: usize,
    /// Of which `mapUsers`.
    pub users: usize,
    /// Of which `mapAccounts`.
    pub accounts: usize,
}

/// One cluster at a glance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Status {
    /// The authentication mode (`null`: not read).
    pub authentication_mode: Option<AuthenticationMode>,
    /// The map (`null`: there is no aws-auth ConfigMap).
    pub map: Option<MapStatus>,
    /// How many access entries the cluster has (`null`: not read).
    pub entries: Option<usize>,
    /// Audit errors: access wrong now.
    pub audit_errors: usize,
    /// Audit warnings: access not what it looks like.
    pub audit_warnings: usize,
    /// The principals that are cluster-admin.
    pub admins: usize,
    /// How far the move to access entries has come.
    pub readiness: Readiness,
    /// Mappings that cannot become access entries (`null`: not planned).
    pub blocked: Option<usize>,
    /// Differences between the map and the entries (`null`: not planned;
    /// in `CONFIG_MAP` every mapping still to move).
    pub drift: Option<usize>,
}

/// The status of the cluster `sources` describe, with the migration `plan`
/// made against the same entries (`None` when it could not be made).
pub fn status(sources: &Sources<'_>, plan: Option<&Plan>) -> Status {
    status_with(sources, &crate::audit::audit(sources), plan)
}

/// [`status`] with the audit already made.
pub fn status_with(sources: &Sources<'_>, audit: &Audit, plan: Option<&Plan>) -> Status {
    // The audit carries the map's lint findings, at the same severities.
    let lint = |severity| {
        audit
            .findings
            .iter()
            .filter(|f| matches!(f.code, Code::Lint(_)) && f.severity == severity)
            .count()
    };
    let map = sources.map.map(|doc| {
        let effective = doc.effective();
        let of = |key| effective.mappings_of(key).count();
        let (roles, users) = (of(DataKey::MapRoles), of(DataKey::MapUsers));
        let mut accounts: Vec<&String> = doc
            .view()
            .accounts
            .entries
            .iter()
            .map(|e| &e.value)
            .collect();
        accounts.sort();
        accounts.dedup();
        let accounts = accounts.len();
        MapStatus {
            errors: lint(Severity::Error),
            warnings: lint(Severity::Warning),
            mappings: roles + users + accounts,
            roles,
            users,
            accounts,
        }
    });
    let count = |s| audit.findings.iter().filter(|f| f.severity == s).count();
    let blocked = plan.map(|p| p.blocked.len());
    let drift = plan.map(|p| p.drift().len());
    Status {
        authentication_mode: sources.mode,
        entries: sources.entries.map(|e| e.len()),
        audit_errors: count(Severity::Error),
        audit_warnings: count(Severity::Warning),
        admins: audit.summary.admins.len(),
        readiness: readiness(sources.mode, blocked, drift),
        map,
        blocked,
        drift,
    }
}

/// Where a cluster in `mode` stands, given what its plan found (`None`:
/// no plan, the entries unread).
fn readiness(
    mode: Option<AuthenticationMode>,
    blocked: Option<usize>,
    drift: Option<usize>,
) -> Readiness {
    match (mode, blocked, drift) {
        (None, _, _) => Readiness::Unknown,
        (Some(AuthenticationMode::ConfigMap), _, _) => Readiness::NotStarted,
        (Some(AuthenticationMode::Api), _, _) => Readiness::Done,
        (_, Some(b), _) if b > 0 => Readiness::Blocked,
        (_, _, Some(d)) if d > 0 => Readiness::Drift,
        (_, Some(_), Some(_)) => Readiness::Ready,
        _ => Readiness::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::Document;
    use crate::entries::{ClusterState, EntryType, ExistingEntry, PlanOptions, Resolutions};

    const ADMIN: &str = "arn:aws:iam::111122223333:role/Admin";

    fn map() -> Document {
        Document::from_data([
            (
                "mapRoles",
                "- rolearn: arn:aws:iam::111122223333:role/Admin\n  username: admin\n  groups: [system:masters]\n- rolearn: arn:aws:iam::111122223333:role/Ops\n  username: ops\n  groups: [system:monitoring]\n",
            ),
            (
                "mapUsers",
                "- userarn: arn:aws:iam::111122223333:user/alice\n  username: alice\n  groups: [dev]\n  group: [typo]\n",
            ),
            ("mapAccounts", "- \"444455556666\"\n"),
        ])
    }

    fn of(
        doc: &Document,
        mode: AuthenticationMode,
        entries: &BTreeMap<String, ExistingEntry>,
    ) -> Status {
        let cluster = ClusterState {
            entries: entries.clone(),
            ..ClusterState::empty("prod", Some(mode))
        };
        let plan =
            crate::migrate::plan(doc, &cluster, &Resolutions::offline(), &PlanOptions::new());
        let mut s = Sources::new().map(doc).mode(mode);
        s.entries = Some(entries);
        status(&s, Some(&plan))
    }

    #[test]
    fn one_row_per_mode_and_stage() {
        let doc = map();
        let none = BTreeMap::new();
        let s = of(&doc, AuthenticationMode::ConfigMap, &none);
        let m = s.map.clone().unwrap();
        assert_eq!((m.roles, m.users, m.accounts, m.mappings), (2, 1, 1, 4));
        assert_eq!((m.errors, m.warnings), (0, 1), "{s:?}");
        assert_eq!(s.readiness, Readiness::NotStarted);
        // system:monitoring and the account cannot move.
        assert_eq!(s.blocked, Some(2), "{s:?}");
        assert_eq!(s.admins, 1);
        // Half-way: entries enabled, nothing moved yet.
        let s = of(&doc, AuthenticationMode::ApiAndConfigMap, &none);
        assert_eq!(s.readiness, Readiness::Blocked);
        assert!(s.drift.unwrap() >= 3, "{s:?}");
        assert_eq!(s.entries, Some(0));
        // In API mode the map is read by nobody.
        let s = of(&doc, AuthenticationMode::Api, &none);
        assert_eq!(s.readiness, Readiness::Done);
        assert!(s.audit_errors >= 1, "{s:?}");
    }

    #[test]
    fn converged_without_blocks_is_ready_and_a_missing_entry_is_drift() {
        let doc = Document::from_data([(
            "mapRoles",
            "- rolearn: arn:aws:iam::111122223333:role/Admin\n  username: admin\n  groups: [system:masters]\n",
        )]);
        let mut entries = BTreeMap::new();
        let s = of(&doc, AuthenticationMode::ApiAndConfigMap, &entries);
        assert_eq!((s.readiness, s.drift), (Readiness::Drift, Some(2)));
        entries.insert(
            ADMIN.to_owned(),
            ExistingEntry::new(ADMIN, EntryType::Standard)
                .with_username("admin")
                .with_policy(crate::entries::association(
                    crate::entries::cluster_admin_policy(crate::arn::Partition::Aws),
                    &[],
                )),
        );
        let s = of(&doc, AuthenticationMode::ApiAndConfigMap, &entries);
        assert_eq!((s.readiness, s.drift), (Readiness::Ready, Some(0)), "{s:?}");
        assert_eq!(s.entries, Some(1));
    }

    #[test]
    fn what_was_not_read_is_unknown_not_guessed() {
        let doc = map();
        let s = status(&Sources::new().map(&doc), None);
        assert_eq!(s.readiness, Readiness::Unknown);
        assert_eq!(
            (s.authentication_mode, s.entries, s.blocked),
            (None, None, None)
        );
        let s = status(
            &Sources::new().mode(AuthenticationMode::ApiAndConfigMap),
            None,
        );
        assert_eq!(s.readiness, Readiness::Unknown);
        assert!(s.map.is_none());
    }
}
