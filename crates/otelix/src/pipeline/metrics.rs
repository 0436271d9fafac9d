//! The meter provider's shared pieces: duration histograms in seconds with otelix's buckets.

use opentelemetry_sdk::metrics::{Aggregation, Instrument, InstrumentKind, Stream};

/// Bucket boundaries, in seconds, for duration histograms: the OpenTelemetry semantic
/// conventions' advice for `http.server.request.duration`, extended to 30 s so slow database
/// queries and external calls still land in a finite bucket. The SDK's own defaults are meant
/// for milliseconds and would put almost every request in the first bucket.
pub const DURATION_BUCKETS_SECONDS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 30.0,
];

pub(super) fn seconds_histogram_view(instrument: &Instrument) -> Option<Stream> {
    if instrument.kind() == InstrumentKind::Histogram && instrument.unit() == "s" {
        Stream::builder()
            .with_aggregation(Aggregation::ExplicitBucketHistogram {
                boundaries: DURATION_BUCKETS_SECONDS.to_vec(),
                record_min_max: true,
            })
            .build()
            .ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
    use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};

    use super::*;
    use crate::names::{self, MetricKind};

    /// The HTTP server histogram gives no boundaries of its own: the view is what puts every
    /// otelix histogram in these buckets, which the SLOs' thresholds are chosen from.
    #[test]
    fn every_otelix_histogram_gets_the_duration_buckets() {
        let exporter = InMemoryMetricExporter::default();
        let provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(exporter.clone()).build())
            .with_view(seconds_histogram_view)
            .build();
        let meter = provider.meter("otelix");
        let histograms: Vec<_> = names::METRICS
            .iter()
            .filter(|m| m.kind == MetricKind::Histogram)
            .collect();
        for metric in &histograms {
            meter
                .f64_histogram(metric.name)
                .with_unit(metric.unit)
                .build()
                .record(0.2, &[]);
        }
        provider.force_flush().expect("collected");
        let exported = exporter
            .get_finished_metrics()
            .expect("the exported metrics");
        let mut seen = Vec::new();
        for metric in exported
            .iter()
            .flat_map(|m| m.scope_metrics())
            .flat_map(|s| s.metrics())
        {
            let AggregatedMetrics::F64(MetricData::Histogram(histogram)) = metric.data() else {
                panic!("{} is not an f64 histogram", metric.name());
            };
            for point in histogram.data_points() {
                let bounds: Vec<f64> = point.bounds().collect();
                assert_eq!(bounds, DURATION_BUCKETS_SECONDS, "{}", metric.name());
            }
            seen.push(metric.name().to_owned());
        }
        assert_eq!(seen.len(), histograms.len(), "{seen:?}");
    }

    #[test]
    fn duration_buckets_increase_from_five_milliseconds() {
        let buckets = DURATION_BUCKETS_SECONDS;
        assert!(buckets.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(buckets.first(), Some(&0.005));
    }
}
