//! The traces in Jaeger: the payment's across both services, the failing request's, and the
//! slow-query record's.

use std::time::{Duration, Instant};

use crate::common::{ok, WAIT};
use crate::jaeger::{Jaeger, JaegerTrace};
use crate::setup::{Stack, Traffic};
use crate::{ENVIRONMENT, SANDBOX, SERVICE};

impl Stack {
    fn jaeger(&self) -> Jaeger {
        Jaeger {
            base: format!("http://{}", self.jaeger_query),
            client: self.client.clone(),
        }
    }

    /// The trace `id` from Jaeger once `complete` holds for it; a failure with what Jaeger
    /// returned otherwise.
    pub(crate) async fn trace_until(
        &self,
        id: &str,
        what: &str,
        complete: impl Fn(&JaegerTrace) -> Result<(), String>,
    ) -> JaegerTrace {
        match self.jaeger().wait_for(id, complete).await {
            Ok(trace) => trace,
            Err((problem, trace)) => panic!(
                "{}",
                self.failure(&format!(
                    "{what}: Jaeger's trace {id} is not what was expected: {problem}\nJaeger returned:\n{}",
                    trace.describe()
                ))
            ),
        }
    }

    /// The payment's trace in Jaeger: the SERVER span as root, its PostgreSQL, Redis and
    /// Stripe CLIENT children, the second service's SERVER span below the Stripe call.
    pub(crate) async fn check_payment_trace(&self, traffic: &Traffic) {
        let trace = self
            .trace_until(&traffic.payment, "POST /api/payments", |trace| {
                let root = trace.root()?;
                expect_eq(root.kind(), Some("server"), "the root's span.kind")?;
                expect_eq(
                    Some(root.service.as_str()),
                    Some(SERVICE),
                    "the root's service",
                )?;
                expect_eq(
                    Some(root.name.as_str()),
                    Some("POST /api/payments"),
                    "the root's name",
                )?;
                expect_eq(
                    root.tag("http.response.status_code").as_deref(),
                    Some("201"),
                    "the root's http.response.status_code",
                )?;
                for (key, value) in [
                    ("service.instance.id", self.service_instance.as_str()),
                    ("service.version", env!("CARGO_PKG_VERSION")),
                    ("deployment.environment.name", ENVIRONMENT),
                ] {
                    expect_eq(
                        root.resource(key).as_deref(),
                        Some(value),
                        &format!("the root's resource attribute {key}"),
                    )?;
                }
                let children = trace.children_of(root);
                let client = |system: &str| {
                    children
                        .iter()
                        .find(|s| {
                            s.kind() == Some("client")
                                && s.tag("db.system.name").as_deref() == Some(system)
                        })
                        .ok_or(format!("no {system} CLIENT span under the root"))
                };
                client("postgresql")?;
                client("redis")?;
                let stripe = children
                    .iter()
                    .find(|s| {
                        s.kind() == Some("client")
                            && s.tag("service.peer.name").as_deref() == Some("stripe")
                    })
                    .ok_or("no stripe CLIENT span under the root")?;
                let far = trace
                    .children_of(stripe)
                    .into_iter()
                    .find(|s| s.kind() == Some("server"))
                    .ok_or("no SERVER span under the stripe CLIENT span")?;
                expect_eq(
                    Some(far.service.as_str()),
                    Some(SANDBOX),
                    "the far side's service",
                )?;
                expect_eq(
                    far.resource("service.instance.id").as_deref(),
                    Some(self.sandbox_instance.as_str()),
                    "the far side's resource attribute service.instance.id",
                )?;
                Ok(())
            })
            .await;
        let root = trace.root().expect("checked");
        let children = trace.children_of(root);
        let far = trace
            .spans
            .iter()
            .find(|s| s.service == SANDBOX)
            .expect("checked");
        ok(&format!(
            "Jaeger (OTLP {}): X-Request-ID {} is a trace of {} spans: root {:?} ({SERVICE}, SERVER) with {} children ({}), and {:?} of {SANDBOX} below the Stripe call; resource attributes service.instance.id (each service's own), service.version, deployment.environment.name={ENVIRONMENT}",
            self.protocol.otel_name(),
            traffic.payment,
            trace.spans.len(),
            root.name,
            children.len(),
            children
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            far.name,
        ));
    }

    /// A failing request's trace: error status on the SERVER span and on the call that failed.
    pub(crate) async fn check_failing_trace(&self, traffic: &Traffic) {
        let trace = self
            .trace_until(&traffic.failing, "POST /api/ai/classify", |trace| {
                let root = trace.root()?;
                expect_eq(
                    root.tag("http.response.status_code").as_deref(),
                    Some("502"),
                    "the root's http.response.status_code",
                )?;
                expect_eq(
                    root.tag("otel.status_code").as_deref(),
                    Some("ERROR"),
                    "the root's otel.status_code",
                )?;
                expect_eq(
                    root.tag("error").as_deref(),
                    Some("true"),
                    "the root's error tag",
                )?;
                expect_eq(
                    root.tag("error.type").as_deref(),
                    Some("502"),
                    "the root's error.type",
                )?;
                let call = trace
                    .children_of(root)
                    .into_iter()
                    .find(|s| s.tag("service.peer.name").as_deref() == Some("ai_registry"))
                    .ok_or("no ai_registry CLIENT span under the root")?;
                expect_eq(
                    call.tag("otel.status_code").as_deref(),
                    Some("ERROR"),
                    "the ai_registry call's otel.status_code",
                )?;
                let far = trace
                    .children_of(call)
                    .into_iter()
                    .find(|s| s.service == SANDBOX && s.kind() == Some("server"))
                    .ok_or("no SERVER span of the second service under the call")?;
                expect_eq(
                    far.tag("http.response.status_code").as_deref(),
                    Some("404"),
                    "the far side's http.response.status_code",
                )?;
                Ok(())
            })
            .await;
        let root = trace.root().expect("checked");
        ok(&format!(
            "Jaeger: the failing request's trace ({} spans) has otel.status_code=ERROR, error.type=502 on its root {:?}, the failed ai_registry call under it and {SANDBOX}'s 404 below that",
            trace.spans.len(),
            root.name
        ));
    }

    /// The slow-query log's record of the report: its trace is in Jaeger with its span.
    pub(crate) async fn check_slow_query(&self, traffic: &Traffic) {
        let deadline = Instant::now() + WAIT;
        let record = loop {
            let text = std::fs::read_to_string(&self.slow_query_log).unwrap_or_default();
            let found = text
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .find(|l| l["trace_id"] == traffic.report.as_str() && l["kind"] == "slow_query");
            if let Some(record) = found {
                break record;
            }
            assert!(
                Instant::now() < deadline,
                "{}",
                self.failure(&format!(
                    "no slow_query record with trace_id {} in {}:\n{text}",
                    traffic.report,
                    self.slow_query_log.display()
                ))
            );
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        };
        let trace_id = record["trace_id"].as_str().expect("a trace_id").to_owned();
        let span_id = record["span_id"].as_str().expect("a span_id").to_owned();
        let query = record["query"].as_str().expect("a query").to_owned();
        assert_eq!(record["db_system"], "postgresql", "{record}");
        let trace = self
            .trace_until(&trace_id, "the slow-query record's trace", |trace| {
                let span = trace
                    .spans
                    .iter()
                    .find(|s| s.span_id == span_id)
                    .ok_or(format!("no span {span_id}"))?;
                expect_eq(span.kind(), Some("client"), "the span's span.kind")?;
                expect_eq(
                    span.tag("db.system.name").as_deref(),
                    Some("postgresql"),
                    "the span's db.system.name",
                )?;
                expect_eq(
                    span.tag("db.query.text").as_deref(),
                    Some(query.as_str()),
                    "the span's db.query.text (the record's query)",
                )?;
                Ok(())
            })
            .await;
        let span = trace
            .spans
            .iter()
            .find(|s| s.span_id == span_id)
            .expect("checked");
        ok(&format!(
            "slow-query record ({} ms) -> Jaeger trace {trace_id} ({} spans) holds its span {span_id} {:?} with the same db.query.text",
            record["duration_ms"],
            trace.spans.len(),
            span.name
        ));
    }
}

/// `Err` naming what differs when `actual` is not `expected`.
fn expect_eq(actual: Option<&str>, expected: Option<&str>, what: &str) -> Result<(), String> {
    if actual == expected {
        Ok(())
    } else {
        Err(format!("{what} is {actual:?}, expected {expected:?}"))
    }
}
