//! OTLP exporters. Spans over gRPC go through [`GrpcSpanExporter`], which encodes the
//! protobuf request itself (a quarter of the SDK exporter's instructions per span); spans over
//! HTTP/protobuf, metrics and logs use `opentelemetry-otlp`'s exporters, built in
//! [`crate::pipeline`].

mod grpc_spans;

use std::collections::HashMap;
use std::net::ToSocketAddrs;
use std::time::Duration;

use opentelemetry_otlp::{WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::Resource;

use crate::config::{Config, Protocol};
use crate::InitError;
use grpc_spans::GrpcSpanExporter;

/// otelix's own gRPC span exporter, or the SDK's for HTTP/protobuf.
#[derive(Debug)]
pub(crate) enum OtlpSpanExporter {
    Grpc(GrpcSpanExporter),
    Sdk(opentelemetry_otlp::SpanExporter),
}

impl opentelemetry_sdk::trace::SpanExporter for OtlpSpanExporter {
    async fn export(
        &self,
        batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        match self {
            OtlpSpanExporter::Grpc(exporter) => exporter.export(batch).await,
            OtlpSpanExporter::Sdk(exporter) => exporter.export(batch).await,
        }
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> opentelemetry_sdk::error::OTelSdkResult {
        match self {
            OtlpSpanExporter::Grpc(exporter) => exporter.shutdown_with_timeout(timeout),
            OtlpSpanExporter::Sdk(exporter) => exporter.shutdown_with_timeout(timeout),
        }
    }
    fn set_resource(&mut self, resource: &Resource) {
        match self {
            OtlpSpanExporter::Grpc(exporter) => exporter.set_resource(resource),
            OtlpSpanExporter::Sdk(exporter) => exporter.set_resource(resource),
        }
    }
}

/// Over gRPC, otelix's exporter (it writes the protobuf bytes directly; see `grpc_spans`);
/// over HTTP/protobuf, the SDK's. Call inside the export runtime.
pub(crate) fn otlp_span_exporter(config: &Config) -> Result<OtlpSpanExporter, InitError> {
    match config.protocol() {
        Protocol::Grpc => {
            let endpoint = config.traces_endpoint();
            GrpcSpanExporter::new(endpoint, export_timeout(config, "traces"), metadata(config))
                .map(OtlpSpanExporter::Grpc)
                .map_err(|e| InitError::SpanExporter {
                    endpoint: endpoint.to_owned(),
                    reason: e.to_string(),
                })
        }
        Protocol::HttpProtobuf => span_exporter(config).map(OtlpSpanExporter::Sdk),
    }
}

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

fn http_headers(config: &Config) -> HashMap<String, String> {
    config.otlp_headers().iter().cloned().collect()
}

macro_rules! otlp_exporter {
    ($fn_name:ident, $exporter:ty, $signal:literal, $endpoint:ident) => {
        pub(crate) fn $fn_name(config: &Config) -> Result<$exporter, InitError> {
            let endpoint = config.$endpoint().to_owned();
            let timeout = export_timeout(config, $signal);
            let built = match config.protocol() {
                Protocol::Grpc => <$exporter>::builder()
                    .with_tonic()
                    .with_endpoint(endpoint.clone())
                    .with_timeout(timeout)
                    .with_metadata(metadata(config))
                    .build(),
                Protocol::HttpProtobuf => <$exporter>::builder()
                    .with_http()
                    .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                    .with_endpoint(endpoint.clone())
                    .with_timeout(timeout)
                    .with_headers(http_headers(config))
                    .build(),
            };
            built.map_err(|source| InitError::Exporter {
                signal: $signal,
                endpoint,
                source,
            })
        }
    };
}

otlp_exporter!(
    span_exporter,
    opentelemetry_otlp::SpanExporter,
    "traces",
    traces_endpoint
);
otlp_exporter!(
    metric_exporter,
    opentelemetry_otlp::MetricExporter,
    "metrics",
    otlp_metrics_endpoint
);
otlp_exporter!(
    log_exporter,
    opentelemetry_otlp::LogExporter,
    "logs",
    logs_endpoint
);

/// `OTEL_BSP_EXPORT_TIMEOUT` bounds each span export in otelix's batch processor, and also
/// each request through the exporter's own timeout, so the request is cancelled in time.
fn export_timeout(config: &Config, signal: &str) -> Duration {
    if signal == "traces" {
        config.otlp_timeout().min(config.batch().export_timeout)
    } else {
        config.otlp_timeout()
    }
}

/// Tries a TCP connection to the endpoint's host and port.
pub(crate) fn probe(endpoint: &str) -> Result<(), String> {
    let url = url::Url::parse(endpoint).map_err(|e| e.to_string())?;
    let host = url.host_str().ok_or("no host")?;
    let port = url.port_or_known_default().ok_or("no port")?;
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?;
    let mut last = format!("{host}:{port} resolved to no address");
    for addr in addrs {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            Ok(_) => return Ok(()),
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_reports_a_closed_port() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let port = listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(probe(&format!("http://127.0.0.1:{port}")).is_ok());
        drop(listener);
        assert!(probe(&format!("http://127.0.0.1:{port}")).is_err());
    }
}
