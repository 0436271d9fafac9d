use super::worker::block_on_with_timeout;
use super::*;

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogBatch, LogExporter, LogProcessor};
use opentelemetry_sdk::trace::{SpanData, SpanExporter, SpanProcessor};
use opentelemetry_sdk::Resource;

use crate::config::BatchSettings;

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
    assert_eq!(processor.handle().exported(), 50_000);
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

/// Counts the log records it exports; fails while `fail` is set.
#[derive(Debug, Default, Clone)]
struct TestLogExporter {
    exported: Arc<AtomicU64>,
    bodies: Arc<Mutex<Vec<String>>>,
    fail: Arc<AtomicBool>,
}

impl LogExporter for TestLogExporter {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        if self.fail.load(Ordering::Acquire) {
            return Err(OTelSdkError::InternalFailure("refused".into()));
        }
        let mut bodies = self.bodies.lock().unwrap_or_else(PoisonError::into_inner);
        for (record, scope) in batch.iter() {
            assert_eq!(scope.name(), "test-scope");
            bodies.push(format!("{:?}", record.body()));
        }
        self.exported
            .fetch_add(batch.iter().count() as u64, Ordering::AcqRel);
        Ok(())
    }
}

fn log_processor(exporter: &TestLogExporter, settings: BatchSettings) -> BatchLogExportProcessor {
    let mut processor = BatchLogExportProcessor::new(vec![exporter.clone()], settings);
    processor.set_resource(&Resource::builder_empty().build());
    processor
}

/// Emits `n` records through a real logger provider, as the tracing bridge does.
fn emit_logs(provider: &opentelemetry_sdk::logs::SdkLoggerProvider, n: usize) {
    use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _};
    let logger = provider.logger("test-scope");
    for i in 0..n {
        let mut record = logger.create_log_record();
        record.set_body(format!("line {i}").into());
        logger.emit(record);
    }
}

#[test]
fn log_records_are_exported_in_batches_with_their_scope() {
    let exporter = TestLogExporter::default();
    let processor = log_processor(&exporter, settings(10_000, 100));
    let handle = processor.handle();
    let provider = opentelemetry_sdk::logs::SdkLoggerProvider::builder()
        .with_log_processor(processor)
        .build();
    emit_logs(&provider, 1_234);
    assert!(provider.force_flush().is_ok());
    assert_eq!(exporter.exported.load(Ordering::Acquire), 1_234);
    let bodies = exporter
        .bodies
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    assert!(
        bodies.iter().any(|b| b.contains("line 1233")),
        "{:?}",
        bodies.last()
    );
    drop(bodies);
    assert_eq!(handle.dropped(), 0);
    assert!(provider.shutdown().is_ok());
}

#[test]
fn log_records_lost_to_a_full_queue_or_a_failed_export_are_counted_as_logs() {
    let exporter = TestLogExporter::default();
    exporter.fail.store(true, Ordering::Release);
    let processor = log_processor(&exporter, settings(500, 50));
    let handle = processor.handle();
    let provider = opentelemetry_sdk::logs::SdkLoggerProvider::builder()
        .with_log_processor(processor)
        .build();
    let start = Instant::now();
    emit_logs(&provider, 5_000);
    assert!(start.elapsed() < Duration::from_secs(2), "emit blocked");
    assert!(handle.dropped_queue_full() >= 4_000, "{handle:?}");
    // The failing exporter took at least one batch before backing off.
    let deadline = Instant::now() + Duration::from_secs(5);
    while handle.dropped_export_failed() == 0 {
        assert!(
            Instant::now() < deadline,
            "no failed export counted: {handle:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(handle.drops.signal, Signal::Logs);
    exporter.fail.store(false, Ordering::Release);
    assert!(provider
        .shutdown_with_timeout(Duration::from_secs(10))
        .is_ok());
    // Nothing lost silently: every record was exported or counted.
    assert_eq!(
        exporter.exported.load(Ordering::Acquire) + handle.dropped(),
        5_000
    );
}

#[test]
fn the_dropped_metric_has_series_for_every_signal_and_reason_from_the_start() {
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    let logs = Arc::new(DropCounter::new(Signal::Logs));
    logs.add(DropReason::QueueFull, 7);
    let _counter = register_dropped_metric(&provider.meter("test"), vec![logs]);
    assert!(provider.force_flush().is_ok());
    let mut seen = Vec::new();
    for resource_metrics in exporter.get_finished_metrics().unwrap_or_default() {
        for scope in resource_metrics.scope_metrics() {
            for metric in scope.metrics() {
                assert_eq!(metric.name(), crate::names::EXPORTER_DROPPED.name);
                if let opentelemetry_sdk::metrics::data::AggregatedMetrics::U64(
                    opentelemetry_sdk::metrics::data::MetricData::Sum(sum),
                ) = metric.data()
                {
                    for point in sum.data_points() {
                        let label = |key: &str| {
                            point
                                .attributes()
                                .find(|kv| kv.key.as_str() == key)
                                .map(|kv| kv.value.to_string())
                                .unwrap_or_default()
                        };
                        seen.push((label("signal"), label("reason"), point.value()));
                    }
                }
            }
        }
    }
    seen.sort();
    // traces, metrics, logs × queue_full, export_failed, rejected, shutdown
    assert_eq!(seen.len(), 12, "{seen:?}");
    assert!(
        seen.contains(&("metrics".into(), "rejected".into(), 0)),
        "{seen:?}"
    );
    assert!(
        seen.contains(&("logs".into(), "queue_full".into(), 7)),
        "{seen:?}"
    );
    assert!(
        seen.contains(&("traces".into(), "queue_full".into(), 0)),
        "{seen:?}"
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
    assert_eq!(processor.handle().exported(), 0);
}

/// otelix's OTLP exporters retry and count their items themselves: the processor counts
/// neither their failures nor their successes, and its shutdown tells them when to stop.
#[test]
fn a_processor_for_otelix_exporters_leaves_the_counting_to_them() {
    use crate::export::otlp::ShutdownClock;
    let exporter = TestExporter::default();
    exporter.fail.store(true, Ordering::Release);
    let drops = Arc::new(DropCounter::new(Signal::Traces));
    let clock = Arc::new(ShutdownClock::default());
    let mut processor = BatchExportProcessor::for_otlp(
        vec![exporter.clone()],
        settings(1_000, 100),
        super::OtlpExporters {
            drops: Arc::clone(&drops),
            clock: Arc::clone(&clock),
        },
    );
    processor.set_resource(&Resource::builder_empty().build());
    for i in 0..250 {
        processor.on_end(span(i, true));
    }
    assert!(processor.force_flush().is_ok());
    // Three batches sent at once: no back-off between them in the processor.
    assert_eq!(exporter.attempts.load(Ordering::Acquire), 3);
    assert_eq!(processor.handle().dropped(), 0);
    assert_eq!(processor.handle().exported(), 0);
    assert!(clock.deadline().is_none());
    let before = Instant::now();
    assert!(processor
        .shutdown_with_timeout(Duration::from_secs(2))
        .is_ok());
    let deadline = clock.deadline().expect("shutdown set the deadline");
    assert!(deadline > before && deadline <= before + Duration::from_secs(2));
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
