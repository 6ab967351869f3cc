//! The caller's own AWS identity, protected from removal without being asked.

use std::time::Duration;

use aws_auth_core::arn::Arn;
use aws_config::BehaviorVersion;
use aws_config::meta::region::RegionProviderChain;

/// The caller's ARN from `sts:GetCallerIdentity` through the default
/// credential chain (environment, profiles, SSO, `credential_process`, web
/// identity, container and instance roles), with an assumed-role session
/// turned into its role. `Err` (why, in a few words) when no credentials are
/// found or STS does not answer within `timeout`: protection is best effort,
/// never a blocker, but the user is told it is off. `profile` is the one
/// the kubeconfig's exec plugin logs in with, when it names one: the
/// identity the API server sees.
///
/// When the exec plugin assumes `role` (`--role-arn`), that role is the
/// caller, and no call is needed.
pub(crate) async fn caller(
    timeout: Duration,
    profile: Option<&str>,
    role: Option<&str>,
) -> Result<Arn, String> {
    if let Some(role) = role {
        return match role.parse::<Arn>() {
            Ok(a) => {
                tracing::info!(caller = %a.canonical(), "protecting the role the exec plugin assumes");
                Ok(a.canonical())
            }
            Err(e) => Err(format!(
                "the exec plugin's --role-arn {role} does not parse: {e}"
            )),
        };
    }
    let lookup = async {
        // STS is global; a region is only needed to pick an endpoint.
        let region = match profile {
            Some(p) => RegionProviderChain::first_try(
                aws_config::profile::ProfileFileRegionProvider::builder()
                    .profile_name(p)
                    .build(),
            )
            .or_default_provider(),
            None => RegionProviderChain::default_provider(),
        }
        .or_else("us-east-1");
        let mut loader = aws_config::defaults(BehaviorVersion::v2026_01_12()).region(region);
        if let Some(p) = profile {
            loader = loader.profile_name(p);
        }
        // Best effort: a CA bundle that cannot be read is said by the
        // commands that need AWS; here the caller is then not known.
        if let Ok(client) = crate::aws_http::client(profile) {
            loader = loader.http_client(client);
        }
        let config = loader.load().await;
        // Resolved first (the client then uses the cached credentials), so
        // that their secrets are known to the redaction.
        if let Some(provider) = config.credentials_provider()
            && let Ok(credentials) =
                aws_sdk_sts::config::ProvideCredentials::provide_credentials(&provider).await
        {
            crate::credentials::remember_aws(&credentials);
        }
        aws_sdk_sts::Client::new(&config)
            .get_caller_identity()
            .send()
            .await
    };
    let children = crate::reap::Children::now();
    let answer = tokio::time::timeout(timeout, lookup).await;
    if answer.is_err() {
        // A credential_process the SDK started is left running otherwise.
        children.kill_newer();
    }
    match answer {
        Ok(Ok(out)) => {
            let Some(arn) = out.arn() else {
                return Err("STS returned no ARN".to_owned());
            };
            match arn.parse::<Arn>() {
                Ok(a) => {
                    let canonical = a.canonical();
                    tracing::info!(caller = %canonical, "protecting the caller's own mapping or entry");
                    Ok(canonical)
                }
                Err(e) => {
                    tracing::debug!(%arn, error = %e, "STS returned an ARN that does not parse");
                    Err(format!("STS returned {arn}, which does not parse"))
                }
            }
        }
        Ok(Err(e)) => {
            tracing::debug!(error = %aws_auth_core::error_chain(&e), "no caller identity");
            Err(match &e {
                aws_sdk_sts::error::SdkError::DispatchFailure(_) => {
                    "no AWS credentials, or STS cannot be reached".to_owned()
                }
                _ => "sts:GetCallerIdentity failed".to_owned(),
            })
        }
        Err(_) => {
            tracing::debug!(?timeout, "no caller identity: STS did not answer in time");
            Err(format!("STS did not answer within {} s", timeout.as_secs()))
        }
    }
}

/// What is said when the caller's own mapping is not protected.
pub(crate) fn unprotected_note(why: &str) -> String {
    format!(
        "note: your own AWS identity was not found ({why}), so your own mapping is not protected; --protect ARN protects it\n"
    )
}
