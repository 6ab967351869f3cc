//! The AWS side of the migrator as the command line needs it: clients built
//! from the user's AWS configuration (checked before any call), errors as exit
//! codes, and `--role-arn-map`. The calls themselves are the library's
//! (`aws_auth_core::eks`).

use std::collections::BTreeMap;
use std::time::Duration;

use aws_auth_core::arn::{Arn, PrincipalKind};
use aws_auth_core::eks::{self, Eks, EksError, EksErrorKind, role_key};
use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_eks::config::ProvideCredentials;

use crate::cli::MigrateArgs;
use crate::exit::{CONFIG, CONFLICT, INTERNAL, INVALID, NOPERM, NOT_FOUND, UNAVAILABLE, fail};

/// An EKS, IAM or STS failure as one sentence with its exit code.
pub(crate) fn eks_error(e: EksError) -> anyhow::Error {
    let code = match e.kind() {
        EksErrorKind::Denied => NOPERM,
        EksErrorKind::NotFound => NOT_FOUND,
        EksErrorKind::Config => CONFIG,
        EksErrorKind::Conflict => CONFLICT,
        EksErrorKind::Internal => INTERNAL,
        _ => UNAVAILABLE,
    };
    fail(code, e.to_string())
}

/// Loads the AWS configuration and checks it has a region and
/// credentials, so that a missing profile or expired login is one
/// sentence before any call rather than a dispatch failure in the middle.
/// Finding the credentials (a `credential_process`, an SSO refresh) may
/// take `--request-timeout`; what was started for it is then ended.
pub(crate) async fn connect(
    args: &MigrateArgs,
    cluster: &str,
    request_timeout: Duration,
) -> anyhow::Result<Eks> {
    let mut loader = aws_config::defaults(BehaviorVersion::v2026_01_12())
        // An answer that never comes is a failed attempt after
        // --request-timeout, retried like a 5xx; a call gives up after four
        // of those (throttled waits are the pacer's, outside this).
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(request_timeout.min(Duration::from_secs(10)))
                .operation_attempt_timeout(request_timeout)
                .operation_timeout(request_timeout * 4)
                .build(),
        )
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
    loader = loader.http_client(crate::aws_http::client(args.profile.as_deref())?);
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
        .as_ref()
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
        // A credential_process or SSO refresh that never ends must not hold
        // the command forever (the SDK's own load timeout applies only to
        // its cache, not to this first look).
        Some(provider) => {
            let children = crate::reap::Children::now();
            match tokio::time::timeout(request_timeout, provider.provide_credentials()).await {
                Ok(Ok(credentials)) => {
                    crate::credentials::remember_aws(&credentials);
                    None
                }
                // A credential_process's stderr is quoted in the error: it
                // may hold what it failed to hand over, so it is shown only
                // with -v, and redacted. The chain's "Attempted:" list spans
                // lines; chain() keeps only its first, so drop the dangling
                // heading.
                Ok(Err(e)) => Some(crate::credentials::redact_untrusted(
                    &crate::credentials::without_process_output(
                        aws_auth_core::error_chain(&e)
                            .trim_end_matches("Attempted:")
                            .trim_end_matches([' ', '.']),
                    ),
                )),
                Err(_) => {
                    // The SDK leaves the process it started running.
                    children.kill_newer();
                    Some(format!(
                        "finding them took more than {} s (--request-timeout): a credential_process or SSO login that does not finish",
                        request_timeout.as_secs_f64()
                    ))
                }
            }
        }
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
    let eks = eks::configure(aws_sdk_eks::config::Builder::from(&config)).build();
    let iam = eks::configure_iam(aws_sdk_iam::config::Builder::from(&config)).build();
    let client = Eks::new(
        aws_sdk_eks::Client::from_conf(eks),
        aws_sdk_iam::Client::from_conf(iam),
        aws_sdk_sts::Client::new(&config),
        cluster,
    );
    Ok(shared(
        client,
        profile.as_deref(),
        config.region().map(|r| r.as_ref()),
    ))
}

/// What clients of many clusters in one run share, by AWS profile: IAM's
/// answers and pace, and who the credentials are (IAM is the account's,
/// so a principal mapped in many clusters is looked up once); and by
/// region, the pace of EKS calls (EKS throttles an account's calls in a
/// region together, so what one learns of the throttle serves all).
fn shared(client: Eks, profile: Option<&str>, region: Option<&str>) -> Eks {
    type Paces = std::collections::HashMap<String, std::sync::Arc<eks::Pacer>>;
    type Kept = std::collections::HashMap<String, (eks::IamAnswers, Paces)>;
    static KEPT: std::sync::OnceLock<std::sync::Mutex<Kept>> = std::sync::OnceLock::new();
    let mut kept = KEPT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let (iam, paces) = kept
        .entry(profile.unwrap_or_default().to_owned())
        .or_default();
    let pace = paces
        .entry(region.unwrap_or_default().to_owned())
        .or_insert_with(eks::Pacer::new);
    client
        .sharing_iam_answers(iam.clone())
        .sharing_eks_pace(std::sync::Arc::clone(pace))
}

/// `--role-arn-map`: full role ARNs, one per line, `#` comments.
pub(crate) fn read_role_map(path: &std::path::Path) -> anyhow::Result<BTreeMap<String, String>> {
    let text = crate::commands::read_text(path)?;
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
