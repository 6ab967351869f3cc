//! A ConfigMap's text together with what the reader sees in it.

use std::collections::BTreeMap;

use crate::manifest::{Codec, Manifest};
use crate::model::{DataKey, MapView};
use crate::position::{LineIndex, Position};
use crate::read::{self, Parsed};

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
    Manifest {
        text: String,
        manifest: Manifest,
        lines: LineIndex,
    },
    /// Bare data strings (or a ConfigMap object's `data`).
    Data { data: BTreeMap<String, String> },
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
    pub(crate) parsed: [Parsed; 3],
    pub(crate) view: MapView,
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
        let lines = LineIndex::new(&text);
        let manifest = Manifest::parse(&text).map_err(|e| ManifestError {
            position: lines.position(&text, e.offset),
            message: e.message,
        })?;
        Ok(Document::build(Source::Manifest {
            text,
            manifest,
            lines,
        }))
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
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Document::build(Source::Data { data })
    }

    /// Reads a Kubernetes ConfigMap object.
    #[cfg(feature = "k8s-openapi")]
    pub fn from_config_map(config_map: &k8s_openapi::api::core::v1::ConfigMap) -> Document {
        Document::from_data(config_map.data.clone().unwrap_or_default())
    }

    pub(crate) fn build(source: Source) -> Document {
        let text_of = |key: DataKey| -> Option<&str> {
            match &source {
                Source::Manifest { manifest, .. } => {
                    manifest.value(key.as_str()).map(|v| v.decoded.as_str())
                }
                Source::Data { data } => data.get(key.as_str()).map(String::as_str),
            }
        };
        let parsed = DataKey::ALL.map(|key| match text_of(key) {
            Some(text) => read::parse_key(key, text),
            None => Parsed {
                tree: None,
                state: crate::model::KeyState::Absent,
            },
        });
        let roles_text = text_of(DataKey::MapRoles).unwrap_or_default();
        let users_text = text_of(DataKey::MapUsers).unwrap_or_default();
        let accounts_text = text_of(DataKey::MapAccounts).unwrap_or_default();
        let view = MapView {
            roles: read::roles(&parsed[0], roles_text),
            users: read::users(&parsed[1], users_text),
            accounts: read::accounts(&parsed[2], accounts_text),
        };
        Document {
            source,
            parsed,
            view,
        }
    }

    /// What the authenticator reads.
    pub fn view(&self) -> &MapView {
        &self.view
    }

    /// The decoded data string of a key, if the ConfigMap has it.
    pub fn data_string(&self, key: DataKey) -> Option<&str> {
        self.data_value(key.as_str())
    }

    /// Any data value by key, including keys the authenticator does not read.
    pub fn data_value(&self, key: &str) -> Option<&str> {
        match &self.source {
            Source::Manifest { manifest, .. } => manifest.value(key).map(|v| v.decoded.as_str()),
            Source::Data { data } => data.get(key).map(String::as_str),
        }
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

    /// `metadata.resourceVersion` of the manifest.
    pub fn resource_version(&self) -> Option<&str> {
        match &self.source {
            Source::Manifest { manifest, .. } => manifest.resource_version.as_deref(),
            Source::Data { .. } => None,
        }
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
            lines,
        } = &self.source
        else {
            return LineIndex::new(text).position(text, offset);
        };
        let Some(value) = manifest.value(key.as_str()) else {
            return Position::new(1, 1);
        };
        let at = match &value.codec {
            Codec::Literal(l) => {
                // A line start maps to the manifest line start; point at the text.
                let inner = LineIndex::new(text);
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
                crate::manifest::quoted::locate(token, *double, &[offset])
                    .pop()
                    .flatten()
                    .map(|o| value.token.start + o)
            }
            Codec::Whole => None,
        };
        lines.position(manifest_text, at.unwrap_or(value.token.start))
    }
}
