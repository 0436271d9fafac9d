//! The request middleware: one OpenTelemetry SERVER span, the HTTP server metrics and the
//! request-ID headers per request.
//!
//! The span is made with the SDK tracer directly rather than through a `tracing` span: the
//! bridge costs several times as much per request, and nothing here needs `tracing`'s span
//! machinery, since otelix's log lines read the current OpenTelemetry context.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::{ready, Future, Ready};
use std::hash::{BuildHasherDefault, Hasher};
use std::net::IpAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{ready, Context as TaskContext, Poll};
use std::time::Instant;

use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header;
use opentelemetry::metrics::{BoundHistogram, BoundUpDownCounter, Histogram};
use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
use opentelemetry::trace::{
    FutureExt as _, SpanBuilder, SpanKind, Status, TraceContextExt, Tracer as _, WithContext,
};
use opentelemetry::{Array, Context, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator, SdkTracer};
use opentelemetry_semantic_conventions::{attribute as semattr, metric as semmetric};
use otelix::{RequestRoute, TelemetryHandle};
use pin_project_lite::pin_project;

use crate::attributes::{
    truncate, HttpMethod, RouteCache, Scheme, StaticAttributes, MAX_METHOD_LEN, MAX_PATH_LEN,
    MAX_QUERY_LEN, MAX_USER_AGENT_LEN,
};
use crate::endpoints::SUMMARY_PATH;
use crate::hooks::{
    ClassifyError, DefaultClassifyError, DefaultSpanAttributes, Outcome, SpanAttributes,
};
use crate::propagation::{ActixHeaderExtractor, X_REQUEST_ID};
use crate::request_id::{insert_trace_headers, RequestId, TracedError};

/// Span attribute holding a client-supplied `X-Request-ID`, after
/// [`otelix::sanitize_request_id`]: the conventions' `http.request.header.<key>` for the one
/// header captured, as a single-element string array as they prescribe.
pub const CLIENT_REQUEST_ID_ATTRIBUTE: &str = "http.request.header.x-request-id";

/// Path of the liveness probe, excluded by default.
const HEALTH_PATH: &str = "/health";

/// `error.type` of a request whose future was dropped before a response was ready (the client
/// went away, or the server shut down).
const CANCELLED: &str = "cancelled";

/// Attributes set when the span starts (at most 8) plus those added at the end (2), so the
/// span's attribute list never grows after it is allocated.
const SPAN_ATTRIBUTE_CAPACITY: usize = 10;

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
///   the span as [`CLIENT_REQUEST_ID_ATTRIBUTE`] after sanitizing, never echoed;
/// - records `http.server.request.duration` and `http.server.active_requests`, labelled only
///   with the method, route template, status code, scheme and `error.type`.
///
/// The span ends, and the duration is measured, when the response head is ready; streaming a
/// body is not included. Paths in the exclusion list (exact match) pass through untouched:
/// by default the configured metrics path, `/metrics/summary` and `/health`.
///
/// ```no_run
/// use actix_web::{web, App, HttpServer};
/// use otelix_actix::RequestTelemetry;
///
/// # async fn run(telemetry: otelix::Telemetry) -> std::io::Result<()> {
/// let handle = telemetry.handle();
/// let middleware = RequestTelemetry::new(&handle).with_excluded_paths(["/health", "/ready"]);
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
pub struct RequestTelemetry<A = DefaultSpanAttributes, C = DefaultClassifyError> {
    shared: Arc<Shared>,
    excluded: Arc<[Box<str>]>,
    span_attributes: Arc<A>,
    classify_error: Arc<C>,
}

/// What every worker shares: built once per [`RequestTelemetry::new`].
struct Shared {
    tracer: SdkTracer,
    propagator: TextMapCompositePropagator,
    duration: Histogram<f64>,
    /// Exemplars of `duration`, for the OpenMetrics exposition.
    exemplars: otelix::exemplars::ExemplarSink,
    /// `http.server.active_requests` bound to each `[method, scheme]`, indexed like
    /// [`StaticAttributes::active`].
    active_requests: [[BoundUpDownCounter<i64>; Scheme::ALL.len()]; HttpMethod::ALL.len()],
    attributes: StaticAttributes,
}

impl Shared {
    fn active_requests(&self, method: HttpMethod, scheme: Scheme) -> &BoundUpDownCounter<i64> {
        &self.active_requests[method.index()][scheme.index()]
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl<A, C> Clone for RequestTelemetry<A, C> {
    fn clone(&self) -> Self {
        RequestTelemetry {
            shared: Arc::clone(&self.shared),
            excluded: Arc::clone(&self.excluded),
            span_attributes: Arc::clone(&self.span_attributes),
            classify_error: Arc::clone(&self.classify_error),
        }
    }
}

impl<A, C> std::fmt::Debug for RequestTelemetry<A, C> {
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
        let meter = handle.meter();
        let duration = meter
            .f64_histogram(semmetric::HTTP_SERVER_REQUEST_DURATION)
            .with_unit("s")
            .with_description("Duration of HTTP server requests.")
            .build();
        let active_requests = meter
            .i64_up_down_counter(semmetric::HTTP_SERVER_ACTIVE_REQUESTS)
            .with_unit("{request}")
            .with_description("Number of active HTTP server requests.")
            .build();
        let excluded = [handle.config().metrics_path(), SUMMARY_PATH, HEALTH_PATH]
            .into_iter()
            .map(Box::from)
            .collect();
        let attributes = StaticAttributes::new();
        // Binding creates the series: every method and scheme (a fixed 20) is exported at 0 from
        // start-up, whatever requests arrive (tests/hostile_input.rs counts them).
        let active_requests = HttpMethod::ALL.map(|method| {
            Scheme::ALL.map(|scheme| active_requests.bind(attributes.active(method, scheme)))
        });
        RequestTelemetry {
            shared: Arc::new(Shared {
                tracer: handle.tracer().clone(),
                propagator: otelix::propagator(),
                duration,
                exemplars: handle.exemplar_sink("http_server_request_duration_seconds"),
                active_requests,
                attributes,
            }),
            excluded,
            span_attributes: Arc::new(DefaultSpanAttributes),
            classify_error: Arc::new(DefaultClassifyError),
        }
    }
}

impl<A, C> RequestTelemetry<A, C> {
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

    /// Adds span attributes on request and response through `hook`. Default:
    /// [`DefaultSpanAttributes`], which adds none.
    pub fn with_span_attributes<A2: SpanAttributes>(self, hook: A2) -> RequestTelemetry<A2, C> {
        RequestTelemetry {
            shared: self.shared,
            excluded: self.excluded,
            span_attributes: Arc::new(hook),
            classify_error: self.classify_error,
        }
    }

    /// Decides which requests failed, and their `error.type`, through `classifier`. Default:
    /// [`DefaultClassifyError`] (5xx responses, with the status code as `error.type`).
    pub fn with_error_classifier<C2: ClassifyError>(
        self,
        classifier: C2,
    ) -> RequestTelemetry<A, C2> {
        RequestTelemetry {
            shared: self.shared,
            excluded: self.excluded,
            span_attributes: self.span_attributes,
            classify_error: Arc::new(classifier),
        }
    }
}

impl<S, B, A, C> Transform<S, ServiceRequest> for RequestTelemetry<A, C>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    A: SpanAttributes,
    C: ClassifyError,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = RequestTelemetryMiddleware<S, A, C>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequestTelemetryMiddleware {
            service,
            worker: Rc::new(Worker {
                shared: Arc::clone(&self.shared),
                excluded: Arc::clone(&self.excluded),
                span_attributes: Arc::clone(&self.span_attributes),
                classify_error: Arc::clone(&self.classify_error),
                routes: RefCell::new(RouteCache::default()),
                durations: RefCell::new(DurationCache::default()),
                last_client: RefCell::new(None),
            }),
        }))
    }
}

/// The [`Service`] that [`RequestTelemetry`] wraps around an application, one per worker.
pub struct RequestTelemetryMiddleware<S, A = DefaultSpanAttributes, C = DefaultClassifyError> {
    service: S,
    worker: Rc<Worker<A, C>>,
}

impl<S, A, C> std::fmt::Debug for RequestTelemetryMiddleware<S, A, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestTelemetryMiddleware")
            .finish_non_exhaustive()
    }
}

/// Per-worker state: what [`RequestTelemetry`] shares, plus a route cache that needs no lock
/// because a worker runs on one thread.
struct Worker<A, C> {
    shared: Arc<Shared>,
    excluded: Arc<[Box<str>]>,
    span_attributes: Arc<A>,
    classify_error: Arc<C>,
    routes: RefCell<RouteCache>,
    durations: RefCell<DurationCache>,
    /// The last client address and its text: a connection's requests share it.
    last_client: RefCell<Option<(IpAddr, Value)>>,
}

impl<A, C> Worker<A, C> {
    /// `client.address` for `ip`, formatted once per run of requests from one address.
    fn client_address(&self, ip: IpAddr) -> Option<Value> {
        let mut last = self.last_client.borrow_mut();
        if let Some((last_ip, value)) = &*last {
            if *last_ip == ip {
                return Some(value.clone());
            }
        }
        let value = ip_value(ip)?;
        *last = Some((ip, value.clone()));
        Some(value)
    }

    fn is_excluded(&self, path: &str) -> bool {
        self.excluded.iter().any(|excluded| **excluded == *path)
    }
}

impl<S, B, A, C> Service<ServiceRequest> for RequestTelemetryMiddleware<S, A, C>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    A: SpanAttributes,
    C: ClassifyError,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = RequestTelemetryFuture<S::Future, A, C>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let worker = &self.worker;
        if worker.is_excluded(req.path()) {
            return RequestTelemetryFuture {
                inner: Inner::Excluded {
                    future: self.service.call(req),
                    // Not traced, yet every response carries an ID: a fresh trace ID that no
                    // span uses, which still tells one response's log lines from another's.
                    request_id: RequestId::from_trace_id(
                        RandomIdGenerator::default().new_trace_id(),
                    ),
                },
                in_flight: None,
            };
        }

        let start = Instant::now();
        let shared = &worker.shared;
        let method = HttpMethod::classify(req.method());
        let scheme = request_scheme(&req);
        let headers = req.headers();

        // A fresh context: a request starts a trace or continues the caller's, never
        // whatever happens to be current on the worker thread.
        let parent = shared
            .propagator
            .extract_with_context(&Context::new(), &ActixHeaderExtractor(headers));

        // The route is looked up in the application's resource map before the router runs,
        // so that it names the span from the start (samplers see it), reaches the context
        // that handlers' spans start from, and labels even requests that inner middleware
        // ends before routing. The template string is the one allocation of the span name.
        let pattern = req.match_pattern();
        let route = pattern
            .as_deref()
            .map(|pattern| worker.routes.borrow_mut().intern(pattern));
        let name = match pattern {
            Some(mut name) => {
                name.insert(0, ' ');
                name.insert_str(0, method.span_name());
                Cow::Owned(name)
            }
            None => Cow::Borrowed(method.span_name()),
        };

        let mut attributes = Vec::with_capacity(SPAN_ATTRIBUTE_CAPACITY);
        attributes.push(shared.attributes.method(method).clone());
        if method == HttpMethod::Other {
            attributes.push(KeyValue::new(
                semattr::HTTP_REQUEST_METHOD_ORIGINAL,
                shared_str(truncate(req.method().as_str(), MAX_METHOD_LEN)),
            ));
        }
        if let Some(route) = &route {
            attributes.push(KeyValue::new(semattr::HTTP_ROUTE, route_value(route)));
        }
        attributes.push(KeyValue::new(
            semattr::URL_PATH,
            shared_str(truncate(req.path(), MAX_PATH_LEN)),
        ));
        let query = req.query_string();
        if !query.is_empty() {
            // Sensitive parameters' values (tokens, keys, signatures, passwords) never reach
            // the span, as the semantic conventions ask.
            let redacted = otelix::redact::redact_query(query);
            attributes.push(KeyValue::new(
                semattr::URL_QUERY,
                shared_str(truncate(&redacted, MAX_QUERY_LEN)),
            ));
        }
        attributes.push(shared.attributes.scheme(scheme).clone());
        if let Some(peer) = req.peer_addr() {
            if let Some(address) = worker.client_address(peer.ip()) {
                attributes.push(KeyValue::new(semattr::CLIENT_ADDRESS, address));
            }
        }
        if let Some(user_agent) = headers
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
        {
            attributes.push(KeyValue::new(
                semattr::USER_AGENT_ORIGINAL,
                shared_str(truncate(user_agent, MAX_USER_AGENT_LEN)),
            ));
        }
        if let Some(client_id) = client_request_id(headers) {
            attributes.push(KeyValue::new(
                CLIENT_REQUEST_ID_ATTRIBUTE,
                Value::Array(Array::String(vec![client_id.into()])),
            ));
        }
        worker.span_attributes.on_request(&req, &mut attributes);

        let span = shared.tracer.build_with_context(
            SpanBuilder {
                name,
                span_kind: Some(SpanKind::Server),
                attributes: Some(attributes),
                ..SpanBuilder::default()
            },
            &parent,
        );
        let trace_id = opentelemetry::trace::Span::span_context(&span).trace_id();
        // The tracer yields an invalid context only when its provider is shut down; the
        // response still gets a well-formed ID, from the caller's trace if there is one.
        let request_id = RequestId::from_trace_id(trace_id)
            .or_else(|| RequestId::from_trace_id(parent.span().span_context().trace_id()))
            .or_else(|| RequestId::from_trace_id(RandomIdGenerator::default().new_trace_id()));
        // Added after the SERVER span started, so only the spans a handler opens carry the
        // route to otelix's slow-query processor.
        let cx = match &route {
            Some(route) => parent.with_value(RequestRoute(Arc::clone(route))),
            None => parent,
        }
        .with_span(span);

        shared.active_requests(method, scheme).add(1);
        let in_flight = InFlight {
            worker: Rc::clone(worker),
            cx: cx.clone(),
            route,
            request_id,
            start,
            method,
            scheme,
            finished: false,
        };

        // Routing and the synchronous part of inner middleware run inside `call`, so the
        // context is current for it too, not only while the future is polled.
        let future = {
            let _guard = cx.clone().attach();
            self.service.call(req)
        };
        RequestTelemetryFuture {
            inner: Inner::Instrumented {
                future: future.with_context(cx),
            },
            in_flight: Some(in_flight),
        }
    }
}

/// `https` when a proxy says the client used it (`X-Forwarded-Proto`, only the values `http`
/// and `https` are believed) or the server itself serves TLS; `http` otherwise.
fn request_scheme(req: &ServiceRequest) -> Scheme {
    let forwarded = req
        .headers()
        .get(header::X_FORWARDED_PROTO)
        .map(|value| value.as_bytes());
    match forwarded {
        Some(proto) if proto.eq_ignore_ascii_case(b"https") => Scheme::Https,
        Some(proto) if proto.eq_ignore_ascii_case(b"http") => Scheme::Http,
        _ if req.app_config().secure() => Scheme::Https,
        _ => Scheme::Http,
    }
}

/// The client's `X-Request-ID` when there is exactly one and it survives sanitizing.
fn client_request_id(headers: &header::HeaderMap) -> Option<String> {
    let mut values = headers.get_all(&X_REQUEST_ID);
    match (values.next(), values.next()) {
        (Some(value), None) => otelix::sanitize_request_id(value.as_bytes()),
        _ => None,
    }
}

/// A span attribute value from client input. Reference-counted rather than boxed, so that the
/// copies the SDK makes of a finished span for each of several processors cost no allocation.
fn shared_str(value: &str) -> Value {
    Value::String(StringValue::from(Arc::<str>::from(value)))
}

fn route_value(route: &Arc<str>) -> Value {
    Value::String(StringValue::from(Arc::clone(route)))
}

/// The address as text, without an intermediate `String`.
fn ip_value(ip: IpAddr) -> Option<Value> {
    use std::io::Write as _;
    // The longest IPv6 text form is 45 bytes.
    let mut buf = [0u8; 64];
    let unused = {
        let mut rest = &mut buf[..];
        write!(rest, "{ip}").ok()?;
        rest.len()
    };
    let written = buf.get(..buf.len() - unused)?;
    std::str::from_utf8(written).ok().map(shared_str)
}

pin_project! {
    /// The future of [`RequestTelemetryMiddleware`]: the inner service's, with the request's
    /// context current while it is polled, finishing the span and the measurements when it
    /// completes, or when it is dropped first.
    pub struct RequestTelemetryFuture<F, A, C>
    where
        A: SpanAttributes,
        C: ClassifyError,
    {
        #[pin]
        inner: Inner<F>,
        in_flight: Option<InFlight<A, C>>,
    }
}

pin_project! {
    #[project = InnerProj]
    enum Inner<F> {
        Excluded { #[pin] future: F, request_id: Option<RequestId> },
        Instrumented { #[pin] future: WithContext<F> },
    }
}

impl<F, B, A, C> Future for RequestTelemetryFuture<F, A, C>
where
    F: Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
    A: SpanAttributes,
    C: ClassifyError,
{
    type Output = Result<ServiceResponse<B>, actix_web::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = match this.inner.project() {
            InnerProj::Excluded { future, request_id } => {
                let mut result = ready!(future.poll(cx));
                if let (Ok(response), Some(id)) = (&mut result, request_id.take()) {
                    if let Some(value) = id.header_value() {
                        response.headers_mut().insert(X_REQUEST_ID.clone(), value);
                    }
                }
                return Poll::Ready(result);
            }
            InnerProj::Instrumented { future } => ready!(future.poll(cx)),
        };
        Poll::Ready(match this.in_flight.take() {
            Some(in_flight) => in_flight.finish(result),
            None => result,
        })
    }
}

/// A request between its start and its response. Dropping it unfinished records the request
/// as cancelled, so the span always ends and the active-request count always comes back down.
struct InFlight<A: SpanAttributes, C: ClassifyError> {
    worker: Rc<Worker<A, C>>,
    /// Holds the SERVER span.
    cx: Context,
    route: Option<Arc<str>>,
    request_id: Option<RequestId>,
    start: Instant,
    method: HttpMethod,
    scheme: Scheme,
    finished: bool,
}

impl<A: SpanAttributes, C: ClassifyError> InFlight<A, C> {
    fn finish<B>(
        mut self,
        result: Result<ServiceResponse<B>, actix_web::Error>,
    ) -> Result<ServiceResponse<B>, actix_web::Error> {
        self.finished = true;
        match result {
            Ok(mut response) => {
                let status = response.status();
                let (error_type, extra) = {
                    let outcome = Outcome {
                        status,
                        error: response.response().error(),
                        request: Some(response.request()),
                        route: self.route.as_deref(),
                    };
                    let error_type = self.worker.classify_error.error_type(&outcome);
                    (error_type, self.response_attributes(&outcome))
                };
                self.record(Some(status.as_u16()), error_type);
                self.end_span(status.as_u16(), error_type, extra);
                if let Some(request_id) = &self.request_id {
                    insert_trace_headers(
                        response.headers_mut(),
                        request_id,
                        self.cx.span().span_context(),
                    );
                }
                Ok(response)
            }
            Err(error) => {
                let status = error.as_response_error().status_code();
                let outcome = Outcome {
                    status,
                    error: Some(&error),
                    request: None,
                    route: self.route.as_deref(),
                };
                let error_type = self.worker.classify_error.error_type(&outcome);
                let extra = self.response_attributes(&outcome);
                self.record(Some(status.as_u16()), error_type);
                self.end_span(status.as_u16(), error_type, extra);
                match self.request_id {
                    Some(request_id) => Err(TracedError::new(
                        error,
                        request_id,
                        self.cx.span().span_context().clone(),
                    )
                    .into()),
                    None => Err(error),
                }
            }
        }
    }

    /// What the [`SpanAttributes`] hook adds; nothing is asked of it for unsampled spans.
    fn response_attributes(&self, outcome: &Outcome<'_>) -> Vec<KeyValue> {
        let mut extra = Vec::new();
        if self.cx.span().is_recording() {
            self.worker.span_attributes.on_response(outcome, &mut extra);
        }
        extra
    }

    fn end_span(&self, status: u16, error_type: Option<&'static str>, extra: Vec<KeyValue>) {
        let span = self.cx.span();
        if span.is_recording() {
            let status_code = KeyValue::new(semattr::HTTP_RESPONSE_STATUS_CODE, i64::from(status));
            let error = error_type.map(|class| KeyValue::new(semattr::ERROR_TYPE, class));
            span.set_attributes(extra.into_iter().chain([status_code]).chain(error));
            if error_type.is_some() {
                // The status code says what went wrong; the conventions leave the description
                // empty for errors derived from HTTP status codes.
                span.set_status(Status::error(""));
            }
        }
        span.end();
    }

    /// `http.server.request.duration` with the five allowed labels, and the active-request
    /// count back down. No user-controlled value reaches a label: the route is a template,
    /// method and scheme are normalized, `error.type` is a static class.
    fn record(&self, status: Option<u16>, error_type: Option<&'static str>) {
        let shared = &self.worker.shared;
        let seconds = self.start.elapsed().as_secs_f64();
        shared.active_requests(self.method, self.scheme).add(-1);
        let key = DurationKey {
            method: self.method,
            scheme: self.scheme,
            status,
            route: self.route.clone(),
            error_type,
        };
        // An exemplar only for a trace that is exported, so that it leads somewhere.
        let span = self.cx.span();
        let span_context = span.span_context();
        let exemplar = span_context.is_sampled().then(|| span_context.trace_id());
        let mut durations = self.worker.durations.borrow_mut();
        if let Some(bound) = durations.get(&key) {
            bound.record(seconds, exemplar);
            return;
        }
        let mut labels = Labels::new(
            shared.attributes.method(self.method).clone(),
            shared.attributes.scheme(self.scheme).clone(),
        );
        if let Some(status) = status {
            labels.push(KeyValue::new(
                semattr::HTTP_RESPONSE_STATUS_CODE,
                i64::from(status),
            ));
        }
        if let Some(route) = &self.route {
            labels.push(KeyValue::new(semattr::HTTP_ROUTE, route_value(route)));
        }
        if let Some(class) = error_type {
            labels.push(KeyValue::new(semattr::ERROR_TYPE, class));
        }
        let bind = || BoundDuration {
            histogram: shared.duration.bind(labels.as_slice()),
            exemplars: shared.exemplars.bind(labels.as_slice()),
        };
        match durations.insert(key, bind) {
            Some(bound) => bound.record(seconds, exemplar),
            None => {
                shared.duration.record(seconds, labels.as_slice());
                if let Some(trace_id) = exemplar {
                    shared
                        .exemplars
                        .record(seconds, labels.as_slice(), trace_id);
                }
            }
        }
    }
}

impl<A: SpanAttributes, C: ClassifyError> Drop for InFlight<A, C> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        self.record(None, Some(CANCELLED));
        let span = self.cx.span();
        span.set_attribute(KeyValue::new(semattr::ERROR_TYPE, CANCELLED));
        span.set_status(Status::error(
            "request cancelled before its response was ready",
        ));
        span.end();
    }
}

/// The labels of one `http.server.request.duration` series.
#[derive(Clone, PartialEq, Eq, Hash)]
struct DurationKey {
    method: HttpMethod,
    scheme: Scheme,
    status: Option<u16>,
    route: Option<Arc<str>>,
    error_type: Option<&'static str>,
}

/// How many duration series a worker keeps bound; past that, requests record unbound (the
/// SDK's attribute lookup), which is slower but loses nothing.
const MAX_BOUND_DURATIONS: usize = 1024;

/// The duration histogram bound to each label set a worker has seen: one hash of a small key
/// per request instead of the SDK hashing five key-values for each of its two readers.
#[derive(Default)]
struct DurationCache {
    bound: HashMap<DurationKey, BoundDuration, BuildHasherDefault<Fnv>>,
}

/// One duration series: the histogram and its exemplars, both bound.
struct BoundDuration {
    histogram: BoundHistogram<f64>,
    /// `None` when exemplars are off (no Prometheus bridge) or their series bound is reached.
    exemplars: Option<otelix::exemplars::BoundExemplars>,
}

impl BoundDuration {
    fn record(&self, seconds: f64, exemplar: Option<opentelemetry::trace::TraceId>) {
        self.histogram.record(seconds);
        if let (Some(exemplars), Some(trace_id)) = (&self.exemplars, exemplar) {
            exemplars.record(seconds, trace_id);
        }
    }
}

impl DurationCache {
    fn get(&self, key: &DurationKey) -> Option<&BoundDuration> {
        self.bound.get(key)
    }

    /// Binds and keeps a new series, unless the cache is full (`None`).
    fn insert(
        &mut self,
        key: DurationKey,
        bind: impl FnOnce() -> BoundDuration,
    ) -> Option<&BoundDuration> {
        if self.bound.len() >= MAX_BOUND_DURATIONS {
            return None;
        }
        Some(self.bound.entry(key).or_insert_with(bind))
    }
}

/// FNV-1a: the keys are a few bytes and a short route, trusted (method, scheme and status are
/// normalized, routes are templates), so no flooding-resistant hash is needed.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// Up to five metric labels on the stack, so recording allocates nothing.
struct Labels {
    items: [KeyValue; 5],
    len: usize,
}

impl Labels {
    fn new(method: KeyValue, scheme: KeyValue) -> Self {
        let unused = || KeyValue::new("", false);
        Labels {
            items: [method, scheme, unused(), unused(), unused()],
            len: 2,
        }
    }

    fn push(&mut self, item: KeyValue) {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = item;
            self.len += 1;
        }
    }

    fn as_slice(&self) -> &[KeyValue] {
        &self.items[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_request_id_attribute_is_the_conventions_header_attribute() {
        assert_eq!(
            CLIENT_REQUEST_ID_ATTRIBUTE,
            format!("{}.x-request-id", semattr::HTTP_REQUEST_HEADER)
        );
    }

    #[test]
    fn ip_text_is_complete() {
        let text = |ip: IpAddr| ip_value(ip).map(|v| v.as_str().into_owned());
        let longest = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";
        let v6: IpAddr = longest.parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            text(v6).as_deref(),
            Some("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
        );
        assert_eq!(
            text(IpAddr::from([127, 0, 0, 1])).as_deref(),
            Some("127.0.0.1")
        );
    }

    #[test]
    fn labels_keep_at_most_five() {
        let mut labels = Labels::new(KeyValue::new("a", 1), KeyValue::new("b", 2));
        for i in 0..5 {
            labels.push(KeyValue::new("c", i));
        }
        assert_eq!(labels.as_slice().len(), 5);
    }
}
