//! The development summary behind `/metrics/summary`, computed from what the Prometheus
//! registry gathers, so the request path keeps no second set of books.
//!
//! Percentiles are estimated from histogram buckets the way Prometheus' `histogram_quantile`
//! does: linear interpolation inside the bucket holding the rank, the highest finite bound
//! when the rank falls in the `+Inf` bucket. They are exact to the bucket resolution of
//! [`otelix::DURATION_BUCKETS_SECONDS`].

use std::collections::BTreeMap;

use otelix::names;
use prometheus::proto::{Metric, MetricFamily, MetricType};
use serde::Serialize;

/// The Prometheus families the summary reads, as the bridge names them.
pub(crate) const HTTP_SERVER_DURATION: &str = names::HTTP_SERVER_REQUEST_DURATION.prometheus;
const DB_DURATION: &str = names::DB_CLIENT_OPERATION_DURATION.prometheus;
const CACHE_REQUESTS: &str = names::CACHE_REQUESTS.prometheus;
const HTTP_CLIENT_DURATION: &str = names::HTTP_CLIENT_REQUEST_DURATION.prometheus;
const JOB_DURATION: &str = names::JOB_DURATION.prometheus;

const LABEL_METHOD: &str = "http_request_method";
const LABEL_ROUTE: &str = "http_route";
const LABEL_STATUS: &str = "http_response_status_code";
const LABEL_ERROR_TYPE: &str = "error_type";
const LABEL_OUTCOME: &str = "outcome";
const LABEL_CACHE_RESULT: &str = "cache_result";
const LABEL_BUCKET: &str = "le";
const SCOPE_LABEL_PREFIX: &str = "otel_scope_";

/// Labels that describe how an operation ended rather than which operation it was: they are
/// counted, not grouped by.
const OUTCOME_LABELS: &[&str] = &[
    LABEL_STATUS,
    LABEL_ERROR_TYPE,
    LABEL_OUTCOME,
    LABEL_CACHE_RESULT,
];

/// The whole summary.
#[derive(Debug, Serialize, PartialEq)]
pub(crate) struct Summary {
    http: Vec<RouteSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    database: Option<Vec<OperationSummary>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache: Option<Vec<CacheSummary>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_apis: Option<Vec<OperationSummary>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jobs: Option<Vec<OperationSummary>>,
}

/// One route and method of this server.
#[derive(Debug, Serialize, PartialEq)]
struct RouteSummary {
    method: String,
    /// `None` for requests that matched no route.
    route: Option<String>,
    #[serde(flatten)]
    stats: Stats,
}

/// One operation of a dependency, identified by its labels (for example `db_system_name`,
/// `db_collection_name` and `db_operation_name`).
#[derive(Debug, Serialize, PartialEq)]
struct OperationSummary {
    labels: BTreeMap<String, String>,
    #[serde(flatten)]
    stats: Stats,
}

#[derive(Debug, Serialize, PartialEq)]
struct Stats {
    count: u64,
    errors: u64,
    error_rate: f64,
    p50_ms: Option<f64>,
    p95_ms: Option<f64>,
    p99_ms: Option<f64>,
}

#[derive(Debug, Serialize, PartialEq)]
struct CacheSummary {
    labels: BTreeMap<String, String>,
    requests: u64,
    hits: u64,
    misses: u64,
    errors: u64,
    /// Hits over hits and misses; `None` before either.
    hit_rate: Option<f64>,
}

/// Builds the summary from gathered metric families.
pub(crate) fn summarize(families: &[MetricFamily]) -> Summary {
    let http = latency_groups(families, HTTP_SERVER_DURATION, http_group, |m| {
        label(m, LABEL_ERROR_TYPE).is_some_and(|v| !v.is_empty())
            || label(m, LABEL_STATUS)
                .and_then(|s| s.parse::<u16>().ok())
                .is_some_and(|s| s >= 500)
    })
    .unwrap_or_default()
    .into_iter()
    .map(|((method, route), stats)| RouteSummary {
        method,
        route,
        stats,
    })
    .collect();

    let has_error_type = |m: &Metric| label(m, LABEL_ERROR_TYPE).is_some_and(|v| !v.is_empty());
    Summary {
        http,
        database: operations(families, DB_DURATION, has_error_type),
        cache: cache(families),
        external_apis: operations(families, HTTP_CLIENT_DURATION, has_error_type),
        jobs: operations(families, JOB_DURATION, |m| {
            label(m, LABEL_OUTCOME).is_some_and(|v| v == "failure")
        }),
    }
}

fn http_group(metric: &Metric) -> (String, Option<String>) {
    (
        label(metric, LABEL_METHOD).unwrap_or_default().to_owned(),
        label(metric, LABEL_ROUTE).map(str::to_owned),
    )
}

/// Every label that names the operation: not the bucket, the scope, or the outcome.
fn identity_labels(metric: &Metric) -> BTreeMap<String, String> {
    metric
        .get_label()
        .iter()
        .filter(|l| {
            let name = l.name();
            name != LABEL_BUCKET
                && !name.starts_with(SCOPE_LABEL_PREFIX)
                && !OUTCOME_LABELS.contains(&name)
        })
        .map(|l| (l.name().to_owned(), l.value().to_owned()))
        .collect()
}

fn operations(
    families: &[MetricFamily],
    name: &str,
    is_error: impl Fn(&Metric) -> bool,
) -> Option<Vec<OperationSummary>> {
    latency_groups(families, name, identity_labels, is_error).map(|groups| {
        groups
            .into_iter()
            .map(|(labels, stats)| OperationSummary { labels, stats })
            .collect()
    })
}

/// Histogram series of the family `name` grouped by `key`, or `None` when the family does not
/// exist (its instrument has not recorded anything yet).
fn latency_groups<K: Ord>(
    families: &[MetricFamily],
    name: &str,
    key: impl Fn(&Metric) -> K,
    is_error: impl Fn(&Metric) -> bool,
) -> Option<BTreeMap<K, Stats>> {
    let mut found = false;
    let mut groups: BTreeMap<K, (Buckets, u64)> = BTreeMap::new();
    for family in families
        .iter()
        .filter(|f| f.name() == name && f.get_field_type() == MetricType::HISTOGRAM)
    {
        found = true;
        for metric in family.get_metric() {
            let (buckets, errors) = groups.entry(key(metric)).or_default();
            let histogram = metric.get_histogram();
            buckets.add(
                histogram
                    .get_bucket()
                    .iter()
                    .map(|b| (b.upper_bound(), b.cumulative_count())),
                histogram.get_sample_count(),
            );
            if is_error(metric) {
                *errors += histogram.get_sample_count();
            }
        }
    }
    found.then(|| {
        groups
            .into_iter()
            .map(|(key, (buckets, errors))| (key, buckets.stats(errors)))
            .collect()
    })
}

fn cache(families: &[MetricFamily]) -> Option<Vec<CacheSummary>> {
    let mut found = false;
    let mut groups: BTreeMap<BTreeMap<String, String>, [u64; 3]> = BTreeMap::new();
    for family in families
        .iter()
        .filter(|f| f.name() == CACHE_REQUESTS && f.get_field_type() == MetricType::COUNTER)
    {
        found = true;
        for metric in family.get_metric() {
            let counts = groups.entry(identity_labels(metric)).or_default();
            let slot = match label(metric, LABEL_CACHE_RESULT) {
                Some("hit") => 0,
                Some("miss") => 1,
                _ => 2,
            };
            counts[slot] += float_count(metric.get_counter().get_value());
        }
    }
    found.then(|| {
        groups
            .into_iter()
            .map(|(labels, [hits, misses, errors])| CacheSummary {
                labels,
                requests: hits + misses + errors,
                hits,
                misses,
                errors,
                hit_rate: ratio(hits, hits + misses),
            })
            .collect()
    })
}

fn label<'m>(metric: &'m Metric, name: &str) -> Option<&'m str> {
    metric
        .get_label()
        .iter()
        .find(|l| l.name() == name)
        .map(|l| l.value())
}

/// A counter value as a count: counters of events hold whole numbers.
fn float_count(value: f64) -> u64 {
    if value.is_finite() && value > 0.0 {
        // Saturating: a float beyond u64 cannot be an event count anyway.
        value.round() as u64
    } else {
        0
    }
}

fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| round3(part as f64 / whole as f64))
}

fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

/// Cumulative bucket counts merged over several series.
#[derive(Debug, Default)]
struct Buckets {
    /// `(upper bound, cumulative count)` in increasing bound order, without `+Inf`.
    cumulative: Vec<(f64, u64)>,
    count: u64,
}

impl Buckets {
    fn add(&mut self, buckets: impl Iterator<Item = (f64, u64)>, count: u64) {
        let incoming: Vec<(f64, u64)> = buckets.filter(|(bound, _)| bound.is_finite()).collect();
        if self.cumulative.is_empty() && self.count == 0 {
            self.cumulative = incoming;
        } else if same_bounds(&self.cumulative, &incoming) {
            for (mine, theirs) in self.cumulative.iter_mut().zip(&incoming) {
                mine.1 += theirs.1;
            }
        } else {
            // Series with different bounds (only if a view changed between them): the merged
            // step function at every bound of either.
            let mut bounds: Vec<f64> = self
                .cumulative
                .iter()
                .chain(&incoming)
                .map(|(bound, _)| *bound)
                .collect();
            bounds.sort_by(f64::total_cmp);
            bounds.dedup();
            self.cumulative = bounds
                .into_iter()
                .map(|b| {
                    (
                        b,
                        at_or_below(&self.cumulative, b) + at_or_below(&incoming, b),
                    )
                })
                .collect();
        }
        self.count += count;
    }

    /// The `q` quantile in seconds, `None` without observations.
    fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = q * self.count as f64;
        let mut lower_bound = 0.0;
        let mut lower_count = 0u64;
        for &(bound, cumulative) in &self.cumulative {
            if cumulative as f64 >= rank {
                let in_bucket = cumulative.saturating_sub(lower_count);
                if in_bucket == 0 {
                    return Some(bound);
                }
                let fraction = (rank - lower_count as f64) / in_bucket as f64;
                return Some(lower_bound + (bound - lower_bound) * fraction);
            }
            lower_bound = bound;
            lower_count = cumulative;
        }
        // The rank lies above every finite bound: the largest finite bound is the best answer
        // the histogram can give (Prometheus does the same).
        Some(lower_bound)
    }

    fn stats(&self, errors: u64) -> Stats {
        let ms = |q| self.quantile(q).map(|seconds| round3(seconds * 1000.0));
        Stats {
            count: self.count,
            errors,
            error_rate: ratio(errors, self.count).unwrap_or(0.0),
            p50_ms: ms(0.5),
            p95_ms: ms(0.95),
            p99_ms: ms(0.99),
        }
    }
}

fn same_bounds(a: &[(f64, u64)], b: &[(f64, u64)]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.0 == y.0)
}

/// The cumulative count of `buckets` at `bound`: that of the largest bound not above it.
fn at_or_below(buckets: &[(f64, u64)], bound: f64) -> u64 {
    buckets
        .iter()
        .take_while(|(b, _)| *b <= bound)
        .last()
        .map_or(0, |(_, c)| *c)
}

#[cfg(test)]
mod tests {
    use opentelemetry_semantic_conventions::{attribute as semattr, metric as semmetric};
    use prometheus::proto::{Bucket, Counter, Histogram, LabelPair};

    use super::*;

    fn prometheus_label(attribute: &str) -> String {
        attribute.replace('.', "_")
    }

    #[test]
    fn names_match_the_semantic_conventions() {
        assert_eq!(
            HTTP_SERVER_DURATION,
            format!(
                "{}_seconds",
                prometheus_label(semmetric::HTTP_SERVER_REQUEST_DURATION)
            )
        );
        assert_eq!(
            DB_DURATION,
            format!(
                "{}_seconds",
                prometheus_label(semmetric::DB_CLIENT_OPERATION_DURATION)
            )
        );
        assert_eq!(
            HTTP_CLIENT_DURATION,
            format!(
                "{}_seconds",
                prometheus_label(semmetric::HTTP_CLIENT_REQUEST_DURATION)
            )
        );
        assert_eq!(LABEL_METHOD, prometheus_label(semattr::HTTP_REQUEST_METHOD));
        assert_eq!(LABEL_ROUTE, prometheus_label(semattr::HTTP_ROUTE));
        assert_eq!(
            LABEL_STATUS,
            prometheus_label(semattr::HTTP_RESPONSE_STATUS_CODE)
        );
        assert_eq!(LABEL_ERROR_TYPE, prometheus_label(semattr::ERROR_TYPE));
    }

    fn labels(pairs: &[(&str, &str)]) -> Vec<LabelPair> {
        pairs
            .iter()
            .map(|(name, value)| {
                let mut label = LabelPair::default();
                label.set_name((*name).to_owned());
                label.set_value((*value).to_owned());
                label
            })
            .collect()
    }

    /// A histogram series from per-bucket (not cumulative) counts over `bounds`, the last
    /// count being the `+Inf` bucket.
    fn histogram(pairs: &[(&str, &str)], bounds: &[f64], counts: &[u64]) -> Metric {
        let mut cumulative = 0;
        let buckets = bounds
            .iter()
            .zip(counts)
            .map(|(bound, count)| {
                cumulative += count;
                let mut bucket = Bucket::default();
                bucket.set_upper_bound(*bound);
                bucket.set_cumulative_count(cumulative);
                bucket
            })
            .collect();
        let mut h = Histogram::default();
        h.set_bucket(buckets);
        h.set_sample_count(counts.iter().sum());
        let mut metric = Metric::from_label(labels(pairs));
        metric.set_histogram(h);
        metric
    }

    fn family(name: &str, kind: MetricType, metrics: Vec<Metric>) -> MetricFamily {
        let mut family = MetricFamily::default();
        family.set_name(name.to_owned());
        family.set_field_type(kind);
        family.set_metric(metrics);
        family
    }

    const BOUNDS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1];

    #[test]
    fn quantiles_interpolate_within_buckets() {
        let mut buckets = Buckets::default();
        // 10 observations in (0.01, 0.025]: every quantile lies in that bucket.
        buckets.add(
            [(0.005, 0), (0.01, 0), (0.025, 10), (0.05, 10)].into_iter(),
            10,
        );
        assert_eq!(buckets.quantile(0.5), Some(0.01 + 0.015 * 0.5));
        assert_eq!(buckets.quantile(1.0), Some(0.025));
        // Above every finite bound: the largest finite bound.
        let mut overflow = Buckets::default();
        overflow.add([(0.005, 0), (0.01, 0)].into_iter(), 4);
        assert_eq!(overflow.quantile(0.5), Some(0.01));
        assert_eq!(Buckets::default().quantile(0.5), None);
    }

    #[test]
    fn first_bucket_interpolates_from_zero() {
        let mut buckets = Buckets::default();
        buckets.add([(0.005, 4), (0.01, 4)].into_iter(), 4);
        assert_eq!(buckets.quantile(0.5), Some(0.0025));
    }

    #[test]
    fn series_with_different_bounds_merge_as_step_functions() {
        let mut buckets = Buckets::default();
        buckets.add([(0.01, 1), (0.1, 2)].into_iter(), 2);
        buckets.add([(0.05, 1), (0.1, 1)].into_iter(), 1);
        assert_eq!(buckets.cumulative, vec![(0.01, 1), (0.05, 2), (0.1, 3)]);
        assert_eq!(buckets.count, 3);
    }

    #[test]
    fn http_routes_group_status_codes_and_count_server_errors() {
        let families = vec![family(
            HTTP_SERVER_DURATION,
            MetricType::HISTOGRAM,
            vec![
                histogram(
                    &[
                        (LABEL_METHOD, "GET"),
                        (LABEL_ROUTE, "/users/{id}"),
                        (LABEL_STATUS, "200"),
                        ("otel_scope_name", "otelix"),
                    ],
                    BOUNDS,
                    &[8, 0, 0, 0, 0, 0],
                ),
                histogram(
                    &[
                        (LABEL_METHOD, "GET"),
                        (LABEL_ROUTE, "/users/{id}"),
                        (LABEL_STATUS, "500"),
                        (LABEL_ERROR_TYPE, "500"),
                    ],
                    BOUNDS,
                    &[0, 0, 0, 0, 2, 0],
                ),
                histogram(
                    &[(LABEL_METHOD, "GET"), (LABEL_STATUS, "404")],
                    BOUNDS,
                    &[3, 0, 0, 0, 0, 0],
                ),
            ],
        )];
        let summary = summarize(&families);
        assert_eq!(summary.http.len(), 2);
        let unmatched = &summary.http[0];
        assert_eq!(
            (unmatched.route.as_deref(), unmatched.stats.count),
            (None, 3)
        );
        assert_eq!(unmatched.stats.errors, 0);
        let users = &summary.http[1];
        assert_eq!(users.route.as_deref(), Some("/users/{id}"));
        assert_eq!((users.stats.count, users.stats.errors), (10, 2));
        assert_eq!(users.stats.error_rate, 0.2);
        assert_eq!(users.stats.p50_ms, Some(3.125));
        // Rank 9.5 of 10 is 1.5 into the 2 requests of (50, 100] ms.
        assert_eq!(users.stats.p95_ms, Some(87.5));
        assert!(summary.database.is_none() && summary.cache.is_none());
    }

    #[test]
    fn dependency_sections_appear_with_their_metrics() {
        let mut hit = Metric::from_label(labels(&[
            ("cache_name", "sessions"),
            ("cache_operation", "get"),
            (LABEL_CACHE_RESULT, "hit"),
        ]));
        let mut counter = Counter::default();
        counter.set_value(3.0);
        hit.set_counter(counter.clone());
        let mut miss = Metric::from_label(labels(&[
            ("cache_name", "sessions"),
            ("cache_operation", "get"),
            (LABEL_CACHE_RESULT, "miss"),
        ]));
        counter.set_value(1.0);
        miss.set_counter(counter);
        let families = vec![
            family(CACHE_REQUESTS, MetricType::COUNTER, vec![hit, miss]),
            family(
                DB_DURATION,
                MetricType::HISTOGRAM,
                vec![histogram(
                    &[
                        ("db_collection_name", "users"),
                        ("db_operation_name", "SELECT"),
                        (LABEL_ERROR_TYPE, "timeout"),
                    ],
                    BOUNDS,
                    &[0, 1, 0, 0, 0, 0],
                )],
            ),
            family(
                JOB_DURATION,
                MetricType::HISTOGRAM,
                vec![histogram(
                    &[("job_name", "digest"), (LABEL_OUTCOME, "failure")],
                    BOUNDS,
                    &[1, 0, 0, 0, 0, 0],
                )],
            ),
        ];
        let summary = summarize(&families);
        let cache = summary.cache.unwrap_or_default();
        assert_eq!(cache.len(), 1);
        assert_eq!(
            (cache[0].hits, cache[0].misses, cache[0].requests),
            (3, 1, 4)
        );
        assert_eq!(cache[0].hit_rate, Some(0.75));
        assert_eq!(
            cache[0].labels.get("cache_name").map(String::as_str),
            Some("sessions")
        );
        let database = summary.database.unwrap_or_default();
        assert_eq!(database[0].stats.errors, 1);
        assert!(!database[0].labels.contains_key(LABEL_ERROR_TYPE));
        let jobs = summary.jobs.unwrap_or_default();
        assert_eq!((jobs[0].stats.count, jobs[0].stats.errors), (1, 1));
        assert!(summary.external_apis.is_none());
    }
}
