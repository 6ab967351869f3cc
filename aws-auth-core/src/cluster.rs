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
}

/// How often, and how patiently, requests are tried again.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts of an edit in all (the first included), each a read and a
    /// write, while other writers' conflicting writes (409) make it start over.
    pub max_attempts: u32,
    /// The first back-off after a conflict; it doubles up to `max_delay`, and
    /// a random part of it is waited (full jitter), so that racing writers
    /// spread out.
    pub base_delay: Duration,
    /// The longest back-off after a conflict.
    pub max_delay: Duration,
    /// Attempts of one request (the first included) while the API server
    /// throttles (429), is unavailable (5xx) or does not answer.
    pub transient_attempts: u32,
    /// The first wait before such a request is tried again; it doubles up to
    /// `transient_max_delay`.
    pub transient_delay: Duration,
    /// The longest wait before such a request is tried again.
    pub transient_max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        // Enough for a few dozen writers racing on one map, and bounded; an
        // unavailable server gets about half a minute.
        RetryPolicy {
            max_attempts: 24,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(1000),
            transient_attempts: 6,
            transient_delay: Duration::from_millis(500),
            transient_max_delay: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max_delay);
        ceiling.mul_f64(fastrand::f64())
    }

    /// The wait before attempt `attempt + 1` of a request: half of it fixed,
    /// half random.
    fn transient_wait(&self, attempt: u32) -> Duration {
        let ceiling = self
            .transient_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.transient_max_delay);
        ceiling.mul_f64(0.5 + fastrand::f64() / 2.0)
    }
}

/// A request about to be tried again, for the caller to show ("the API server
/// answered 503, retrying in 4 s (attempt 3)").
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryNotice {
    /// `read` or `write`.
    pub request: &'static str,
    /// The HTTP status, or `None` when no answer came.
    pub status: Option<u16>,
    /// What went wrong, in words (`ServiceUnavailable`, `no answer in time`).
    pub reason: String,
    /// The attempt about to be made (2 for the first retry).
    pub attempt: u32,
    /// How long until then.
    pub wait: Duration,
}

impl std::fmt::Display for RetryNotice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(code) => write!(f, "the API server answered {code} {}", self.reason)?,
            None => write!(f, "no answer from the API server ({})", self.reason)?,
        }
        write!(
            f,
            " to a {}, retrying in {:.1} s (attempt {})",
            self.request,
            self.wait.as_secs_f64(),
            self.attempt
        )
    }
}

/// Who hears about retries.
type Observer = std::sync::Arc<dyn Fn(&RetryNotice) + Send + Sync>;

/// How an edit is written.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct WriteOptions {
    /// Create the ConfigMap when it does not exist (otherwise that is an error).
    pub create: bool,
    /// Send the write with `dryRun=All`: the API server validates it and
    /// stores nothing.
    pub server_dry_run: bool,
}

impl WriteOptions {
    /// Write to an existing ConfigMap, for real.
    pub fn new() -> WriteOptions {
        WriteOptions::default()
    }

    /// [`WriteOptions::create`].
    pub fn create(mut self, create: bool) -> WriteOptions {
        self.create = create;
        self
    }

    /// [`WriteOptions::server_dry_run`].
    pub fn server_dry_run(mut self, dry_run: bool) -> WriteOptions {
        self.server_dry_run = dry_run;
        self
    }
}

/// What an edit did.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum Outcome {
    /// Nothing to change: the map already says what the operations ask.
    Unchanged {
        /// The edit (its changes say why nothing was written).
        edited: Edited,
        /// The object as read.
        current: Snapshot,
    },
    /// Written (or, with `server_dry_run`, accepted by the server and not stored).
    Written {
        /// The edit that was written.
        edited: Edited,
        /// The object it was applied to (`None` when it was created).
        prior: Option<Snapshot>,
        /// The object after the write, as the server returned it.
        after: ConfigMap,
        /// Attempts it took (more than one after conflicts).
        attempts: u32,
    },
}

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
                message: chain(&other),
            },
        }
    }
}

/// How a failed request may be tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transient {
    /// Not processed (429, 503): the same request again, reads and writes.
    NotDone,
    /// No answer, or one that says nothing of the outcome (502, 504, a cut
    /// body): a read is tried again; a write may have landed.
    Unknown,
    /// The server failed the request (500): a read is tried again, a write
    /// is not.
    ReadsOnly,
    /// Final.
    No,
}

fn transient(e: &kube::Error) -> Transient {
    match e {
        kube::Error::Api(s) if matches!(s.code, 429 | 503) => Transient::NotDone,
        // A gateway that lost the answer.
        kube::Error::Api(s) if matches!(s.code, 502 | 504) => Transient::Unknown,
        // The server answered that it failed: final for a write, a read may
        // do better.
        kube::Error::Api(s) if s.code >= 500 => Transient::ReadsOnly,
        kube::Error::Api(_) => Transient::No,
        // Nothing listens there, or the name does not resolve: trying again
        // changes nothing (kubectl does not either).
        other if refused(other) => Transient::No,
        _ => Transient::Unknown,
    }
}

fn refused(e: &kube::Error) -> bool {
    let text = chain(e);
    text.contains("Connection refused")
        || text.contains("failed to lookup address")
        || text.contains("Name or service not known")
        || text.contains("dns error")
}

/// A short name for what went wrong, for a retry notice.
fn retry_reason(e: &kube::Error) -> (Option<u16>, String) {
    match e {
        kube::Error::Api(s) => (Some(s.code), s.reason.clone()),
        kube::Error::SerdeError(_) => (None, "an answer that is not a ConfigMap".to_owned()),
        other => {
            let text = chain(other);
            let reason = if text.contains("elapsed")
                || text.contains("timed out")
                || text.contains("timeout")
            {
                "no answer in time".to_owned()
            } else {
                text.rsplit(": ").next().unwrap_or(&text).to_owned()
            };
            (None, reason)
        }
    }
}

/// An error and its causes, `: `-separated (hyper hides the useful part in
/// the innermost one: "connection refused", "deadline has elapsed").
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let s = c.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cause = c.source();
    }
    out
}

fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.is_conflict() || s.is_already_exists())
}

/// The aws-auth ConfigMap of one cluster.
#[derive(Clone)]
pub struct Cluster {
    api: Api<ConfigMap>,
    namespace: String,
    name: String,
    retry: RetryPolicy,
    observer: Option<Observer>,
    /// A write was sent and no answer said whether it was carried out (it
    /// is in flight, its answer was lost, or a gateway answered 502/504).
    write_unknown: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("namespace", &self.namespace)
            .field("name", &self.name)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// The ConfigMap `namespace/name` (normally `kube-system/aws-auth`).
    pub fn new(client: kube::Client, namespace: &str, name: &str) -> Cluster {
        Cluster {
            api: Api::namespaced(client, namespace),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            retry: RetryPolicy::default(),
            observer: None,
            write_unknown: Default::default(),
        }
    }

    /// True when a write was sent whose outcome no answer told: it is in
    /// flight, or its answer was lost. A caller that gives up at a deadline
    /// says "a write may have landed" only then: after answers that all said
    /// the write was not carried out (429, 503, 409), nothing was written.
    pub fn write_outcome_unknown(&self) -> bool {
        self.write_unknown.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Cluster {
        self.retry = retry;
        self
    }

    /// Calls `observer` before every wait to try a request again (to tell the
    /// user why nothing seems to happen).
    pub fn on_retry(mut self, observer: impl Fn(&RetryNotice) + Send + Sync + 'static) -> Cluster {
        self.observer = Some(std::sync::Arc::new(observer));
        self
    }

    /// Tells the observer, then waits: the back-off, or longer when the API
    /// server said when to come back (a 429's `retryAfterSeconds`, which it
    /// also sends as `Retry-After`).
    async fn wait_to_retry(&self, request: &'static str, e: &kube::Error, attempt: u32) {
        let asked = match e {
            kube::Error::Api(s) => s
                .details
                .as_ref()
                .map(|d| Duration::from_secs(u64::from(d.retry_after_seconds)))
                .filter(|d| !d.is_zero()),
            _ => None,
        };
        let wait = self.retry.transient_wait(attempt).max(
            asked
                .unwrap_or_default()
                .min(self.retry.transient_max_delay * 4),
        );
        let (status, reason) = retry_reason(e);
        let notice = RetryNotice {
            request,
            status,
            reason,
            attempt: attempt + 1,
            wait,
        };
        tracing::debug!(%notice, "retrying");
        if let Some(observer) = &self.observer {
            observer(&notice);
        }
        tokio::time::sleep(wait).await;
    }

    /// A request tried again while the API server throttles, is unavailable
    /// or does not answer; `unknown_ok`: also when the outcome is unknown
    /// (reads, which change nothing).
    async fn persist<T, F, Fut>(
        &self,
        request: &'static str,
        unknown_ok: bool,
        mut call: F,
    ) -> Result<T, kube::Error>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, kube::Error>>,
    {
        let mut attempt = 1;
        let unknown = |yes: bool| {
            if request == "write" {
                self.write_unknown
                    .store(yes, std::sync::atomic::Ordering::SeqCst);
            }
        };
        loop {
            unknown(true);
            let answer = call().await;
            // What the answer says of a write: carried out, or not, or
            // nothing (no answer, a gateway's 502/504, a server's 500).
            unknown(
                matches!(&answer, Err(e) if matches!(transient(e), Transient::Unknown | Transient::ReadsOnly)),
            );
            match answer {
                Ok(v) => return Ok(v),
                Err(e) => {
                    let again = match transient(&e) {
                        Transient::NotDone => true,
                        Transient::Unknown | Transient::ReadsOnly => unknown_ok,
                        Transient::No => false,
                    };
                    if !again || attempt >= self.retry.transient_attempts {
                        return Err(e);
                    }
                    self.wait_to_retry(request, &e, attempt).await;
                    attempt += 1;
                }
            }
        }
    }

    /// A final error of a request tried `attempts` times.
    fn final_error(&self, e: kube::Error) -> ClusterError {
        match &e {
            kube::Error::Api(s) if s.code == 429 => ClusterError::Throttled {
                attempts: self.retry.transient_attempts,
            },
            kube::Error::Api(s) if s.code == 404 => ClusterError::NotFound {
                namespace: self.namespace.clone(),
                name: self.name.clone(),
            },
            _ => ClusterError::from_kube(e),
        }
    }

    /// `namespace/name`.
    pub fn object_name(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Reads the ConfigMap; `None` when it does not exist. Throttling,
    /// unavailability and lost answers are retried (see [`RetryPolicy`]).
    pub async fn get(&self) -> Result<Option<Snapshot>, ClusterError> {
        match self
            .persist("read", true, || self.api.get_opt(&self.name))
            .await
        {
            Ok(cm) => Ok(cm.map(Snapshot::new)),
            Err(e) => Err(self.final_error(e)),
        }
    }

    /// Reads the ConfigMap, which must exist.
    pub async fn require(&self) -> Result<Snapshot, ClusterError> {
        self.get().await?.ok_or_else(|| ClusterError::NotFound {
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        })
    }

    /// Applies `ops` and writes the changed keys back, trying again on
    /// conflicts. `first` is a snapshot already read (saves a request); `None`
    /// reads one. `before_write` runs before every write attempt with the object
    /// the edit was applied to (`None` when creating it) — the place to save a
    /// backup — and can stop the write.
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
        mut before_write: H,
    ) -> Result<Outcome, ClusterError>
    where
        H: FnMut(
            Option<&Snapshot>,
            &Edited,
        ) -> Result<(), Box<dyn std::error::Error + Send + Sync>>,
    {
        let mut current = match first {
            Some(s) => Some(s),
            None => self.get().await?,
        };
        let mut accepted: Option<Vec<Guard>> = None;
        let empty = Document::from_data(BTreeMap::<String, String>::new());
        // Why attempts ended without a write: a conflict is another writer;
        // no answer is the server.
        let (mut conflicts, mut unanswered) = (0u32, 0u32);
        for attempt in 1..=self.retry.max_attempts {
            let document = match &current {
                Some(s) => &s.document,
                None if options.create => &empty,
                None => {
                    return Err(ClusterError::NotFound {
                        namespace: self.namespace.clone(),
                        name: self.name.clone(),
                    });
                }
            };
            let edited = match document.edit(ops, guards) {
                Ok(e) => e,
                Err(e) if attempt == 1 => return Err(ClusterError::Edit(e)),
                Err(source) => return Err(ClusterError::NoLongerApplies { source }),
            };
            match &accepted {
                None => accepted = Some(edited.forced.clone()),
                Some(ok) => {
                    let new: Vec<Guard> = edited
                        .forced
                        .iter()
                        .filter(|g| !ok.iter().any(|a| a.same_as(g)))
                        .cloned()
                        .collect();
                    if !new.is_empty() {
                        return Err(ClusterError::GuardsChanged { guards: new });
                    }
                }
            }
            if edited.is_noop() {
                let current = match current {
                    Some(s) => s,
                    None => Snapshot::new(self.new_object(BTreeMap::new())),
                };
                return Ok(Outcome::Unchanged { edited, current });
            }
            before_write(current.as_ref(), &edited).map_err(ClusterError::Hook)?;
            let changed = edited.changed_data();
            let written = self
                .persist("write", false, || async {
                    match &current {
                        Some(s) => self.patch(s, &changed, options.server_dry_run).await,
                        None => self.create(&changed, options.server_dry_run).await,
                    }
                })
                .await;
            match written {
                Ok(after) => {
                    return Ok(Outcome::Written {
                        edited,
                        prior: current,
                        after,
                        attempts: attempt,
                    });
                }
                Err(e) if is_conflict(&e) => {
                    conflicts += 1;
                    tracing::debug!(attempt, "conflicting write; reading the map again");
                    tokio::time::sleep(self.retry.delay(attempt)).await;
                    current = self.get().await?;
                }
                Err(e) if transient(&e) == Transient::Unknown && !options.server_dry_run => {
                    // The write may have landed before the answer was lost.
                    unanswered += 1;
                    tracing::debug!(attempt, error = %e, "no answer to the write; reading the map again");
                    let now = self.get().await?;
                    if let Some(s) = &now
                        && landed(&s.config_map, &changed)
                    {
                        return Ok(Outcome::Written {
                            edited,
                            prior: current,
                            after: s.config_map.clone(),
                            attempts: attempt,
                        });
                    }
                    if unanswered >= self.retry.transient_attempts {
                        return Err(ClusterError::NoAnswer {
                            attempts: unanswered,
                        });
                    }
                    self.wait_to_retry("write", &e, unanswered).await;
                    current = now;
                }
                Err(e) => return Err(self.final_error(e)),
            }
        }
        if conflicts == 0 {
            return Err(ClusterError::NoAnswer {
                attempts: unanswered,
            });
        }
        Err(ClusterError::Conflict {
            attempts: self.retry.max_attempts,
        })
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
        match self
            .persist("write", false, || self.api.delete(&self.name, &params))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_conflict(&e) => Err(ClusterError::Conflict { attempts: 1 }),
            Err(e) => Err(self.final_error(e)),
        }
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
        match self
            .persist("write", false, || {
                self.api.patch(&self.name, &params, &merge)
            })
            .await
        {
            Ok(cm) => Ok(cm),
            Err(e) if is_conflict(&e) => Err(ClusterError::Conflict { attempts: 1 }),
            Err(e) => Err(self.final_error(e)),
        }
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
        match self
            .persist("write", false, || {
                self.api.patch(&self.name, &params, &merge)
            })
            .await
        {
            Ok(cm) => Ok(cm),
            Err(e) if is_conflict(&e) => Err(ClusterError::Conflict { attempts: 1 }),
            Err(e) => Err(self.final_error(e)),
        }
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

/// The object holds every changed key with the value written.
fn landed(config_map: &ConfigMap, changed: &BTreeMap<String, String>) -> bool {
    let data = config_map.data.as_ref();
    changed
        .iter()
        .all(|(k, v)| data.and_then(|d| d.get(k)) == Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_grows_and_stays_bounded() {
        let p = RetryPolicy::default();
        for attempt in 0..40 {
            assert!(p.delay(attempt) <= p.max_delay);
        }
        let mean = |a| (0..200).map(|_| p.delay(a).as_secs_f64()).sum::<f64>() / 200.0;
        assert!(mean(1) < mean(5));
    }

    #[test]
    fn landed_needs_every_changed_key() {
        let cm = ConfigMap {
            data: Some(BTreeMap::from([("mapUsers".to_owned(), "a".to_owned())])),
            ..ConfigMap::default()
        };
        let one = BTreeMap::from([("mapUsers".to_owned(), "a".to_owned())]);
        assert!(landed(&cm, &one));
        let two = BTreeMap::from([
            ("mapUsers".to_owned(), "a".to_owned()),
            ("mapRoles".to_owned(), "b".to_owned()),
        ]);
        assert!(!landed(&cm, &two));
    }
}
