use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use prost::Message as _;

use super::*;
use crate::config::{Config, Signal};
use crate::export::otlp::test_support::{http_reply, Collector};
use crate::export::otlp::{ExportContext, ShutdownClock};
use crate::process::{DropCounter, ExportHandle};

async fn delivery(collector: &Collector) -> (Delivery, ExportHandle, Arc<ShutdownClock>) {
    let config = Config::builder()
        .build_from_vars([
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://127.0.0.1:{}", collector.addr.port()),
            ),
            ("OTEL_BSP_EXPORT_TIMEOUT", "5000".to_owned()),
        ])
        .expect("valid variables");
    let clock = Arc::new(ShutdownClock::default());
    let context = ExportContext {
        runtime: tokio::runtime::Handle::current(),
        clock: Arc::clone(&clock),
    };
    let drops = Arc::new(DropCounter::new(Signal::Traces));
    let delivery =
        super::super::delivery(&config, Signal::Traces, &context, &drops).expect("a delivery");
    (delivery, ExportHandle::new(drops), clock)
}

#[tokio::test]
async fn a_partial_success_counts_the_rejected_items_and_is_not_sent_again() {
    let answer = ExportTraceServiceResponse {
        partial_success: Some(ExportTracePartialSuccess {
            rejected_spans: 2,
            error_message: "spans too old".into(),
        }),
    }
    .encode_to_vec();
    let collector = Collector::start(None, move |_| http_reply(200, &[], &answer)).await;
    let (delivery, handle, _) = delivery(&collector).await;
    let exported = delivery
        .export::<ExportTraceServiceResponse>(b"request".to_vec(), 5)
        .await;
    assert!(exported.is_ok(), "{exported:?}");
    assert_eq!(collector.requests().len(), 1);
    assert_eq!(handle.dropped_rejected(), 2);
    assert_eq!(handle.exported(), 3);
    assert_eq!(handle.dropped(), 2);
}

#[tokio::test]
async fn a_permanent_failure_drops_the_items_as_export_failed() {
    let collector = Collector::start(None, |_| http_reply(400, &[], b"")).await;
    let (delivery, handle, _) = delivery(&collector).await;
    let exported = delivery
        .export::<ExportTraceServiceResponse>(b"request".to_vec(), 5)
        .await;
    let error = exported.expect_err("refused").to_string();
    assert!(error.contains("HTTP 400"), "{error}");
    assert_eq!(collector.requests().len(), 1);
    assert_eq!(handle.dropped_export_failed(), 5);
    assert_eq!(handle.exported(), 0);
}

#[tokio::test]
async fn items_still_failing_at_the_shutdown_deadline_are_dropped_as_shutdown() {
    let collector = Collector::start(None, |_| http_reply(503, &[], b"")).await;
    let (delivery, handle, clock) = delivery(&collector).await;
    clock.begin(Instant::now() + Duration::from_millis(300));
    let started = Instant::now();
    let exported = delivery
        .export::<ExportTraceServiceResponse>(b"request".to_vec(), 5)
        .await;
    assert!(exported.is_err());
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(handle.dropped_shutdown(), 5);
    assert_eq!(handle.dropped_export_failed(), 0);
}

#[tokio::test]
async fn a_collector_that_recovers_gets_every_item() {
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let collector = Collector::start(None, move |_| {
        if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2 {
            http_reply(503, &[("retry-after", "0")], b"")
        } else {
            http_reply(200, &[], b"")
        }
    })
    .await;
    let (delivery, handle, _) = delivery(&collector).await;
    let exported = delivery
        .export::<ExportTraceServiceResponse>(b"request".to_vec(), 5)
        .await;
    assert!(exported.is_ok(), "{exported:?}");
    assert_eq!(collector.requests().len(), 3);
    assert_eq!(handle.exported(), 5);
    assert_eq!(handle.dropped(), 0);
}
