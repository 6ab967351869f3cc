//! The desired mappings of a sync, read from a small YAML (or JSON) file in
//! the layout of the map itself:
//!
//! ```yaml
//! mapRoles:
//!   - rolearn: arn:aws:iam::111122223333:role/Dev
//!     username: dev:{{SessionName}}
//!     groups: [dev]
//! mapUsers:
//!   - userarn: arn:aws:iam::111122223333:user/alice
//!     username: alice
//! ```
//!
//! It is read strictly (a misspelled field is an error, not a mapping
//! silently left out) and with the authenticator's YAML rules, so a value
//! reads here as it would in the map. A file that could be a truncated or
//! empty one is refused rather than read as "nothing wanted", because a
//! pruning sync would act on that: an empty file, one without either key, a
//! key left empty (`mapUsers:` reads as null; write `mapUsers: []` to want
//! none), a `...` marker or a second document.
//!
//! The aws-auth ConfigMap manifest itself (`kind: ConfigMap`, what a GitOps
//! repository keeps) is read too, its keys as the authenticator reads them;
//! a key it cannot read or an empty one is refused the same way.

use super::MappingSpec;
use crate::position::{LineIndex, Position};
use crate::yaml::json::{JsonType, json_type};
use crate::yaml::tree::NodeId;
use crate::yaml::{Tree, full};
use crate::{DataKey, KeyState};

/// Why a file of desired mappings cannot be read, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {}, column {}: {message}", position.line, position.column)]
pub struct DesiredError {
    /// What is wrong.
    pub message: String,
    /// Where.
    pub position: Position,
}

/// The role and user mappings a file of desired mappings names.
///
/// ```
/// let (roles, users) = aws_auth_core::edit::read_desired(
///     "mapRoles:\n  - rolearn: arn:aws:iam::111122223333:role/Dev\n    username: dev\n    groups: [dev]\n",
/// )?;
/// assert_eq!(roles[0].groups, ["dev"]);
/// assert!(users.is_empty());
/// # Ok::<(), aws_auth_core::edit::DesiredError>(())
/// ```
pub fn read_desired(text: &str) -> Result<(Vec<MappingSpec>, Vec<MappingSpec>), DesiredError> {
    let index = LineIndex::new(text);
    let fail = |offset: usize, message: String| DesiredError {
        message,
        position: index.position(text, offset),
    };
    if let Some((offset, why)) = crate::yaml::second_document(text) {
        return Err(fail(offset, why.to_owned()));
    }
    let tree = full::parse(text)
        .map_err(|e| fail(e.offset, format!("YAML syntax error: {}", e.message)))?;
    let (mut roles, mut users) = (Vec::new(), Vec::new());
    let Some(root) = tree.root else {
        return Err(fail(
            0,
            "the file is empty: write `mapRoles: []` and `mapUsers: []` to want no mappings"
                .to_owned(),
        ));
    };
    let at = |id: NodeId| tree.node(id).start as usize;
    let Some(pairs) = tree.map_pairs(tree.resolve(root)) else {
        return Err(fail(
            at(root),
            "the file is not a mapping of mapRoles and mapUsers".to_owned(),
        ));
    };
    let pairs: Vec<(NodeId, NodeId)> = pairs.collect();
    let is_manifest = pairs.iter().any(|&(k, v)| {
        string(&tree, text, k) == Some("kind") && string(&tree, text, v) == Some("ConfigMap")
    });
    if is_manifest {
        return from_manifest(text);
    }
    let mut named = false;
    for (k, v) in pairs {
        named = true;
        let key = string(&tree, text, k).unwrap_or_default();
        let (out, arn_field) = match key {
            "mapRoles" => (&mut roles, "rolearn"),
            "mapUsers" => (&mut users, "userarn"),
            other => {
                return Err(fail(
                    at(k),
                    format!(
                        "unknown key {other:?}: a file of desired mappings holds mapRoles and mapUsers"
                    ),
                ));
            }
        };
        if json_type(&tree, text, v) == JsonType::Null {
            return Err(fail(
                at(k),
                format!("{key} is empty (null): write `{key}: []` to want none of them"),
            ));
        }
        let Some(items) = tree.seq_items(tree.resolve(v)) else {
            return Err(fail(at(v), format!("{key} is not a list")));
        };
        for &item in items {
            out.push(mapping(&tree, text, item, arn_field).map_err(|(o, m)| fail(o, m))?);
        }
    }
    if !named {
        return Err(fail(
            at(root),
            "the file names neither mapRoles nor mapUsers: write `mapRoles: []` and `mapUsers: []` to want no mappings".to_owned(),
        ));
    }
    Ok((roles, users))
}

/// The mappings of an aws-auth ConfigMap manifest, as the authenticator
/// reads them (the one a GitOps repository already keeps): strict as the
/// small file is, a key that cannot be read or is empty is refused rather
/// than read as "nothing wanted".
fn from_manifest(text: &str) -> Result<(Vec<MappingSpec>, Vec<MappingSpec>), DesiredError> {
    let doc = crate::Document::parse_manifest(text).map_err(|e| DesiredError {
        message: e.message.clone(),
        position: e.position,
    })?;
    let mut named = false;
    let mut lists = (Vec::new(), Vec::new());
    let effective = doc.effective();
    for key in [DataKey::MapRoles, DataKey::MapUsers] {
        let at = |offset: usize| doc.position(key, offset);
        match doc.view().state(key) {
            KeyState::Absent => continue,
            KeyState::Empty => {
                return Err(DesiredError {
                    message: format!("{key} is empty: write `[]` in it to want none of them"),
                    position: at(0),
                });
            }
            KeyState::Unreadable { message, offset } => {
                return Err(DesiredError {
                    message: format!(
                        "{key} cannot be read ({message}): the authenticator ignores all of it; fix it first (see `aws-auth lint`)"
                    ),
                    position: at(*offset),
                });
            }
            _ => {}
        }
        named = true;
        let out = if key == DataKey::MapRoles {
            &mut lists.0
        } else {
            &mut lists.1
        };
        for m in effective.mappings_of(key) {
            out.push(MappingSpec::new(
                m.arn,
                m.username,
                m.groups
                    .iter()
                    .map(|g| g.as_str().to_owned())
                    .collect::<Vec<_>>(),
            ));
        }
    }
    if !named {
        return Err(DesiredError {
            message: "the ConfigMap has neither mapRoles nor mapUsers: write `mapRoles: \"[]\"` and `mapUsers: \"[]\"` to want no mappings".to_owned(),
            position: Position { line: 1, column: 1 },
        });
    }
    Ok(lists)
}

fn string<'t>(tree: &'t Tree, text: &'t str, id: NodeId) -> Option<&'t str> {
    match json_type(tree, text, id) {
        JsonType::String(s) => Some(s),
        _ => None,
    }
}

fn mapping(
    tree: &Tree,
    text: &str,
    item: NodeId,
    arn_field: &str,
) -> Result<MappingSpec, (usize, String)> {
    let at = |id: NodeId| tree.node(id).start as usize;
    let Some(pairs) = tree.map_pairs(tree.resolve(item)) else {
        return Err((at(item), "an item is not a mapping".to_owned()));
    };
    let mut spec = MappingSpec::new("", "", Vec::<String>::new());
    for (k, v) in pairs {
        let name = string(tree, text, k).unwrap_or_default();
        let value = || {
            string(tree, text, v)
                .map(str::to_owned)
                .ok_or_else(|| (at(v), format!("{name} is not a string (quote it)")))
        };
        match name {
            n if n == arn_field => spec.arn = value()?,
            "username" => spec.username = value()?,
            "groups" => {
                let Some(groups) = tree.seq_items(tree.resolve(v)) else {
                    return Err((at(v), "groups is not a list".to_owned()));
                };
                for &g in groups {
                    spec.groups.push(
                        string(tree, text, g).map(str::to_owned).ok_or_else(|| {
                            (at(g), "a group is not a string (quote it)".to_owned())
                        })?,
                    );
                }
            }
            other => {
                return Err((
                    at(k),
                    format!(
                        "unknown field {other:?}: a mapping has {arn_field}, username and groups"
                    ),
                ));
            }
        }
    }
    if spec.arn.is_empty() {
        return Err((at(item), format!("a mapping has no {arn_field}")));
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::read_desired;

    /// Issue 20.5: what could be a truncated or empty file is refused at its
    /// line, never read as "nothing wanted".
    #[test]
    fn empty_or_truncated_files_are_refused_where_they_end() {
        let role = "  - rolearn: arn:aws:iam::111122223333:role/A\n    username: a\n";
        for (text, line, needle) in [
            ("", 1, "the file is empty"),
            ("# nothing yet\n", 1, "the file is empty"),
            ("{}\n", 1, "neither mapRoles nor mapUsers"),
            ("mapUsers:\n", 1, "mapUsers is empty (null)"),
            ("mapRoles: ~\nmapUsers: []\n", 1, "mapRoles is empty"),
            (&format!("mapRoles:\n{role}...\n{role}"), 4, "`...` marker"),
            (
                &format!("mapRoles:\n{role}---\nmapUsers: []\n"),
                4,
                "second YAML document",
            ),
        ] {
            let e = read_desired(text).expect_err(text);
            assert_eq!(e.position.line, line, "{text:?}: {e}");
            assert!(e.message.contains(needle), "{text:?}: {e}");
        }
        // Empty lists written out want nothing, and say so.
        let (r, u) = read_desired("mapRoles: []\nmapUsers: []\n").unwrap();
        assert!(r.is_empty() && u.is_empty());
        let (r, _) = read_desired(&format!("---\nmapRoles:\n{role}")).unwrap();
        assert_eq!(r.len(), 1);
    }

    /// Issue 25.11: the ConfigMap a repository keeps is a desired file too,
    /// read as the authenticator reads it, and as strictly.
    #[test]
    fn the_config_map_manifest_is_read_as_the_authenticator_reads_it() {
        let manifest = |data: &str| {
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n{data}"
            )
        };
        let text = manifest(
            "  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/A\n      username: a:{{SessionName}}\n      groups: [dev]\n    - rolearn: arn:aws:iam::111122223333:role/A\n      username: last-wins\n  mapUsers: \"[]\"\n",
        );
        let (roles, users) = read_desired(&text).unwrap();
        assert_eq!(roles.len(), 1);
        assert_eq!(roles[0].username, "last-wins");
        assert!(users.is_empty());
        for (data, line, needle) in [
            (
                "  mapRoles: |\n    - rolearn: [\n",
                8,
                "mapRoles cannot be read",
            ),
            ("  mapUsers: \"\"\n", 7, "mapUsers is empty"),
            ("  other: x\n", 1, "neither mapRoles nor mapUsers"),
        ] {
            let e = read_desired(&manifest(data)).expect_err(data);
            assert!(e.message.contains(needle), "{data:?}: {e}");
            assert_eq!(e.position.line, line, "{data:?}: {e}");
        }
    }
}
