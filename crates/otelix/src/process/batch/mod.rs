//! otelix's batch processors for spans and log records: items leave the request thread
//! through a bounded queue and are exported in batches by dedicated threads, several exports
//! in flight, every lost item counted in `otelix.exporter.dropped` (attributes `signal` and
//! `reason`; the OTLP metric exporter counts its data points there too).
//!
//! Why not the SDK's `BatchSpanProcessor` and `BatchLogProcessor`: the span processor runs one
//! export at a time, so while a batch is on the wire the queue only fills, and at saturation
//! throughput its default 2048-span queue overflowed and dropped half the spans; and both make
//! their drops visible only as one internal log line, never as a metric an alert can read.
//!
//! The request path costs one uncontended mutex lock and a move of the item into the current
//! batch; a full batch is sealed and one export thread woken, once per batch. Memory is
//! bounded: at most `max_queue_size` items wait in the queue, plus at most one batch
//! (`max_export_batch_size` items) per export thread being exported.
//!
//! | file | what it holds |
//! |---|---|
//! | `queue` | the bounded queue both processors share: push, flush, shutdown |
//! | `worker` | the export threads: batches on the wire, timeouts, back-off after failures |
//! | `spans`, `logs` | [`BatchExportProcessor`] and [`BatchLogExportProcessor`], the SDK-facing wrappers |
//! | this file | the drop accounting: [`ExportHandle`] and `otelix.exporter.dropped` |
//!
//! otelix's OTLP exporters retry a failed batch themselves and know why they gave it up (a
//! permanent refusal, the export timeout, a partial success, shutdown); a processor built for
//! them (`for_otlp`) leaves the counting of failed exports to them and only counts an export
//! that outlives its timeout.

mod logs;
mod queue;
mod spans;
mod worker;

pub use logs::BatchLogExportProcessor;
pub(crate) use queue::OtlpExporters;
pub use spans::BatchExportProcessor;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use opentelemetry::metrics::{Meter, ObservableCounter};
use opentelemetry::KeyValue;

use crate::config::Signal;
use crate::names::{EXPORTER_DROPPED, REASON, SIGNAL};
use crate::pipeline::RateLimiter;

/// `tracing` target of the export diagnostics.
const TRACING_TARGET: &str = "otelix::export";

/// What the items of `signal` are called in messages.
fn item_name(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "spans",
        Signal::Metrics => "metric data points",
        Signal::Logs => "log records",
    }
}

fn thread_name(signal: Signal, i: usize) -> String {
    match signal {
        Signal::Traces => format!("otelix-span-export-{i}"),
        Signal::Metrics => format!("otelix-metric-export-{i}"),
        Signal::Logs => format!("otelix-log-export-{i}"),
    }
}

/// Why an item was dropped: the `reason` attribute of `otelix.exporter.dropped`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum DropReason {
    /// The queue held `max_queue_size` items already.
    QueueFull,
    /// The collector refused the request for good, or it could not be delivered within the
    /// export timeout, retries included.
    ExportFailed,
    /// The collector took the request but rejected these items (an OTLP partial success).
    Rejected,
    /// Ended after shutdown, or still queued or being retried when the shutdown deadline
    /// passed.
    Shutdown,
}

impl DropReason {
    const ALL: [DropReason; 4] = [
        DropReason::QueueFull,
        DropReason::ExportFailed,
        DropReason::Rejected,
        DropReason::Shutdown,
    ];

    fn as_str(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::ExportFailed => "export_failed",
            DropReason::Rejected => "rejected",
            DropReason::Shutdown => "shutdown",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Counts of one signal's items: exported, and dropped by reason, with the rate-limited
/// warning about drops.
pub(crate) struct DropCounter {
    signal: Signal,
    counts: [AtomicU64; 4],
    exported: AtomicU64,
    /// The last export failure, for the shutdown report: its kind and reason, never a header
    /// value.
    last_failure: std::sync::Mutex<Option<String>>,
    log_dispatch: OnceLock<tracing::Dispatch>,
    limiter: RateLimiter<DropReason>,
}

impl DropCounter {
    pub(crate) fn new(signal: Signal) -> Self {
        DropCounter {
            signal,
            counts: Default::default(),
            exported: AtomicU64::new(0),
            last_failure: std::sync::Mutex::new(None),
            log_dispatch: OnceLock::new(),
            limiter: RateLimiter::default(),
        }
    }

    /// Remembers why the last export attempt failed.
    #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
    pub(crate) fn set_last_failure(&self, failure: String) {
        *self
            .last_failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(failure);
    }

    pub(crate) fn add(&self, reason: DropReason, items: u64) {
        if items == 0 {
            return;
        }
        let total = self.counts[reason.index()].fetch_add(items, Ordering::Relaxed) + items;
        if !self.limiter.allow(reason) {
            return;
        }
        let signal = self.signal;
        let warn = move || {
            tracing::warn!(
                target: TRACING_TARGET,
                signal = signal.as_str(),
                reason = reason.as_str(),
                dropped = items,
                dropped_total = total,
                "{} dropped instead of exported (counted in otelix_exporter_dropped_total; this warning repeats at most once a minute per reason)",
                item_name(signal),
            );
        };
        match self.log_dispatch.get() {
            // A log record dropped as it is emitted: this runs inside the `tracing` event that
            // made it, where switching the dispatcher panics in tracing-core ("RefCell already
            // borrowed"). The warning (at most once a minute) is written from a thread of its own.
            Some(dispatch) if inside_a_tracing_event() => {
                let dispatch = dispatch.clone();
                let _ = std::thread::Builder::new()
                    .name("otelix-drop-warning".into())
                    .spawn(move || {
                        let _suppressed =
                            opentelemetry::Context::enter_telemetry_suppressed_scope();
                        tracing::dispatcher::with_default(&dispatch, warn);
                    });
            }
            _ => self.log(warn),
        }
    }

    /// Runs `emit` (a `tracing` event about exporting) with telemetry's own subscriber when it
    /// is set, and with telemetry suppressed, so that the event is never exported as a log
    /// record by the pipeline it is about.
    pub(crate) fn log(&self, emit: impl FnOnce()) {
        let _suppressed = opentelemetry::Context::enter_telemetry_suppressed_scope();
        match self.log_dispatch.get() {
            Some(dispatch) => tracing::dispatcher::with_default(dispatch, emit),
            None => emit(),
        }
    }

    /// Items the collector accepted.
    pub(crate) fn add_exported(&self, items: u64) {
        self.exported.fetch_add(items, Ordering::Relaxed);
    }

    fn get(&self, reason: DropReason) -> u64 {
        self.counts[reason.index()].load(Ordering::Relaxed)
    }
}

impl std::fmt::Debug for DropCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = f.debug_struct("DropCounter");
        s.field("signal", &self.signal.as_str());
        s.field("exported", &self.exported.load(Ordering::Relaxed));
        for reason in DropReason::ALL {
            s.field(reason.as_str(), &self.get(reason));
        }
        s.finish()
    }
}

/// Whether this thread is inside a `tracing` dispatch: there, tracing-core hands nested calls
/// the no-op subscriber instead of the current one (as it does when no subscriber is set at all,
/// where the answer errs on the safe side).
fn inside_a_tracing_event() -> bool {
    tracing::dispatcher::get_default(|current| current.is::<tracing::subscriber::NoSubscriber>())
}

/// Registers `otelix.exporter.dropped` (`{item}`; attributes `signal` and `reason`) on `meter`,
/// observing every signal from the start, zeros included (a signal without a processor given
/// here, not exported, stays at zero), so the series exist before the first drop and
/// `increase()` sees it.
pub(crate) fn register_dropped_metric(
    meter: &Meter,
    counters: Vec<Arc<DropCounter>>,
) -> ObservableCounter<u64> {
    meter
        .u64_observable_counter(EXPORTER_DROPPED.name)
        .with_unit(EXPORTER_DROPPED.unit)
        .with_description(EXPORTER_DROPPED.description)
        .with_callback(move |observer| {
            for signal in Signal::ALL {
                let counter = counters.iter().find(|c| c.signal == signal);
                for reason in DropReason::ALL {
                    observer.observe(
                        counter.map_or(0, |c| c.get(reason)),
                        &[
                            KeyValue::new(SIGNAL, signal.as_str()),
                            KeyValue::new(REASON, reason.as_str()),
                        ],
                    );
                }
            }
        })
        .build()
}

/// Items exported, and items lost instead, by reason: spans or log records of a
/// [`BatchExportProcessor`] or a [`BatchLogExportProcessor`], or metric data points of the
/// OTLP metric exporter.
#[derive(Debug, Clone)]
pub struct ExportHandle {
    drops: Arc<DropCounter>,
}

impl ExportHandle {
    pub(crate) fn new(drops: Arc<DropCounter>) -> Self {
        ExportHandle { drops }
    }

    /// Items dropped because the queue was full.
    pub fn dropped_queue_full(&self) -> u64 {
        self.drops.get(DropReason::QueueFull)
    }

    /// Items dropped because their export failed for good or did not succeed within the
    /// export timeout, retries included.
    pub fn dropped_export_failed(&self) -> u64 {
        self.drops.get(DropReason::ExportFailed)
    }

    /// Items the collector accepted the request of but rejected (an OTLP partial success).
    pub fn dropped_rejected(&self) -> u64 {
        self.drops.get(DropReason::Rejected)
    }

    /// Items dropped because they ended after shutdown or were still queued, or being
    /// retried, at its deadline.
    pub fn dropped_shutdown(&self) -> u64 {
        self.drops.get(DropReason::Shutdown)
    }

    /// Items the collector accepted: sent and not rejected (for a processor with an exporter
    /// of its own, items of every export that returned success).
    pub fn exported(&self) -> u64 {
        self.drops.exported.load(Ordering::Relaxed)
    }

    /// Why the last failed export attempt failed, such as `collector not reachable: tcp connect
    /// error: Connection refused (os error 111)`; `None` when none failed.
    pub fn last_failure(&self) -> Option<String> {
        self.drops
            .last_failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// All items dropped so far.
    pub fn dropped(&self) -> u64 {
        DropReason::ALL.iter().map(|r| self.drops.get(*r)).sum()
    }

    pub(crate) fn set_log_dispatch(&self, dispatch: tracing::Dispatch) {
        let _ = self.drops.log_dispatch.set(dispatch);
    }

    pub(crate) fn counter(&self) -> Arc<DropCounter> {
        Arc::clone(&self.drops)
    }
}

#[cfg(test)]
mod tests;
