//! otelix's batch span processor: spans leave the request thread through a bounded queue and
//! are exported in batches by dedicated threads, several exports in flight, every lost span
//! counted in `otelix.exporter.dropped`.
//!
//! Why not the SDK's `BatchSpanProcessor`: it runs one export at a time, so while a batch is
//! on the wire the queue only fills, and at saturation throughput its default 2048-span queue
//! overflowed and dropped half the spans (issue 10); and its drops are visible only as one
//! internal log line, never as a metric an alert can read.
//!
//! The request path costs one uncontended mutex lock and a move of the `SpanData` into the
//! current batch; a full batch is sealed and one export thread woken, once per batch. Memory is
//! bounded: at most `max_queue_size` spans wait in the queue, plus at most one batch
//! (`max_export_batch_size` spans) per export thread being exported.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use opentelemetry::metrics::{Meter, ObservableCounter};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use opentelemetry_sdk::Resource;

use crate::config::BatchSettings;
use crate::logging::RateLimiter;

/// `tracing` target of the export diagnostics.
const TRACING_TARGET: &str = "otelix::export";

/// Name of the counter of telemetry lost before reaching the collector.
pub const DROPPED_METRIC: &str = "otelix.exporter.dropped";

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

/// Counts of dropped spans, by reason, and the rate-limited warning about them.
#[derive(Default)]
pub(crate) struct DropCounter {
    counts: [AtomicU64; 3],
    log_dispatch: OnceLock<tracing::Dispatch>,
    limiter: RateLimiter<DropReason>,
}

impl DropCounter {
    fn add(&self, reason: DropReason, items: u64) {
        if items == 0 {
            return;
        }
        let total = self.counts[reason.index()].fetch_add(items, Ordering::Relaxed) + items;
        if !self.limiter.allow(reason) {
            return;
        }
        let warn = || {
            tracing::warn!(
                target: TRACING_TARGET,
                signal = "traces",
                reason = reason.as_str(),
                dropped = items,
                dropped_total = total,
                "spans dropped instead of exported (counted in otelix_exporter_dropped_total; this warning repeats at most once a minute per reason)"
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
        for reason in DropReason::ALL {
            s.field(reason.as_str(), &self.get(reason));
        }
        s.finish()
    }
}

/// Registers `otelix.exporter.dropped` (`{item}`; attributes `signal` and `reason`) on `meter`,
/// observing `traces` from the start, zeros included, so the series exist before the first
/// drop and `increase()` sees it.
pub(crate) fn register_dropped_metric(
    meter: &Meter,
    traces: Arc<DropCounter>,
) -> ObservableCounter<u64> {
    meter
        .u64_observable_counter(DROPPED_METRIC)
        .with_unit("{item}")
        .with_description(
            "Telemetry items dropped instead of exported: queue full, export failed, or shutdown",
        )
        .with_callback(move |observer| {
            for reason in DropReason::ALL {
                observer.observe(
                    traces.get(reason),
                    &[
                        KeyValue::new("signal", "traces"),
                        KeyValue::new("reason", reason.as_str()),
                    ],
                );
            }
        })
        .build()
}

/// Spans lost by a [`BatchExportProcessor`], by reason.
#[derive(Debug, Clone)]
pub struct ExportHandle {
    drops: Arc<DropCounter>,
}

impl ExportHandle {
    /// Spans dropped because the queue was full.
    pub fn dropped_queue_full(&self) -> u64 {
        self.drops.get(DropReason::QueueFull)
    }

    /// Spans dropped because their export failed or timed out.
    pub fn dropped_export_failed(&self) -> u64 {
        self.drops.get(DropReason::ExportFailed)
    }

    /// Spans dropped because they ended after shutdown or were still queued at its deadline.
    pub fn dropped_shutdown(&self) -> u64 {
        self.drops.get(DropReason::Shutdown)
    }

    /// All spans dropped so far.
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

#[derive(Default)]
struct State {
    /// The batch being filled.
    current: Vec<SpanData>,
    /// Full batches waiting for an export thread.
    sealed: VecDeque<Vec<SpanData>>,
    /// Spans in `current` and `sealed`.
    queued: usize,
    /// Batches being exported.
    in_flight: usize,
    /// Export threads still running.
    workers: usize,
    /// No more spans are accepted; the workers drain the queue and stop.
    closed: bool,
}

impl State {
    fn seal(&mut self, capacity: usize) {
        if !self.current.is_empty() {
            let batch = std::mem::replace(&mut self.current, Vec::with_capacity(capacity));
            self.sealed.push_back(batch);
        }
    }
}

struct Shared {
    state: Mutex<State>,
    /// Export threads wait here for a sealed batch, the schedule delay, or shutdown.
    work: Condvar,
    /// Flush and shutdown wait here for the queue to empty or the workers to stop.
    progress: Condvar,
    drops: Arc<DropCounter>,
    max_queue_size: usize,
    max_batch: usize,
    schedule_delay: Duration,
    export_timeout: Duration,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking exporter must not stop span collection: the state stays consistent
        // because every critical section is a few field updates.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A span processor for throughput: a bounded queue filled without blocking, batches exported
/// by dedicated threads with several exports in flight, and every span it loses counted by
/// reason (see [`ExportHandle`] and the `otelix.exporter.dropped` metric).
///
/// - `on_end` moves a sampled span into the current batch; when the queue already holds
///   `max_queue_size` spans it drops the span instead (`queue_full`) and never blocks.
/// - A batch is sealed when it reaches `max_export_batch_size` spans, or when
///   `schedule_delay` passed since the last export, and goes to the next free export thread.
///   There is one export thread per exporter given to [`BatchExportProcessor::new`], so that
///   many exports run at once, each exporter only ever running one (the SDK's contract).
/// - An export that fails or takes longer than `export_timeout` loses its batch
///   (`export_failed`).
/// - `force_flush` and `shutdown` export everything queued; spans ending after shutdown, and
///   spans still queued when the shutdown deadline passes, are dropped (`shutdown`).
pub struct BatchExportProcessor {
    shared: Arc<Shared>,
    start: Mutex<Option<StartWorkers>>,
}

type StartWorkers = Box<dyn FnOnce(Option<&Resource>) + Send>;

impl std::fmt::Debug for BatchExportProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchExportProcessor")
            .field("max_queue_size", &self.shared.max_queue_size)
            .field("max_export_batch_size", &self.shared.max_batch)
            .field("drops", &self.shared.drops)
            .finish_non_exhaustive()
    }
}

impl BatchExportProcessor {
    /// A processor exporting through `exporters`, one export thread each (so
    /// `exporters.len()` exports can be in flight), with the queue and batch sizes, the
    /// schedule delay and the export timeout of `settings`.
    pub fn new<E>(exporters: Vec<E>, settings: BatchSettings) -> Self
    where
        E: SpanExporter + 'static,
    {
        Self::with_runtime(exporters, settings, None)
    }

    /// As [`BatchExportProcessor::new`], with `runtime` entered on the export threads (the
    /// gRPC exporter's channel and timers live on otelix's export runtime).
    pub(crate) fn with_runtime<E>(
        exporters: Vec<E>,
        settings: BatchSettings,
        runtime: Option<tokio::runtime::Handle>,
    ) -> Self
    where
        E: SpanExporter + 'static,
    {
        let max_batch = settings
            .max_export_batch_size
            .clamp(1, settings.max_queue_size.max(1));
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                current: Vec::with_capacity(max_batch),
                ..State::default()
            }),
            work: Condvar::new(),
            progress: Condvar::new(),
            drops: Arc::new(DropCounter::default()),
            max_queue_size: settings.max_queue_size.max(1),
            max_batch,
            schedule_delay: settings.schedule_delay,
            export_timeout: settings.export_timeout,
        });
        // The export threads start once the tracer provider hands over its resource (it
        // always does, in `build`): an exporter that already ran on another thread could no
        // longer be given it.
        let thread_shared = Arc::clone(&shared);
        let start: StartWorkers = Box::new(move |resource| {
            for (i, mut exporter) in exporters.into_iter().enumerate() {
                if let Some(resource) = resource {
                    exporter.set_resource(resource);
                }
                let worker_shared = Arc::clone(&thread_shared);
                let runtime = runtime.clone();
                thread_shared.lock().workers += 1;
                let spawned = std::thread::Builder::new()
                    .name(format!("otelix-span-export-{i}"))
                    .spawn(move || {
                        let _entered = runtime.as_ref().map(tokio::runtime::Handle::enter);
                        export_loop(&worker_shared, exporter);
                    });
                if let Err(error) = spawned {
                    thread_shared.lock().workers -= 1;
                    tracing::error!(target: TRACING_TARGET, %error, "cannot start a span export thread");
                }
            }
        });
        BatchExportProcessor {
            shared,
            start: Mutex::new(Some(start)),
        }
    }

    /// Counters of the spans this processor dropped; usable after the processor moved into
    /// a tracer provider.
    pub fn handle(&self) -> ExportHandle {
        ExportHandle {
            drops: Arc::clone(&self.shared.drops),
        }
    }

    fn start_workers(&self, resource: Option<&Resource>) {
        let start = self
            .start
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(start) = start {
            start(resource);
        }
    }

    /// Waits until the queue is empty and no export is in flight, or `deadline` passes.
    fn wait_idle(&self, deadline: Instant) -> bool {
        let shared = &self.shared;
        let mut state = shared.lock();
        loop {
            if state.queued == 0 && state.in_flight == 0 {
                return true;
            }
            if state.workers == 0 {
                return false;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = shared
                .progress
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

impl SpanProcessor for BatchExportProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        // Recorded but unsampled spans (database spans kept for slow-query detection) are
        // not exported.
        if !span.span_context.is_sampled() {
            return;
        }
        let shared = &*self.shared;
        let mut state = shared.lock();
        if state.closed {
            drop(state);
            shared.drops.add(DropReason::Shutdown, 1);
            return;
        }
        if state.queued >= shared.max_queue_size {
            drop(state);
            shared.drops.add(DropReason::QueueFull, 1);
            return;
        }
        state.current.push(span);
        state.queued += 1;
        if state.current.len() >= shared.max_batch {
            state.seal(shared.max_batch);
            drop(state);
            shared.work.notify_one();
        }
    }

    /// Exports everything queued now, waiting at most twice the export timeout.
    fn force_flush(&self) -> OTelSdkResult {
        self.start_workers(None);
        {
            let mut state = self.shared.lock();
            if state.closed {
                return Err(OTelSdkError::AlreadyShutdown);
            }
            state.seal(self.shared.max_batch);
        }
        self.shared.work.notify_all();
        // An export that is already late may take the whole export timeout before the last
        // batch gets its turn.
        let timeout = self.shared.export_timeout.saturating_mul(2);
        if self.wait_idle(Instant::now() + timeout) {
            Ok(())
        } else {
            Err(OTelSdkError::Timeout(timeout))
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.start_workers(None);
        let deadline = Instant::now() + timeout;
        let shared = &self.shared;
        {
            let mut state = shared.lock();
            if state.closed {
                return Err(OTelSdkError::AlreadyShutdown);
            }
            state.closed = true;
            state.seal(0);
        }
        shared.work.notify_all();
        let mut state = shared.lock();
        while state.workers > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = shared
                .progress
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        // What no export thread took in time is lost; taken out so no thread exports it later.
        let left_behind: usize = state.sealed.drain(..).map(|b| b.len()).sum();
        state.queued = 0;
        let stopped = state.workers == 0;
        drop(state);
        shared.drops.add(DropReason::Shutdown, left_behind as u64);
        if stopped && left_behind == 0 {
            Ok(())
        } else {
            Err(OTelSdkError::Timeout(timeout))
        }
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.start_workers(Some(resource));
    }
}

impl Drop for BatchExportProcessor {
    /// Lets the export threads drain the queue and stop, without waiting for them (the tracer
    /// provider calls `shutdown` first when it is dropped).
    fn drop(&mut self) {
        self.start_workers(None);
        {
            let mut state = self.shared.lock();
            state.closed = true;
            state.seal(0);
        }
        self.shared.work.notify_all();
    }
}

/// One export thread: takes sealed batches (sealing the current one when the schedule delay
/// passes), exports them one at a time through its own exporter, stops once the processor is
/// closed and the queue is empty.
/// The first wait after a failed export.
const MIN_RETRY_DELAY: Duration = Duration::from_millis(100);
/// The longest wait between failed exports.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(5);

fn export_loop<E: SpanExporter>(shared: &Shared, exporter: E) {
    let mut next_tick = Instant::now() + shared.schedule_delay;
    // After a failed export this thread waits before the next one (doubling from
    // MIN_RETRY_DELAY up to MAX_RETRY_DELAY), so a collector that refuses connections at once
    // does not turn the export threads into a busy loop on the service's cores. Spans keep
    // queueing meanwhile, within the queue bound. Shutdown does not wait.
    let mut retry_at: Option<Instant> = None;
    let mut retry_delay = Duration::ZERO;
    let mut state = shared.lock();
    loop {
        let backing_off = !state.closed && retry_at.is_some_and(|at| Instant::now() < at);
        if let Some(batch) = (!backing_off).then(|| state.sealed.pop_front()).flatten() {
            state.queued -= batch.len();
            state.in_flight += 1;
            drop(state);
            let items = batch.len() as u64;
            let exported = block_on_with_timeout(exporter.export(batch), shared.export_timeout);
            if matches!(exported, Some(Ok(()))) {
                retry_at = None;
                retry_delay = Duration::ZERO;
            } else {
                shared.drops.add(DropReason::ExportFailed, items);
                retry_delay = (retry_delay * 2).clamp(MIN_RETRY_DELAY, MAX_RETRY_DELAY);
                retry_at = Some(Instant::now() + retry_delay);
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
fn block_on_with_timeout<F: Future>(future: F, timeout: Duration) -> Option<F::Output> {
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

#[cfg(test)]
mod tests {
    use super::*;

    use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId};
    use opentelemetry::InstrumentationScope;
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};
    use std::sync::atomic::AtomicBool;

    fn span(i: u64, sampled: bool) -> SpanData {
        let flags = if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(u128::from(i) + 1),
                SpanId::from(i + 1),
                flags,
                false,
                Default::default(),
            ),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Server,
            name: "GET /users/{id}".into(),
            start_time: std::time::SystemTime::now(),
            end_time: std::time::SystemTime::now(),
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: InstrumentationScope::builder("test").build(),
        }
    }

    /// Counts what it exports; while `hold` is set, every export waits for it to clear.
    #[derive(Debug, Default, Clone)]
    struct TestExporter {
        exported: Arc<AtomicU64>,
        attempts: Arc<AtomicU64>,
        hold: Arc<AtomicBool>,
        fail: Arc<AtomicBool>,
    }

    impl SpanExporter for TestExporter {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            self.attempts.fetch_add(1, Ordering::AcqRel);
            while self.hold.load(Ordering::Acquire) {
                std::thread::sleep(Duration::from_millis(1));
            }
            if self.fail.load(Ordering::Acquire) {
                return Err(OTelSdkError::InternalFailure("refused".into()));
            }
            self.exported
                .fetch_add(batch.len() as u64, Ordering::AcqRel);
            Ok(())
        }
    }

    #[test]
    fn failed_exports_back_off_instead_of_spinning_and_resume() {
        let exporter = TestExporter::default();
        exporter.fail.store(true, Ordering::Release);
        let processor = processor(&exporter, settings(10_000, 10));
        for i in 0..5_000 {
            processor.on_end(span(i, true));
        }
        std::thread::sleep(Duration::from_millis(350));
        // 500 sealed batches; two threads waiting 100 ms, then 200 ms, after each failure.
        let attempts = exporter.attempts.load(Ordering::Acquire);
        assert!(
            (1..=8).contains(&attempts),
            "{attempts} export attempts in 350 ms"
        );
        exporter.fail.store(false, Ordering::Release);
        let deadline = Instant::now() + Duration::from_secs(5);
        while exporter.exported.load(Ordering::Acquire) == 0 {
            assert!(Instant::now() < deadline, "exports did not resume");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(processor
            .shutdown_with_timeout(Duration::from_secs(5))
            .is_ok());
    }

    fn settings(queue: usize, batch: usize) -> BatchSettings {
        BatchSettings {
            schedule_delay: Duration::from_millis(20),
            export_timeout: Duration::from_secs(5),
            max_queue_size: queue,
            max_export_batch_size: batch,
            max_concurrent_exports: 2,
        }
    }

    fn processor(exporter: &TestExporter, settings: BatchSettings) -> BatchExportProcessor {
        let mut processor = BatchExportProcessor::new(
            vec![exporter.clone(); settings.max_concurrent_exports],
            settings,
        );
        processor.set_resource(&Resource::builder_empty().build());
        processor
    }

    #[test]
    fn a_burst_far_larger_than_a_batch_is_exported_whole() {
        let exporter = TestExporter::default();
        let processor = processor(&exporter, settings(100_000, 512));
        for i in 0..50_000 {
            processor.on_end(span(i, true));
        }
        assert!(processor.force_flush().is_ok());
        assert_eq!(exporter.exported.load(Ordering::Acquire), 50_000);
        assert_eq!(processor.handle().dropped(), 0);
    }

    #[test]
    fn a_full_queue_drops_and_counts_without_blocking() {
        let exporter = TestExporter::default();
        exporter.hold.store(true, Ordering::Release);
        let processor = processor(&exporter, settings(1_000, 100));
        let start = Instant::now();
        for i in 0..5_000 {
            processor.on_end(span(i, true));
        }
        assert!(start.elapsed() < Duration::from_secs(2), "on_end blocked");
        let handle = processor.handle();
        // Two batches can be taken by the two export threads before the queue fills again.
        let dropped = handle.dropped_queue_full();
        assert!((3_800..=4_000).contains(&dropped), "dropped {dropped}");
        exporter.hold.store(false, Ordering::Release);
        assert!(processor.force_flush().is_ok());
        assert_eq!(
            exporter.exported.load(Ordering::Acquire) + handle.dropped(),
            5_000
        );
    }

    #[test]
    fn failed_exports_are_counted() {
        let exporter = TestExporter::default();
        exporter.fail.store(true, Ordering::Release);
        let processor = processor(&exporter, settings(1_000, 100));
        for i in 0..250 {
            processor.on_end(span(i, true));
        }
        assert!(processor.force_flush().is_ok());
        assert_eq!(processor.handle().dropped_export_failed(), 250);
    }

    #[test]
    fn a_hanging_export_times_out_and_counts_its_batch() {
        /// An export that never completes (nothing ever wakes it).
        #[derive(Debug)]
        struct Never;
        impl SpanExporter for Never {
            async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
                std::future::pending().await
            }
        }
        let mut processor = BatchExportProcessor::new(
            vec![Never],
            BatchSettings {
                export_timeout: Duration::from_millis(50),
                ..settings(1_000, 10)
            },
        );
        processor.set_resource(&Resource::builder_empty().build());
        for i in 0..10 {
            processor.on_end(span(i, true));
        }
        assert!(processor.force_flush().is_ok());
        assert_eq!(processor.handle().dropped_export_failed(), 10);
    }

    #[test]
    fn shutdown_exports_everything_then_drops_and_counts_late_spans() {
        let exporter = TestExporter::default();
        let processor = processor(&exporter, settings(10_000, 512));
        for i in 0..3_000 {
            processor.on_end(span(i, true));
        }
        assert!(processor
            .shutdown_with_timeout(Duration::from_secs(5))
            .is_ok());
        assert_eq!(exporter.exported.load(Ordering::Acquire), 3_000);
        processor.on_end(span(1, true));
        assert_eq!(processor.handle().dropped_shutdown(), 1);
        assert!(matches!(
            processor.shutdown_with_timeout(Duration::from_secs(1)),
            Err(OTelSdkError::AlreadyShutdown)
        ));
    }

    #[test]
    fn shutdown_is_bounded_and_counts_what_was_left() {
        let exporter = TestExporter::default();
        exporter.hold.store(true, Ordering::Release);
        let processor = processor(
            &exporter,
            BatchSettings {
                max_concurrent_exports: 1,
                ..settings(10_000, 100)
            },
        );
        for i in 0..1_000 {
            processor.on_end(span(i, true));
        }
        let start = Instant::now();
        let result = processor.shutdown_with_timeout(Duration::from_millis(200));
        assert!(start.elapsed() < Duration::from_secs(2));
        assert!(matches!(result, Err(OTelSdkError::Timeout(_))));
        // One batch was being exported; the other nine were left behind.
        assert_eq!(processor.handle().dropped_shutdown(), 900);
        exporter.hold.store(false, Ordering::Release);
    }

    #[test]
    fn unsampled_spans_are_not_exported() {
        let exporter = TestExporter::default();
        let processor = processor(&exporter, settings(1_000, 10));
        for i in 0..20 {
            processor.on_end(span(i, i % 2 == 0));
        }
        assert!(processor.force_flush().is_ok());
        assert_eq!(exporter.exported.load(Ordering::Acquire), 10);
    }

    #[test]
    fn an_export_blocked_on_the_waker_finishes() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let waiter = std::thread::spawn(move || {
            block_on_with_timeout(
                async move {
                    // A future woken from another thread.
                    let (wtx, wrx) = tokio::sync::oneshot::channel::<u8>();
                    std::thread::spawn(move || {
                        let _ = rx.recv();
                        let _ = wtx.send(7);
                    });
                    wrx.await.unwrap_or(0)
                },
                Duration::from_secs(5),
            )
        });
        let _ = tx.send(());
        assert_eq!(waiter.join().ok().flatten(), Some(7));
    }
}
