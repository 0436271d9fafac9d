//! Shared set-up for the integration tests: telemetry pointed at a test receiver (or at
//! nothing), and an application exercising every way a request can end.

// Not every test file uses every helper.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{error, web, App, HttpResponse};
use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::Tracer;
use opentelemetry::Context;
use otelix::{Config, ConfigBuilder, Exporters, Telemetry, TelemetryHandle};
use otelix_actix::{metrics_endpoints, ApiError, RequestId, RequestTelemetry};
use otelix_testkit::Receiver;

/// How long to wait for exported telemetry.
pub(crate) const WAIT: Duration = Duration::from_secs(10);

pub(crate) const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
pub(crate) const PARENT_ID: &str = "00f067aa0ba902b7";
pub(crate) const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// Telemetry exporting traces and logs to `receiver` every 100 ms, nothing global installed.
pub(crate) fn telemetry(receiver: &Receiver) -> Telemetry {
    telemetry_with(Some(receiver), |builder| builder)
}

/// Telemetry with `customize` applied to the test defaults; without a receiver nothing is
/// exported over OTLP (the Prometheus bridge still works).
pub(crate) fn telemetry_with(
    receiver: Option<&Receiver>,
    customize: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> Telemetry {
    let mut builder = Config::builder()
        .with_service_name("otelix-actix-test")
        .with_bsp_schedule_delay(Duration::from_millis(100))
        .with_metrics_exporter(Exporters::NONE)
        .with_rust_log("info");
    builder = match receiver {
        Some(receiver) => builder
            .with_otlp_endpoint(receiver.grpc_endpoint())
            .with_traces_exporter(Exporters::OTLP)
            .with_logs_exporter(Exporters::OTLP),
        None => builder
            .with_traces_exporter(Exporters::NONE)
            .with_logs_exporter(Exporters::NONE),
    };
    let config = customize(builder)
        .build_from_vars(Vec::<(String, String)>::new())
        .expect("test configuration is valid");
    Telemetry::builder(config)
        .with_log_writer(std::io::sink)
        .build()
        .expect("telemetry builds")
}

/// The test application: the middleware outermost, an inner middleware that can fail or
/// answer by itself, the metrics endpoints and one route per kind of outcome.
pub(crate) fn app(
    handle: &TelemetryHandle,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    app_with(handle, RequestTelemetry::new(handle))
}

/// As [`app`], with a middleware configured by the test.
pub(crate) fn app_with<Req, Res, C>(
    handle: &TelemetryHandle,
    middleware: RequestTelemetry<Req, Res, C>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
>
where
    Req: otelix_actix::OnRequest,
    Res: otelix_actix::OnResponse,
    C: otelix_actix::ClassifyError,
{
    App::new()
        .app_data(web::Data::new(handle.clone()))
        .wrap_fn(inner_middleware)
        .wrap(middleware)
        .configure(metrics_endpoints(handle.clone()))
        .route("/users/{id}", web::get().to(user))
        .route("/fail", web::get().to(fail))
        .route("/api-error", web::get().to(api_error))
        .route("/missing", web::get().to(missing))
        .route("/log", web::get().to(log))
        .route("/child", web::get().to(child))
        .route("/sleep", web::get().to(sleep))
        .route("/request-id", web::get().to(request_id))
        .route("/baggage", web::get().to(baggage))
        .route("/route-context/{name}", web::get().to(route_context))
        // Registered, but the inner middleware fails it before the router runs.
        .route("/inner-error", web::get().to(|| async { "unreachable" }))
        .route("/health", web::get().to(|| async { "ok" }))
}

type BoxedResponse<B> = Pin<Box<dyn Future<Output = Result<ServiceResponse<B>, actix_web::Error>>>>;

/// Fails `/inner-error` (503) and `/inner-forbidden` (403) with an `Err` before routing, and
/// answers `/inner-response` itself (401): the three ways a middleware ends a request early.
fn inner_middleware<S>(req: ServiceRequest, service: &S) -> BoxedResponse<actix_web::body::BoxBody>
where
    S: Service<
        ServiceRequest,
        Response = ServiceResponse<actix_web::body::BoxBody>,
        Error = actix_web::Error,
    >,
    S::Future: 'static,
{
    match req.path() {
        "/inner-error" => {
            Box::pin(async { Err(error::ErrorServiceUnavailable("upstream secret detail")) })
        }
        "/inner-forbidden" => Box::pin(async { Err(error::ErrorForbidden("no")) }),
        "/inner-response" => {
            Box::pin(async { Ok(req.into_response(HttpResponse::Unauthorized().finish())) })
        }
        _ => Box::pin(service.call(req)),
    }
}

async fn user(id: web::Path<String>) -> String {
    format!("user {id}")
}

async fn fail() -> HttpResponse {
    HttpResponse::InternalServerError().body("failed")
}

async fn api_error() -> Result<&'static str, ApiError> {
    Err(ApiError::internal("connection to 10.0.0.5 refused"))
}

async fn missing() -> Result<&'static str, ApiError> {
    Err(ApiError::not_found("no such thing"))
}

async fn log() -> &'static str {
    tracing::info!("handling the log route");
    "logged"
}

/// Opens two children after an `.await`: one with the OpenTelemetry tracer, one as a
/// `tracing` span bridged by otelix's subscriber.
async fn child(handle: web::Data<TelemetryHandle>) -> &'static str {
    actix_web::rt::time::sleep(Duration::from_millis(5)).await;
    drop(handle.tracer().start("otel-child"));
    tokio::time::sleep(Duration::from_millis(1)).await;
    tracing::info_span!("tracing-child").in_scope(|| tracing::info!("inside the child"));
    "children"
}

#[derive(serde::Deserialize)]
struct SleepQuery {
    ms: u64,
}

async fn sleep(query: web::Query<SleepQuery>) -> &'static str {
    actix_web::rt::time::sleep(Duration::from_millis(query.ms)).await;
    "slept"
}

async fn request_id(id: RequestId) -> String {
    id.to_string()
}

async fn baggage() -> String {
    Context::map_current(|cx| {
        cx.baggage()
            .get("user")
            .map(|v| v.to_string())
            .unwrap_or_default()
    })
}

/// The route otelix's slow-query processor would see from spans opened here.
async fn route_context() -> String {
    Context::map_current(|cx| {
        cx.get::<otelix::RequestRoute>()
            .map(|route| route.0.to_string())
            .unwrap_or_default()
    })
}

/// The `X-Request-ID` response header, checked to be 32 lowercase hex characters, not all zero.
pub(crate) fn request_id_header<B>(response: &ServiceResponse<B>) -> String {
    let id = response
        .headers()
        .get("x-request-id")
        .expect("every response has X-Request-ID")
        .to_str()
        .expect("X-Request-ID is ASCII")
        .to_owned();
    assert_eq!(id.len(), 32, "X-Request-ID {id:?} is 32 characters");
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "X-Request-ID {id:?} is lowercase hex"
    );
    assert_ne!(id, "0".repeat(32), "X-Request-ID is a valid trace ID");
    id
}

/// Status of a response that must not be a server error.
pub(crate) fn assert_served<B>(response: &ServiceResponse<B>) {
    assert!(
        response.status() != StatusCode::INTERNAL_SERVER_ERROR,
        "request was served, got {}",
        response.status()
    );
}
