//! Finding the cluster: kubeconfig (`--kubeconfig`, `$KUBECONFIG`,
//! `~/.kube/config`) with `--context`, or the in-cluster service account.

use std::path::PathBuf;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::exit::{CONFIG, fail};
use crate::settings::Kube;

/// A client for one cluster, and the name its backups are filed under.
pub(crate) struct Connection {
    pub(crate) client: kube::Client,
    pub(crate) context: String,
    /// The API server's URL.
    pub(crate) server: String,
    /// The AWS profile the kubeconfig's exec plugin logs in with
    /// (`aws eks get-token --profile P`, or `AWS_PROFILE` in its
    /// environment): whose own mapping the guards keep.
    pub(crate) aws_profile: Option<String>,
    /// The role the exec plugin assumes (`aws eks get-token --role-arn R`):
    /// then the API server sees R, whatever the profile.
    pub(crate) aws_role: Option<String>,
}

/// The value of `--flag V` or `--flag=V` among an exec plugin's arguments.
pub(crate) fn exec_arg(exec: &kube::config::ExecConfig, flag: &str) -> Option<String> {
    let args = exec.args.as_deref().unwrap_or_default();
    args.iter()
        .enumerate()
        .find_map(|(i, a)| {
            a.strip_prefix(flag)
                .and_then(|rest| rest.strip_prefix('='))
                .map(str::to_owned)
                .or_else(|| (a == flag).then(|| args.get(i + 1).cloned()).flatten())
        })
        .filter(|v| !v.is_empty())
}

/// The AWS profile an exec credential plugin uses, when it names one.
pub(crate) fn exec_profile(exec: &kube::config::ExecConfig) -> Option<String> {
    let from_args = exec_arg(exec, "--profile");
    let from_env = exec
        .env
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find_map(|v| {
            (v.get("name").map(String::as_str) == Some("AWS_PROFILE"))
                .then(|| v.get("value").cloned())
                .flatten()
        });
    from_args.or(from_env).filter(|p| !p.is_empty())
}

/// Where the kubeconfig comes from, when there is one.
pub(crate) fn kubeconfig_source(args: &Kube) -> Option<String> {
    if let Some(path) = &args.kubeconfig {
        return Some(path.display().to_string());
    }
    if let Some(v) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        return Some(v.to_string_lossy().into_owned());
    }
    let home = PathBuf::from(std::env::var_os("HOME")?);
    let default = home.join(".kube").join("config");
    default.exists().then(|| default.display().to_string())
}

/// The kubeconfig `args` select, found at `source` (see
/// [`kubeconfig_source`]), read once in a run: a run over hundreds of
/// contexts does not parse hundreds of contexts for each.
pub(crate) fn read_kubeconfig(
    args: &Kube,
    source: &str,
) -> anyhow::Result<std::sync::Arc<Kubeconfig>> {
    type Read = std::collections::HashMap<String, std::sync::Arc<Kubeconfig>>;
    static READ: std::sync::OnceLock<std::sync::Mutex<Read>> = std::sync::OnceLock::new();
    let read = READ.get_or_init(Default::default);
    if let Some(k) = read.lock().unwrap_or_else(|e| e.into_inner()).get(source) {
        return Ok(std::sync::Arc::clone(k));
    }
    let kubeconfig = std::sync::Arc::new(parse_kubeconfig(args, source)?);
    read.lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(source.to_owned(), std::sync::Arc::clone(&kubeconfig));
    Ok(kubeconfig)
}

/// What of `kubeconfig` its context `context` uses: that context, its
/// cluster and its user; a client of one context holds no other's.
pub(crate) fn narrowed(kubeconfig: &Kubeconfig, context: &str) -> Kubeconfig {
    let ctx = kubeconfig.contexts.iter().find(|c| c.name == context);
    let inner = ctx.and_then(|c| c.context.as_ref());
    let cluster = inner.map(|c| c.cluster.as_str());
    let user = inner.and_then(|c| c.user.as_deref());
    let mut out = Kubeconfig {
        preferences: kubeconfig.preferences.clone(),
        clusters: kubeconfig
            .clusters
            .iter()
            .filter(|c| Some(c.name.as_str()) == cluster)
            .cloned()
            .collect(),
        auth_infos: kubeconfig
            .auth_infos
            .iter()
            .filter(|a| Some(a.name.as_str()) == user)
            .cloned()
            .collect(),
        contexts: ctx.into_iter().cloned().collect(),
        current_context: Some(context.to_owned()),
        extensions: kubeconfig.extensions.clone(),
        kind: kubeconfig.kind.clone(),
        api_version: kubeconfig.api_version.clone(),
        ..Kubeconfig::default()
    };
    out.other.clone_from(&kubeconfig.other);
    out
}

/// Parses the kubeconfig `args` select.
fn parse_kubeconfig(args: &Kube, source: &str) -> anyhow::Result<Kubeconfig> {
    match &args.kubeconfig {
        Some(path) => Kubeconfig::read_from(path),
        None => Kubeconfig::read(),
    }
    .map_err(|e| {
        fail(
            CONFIG,
            format!(
                "cannot read the kubeconfig {source}: {}",
                aws_auth_core::error_chain(&e)
            ),
        )
    })
}

/// `--context`, else the kubeconfig's current context; an error naming the
/// contexts there are when it has no such context.
pub(crate) fn selected_context(
    args: &Kube,
    kubeconfig: &Kubeconfig,
    source: &str,
) -> anyhow::Result<String> {
    let context = args
        .context
        .clone()
        .or_else(|| kubeconfig.current_context.clone())
        .ok_or_else(|| {
            fail(
                CONFIG,
                format!("the kubeconfig {source} has no current context; give --context"),
            )
        })?;
    if !kubeconfig.contexts.iter().any(|c| c.name == context) {
        let known: Vec<&str> = kubeconfig
            .contexts
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        return Err(fail(
            CONFIG,
            format!(
                "the kubeconfig {source} has no context {context:?} (it has: {})",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ),
        ));
    }
    Ok(context)
}

pub(crate) async fn connect(args: &Kube) -> anyhow::Result<Connection> {
    let timeout = args.request_timeout;
    let mut secrets = crate::credentials::Secrets::default();
    let mut explicit_proxy: Option<String> = None;
    let mut aws_profile: Option<String> = None;
    let mut aws_role: Option<String> = None;
    let (mut config, context) = match kubeconfig_source(args) {
        Some(source) => {
            let all = read_kubeconfig(args, &source)?;
            let context = selected_context(args, &all, &source)?;
            let mut kubeconfig = narrowed(&all, &context);
            drop(all);
            // The user and cluster of the context, for the exec plugin and
            // for keeping their secrets out of every message.
            let ctx = kubeconfig
                .contexts
                .iter()
                .find(|c| c.name == context)
                .and_then(|c| c.context.clone());
            let user = ctx
                .as_ref()
                .and_then(|c| c.user.clone())
                .unwrap_or_default();
            let cluster_entry = ctx.as_ref().and_then(|c| {
                kubeconfig
                    .clusters
                    .iter()
                    .find(|n| n.name == c.cluster)
                    .and_then(|n| n.cluster.clone())
            });
            let server = cluster_entry.as_ref().and_then(|c| c.server.clone());
            explicit_proxy = cluster_entry
                .and_then(|c| c.proxy_url)
                .filter(|p| !p.is_empty());
            secrets = crate::credentials::Secrets::of(
                kubeconfig
                    .auth_infos
                    .iter()
                    .find(|a| a.name == user)
                    .and_then(|a| a.auth_info.as_ref()),
            );
            if let Some(p) = &explicit_proxy {
                secrets.add_url_password(p);
            }
            let exec = kubeconfig
                .auth_infos
                .iter()
                .find(|a| a.name == user)
                .and_then(|a| a.auth_info.as_ref())
                .and_then(|a| a.exec.as_ref());
            aws_profile = exec.and_then(exec_profile);
            aws_role = exec.and_then(|e| exec_arg(e, "--role-arn"));
            crate::credentials::remember(&secrets);
            crate::credentials::resolve_exec(
                &mut kubeconfig,
                &user,
                server.as_deref(),
                timeout,
                &secrets,
            )
            .await
            .map_err(|e| fail(CONFIG, secrets.redact(&e.to_string())))?;
            let options = KubeConfigOptions {
                context: Some(context.clone()),
                ..KubeConfigOptions::default()
            };
            let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(|e| {
                    fail(
                        CONFIG,
                        secrets.redact(&format!(
                            "the kubeconfig {source}, context {context:?}: {}",
                            aws_auth_core::error_chain(&e)
                        )),
                    )
                })?;
            (config, context)
        }
        None if args.context.is_some() => {
            return Err(fail(
                CONFIG,
                "--context needs a kubeconfig, and none was found ($KUBECONFIG is unset and ~/.kube/config does not exist)",
            ));
        }
        None => {
            let config = kube::Config::incluster().map_err(|_| {
                fail(
                    CONFIG,
                    "no kubeconfig found ($KUBECONFIG is unset, ~/.kube/config does not exist) and not running in a pod; run `aws eks update-kubeconfig --name CLUSTER` or give --kubeconfig",
                )
            })?;
            (config, "in-cluster".to_owned())
        }
    };
    config.connect_timeout = Some(timeout.min(Duration::from_secs(10)));
    config.read_timeout = Some(timeout);
    config.write_timeout = Some(timeout);
    // Count the timeout from when the request is sent, not from when a pooled
    // connection went idle.
    config.reset_reader_on_write = true;
    // kube would retry 429 and 5xx for up to 15 minutes without a word; the
    // library retries a bounded number of times and says so (see cluster()).
    config.default_retry = false;
    // The proxy, as kubectl chooses it (see crate::proxy): kube alone takes
    // HTTPS_PROXY for any scheme, matches NO_PROXY against the proxy, and
    // tunnels plain http too.
    let proxy = proxy_for(&config.cluster_url, explicit_proxy.as_deref())?;
    if let Some(p) = &proxy {
        tracing::debug!(proxy = %redact_userinfo(p), "through a proxy");
    }
    let server = config.cluster_url.to_string();
    tracing::debug!(%server, %context, "connecting");
    let set_up = |e: String| {
        fail(
            CONFIG,
            secrets.redact(&format!("cannot set up a client for {server}: {e}")),
        )
    };
    let forward = proxy.as_ref().filter(|p| {
        p.scheme_str() == Some("http") && config.cluster_url.scheme_str() == Some("http")
    });
    let client = match forward {
        Some(p) => crate::proxy::forwarding_client(config, p).map_err(set_up)?,
        None => {
            config.proxy_url = proxy;
            kube::Client::try_from(config).map_err(|e| set_up(aws_auth_core::error_chain(&e)))?
        }
    };
    Ok(Connection {
        client,
        context,
        server,
        aws_profile,
        aws_role,
    })
}

/// The ConfigMap `namespace/name` through this connection; every wait to try
/// a request again is told on stderr ("the API server answered 503, retrying
/// in 4.0 s (attempt 3)"), whatever the verbosity.
pub(crate) fn cluster(conn: &Connection, args: &Kube) -> aws_auth_core::cluster::Cluster {
    let mut retry = aws_auth_core::cluster::RetryPolicy::default();
    retry.transient_delay = args.retry_delay;
    retry.transient_max_delay = retry.transient_max_delay.max(args.retry_delay);
    aws_auth_core::cluster::Cluster::new(conn.client.clone(), &args.namespace, &args.name)
        .with_retry(retry)
        .on_retry(|notice| {
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr(), "{notice}");
        })
}

/// The proxy for `server`: `explicit` (a kubeconfig's proxy-url), else the
/// environment's as kubectl chooses it ([`crate::proxy::for_url`]).
fn proxy_for(server: &http::Uri, explicit: Option<&str>) -> anyhow::Result<Option<http::Uri>> {
    let parse = |p: &str, from: &str| {
        p.parse::<http::Uri>()
            .map(Some)
            .map_err(|e| fail(CONFIG, format!("the proxy of {from} is not a URL ({e})")))
    };
    if let Some(p) = explicit {
        return parse(p, "the kubeconfig (proxy-url)");
    }
    match crate::proxy::for_url(server, &crate::proxy::NoProxy::from_env()) {
        Some((p, name)) => parse(&p, &format!("${name}")),
        None => Ok(None),
    }
}

/// A proxy URL without its user and password, for logs.
fn redact_userinfo(uri: &http::Uri) -> String {
    let text = uri.to_string();
    match (text.find("://"), text.find('@')) {
        (Some(s), Some(at)) if at > s => format!("{}[redacted]{}", &text[..s + 3], &text[at..]),
        _ => text,
    }
}
