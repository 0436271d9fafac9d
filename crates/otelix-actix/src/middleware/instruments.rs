//! The HTTP server metrics: `http.server.request.duration` and `http.server.active_requests`,
//! recorded through handles bound to their label sets, which skips the SDK's per-measurement
//! attribute hashing and map lookup.
//!
//! Each series is bound when a request first needs it: binding creates the series, so binding
//! up front would export a zero-valued series for every method and scheme nobody uses.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use fnv::FnvBuildHasher;
use opentelemetry::metrics::{BoundHistogram, BoundUpDownCounter, Histogram, UpDownCounter};
use opentelemetry::trace::TraceId;
use opentelemetry::KeyValue;
use opentelemetry_semantic_conventions::attribute as semattr;
use otelix::exemplars::{BoundExemplars, ExemplarSink};
use otelix::names::{
    HTTP_SERVER_ACTIVE_REQUESTS as ACTIVE, HTTP_SERVER_REQUEST_DURATION as DURATION,
};
use otelix::TelemetryHandle;

use super::start::route_value;
use crate::attributes::{HttpMethod, Scheme, StaticAttributes};

/// The instruments, created once per [`RequestTelemetry`](crate::RequestTelemetry) and shared
/// by its workers.
pub(super) struct Instruments {
    duration: Histogram<f64>,
    /// Exemplars of `duration`, for the OpenMetrics exposition.
    exemplars: ExemplarSink,
    active_requests: UpDownCounter<i64>,
    /// `active_requests` bound to each `[method, scheme]`, on first use. After that, a
    /// request reads the handle with one atomic load: no lock, no allocation.
    active_bound: [[OnceLock<BoundUpDownCounter<i64>>; Scheme::ALL.len()]; HttpMethod::ALL.len()],
}

impl Instruments {
    pub(super) fn new(handle: &TelemetryHandle) -> Self {
        let meter = handle.meter();
        Instruments {
            duration: meter
                .f64_histogram(DURATION.name)
                .with_unit(DURATION.unit)
                .with_description(DURATION.description)
                .build(),
            exemplars: handle.exemplar_sink(DURATION.prometheus),
            active_requests: meter
                .i64_up_down_counter(ACTIVE.name)
                .with_unit(ACTIVE.unit)
                .with_description(ACTIVE.description)
                .build(),
            active_bound: Default::default(),
        }
    }

    /// `http.server.active_requests` for `method` and `scheme`, bound the first time.
    pub(super) fn active_requests(
        &self,
        attributes: &StaticAttributes,
        method: HttpMethod,
        scheme: Scheme,
    ) -> &BoundUpDownCounter<i64> {
        self.active_bound[method.index()][scheme.index()]
            .get_or_init(|| self.active_requests.bind(attributes.active(method, scheme)))
    }
}

/// The labels of one `http.server.request.duration` series.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(super) struct DurationKey {
    pub(super) method: HttpMethod,
    pub(super) scheme: Scheme,
    pub(super) status: Option<u16>,
    pub(super) route: Option<Arc<str>>,
    pub(super) error_type: Option<&'static str>,
}

impl DurationKey {
    /// The key as metric labels, on the stack.
    fn labels(&self, attributes: &StaticAttributes) -> Labels {
        let mut labels = Labels::new(
            attributes.method(self.method).clone(),
            attributes.scheme(self.scheme).clone(),
        );
        if let Some(status) = self.status {
            labels.push(KeyValue::new(
                semattr::HTTP_RESPONSE_STATUS_CODE,
                i64::from(status),
            ));
        }
        if let Some(route) = &self.route {
            labels.push(KeyValue::new(semattr::HTTP_ROUTE, route_value(route)));
        }
        if let Some(class) = self.error_type {
            labels.push(KeyValue::new(semattr::ERROR_TYPE, class));
        }
        labels
    }
}

/// How many duration series a worker keeps bound; past that, requests record unbound (the
/// SDK's attribute lookup), which is slower but loses nothing.
const MAX_BOUND_DURATIONS: usize = 1024;

/// The duration histogram bound to each label set a worker has seen: one hash of a small key
/// per request instead of the SDK hashing five key-values for each of its two readers. The
/// key is a few bytes and a route template, none of it chosen freely by the client (method,
/// scheme and status are normalized, routes come from the route table), so FNV, fast on short
/// keys, needs no defence against flooding.
#[derive(Default)]
pub(super) struct DurationCache {
    bound: HashMap<DurationKey, BoundDuration, FnvBuildHasher>,
}

impl DurationCache {
    /// Records `seconds` in the series of `key`, binding it on first use while the cache has
    /// room, and the exemplar when there is one.
    pub(super) fn record(
        &mut self,
        instruments: &Instruments,
        attributes: &StaticAttributes,
        key: DurationKey,
        seconds: f64,
        exemplar: Option<TraceId>,
    ) {
        if let Some(bound) = self.bound.get(&key) {
            bound.record(seconds, exemplar);
            return;
        }
        let labels = key.labels(attributes);
        if self.bound.len() < MAX_BOUND_DURATIONS {
            let bound = self.bound.entry(key).or_insert_with(|| BoundDuration {
                histogram: instruments.duration.bind(labels.as_slice()),
                exemplars: instruments.exemplars.bind(labels.as_slice()),
            });
            bound.record(seconds, exemplar);
            return;
        }
        instruments.duration.record(seconds, labels.as_slice());
        if let Some(trace_id) = exemplar {
            instruments
                .exemplars
                .record(seconds, labels.as_slice(), trace_id);
        }
    }
}

/// One duration series: the histogram and its exemplars, both bound.
struct BoundDuration {
    histogram: BoundHistogram<f64>,
    /// `None` when exemplars are off (no Prometheus bridge) or their series bound is reached.
    exemplars: Option<BoundExemplars>,
}

impl BoundDuration {
    fn record(&self, seconds: f64, exemplar: Option<TraceId>) {
        self.histogram.record(seconds);
        if let (Some(exemplars), Some(trace_id)) = (&self.exemplars, exemplar) {
            exemplars.record(seconds, trace_id);
        }
    }
}

/// Up to five metric labels on the stack, so recording allocates nothing.
struct Labels {
    items: [KeyValue; 5],
    len: usize,
}

impl Labels {
    fn new(method: KeyValue, scheme: KeyValue) -> Self {
        let unused = || KeyValue::new("", false);
        Labels {
            items: [method, scheme, unused(), unused(), unused()],
            len: 2,
        }
    }

    fn push(&mut self, item: KeyValue) {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = item;
            self.len += 1;
        }
    }

    fn as_slice(&self) -> &[KeyValue] {
        &self.items[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_keep_at_most_five() {
        let mut labels = Labels::new(KeyValue::new("a", 1), KeyValue::new("b", 2));
        for i in 0..5 {
            labels.push(KeyValue::new("c", i));
        }
        assert_eq!(labels.as_slice().len(), 5);
    }

    #[test]
    fn duration_labels_are_the_key() {
        let attributes = StaticAttributes::new();
        let key = DurationKey {
            method: HttpMethod::Get,
            scheme: Scheme::Https,
            status: Some(503),
            route: Some(Arc::from("/users/{id}")),
            error_type: Some("503"),
        };
        let labels: Vec<(String, String)> = key
            .labels(&attributes)
            .as_slice()
            .iter()
            .map(|kv| (kv.key.to_string(), kv.value.as_str().into_owned()))
            .collect();
        let expected = [
            (semattr::HTTP_REQUEST_METHOD, "GET"),
            (semattr::URL_SCHEME, "https"),
            (semattr::HTTP_RESPONSE_STATUS_CODE, "503"),
            (semattr::HTTP_ROUTE, "/users/{id}"),
            (semattr::ERROR_TYPE, "503"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        assert_eq!(labels, expected);
    }
}
