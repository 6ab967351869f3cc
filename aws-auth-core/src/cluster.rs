//! The live ConfigMap: read it, and write edits back without ever replacing it
//! wholesale (feature `kube`).
//!
//! A write sends only the data keys an edit changed, in a JSON merge patch that
//! carries the `resourceVersion` it was computed from, so the API server refuses
//! it (409 Conflict) if anyone wrote in between. On a conflict the *operations*
//! are applied again to a fresh read, never the old bytes: whatever the other
//! writer added survives.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use aws_auth_core::cluster::{Cluster, Outcome, WriteOptions};
//! use aws_auth_core::edit::{Guards, MappingSpec, Op};
//!
//! let client = kube::Client::try_default().await?;
//! let cluster = Cluster::new(client, "kube-system", "aws-auth");
//! let op = Op::AddUser(MappingSpec::new("arn:aws:iam::111122223333:user/alice", "alice", ["developers"]));
//! let outcome = cluster
//!     .edit(None, &[op], &Guards::default(), &WriteOptions::default(), |_prior, _edited| Ok(()))
//!     .await?;
//! if let Outcome::Written { attempts, .. } = outcome {
//!     println!("written after {attempts} attempt(s)");
//! }
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::core::ObjectMeta;

use crate::Document;
use crate::edit::{EditError, Edited, Guard, Guards, Op};
use crate::store::{Failure, MapStore, Store, StoreError};

/// The field manager our writes are recorded under.
pub const FIELD_MANAGER: &str = "aws-auth";

/// The ConfigMap as read, with the document made from it.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The whole object, as the API server returned it.
    pub config_map: ConfigMap,
    /// Its data, read as the authenticator reads it.
    pub document: Document,
}

impl Snapshot {
    /// Wraps an object read from the API server.
    pub fn new(config_map: ConfigMap) -> Snapshot {
        let document = Document::from_config_map(&config_map);
        Snapshot {
            config_map,
            document,
        }
    }

    /// The version the object was read at.
    pub fn resource_version(&self) -> Option<&str> {
        self.config_map.metadata.resource_version.as_deref()
    }

    /// The value of one of the object's annotations.
    pub fn annotation(&self, name: &str) -> Option<&str> {
        self.config_map
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(name))
            .map(String::as_str)
    }

    /// Which object this is (namespace, name, uid).
    pub fn object_id(&self) -> crate::restore::ObjectId {
        let m = &self.config_map.metadata;
        crate::restore::ObjectId::new(m.namespace.clone(), m.name.clone(), m.uid.clone())
    }
}

pub use crate::store::{RetryNotice, RetryPolicy, WriteOptions};

/// What an edit did: [`store::Outcome`](crate::store::Outcome) of the
/// ConfigMap read and the one written.
pub type Outcome = crate::store::Outcome<Snapshot, ConfigMap>;

/// Why reading or writing the ConfigMap failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// The ConfigMap does not exist.
    #[error("{namespace}/{name} does not exist")]
    NotFound {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
    /// The operations do not apply to the map as read.
    #[error(transparent)]
    Edit(EditError),
    /// Another writer changed the map between our read and our write, and the
    /// operations no longer apply to what it wrote.
    #[error("another writer changed the map meanwhile and the edit no longer applies: {source}")]
    NoLongerApplies {
        /// Why the edit fails on the new map.
        source: EditError,
    },
    /// Another writer changed the map so that the edit now trips guards that
    /// were not accepted when it started.
    #[error("another writer changed the map meanwhile, and the edit now {}; run it again to decide", .guards.iter().map(|g| g.message.as_str()).collect::<Vec<_>>().join("; "))]
    GuardsChanged {
        /// The new guards.
        guards: Vec<Guard>,
    },
    /// Every attempt met a conflicting write.
    #[error("gave up after {attempts} attempts: other writers kept changing the map")]
    Conflict {
        /// Attempts made.
        attempts: u32,
    },
    /// The API server refused the request (401 or 403).
    #[error("the API server refused access ({code}): {message}")]
    Forbidden {
        /// 401 or 403.
        code: u16,
        /// Its message.
        message: String,
    },
    /// Any other error status.
    #[error("the API server answered {code} {reason}: {message}")]
    Api {
        /// The HTTP status.
        code: u16,
        /// The Kubernetes reason (`InternalError`, `Invalid`, ...).
        reason: String,
        /// Its message.
        message: String,
    },
    /// The API server could not be reached, or did not answer in time.
    #[error("cannot reach the Kubernetes API: {message}")]
    Unreachable {
        /// What went wrong, innermost cause included.
        message: String,
    },
    /// The API server kept throttling (429) after every retry.
    #[error("the API server kept answering 429 Too Many Requests ({attempts} attempts)")]
    Throttled {
        /// Attempts made.
        attempts: u32,
    },
    /// No write got an answer in time; none is known to have landed.
    #[error(
        "the API server did not answer in time ({attempts} writes sent, none confirmed; a read showed none of them landed)"
    )]
    NoAnswer {
        /// Writes sent.
        attempts: u32,
    },
    /// The answer was not a ConfigMap (a proxy's error page, a cut body).
    #[error("the API server answered with something that is not a ConfigMap ({message})")]
    BadAnswer {
        /// Why it does not decode.
        message: String,
    },
    /// The caller's hook stopped the write.
    #[error("{0}")]
    Hook(Box<dyn std::error::Error + Send + Sync>),
}

impl ClusterError {
    fn from_kube(e: kube::Error) -> ClusterError {
        match e {
            kube::Error::Api(status) if status.code == 401 || status.code == 403 => {
                ClusterError::Forbidden {
                    code: status.code,
                    message: status.message,
                }
            }
            kube::Error::Api(status) => ClusterError::Api {
                code: status.code,
                reason: status.reason,
                message: status.message,
            },
            kube::Error::SerdeError(e) => ClusterError::BadAnswer {
                message: e.to_string(),
            },
            other => ClusterError::Unreachable {
                message: crate::error_chain(&other),
            },
        }
    }
}

/// What a kube error means to the edit loop.
fn failure(e: &kube::Error) -> Failure {
    match e {
        kube::Error::Api(s) if s.is_conflict() || s.is_already_exists() => Failure::Conflict,
        kube::Error::Api(s) if matches!(s.code, 429 | 503) => Failure::NotDone {
            status: Some(s.code),
            // The API server says when to come back (it also sends Retry-After).
            retry_after: s
                .details
                .as_ref()
                .map(|d| Duration::from_secs(u64::from(d.retry_after_seconds)))
                .filter(|d| !d.is_zero()),
        },
        // A gateway that lost the answer.
        kube::Error::Api(s) if matches!(s.code, 502 | 504) => Failure::Unknown {
            status: Some(s.code),
        },
        // The server answered that it failed: final for a write, a read may
        // do better.
        kube::Error::Api(s) if s.code >= 500 => Failure::ServerFailed { status: s.code },
        kube::Error::Api(_) => Failure::Final,
        // Nothing listens there, or the name does not resolve: trying again
        // changes nothing (kubectl does not either).
        other if refused(other) => Failure::Final,
        _ => Failure::Unknown { status: None },
    }
}

fn refused(e: &kube::Error) -> bool {
    let text = crate::error_chain(e);
    text.contains("Connection refused")
        || text.contains("failed to lookup address")
        || text.contains("Name or service not known")
        || text.contains("dns error")
}

/// The ConfigMap through a kube client: the [`MapStore`] the loop drives.
#[derive(Clone)]
struct KubeMap {
    api: Api<ConfigMap>,
    namespace: String,
    name: String,
}

impl KubeMap {
    fn new_object(&self, data: BTreeMap<String, String>) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                namespace: Some(self.namespace.clone()),
                ..ObjectMeta::default()
            },
            data: Some(data),
            ..ConfigMap::default()
        }
    }
}

impl MapStore for KubeMap {
    type Object = Snapshot;
    type Written = ConfigMap;
    type Error = kube::Error;

    fn failure(&self, e: &kube::Error) -> Failure {
        failure(e)
    }

    fn reason(&self, e: &kube::Error) -> String {
        match e {
            kube::Error::Api(s) => s.reason.clone(),
            kube::Error::SerdeError(_) => "an answer that is not a ConfigMap".to_owned(),
            other => crate::store::describe(other),
        }
    }

    fn document<'a>(&self, object: &'a Snapshot) -> &'a Document {
        &object.document
    }

    fn written(&self, object: Snapshot) -> ConfigMap {
        object.config_map
    }

    async fn get(&self) -> Result<Option<Snapshot>, kube::Error> {
        Ok(self.api.get_opt(&self.name).await?.map(Snapshot::new))
    }

    async fn patch(
        &self,
        prior: &Snapshot,
        changed: &BTreeMap<String, String>,
        dry_run: bool,
    ) -> Result<ConfigMap, kube::Error> {
        let data = changed
            .iter()
            .map(|(k, v)| (k.clone(), Some(v.clone())))
            .collect();
        let patch = merge_patch(prior.resource_version(), &data);
        self.api
            .patch(&self.name, &patch_params(dry_run), &Patch::Merge(&patch))
            .await
    }

    async fn create(
        &self,
        data: &BTreeMap<String, String>,
        dry_run: bool,
    ) -> Result<ConfigMap, kube::Error> {
        let params = PostParams {
            dry_run,
            field_manager: Some(FIELD_MANAGER.to_owned()),
        };
        self.api
            .create(&params, &self.new_object(data.clone()))
            .await
    }
}

/// The aws-auth ConfigMap of one cluster.
#[derive(Clone)]
pub struct Cluster {
    store: Store<KubeMap>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("namespace", &self.store.inner().namespace)
            .field("name", &self.store.inner().name)
            .field("retry", self.store.retry())
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// The ConfigMap `namespace/name` (normally `kube-system/aws-auth`).
    pub fn new(client: kube::Client, namespace: &str, name: &str) -> Cluster {
        Cluster {
            store: Store::new(KubeMap {
                api: Api::namespaced(client, namespace),
                namespace: namespace.to_owned(),
                name: name.to_owned(),
            }),
        }
    }

    /// True when a write was sent whose outcome no answer told
    /// ([`Store::write_outcome_unknown`]).
    pub fn write_outcome_unknown(&self) -> bool {
        self.store.write_outcome_unknown()
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Cluster {
        self.store = self.store.with_retry(retry);
        self
    }

    /// Calls `observer` before every wait to try a request again (to tell the
    /// user why nothing seems to happen).
    pub fn on_retry(mut self, observer: impl Fn(&RetryNotice) + Send + Sync + 'static) -> Cluster {
        self.store = self.store.on_retry(observer);
        self
    }

    fn not_found(&self) -> ClusterError {
        let m = self.store.inner();
        ClusterError::NotFound {
            namespace: m.namespace.clone(),
            name: m.name.clone(),
        }
    }

    /// A store error as this module says it.
    fn error(&self, e: StoreError<kube::Error>) -> ClusterError {
        match e {
            StoreError::NotFound => self.not_found(),
            StoreError::Edit(e) => ClusterError::Edit(e),
            StoreError::NoLongerApplies { source } => ClusterError::NoLongerApplies { source },
            StoreError::GuardsChanged { guards } => ClusterError::GuardsChanged { guards },
            StoreError::Conflict { attempts } => ClusterError::Conflict { attempts },
            StoreError::NoAnswer { attempts } => ClusterError::NoAnswer { attempts },
            StoreError::Hook(e) => ClusterError::Hook(e),
            StoreError::NotDone { attempts, source } => match &source {
                kube::Error::Api(s) if s.code == 429 => ClusterError::Throttled { attempts },
                _ => ClusterError::from_kube(source),
            },
            StoreError::Request(kube::Error::Api(s)) if s.code == 404 => self.not_found(),
            StoreError::Request(e) => ClusterError::from_kube(e),
        }
    }

    /// A single write request, tried again while not processed; a conflict
    /// is one.
    async fn write<T, F, Fut>(&self, call: F) -> Result<T, ClusterError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, kube::Error>>,
    {
        match self.store.persist(false, call).await {
            Ok(v) => Ok(v),
            Err((e, _)) if failure(&e) == Failure::Conflict => {
                Err(ClusterError::Conflict { attempts: 1 })
            }
            Err(e) => Err(self.error(self.store.final_error(e))),
        }
    }

    /// `namespace/name`.
    pub fn object_name(&self) -> String {
        let m = self.store.inner();
        format!("{}/{}", m.namespace, m.name)
    }

    /// Reads the ConfigMap; `None` when it does not exist. Throttling,
    /// unavailability and lost answers are retried (see [`RetryPolicy`]).
    pub async fn get(&self) -> Result<Option<Snapshot>, ClusterError> {
        self.store.get().await.map_err(|e| self.error(e))
    }

    /// Reads the ConfigMap, which must exist.
    pub async fn require(&self) -> Result<Snapshot, ClusterError> {
        self.get().await?.ok_or_else(|| self.not_found())
    }

    /// Applies `ops` and writes the changed keys back, trying again on
    /// conflicts ([`Store::edit`]). `first` is a snapshot already read (saves
    /// a request); `None` reads one. `before_write` runs before every write
    /// attempt with the object the edit was applied to (`None` when creating
    /// it) — the place to save a backup — and can stop the write.
    ///
    /// Guards forced on the first attempt are the ones the caller accepted: a
    /// later attempt that trips others fails with
    /// [`ClusterError::GuardsChanged`].
    pub async fn edit<H>(
        &self,
        first: Option<Snapshot>,
        ops: &[Op],
        guards: &Guards,
        options: &WriteOptions,
        before_write: H,
    ) -> Result<Outcome, ClusterError>
    where
        H: FnMut(
            Option<&Snapshot>,
            &Edited,
        ) -> Result<(), Box<dyn std::error::Error + Send + Sync>>,
    {
        self.store
            .edit(first, ops, guards, options, before_write)
            .await
            .map_err(|e| self.error(e))
    }

    /// [`Cluster::edit`] of an edit already planned and checked on `current`
    /// ([`Store::edit_checked`]): the first write sends it as it is.
    pub async fn edit_checked<H>(
        &self,
        current: Option<Snapshot>,
        edited: Edited,
        ops: &[Op],
        guards: &Guards,
        options: &WriteOptions,
        before_write: H,
    ) -> Result<Outcome, ClusterError>
    where
        H: FnMut(
            Option<&Snapshot>,
            &Edited,
        ) -> Result<(), Box<dyn std::error::Error + Send + Sync>>,
    {
        self.store
            .edit_checked(current, edited, ops, guards, options, before_write)
            .await
            .map_err(|e| self.error(e))
    }

    /// Deletes the ConfigMap read in `prior`, on condition that nobody wrote
    /// since.
    pub async fn delete(&self, prior: &Snapshot) -> Result<(), ClusterError> {
        let params = kube::api::DeleteParams {
            preconditions: Some(kube::api::Preconditions {
                resource_version: prior.resource_version().map(str::to_owned),
                uid: prior.config_map.metadata.uid.clone(),
            }),
            ..kube::api::DeleteParams::default()
        };
        let m = self.store.inner();
        self.write(|| m.api.delete(&m.name, &params))
            .await
            .map(|_| ())
    }

    /// Deletes the ConfigMap for good once its mappings live elsewhere (the
    /// switch to authentication mode `API`): `save` keeps a copy of `prior`
    /// first and names it; the object is then annotated with the reason (and
    /// the copy's name) as a [delete override](crate::admission::delete_override)
    /// that expires after `ttl`, so a validating webhook lets this delete
    /// alone through; then it is deleted on condition nobody wrote since.
    /// Returns the copy's name.
    pub async fn retire(
        &self,
        prior: &Snapshot,
        reason: &str,
        ttl: std::time::Duration,
        save: impl FnOnce(&Snapshot) -> Result<String, Box<dyn std::error::Error + Send + Sync>>,
    ) -> Result<String, ClusterError> {
        let saved = save(prior).map_err(ClusterError::Hook)?;
        let value = crate::admission::delete_override(
            &format!("{reason}; backup {saved}"),
            std::time::SystemTime::now(),
            ttl,
        );
        let annotated = self
            .annotate(prior, crate::admission::ALLOW_ANNOTATION, Some(&value))
            .await?;
        self.delete(&Snapshot::new(annotated)).await?;
        Ok(saved)
    }

    /// Sets (or with `None` removes) one annotation, with the snapshot's
    /// `resourceVersion` as a precondition: a conflict when another writer
    /// got there first. Returns the object as written.
    pub async fn annotate(
        &self,
        prior: &Snapshot,
        key: &str,
        value: Option<&str>,
    ) -> Result<ConfigMap, ClusterError> {
        let patch = serde_json::json!({
            "metadata": {
                "resourceVersion": prior.resource_version(),
                "annotations": {key: value},
            }
        });
        let params = patch_params(false);
        let merge = Patch::Merge(&patch);
        let m = self.store.inner();
        self.write(|| m.api.patch(&m.name, &params, &merge)).await
    }

    /// Writes `data` (a value per key; `None` deletes the key) over the object
    /// read in `prior`, once, on condition that nobody wrote since. Used to put
    /// a backup back.
    pub async fn write_data(
        &self,
        prior: &Snapshot,
        data: &BTreeMap<String, Option<String>>,
        server_dry_run: bool,
    ) -> Result<ConfigMap, ClusterError> {
        let patch = merge_patch(prior.resource_version(), data);
        let params = patch_params(server_dry_run);
        let merge = Patch::Merge(&patch);
        let m = self.store.inner();
        self.write(|| m.api.patch(&m.name, &params, &merge)).await
    }
}

fn patch_params(dry_run: bool) -> PatchParams {
    PatchParams {
        dry_run,
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PatchParams::default()
    }
}

/// A JSON merge patch of data keys, conditional on `resource_version`.
///
/// ```
/// use std::collections::BTreeMap;
/// let data = BTreeMap::from([("mapUsers".to_owned(), Some("- userarn: x\n".to_owned())), ("old".to_owned(), None)]);
/// let patch = aws_auth_core::cluster::merge_patch(Some("42"), &data);
/// assert_eq!(patch.to_string(), r#"{"metadata":{"resourceVersion":"42"},"data":{"mapUsers":"- userarn: x\n","old":null}}"#);
/// ```
pub fn merge_patch(
    resource_version: Option<&str>,
    data: &BTreeMap<String, Option<String>>,
) -> serde_json::Value {
    let mut patch = serde_json::Map::new();
    if let Some(rv) = resource_version {
        patch.insert(
            "metadata".to_owned(),
            serde_json::json!({ "resourceVersion": rv }),
        );
    }
    patch.insert(
        "data".to_owned(),
        serde_json::Value::Object(
            data.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.clone().map_or(serde_json::Value::Null, Into::into),
                    )
                })
                .collect(),
        ),
    );
    serde_json::Value::Object(patch)
}
