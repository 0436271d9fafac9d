//! OTLP over HTTP with protobuf bodies (feature `otlp-http`): `opentelemetry-otlp`'s exporters
//! for every signal, sent by a blocking reqwest client on the export threads.

use std::collections::HashMap;

use opentelemetry_otlp::{
    LogExporter, MetricExporter, Protocol, SpanExporter, WithExportConfig, WithHttpConfig,
};

use super::Destination;
use crate::config::Config;
use crate::InitError;

pub(super) fn span_exporter(config: &Config) -> Result<SpanExporter, InitError> {
    let to = Destination::traces(config);
    configure(SpanExporter::builder().with_http(), &to)
        .build()
        .map_err(|source| to.build_error(source))
}

pub(super) fn metric_exporter(config: &Config) -> Result<MetricExporter, InitError> {
    let to = Destination::metrics(config);
    configure(MetricExporter::builder().with_http(), &to)
        .build()
        .map_err(|source| to.build_error(source))
}

pub(super) fn log_exporter(config: &Config) -> Result<LogExporter, InitError> {
    let to = Destination::logs(config);
    configure(LogExporter::builder().with_http(), &to)
        .build()
        .map_err(|source| to.build_error(source))
}

fn configure<B: WithExportConfig + WithHttpConfig>(builder: B, to: &Destination<'_>) -> B {
    let headers: HashMap<String, String> = to
        .export
        .header_pairs()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    builder
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(to.endpoint)
        .with_timeout(to.timeout)
        .with_headers(headers)
}
