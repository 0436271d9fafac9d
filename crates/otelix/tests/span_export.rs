//! otelix's span export against a real OTLP receiver: bursts beyond the SDK's old 2048-span
//! queue arrive whole, a stalled collector costs counted drops (never a blocked request), and
//! shutdown delivers everything still queued.

// A failed setup step should fail the test loudly, which is what `expect` does.
#![allow(clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{no_env, CapturedLines};
use opentelemetry::trace::{Span as _, Tracer as _};
use otelix::{names, Config, Telemetry};
use otelix_testkit::{Behavior, Receiver};

fn telemetry(
    receiver: &Receiver,
    configure: impl FnOnce(otelix::ConfigBuilder) -> otelix::ConfigBuilder,
) -> Telemetry {
    let builder = Config::builder()
        .with_service_name("span-export-test")
        .with_otlp_endpoint(receiver.grpc_endpoint())
        .with_metrics_exporter(otelix::Exporters::NONE)
        .with_logs_exporter(otelix::Exporters::NONE);
    let config = configure(builder)
        .build_from_vars(no_env())
        .expect("a valid configuration");
    Telemetry::builder(config)
        .with_log_writer(CapturedLines::default())
        .build()
        .expect("telemetry builds")
}

fn end_spans(telemetry: &Telemetry, count: usize) {
    let tracer = telemetry.handle().tracer().clone();
    for _ in 0..count {
        tracer.start("GET /users/{id}").end();
    }
}

fn wait_for_spans(receiver: &Receiver, count: u64, within: Duration) -> u64 {
    let deadline = Instant::now() + within;
    loop {
        let spans = receiver.counts().spans;
        if spans >= count || Instant::now() >= deadline {
            return spans;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn dropped_series(telemetry: &Telemetry, reason: &str) -> Option<f64> {
    let text = telemetry
        .handle()
        .render_prometheus()
        .expect("the Prometheus text renders");
    common::exposition(&text).value(
        names::EXPORTER_DROPPED.prometheus,
        &[("signal", "traces"), ("reason", reason)],
    )
}

#[test]
fn a_burst_beyond_the_old_queue_size_arrives_whole() {
    let receiver = Receiver::builder()
        .with_keep_items(false)
        .build()
        .expect("the OTLP receiver starts");
    let telemetry = telemetry(&receiver, |b| b);
    let burst = 8_000;
    end_spans(&telemetry, burst);
    telemetry.force_flush().expect("telemetry flushes");
    assert_eq!(
        wait_for_spans(&receiver, burst as u64, Duration::from_secs(10)),
        burst as u64
    );
    let export = telemetry.handle().span_export().cloned();
    assert_eq!(export.map(|e| e.dropped()), Some(0));
}

#[test]
fn drops_are_series_from_the_start() {
    let receiver = Receiver::start().expect("the OTLP receiver starts");
    let telemetry = telemetry(&receiver, |b| b);
    for reason in ["queue_full", "export_failed", "shutdown"] {
        assert_eq!(dropped_series(&telemetry, reason), Some(0.0), "{reason}");
    }
}

#[test]
fn a_stalled_collector_costs_counted_drops_not_blocked_requests() {
    let receiver = Receiver::builder()
        .with_behavior(Behavior::Hang)
        .with_keep_items(false)
        .build()
        .expect("a hanging OTLP receiver starts");
    let telemetry = telemetry(&receiver, |b| {
        b.with_bsp_max_queue_size(1_000)
            .with_bsp_max_export_batch_size(100)
            .with_bsp_export_timeout(Duration::from_millis(300))
            .with_otlp_timeout(Duration::from_millis(300))
            .with_shutdown_timeout(Duration::from_millis(500))
    });
    let started = Instant::now();
    end_spans(&telemetry, 5_000);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "ending spans blocked on the exporter"
    );
    let export = telemetry
        .handle()
        .span_export()
        .cloned()
        .expect("spans are exported");
    assert!(
        export.dropped_queue_full() >= 3_000,
        "{}",
        export.dropped_queue_full()
    );
    // The exports in flight time out and their batches are counted too.
    let deadline = Instant::now() + Duration::from_secs(5);
    while export.dropped_export_failed() < 200 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(export.dropped_export_failed() >= 200);
    assert_eq!(
        dropped_series(&telemetry, "queue_full"),
        Some(export.dropped_queue_full() as f64)
    );
    // Bounded shutdown; every span is either delivered (the receiver records, then hangs)
    // or counted, those of exports still in flight at the deadline once they time out.
    let _ = telemetry.shutdown();
    let deadline = Instant::now() + Duration::from_secs(3);
    while export.dropped() + receiver.counts().spans < 5_000 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(export.dropped() + receiver.counts().spans >= 5_000);
}

#[test]
fn shutdown_delivers_everything_queued() {
    let receiver = Receiver::builder()
        .with_keep_items(false)
        .build()
        .expect("the OTLP receiver starts");
    // A long schedule delay: nothing leaves before the shutdown except full batches.
    let telemetry = telemetry(&receiver, |b| {
        b.with_bsp_schedule_delay(Duration::from_secs(60))
    });
    end_spans(&telemetry, 3_001);
    let export = telemetry.handle().span_export().cloned();
    telemetry.shutdown().expect("telemetry shuts down");
    assert_eq!(receiver.counts().spans, 3_001);
    assert_eq!(export.map(|e| e.dropped()), Some(0));
}
