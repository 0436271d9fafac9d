//! OTLP over gRPC: tonic's client, sending bytes the encoders already wrote through a raw
//! codec, over hyper's HTTP/2 client with connections made by hyper-rustls (TLS with otelix's
//! rustls configuration and ALPN `h2` for an `https` endpoint, plaintext HTTP/2 for `http`).
//!
//! hyper's client stands in for tonic's `Channel`: a `Channel` with a connector of its own
//! refuses `https` endpoints whenever any crate in the build turns on one of tonic's TLS
//! features, and it would add a buffer task between the caller and the connection.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf as _, BufMut as _, Bytes};
use http::uri::PathAndQuery;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::{Code, Status};
use tonic_types::StatusExt as _;

use super::{
    connector, endpoint_uri, header_map, server_text, tcp, Failure, FailureKind, USER_AGENT,
};
use crate::config::{Compression, OtlpExport, Signal};
use crate::InitError;

type HyperClient = Client<HttpsConnector<HttpConnector>, tonic::body::Body>;

/// One signal's gRPC client: its connections, its headers and the service method it calls.
pub(crate) struct GrpcTransport {
    client: tonic::client::Grpc<HyperClient>,
    path: PathAndQuery,
    metadata: MetadataMap,
    tls: bool,
}

impl GrpcTransport {
    pub(super) fn new(
        signal: Signal,
        export: &OtlpExport,
        tls: Arc<rustls::ClientConfig>,
    ) -> Result<Self, InitError> {
        let origin = endpoint_uri(signal, export)?;
        let connector = connector(export, &tls)
            .enable_http2()
            .wrap_connector(tcp(export));
        let hyper = Client::builder(TokioExecutor::new())
            .http2_only(true)
            .timer(TokioTimer::new())
            .build(connector);
        let mut client = tonic::client::Grpc::with_origin(hyper, origin)
            .accept_compressed(CompressionEncoding::Gzip);
        if export.compression == Compression::Gzip {
            client = client.send_compressed(CompressionEncoding::Gzip);
        }
        let mut metadata = MetadataMap::from_headers(header_map(export));
        metadata.insert("user-agent", MetadataValue::from_static(USER_AGENT));
        Ok(GrpcTransport {
            client,
            path: PathAndQuery::from_static(service_path(signal)),
            metadata,
            tls: export.uses_tls(),
        })
    }

    pub(super) async fn send(&self, body: Bytes, timeout: Duration) -> Result<Bytes, Failure> {
        let mut client = self.client.clone();
        let mut request = tonic::Request::new(body);
        *request.metadata_mut() = self.metadata.clone();
        // `grpc-timeout`, so that the collector stops working on a request nobody waits for.
        request.set_timeout(timeout);
        client
            .ready()
            .await
            .map_err(|error| Failure::connection(&error))?;
        client
            .unary::<Bytes, Bytes, RawCodec>(request, self.path.clone(), RawCodec)
            .await
            .map(tonic::Response::into_inner)
            .map_err(|status| classify(&status).over_tls(self.tls))
    }
}

/// The `Export` method of the signal's collector service.
fn service_path(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        Signal::Metrics => "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
        Signal::Logs => "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
    }
}

/// A failed call, as the OTLP specification classifies it. A status tonic made from a
/// client-side error (no connection, a reset stream) carries that error as its source; one the
/// collector sent does not.
fn classify(status: &Status) -> Failure {
    if let Some(source) = std::error::Error::source(status) {
        return Failure::connection(source);
    }
    let code = status.code();
    let reason = format!(
        "gRPC status {} ({}): {}",
        code as i32,
        code.description(),
        server_text(status.message())
    );
    let server_delay = status
        .get_details_retry_info()
        .and_then(|info| info.retry_delay);
    match code {
        Code::Cancelled
        | Code::DeadlineExceeded
        | Code::Aborted
        | Code::OutOfRange
        | Code::Unavailable
        | Code::DataLoss => Failure::retryable(FailureKind::Unavailable, reason, server_delay),
        // Only a collector that says when to come back is out of capacity for a while;
        // without RetryInfo it refuses the request for good.
        Code::ResourceExhausted if server_delay.is_some() => {
            Failure::retryable(FailureKind::Unavailable, reason, server_delay)
        }
        Code::Unauthenticated | Code::PermissionDenied => {
            Failure::permanent(FailureKind::Authentication, reason)
        }
        _ => Failure::permanent(FailureKind::Refused, reason),
    }
}

/// Sends bytes an encoder already wrote, and hands back the answer's bytes undecoded.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Self::Error> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

#[cfg(test)]
#[cfg(feature = "otlp-http")]
#[path = "grpc_tests.rs"]
mod tests;
