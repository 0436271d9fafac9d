//! Every metric and attribute name otelix emits, as data: what the instrumentation records
//! under, what `docs/observability/metrics.md` lists, and what the dashboards, alert rules and
//! tests query.
//!
//! Each metric is a [`Metric`] constant (OpenTelemetry instrument name, [`MetricKind`], unit,
//! description, the [`Attribute`]s it carries and the name the Prometheus bridge exposes),
//! and [`METRICS`] lists them all. Attribute keys otelix defines itself ([`CACHE_NAME`],
//! [`JOB_NAME`], [`OTELIX_OPERATION`], ...) are `&str` constants; keys and metric names the
//! OpenTelemetry semantic conventions define are taken from `opentelemetry-semantic-conventions`,
//! never spelled again here.
//!
//! ```
//! use otelix::names;
//!
//! let duration = names::HTTP_SERVER_REQUEST_DURATION;
//! assert_eq!(duration.name, "http.server.request.duration");
//! assert_eq!(duration.prometheus, "http_server_request_duration_seconds");
//! assert!(duration.prometheus_labels().any(|label| label == "http_route"));
//!
//! // What a test or a rules check sees in a scrape, back to the instrument.
//! let counter = names::metric("otelix_cache_requests_total").expect("an otelix metric");
//! assert_eq!(counter.name, names::CACHE_REQUESTS.name);
//! ```
//!
//! Prometheus names follow the bridge's translation, which the collector's Prometheus exporter
//! shares: dots become underscores, the unit is appended (`s` as `_seconds`; annotations such
//! as `{request}` add nothing), counters end in `_total`, and histograms are exposed as
//! `_bucket`, `_sum` and `_count` series of the family name ([`Metric::prometheus_series`]).

mod attributes;
mod metrics;

pub use attributes::{
    CACHE_KEY_PREFIX, CACHE_NAME, CACHE_OPERATION, CACHE_RESULT, CLIENT_REQUEST_ID, JOB_NAME,
    OTELIX_OPERATION, OUTCOME, REASON, SEVERITY, SIGNAL,
};
pub use metrics::{
    CACHE_OPERATION_DURATION, CACHE_REQUESTS, DB_CLIENT_OPERATION_DURATION, DB_N_PLUS_ONE,
    DB_SLOW_QUERIES, EXPORTER_DROPPED, HTTP_CLIENT_REQUEST_DURATION, HTTP_SERVER_ACTIVE_REQUESTS,
    HTTP_SERVER_REQUEST_DURATION, JOB_DURATION, JOB_LAST_SUCCESS_TIMESTAMP, JOB_RUNS, METRICS,
    SLOW_QUERY_DROPPED,
};

#[cfg(test)]
mod tests;

/// One metric otelix records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metric {
    /// The OpenTelemetry instrument name (`http.server.request.duration`).
    pub name: &'static str,
    /// The kind of instrument it is recorded with.
    pub kind: MetricKind,
    /// The UCUM unit (`s`) or annotation (`{request}`).
    pub unit: &'static str,
    /// One line saying what it measures, the instrument's description (Prometheus `# HELP`).
    pub description: &'static str,
    /// Every attribute a data point may carry, and no other.
    pub attributes: &'static [Attribute],
    /// The metric family the Prometheus bridge exposes: the name to query, except that a
    /// histogram is queried through its `_bucket`, `_sum` and `_count` series.
    pub prometheus: &'static str,
}

impl Metric {
    /// The attribute with `key`, if this metric carries it.
    pub fn attribute(&self, key: &str) -> Option<&'static Attribute> {
        self.attributes.iter().find(|a| a.key == key)
    }

    /// The Prometheus label names of its attributes, in the table's order.
    pub fn prometheus_labels(&self) -> impl Iterator<Item = String> + 'static {
        self.attributes.iter().map(Attribute::prometheus_label)
    }

    /// The series names Prometheus stores: the family name, or for a histogram its
    /// `_bucket`, `_sum` and `_count` series.
    pub fn prometheus_series(&self) -> Vec<String> {
        match self.kind {
            MetricKind::Histogram => ["_bucket", "_sum", "_count"]
                .iter()
                .map(|suffix| format!("{}{suffix}", self.prometheus))
                .collect(),
            _ => vec![self.prometheus.to_owned()],
        }
    }
}

/// The instrument a [`Metric`] is recorded with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MetricKind {
    /// A monotonic counter, added to as things happen.
    Counter,
    /// A monotonic counter whose value a callback reports at each collection.
    ObservableCounter,
    /// A counter that goes up and down (requests in flight).
    UpDownCounter,
    /// The last value recorded.
    Gauge,
    /// A distribution, in otelix's duration buckets when the unit is seconds.
    Histogram,
}

impl MetricKind {
    /// The Prometheus metric type the bridge exposes it as.
    pub const fn prometheus_type(self) -> &'static str {
        match self {
            MetricKind::Counter | MetricKind::ObservableCounter => "counter",
            MetricKind::UpDownCounter | MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        }
    }
}

/// An attribute a [`Metric`]'s data points carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attribute {
    /// The OpenTelemetry attribute key (`http.route`).
    pub key: &'static str,
    /// Every value it takes, when otelix fixes them (`hit`, `miss`, ...); empty when the value
    /// is a name chosen in code, a status code or another open but bounded set.
    pub values: &'static [&'static str],
    /// When it is present, if not on every data point (`on failure`).
    pub when: Option<&'static str>,
}

impl Attribute {
    /// An attribute present on every data point, with open values.
    pub(crate) const fn new(key: &'static str) -> Self {
        Attribute {
            key,
            values: &[],
            when: None,
        }
    }

    /// The same attribute, taking only `values`.
    pub(crate) const fn one_of(self, values: &'static [&'static str]) -> Self {
        Attribute { values, ..self }
    }

    /// The same attribute, present only `when` (`on failure`).
    pub(crate) const fn when(self, when: &'static str) -> Self {
        Attribute {
            when: Some(when),
            ..self
        }
    }

    /// The Prometheus label name: the key with every character Prometheus does not allow in
    /// a label name turned into `_` (`http.route` is `http_route`).
    pub fn prometheus_label(&self) -> String {
        prometheus_label(self.key)
    }
}

/// The Prometheus label name of the attribute `key`, as the bridge and the collector write it:
/// every character other than ASCII letters, digits and `_` becomes `_`.
///
/// ```
/// assert_eq!(otelix::names::prometheus_label("service.peer.name"), "service_peer_name");
/// ```
pub fn prometheus_label(key: &str) -> String {
    key.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// The metric recorded as `name`, either its OpenTelemetry instrument name or the Prometheus
/// name of its family or of one of a histogram's series.
pub fn metric(name: &str) -> Option<&'static Metric> {
    METRICS.iter().find(|m| {
        m.name == name
            || m.prometheus == name
            || (m.kind == MetricKind::Histogram
                && name
                    .strip_prefix(m.prometheus)
                    .is_some_and(|suffix| matches!(suffix, "_bucket" | "_sum" | "_count")))
    })
}
