//! An access-entry plan carried out safely: what it gives first, and what
//! it takes away only when every grant succeeded and the cluster still has
//! an administrator the guard counted on.

use crate::arn::{Arn, PrincipalKind};
use crate::entries::{Action, Plan, Resolutions};

use super::{Eks, Outcome, Result, Status, Tick};

/// What [`Eks::carry_out`] did.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Run {
    /// Each action's outcome, grants first; an action held back is
    /// [`Status::Skipped`] with the reason.
    pub outcomes: Vec<Outcome>,
    /// Why nothing was taken away although every grant succeeded: another
    /// writer took cluster-admin from the entries the guard counted on.
    pub admin_lost: Option<String>,
}

impl Run {
    /// How many calls were not sent because the deadline passed.
    pub fn not_sent(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| o.status.deadline_passed())
            .count()
    }
}

impl Eks {
    /// Carries `plan` out in two phases: the actions that give (entries
    /// created and updated, policies associated), then, when each of them
    /// succeeded and one of `keepers` (the entries the last-admin guard
    /// counted on, see [`admin_keepers`](crate::access::admin_keepers)) is
    /// read again and still keeps cluster-admin, the actions that take away.
    /// EKS has no conditional writes: the re-read is what keeps a concurrent
    /// writer from leaving the cluster without an administrator.
    pub async fn carry_out(
        &self,
        plan: &Plan,
        concurrency: usize,
        update_existing: bool,
        keepers: &[String],
        tick: Tick,
    ) -> Run {
        let (give, take) = plan.phases();
        let mut outcomes = self
            .apply(&give, concurrency, update_existing, tick.clone())
            .await;
        let mut admin_lost = None;
        let held = if !outcomes.iter().all(|o| o.status.ok()) {
            Some("an earlier grant did not succeed, so nothing is taken away yet".to_owned())
        } else if let Some(why) = self.admin_taken_meanwhile(keepers, &take.actions).await {
            admin_lost = Some(why.clone());
            Some(why)
        } else {
            None
        };
        match held {
            None => outcomes.extend(self.apply(&take, concurrency, update_existing, tick).await),
            Some(why) => outcomes.extend(
                take.actions
                    .into_iter()
                    .map(|action| Outcome::new(action, Status::Skipped(why.clone()))),
            ),
        }
        Run {
            outcomes,
            admin_lost,
        }
    }

    /// Why taking `take` away now would leave no entry with cluster-admin
    /// although the guard saw `keepers` keep it. Each is read again until
    /// one is seen keeping it (one read in the usual case); `None` when one
    /// does, or when nobody was counted on.
    async fn admin_taken_meanwhile(&self, keepers: &[String], take: &[Action]) -> Option<String> {
        if keepers.is_empty() || take.is_empty() {
            return None;
        }
        for p in keepers {
            // An unreadable keeper counts as gone: erring keeps access.
            if let Ok(Some(e)) = self.entry(p).await
                && crate::access::keeps_cluster_admin(&e, take)
            {
                return None;
            }
        }
        Some(format!(
            "another writer took AmazonEKSClusterAdminPolicy at cluster scope from {} since the guard read the entries: taking away now would leave nobody with it, so nothing was taken away (run again to plan afresh)",
            keepers.join(", ")
        ))
    }

    /// [`Eks::resolve_requests`], IAM asked only about the principals
    /// without an entry among `existing` (the cluster's entries, as listed):
    /// EKS knows the others, their roles' IAM paths included, so a re-run
    /// with nothing to do asks IAM nothing.
    pub async fn resolve_requests_with(
        &self,
        requests: &[crate::access::EntryRequest],
        concurrency: usize,
        existing: &[String],
    ) -> Result<Resolved> {
        let entry_of = |r: &crate::access::EntryRequest| {
            existing.iter().find(|p| {
                p.parse::<Arn>()
                    .is_ok_and(|p| crate::access::same_principal(&r.principal, &p))
            })
        };
        let rest: Vec<crate::access::EntryRequest> = requests
            .iter()
            .filter(|r| entry_of(r).is_none())
            .cloned()
            .collect();
        let mut resolved = if rest.is_empty() {
            // Nothing to ask IAM, nor STS whose account IAM would answer for.
            Resolved {
                resolutions: Resolutions::default(),
                account: String::new(),
                unchecked: Vec::new(),
            }
        } else {
            self.resolve_requests(&rest, concurrency).await?
        };
        for r in requests {
            if let Some(p) = entry_of(r) {
                resolved.resolutions.insert(
                    &r.principal.to_string(),
                    crate::entries::Resolution::Resolved(p.clone()),
                );
            }
        }
        Ok(resolved)
    }

    /// What IAM says of the principals of `requests`: the full ARNs (with
    /// their paths) of roles, and whether users exist. IAM answers for the
    /// credentials' own account only, so a principal of another account is
    /// taken as written (a role's entry then needs the path in the request)
    /// and listed in [`Resolved::unchecked`], for the caller to say so.
    pub async fn resolve_requests(
        &self,
        requests: &[crate::access::EntryRequest],
        concurrency: usize,
    ) -> Result<Resolved> {
        let account = self.caller_account().await?;
        let of = |kind: PrincipalKind| -> Vec<Arn> {
            requests
                .iter()
                .filter(|r| r.principal.kind() == kind)
                .map(|r| r.principal.clone())
                .collect()
        };
        let elsewhere: Vec<Arn> = requests
            .iter()
            .map(|r| r.principal.clone())
            .filter(|p| p.account() != account)
            .collect();
        let as_written = elsewhere
            .iter()
            .filter(|p| p.kind() == PrincipalKind::Role)
            .map(|p| (super::role_key(p), p.to_string()))
            .collect();
        let mut resolutions = self
            .resolve_roles(of(PrincipalKind::Role), &account, &as_written, concurrency)
            .await;
        self.check_users(
            of(PrincipalKind::User),
            &account,
            &mut resolutions,
            concurrency,
        )
        .await;
        Ok(Resolved {
            resolutions,
            account,
            unchecked: elsewhere,
        })
    }
}

/// What IAM said of the principals of some requests
/// ([`Eks::resolve_requests`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Resolved {
    /// Roles' full ARNs and users' existence, by principal as written.
    pub resolutions: Resolutions,
    /// The account of the credentials, the one IAM answered for.
    pub account: String,
    /// The principals of other accounts, taken as written.
    pub unchecked: Vec<Arn>,
}
