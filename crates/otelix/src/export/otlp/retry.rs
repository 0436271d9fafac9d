//! Delivering one request as the OTLP specification asks: sent again after a retryable failure
//! (exponential back-off with jitter, or the delay the collector asked for) until it succeeds,
//! fails for good, its time budget runs out, or the shutdown deadline passes; and failures
//! reported once per outage rather than once per request.
//!
//! The back-off schedule is `backon`'s (exponential, with jitter); the loop around it is ours,
//! because `backon`'s retry future counts only the time spent sleeping against its total, not
//! the attempts themselves, and cannot stop at a shutdown deadline set while it sleeps.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use backon::BackoffBuilder as _;
use bytes::Bytes;
use futures_util::future::{select, Either};

use super::transport::{Failure, FailureKind, Retry, Transport};
use super::ShutdownClock;
use crate::config::Signal;
use crate::pipeline::RateLimiter;
use crate::process::DropCounter;

/// `tracing` target of the export diagnostics.
const TRACING_TARGET: &str = "otelix::export";

/// The first wait after a failed attempt, before jitter.
const MIN_DELAY: Duration = Duration::from_millis(100);
/// The longest wait between attempts, before jitter (jitter adds up to as much again).
const MAX_DELAY: Duration = Duration::from_secs(5);

/// How a delivery ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The collector took the request; its answer's body.
    Delivered(Bytes),
    /// A permanent failure, or the budget ran out (the last failure).
    Failed(Failure),
    /// The shutdown deadline passed (or would pass before the next attempt).
    ShutDown,
}

/// One signal's sending side: its transport, its budget and its outage state.
pub(crate) struct Sender {
    transport: Transport,
    signal: Signal,
    endpoint: String,
    limits: Limits,
    clock: std::sync::Arc<ShutdownClock>,
    /// Where the diagnostics go: telemetry's own subscriber, never the exported pipeline.
    drops: std::sync::Arc<DropCounter>,
    /// The kind of the failure that began the current outage, if one is going on.
    outage: Mutex<Option<FailureKind>>,
    /// Refusals of single requests and partial successes are logged once a minute.
    once_a_minute: RateLimiter<&'static str>,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("signal", &self.signal.as_str())
            .field("endpoint", &self.endpoint)
            .field("budget", &self.limits.budget)
            .finish_non_exhaustive()
    }
}

/// The limits a [`Sender`] works within.
pub(crate) struct Limits {
    /// One attempt's limit (`OTEL_EXPORTER_OTLP_TIMEOUT`).
    pub(crate) attempt_timeout: Duration,
    /// A request's limit, retries included (`OTEL_BSP_EXPORT_TIMEOUT`, ...).
    pub(crate) budget: Duration,
}

impl Sender {
    pub(crate) fn new(
        transport: Transport,
        signal: Signal,
        endpoint: String,
        limits: Limits,
        clock: std::sync::Arc<ShutdownClock>,
        drops: std::sync::Arc<DropCounter>,
    ) -> Self {
        Sender {
            transport,
            signal,
            endpoint,
            limits,
            clock,
            drops,
            outage: Mutex::new(None),
            once_a_minute: RateLimiter::default(),
        }
    }

    pub(crate) fn signal(&self) -> Signal {
        self.signal
    }

    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub(crate) fn drops(&self) -> &DropCounter {
        &self.drops
    }

    /// The body as it goes on the wire (gzip-compressed for OTLP/HTTP when asked).
    pub(crate) fn prepare(&self, body: Vec<u8>) -> Result<Bytes, Failure> {
        self.transport.prepare(body)
    }

    /// Sends `body` until it is delivered, fails for good, the budget runs out or the
    /// shutdown deadline passes. Runs on the export runtime.
    pub(crate) async fn deliver(&self, body: Bytes) -> Outcome {
        let budget_end = Instant::now() + self.limits.budget;
        let mut backoff = backon::ExponentialBuilder::new()
            .with_jitter()
            .with_min_delay(MIN_DELAY)
            .with_max_delay(MAX_DELAY)
            .without_max_times()
            .build();
        let mut last = None;
        loop {
            let now = Instant::now();
            let end = self
                .clock
                .deadline()
                .map_or(budget_end, |d| d.min(budget_end));
            let left = end.saturating_duration_since(now);
            if left.is_zero() {
                return self.ran_out(budget_end, last);
            }
            let unreachable_before = self.unreachable();
            let attempt = self
                .transport
                .send(body.clone(), self.limits.attempt_timeout.min(left));
            let failure =
                match select(std::pin::pin!(attempt), std::pin::pin!(self.clock.passed())).await {
                    Either::Left((Ok(answer), _)) => {
                        self.recovered();
                        return Outcome::Delivered(answer);
                    }
                    Either::Left((Err(failure), _)) => failure,
                    Either::Right(((), _)) => return Outcome::ShutDown,
                };
            self.report(&failure);
            let Retry::After(server_delay) = failure.retry else {
                return Outcome::Failed(failure);
            };
            // Shutting down while the collector was already unreachable: another wait would
            // only hold the process until the deadline (an orchestrator's grace period) for a
            // collector that is not there. A collector that was there until now gets one more
            // attempt; one that answers "unavailable" or late is tried until the deadline.
            if self.clock.deadline().is_some()
                && unreachable_before
                && failure.kind.is_unreachable()
            {
                return Outcome::ShutDown;
            }
            let delay = server_delay.or_else(|| backoff.next()).unwrap_or(MAX_DELAY);
            let next = Instant::now() + delay;
            // A delay that ends past the budget or the shutdown deadline leaves no attempt:
            // give up now rather than wait for nothing.
            if next >= budget_end {
                return Outcome::Failed(failure);
            }
            if self.clock.deadline().is_some_and(|d| next >= d) {
                return Outcome::ShutDown;
            }
            // A shutdown that begins while the collector is unreachable ends the wait: one
            // more attempt, and if it fails too, the loop gives up above.
            let unreachable = failure.kind.is_unreachable();
            let sleep = std::pin::pin!(tokio::time::sleep(delay));
            let woken = std::pin::pin!(async {
                if unreachable {
                    self.clock.begun().await;
                } else {
                    std::future::pending::<()>().await;
                }
            });
            let passed = std::pin::pin!(self.clock.passed());
            if let Either::Right(_) = select(select(sleep, woken), passed).await {
                return Outcome::ShutDown;
            }
            last = Some(failure);
        }
    }

    /// Nothing left of the time: the budget's end or the shutdown deadline, whichever came.
    fn ran_out(&self, budget_end: Instant, last: Option<Failure>) -> Outcome {
        if Instant::now() < budget_end && self.clock.deadline().is_some() {
            return Outcome::ShutDown;
        }
        Outcome::Failed(last.unwrap_or_else(|| {
            Failure::retryable(
                FailureKind::Timeout,
                format!("not delivered within {} ms", self.limits.budget.as_millis()),
                None,
            )
        }))
    }

    /// Whether an outage of the collector not being there (no connection, no TLS session) is
    /// going on.
    fn unreachable(&self) -> bool {
        self.outage
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(FailureKind::is_unreachable)
    }

    /// One warning when an outage begins; a refused request once a minute.
    fn report(&self, failure: &Failure) {
        self.drops
            .set_last_failure(format!("{}: {}", failure.kind.as_str(), failure.reason));
        if failure.kind.is_outage() {
            let mut outage = self.outage.lock().unwrap_or_else(PoisonError::into_inner);
            if outage.is_some() {
                return;
            }
            *outage = Some(failure.kind);
            drop(outage);
            // Refused credentials fail every request alike until someone fixes them: one
            // warning, like an outage, but nothing is sent again.
            let then = match failure.retry {
                Retry::Never => "requests are not sent again, their items are dropped",
                Retry::After(_) => "requests are sent again within their export timeout",
            };
            self.drops.log(|| {
                tracing::warn!(
                    target: TRACING_TARGET,
                    signal = self.signal.as_str(),
                    endpoint = %self.endpoint,
                    reason_kind = failure.kind.as_str(),
                    reason = %failure.reason,
                    "OTLP export failing: {}; {then}, and one line says when exports succeed again",
                    failure.kind.as_str(),
                );
            });
        } else if self.once_a_minute.allow("refused") {
            self.drops.log(|| {
                tracing::warn!(
                    target: TRACING_TARGET,
                    signal = self.signal.as_str(),
                    endpoint = %self.endpoint,
                    reason_kind = failure.kind.as_str(),
                    reason = %failure.reason,
                    "OTLP collector refused a request for good; it is not sent again and its items are dropped (this warning repeats at most once a minute)",
                );
            });
        }
    }

    /// One info line when exports succeed again after an outage.
    fn recovered(&self) {
        let ended = self
            .outage
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(kind) = ended {
            self.drops.log(|| {
                tracing::info!(
                    target: TRACING_TARGET,
                    signal = self.signal.as_str(),
                    endpoint = %self.endpoint,
                    after = kind.as_str(),
                    "OTLP export succeeds again",
                );
            });
        }
    }

    /// A partial success, logged once a minute with the rejected count and the message.
    pub(crate) fn report_partial_success(&self, rejected: u64, message: &str) {
        if self.once_a_minute.allow("partial") {
            let message = super::transport::server_text(message);
            self.drops.log(|| {
                tracing::warn!(
                    target: TRACING_TARGET,
                    signal = self.signal.as_str(),
                    endpoint = %self.endpoint,
                    rejected,
                    message,
                    "OTLP collector rejected part of a request; the rejected items are dropped, not sent again (this warning repeats at most once a minute)",
                );
            });
        }
    }
}

#[cfg(test)]
#[path = "retry_tests.rs"]
mod tests;
