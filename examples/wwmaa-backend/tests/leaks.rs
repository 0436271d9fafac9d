//! What must not leak: a request's secrets never reach any output of the service.
//!
//! The real binary runs with every output on (OTLP traces, metrics and logs to a receiver,
//! JSON log lines on stdout, a slow-query log that records every statement, `/metrics` and
//! the development `/metrics/summary`), and is sent requests that carry secrets where clients
//! put them: `Authorization`, `Proxy-Authorization` and `Cookie` headers, sensitive query
//! parameters (`token`, `password`, `sig`, `X-Amz-Signature`; `url.query` keeps the others, as
//! the semantic conventions ask), request bodies (which become query parameters in the database and request bodies to
//! the external APIs), a request that fails validation and one that fails with a database
//! error. After a graceful stop (so everything is flushed), no secret may appear in any span,
//! log record, metric, log line, slow-query line or metrics page.

mod common;

use std::net::SocketAddr;

use common::{free_port, wait_listening, Process};
use otelix_testkit::Receiver;
use serde_json::json;

/// A secret that can be found again: a fixed marker, what it is, and a per-run nonce.
fn secret(kind: &str, nonce: &str) -> String {
    format!("zq{kind}{nonce}")
}

#[actix_web::test]
async fn secrets_of_a_request_never_reach_spans_logs_metrics_or_the_slow_query_log() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let receiver = Receiver::start().expect("receiver");
    let nonce = format!("{:x}", std::process::id() ^ 0x5eed);
    let s = |kind: &str| secret(kind, &nonce);
    // A query parameter that is not sensitive by name is recorded (`url.query`), as the
    // semantic conventions ask; the sensitive ones beside it are redacted.
    let visible = s("visiblenote");
    let secrets = [
        s("authorization"),
        s("cookie"),
        s("querytoken"),
        s("querypassword"),
        s("querysig"),
        s("amzsignature"),
        s("proxyauthorization"),
        s("bodyname"),
        s("bodyemail"),
        s("bodypatch"),
        s("newsletteremail"),
        s("classifytext"),
        s("invalidname"),
        s("failingquery"),
    ];

    let database = dir.path().join("wwmaa.db");
    let database_url = format!("sqlite://{}", database.display());
    let slow_query_log = dir.path().join("slow_queries.log");
    let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let mut service = Process::spawn(
        "wwmaa-backend",
        dir.path(),
        common::service_command(
            addr,
            &database_url,
            &receiver.grpc_endpoint(),
            "grpc",
            &slow_query_log,
        )
        .env("APP_ENV", "development")
        .env("SANDBOX_LATENCY_MS", "2")
        // Every statement is logged as a slow query.
        .env("SLOW_QUERY_THRESHOLD_SECONDS", "0.000001"),
    );
    wait_listening(&mut service, addr);
    let base = format!("http://{addr}");
    let client = common::http_client();
    let send = |request: reqwest::RequestBuilder| common::send(request);

    // Headers and query parameters.
    let listed = send(
        client
            .get(format!(
                "{base}/api/members?status=active&token={}&password={}&sig={}&note={visible}",
                secrets[2], secrets[3], secrets[4]
            ))
            .header("Authorization", format!("Bearer {}", secrets[0]))
            .header("Cookie", format!("session={}", secrets[1])),
    )
    .await;
    // Unknown query parameters are refused (400), after the request was traced and measured.
    assert_eq!(listed.status, 400, "{}", listed.body);
    let headers_only = send(
        client
            .get(format!("{base}/api/members?status=active"))
            .header("Authorization", format!("Bearer {}", secrets[0]))
            .header("Cookie", format!("session={}", secrets[1]))
            .header("Proxy-Authorization", format!("Basic {}", secrets[6])),
    )
    .await;
    assert_eq!(headers_only.status, 200, "{}", headers_only.body);

    // A body that becomes database parameters.
    let created = send(client.post(format!("{base}/api/members")).json(&json!({
        "name": secrets[7],
        "email": format!("{}@example.org", secrets[8]),
    })))
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_i64().expect("the new member's id");
    let read = send(client.get(format!(
        "{base}/api/members/{id}?X-Amz-Signature={}",
        secrets[5]
    )))
    .await;
    assert!(matches!(read.status, 200 | 400), "{}", read.body);
    let patched = send(
        client
            .patch(format!("{base}/api/members/{id}"))
            .json(&json!({"name": secrets[9]})),
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.body);

    // Bodies sent on to the external APIs.
    let subscribed = send(
        client
            .post(format!("{base}/api/newsletter/subscribe"))
            .json(&json!({"email": format!("{}@example.org", secrets[10])})),
    )
    .await;
    assert_eq!(subscribed.status, 201, "{}", subscribed.body);
    let classified = send(
        client
            .post(format!("{base}/api/ai/classify"))
            .json(&json!({"text": secrets[11]})),
    )
    .await;
    assert_eq!(classified.status, 200, "{}", classified.body);

    // A request that fails validation, and one that fails in the database.
    let invalid = send(
        client
            .post(format!("{base}/api/members"))
            .json(&json!({"name": secrets[12], "email": "not an address"})),
    )
    .await;
    assert_eq!(invalid.status, 400, "{}", invalid.body);
    common::drop_sqlite_table(&database_url, "activity_events").await;
    let failed = send(
        client
            .get(format!("{base}/api/reports/activity?window=7"))
            .header("Authorization", format!("Basic {}", secrets[13])),
    )
    .await;
    assert_eq!(failed.status, 500, "{}", failed.body);

    let metrics_page = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    let summary = client
        .get(format!("{base}/metrics/summary"))
        .send()
        .await
        .expect("summary")
        .text()
        .await
        .expect("summary text");

    // A graceful stop flushes every span, metric and log record.
    service.terminate();

    let spans = receiver.spans();
    let logs = receiver.logs();
    let metrics = receiver.metrics();
    let outputs = [
        ("exported spans", format!("{spans:?}")),
        ("exported log records", format!("{logs:?}")),
        ("exported metrics", format!("{metrics:?}")),
        ("stdout and stderr", service.output()),
        (
            "slow-query log",
            std::fs::read_to_string(&slow_query_log).unwrap_or_default(),
        ),
        ("/metrics", metrics_page),
        ("/metrics/summary", summary),
    ];
    // Each output has content, so an empty one cannot pass for a clean one.
    assert!(spans.len() > 20, "spans: {}", spans.len());
    assert!(!logs.is_empty(), "no log record was exported");
    assert!(!metrics.is_empty(), "no metric was exported");
    for (name, text) in &outputs {
        assert!(text.len() > 200, "{name} is (nearly) empty:\n{text}");
    }
    // The requests did reach the outputs: their routes are there.
    assert!(outputs[0].1.contains("/api/members/{id}"));
    assert!(
        outputs[0].1.contains(&format!(
            "status=active&token=REDACTED&password=REDACTED&sig=REDACTED&note={visible}"
        )),
        "url.query is recorded with credentials redacted"
    );
    assert!(outputs[4].1.contains("activity_events"));

    let mut leaks = Vec::new();
    for (name, text) in &outputs {
        for secret in &secrets {
            if let Some(at) = text.find(secret.as_str()) {
                let start = text[..at]
                    .char_indices()
                    .rev()
                    .nth(150)
                    .map_or(0, |(i, _)| i);
                let end = (at + secret.len() + 150).min(text.len());
                let end = (end..=text.len())
                    .find(|&i| text.is_char_boundary(i))
                    .unwrap_or(text.len());
                leaks.push(format!(
                    "{name} holds {secret}: ...{}...",
                    &text[start..end]
                ));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "{} leak(s):\n{}",
        leaks.len(),
        leaks.join("\n\n")
    );
}
