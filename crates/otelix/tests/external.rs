//! `otelix::external`: the HTTP client against a local server that continues the trace, failure
//! classes, URL redaction, and the future and guard forms with an explicit tracker.

// A failed setup step should fail the test loudly, which is what `expect` does.
#![allow(clippy::expect_used)]

mod common;

use std::time::Duration;

use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{TraceContextExt, Tracer};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use otelix::external::ExternalTracker;
use otelix::names;

use common::{
    current_ids, flush, label_names, prometheus, receiver, samples, telemetry, wait_span,
};

const DURATION_COUNT: &str = "http_client_request_duration_seconds_count";

#[derive(Debug)]
struct PaymentError;

#[tokio::test]
async fn tracked_futures_and_guards_record_client_spans_and_durations() {
    let receiver = receiver();
    let telemetry = telemetry(&receiver);
    let handle = telemetry.handle();
    let tracker = ExternalTracker::new(&handle);

    let inner_tracer = handle.tracer().clone();
    let mut refund_ids = (String::new(), String::new());
    let refund: Result<u8, PaymentError> = tracker
        .track("stripe", "refund", async {
            // Work inside the call is a child of the call's span.
            inner_tracer.in_span("sdk internals", |_| ());
            refund_ids = current_ids();
            Err(PaymentError)
        })
        .await;
    assert!(refund.is_err());

    // Tracked calls can be spawned: the future is `Send`.
    let ok: Result<u8, PaymentError> = tokio::spawn({
        let tracker = tracker.clone();
        async move { tracker.track("stripe", "refund", async { Ok(1) }).await }
    })
    .await
    .expect("the spawned tracked call completes");
    assert!(ok.is_ok());

    tracker.start("cloudflare", "purge").finish_err("timeout");
    drop(tracker.start("cloudflare", "purge_all"));
    let hung = tokio::time::timeout(
        Duration::from_millis(20),
        tracker.track(
            "ai_registry",
            "lookup",
            std::future::pending::<Result<(), PaymentError>>(),
        ),
    )
    .await;
    assert!(hung.is_err());

    let text = prometheus(&telemetry);
    let count = |service, operation, error: Option<&str>| {
        let mut labels = vec![
            ("service_peer_name", service),
            ("otelix_operation", operation),
        ];
        if let Some(error) = error {
            labels.push(("error_type", error));
        }
        let found = samples(&text, DURATION_COUNT, &labels);
        found.iter().sum::<f64>()
    };
    assert_eq!(count("stripe", "refund", Some("PaymentError")), 1.0);
    assert_eq!(count("stripe", "refund", None), 2.0);
    assert_eq!(count("cloudflare", "purge", Some("timeout")), 1.0);
    assert_eq!(count("cloudflare", "purge_all", Some("cancelled")), 1.0);
    assert_eq!(count("ai_registry", "lookup", Some("cancelled")), 1.0);
    // Without HTTP there are no HTTP labels.
    let names = label_names(&text, DURATION_COUNT);
    assert!(!names.iter().any(|n| n.starts_with("http_")), "{names:?}");

    flush(&telemetry);
    let failed = wait_span(&receiver, "failed refund", |s| {
        s.name() == "stripe refund" && s.attr_str("error.type").is_some()
    });
    assert_eq!(failed.kind(), SpanKind::Client);
    assert_eq!(failed.status_code(), StatusCode::Error);
    assert_eq!(
        failed.attr_str("error.type").as_deref(),
        Some("PaymentError")
    );
    assert_eq!(
        failed.attr_str("service.peer.name").as_deref(),
        Some("stripe")
    );
    assert_eq!(
        failed.attr_str(names::OTELIX_OPERATION).as_deref(),
        Some("refund")
    );
    assert_eq!(failed.span_id(), refund_ids.1);
    let internals = wait_span(&receiver, "child", |s| s.name() == "sdk internals");
    assert_eq!(internals.parent_span_id(), Some(failed.span_id()));

    let succeeded = wait_span(&receiver, "ok refund", |s| {
        s.name() == "stripe refund" && s.attr_str("error.type").is_none()
    });
    assert_eq!(succeeded.status_code(), StatusCode::Unset);
    let dropped = wait_span(&receiver, "dropped guard", |s| {
        s.name() == "cloudflare purge_all"
    });
    assert_eq!(dropped.attr_str("error.type").as_deref(), Some("cancelled"));
}

#[tokio::test]
async fn calls_are_children_of_the_current_context() {
    let receiver = receiver();
    let telemetry = telemetry(&receiver);
    let handle = telemetry.handle();
    let tracker = ExternalTracker::new(&handle);

    let parent = handle.tracer().start("handler");
    let cx = opentelemetry::Context::current_with_span(parent);
    let (trace_id, parent_id) = async {
        let _: Result<(), PaymentError> = tracker
            .track("beehiiv", "subscribe", async { Ok(()) })
            .await;
        current_ids()
    }
    .with_context(cx.clone())
    .await;
    cx.span().end();

    flush(&telemetry);
    let call = wait_span(&receiver, "call", |s| s.name() == "beehiiv subscribe");
    assert_eq!(call.trace_id(), trace_id);
    assert_eq!(call.parent_span_id(), Some(parent_id));
}

#[cfg(feature = "reqwest")]
mod http_client {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode as HttpStatus};
    use axum::routing::{get, post};
    use axum::Router;
    use opentelemetry::baggage::BaggageExt;
    use opentelemetry::context::FutureExt as _;
    use opentelemetry::propagation::TextMapPropagator;
    use opentelemetry::trace::{SpanKind as ApiSpanKind, TraceContextExt, Tracer};
    use opentelemetry::KeyValue;
    use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
    use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
    use otelix::external::ExternalClient;
    use otelix::names;

    use super::common::{
        closed_port, current_ids, flush, label_names, prometheus, receiver, sample, telemetry,
        wait_span,
    };
    use super::DURATION_COUNT;

    /// When the workspace builds reqwest with rustls and no provider of its own (the example
    /// does, to keep ring the only one), building a client panics until one is installed.
    fn http_client() -> reqwest::Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::new()
    }

    /// A local service instrumented like an otelix server: it continues the caller's trace
    /// from the request headers in a SERVER span of the same telemetry.
    #[derive(Clone)]
    struct ServerState {
        telemetry: otelix::TelemetryHandle,
        seen: Arc<Mutex<Vec<HeaderMap>>>,
    }

    struct TestServer {
        base: String,
        port: u16,
        seen: Arc<Mutex<Vec<HeaderMap>>>,
        task: tokio::task::JoinHandle<()>,
    }

    impl Drop for TestServer {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    impl TestServer {
        async fn start(handle: &otelix::TelemetryHandle) -> Self {
            let seen = Arc::new(Mutex::new(Vec::new()));
            let state = ServerState {
                telemetry: handle.clone(),
                seen: seen.clone(),
            };
            let router = Router::new()
                .route("/charges", post(charges))
                .route("/unavailable", get(unavailable))
                .route("/slow", get(slow))
                .with_state(state);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("binding 127.0.0.1:0");
            let port = listener
                .local_addr()
                .map(|a| a.port())
                .expect("the listener's address");
            let task = tokio::spawn(async move {
                let _ = axum::serve(listener, router).await;
            });
            Self {
                base: format!("http://127.0.0.1:{port}"),
                port,
                seen,
                task,
            }
        }

        fn seen(&self) -> Vec<HeaderMap> {
            self.seen
                .lock()
                .map(|seen| seen.clone())
                .unwrap_or_default()
        }
    }

    fn server_span(state: &ServerState, name: &'static str, headers: &HeaderMap) {
        if let Ok(mut seen) = state.seen.lock() {
            seen.push(headers.clone());
        }
        let parent = otelix::propagator().extract(&otelix::HeaderExtractor(headers));
        let tracer = state.telemetry.tracer();
        let span = tracer
            .span_builder(name)
            .with_kind(ApiSpanKind::Server)
            .start_with_context(tracer, &parent);
        let cx = parent.with_span(span);
        cx.span().end();
    }

    async fn charges(
        State(state): State<ServerState>,
        headers: HeaderMap,
    ) -> (HttpStatus, &'static str) {
        server_span(&state, "POST /charges", &headers);
        (HttpStatus::OK, "{\"id\":\"ch_1\"}")
    }

    async fn unavailable(State(state): State<ServerState>, headers: HeaderMap) -> HttpStatus {
        server_span(&state, "GET /unavailable", &headers);
        HttpStatus::SERVICE_UNAVAILABLE
    }

    async fn slow(State(state): State<ServerState>, headers: HeaderMap) -> HttpStatus {
        server_span(&state, "GET /slow", &headers);
        tokio::time::sleep(Duration::from_secs(5)).await;
        HttpStatus::OK
    }

    #[tokio::test]
    async fn outgoing_call_carries_the_trace_and_parents_the_server_span() {
        let receiver = receiver();
        let telemetry = telemetry(&receiver);
        let handle = telemetry.handle();
        let server = TestServer::start(&handle).await;
        let client = ExternalClient::new(http_client(), &handle);

        let parent = handle.tracer().start("checkout");
        let cx = opentelemetry::Context::current_with_span(parent)
            .with_baggage([KeyValue::new("tenant", "acme")]);
        let url = format!(
            "{}/charges?amount=5&api_key=sk_live_hunter2&token=tok_hunter2#frag",
            server.base
        );
        let ((trace_id, parent_id), status) = async {
            let response = client
                .service("stripe")
                .operation("create_payment")
                .post(url.as_str())
                .json(&serde_json::json!({ "amount": 5 }))
                .send()
                .await
                .expect("the stripe create_payment request is sent");
            (current_ids(), response.status())
        }
        .with_context(cx.clone())
        .await;
        cx.span().end();
        assert_eq!(status, reqwest::StatusCode::OK);

        // What went over the wire.
        let seen = server.seen();
        let [headers] = seen.as_slice() else {
            panic!("expected one request, got {}", seen.len());
        };
        let traceparent = headers
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no traceparent in {headers:?}"));
        let fields: Vec<&str> = traceparent.split('-').collect();
        assert_eq!(fields.len(), 4, "{traceparent}");
        assert_eq!(fields[1], trace_id);
        assert_eq!(
            headers.get("baggage").and_then(|v| v.to_str().ok()),
            Some("tenant=acme")
        );

        flush(&telemetry);
        let call = wait_span(&receiver, "client span", |s| {
            s.name() == "POST" && s.kind() == SpanKind::Client
        });
        assert_eq!(call.trace_id(), trace_id);
        assert_eq!(call.parent_span_id(), Some(parent_id));
        assert_eq!(
            fields[2],
            call.span_id(),
            "traceparent names the client span"
        );
        let port = server.port.to_string();
        let expected = [
            ("http.request.method", "POST"),
            ("server.address", "127.0.0.1"),
            ("server.port", port.as_str()),
            ("http.response.status_code", "200"),
            ("service.peer.name", "stripe"),
            ("otelix.operation", "create_payment"),
        ];
        for (key, value) in expected {
            assert_eq!(call.attr_str(key).as_deref(), Some(value), "{key}");
        }
        assert_eq!(
            call.attr_str("url.full"),
            Some(format!(
                "{}/charges?amount=5&api_key=REDACTED&token=REDACTED",
                server.base
            ))
        );
        assert_eq!(call.attr_str("error.type"), None);
        assert_eq!(call.status_code(), StatusCode::Unset);
        for value in call.attrs().values() {
            assert!(!value.contains("hunter2"), "secret leaked: {value}");
        }

        let served = wait_span(&receiver, "server span", |s| s.name() == "POST /charges");
        assert_eq!(served.kind(), SpanKind::Server);
        assert_eq!(served.trace_id(), trace_id);
        assert_eq!(served.parent_span_id(), Some(call.span_id()));

        let text = prometheus(&telemetry);
        assert_eq!(
            sample(
                &text,
                DURATION_COUNT,
                &[
                    ("http_request_method", "POST"),
                    ("server_address", "127.0.0.1"),
                    ("server_port", port.as_str()),
                    ("service_peer_name", "stripe"),
                    ("otelix_operation", "create_payment"),
                    ("http_response_status_code", "200"),
                ]
            ),
            1.0
        );
        let names = label_names(&text, DURATION_COUNT);
        assert!(
            !names.iter().any(|n| n.starts_with("url")),
            "URL in labels: {names:?}"
        );
    }

    #[tokio::test]
    async fn timeouts_refusals_and_5xx_are_recorded_with_error_type() {
        let receiver = receiver();
        let telemetry = telemetry(&receiver);
        let handle = telemetry.handle();
        let server = TestServer::start(&handle).await;
        let beehiiv = ExternalClient::new(http_client(), &handle).service("beehiiv");

        let slow = beehiiv
            .operation("sync_subscribers")
            .get(format!("{}/slow", server.base))
            .timeout(Duration::from_millis(200))
            .send()
            .await;
        assert!(slow.as_ref().is_err_and(|e| e.is_timeout()), "{slow:?}");

        let unavailable = beehiiv
            .operation("subscribe")
            .get(format!("{}/unavailable", server.base))
            .send()
            .await
            .expect("the unavailable beehiiv request gets a response");
        assert_eq!(
            unavailable.status(),
            reqwest::StatusCode::SERVICE_UNAVAILABLE
        );

        let refused = beehiiv
            .operation("unsubscribe")
            .delete(format!("http://127.0.0.1:{}/x", closed_port()))
            .send()
            .await;
        assert!(refused.is_err());

        let text = prometheus(&telemetry);
        let count = |operation, error_type| {
            sample(
                &text,
                DURATION_COUNT,
                &[
                    ("service_peer_name", "beehiiv"),
                    ("otelix_operation", operation),
                    ("error_type", error_type),
                ],
            )
        };
        assert_eq!(count("sync_subscribers", "timeout"), 1.0);
        assert_eq!(count("subscribe", "503"), 1.0);
        assert_eq!(count("unsubscribe", "connect"), 1.0);

        flush(&telemetry);
        let timed_out = wait_span(&receiver, "timeout", |s| {
            s.attr_str(names::OTELIX_OPERATION).as_deref() == Some("sync_subscribers")
        });
        assert_eq!(timed_out.name(), "GET");
        assert_eq!(timed_out.attr_str("error.type").as_deref(), Some("timeout"));
        assert_eq!(timed_out.attr_str("http.response.status_code"), None);
        assert_eq!(timed_out.status_code(), StatusCode::Error);

        let failed = wait_span(&receiver, "503", |s| {
            s.attr_str(names::OTELIX_OPERATION).as_deref() == Some("subscribe")
        });
        assert_eq!(failed.attr_str("error.type").as_deref(), Some("503"));
        assert_eq!(
            failed.attr_str("http.response.status_code").as_deref(),
            Some("503")
        );
        assert_eq!(failed.status_code(), StatusCode::Error);

        let refused = wait_span(&receiver, "refused", |s| {
            s.attr_str(names::OTELIX_OPERATION).as_deref() == Some("unsubscribe")
        });
        assert_eq!(refused.name(), "DELETE");
        assert_eq!(refused.attr_str("error.type").as_deref(), Some("connect"));
    }
}
