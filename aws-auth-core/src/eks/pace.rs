//! Pacing EKS calls to the rate the API accepts.
//!
//! EKS publishes no rate limits and throttles (429) when a migration of
//! thousands of entries goes too fast. Measured on the benchmark (10 calls a
//! second, 50 ms latency): the SDK's adaptive retry mode took 3.5 times the
//! throttle's floor, its standard mode 1.5 times while sending three refused
//! calls per accepted one, because each call backs off on its own and the
//! retries bypass any pacing. So throttling is handled here: every EKS
//! attempt, retries included, waits for its turn on one shared pace. A
//! throttled attempt cuts the rate by 10%, once per round (attempts sent
//! before the last cut do not cut again: they were sent at the old rate); an
//! accepted one raises it by 2%. The calls run just under the limit (a cut
//! of 15% and a rise of 1% left a short run 7% above the throttle's floor;
//! 10% and 2%, 5%, for twice the refused calls; 8% and 3%, 5% again, for
//! four times them). A retry
//! classifier stops the SDK from retrying throttled calls itself; other
//! transient errors (5xx, timeouts) keep the SDK's retries.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_eks::config::interceptors::InterceptorContext;
use aws_sdk_eks::config::retry::{ClassifyRetry, RetryAction};
use aws_sdk_eks::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::retries::classifiers::RetryClassifierPriority;

/// Calls per second before anything is known: more than EKS accepts.
const INITIAL_RATE: f64 = 50.0;
const MIN_RATE: f64 = 0.5;
const MAX_RATE: f64 = 1000.0;
const CUT: f64 = 0.9;
const GROWTH: f64 = 1.02;
/// Throttled attempts of one call before it fails.
const MAX_THROTTLED: u32 = 100;

#[derive(Debug)]
struct State {
    rate: f64,
    next: Instant,
    last_cut: Option<Instant>,
}

/// What a call not sent because the deadline passed fails with.
pub const DEADLINE_PASSED: &str = "not sent: the deadline passed";

/// A call's turn would come after the deadline.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("{DEADLINE_PASSED}")]
pub(crate) struct DeadlinePassed;

/// The shared pace of the calls one throttle counts: one migration's, or
/// every cluster's of one account and region in a run over many.
#[derive(Debug)]
pub struct Pacer {
    state: Mutex<State>,
}

impl Pacer {
    /// A pace that starts fast and learns the API's rate from its throttling.
    pub fn new() -> Arc<Pacer> {
        Arc::new(Pacer {
            state: Mutex::new(State {
                rate: INITIAL_RATE,
                next: Instant::now(),
                last_cut: None,
            }),
        })
    }

    /// The rate the pace has learnt (calls per second).
    pub fn rate(&self) -> f64 {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).rate
    }

    /// Starts from `rate` (one an earlier run learnt) instead of above
    /// any API's: a short run then spends nothing learning it again.
    pub fn start_at(&self, rate: f64) {
        if rate.is_finite() {
            self.state.lock().unwrap_or_else(|e| e.into_inner()).rate =
                rate.clamp(MIN_RATE, MAX_RATE);
        }
    }

    /// Waits for this call's turn; returns when it was, or that it would
    /// come after `deadline` (then nothing is waited, and the turn is left
    /// to others).
    pub(crate) async fn wait(&self, deadline: Option<Instant>) -> Result<Instant, DeadlinePassed> {
        let at = {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let at = s.next.max(Instant::now());
            if deadline.is_some_and(|d| at >= d) {
                return Err(DeadlinePassed);
            }
            s.next = at + Duration::from_secs_f64(1.0 / s.rate);
            at
        };
        tokio::time::sleep_until(at.into()).await;
        Ok(at)
    }

    /// An attempt sent at `sent` was throttled.
    fn throttled(&self, sent: Instant) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.last_cut.is_none_or(|cut| sent > cut) {
            s.rate = (s.rate * CUT).max(MIN_RATE);
            s.last_cut = Some(Instant::now());
            tracing::debug!(rate = s.rate, "throttled: slowing down");
        }
    }

    /// The API said when to come back (`Retry-After`): no call goes before.
    fn not_before(&self, at: Instant) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if at > s.next {
            tracing::debug!(wait = ?at.saturating_duration_since(Instant::now()), "Retry-After: waiting");
            s.next = at;
        }
    }

    fn accepted(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.rate = (s.rate * GROWTH).min(MAX_RATE);
    }
}

/// A pace as one client uses it: shared with others (the same throttle),
/// with a deadline of its own (its command's `--timeout`).
#[derive(Debug, Clone)]
pub(crate) struct Pace {
    pub(crate) shared: Arc<Pacer>,
    pub(crate) deadline: Option<Instant>,
}

impl Pace {
    pub(crate) fn new() -> Pace {
        Pace {
            shared: Pacer::new(),
            deadline: None,
        }
    }

    /// True once the deadline has passed.
    pub(crate) fn deadline_passed(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

/// Runs `call` on the pace, again while EKS throttles it.
pub(crate) async fn paced<T, E, F, Fut>(
    pace: &Pace,
    mut call: F,
) -> Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, SdkError<E, HttpResponse>>>,
{
    let mut throttled = 0;
    loop {
        let pacer = &*pace.shared;
        let sent = pacer
            .wait(pace.deadline)
            .await
            .map_err(SdkError::timeout_error)?;
        match call().await {
            Err(e) if is_throttling(&e) && throttled < MAX_THROTTLED => {
                pacer.throttled(sent);
                if let Some(wait) = e.raw_response().and_then(retry_after) {
                    pacer.not_before(Instant::now() + wait);
                }
                throttled += 1;
            }
            Ok(v) => {
                pacer.accepted();
                return Ok(v);
            }
            other => return other,
        }
    }
}

/// The most a `Retry-After` is waited: a broken header must not stall a run.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// A response's `Retry-After`, in seconds (the HTTP-date form is not used
/// by AWS APIs).
fn retry_after(r: &HttpResponse) -> Option<Duration> {
    let secs: f64 = r.headers().get("retry-after")?.trim().parse().ok()?;
    (secs.is_finite() && secs > 0.0).then(|| Duration::from_secs_f64(secs).min(MAX_RETRY_AFTER))
}

fn is_throttling<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    match e {
        SdkError::ServiceError(s) => {
            matches!(
                s.err().code(),
                Some("ThrottlingException" | "TooManyRequestsException" | "Throttling")
            )
        }
        _ => false,
    }
}

/// EKS (restJson1) says throttled with 429 or its error-type header; IAM
/// (the query protocol) with a 400 whose body's code is `Throttling`.
fn throttling_response(status: u16, kind: &str, body: &[u8]) -> bool {
    status == 429
        || kind.starts_with("Throttling")
        || kind.starts_with("TooManyRequests")
        || (status == 400 && memchr::memmem::find(body, b"<Code>Throttling</Code>").is_some())
}

/// Stops the SDK from retrying throttled calls: this module retries them, on
/// the pace. Install it on the EKS client (see [`configure`](super::configure)).
#[derive(Debug)]
pub struct NoThrottleRetries;

impl ClassifyRetry for NoThrottleRetries {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        match ctx.response() {
            Some(r)
                if throttling_response(
                    r.status().as_u16(),
                    r.headers().get("x-amzn-errortype").unwrap_or(""),
                    r.body().bytes().unwrap_or_default(),
                ) =>
            {
                RetryAction::RetryForbidden
            }
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "aws-auth: throttling is retried on the pace"
    }

    fn priority(&self) -> RetryClassifierPriority {
        // After the SDK's own classifiers, to override their verdict.
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_holds_back_the_next_call() {
        let p = Pacer::new();
        let at = Instant::now() + Duration::from_secs(3);
        p.not_before(at);
        assert_eq!(p.state.lock().unwrap().next, at);
        // An earlier one changes nothing.
        p.not_before(Instant::now());
        assert_eq!(p.state.lock().unwrap().next, at);
        let response = |v: &str| {
            let mut r = HttpResponse::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(429).unwrap(),
                aws_smithy_types::body::SdkBody::empty(),
            );
            r.headers_mut().insert("retry-after", v.to_owned());
            r
        };
        assert_eq!(retry_after(&response("2")), Some(Duration::from_secs(2)));
        assert_eq!(
            retry_after(&response("0.5")),
            Some(Duration::from_millis(500))
        );
        assert_eq!(retry_after(&response("9999")), Some(MAX_RETRY_AFTER));
        assert_eq!(
            retry_after(&response("Wed, 21 Oct 2015 07:28:00 GMT")),
            None
        );
    }

    #[test]
    fn cuts_once_per_round_and_grows_back() {
        let p = Pacer::new();
        let sent = Instant::now();
        p.throttled(sent);
        // Sent before the cut: already accounted for.
        p.throttled(sent);
        let rate = || p.state.lock().unwrap().rate;
        assert!((rate() - INITIAL_RATE * CUT).abs() < 1e-9, "{}", rate());
        // Back above where it was after the fewest accepted calls that make
        // up for one cut.
        let back = ((1.0 / CUT).ln() / GROWTH.ln()).ceil() as usize;
        for _ in 0..back {
            p.accepted();
        }
        assert!(
            rate() > INITIAL_RATE && rate() < INITIAL_RATE * GROWTH,
            "{}",
            rate()
        );
        // Sent after the cut: cuts again.
        p.throttled(Instant::now());
        assert!(rate() < INITIAL_RATE);
    }
}
