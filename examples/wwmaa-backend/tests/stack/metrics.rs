//! Metrics: the same names on the collector's exporter as on the service's `/metrics`, and
//! Prometheus's exemplars naming traces that Jaeger has.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::common::prometheus::PromApi;
use crate::common::{self, ok, WAIT};
use crate::setup::{Stack, Traffic};
use crate::{unix_now, SANDBOX, SERVICE};

impl Stack {
    /// The collector's Prometheus exporter carries the same metric names for the service as
    /// the service's own `/metrics`.
    pub(crate) async fn check_metric_names(&self) {
        let deadline = Instant::now() + WAIT;
        let (own, through) = loop {
            let own = sample_names(&self.get_text(&self.url("/metrics")).await, None);
            let through = sample_names(
                &self
                    .get_text(&format!("http://{}/metrics", self.collector_addrs.exporter))
                    .await,
                Some(SERVICE),
            );
            // The last OTLP export may lag behind the scrape: wait for it.
            if own == through || Instant::now() > deadline {
                break (own, through);
            }
            actix_web::rt::time::sleep(Duration::from_millis(250)).await;
        };
        let only_own: Vec<&String> = own.difference(&through).collect();
        let only_through: Vec<&String> = through.difference(&own).collect();
        assert!(
            only_own.is_empty() && only_through.is_empty() && own.len() > 10,
            "{}",
            self.failure(&format!(
                "metric names differ between the service's /metrics and the collector's exporter (job {SERVICE}):\n  only in /metrics: {only_own:?}\n  only in the collector's exporter: {only_through:?}\n  /metrics has {} names",
                own.len()
            ))
        );
        ok(&format!(
            "the collector's Prometheus exporter and the service's /metrics carry the same {} metric names for job {SERVICE}",
            own.len()
        ));
    }

    async fn get_text(&self, url: &str) -> String {
        let response = self
            .client
            .get(url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}", self.failure(&format!("GET {url}: {e}"))));
        assert!(
            response.status().is_success(),
            "{}",
            self.failure(&format!("GET {url}: {}", response.status()))
        );
        response.text().await.expect("a text body")
    }

    /// Prometheus scrapes the service and, through the collector's exporter, the second
    /// service; an exemplar of the latency histogram names a trace that Jaeger has.
    pub(crate) async fn check_prometheus(&self, traffic: &Traffic) {
        let (_, addr) = self
            .prometheus
            .as_ref()
            .expect("the gRPC run has Prometheus");
        let api = PromApi {
            base: format!("http://{addr}"),
            client: self.client.clone(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        let (trace_ids, body) = loop {
            let (trace_ids, body) = api
                .exemplar_trace_ids(
                    &format!("http_server_request_duration_seconds_bucket{{job=\"{SERVICE}\"}}"),
                    self.started - 60.0,
                    unix_now() + 60.0,
                )
                .await;
            let scraped = api
                .query(&format!(
                    "http_server_request_duration_seconds_count{{job=\"{SANDBOX}\"}}"
                ))
                .await;
            if !trace_ids.is_empty() && scraped.as_array().is_some_and(|s| !s.is_empty()) {
                break (trace_ids, body);
            }
            assert!(
                Instant::now() < deadline,
                "{}",
                self.failure(&format!(
                    "Prometheus has no exemplars of {SERVICE}'s request histogram, or no {SANDBOX} series from the collector's exporter:\n  exemplars: {body}\n  {SANDBOX}: {scraped}"
                ))
            );
            actix_web::rt::time::sleep(Duration::from_millis(500)).await;
        };
        let buckets = body["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["seriesLabels"]["le"].is_string())
            .count();
        assert!(buckets > 0, "exemplars not on bucket series: {body}");
        let distinct: BTreeSet<&String> = trace_ids.iter().collect();
        for id in &distinct {
            self.trace_until(id, "an exemplar's trace", |trace| {
                trace
                    .spans
                    .iter()
                    .find(|s| s.service == SERVICE && s.kind() == Some("server"))
                    .map(|_| ())
                    .ok_or(format!("no SERVER span of {SERVICE}"))
            })
            .await;
        }
        let ours = distinct
            .iter()
            .filter(|id| traffic.all.contains(id))
            .count();
        ok(&format!(
            "Prometheus: {} exemplars on {buckets} http_server_request_duration_seconds_bucket series of job {SERVICE} name {} traces, every one in Jaeger ({ours} of them this test's requests); {SANDBOX}'s series arrive through the collector's exporter",
            trace_ids.len(),
            distinct.len()
        ));
    }
}

/// The sample names of a Prometheus text exposition (`_bucket`, `_count`, `_total` ...),
/// only of the series whose `job` label is `job` when one is given.
fn sample_names(text: &str, job: Option<&str>) -> BTreeSet<String> {
    common::exposition(text)
        .samples()
        .filter(|sample| job.is_none_or(|job| sample.label("job") == Some(job)))
        .map(|sample| sample.name().to_owned())
        .collect()
}

#[test]
fn sample_names_filter_by_job() {
    let text = "# TYPE a counter\na_total{job=\"x\",le=\"1\"} 1\nb{job=\"y\"} 2\nc 3\nd{x=\"a\\\"job=\\\"x\",job=\"x\"} 4\n";
    assert_eq!(
        sample_names(text, Some("x")),
        BTreeSet::from(["a_total".to_owned(), "d".to_owned()])
    );
    assert_eq!(sample_names(text, None).len(), 4);
}
