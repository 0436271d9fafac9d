//! Waiting for telemetry that arrives later: async, blocking, and outside any tokio runtime.

use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use otelix_testkit::TestkitError;

use super::*;

#[tokio::test]
async fn wait_for_returns_items_arriving_later_and_times_out_with_context() {
    let receiver = Receiver::start().expect("start receiver");
    let endpoint = receiver.grpc_endpoint();
    let sender = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut client = TraceServiceClient::connect(endpoint)
            .await
            .expect("connect");
        client.export(trace_request()).await.expect("export");
    });
    let span = receiver
        .wait_for_span(|s| s.name() == "SELECT users", WAIT)
        .await
        .expect("span arrives later");
    assert_eq!(span.span_id(), CHILD_HEX);
    sender.await.expect("sender task");

    let error = receiver
        .wait_for_span(|s| s.name() == "never", Duration::from_millis(100))
        .await
        .expect_err("no such span");
    match &error {
        TestkitError::Timeout { what, after, seen } => {
            assert!(what.contains("span"), "{what}");
            assert_eq!(*after, Duration::from_millis(100));
            assert_eq!(*seen, 2);
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.contains("span") && message.contains("2 received"),
        "{message}"
    );

    receiver.clear();
    assert_eq!(receiver.counts(), otelix_testkit::Counts::default());
    assert!(receiver.spans().is_empty());
}

/// The blocking waits and the async waits outside any tokio runtime.
#[test]
fn blocking_and_executor_agnostic_waits() {
    let receiver = Receiver::start().expect("start receiver");
    let endpoint = receiver.grpc_endpoint();
    let sender = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("client runtime");
        runtime.block_on(async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let mut client = LogsServiceClient::connect(endpoint).await.expect("connect");
            client.export(logs_request("late")).await.expect("export");
        });
    });
    let log = receiver
        .wait_for_log_blocking(|l| l.severity_text() == "WARN", WAIT)
        .expect("log arrives later");
    assert_eq!(log.trace_id(), None);
    sender.join().expect("sender thread");

    let error = receiver
        .wait_for_metric_blocking(|_| true, Duration::from_millis(50))
        .expect_err("no metrics were sent");
    assert!(
        matches!(error, TestkitError::Timeout { seen: 0, .. }),
        "{error}"
    );

    // No tokio context here: the async wait must still find items and time out.
    let found = block_on(receiver.wait_for_log(|l| l.body().as_deref() == Some("late"), WAIT));
    assert_eq!(found.expect("stored log").severity_text(), "INFO");
    let timed_out = block_on(receiver.wait_for_span(|_| true, Duration::from_millis(50)));
    assert!(matches!(
        timed_out,
        Err(TestkitError::Timeout { seen: 0, .. })
    ));
}

/// A minimal executor with no tokio context, to show the async waits need none.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::park();
    }
}
