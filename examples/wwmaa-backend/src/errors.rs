//! Every error leaves as `{"error": "...", "request_id": "<trace id>"}`: bad input (400, 413,
//! 415), unknown routes (404), wrong methods (405), failures (500, 502, 503, 504).
//!
//! 5xx bodies never say more than the status's reason phrase (otelix-actix's `json_error`
//! hides the message): the details of an internal error, which can include SQL or the text a
//! database quoted from a failing row, go to the log, whose lines carry the same request ID.

use actix_web::error::{InternalError, JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use otelix_actix::{json_error, ApiError};

/// The largest JSON body accepted, in bytes.
pub const MAX_JSON_BYTES: usize = 64 * 1024;

/// Bad JSON bodies: 400 (413 when too large, 415 when not JSON), with a JSON error body.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_JSON_BYTES)
        .error_handler(|error, _req| {
            let (status, message) = match &error {
                JsonPayloadError::OverflowKnownLength { .. }
                | JsonPayloadError::Overflow { .. } => (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the JSON body is larger than {MAX_JSON_BYTES} bytes"),
                ),
                JsonPayloadError::ContentType => (
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "the body must be JSON (Content-Type: application/json)".to_owned(),
                ),
                JsonPayloadError::Deserialize(e) => {
                    (StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}"))
                }
                _ => (
                    StatusCode::BAD_REQUEST,
                    "the request body could not be read".to_owned(),
                ),
            };
            let response = json_error(status, &message);
            InternalError::from_response(error, response).into()
        })
}

/// Path parameters that do not parse (`/api/members/abc`): 400.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|error, _req| {
        let message = match &error {
            PathError::Deserialize(e) => format!("invalid path parameter: {e}"),
            _ => "invalid path parameter".to_owned(),
        };
        let response = json_error(StatusCode::BAD_REQUEST, &message);
        InternalError::from_response(error, response).into()
    })
}

/// Query strings that do not parse (`?limit=many`, `?status=unknown`): 400.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error, _req| {
        let message = match &error {
            QueryPayloadError::Deserialize(e) => format!("invalid query string: {e}"),
            _ => "invalid query string".to_owned(),
        };
        let response = json_error(StatusCode::BAD_REQUEST, &message);
        InternalError::from_response(error, response).into()
    })
}

/// The application's default service: no route matched. The path is not echoed.
pub async fn not_found() -> HttpResponse {
    json_error(StatusCode::NOT_FOUND, "no such resource")
}

/// A resource's default service: the path exists, the method does not.
pub async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    let mut response = json_error(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("method {} is not allowed here", short_method(&req)),
    );
    if let Some(allow) = allowed_methods(req.match_pattern().as_deref()) {
        response
            .headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static(allow));
    }
    response
}

fn short_method(req: &HttpRequest) -> &str {
    let method = req.method().as_str();
    if method.len() <= 16 && method.bytes().all(|b| b.is_ascii_alphabetic()) {
        method
    } else {
        "(unknown)"
    }
}

fn allowed_methods(route: Option<&str>) -> Option<&'static str> {
    match route? {
        "/api/members" => Some("GET, POST"),
        "/api/members/{id}" => Some("GET, PATCH, DELETE"),
        "/api/reports/activity" => Some("GET"),
        _ => Some("POST"),
    }
}

/// A 500 whose `detail` is logged (with the request's trace ID) and never sent.
pub fn internal(context: &'static str, detail: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %detail, "{context}");
    ApiError::internal(context)
}

/// A failed database call: 503 when the database could not be reached (no connection within
/// `DATABASE_ACQUIRE_TIMEOUT_MS`, a connection lost: see [`crate::store::is_unavailable`]),
/// 500 otherwise. The log line names the database (`db_system`: `postgresql` or `sqlite`) and
/// carries the detail, which is never sent.
pub fn database(context: &'static str, db_system: &'static str, error: &sqlx::Error) -> ApiError {
    let unavailable = crate::store::is_unavailable(error);
    tracing::error!(db_system, unavailable, error = %error, "{context}");
    if unavailable {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, context)
    } else {
        ApiError::internal(context)
    }
}

/// A 400 with `message`.
pub fn bad_request(message: impl Into<std::borrow::Cow<'static, str>>) -> ApiError {
    ApiError::bad_request(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_database_is_a_503_and_a_failing_query_a_500() {
        let io = || std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        for unreachable in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::Io(io()),
        ] {
            let error = database("reading a member failed", "postgresql", &unreachable);
            assert_eq!(
                error.status(),
                StatusCode::SERVICE_UNAVAILABLE,
                "{unreachable}"
            );
        }
        for failed in [
            sqlx::Error::RowNotFound,
            sqlx::Error::Protocol("bad".into()),
        ] {
            let error = database("reading a member failed", "postgresql", &failed);
            assert_eq!(
                error.status(),
                StatusCode::INTERNAL_SERVER_ERROR,
                "{failed}"
            );
        }
    }
}
