//! Carrying a plan out: the calls of one principal in order (its entry before
//! its policies), principals side by side, a bounded number of calls in
//! flight. A create that meets an existing entry (a re-run after an
//! interruption, or someone else) looks at it: identical is success,
//! different is a conflict, left alone unless `--update-existing`.

use std::sync::Arc;

use crate::entries::{self, Action, EntryType, Plan, policy_name};
use aws_sdk_eks::error::ProvideErrorMetadata;
use aws_sdk_eks::types::{AccessScope as SdkScope, AccessScopeType};
use serde::Serialize;
use tokio::sync::Semaphore;

use super::Eks;
use super::pace::paced;

/// How one call went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "status", content = "detail")]
#[non_exhaustive]
pub enum Status {
    /// Made.
    Done,
    /// Already as planned (found on a create that met an existing entry).
    AlreadyPresent,
    /// The entry exists and differs; left alone.
    Conflict(String),
    /// Refused or failed, with why.
    Failed(String),
    /// Not tried: an earlier call for the same principal did not succeed.
    Skipped(String),
}

impl Status {
    /// Done or already so.
    pub fn ok(&self) -> bool {
        matches!(self, Status::Done | Status::AlreadyPresent)
    }

    /// Not sent because the deadline ([`Eks::with_deadline`]) passed.
    pub fn deadline_passed(&self) -> bool {
        matches!(self, Status::Skipped(why) if why == super::DEADLINE_PASSED)
    }
}

/// An action and how it went.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Outcome {
    /// The call.
    #[serde(flatten)]
    pub action: Action,
    /// How it went.
    #[serde(flatten)]
    pub status: Status,
}

impl Outcome {
    /// `action` went as `status` says.
    pub fn new(action: Action, status: Status) -> Outcome {
        Outcome { action, status }
    }
}

fn sdk_error<E, R>(e: &aws_sdk_eks::error::SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match e {
        aws_sdk_eks::error::SdkError::ServiceError(s) => format!(
            "{}: {}",
            s.err().code().unwrap_or("Unknown"),
            s.err().message().unwrap_or("")
        ),
        other => crate::error_chain(other),
    }
}

fn code<E: ProvideErrorMetadata, R>(e: &aws_sdk_eks::error::SdkError<E, R>) -> Option<String> {
    match e {
        aws_sdk_eks::error::SdkError::ServiceError(s) => s.err().code().map(str::to_owned),
        _ => None,
    }
}

/// Called after each action with what became of it (progress bar, log line).
pub type Tick = Arc<dyn Fn(&Action, &Status) + Send + Sync>;

/// Runs `plan`'s actions; `tick` is called after each.
pub(crate) async fn execute(
    aws: &Eks,
    plan: &Plan,
    concurrency: usize,
    update_existing: bool,
    tick: Tick,
) -> Vec<Outcome> {
    // Group by principal, keeping the plan's order.
    let mut groups: Vec<Vec<(usize, Action)>> = Vec::new();
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, a) in plan.actions.iter().enumerate() {
        let g = *seen.entry(a.principal_arn()).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push((i, a.clone()));
    }
    let limit = Arc::new(Semaphore::new(concurrency));
    let mut tasks = tokio::task::JoinSet::new();
    for group in groups {
        let (aws, limit, tick) = (aws.clone(), Arc::clone(&limit), Arc::clone(&tick));
        tasks.spawn(async move {
            let mut out = Vec::new();
            let mut stop: Option<String> = None;
            for (i, action) in group {
                let status = match &stop {
                    Some(why) => Status::Skipped(why.clone()),
                    None if aws.pace.deadline_passed() => {
                        Status::Skipped(super::DEADLINE_PASSED.to_owned())
                    }
                    None => {
                        let _permit = limit.acquire().await;
                        match run(&aws, &action, update_existing).await {
                            Status::Failed(why) if why.contains(super::DEADLINE_PASSED) => {
                                Status::Skipped(super::DEADLINE_PASSED.to_owned())
                            }
                            status => status,
                        }
                    }
                };
                if status.deadline_passed() {
                    stop = Some(super::DEADLINE_PASSED.to_owned());
                } else if !status.ok() && stop.is_none() {
                    stop = Some(format!(
                        "an earlier call for {} did not succeed",
                        action.principal_arn()
                    ));
                }
                tick(&action, &status);
                out.push((i, Outcome { action, status }));
            }
            out
        });
    }
    let mut all = Vec::new();
    while let Some(done) = tasks.join_next().await {
        if let Ok(outcomes) = done {
            all.extend(outcomes);
        }
    }
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, o)| o).collect()
}

async fn run(aws: &Eks, action: &Action, update_existing: bool) -> Status {
    let eks = &aws.eks;
    let cluster = &aws.cluster;
    match action {
        Action::CreateAccessEntry {
            principal_arn,
            kind,
            username,
            kubernetes_groups,
            ..
        } => {
            let create = || {
                let req = eks
                    .create_access_entry()
                    .cluster_name(cluster)
                    .principal_arn(principal_arn)
                    .r#type(kind.as_str())
                    .set_username(username.clone());
                if *kind == EntryType::Standard {
                    req.set_kubernetes_groups(Some(kubernetes_groups.clone()))
                        .send()
                } else {
                    req.send()
                }
            };
            match paced(&aws.pace, create).await {
                Ok(_) => Status::Done,
                Err(e) if code(&e).as_deref() == Some("ResourceInUseException") => {
                    // Ours from an interrupted run, or someone else's: look.
                    // No username asked for EKS's default one.
                    let username = match (username, kind) {
                        (None, EntryType::Standard) => principal_arn
                            .parse::<crate::arn::Arn>()
                            .ok()
                            .map(|a| crate::entries::default_username(&a)),
                        _ => username.clone(),
                    };
                    match aws.entry(principal_arn).await {
                        Ok(Some(existing)) => {
                            let differences = entries::entry_differences(
                                &existing,
                                kind,
                                username.as_deref(),
                                kubernetes_groups,
                            );
                            if differences.is_empty() {
                                Status::AlreadyPresent
                            } else if update_existing
                                && *kind == EntryType::Standard
                                && existing.kind == EntryType::Standard
                            {
                                update(aws, principal_arn, &username, kubernetes_groups).await
                            } else {
                                Status::Conflict(format!(
                                    "an access entry exists and differs: {}",
                                    differences.join("; ")
                                ))
                            }
                        }
                        Ok(None) => Status::Failed(
                            "EKS said the entry exists, then that it does not".to_owned(),
                        ),
                        Err(e) => Status::Failed(e.to_string()),
                    }
                }
                Err(e) => Status::Failed(sdk_error(&e)),
            }
        }
        Action::UpdateAccessEntry {
            principal_arn,
            username,
            kubernetes_groups,
        } => update(aws, principal_arn, username, kubernetes_groups).await,
        Action::AssociateAccessPolicy {
            principal_arn,
            policy_arn,
            access_scope,
            ..
        } => {
            let scope = SdkScope::builder()
                .r#type(AccessScopeType::from(access_scope.kind.as_str()))
                .set_namespaces(
                    (!access_scope.namespaces.is_empty()).then(|| access_scope.namespaces.clone()),
                )
                .build();
            match paced(&aws.pace, || {
                eks.associate_access_policy()
                    .cluster_name(cluster)
                    .principal_arn(principal_arn)
                    .policy_arn(policy_arn)
                    .access_scope(scope.clone())
                    .send()
            })
            .await
            {
                Ok(_) => Status::Done,
                Err(e) => Status::Failed(sdk_error(&e)),
            }
        }
        Action::DisassociateAccessPolicy {
            principal_arn,
            policy_arn,
        } => match paced(&aws.pace, || {
            eks.disassociate_access_policy()
                .cluster_name(cluster)
                .principal_arn(principal_arn)
                .policy_arn(policy_arn)
                .send()
        })
        .await
        {
            Ok(_) => Status::Done,
            Err(e) if code(&e).as_deref() == Some("ResourceNotFoundException") => {
                Status::AlreadyPresent
            }
            Err(e) => Status::Failed(format!("{}: {}", policy_name(policy_arn), sdk_error(&e))),
        },
        Action::DeleteAccessEntry { principal_arn } => {
            match aws.delete_entry(principal_arn).await {
                // Gone either way: deleted now, or by an earlier, interrupted run.
                Ok(true) => Status::Done,
                Ok(false) => Status::AlreadyPresent,
                Err(e) => Status::Failed(e.to_string()),
            }
        }
    }
}

async fn update(
    aws: &Eks,
    principal: &str,
    username: &Option<String>,
    groups: &[String],
) -> Status {
    match paced(&aws.pace, || {
        aws.eks
            .update_access_entry()
            .cluster_name(&aws.cluster)
            .principal_arn(principal)
            .set_username(username.clone())
            .set_kubernetes_groups(Some(groups.to_vec()))
            .send()
    })
    .await
    {
        Ok(_) => Status::Done,
        Err(e) => Status::Failed(sdk_error(&e)),
    }
}
