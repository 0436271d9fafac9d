//! [`SlowQueryProcessor`]: the span processor, its settings and its handle.

use std::sync::atomic::Ordering;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry::metrics::{Counter, Meter, ObservableCounter};
use opentelemetry::trace::{Span as _, SpanId, TraceContextExt as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
#[allow(deprecated)]
use opentelemetry_semantic_conventions::attribute::{
    DB_COLLECTION_NAME, DB_OPERATION, DB_OPERATION_NAME, DB_QUERY_TEXT, DB_SQL_TABLE, DB_STATEMENT,
    DB_SYSTEM, DB_SYSTEM_NAME,
};

use super::n_plus_one::NPlusOneDetector;
use super::record::{DbSpan, Message, Severity};
use super::route::RouteRegistry;
use super::worker::{Shared, Worker};
use super::writer::LogWriter;
use super::TRACING_TARGET;
use crate::config::SlowQuerySettings;
use crate::context::RequestRoute;
use crate::names::{self, REASON, SEVERITY};

/// How long [`SpanProcessor::force_flush`] waits for the worker at most.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// A [`SpanProcessor`] that finds slow database queries and N+1 query patterns, counts them
/// in metrics and writes them to a rotating JSON-lines file.
///
/// A database span is one with a `db.system.name` (or legacy `db.system`) attribute. One at
/// least [`threshold`](SlowQuerySettings::threshold) long increments
/// `otelix.db.slow_queries` (right away, in `on_end`), and the worker thread writes a
/// `"kind":"slow_query"` line and emits a `tracing` warning (target `otelix::slow_query`).
/// When [`n_plus_one_threshold`](SlowQuerySettings::n_plus_one_threshold) database spans of
/// one trace run the same sanitized statement under the same parent span, the worker writes
/// one `"kind":"n_plus_one"` line with `"count"` equal to the threshold (reported once, when
/// the threshold is reached) and increments `otelix.db.n_plus_one`.
///
/// `on_start` and `on_end` never block and do no I/O: `on_end` checks the attributes and
/// hands database spans and local root spans to the worker through a bounded queue; when it
/// is full the record is dropped and counted ([`SlowQueryProcessor::dropped`],
/// `otelix.slow_query.dropped`). Statements are sanitized by the worker with
/// [`sanitize_query_with`](crate::sanitize_query_with), in the dialect `db.system.name` names.
///
/// Only spans the sampler records reach a span processor. The sampler `otelix::init` installs
/// records (without exporting) every span that starts with `db.system.name` even when its
/// trace is not sampled; with a sampler of your own, slow queries of unsampled traces are not
/// seen.
///
/// ```
/// use opentelemetry::metrics::MeterProvider as _;
/// use opentelemetry_sdk::metrics::SdkMeterProvider;
/// use opentelemetry_sdk::trace::SdkTracerProvider;
/// use otelix::{SlowQueryProcessor, SlowQuerySettings};
///
/// let dir = std::env::temp_dir().join("otelix-doc-slow-query");
/// let settings = SlowQuerySettings { log_file: dir.join("slow.log"), ..Default::default() };
/// let meters = SdkMeterProvider::builder().build();
/// let processor = SlowQueryProcessor::new(settings, &meters.meter("otelix"));
/// let handle = processor.handle();
/// let tracers = SdkTracerProvider::builder().with_span_processor(processor).build();
/// // ... spans end ...
/// tracers.shutdown().expect("flushed in time");
/// assert_eq!(handle.dropped(), 0);
/// ```
pub struct SlowQueryProcessor {
    shared: Arc<Shared>,
    routes: Arc<RouteRegistry>,
    /// `None` when the worker thread could not be started.
    sender: Option<SyncSender<Message>>,
    threshold: Duration,
    critical: Duration,
    /// Whether spans under the threshold go to the worker (for N+1 detection).
    queue_fast_spans: bool,
    slow_queries: Counter<u64>,
    /// Held so that the callback's registration visibly lives as long as the processor.
    _dropped: ObservableCounter<u64>,
}

impl std::fmt::Debug for SlowQueryProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlowQueryProcessor")
            .field("threshold", &self.threshold)
            .field("critical", &self.critical)
            .field("worker_running", &self.sender.is_some())
            .field("dropped", &self.shared.dropped())
            .finish_non_exhaustive()
    }
}

impl SlowQueryProcessor {
    /// Starts the worker thread and registers the processor's instruments on `meter`:
    /// `otelix.db.slow_queries` (`{query}`), `otelix.db.n_plus_one` (`{occurrence}`) and
    /// `otelix.slow_query.dropped` (`{record}`, an observable counter with attribute `reason`:
    /// `queue_full`, `write_failed` or `worker_stopped`).
    ///
    /// Never fails, and creates no file: the log file is created with its first line. A log
    /// path that cannot be written is reported once through `tracing::error!` (target
    /// `otelix::slow_query`): as soon as the worker starts when looking at the path tells (a
    /// directory, under a regular file, an existing file that does not open for appending),
    /// otherwise when the first line fails; detection and metrics go on without it. If the thread cannot be started, that is reported the same way and
    /// every record is counted as dropped.
    pub fn new(settings: SlowQuerySettings, meter: &Meter) -> Self {
        Self::build(settings, meter, false)
    }

    /// Like [`SlowQueryProcessor::new`], but the worker's diagnostics wait (up to 2 s) for a
    /// subscriber handed over with [`SlowQueryHandle::set_log_dispatch`].
    pub(crate) fn with_deferred_log_dispatch(settings: SlowQuerySettings, meter: &Meter) -> Self {
        Self::build(settings, meter, true)
    }

    fn build(settings: SlowQuerySettings, meter: &Meter, await_log_dispatch: bool) -> Self {
        let slow_queries = meter
            .u64_counter(names::DB_SLOW_QUERIES.name)
            .with_unit(names::DB_SLOW_QUERIES.unit)
            .with_description(names::DB_SLOW_QUERIES.description)
            .build();
        let n_plus_one = meter
            .u64_counter(names::DB_N_PLUS_ONE.name)
            .with_unit(names::DB_N_PLUS_ONE.unit)
            .with_description(names::DB_N_PLUS_ONE.description)
            .build();
        let shared = Arc::new(Shared::default());
        shared
            .await_log_dispatch
            .store(await_log_dispatch, Ordering::Release);
        let observed = Arc::clone(&shared);
        let dropped = meter
            .u64_observable_counter(names::SLOW_QUERY_DROPPED.name)
            .with_unit(names::SLOW_QUERY_DROPPED.unit)
            .with_description(names::SLOW_QUERY_DROPPED.description)
            .with_callback(move |observer| {
                for (reason, count) in observed.dropped_by_reason() {
                    observer.observe(count, &[KeyValue::new(REASON, reason)]);
                }
            })
            .build();
        let routes = Arc::new(RouteRegistry::default());
        let detector = NPlusOneDetector::new(
            settings.n_plus_one_threshold,
            settings.n_plus_one_trace_timeout,
        );
        let queue_fast_spans = detector.enabled();
        let (sender, receiver) = sync_channel(settings.queue_capacity.max(1));
        let worker = Worker {
            receiver,
            shared: Arc::clone(&shared),
            routes: Arc::clone(&routes),
            writer: LogWriter::new(settings.log_file, settings.max_bytes, settings.backups),
            detector,
            n_plus_one,
            line: Vec::with_capacity(1024),
        };
        let spawned = std::thread::Builder::new()
            .name("otelix-slow-query".into())
            .spawn(move || worker.run());
        let sender = match spawned {
            Ok(_) => Some(sender),
            Err(error) => {
                tracing::error!(
                    target: TRACING_TARGET,
                    error = %error,
                    "cannot start the slow-query worker thread: slow queries are counted, not written"
                );
                shared.worker_done.store(true, Ordering::Release);
                None
            }
        };
        SlowQueryProcessor {
            shared,
            routes,
            sender,
            threshold: settings.threshold,
            critical: settings.critical,
            queue_fast_spans,
            slow_queries,
            _dropped: dropped,
        }
    }

    /// Records lost so far: not queued because the queue was full, or not written because
    /// the file could not be.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped()
    }

    /// A handle that stays usable after the processor moved into a tracer provider.
    pub fn handle(&self) -> SlowQueryHandle {
        SlowQueryHandle {
            shared: Arc::clone(&self.shared),
            #[cfg(test)]
            routes: Arc::clone(&self.routes),
        }
    }

    /// What `on_end` does, on a borrowed span: otelix's export processor runs it on the span it
    /// then exports, so the SDK need not copy every span for a second processor.
    pub(crate) fn observe(&self, span: &SpanData) {
        if self.shared.shutdown.load(Ordering::Relaxed) {
            return;
        }
        let local_root = span.parent_span_id == SpanId::INVALID || span.parent_span_is_remote;
        if !span
            .attributes
            .iter()
            .any(|kv| is_db_system_key(kv.key.as_str()))
        {
            if local_root && self.routes.root_ended(span.span_context.trace_id()) {
                self.enqueue(Message::LocalRootEnded(span.span_context.trace_id()));
            }
            return;
        }
        let duration = span
            .end_time
            .duration_since(span.start_time)
            .unwrap_or_default();
        let severity = self.severity(duration);
        if severity.is_none() && !local_root && !self.queue_fast_spans {
            return;
        }
        // A database span that is a local root ends the trace's state only when it is the
        // last open one.
        let local_root = local_root && self.routes.root_closed(span.span_context.trace_id());
        if !local_root {
            self.routes.mark_database_span(span.span_context.trace_id());
        }
        let record = db_span(span, local_root, duration, severity);
        if let Some(severity) = severity {
            self.slow_queries
                .add(1, &metric_attributes(&record, severity));
        }
        self.enqueue(Message::DbSpan(Box::new(record)));
    }

    fn severity(&self, duration: Duration) -> Option<Severity> {
        if duration >= self.critical {
            Some(Severity::Critical)
        } else if duration >= self.threshold {
            Some(Severity::Warning)
        } else {
            None
        }
    }

    fn enqueue(&self, message: Message) {
        let shared = &self.shared;
        let Some(sender) = &self.sender else {
            shared
                .dropped_worker_stopped
                .fetch_add(1, Ordering::Relaxed);
            return;
        };
        shared.queued.fetch_add(1, Ordering::AcqRel);
        if let Err(error) = sender.try_send(message) {
            shared.refused.fetch_add(1, Ordering::AcqRel);
            let reason = match error {
                TrySendError::Full(_) => &shared.dropped_queue_full,
                TrySendError::Disconnected(_) => &shared.dropped_worker_stopped,
            };
            reason.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl SpanProcessor for SlowQueryProcessor {
    /// Remembers the [`RequestRoute`] of the parent context under the span's trace ID, and
    /// counts the trace's open local roots.
    fn on_start(&self, span: &mut Span, cx: &Context) {
        let trace_id = span.span_context().trace_id();
        if let Some(route) = cx.get::<RequestRoute>() {
            self.routes.remember(trace_id, &route.0);
        }
        if !cx.has_active_span() || cx.span().span_context().is_remote() {
            self.routes.root_started(trace_id);
        }
    }

    fn on_end(&self, span: SpanData) {
        self.observe(&span);
    }

    /// Waits (at most 5 s) until the worker has handled every record queued before the call.
    fn force_flush(&self) -> OTelSdkResult {
        if self.shared.shutdown.load(Ordering::Acquire) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        if self.sender.is_none() {
            return Ok(());
        }
        let shared = &self.shared;
        let queued = shared.queued.load(Ordering::Acquire);
        let done = || shared.caught_up_with(queued) || shared.worker_done.load(Ordering::Acquire);
        if !shared.wait_until(Instant::now() + FLUSH_TIMEOUT, done) {
            return Err(OTelSdkError::Timeout(FLUSH_TIMEOUT));
        }
        if shared.caught_up_with(queued) {
            Ok(())
        } else {
            Err(OTelSdkError::InternalFailure(
                "the slow-query worker stopped before writing everything".into(),
            ))
        }
    }

    /// Lets the worker handle what is queued, sync the file and stop, waiting at most
    /// `timeout`. Later calls return [`OTelSdkError::AlreadyShutdown`] and do nothing else,
    /// like the SDK's own processors; spans ending after shutdown are ignored.
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        if self.shared.shutdown.swap(true, Ordering::AcqRel) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let Some(sender) = &self.sender else {
            return Ok(());
        };
        // A full queue needs no wake-up: the worker is busy and sees the flag after its batch.
        let _ = sender.try_send(Message::Wake);
        let shared = &self.shared;
        if shared.wait_until(Instant::now() + timeout, || {
            shared.worker_done.load(Ordering::Acquire)
        }) {
            Ok(())
        } else {
            Err(OTelSdkError::Timeout(timeout))
        }
    }
}

/// Reads a [`SlowQueryProcessor`]'s counters after it moved into a tracer provider.
#[derive(Debug, Clone)]
pub struct SlowQueryHandle {
    shared: Arc<Shared>,
    #[cfg(test)]
    routes: Arc<RouteRegistry>,
}

impl SlowQueryHandle {
    /// Records lost so far; see [`SlowQueryProcessor::dropped`].
    pub fn dropped(&self) -> u64 {
        self.shared.dropped()
    }

    /// Sends the worker's `tracing` events (slow-query warnings, file errors) to `dispatch`.
    pub(crate) fn set_log_dispatch(&self, dispatch: tracing::Dispatch) {
        let _ = self.shared.log_dispatch.set(dispatch);
    }
}

#[cfg(test)]
impl SlowQueryHandle {
    pub(super) fn lines_written(&self) -> u64 {
        self.shared.lines_written.load(Ordering::Relaxed)
    }

    pub(super) fn failures_reported(&self) -> u64 {
        self.shared.failures_reported.load(Ordering::Relaxed)
    }

    pub(super) fn tracked_traces(&self) -> usize {
        self.shared.tracked_traces.load(Ordering::Relaxed)
    }

    pub(super) fn remembered_routes(&self) -> usize {
        self.routes.len()
    }
}

#[allow(deprecated)]
fn is_db_system_key(key: &str) -> bool {
    key == DB_SYSTEM_NAME || key == DB_SYSTEM
}

/// Copies the attributes the worker needs out of the span (values are reference-counted or
/// short); newer names win over legacy ones.
#[allow(deprecated)]
fn db_span(
    span: &SpanData,
    local_root: bool,
    duration: Duration,
    severity: Option<Severity>,
) -> DbSpan {
    let (mut db_system, mut legacy_system) = (None, None);
    let (mut collection, mut legacy_table) = (None, None);
    let (mut operation, mut legacy_operation) = (None, None);
    let (mut query, mut legacy_statement) = (None, None);
    for kv in &span.attributes {
        let slot = match kv.key.as_str() {
            DB_SYSTEM_NAME => &mut db_system,
            DB_SYSTEM => &mut legacy_system,
            DB_COLLECTION_NAME => &mut collection,
            DB_SQL_TABLE => &mut legacy_table,
            DB_OPERATION_NAME => &mut operation,
            DB_OPERATION => &mut legacy_operation,
            DB_QUERY_TEXT => &mut query,
            DB_STATEMENT => &mut legacy_statement,
            _ => continue,
        };
        *slot = Some(kv.value.clone());
    }
    DbSpan {
        trace_id: span.span_context.trace_id(),
        span_id: span.span_context.span_id(),
        parent_span_id: span.parent_span_id,
        local_root,
        end_time: span.end_time,
        duration,
        severity,
        name: span.name.clone(),
        db_system: db_system.or(legacy_system),
        collection: collection.or(legacy_table),
        operation: operation.or(legacy_operation),
        query: query.or(legacy_statement),
    }
}

fn metric_attributes(span: &DbSpan, severity: Severity) -> Vec<KeyValue> {
    let mut attributes = Vec::with_capacity(4);
    attributes.push(KeyValue::new(SEVERITY, severity.as_str()));
    for (key, value) in [
        (DB_SYSTEM_NAME, &span.db_system),
        (DB_COLLECTION_NAME, &span.collection),
        (DB_OPERATION_NAME, &span.operation),
    ] {
        if let Some(value) = value {
            attributes.push(KeyValue::new(key, value.clone()));
        }
    }
    attributes
}
