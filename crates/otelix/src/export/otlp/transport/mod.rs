//! The two OTLP transports behind one call: send an encoded request once, within a time
//! limit, and say how it failed in the terms the retries and the failure reports need.
//!
//! | file | what it holds |
//! |---|---|
//! | `grpc` | OTLP/gRPC: tonic's client with a raw-bytes codec over hyper's HTTP/2 connections (`otlp-grpc`) |
//! | `http` | OTLP/HTTP with protobuf bodies: hyper's HTTP/1.1 client (`otlp-http`) |
//! | this file | [`Transport`], [`Failure`] and the error descriptions both use |

#[cfg(test)]
pub(crate) mod fake;
#[cfg(feature = "otlp-grpc")]
mod grpc;
#[cfg(feature = "otlp-http")]
mod http;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::config::{OtlpExport, Protocol, Signal};
use crate::InitError;

/// What every OTLP request says it is, as the exporter specification asks.
pub(crate) const USER_AGENT: &str =
    concat!("OTel-OTLP-Exporter-Rust-otelix/", env!("CARGO_PKG_VERSION"));

/// One signal's connection to its collector.
pub(crate) enum Transport {
    #[cfg(feature = "otlp-grpc")]
    Grpc(Box<grpc::GrpcTransport>),
    #[cfg(feature = "otlp-http")]
    Http(Box<http::HttpTransport>),
    /// Answers from a script, for the retry loop's tests.
    #[cfg(test)]
    Fake(fake::FakeTransport),
}

impl Transport {
    /// The transport of `export.protocol`, which the caller checked this build has.
    pub(crate) fn new(
        signal: Signal,
        export: &OtlpExport,
        tls: Arc<rustls::ClientConfig>,
    ) -> Result<Self, InitError> {
        match export.protocol {
            #[cfg(feature = "otlp-grpc")]
            Protocol::Grpc => grpc::GrpcTransport::new(signal, export, tls)
                .map(|grpc| Transport::Grpc(Box::new(grpc))),
            #[cfg(feature = "otlp-http")]
            Protocol::HttpProtobuf => http::HttpTransport::new(signal, export, tls)
                .map(|http| Transport::Http(Box::new(http))),
            #[allow(unreachable_patterns)]
            protocol => Err(InitError::FeatureDisabled {
                variable: export.protocol_setting(),
                value: protocol.as_str(),
                feature: super::feature_of(protocol),
            }),
        }
    }

    /// The request body as it goes on the wire: gzip-compressed here for HTTP, once for every
    /// attempt (tonic compresses gRPC messages itself).
    pub(crate) fn prepare(&self, body: Vec<u8>) -> Result<Bytes, Failure> {
        match self {
            #[cfg(feature = "otlp-grpc")]
            Transport::Grpc(_) => Ok(Bytes::from(body)),
            #[cfg(feature = "otlp-http")]
            Transport::Http(http) => http.prepare(body),
            #[cfg(test)]
            Transport::Fake(_) => Ok(Bytes::from(body)),
        }
    }

    /// Sends `body` once; the answer's body (an `Export*ServiceResponse`) on success. Must run
    /// inside the export runtime.
    pub(crate) async fn send(&self, body: Bytes, timeout: Duration) -> Result<Bytes, Failure> {
        let attempt = async {
            match self {
                #[cfg(feature = "otlp-grpc")]
                Transport::Grpc(grpc) => grpc.send(body, timeout).await,
                #[cfg(feature = "otlp-http")]
                Transport::Http(http) => http.send(body).await,
                #[cfg(test)]
                Transport::Fake(fake) => fake.send(body).await,
            }
        };
        match tokio::time::timeout(timeout, attempt).await {
            Ok(answer) => answer,
            Err(_elapsed) => Err(Failure::retryable(
                FailureKind::Timeout,
                format!("no answer within {} ms", timeout.as_millis()),
                None,
            )),
        }
    }
}

/// How one attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// Whether the request may be sent again, and after what delay the server asked for.
    pub(crate) retry: Retry,
    pub(crate) kind: FailureKind,
    /// What went wrong, for logs: the status and the server's message, or the connection
    /// error's chain. Never a header value.
    pub(crate) reason: String,
}

impl Failure {
    pub(crate) fn retryable(
        kind: FailureKind,
        reason: impl Into<String>,
        server_delay: Option<Duration>,
    ) -> Self {
        Failure {
            retry: Retry::After(server_delay),
            kind,
            reason: reason.into(),
        }
    }

    pub(crate) fn permanent(kind: FailureKind, reason: impl Into<String>) -> Self {
        Failure {
            retry: Retry::Never,
            kind,
            reason: reason.into(),
        }
    }

    /// A failure to connect or to keep the connection: retryable, and a certificate failure
    /// when rustls' error is in the chain or a TLS alert ended the connection.
    pub(crate) fn connection(error: &(dyn std::error::Error + 'static)) -> Self {
        let reason = describe(error);
        let kind = if certificate_error(error).is_some() || reason.contains(TLS_ALERT) {
            FailureKind::Certificate
        } else {
            FailureKind::Connection
        };
        Failure::retryable(kind, reason, None)
    }
}

impl Failure {
    /// A connection over TLS that the collector closed as soon as the request was written is
    /// what a collector that refuses the client's certificate looks like from here (it closes
    /// without an alert we get to read): the reason says so, since "not reachable" alone would
    /// send the reader to the network.
    #[cfg(feature = "otlp-grpc")]
    pub(crate) fn over_tls(mut self, tls: bool) -> Self {
        let closed = ["broken pipe", "connection reset"]
            .iter()
            .any(|cut| self.reason.contains(cut));
        if tls && self.kind == FailureKind::Connection && closed {
            self.reason.push_str(
                " (the collector closed the TLS connection: does it require a client certificate this one lacks or it does not trust? OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE)",
            );
        }
        self
    }
}

/// How rustls words an alert from the peer (`received fatal alert: CertificateRequired`). A
/// collector that refuses the client's certificate says so with an alert after the TLS 1.3
/// handshake, which reaches a gRPC call through HTTP/2, and h2 keeps only an I/O error's kind
/// and text: the text is all that is left to tell it from a lost connection.
const TLS_ALERT: &str = "received fatal alert: ";

/// Whether a failed request is sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// A permanent failure: the same request would fail the same way.
    Never,
    /// A transient failure; the server may have said how long to wait.
    After(Option<Duration>),
}

/// The kind of a failure, for the once-per-outage report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureKind {
    /// No connection: refused, unreachable, reset, a name that does not resolve.
    Connection,
    /// The server's certificate did not verify, or the TLS handshake failed.
    Certificate,
    /// No answer within the attempt's time.
    Timeout,
    /// The collector refused the credentials (HTTP 401/403, gRPC UNAUTHENTICATED or
    /// PERMISSION_DENIED).
    Authentication,
    /// The collector answered that it cannot take the request now (HTTP 429/502/503/504, the
    /// retryable gRPC codes).
    Unavailable,
    /// The collector refused this request for good (HTTP 400, gRPC INVALID_ARGUMENT, ...).
    Refused,
}

impl FailureKind {
    /// Whether the collector is unusable, rather than refusing one request.
    pub(crate) fn is_outage(self) -> bool {
        !matches!(self, FailureKind::Refused)
    }

    /// Whether the collector is not there at all: no connection, or no TLS session with it.
    pub(crate) fn is_unreachable(self) -> bool {
        matches!(self, FailureKind::Connection | FailureKind::Certificate)
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FailureKind::Connection => "collector not reachable",
            FailureKind::Certificate => "TLS handshake failed",
            FailureKind::Timeout => "collector did not answer in time",
            FailureKind::Authentication => "collector refused the credentials",
            FailureKind::Unavailable => "collector unavailable",
            FailureKind::Refused => "collector refused the request",
        }
    }
}

/// An error and its sources as one line, each message once (wrappers often repeat their
/// source's message).
pub(crate) fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = String::new();
    let mut next = Some(error);
    while let Some(error) = next {
        let message = error.to_string();
        if !message.is_empty() && !line.contains(&message) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&message);
        }
        next = error.source();
    }
    line
}

/// rustls' error in `error`'s chain (the server's certificate did not verify, the handshake
/// failed), looking inside the `io::Error`s and boxed errors that carry it.
pub(crate) fn certificate_error<'e>(
    error: &'e (dyn std::error::Error + 'static),
) -> Option<&'e rustls::Error> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(found) = rustls_error(error) {
            return Some(found);
        }
        next = error.source();
    }
    None
}

/// `error` itself as rustls' error, or the one an `io::Error` wraps, however deep (its
/// `source()` skips it).
fn rustls_error<'e>(error: &'e (dyn std::error::Error + 'static)) -> Option<&'e rustls::Error> {
    if let Some(found) = error.downcast_ref::<rustls::Error>() {
        return Some(found);
    }
    let inner = error
        .downcast_ref::<std::io::Error>()
        .and_then(std::io::Error::get_ref)?;
    rustls_error(inner)
}

/// The endpoint as a URI, or the start-up error naming it.
pub(crate) fn endpoint_uri(signal: Signal, export: &OtlpExport) -> Result<::http::Uri, InitError> {
    export
        .endpoint
        .parse()
        .map_err(|source| InitError::InvalidEndpoint {
            signal: signal.as_str(),
            endpoint: export.endpoint.clone(),
            source,
        })
}

/// Both transports' connections, before the HTTP version is chosen: TCP without Nagle's delay,
/// connecting within one attempt's timeout, and TLS by otelix's rustls configuration. An https
/// endpoint is always TLS: the connector refuses to fall back to plaintext.
pub(crate) fn connector(
    export: &OtlpExport,
    tls: &rustls::ClientConfig,
) -> hyper_rustls::HttpsConnectorBuilder<hyper_rustls::builderstates::WantsProtocols1> {
    let tls = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls.clone());
    if export.uses_tls() {
        tls.https_only()
    } else {
        tls.https_or_http()
    }
}

/// The TCP side of [`connector`].
pub(crate) fn tcp(export: &OtlpExport) -> hyper_util::client::legacy::connect::HttpConnector {
    let mut tcp = hyper_util::client::legacy::connect::HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    tcp.set_connect_timeout(Some(export.timeout));
    tcp
}

/// The signal's headers as an HTTP header map, values marked sensitive so that no `Debug`
/// output shows them (the configuration validated every name and value).
pub(crate) fn header_map(export: &OtlpExport) -> ::http::HeaderMap {
    export
        .header_pairs()
        .filter_map(|(name, value)| {
            let name = ::http::HeaderName::from_bytes(name.as_bytes()).ok()?;
            let mut value = ::http::HeaderValue::from_str(value).ok()?;
            value.set_sensitive(true);
            Some((name, value))
        })
        .collect()
}

/// Text a server sent, shortened for one log line.
pub(crate) fn server_text(text: &str) -> &str {
    const MAX: usize = 256;
    if text.len() <= MAX {
        return text;
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
