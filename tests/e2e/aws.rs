//! A small AWS for the tests: EKS (restJson1), IAM and STS (query protocol,
//! XML) behind one local HTTP endpoint, for the real SDK clients and the real
//! AWS CLI. Point `AWS_ENDPOINT_URL_EKS`, `_IAM` and `_STS` at [`Aws::url`].
//!
//! EKS keeps clusters with one-way authentication-mode transitions (updates
//! go InProgress -> Successful after a few polls), access entries validated
//! as EKS validates them (types, usernames, `system:` groups, principals IAM
//! knows, the 3,000 limit), policy associations that upsert, and pagination
//! at 100. Errors carry `X-Amzn-ErrorType` and `{"message": ...}` with the
//! status codes and messages EKS documents. Tests inject latency, a request
//! rate limit (429 ThrottlingException), 500s, answers lost after the call
//! was carried out, and a hang after N requests (to kill a client mid-run),
//! and count every call.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};

pub(crate) const ACCOUNT: &str = "111122223333";
pub(crate) const ADMIN_POLICY: &str =
    "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";
const POLICIES: [&str; 5] = [
    "AmazonEKSClusterAdminPolicy",
    "AmazonEKSAdminPolicy",
    "AmazonEKSEditPolicy",
    "AmazonEKSViewPolicy",
    "AmazonEKSAdminViewPolicy",
];
const ENTRY_LIMIT: usize = 3000;

/// An access entry as EKS stores it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) kind: String,
    pub(crate) username: String,
    pub(crate) groups: Vec<String>,
    /// Policy ARN -> access scope JSON.
    pub(crate) policies: BTreeMap<String, Value>,
}

#[derive(Debug, Clone)]
struct Update {
    target: String,
    polls_left: usize,
    status: &'static str,
}

/// One EKS cluster.
#[derive(Debug, Clone)]
pub(crate) struct Cluster {
    pub(crate) mode: String,
    pub(crate) endpoint: String,
    pub(crate) entries: BTreeMap<String, Entry>,
    updates: BTreeMap<String, Update>,
    /// Entries EKS creates itself when the mode leaves CONFIG_MAP (the
    /// creator, managed node groups, Fargate profiles).
    pub(crate) on_leaving_config_map: Vec<(String, Entry)>,
    /// When the cluster was created (seconds since the epoch).
    pub(crate) created_at: f64,
    /// When each entry was created; entries put in by a test without one
    /// are as old as the cluster.
    pub(crate) entry_created: BTreeMap<String, f64>,
}

/// A call as the server saw it: the operation and the principal it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Call {
    pub(crate) op: String,
    pub(crate) target: String,
    pub(crate) status: u16,
    /// When it was answered.
    pub(crate) at: Instant,
}

#[derive(Default, Clone)]
struct Throttle {
    per_second: f64,
    burst: f64,
    tokens: f64,
    last: Option<Instant>,
}

/// Takes a call from `key`'s bucket, made like `template` the first time;
/// true when the call may go (always, without a throttle).
fn take(template: Option<&Throttle>, buckets: &mut BTreeMap<String, Throttle>, key: &str) -> bool {
    let Some(template) = template else {
        return true;
    };
    buckets
        .entry(key.to_owned())
        .or_insert_with(|| template.clone())
        .take()
}

impl Throttle {
    fn take(&mut self) -> bool {
        let now = Instant::now();
        let elapsed = self
            .last
            .map_or(0.0, |l| now.duration_since(l).as_secs_f64());
        self.last = Some(now);
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

struct State {
    caller: String,
    /// IAM roles of the caller's account: lower-cased name -> (path, name).
    roles: BTreeMap<String, (String, String)>,
    users: Vec<String>,
    clusters: BTreeMap<String, Cluster>,
    calls: Vec<Call>,
    latency: Duration,
    /// EKS's throttle, one bucket per access key (an account, here) and
    /// region, as AWS throttles: `KEY-ID/REGION` -> its bucket, each made
    /// from the first.
    throttle: Option<Throttle>,
    throttles: BTreeMap<String, Throttle>,
    /// IAM's own throttle (IAM limits apart from EKS): a 400 `Throttling`;
    /// IAM is global, so one bucket per access key.
    iam_throttle: Option<Throttle>,
    iam_throttles: BTreeMap<String, Throttle>,
    /// `role/NAME` or `user/NAME` (lower case) -> its CreateDate, when not
    /// the default (2024-01-01): a principal deleted and made again.
    created: BTreeMap<String, String>,
    /// Operation -> statuses to answer instead, in order.
    faults: BTreeMap<String, Vec<(u16, &'static str)>>,
    /// After this many EKS calls, every further call hangs.
    hang_after: Option<usize>,
    /// Operation -> how many of its next calls are carried out and then
    /// answered by closing the connection (the answer lost on the way).
    drops: BTreeMap<String, usize>,
    eks_calls: usize,
    polls_per_update: usize,
    fail_next_update: bool,
    next_id: u64,
    /// Run once right after the next call of an operation is answered:
    /// another writer acting between two of the client's calls.
    after: Vec<(String, Hook)>,
    /// The credential scope of every signed request: `KEY-ID/REGION/SERVICE`.
    scopes: Vec<String>,
    /// Throttled answers say `Retry-After: SECONDS`.
    retry_after: Option<u64>,
}

type Hook = Box<dyn FnOnce(&mut BTreeMap<String, Cluster>) + Send>;

/// The running endpoint; stops when dropped.
pub(crate) struct Aws {
    pub(crate) addr: SocketAddr,
    state: Arc<Mutex<State>>,
    runtime: Option<tokio::runtime::Runtime>,
    /// The CA of its certificate, when it serves HTTPS.
    pub(crate) ca_pem: Option<String>,
}

impl Aws {
    /// An AWS whose caller is `caller` (an STS ARN of account [`ACCOUNT`]).
    pub(crate) fn start(caller: &str) -> Aws {
        Aws::start_with(caller, false)
    }

    /// The same over HTTPS, with a certificate no system trusts (its CA in
    /// `ca_pem`), as behind TLS interception.
    pub(crate) fn start_tls(caller: &str) -> Aws {
        Aws::start_with(caller, true)
    }

    fn start_with(caller: &str, tls: bool) -> Aws {
        let (acceptor, ca_pem) = if tls {
            let (acceptor, files) = crate::tls::acceptor();
            (Some(acceptor), Some(files.ca_pem))
        } else {
            (None, None)
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(State {
            caller: caller.to_owned(),
            roles: BTreeMap::new(),
            users: Vec::new(),
            clusters: BTreeMap::new(),
            calls: Vec::new(),
            latency: Duration::ZERO,
            throttle: None,
            throttles: BTreeMap::new(),
            iam_throttle: None,
            iam_throttles: BTreeMap::new(),
            created: BTreeMap::new(),
            faults: BTreeMap::new(),
            hang_after: None,
            drops: BTreeMap::new(),
            eks_calls: 0,
            polls_per_update: 2,
            fail_next_update: false,
            next_id: 1,
            after: Vec::new(),
            scopes: Vec::new(),
            retry_after: None,
        }));
        let st = Arc::clone(&state);
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let st = Arc::clone(&st);
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let st = Arc::clone(&st);
                        async move {
                            let answer = handle(st, req).await;
                            if answer.headers().contains_key(DROP) {
                                // Hyper closes the connection: no answer.
                                return Err(std::io::Error::other("answer dropped"));
                            }
                            Ok(answer)
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
        Aws {
            addr,
            state,
            runtime: Some(runtime),
            ca_pem,
        }
    }

    pub(crate) fn url(&self) -> String {
        let scheme = if self.ca_pem.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// An IAM role of the caller's account, with its path (`/` for none).
    pub(crate) fn role(&self, path: &str, name: &str) -> String {
        let mut st = self.state.lock().unwrap();
        st.roles
            .insert(name.to_lowercase(), (path.to_owned(), name.to_owned()));
        format!("arn:aws:iam::{ACCOUNT}:role{path}{name}")
    }

    /// An IAM user of the caller's account.
    pub(crate) fn user(&self, name: &str) -> String {
        let arn = format!("arn:aws:iam::{ACCOUNT}:user/{name}");
        self.state.lock().unwrap().users.push(arn.clone());
        arn
    }

    /// A cluster whose Kubernetes API is at `endpoint`.
    pub(crate) fn cluster(&self, name: &str, mode: &str, endpoint: &str) {
        self.state.lock().unwrap().clusters.insert(
            name.to_owned(),
            Cluster {
                mode: mode.to_owned(),
                endpoint: endpoint.to_owned(),
                entries: BTreeMap::new(),
                updates: BTreeMap::new(),
                on_leaving_config_map: Vec::new(),
                created_at: now(),
                entry_created: BTreeMap::new(),
            },
        );
    }

    /// Changes a cluster directly.
    pub(crate) fn with_cluster<T>(&self, name: &str, f: impl FnOnce(&mut Cluster) -> T) -> T {
        f(self
            .state
            .lock()
            .unwrap()
            .clusters
            .get_mut(name)
            .expect("cluster exists"))
    }

    /// A copy of a cluster.
    pub(crate) fn snapshot(&self, name: &str) -> Cluster {
        self.state.lock().unwrap().clusters[name].clone()
    }

    pub(crate) fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    /// Who signed each request, for which region and service:
    /// `KEY-ID/REGION/SERVICE`, in order.
    pub(crate) fn scopes(&self) -> Vec<String> {
        self.state.lock().unwrap().scopes.clone()
    }

    pub(crate) fn clear_calls(&self) {
        self.state.lock().unwrap().calls.clear();
    }

    /// Every answer waits this long.
    pub(crate) fn set_latency(&self, latency: Duration) {
        self.state.lock().unwrap().latency = latency;
    }

    /// At most `per_second` EKS calls a second (after a burst of `burst`);
    /// the rest get 429 ThrottlingException.
    pub(crate) fn set_throttle(&self, per_second: f64, burst: f64) {
        let mut s = self.state.lock().unwrap();
        s.throttles.clear();
        s.throttle = Some(Throttle {
            per_second,
            burst,
            tokens: burst,
            last: None,
        });
    }

    /// At most `per_second` IAM calls a second (after a burst of `burst`);
    /// the rest get IAM's 400 `Throttling`.
    pub(crate) fn set_iam_throttle(&self, per_second: f64, burst: f64) {
        let mut s = self.state.lock().unwrap();
        s.iam_throttles.clear();
        s.iam_throttle = Some(Throttle {
            per_second,
            burst,
            tokens: burst,
            last: None,
        });
    }

    /// Deletes an IAM user and makes one of the same name (and path) again:
    /// its CreateDate (and id) are new, later than every access entry.
    pub(crate) fn recreate(&self, kind: &str, name: &str) {
        self.state.lock().unwrap().created.insert(
            format!("{kind}/{}", name.to_lowercase()),
            "2030-01-01T00:00:00Z".to_owned(),
        );
    }

    /// Throttled answers carry `Retry-After: seconds` (AWS APIs do not
    /// promise it; an API gateway in front of one may send it).
    pub(crate) fn set_retry_after(&self, seconds: u64) {
        self.state.lock().unwrap().retry_after = Some(seconds);
    }

    /// The next calls of `op` are answered with these statuses instead.
    pub(crate) fn fail(&self, op: &str, answers: &[(u16, &'static str)]) {
        self.state
            .lock()
            .unwrap()
            .faults
            .entry(op.to_owned())
            .or_default()
            .extend_from_slice(answers);
    }

    /// The next `n` calls of `op` are carried out, then their answers are
    /// lost (the connection closes): recorded with status 0.
    pub(crate) fn drop_answers(&self, op: &str, n: usize) {
        *self
            .state
            .lock()
            .unwrap()
            .drops
            .entry(op.to_owned())
            .or_default() += n;
    }

    /// After `n` more EKS calls every call hangs; `None` lifts it.
    pub(crate) fn hang_after(&self, n: Option<usize>) {
        let mut st = self.state.lock().unwrap();
        st.hang_after = n.map(|n| st.eks_calls + n);
    }

    pub(crate) fn eks_calls(&self) -> usize {
        self.state.lock().unwrap().eks_calls
    }

    /// DescribeUpdate polls before an update completes.
    pub(crate) fn set_polls_per_update(&self, n: usize) {
        self.state.lock().unwrap().polls_per_update = n;
    }

    /// Runs `f` on the clusters right after the next `op` call is answered.
    pub(crate) fn after_next(
        &self,
        op: &str,
        f: impl FnOnce(&mut BTreeMap<String, Cluster>) + Send + 'static,
    ) {
        self.state
            .lock()
            .unwrap()
            .after
            .push((op.to_owned(), Box::new(f)));
    }

    /// An access-config update to `target` already in progress (left by a run
    /// that was killed while it waited); it ends after `polls` DescribeUpdate
    /// calls.
    pub(crate) fn update_in_flight(&self, cluster: &str, id: &str, target: &str, polls: usize) {
        self.with_cluster(cluster, |c| {
            c.updates.insert(
                id.to_owned(),
                Update {
                    target: target.to_owned(),
                    polls_left: polls,
                    status: "InProgress",
                },
            );
        });
    }

    /// The next cluster update ends Failed.
    pub(crate) fn fail_next_update(&self) {
        self.state.lock().unwrap().fail_next_update = true;
    }
}

impl Drop for Aws {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

type Answer = Response<Full<Bytes>>;

/// Marks an answer the connection loses.
const DROP: &str = "x-test-drop-answer";
/// A refusal on its way out of a check (boxed: a response is large).
type Refusal = Box<Answer>;

fn json_answer(code: u16, body: &Value) -> Answer {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

fn eks_error(code: u16, kind: &str, message: &str) -> Answer {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .header("x-amzn-errortype", kind)
        .body(Full::new(Bytes::from(
            json!({ "message": message }).to_string(),
        )))
        .unwrap()
}

fn xml(code: u16, body: String) -> Answer {
    Response::builder()
        .status(code)
        .header("content-type", "text/xml")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

/// A principal's CreateDate: the default, unless it was made again.
fn created_date(created: &BTreeMap<String, String>, kind: &str, name: &str) -> String {
    created
        .get(&format!("{kind}/{}", name.to_lowercase()))
        .cloned()
        .unwrap_or_else(|| "2024-01-01T00:00:00Z".to_owned())
}

fn query_error(code: u16, ns: &str, kind: &str, message: &str) -> Answer {
    xml(
        code,
        format!(
            "<ErrorResponse xmlns=\"{ns}\"><Error><Type>Sender</Type><Code>{kind}</Code><Message>{message}</Message></Error><RequestId>req-err</RequestId></ErrorResponse>"
        ),
    )
}

/// Percent-decoding of a path segment or query value.
fn decode(s: &str) -> String {
    decode_with(s, false)
}

/// Percent-decoding of a form value (`+` is a space there).
fn decode_form(s: &str) -> String {
    decode_with(s, true)
}

fn decode_with(s: &str, plus_is_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn form(body: &str) -> BTreeMap<String, String> {
    body.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode_form(k), decode_form(v)))
        .collect()
}

async fn handle(st: Arc<Mutex<State>>, req: Request<hyper::body::Incoming>) -> Answer {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    // `Credential=KEY-ID/DATE/REGION/SERVICE/aws4_request, ...`
    let scope = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("AWS4-HMAC-SHA256 Credential="))
        .and_then(|v| v.split(',').next())
        .map(|c| {
            let parts: Vec<&str> = c.split('/').collect();
            [0, 2, 3]
                .iter()
                .map(|&i| parts.get(i).copied().unwrap_or(""))
                .collect::<Vec<_>>()
                .join("/")
        });
    let signed = scope.is_some();
    // `KEY-ID/REGION`: whose throttle the call counts against.
    let bucket = scope
        .as_deref()
        .map(|s| s.rsplit_once('/').map_or(s, |(head, _)| head).to_owned())
        .unwrap_or_default();
    if let Some(scope) = scope {
        st.lock().unwrap().scopes.push(scope);
    }
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body = String::from_utf8_lossy(&body).into_owned();
    let latency = st.lock().unwrap().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if path == "/" && method == "POST" {
        let f = form(&body);
        let key = bucket.split('/').next().unwrap_or_default();
        return query_call(&st, signed, key, &f);
    }
    if !signed {
        return eks_error(
            403,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        );
    }
    let segments: Vec<String> = path.trim_matches('/').split('/').map(decode).collect();
    let (op, target) = operation(&method, &segments);
    let hang = {
        let mut s = st.lock().unwrap();
        s.eks_calls += 1;
        s.hang_after.is_some_and(|n| s.eks_calls > n)
    };
    if hang {
        // Never answer: the test kills the client meanwhile.
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    {
        let mut s = st.lock().unwrap();
        let s = &mut *s;
        let throttled = !take(s.throttle.as_ref(), &mut s.throttles, &bucket);
        let fault = s
            .faults
            .get_mut(&op)
            .and_then(|q| (!q.is_empty()).then(|| q.remove(0)));
        let answer = if throttled {
            let mut a = eks_error(429, "ThrottlingException", "Rate exceeded");
            if let Some(secs) = s.retry_after {
                a.headers_mut()
                    .insert("retry-after", secs.to_string().parse().unwrap());
            }
            a
        } else if let Some((code, kind)) = fault {
            eks_error(code, kind, &format!("injected {kind}"))
        } else {
            eks(s, &method, &segments, &query, &body)
        };
        let mut status = answer.status().as_u16();
        if let Some(i) = s.after.iter().position(|(o, _)| *o == op) {
            let (_, hook) = s.after.remove(i);
            hook(&mut s.clusters);
        }
        let mut answer = answer;
        if let Some(n) = s.drops.get_mut(&op).filter(|n| **n > 0) {
            *n -= 1;
            status = 0;
            answer
                .headers_mut()
                .insert(DROP, hyper::header::HeaderValue::from_static("1"));
        }
        s.calls.push(Call {
            op,
            target,
            status,
            at: Instant::now(),
        });
        answer
    }
}

/// The EKS operation name of a request, and the principal it concerns.
fn operation(method: &str, seg: &[String]) -> (String, String) {
    let s: Vec<&str> = seg.iter().map(String::as_str).collect();
    let (op, target) = match (method, s.as_slice()) {
        ("GET", ["clusters", _]) => ("DescribeCluster", ""),
        ("POST", ["clusters", _, "update-config"]) => ("UpdateClusterConfig", ""),
        ("GET", ["clusters", _, "updates", _]) => ("DescribeUpdate", ""),
        ("GET", ["clusters", _, "updates"]) => ("ListUpdates", ""),
        ("GET", ["clusters", _, "access-entries"]) => ("ListAccessEntries", ""),
        ("POST", ["clusters", _, "access-entries"]) => ("CreateAccessEntry", ""),
        ("GET", ["clusters", _, "access-entries", p]) => ("DescribeAccessEntry", *p),
        ("POST", ["clusters", _, "access-entries", p]) => ("UpdateAccessEntry", *p),
        ("DELETE", ["clusters", _, "access-entries", p]) => ("DeleteAccessEntry", *p),
        ("GET", ["clusters", _, "access-entries", p, "access-policies"]) => {
            ("ListAssociatedAccessPolicies", *p)
        }
        ("POST", ["clusters", _, "access-entries", p, "access-policies"]) => {
            ("AssociateAccessPolicy", *p)
        }
        ("DELETE", ["clusters", _, "access-entries", p, "access-policies", _]) => {
            ("DisassociateAccessPolicy", *p)
        }
        _ => ("Unknown", ""),
    };
    (op.to_owned(), target.to_owned())
}

fn now() -> f64 {
    1_767_225_600.0
}

fn param(query: &str, key: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| decode(v))
}

/// Pages of at most `max` (1..=100, default 100), the token an index.
fn page<T: Clone>(items: &[T], query: &str) -> Result<(Vec<T>, Option<String>), Refusal> {
    let max = match param(query, "maxResults") {
        None => 100,
        Some(m) => match m.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                return Err(Box::new(eks_error(
                    400,
                    "InvalidParameterException",
                    "maxResults must be between 1 and 100",
                )));
            }
        },
    };
    let start = match param(query, "nextToken") {
        None => 0,
        Some(t) => match t
            .strip_prefix("page-")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(n) if n <= items.len() => n,
            _ => {
                return Err(Box::new(eks_error(
                    400,
                    "InvalidParameterException",
                    "The nextToken is invalid.",
                )));
            }
        },
    };
    let end = (start + max).min(items.len());
    let next = (end < items.len()).then(|| format!("page-{end}"));
    Ok((items[start..end].to_vec(), next))
}

fn cluster_json(name: &str, c: &Cluster) -> Value {
    json!({"cluster": {
        "name": name,
        "arn": format!("arn:aws:eks:eu-west-1:{ACCOUNT}:cluster/{name}"),
        "createdAt": c.created_at,
        "version": "1.33",
        "endpoint": c.endpoint,
        "status": "ACTIVE",
        "platformVersion": "eks.5",
        "accessConfig": {"authenticationMode": c.mode, "bootstrapClusterCreatorAdminPermissions": true},
        "certificateAuthority": {"data": "LS0tLS1CRUdJTg=="},
    }})
}

fn update_json(id: &str, u: &Update) -> Value {
    let mut v = json!({"update": {
        "id": id,
        "status": u.status,
        "type": "AccessConfigUpdate",
        "params": [{"type": "AuthenticationMode", "value": u.target}],
        "createdAt": now(),
        "errors": [],
    }});
    if u.status == "Failed" {
        v["update"]["errors"] = json!([{"errorCode": "Unknown", "errorMessage": "the access config update failed", "resourceIds": []}]);
    }
    v
}

fn entry_json(cluster: &str, principal: &str, e: &Entry, created: f64) -> Value {
    json!({"accessEntry": {
        "clusterName": cluster,
        "principalArn": principal,
        "kubernetesGroups": e.groups,
        "accessEntryArn": format!("arn:aws:eks:eu-west-1:{ACCOUNT}:access-entry/{cluster}/{}", principal.rsplit('/').next().unwrap_or("")),
        "createdAt": created,
        "modifiedAt": now(),
        "tags": {},
        "username": e.username,
        "type": e.kind,
    }})
}

const TYPES: [&str; 7] = [
    "STANDARD",
    "EC2_LINUX",
    "EC2_WINDOWS",
    "FARGATE_LINUX",
    "EC2",
    "HYBRID_LINUX",
    "HYPERPOD_LINUX",
];

/// What EKS checks of a principal ARN: an IAM user or role it can find.
fn check_principal(s: &State, arn: &str) -> Result<(), Refusal> {
    let invalid = || {
        Err(Box::new(eks_error(
            400,
            "InvalidParameterException",
            "The specified principalArn is invalid: invalid principal.",
        )))
    };
    let Some(rest) = arn.strip_prefix("arn:aws:iam::") else {
        return invalid();
    };
    let Some((account, resource)) = rest.split_once(':') else {
        return invalid();
    };
    if account != ACCOUNT {
        // Other accounts are not simulated: taken as they come.
        return Ok(());
    }
    if let Some(role) = resource.strip_prefix("role") {
        if role.starts_with("/aws-service-role/") {
            return invalid();
        }
        let (path, name) = role
            .rsplit_once('/')
            .map(|(p, n)| (format!("{p}/"), n))
            .unwrap_or_default();
        match s.roles.get(&name.to_lowercase()) {
            Some((p, n)) if *p == path && n == name => Ok(()),
            _ => invalid(),
        }
    } else if resource.starts_with("user/") {
        if s.users.iter().any(|u| u == arn) {
            Ok(())
        } else {
            invalid()
        }
    } else {
        invalid()
    }
}

fn check_username(user: &str) -> Result<(), Refusal> {
    for p in ["system:", "eks:", "aws:", "amazon:", "iam:"] {
        if user.starts_with(p) {
            return Err(Box::new(eks_error(
                400,
                "InvalidParameterException",
                &format!("username cannot start with {p}"),
            )));
        }
    }
    let mut from = 0;
    while let Some(i) = user[from..].find("{{").map(|i| i + from) {
        let end = user[i..].find("}}").map(|e| e + i).unwrap_or(user.len());
        let name = &user[i + 2..end.min(user.len())];
        if !matches!(name, "SessionName" | "SessionNameRaw") {
            return Err(Box::new(eks_error(
                400,
                "InvalidParameterException",
                &format!(
                    "username template {{{{{name}}}}} is not supported; use {{{{SessionName}}}} or {{{{SessionNameRaw}}}}"
                ),
            )));
        }
        if !user[..i].contains(':') {
            return Err(Box::new(eks_error(
                400,
                "InvalidParameterException",
                "a username template must come after a ':'",
            )));
        }
        from = end;
    }
    Ok(())
}

fn check_groups(groups: &[String]) -> Result<(), Refusal> {
    match groups.iter().find(|g| g.starts_with("system:")) {
        Some(g) => Err(Box::new(eks_error(
            400,
            "InvalidParameterException",
            &format!("The kubernetes group name {g} is invalid, it cannot start with system:"),
        ))),
        None => Ok(()),
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn eks(s: &mut State, method: &str, seg: &[String], query: &str, body: &str) -> Answer {
    let body: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
    let Some(cluster_name) = seg
        .get(1)
        .copied()
        .filter(|_| seg.first() == Some(&"clusters"))
    else {
        return eks_error(404, "ResourceNotFoundException", "Not found");
    };
    if !s.clusters.contains_key(cluster_name) {
        return eks_error(
            404,
            "ResourceNotFoundException",
            &format!("No cluster found for name: {cluster_name}."),
        );
    }
    let needs_entries = seg.get(2) == Some(&"access-entries");
    if needs_entries && s.clusters[cluster_name].mode == "CONFIG_MAP" {
        return eks_error(
            400,
            "InvalidRequestException",
            "The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation.",
        );
    }
    match (method, &seg[2..]) {
        ("GET", []) => json_answer(200, &cluster_json(cluster_name, &s.clusters[cluster_name])),
        ("POST", ["update-config"]) => {
            let Some(target) = body["accessConfig"]["authenticationMode"].as_str() else {
                return eks_error(
                    400,
                    "InvalidParameterException",
                    "only accessConfig updates are simulated",
                );
            };
            let c = &s.clusters[cluster_name];
            if c.updates.values().any(|u| u.status == "InProgress") {
                return eks_error(
                    409,
                    "ResourceInUseException",
                    "Cluster has an update in progress",
                );
            }
            let allowed = matches!(
                (c.mode.as_str(), target),
                ("CONFIG_MAP", "API_AND_CONFIG_MAP") | ("API_AND_CONFIG_MAP", "API")
            );
            if !allowed {
                return eks_error(
                    400,
                    "InvalidParameterException",
                    &format!(
                        "Unsupported authentication mode update from {} to {target}",
                        c.mode
                    ),
                );
            }
            let id = format!("0000-update-{}", s.next_id);
            s.next_id += 1;
            let failed = std::mem::take(&mut s.fail_next_update);
            let u = Update {
                target: target.to_owned(),
                polls_left: s.polls_per_update,
                status: if failed { "FailPending" } else { "InProgress" },
            };
            let mut shown = u.clone();
            shown.status = "InProgress";
            let answer = update_json(&id, &shown);
            s.clusters
                .get_mut(cluster_name)
                .unwrap()
                .updates
                .insert(id, u);
            json_answer(200, &answer)
        }
        ("GET", ["updates"]) => {
            // Newest first, as EKS lists them.
            let c = &s.clusters[cluster_name];
            let ids: Vec<&String> = c.updates.keys().rev().collect();
            json_answer(200, &json!({"updateIds": ids}))
        }
        ("GET", ["updates", id]) => {
            let c = s.clusters.get_mut(cluster_name).unwrap();
            let Some(u) = c.updates.get_mut(*id) else {
                return eks_error(
                    404,
                    "ResourceNotFoundException",
                    &format!("No update found for ID: {id}"),
                );
            };
            if matches!(u.status, "InProgress" | "FailPending") {
                if u.polls_left == 0 {
                    if u.status == "FailPending" {
                        u.status = "Failed";
                    } else {
                        u.status = "Successful";
                        let target = u.target.clone();
                        let leaving = c.mode == "CONFIG_MAP";
                        c.mode = target;
                        if leaving {
                            for (arn, e) in c.on_leaving_config_map.clone() {
                                c.entry_created
                                    .entry(arn.clone())
                                    .or_insert(c.created_at + 43_200.0);
                                c.entries.entry(arn).or_insert(e);
                            }
                        }
                    }
                } else {
                    u.polls_left -= 1;
                }
            }
            let mut shown = c.updates[*id].clone();
            if shown.status == "FailPending" {
                shown.status = "InProgress";
            }
            json_answer(200, &update_json(id, &shown))
        }
        ("GET", ["access-entries"]) => {
            let c = &s.clusters[cluster_name];
            let filter = param(query, "associatedPolicyArn");
            let arns: Vec<String> = c
                .entries
                .iter()
                .filter(|(_, e)| filter.as_ref().is_none_or(|f| e.policies.contains_key(f)))
                .map(|(k, _)| k.clone())
                .collect();
            match page(&arns, query) {
                Ok((items, next)) => {
                    let mut v = json!({"accessEntries": items});
                    if let Some(n) = next {
                        v["nextToken"] = n.into();
                    }
                    json_answer(200, &v)
                }
                Err(e) => *e,
            }
        }
        ("POST", ["access-entries"]) => {
            let Some(principal) = body["principalArn"].as_str().map(str::to_owned) else {
                return eks_error(400, "InvalidParameterException", "principalArn is required");
            };
            let kind = body["type"].as_str().unwrap_or("STANDARD").to_owned();
            if !TYPES.contains(&kind.as_str()) {
                return eks_error(
                    400,
                    "InvalidParameterException",
                    &format!(
                        "The type {kind} is not valid; valid types: {}",
                        TYPES.join(", ")
                    ),
                );
            }
            if let Err(e) = check_principal(s, &principal) {
                return *e;
            }
            let groups = strings(&body["kubernetesGroups"]);
            let username = body["username"].as_str().map(str::to_owned);
            if kind != "STANDARD" {
                if !groups.is_empty() || username.is_some() {
                    return eks_error(
                        400,
                        "InvalidParameterException",
                        &format!(
                            "username and kubernetesGroups cannot be specified for an access entry of type {kind}"
                        ),
                    );
                }
                if !principal.starts_with(&format!("arn:aws:iam::{ACCOUNT}:role/")) {
                    return eks_error(
                        400,
                        "InvalidParameterException",
                        &format!(
                            "The principalArn of an access entry of type {kind} must be an IAM role in the cluster's account"
                        ),
                    );
                }
            }
            if let Some(u) = &username
                && let Err(e) = check_username(u)
            {
                return *e;
            }
            if let Err(e) = check_groups(&groups) {
                return *e;
            }
            let c = s.clusters.get_mut(cluster_name).unwrap();
            if c.entries.contains_key(&principal) {
                return eks_error(
                    409,
                    "ResourceInUseException",
                    "The specified access entry resource is already in use on this cluster.",
                );
            }
            if c.entries.len() >= ENTRY_LIMIT {
                return eks_error(
                    400,
                    "ResourceLimitExceededException",
                    &format!(
                        "The cluster {cluster_name} has reached its limit of {ENTRY_LIMIT} access entries."
                    ),
                );
            }
            let username = username.unwrap_or_else(|| default_username(&kind, &principal));
            let e = Entry {
                kind,
                username,
                groups,
                policies: BTreeMap::new(),
            };
            // The clock stands still (answers stay reproducible); entries
            // made through the API come a day after the cluster, one second
            // apart, after those EKS made on leaving CONFIG_MAP.
            let created = c.created_at + 86_400.0 + c.entry_created.len() as f64;
            let answer = entry_json(cluster_name, &principal, &e, created);
            c.entry_created.insert(principal.clone(), created);
            c.entries.insert(principal, e);
            json_answer(200, &answer)
        }
        (_, ["access-entries", principal, rest @ ..]) => {
            let principal = (*principal).to_owned();
            let c = s.clusters.get_mut(cluster_name).unwrap();
            let created = c
                .entry_created
                .get(&principal)
                .copied()
                .unwrap_or(c.created_at);
            let Some(e) = c.entries.get_mut(&principal) else {
                return eks_error(
                    404,
                    "ResourceNotFoundException",
                    &format!(
                        "The specified principalArn could not be found. You can view your available access entries with 'list-access-entries'. (principal {principal})"
                    ),
                );
            };
            match (method, rest) {
                ("GET", []) => json_answer(200, &entry_json(cluster_name, &principal, e, created)),
                ("DELETE", []) => {
                    c.entries.remove(&principal);
                    c.entry_created.remove(&principal);
                    json_answer(200, &json!({}))
                }
                ("POST", []) => {
                    if e.kind != "STANDARD" {
                        return eks_error(
                            400,
                            "InvalidParameterException",
                            "only STANDARD access entries can be updated",
                        );
                    }
                    let groups = strings(&body["kubernetesGroups"]);
                    if let Err(err) = check_groups(&groups) {
                        return *err;
                    }
                    if let Some(u) = body["username"].as_str() {
                        if let Err(err) = check_username(u) {
                            return *err;
                        }
                        e.username = u.to_owned();
                    }
                    if body.get("kubernetesGroups").is_some() {
                        e.groups = groups;
                    }
                    json_answer(200, &entry_json(cluster_name, &principal, e, created))
                }
                ("GET", ["access-policies"]) => {
                    // Whether EKS lists the policies of node-type entries is
                    // not documented; this one refuses, the worst case.
                    if !matches!(e.kind.as_str(), "STANDARD" | "EC2") {
                        return eks_error(
                            400,
                            "InvalidRequestException",
                            &format!(
                                "The {} access entry type does not support access policies.",
                                e.kind
                            ),
                        );
                    }
                    let list: Vec<Value> = e
                        .policies
                        .iter()
                        .map(|(p, scope)| json!({"policyArn": p, "accessScope": scope, "associatedAt": now(), "modifiedAt": now()}))
                        .collect();
                    match page(&list, query) {
                        Ok((items, next)) => {
                            let mut v = json!({"clusterName": cluster_name, "principalArn": principal, "associatedAccessPolicies": items});
                            if let Some(n) = next {
                                v["nextToken"] = n.into();
                            }
                            json_answer(200, &v)
                        }
                        Err(err) => *err,
                    }
                }
                ("POST", ["access-policies"]) => {
                    if e.kind != "STANDARD" {
                        return eks_error(
                            400,
                            "InvalidParameterException",
                            "Access policies can only be associated with access entries of type STANDARD",
                        );
                    }
                    let policy = body["policyArn"].as_str().unwrap_or("").to_owned();
                    let known = policy
                        .strip_prefix("arn:aws:eks::aws:cluster-access-policy/")
                        .is_some_and(|n| POLICIES.contains(&n));
                    if !known {
                        return eks_error(
                            400,
                            "InvalidParameterException",
                            &format!("The policyArn {policy} is not a valid access policy"),
                        );
                    }
                    let scope = body["accessScope"].clone();
                    match scope["type"].as_str() {
                        Some("cluster") => {}
                        Some("namespace") if !strings(&scope["namespaces"]).is_empty() => {}
                        _ => {
                            return eks_error(
                                400,
                                "InvalidParameterException",
                                "accessScope must be of type cluster, or namespace with namespaces",
                            );
                        }
                    }
                    let mut scope = scope;
                    if scope.get("namespaces").is_none() {
                        scope["namespaces"] = json!([]);
                    }
                    e.policies.insert(policy.clone(), scope.clone());
                    json_answer(
                        200,
                        &json!({"clusterName": cluster_name, "principalArn": principal, "associatedAccessPolicy": {
                            "policyArn": policy, "accessScope": scope, "associatedAt": now(), "modifiedAt": now()
                        }}),
                    )
                }
                ("DELETE", ["access-policies", policy]) => {
                    if e.policies.remove(*policy).is_none() {
                        return eks_error(
                            404,
                            "ResourceNotFoundException",
                            &format!(
                                "The access policy {policy} is not associated with {principal}"
                            ),
                        );
                    }
                    json_answer(200, &json!({}))
                }
                _ => eks_error(404, "ResourceNotFoundException", "Not found"),
            }
        }
        _ => eks_error(404, "ResourceNotFoundException", "Not found"),
    }
}

fn default_username(kind: &str, principal: &str) -> String {
    match kind {
        "EC2_LINUX" | "EC2_WINDOWS" => "system:node:{{EC2PrivateDNSName}}".to_owned(),
        "FARGATE_LINUX" | "HYBRID_LINUX" => "system:node:{{SessionName}}".to_owned(),
        _ => match principal.split_once(":role/") {
            Some((head, role)) => format!(
                "{}:assumed-role/{}/{{{{SessionName}}}}",
                head.replace(":iam:", ":sts:"),
                role.rsplit('/').next().unwrap_or(role)
            ),
            None => principal.to_owned(),
        },
    }
}

/// IAM and STS: the query protocol.
fn query_call(
    st: &Arc<Mutex<State>>,
    signed: bool,
    key: &str,
    f: &BTreeMap<String, String>,
) -> Answer {
    const IAM: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
    const STS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
    let mut guard = st.lock().unwrap();
    let s = &mut *guard;
    let action = f.get("Action").cloned().unwrap_or_default();
    let iam_throttled =
        action != "GetCallerIdentity" && !take(s.iam_throttle.as_ref(), &mut s.iam_throttles, key);
    let answer = if iam_throttled {
        query_error(400, IAM, "Throttling", "Rate exceeded")
    } else if !signed {
        query_error(
            403,
            STS,
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
        )
    } else {
        match action.as_str() {
            "GetCallerIdentity" => xml(
                200,
                format!(
                    "<GetCallerIdentityResponse xmlns=\"{STS}\"><GetCallerIdentityResult><Arn>{}</Arn><UserId>AROAEXAMPLE:session</UserId><Account>{ACCOUNT}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>req-sts</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
                    s.caller
                ),
            ),
            "GetRole" => {
                let name = f.get("RoleName").cloned().unwrap_or_default();
                let created = created_date(&s.created, "role", &name);
                match s.roles.get(&name.to_lowercase()) {
                    Some((path, real)) => xml(
                        200,
                        format!(
                            "<GetRoleResponse xmlns=\"{IAM}\"><GetRoleResult><Role><Path>{path}</Path><RoleName>{real}</RoleName><RoleId>AROA{}</RoleId><Arn>arn:aws:iam::{ACCOUNT}:role{path}{real}</Arn><CreateDate>{created}</CreateDate><AssumeRolePolicyDocument>%7B%7D</AssumeRolePolicyDocument><MaxSessionDuration>3600</MaxSessionDuration></Role></GetRoleResult><ResponseMetadata><RequestId>req-iam</RequestId></ResponseMetadata></GetRoleResponse>",
                            real.len()
                        ),
                    ),
                    None => query_error(
                        404,
                        IAM,
                        "NoSuchEntity",
                        &format!("The role with name {name} cannot be found."),
                    ),
                }
            }
            "GetUser" => {
                let name = f.get("UserName").cloned().unwrap_or_default();
                // IAM names are unique without case.
                let found = s.users.iter().find(|arn| {
                    arn.rsplit('/')
                        .next()
                        .is_some_and(|n| n.eq_ignore_ascii_case(&name))
                });
                match found {
                    Some(arn) => {
                        let rest = arn.split_once(":user").map_or("/", |(_, r)| r);
                        let real = rest.rsplit('/').next().unwrap_or_default();
                        let path = &rest[..rest.len() - real.len()];
                        let created = created_date(&s.created, "user", real);
                        xml(
                            200,
                            format!(
                                "<GetUserResponse xmlns=\"{IAM}\"><GetUserResult><User><Path>{path}</Path><UserName>{real}</UserName><UserId>AIDA{}</UserId><Arn>{arn}</Arn><CreateDate>{created}</CreateDate></User></GetUserResult><ResponseMetadata><RequestId>req-iam</RequestId></ResponseMetadata></GetUserResponse>",
                                real.len()
                            ),
                        )
                    }
                    None => query_error(
                        404,
                        IAM,
                        "NoSuchEntity",
                        &format!("The user with name {name} cannot be found."),
                    ),
                }
            }
            other => query_error(
                400,
                IAM,
                "InvalidAction",
                &format!("Could not find operation {other}"),
            ),
        }
    };
    let status = answer.status().as_u16();
    s.calls.push(Call {
        op: action,
        target: f
            .get("RoleName")
            .or_else(|| f.get("UserName"))
            .cloned()
            .unwrap_or_default(),
        status,
        at: Instant::now(),
    });
    answer
}
