//! OTLP over HTTP with protobuf bodies: hyper's HTTP/1.1 client per signal, connections made
//! by hyper-rustls with otelix's rustls configuration for an `https` endpoint, the body
//! gzip-compressed once when compression is on.
//!
//! hyper rather than reqwest: the rustls of reqwest without a built-in provider would make
//! every `reqwest::Client` in the service's build panic unless a process-wide provider is
//! installed first (cargo unifies features), and hyper is what the gRPC transport uses already.

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER, USER_AGENT as USER_AGENT_HEADER};
use http::{HeaderMap, HeaderValue, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use prost::Message as _;

use super::{
    connector, endpoint_uri, header_map, server_text, tcp, Failure, FailureKind, USER_AGENT,
};
use crate::config::{Compression, OtlpExport, Signal};
use crate::InitError;

/// One signal's HTTP client and the URL it posts to.
pub(crate) struct HttpTransport {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    uri: http::Uri,
    headers: HeaderMap,
    gzip: bool,
}

impl HttpTransport {
    pub(super) fn new(
        signal: Signal,
        export: &OtlpExport,
        tls: Arc<rustls::ClientConfig>,
    ) -> Result<Self, InitError> {
        let uri = endpoint_uri(signal, export)?;
        let connector = connector(export, &tls)
            .enable_http1()
            .wrap_connector(tcp(export));
        let client = Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .build(connector);
        let mut headers = header_map(export);
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-protobuf"),
        );
        headers.insert(USER_AGENT_HEADER, HeaderValue::from_static(USER_AGENT));
        let gzip = export.compression == Compression::Gzip;
        if gzip {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        Ok(HttpTransport {
            client,
            uri,
            headers,
            gzip,
        })
    }

    pub(super) fn prepare(&self, body: Vec<u8>) -> Result<Bytes, Failure> {
        if !self.gzip {
            return Ok(Bytes::from(body));
        }
        let mut encoder = flate2::write::GzEncoder::new(
            Vec::with_capacity(body.len() / 4),
            flate2::Compression::fast(),
        );
        encoder
            .write_all(&body)
            .and_then(|()| encoder.finish())
            .map(Bytes::from)
            .map_err(|error| {
                Failure::permanent(
                    FailureKind::Refused,
                    format!("cannot gzip the body: {error}"),
                )
            })
    }

    pub(super) async fn send(&self, body: Bytes) -> Result<Bytes, Failure> {
        let mut request = http::Request::new(Full::new(body));
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        let response = self
            .client
            .request(request)
            .await
            .map_err(|error| Failure::connection(&error))?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map(|b| b.to_bytes());
        if parts.status.is_success() {
            return body.map_err(|error| Failure::connection(&error));
        }
        let server_delay = retry_after(&parts.headers, SystemTime::now());
        let message = body.ok().and_then(|b| status_message(&parts.headers, &b));
        let status = parts.status;
        let reason = match message {
            Some(message) => format!("HTTP {status}: {}", server_text(&message)),
            None => format!("HTTP {status}"),
        };
        Err(classify(status, reason, server_delay))
    }
}

/// A failed answer, as the OTLP specification classifies it.
fn classify(status: StatusCode, reason: String, server_delay: Option<Duration>) -> Failure {
    match status.as_u16() {
        429 | 502 | 503 | 504 => Failure::retryable(FailureKind::Unavailable, reason, server_delay),
        401 | 403 => Failure::permanent(FailureKind::Authentication, reason),
        _ => Failure::permanent(FailureKind::Refused, reason),
    }
}

/// `Retry-After` as a delay: seconds, or an HTTP date (a date already past is no delay).
fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// What an error body says: the message of the `google.rpc.Status` an OTLP/HTTP collector
/// sends, or the text a proxy in front of it sent.
fn status_message(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    #[derive(Clone, PartialEq, prost::Message)]
    struct RpcStatus {
        #[prost(int32, tag = "1")]
        code: i32,
        #[prost(string, tag = "2")]
        message: String,
    }
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let message = if content_type.starts_with("application/x-protobuf") {
        RpcStatus::decode(body).ok()?.message
    } else if content_type.starts_with("text/plain") {
        String::from_utf8_lossy(body).trim().to_owned()
    } else {
        return None;
    };
    Some(message).filter(|message| !message.is_empty())
}

#[cfg(test)]
#[cfg(feature = "otlp-grpc")]
#[path = "http_tests.rs"]
mod tests;
