//! Checks of the entries the reader accepts (and drops).

use super::{Code, Sink};
use crate::arn::{Arn, ArnErrorKind, PrincipalKind};
use crate::document::Document;
use crate::effective::Standing;
use crate::model::{DataKey, Entry, RoleMapping};
use crate::template;
use crate::text::Text;
use crate::yaml::json::{go_fold_eq, resolve_scalar};
use crate::yaml::resolve::Resolved;
use crate::yaml::tree::{Kind, NodeId};

/// The checks of each role entry, which stand alone: a long list is checked on
/// a thread of its own.
pub(crate) fn roles(doc: &Document, sink: &mut Sink<'_>) {
    for entry in &doc.view().roles.entries {
        role(doc, entry, sink);
    }
}

/// Everything else: fields of the wrong type, dropped entries, user entries,
/// duplicates across entries and account IDs.
pub(crate) fn rest(doc: &Document, sink: &mut Sink<'_>) {
    let view = doc.view();
    for (key, issues, dropped) in [
        (
            DataKey::MapRoles,
            &view.roles.field_issues,
            &view.roles.dropped,
        ),
        (
            DataKey::MapUsers,
            &view.users.field_issues,
            &view.users.dropped,
        ),
        (
            DataKey::MapAccounts,
            &view.accounts.field_issues,
            &view.accounts.dropped,
        ),
    ] {
        let text = doc.data_string(key).unwrap_or_default();
        for issue in issues {
            let source = text.get(issue.span.clone()).unwrap_or_default().trim();
            let hint = match (issue.found, issue.expected) {
                ("bool", _) => {
                    format!("; YAML 1.1 reads an unquoted {source} as a boolean: quote it")
                }
                ("number", _) => format!("; YAML reads an unquoted {source} as a number: quote it"),
                ("string", "list of strings") => format!(
                    "; write `{}:` and the value as a list item `- {source}` below it",
                    issue.field
                ),
                _ => String::new(),
            };
            sink.push(
                Code::FieldWrongType,
                key,
                issue.span.start,
                format!(
                    "{} is a {} here, not a {}, so the reader leaves it empty{hint}",
                    issue.field, issue.found, issue.expected
                ),
            );
        }
        for d in dropped {
            let hint = dropped_hint(doc, key, d.index);
            sink.push(
                Code::EntryDropped,
                key,
                d.span.start,
                format!("the reader drops this {key} entry: {}{hint}", d.reason),
            );
        }
    }
    for entry in &view.users.entries {
        let u = &entry.value;
        let at = || field_offset(doc, DataKey::MapUsers, entry, "userarn");
        arn_checks(&u.userarn, DataKey::MapUsers, &at, sink);
        mapping_checks(doc, DataKey::MapUsers, entry, &u.username, &u.groups, sink);
    }
    duplicates(doc, sink);
    accounts(doc, sink);
}

/// A hint for a dropped item that is really a group indented too little, or an
/// entry under the wrong key.
fn dropped_hint(doc: &Document, key: DataKey, index: usize) -> String {
    let parsed = doc.parsed(key);
    let text = doc.data_string(key).unwrap_or_default();
    let Some(tree) = &parsed.tree else {
        return String::new();
    };
    let Some(items) = tree.root.and_then(|r| tree.seq_items(r)) else {
        return String::new();
    };
    let item = items[index];
    let has = |node: NodeId, field: &str| {
        tree.map_pairs(node).into_iter().flatten().any(|(k, _)| {
            tree.scalar(text, k)
                .is_some_and(|(s, _)| go_fold_eq(s, field))
        })
    };
    if matches!(tree.node(tree.resolve(item)).kind, Kind::Scalar { .. }) && index > 0 {
        let prev = items[index - 1];
        let empty_groups = tree.map_pairs(prev).into_iter().flatten().any(|(k, v)| {
            tree.scalar(text, k)
                .is_some_and(|(s, _)| go_fold_eq(s, "groups"))
                && matches!(resolve_scalar(tree, text, v), Ok(Resolved::Null))
                && matches!(tree.node(v).kind, Kind::Scalar { .. })
        });
        if empty_groups {
            return "; it looks like a group of the entry above, indented too little (that entry then has no groups)".to_owned();
        }
    }
    match key {
        DataKey::MapRoles if has(item, "userarn") => {
            "; it has a userarn: user entries belong under mapUsers".to_owned()
        }
        DataKey::MapUsers if has(item, "rolearn") => {
            "; it has a rolearn: role entries belong under mapRoles".to_owned()
        }
        _ => String::new(),
    }
}

/// Offset of a field's value in an entry (the entry start when absent).
fn field_offset<T>(doc: &Document, key: DataKey, entry: &Entry<T>, field: &str) -> usize {
    field_node(doc, key, entry.index, field).map_or(entry.span.start, |(_, start)| start)
}

fn field_node(doc: &Document, key: DataKey, index: usize, field: &str) -> Option<(NodeId, usize)> {
    let text = doc.data_string(key)?;
    let tree = doc.parsed(key).tree.as_ref()?;
    let item = *tree.seq_items(tree.root?)?.get(index)?;
    tree.map_pairs(item)?
        .filter(|(k, _)| {
            tree.scalar(text, *k)
                .is_some_and(|(s, _)| go_fold_eq(s, field))
        })
        .last()
        .map(|(_, v)| (v, tree.node(v).start as usize))
}

fn role(doc: &Document, entry: &Entry<RoleMapping>, sink: &mut Sink<'_>) {
    let r = &entry.value;
    let key = DataKey::MapRoles;
    if let Some(sso) = &r.sso {
        let at = field_offset(doc, key, entry, "sso");
        let partition = if sso.partition.is_empty() {
            String::new()
        } else {
            " Its partition is set, which never matches even with the feature on (an upstream bug)."
                .to_owned()
        };
        sink.push(
            Code::SsoEntry,
            key,
            at,
            format!(
                "sso entries only match with aws-iam-authenticator's alpha SSORoleMatch feature gate, which is off by default and not enabled on EKS: this entry never matches there. Map the role instead: rolearn: arn:aws:iam::{}:role/AWSReservedSSO_{}_<suffix> (without its path).{partition}",
                sso.account_id, sso.permission_set_name
            ),
        );
    } else {
        let at = || field_offset(doc, key, entry, "rolearn");
        arn_checks(&r.rolearn, key, &at, sink);
    }
    mapping_checks(doc, key, entry, &r.username, &r.groups, sink);
}

/// `arn:PARTITION:iam::ACCOUNT:role/NAME` (or `user/NAME`) with a plain name:
/// the shape of nearly every entry, about which there is nothing to say.
fn clean_arn(arn: &str, key: DataKey) -> bool {
    let Some(rest) = arn.strip_prefix("arn:") else {
        return false;
    };
    // Byte loops, not `split_once` or `contains`: those call memchr, which
    // costs more than these few bytes.
    let Some(colon) = rest.bytes().position(|c| c == b':') else {
        return false;
    };
    let (partition, rest) = (&rest[..colon], &rest[colon + 1..]);
    let Some(rest) = rest.strip_prefix("iam::") else {
        return false;
    };
    let b = rest.as_bytes();
    if crate::arn::Partition::from_name(partition).is_none()
        || b.len() < 14
        || b[12] != b':'
        || !b[..12].iter().all(u8::is_ascii_digit)
    {
        return false;
    }
    let name = match key {
        DataKey::MapRoles => rest[13..].strip_prefix("role/"),
        DataKey::MapUsers => rest[13..].strip_prefix("user/"),
        DataKey::MapAccounts => None,
    };
    name.is_some_and(|n| {
        !n.is_empty() && n.len() <= crate::arn::MAX_NAME && n.bytes().all(crate::arn::is_name_byte)
    })
}

fn arn_checks(arn: &str, key: DataKey, at: &dyn Fn() -> usize, sink: &mut Sink<'_>) {
    if clean_arn(arn, key) {
        return;
    }
    let field = if key == DataKey::MapRoles {
        "rolearn"
    } else {
        "userarn"
    };
    if placeholder(arn) {
        sink.push(Code::Placeholder, key, at(), format!("{field} is still the placeholder {arn:?} from the documentation: put the real ARN here"));
        return;
    }
    if arn.trim() != arn {
        sink.push(
            Code::SurroundingSpace,
            key,
            at(),
            format!(
                "{field} {arn:?} has leading or trailing spaces, so it never matches: remove them"
            ),
        );
        return;
    }
    let parsed: Result<Arn, _> = arn.parse();
    let parsed = match parsed {
        Ok(p) => p,
        Err(e) if e.kind() == ArnErrorKind::Name => {
            sink.push(
                Code::InvalidName,
                key,
                at(),
                format!("{field}: {e}: the mapping grants nothing (and counts for no guard), so fix or remove it"),
            );
            return;
        }
        Err(e) if e.kind() == ArnErrorKind::Wildcard => {
            sink.push(Code::WildcardArn, key, at(), format!("{field} {arn} has a wildcard, but the authenticator compares ARNs literally: it never matches. Map each role or user"));
            return;
        }
        Err(e) => {
            sink.push(
                Code::InvalidArn,
                key,
                at(),
                format!("{field}: {e}, so it never matches"),
            );
            return;
        }
    };
    match (key, parsed.kind()) {
        (_, PrincipalKind::AssumedRole) => sink.push(
            Code::AssumedRoleArn,
            key,
            at(),
            format!("{field} {arn} is a role session ARN and never matches: the authenticator turns callers into their role ARN, so map {}", parsed.canonical()),
        ),
        (DataKey::MapRoles, PrincipalKind::User) => sink.push(
            Code::UserArnInMapRoles,
            key,
            at(),
            format!("{arn} is an IAM user under mapRoles: it still matches (roles are looked up first), but it belongs under mapUsers as userarn, where tools and people look for it"),
        ),
        (DataKey::MapUsers, PrincipalKind::Role) => sink.push(
            Code::RoleArnInMapUsers,
            key,
            at(),
            format!("{arn} is an IAM role under mapUsers: it belongs under mapRoles as rolearn, where the authenticator looks for roles first and tools expect it"),
        ),
        (DataKey::MapRoles, PrincipalKind::Role) if parsed.has_path() => sink.push(
            Code::RolearnWithPath,
            key,
            at(),
            format!(
                "{arn} has the IAM path {} and never matches: callers arrive as role sessions, whose ARNs carry no path. Write rolearn: {}",
                parsed.path(),
                parsed.without_path()
            ),
        ),
        _ => {}
    }
}

/// `<...>` somewhere in the value.
fn placeholder(value: &str) -> bool {
    // memchr: std's char search costs a call per value, even a short one.
    let b = value.as_bytes();
    memchr::memchr(b'<', b).is_some_and(|i| memchr::memchr(b'>', &b[i..]).is_some())
}

fn mapping_checks<T>(
    doc: &Document,
    key: DataKey,
    entry: &Entry<T>,
    username: &str,
    groups: &[Text],
    sink: &mut Sink<'_>,
) {
    // Positions are looked up only for what is reported.
    let user_at = || field_offset(doc, key, entry, "username");
    let groups_at = || field_offset(doc, key, entry, "groups");
    // A field emptied by a type error is reported as such (field-wrong-type).
    let issues = match key {
        DataKey::MapRoles => &doc.view().roles.field_issues,
        DataKey::MapUsers => &doc.view().users.field_issues,
        DataKey::MapAccounts => &doc.view().accounts.field_issues,
    };
    let zeroed = |field: &str| {
        issues
            .iter()
            .any(|i| i.index == entry.index && i.field == field)
    };
    if username.is_empty() && !zeroed("username") {
        sink.push(
            Code::MissingUsername,
            key,
            entry.span.start,
            "this entry has no username: nothing identifies the caller to Kubernetes, and RBAC cannot name it; set username".to_owned(),
        );
    }
    value_checks("username", username, key, &user_at, sink);
    if username == "system:node:" {
        sink.push(
            Code::TemplateEaten,
            key,
            user_at(),
            "username is `system:node:` with nothing after it: a template engine probably replaced {{EC2PrivateDNSName}}; nodes get a user name the node authorizer rejects. Write system:node:{{EC2PrivateDNSName}} (escaped for your template engine)".to_owned(),
        );
    }
    if key == DataKey::MapUsers {
        let names = template::placeholders(username)
            .into_iter()
            .chain(groups.iter().flat_map(|g| template::placeholders(g)));
        for (_, name) in names {
            if matches!(name, "SessionName" | "SessionNameRaw" | "EC2PrivateDNSName") {
                let effect = if name == "EC2PrivateDNSName" {
                    "an IAM user has no EC2 session, so the login fails"
                } else {
                    "an IAM user has no session name, so it becomes empty"
                };
                sink.push(
                    Code::TemplateNotApplicable,
                    key,
                    user_at(),
                    format!("{{{{{name}}}}} in a mapUsers entry: {effect}"),
                );
            }
        }
    }
    let group_at = |i: usize| {
        field_node(doc, key, entry.index, "groups")
            .and_then(|(node, _)| {
                let tree = doc.parsed(key).tree.as_ref()?;
                let item = *tree.seq_items(node)?.get(i)?;
                Some(tree.node(item).start as usize)
            })
            .unwrap_or_else(groups_at)
    };
    for (i, group) in groups.iter().enumerate() {
        if group.is_empty() && zeroed(&format!("groups[{i}]")) {
            continue;
        }
        if group.is_empty() {
            sink.push(
                Code::GroupsEmpty,
                key,
                group_at(i),
                "an empty group name (a bare `-` or null): remove it".to_owned(),
            );
            continue;
        }
        value_checks("a group", group, key, &|| group_at(i), sink);
    }
    let is_node = username.starts_with("system:node:");
    if groups.is_empty()
        && !is_node
        && username != "emr-containers"
        && !username.is_empty()
        && !zeroed("groups")
    {
        sink.push(
            Code::GroupsEmpty,
            key,
            groups_at(),
            format!("this entry has no groups: it can do only what RoleBindings grant the user {username:?} by name"),
        );
    }
    if is_node && !username.ends_with(':') {
        let missing: Vec<&str> = ["system:bootstrappers", "system:nodes"]
            .into_iter()
            .filter(|g| !groups.iter().any(|x| x == g))
            .collect();
        if !missing.is_empty() {
            let near: Vec<&Text> = groups
                .iter()
                .filter(|g| g.contains("bootstrappers") || g.contains("system:node"))
                .collect();
            let near = if near.is_empty() {
                String::new()
            } else {
                format!(
                    " ({} is not the same)",
                    near.iter()
                        .map(|g| format!("{g:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            sink.push(
                Code::NodeRoleIncomplete,
                key,
                groups_at(),
                format!(
                    "this node mapping lacks {}{near}: nodes using it cannot join the cluster",
                    missing.join(" and ")
                ),
            );
        }
    }
}

fn value_checks(
    what: &str,
    value: &str,
    key: DataKey,
    at: &dyn Fn() -> usize,
    sink: &mut Sink<'_>,
) {
    if placeholder(value) {
        sink.push(
            Code::Placeholder,
            key,
            at(),
            format!("{what} is still the placeholder {value:?} from the documentation"),
        );
    }
    if value.starts_with(char::is_whitespace) || value.ends_with(char::is_whitespace) {
        sink.push(
            Code::SurroundingSpace,
            key,
            at(),
            format!(
                "{what} {value:?} has leading or trailing spaces, which become part of the name"
            ),
        );
    }
    for problem in template::unknown(value) {
        sink.push(Code::UnknownTemplate, key, at(), problem);
    }
}

fn line_of(doc: &Document, key: DataKey, offset: usize) -> usize {
    doc.position(key, offset).line
}

/// Entries the reader ignores because another entry answers for their
/// principal, from the document's effective reading (docs/reader.md §4).
fn duplicates(doc: &Document, sink: &mut Sink<'_>) {
    let view = doc.view();
    let effective = doc.effective();
    let roles = &view.roles.entries;
    for (i, e) in roles.iter().enumerate() {
        let Some(Standing::Replaced { by }) = effective.standing(DataKey::MapRoles, i) else {
            continue;
        };
        let winner = &roles[*by];
        let win_line = line_of(doc, DataKey::MapRoles, winner.span.start);
        let case = if e.value.rolearn != winner.value.rolearn {
            " (the ARNs differ only in case)"
        } else {
            ""
        };
        let nodes = if e.value.username.starts_with("system:node:")
            && !winner.value.username.starts_with("system:node:")
        {
            " Nodes using this role then lose their node identity and stop joining."
        } else {
            ""
        };
        sink.push(
            Code::DuplicateArn,
            DataKey::MapRoles,
            field_offset(doc, DataKey::MapRoles, e, "rolearn"),
            format!(
                "{} is mapped again on line {win_line}{case}; the reader uses only the last mapping (username {:?}, groups {:?}) and ignores this one.{nodes}",
                e.value.rolearn, winner.value.username, winner.value.groups
            ),
        );
    }
    let users = &view.users.entries;
    // Entries by the winner that replaced them: built only when spellings
    // that differ in case need their lines listed.
    let mut replaced_by: Option<std::collections::HashMap<usize, Vec<usize>>> = None;
    for (i, e) in users.iter().enumerate() {
        let arn: &str = &e.value.userarn;
        if let Some(Standing::Replaced { by }) = effective.standing(DataKey::MapUsers, i) {
            let winner = &users[*by];
            let win_line = line_of(doc, DataKey::MapUsers, winner.span.start);
            sink.push(
                Code::DuplicateArn,
                DataKey::MapUsers,
                field_offset(doc, DataKey::MapUsers, e, "userarn"),
                format!(
                    "{} is mapped again on line {win_line}; the reader uses only the last mapping (username {:?}, groups {:?}) and ignores this one",
                    e.value.userarn, winner.value.username, winner.value.groups
                ),
            );
        }
        if effective.user_winners(arn).nth(1).is_some() {
            let spellings: Vec<usize> = effective.user_winners(arn).collect();
            let replaced_by = replaced_by.get_or_insert_with(|| {
                let mut m: std::collections::HashMap<usize, Vec<usize>> =
                    std::collections::HashMap::new();
                for j in 0..users.len() {
                    if let Some(Standing::Replaced { by }) =
                        effective.standing(DataKey::MapUsers, j)
                    {
                        m.entry(*by).or_default().push(j);
                    }
                }
                m
            });
            let mut others: Vec<usize> = spellings
                .iter()
                .filter(|&&w| users[w].value.userarn != *arn)
                .flat_map(|&w| {
                    std::iter::once(w).chain(replaced_by.get(&w).into_iter().flatten().copied())
                })
                .collect();
            others.sort_unstable();
            let others: Vec<String> = others
                .iter()
                .map(|&j| {
                    format!(
                        "line {}",
                        line_of(doc, DataKey::MapUsers, users[j].span.start)
                    )
                })
                .collect();
            sink.push(
                Code::ArnCaseMismatch,
                DataKey::MapUsers,
                field_offset(doc, DataKey::MapUsers, e, "userarn"),
                format!(
                    "{} differs only in case from the userarn on {}; the authenticator compares ARNs without case, so which mapping a caller gets is unpredictable: keep one",
                    e.value.userarn,
                    others.join(", ")
                ),
            );
        }
        // A principal under both keys: mapRoles is looked up first.
        if let Some(r) = effective.role_winner(arn) {
            sink.push(
                Code::DuplicateArn,
                DataKey::MapUsers,
                field_offset(doc, DataKey::MapUsers, e, "userarn"),
                format!(
                    "{} is also mapped under mapRoles (line {}), which the reader looks up first: this mapping is never used",
                    e.value.userarn,
                    line_of(doc, DataKey::MapRoles, roles[r].span.start)
                ),
            );
        }
    }
}

fn accounts(doc: &Document, sink: &mut Sink<'_>) {
    let key = DataKey::MapAccounts;
    let view = &doc.view().accounts;
    let text = doc.data_string(key).unwrap_or_default();
    let tree = doc.parsed(key).tree.as_ref();
    for e in &view.entries {
        let id = &e.value;
        if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
            sink.push(
                Code::AccountIdInvalid,
                key,
                e.span.start,
                format!("the account ID {id:?} is not 12 digits, so no caller ever matches it"),
            );
        }
        let Some(tree) = tree else { continue };
        let Some(node) = tree
            .root
            .and_then(|r| tree.seq_items(r))
            .and_then(|items| items.get(e.index).copied())
        else {
            continue;
        };
        let node = tree.resolve(node);
        let unquoted_number = matches!(tree.node(node).kind, Kind::Scalar { .. })
            && matches!(
                resolve_scalar(tree, text, node),
                Ok(Resolved::Int(_) | Resolved::Float(_))
            );
        if unquoted_number {
            sink.push(
                Code::AccountIdNotString,
                key,
                e.span.start,
                format!("the account ID {id} is not quoted: the authenticator keeps its text, but YAML 1.2 tools (Terraform, yq, linters) read it as a number and may drop leading zeros; write \"{id}\""),
            );
        }
    }
}
