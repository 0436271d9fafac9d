//! What stands for the OTLP exporters in a build with neither `otlp-grpc` nor `otlp-http`:
//! a type with no values, so that the providers' wiring compiles unchanged while nothing can
//! construct an exporter (asking for one fails with [`InitError::FeatureDisabled`] first).
//!
//! [`InitError::FeatureDisabled`]: crate::InitError::FeatureDisabled

use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// An OTLP exporter this build has no transport for.
#[derive(Debug)]
pub(crate) enum Unavailable {}

impl SpanExporter for Unavailable {
    async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
        match *self {}
    }
}

impl PushMetricExporter for Unavailable {
    async fn export(&self, _metrics: &ResourceMetrics) -> OTelSdkResult {
        match *self {}
    }

    fn force_flush(&self) -> OTelSdkResult {
        match *self {}
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        match *self {}
    }

    fn temporality(&self) -> Temporality {
        match *self {}
    }
}

impl LogExporter for Unavailable {
    async fn export(&self, _batch: LogBatch<'_>) -> OTelSdkResult {
        match *self {}
    }
}
