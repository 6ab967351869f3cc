//! What a change of the map does to access, principal by principal: who
//! gains a login, who loses one, whose username or groups change. Read as
//! the authenticator reads each version (honoured mappings only: the last
//! duplicate wins, an unreadable key grants nothing), so a reviewer sees the
//! effect, not the text.
//!
//! ```
//! use aws_auth_core::Document;
//! use aws_auth_core::diff::{AccessEffect, access_changes};
//!
//! let old = Document::from_data([("mapUsers", "- userarn: arn:aws:iam::111122223333:user/a\n  username: a\n  groups: [dev]\n")]);
//! let new = Document::from_data([("mapUsers", "- userarn: arn:aws:iam::111122223333:user/a\n  username: a\n  groups: [dev, ops]\n- userarn: arn:aws:iam::111122223333:user/b\n  username: b\n")]);
//! let changes = access_changes(Some(&old), &new);
//! assert_eq!(changes[0].effect, AccessEffect::Changes);
//! assert_eq!(changes[1].effect, AccessEffect::Gains);
//! ```

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{DataKey, Document};

/// What happens to one principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum AccessEffect {
    /// It can log in now, and could not before.
    Gains,
    /// It could log in, and can no longer.
    Loses,
    /// Its username or groups change.
    Changes,
}

/// What a principal logs in as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Identity {
    /// The username, templates unfilled.
    pub username: String,
    /// The groups, templates unfilled.
    pub groups: Vec<String>,
}

/// One principal's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AccessChange {
    /// `mapRoles`, `mapUsers` or `mapAccounts`.
    pub key: DataKey,
    /// The ARN (or account) as the new map writes it (else the old).
    pub principal: String,
    /// Gains, loses or changes.
    pub effect: AccessEffect,
    /// Before (`None`: no login).
    pub before: Option<Identity>,
    /// After (`None`: no login).
    pub after: Option<Identity>,
}

/// Every principal whose login differs between `old` (`None`: a new map)
/// and `new`, ordered by key and principal.
pub fn access_changes(old: Option<&Document>, new: &Document) -> Vec<AccessChange> {
    let before = old.map(logins).unwrap_or_default();
    let after = logins(new);
    let mut out = Vec::new();
    for (id, (principal, now)) in &after {
        match before.get(id) {
            None => out.push(AccessChange {
                key: id.0,
                principal: principal.clone(),
                effect: AccessEffect::Gains,
                before: None,
                after: Some(now.clone()),
            }),
            Some((_, was)) if !same(was, now) => out.push(AccessChange {
                key: id.0,
                principal: principal.clone(),
                effect: AccessEffect::Changes,
                before: Some(was.clone()),
                after: Some(now.clone()),
            }),
            Some(_) => {}
        }
    }
    for (id, (principal, was)) in &before {
        if !after.contains_key(id) {
            out.push(AccessChange {
                key: id.0,
                principal: principal.clone(),
                effect: AccessEffect::Loses,
                before: Some(was.clone()),
                after: None,
            });
        }
    }
    out.sort_by(|a, b| {
        (a.key, a.principal.to_ascii_lowercase()).cmp(&(b.key, b.principal.to_ascii_lowercase()))
    });
    out
}

/// Groups compare as sets, as the guards compare them.
fn same(a: &Identity, b: &Identity) -> bool {
    a.username == b.username && crate::effective::same_groups(&a.groups, &b.groups)
}

type Logins = BTreeMap<(DataKey, String), (String, Identity)>;

/// Every honoured mapping of `doc` by key and principal (compared without
/// case, as the authenticator looks them up), and each account.
fn logins(doc: &Document) -> Logins {
    let mut out = Logins::new();
    let effective = doc.effective();
    for key in [DataKey::MapRoles, DataKey::MapUsers] {
        for m in effective.mappings_of(key) {
            out.insert(
                (key, m.arn.to_ascii_lowercase()),
                (
                    m.arn.to_owned(),
                    Identity {
                        username: m.username.to_owned(),
                        groups: m.groups.iter().map(|g| g.as_str().to_owned()).collect(),
                    },
                ),
            );
        }
    }
    for a in &doc.view().accounts.entries {
        out.insert(
            (DataKey::MapAccounts, a.value.clone()),
            (
                a.value.clone(),
                Identity {
                    username: "its own ARN".to_owned(),
                    groups: Vec::new(),
                },
            ),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(roles: &str, users: &str) -> Document {
        Document::from_data([("mapRoles", roles), ("mapUsers", users)])
    }

    #[test]
    fn gains_loses_and_changes_as_the_authenticator_reads_them() {
        let old = doc(
            "- rolearn: arn:aws:iam::111122223333:role/Nodes\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:bootstrappers, system:nodes]\n- rolearn: arn:aws:iam::111122223333:role/Dev\n  username: dev\n  groups: [dev]\n",
            "- userarn: arn:aws:iam::111122223333:user/alice\n  username: alice\n  groups: [a, b]\n",
        );
        // Nodes: groups reordered (no change); Dev: a later duplicate wins
        // with another username; alice removed; bob added.
        let new = doc(
            "- rolearn: arn:aws:iam::111122223333:role/Nodes\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:nodes, system:bootstrappers]\n- rolearn: arn:aws:iam::111122223333:role/Dev\n  username: dev\n  groups: [dev]\n- rolearn: arn:aws:iam::111122223333:role/dev\n  username: dev2\n  groups: [dev]\n",
            "- userarn: arn:aws:iam::111122223333:user/bob\n  username: bob\n",
        );
        let got: Vec<(String, AccessEffect)> = access_changes(Some(&old), &new)
            .into_iter()
            .map(|c| (c.principal, c.effect))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "arn:aws:iam::111122223333:role/dev".to_owned(),
                    AccessEffect::Changes
                ),
                (
                    "arn:aws:iam::111122223333:user/alice".to_owned(),
                    AccessEffect::Loses
                ),
                (
                    "arn:aws:iam::111122223333:user/bob".to_owned(),
                    AccessEffect::Gains
                ),
            ]
        );
        // A key the authenticator cannot read grants nothing: all of it lost.
        let broken = doc("- rolearn: [\n", "");
        let lost = access_changes(Some(&old), &broken);
        assert_eq!(
            lost.iter()
                .filter(|c| c.effect == AccessEffect::Loses)
                .count(),
            3
        );
        // A new map: everyone gains.
        assert!(
            access_changes(None, &old)
                .iter()
                .all(|c| c.effect == AccessEffect::Gains)
        );
    }
}
