//! Move a map to EKS access entries with clients the caller built: the
//! cluster read, the mapped roles' IAM paths resolved, the plan printed, and
//! with `--apply` the calls made (paced to the API's throttle, retried,
//! idempotent: a second run finds everything there).
//!
//! `cargo run -p aws-auth-core --features eks --example migrate_eks -- CLUSTER MANIFEST [--apply]`
//!
//! AWS credentials and region come from where the AWS CLI finds them. The
//! cluster must already be in `API_AND_CONFIG_MAP` mode for `--apply`
//! (`aws-auth migrate apply --enable-api-mode` switches it).

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_auth_core::Document;
use aws_auth_core::eks::{Eks, configure, configure_iam};
use aws_auth_core::entries::PlanOptions;
use aws_auth_core::migrate;

/// Calls in flight at once.
const CONCURRENCY: usize = 8;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [cluster, manifest, rest @ ..] = args.as_slice() else {
        return Err("usage: migrate_eks CLUSTER MANIFEST [--apply]".into());
    };
    let apply = rest.iter().any(|a| a == "--apply");
    let doc = Document::parse_manifest(std::fs::read_to_string(manifest)?)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let config = aws_config::defaults(aws_config::BehaviorVersion::v2026_01_12())
            .load()
            .await;
        // The EKS and IAM clients shaped as the pacing needs (throttled
        // calls are retried on a shared pace, not by the SDK).
        let eks_config = configure(aws_sdk_eks::config::Builder::from(&config)).build();
        let iam_config = configure_iam(aws_sdk_iam::config::Builder::from(&config)).build();
        let eks = Eks::new(
            aws_sdk_eks::Client::from_conf(eks_config),
            aws_sdk_iam::Client::from_conf(iam_config),
            aws_sdk_sts::Client::new(&config),
            cluster.as_str(),
        );
        let info = eks.describe_cluster().await?;
        let account = eks.caller_account().await?;
        let resolutions = eks
            .resolve_roles(
                migrate::roles_to_resolve(&doc),
                &account,
                &BTreeMap::new(),
                CONCURRENCY,
            )
            .await;
        let principals = migrate::principals(&doc, &resolutions, info.account.as_deref());
        let state = eks.state(&info, &principals, CONCURRENCY).await?;
        let plan = migrate::plan(&doc, &state, &resolutions, &PlanOptions::new());
        for action in &plan.actions {
            println!("{action}");
        }
        for blocked in &plan.blocked {
            println!("cannot move: {}", blocked.reason);
        }
        if apply {
            let outcomes = eks
                .apply(
                    &plan,
                    CONCURRENCY,
                    false,
                    Arc::new(|action, status| println!("{action}: {status:?}")),
                )
                .await;
            let failed = outcomes.iter().filter(|o| !o.status.ok()).count();
            println!("{} calls, {failed} did not succeed", outcomes.len());
        }
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}
