//! otelix's batch processors for spans and log records: items leave the request thread
//! through a bounded queue and are exported in batches by dedicated threads, several exports
//! in flight, every lost item counted in `otelix.exporter.dropped` (attribute `signal`).
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

mod logs;
mod queue;
mod spans;
mod worker;

pub use logs::BatchLogExportProcessor;
pub use spans::BatchExportProcessor;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use opentelemetry::metrics::{Meter, ObservableCounter};
use opentelemetry::KeyValue;

use crate::names::{EXPORTER_DROPPED, REASON, SIGNAL};
use crate::pipeline::RateLimiter;

/// `tracing` target of the export diagnostics.
const TRACING_TARGET: &str = "otelix::export";

/// The telemetry a processor carries: the `signal` attribute of `otelix.exporter.dropped`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// Spans, by [`BatchExportProcessor`].
    Traces,
    /// Log records, by [`BatchLogExportProcessor`].
    Logs,
}

impl Signal {
    const ALL: [Signal; 2] = [Signal::Traces, Signal::Logs];

    fn as_str(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Logs => "logs",
        }
    }

    /// What the items are called in messages.
    fn items(self) -> &'static str {
        match self {
            Signal::Traces => "spans",
            Signal::Logs => "log records",
        }
    }

    fn thread_name(self, i: usize) -> String {
        match self {
            Signal::Traces => format!("otelix-span-export-{i}"),
            Signal::Logs => format!("otelix-log-export-{i}"),
        }
    }
}

/// Why an item was dropped: the `reason` attribute of `otelix.exporter.dropped`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum DropReason {
    /// The queue held `max_queue_size` items already.
    QueueFull,
    /// The exporter returned an error (collector down or refusing) or did not finish in time.
    ExportFailed,
    /// Ended after shutdown, or still queued when the shutdown deadline passed.
    Shutdown,
}

impl DropReason {
    const ALL: [DropReason; 3] = [
        DropReason::QueueFull,
        DropReason::ExportFailed,
        DropReason::Shutdown,
    ];

    fn as_str(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::ExportFailed => "export_failed",
            DropReason::Shutdown => "shutdown",
        }
    }

    fn index(self) -> usize {
        match self {
            DropReason::QueueFull => 0,
            DropReason::ExportFailed => 1,
            DropReason::Shutdown => 2,
        }
    }
}

/// Counts of one signal's dropped items, by reason, and the rate-limited warning about them.
pub(crate) struct DropCounter {
    signal: Signal,
    counts: [AtomicU64; 3],
    log_dispatch: OnceLock<tracing::Dispatch>,
    limiter: RateLimiter<DropReason>,
}

impl DropCounter {
    pub(crate) fn new(signal: Signal) -> Self {
        DropCounter {
            signal,
            counts: Default::default(),
            log_dispatch: OnceLock::new(),
            limiter: RateLimiter::default(),
        }
    }

    fn add(&self, reason: DropReason, items: u64) {
        if items == 0 {
            return;
        }
        let total = self.counts[reason.index()].fetch_add(items, Ordering::Relaxed) + items;
        if !self.limiter.allow(reason) {
            return;
        }
        let signal = self.signal;
        let warn = || {
            tracing::warn!(
                target: TRACING_TARGET,
                signal = signal.as_str(),
                reason = reason.as_str(),
                dropped = items,
                dropped_total = total,
                "{} dropped instead of exported (counted in otelix_exporter_dropped_total; this warning repeats at most once a minute per reason)",
                signal.items(),
            );
        };
        match self.log_dispatch.get() {
            Some(dispatch) => tracing::dispatcher::with_default(dispatch, warn),
            None => warn(),
        }
    }

    fn get(&self, reason: DropReason) -> u64 {
        self.counts[reason.index()].load(Ordering::Relaxed)
    }
}

impl std::fmt::Debug for DropCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = f.debug_struct("DropCounter");
        s.field("signal", &self.signal.as_str());
        for reason in DropReason::ALL {
            s.field(reason.as_str(), &self.get(reason));
        }
        s.finish()
    }
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

/// Items (spans or log records) lost by a [`BatchExportProcessor`] or a
/// [`BatchLogExportProcessor`], by reason.
#[derive(Debug, Clone)]
pub struct ExportHandle {
    drops: Arc<DropCounter>,
}

impl ExportHandle {
    /// Items dropped because the queue was full.
    pub fn dropped_queue_full(&self) -> u64 {
        self.drops.get(DropReason::QueueFull)
    }

    /// Items dropped because their export failed or timed out.
    pub fn dropped_export_failed(&self) -> u64 {
        self.drops.get(DropReason::ExportFailed)
    }

    /// Items dropped because they ended after shutdown or were still queued at its deadline.
    pub fn dropped_shutdown(&self) -> u64 {
        self.drops.get(DropReason::Shutdown)
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
