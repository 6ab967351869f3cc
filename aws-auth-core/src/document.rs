//! A ConfigMap's text together with what the reader sees in it.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use crate::manifest::{Codec, Manifest};
use crate::model::{DataKey, KeyView, MapView};
use crate::position::{LineIndex, Position};
use crate::read::{self, Parsed};

/// Two data values at least this large are read on two threads.
const PARALLEL_MIN: usize = 64 * 1024;

/// Why a manifest cannot be read as a ConfigMap.
///
/// `kubectl apply` would refuse it as well: the file is not YAML, not a ConfigMap,
/// or a data value is not a string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {}, column {}: {message}", position.line, position.column)]
pub struct ManifestError {
    /// What is wrong.
    pub message: String,
    /// Where, in the manifest.
    pub position: Position,
}

/// Where the data strings came from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// A manifest file: edits are written back into its text.
    Manifest { text: String, manifest: Manifest },
    /// Bare data strings (or a ConfigMap object's `data`).
    Data { data: BTreeMap<String, Arc<String>> },
}

impl Source {
    /// A data value, as held (shared with the model's strings read from it).
    fn value(&self, key: &str) -> Option<&Arc<String>> {
        match self {
            Source::Manifest { manifest, .. } => manifest.value(key).map(|v| &v.decoded),
            Source::Data { data } => data.get(key),
        }
    }
}

/// An `aws-auth` ConfigMap: its text, the data strings in it, and what
/// aws-iam-authenticator reads from them.
///
/// ```
/// use aws_auth_core::{DataKey, Document};
///
/// let doc = Document::parse_manifest(
///     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/Admin\n      username: admin\n      groups:\n        - system:masters\n",
/// )?;
/// let admin = &doc.view().roles.entries[0].value;
/// assert_eq!(admin.groups, ["system:masters"]);
/// assert_eq!(doc.data_string(DataKey::MapUsers), None);
/// # Ok::<(), aws_auth_core::ManifestError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Document {
    pub(crate) source: Source,
    pub(crate) parsed: [Arc<Parsed>; 3],
    pub(crate) view: MapView,
    lines: LineCache,
    /// The effective reading's tables, built the first time they are asked for.
    effective: OnceLock<crate::effective::Index>,
}

/// Line indexes, built the first time a position is asked for.
#[derive(Debug, Clone, Default)]
struct LineCache {
    manifest: OnceLock<LineIndex>,
    keys: [OnceLock<LineIndex>; 3],
}

impl LineCache {
    fn manifest(&self, text: &str) -> &LineIndex {
        self.manifest.get_or_init(|| LineIndex::new(text))
    }

    fn key(&self, key: DataKey, text: &str) -> &LineIndex {
        self.keys[slot(key)].get_or_init(|| LineIndex::new(text))
    }
}

fn slot(key: DataKey) -> usize {
    match key {
        DataKey::MapRoles => 0,
        DataKey::MapUsers => 1,
        DataKey::MapAccounts => 2,
    }
}

impl Document {
    /// Reads a ConfigMap manifest (YAML, as `kubectl get -o yaml` prints it or as
    /// kept in a repository). A file with several documents is searched for the
    /// `aws-auth` ConfigMap.
    pub fn parse_manifest(text: impl Into<String>) -> Result<Document, ManifestError> {
        let text = text.into();
        let manifest = Manifest::parse(&text).map_err(|e| ManifestError {
            position: LineIndex::new(&text).position(&text, e.offset),
            message: e.message,
        })?;
        Ok(Document::build(Source::Manifest { text, manifest }))
    }

    /// [`Document::parse_manifest`] for a manifest derived from `previous`: data
    /// values that did not change are not read again.
    /// `changes` are the edit's replaced ranges of the previous text and the
    /// lengths of their replacements: blocks they do not touch are not scanned.
    pub(crate) fn parse_manifest_sharing(
        text: String,
        previous: &Document,
        changes: &[(std::ops::Range<usize>, usize)],
    ) -> Result<Document, ManifestError> {
        let derived = match &previous.source {
            Source::Manifest {
                text: old,
                manifest,
            } => Manifest::parse_derived(
                &text,
                crate::manifest::skeleton::Previous {
                    text: old,
                    manifest,
                    changes,
                },
            ),
            Source::Data { .. } => Manifest::parse(&text),
        };
        let manifest = derived.map_err(|e| ManifestError {
            position: LineIndex::new(&text).position(&text, e.offset),
            message: e.message,
        })?;
        Ok(Document::build_sharing(
            Source::Manifest { text, manifest },
            Some(previous),
        ))
    }

    /// Reads bare data strings, as in a ConfigMap's `data` (keys other than the
    /// three the authenticator reads are kept as they are).
    ///
    /// ```
    /// use aws_auth_core::{Document, KeyState};
    ///
    /// let doc = Document::from_data([("mapUsers", "- userarn: arn:aws:iam::111122223333:user/alice\n  username: {{SessionName}}\n")]);
    /// assert!(matches!(doc.view().users.state, KeyState::Unreadable { .. }));
    /// ```
    pub fn from_data<K, V>(data: impl IntoIterator<Item = (K, V)>) -> Document
    where
        K: Into<String>,
        V: Into<String>,
    {
        let data = data
            .into_iter()
            .map(|(k, v)| (k.into(), Arc::new(v.into())))
            .collect();
        Document::build(Source::Data { data })
    }

    /// Reads a Kubernetes ConfigMap object.
    #[cfg(feature = "k8s-openapi")]
    #[cfg_attr(docsrs, doc(cfg(feature = "k8s-openapi")))]
    pub fn from_config_map(config_map: &k8s_openapi::api::core::v1::ConfigMap) -> Document {
        Document::from_data(config_map.data.clone().unwrap_or_default())
    }

    pub(crate) fn build(source: Source) -> Document {
        Document::build_sharing(source, None)
    }

    /// Builds a document; a key whose text is the same as in `previous` takes its
    /// parse and view from there instead of being read again (after an edit,
    /// only the edited keys are read).
    pub(crate) fn build_sharing(source: Source, previous: Option<&Document>) -> Document {
        let shared_of = |key: DataKey| source.value(key.as_str());
        let text_of = |key: DataKey| shared_of(key).map(|t| t.as_str());
        // The same allocation (an unchanged value after an edit) needs no compare.
        let same = |key: DataKey| {
            previous.filter(|p| match (p.data_string(key), text_of(key)) {
                (Some(a), Some(b)) => std::ptr::eq(a, b) || a == b,
                (a, b) => a == b,
            })
        };
        // Each key is read on its own (parse, then decode); large ones in parallel.
        // A key an edit changed is read again from its previous reading when it can be.
        fn read_key<T: Send + Sync + Clone + Default + PartialEq>(
            key: DataKey,
            text: Option<&Arc<String>>,
            shared: Option<(&Arc<Parsed>, &Arc<KeyView<T>>)>,
            before: Option<(&str, &Parsed, &KeyView<T>, &read::Schema<T>)>,
            view: fn(&Parsed, &Arc<String>) -> KeyView<T>,
        ) -> (Arc<Parsed>, Arc<KeyView<T>>) {
            if let Some((p, v)) = shared {
                return (Arc::clone(p), Arc::clone(v));
            }
            if let (Some(text), Some((old_text, old, old_view, schema))) = (text, before)
                && let Some((parsed, v)) =
                    crate::reread::reread(old_text, old, old_view, text, schema)
            {
                // Tests and fuzzing hold the shortcut to what a whole reading gives.
                #[cfg(any(test, feature = "fuzzing"))]
                {
                    let full = read::parse_key(key, text.as_str());
                    let same = match (&parsed.tree, &full.tree) {
                        (Some(a), Some(b)) => crate::reread::same_tree(a, b),
                        (a, b) => a == b,
                    };
                    assert!(
                        same && full.state == parsed.state,
                        "re-reading {key} after an edit gave another tree"
                    );
                    assert!(
                        view(&full, text) == v,
                        "re-reading {key} after an edit gave another view"
                    );
                }
                return (Arc::new(parsed), Arc::new(v));
            }
            let Some(text) = text else {
                let absent = crate::model::KeyState::Absent;
                let parsed = Parsed {
                    tree: None,
                    state: absent.clone(),
                };
                return (Arc::new(parsed), Arc::new(KeyView::with_state(absent)));
            };
            let parsed = read::parse_key(key, text.as_str());
            let v = view(&parsed, text);
            (Arc::new(parsed), Arc::new(v))
        }
        let shared_roles = same(DataKey::MapRoles).map(|p| (&p.parsed[0], &p.view.roles));
        let shared_users = same(DataKey::MapUsers).map(|p| (&p.parsed[1], &p.view.users));
        let shared_accounts = same(DataKey::MapAccounts).map(|p| (&p.parsed[2], &p.view.accounts));
        let before = |key: DataKey| {
            let p = previous?;
            Some((p.data_string(key)?, p.parsed(key)))
        };
        let roles = || {
            read_key(
                DataKey::MapRoles,
                shared_of(DataKey::MapRoles),
                shared_roles,
                before(DataKey::MapRoles)
                    .and_then(|(t, p)| Some((t, p, &*previous?.view.roles, &read::ROLES))),
                read::roles,
            )
        };
        let users = || {
            read_key(
                DataKey::MapUsers,
                shared_of(DataKey::MapUsers),
                shared_users,
                before(DataKey::MapUsers)
                    .and_then(|(t, p)| Some((t, p, &*previous?.view.users, &read::USERS))),
                read::users,
            )
        };
        let accounts = || {
            read_key(
                DataKey::MapAccounts,
                shared_of(DataKey::MapAccounts),
                shared_accounts,
                None,
                read::accounts,
            )
        };
        let work = |key: DataKey, shared: bool| {
            if shared {
                0
            } else {
                text_of(key).map_or(0, str::len)
            }
        };
        let big = work(DataKey::MapRoles, shared_roles.is_some())
            .min(work(DataKey::MapUsers, shared_users.is_some()))
            > PARALLEL_MIN;
        let (
            (roles_parsed, roles_view),
            (users_parsed, users_view),
            (accounts_parsed, accounts_view),
        ) = if big {
            std::thread::scope(|scope| {
                let users = scope.spawn(users);
                let roles = roles();
                let accounts = accounts();
                // A panic in the reader is a bug; it is passed on, not hidden.
                let users = users
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e));
                (roles, users, accounts)
            })
        } else {
            (roles(), users(), accounts())
        };
        let parsed = [roles_parsed, users_parsed, accounts_parsed];
        let view = MapView {
            roles: roles_view,
            users: users_view,
            accounts: accounts_view,
        };
        Document {
            source,
            parsed,
            view,
            lines: LineCache::default(),
            effective: OnceLock::new(),
        }
    }

    /// What the authenticator reads.
    pub fn view(&self) -> &MapView {
        &self.view
    }

    /// Which entry the authenticator uses for each principal
    /// ([`effective`](crate::effective)); worked out once per document.
    pub fn effective(&self) -> crate::effective::Effective<'_> {
        let index = self
            .effective
            .get_or_init(|| crate::effective::Index::build(&self.view));
        crate::effective::Effective::with_index(&self.view, index.clone())
    }

    /// The decoded data string of a key, if the ConfigMap has it.
    pub fn data_string(&self, key: DataKey) -> Option<&str> {
        self.data_value(key.as_str())
    }

    /// Any data value by key, including keys the authenticator does not read.
    pub fn data_value(&self, key: &str) -> Option<&str> {
        self.source.value(key).map(|v| v.as_str())
    }

    /// Every data key, in the order of the manifest (sorted for bare data).
    pub fn data_keys(&self) -> Vec<&str> {
        match &self.source {
            Source::Manifest { manifest, .. } => {
                manifest.values.iter().map(|v| v.key.as_str()).collect()
            }
            Source::Data { data } => data.keys().map(String::as_str).collect(),
        }
    }

    /// The manifest text, when the document was read from one.
    pub fn manifest_text(&self) -> Option<&str> {
        match &self.source {
            Source::Manifest { text, .. } => Some(text),
            Source::Data { .. } => None,
        }
    }

    /// `metadata.name` of the manifest.
    pub fn name(&self) -> Option<&str> {
        match &self.source {
            Source::Manifest { manifest, .. } => manifest.name.as_deref(),
            Source::Data { .. } => None,
        }
    }

    /// `metadata.namespace` of the manifest.
    pub fn namespace(&self) -> Option<&str> {
        match &self.source {
            Source::Manifest { manifest, .. } => manifest.namespace.as_deref(),
            Source::Data { .. } => None,
        }
    }

    /// An annotation of the manifest (`metadata.annotations`), when it is a string.
    pub fn annotation(&self, name: &str) -> Option<&str> {
        match &self.source {
            Source::Manifest { manifest, .. } => manifest.annotations.get(name).map(String::as_str),
            Source::Data { .. } => None,
        }
    }

    /// `metadata.resourceVersion` of the manifest.
    pub fn resource_version(&self) -> Option<&str> {
        match &self.source {
            Source::Manifest { manifest, .. } => manifest.resource_version.as_deref(),
            Source::Data { .. } => None,
        }
    }

    /// `metadata.uid` of the manifest.
    pub fn uid(&self) -> Option<&str> {
        match &self.source {
            Source::Manifest { manifest, .. } => manifest.uid.as_deref(),
            Source::Data { .. } => None,
        }
    }

    /// [`Document::data_string`] as the document holds it, to share.
    pub(crate) fn shared_data(&self, key: DataKey) -> Option<&Arc<String>> {
        self.source.value(key.as_str())
    }

    pub(crate) fn parsed(&self, key: DataKey) -> &Parsed {
        &self.parsed[slot(key)]
    }

    /// Where a byte offset of a data string is: in the manifest when there is
    /// one, else in the data string itself.
    pub fn position(&self, key: DataKey, offset: usize) -> Position {
        let text = self.data_string(key).unwrap_or_default();
        let Source::Manifest {
            text: manifest_text,
            manifest,
        } = &self.source
        else {
            return self.lines.key(key, text).position(text, offset);
        };
        let Some(value) = manifest.value(key.as_str()) else {
            return Position::new(1, 1);
        };
        let at = match &value.codec {
            Codec::Literal(l) => {
                // A line start maps to the manifest line start; point at the text.
                let inner = self.lines.key(key, text);
                let line_start = inner.line_start(inner.line_of(offset));
                let mut found = l.locate_offsets(manifest_text, &[offset]).pop().flatten();
                if offset == line_start {
                    found = found.map(|f| {
                        let line = &manifest_text[f..];
                        let blank = line.split('\n').next().is_none_or(|l| l.trim().is_empty());
                        if blank { f } else { f + l.indent }
                    });
                }
                found
            }
            Codec::Quoted { double } => {
                let token = &manifest_text[value.token.clone()];
                crate::yaml::quoted::locate(token, *double, &[offset])
                    .pop()
                    .flatten()
                    .map(|o| value.token.start + o)
            }
            Codec::Whole => None,
        };
        self.lines
            .manifest(manifest_text)
            .position(manifest_text, at.unwrap_or(value.token.start))
    }
}
