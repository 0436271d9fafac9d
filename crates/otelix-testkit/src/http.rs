//! The OTLP/HTTP (protobuf) endpoints.

use std::io::Read;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use flate2::read::GzDecoder;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use tokio::net::TcpListener;

use crate::behavior::Verdict;
use crate::receiver::Shared;
use crate::requests::ExportMessage;
use crate::Refusal;
use crate::{Transport, MAX_MESSAGE_BYTES};

const PROTOBUF: &str = "application/x-protobuf";

/// Serves `/v1/traces`, `/v1/metrics` and `/v1/logs` on `listener` until the runtime drops
/// the task.
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let app = Router::new()
        .route("/v1/traces", post(traces))
        .route("/v1/metrics", post(metrics))
        .route("/v1/logs", post(logs))
        .layer(DefaultBodyLimit::max(MAX_MESSAGE_BYTES))
        .with_state(shared);
    if let Err(error) = axum::serve(listener, app).await {
        eprintln!("otelix-testkit: OTLP/HTTP server stopped: {error}");
    }
}

async fn traces(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    export::<ExportTraceServiceRequest, ExportTraceServiceResponse>(
        &shared,
        &headers,
        &body,
        |shared, req| shared.store.record_traces(req, Transport::Http),
    )
    .await
}

async fn metrics(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    export::<ExportMetricsServiceRequest, ExportMetricsServiceResponse>(
        &shared,
        &headers,
        &body,
        |shared, req| shared.store.record_metrics(req, Transport::Http),
    )
    .await
}

async fn logs(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    export::<ExportLogsServiceRequest, ExportLogsServiceResponse>(
        &shared,
        &headers,
        &body,
        |shared, req| shared.store.record_logs(req, Transport::Http),
    )
    .await
}

async fn export<Req: ExportMessage + Default, Resp: Message + Default>(
    shared: &Shared,
    headers: &HeaderMap,
    body: &[u8],
    record: impl FnOnce(&Shared, Req),
) -> Response {
    let (request, gzip) = match decode::<Req>(headers, body) {
        Ok(decoded) => decoded,
        Err(rejection) => return rejection.into_response(),
    };
    let verdict = shared.behavior.verdict();
    let refused = match verdict {
        Verdict::Refuse(refusal) => Some(refusal),
        Verdict::Record { .. } => None,
    };
    shared
        .store
        .count_request(|| request.describe(Transport::Http, gzip, refused));
    match verdict {
        Verdict::Refuse(refusal) => refusal_response(refusal),
        Verdict::Record { answer_after } => {
            record(shared, request);
            answer_after.wait().await;
            (
                [(header::CONTENT_TYPE, HeaderValue::from_static(PROTOBUF))],
                Resp::default().encode_to_vec(),
            )
                .into_response()
        }
    }
}

fn refusal_response(refusal: Refusal) -> Response {
    match refusal {
        Refusal::Unavailable {
            retry_after_seconds,
        } => {
            let mut response = (
                StatusCode::SERVICE_UNAVAILABLE,
                "otelix-testkit receiver refuses: unavailable\n",
            )
                .into_response();
            if let Some(seconds) = retry_after_seconds {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            response
        }
        Refusal::InvalidArgument => (
            StatusCode::BAD_REQUEST,
            "otelix-testkit receiver refuses: invalid argument\n",
        )
            .into_response(),
    }
}

/// A request the endpoint refuses, with the status and a message naming the problem.
struct Rejection(StatusCode, String);

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        (self.0, format!("{}\n", self.1)).into_response()
    }
}

/// The request and whether its body was gzip-compressed.
fn decode<Req: Message + Default>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Req, bool), Rejection> {
    let content_type = header_str(headers, header::CONTENT_TYPE);
    let mime = content_type.split(';').next().unwrap_or_default().trim();
    if !mime.eq_ignore_ascii_case(PROTOBUF) {
        return Err(Rejection(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("unsupported content-type {content_type:?}: only {PROTOBUF} is accepted"),
        ));
    }
    let encoding = header_str(headers, header::CONTENT_ENCODING);
    let inflated;
    let gzip = encoding.trim().eq_ignore_ascii_case("gzip");
    let bytes = match encoding.trim().to_ascii_lowercase().as_str() {
        "" | "identity" => body,
        "gzip" => {
            inflated = gunzip(body)?;
            &inflated[..]
        }
        _ => {
            return Err(Rejection(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("unsupported content-encoding {encoding:?}: only gzip is accepted"),
            ))
        }
    };
    let request = Req::decode(bytes).map_err(|error| {
        Rejection(
            StatusCode::BAD_REQUEST,
            format!("body is not a valid protobuf export request: {error}"),
        )
    })?;
    Ok((request, gzip))
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> String {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default()
}

fn gunzip(body: &[u8]) -> Result<Vec<u8>, Rejection> {
    let mut out = Vec::new();
    // Read one byte past the limit to tell "exactly at the limit" from "over it".
    let limit = u64::try_from(MAX_MESSAGE_BYTES)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    GzDecoder::new(body)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|error| {
            Rejection(
                StatusCode::BAD_REQUEST,
                format!("body is not valid gzip: {error}"),
            )
        })?;
    if out.len() > MAX_MESSAGE_BYTES {
        return Err(Rejection(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("decompressed body exceeds {MAX_MESSAGE_BYTES} bytes"),
        ));
    }
    Ok(out)
}
