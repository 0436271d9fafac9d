use std::collections::BTreeSet;

use opentelemetry_semantic_conventions::attribute as semattr;

use super::*;

/// The Prometheus name by the rule the docs state, written out independently of the table.
fn translated(metric: &Metric) -> String {
    let mut name = prometheus_label(metric.name);
    match metric.unit {
        "s" => name.push_str("_seconds"),
        unit => assert!(
            unit.starts_with('{') && unit.ends_with('}'),
            "{}: a unit the rule does not cover: {unit}",
            metric.name
        ),
    }
    if metric.kind.prometheus_type() == "counter" {
        name.push_str("_total");
    }
    name
}

#[test]
fn prometheus_names_follow_the_translation_rule() {
    for metric in METRICS {
        assert_eq!(metric.prometheus, translated(metric), "{}", metric.name);
    }
}

#[test]
fn names_and_attribute_keys_are_unique() {
    let names: BTreeSet<_> = METRICS.iter().map(|m| m.name).collect();
    let prometheus: BTreeSet<_> = METRICS.iter().map(|m| m.prometheus).collect();
    assert_eq!(names.len(), METRICS.len());
    assert_eq!(prometheus.len(), METRICS.len());
    for metric in METRICS {
        let labels: BTreeSet<_> = metric.prometheus_labels().collect();
        assert_eq!(labels.len(), metric.attributes.len(), "{}", metric.name);
        assert!(!metric.description.is_empty(), "{}", metric.name);
    }
}

#[test]
fn client_request_id_is_the_conventions_header_attribute() {
    assert_eq!(
        CLIENT_REQUEST_ID,
        format!("{}.x-request-id", semattr::HTTP_REQUEST_HEADER)
    );
}

#[test]
fn metrics_are_found_by_any_of_their_names() {
    let duration = HTTP_SERVER_REQUEST_DURATION;
    for name in [
        "http.server.request.duration",
        "http_server_request_duration_seconds",
        "http_server_request_duration_seconds_bucket",
        "http_server_request_duration_seconds_count",
    ] {
        assert_eq!(metric(name), Some(&duration), "{name}");
    }
    assert_eq!(metric("otelix_cache_requests_total"), Some(&CACHE_REQUESTS));
    assert_eq!(metric("otelix_cache_requests_total_bucket"), None);
    assert_eq!(metric("otelix_cache_requests"), None);
    assert_eq!(metric("target_info"), None);
    assert_eq!(
        duration.prometheus_series(),
        [
            "http_server_request_duration_seconds_bucket",
            "http_server_request_duration_seconds_sum",
            "http_server_request_duration_seconds_count",
        ]
    );
    assert_eq!(
        CACHE_REQUESTS.prometheus_series(),
        ["otelix_cache_requests_total"]
    );
    assert_eq!(
        CACHE_REQUESTS.attribute(CACHE_RESULT).map(|a| a.values),
        Some(&["hit", "miss", "ok", "error"][..])
    );
}

/// One point of every metric in the table, with every attribute, recorded through the SDK and
/// the same Prometheus bridge `/metrics` serves: the table's names, types, descriptions and
/// labels are what the bridge shows.
#[cfg(feature = "prometheus")]
#[test]
fn the_prometheus_bridge_exposes_what_the_table_says() {
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry::KeyValue;
    use opentelemetry_sdk::metrics::SdkMeterProvider;
    use prometheus::proto::MetricType;
    use std::collections::BTreeMap;

    let registry = prometheus::Registry::new();
    let exporter = opentelemetry_prometheus::exporter()
        .with_registry(registry.clone())
        .build()
        .expect("the bridge");
    let provider = SdkMeterProvider::builder().with_reader(exporter).build();
    let meter = provider.meter("otelix");
    let mut observed = Vec::new();
    for metric in METRICS {
        let attributes: Vec<KeyValue> = metric
            .attributes
            .iter()
            .map(|a| KeyValue::new(a.key, a.values.first().copied().unwrap_or("x")))
            .collect();
        match metric.kind {
            MetricKind::Counter => meter
                .u64_counter(metric.name)
                .with_unit(metric.unit)
                .with_description(metric.description)
                .build()
                .add(1, &attributes),
            MetricKind::ObservableCounter => observed.push(
                meter
                    .u64_observable_counter(metric.name)
                    .with_unit(metric.unit)
                    .with_description(metric.description)
                    .with_callback(move |observer| observer.observe(1, &attributes))
                    .build(),
            ),
            MetricKind::UpDownCounter => meter
                .i64_up_down_counter(metric.name)
                .with_unit(metric.unit)
                .with_description(metric.description)
                .build()
                .add(1, &attributes),
            MetricKind::Gauge => meter
                .f64_gauge(metric.name)
                .with_unit(metric.unit)
                .with_description(metric.description)
                .build()
                .record(1.0, &attributes),
            MetricKind::Histogram => meter
                .f64_histogram(metric.name)
                .with_unit(metric.unit)
                .with_description(metric.description)
                .build()
                .record(0.1, &attributes),
        }
    }

    let families: BTreeMap<String, _> = registry
        .gather()
        .into_iter()
        .map(|family| (family.name().to_owned(), family))
        .collect();
    for metric in METRICS {
        let family = families.get(metric.prometheus).unwrap_or_else(|| {
            panic!(
                "{} is not exposed: {:?}",
                metric.prometheus,
                families.keys()
            )
        });
        let expected_type = match family.get_field_type() {
            MetricType::COUNTER => "counter",
            MetricType::GAUGE => "gauge",
            MetricType::HISTOGRAM => "histogram",
            other => panic!("{}: type {other:?}", metric.prometheus),
        };
        assert_eq!(
            metric.kind.prometheus_type(),
            expected_type,
            "{}",
            metric.name
        );
        assert_eq!(family.help(), metric.description, "{}", metric.name);
        let labels: BTreeSet<String> = family
            .get_metric()
            .iter()
            .flat_map(|m| m.get_label())
            .map(|l| l.name().to_owned())
            .filter(|name| !name.starts_with("otel_scope_"))
            .collect();
        assert_eq!(
            labels,
            metric.prometheus_labels().collect(),
            "{}",
            metric.name
        );
    }
    drop(observed);
}
