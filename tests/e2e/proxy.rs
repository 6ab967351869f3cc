//! A forwarding HTTP proxy that counts what passes: `CONNECT host:port`
//! tunnels (HTTPS, and what kube sends through any proxy) and absolute-form
//! requests (`GET http://host:port/...`, plain HTTP through a proxy). It
//! forwards bytes as they are.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A running proxy; it stops when dropped.
pub(crate) struct Proxy {
    pub(crate) addr: SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Proxy {
    pub(crate) fn start() -> Proxy {
        Proxy::start_with(false)
    }

    /// A proxy that tunnels (`CONNECT`) only to port 443, as a default
    /// Squid does (`http_access deny CONNECT !SSL_ports`).
    pub(crate) fn start_squid_like() -> Proxy {
        Proxy::start_with(true)
    }

    fn start_with(strict: bool) -> Proxy {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        runtime.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let log = Arc::clone(&log);
                tokio::spawn(async move {
                    let _ = serve(client, log, strict).await;
                });
            }
        });
        Proxy {
            addr,
            seen,
            runtime: Some(runtime),
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What passed, one line each: `CONNECT host:port` or `METHOD host:port`.
    pub(crate) fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    /// How many of what passed went to `port`.
    pub(crate) fn count_to(&self, port: u16) -> usize {
        let suffix = format!(":{port}");
        self.seen().iter().filter(|l| l.ends_with(&suffix)).count()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Where the proxy connects for `host:port`: names under `.test` are its
/// own, all on this machine (a client can reach them only through it).
fn upstream(authority: &str) -> String {
    match authority.rsplit_once(':') {
        Some((host, port)) if host.ends_with(".test") => format!("127.0.0.1:{port}"),
        _ => authority.to_owned(),
    }
}

async fn serve(
    mut client: TcpStream,
    log: Arc<Mutex<Vec<String>>>,
    strict: bool,
) -> std::io::Result<()> {
    // The request head: up to the blank line.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte).await? == 0 || head.len() > 64 * 1024 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut first = text.lines().next().unwrap_or_default().split(' ');
    let (method, target) = (
        first.next().unwrap_or_default().to_owned(),
        first.next().unwrap_or_default().to_owned(),
    );
    if method == "CONNECT" {
        log.lock().unwrap().push(format!("CONNECT {target}"));
        if strict && !target.ends_with(":443") {
            client
                .write_all(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
                .await?;
            return Ok(());
        }
        let mut upstream = TcpStream::connect(upstream(&target)).await?;
        client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await?;
        tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
        return Ok(());
    }
    // Absolute form: http://host:port/path. Servers take it as it is.
    let Some(rest) = target.strip_prefix("http://") else {
        client
            .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
            .await?;
        return Ok(());
    };
    let authority = rest.split('/').next().unwrap_or_default().to_owned();
    log.lock().unwrap().push(format!("{method} {authority}"));
    if let Some(auth) = text.lines().find_map(|l| {
        l.split_once(':')
            .filter(|(k, _)| k.eq_ignore_ascii_case("proxy-authorization"))
            .map(|(_, v)| v.trim().to_owned())
    }) {
        log.lock()
            .unwrap()
            .push(format!("Proxy-Authorization {auth}"));
    }
    // One request per connection, so that each is seen here: the server is
    // told to close once it has answered, and the client opens a new one.
    let mut head: Vec<u8> = text
        .trim_end_matches("\r\n")
        .split("\r\n")
        .filter(|l| {
            !l.split_once(':')
                .is_some_and(|(k, _)| k.eq_ignore_ascii_case("connection"))
        })
        .flat_map(|l| [l, "\r\n"])
        .collect::<String>()
        .into_bytes();
    head.extend_from_slice(b"connection: close\r\n\r\n");
    let mut upstream = TcpStream::connect(upstream(&authority)).await?;
    upstream.write_all(&head).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}
