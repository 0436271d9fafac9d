//! [`RequestTelemetry`], the [`Transform`]: configured once, cloned into every worker.

use std::future::{ready, Ready};
use std::sync::Arc;

use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry_sdk::trace::SdkTracer;
use otelix::TelemetryHandle;

use super::instruments::Instruments;
use super::service::{RequestTelemetryMiddleware, Worker};
use crate::attributes::StaticAttributes;
use crate::endpoints::SUMMARY_PATH;
use crate::hooks::{ClassifyError, DefaultClassifyError, OnRequest, OnResponse};

/// Path of the liveness probe, excluded by default.
const HEALTH_PATH: &str = "/health";

/// actix-web middleware that traces and measures every request.
///
/// Per request it:
///
/// - continues the caller's trace from `traceparent`/`tracestate` (and takes `baggage`) with
///   otelix's W3C propagator; a missing or invalid header starts a new trace and never fails
///   the request;
/// - opens an OpenTelemetry SERVER span named `{METHOD} {route}` (or `{METHOD}` when no route
///   matched) with the HTTP semantic-convention attributes, and keeps it current while the
///   inner service, the handler and everything they await run, so `tracing` log lines and
///   child spans belong to it; that context also holds the route as an
///   [`otelix::RequestRoute`], which otelix's slow-query records name;
/// - sets `X-Request-ID` (the trace ID, 32 lowercase hex characters) and `traceresponse` on
///   every response, including error responses; a client's own `X-Request-ID` is recorded on
///   the span as [`CLIENT_REQUEST_ID`](otelix::names::CLIENT_REQUEST_ID) after
///   sanitizing, never echoed;
/// - records `http.server.request.duration` and `http.server.active_requests`, labelled only
///   with the method, route template, status code, scheme and `error.type`. A series appears
///   with the first request that needs it, so `/metrics` shows no zero-valued series for
///   methods and schemes nobody used.
///
/// The span ends, and the duration is measured, when the response head is ready; streaming a
/// body is not included. Paths in the exclusion list (exact match) pass through untouched:
/// by default the configured metrics path, `/metrics/summary` and `/health`.
///
/// Three hooks customise it, each a closure or a type of your own: [`on_request`](Self::on_request)
/// ([`OnRequest`]) and [`on_response`](Self::on_response) ([`OnResponse`]) add span attributes,
/// [`with_error_classifier`](Self::with_error_classifier) ([`ClassifyError`]) decides what
/// counts as a failure.
///
/// ```no_run
/// use actix_web::dev::ServiceRequest;
/// use actix_web::{web, App, HttpServer};
/// use opentelemetry::KeyValue;
/// use otelix_actix::{Outcome, RequestTelemetry};
///
/// # async fn run(telemetry: otelix::Telemetry) -> std::io::Result<()> {
/// let handle = telemetry.handle();
/// let middleware = RequestTelemetry::new(&handle)
///     .with_excluded_paths(["/health", "/ready"])
///     .on_request(|request: &ServiceRequest, attributes: &mut Vec<KeyValue>| {
///         if let Some(tenant) = request.headers().get("x-tenant").and_then(|v| v.to_str().ok()) {
///             attributes.push(KeyValue::new("app.tenant", tenant.to_owned()));
///         }
///     })
///     .with_error_classifier(|outcome: &Outcome<'_>| match outcome.status().as_u16() {
///         429 => Some("rate_limited"),
///         status if status >= 500 => Some("server_error"),
///         _ => None,
///     });
/// HttpServer::new(move || {
///     App::new()
///         .wrap(middleware.clone())
///         .route("/users/{id}", web::get().to(|| async { "user" }))
/// })
/// .bind(("127.0.0.1", 8080))?
/// .run()
/// .await
/// # }
/// ```
pub struct RequestTelemetry<Req = (), Res = (), C = DefaultClassifyError> {
    shared: Arc<Shared>,
    excluded: Arc<[Box<str>]>,
    on_request: Arc<Req>,
    on_response: Arc<Res>,
    classify_error: Arc<C>,
}

/// What every worker shares: built once per [`RequestTelemetry::new`].
pub(super) struct Shared {
    pub(super) tracer: SdkTracer,
    pub(super) propagator: TextMapCompositePropagator,
    pub(super) attributes: StaticAttributes,
    pub(super) instruments: Instruments,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl<Req, Res, C> Clone for RequestTelemetry<Req, Res, C> {
    fn clone(&self) -> Self {
        RequestTelemetry {
            shared: Arc::clone(&self.shared),
            excluded: Arc::clone(&self.excluded),
            on_request: Arc::clone(&self.on_request),
            on_response: Arc::clone(&self.on_response),
            classify_error: Arc::clone(&self.classify_error),
        }
    }
}

impl<Req, Res, C> std::fmt::Debug for RequestTelemetry<Req, Res, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestTelemetry")
            .field("excluded", &self.excluded)
            .finish_non_exhaustive()
    }
}

impl RequestTelemetry {
    /// Middleware recording with `handle`'s tracer and meter. The instruments are created
    /// here, once; clone the middleware into each worker's `App` rather than calling `new`
    /// per worker.
    pub fn new(handle: &TelemetryHandle) -> Self {
        let excluded = [handle.config().metrics_path(), SUMMARY_PATH, HEALTH_PATH]
            .into_iter()
            .map(Box::from)
            .collect();
        RequestTelemetry {
            shared: Arc::new(Shared {
                tracer: handle.tracer().clone(),
                propagator: otelix::propagator(),
                attributes: StaticAttributes::new(),
                instruments: Instruments::new(handle),
            }),
            excluded,
            on_request: Arc::new(()),
            on_response: Arc::new(()),
            classify_error: Arc::new(DefaultClassifyError),
        }
    }
}

impl<Req, Res, C> RequestTelemetry<Req, Res, C> {
    /// Replaces the list of paths that are neither traced nor measured (exact match on the
    /// request path, no patterns). Default: the configured metrics path
    /// (`METRICS_ENDPOINT`, `/metrics`), `/metrics/summary` and `/health`.
    pub fn with_excluded_paths<I>(mut self, paths: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        self.excluded = paths.into_iter().map(|p| Box::from(p.as_ref())).collect();
        self
    }

    /// Adds span attributes before the span starts, through `hook`: a closure
    /// `|request: &ServiceRequest, attributes: &mut Vec<KeyValue>|` or an [`OnRequest`] type.
    /// Default: `()`, which adds none.
    pub fn on_request<R: OnRequest>(self, hook: R) -> RequestTelemetry<R, Res, C> {
        RequestTelemetry {
            shared: self.shared,
            excluded: self.excluded,
            on_request: Arc::new(hook),
            on_response: self.on_response,
            classify_error: self.classify_error,
        }
    }

    /// Adds span attributes once the response is ready, through `hook`: a closure
    /// `|outcome: &Outcome<'_>, attributes: &mut Vec<KeyValue>|` or an [`OnResponse`] type.
    /// Default: `()`, which adds none.
    pub fn on_response<R: OnResponse>(self, hook: R) -> RequestTelemetry<Req, R, C> {
        RequestTelemetry {
            shared: self.shared,
            excluded: self.excluded,
            on_request: self.on_request,
            on_response: Arc::new(hook),
            classify_error: self.classify_error,
        }
    }

    /// Decides which requests failed, and their `error.type`, through `classifier`: a closure
    /// `|outcome: &Outcome<'_>| -> Option<&'static str>` or a [`ClassifyError`] type. Default:
    /// [`DefaultClassifyError`] (5xx responses, with the status code as `error.type`).
    pub fn with_error_classifier<C2: ClassifyError>(
        self,
        classifier: C2,
    ) -> RequestTelemetry<Req, Res, C2> {
        RequestTelemetry {
            shared: self.shared,
            excluded: self.excluded,
            on_request: self.on_request,
            on_response: self.on_response,
            classify_error: Arc::new(classifier),
        }
    }
}

impl<S, B, Req, Res, C> Transform<S, ServiceRequest> for RequestTelemetry<Req, Res, C>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    Req: OnRequest,
    Res: OnResponse,
    C: ClassifyError,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = RequestTelemetryMiddleware<S, Req, Res, C>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        let worker = Worker::new(
            Arc::clone(&self.shared),
            Arc::clone(&self.excluded),
            Arc::clone(&self.on_request),
            Arc::clone(&self.on_response),
            Arc::clone(&self.classify_error),
        );
        ready(Ok(RequestTelemetryMiddleware::new(service, worker)))
    }
}
