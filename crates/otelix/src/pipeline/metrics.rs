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
    use super::*;

    #[test]
    fn duration_buckets_increase_from_five_milliseconds() {
        let buckets = DURATION_BUCKETS_SECONDS;
        assert!(buckets.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(buckets.first(), Some(&0.005));
    }
}
