//! OTLP over gRPC (feature `otlp-grpc`): spans through otelix's own encoder
//! ([`GrpcSpanExporter`]), metrics and logs through `opentelemetry-otlp`'s tonic exporters.

use opentelemetry_otlp::{LogExporter, MetricExporter, WithExportConfig, WithTonicConfig};

use super::grpc_spans::GrpcSpanExporter;
use super::Destination;
use crate::config::Config;
use crate::InitError;

pub(super) fn span_exporter(config: &Config) -> Result<GrpcSpanExporter, InitError> {
    let to = Destination::traces(config);
    let uri = to
        .endpoint
        .parse()
        .map_err(|source| InitError::InvalidEndpoint {
            signal: "traces",
            endpoint: to.endpoint.to_owned(),
            source,
        })?;
    Ok(GrpcSpanExporter::new(uri, to.timeout, metadata(to.export)))
}

pub(super) fn metric_exporter(config: &Config) -> Result<MetricExporter, InitError> {
    let to = Destination::metrics(config);
    configure(MetricExporter::builder().with_tonic(), &to)
        .build()
        .map_err(|source| to.build_error(source))
}

pub(super) fn log_exporter(config: &Config) -> Result<LogExporter, InitError> {
    let to = Destination::logs(config);
    configure(LogExporter::builder().with_tonic(), &to)
        .build()
        .map_err(|source| to.build_error(source))
}

fn configure<B: WithExportConfig + WithTonicConfig>(builder: B, to: &Destination<'_>) -> B {
    builder
        .with_endpoint(to.endpoint)
        .with_timeout(to.timeout)
        .with_metadata(metadata(to.export))
}

/// The signal's headers as gRPC metadata (the configuration validated every name and value
/// already).
fn metadata(export: &crate::config::OtlpExport) -> tonic::metadata::MetadataMap {
    let headers: http::HeaderMap = export
        .header_pairs()
        .filter_map(|(k, v)| {
            Some((
                http::HeaderName::from_bytes(k.as_bytes()).ok()?,
                http::HeaderValue::from_str(v).ok()?,
            ))
        })
        .collect();
    tonic::metadata::MetadataMap::from_headers(headers)
}
