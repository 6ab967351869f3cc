//! The file `aws-auth access sync` reads: the entries a cluster should hold.

use serde_json::Value;

use super::EntryRequest;
use crate::arn::Arn;
use crate::entries::EntryType;
use crate::entries::{MAX_ENTRIES, association, policy_arn};
use crate::position::{LineIndex, Position};
use crate::yaml::tree::{NodeId, Tree};

/// Why a file of desired access entries cannot be read: what is wrong, in
/// which entry, at which line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", position.map(|p| format!("line {}, column {}: ", p.line, p.column)).unwrap_or_default())]
pub struct EntriesError {
    /// What is wrong, naming the field (`entries[3].accessPolicies[0]`).
    pub message: String,
    /// Where, when the problem has a place in the file.
    pub position: Option<Position>,
}

/// The fields an entry may have.
const FIELDS: [&str; 5] = [
    "principalArn",
    "type",
    "username",
    "kubernetesGroups",
    "accessPolicies",
];

/// The entries a file for `aws-auth access sync` names (YAML or JSON; the
/// schema is `docs/access-sync.schema.json`), each checked as
/// [`EntryRequest::check`] checks it, no principal named twice, at most
/// [`MAX_ENTRIES`]:
///
/// ```yaml
/// entries:
///   - principalArn: arn:aws:iam::111122223333:role/Dev
///     username: dev:{{SessionName}}      # optional: EKS's default without
///     kubernetesGroups: [dev]             # optional
///     type: STANDARD                      # optional
///     accessPolicies:                     # optional
///       - policy: view                    # a short name, a name or an ARN
///         namespaces: [dev]               # optional: cluster scope without
/// ```
///
/// ```
/// let entries = aws_auth_core::access::read_entries(
///     "entries:\n  - principalArn: arn:aws:iam::111122223333:user/alice\n    accessPolicies: [{policy: view}]\n",
/// )?;
/// assert_eq!(entries[0].policies.len(), 1);
///
/// let bad = aws_auth_core::access::read_entries(
///     "entries:\n  - principalArn: arn:aws:iam::111122223333:user/alice\n    kubernetesGroups: [system:masters]\n",
/// ).unwrap_err();
/// assert_eq!(bad.position.map(|p| p.line), Some(2));
/// # Ok::<(), aws_auth_core::access::EntriesError>(())
/// ```
pub fn read_entries(text: &str) -> Result<Vec<EntryRequest>, EntriesError> {
    let lines = LineIndex::new(text);
    // A file that could be an empty or cut-short one is refused, never read
    // as "no entries": a pruning sync would delete on it.
    if let Some((offset, why)) = crate::yaml::second_document(text) {
        return Err(EntriesError {
            message: why.to_owned(),
            position: Some(lines.position(text, offset)),
        });
    }
    let tree = crate::yaml::full::parse(text).map_err(|e| EntriesError {
        message: format!("YAML syntax error: {}", e.message),
        position: Some(lines.position(text, e.offset)),
    })?;
    let Some(root) = tree.root else {
        return Err(EntriesError {
            message: "the file is empty: write `entries: []` to want no entries".to_owned(),
            position: Some(lines.position(text, 0)),
        });
    };
    let at_root = |message: String| EntriesError {
        message,
        position: Some(lines.position(text, tree.span(root).start)),
    };
    let json = crate::yaml::json::to_json(&tree, text, root);
    let Some(top) = json.as_object() else {
        return Err(at_root(
            "the file is not a mapping with `entries`".to_owned(),
        ));
    };
    if let Some(k) = top.keys().find(|k| *k != "entries") {
        return Err(at_root(format!(
            "unknown key {k:?}: the file holds `entries`"
        )));
    }
    let list = match top.get("entries") {
        None => {
            return Err(at_root(
                "the file has no `entries`: write `entries: []` to want no entries".to_owned(),
            ));
        }
        Some(Value::Null) => {
            return Err(at_root(
                "`entries` is empty (null): write `entries: []` to want no entries".to_owned(),
            ));
        }
        Some(Value::Array(a)) => a,
        _ => return Err(at_root("`entries` is not a list".to_owned())),
    };
    let starts = item_starts(&tree, text, root);
    let mut out: Vec<EntryRequest> = Vec::new();
    for (i, e) in list.iter().enumerate() {
        let position = starts.get(i).map(|&offset| lines.position(text, offset));
        let r = entry(i, e).map_err(|message| EntriesError { message, position })?;
        // IAM names are unique without case: `user/Alice` is `user/alice`.
        if out
            .iter()
            .any(|o| super::same_principal(&o.principal, &r.principal))
        {
            return Err(EntriesError {
                message: format!("entries[{i}]: {} is named twice", r.principal),
                position,
            });
        }
        out.push(r);
    }
    if out.len() > MAX_ENTRIES {
        return Err(at_root(format!(
            "{} entries: a cluster holds at most {MAX_ENTRIES}",
            out.len()
        )));
    }
    Ok(out)
}

/// Where each item of the root's `entries` list starts.
fn item_starts(tree: &Tree, text: &str, root: NodeId) -> Vec<usize> {
    let Some(mut pairs) = tree.map_pairs(root) else {
        return Vec::new();
    };
    let Some((_, list)) =
        pairs.find(|(k, _)| tree.scalar(text, *k).map(|(s, _)| s) == Some("entries"))
    else {
        return Vec::new();
    };
    tree.seq_items(list)
        .map(|items| items.iter().map(|&id| tree.span(id).start).collect())
        .unwrap_or_default()
}

/// One entry of the list, or why not (naming the field).
fn entry(i: usize, e: &Value) -> Result<EntryRequest, String> {
    let at = |field: &str| format!("entries[{i}]{field}");
    let Some(obj) = e.as_object() else {
        return Err(format!("{}: not a mapping", at("")));
    };
    if let Some(k) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!(
            "{}: unknown field {k:?} (one of {})",
            at(""),
            FIELDS.join(", ")
        ));
    }
    let string = |v: &Value, f: &str| -> Result<Option<String>, String> {
        match v {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            _ => Err(format!("{}: not a string", at(f))),
        }
    };
    let strings = |v: &Value, f: &str| -> Result<Vec<String>, String> {
        match v {
            Value::Null => Ok(Vec::new()),
            Value::Array(a) => a
                .iter()
                .map(|x| {
                    x.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| format!("{}: not a list of strings", at(f)))
                })
                .collect(),
            _ => Err(format!("{}: not a list", at(f))),
        }
    };
    let arn = string(&e["principalArn"], ".principalArn")?
        .ok_or_else(|| format!("{}: no principalArn", at("")))?;
    let principal: Arn = arn
        .parse()
        .map_err(|x| format!("{}: {x}", at(".principalArn")))?;
    let partition = principal.partition().to_string();
    let mut r = EntryRequest::standard(principal);
    if let Some(t) = string(&e["type"], ".type")? {
        r.kind = EntryType::from_name(&t);
        if matches!(r.kind, EntryType::Other(_)) {
            return Err(format!(
                "{}: {t} is not an access entry type ({})",
                at(".type"),
                EntryType::known_names()
            ));
        }
    }
    r.username = string(&e["username"], ".username")?;
    r.groups = strings(&e["kubernetesGroups"], ".kubernetesGroups")?;
    let policies = match &e["accessPolicies"] {
        Value::Null => Vec::new(),
        Value::Array(a) => a.clone(),
        _ => return Err(format!("{}: not a list", at(".accessPolicies"))),
    };
    for (j, p) in policies.iter().enumerate() {
        let f = format!(".accessPolicies[{j}]");
        if let Some(k) = p
            .as_object()
            .and_then(|o| o.keys().find(|k| *k != "policy" && *k != "namespaces"))
        {
            return Err(format!(
                "{}: unknown field {k:?} (policy, namespaces)",
                at(&f)
            ));
        }
        let name = string(&p["policy"], &format!("{f}.policy"))?
            .ok_or_else(|| format!("{}: no policy", at(&f)))?;
        let arn = policy_arn(&name, &partition)
            .ok_or_else(|| format!("{}: no access policy {name:?}", at(&f)))?;
        if r.policies.iter().any(|x| x.policy_arn == arn) {
            return Err(format!(
                "{}: {name} is associated twice (one association per policy; list its namespaces together)",
                at(&f)
            ));
        }
        let namespaces = strings(&p["namespaces"], &format!("{f}.namespaces"))?;
        // An empty list would be cluster scope: the widest grant from what
        // reads like the narrowest. Leaving the field out says it plainly.
        if namespaces.is_empty() && p["namespaces"].is_array() {
            return Err(format!(
                "{}: an empty list (leave namespaces out for cluster scope)",
                at(&format!("{f}.namespaces"))
            ));
        }
        r.policies.push(association(arn, &namespaces));
    }
    r.check().map_err(|x| format!("{}: {x}", at("")))?;
    Ok(r)
}

/// The file [`read_entries`] reads that names `entries` as they are, so that
/// a sync of it changes nothing: what `aws-auth access get --as-file`
/// writes. A username EKS would give anyway, empty groups and a STANDARD
/// type are left out; the five people's policies go by their short names.
/// Entries a file cannot name (a username only EKS can give) are left out and
/// returned apart: a sync keeps them (see [`aws_owned`](super::aws_owned)).
///
/// ```
/// use aws_auth_core::access::{read_entries, to_file};
/// use aws_auth_core::entries::{EntryType, ExistingEntry};
/// let alice = ExistingEntry::new("arn:aws:iam::111122223333:user/alice", EntryType::Standard)
///     .with_username("arn:aws:iam::111122223333:user/alice")
///     .with_groups(["dev"]);
/// let (file, left_out) = to_file([&alice]);
/// assert_eq!(file, serde_json::json!({"entries": [
///     {"principalArn": "arn:aws:iam::111122223333:user/alice", "kubernetesGroups": ["dev"]},
/// ]}));
/// assert!(left_out.is_empty());
/// assert_eq!(read_entries(&file.to_string())?[0].groups, ["dev"]);
/// # Ok::<(), aws_auth_core::access::EntriesError>(())
/// ```
pub fn to_file<'e>(
    entries: impl IntoIterator<Item = &'e crate::entries::ExistingEntry>,
) -> (Value, Vec<String>) {
    use serde_json::{Map, json};
    const SHORT: [(&str, &str); 5] = [
        ("AmazonEKSClusterAdminPolicy", "cluster-admin"),
        ("AmazonEKSAdminPolicy", "admin"),
        ("AmazonEKSEditPolicy", "edit"),
        ("AmazonEKSViewPolicy", "view"),
        ("AmazonEKSAdminViewPolicy", "admin-view"),
    ];
    let mut out = Vec::new();
    let mut left_out = Vec::new();
    for e in entries {
        let Ok(arn) = e.principal_arn.parse::<Arn>() else {
            left_out.push(e.principal_arn.clone());
            continue;
        };
        let mut m = Map::new();
        m.insert("principalArn".into(), json!(e.principal_arn));
        if e.kind != EntryType::Standard {
            m.insert("type".into(), json!(e.kind.as_str()));
            out.push(Value::Object(m));
            continue;
        }
        if let Some(u) = &e.username
            && *u != super::default_username(&arn)
        {
            m.insert("username".into(), json!(u));
        }
        if !e.kubernetes_groups.is_empty() {
            m.insert("kubernetesGroups".into(), json!(e.kubernetes_groups));
        }
        if !e.policies.is_empty() {
            let policies: Vec<Value> = e
                .policies
                .iter()
                .map(|p| {
                    let name = crate::entries::policy_name(&p.policy_arn);
                    let short = SHORT
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map_or(name, |(_, s)| s);
                    let mut a = Map::new();
                    a.insert("policy".into(), json!(short));
                    if p.access_scope.kind == "namespace" {
                        a.insert("namespaces".into(), json!(p.access_scope.namespaces));
                    }
                    Value::Object(a)
                })
                .collect();
            m.insert("accessPolicies".into(), Value::Array(policies));
        }
        // Only what the file can say: a username only EKS gives cannot be.
        let probe = json!({"entries": [Value::Object(m.clone())]}).to_string();
        if read_entries(&probe).is_err() {
            left_out.push(e.principal_arn.clone());
            continue;
        }
        out.push(Value::Object(m));
    }
    (json!({ "entries": out }), left_out)
}

#[cfg(test)]
mod tests {
    use super::read_entries;

    /// Issue 20.5: a file that could be empty or cut short is refused where
    /// it ends, never read as "no entries".
    #[test]
    fn empty_or_truncated_files_are_refused_where_they_end() {
        let alice = "  - principalArn: arn:aws:iam::111122223333:user/alice\n";
        for (text, line, needle) in [
            ("", 1, "the file is empty"),
            ("# later\n", 1, "the file is empty"),
            ("{}\n", 1, "has no `entries`"),
            ("entries:\n", 1, "`entries` is empty (null)"),
            (&format!("entries:\n{alice}...\n{alice}"), 3, "`...` marker"),
            (
                &format!("entries:\n{alice}---\nentries: []\n"),
                3,
                "second YAML document",
            ),
        ] {
            let e = read_entries(text).expect_err(text);
            assert_eq!(e.position.map(|p| p.line), Some(line), "{text:?}: {e}");
            assert!(e.message.contains(needle), "{text:?}: {e}");
        }
        assert!(read_entries("entries: []\n").unwrap().is_empty());
    }
}
