//! The read-plan-write-retry loop of a live edit, over any Kubernetes
//! client (feature `store`; `kube` builds [`Cluster`](crate::cluster::Cluster)
//! on it).
//!
//! A client implements [`MapStore`]: read the ConfigMap, write changed data
//! keys with the `resourceVersion` they were computed from, and say what a
//! failed request means ([`Failure`]). [`Store`] then does the rest, the
//! same way whatever the client: the operations planned against what was
//! read, guarded, written conditionally; on a conflict the *operations*
//! applied again to a fresh read (never the old bytes); throttling,
//! unavailability and lost answers tried again with bounded, jittered
//! waits; a lost answer to a write checked by reading the map again.
//!
//! ```
//! use std::collections::BTreeMap;
//! use std::sync::Mutex;
//! use aws_auth_core::Document;
//! use aws_auth_core::edit::{Guards, Op};
//! use aws_auth_core::store::{Failure, MapStore, Outcome, Store, WriteOptions};
//!
//! /// A map kept in memory, with a version counter, as a test double or a
//! /// client of another Kubernetes library would keep it.
//! #[derive(Default)]
//! struct Memory(Mutex<(u64, BTreeMap<String, String>)>);
//!
//! #[derive(Debug, thiserror::Error)]
//! #[error("conflict")]
//! struct Conflict;
//!
//! impl MapStore for Memory {
//!     type Object = (u64, Document);
//!     type Written = u64;
//!     type Error = Conflict;
//!     fn failure(&self, _: &Conflict) -> Failure { Failure::Conflict }
//!     fn document<'a>(&self, o: &'a (u64, Document)) -> &'a Document { &o.1 }
//!     fn written(&self, o: (u64, Document)) -> u64 { o.0 }
//!     async fn get(&self) -> Result<Option<(u64, Document)>, Conflict> {
//!         let m = self.0.lock().unwrap();
//!         Ok(Some((m.0, Document::from_data(m.1.clone()))))
//!     }
//!     async fn patch(&self, prior: &(u64, Document), data: &BTreeMap<String, String>, _: bool) -> Result<u64, Conflict> {
//!         let mut m = self.0.lock().unwrap();
//!         if m.0 != prior.0 { return Err(Conflict); }
//!         m.0 += 1;
//!         m.1.extend(data.clone());
//!         Ok(m.0)
//!     }
//!     async fn create(&self, data: &BTreeMap<String, String>, dry_run: bool) -> Result<u64, Conflict> {
//!         self.patch(&(0, Document::from_data(BTreeMap::<String, String>::new())), data, dry_run).await
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let store = Store::new(Memory::default());
//! let op = Op::add_user("arn:aws:iam::111122223333:user/alice", "alice", ["devs"]);
//! let outcome = store.edit(None, &[op], &Guards::new(), &WriteOptions::new(), |_, _| Ok(())).await.unwrap();
//! assert!(matches!(outcome, Outcome::Written { after: 1, attempts: 1, .. }));
//! # });
//! ```

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::Document;
use crate::edit::{EditError, Edited, Guard, Guards, Op};

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

/// How to write.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct WriteOptions {
    /// Create the ConfigMap when it does not exist.
    pub create: bool,
    /// Send the write with `dryRun=All`: the API server validates it and
    /// stores nothing.
    pub server_dry_run: bool,
}

impl WriteOptions {
    /// Neither create nor dry run.
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
pub enum Outcome<O, W> {
    /// Nothing to change: the map already says what the operations ask.
    Unchanged {
        /// The edit (its changes say why nothing was written).
        edited: Edited,
        /// The object as read (`None`: it does not exist, and nothing asked
        /// to create it).
        current: Option<O>,
    },
    /// Written (or, with `server_dry_run`, accepted by the server and not stored).
    Written {
        /// The edit that was written.
        edited: Edited,
        /// The object it was applied to (`None` when it was created).
        prior: Option<O>,
        /// The object after the write, as the server returned it.
        after: W,
        /// Attempts it took (more than one after conflicts).
        attempts: u32,
    },
}

/// What a client's failed request means to the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// Another writer got there first (409 Conflict, or AlreadyExists for a
    /// create): read again and plan the operations again.
    Conflict,
    /// Not processed (429, 503): the same request again, reads and writes,
    /// after at least `retry_after` when the server said so.
    NotDone {
        /// The HTTP status, for the notice.
        status: Option<u16>,
        /// How long the server asked to wait.
        retry_after: Option<Duration>,
    },
    /// No answer, or one that says nothing of the outcome (a timeout, a
    /// gateway's 502 or 504): a read is tried again; a write may have landed.
    Unknown {
        /// The HTTP status, if any answer came.
        status: Option<u16>,
    },
    /// The server answered that it failed (500): a read may do better, a
    /// write is not tried again.
    ServerFailed {
        /// The HTTP status.
        status: u16,
    },
    /// Final: the request will not succeed by being sent again (refused,
    /// invalid, not found, unreachable).
    Final,
}

/// A Kubernetes client's access to the aws-auth ConfigMap: what [`Store`]
/// needs to drive a conditional, retried edit.
pub trait MapStore: Send + Sync {
    /// The object as read, with whatever the client keeps of it (the whole
    /// ConfigMap for backups, its `resourceVersion`) and its document.
    type Object: Clone + Send + Sync;
    /// What a write returns.
    type Written: Send;
    /// A request's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// What a failed request means ([`Failure`]).
    fn failure(&self, e: &Self::Error) -> Failure;

    /// A failure in a few words, for a retry notice (`ServiceUnavailable`,
    /// `no answer in time`); by default its innermost cause.
    fn reason(&self, e: &Self::Error) -> String {
        describe(e)
    }

    /// The object's data, read as the authenticator reads it.
    fn document<'a>(&self, object: &'a Self::Object) -> &'a Document;

    /// The object a read returned, as a write's answer (when a write whose
    /// answer was lost is found to have landed).
    fn written(&self, object: Self::Object) -> Self::Written;

    /// Reads the ConfigMap; `None` when it does not exist.
    fn get(&self) -> impl Future<Output = Result<Option<Self::Object>, Self::Error>> + Send;

    /// Writes `data` (changed keys only) over `prior`, on condition that its
    /// `resourceVersion` is still the current one (a JSON merge patch that
    /// carries it, for the API server): a conflict otherwise.
    fn patch(
        &self,
        prior: &Self::Object,
        data: &BTreeMap<String, String>,
        dry_run: bool,
    ) -> impl Future<Output = Result<Self::Written, Self::Error>> + Send;

    /// Creates the ConfigMap with `data`: a conflict when it exists.
    fn create(
        &self,
        data: &BTreeMap<String, String>,
        dry_run: bool,
    ) -> impl Future<Output = Result<Self::Written, Self::Error>> + Send;
}

/// Why an edit through a [`Store`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError<E: std::error::Error + 'static> {
    /// The ConfigMap does not exist (and nothing asked to create it).
    #[error("the ConfigMap does not exist")]
    NotFound,
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
    /// The server kept saying it did not process the request (429, 503).
    #[error("the server kept refusing to process the request ({attempts} attempts)")]
    NotDone {
        /// Attempts made.
        attempts: u32,
        /// The last answer.
        source: E,
    },
    /// No write got an answer in time; none is known to have landed.
    #[error(
        "the API server did not answer in time ({attempts} writes sent, none confirmed; a read showed none of them landed)"
    )]
    NoAnswer {
        /// Writes sent.
        attempts: u32,
    },
    /// The caller's hook stopped the write.
    #[error("{0}")]
    Hook(Box<dyn std::error::Error + Send + Sync>),
    /// A request failed for good (the client's error).
    #[error(transparent)]
    Request(E),
}

type Observer = Arc<dyn Fn(&RetryNotice) + Send + Sync>;

/// A [`MapStore`] with the loop around it: retries, the conditional edit.
#[derive(Clone)]
pub struct Store<S> {
    inner: S,
    retry: RetryPolicy,
    observer: Option<Observer>,
    /// A write was sent and no answer said whether it was carried out.
    write_unknown: Arc<AtomicBool>,
}

impl<S> std::fmt::Debug for Store<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl<S: MapStore> Store<S> {
    /// The loop around `inner`, with the default [`RetryPolicy`].
    pub fn new(inner: S) -> Store<S> {
        Store {
            inner,
            retry: RetryPolicy::default(),
            observer: None,
            write_unknown: Arc::default(),
        }
    }

    /// The client.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The retry policy.
    pub fn retry(&self) -> &RetryPolicy {
        &self.retry
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Store<S> {
        self.retry = retry;
        self
    }

    /// Calls `observer` before every wait to try a request again (to tell the
    /// user why nothing seems to happen).
    pub fn on_retry(mut self, observer: impl Fn(&RetryNotice) + Send + Sync + 'static) -> Store<S> {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// True when a write was sent whose outcome no answer told: it is in
    /// flight, or its answer was lost. A caller that gives up at a deadline
    /// says "a write may have landed" only then: after answers that all said
    /// the write was not carried out (429, 503, 409), nothing was written.
    pub fn write_outcome_unknown(&self) -> bool {
        self.write_unknown.load(Ordering::SeqCst)
    }

    /// Tells the observer, then waits: the back-off, or longer when the
    /// server said when to come back.
    async fn wait_to_retry(
        &self,
        request: &'static str,
        failure: Failure,
        reason: String,
        attempt: u32,
    ) {
        let (status, asked) = match failure {
            Failure::NotDone {
                status,
                retry_after,
            } => (status, retry_after),
            Failure::Unknown { status } => (status, None),
            Failure::ServerFailed { status } => (Some(status), None),
            _ => (None, None),
        };
        let wait = self.retry.transient_wait(attempt).max(
            asked
                .unwrap_or_default()
                .min(self.retry.transient_max_delay * 4),
        );
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

    /// A request tried again while the server throttles, is unavailable or
    /// does not answer; `read`: also when the outcome is unknown (reads
    /// change nothing). The error, and the attempts made, when it fails.
    pub async fn persist<T, F, Fut>(&self, read: bool, mut call: F) -> Result<T, (S::Error, u32)>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, S::Error>>,
    {
        let request = if read { "read" } else { "write" };
        let unknown = |yes: bool| {
            if !read {
                self.write_unknown.store(yes, Ordering::SeqCst);
            }
        };
        let mut attempt = 1;
        loop {
            unknown(true);
            let answer = call().await;
            let failure = answer.as_ref().err().map(|e| self.inner.failure(e));
            // What the answer says of a write: carried out, or not, or
            // nothing (no answer, a gateway's 502/504, a server's 500).
            unknown(matches!(
                failure,
                Some(Failure::Unknown { .. } | Failure::ServerFailed { .. })
            ));
            let e = match answer {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let failure = failure.unwrap_or(Failure::Final);
            let again = match failure {
                Failure::NotDone { .. } => true,
                Failure::Unknown { .. } | Failure::ServerFailed { .. } => read,
                Failure::Conflict | Failure::Final => false,
            };
            if !again || attempt >= self.retry.transient_attempts {
                return Err((e, attempt));
            }
            self.wait_to_retry(request, failure, self.inner.reason(&e), attempt)
                .await;
            attempt += 1;
        }
    }

    /// The final error of a request [`Store::persist`] gave up on.
    pub fn final_error(&self, (e, attempts): (S::Error, u32)) -> StoreError<S::Error> {
        match self.inner.failure(&e) {
            Failure::NotDone { .. } => StoreError::NotDone {
                attempts,
                source: e,
            },
            _ => StoreError::Request(e),
        }
    }

    /// Reads the ConfigMap; `None` when it does not exist. Throttling,
    /// unavailability and lost answers are retried (see [`RetryPolicy`]).
    pub async fn get(&self) -> Result<Option<S::Object>, StoreError<S::Error>> {
        self.persist(true, || self.inner.get())
            .await
            .map_err(|e| self.final_error(e))
    }

    /// Applies `ops` and writes the changed keys back, trying again on
    /// conflicts. `first` is an object already read (saves a request); `None`
    /// reads one. `before_write` runs before every write attempt with the
    /// object the edit was applied to (`None` when creating it) — the place
    /// to save a backup — and can stop the write.
    ///
    /// Guards forced on the first attempt are the ones the caller accepted: a
    /// later attempt that trips others fails with
    /// [`StoreError::GuardsChanged`].
    pub async fn edit<H>(
        &self,
        first: Option<S::Object>,
        ops: &[Op],
        guards: &Guards,
        options: &WriteOptions,
        before_write: H,
    ) -> Result<Outcome<S::Object, S::Written>, StoreError<S::Error>>
    where
        H: FnMut(
            Option<&S::Object>,
            &Edited,
        ) -> Result<(), Box<dyn std::error::Error + Send + Sync>>,
    {
        let current = match first {
            Some(o) => Some(o),
            None => self.get().await?,
        };
        self.edit_from(current, None, ops, guards, options, before_write)
            .await
    }

    /// [`Store::edit`] of an edit the caller already planned and checked on
    /// `current` (`None`: the map does not exist), with these `ops` and
    /// `guards` (a preview shown, forced guards confirmed): its first write
    /// is `edited` as it is, not planned again; a conflict plans the ops
    /// again on the fresh read.
    pub async fn edit_checked<H>(
        &self,
        current: Option<S::Object>,
        edited: Edited,
        ops: &[Op],
        guards: &Guards,
        options: &WriteOptions,
        before_write: H,
    ) -> Result<Outcome<S::Object, S::Written>, StoreError<S::Error>>
    where
        H: FnMut(
            Option<&S::Object>,
            &Edited,
        ) -> Result<(), Box<dyn std::error::Error + Send + Sync>>,
    {
        self.edit_from(current, Some(edited), ops, guards, options, before_write)
            .await
    }

    async fn edit_from<H>(
        &self,
        mut current: Option<S::Object>,
        mut planned: Option<Edited>,
        ops: &[Op],
        guards: &Guards,
        options: &WriteOptions,
        mut before_write: H,
    ) -> Result<Outcome<S::Object, S::Written>, StoreError<S::Error>>
    where
        H: FnMut(
            Option<&S::Object>,
            &Edited,
        ) -> Result<(), Box<dyn std::error::Error + Send + Sync>>,
    {
        let mut accepted: Option<Vec<Guard>> = None;
        let empty = Document::from_data(BTreeMap::<String, String>::new());
        // Why attempts ended without a write: a conflict is another writer;
        // no answer is the server.
        let (mut conflicts, mut unanswered) = (0u32, 0u32);
        for attempt in 1..=self.retry.max_attempts {
            let document = match &current {
                Some(o) => self.inner.document(o),
                None if options.create => &empty,
                None => return Err(StoreError::NotFound),
            };
            let edited = match planned.take() {
                Some(e) => e,
                None => match document.edit(ops, guards) {
                    Ok(e) => e,
                    Err(e) if attempt == 1 => return Err(StoreError::Edit(e)),
                    Err(source) => return Err(StoreError::NoLongerApplies { source }),
                },
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
                        return Err(StoreError::GuardsChanged { guards: new });
                    }
                }
            }
            if edited.is_noop() {
                return Ok(Outcome::Unchanged { edited, current });
            }
            before_write(current.as_ref(), &edited).map_err(StoreError::Hook)?;
            let changed = edited.changed_data();
            let written = self
                .persist(false, || async {
                    match &current {
                        Some(o) => self.inner.patch(o, &changed, options.server_dry_run).await,
                        None => self.inner.create(&changed, options.server_dry_run).await,
                    }
                })
                .await;
            let (e, tries) = match written {
                Ok(after) => {
                    return Ok(Outcome::Written {
                        edited,
                        prior: current,
                        after,
                        attempts: attempt,
                    });
                }
                Err(e) => e,
            };
            match self.inner.failure(&e) {
                Failure::Conflict => {
                    conflicts += 1;
                    tracing::debug!(attempt, "conflicting write; reading the map again");
                    tokio::time::sleep(self.retry.delay(attempt)).await;
                    current = self.get().await?;
                }
                failure @ Failure::Unknown { .. } if !options.server_dry_run => {
                    // The write may have landed before the answer was lost.
                    unanswered += 1;
                    tracing::debug!(attempt, error = %e, "no answer to the write; reading the map again");
                    let now = self.get().await?;
                    if let Some(o) = &now
                        && landed(self.inner.document(o), &changed)
                    {
                        let after = self.inner.written(o.clone());
                        return Ok(Outcome::Written {
                            edited,
                            prior: current,
                            after,
                            attempts: attempt,
                        });
                    }
                    if unanswered >= self.retry.transient_attempts {
                        return Err(StoreError::NoAnswer {
                            attempts: unanswered,
                        });
                    }
                    self.wait_to_retry("write", failure, self.inner.reason(&e), unanswered)
                        .await;
                    current = now;
                }
                _ => return Err(self.final_error((e, tries))),
            }
        }
        if conflicts == 0 {
            return Err(StoreError::NoAnswer {
                attempts: unanswered,
            });
        }
        Err(StoreError::Conflict {
            attempts: self.retry.max_attempts,
        })
    }
}

/// A failure in a few words for a retry notice: the innermost cause (hyper
/// hides the useful part there: "connection refused", "deadline has
/// elapsed"), or "no answer in time".
pub fn describe(e: &dyn std::error::Error) -> String {
    let mut last = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        last = c.to_string();
        cause = c.source();
    }
    if last.contains("elapsed") || last.contains("timed out") || last.contains("timeout") {
        return "no answer in time".to_owned();
    }
    last
}

/// Whether the document holds every changed value (a write whose answer was
/// lost, found to have landed).
fn landed(document: &Document, changed: &BTreeMap<String, String>) -> bool {
    changed.iter().all(|(k, v)| {
        crate::model::DataKey::ALL
            .iter()
            .find(|d| d.as_str() == k)
            .and_then(|d| document.data_string(*d))
            == Some(v.as_str())
    })
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
        let doc = Document::from_data([("mapUsers", "a")]);
        let one = BTreeMap::from([("mapUsers".to_owned(), "a".to_owned())]);
        assert!(landed(&doc, &one));
        let two = BTreeMap::from([
            ("mapUsers".to_owned(), "a".to_owned()),
            ("mapRoles".to_owned(), "b".to_owned()),
        ]);
        assert!(!landed(&doc, &two));
    }
}
