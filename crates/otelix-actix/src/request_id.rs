//! The request ID (the trace ID) for handlers and error bodies, and the response headers that
//! carry it.

use std::borrow::Cow;
use std::fmt;
use std::future::{ready, Ready};

use actix_web::body::BoxBody;
use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError};
use opentelemetry::trace::{SpanContext, TraceContextExt, TraceFlags, TraceId};
use opentelemetry::Context;
use serde::Serialize;

use crate::attributes::write_hex;
use crate::propagation::{TRACERESPONSE, X_REQUEST_ID};

/// The ID of the current request: its trace ID, as 32 lowercase hex characters.
///
/// The same value is in the `X-Request-ID` response header, in every log line written while
/// the request is handled, and in JSON error bodies. Take it as a handler argument:
///
/// ```
/// use otelix_actix::RequestId;
///
/// async fn handler(request_id: RequestId) -> String {
///     format!("your request: {request_id}")
/// }
/// # let _ = actix_web::web::get().to(handler);
/// ```
///
/// Extraction fails (with a 500) when no request span is current, that is when the
/// [`RequestTelemetry`](crate::RequestTelemetry) middleware is not installed or the path is
/// excluded from it; take `Option<RequestId>` where that is expected.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId {
    trace_id: TraceId,
    hex: [u8; 32],
}

impl RequestId {
    /// The request ID for `trace_id`, or `None` for the invalid (all-zero) trace ID.
    pub fn from_trace_id(trace_id: TraceId) -> Option<RequestId> {
        if trace_id == TraceId::INVALID {
            return None;
        }
        let mut hex = [0u8; 32];
        write_hex(&trace_id.to_bytes(), &mut hex);
        Some(RequestId { trace_id, hex })
    }

    /// The trace ID of the span current on this thread, if there is one: inside a handler or
    /// anything it awaits, the request's.
    pub fn current() -> Option<RequestId> {
        Context::map_current(|cx| {
            let span = cx.span();
            let span_context = span.span_context();
            if span_context.is_valid() {
                RequestId::from_trace_id(span_context.trace_id())
            } else {
                None
            }
        })
    }

    /// The trace ID this request ID stands for.
    pub fn trace_id(&self) -> TraceId {
        self.trace_id
    }

    /// The ID as 32 lowercase hex characters.
    pub fn as_str(&self) -> &str {
        // Always valid: the buffer holds hex digits only.
        std::str::from_utf8(&self.hex).unwrap_or_default()
    }

    pub(crate) fn header_value(&self) -> Option<HeaderValue> {
        HeaderValue::from_bytes(&self.hex).ok()
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RequestId").field(&self.as_str()).finish()
    }
}

impl FromRequest for RequestId {
    type Error = actix_web::Error;
    type Future = Ready<Result<RequestId, actix_web::Error>>;

    fn from_request(_req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        // The middleware makes the request's span current while the handler and its
        // extractors run, so no per-request extension is needed.
        ready(RequestId::current().ok_or_else(|| {
            ApiError::internal(
                "no request span is current: is RequestTelemetry installed for this path?",
            )
            .into()
        }))
    }
}

/// `00-{trace-id}-{span-id}-{flags}`, 55 bytes.
const TRACERESPONSE_LEN: usize = 55;

/// Sets `X-Request-ID` to `request_id` and, when the span context is valid, `traceresponse`
/// to the server span's IDs and sampled flag, replacing values the handler may have set.
pub(crate) fn insert_trace_headers(
    headers: &mut HeaderMap,
    request_id: &RequestId,
    span_context: &SpanContext,
) {
    if let Some(value) = request_id.header_value() {
        headers.insert(X_REQUEST_ID.clone(), value);
    }
    if span_context.is_valid() {
        let mut buf = [b'-'; TRACERESPONSE_LEN];
        buf[0] = b'0';
        buf[1] = b'0';
        write_hex(&span_context.trace_id().to_bytes(), &mut buf[3..35]);
        write_hex(&span_context.span_id().to_bytes(), &mut buf[36..52]);
        let flags = span_context.trace_flags() & TraceFlags::SAMPLED;
        write_hex(&[flags.to_u8()], &mut buf[53..55]);
        if let Ok(value) = HeaderValue::from_bytes(&buf) {
            headers.insert(TRACERESPONSE.clone(), value);
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    request_id: Option<&'a str>,
}

/// A JSON error response: `{"error": "<message>", "request_id": "<32 hex>"}`.
///
/// `request_id` is the current request's ([`RequestId::current`]), `null` outside a request.
/// For a 5xx status the message is replaced by the status's reason phrase (`"Internal Server
/// Error"`): a server error's text describes the server's internals, which are not the
/// client's business; log it instead (the log line carries the same request ID).
///
/// ```
/// use actix_web::http::StatusCode;
///
/// let response = otelix_actix::json_error(StatusCode::NOT_FOUND, "no such user");
/// assert_eq!(response.status(), StatusCode::NOT_FOUND);
/// ```
pub fn json_error(status: StatusCode, message: &str) -> HttpResponse {
    let request_id = RequestId::current();
    let error = if status.is_server_error() {
        status.canonical_reason().unwrap_or("Server Error")
    } else {
        message
    };
    let body = ErrorBody {
        error,
        request_id: request_id.as_ref().map(RequestId::as_str),
    };
    // Serializing two strings cannot fail; an empty body would still carry the status.
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    HttpResponse::build(status)
        .insert_header(header::ContentType::json())
        .body(bytes)
}

/// An error for handlers that renders as [`json_error`].
///
/// ```
/// use actix_web::web;
/// use otelix_actix::ApiError;
///
/// async fn get_user(id: web::Path<u64>) -> Result<String, ApiError> {
///     match *id {
///         0 => Err(ApiError::not_found("no such user")),
///         1 => Err(ApiError::internal("connection pool exhausted")), // body: "Internal Server Error"
///         id => Ok(format!("user {id}")),
///     }
/// }
/// # let _ = web::get().to(get_user);
/// ```
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: Cow<'static, str>,
}

impl ApiError {
    /// An error with `status` and `message` (hidden from the client when `status` is 5xx).
    pub fn new(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    /// 400 Bad Request with `message`.
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404 Not Found with `message`.
    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// 500 Internal Server Error. `detail` is kept for logs ([`Display`](fmt::Display)) and
    /// never sent to the client.
    pub fn internal(detail: impl fmt::Display) -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, detail.to_string())
    }

    /// The response status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message, including for 5xx errors, where it is not shown to the client.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status.as_u16(), self.message)
    }
}

impl std::error::Error for ApiError {}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        json_error(self.status, &self.message)
    }
}

/// An error returned by the service inside [`RequestTelemetry`](crate::RequestTelemetry)
/// instead of a response, wrapped so that the response it renders into still carries
/// `X-Request-ID` and `traceresponse`.
///
/// actix-web cannot hand a middleware the request back after the inner service failed, and a
/// response cannot be built without it, so the error is passed on wrapped: its status code and
/// body are the inner error's, and it is rendered with the request's span current, so a
/// [`json_error`] body names the right request. Get the original with
/// [`TracedError::inner`] (for example `err.as_error::<TracedError>()` in an outer error
/// handler).
pub struct TracedError {
    inner: actix_web::Error,
    request_id: RequestId,
    span_context: SpanContext,
}

impl TracedError {
    pub(crate) fn new(
        inner: actix_web::Error,
        request_id: RequestId,
        span_context: SpanContext,
    ) -> Self {
        TracedError {
            inner,
            request_id,
            span_context,
        }
    }

    /// The error the inner service returned.
    pub fn inner(&self) -> &actix_web::Error {
        &self.inner
    }

    /// The error the inner service returned.
    pub fn into_inner(self) -> actix_web::Error {
        self.inner
    }

    /// The ID of the request that failed.
    pub fn request_id(&self) -> RequestId {
        self.request_id
    }
}

impl fmt::Debug for TracedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TracedError")
            .field("inner", &self.inner)
            .field("request_id", &self.request_id)
            .finish()
    }
}

impl fmt::Display for TracedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

impl ResponseError for TracedError {
    fn status_code(&self) -> StatusCode {
        self.inner.as_response_error().status_code()
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        let _guard = Context::new()
            .with_remote_span_context(self.span_context.clone())
            .attach();
        let mut response = self.inner.error_response();
        insert_trace_headers(response.headers_mut(), &self.request_id, &self.span_context);
        response
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanId, TraceState};

    use super::*;

    fn span_context(sampled: bool) -> SpanContext {
        SpanContext::new(
            TraceId::from_bytes([0xab; 16]),
            SpanId::from_bytes([0x01; 8]),
            if sampled {
                TraceFlags::SAMPLED
            } else {
                TraceFlags::default()
            },
            false,
            TraceState::NONE,
        )
    }

    #[test]
    fn request_id_is_lowercase_hex_of_the_trace_id() {
        let id = RequestId::from_trace_id(TraceId::from_bytes([0xab; 16]));
        assert_eq!(id.map(|id| id.to_string()), Some("ab".repeat(16)));
        assert_eq!(RequestId::from_trace_id(TraceId::INVALID), None);
    }

    #[test]
    fn headers_carry_trace_id_and_traceresponse() {
        for (sampled, flags) in [(true, "01"), (false, "00")] {
            let sc = span_context(sampled);
            let Some(id) = RequestId::from_trace_id(sc.trace_id()) else {
                panic!("valid trace id");
            };
            let mut headers = HeaderMap::new();
            headers.insert(X_REQUEST_ID.clone(), HeaderValue::from_static("client"));
            insert_trace_headers(&mut headers, &id, &sc);
            let get = |name| headers.get(name).and_then(|v| v.to_str().ok());
            let trace = "ab".repeat(16);
            assert_eq!(get(&X_REQUEST_ID), Some(trace.as_str()));
            let expected = format!("00-{trace}-0101010101010101-{flags}");
            assert_eq!(get(&TRACERESPONSE), Some(expected.as_str()));
        }
    }

    #[test]
    fn server_error_bodies_hide_the_message() {
        let response = json_error(StatusCode::INTERNAL_SERVER_ERROR, "db password wrong");
        let body = actix_web::body::to_bytes(response.into_body());
        let bytes = futures_executor_block_on(body);
        let json: serde_json::Value = serde_json::from_slice(&bytes).expect("the body is JSON");
        assert_eq!(json["error"], "Internal Server Error");
        assert!(json["request_id"].is_null());

        let error = ApiError::bad_request("name is required");
        let bytes = futures_executor_block_on(actix_web::body::to_bytes(
            error.error_response().into_body(),
        ));
        let json: serde_json::Value = serde_json::from_slice(&bytes).expect("the body is JSON");
        assert_eq!(json["error"], "name is required");
    }

    /// Bodies built from bytes are ready at once, so polling once is enough.
    fn futures_executor_block_on<F, T, E>(future: F) -> T
    where
        F: std::future::Future<Output = Result<T, E>>,
        E: fmt::Debug,
    {
        let mut future = std::pin::pin!(future);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match future.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(Ok(value)) => value,
            std::task::Poll::Ready(Err(e)) => panic!("{e:?}"),
            std::task::Poll::Pending => panic!("body was not ready"),
        }
    }
}
