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
    Ok(GrpcSpanExporter::new(uri, to.timeout, metadata(config)))
}

pub(super) fn metric_exporter(config: &Config) -> Result<MetricExporter, InitError> {
    let to = Destination::metrics(config);
    configure(MetricExporter::builder().with_tonic(), &to, config)
        .build()
        .map_err(|source| to.build_error(source))
}

pub(super) fn log_exporter(config: &Config) -> Result<LogExporter, InitError> {
    let to = Destination::logs(config);
    configure(LogExporter::builder().with_tonic(), &to, config)
        .build()
        .map_err(|source| to.build_error(source))
}

fn configure<B: WithExportConfig + WithTonicConfig>(
    builder: B,
    to: &Destination<'_>,
    config: &Config,
) -> B {
    builder
        .with_endpoint(to.endpoint)
        .with_timeout(to.timeout)
        .with_metadata(metadata(config))
}

/// `OTEL_EXPORTER_OTLP_HEADERS` as gRPC metadata (the configuration validated every name and
/// value already).
fn metadata(config: &Config) -> tonic::metadata::MetadataMap {
    let headers: http::HeaderMap = config
        .otlp_headers()
        .iter()
        .filter_map(|(k, v)| {
            Some((
                http::HeaderName::from_bytes(k.as_bytes()).ok()?,
                http::HeaderValue::from_str(v).ok()?,
            ))
        })
        .collect();
    tonic::metadata::MetadataMap::from_headers(headers)
}
