//! Hooks that customise what [`RequestTelemetry`](crate::RequestTelemetry) records, in the
//! manner of tower-http's `OnRequest`/`OnResponse`: small traits whose methods have defaults,
//! implemented by a type of your own and passed to the middleware's builder.

use actix_web::dev::ServiceRequest;
use actix_web::http::StatusCode;
use actix_web::HttpRequest;
use opentelemetry::KeyValue;

use crate::attributes::status_str;

/// How a request ended, as seen by the hooks.
#[derive(Debug, Clone, Copy)]
pub struct Outcome<'a> {
    pub(crate) status: StatusCode,
    pub(crate) error: Option<&'a actix_web::Error>,
    pub(crate) request: Option<&'a HttpRequest>,
    pub(crate) route: Option<&'a str>,
}

impl<'a> Outcome<'a> {
    /// The response status: the response's own, or the status the error renders as.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The error behind the response: one a handler returned (actix-web renders it into the
    /// response), or one the wrapped service returned instead of a response.
    pub fn error(&self) -> Option<&'a actix_web::Error> {
        self.error
    }

    /// The request, when the wrapped service produced a response; `None` when it returned an
    /// error, because actix-web does not hand the request back in that case.
    pub fn request(&self) -> Option<&'a HttpRequest> {
        self.request
    }

    /// The matched route template (`http.route`), `None` when no route matched.
    pub fn route(&self) -> Option<&'a str> {
        self.route
    }
}

/// Adds attributes to the request's SERVER span.
///
/// Both methods do nothing by default. Attributes added here go on the span only, never on
/// metrics, so they may carry request-specific values (but mind what you put in traces).
///
/// ```
/// use actix_web::dev::ServiceRequest;
/// use opentelemetry::KeyValue;
/// use otelix_actix::{Outcome, SpanAttributes};
///
/// struct TenantAttribute;
///
/// impl SpanAttributes for TenantAttribute {
///     fn on_request(&self, request: &ServiceRequest, attributes: &mut Vec<KeyValue>) {
///         if let Some(tenant) = request.headers().get("x-tenant").and_then(|v| v.to_str().ok()) {
///             attributes.push(KeyValue::new("app.tenant", tenant.to_owned()));
///         }
///     }
/// }
/// ```
pub trait SpanAttributes: 'static {
    /// Called before the span starts, with the attributes otelix set already; attributes
    /// pushed here are visible to the sampler.
    fn on_request(&self, request: &ServiceRequest, attributes: &mut Vec<KeyValue>) {
        let _ = (request, attributes);
    }

    /// Called once the response (or the error standing for it) is ready, before the span
    /// ends; the status code, route and `error.type` are added after this.
    fn on_response(&self, outcome: &Outcome<'_>, attributes: &mut Vec<KeyValue>) {
        let _ = (outcome, attributes);
    }
}

/// The default [`SpanAttributes`]: adds nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultSpanAttributes;

impl SpanAttributes for DefaultSpanAttributes {}

/// Decides whether a request failed and, if so, its `error.type`: the span's status becomes
/// Error and `error.type` goes on the span and on `http.server.request.duration`.
///
/// The value is a `&'static str` on purpose: `error.type` is a metric label and must be a short
/// class from a small set (`"500"`, `"timeout"`, `"db_unavailable"`), never a message.
///
/// ```
/// use otelix_actix::{ClassifyError, Outcome};
///
/// /// Also counts 429 as a failure, so rate limiting shows up on dashboards.
/// struct RateLimitIsAnError;
///
/// impl ClassifyError for RateLimitIsAnError {
///     fn error_type(&self, outcome: &Outcome<'_>) -> Option<&'static str> {
///         match outcome.status().as_u16() {
///             429 => Some("429"),
///             _ => otelix_actix::DefaultClassifyError.error_type(outcome),
///         }
///     }
/// }
/// ```
pub trait ClassifyError: 'static {
    /// By default, what the HTTP semantic conventions say for servers: a 5xx status is a
    /// failure, with the status code as `error.type`; 4xx and below are not (the client erred,
    /// not the server) — whether or not a handler error produced the response.
    fn error_type(&self, outcome: &Outcome<'_>) -> Option<&'static str> {
        outcome
            .status()
            .is_server_error()
            .then(|| status_str(outcome.status().as_u16()))
    }
}

/// The default [`ClassifyError`]: 5xx responses are failures, `error.type` is the status code.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultClassifyError;

impl ClassifyError for DefaultClassifyError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(status: u16) -> Outcome<'static> {
        Outcome {
            status: StatusCode::from_u16(status).unwrap_or_else(|e| panic!("{e}")),
            error: None,
            request: None,
            route: None,
        }
    }

    #[test]
    fn only_server_errors_are_failures_by_default() {
        assert_eq!(DefaultClassifyError.error_type(&outcome(200)), None);
        assert_eq!(DefaultClassifyError.error_type(&outcome(404)), None);
        assert_eq!(DefaultClassifyError.error_type(&outcome(500)), Some("500"));
        assert_eq!(DefaultClassifyError.error_type(&outcome(503)), Some("503"));
    }
}
