//! Changing who is protected: adding is always allowed, taking a
//! protection away is itself guarded (it lets any writer remove the
//! principal's mappings).

use crate::arn::Arn;

use super::protected_in;

/// The [`PROTECTED_ANNOTATION`](super::PROTECTED_ANNOTATION) before and
/// after a `protect` or `unprotect`, as canonical ARNs in their order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ProtectionChange {
    /// The principals protected before.
    pub before: Vec<String>,
    /// The principals protected after.
    pub after: Vec<String>,
    /// Protections taken away despite the guard (`force`).
    pub forced: Vec<String>,
}

impl ProtectionChange {
    /// True when the annotation changes.
    pub fn changed(&self) -> bool {
        self.before != self.after
    }

    /// The annotation's new value; `None` removes it.
    pub fn value(&self) -> Option<String> {
        (!self.after.is_empty()).then(|| self.after.join(","))
    }
}

/// Why a change of protections is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtectionError {
    /// Taking a protection away needs `force`.
    #[error(
        "removing the protection of {} lets any writer remove their mappings",
        principals.join(", ")
    )]
    Unprotecting {
        /// The principals whose protection would go.
        principals: Vec<String>,
    },
}

/// Adds (`protect`) or takes away the protection of `given` in an
/// annotation whose value is `current`. Principals are compared as IAM
/// compares them (a role's path and a session left out); taking a
/// protection away is refused unless `force`.
///
/// ```
/// use aws_auth_core::admission::{change_protection, ProtectionError};
/// let a = "arn:aws:iam::111122223333:role/BreakGlass".parse()?;
/// let added = change_protection(None, &[a], true, false).unwrap();
/// assert_eq!(added.value().as_deref(), Some("arn:aws:iam::111122223333:role/BreakGlass"));
/// let a = "arn:aws:iam::111122223333:role/BreakGlass".parse()?;
/// let refused = change_protection(added.value().as_deref(), &[a], false, false);
/// assert!(matches!(refused, Err(ProtectionError::Unprotecting { .. })));
/// # Ok::<(), aws_auth_core::arn::ArnError>(())
/// ```
pub fn change_protection(
    current: Option<&str>,
    given: &[Arn],
    protect: bool,
    force: bool,
) -> Result<ProtectionChange, ProtectionError> {
    let before: Vec<String> = current
        .map(protected_in)
        .unwrap_or_default()
        .iter()
        .map(|a| a.canonical().to_string())
        .collect();
    let given: Vec<String> = given.iter().map(|a| a.canonical().to_string()).collect();
    let mut after = before.clone();
    let mut forced = Vec::new();
    if protect {
        for a in given {
            if !after.contains(&a) {
                after.push(a);
            }
        }
    } else {
        let gone: Vec<String> = given.into_iter().filter(|a| after.contains(a)).collect();
        if !gone.is_empty() && !force {
            return Err(ProtectionError::Unprotecting { principals: gone });
        }
        after.retain(|a| !gone.contains(a));
        forced = gone;
    }
    Ok(ProtectionChange {
        before,
        after,
        forced,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arn(s: &str) -> Arn {
        s.parse().unwrap()
    }

    #[test]
    fn protections_are_added_once_and_taken_away_only_by_force() {
        let current = "arn:aws:iam::111122223333:role/A,arn:aws:iam::111122223333:user/b";
        // A session of A, and A with a path: both A, already protected.
        let same = change_protection(
            Some(current),
            &[
                arn("arn:aws:sts::111122223333:assumed-role/A/s"),
                arn("arn:aws:iam::111122223333:role/team/A"),
            ],
            true,
            false,
        )
        .unwrap();
        assert!(!same.changed());
        let added = change_protection(
            Some(current),
            &[arn("arn:aws:iam::111122223333:role/C")],
            true,
            false,
        )
        .unwrap();
        assert_eq!(
            added.value().unwrap(),
            format!("{current},arn:aws:iam::111122223333:role/C")
        );
        let refused = change_protection(
            Some(current),
            &[arn("arn:aws:iam::111122223333:user/b")],
            false,
            false,
        );
        assert_eq!(
            refused.unwrap_err().to_string(),
            "removing the protection of arn:aws:iam::111122223333:user/b lets any writer remove their mappings"
        );
        // Unprotecting someone not protected changes nothing and needs no force.
        let none = change_protection(
            Some(current),
            &[arn("arn:aws:iam::111122223333:user/z")],
            false,
            false,
        )
        .unwrap();
        assert!(!none.changed() && none.forced.is_empty());
        let forced = change_protection(
            Some(current),
            &[
                arn("arn:aws:iam::111122223333:user/b"),
                arn("arn:aws:iam::111122223333:role/A"),
            ],
            false,
            true,
        )
        .unwrap();
        assert_eq!(forced.value(), None);
        assert_eq!(forced.forced.len(), 2);
    }
}
