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

use std::borrow::Cow;

use serde::Serialize;

use crate::arn::{Arn, PrincipalKind};
use crate::document::Document;
use crate::effective::{Mapping, Resolved, Standing};
use crate::model::{DataKey, KeyState};
use crate::position::Position;
use crate::template::{self, Values};
use crate::text::Text;

/// Values only known at login, for filling templates.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct LoginContext {
    /// The access key ID the caller signs with (`{{AccessKeyID}}`).
    pub access_key_id: Option<String>,
    /// The node's private DNS name (`{{EC2PrivateDNSName}}`).
    pub private_dns_name: Option<String>,
}

impl LoginContext {
    /// Nothing known beyond the ARN.
    pub fn new() -> LoginContext {
        LoginContext::default()
    }

    /// The access key ID, for `{{AccessKeyID}}`.
    pub fn access_key_id(mut self, id: impl Into<String>) -> LoginContext {
        self.access_key_id = Some(id.into());
        self
    }

    /// The node's private DNS name, for `{{EC2PrivateDNSName}}`.
    pub fn private_dns_name(mut self, name: impl Into<String>) -> LoginContext {
        self.private_dns_name = Some(name.into());
        self
    }
}

/// The mapping the authenticator uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
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
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
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
        let mut notes = session_notes(&arn, &canonical);
        let view = self.view();
        for key in DataKey::ALL {
            if let KeyState::Unreadable { message, .. } = view.state(key) {
                notes.push(format!("{key} cannot be read ({message}): the authenticator ignores every mapping in it"));
            }
        }
        let effective = self.effective();
        let found = self.found(&effective, &arn);
        notes.extend(found.note);
        notes.extend(self.never_matching(&effective, principal));
        notes.extend(self.sso_near_misses(&arn, &canonical));
        let values = Values {
            account_id: arn.account(),
            session_name: arn.session(),
            access_key_id: login.access_key_id.as_deref(),
            private_dns_name: login.private_dns_name.as_deref(),
        };
        let login = found
            .mapping
            .map(|(user, groups)| filled(&user, groups, &values))
            .unwrap_or_default();
        if arn.kind() == PrincipalKind::AssumedRole
            && found
                .matched
                .as_ref()
                .is_some_and(|m| m.key == DataKey::MapRoles)
            && arn.session().is_some_and(|s| s.contains('@'))
        {
            notes.push("{{SessionName}} turns @ into -; {{SessionNameRaw}} keeps it".to_owned());
        }
        Ok(Explanation {
            principal: principal.to_owned(),
            canonical: canonical.to_string(),
            matched: found.matched,
            ambiguous: found.ambiguous,
            username: login.username,
            groups: login.groups,
            pending_templates: login.pending,
            failure: login.failure,
            notes,
        })
    }

    /// Where the mapping at `index` of `key` starts in the document.
    pub(crate) fn entry_position(&self, key: DataKey, index: usize) -> Position {
        let view = self.view();
        let start = match key {
            DataKey::MapRoles => view.roles.entries[index].span.start,
            DataKey::MapUsers => view.users.entries[index].span.start,
            DataKey::MapAccounts => view.accounts.entries[index].span.start,
        };
        self.position(key, start)
    }

    /// The mapping the reader picks for `arn`, the ones equal to it but for
    /// case, and its (unfilled) username and groups.
    fn found<'d>(&'d self, effective: &crate::effective::Effective<'d>, arn: &Arn) -> Found<'d> {
        let build = |m: &Mapping<'_>| Match {
            key: m.key,
            principal: m.arn.to_owned(),
            position: self.entry_position(m.key, m.index),
            ignored: effective
                .replaced(m.key, m.index)
                .into_iter()
                .map(|i| self.entry_position(m.key, i))
                .collect(),
        };
        let mut found = Found::default();
        match effective.resolve(arn) {
            Resolved::Mapping(m) => {
                found.matched = Some(build(&m));
                found.mapping = Some((Cow::Borrowed(m.username), m.groups));
            }
            Resolved::Ambiguous(all) => {
                found.matched = Some(build(&all[0]));
                found.ambiguous = all[1..].iter().map(build).collect();
                found.mapping = Some((Cow::Borrowed(all[0].username), all[0].groups));
                found.note = Some("several userarn values match this ARN and differ only in case: which one the authenticator uses is unpredictable".to_owned());
            }
            Resolved::Account { index, username } => {
                found.matched = Some(Match {
                    key: DataKey::MapAccounts,
                    principal: self.view().accounts.entries[index].value.clone(),
                    position: self.entry_position(DataKey::MapAccounts, index),
                    ignored: Vec::new(),
                });
                found.mapping = Some((Cow::Owned(username), &[]));
                found.note = Some(
                    "mapAccounts maps the caller to its own ARN as user name, with no groups"
                        .to_owned(),
                );
            }
            Resolved::Unmapped => {}
        }
        found
    }

    /// Notes on mappings written for `principal` that can never match it.
    fn never_matching(
        &self,
        effective: &crate::effective::Effective<'_>,
        principal: &str,
    ) -> Vec<String> {
        let view = self.view();
        let mut notes = Vec::new();
        for key in [DataKey::MapRoles, DataKey::MapUsers] {
            let arns: Vec<&str> = match key {
                DataKey::MapRoles => view.roles.values().map(|r| r.rolearn.as_str()).collect(),
                _ => view.users.values().map(|u| u.userarn.as_str()).collect(),
            };
            for (i, written) in arns.into_iter().enumerate() {
                if let Some(Standing::NeverMatches { reason }) = effective.standing(key, i)
                    && written.eq_ignore_ascii_case(principal)
                {
                    notes.push(format!(
                        "the {key} entry at {} is written for this ARN but never matches: {reason}",
                        self.entry_position(key, i)
                    ));
                }
            }
        }
        notes
    }

    /// Notes on `sso` entries that would match with a feature gate EKS
    /// leaves off.
    fn sso_near_misses(&self, arn: &Arn, canonical: &Arn) -> Vec<String> {
        let mut notes = Vec::new();
        for e in &self.view().roles.entries {
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
        notes
    }
}

/// What the reader found for a caller.
#[derive(Default)]
struct Found<'d> {
    matched: Option<Match>,
    ambiguous: Vec<Match>,
    /// The username and groups of the mapping, before templates are filled.
    mapping: Option<(Cow<'d, str>, &'d [Text])>,
    note: Option<String>,
}

/// A mapping's username and groups with their templates filled.
#[derive(Default)]
struct Filled {
    username: Option<String>,
    groups: Vec<String>,
    pending: Vec<&'static str>,
    failure: Option<String>,
}

fn filled(user: &str, groups: &[Text], values: &Values<'_>) -> Filled {
    let filled: Result<Vec<_>, String> = std::iter::once(user)
        .chain(groups.iter().map(Text::as_str))
        .map(|t| template::fill(t, values))
        .collect();
    match filled {
        Ok(mut filled) => {
            let mut pending = Vec::new();
            for f in &filled {
                for p in &f.pending {
                    if !pending.contains(p) {
                        pending.push(*p);
                    }
                }
            }
            let user = filled.remove(0);
            Filled {
                username: Some(user.text),
                groups: filled.into_iter().map(|f| f.text).collect(),
                pending,
                failure: None,
            }
        }
        Err(e) => Filled {
            failure: Some(e),
            ..Filled::default()
        },
    }
}

/// What a role's session looks like to the authenticator.
fn session_notes(arn: &Arn, canonical: &Arn) -> Vec<String> {
    match arn.kind() {
        PrincipalKind::Role if arn.has_path() => vec![format!(
            "a session of this role arrives as arn:{}:sts::{}:assumed-role/{}/SESSION, which the authenticator compares as {canonical}: the path {} plays no part",
            arn.partition(),
            arn.account(),
            arn.name(),
            arn.path()
        )],
        PrincipalKind::Role => vec![format!(
            "a session of this role arrives as arn:{}:sts::{}:assumed-role/{}/SESSION; give that ARN to see templates filled",
            arn.partition(),
            arn.account(),
            arn.name()
        )],
        _ => Vec::new(),
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
