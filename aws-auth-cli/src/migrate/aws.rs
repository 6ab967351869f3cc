//! The AWS calls of the migrator: EKS (cluster, access entries, updates),
//! IAM (role paths) and STS (whose account we are in).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_auth_core::arn::{Arn, PrincipalKind};
use aws_auth_core::migrate::{
    AccessScope, AuthenticationMode, ClusterState, EntryType, ExistingEntry, PolicyAssociation,
    Resolution, Resolutions,
};
use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_eks::config::ProvideCredentials;
use aws_sdk_eks::error::{ProvideErrorMetadata, SdkError};
use tokio::sync::Semaphore;

use super::pace::paced;

use crate::cli::MigrateArgs;
use crate::exit::{CONFIG, INVALID, NOPERM, NOT_FOUND, UNAVAILABLE, fail};

/// The clients, for one cluster.
#[derive(Clone)]
pub(crate) struct Aws {
    pub(crate) eks: aws_sdk_eks::Client,
    /// The pace of EKS calls, learnt from throttling.
    pub(crate) pace: Arc<super::pace::Pacer>,
    iam: aws_sdk_iam::Client,
    sts: aws_sdk_sts::Client,
    pub(crate) cluster: String,
}

/// What DescribeCluster says.
#[derive(Debug, Clone)]
pub(crate) struct ClusterInfo {
    pub(crate) mode: AuthenticationMode,
    pub(crate) account: Option<String>,
    pub(crate) endpoint: Option<String>,
}

/// An AWS error as one sentence with its exit code.
pub(crate) fn aws_error<E, R>(what: &str, e: SdkError<E, R>) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match &e {
        SdkError::ServiceError(service) => {
            let err = service.err();
            let code = err.code().unwrap_or("Unknown");
            let message = err.message().unwrap_or("");
            let exit = match code {
                "AccessDeniedException"
                | "AccessDenied"
                | "UnrecognizedClientException"
                | "InvalidClientTokenId"
                | "ExpiredToken"
                | "ExpiredTokenException"
                | "SignatureDoesNotMatch" => NOPERM,
                "ResourceNotFoundException" | "NoSuchEntity" => NOT_FOUND,
                // Whatever else AWS refuses is a call this tool chose to make,
                // not the user's input: the service failed.
                _ => UNAVAILABLE,
            };
            fail(exit, format!("{what}: {code}: {message}"))
        }
        SdkError::ConstructionFailure(_) => fail(
            CONFIG,
            format!(
                "{what}: the AWS request could not be made ({}); check the credentials, --profile and --region",
                crate::connect::chain(&e)
            ),
        ),
        _ => fail(
            UNAVAILABLE,
            format!("{what}: cannot reach AWS: {}", crate::connect::chain(&e)),
        ),
    }
}

fn code<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Option<&str> {
    match e {
        SdkError::ServiceError(s) => s.err().code(),
        _ => None,
    }
}

impl Aws {
    /// Loads the AWS configuration and checks it has a region and
    /// credentials, so that a missing profile or expired login is one
    /// sentence before any call rather than a dispatch failure in the middle.
    pub(crate) async fn connect(args: &MigrateArgs, cluster: &str) -> anyhow::Result<Aws> {
        let mut loader = aws_config::defaults(BehaviorVersion::v2026_01_12())
            // Throttling is expected with many entries. Short jittered
            // back-offs keep the throttle's whole rate in use, and retries
            // of throttled calls cost no retry quota, so a long run is paced
            // by the throttle instead of failing once the quota runs out.
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(20)
                    .with_initial_backoff(Duration::from_millis(100))
                    .with_max_backoff(Duration::from_secs(2)),
            );
        if let Some(p) = &args.profile {
            loader = loader.profile_name(p);
        }
        if let Some(r) = &args.region {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        let config = loader.load().await;
        let profile = args
            .profile
            .clone()
            .or_else(|| std::env::var("AWS_PROFILE").ok())
            .filter(|p| !p.is_empty());
        let named = profile
            .map(|p| format!(" for profile {p}"))
            .unwrap_or_default();
        if config.region().is_none() {
            return Err(fail(
                CONFIG,
                format!(
                    "no AWS region{named}: give --region, or set AWS_REGION or the profile's region{}",
                    if named.is_empty() {
                        ""
                    } else {
                        " (is the profile in the AWS config file?)"
                    }
                ),
            ));
        }
        let credentials = match config.credentials_provider() {
            Some(provider) => match provider.provide_credentials().await {
                Ok(_) => None,
                // The chain's "Attempted:" list spans lines; chain() keeps
                // only its first, so drop the dangling heading.
                Err(e) => Some(
                    crate::connect::chain(&e)
                        .trim_end_matches("Attempted:")
                        .trim_end_matches([' ', '.'])
                        .to_owned(),
                ),
            },
            None => Some("no credentials provider".to_owned()),
        };
        if let Some(why) = credentials {
            return Err(fail(
                CONFIG,
                format!(
                    "no AWS credentials{named} ({why}): run `aws configure` or `aws sso login`, or choose another --profile"
                ),
            ));
        }
        let pace = super::pace::Pacer::new();
        let eks = aws_sdk_eks::config::Builder::from(&config)
            .retry_classifier(super::pace::NoThrottleRetries)
            .retry_partition(
                aws_sdk_eks::config::retry::RetryPartition::custom("aws-auth-migrate")
                    .token_bucket(
                        aws_sdk_eks::config::retry::TokenBucket::builder()
                            .throttling_retry_cost(0)
                            .build(),
                    )
                    .build(),
            )
            .build();
        Ok(Aws {
            eks: aws_sdk_eks::Client::from_conf(eks),
            pace,
            iam: aws_sdk_iam::Client::new(&config),
            sts: aws_sdk_sts::Client::new(&config),
            cluster: cluster.to_owned(),
        })
    }

    pub(crate) async fn describe_cluster(&self) -> anyhow::Result<ClusterInfo> {
        let out = paced(&self.pace, || {
            self.eks.describe_cluster().name(&self.cluster).send()
        })
        .await
        .map_err(|e| aws_error(&format!("cluster {}", self.cluster), e))?;
        let c = out
            .cluster()
            .ok_or_else(|| fail(UNAVAILABLE, "DescribeCluster returned no cluster"))?;
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
        })
    }

    /// The account of the credentials in use.
    pub(crate) async fn caller_account(&self) -> anyhow::Result<String> {
        let out = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| aws_error("sts:GetCallerIdentity", e))?;
        out.account()
            .map(str::to_owned)
            .ok_or_else(|| fail(UNAVAILABLE, "sts:GetCallerIdentity returned no account"))
    }

    /// The full ARNs of mapped roles: from `role_map` (full ARNs the user
    /// gave), else from `iam:GetRole` when the role is in the caller's account.
    /// A role of another account is never looked up in this one.
    pub(crate) async fn resolve_roles(
        &self,
        roles: Vec<Arn>,
        caller_account: &str,
        role_map: &BTreeMap<String, String>,
        concurrency: usize,
    ) -> Resolutions {
        let mut resolutions = Resolutions::default();
        let limit = Arc::new(Semaphore::new(concurrency));
        let mut tasks = tokio::task::JoinSet::new();
        for role in roles {
            let key = role_key(&role);
            if let Some(full) = role_map.get(&key) {
                resolutions.insert(&role.to_string(), Resolution::Resolved(full.clone()));
                continue;
            }
            if role.account() != caller_account {
                resolutions.insert(
                    &role.to_string(),
                    Resolution::Failed(format!(
                        "the role is in account {}, not the account of these credentials ({caller_account}); give its full ARN with --role-arn-map",
                        role.account()
                    )),
                );
                continue;
            }
            let (iam, limit) = (self.iam.clone(), Arc::clone(&limit));
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                let out = iam.get_role().role_name(role.name()).send().await;
                let r = match out {
                    Ok(o) => match o.role() {
                        Some(r) => Resolution::Resolved(r.arn().to_owned()),
                        None => Resolution::Failed("iam:GetRole returned no role".to_owned()),
                    },
                    Err(e) if code(&e) == Some("NoSuchEntity") => Resolution::Failed(format!(
                        "IAM has no role named {} in account {}",
                        role.name(),
                        role.account()
                    )),
                    Err(e) => Resolution::Failed(format!(
                        "iam:GetRole {} failed: {}",
                        role.name(),
                        crate::connect::chain(&e)
                    )),
                };
                (role, r)
            });
        }
        while let Some(done) = tasks.join_next().await {
            if let Ok((role, r)) = done {
                resolutions.insert(&role.to_string(), r);
            }
        }
        resolutions
    }

    /// What IAM knows of mapped users of the caller's account: a user that
    /// does not exist, or exists under another ARN (another path), cannot
    /// move. Users of other accounts are not looked up here.
    pub(crate) async fn check_users(
        &self,
        users: Vec<Arn>,
        caller_account: &str,
        resolutions: &mut Resolutions,
        concurrency: usize,
    ) {
        let limit = Arc::new(Semaphore::new(concurrency));
        let mut tasks = tokio::task::JoinSet::new();
        for user in users {
            if user.account() != caller_account {
                continue;
            }
            let (iam, limit) = (self.iam.clone(), Arc::clone(&limit));
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                let out = iam.get_user().user_name(user.name()).send().await;
                let r = match out {
                    Ok(o) => match o.user().map(|u| u.arn().to_owned()) {
                        Some(arn) if arn == user.to_string() => Resolution::Resolved(arn),
                        Some(arn) => Resolution::Failed(format!(
                            "IAM's user of that name is {arn}: the mapped ARN never matched it (a user's ARN carries its path), and an access entry needs the real one"
                        )),
                        None => Resolution::Failed("iam:GetUser returned no user".to_owned()),
                    },
                    Err(e) if code(&e) == Some("NoSuchEntity") => Resolution::Failed(format!(
                        "IAM has no user named {} in account {}: an access entry needs a principal that exists",
                        user.name(),
                        user.account()
                    )),
                    Err(e) => Resolution::Failed(format!(
                        "iam:GetUser {} failed: {}",
                        user.name(),
                        crate::connect::chain(&e)
                    )),
                };
                (user, r)
            });
        }
        while let Some(done) = tasks.join_next().await {
            if let Ok((user, r)) = done {
                resolutions.insert(&user.to_string(), r);
            }
        }
    }

    /// Every principal with an access entry, all pages.
    pub(crate) async fn list_entries(&self) -> anyhow::Result<Vec<String>> {
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
            .map_err(|e| aws_error("eks:ListAccessEntries", e))?;
            out.extend(page.access_entries().iter().cloned());
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => return Ok(out),
            }
        }
    }

    /// An entry and its policies; `None` when it does not exist.
    pub(crate) async fn entry(&self, principal: &str) -> anyhow::Result<Option<ExistingEntry>> {
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
                return Err(aws_error(
                    &format!("eks:DescribeAccessEntry {principal}"),
                    e,
                ));
            }
        };
        let Some(e) = out.access_entry() else {
            return Ok(None);
        };
        let kind = EntryType::from_name(e.r#type().unwrap_or("STANDARD"));
        let mut policies = Vec::new();
        let mut token: Option<String> = None;
        // Only STANDARD entries hold policies the plan compares; EKS may
        // refuse to list them for the others.
        if kind == EntryType::Standard {
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
                    aws_error(&format!("eks:ListAssociatedAccessPolicies {principal}"), e)
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
                    _ => break,
                }
            }
        }
        Ok(Some(ExistingEntry {
            principal_arn: principal.to_owned(),
            kind,
            username: e.username().map(str::to_owned),
            kubernetes_groups: e.kubernetes_groups().to_vec(),
            policies,
        }))
    }

    /// The cluster as far as `principals` are concerned: which of them have
    /// entries, and those entries in full.
    pub(crate) async fn state(
        &self,
        info: &ClusterInfo,
        principals: &[String],
        concurrency: usize,
    ) -> anyhow::Result<ClusterState> {
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
        let existing: std::collections::BTreeSet<String> =
            self.list_entries().await?.into_iter().collect();
        let wanted: Vec<String> = principals
            .iter()
            .filter(|p| existing.contains(*p))
            .cloned()
            .collect();
        let limit = Arc::new(Semaphore::new(concurrency));
        let mut tasks = tokio::task::JoinSet::new();
        for p in wanted {
            let (me, limit) = (self.clone(), Arc::clone(&limit));
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                let entry = me.entry(&p).await;
                (p, entry)
            });
        }
        while let Some(done) = tasks.join_next().await {
            let (principal, entry) =
                done.map_err(|e| fail(crate::exit::INTERNAL, e.to_string()))?;
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
    async fn access_update_in_flight(&self) -> anyhow::Result<Option<String>> {
        use aws_sdk_eks::types::{UpdateStatus, UpdateType};
        let out = paced(&self.pace, || {
            self.eks
                .list_updates()
                .name(&self.cluster)
                .max_results(20)
                .send()
        })
        .await
        .map_err(|e| aws_error(&format!("eks:ListUpdates {}", self.cluster), e))?;
        for id in out.update_ids() {
            let u = paced(&self.pace, || {
                self.eks
                    .describe_update()
                    .name(&self.cluster)
                    .update_id(id)
                    .send()
            })
            .await
            .map_err(|e| aws_error(&format!("eks:DescribeUpdate {id}"), e))?;
            if let Some(u) = u.update()
                && u.r#type() == Some(&UpdateType::AccessConfigUpdate)
                && u.status() == Some(&UpdateStatus::InProgress)
            {
                return Ok(Some(id.clone()));
            }
        }
        Ok(None)
    }

    /// Switches the authentication mode and waits for the update to finish;
    /// `progress` hears what is under way before each wait. A switch already
    /// under way is waited for, not started again.
    pub(crate) async fn switch_mode(
        &self,
        target: AuthenticationMode,
        poll: Duration,
        mut progress: impl FnMut(&str),
    ) -> anyhow::Result<()> {
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
                return Err(fail(
                    crate::exit::CONFLICT,
                    format!(
                        "cluster {}: another update is in progress; wait for it to finish and run this again",
                        self.cluster
                    ),
                ));
            }
            Err(e) => {
                return Err(aws_error(
                    &format!("switching cluster {} to {target}", self.cluster),
                    e,
                ));
            }
        };
        let id = out
            .update()
            .and_then(|u| u.id())
            .ok_or_else(|| fail(UNAVAILABLE, "UpdateClusterConfig returned no update id"))?
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
    ) -> anyhow::Result<()> {
        use aws_sdk_eks::types::UpdateStatus;
        loop {
            tokio::time::sleep(poll).await;
            let out = paced(&self.pace, || {
                self.eks
                    .describe_update()
                    .name(&self.cluster)
                    .update_id(id)
                    .send()
            })
            .await
            .map_err(|e| aws_error(&format!("eks:DescribeUpdate {id}"), e))?;
            let Some(u) = out.update() else {
                return Err(fail(UNAVAILABLE, "DescribeUpdate returned no update"));
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
                    return Err(fail(
                        UNAVAILABLE,
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

/// A role's account and name, lower-cased: what the authenticator compares.
pub(crate) fn role_key(arn: &Arn) -> String {
    format!("{}:{}", arn.account(), arn.name()).to_lowercase()
}

/// `--role-arn-map`: full role ARNs, one per line, `#` comments.
pub(crate) fn read_role_map(path: &std::path::Path) -> anyhow::Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        fail(
            crate::exit::IO,
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let arn: Arn = line
            .parse()
            .map_err(|e| fail(INVALID, format!("{}:{}: {e}", path.display(), i + 1)))?;
        if arn.kind() != PrincipalKind::Role {
            return Err(fail(
                INVALID,
                format!("{}:{}: {line} is not a role ARN", path.display(), i + 1),
            ));
        }
        out.insert(role_key(&arn), line.to_owned());
    }
    Ok(out)
}
