//! Which proxy a request goes through, as kubectl decides it (Go's
//! `net/http` with `golang.org/x/net/http/httpproxy`), for the Kubernetes
//! API and for every AWS call:
//!
//! - the kubeconfig cluster's `proxy-url`, when it has one (Kubernetes only);
//! - else `HTTPS_PROXY` for an https URL, `HTTP_PROXY` for an http one (upper
//!   or lower case; `ALL_PROXY` as a last resort);
//! - never for `localhost` or a loopback address, nor when `NO_PROXY` names
//!   the host: `*` (everything), an IP or a CIDR, a domain (itself and its
//!   subdomains; `.domain` and `*.domain` its subdomains only), each with an
//!   optional `:port` that must then match too.
//!
//! A plain `http://` API server behind an HTTP proxy gets its requests
//! forwarded in absolute form (`GET http://host/...`), as kubectl sends them
//! and as a Squid with default settings accepts; only https goes through a
//! `CONNECT` tunnel.

use std::net::IpAddr;

/// One `NO_PROXY` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Rule {
    /// `*`.
    All,
    /// An address, and the port it must be reached on, if any.
    Ip(IpAddr, Option<u16>),
    /// A network.
    Cidr(IpAddr, u8),
    /// `.example.com` (subdomains only, `exact: false`) or `example.com`
    /// (itself too), lower case, with an optional port.
    Domain {
        suffix: String,
        exact: bool,
        port: Option<u16>,
    },
}

/// The parsed `NO_PROXY`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NoProxy(Vec<Rule>);

impl NoProxy {
    /// `NO_PROXY`, else `no_proxy`, from the environment.
    pub(crate) fn from_env() -> NoProxy {
        let value = env("NO_PROXY").unwrap_or_default();
        NoProxy::parse(&value)
    }

    /// Comma-separated entries; what cannot be read is left out, as Go does.
    pub(crate) fn parse(list: &str) -> NoProxy {
        let mut rules = Vec::new();
        for entry in list.split(',').map(|e| e.trim().to_ascii_lowercase()) {
            if entry.is_empty() {
                continue;
            }
            if entry == "*" {
                rules = vec![Rule::All];
                break;
            }
            if let Some((addr, bits)) = entry.split_once('/')
                && let (Ok(ip), Ok(bits)) = (addr.parse::<IpAddr>(), bits.parse::<u8>())
            {
                rules.push(Rule::Cidr(ip, bits));
                continue;
            }
            let (host, port) = split_port(&entry);
            if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
                rules.push(Rule::Ip(ip, port));
                continue;
            }
            let host = host.strip_prefix('*').unwrap_or(host);
            let (suffix, exact) = match host.strip_prefix('.') {
                Some(_) => (host.to_owned(), false),
                None => (format!(".{host}"), true),
            };
            rules.push(Rule::Domain {
                suffix,
                exact,
                port,
            });
        }
        NoProxy(rules)
    }

    /// True when `host` (a name or an address) on `port` is reached
    /// directly.
    pub(crate) fn bypass(&self, host: &str, port: u16) -> bool {
        let host = host.trim_matches(['[', ']']).to_ascii_lowercase();
        if host == "localhost" {
            return true;
        }
        let ip = host.parse::<IpAddr>().ok();
        if ip.is_some_and(|ip| ip.is_loopback()) {
            return true;
        }
        let port_ok = |p: &Option<u16>| p.is_none_or(|p| p == port);
        self.0.iter().any(|rule| match (rule, ip) {
            (Rule::All, _) => true,
            (Rule::Ip(want, p), Some(ip)) => *want == ip && port_ok(p),
            (Rule::Cidr(net, bits), Some(ip)) => in_network(ip, *net, *bits),
            (
                Rule::Domain {
                    suffix,
                    exact,
                    port: p,
                },
                _,
            ) => (host.ends_with(suffix.as_str()) || (*exact && host == suffix[1..])) && port_ok(p),
            _ => false,
        })
    }

    /// The rules in the form the AWS SDK's client takes (a comma-separated
    /// list without ports, which it cannot match): loopback always, and the
    /// entries with their ports dropped (AWS endpoints answer on one port
    /// each, so a port narrows nothing there). `None` for `*`.
    pub(crate) fn for_sdk(&self) -> Option<String> {
        let mut out = vec![
            "localhost".to_owned(),
            "127.0.0.0/8".to_owned(),
            "::1".to_owned(),
        ];
        for rule in &self.0 {
            match rule {
                Rule::All => return None,
                Rule::Ip(ip, _) => out.push(ip.to_string()),
                Rule::Cidr(ip, bits) => out.push(format!("{ip}/{bits}")),
                Rule::Domain { suffix, exact, .. } => out.push(if *exact {
                    suffix[1..].to_owned()
                } else {
                    suffix.clone()
                }),
            }
        }
        Some(out.join(","))
    }
}

/// `host:port`, `[v6]:port`, or a host alone.
fn split_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((host, tail)) => (host, tail.strip_prefix(':').and_then(|p| p.parse().ok())),
            None => (entry, None),
        };
    }
    // An IPv6 address without brackets has several colons and no port.
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port.parse() {
            Ok(p) => (host, Some(p)),
            Err(_) => (entry, None),
        },
        _ => (entry, None),
    }
}

fn in_network(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// A variable in upper case, else lower case, when not empty.
fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .or_else(|| std::env::var(name.to_ascii_lowercase()).ok())
        .filter(|v| !v.is_empty())
}

/// The environment's proxy for a scheme (`https` or `http`), and the
/// variable it came from.
pub(crate) fn env_proxy(scheme: &str) -> Option<(String, &'static str)> {
    let names: &[&'static str] = match scheme {
        "https" => &["HTTPS_PROXY", "ALL_PROXY"],
        _ => &["HTTP_PROXY", "ALL_PROXY"],
    };
    names.iter().find_map(|n| env(n).map(|v| (v, *n)))
}

/// The proxy for `url` from the environment, unless `no_proxy` (or the
/// loopback rule) sends it direct.
pub(crate) fn for_url(url: &http::Uri, no_proxy: &NoProxy) -> Option<(String, &'static str)> {
    let scheme = url.scheme_str().unwrap_or("https");
    let host = url.host()?;
    let port = url
        .port_u16()
        .unwrap_or(if scheme == "https" { 443 } else { 80 });
    if no_proxy.bypass(host, port) {
        return None;
    }
    env_proxy(scheme)
}

/// A Kubernetes client for a plain-http API server behind the HTTP proxy
/// `proxy`: requests go to the proxy in absolute form (kube alone would
/// tunnel them with `CONNECT`, which a default Squid refuses for ports other
/// than 443). The same layers as kube's own client: base URI, the
/// kubeconfig's credentials and headers, the connection's timeouts.
pub(crate) fn forwarding_client(
    config: kube::Config,
    proxy: &http::Uri,
) -> Result<kube::Client, String> {
    use kube::client::ConfigExt as _;
    let authority = proxy
        .authority()
        .ok_or_else(|| format!("the proxy {proxy} names no host"))?;
    let address = format!(
        "{}:{}",
        authority.host(),
        authority.port_u16().unwrap_or(80)
    );
    let proxy_auth = authority
        .as_str()
        .rsplit_once('@')
        .map(|(userinfo, _)| basic(userinfo))
        .transpose()?;
    let mut connector = hyper_timeout::TimeoutConnector::new(Forward { address });
    connector.set_connect_timeout(config.connect_timeout);
    connector.set_read_timeout(config.read_timeout);
    connector.set_write_timeout(config.write_timeout);
    connector.set_reset_reader_on_write(config.reset_reader_on_write);
    let client: hyper_util::client::legacy::Client<_, kube::client::Body> =
        hyper_util::client::legacy::Builder::new(hyper_util::rt::TokioExecutor::new())
            .build(connector);
    let auth = config.auth_layer().map_err(|e| e.to_string())?;
    let headers = config.extra_headers_layer().map_err(|e| e.to_string())?;
    let service = tower::ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(auth)
        .layer(headers)
        .map_request(move |mut req: http::Request<kube::client::Body>| {
            if let Some(v) = &proxy_auth {
                req.headers_mut()
                    .insert(http::header::PROXY_AUTHORIZATION, v.clone());
            }
            req
        })
        .map_err(tower::BoxError::from)
        .service(client);
    Ok(kube::Client::new(service, config.default_namespace))
}

/// `Basic base64(user:password)` for a proxy's user information, its
/// percent-escapes decoded (as kubectl and kube do).
fn basic(userinfo: &str) -> Result<http::HeaderValue, String> {
    use base64::Engine as _;
    let mut raw = Vec::with_capacity(userinfo.len());
    let bytes = userinfo.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).and_then(|&b| hex(b)),
            bytes.get(i + 2).and_then(|&b| hex(b)),
        ) {
            (b'%', Some(h), Some(l)) => {
                raw.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                raw.push(b);
                i += 1;
            }
        }
    }
    let value = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    );
    let mut header = http::HeaderValue::from_str(&value)
        .map_err(|_| "the proxy's user information is not valid".to_owned())?;
    header.set_sensitive(true);
    Ok(header)
}

/// Connects every request to the proxy, marked as proxied so that the
/// client sends absolute-form request targets.
#[derive(Debug, Clone)]
struct Forward {
    address: String,
}

impl tower::Service<http::Uri> for Forward {
    type Response = Proxied;
    type Error = std::io::Error;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<Proxied>> + Send>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, _destination: http::Uri) -> Self::Future {
        let address = self.address.clone();
        Box::pin(async move {
            let tcp = tokio::net::TcpStream::connect(&address).await?;
            tcp.set_nodelay(true)?;
            Ok(Proxied(hyper_util::rt::TokioIo::new(tcp)))
        })
    }
}

/// A connection to the proxy.
#[derive(Debug)]
struct Proxied(hyper_util::rt::TokioIo<tokio::net::TcpStream>);

impl hyper_util::client::legacy::connect::Connection for Proxied {
    fn connected(&self) -> hyper_util::client::legacy::connect::Connected {
        hyper_util::client::legacy::connect::Connected::new().proxy(true)
    }
}

impl hyper::rt::Read for Proxied {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for Proxied {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_reads_as_go_reads_it() {
        let np = NoProxy::parse(
            "internal.example.com, .corp.example, *.svc.local, 10.0.0.0/8, 192.168.1.5:6443, eks.test:8443, [fd00::1]:443",
        );
        for (host, port, direct) in [
            ("internal.example.com", 443, true),
            ("api.internal.example.com", 443, true),
            ("xinternal.example.com", 443, false),
            ("corp.example", 443, false),
            ("a.corp.example", 443, true),
            ("x.svc.local", 443, true),
            ("svc.local", 443, false),
            ("10.1.2.3", 443, true),
            ("11.1.2.3", 443, false),
            ("192.168.1.5", 6443, true),
            ("192.168.1.5", 443, false),
            ("eks.test", 8443, true),
            ("eks.test", 443, false),
            ("fd00::1", 443, true),
            ("[fd00::1]", 80, false),
            // Never through a proxy, whatever NO_PROXY says.
            ("localhost", 80, true),
            ("127.0.0.1", 6443, true),
            ("::1", 443, true),
            ("EKS.TEST", 8443, true),
        ] {
            assert_eq!(np.bypass(host, port), direct, "{host}:{port}");
        }
        // `*` sends everything direct, addresses included.
        let all = NoProxy::parse("foo, *");
        assert!(all.bypass("10.2.3.4", 443) && all.bypass("eks.amazonaws.com", 443));
        assert_eq!(all.for_sdk(), None);
        assert!(!NoProxy::parse("").bypass("10.2.3.4", 443));
    }

    #[test]
    fn the_sdk_gets_the_rules_without_ports() {
        let np = NoProxy::parse("eks.test:8443, .corp.example, 10.0.0.0/8");
        assert_eq!(
            np.for_sdk().as_deref(),
            Some("localhost,127.0.0.0/8,::1,eks.test,.corp.example,10.0.0.0/8")
        );
    }
}
