//! The one thread that sanitizes statements, detects N+1 patterns and writes the file.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry::metrics::Counter;
use opentelemetry::trace::TraceId;
use opentelemetry::KeyValue;
use opentelemetry_semantic_conventions::attribute::{DB_COLLECTION_NAME, DB_SYSTEM_NAME};

use super::n_plus_one::NPlusOneDetector;
use super::record::{duration_ms, DbSpan, JsonLine, Message, Severity};
use super::route::RouteRegistry;
use super::writer::LogWriter;
use super::TRACING_TARGET;
use crate::sql::{sanitize_query_with, SqlDialect};

/// How long the worker sleeps when idle before it expires old N+1 state.
const IDLE_TICK: Duration = Duration::from_millis(500);
/// Messages handled between two progress reports to waiting `force_flush` calls.
const BATCH: usize = 256;

/// State shared by the processor, its handles and the worker.
#[derive(Debug, Default)]
pub(super) struct Shared {
    /// Records lost, by reason: the queue was full, the worker had stopped, the line could
    /// not be written. Counted here only (no synchronous metric call), and reported by the
    /// observable counter `otelix.slow_query.dropped`, so that losing a record under
    /// overload costs two atomic increments.
    pub(super) dropped_queue_full: AtomicU64,
    pub(super) dropped_worker_stopped: AtomicU64,
    pub(super) dropped_write_failed: AtomicU64,
    /// Messages `on_end` tried to queue, and those the queue refused. A message counted in
    /// `queued` ends up in `refused` or, once handled, in `processed`.
    pub(super) queued: AtomicU64,
    pub(super) refused: AtomicU64,
    pub(super) processed: AtomicU64,
    pub(super) shutdown: AtomicBool,
    pub(super) worker_done: AtomicBool,
    progress: Mutex<()>,
    progress_changed: Condvar,
    // Mirrors of the worker's own state, read by tests and diagnostics.
    pub(super) lines_written: AtomicU64,
    pub(super) failures_reported: AtomicU64,
    pub(super) tracked_traces: AtomicUsize,
    /// Where the worker's own `tracing` events go. A processor built by `Telemetry` cannot
    /// know its subscriber yet (the subscriber needs the tracer provider that holds the
    /// processor), so the worker waits briefly for it to be handed over.
    pub(super) log_dispatch: std::sync::OnceLock<tracing::Dispatch>,
    pub(super) await_log_dispatch: AtomicBool,
}

impl Shared {
    /// Records lost so far, for every reason.
    pub(super) fn dropped(&self) -> u64 {
        self.dropped_by_reason()
            .iter()
            .map(|(_, count)| count)
            .sum()
    }

    /// Records lost so far, by the `reason` attribute of `otelix.slow_query.dropped`.
    pub(super) fn dropped_by_reason(&self) -> [(&'static str, u64); 3] {
        [
            (
                "queue_full",
                self.dropped_queue_full.load(Ordering::Relaxed),
            ),
            (
                "worker_stopped",
                self.dropped_worker_stopped.load(Ordering::Relaxed),
            ),
            (
                "write_failed",
                self.dropped_write_failed.load(Ordering::Relaxed),
            ),
        ]
    }

    fn notify(&self) {
        // Taking the lock orders this wake-up after a waiter's check of the counters.
        drop(self.progress.lock().unwrap_or_else(PoisonError::into_inner));
        self.progress_changed.notify_all();
    }

    /// Waits until `done()` or `deadline`; returns `done()`.
    pub(super) fn wait_until(&self, deadline: Instant, done: impl Fn() -> bool) -> bool {
        let mut guard = self.progress.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if done() {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            // Refusals are counted without a wake-up: look again now and then.
            let slice = (deadline - now).min(Duration::from_millis(10));
            guard = self
                .progress_changed
                .wait_timeout(guard, slice)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        }
    }

    /// Whether everything queued before this call has been handled.
    pub(super) fn caught_up_with(&self, queued: u64) -> bool {
        self.processed.load(Ordering::Acquire) + self.refused.load(Ordering::Acquire) >= queued
    }
}

/// Marks the worker as finished however it exits, so shutdown never waits in vain.
struct DoneGuard(Arc<Shared>);

impl Drop for DoneGuard {
    fn drop(&mut self) {
        self.0.worker_done.store(true, Ordering::Release);
        self.0.notify();
    }
}

pub(super) struct Worker {
    pub(super) receiver: Receiver<Message>,
    pub(super) shared: Arc<Shared>,
    pub(super) routes: Arc<RouteRegistry>,
    pub(super) writer: LogWriter,
    pub(super) detector: NPlusOneDetector,
    pub(super) n_plus_one: Counter<u64>,
    pub(super) line: Vec<u8>,
}

impl Worker {
    pub(super) fn run(self) {
        if self.shared.await_log_dispatch.load(Ordering::Acquire) {
            let deadline = Instant::now() + std::time::Duration::from_secs(2);
            while self.shared.log_dispatch.get().is_none() && Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        }
        match self.shared.log_dispatch.get().cloned() {
            Some(dispatch) => tracing::dispatcher::with_default(&dispatch, || self.work()),
            None => self.work(),
        }
    }

    fn work(mut self) {
        let _done = DoneGuard(Arc::clone(&self.shared));
        self.writer.check_early(Instant::now());
        self.publish(0);
        loop {
            let first = self.receiver.recv_timeout(IDLE_TICK);
            let now = Instant::now();
            let mut handled = 0;
            match first {
                Ok(message) => {
                    handled += self.handle(message, now);
                    for _ in 1..BATCH {
                        match self.receiver.try_recv() {
                            Ok(message) => handled += self.handle(message, now),
                            Err(_) => break,
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            self.detector.expire(now);
            self.publish(handled);
            if self.shared.shutdown.load(Ordering::Acquire) {
                let handled = self.drain();
                self.publish(handled);
                break;
            }
        }
        self.writer.sync();
    }

    /// Handles what is still queued at shutdown.
    fn drain(&mut self) -> u64 {
        let mut handled = 0;
        while let Ok(message) = self.receiver.try_recv() {
            handled += self.handle(message, Instant::now());
        }
        handled
    }

    /// Makes the worker's state visible, then counts `handled` messages as processed, so
    /// that a caller of `force_flush` sees the state that includes them.
    fn publish(&self, handled: u64) {
        let shared = &self.shared;
        shared
            .failures_reported
            .store(self.writer.failures_reported(), Ordering::Relaxed);
        shared
            .tracked_traces
            .store(self.detector.tracked_traces(), Ordering::Relaxed);
        shared.processed.fetch_add(handled, Ordering::Release);
        shared.notify();
    }

    /// Returns 1 for a message that `on_end` counted as queued, 0 for a wake-up.
    fn handle(&mut self, message: Message, now: Instant) -> u64 {
        match message {
            Message::Wake => return 0,
            Message::LocalRootEnded(trace_id) => self.end_trace(trace_id),
            Message::DbSpan(span) => self.handle_db_span(&span, now),
        }
        1
    }

    fn end_trace(&mut self, trace_id: TraceId) {
        self.detector.end_trace(trace_id);
        self.routes.forget(trace_id);
    }

    fn handle_db_span(&mut self, span: &DbSpan, now: Instant) {
        let db_system = span.db_system.as_ref().map(|v| v.as_str());
        let dialect = db_system
            .as_deref()
            .map_or(SqlDialect::Standard, SqlDialect::from_db_system);
        let raw_query = span.query.as_ref().map(|v| v.as_str());
        let query = raw_query
            .as_deref()
            .map(|q| sanitize_query_with(q, dialect));
        let collection = span.collection.as_ref().map(|v| v.as_str());
        let operation = span.operation.as_ref().map(|v| v.as_str());
        let fields = Fields {
            db_system: db_system.as_deref(),
            collection: collection.as_deref(),
            operation: operation.as_deref(),
            query: query.as_deref(),
        };

        if let Some(severity) = span.severity {
            self.report_slow_query(span, &fields, severity, now);
        }
        if self.detector.enabled() {
            let statement = fields.query.unwrap_or(&span.name);
            let reached = self
                .detector
                .observe(span.trace_id, span.parent_span_id, statement, now);
            if let Some(count) = reached {
                self.report_n_plus_one(span, &fields, count, now);
            }
        }
        if span.local_root {
            self.end_trace(span.trace_id);
        }
    }

    /// A `tracing` warning and a `"kind":"slow_query"` line.
    fn report_slow_query(
        &mut self,
        span: &DbSpan,
        fields: &Fields<'_>,
        severity: Severity,
        now: Instant,
    ) {
        let route = self.routes.lookup(span.trace_id);
        let duration_ms = duration_ms(span.duration);
        tracing::warn!(
            target: TRACING_TARGET,
            trace_id = %span.trace_id,
            span_id = %span.span_id,
            severity = severity.as_str(),
            duration_ms,
            db_system = fields.db_system,
            collection = fields.collection,
            operation = fields.operation,
            route = route.as_deref(),
            query = fields.query,
            "slow database query: {duration_ms} ms",
        );
        JsonLine::new(&mut self.line)
            .timestamp("timestamp", span.end_time)
            .raw("kind", "\"slow_query\"")
            .str("severity", severity.as_str())
            .f64("duration_ms", duration_ms)
            .opt_str("db_system", fields.db_system)
            .opt_str("collection", fields.collection)
            .opt_str("operation", fields.operation)
            .opt_str("query", fields.query)
            .trace_id("trace_id", span.trace_id)
            .span_id("span_id", span.span_id)
            .opt_str("route", route.as_deref())
            .str("span_name", &span.name)
            .finish();
        self.write_line(now);
    }

    /// A `tracing` warning, the `otelix.db.n_plus_one` count and a `"kind":"n_plus_one"` line.
    fn report_n_plus_one(&mut self, span: &DbSpan, fields: &Fields<'_>, count: u32, now: Instant) {
        let route = self.routes.lookup(span.trace_id);
        tracing::warn!(
            target: TRACING_TARGET,
            trace_id = %span.trace_id,
            parent_span_id = %span.parent_span_id,
            count,
            db_system = fields.db_system,
            collection = fields.collection,
            route = route.as_deref(),
            query = fields.query,
            "N+1 query pattern: the same statement ran {count} times under one parent span",
        );
        let mut attributes = Vec::with_capacity(2);
        if let Some(db_system) = fields.db_system {
            attributes.push(KeyValue::new(DB_SYSTEM_NAME, db_system.to_owned()));
        }
        if let Some(collection) = fields.collection {
            attributes.push(KeyValue::new(DB_COLLECTION_NAME, collection.to_owned()));
        }
        self.n_plus_one.add(1, &attributes);
        JsonLine::new(&mut self.line)
            .timestamp("timestamp", span.end_time)
            .raw("kind", "\"n_plus_one\"")
            .str("severity", "warning")
            .u64("count", u64::from(count))
            .opt_str("db_system", fields.db_system)
            .opt_str("collection", fields.collection)
            .opt_str("operation", fields.operation)
            .opt_str("query", fields.query)
            .trace_id("trace_id", span.trace_id)
            .span_id("parent_span_id", span.parent_span_id)
            .opt_str("route", route.as_deref())
            .str("span_name", &span.name)
            .finish();
        self.write_line(now);
    }

    fn write_line(&mut self, now: Instant) {
        if self.writer.write_line(&self.line, now) {
            self.shared.lines_written.fetch_add(1, Ordering::Relaxed);
        } else {
            self.shared
                .dropped_write_failed
                .fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// What a slow-query or N+1 report says of the statement: read from the span's attributes, the
/// query sanitized.
struct Fields<'a> {
    db_system: Option<&'a str>,
    collection: Option<&'a str>,
    operation: Option<&'a str>,
    query: Option<&'a str>,
}
