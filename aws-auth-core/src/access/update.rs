//! `access update`: a change to one existing entry, merged with what the
//! entry holds, so that what the change does not name stays as it is.

use crate::arn::Arn;
use crate::entries::{
    AuthenticationMode, ClusterState, EntryType, ExistingEntry, Plan, PlanOptions,
    PolicyAssociation, Resolution, Resolutions,
};

use super::EntryRequest;

/// What to change in an entry; what it leaves out is kept.
///
/// ```
/// use aws_auth_core::access::EntryChange;
/// let change = EntryChange::new().username("jane").groups(Vec::<String>::new());
/// assert!(!change.is_empty());
/// assert!(EntryChange::new().is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EntryChange {
    /// A new username.
    pub username: Option<String>,
    /// New groups (an empty list takes them all away).
    pub groups: Option<Vec<String>>,
    /// Policies to associate; one already associated gets this scope.
    pub add_policies: Vec<PolicyAssociation>,
    /// Policies (full ARNs) to take away.
    pub remove_policies: Vec<String>,
}

impl EntryChange {
    /// A change of nothing.
    pub fn new() -> EntryChange {
        EntryChange::default()
    }

    /// Sets the username.
    pub fn username(mut self, username: impl Into<String>) -> EntryChange {
        self.username = Some(username.into());
        self
    }

    /// Sets the groups (none, to take them all away).
    pub fn groups(mut self, groups: impl IntoIterator<Item = impl Into<String>>) -> EntryChange {
        self.groups = Some(groups.into_iter().map(Into::into).collect());
        self
    }

    /// Associates a policy with its scope.
    pub fn add_policy(mut self, policy: PolicyAssociation) -> EntryChange {
        self.add_policies.push(policy);
        self
    }

    /// Takes a policy (full ARN) away.
    pub fn remove_policy(mut self, policy_arn: impl Into<String>) -> EntryChange {
        self.remove_policies.push(policy_arn.into());
        self
    }

    /// True when it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.username.is_none()
            && self.groups.is_none()
            && self.add_policies.is_empty()
            && self.remove_policies.is_empty()
    }
}

/// The entry `existing` (of `principal`) with `change` merged in, checked as
/// every request is; an entry of another type than STANDARD takes no
/// change.
///
/// ```
/// use aws_auth_core::access::{EntryChange, updated};
/// use aws_auth_core::entries::{ExistingEntry, EntryType};
/// let p = "arn:aws:iam::111122223333:role/Dev".parse()?;
/// let existing = ExistingEntry::new("arn:aws:iam::111122223333:role/Dev", EntryType::Standard)
///     .with_username("dev")
///     .with_groups(["devs"]);
/// let r = updated(p, &existing, &EntryChange::new().username("developer")).unwrap();
/// assert_eq!((r.username.as_deref(), r.groups.as_slice()), (Some("developer"), ["devs".to_owned()].as_slice()));
/// # Ok::<(), aws_auth_core::arn::ArnError>(())
/// ```
pub fn updated(
    principal: Arn,
    existing: &ExistingEntry,
    change: &EntryChange,
) -> Result<EntryRequest, String> {
    if existing.kind != EntryType::Standard {
        return Err(format!(
            "{principal}: {} entries take no username, groups or policies",
            existing.kind
        ));
    }
    let mut request = EntryRequest::standard(principal);
    request.username = change
        .username
        .clone()
        .or_else(|| existing.username.clone());
    request.groups = change
        .groups
        .clone()
        .unwrap_or_else(|| existing.kubernetes_groups.clone());
    request.policies = existing
        .policies
        .iter()
        .filter(|p| !change.remove_policies.contains(&p.policy_arn))
        .cloned()
        .collect();
    for p in &change.add_policies {
        request.policies.retain(|x| x.policy_arn != p.policy_arn);
        request.policies.push(p.clone());
    }
    request.check()?;
    Ok(request)
}

/// The calls that carry `change` out on the entry EKS holds as `entry_arn`
/// (the principal with its IAM path): [`updated`], planned against that
/// entry alone.
pub fn plan_update(
    cluster: &str,
    mode: AuthenticationMode,
    account: Option<&str>,
    entry_arn: &str,
    existing: &ExistingEntry,
    principal: Arn,
    change: &EntryChange,
) -> Result<Plan, String> {
    let written = principal.to_string();
    let request = updated(principal, existing, change)?;
    let mut state = ClusterState::empty(cluster, Some(mode));
    state.account = account.map(str::to_owned);
    state.entries.insert(entry_arn.to_owned(), existing.clone());
    let mut resolutions = Resolutions::default();
    resolutions.insert(&written, Resolution::Resolved(entry_arn.to_owned()));
    Ok(super::plan(
        &[request],
        &state,
        &resolutions,
        &PlanOptions::new().update_existing(true),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entries::{AccessScope, Action};

    const VIEW: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
    const EDIT: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy";

    fn existing() -> ExistingEntry {
        ExistingEntry::new(
            "arn:aws:iam::111122223333:role/teams/Dev",
            EntryType::Standard,
        )
        .with_username("dev")
        .with_groups(["devs"])
        .with_policy(PolicyAssociation::new(VIEW, AccessScope::cluster()))
    }

    #[test]
    fn what_a_change_leaves_out_is_kept_and_a_policy_rescoped() {
        let p: Arn = "arn:aws:iam::111122223333:role/Dev".parse().unwrap();
        let r = updated(
            p.clone(),
            &existing(),
            &EntryChange::new()
                .add_policy(PolicyAssociation::new(
                    EDIT,
                    AccessScope::namespaces(["dev"]),
                ))
                .add_policy(PolicyAssociation::new(VIEW, AccessScope::namespaces(["a"]))),
        )
        .unwrap();
        assert_eq!(r.username.as_deref(), Some("dev"));
        assert_eq!(r.groups, ["devs"]);
        assert_eq!(
            r.policies,
            [
                PolicyAssociation::new(EDIT, AccessScope::namespaces(["dev"])),
                PolicyAssociation::new(VIEW, AccessScope::namespaces(["a"])),
            ]
        );
        let cleared = updated(
            p.clone(),
            &existing(),
            &EntryChange::new()
                .groups(Vec::<String>::new())
                .remove_policy(VIEW),
        )
        .unwrap();
        assert!(cleared.groups.is_empty() && cleared.policies.is_empty());
        // What EKS would refuse is refused here, before any call.
        let e = updated(
            p.clone(),
            &existing(),
            &EntryChange::new().groups(["system:masters"]),
        );
        assert!(e.unwrap_err().contains("system:"));
        let node = ExistingEntry::new("x", EntryType::Ec2Linux);
        assert!(updated(p, &node, &EntryChange::new().username("x")).is_err());
    }

    #[test]
    fn an_update_plans_against_the_entry_with_its_path() {
        let p: Arn = "arn:aws:iam::111122223333:role/Dev".parse().unwrap();
        let plan = plan_update(
            "prod",
            AuthenticationMode::Api,
            Some("111122223333"),
            "arn:aws:iam::111122223333:role/teams/Dev",
            &existing(),
            p,
            &EntryChange::new().username("developer"),
        )
        .unwrap();
        assert!(!plan.actions.is_empty());
        assert!(
            plan.actions
                .iter()
                .all(|a| a.principal_arn() == "arn:aws:iam::111122223333:role/teams/Dev")
        );
        assert!(
            plan.actions
                .iter()
                .any(|a| matches!(a, Action::UpdateAccessEntry { .. }))
        );
    }
}
