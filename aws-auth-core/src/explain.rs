//! Which mapping the authenticator picks for a caller, and what comes out of it.
//!
//! ```
//! use aws_auth_core::Document;
//!
//! let doc = Document::from_data([(
//!     "mapRoles",
//!     "- rolearn: arn:aws:iam::111122223333:role/Admin\n  username: admin:{{SessionName}}\n  groups: [system:masters]\n",
//! )]);
//! let e = doc.explain("arn:aws:sts::111122223333:assumed-role/Admin/alice@example.com")?;
//! assert_eq!(e.username.as_deref(), Some("admin:alice-example.com"));
//! assert_eq!(e.groups, ["system:masters"]);
//! # Ok::<(), aws_auth_core::arn::ArnError>(())
//! ```

use serde::Serialize;

use crate::arn::{Arn, PrincipalKind};
use crate::document::Document;
use crate::model::{DataKey, KeyState};
use crate::position::Position;
use crate::template::{self, Values};
use crate::text::Text;

/// Values only known at login, for filling templates.
#[derive(Debug, Clone, Default)]
pub struct LoginContext {
    /// The access key ID the caller signs with (`{{AccessKeyID}}`).
    pub access_key_id: Option<String>,
    /// The node's private DNS name (`{{EC2PrivateDNSName}}`).
    pub private_dns_name: Option<String>,
}

/// The mapping the authenticator uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Match {
    /// `mapRoles`, `mapUsers` or `mapAccounts`.
    #[serde(serialize_with = "key_name")]
    pub key: DataKey,
    /// The mapped ARN or account as written.
    pub principal: String,
    /// Where the mapping is.
    pub position: Position,
    /// Earlier mappings of the same principal, which the reader ignores.
    pub ignored: Vec<Position>,
}

fn key_name<S: serde::Serializer>(key: &DataKey, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(key.as_str())
}

/// What the authenticator makes of one caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The ARN as given.
    pub principal: String,
    /// The ARN the authenticator compares with the map.
    pub canonical: String,
    /// The mapping used, if any.
    #[serde(rename = "match")]
    pub matched: Option<Match>,
    /// Other mappings that match equally (ARNs that differ only in case): which
    /// one is used is unpredictable.
    pub ambiguous: Vec<Match>,
    /// The Kubernetes user name, templates filled (`None`: not mapped or the
    /// login fails).
    pub username: Option<String>,
    /// The Kubernetes groups, templates filled.
    pub groups: Vec<String>,
    /// Templates left in because their value is only known at login.
    pub pending_templates: Vec<&'static str>,
    /// Why the login fails although a mapping matched.
    pub failure: Option<String>,
    /// Facts worth knowing (path dropped, keys unreadable, feature-gated entries).
    pub notes: Vec<String>,
}

impl Document {
    /// Explains what the authenticator does for `principal` (an IAM user or role
    /// ARN, or an `sts` assumed-role session ARN).
    pub fn explain(&self, principal: &str) -> Result<Explanation, crate::arn::ArnError> {
        self.explain_with(principal, &LoginContext::default())
    }

    /// [`Document::explain`] with values only known at login.
    pub fn explain_with(
        &self,
        principal: &str,
        login: &LoginContext,
    ) -> Result<Explanation, crate::arn::ArnError> {
        let arn: Arn = principal.parse()?;
        let canonical = arn.canonical();
        let canonical_s = canonical.to_string();
        let mut notes = Vec::new();
        match arn.kind() {
            PrincipalKind::Role if arn.has_path() => notes.push(format!(
                "a session of this role arrives as arn:{}:sts::{}:assumed-role/{}/SESSION, which the authenticator compares as {canonical_s}: the path {} plays no part",
                arn.partition(),
                arn.account(),
                arn.name(),
                arn.path()
            )),
            PrincipalKind::Role => notes.push(format!(
                "a session of this role arrives as arn:{}:sts::{}:assumed-role/{}/SESSION; give that ARN to see templates filled",
                arn.partition(),
                arn.account(),
                arn.name()
            )),
            _ => {}
        }
        let view = self.view();
        for key in DataKey::ALL {
            if let KeyState::Unreadable { message, .. } = view.state(key) {
                notes.push(format!("{key} cannot be read ({message}): the authenticator ignores every mapping in it"));
            }
        }
        let mut matched = None;
        let mut ambiguous = Vec::new();
        let mut mapping: Option<(&str, &[Text])> = None;

        let roles: Vec<_> = view
            .roles
            .entries
            .iter()
            .filter(|e| {
                !e.value.rolearn.is_empty() && e.value.rolearn.eq_ignore_ascii_case(&canonical_s)
            })
            .collect();
        if let Some((last, earlier)) = roles.split_last() {
            matched = Some(Match {
                key: DataKey::MapRoles,
                principal: last.value.rolearn.to_string(),
                position: self.position(DataKey::MapRoles, last.span.start),
                ignored: earlier
                    .iter()
                    .map(|e| self.position(DataKey::MapRoles, e.span.start))
                    .collect(),
            });
            mapping = Some((&last.value.username, &last.value.groups));
        }
        for e in &view.roles.entries {
            if let Some(sso) = &e.value.sso {
                let prefix = format!("AWSReservedSSO_{}_", sso.permission_set_name);
                if canonical.kind() == PrincipalKind::Role
                    && sso.account_id == arn.account()
                    && canonical.name().starts_with(&prefix)
                {
                    notes.push(format!(
                        "the sso entry at {} would match with the SSORoleMatch feature gate, which EKS does not enable",
                        self.position(DataKey::MapRoles, e.span.start)
                    ));
                }
            }
        }
        if matched.is_none() {
            let users: Vec<_> = view
                .users
                .entries
                .iter()
                .filter(|e| e.value.userarn.eq_ignore_ascii_case(&canonical_s))
                .collect();
            let mut spellings: Vec<&str> = users.iter().map(|e| e.value.userarn.as_str()).collect();
            spellings.dedup();
            spellings.sort_unstable();
            spellings.dedup();
            // The last mapping of each spelling survives; between spellings the
            // choice is unpredictable. Report the exact spelling first.
            let mut survivors: Vec<_> = spellings
                .iter()
                .filter_map(|s| users.iter().rev().find(|e| e.value.userarn == *s).copied())
                .collect();
            survivors.sort_by_key(|e| e.value.userarn != canonical_s);
            if let Some((first, rest)) = survivors.split_first() {
                let build = |e: &crate::model::Entry<crate::model::UserMapping>| Match {
                    key: DataKey::MapUsers,
                    principal: e.value.userarn.to_string(),
                    position: self.position(DataKey::MapUsers, e.span.start),
                    ignored: users
                        .iter()
                        .filter(|o| o.value.userarn == e.value.userarn && o.span != e.span)
                        .map(|o| self.position(DataKey::MapUsers, o.span.start))
                        .collect(),
                };
                matched = Some(build(first));
                ambiguous = rest.iter().map(|e| build(e)).collect();
                mapping = Some((&first.value.username, &first.value.groups));
                if !ambiguous.is_empty() {
                    notes.push("several userarn values match this ARN and differ only in case: which one the authenticator uses is unpredictable".to_owned());
                }
            }
        }
        let account_username;
        if matched.is_none()
            && let Some(e) = view
                .accounts
                .entries
                .iter()
                .find(|e| e.value == arn.account())
        {
            matched = Some(Match {
                key: DataKey::MapAccounts,
                principal: e.value.clone(),
                position: self.position(DataKey::MapAccounts, e.span.start),
                ignored: Vec::new(),
            });
            account_username = canonical_s.clone();
            mapping = Some((&account_username, &[]));
            notes.push(
                "mapAccounts maps the caller to its own ARN as user name, with no groups"
                    .to_owned(),
            );
        }

        let values = Values {
            account_id: arn.account(),
            session_name: arn.session(),
            access_key_id: login.access_key_id.as_deref(),
            private_dns_name: login.private_dns_name.as_deref(),
        };
        let (mut username, mut groups, mut pending, mut failure) =
            (None, Vec::new(), Vec::new(), None);
        if let Some((user, group_list)) = mapping {
            let filled: Result<Vec<_>, String> = std::iter::once(user)
                .chain(group_list.iter().map(Text::as_str))
                .map(|t| template::fill(t, &values))
                .collect();
            match filled {
                Ok(mut filled) => {
                    for f in &filled {
                        for p in &f.pending {
                            if !pending.contains(p) {
                                pending.push(*p);
                            }
                        }
                    }
                    let user = filled.remove(0);
                    username = Some(user.text);
                    groups = filled.into_iter().map(|f| f.text).collect();
                }
                Err(e) => failure = Some(e),
            }
        }
        if arn.kind() == PrincipalKind::AssumedRole
            && matched.as_ref().is_some_and(|m| m.key == DataKey::MapRoles)
            && arn.session().is_some_and(|s| s.contains('@'))
        {
            notes.push("{{SessionName}} turns @ into -; {{SessionNameRaw}} keeps it".to_owned());
        }
        Ok(Explanation {
            principal: principal.to_owned(),
            canonical: canonical_s,
            matched,
            ambiguous,
            username,
            groups,
            pending_templates: pending,
            failure,
            notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Document {
        Document::from_data([
            (
                "mapRoles",
                concat!(
                    "- rolearn: arn:aws:iam::111122223333:role/Nodes\n",
                    "  username: system:node:{{EC2PrivateDNSName}}\n",
                    "  groups: [system:bootstrappers, system:nodes]\n",
                    "- rolearn: arn:aws:iam::111122223333:role/Dev\n",
                    "  username: old\n",
                    "- rolearn: arn:aws:iam::111122223333:role/dev\n",
                    "  username: dev:{{SessionName}}:{{AccountID}}\n",
                    "  groups: [devs]\n",
                ),
            ),
            (
                "mapUsers",
                concat!(
                    "- userarn: arn:aws:iam::111122223333:user/Alice\n  username: alice\n",
                    "- userarn: arn:aws:iam::111122223333:user/alice\n  username: other\n",
                ),
            ),
            ("mapAccounts", "- \"444455556666\"\n"),
        ])
    }

    #[test]
    fn last_duplicate_wins_and_templates_fill() {
        let e = doc()
            .explain("arn:aws:sts::111122223333:assumed-role/Dev/bob@example.com")
            .unwrap();
        let m = e.matched.unwrap();
        assert_eq!(m.key, DataKey::MapRoles);
        assert_eq!(m.position.line, 6);
        assert_eq!(m.ignored.len(), 1);
        assert_eq!(
            e.username.as_deref(),
            Some("dev:bob-example.com:111122223333")
        );
        assert_eq!(e.groups, ["devs"]);
    }

    #[test]
    fn role_paths_are_dropped() {
        let e = doc()
            .explain("arn:aws:iam::111122223333:role/team/Dev")
            .unwrap();
        assert_eq!(e.canonical, "arn:aws:iam::111122223333:role/Dev");
        assert!(e.matched.is_some());
        assert!(e.notes[0].contains("path"));
    }

    #[test]
    fn node_sessions_need_an_instance_id() {
        let e = doc()
            .explain("arn:aws:sts::111122223333:assumed-role/Nodes/i-0123456789abcdef0")
            .unwrap();
        assert_eq!(e.pending_templates, ["EC2PrivateDNSName"]);
        let e = doc()
            .explain("arn:aws:sts::111122223333:assumed-role/Nodes/not-an-instance")
            .unwrap();
        assert!(e.failure.unwrap().contains("instance ID"));
        assert_eq!(e.username, None);
    }

    #[test]
    fn users_differing_in_case_are_ambiguous() {
        let e = doc()
            .explain("arn:aws:iam::111122223333:user/alice")
            .unwrap();
        assert_eq!(
            e.matched.unwrap().principal,
            "arn:aws:iam::111122223333:user/alice"
        );
        assert_eq!(e.ambiguous.len(), 1);
    }

    #[test]
    fn accounts_and_nothing() {
        let e = doc()
            .explain("arn:aws:iam::444455556666:user/carol")
            .unwrap();
        assert_eq!(e.matched.unwrap().key, DataKey::MapAccounts);
        assert_eq!(
            e.username.as_deref(),
            Some("arn:aws:iam::444455556666:user/carol")
        );
        assert!(e.groups.is_empty());
        let e = doc().explain("arn:aws:iam::999999999999:user/x").unwrap();
        assert!(e.matched.is_none() && e.username.is_none());
    }
}
