//! `aws-auth webhook serve`: the validating admission webhook. Every writer
//! of kube-system/aws-auth (kubectl, Terraform, operators) passes the API
//! server's admission; this answers it with the library's decision
//! (`admission::review`), over HTTPS with a certificate reloaded when its
//! files change (cert-manager rotates them).

pub(crate) mod install;

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use aws_auth_core::arn::Arn;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use tokio_rustls::rustls;
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;

use crate::cli::ServeArgs;
use crate::commands::Report;
use crate::exit::{CONFIG, INTERNAL, IO, OK, fail};

/// The largest review accepted: two 1 MiB maps as JSON, with room.
const MAX_BODY: usize = 8 << 20;
/// How long in-flight reviews may take to finish after a signal.
const DRAIN: Duration = Duration::from_secs(10);
/// Latency histogram bounds, in seconds.
const BUCKETS: [f64; 8] = [0.0005, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5];

/// Runs the webhook until SIGTERM or SIGINT.
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
    let state = Arc::new(State {
        protected: protected.to_vec(),
        certs,
        metrics: Metrics::default(),
    });
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .map_err(|e| fail(IO, format!("cannot listen on {}: {e}", args.listen)))?;
        let addr = listener.local_addr().map_err(|e| fail(IO, e.to_string()))?;
        log(&serde_json::json!({"msg": "listening", "address": addr.to_string()}));
        let stop = Arc::new(tokio::sync::Notify::new());
        let stopping = Arc::new(AtomicBool::new(false));
        {
            let (stop, stopping) = (stop.clone(), stopping.clone());
            crate::interrupt::on_signal(move || {
                stopping.store(true, Ordering::SeqCst);
                stop.notify_waiters();
            });
        }
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                () = stop.notified() => break,
            };
            if stopping.load(Ordering::SeqCst) {
                break;
            }
            let Ok((tcp, peer)) = accepted else { continue };
            let (acceptor, state) = (acceptor.clone(), state.clone());
            tasks.spawn(async move { connection(acceptor, tcp, peer, state).await });
        }
        log(&serde_json::json!({"msg": "stopping", "inFlight": tasks.len()}));
        let _ =
            tokio::time::timeout(DRAIN, async { while tasks.join_next().await.is_some() {} }).await;
        Ok::<(), anyhow::Error>(())
    })?;
    Ok(Report {
        stdout: String::new(),
        stderr: String::new(),
        code: OK,
    })
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
    let service = hyper::service::service_fn(move |req| {
        let state = state.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(&state, req).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
        .await;
}

struct State {
    protected: Vec<Arn>,
    certs: Arc<Certs>,
    metrics: Metrics,
}

fn text(code: u16, body: impl Into<Bytes>, kind: &str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(code)
        .header("content-type", kind)
        .body(Full::new(body.into()))
        .unwrap_or_default()
}

async fn handle(state: &State, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    match (method.as_str(), path.as_str()) {
        ("GET", "/healthz") => text(200, "ok\n", "text/plain"),
        ("GET", "/readyz") if state.certs.ready() => text(200, "ok\n", "text/plain"),
        ("GET", "/readyz") => text(503, "no certificate\n", "text/plain"),
        ("GET", "/metrics") => text(200, state.metrics.render(), "text/plain; version=0.0.4"),
        ("POST", _) => {
            let start = Instant::now();
            let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
                Ok(b) => b.to_bytes(),
                Err(_) => return text(413, "the review is too large\n", "text/plain"),
            };
            let Ok(review) = serde_json::from_slice::<serde_json::Value>(&body) else {
                return text(400, "not an AdmissionReview\n", "text/plain");
            };
            let answer = aws_auth_core::admission::review(&review, &state.protected);
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
    /// modification time changed; a pair that does not load keeps the old.
    fn get(&self) -> Option<Arc<CertifiedKey>> {
        let mut c = self.current.lock().ok()?;
        if c.checked.elapsed() >= Duration::from_secs(1) {
            c.checked = Instant::now();
            let now = stamps(&self.cert, &self.key);
            if now != c.stamps {
                match read_pair(&self.cert, &self.key) {
                    Ok(k) => {
                        c.key = Some(Arc::new(k));
                        c.stamps = now;
                        log(&serde_json::json!({"msg": "certificate reloaded"}));
                    }
                    Err(e) => {
                        log(&serde_json::json!({"msg": "certificate not reloaded", "error": e}))
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
    Ok(CertifiedKey::new(certs, signing))
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
