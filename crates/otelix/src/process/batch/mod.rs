//! otelix's batch processors for spans and log records: items leave the request thread
//! through a bounded queue and are exported in batches by dedicated threads, several exports
//! in flight, every lost item counted in `otelix.exporter.dropped` (attribute `signal`).
//!
//! Why not the SDK's `BatchSpanProcessor` and `BatchLogProcessor`: the span processor runs one
//! export at a time, so while a batch is on the wire the queue only fills, and at saturation
//! throughput its default 2048-span queue overflowed and dropped half the spans (issue 10);
//! and both make their drops visible only as one internal log line, never as a metric an
//! alert can read (issue 11).
//!
//! The request path costs one uncontended mutex lock and a move of the item into the current
//! batch; a full batch is sealed and one export thread woken, once per batch. Memory is
//! bounded: at most `max_queue_size` items wait in the queue, plus at most one batch
//! (`max_export_batch_size` items) per export thread being exported.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use opentelemetry::metrics::{Meter, ObservableCounter};
use opentelemetry::{Context, InstrumentationScope, KeyValue};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogBatch, LogExporter, LogProcessor, SdkLogRecord};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use opentelemetry_sdk::Resource;

use crate::config::BatchSettings;
use crate::pipeline::RateLimiter;

/// `tracing` target of the export diagnostics.
const TRACING_TARGET: &str = "otelix::export";

/// Name of the counter of telemetry lost before reaching the collector.
pub const DROPPED_METRIC: &str = "otelix.exporter.dropped";

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
        .u64_observable_counter(DROPPED_METRIC)
        .with_unit("{item}")
        .with_description(
            "Telemetry items dropped instead of exported: queue full, export failed, or shutdown",
        )
        .with_callback(move |observer| {
            for signal in Signal::ALL {
                let counter = counters.iter().find(|c| c.signal == signal);
                for reason in DropReason::ALL {
                    observer.observe(
                        counter.map_or(0, |c| c.get(reason)),
                        &[
                            KeyValue::new("signal", signal.as_str()),
                            KeyValue::new("reason", reason.as_str()),
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

struct State<T> {
    /// The batch being filled.
    current: Vec<T>,
    /// Full batches waiting for an export thread.
    sealed: VecDeque<Vec<T>>,
    /// Items in `current` and `sealed`.
    queued: usize,
    /// Batches being exported.
    in_flight: usize,
    /// Export threads still running.
    workers: usize,
    /// No more items are accepted; the workers drain the queue and stop.
    closed: bool,
}

impl<T> State<T> {
    fn seal(&mut self, capacity: usize) {
        if !self.current.is_empty() {
            let batch = std::mem::replace(&mut self.current, Vec::with_capacity(capacity));
            self.sealed.push_back(batch);
        }
    }
}

struct Shared<T> {
    state: Mutex<State<T>>,
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

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A panicking exporter must not stop collection: the state stays consistent because
        // every critical section is a few field updates.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What an export thread drives: one SDK exporter, spans or log records.
trait BatchExporter<T>: Send + 'static {
    fn set_resource(&mut self, resource: &Resource);
    async fn export(&self, batch: Vec<T>) -> OTelSdkResult;
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult;
}

struct Spans<E>(E);

impl<E: SpanExporter + 'static> BatchExporter<SpanData> for Spans<E> {
    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }

    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.export(batch).await
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
}

/// A log record and its scope, owned by the queue (the SDK hands them over by reference).
type LogItem = Box<(SdkLogRecord, InstrumentationScope)>;

struct Logs<E>(E);

impl<E: LogExporter + 'static> BatchExporter<LogItem> for Logs<E> {
    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }

    async fn export(&self, batch: Vec<LogItem>) -> OTelSdkResult {
        let records: Vec<(&SdkLogRecord, &InstrumentationScope)> =
            batch.iter().map(|item| (&item.0, &item.1)).collect();
        self.0.export(LogBatch::new(&records)).await
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
}

/// The queue and export threads shared by both processors.
struct Batcher<T> {
    shared: Arc<Shared<T>>,
    start: Mutex<Option<StartWorkers>>,
}

type StartWorkers = Box<dyn FnOnce(Option<&Resource>) + Send>;

impl<T> std::fmt::Debug for Batcher<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher")
            .field("max_queue_size", &self.shared.max_queue_size)
            .field("max_export_batch_size", &self.shared.max_batch)
            .field("drops", &self.shared.drops)
            .finish_non_exhaustive()
    }
}

impl<T> Batcher<T> {
    fn new<X>(
        signal: Signal,
        exporters: Vec<X>,
        settings: BatchSettings,
        runtime: Option<tokio::runtime::Handle>,
    ) -> Self
    where
        T: Send + 'static,
        X: BatchExporter<T>,
    {
        let max_batch = settings
            .max_export_batch_size
            .clamp(1, settings.max_queue_size.max(1));
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                current: Vec::with_capacity(max_batch),
                sealed: VecDeque::new(),
                queued: 0,
                in_flight: 0,
                workers: 0,
                closed: false,
            }),
            work: Condvar::new(),
            progress: Condvar::new(),
            drops: Arc::new(DropCounter::new(signal)),
            max_queue_size: settings.max_queue_size.max(1),
            max_batch,
            schedule_delay: settings.schedule_delay,
            export_timeout: settings.export_timeout,
        });
        // The export threads start once the provider hands over its resource (it always
        // does, in `build`): an exporter that already ran on another thread could no longer
        // be given it.
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
                    .name(signal.thread_name(i))
                    .spawn(move || {
                        let _entered = runtime.as_ref().map(tokio::runtime::Handle::enter);
                        // What the exporter itself emits (a transport's logs) must not come
                        // back into the pipeline it is exporting.
                        let _suppressed = Context::enter_telemetry_suppressed_scope();
                        export_loop(&worker_shared, exporter);
                    });
                if let Err(error) = spawned {
                    thread_shared.lock().workers -= 1;
                    tracing::error!(
                        target: TRACING_TARGET,
                        %error,
                        signal = signal.as_str(),
                        "cannot start an export thread"
                    );
                }
            }
        });
        Batcher {
            shared,
            start: Mutex::new(Some(start)),
        }
    }

    fn handle(&self) -> ExportHandle {
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

    /// Queues `item`, or drops and counts it when the queue is full or closed; never blocks
    /// on an export.
    fn push(&self, item: T) {
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
        state.current.push(item);
        state.queued += 1;
        if state.current.len() >= shared.max_batch {
            state.seal(shared.max_batch);
            drop(state);
            shared.work.notify_one();
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
}

impl<T> Drop for Batcher<T> {
    /// Lets the export threads drain the queue and stop, without waiting for them (the
    /// provider calls `shutdown` first when it is dropped).
    fn drop(&mut self) {
        // Never started (no provider handed over a resource): start now, so what was queued
        // is still exported.
        self.start_workers(None);
        {
            let mut state = self.shared.lock();
            state.closed = true;
            state.seal(0);
        }
        self.shared.work.notify_all();
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
///   (`export_failed`); the thread then waits before its next export (100 ms, doubling up to
///   5 s, while exports keep failing).
/// - `force_flush` and `shutdown` export everything queued; spans ending after shutdown, and
///   spans still queued when the shutdown deadline passes, are dropped (`shutdown`).
#[derive(Debug)]
pub struct BatchExportProcessor {
    batcher: Batcher<SpanData>,
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
        let exporters = exporters.into_iter().map(Spans).collect();
        BatchExportProcessor {
            batcher: Batcher::new(Signal::Traces, exporters, settings, runtime),
        }
    }

    /// Counters of the spans this processor dropped; usable after the processor moved into
    /// a tracer provider.
    pub fn handle(&self) -> ExportHandle {
        self.batcher.handle()
    }
}

impl SpanProcessor for BatchExportProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        // Recorded but unsampled spans (database spans kept for slow-query detection) are
        // not exported.
        if span.span_context.is_sampled() {
            self.batcher.push(span);
        }
    }

    /// Exports everything queued now, waiting at most twice the export timeout.
    fn force_flush(&self) -> OTelSdkResult {
        self.batcher.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.batcher.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.batcher.start_workers(Some(resource));
    }
}

/// The log-record counterpart of [`BatchExportProcessor`]: the same bounded queue, export
/// threads, back-off and drop counting (`signal="logs"` in `otelix.exporter.dropped`), with
/// the `OTEL_BLRP_*` settings. Each record is copied, with its scope, into the queue, as the
/// SDK's batch processor does.
#[derive(Debug)]
pub struct BatchLogExportProcessor {
    batcher: Batcher<LogItem>,
}

impl BatchLogExportProcessor {
    /// A processor exporting through `exporters`, one export thread each.
    pub fn new<E>(exporters: Vec<E>, settings: BatchSettings) -> Self
    where
        E: LogExporter + 'static,
    {
        Self::with_runtime(exporters, settings, None)
    }

    /// As [`BatchLogExportProcessor::new`], with `runtime` entered on the export threads.
    pub(crate) fn with_runtime<E>(
        exporters: Vec<E>,
        settings: BatchSettings,
        runtime: Option<tokio::runtime::Handle>,
    ) -> Self
    where
        E: LogExporter + 'static,
    {
        let exporters = exporters.into_iter().map(Logs).collect();
        BatchLogExportProcessor {
            batcher: Batcher::new(Signal::Logs, exporters, settings, runtime),
        }
    }

    /// Counters of the log records this processor dropped; usable after the processor moved
    /// into a logger provider.
    pub fn handle(&self) -> ExportHandle {
        self.batcher.handle()
    }
}

impl LogProcessor for BatchLogExportProcessor {
    fn emit(&self, record: &mut SdkLogRecord, scope: &InstrumentationScope) {
        self.batcher.push(Box::new((record.clone(), scope.clone())));
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.batcher.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.batcher.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.batcher.start_workers(Some(resource));
    }
}

/// The first wait after a failed export.
const MIN_RETRY_DELAY: Duration = Duration::from_millis(100);
/// The longest wait between failed exports.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(5);

/// One export thread: takes sealed batches (sealing the current one when the schedule delay
/// passes), exports them one at a time through its own exporter, stops once the processor is
/// closed and the queue is empty.
fn export_loop<T, X: BatchExporter<T>>(shared: &Shared<T>, exporter: X) {
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
mod tests;
