//! otelix's OTLP exporters, for the three signals over both transports (gRPC with feature
//! `otlp-grpc`, HTTP/protobuf with `otlp-http`): TLS and mTLS by rustls, headers, gzip, and
//! retries as the OTLP exporter specification asks.
//!
//! | file | what it holds |
//! |---|---|
//! | `tls` | the one rustls client configuration both transports use, [`TlsError`] |
//! | `transport` | sending one request over gRPC or HTTP, and how it failed |
//! | `retry` | sending it again within the budget; failures reported once per outage |
//! | `clock` | the shutdown deadline every delivery stops at |
//! | `delivery` | on the export runtime, partial successes, every item counted |
//! | `spans`, `metrics`, `logs` | the SDK-facing exporters; spans through otelix's own encoder |
//! | `unavailable` | what stands for them in a build with neither transport |
//!
//! A protocol whose feature this build lacks is refused when telemetry is built
//! ([`InitError::FeatureDisabled`]), never at the first export.

mod clock;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
mod delivery;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
mod logs;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
mod metrics;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
mod retry;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
mod spans;
#[cfg(test)]
#[cfg(all(feature = "otlp-grpc", feature = "otlp-http"))]
mod test_support;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
mod tls;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
mod transport;
#[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
mod unavailable;

pub(crate) use clock::ShutdownClock;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
pub(crate) use logs::OtlpLogExporter;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
pub(crate) use metrics::OtlpMetricExporter;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
pub(crate) use spans::OtlpSpanExporter;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
pub use tls::TlsError;
#[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
pub(crate) use unavailable::{
    Unavailable as OtlpSpanExporter, Unavailable as OtlpMetricExporter,
    Unavailable as OtlpLogExporter,
};

use std::net::ToSocketAddrs;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{Config, Protocol, Signal};
use crate::process::DropCounter;
use crate::InitError;

/// The transports compiled into this build; a variant exists only with its feature.
enum Compiled {
    #[cfg(feature = "otlp-grpc")]
    Grpc,
    #[cfg(feature = "otlp-http")]
    Http,
}

/// The transport for the signal's protocol, or the error that names the feature to enable.
fn compiled(config: &Config, signal: Signal) -> Result<Compiled, InitError> {
    let export = config.otlp(signal);
    match export.protocol {
        #[cfg(feature = "otlp-grpc")]
        Protocol::Grpc => Ok(Compiled::Grpc),
        #[cfg(feature = "otlp-http")]
        Protocol::HttpProtobuf => Ok(Compiled::Http),
        #[allow(unreachable_patterns)]
        protocol => Err(InitError::FeatureDisabled {
            variable: export.protocol_setting(),
            value: protocol.as_str(),
            feature: feature_of(protocol),
        }),
    }
}

/// The otelix feature that carries `protocol`.
fn feature_of(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Grpc => "otlp-grpc",
        Protocol::HttpProtobuf => "otlp-http",
    }
}

/// Fails when OTLP export of `signal` is asked for, over a protocol this build was compiled
/// without.
///
/// # Errors
///
/// [`InitError::FeatureDisabled`] naming the protocol's variable and the feature.
pub(crate) fn require_transport(config: &Config, signal: Signal) -> Result<(), InitError> {
    compiled(config, signal).map(drop)
}

/// What every exporter of one telemetry pipeline shares: the export runtime its deliveries
/// run on, and the shutdown deadline they stop at.
#[derive(Debug, Clone)]
pub(crate) struct ExportContext {
    #[cfg_attr(
        not(any(feature = "otlp-grpc", feature = "otlp-http")),
        allow(dead_code)
    )]
    pub(crate) runtime: tokio::runtime::Handle,
    pub(crate) clock: Arc<ShutdownClock>,
}

/// How long one request of `signal` may take, retries included.
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
fn budget(config: &Config, signal: Signal) -> Duration {
    match signal {
        Signal::Traces => config.batch().export_timeout,
        Signal::Metrics => config.metric_export_timeout(),
        Signal::Logs => config.log_batch().export_timeout,
    }
}

/// The signal's delivery: TLS files read, the transport set up, shared by its exporters.
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
fn delivery(
    config: &Config,
    signal: Signal,
    context: &ExportContext,
    drops: &Arc<DropCounter>,
) -> Result<delivery::Delivery, InitError> {
    require_transport(config, signal)?;
    let export = config.otlp(signal);
    let tls = tls::client_config(signal, export)?;
    let transport = transport::Transport::new(signal, export, tls)?;
    let budget = budget(config, signal);
    let sender = retry::Sender::new(
        transport,
        signal,
        export.endpoint.clone(),
        retry::Limits {
            attempt_timeout: export.timeout.min(budget),
            budget,
        },
        Arc::clone(&context.clock),
        Arc::clone(drops),
    );
    Ok(delivery::Delivery::new(
        Arc::new(sender),
        context.runtime.clone(),
    ))
}

/// `count` span exporters (one per export in flight) sharing one connection pool.
pub(crate) fn span_exporters(
    config: &Config,
    count: usize,
    context: &ExportContext,
    drops: &Arc<DropCounter>,
) -> Result<Vec<OtlpSpanExporter>, InitError> {
    #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
    {
        let delivery = delivery(config, Signal::Traces, context, drops)?;
        Ok((0..count.max(1))
            .map(|_| OtlpSpanExporter::new(delivery.clone()))
            .collect())
    }
    #[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
    {
        let _ = (count, context, drops);
        match compiled(config, Signal::Traces)? {}
    }
}

/// The metric exporter for the configured protocol.
pub(crate) fn metric_exporter(
    config: &Config,
    context: &ExportContext,
    drops: &Arc<DropCounter>,
) -> Result<OtlpMetricExporter, InitError> {
    #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
    {
        delivery(config, Signal::Metrics, context, drops).map(OtlpMetricExporter::new)
    }
    #[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
    {
        let _ = (context, drops);
        match compiled(config, Signal::Metrics)? {}
    }
}

/// The log exporter for the configured protocol.
pub(crate) fn log_exporter(
    config: &Config,
    context: &ExportContext,
    drops: &Arc<DropCounter>,
) -> Result<OtlpLogExporter, InitError> {
    #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
    {
        delivery(config, Signal::Logs, context, drops).map(OtlpLogExporter::new)
    }
    #[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
    {
        let _ = (context, drops);
        match compiled(config, Signal::Logs)? {}
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
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let port = listener.local_addr().expect("bound address").port();
        assert!(probe(&format!("http://127.0.0.1:{port}")).is_ok());
        drop(listener);
        assert!(probe(&format!("http://127.0.0.1:{port}")).is_err());
    }

    fn config(protocol: &str) -> Config {
        Config::builder()
            .build_from_vars([("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)])
            .expect("valid variables")
    }

    /// Each protocol builds with its feature, and is refused by name without it.
    #[test]
    fn a_protocol_is_available_exactly_when_its_feature_is_on() {
        for (protocol, compiled) in [
            ("grpc", cfg!(feature = "otlp-grpc")),
            ("http/protobuf", cfg!(feature = "otlp-http")),
        ] {
            match require_transport(&config(protocol), Signal::Traces) {
                Ok(()) => assert!(compiled, "{protocol} accepted without its feature"),
                Err(error) => {
                    assert!(!compiled, "{protocol} refused with its feature: {error}");
                    let message = error.to_string();
                    assert!(message.contains(&format!("OTEL_EXPORTER_OTLP_PROTOCOL={protocol}")));
                    let protocol = config(protocol).otlp(Signal::Traces).protocol;
                    assert!(message.contains(feature_of(protocol)));
                }
            }
        }
    }
}
