//! The export threads: each takes sealed batches and exports them one at a time through its
//! own exporter (the SDK's contract), within the export timeout, and backs off while exports
//! keep failing.

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, PoisonError};
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::Resource;

use super::queue::Shared;
use super::DropReason;

/// An SDK exporter that an export thread drives for items `T`: a span exporter for spans
/// (`spans`), a log exporter for log records (`logs`).
pub(super) trait Exporter<T>: Send + 'static {
    fn set_resource(&mut self, resource: &Resource);
    async fn export(&self, batch: Vec<T>) -> OTelSdkResult;
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult;
}

/// How long past its export timeout an OTLP export of otelix's own may take before the
/// thread stops waiting: the exporter gives up at the timeout itself, and counts why.
const OWN_EXPORTER_GRACE: Duration = Duration::from_secs(1);

/// The first wait after a failed export.
const MIN_RETRY_DELAY: Duration = Duration::from_millis(100);
/// The longest wait between failed exports.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(5);

/// One export thread: takes sealed batches (sealing the current one when the schedule delay
/// passes), exports them one at a time through its own exporter, stops once the processor is
/// closed and the queue is empty.
pub(super) fn export_loop<T, X: Exporter<T>>(shared: &Shared<T>, exporter: X) {
    let mut next_tick = Instant::now() + shared.schedule_delay;
    // After a failed export this thread waits before the next one (doubling from
    // MIN_RETRY_DELAY up to MAX_RETRY_DELAY), so a collector that refuses connections at once
    // does not turn the export threads into a busy loop on the service's cores. Spans keep
    // queueing meanwhile, within the queue bound. Shutdown does not wait.
    let mut retry_at: Option<Instant> = None;
    let mut retry_delay = Duration::ZERO;
    let own_exporter = shared.own_exporter.is_some();
    let export_timeout = if own_exporter {
        shared.export_timeout + OWN_EXPORTER_GRACE
    } else {
        shared.export_timeout
    };
    let mut state = shared.lock();
    loop {
        let backing_off = !state.closed && retry_at.is_some_and(|at| Instant::now() < at);
        if let Some(batch) = (!backing_off).then(|| state.sealed.pop_front()).flatten() {
            state.queued -= batch.len();
            state.in_flight += 1;
            drop(state);
            let items = batch.len() as u64;
            let exported = block_on_with_timeout(exporter.export(batch), export_timeout);
            match exported {
                // otelix's OTLP exporters counted the items themselves, and retried.
                Some(_) if own_exporter => {}
                Some(Ok(())) => {
                    shared.drops.add_exported(items);
                    retry_at = None;
                    retry_delay = Duration::ZERO;
                }
                Some(Err(_)) | None => {
                    shared.drops.add(DropReason::ExportFailed, items);
                    if !own_exporter {
                        retry_delay = (retry_delay * 2).clamp(MIN_RETRY_DELAY, MAX_RETRY_DELAY);
                        retry_at = Some(Instant::now() + retry_delay);
                    }
                }
            }
            next_tick = Instant::now() + shared.schedule_delay;
            state = shared.lock();
            state.in_flight -= 1;
            shared.progress.notify_all();
            continue;
        }
        if state.closed {
            if state.current.is_empty() {
                break;
            }
            state.seal(0);
            continue;
        }
        let now = Instant::now();
        if now >= next_tick {
            next_tick = now + shared.schedule_delay;
            if !state.current.is_empty() {
                state.seal(shared.max_batch);
                continue;
            }
        }
        let wake_at = match retry_at {
            Some(at) if backing_off => at.min(next_tick),
            _ => next_tick,
        };
        state = shared
            .work
            .wait_timeout(state, wake_at.saturating_duration_since(now))
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
    state.workers -= 1;
    drop(state);
    shared.progress.notify_all();
    let _ = exporter.shutdown_with_timeout(shared.export_timeout);
}

struct ThreadWaker(std::thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `future` on this thread until it completes or `timeout` passes (`None`; the future
/// is dropped, which cancels a gRPC or HTTP request in flight).
pub(super) fn block_on_with_timeout<F: Future>(future: F, timeout: Duration) -> Option<F::Output> {
    let deadline = Instant::now() + timeout;
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = TaskContext::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return Some(output);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        std::thread::park_timeout(left);
    }
}
