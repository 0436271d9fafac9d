//! Hooks that customise what [`RequestTelemetry`](crate::RequestTelemetry) records, in the
//! manner of tower-http's `OnRequest`/`OnResponse` and `classify`: one small trait per moment of
//! a request, each implemented for closures of the matching signature and open to types of
//! your own; `()` is the request or response hook that adds nothing.
//!
//! The crate documentation has the table of hooks, their builder methods and closure forms.

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

/// Adds attributes to the request's SERVER span before it starts.
///
/// Called with the attributes otelix set already; attributes pushed here are visible to the
/// sampler. They go on the span only, never on metrics, so they may carry request-specific
/// values (but mind what you put in traces). Implemented for `()`, which adds nothing, and for
/// closures:
///
/// ```
/// use actix_web::dev::ServiceRequest;
/// use opentelemetry::KeyValue;
/// use otelix_actix::RequestTelemetry;
///
/// # fn build(handle: &otelix::TelemetryHandle) {
/// let middleware = RequestTelemetry::new(handle).on_request(
///     |request: &ServiceRequest, attributes: &mut Vec<KeyValue>| {
///         if let Some(tenant) = request.headers().get("x-tenant").and_then(|v| v.to_str().ok()) {
///             attributes.push(KeyValue::new("app.tenant", tenant.to_owned()));
///         }
///     },
/// );
/// # }
/// ```
///
/// or by a type of your own, when the hook has state or a name worth giving:
///
/// ```
/// use actix_web::dev::ServiceRequest;
/// use opentelemetry::KeyValue;
/// use otelix_actix::OnRequest;
///
/// struct TenantAttribute {
///     header: &'static str,
/// }
///
/// impl OnRequest for TenantAttribute {
///     fn on_request(&self, request: &ServiceRequest, attributes: &mut Vec<KeyValue>) {
///         if let Some(tenant) = request.headers().get(self.header).and_then(|v| v.to_str().ok()) {
///             attributes.push(KeyValue::new("app.tenant", tenant.to_owned()));
///         }
///     }
/// }
/// ```
pub trait OnRequest: 'static {
    /// Pushes span attributes for `request` onto `attributes`.
    fn on_request(&self, request: &ServiceRequest, attributes: &mut Vec<KeyValue>);
}

impl OnRequest for () {
    #[inline]
    fn on_request(&self, _: &ServiceRequest, _: &mut Vec<KeyValue>) {}
}

impl<F> OnRequest for F
where
    F: Fn(&ServiceRequest, &mut Vec<KeyValue>) + 'static,
{
    fn on_request(&self, request: &ServiceRequest, attributes: &mut Vec<KeyValue>) {
        self(request, attributes)
    }
}

/// Adds attributes to the request's SERVER span once the response (or the error standing for
/// it) is ready, before the span ends.
///
/// The status code, route and `error.type` are added after this. Not called for spans that
/// are not recorded (sampled out), since nothing would keep what it adds. Implemented for `()`,
/// which adds nothing, for closures and for types of your own:
///
/// ```
/// use opentelemetry::KeyValue;
/// use otelix_actix::{OnResponse, Outcome, RequestTelemetry};
///
/// /// Marks the requests that were answered with a redirect.
/// struct Redirected;
///
/// impl OnResponse for Redirected {
///     fn on_response(&self, outcome: &Outcome<'_>, attributes: &mut Vec<KeyValue>) {
///         if outcome.status().is_redirection() {
///             attributes.push(KeyValue::new("app.redirected", true));
///         }
///     }
/// }
///
/// # fn build(handle: &otelix::TelemetryHandle) {
/// let named = RequestTelemetry::new(handle).on_response(Redirected);
/// let closure = RequestTelemetry::new(handle).on_response(
///     |outcome: &Outcome<'_>, attributes: &mut Vec<KeyValue>| {
///         if outcome.error().is_some() {
///             attributes.push(KeyValue::new("app.handler_error", true));
///         }
///     },
/// );
/// # }
/// ```
pub trait OnResponse: 'static {
    /// Pushes span attributes for `outcome` onto `attributes`.
    fn on_response(&self, outcome: &Outcome<'_>, attributes: &mut Vec<KeyValue>);
}

impl OnResponse for () {
    #[inline]
    fn on_response(&self, _: &Outcome<'_>, _: &mut Vec<KeyValue>) {}
}

impl<F> OnResponse for F
where
    F: Fn(&Outcome<'_>, &mut Vec<KeyValue>) + 'static,
{
    fn on_response(&self, outcome: &Outcome<'_>, attributes: &mut Vec<KeyValue>) {
        self(outcome, attributes)
    }
}

/// Decides whether a request failed and, if so, its `error.type`: the span's status becomes
/// Error and `error.type` goes on the span and on `http.server.request.duration`.
///
/// The value is a `&'static str` on purpose: `error.type` is a metric label and must be a short
/// class from a small set (`"500"`, `"timeout"`, `"db_unavailable"`), never a message.
/// Implemented for closures and for types of your own; [`DefaultClassifyError`] is the rule of
/// the HTTP semantic conventions, to fall back on:
///
/// ```
/// use otelix_actix::{ClassifyError, DefaultClassifyError, Outcome, RequestTelemetry};
///
/// # fn build(handle: &otelix::TelemetryHandle) {
/// // Also counts 429 as a failure, so rate limiting shows up on dashboards.
/// let closure = RequestTelemetry::new(handle).with_error_classifier(|outcome: &Outcome<'_>| {
///     match outcome.status().as_u16() {
///         429 => Some("429"),
///         _ => DefaultClassifyError.error_type(outcome),
///     }
/// });
/// # }
///
/// /// The same as a named type.
/// struct RateLimitIsAnError;
///
/// impl ClassifyError for RateLimitIsAnError {
///     fn error_type(&self, outcome: &Outcome<'_>) -> Option<&'static str> {
///         match outcome.status().as_u16() {
///             429 => Some("429"),
///             _ => DefaultClassifyError.error_type(outcome),
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

impl<F> ClassifyError for F
where
    F: Fn(&Outcome<'_>) -> Option<&'static str> + 'static,
{
    fn error_type(&self, outcome: &Outcome<'_>) -> Option<&'static str> {
        self(outcome)
    }
}

/// The default [`ClassifyError`]: 5xx responses are failures, `error.type` is the status code.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultClassifyError;

impl ClassifyError for DefaultClassifyError {}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn outcome(status: u16) -> Outcome<'static> {
        Outcome {
            status: StatusCode::from_u16(status).expect("a valid status code"),
            error: None,
            request: None,
            route: Some("/users/{id}"),
        }
    }

    #[test]
    fn only_server_errors_are_failures_by_default() {
        assert_eq!(DefaultClassifyError.error_type(&outcome(200)), None);
        assert_eq!(DefaultClassifyError.error_type(&outcome(404)), None);
        assert_eq!(DefaultClassifyError.error_type(&outcome(500)), Some("500"));
        assert_eq!(DefaultClassifyError.error_type(&outcome(503)), Some("503"));
    }

    #[test]
    fn closures_are_classifiers() {
        let classifier = |outcome: &Outcome<'_>| match outcome.status().as_u16() {
            404 => Some("not_found"),
            _ => DefaultClassifyError.error_type(outcome),
        };
        assert_eq!(classifier.error_type(&outcome(404)), Some("not_found"));
        assert_eq!(classifier.error_type(&outcome(503)), Some("503"));
        assert_eq!(classifier.error_type(&outcome(200)), None);
    }

    #[test]
    fn closures_are_request_and_response_hooks() {
        let on_request = |request: &ServiceRequest, attributes: &mut Vec<KeyValue>| {
            attributes.push(KeyValue::new("app.path", request.path().to_owned()));
        };
        let on_response = |outcome: &Outcome<'_>, attributes: &mut Vec<KeyValue>| {
            attributes.push(KeyValue::new(
                "app.route",
                outcome.route().unwrap_or("-").to_owned(),
            ));
        };
        let mut attributes = Vec::new();
        let request = TestRequest::get().uri("/users/7").to_srv_request();
        OnRequest::on_request(&on_request, &request, &mut attributes);
        OnResponse::on_response(&on_response, &outcome(200), &mut attributes);
        ().on_request(&request, &mut attributes);
        ().on_response(&outcome(200), &mut attributes);
        let values: Vec<_> = attributes.iter().map(|kv| kv.value.as_str()).collect();
        assert_eq!(values, ["/users/7", "/users/{id}"]);
    }
}
