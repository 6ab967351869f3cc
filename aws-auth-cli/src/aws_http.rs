//! The HTTP client of every AWS call (EKS, IAM, STS), as the AWS CLI sets
//! it up where it matters to people behind a corporate proxy:
//!
//! - the CA bundle of `AWS_CA_BUNDLE`, else of the profile's `ca_bundle`
//!   setting, is the one trust store (TLS interception re-signs every
//!   certificate with a corporate CA that the system may not hold);
//! - the proxy of the environment, with `NO_PROXY` read as kubectl reads it
//!   ([`crate::proxy`]).

use std::path::{Path, PathBuf};

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

use crate::exit::{CONFIG, fail};
use crate::proxy::{NoProxy, env_proxy};

/// The client for `profile` (else `AWS_PROFILE`, else `default`).
pub(crate) fn client(profile: Option<&str>) -> anyhow::Result<SharedHttpClient> {
    let context = match ca_bundle(profile) {
        Some((path, from)) => {
            let pem = std::fs::read(&path).map_err(|e| {
                fail(
                    CONFIG,
                    format!(
                        "the CA bundle {} ({from}) cannot be read: {e}",
                        path.display()
                    ),
                )
            })?;
            let certificates = {
                use rustls_pki_types::CertificateDer;
                use rustls_pki_types::pem::PemObject;
                CertificateDer::pem_slice_iter(&pem)
                    .filter(Result::is_ok)
                    .count()
            };
            if certificates == 0 {
                return Err(fail(
                    CONFIG,
                    format!(
                        "the CA bundle {} ({from}) holds no PEM certificate",
                        path.display()
                    ),
                ));
            }
            tracing::debug!(bundle = %path.display(), from, certificates, "AWS calls trust this CA bundle only");
            TlsContext::builder()
                .with_trust_store(
                    TrustStore::empty()
                        .with_native_roots(false)
                        .with_pem_certificate(pem),
                )
                .build()
                .map_err(|e| {
                    fail(
                        CONFIG,
                        format!("the CA bundle {} ({from}): {e}", path.display()),
                    )
                })?
        }
        None => TlsContext::default(),
    };
    let proxy = proxy_config()?;
    Ok(
        Builder::new().build_with_connector_fn(move |settings, components| {
            let mut builder = ConnectorBuilder::default()
                .tls_provider(tls::Provider::Rustls(
                    tls::rustls_provider::CryptoMode::AwsLc,
                ))
                .tls_context(context.clone());
            builder.set_connector_settings(settings.cloned());
            if let Some(components) = components {
                builder.set_sleep_impl(components.sleep_impl());
            }
            builder.set_proxy_config(Some(proxy.clone()));
            builder.build()
        }),
    )
}

/// The environment's proxies for AWS calls. The SDK's client takes one
/// proxy URL for one or both schemes: with different proxies for https and
/// http, the https one serves (AWS endpoints are https).
fn proxy_config() -> anyhow::Result<ProxyConfig> {
    let Some(no_proxy) = NoProxy::from_env().for_sdk() else {
        return Ok(ProxyConfig::disabled());
    };
    let bad = |e: aws_smithy_http_client::proxy::ProxyError, from: &str| {
        fail(CONFIG, format!("the proxy of ${from} is not a URL ({e})"))
    };
    Ok(match (env_proxy("https"), env_proxy("http")) {
        (None, None) => ProxyConfig::disabled(),
        (Some((s, from)), Some((p, _))) if s == p => ProxyConfig::all(s)
            .map_err(|e| bad(e, from))?
            .no_proxy(no_proxy),
        (Some((s, from)), _) => ProxyConfig::https(s)
            .map_err(|e| bad(e, from))?
            .no_proxy(no_proxy),
        (None, Some((p, from))) => ProxyConfig::http(p)
            .map_err(|e| bad(e, from))?
            .no_proxy(no_proxy),
    })
}

/// `AWS_CA_BUNDLE`, else the profile's `ca_bundle` in the AWS config file,
/// and where it came from.
fn ca_bundle(profile: Option<&str>) -> Option<(PathBuf, String)> {
    if let Some(v) = std::env::var_os("AWS_CA_BUNDLE").filter(|v| !v.is_empty()) {
        return Some((PathBuf::from(v), "AWS_CA_BUNDLE".to_owned()));
    }
    let profile = profile
        .map(str::to_owned)
        .or_else(|| std::env::var("AWS_PROFILE").ok())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "default".to_owned());
    let file = std::env::var_os("AWS_CONFIG_FILE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".aws").join("config")))?;
    let text = std::fs::read_to_string(&file).ok()?;
    let value = profile_setting(&text, &profile, "ca_bundle")?;
    let path = match value.strip_prefix("~/") {
        Some(rest) => Path::new(&std::env::var_os("HOME")?).join(rest),
        None => PathBuf::from(value),
    };
    Some((
        path,
        format!("ca_bundle of profile {profile} in {}", file.display()),
    ))
}

/// A setting of a profile in an AWS config file (`[default]` or
/// `[profile NAME]`; `#` and `;` comments).
fn profile_setting(text: &str, profile: &str, key: &str) -> Option<String> {
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let section = section.trim();
            let name = section
                .strip_prefix("profile ")
                .map(str::trim)
                .unwrap_or(section);
            inside = name == profile && (section.starts_with("profile ") || name == "default");
            continue;
        }
        if !inside {
            continue;
        }
        if let Some((k, v)) = line.split_once('=')
            && k.trim() == key
        {
            return Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::profile_setting;

    #[test]
    fn a_profiles_setting_is_found_in_its_own_section() {
        let text = "[default]\nregion = eu-west-1\nca_bundle = /etc/default.pem\n\n# corp\n[profile corp]\n; note\nca_bundle= ~/corp.pem \n[profile other]\nregion = us-east-1\n[corp]\nca_bundle = /wrong\n";
        assert_eq!(
            profile_setting(text, "default", "ca_bundle").as_deref(),
            Some("/etc/default.pem")
        );
        assert_eq!(
            profile_setting(text, "corp", "ca_bundle").as_deref(),
            Some("~/corp.pem")
        );
        assert_eq!(profile_setting(text, "other", "ca_bundle"), None);
        assert_eq!(profile_setting(text, "missing", "ca_bundle"), None);
    }
}
