//! Graceful shutdown: once it starts, no new connection is accepted, the request in flight
//! finishes with its normal answer, the job stops, and telemetry flushes.

mod common;

use std::time::Duration;

use common::{Backends, TestApp};
use otelix_testkit::exposition::Sample;
use serde_json::json;

#[actix_web::test]
async fn in_flight_requests_finish_and_new_ones_are_refused() {
    let app = common::start(
        Backends::Embedded,
        &[
            // Each sandbox answer takes 250 to 750 ms: long enough to shut down meanwhile.
            ("SANDBOX_LATENCY_MS", "500"),
            // The start-up job run fails fast instead of keeping sandbox requests in flight,
            // so the only POSTs being served are the payment and its Stripe call.
            ("BEEHIIV_API_BASE", "http://127.0.0.1:1"),
        ],
        |c| c,
    )
    .await
    .expect("embedded backends");
    let client = app.client.clone();
    let url = app.url("/api/payments");
    let in_flight = actix_web::rt::spawn(async move {
        client
            .post(url)
            .json(&json!({"member_id": 2, "amount_cents": 9900}))
            .send()
            .await
    });
    // Wait until the request and its Stripe call are both being served.
    let deadline = std::time::Instant::now() + common::WAIT;
    while active_posts(&app).await < 2.0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the payment never got going"
        );
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }

    let trigger = app.trigger();
    let stopping = actix_web::rt::spawn(async move { trigger.graceful().await });
    actix_web::rt::time::sleep(Duration::from_millis(50)).await;

    let refused = common::http_client()
        .get(app.url("/health"))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(refused.is_err(), "no new connection after shutdown started");

    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(response.status().as_u16(), 201, "it completes normally");
    let request_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .expect("X-Request-ID");
    stopping.await.unwrap();

    // The flush at stop exports its trace, the Stripe call and the sandbox's span included.
    let receiver = app.stop().await;
    let names: Vec<String> = receiver
        .spans()
        .into_iter()
        .filter(|s| s.trace_id() == request_id)
        .map(|s| s.name().to_owned())
        .collect();
    for name in [
        "POST /api/payments",
        "POST",
        "POST /sandbox/stripe/v1/payment_intents",
        "INSERT payments",
    ] {
        assert!(
            names.iter().any(|n| n == name),
            "{name} missing from {names:?}"
        );
    }
}

/// `http.server.active_requests` for POST: the payment and the sandbox's Stripe request.
async fn active_posts(app: &TestApp) -> f64 {
    let (_, page) = app.scrape().await;
    page.find(
        "http_server_active_requests",
        &[("http_request_method", "POST")],
    )
    .into_iter()
    .map(Sample::value)
    .sum()
}
