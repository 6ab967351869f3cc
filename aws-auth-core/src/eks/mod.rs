//! The EKS side of a migration, for callers that bring their own AWS clients:
//! what the cluster holds (its authentication mode, the access entries of the
//! map's principals, the IAM paths of its roles), carrying a plan out on one
//! shared pace, and the one-way switch of the authentication mode.
//!
//! The caller builds the clients from its own configuration (credentials,
//! region, proxies) and passes the EKS client's builder through [`configure`]
//! first: throttled calls are then retried here, on a pace every call shares,
//! instead of by each call on its own.

mod apply;
mod iam;
mod pace;
mod run;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_eks::error::{ProvideErrorMetadata, SdkError};
use tokio::sync::Semaphore;

pub use apply::{Outcome, Status, Tick};
pub use iam::{IamAnswers, configure_iam};
pub use pace::{DEADLINE_PASSED, NoThrottleRetries, Pacer};
pub use run::{Resolved, Run};

use iam::Lookup;

use crate::arn::Arn;
use crate::entries::{
    AccessScope, AuthenticationMode, ClusterState, EntryType, ExistingEntry, Plan,
    PolicyAssociation, Read,
};
use pace::paced;

/// A result of this module.
pub type Result<T> = std::result::Result<T, EksError>;

/// Shapes an EKS client's configuration for a migration: throttled calls
/// are not retried by the SDK but by this module, on one pace, and their
/// retries cost no retry quota, so a long run is paced by the API's throttle
/// instead of failing once the quota runs out.
pub fn configure(builder: aws_sdk_eks::config::Builder) -> aws_sdk_eks::config::Builder {
    builder.retry_classifier(NoThrottleRetries).retry_partition(
        aws_sdk_eks::config::retry::RetryPartition::custom("aws-auth-migrate")
            .token_bucket(
                aws_sdk_eks::config::retry::TokenBucket::builder()
                    .throttling_retry_cost(0)
                    .build(),
            )
            .build(),
    )
}

/// What the kind of an [`EksError`] means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EksErrorKind {
    /// The credentials may not do this, or are not valid.
    Denied,
    /// The cluster (or another resource) does not exist.
    NotFound,
    /// The service failed, throttled beyond patience, or could not be reached.
    Unavailable,
    /// The request could not be made: credentials, profile or region.
    Config,
    /// Another update is under way.
    Conflict,
    /// A bug: a task of this module failed.
    Internal,
}

/// Why an EKS, IAM or STS call failed, in one sentence.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct EksError {
    kind: EksErrorKind,
    message: String,
}

impl EksError {
    fn new(kind: EksErrorKind, message: impl Into<String>) -> EksError {
        EksError {
            kind,
            message: message.into(),
        }
    }

    fn unavailable(message: impl Into<String>) -> EksError {
        EksError::new(EksErrorKind::Unavailable, message)
    }

    /// An SDK error of the call `what`, classified.
    fn sdk<E, R>(what: &str, e: SdkError<E, R>) -> EksError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        match &e {
            SdkError::ServiceError(service) => {
                let err = service.err();
                let code = err.code().unwrap_or("Unknown");
                let message = err.message().unwrap_or("");
                let kind = match code {
                    "AccessDeniedException"
                    | "AccessDenied"
                    | "UnrecognizedClientException"
                    | "InvalidClientTokenId"
                    | "ExpiredToken"
                    | "ExpiredTokenException"
                    | "SignatureDoesNotMatch" => EksErrorKind::Denied,
                    "ResourceNotFoundException" | "NoSuchEntity" => EksErrorKind::NotFound,
                    // Whatever else AWS refuses is a call this module chose to
                    // make, not the caller's input: the service failed.
                    _ => EksErrorKind::Unavailable,
                };
                EksError::new(kind, format!("{what}: {code}: {message}"))
            }
            SdkError::ConstructionFailure(_) => EksError::new(
                EksErrorKind::Config,
                format!(
                    "{what}: the AWS request could not be made ({}); check the credentials, --profile and --region",
                    crate::error_chain(&e)
                ),
            ),
            SdkError::TimeoutError(_) if crate::error_chain(&e).contains(DEADLINE_PASSED) => {
                EksError::unavailable(format!("{what}: {DEADLINE_PASSED}"))
            }
            _ => EksError::unavailable(format!(
                "{what}: cannot reach AWS: {}",
                crate::error_chain(&e)
            )),
        }
    }

    /// What kind of failure it is.
    pub fn kind(&self) -> EksErrorKind {
        self.kind
    }
}

fn code<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Option<&str> {
    match e {
        SdkError::ServiceError(s) => s.err().code(),
        _ => None,
    }
}

/// What DescribeCluster says.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClusterInfo {
    /// The authentication mode.
    pub mode: AuthenticationMode,
    /// The cluster's account (from its ARN).
    pub account: Option<String>,
    /// The Kubernetes API endpoint.
    pub endpoint: Option<String>,
    /// When the cluster was created (seconds since the Unix epoch).
    pub created_at: Option<i64>,
}

/// The EKS, IAM and STS clients of one cluster's migration, and the pace
/// every EKS call of it shares.
#[derive(Debug, Clone)]
pub struct Eks {
    eks: aws_sdk_eks::Client,
    iam: aws_sdk_iam::Client,
    sts: aws_sdk_sts::Client,
    pace: pace::Pace,
    /// IAM throttles on its own: its calls share another pace.
    iam_pace: pace::Pace,
    /// What IAM answered, asked once per principal.
    iam_answers: IamAnswers,
    cluster: String,
}

impl Eks {
    /// The migration of cluster `cluster` with these clients (the EKS one
    /// built from a configuration shaped by [`configure`]).
    pub fn new(
        eks: aws_sdk_eks::Client,
        iam: aws_sdk_iam::Client,
        sts: aws_sdk_sts::Client,
        cluster: impl Into<String>,
    ) -> Eks {
        let iam_answers = IamAnswers::default();
        Eks {
            eks,
            iam,
            sts,
            pace: pace::Pace::new(),
            // One pace with the answers, so that sharing them shares it.
            iam_pace: pace::Pace {
                shared: iam_answers.pacer(),
                deadline: None,
            },
            iam_answers,
            cluster: cluster.into(),
        }
    }

    /// The cluster's name.
    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// The region the EKS calls go to, as the client was configured.
    pub fn region(&self) -> Option<String> {
        self.eks.config().region().map(ToString::to_string)
    }

    /// No EKS call is sent after `at`: what would have been is reported
    /// [`DEADLINE_PASSED`] (a command's overall `--timeout`; a controller's
    /// reconcile budget).
    pub fn with_deadline(mut self, at: Option<std::time::Instant>) -> Eks {
        self.pace.deadline = at;
        self.iam_pace.deadline = at;
        self
    }

    /// The EKS calls' learnt rate (calls per second), for the next run of
    /// the same cluster to start from ([`Eks::starting_at`]).
    pub fn learnt_rate(&self) -> f64 {
        self.pace.shared.rate()
    }

    /// EKS calls start at `rate` (what an earlier run learnt), and go on
    /// learning from there.
    pub fn starting_at(self, rate: f64) -> Eks {
        self.pace.shared.start_at(rate);
        self
    }

    /// The pace of this client's EKS calls, for clients of other clusters
    /// that the same throttle counts (the same account and region).
    pub fn eks_pace(&self) -> Arc<Pacer> {
        Arc::clone(&self.pace.shared)
    }

    /// Sends EKS calls on `pace`, shared with clients of other clusters of
    /// the same account and region (EKS throttles them together): one
    /// learnt rate instead of each client throttled on its own. The
    /// deadline stays this client's.
    pub fn sharing_eks_pace(mut self, pace: Arc<Pacer>) -> Eks {
        self.pace.shared = pace;
        self
    }

    /// Deletes a principal's access entry (and with it its policy
    /// associations); `false` when there was none.
    pub async fn delete_entry(&self, principal: &str) -> Result<bool> {
        match paced(&self.pace, || {
            self.eks
                .delete_access_entry()
                .cluster_name(&self.cluster)
                .principal_arn(principal)
                .send()
        })
        .await
        {
            Ok(_) => Ok(true),
            Err(e) if code(&e) == Some("ResourceNotFoundException") => Ok(false),
            Err(e) => Err(EksError::sdk(
                &format!("eks:DeleteAccessEntry {principal}"),
                e,
            )),
        }
    }

    /// Carries `plan`'s actions out: each principal's calls in order (its
    /// entry before its policies), principals side by side, at most
    /// `concurrency` calls in flight; `tick` hears of each action as it ends.
    /// A create that meets an existing entry looks at it: the same is
    /// success, different is a conflict (updated with `update_existing`).
    pub async fn apply(
        &self,
        plan: &Plan,
        concurrency: usize,
        update_existing: bool,
        tick: Tick,
    ) -> Vec<Outcome> {
        apply::execute(self, plan, concurrency, update_existing, tick).await
    }

    /// The cluster's authentication mode, account and API endpoint.
    pub async fn describe_cluster(&self) -> Result<ClusterInfo> {
        let out = paced(&self.pace, || {
            self.eks.describe_cluster().name(&self.cluster).send()
        })
        .await
        .map_err(|e| EksError::sdk(&format!("cluster {}", self.cluster), e))?;
        let c = out
            .cluster()
            .ok_or_else(|| EksError::unavailable("DescribeCluster returned no cluster"))?;
        let mode = c
            .access_config()
            .and_then(|a| a.authentication_mode())
            .map_or(AuthenticationMode::ConfigMap, |m| {
                AuthenticationMode::from_name(m.as_str()).unwrap_or(AuthenticationMode::ConfigMap)
            });
        let account = c.arn().and_then(|a| a.split(':').nth(4)).map(str::to_owned);
        Ok(ClusterInfo {
            mode,
            account,
            endpoint: c.endpoint().map(str::to_owned),
            created_at: c.created_at().map(|t| t.secs()),
        })
    }

    async fn identity(&self) -> Result<iam::Identity> {
        self.iam_answers
            .identity
            .get_or_try_init(|| async {
                self.sts
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(|e| EksError::sdk("sts:GetCallerIdentity", e))
            })
            .await
            .cloned()
    }

    /// Who the credentials in use are (an assumed role's session as its role,
    /// without the path STS leaves out): the principal whose own entry the
    /// guards keep.
    pub async fn caller(&self) -> Result<Arn> {
        let out = self.identity().await?;
        let arn = out
            .arn()
            .ok_or_else(|| EksError::unavailable("sts:GetCallerIdentity returned no ARN"))?;
        arn.parse::<Arn>().map(|a| a.canonical()).map_err(|e| {
            EksError::unavailable(format!("sts:GetCallerIdentity returned {arn}: {e}"))
        })
    }

    /// The account of the credentials in use.
    pub async fn caller_account(&self) -> Result<String> {
        self.identity()
            .await?
            .account()
            .map(str::to_owned)
            .ok_or_else(|| EksError::unavailable("sts:GetCallerIdentity returned no account"))
    }

    /// Every principal with an access entry, all pages.
    pub async fn list_entries(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = paced(&self.pace, || {
                self.eks
                    .list_access_entries()
                    .cluster_name(&self.cluster)
                    .max_results(100)
                    .set_next_token(token.clone())
                    .send()
            })
            .await
            .map_err(|e| EksError::sdk("eks:ListAccessEntries", e))?;
            out.extend(page.access_entries().iter().cloned());
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => return Ok(out),
            }
        }
    }

    /// The policies of `principal`'s entry, without reading the entry: a
    /// STANDARD entry as far as a plan that names only policies needs it.
    async fn policies_only(&self, principal: &str) -> Result<Option<ExistingEntry>> {
        match self.policies_of(principal).await {
            Ok(policies) => {
                let mut e = ExistingEntry::new(principal, EntryType::Standard);
                e.policies = policies;
                Ok(Some(e))
            }
            // Not a STANDARD entry (EKS lists no policies there): read it.
            Err(_) => self.entry(principal).await,
        }
    }

    /// The policies associated with `principal`'s entry.
    async fn policies_of(&self, principal: &str) -> Result<Vec<PolicyAssociation>> {
        let mut policies = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = paced(&self.pace, || {
                self.eks
                    .list_associated_access_policies()
                    .cluster_name(&self.cluster)
                    .principal_arn(principal)
                    .max_results(100)
                    .set_next_token(token.clone())
                    .send()
            })
            .await
            .map_err(|e| {
                EksError::sdk(&format!("eks:ListAssociatedAccessPolicies {principal}"), e)
            })?;
            for p in page.associated_access_policies() {
                policies.push(PolicyAssociation {
                    policy_arn: p.policy_arn().unwrap_or_default().to_owned(),
                    access_scope: p.access_scope().map_or_else(AccessScope::cluster, |s| {
                        AccessScope {
                            kind: s.r#type().map_or("cluster", |t| t.as_str()).to_owned(),
                            namespaces: s.namespaces().to_vec(),
                        }
                    }),
                });
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => return Ok(policies),
            }
        }
    }

    /// An entry and its policies; `None` when it does not exist.
    pub async fn entry(&self, principal: &str) -> Result<Option<ExistingEntry>> {
        let out = match paced(&self.pace, || {
            self.eks
                .describe_access_entry()
                .cluster_name(&self.cluster)
                .principal_arn(principal)
                .send()
        })
        .await
        {
            Ok(o) => o,
            Err(e) if code(&e) == Some("ResourceNotFoundException") => return Ok(None),
            Err(e) => {
                return Err(EksError::sdk(
                    &format!("eks:DescribeAccessEntry {principal}"),
                    e,
                ));
            }
        };
        let Some(e) = out.access_entry() else {
            return Ok(None);
        };
        let kind = EntryType::from_name(e.r#type().unwrap_or("STANDARD"));
        // Only STANDARD entries hold policies the plan compares; EKS may
        // refuse to list them for the others.
        let policies = if kind == EntryType::Standard {
            self.policies_of(principal).await?
        } else {
            Vec::new()
        };
        Ok(Some(ExistingEntry {
            principal_arn: principal.to_owned(),
            kind,
            username: e.username().map(str::to_owned),
            kubernetes_groups: e.kubernetes_groups().to_vec(),
            policies,
            created_at: e.created_at().map(|t| t.secs()),
        }))
    }

    /// The cluster as far as `principals` are concerned: which of them have
    /// entries, and those entries in full.
    /// The cluster as far as `principals` are concerned (see
    /// [`principals`](crate::migrate::principals)): which of them have
    /// entries, and those entries in full; one principal's trouble is
    /// recorded for it, the others go on.
    pub async fn state(
        &self,
        info: &ClusterInfo,
        principals: &[String],
        concurrency: usize,
    ) -> Result<ClusterState> {
        self.state_reading(info, principals, concurrency, |_| Read::Full)
            .await
    }

    /// [`Eks::state`], reading of each existing entry only what `read` says
    /// a plan needs ([`crate::access::reads`]): a re-run with nothing to do
    /// costs the entry list and at most one read per principal.
    pub async fn state_reading(
        &self,
        info: &ClusterInfo,
        principals: &[String],
        concurrency: usize,
        read: impl Fn(&str) -> Read,
    ) -> Result<ClusterState> {
        let listed = if info.mode.has_access_entries() {
            self.list_entries().await?
        } else {
            Vec::new()
        };
        self.state_listed(info, &listed, principals, concurrency, read)
            .await
    }

    /// [`Eks::state_reading`] with the entry list already read.
    pub async fn state_listed(
        &self,
        info: &ClusterInfo,
        listed: &[String],
        principals: &[String],
        concurrency: usize,
        read: impl Fn(&str) -> Read,
    ) -> Result<ClusterState> {
        let mut state = ClusterState {
            name: self.cluster.clone(),
            account: info.account.clone(),
            mode: Some(info.mode),
            entries: BTreeMap::new(),
            unreadable: BTreeMap::new(),
        };
        if !info.mode.has_access_entries() {
            return Ok(state);
        }
        let existing: std::collections::BTreeSet<&String> = listed.iter().collect();
        let wanted: Vec<String> = principals
            .iter()
            .filter(|p| existing.contains(p))
            .cloned()
            .collect();
        let limit = Arc::new(Semaphore::new(concurrency));
        let mut tasks = tokio::task::JoinSet::new();
        for p in wanted {
            let (me, limit) = (self.clone(), Arc::clone(&limit));
            let how = read(&p);
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                let entry = match how {
                    Read::Full => me.entry(&p).await,
                    Read::Policies => me.policies_only(&p).await,
                    _ => Ok(Some(ExistingEntry::new(p.clone(), EntryType::Standard))),
                };
                (p, entry)
            });
        }
        while let Some(done) = tasks.join_next().await {
            let (principal, entry) =
                done.map_err(|e| EksError::new(EksErrorKind::Internal, e.to_string()))?;
            match entry {
                Ok(Some(e)) => {
                    state.entries.insert(e.principal_arn.clone(), e);
                }
                Ok(None) => {}
                // One principal's trouble is reported for it; the others go on.
                Err(e) => {
                    state.unreadable.insert(principal, e.to_string());
                }
            }
        }
        Ok(state)
    }

    /// The access-config update of this cluster still in progress, if one is
    /// (an earlier run killed while it waited leaves one behind).
    async fn access_update_in_flight(&self) -> Result<Option<String>> {
        use aws_sdk_eks::types::{UpdateStatus, UpdateType};
        let out = paced(&self.pace, || {
            self.eks
                .list_updates()
                .name(&self.cluster)
                .max_results(20)
                .send()
        })
        .await
        .map_err(|e| EksError::sdk(&format!("eks:ListUpdates {}", self.cluster), e))?;
        for id in out.update_ids() {
            let u = self.describe_update(id).await?;
            if let Some(u) = u.update()
                && u.r#type() == Some(&UpdateType::AccessConfigUpdate)
                && u.status() == Some(&UpdateStatus::InProgress)
            {
                return Ok(Some(id.clone()));
            }
        }
        Ok(None)
    }

    /// One cluster update, as EKS describes it.
    async fn describe_update(
        &self,
        id: &str,
    ) -> Result<aws_sdk_eks::operation::describe_update::DescribeUpdateOutput> {
        paced(&self.pace, || {
            self.eks
                .describe_update()
                .name(&self.cluster)
                .update_id(id)
                .send()
        })
        .await
        .map_err(|e| EksError::sdk(&format!("eks:DescribeUpdate {id}"), e))
    }

    /// Switches the authentication mode and waits for the update to finish;
    /// `progress` hears what is under way before each wait. A switch already
    /// under way is waited for, not started again.
    pub async fn switch_mode(
        &self,
        target: AuthenticationMode,
        poll: Duration,
        mut progress: impl FnMut(&str),
    ) -> Result<()> {
        use aws_sdk_eks::types::{AuthenticationMode as Mode, UpdateAccessConfigRequest};
        if let Some(id) = self.access_update_in_flight().await? {
            progress(&format!(
                "switching cluster {}: an earlier switch (update {id}) is under way, waiting for it...",
                self.cluster
            ));
            self.wait_update(&id, target, poll).await?;
            if self.describe_cluster().await?.mode == target {
                return Ok(());
            }
        }
        let started = paced(&self.pace, || {
            self.eks
                .update_cluster_config()
                .name(&self.cluster)
                .access_config(
                    UpdateAccessConfigRequest::builder()
                        .authentication_mode(Mode::from(target.as_str()))
                        .build(),
                )
                .send()
        })
        .await;
        let out = match started {
            Ok(out) => out,
            Err(e) if code(&e) == Some("ResourceInUseException") => {
                // Another update began meanwhile: wait for it if it is ours
                // to wait for, else say so.
                if let Some(id) = self.access_update_in_flight().await? {
                    progress(&format!(
                        "switching cluster {}: another switch (update {id}) is under way, waiting for it...",
                        self.cluster
                    ));
                    self.wait_update(&id, target, poll).await?;
                    if self.describe_cluster().await?.mode == target {
                        return Ok(());
                    }
                }
                return Err(EksError::new(
                    EksErrorKind::Conflict,
                    format!(
                        "cluster {}: another update is in progress; wait for it to finish and run this again",
                        self.cluster
                    ),
                ));
            }
            Err(e) => {
                return Err(EksError::sdk(
                    &format!("switching cluster {} to {target}", self.cluster),
                    e,
                ));
            }
        };
        let id = out
            .update()
            .and_then(|u| u.id())
            .ok_or_else(|| EksError::unavailable("UpdateClusterConfig returned no update id"))?
            .to_owned();
        progress(&format!(
            "switching cluster {} to {target} (update {id})...",
            self.cluster
        ));
        self.wait_update(&id, target, poll).await
    }

    /// Polls an update until it ends.
    async fn wait_update(
        &self,
        id: &str,
        target: AuthenticationMode,
        poll: Duration,
    ) -> Result<()> {
        use aws_sdk_eks::types::UpdateStatus;
        loop {
            tokio::time::sleep(poll).await;
            let out = self.describe_update(id).await?;
            let Some(u) = out.update() else {
                return Err(EksError::unavailable("DescribeUpdate returned no update"));
            };
            match u.status() {
                Some(UpdateStatus::Successful) => return Ok(()),
                Some(UpdateStatus::Failed | UpdateStatus::Cancelled) => {
                    let why: Vec<String> = u
                        .errors()
                        .iter()
                        .map(|e| {
                            format!(
                                "{}: {}",
                                e.error_code().map_or("error", |c| c.as_str()),
                                e.error_message().unwrap_or("")
                            )
                        })
                        .collect();
                    return Err(EksError::new(
                        EksErrorKind::Unavailable,
                        format!(
                            "the switch of cluster {} to {target} failed (update {id}){}",
                            self.cluster,
                            if why.is_empty() {
                                String::new()
                            } else {
                                format!(": {}", why.join("; "))
                            }
                        ),
                    ));
                }
                _ => {}
            }
        }
    }
}

/// `look` at each of `arns`, at most `concurrency` at once; the answers in
/// the order they come. A lookup that panicked answers `Failed`: a principal
/// left without an answer would pass unchecked.
async fn each_bounded<F, Fut>(arns: Vec<Arn>, concurrency: usize, look: F) -> Vec<(Arn, Lookup)>
where
    F: Fn(Arn) -> Fut,
    Fut: std::future::Future<Output = Lookup> + Send + 'static,
{
    let limit = Arc::new(Semaphore::new(concurrency));
    let mut tasks = tokio::task::JoinSet::new();
    let mut asked = std::collections::HashMap::new();
    for arn in arns {
        let (limit, answer) = (Arc::clone(&limit), look(arn.clone()));
        let task = tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            answer.await
        });
        asked.insert(task.id(), arn);
    }
    let mut out = Vec::new();
    while let Some(done) = tasks.join_next_with_id().await {
        let (id, answer) = match done {
            Ok((id, answer)) => (id, answer),
            Err(e) => (
                e.id(),
                Lookup::Failed(format!("the IAM lookup failed: {e}")),
            ),
        };
        if let Some(arn) = asked.remove(&id) {
            out.push((arn, answer));
        }
    }
    out
}

/// A role's account and name, lower-cased: what the authenticator compares.
pub fn role_key(arn: &Arn) -> String {
    crate::migrate::role_key(arn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Every principal gets an answer, a panicking lookup a `Failed` one, and
    /// no more than `concurrency` run at once.
    #[test]
    fn each_bounded_answers_for_everyone_within_the_bound() {
        let arns: Vec<Arn> = (0..20)
            .map(|i| {
                format!("arn:aws:iam::111122223333:user/u{i}")
                    .parse()
                    .unwrap()
            })
            .collect();
        let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let answers = runtime.block_on(each_bounded(arns.clone(), 3, |arn| {
            let (now, most) = (Arc::clone(&now), Arc::clone(&most));
            async move {
                let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(n, Ordering::SeqCst);
                tokio::task::yield_now().await;
                now.fetch_sub(1, Ordering::SeqCst);
                assert!(arn.name() != "u7", "a lookup that panics");
                Lookup::Found {
                    arn: arn.to_string(),
                    created_at: None,
                }
            }
        }));
        assert_eq!(answers.len(), 20);
        assert!(most.load(Ordering::SeqCst) <= 3);
        for (arn, r) in answers {
            match r {
                Lookup::Failed(why) => {
                    assert_eq!(arn.name(), "u7");
                    assert!(why.contains("the IAM lookup failed"), "{why}");
                }
                Lookup::Found { arn: full, .. } => assert_eq!(full, arn.to_string()),
                other => panic!("{other:?}"),
            }
        }
    }
}
