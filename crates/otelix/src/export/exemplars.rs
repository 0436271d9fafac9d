//! Exemplars for otelix's duration histograms: per series and bucket, the most recent sampled
//! trace ID and value, so a latency bucket on `/metrics` links to a trace that landed in it.
//!
//! The OpenTelemetry SDK 0.33 never fills exemplars and the `prometheus` crate cannot encode
//! them, so otelix keeps its own, next to the histogram each instrumentation records into,
//! and writes them into the OpenMetrics exposition ([`crate::openmetrics`]).
//!
//! A series is found by a hash of its label set computed the way the Prometheus bridge names
//! labels (attribute keys with every character other than `[A-Za-z0-9:]` turned into `_`,
//! values as their `Display` text), combined order-independently; the bridge's `otel_scope_*`
//! labels are left out on both sides. Recording allocates nothing once a series exists: one hash
//! over the attributes, a read lock on one of eight shard maps, and an uncontended lock of one
//! bucket's slot. Memory is bounded: at most [`MAX_SERIES_PER_FAMILY`] series per histogram,
//! each holding one slot per bucket; exemplars of further series are not kept.

use std::collections::HashMap;
use std::hash::Hasher as _;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use fnv::FnvHasher;
use opentelemetry::trace::TraceId;
use opentelemetry::{KeyValue, Value};

/// Shards of each family's series map: concurrent requests of different series rarely meet.
const SHARDS: usize = 8;
/// Series per histogram whose exemplars are kept (the SDK's default cardinality limit is 2000).
pub const MAX_SERIES_PER_FAMILY: usize = 2_000;

/// One exemplar: a trace that landed in a bucket, its value and when.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exemplar {
    /// The trace's ID.
    pub trace_id: TraceId,
    /// The observed value (seconds for otelix's histograms).
    pub value: f64,
    /// When it was observed, in seconds since the Unix epoch.
    pub timestamp: f64,
}

#[derive(Debug)]
struct Series {
    buckets: Box<[Mutex<Option<Exemplar>>]>,
}

/// The exemplars of one histogram family (one Prometheus metric name).
#[derive(Debug)]
struct Family {
    /// Upper bounds of the buckets (the `+Inf` bucket is one more slot).
    bounds: Arc<[f64]>,
    shards: [RwLock<HashMap<u64, Arc<Series>>>; SHARDS],
    series: std::sync::atomic::AtomicUsize,
}

impl Family {
    fn new(bounds: Arc<[f64]>) -> Family {
        Family {
            bounds,
            shards: Default::default(),
            series: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn shard(&self, key: u64) -> &RwLock<HashMap<u64, Arc<Series>>> {
        // The key is a well-mixed hash: its top bits pick the shard.
        &self.shards[(key >> 61) as usize % SHARDS]
    }

    fn series(&self, key: u64) -> Option<Arc<Series>> {
        let shard = self.shard(key);
        if let Some(series) = shard
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Some(Arc::clone(series));
        }
        use std::sync::atomic::Ordering;
        if self.series.load(Ordering::Relaxed) >= MAX_SERIES_PER_FAMILY {
            return None;
        }
        let mut map = shard.write().unwrap_or_else(PoisonError::into_inner);
        let slots = self.bounds.len() + 1;
        let series = map.entry(key).or_insert_with(|| {
            self.series.fetch_add(1, Ordering::Relaxed);
            Arc::new(Series {
                buckets: (0..slots).map(|_| Mutex::new(None)).collect(),
            })
        });
        Some(Arc::clone(series))
    }

    fn bucket(&self, value: f64) -> usize {
        // Prometheus buckets are `le`: a value on a bound belongs to that bound's bucket.
        self.bounds.partition_point(|bound| *bound < value)
    }
}

/// Where an instrumentation records the exemplars of one histogram. Cheap to clone; a disabled
/// sink (exemplars off or no Prometheus bridge) does nothing.
#[derive(Debug, Clone, Default)]
pub struct ExemplarSink {
    family: Option<Arc<Family>>,
}

impl ExemplarSink {
    /// A sink that keeps nothing.
    pub fn disabled() -> ExemplarSink {
        ExemplarSink { family: None }
    }

    /// Whether this sink keeps exemplars.
    pub fn is_enabled(&self) -> bool {
        self.family.is_some()
    }

    /// Keeps `trace_id` and `value` as the exemplar of the series `attributes` names (the same
    /// attributes as the histogram record) and the bucket `value` falls in. Call it only for
    /// sampled traces: an exemplar must lead to a trace that exists.
    pub fn record(&self, value: f64, attributes: &[KeyValue], trace_id: TraceId) {
        if let Some(bound) = self.bind(attributes) {
            bound.record(value, trace_id);
        }
    }

    /// The series `attributes` names, for an instrumentation that caches its bound
    /// instruments per attribute set: recording through it skips the hash and the map.
    /// `None` when the sink is disabled or the series bound is reached.
    pub fn bind(&self, attributes: &[KeyValue]) -> Option<BoundExemplars> {
        let family = self.family.as_ref()?;
        let series = family.series(attribute_key(attributes))?;
        Some(BoundExemplars {
            family: Arc::clone(family),
            series,
        })
    }
}

/// The exemplars of one series of a histogram; see [`ExemplarSink::bind`].
#[derive(Debug, Clone)]
pub struct BoundExemplars {
    family: Arc<Family>,
    series: Arc<Series>,
}

impl BoundExemplars {
    /// Keeps `trace_id` and `value` as the exemplar of the bucket `value` falls in. Call it only
    /// for sampled traces.
    pub fn record(&self, value: f64, trace_id: TraceId) {
        if trace_id == TraceId::INVALID || !value.is_finite() {
            return;
        }
        let exemplar = Exemplar {
            trace_id,
            value,
            timestamp: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
        };
        if let Some(slot) = self.series.buckets.get(self.family.bucket(value)) {
            *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(exemplar);
        }
    }

    /// The exemplar kept in the bucket whose upper bound is `upper_bound` (`f64::INFINITY`
    /// for `+Inf`).
    pub fn get(&self, upper_bound: f64) -> Option<Exemplar> {
        let bounds = &self.family.bounds;
        let index = if upper_bound.is_infinite() {
            bounds.len()
        } else {
            bounds.iter().position(|b| *b == upper_bound)?
        };
        let exemplar = *self
            .series
            .buckets
            .get(index)?
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        exemplar
    }
}

/// The exemplar histograms of one telemetry pipeline, by Prometheus metric name.
#[derive(Debug, Default)]
pub struct ExemplarRegistry {
    families: Mutex<HashMap<String, Arc<Family>>>,
}

impl ExemplarRegistry {
    /// The sink of the histogram `family` (its Prometheus name, such as
    /// `http_server_request_duration_seconds`) with bucket upper bounds `bounds`. Every call
    /// with the same name returns the same store.
    pub fn sink(&self, family: &str, bounds: &[f64]) -> ExemplarSink {
        let mut families = self.families.lock().unwrap_or_else(PoisonError::into_inner);
        let family = families
            .entry(family.to_owned())
            .or_insert_with(|| Arc::new(Family::new(bounds.into())));
        ExemplarSink {
            family: Some(Arc::clone(family)),
        }
    }

    /// The exemplars of the series of `family` whose labels are `labels` (name, value pairs as
    /// the bridge wrote them), for reading each bucket's with [`BoundExemplars::get`].
    pub fn series<'a>(
        &self,
        family: &str,
        labels: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Option<BoundExemplars> {
        let family = self
            .families
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(family)
            .cloned()?;
        let key = label_key(labels);
        let series = family
            .shard(key)
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .cloned()?;
        Some(BoundExemplars { family, series })
    }

    /// The exemplar of the series of `family` with `labels` in the bucket whose upper bound is
    /// `upper_bound` (`f64::INFINITY` for `+Inf`).
    pub fn lookup<'a>(
        &self,
        family: &str,
        labels: impl IntoIterator<Item = (&'a str, &'a str)>,
        upper_bound: f64,
    ) -> Option<Exemplar> {
        self.series(family, labels)?.get(upper_bound)
    }

    /// Whether `family` has exemplars kept.
    pub fn has_family(&self, family: &str) -> bool {
        self.families
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(family)
    }
}

/// A final mix of an FNV-1a hash, so that the sum of pair hashes spreads over every bit.
fn mix(hash: u64) -> u64 {
    let mut x = hash;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// A label name as the Prometheus bridge writes it.
fn sanitized(b: u8) -> u8 {
    if b.is_ascii_alphanumeric() || b == b':' {
        b
    } else {
        b'_'
    }
}

/// FNV-1a over a label's name and value: short strings, hashed without allocating.
fn pair_hash(name: impl Iterator<Item = u8>, value: &[u8]) -> u64 {
    let mut hasher = FnvHasher::default();
    for b in name {
        hasher.write_u8(b);
    }
    hasher.write_u8(0xff);
    hasher.write(value);
    mix(hasher.finish())
}

/// The key of a series from the attributes it was recorded with.
fn attribute_key(attributes: &[KeyValue]) -> u64 {
    let mut key = 0u64;
    for kv in attributes {
        let name = kv.key.as_str().bytes().map(sanitized);
        let hash = match &kv.value {
            Value::String(s) => pair_hash(name, s.as_str().as_bytes()),
            Value::I64(n) => pair_hash(name, itoa::Buffer::new().format(*n).as_bytes()),
            Value::Bool(true) => pair_hash(name, b"true"),
            Value::Bool(false) => pair_hash(name, b"false"),
            other => pair_hash(name, other.to_string().as_bytes()),
        };
        key = key.wrapping_add(hash);
    }
    key
}

/// The key of a series from its exposition labels; the bridge's scope labels are not part of
/// the attributes.
fn label_key<'a>(labels: impl IntoIterator<Item = (&'a str, &'a str)>) -> u64 {
    labels
        .into_iter()
        .filter(|(name, _)| !name.starts_with("otel_scope_"))
        .fold(0u64, |key, (name, value)| {
            key.wrapping_add(pair_hash(name.bytes().map(sanitized), value.as_bytes()))
        })
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    const BOUNDS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

    fn trace(n: u128) -> TraceId {
        TraceId::from(n)
    }

    #[test]
    fn the_latest_sampled_trace_is_kept_per_series_and_bucket() {
        let registry = ExemplarRegistry::default();
        let sink = registry.sink("http_server_request_duration_seconds", BOUNDS);
        let get = [
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("http.route", "/users/{id}"),
            KeyValue::new("http.response.status_code", 200_i64),
        ];
        sink.record(0.003, &get, trace(1));
        sink.record(0.004, &get, trace(2));
        sink.record(0.3, &get, trace(3));
        sink.record(7.0, &get, trace(4));
        // Labels as the bridge writes them, in its (sorted) order, with its scope labels.
        let labels = [
            ("http_request_method", "GET"),
            ("http_response_status_code", "200"),
            ("http_route", "/users/{id}"),
            ("otel_scope_name", "otelix"),
        ];
        let lookup = |bound| registry.lookup("http_server_request_duration_seconds", labels, bound);
        let first = lookup(0.005).expect("an exemplar in the first bucket");
        assert_eq!(first.trace_id, trace(2));
        assert_eq!(first.value, 0.004);
        assert!(first.timestamp > 1.6e9);
        assert_eq!(lookup(0.5).map(|e| e.trace_id), Some(trace(3)));
        assert_eq!(lookup(f64::INFINITY).map(|e| e.trace_id), Some(trace(4)));
        assert_eq!(lookup(0.01), None);
        // A value on a bound is in that bound's bucket.
        sink.record(0.01, &get, trace(5));
        assert_eq!(lookup(0.01).map(|e| e.trace_id), Some(trace(5)));
        // Another series, another family: nothing.
        let other = [
            ("http_request_method", "POST"),
            ("http_route", "/users/{id}"),
        ];
        assert_eq!(
            registry.lookup("http_server_request_duration_seconds", other, 0.005),
            None
        );
        assert_eq!(
            registry.lookup("db_client_operation_duration_seconds", labels, 0.005),
            None
        );
    }

    #[test]
    fn invalid_traces_values_and_disabled_sinks_keep_nothing() {
        let registry = ExemplarRegistry::default();
        let sink = registry.sink("h", BOUNDS);
        let attrs = [KeyValue::new("a", "b")];
        sink.record(0.001, &attrs, TraceId::INVALID);
        sink.record(f64::NAN, &attrs, trace(1));
        assert_eq!(registry.lookup("h", [("a", "b")], 0.005), None);
        ExemplarSink::disabled().record(0.001, &attrs, trace(1));
        assert!(!ExemplarSink::disabled().is_enabled());
    }

    #[test]
    fn series_are_bounded() {
        let registry = ExemplarRegistry::default();
        let sink = registry.sink("h", BOUNDS);
        for n in 0..(MAX_SERIES_PER_FAMILY as i64 + 50) {
            sink.record(0.001, &[KeyValue::new("n", n)], trace(7));
        }
        let kept = (0..(MAX_SERIES_PER_FAMILY as i64 + 50))
            .filter(|n| {
                let value = n.to_string();
                registry
                    .lookup("h", [("n", value.as_str())], 0.005)
                    .is_some()
            })
            .count();
        assert_eq!(kept, MAX_SERIES_PER_FAMILY);
    }

    #[test]
    fn keys_agree_between_attributes_and_labels() {
        let attributes = [
            KeyValue::new("db.system.name", "postgresql"),
            KeyValue::new("server.port", -5432_i64),
            KeyValue::new("flag", true),
            KeyValue::new("ratio", 0.5),
            KeyValue::new("least", i64::MIN),
        ];
        let labels = [
            ("least", "-9223372036854775808"),
            ("server_port", "-5432"),
            ("ratio", "0.5"),
            ("db_system_name", "postgresql"),
            ("flag", "true"),
            ("otel_scope_version", "0.1.0"),
        ];
        assert_eq!(attribute_key(&attributes), label_key(labels));
        assert_ne!(
            attribute_key(&attributes[..4]),
            label_key(labels),
            "a missing label changes the key"
        );
    }
}
