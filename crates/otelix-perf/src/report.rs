//! The report: results per endpoint, SLO verdicts, slowest requests; as a text table and as
//! JSON (schema version [`SCHEMA_VERSION`], documented in the crate's README).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::engine::LoadResult;
use crate::plan::Target;
use crate::slo::{Percentile, SloFile};
use crate::stats::EndpointStats;

/// Version of the JSON report's shape; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// `otelix-perf`.
    pub tool: &'static str,
    /// The tool's version.
    pub tool_version: &'static str,
    /// When the run started, in milliseconds since the Unix epoch.
    pub started_at_unix_ms: u64,
    /// What was asked for.
    pub parameters: Parameters,
    /// Whether Ctrl-C cut the run short.
    pub interrupted: bool,
    /// Wall-clock length of the run, in seconds.
    pub elapsed_s: f64,
    /// Sums over every endpoint.
    pub totals: Totals,
    /// One entry per endpoint, in the order they were sent.
    pub endpoints: Vec<EndpointReport>,
    /// One verdict per SLO entry that had at least one endpoint in the run.
    pub slos: Vec<SloReport>,
    /// True when every SLO held, false when one failed, null when no SLO applied.
    pub slo_passed: Option<bool>,
    /// The slowest requests, slowest first.
    pub slowest: Vec<SlowReport>,
}

/// The run's parameters.
#[derive(Debug, Clone, Serialize)]
pub struct Parameters {
    /// `--base-url`.
    pub base_url: String,
    /// `closed_loop` or `open_loop` (with `--rate`).
    pub mode: &'static str,
    /// `--requests` (total), or null with `--duration`.
    pub requests: Option<u64>,
    /// `--duration` in seconds, or null.
    pub duration_s: Option<f64>,
    /// `--concurrency`.
    pub concurrency: usize,
    /// `--rate` in requests per second, or null in closed loop.
    pub rate: Option<f64>,
    /// `--timeout` in seconds.
    pub timeout_s: f64,
    /// `--slo`, or null.
    pub slo_file: Option<String>,
    /// `--slowest`.
    pub slowest: usize,
    /// `--method`, or null.
    pub method: Option<String>,
    /// `--body`, or null.
    pub body_file: Option<String>,
}

/// Totals over every endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct Totals {
    /// Requests sent or attempted.
    pub requests: u64,
    /// Requests that got a response.
    pub responses: u64,
    /// Requests per second over the run.
    pub throughput_rps: f64,
    /// Errors by class.
    pub errors: ErrorCounts,
    /// Open loop with a duration: requests due before the end that were not started by then,
    /// because the service (or `--concurrency`) could not keep up with `--rate`. 0 otherwise.
    pub not_sent: u64,
}

/// Errors by class. A 4xx is counted here but is no availability failure.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ErrorCounts {
    /// The connection or HTTP handshake failed.
    pub connect: u64,
    /// No complete response within the timeout.
    pub timeout: u64,
    /// 4xx responses.
    pub http_4xx: u64,
    /// 5xx responses.
    pub http_5xx: u64,
    /// Other I/O failures.
    pub io: u64,
}

impl ErrorCounts {
    fn of(stats: &EndpointStats) -> Self {
        Self {
            connect: stats.connect_errors,
            timeout: stats.timeouts,
            http_4xx: stats.status_range(400, 500),
            http_5xx: stats.status_range(500, 600),
            io: stats.io_errors,
        }
    }

    fn add(self, other: Self) -> Self {
        Self {
            connect: self.connect + other.connect,
            timeout: self.timeout + other.timeout,
            http_4xx: self.http_4xx + other.http_4xx,
            http_5xx: self.http_5xx + other.http_5xx,
            io: self.io + other.io,
        }
    }

    /// All errors, 4xx included.
    pub fn total(&self) -> u64 {
        self.connect + self.timeout + self.http_4xx + self.http_5xx + self.io
    }
}

/// Results of one endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointReport {
    /// `METHOD path`.
    pub endpoint: String,
    /// HTTP method.
    pub method: String,
    /// Request target, without the base URL.
    pub path: String,
    /// Name of the SLO entry it is checked against, or null.
    pub slo: Option<String>,
    /// Requests sent or attempted.
    pub requests: u64,
    /// Requests that got a response.
    pub responses: u64,
    /// Requests per second over the run.
    pub throughput_rps: f64,
    /// Latency of the responses (any status), null when there was none.
    pub latency_ms: Option<Latency>,
    /// Errors by class.
    pub errors: ErrorCounts,
    /// Responses per status code (keys are the codes as strings).
    pub status_codes: BTreeMap<String, u64>,
    /// One message per transport error class that occurred (`connect`, `timeout`, `io`).
    pub error_examples: BTreeMap<String, String>,
}

/// Latency summary in milliseconds (microsecond resolution, 3 significant digits).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Latency {
    /// Fastest.
    pub min: f64,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Slowest.
    pub max: f64,
}

impl Latency {
    fn of(histogram: &Histogram<u64>) -> Option<Self> {
        if histogram.is_empty() {
            return None;
        }
        let q = |p: Percentile| percentile_ms(histogram, p);
        Some(Self {
            min: ms(histogram.min()),
            mean: round3(histogram.mean() / 1000.0),
            p50: q(Percentile::P50),
            p90: q(Percentile::P90),
            p95: q(Percentile::P95),
            p99: q(Percentile::P99),
            p999: q(Percentile::P999),
            max: ms(histogram.max()),
        })
    }
}

/// The verdict on one SLO entry, over all the requests of its endpoints together.
#[derive(Debug, Clone, Serialize)]
pub struct SloReport {
    /// The entry's name.
    pub name: String,
    /// Its class.
    pub class: String,
    /// Its endpoints that were in the run.
    pub endpoints: Vec<String>,
    /// Requests to those endpoints.
    pub requests: u64,
    /// Whether every objective held.
    pub passed: bool,
    /// The availability objective.
    pub availability: AvailabilityCheck,
    /// The latency objectives, in increasing percentile order.
    pub latency_ms: Vec<LatencyCheck>,
}

/// Availability: the share of requests with a non-5xx response.
#[derive(Debug, Clone, Serialize)]
pub struct AvailabilityCheck {
    /// The objective, in (0, 1).
    pub target: f64,
    /// Observed share, null when no request was made.
    pub observed: Option<f64>,
    /// Whether observed ≥ target.
    pub passed: bool,
}

/// One latency objective.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyCheck {
    /// `p50`, `p90`, `p95`, `p99` or `p999`.
    pub percentile: &'static str,
    /// The highest acceptable value, in milliseconds.
    pub target: f64,
    /// Observed value, null when there was no response.
    pub observed: Option<f64>,
    /// Whether observed ≤ target.
    pub passed: bool,
}

/// One of the slowest requests.
#[derive(Debug, Clone, Serialize)]
pub struct SlowReport {
    /// The `X-Request-ID` response header: the trace ID to open in Jaeger. Null if absent.
    pub request_id: Option<String>,
    /// `METHOD path`.
    pub endpoint: String,
    /// Response status.
    pub status: u16,
    /// Latency in milliseconds.
    pub latency_ms: f64,
}

/// Builds the report from what was measured.
pub fn build(
    parameters: Parameters,
    started_at_unix_ms: u64,
    targets: &[Target],
    slos: Option<&SloFile>,
    result: &LoadResult,
) -> Report {
    let seconds = result.elapsed.as_secs_f64().max(1e-9);
    let rate = |n: u64| round3(n as f64 / seconds);
    let slo_name = |index: Option<usize>| {
        index
            .and_then(|i| slos.and_then(|f| f.slos.get(i)))
            .map(|s| s.name.clone())
    };

    let endpoints: Vec<EndpointReport> = targets
        .iter()
        .zip(&result.per_target)
        .map(|(target, stats)| EndpointReport {
            endpoint: target.label.clone(),
            method: target.method.to_string(),
            path: target.path.clone(),
            slo: slo_name(target.slo),
            requests: stats.requests(),
            responses: stats.responses(),
            throughput_rps: rate(stats.requests()),
            latency_ms: Latency::of(&stats.latency_us),
            errors: ErrorCounts::of(stats),
            status_codes: stats
                .statuses
                .iter()
                .map(|(s, n)| (s.to_string(), *n))
                .collect(),
            error_examples: stats
                .error_examples
                .iter()
                .map(|(e, m)| (format!("{e:?}").to_lowercase(), m.clone()))
                .collect(),
        })
        .collect();

    let requests = endpoints.iter().map(|e| e.requests).sum();
    let not_sent = match (parameters.rate, parameters.duration_s) {
        (Some(rate), Some(duration)) if !result.interrupted => {
            ((rate * duration).ceil() as u64).saturating_sub(requests)
        }
        _ => 0,
    };
    let totals = Totals {
        requests,
        responses: endpoints.iter().map(|e| e.responses).sum(),
        throughput_rps: rate(requests),
        errors: endpoints
            .iter()
            .fold(ErrorCounts::default(), |sum, e| sum.add(e.errors)),
        not_sent,
    };

    let mut slo_reports = Vec::new();
    for (index, slo) in slos.iter().flat_map(|f| f.slos.iter()).enumerate() {
        let members: Vec<usize> = (0..targets.len())
            .filter(|&t| targets[t].slo == Some(index))
            .collect();
        if members.is_empty() {
            continue;
        }
        let mut combined = EndpointStats::new();
        for &t in &members {
            combined.merge(&result.per_target[t]);
        }
        let requests = combined.requests();
        let bad = combined.transport_errors() + combined.status_range(500, 600);
        let observed = (requests > 0).then(|| (requests - bad) as f64 / requests as f64);
        let availability = AvailabilityCheck {
            target: slo.availability,
            observed: observed.map(|o| (o * 1e6).round() / 1e6),
            passed: observed.is_some_and(|o| o >= slo.availability),
        };
        let latency_ms: Vec<LatencyCheck> = slo
            .latency_ms
            .iter()
            .map(|&(percentile, target)| {
                let observed = (!combined.latency_us.is_empty())
                    .then(|| percentile_ms(&combined.latency_us, percentile));
                LatencyCheck {
                    percentile: percentile.key(),
                    target,
                    observed,
                    passed: observed.is_some_and(|o| o <= target),
                }
            })
            .collect();
        slo_reports.push(SloReport {
            name: slo.name.clone(),
            class: slo.class.clone(),
            endpoints: members.iter().map(|&t| targets[t].label.clone()).collect(),
            requests,
            passed: availability.passed && latency_ms.iter().all(|c| c.passed),
            availability,
            latency_ms,
        });
    }
    let slo_passed = (!slo_reports.is_empty()).then(|| slo_reports.iter().all(|s| s.passed));

    let slowest = result
        .slowest
        .iter()
        .map(|r| SlowReport {
            request_id: r.request_id.clone(),
            endpoint: targets
                .get(r.target)
                .map(|t| t.label.clone())
                .unwrap_or_default(),
            status: r.status,
            latency_ms: ms(r.latency_us),
        })
        .collect();

    Report {
        schema_version: SCHEMA_VERSION,
        tool: "otelix-perf",
        tool_version: env!("CARGO_PKG_VERSION"),
        started_at_unix_ms,
        parameters,
        interrupted: result.interrupted,
        elapsed_s: round3(result.elapsed.as_secs_f64()),
        totals,
        endpoints,
        slos: slo_reports,
        slo_passed,
        slowest,
    }
}

fn percentile_ms(histogram: &Histogram<u64>, percentile: Percentile) -> f64 {
    ms(histogram.value_at_quantile(percentile.quantile()))
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

fn fmt_ms(value: Option<f64>) -> String {
    match value {
        None => "-".into(),
        Some(v) if v >= 100.0 => format!("{v:.0}"),
        Some(v) if v >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.2}"),
    }
}

/// The report as text for a terminal.
pub fn render_text(report: &Report) -> String {
    let mut out = String::new();
    let p = &report.parameters;
    let mode = match p.rate {
        Some(rate) => format!(
            "open loop at {rate} req/s, at most {} in flight",
            p.concurrency
        ),
        None => format!("closed loop, {} connections", p.concurrency),
    };
    let _ = writeln!(
        out,
        "{}: {} requests in {:.2}s ({:.1} req/s), {mode}{}",
        p.base_url,
        report.totals.requests,
        report.elapsed_s,
        report.totals.throughput_rps,
        if report.interrupted {
            ", interrupted"
        } else {
            ""
        }
    );
    if report.totals.not_sent > 0 {
        let _ = writeln!(
            out,
            "warning: {} requests due by the end were not sent: the service (or --concurrency) \
             could not keep up with --rate",
            report.totals.not_sent
        );
    }
    let width = report
        .endpoints
        .iter()
        .map(|e| e.endpoint.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let _ = writeln!(
        out,
        "\n{:<width$} {:>9} {:>10} {:>8} {:>8} {:>8} {:>8} {:>8}  {:<36} status codes",
        "endpoint",
        "requests",
        "req/s",
        "p50 ms",
        "p90 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "errors connect/timeout/4xx/5xx/io"
    );
    for e in &report.endpoints {
        let l = e.latency_ms;
        let codes: Vec<String> = e
            .status_codes
            .iter()
            .map(|(code, n)| format!("{code}:{n}"))
            .collect();
        let x = e.errors;
        let errors = format!(
            "{}/{}/{}/{}/{}",
            x.connect, x.timeout, x.http_4xx, x.http_5xx, x.io
        );
        let _ = writeln!(
            out,
            "{:<width$} {:>9} {:>10.1} {:>8} {:>8} {:>8} {:>8} {:>8}  {errors:<36} {}",
            e.endpoint,
            e.requests,
            e.throughput_rps,
            fmt_ms(l.map(|l| l.p50)),
            fmt_ms(l.map(|l| l.p90)),
            fmt_ms(l.map(|l| l.p95)),
            fmt_ms(l.map(|l| l.p99)),
            fmt_ms(l.map(|l| l.max)),
            codes.join(" "),
        );
        for (class, message) in &e.error_examples {
            let _ = writeln!(out, "{:<width$}   {class} error, e.g.: {message}", "");
        }
    }

    if !report.slos.is_empty() {
        let _ = writeln!(out, "\nSLO verdicts");
        for slo in &report.slos {
            let a = &slo.availability;
            let mut checks = vec![format!(
                "availability {} {} {:.3}%",
                a.observed
                    .map_or("-".into(), |o| format!("{:.3}%", o * 100.0)),
                if a.passed { ">=" } else { "<" },
                a.target * 100.0
            )];
            for c in &slo.latency_ms {
                checks.push(format!(
                    "{} {} ms {} {} ms{}",
                    c.percentile,
                    fmt_ms(c.observed),
                    if c.passed { "<=" } else { ">" },
                    c.target,
                    if c.passed { "" } else { " (FAILED)" }
                ));
            }
            let _ = writeln!(
                out,
                "  {} {} [{}]: {}",
                if slo.passed { "PASS" } else { "FAIL" },
                slo.name,
                slo.endpoints.join(", "),
                checks.join("; ")
            );
        }
    }

    if !report.slowest.is_empty() {
        let _ = writeln!(
            out,
            "\nSlowest requests (X-Request-ID is the trace ID to open in Jaeger)"
        );
        let _ = writeln!(
            out,
            "  {:>10}  {:>6}  {:<width$}  X-Request-ID",
            "latency ms", "status", "endpoint"
        );
        for s in &report.slowest {
            let _ = writeln!(
                out,
                "  {:>10}  {:>6}  {:<width$}  {}",
                fmt_ms(Some(s.latency_ms)),
                s.status,
                s.endpoint,
                s.request_id
                    .as_deref()
                    .unwrap_or("(no X-Request-ID header)")
            );
        }
    }
    match report.slo_passed {
        Some(true) => out.push_str("\nAll SLOs hold.\n"),
        Some(false) => out.push_str("\nSLO FAILED: at least one objective does not hold.\n"),
        None => {}
    }
    out
}
