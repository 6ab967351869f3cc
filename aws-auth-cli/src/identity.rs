//! The caller's own AWS identity, protected from removal without being asked.

use std::time::Duration;

use aws_auth_core::arn::Arn;
use aws_config::BehaviorVersion;
use aws_config::meta::region::RegionProviderChain;

/// The caller's ARN from `sts:GetCallerIdentity` through the default
/// credential chain (environment, profiles, SSO, `credential_process`, web
/// identity, container and instance roles), with an assumed-role session
/// turned into its role. `None` when no credentials are found or STS does not
/// answer within `timeout`: protection is best effort, never a blocker.
pub(crate) async fn caller(timeout: Duration) -> Option<Arn> {
    let lookup = async {
        // STS is global; a region is only needed to pick an endpoint.
        let region = RegionProviderChain::default_provider().or_else("us-east-1");
        let config = aws_config::defaults(BehaviorVersion::v2026_01_12())
            .region(region)
            .load()
            .await;
        aws_sdk_sts::Client::new(&config)
            .get_caller_identity()
            .send()
            .await
    };
    match tokio::time::timeout(timeout, lookup).await {
        Ok(Ok(out)) => {
            let arn = out.arn()?;
            match arn.parse::<Arn>() {
                Ok(a) => {
                    let canonical = a.canonical();
                    tracing::info!(caller = %canonical, "protecting the caller's own mapping");
                    Some(canonical)
                }
                Err(e) => {
                    tracing::debug!(%arn, error = %e, "STS returned an ARN that does not parse");
                    None
                }
            }
        }
        Ok(Err(e)) => {
            tracing::debug!(error = %crate::connect::chain(&e), "no caller identity");
            None
        }
        Err(_) => {
            tracing::debug!(?timeout, "no caller identity: STS did not answer in time");
            None
        }
    }
}
