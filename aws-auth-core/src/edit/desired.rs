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
//! reads here as it would in the map.

use super::MappingSpec;
use crate::position::{LineIndex, Position};
use crate::yaml::json::{JsonType, json_type};
use crate::yaml::tree::NodeId;
use crate::yaml::{Tree, full};

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
    let tree = full::parse(text)
        .map_err(|e| fail(e.offset, format!("YAML syntax error: {}", e.message)))?;
    let (mut roles, mut users) = (Vec::new(), Vec::new());
    let Some(root) = tree.root else {
        return Ok((roles, users));
    };
    let at = |id: NodeId| tree.node(id).start as usize;
    let Some(pairs) = tree.map_pairs(tree.resolve(root)) else {
        return Err(fail(
            at(root),
            "the file is not a mapping of mapRoles and mapUsers".to_owned(),
        ));
    };
    for (k, v) in pairs {
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
            continue;
        }
        let Some(items) = tree.seq_items(tree.resolve(v)) else {
            return Err(fail(at(v), format!("{key} is not a list")));
        };
        for &item in items {
            out.push(mapping(&tree, text, item, arn_field).map_err(|(o, m)| fail(o, m))?);
        }
    }
    Ok((roles, users))
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
