//! `aws-auth webhook serve`: the validating admission webhook. Every writer
//! of kube-system/aws-auth (kubectl, Terraform, operators) passes the API
//! server's admission; this answers it with the library's decision
//! (`admission::review`), over HTTPS with a certificate reloaded when its
//! files change (cert-manager rotates them).

pub(crate) mod install;

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use aws_auth_core::arn::Arn;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use tokio_rustls::rustls;
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;

use crate::cli::ServeArgs;
use crate::exit::{CONFIG, INTERNAL, IO, fail};
use crate::report::{Nothing, Report};

/// The largest review the API server can send. etcd keeps an object of at
/// most 1.5 MiB (its default request limit; a ConfigMap's data alone may
/// hold 1 MiB), JSON escapes a byte as up to six (`&` is `\u0026`, as Go
/// writes it), and a review carries two objects, plus its envelope.
const MAX_BODY: usize = 2 * 6 * (3 << 19) + (64 << 10);
/// Reviews decided at once. Each holds its body (at most [`MAX_BODY`]) and
/// the maps read from it; the others wait their turn, their bodies unread
/// (a few KiB of buffer each), so memory stays under the Deployment's
/// limit whatever arrives (`cargo bench -p aws-auth-cli --bench webhook`).
const CONCURRENT: usize = 4;
/// Connections served at once; more wait in the listen queue.
const CONNECTIONS: usize = 512;
/// How long in-flight reviews may take to finish after a signal.
const DRAIN: Duration = Duration::from_secs(20);
/// How long a keep-alive connection is still served after a signal: a
/// request its client sent just before (or sends meanwhile, over a
/// connection pooled before the pod left the endpoints) is answered, with
/// `Connection: close`, rather than cut.
const LINGER: Duration = Duration::from_secs(2);
/// Latency histogram bounds, in seconds.
const BUCKETS: [f64; 8] = [0.0005, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5];

/// Runs the webhook until SIGTERM or SIGINT, then drains: it stops
/// accepting, serves what was already queued and every request in flight
/// (telling keep-alive clients to close), and exits when all is answered
/// or [`DRAIN`] has passed.
pub(crate) fn serve(args: &ServeArgs, protected: &[Arn]) -> anyhow::Result<Report> {
    let certs = Arc::new(Certs::load(args.cert.clone(), args.key.clone())?);
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| fail(INTERNAL, format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_cert_resolver(certs.clone());
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| fail(INTERNAL, format!("cannot start the async runtime: {e}")))?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let state = Arc::new(State {
        protected: protected.to_vec(),
        certs,
        metrics: Metrics::default(),
        reviews: tokio::sync::Semaphore::new(CONCURRENT),
        stopping: stop_rx,
    });
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .map_err(|e| fail(IO, format!("cannot listen on {}: {e}", args.listen)))?;
        let addr = listener.local_addr().map_err(|e| fail(IO, e.to_string()))?;
        log(&serde_json::json!({"msg": "listening", "address": addr.to_string()}));
        crate::interrupt::on_signal(move || {
            let _ = stop_tx.send(true);
        });
        let slots = Arc::new(tokio::sync::Semaphore::new(CONNECTIONS));
        let mut tasks = tokio::task::JoinSet::new();
        let mut stop = state.stopping.clone();
        loop {
            let slot = tokio::select! {
                s = slots.clone().acquire_owned() => s,
                _ = stop.wait_for(|s| *s) => break,
            };
            let Ok(slot) = slot else { break };
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = stop.wait_for(|s| *s) => break,
            };
            let Ok((tcp, peer)) = accepted else { continue };
            let (acceptor, state) = (acceptor.clone(), state.clone());
            tasks.spawn(async move {
                connection(acceptor, tcp, peer, state).await;
                drop(slot);
            });
            // Finished connections are reaped as they end.
            while tasks.try_join_next().is_some() {}
        }
        // Connections the kernel already completed wait in the listen
        // queue: closing the listener would reset them. Each is served its
        // request, then closed.
        let mut queued = 0;
        let until = Instant::now() + Duration::from_secs(1);
        while Instant::now() < until
            && let Ok(Ok((tcp, peer))) =
                tokio::time::timeout(Duration::from_millis(5), listener.accept()).await
        {
            queued += 1;
            let (acceptor, state) = (acceptor.clone(), state.clone());
            tasks.spawn(async move { connection(acceptor, tcp, peer, state).await });
        }
        drop(listener);
        log(&serde_json::json!({"msg": "stopping", "inFlight": tasks.len(), "queued": queued}));
        let drained =
            tokio::time::timeout(DRAIN, async { while tasks.join_next().await.is_some() {} })
                .await
                .is_ok();
        log(&serde_json::json!({"msg": "stopped", "drained": drained, "left": tasks.len()}));
        Ok::<(), anyhow::Error>(())
    })?;
    Ok(Report::new(Nothing {}))
}

async fn connection(
    acceptor: tokio_rustls::TlsAcceptor,
    tcp: tokio::net::TcpStream,
    _peer: SocketAddr,
    state: Arc<State>,
) {
    let Ok(Ok(tls)) = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await
    else {
        return;
    };
    let mut stopping = state.stopping.clone();
    // Accepted while stopping: one request, then the connection closes.
    let keep_alive = !*stopping.borrow();
    let service = {
        let state = state.clone();
        hyper::service::service_fn(move |req| {
            let state = state.clone();
            async move { Ok::<_, std::convert::Infallible>(handle(&state, req).await) }
        })
    };
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(keep_alive)
        // What a connection holds while its review waits for a turn.
        .max_buf_size(64 << 10)
        .serve_connection(hyper_util::rt::TokioIo::new(tls), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = stopping.wait_for(|s| *s), if keep_alive => {}
    }
    // Stopping: every answer now says `Connection: close`, so a connection
    // ends after its next request; one still idle after LINGER is closed
    // (and a request in flight then is still answered).
    if tokio::time::timeout(LINGER, conn.as_mut()).await.is_ok() {
        return;
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}

struct State {
    protected: Vec<Arn>,
    certs: Arc<Certs>,
    metrics: Metrics,
    /// Turns to decide a review ([`CONCURRENT`]).
    reviews: tokio::sync::Semaphore,
    /// Set on SIGTERM or SIGINT.
    stopping: tokio::sync::watch::Receiver<bool>,
}

fn text(code: u16, body: impl Into<Bytes>, kind: &str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(code)
        .header("content-type", kind)
        .body(Full::new(body.into()))
        .unwrap_or_default()
}

/// The request's body, at most `max` bytes, in one buffer sized from its
/// Content-Length (collecting chunks and joining them would hold it twice).
async fn read_body(req: Request<Incoming>, max: usize) -> Result<Vec<u8>, (u16, &'static str)> {
    let declared = req
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err((
            413,
            "the review is larger than any the API server can send\n",
        ));
    }
    let mut body = req.into_body();
    let mut out = Vec::with_capacity(declared.unwrap_or(0));
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err((400, "the review could not be read\n"));
        };
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > max {
                return Err((
                    413,
                    "the review is larger than any the API server can send\n",
                ));
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out)
}

async fn handle(state: &State, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let mut response = respond(state, req).await;
    if *state.stopping.borrow() {
        response.headers_mut().insert(
            hyper::header::CONNECTION,
            hyper::header::HeaderValue::from_static("close"),
        );
    }
    response
}

async fn respond(state: &State, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    match (method.as_str(), path.as_str()) {
        ("GET", "/healthz") => text(200, "ok\n", "text/plain"),
        // Out of the Service's endpoints as soon as it is stopping.
        ("GET", "/readyz") if *state.stopping.borrow() => text(503, "stopping\n", "text/plain"),
        ("GET", "/readyz") if state.certs.ready() => text(200, "ok\n", "text/plain"),
        ("GET", "/readyz") => text(503, "no certificate\n", "text/plain"),
        ("GET", "/metrics") => text(200, state.metrics.render(), "text/plain; version=0.0.4"),
        ("POST", _) => {
            let Ok(_turn) = state.reviews.acquire().await else {
                return text(503, "stopping\n", "text/plain");
            };
            let start = Instant::now();
            let body = match read_body(req, MAX_BODY).await {
                Ok(b) => b,
                Err((code, why)) => {
                    log(
                        &serde_json::json!({"msg": "review refused", "status": code, "error": why.trim_end()}),
                    );
                    state.metrics.record("malformed", start.elapsed());
                    return text(code, why, "text/plain");
                }
            };
            let answer = match aws_auth_core::admission::review_bytes(&body, &state.protected) {
                Ok(a) => a,
                // An error, not a decision: the API server applies the
                // failure policy.
                Err(e) => {
                    log(
                        &serde_json::json!({"msg": "review refused", "status": 400, "error": e.to_string()}),
                    );
                    state.metrics.record("malformed", start.elapsed());
                    return text(400, format!("{e}\n"), "text/plain");
                }
            };
            drop(body);
            let result = answer.log["result"].as_str().unwrap_or("").to_owned();
            let mut line = answer.log;
            line["seconds"] = serde_json::json!(start.elapsed().as_secs_f64());
            log(&line);
            state.metrics.record(&result, start.elapsed());
            text(200, answer.response.to_string(), "application/json")
        }
        _ => text(404, "not found\n", "text/plain"),
    }
}

/// One JSON line on stderr.
fn log(line: &serde_json::Value) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The serving certificate, read again when its files change.
#[derive(Debug)]
struct Certs {
    cert: PathBuf,
    key: PathBuf,
    current: Mutex<Loaded>,
}

#[derive(Debug)]
struct Loaded {
    key: Option<Arc<CertifiedKey>>,
    stamps: (Option<SystemTime>, Option<SystemTime>),
    /// The files' times when they last failed to load as a pair.
    refused: Option<(Option<SystemTime>, Option<SystemTime>)>,
    checked: Instant,
}

impl Certs {
    fn load(cert: PathBuf, key: PathBuf) -> anyhow::Result<Certs> {
        let loaded = read_pair(&cert, &key)
            .map_err(|e| fail(CONFIG, format!("the serving certificate: {e}")))?;
        Ok(Certs {
            current: Mutex::new(Loaded {
                key: Some(Arc::new(loaded)),
                stamps: stamps(&cert, &key),
                refused: None,
                checked: Instant::now(),
            }),
            cert,
            key,
        })
    }

    fn ready(&self) -> bool {
        self.current.lock().is_ok_and(|c| c.key.is_some())
    }

    /// The current pair, read again (at most once a second) when a file's
    /// modification time changed; a pair that does not load, or whose
    /// certificate is not the key's (one file replaced before the other),
    /// keeps the old, and says why once per change of the files.
    fn get(&self) -> Option<Arc<CertifiedKey>> {
        let mut c = self.current.lock().ok()?;
        if c.checked.elapsed() >= Duration::from_secs(1) {
            c.checked = Instant::now();
            let now = stamps(&self.cert, &self.key);
            if now != c.stamps && Some(now) != c.refused {
                match read_pair(&self.cert, &self.key) {
                    Ok(k) => {
                        c.key = Some(Arc::new(k));
                        c.stamps = now;
                        c.refused = None;
                        log(&serde_json::json!({"msg": "certificate reloaded"}));
                    }
                    Err(e) => {
                        c.refused = Some(now);
                        log(
                            &serde_json::json!({"msg": "certificate not reloaded; the previous pair is kept", "error": e}),
                        );
                    }
                }
            }
        }
        c.key.clone()
    }
}

impl ResolvesServerCert for Certs {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.get()
    }
}

fn stamps(cert: &PathBuf, key: &PathBuf) -> (Option<SystemTime>, Option<SystemTime>) {
    let m = |p: &PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    (m(cert), m(key))
}

fn read_pair(cert: &PathBuf, key: &PathBuf) -> Result<CertifiedKey, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("{}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("{} holds no certificate", cert.display()));
    }
    let key_der =
        PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let signing = provider
        .key_provider
        .load_private_key(key_der)
        .map_err(|e| format!("{}: {e}", key.display()))?;
    let pair = CertifiedKey::new(certs, signing);
    // Every handshake would fail with a certificate that is not the key's.
    pair.keys_match().map_err(|e| {
        format!(
            "{} does not match {} ({e}): was only one of them replaced?",
            cert.display(),
            key.display()
        )
    })?;
    Ok(pair)
}

/// Reviews by result and their latency, for Prometheus.
#[derive(Default)]
struct Metrics {
    results: Mutex<std::collections::BTreeMap<String, u64>>,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    micros: AtomicU64,
}

impl Metrics {
    fn record(&self, result: &str, took: Duration) {
        if let Ok(mut r) = self.results.lock() {
            *r.entry(result.to_owned()).or_default() += 1;
        }
        let s = took.as_secs_f64();
        for (b, bound) in self.buckets.iter().zip(BUCKETS) {
            if s <= bound {
                b.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    fn render(&self) -> String {
        let mut s = String::from(
            "# HELP aws_auth_reviews_total Admission reviews answered, by result.\n# TYPE aws_auth_reviews_total counter\n",
        );
        if let Ok(r) = self.results.lock() {
            for (result, n) in r.iter() {
                s.push_str(&format!(
                    "aws_auth_reviews_total{{result=\"{result}\"}} {n}\n"
                ));
            }
        }
        s.push_str("# HELP aws_auth_review_seconds Time to answer a review.\n# TYPE aws_auth_review_seconds histogram\n");
        for (b, bound) in self.buckets.iter().zip(BUCKETS) {
            s.push_str(&format!(
                "aws_auth_review_seconds_bucket{{le=\"{bound}\"}} {}\n",
                b.load(Ordering::Relaxed)
            ));
        }
        let count = self.count.load(Ordering::Relaxed);
        s.push_str(&format!(
            "aws_auth_review_seconds_bucket{{le=\"+Inf\"}} {count}\n"
        ));
        s.push_str(&format!(
            "aws_auth_review_seconds_sum {}\naws_auth_review_seconds_count {count}\n",
            self.micros.load(Ordering::Relaxed) as f64 / 1e6
        ));
        s
    }
}
