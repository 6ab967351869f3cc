//! What IAM says of principals: a role's full ARN (its path), whether a user
//! exists under the ARN written, when each was created. One lookup shape for
//! roles and users, bounded and on IAM's own pace (IAM throttles apart from
//! EKS).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::arn::{Arn, PrincipalKind};
use crate::entries::{Resolution, Resolutions};
use crate::login::{IamPrincipal, iam_key};

use super::pace::{NoThrottleRetries, paced};
use super::{Eks, Result, code, each_bounded, role_key};

/// Shapes an IAM client's configuration as [`configure`](super::configure)
/// does an EKS one: its throttled calls are retried on the lookups' pace.
pub fn configure_iam(builder: aws_sdk_iam::config::Builder) -> aws_sdk_iam::config::Builder {
    builder.retry_classifier(NoThrottleRetries).retry_partition(
        aws_sdk_iam::config::retry::RetryPartition::custom("aws-auth-iam")
            .token_bucket(
                aws_sdk_iam::config::retry::TokenBucket::builder()
                    .throttling_retry_cost(0)
                    .build(),
            )
            .build(),
    )
}

/// What IAM answered for one principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Lookup {
    /// It exists, under this ARN, made then (seconds since the epoch).
    Found {
        arn: String,
        created_at: Option<i64>,
    },
    /// IAM has no principal of that name.
    NoSuchEntity,
    /// The call failed.
    Failed(String),
}

impl From<Lookup> for IamPrincipal {
    fn from(answer: Lookup) -> IamPrincipal {
        match answer {
            Lookup::Found { arn, created_at } => IamPrincipal::Exists { arn, created_at },
            Lookup::NoSuchEntity => IamPrincipal::Missing,
            Lookup::Failed(reason) => IamPrincipal::Unverifiable { reason },
        }
    }
}

/// What IAM answered of principals, by kind and name: IAM is one per
/// account, so clusters reached with the same credentials may share it
/// ([`Eks::sharing_iam_answers`]) and a principal mapped in many clusters is
/// looked up once; who the credentials are is asked of STS once too.
/// Failed calls are not kept.
/// IAM's pace goes with them: IAM throttles the account.
#[derive(Debug, Clone)]
pub struct IamAnswers {
    principals: Arc<Mutex<BTreeMap<String, Lookup>>>,
    pub(super) identity: Arc<tokio::sync::OnceCell<Identity>>,
    pace: Arc<super::Pacer>,
}

impl Default for IamAnswers {
    fn default() -> IamAnswers {
        IamAnswers {
            principals: Arc::default(),
            identity: Arc::default(),
            pace: super::Pacer::new(),
        }
    }
}

/// What `sts:GetCallerIdentity` answered.
pub(super) type Identity = aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput;

impl IamAnswers {
    pub(super) fn pacer(&self) -> Arc<super::Pacer> {
        Arc::clone(&self.pace)
    }

    fn key(p: &Arn) -> String {
        let kind = if p.kind() == PrincipalKind::User {
            "user"
        } else {
            "role"
        };
        // IAM names are unique without case.
        format!("{kind}/{}", p.name().to_lowercase())
    }

    fn get(&self, p: &Arn) -> Option<Lookup> {
        let answers = self.principals.lock().unwrap_or_else(|e| e.into_inner());
        answers.get(&Self::key(p)).cloned()
    }

    fn keep(&self, p: &Arn, answer: &Lookup) {
        if matches!(answer, Lookup::Failed(_)) {
            return;
        }
        let mut answers = self.principals.lock().unwrap_or_else(|e| e.into_inner());
        answers.insert(Self::key(p), answer.clone());
    }
}

impl Eks {
    /// What this cluster's lookups learnt of IAM, to share with another
    /// cluster reached with the same credentials.
    pub fn iam_answers(&self) -> IamAnswers {
        self.iam_answers.clone()
    }

    /// Looks IAM up through `answers` (another cluster's, made with the same
    /// credentials: IAM is the account's, not the cluster's).
    pub fn sharing_iam_answers(mut self, answers: IamAnswers) -> Eks {
        self.iam_pace.shared = Arc::clone(&answers.pace);
        self.iam_answers = answers;
        self
    }

    /// Asks IAM about each of `principals` (roles with `GetRole`, users with
    /// `GetUser`, by name), at most `concurrency` at once, on IAM's pace;
    /// a principal asked before is answered from what IAM said then.
    async fn look_up(&self, principals: Vec<Arn>, concurrency: usize) -> Vec<(Arn, Lookup)> {
        each_bounded(principals, concurrency, |p| {
            let (iam, pace) = (self.iam.clone(), self.iam_pace.clone());
            let answers = self.iam_answers.clone();
            async move {
                if let Some(known) = answers.get(&p) {
                    return known;
                }
                let name = p.name().to_owned();
                let (what, answer) = if p.kind() == PrincipalKind::User {
                    let out = paced(&pace, || iam.get_user().user_name(&name).send()).await;
                    (
                        "iam:GetUser",
                        out.map(|o| {
                            o.user()
                                .map(|u| (u.arn().to_owned(), u.create_date().secs()))
                        })
                        .map_err(|e| (code(&e).map(str::to_owned), crate::error_chain(&e))),
                    )
                } else {
                    let out = paced(&pace, || iam.get_role().role_name(&name).send()).await;
                    (
                        "iam:GetRole",
                        out.map(|o| {
                            o.role()
                                .map(|r| (r.arn().to_owned(), r.create_date().secs()))
                        })
                        .map_err(|e| (code(&e).map(str::to_owned), crate::error_chain(&e))),
                    )
                };
                let answer = match answer {
                    Ok(Some((arn, made))) => Lookup::Found {
                        arn,
                        created_at: Some(made),
                    },
                    Ok(None) => Lookup::Failed(format!("{what} returned nothing")),
                    Err((Some(c), _)) if c == "NoSuchEntity" => Lookup::NoSuchEntity,
                    Err((_, why)) => Lookup::Failed(format!("{what} {name} failed: {why}")),
                };
                answers.keep(&p, &answer);
                answer
            }
        })
        .await
    }

    /// The full ARNs of mapped roles: from `role_map` (full ARNs the user
    /// gave), else from `iam:GetRole` when the role is in the caller's account.
    /// A role of another account is never looked up in this one.
    pub async fn resolve_roles(
        &self,
        roles: Vec<Arn>,
        caller_account: &str,
        role_map: &BTreeMap<String, String>,
        concurrency: usize,
    ) -> Resolutions {
        let mut resolutions = Resolutions::default();
        let mut ask = Vec::new();
        for role in roles {
            if let Some(full) = role_map.get(&role_key(&role)) {
                resolutions.insert(&role.to_string(), Resolution::Resolved(full.clone()));
            } else if role.account() != caller_account {
                resolutions.insert(
                    &role.to_string(),
                    crate::migrate::foreign_role(&role, caller_account),
                );
            } else {
                ask.push(role);
            }
        }
        for (role, answer) in self.look_up(ask, concurrency).await {
            let r = crate::migrate::role_resolution(&role, &answer.into());
            resolutions.insert(&role.to_string(), r);
        }
        resolutions
    }

    /// What IAM knows of mapped users of the caller's account: a user that
    /// does not exist, or exists under another ARN (another path), cannot
    /// move. Users of other accounts are not looked up here.
    pub async fn check_users(
        &self,
        users: Vec<Arn>,
        caller_account: &str,
        resolutions: &mut Resolutions,
        concurrency: usize,
    ) {
        let ours = users
            .into_iter()
            .filter(|u| u.account() == caller_account)
            .collect();
        for (user, answer) in self.look_up(ours, concurrency).await {
            let r = crate::migrate::user_resolution(&user, &answer.into());
            resolutions.insert(&user.to_string(), r);
        }
    }

    /// What IAM says of each of `principals` (sessions as their roles), by
    /// [`iam_key`]: for [`Sources::iam`](crate::login::Sources::iam). IAM
    /// answers for the credentials' own account only: a principal of another
    /// is [`IamPrincipal::Unverifiable`], never guessed, as is one whose
    /// lookup failed.
    pub async fn iam_principals(
        &self,
        principals: impl IntoIterator<Item = Arn>,
        concurrency: usize,
    ) -> Result<BTreeMap<String, IamPrincipal>> {
        let account = self.caller_account().await?;
        let mut out = BTreeMap::new();
        let mut ask = Vec::new();
        for p in principals {
            let p = p.canonical();
            let key = iam_key(&p);
            if out.contains_key(&key) || ask.iter().any(|a: &Arn| iam_key(a) == key) {
                continue;
            }
            if p.account() == account {
                ask.push(p);
            } else {
                out.insert(
                    key,
                    IamPrincipal::Unverifiable {
                        reason: format!(
                            "it is in account {}, and IAM answers these credentials for account {account} only",
                            p.account()
                        ),
                    },
                );
            }
        }
        for (p, answer) in self.look_up(ask, concurrency).await {
            let fact = answer.into();
            out.insert(iam_key(&p), fact);
        }
        Ok(out)
    }
}
