//! A small Kubernetes API server for ConfigMaps (and the RBAC kinds, in
//! `apiserver_rbac`), over HTTP or HTTPS, for the
//! real `kube` client (and the real `kubectl`) to talk to.
//!
//! It does what the real one does for this resource: discovery, GET, LIST,
//! POST, PUT, PATCH (JSON merge, strategic merge, JSON patch), DELETE, a
//! `resourceVersion` that changes on every write, 409 Conflict on a stale
//! precondition, 404 and 409 AlreadyExists with `Status` bodies, `dryRun=All`,
//! bearer-token authentication, and validating admission webhooks (an
//! AdmissionReview over HTTPS checked against the caBundle, the timeout and
//! the failure policy honoured). Tests inject 403s, 500s, delays and another
//! writer's change between our read and our write, and count requests.

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) content_type: String,
    pub(crate) body: String,
    /// When it arrived.
    pub(crate) at: std::time::Instant,
}

impl Seen {
    pub(crate) fn is_write(&self) -> bool {
        !matches!(self.method.as_str(), "GET" | "HEAD")
    }
}

/// What an injected fault does to the next matching request.
#[derive(Debug, Clone)]
pub(crate) enum Fault {
    /// Answer with this status and reason instead of serving the request.
    Status(u16, &'static str),
    /// Wait, then serve.
    Delay(Duration),
    /// Serve (a write is stored), then wait before answering.
    DelayAnswer(Duration),
    /// Wait, then answer 504 without serving: a client with a shorter
    /// timeout sees no answer, and nothing was stored.
    Hang(Duration),
    /// Answer 200 with a body that is not a Kubernetes object (a proxy's
    /// error page).
    Garbage,
    /// 429 as the API server's priority and fairness sends it: come back
    /// in this many seconds (`Retry-After` and `details.retryAfterSeconds`).
    TooManyRequests(u32),
}

struct Rule {
    method: Method,
    fault: Fault,
}

type Hook = Box<dyn FnOnce(&mut Store) + Send>;

/// The server's objects, by (namespace, name).
pub(crate) struct Store {
    objects: BTreeMap<(String, String), Value>,
    version: u64,
}

impl Store {
    fn next_version(&mut self) -> String {
        self.version += 1;
        self.version.to_string()
    }

    /// Another writer's change: sets a data key, as a write would.
    pub(crate) fn set_data(&mut self, ns: &str, name: &str, key: &str, value: &str) {
        let rv = self.next_version();
        let obj = self
            .objects
            .get_mut(&(ns.to_owned(), name.to_owned()))
            .expect("object exists");
        obj["data"][key] = Value::String(value.to_owned());
        obj["metadata"]["resourceVersion"] = Value::String(rv);
    }

    /// Another writer deletes the object.
    pub(crate) fn delete(&mut self, ns: &str, name: &str) {
        self.objects.remove(&(ns.to_owned(), name.to_owned()));
    }

    /// Another writer's change: edits a data key with a function.
    pub(crate) fn edit_data(
        &mut self,
        ns: &str,
        name: &str,
        key: &str,
        f: impl FnOnce(&str) -> String,
    ) {
        let old = self.objects[&(ns.to_owned(), name.to_owned())]["data"][key]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        self.set_data(ns, name, key, &f(&old));
    }
}

struct State {
    store: Store,
    seen: Vec<Seen>,
    rules: Vec<Rule>,
    /// Runs once, right after the next GET of an object is answered: another
    /// writer acting between our read and our write.
    after_get: VecDeque<Hook>,
    token: Option<String>,
    /// A validating webhook for kube-system/aws-auth, as registered.
    webhook: Option<Webhook>,
    /// ClusterRoles, Roles and their bindings.
    rbac: crate::apiserver_rbac::RbacStore,
    /// The namespaces there are (`None`: any asked for exists).
    namespaces: Option<std::collections::BTreeSet<String>>,
}

/// A running server; it stops when dropped.
pub(crate) struct ApiServer {
    pub(crate) addr: SocketAddr,
    pub(crate) tls: Option<crate::tls::TlsFiles>,
    state: Arc<Mutex<State>>,
    runtime: Option<tokio::runtime::Runtime>,
    tenants: Tenants,
}

/// Other clusters the same server serves, by the bearer token their
/// clients send (a benchmark of many clusters needs no server each).
type Tenants = Arc<Mutex<BTreeMap<String, Arc<Mutex<State>>>>>;

/// How to start a server.
#[derive(Default)]
pub(crate) struct Options {
    pub(crate) tls: bool,
    /// Require `Authorization: Bearer TOKEN`.
    pub(crate) token: Option<String>,
    /// Wait this long before answering each request (a remote API server).
    pub(crate) latency: Option<Duration>,
}

impl State {
    fn new(token: Option<String>) -> State {
        State {
            store: Store {
                objects: BTreeMap::new(),
                version: 1000,
            },
            seen: Vec::new(),
            rules: Vec::new(),
            namespaces: None,
            after_get: VecDeque::new(),
            token,
            webhook: None,
            rbac: Default::default(),
        }
    }
}

impl ApiServer {
    pub(crate) fn with(options: Options) -> ApiServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let state = Arc::new(Mutex::new(State::new(options.token)));
        let tenants: Tenants = Arc::default();
        let latency = options.latency;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (acceptor, tls) = if options.tls {
            let (acceptor, files) = crate::tls::acceptor();
            (Some(acceptor), Some(files))
        } else {
            (None, None)
        };
        let st = Arc::clone(&state);
        let others = Arc::clone(&tenants);
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (st, others) = (Arc::clone(&st), Arc::clone(&others));
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let token = req
                            .headers()
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.strip_prefix("Bearer "))
                            .map(str::to_owned);
                        let tenant = token.and_then(|t| others.lock().unwrap().get(&t).cloned());
                        let st = tenant.unwrap_or_else(|| Arc::clone(&st));
                        async move {
                            if let Some(wait) = latency {
                                tokio::time::sleep(wait).await;
                            }
                            Ok::<_, Infallible>(handle(st, req).await)
                        }
                    });
                    let builder =
                        hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    match acceptor {
                        Some(acceptor) => {
                            if let Ok(tls) = acceptor.accept(stream).await {
                                let _ = builder.serve_connection(TokioIo::new(tls), service).await;
                            }
                        }
                        None => {
                            let _ = builder
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        }
                    }
                });
            }
        });
        ApiServer {
            addr,
            tls,
            state,
            runtime: Some(runtime),
            tenants,
        }
    }

    /// Another cluster behind the same address, for clients that send
    /// `Authorization: Bearer TOKEN`: its own objects, RBAC and faults.
    pub(crate) fn tenant(&self, token: &str) -> ApiServer {
        let state = Arc::new(Mutex::new(State::new(Some(token.to_owned()))));
        self.tenants
            .lock()
            .unwrap()
            .insert(token.to_owned(), Arc::clone(&state));
        ApiServer {
            addr: self.addr,
            tls: self.tls.as_ref().map(|t| crate::tls::TlsFiles {
                ca_pem: t.ca_pem.clone(),
            }),
            state,
            runtime: None,
            tenants: Arc::clone(&self.tenants),
        }
    }

    /// Registers the first webhook of a ValidatingWebhookConfiguration (as
    /// `aws-auth webhook manifests -o json` prints it): its name, caBundle,
    /// timeout and failure policy are used as kube-apiserver uses them; its
    /// Service's name is the one its certificate is checked against, and the
    /// connection goes to `address` (there is no cluster DNS here).
    pub(crate) fn register_webhook(&self, configuration: &Value, address: &str) {
        let hook = &configuration["webhooks"][0];
        let service = &hook["clientConfig"]["service"];
        let url = format!(
            "https://{}.{}.svc:{}{}",
            service["name"].as_str().unwrap_or(""),
            service["namespace"].as_str().unwrap_or(""),
            service["port"].as_u64().unwrap_or(443),
            service["path"].as_str().unwrap_or("/")
        );
        let ca = BASE64
            .decode(hook["clientConfig"]["caBundle"].as_str().unwrap_or(""))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        self.state.lock().unwrap().webhook = Some(Webhook {
            name: hook["name"].as_str().unwrap_or("").to_owned(),
            url,
            address: address.to_owned(),
            ca_pem: ca,
            timeout: Duration::from_secs(hook["timeoutSeconds"].as_u64().unwrap_or(10)),
            fail: hook["failurePolicy"] == "Fail",
        });
    }

    pub(crate) fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Stores a ConfigMap with these data keys (`None`: no `data` at all).
    pub(crate) fn put(&self, ns: &str, name: &str, data: Option<&[(&str, &str)]>) {
        let mut st = self.state.lock().unwrap();
        let rv = st.store.next_version();
        let mut obj = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": name,
                "namespace": ns,
                "uid": format!("uid-{name}"),
                "resourceVersion": rv,
                "creationTimestamp": "2026-01-01T00:00:00Z",
                "labels": {"app.kubernetes.io/managed-by": "eksctl"},
                "annotations": {"note": "kept"},
            },
        });
        if let Some(data) = data {
            obj["data"] = data
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
                .collect::<serde_json::Map<_, _>>()
                .into();
        }
        st.store
            .objects
            .insert((ns.to_owned(), name.to_owned()), obj);
    }

    /// The stored object.
    pub(crate) fn object(&self, ns: &str, name: &str) -> Option<Value> {
        let st = self.state.lock().unwrap();
        st.store
            .objects
            .get(&(ns.to_owned(), name.to_owned()))
            .cloned()
    }

    /// A data value of the stored object.
    pub(crate) fn data(&self, ns: &str, name: &str, key: &str) -> Option<String> {
        self.object(ns, name)?["data"][key]
            .as_str()
            .map(str::to_owned)
    }

    /// Every request so far.
    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    pub(crate) fn writes(&self) -> Vec<Seen> {
        self.seen().into_iter().filter(Seen::is_write).collect()
    }

    pub(crate) fn clear_seen(&self) {
        self.state.lock().unwrap().seen.clear();
    }

    /// The next `method` request meets `fault` (rules are used in order, once).
    pub(crate) fn inject(&self, method: Method, fault: Fault) {
        self.state
            .lock()
            .unwrap()
            .rules
            .push(Rule { method, fault });
    }

    /// Runs `f` on the store right after the next object GET is answered.
    pub(crate) fn after_next_get(&self, f: impl FnOnce(&mut Store) + Send + 'static) {
        self.state.lock().unwrap().after_get.push_back(Box::new(f));
    }

    /// Changes the store as another writer would.
    /// Stores an RBAC object (a ClusterRole, Role or binding) as a create would.
    pub(crate) fn put_rbac(&self, object: Value) {
        self.state.lock().unwrap().rbac.put(object);
    }

    /// The RBAC objects of `plural` (`clusterrolebindings`, ...).
    pub(crate) fn rbac(&self, plural: &str) -> Vec<Value> {
        self.state.lock().unwrap().rbac.all(plural)
    }

    /// Only these namespaces exist from now on.
    pub(crate) fn namespaces(&self, names: &[&str]) {
        self.state.lock().unwrap().namespaces =
            Some(names.iter().map(|n| (*n).to_owned()).collect());
    }

    /// Makes every RBAC request forbidden (403), or not.
    pub(crate) fn forbid_rbac(&self, forbidden: bool) {
        self.state.lock().unwrap().rbac.forbidden = forbidden;
    }

    pub(crate) fn with_store(&self, f: impl FnOnce(&mut Store)) {
        f(&mut self.state.lock().unwrap().store);
    }

    /// A kubeconfig for this server. `auth` is the `user` entry's body.
    pub(crate) fn kubeconfig(&self, dir: &Path, auth: Value) -> PathBuf {
        let mut cluster = json!({ "server": self.url() });
        if let Some(tls) = &self.tls {
            cluster["certificate-authority-data"] =
                Value::String(BASE64.encode(tls.ca_pem.as_bytes()));
        }
        let config = json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "test", "cluster": cluster}],
            "users": [{"name": "tester", "user": auth}],
            "contexts": [{"name": "test", "context": {"cluster": "test", "user": "tester"}}],
            "current-context": "test",
        });
        let path = dir.join("kubeconfig");
        std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
        path
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

pub(crate) type Answer = Response<Full<Bytes>>;

pub(crate) fn answer(code: u16, body: &Value) -> Answer {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

fn status(code: u16, reason: &str, message: &str, name: Option<&str>) -> Answer {
    status_of(code, reason, message, name, "configmaps")
}

/// A `Status` answer about `kind` (a resource's plural).
pub(crate) fn status_of(
    code: u16,
    reason: &str,
    message: &str,
    name: Option<&str>,
    kind: &str,
) -> Answer {
    let mut body = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    });
    if let Some(name) = name {
        body["details"] = json!({"name": name, "kind": kind});
    }
    answer(code, &body)
}

async fn handle(st: Arc<Mutex<State>>, req: Request<Incoming>) -> Answer {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body = String::from_utf8_lossy(&body).into_owned();
    let fault = {
        let mut s = st.lock().unwrap();
        s.seen.push(Seen {
            method: method.to_string(),
            path: path.clone(),
            query: query.clone(),
            content_type: content_type.clone(),
            body: body.clone(),
            at: std::time::Instant::now(),
        });
        if let Some(token) = &s.token
            && authorization.as_deref() != Some(&format!("Bearer {token}"))
        {
            // The real API server says only "Unauthorized"; some proxies and
            // API gateways in front of it echo the header they refused.
            // Answering like them keeps the client's redaction honest.
            let echoed = format!(
                "Unauthorized: the credentials {} were refused",
                authorization.as_deref().unwrap_or("(none)")
            );
            return status(401, "Unauthorized", &echoed, None);
        }
        let i = s.rules.iter().position(|r| r.method == method);
        i.map(|i| s.rules.remove(i).fault)
    };
    match fault {
        Some(Fault::Status(code, reason)) => {
            let message = match code {
                403 => format!(
                    "configmaps is forbidden: User \"tester\" cannot {} resource \"configmaps\" in API group \"\" in the namespace \"kube-system\"",
                    method.as_str().to_lowercase()
                ),
                _ => format!("injected {code} {reason}"),
            };
            return status(code, reason, &message, None);
        }
        Some(Fault::TooManyRequests(seconds)) => {
            let mut answer = answer(
                429,
                &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": "Too many requests, please try again later.", "reason": "TooManyRequests",
                    "details": {"retryAfterSeconds": seconds}, "code": 429}),
            );
            answer
                .headers_mut()
                .insert("retry-after", seconds.to_string().parse().unwrap());
            return answer;
        }
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        Some(Fault::Hang(d)) => {
            tokio::time::sleep(d).await;
            return status(504, "Timeout", "injected hang", None);
        }
        Some(Fault::Garbage) => {
            return Response::builder()
                .status(200)
                .header("content-type", "text/html")
                .body(Full::new(Bytes::from_static(
                    b"<html><body>502 Bad Gateway (nginx)</body></html>",
                )))
                .unwrap();
        }
        _ => {}
    }
    let warnings = match admit(&st, &method, &path, &query, &content_type, &body).await {
        Ok(w) => w,
        Err(refused) => return refused,
    };
    let mut response = route(&st, &method, &path, &query, &content_type, &body);
    for w in warnings {
        if let Ok(v) = hyper::header::HeaderValue::from_str(&format!("299 - {:?}", w)) {
            response.headers_mut().append("warning", v);
        }
    }
    if let Some(Fault::DelayAnswer(d)) = fault {
        tokio::time::sleep(d).await;
    }
    response
}

/// A registered validating webhook.
pub(crate) struct Webhook {
    name: String,
    url: String,
    address: String,
    ca_pem: String,
    timeout: Duration,
    fail: bool,
}

/// Validating admission, as kube-apiserver runs it for a write of
/// kube-system/aws-auth: the write is first computed (as a dry run), then the
/// webhook is sent an AdmissionReview over HTTPS checked against its
/// caBundle; its refusal is the client's answer, its warnings go back as
/// `Warning` headers. A webhook that cannot be reached or does not answer in
/// its timeout lets the write through (Ignore) or refuses it (Fail).
async fn admit(
    st: &Arc<Mutex<State>>,
    method: &Method,
    path: &str,
    query: &str,
    content_type: &str,
    body: &str,
) -> Result<Vec<String>, Answer> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (operation, name) = match (method.as_str(), parts.as_slice()) {
        ("POST", ["api", "v1", "namespaces", "kube-system", "configmaps"]) => {
            let name = serde_json::from_str::<Value>(body)
                .ok()
                .and_then(|v| v["metadata"]["name"].as_str().map(str::to_owned));
            ("CREATE", name.unwrap_or_default())
        }
        ("PUT" | "PATCH", ["api", "v1", "namespaces", "kube-system", "configmaps", name]) => {
            ("UPDATE", (*name).to_owned())
        }
        ("DELETE", ["api", "v1", "namespaces", "kube-system", "configmaps", name]) => {
            ("DELETE", (*name).to_owned())
        }
        _ => return Ok(Vec::new()),
    };
    let Some((hook_name, url, address, ca, timeout, fail)) = ({
        let s = st.lock().unwrap();
        s.webhook.as_ref().map(|w| {
            (
                w.name.clone(),
                w.url.clone(),
                w.address.clone(),
                w.ca_pem.clone(),
                w.timeout,
                w.fail,
            )
        })
    }) else {
        return Ok(Vec::new());
    };
    if name != "aws-auth" {
        return Ok(Vec::new());
    }
    let old = {
        let s = st.lock().unwrap();
        s.store
            .objects
            .get(&("kube-system".to_owned(), name.clone()))
            .cloned()
    };
    // What the write would store, by running it as a dry run.
    let dry_query = if query.is_empty() {
        "dryRun=All".to_owned()
    } else {
        format!("{query}&dryRun=All")
    };
    let object = if operation == "DELETE" {
        Value::Null
    } else {
        let dry = route(st, method, path, &dry_query, content_type, body);
        if !dry.status().is_success() {
            return Ok(Vec::new()); // the write fails on its own
        }
        let bytes = dry
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": format!("review-{}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)),
        "kind": {"group": "", "version": "v1", "kind": "ConfigMap"},
        "resource": {"group": "", "version": "v1", "resource": "configmaps"},
        "name": name, "namespace": "kube-system", "operation": operation,
        "userInfo": {"username": "tester", "groups": ["system:authenticated"]},
        "object": object, "oldObject": old.unwrap_or(Value::Null),
        "dryRun": query_has(query, "dryRun", "All")}});
    let answered = tokio::time::timeout(
        timeout,
        call_webhook(&url, &address, &ca, &review.to_string()),
    )
    .await;
    let reply = match answered {
        Ok(Ok(v)) => v,
        // failurePolicy Ignore: the write goes on unchecked.
        _ if !fail => return Ok(Vec::new()),
        Ok(Err(why)) => return Err(webhook_failed(&hook_name, &why, &name)),
        Err(_) => {
            return Err(webhook_failed(
                &hook_name,
                "context deadline exceeded",
                &name,
            ));
        }
    };
    let response = &reply["response"];
    let warnings: Vec<String> = response["warnings"]
        .as_array()
        .map(|w| {
            w.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if response["allowed"] == true {
        return Ok(warnings);
    }
    let code = response["status"]["code"].as_u64().unwrap_or(403) as u16;
    let message = response["status"]["message"].as_str().unwrap_or("");
    Err(status(
        code,
        "Forbidden",
        &format!("admission webhook \"{hook_name}\" denied the request: {message}"),
        Some(&name),
    ))
}

fn webhook_failed(hook: &str, why: &str, name: &str) -> Answer {
    status(
        500,
        "InternalError",
        &format!("Internal error occurred: failed calling webhook \"{hook}\": {why}"),
        Some(name),
    )
}

/// POSTs `body` to `url` over HTTPS, connecting to `address` and trusting
/// only `ca_pem` for the URL's host; the JSON answer.
async fn call_webhook(url: &str, address: &str, ca_pem: &str, body: &str) -> Result<Value, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    let rest = url.strip_prefix("https://").ok_or("not https")?;
    let (host_port, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let host = host_port
        .rsplit_once(':')
        .map_or(host_port, |(h, _)| h)
        .to_owned();
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots
            .add(cert.map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(address)
        .await
        .map_err(|e| format!("Post \"{url}\": dial tcp {address}: {e}"))?;
    let server_name =
        rustls::pki_types::ServerName::try_from(host.clone()).map_err(|e| e.to_string())?;
    let mut tls = connector
        .connect(server_name, tcp)
        .await
        .map_err(|e| format!("Post \"{url}\": tls: {e}"))?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host_port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    let _ = tls.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw);
    let (head, rest) = text.split_once("\r\n\r\n").ok_or("no HTTP answer")?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!(
            "the webhook answered {}",
            head.lines().next().unwrap_or("")
        ));
    }
    serde_json::from_str(rest).map_err(|e| e.to_string())
}

fn query_has(query: &str, key: &str, value: &str) -> bool {
    query
        .split('&')
        .any(|kv| kv.split_once('=') == Some((key, value)))
}

fn route(
    st: &Arc<Mutex<State>>,
    method: &Method,
    path: &str,
    query: &str,
    content_type: &str,
    body: &str,
) -> Answer {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["version"]) => answer(
            200,
            &json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0", "platform": "linux/amd64"}),
        ),
        ("GET", ["api"]) => answer(
            200,
            &json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}),
        ),
        ("GET", ["apis"]) => answer(
            200,
            &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": [crate::apiserver_rbac::group()]}),
        ),
        ("GET", ["apis", crate::apiserver_rbac::GROUP]) => {
            let mut g = crate::apiserver_rbac::group();
            g["kind"] = "APIGroup".into();
            g["apiVersion"] = "v1".into();
            answer(200, &g)
        }
        ("GET", ["apis", crate::apiserver_rbac::GROUP, "v1"]) => {
            answer(200, &crate::apiserver_rbac::resources())
        }
        (_, ["apis", crate::apiserver_rbac::GROUP, "v1", rest @ ..])
            if !content_type.starts_with("application/vnd.kubernetes.protobuf") =>
        {
            let mut s = st.lock().unwrap();
            crate::apiserver_rbac::route(&mut s.rbac, method.as_str(), rest, body)
        }
        ("GET", ["api", "v1"]) => answer(
            200,
            &json!({
                "kind": "APIResourceList",
                "groupVersion": "v1",
                "resources": [{
                    "name": "configmaps",
                    "singularName": "configmap",
                    "namespaced": true,
                    "kind": "ConfigMap",
                    "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
                    "shortNames": ["cm"],
                    "storageVersionHash": "qFsyl6wFWjQ="
                }, {
                    "name": "namespaces",
                    "singularName": "namespace",
                    "namespaced": false,
                    "kind": "Namespace",
                    "verbs": ["get"],
                    "shortNames": ["ns"],
                    "storageVersionHash": "Q3oi5N2YM8M="
                }]
            }),
        ),
        ("GET", ["api", "v1", "namespaces", ns])
            if st
                .lock()
                .unwrap()
                .namespaces
                .as_ref()
                .is_some_and(|all| !all.contains(*ns)) =>
        {
            status_of(
                404,
                "NotFound",
                &format!("namespaces \"{ns}\" not found"),
                Some(ns),
                "namespaces",
            )
        }
        ("GET", ["api", "v1", "namespaces", ns]) => answer(
            200,
            &json!({"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": ns}, "status": {"phase": "Active"}}),
        ),
        // The real server also takes protobuf (kubectl's typed generators send
        // it); this one does not, and says so as the real one does for types
        // without a protobuf form.
        (_, _) if content_type.starts_with("application/vnd.kubernetes.protobuf") => status(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml",
            None,
        ),
        (_, ["api", "v1", "namespaces", ns, "configmaps"]) => {
            collection(st, method, ns, query, body)
        }
        (_, ["api", "v1", "namespaces", ns, "configmaps", name]) => {
            item(st, method, ns, name, query, content_type, body)
        }
        _ => status(
            404,
            "NotFound",
            "the server could not find the requested resource",
            None,
        ),
    }
}

fn not_found(name: &str) -> Answer {
    status(
        404,
        "NotFound",
        &format!("configmaps \"{name}\" not found"),
        Some(name),
    )
}

fn conflict(name: &str) -> Answer {
    status(
        409,
        "Conflict",
        &format!(
            "Operation cannot be fulfilled on configmaps \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
        ),
        Some(name),
    )
}

/// What the real API server checks of a ConfigMap before storing it.
fn invalid(obj: &Value, name: &str) -> Option<Answer> {
    if let Some(data) = obj.get("data").filter(|d| !d.is_null()) {
        let Some(data) = data.as_object() else {
            return Some(status(
                400,
                "BadRequest",
                "data: must be an object",
                Some(name),
            ));
        };
        for (k, v) in data {
            let ok_key = !k.is_empty()
                && k.len() <= 253
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !ok_key {
                let cause = format!(
                    "Invalid value: \"{k}\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
                );
                let mut answer = status(
                    422,
                    "Invalid",
                    &format!("ConfigMap \"{name}\" is invalid: data[{k}]: {cause}"),
                    Some(name),
                );
                // kubectl prints the causes, as the real server sends them.
                let body = json!({
                    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": format!("ConfigMap \"{name}\" is invalid: data[{k}]: {cause}"),
                    "reason": "Invalid", "code": 422,
                    "details": {"name": name, "kind": "ConfigMap", "causes": [
                        {"reason": "FieldValueInvalid", "message": cause, "field": format!("data[{k}]")}
                    ]},
                });
                *answer.body_mut() = Full::new(Bytes::from(body.to_string()));
                return Some(answer);
            }
            if !v.is_string() {
                return Some(status(
                    400,
                    "BadRequest",
                    &format!("data[{k}]: must be a string"),
                    Some(name),
                ));
            }
        }
    }
    None
}

fn collection(
    st: &Arc<Mutex<State>>,
    method: &Method,
    ns: &str,
    query: &str,
    body: &str,
) -> Answer {
    let mut s = st.lock().unwrap();
    match method.as_str() {
        "GET" => {
            let items: Vec<Value> = s
                .store
                .objects
                .iter()
                .filter(|((n, _), _)| n == ns)
                .map(|(_, v)| v.clone())
                .collect();
            let rv = s.store.version.to_string();
            answer(
                200,
                &json!({"kind": "ConfigMapList", "apiVersion": "v1", "metadata": {"resourceVersion": rv}, "items": items}),
            )
        }
        "POST" => {
            let Ok(mut obj) = serde_json::from_str::<Value>(body) else {
                return status(400, "BadRequest", "the body is not JSON", None);
            };
            let name = obj["metadata"]["name"].as_str().unwrap_or("").to_owned();
            if name.is_empty() {
                return status(422, "Invalid", "metadata.name: Required value", None);
            }
            if let Some(bad) = invalid(&obj, &name) {
                return bad;
            }
            let key = (ns.to_owned(), name.clone());
            if s.store.objects.contains_key(&key) {
                return status(
                    409,
                    "AlreadyExists",
                    &format!("configmaps \"{name}\" already exists"),
                    Some(&name),
                );
            }
            obj["apiVersion"] = "v1".into();
            obj["kind"] = "ConfigMap".into();
            obj["metadata"]["namespace"] = ns.into();
            obj["metadata"]["uid"] = format!("uid-{name}").into();
            obj["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z".into();
            if query_has(query, "dryRun", "All") {
                return answer(201, &obj);
            }
            obj["metadata"]["resourceVersion"] = s.store.next_version().into();
            s.store.objects.insert(key, obj.clone());
            answer(201, &obj)
        }
        _ => status(405, "MethodNotAllowed", "method not allowed", None),
    }
}

fn item(
    st: &Arc<Mutex<State>>,
    method: &Method,
    ns: &str,
    name: &str,
    query: &str,
    content_type: &str,
    body: &str,
) -> Answer {
    let mut s = st.lock().unwrap();
    let key = (ns.to_owned(), name.to_owned());
    let Some(current) = s.store.objects.get(&key).cloned() else {
        return not_found(name);
    };
    let current_rv = current["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let dry_run = query_has(query, "dryRun", "All");
    let new = match method.as_str() {
        "GET" => {
            let response = answer(200, &current);
            if let Some(hook) = s.after_get.pop_front() {
                hook(&mut s.store);
            }
            return response;
        }
        "DELETE" => {
            // DeleteOptions preconditions, as kube and kubectl send them.
            let options: Value = serde_json::from_str(body).unwrap_or(Value::Null);
            let pre = &options["preconditions"];
            let stale_rv = pre["resourceVersion"]
                .as_str()
                .is_some_and(|rv| rv != current_rv);
            let stale_uid = pre["uid"]
                .as_str()
                .is_some_and(|uid| Some(uid) != current["metadata"]["uid"].as_str());
            if stale_rv || stale_uid {
                return conflict(name);
            }
            if !dry_run {
                s.store.objects.remove(&key);
            }
            return answer(
                200,
                &json!({"kind": "Status", "apiVersion": "v1", "status": "Success", "details": {"name": name, "kind": "configmaps"}}),
            );
        }
        "PUT" => match serde_json::from_str::<Value>(body) {
            Ok(v) => v,
            Err(_) => return status(400, "BadRequest", "the body is not JSON", Some(name)),
        },
        "PATCH" => {
            let Ok(patch) = serde_json::from_str::<Value>(body) else {
                return status(400, "BadRequest", "the patch is not JSON", Some(name));
            };
            let kind = content_type.split(';').next().unwrap_or("").trim();
            match kind {
                "application/merge-patch+json" => merge(current.clone(), &patch),
                // For a ConfigMap (maps of strings, no lists) a strategic merge
                // patch merges like a JSON merge patch; directives are dropped.
                "application/strategic-merge-patch+json" => {
                    merge(current.clone(), &strip_directives(patch))
                }
                "application/json-patch+json" => match json_patch(current.clone(), &patch) {
                    Ok(v) => v,
                    Err(e) => return status(422, "Invalid", &e, Some(name)),
                },
                other => {
                    return status(
                        415,
                        "UnsupportedMediaType",
                        &format!(
                            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got {other:?})"
                        ),
                        Some(name),
                    );
                }
            }
        }
        _ => return status(405, "MethodNotAllowed", "method not allowed", Some(name)),
    };
    // A resourceVersion in the result that is not the stored one is a stale
    // precondition; none (PUT without one) writes unconditionally.
    match new["metadata"]["resourceVersion"].as_str() {
        Some(rv) if !rv.is_empty() && rv != current_rv => return conflict(name),
        _ => {}
    }
    if new["metadata"]["name"].as_str() != Some(name) {
        return status(
            400,
            "BadRequest",
            "the name of the object does not match the name on the URL",
            Some(name),
        );
    }
    if let Some(bad) = invalid(&new, name) {
        return bad;
    }
    let mut new = new;
    new["metadata"]["uid"] = current["metadata"]["uid"].clone();
    new["metadata"]["creationTimestamp"] = current["metadata"]["creationTimestamp"].clone();
    if dry_run {
        new["metadata"]["resourceVersion"] = current_rv.into();
        return answer(200, &new);
    }
    // Like the real server: a write that changes nothing keeps the version.
    let mut unchanged = new.clone();
    unchanged["metadata"]["resourceVersion"] = current_rv.clone().into();
    if unchanged == current {
        return answer(200, &current);
    }
    new["metadata"]["resourceVersion"] = s.store.next_version().into();
    s.store.objects.insert(key, new.clone());
    answer(200, &new)
}

/// RFC 7386.
fn merge(mut target: Value, patch: &Value) -> Value {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                target = json!({});
            }
            let t = target.as_object_mut().unwrap();
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    let old = t.remove(k).unwrap_or(Value::Null);
                    t.insert(k.clone(), merge(old, v));
                }
            }
            target
        }
        other => other.clone(),
    }
}

fn strip_directives(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k, strip_directives(v)))
                .collect(),
        ),
        other => other,
    }
}

/// RFC 6902, enough of it for objects of maps and strings.
fn json_patch(mut doc: Value, ops: &Value) -> Result<Value, String> {
    let ops = ops
        .as_array()
        .ok_or("a JSON patch is a list of operations")?;
    for op in ops {
        let path = op["path"].as_str().ok_or("an operation without a path")?;
        let tokens: Vec<String> = path
            .split('/')
            .skip(1)
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect();
        let (last, parents) = tokens.split_last().ok_or("the root cannot be patched")?;
        let mut parent = &mut doc;
        for t in parents {
            parent = parent
                .get_mut(t.as_str())
                .ok_or(format!("{path}: missing"))?;
        }
        let obj = parent
            .as_object_mut()
            .ok_or(format!("{path}: not an object"))?;
        match op["op"].as_str() {
            Some("add" | "replace") => {
                if op["op"] == "replace" && !obj.contains_key(last) {
                    return Err(format!("replace {path}: missing"));
                }
                obj.insert(last.clone(), op["value"].clone());
            }
            Some("remove") => {
                obj.remove(last).ok_or(format!("remove {path}: missing"))?;
            }
            Some("test") => {
                if obj.get(last) != Some(&op["value"]) {
                    return Err(format!("test {path}: the value differs"));
                }
            }
            other => return Err(format!("unsupported operation {other:?}")),
        }
    }
    Ok(doc)
}
