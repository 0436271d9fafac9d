//! The OTLP metric exporter: the SDK's collected metrics become an
//! `ExportMetricsServiceRequest` through `opentelemetry-proto`'s transform, delivered over the
//! signal's transport; its items are data points.

use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use prost::Message as _;

use super::delivery::{Delivery, PartialSuccess};

/// Exports metrics with cumulative temporality (the SDK's default, which the OTLP exporter
/// used before).
#[derive(Debug)]
pub(crate) struct OtlpMetricExporter {
    delivery: Delivery,
}

impl OtlpMetricExporter {
    pub(crate) fn new(delivery: Delivery) -> Self {
        OtlpMetricExporter { delivery }
    }
}

impl PushMetricExporter for OtlpMetricExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let request = ExportMetricsServiceRequest::from(metrics);
        let points = data_points(&request);
        if points == 0 {
            return Ok(());
        }
        self.delivery
            .export::<ExportMetricsServiceResponse>(request.encode_to_vec(), points)
            .await
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

impl PartialSuccess for ExportMetricsServiceResponse {
    fn rejected(&self) -> (i64, &str) {
        self.partial_success.as_ref().map_or((0, ""), |p| {
            (p.rejected_data_points, p.error_message.as_str())
        })
    }
}

/// The data points of a request: what `rejected_data_points` and the `metrics` series of
/// `otelix.exporter.dropped` count.
pub(crate) fn data_points(request: &ExportMetricsServiceRequest) -> u64 {
    let points = |data: &Data| match data {
        Data::Gauge(g) => g.data_points.len(),
        Data::Sum(s) => s.data_points.len(),
        Data::Histogram(h) => h.data_points.len(),
        Data::ExponentialHistogram(h) => h.data_points.len(),
        Data::Summary(s) => s.data_points.len(),
    };
    request
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .filter_map(|m| m.data.as_ref())
        .map(|d| points(d) as u64)
        .sum()
}
