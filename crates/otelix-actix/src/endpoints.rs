//! `/metrics` (the Prometheus bridge) and `/metrics/summary` (a development overview), served
//! with the feature `prometheus`; the paths are known without it, so that the middleware still
//! leaves them out of the HTTP metrics.

#[cfg(feature = "prometheus")]
use std::future::{ready, Ready};

#[cfg(feature = "prometheus")]
use actix_web::http::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
#[cfg(feature = "prometheus")]
use actix_web::http::StatusCode;
#[cfg(feature = "prometheus")]
use actix_web::{web, HttpRequest, HttpResponse};
#[cfg(feature = "prometheus")]
use otelix::{Environment, RenderError, TelemetryHandle};

#[cfg(feature = "prometheus")]
use crate::request_id::json_error;
#[cfg(feature = "prometheus")]
use crate::summary::summarize;

/// Path of the development summary.
pub const SUMMARY_PATH: &str = "/metrics/summary";

/// The content type of the Prometheus text exposition format, version 0.0.4.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Registers the metrics endpoints on an `App` or a scope:
///
/// - `GET {METRICS_ENDPOINT}` (default `/metrics`): every metric in the Prometheus text format,
///   through otelix's bridge; 404 when `PROMETHEUS_ENABLED=false`.
/// - `GET /metrics/summary`, in development only (`APP_ENV=development`, 404 otherwise): JSON
///   with, per route and method, the request count, error count and rate, and p50/p95/p99
///   latency in milliseconds estimated from the duration histogram's buckets; and the same
///   for database operations, cache results, external APIs and jobs once those metrics exist.
///
/// Both are computed when scraped, from the registry the bridge fills; nothing is kept on the
/// request path for them. [`RequestTelemetry`](crate::RequestTelemetry) excludes both by
/// default, so scrapes do not show up in the HTTP metrics.
///
/// ```no_run
/// use actix_web::{App, HttpServer};
///
/// # async fn run(telemetry: otelix::Telemetry) -> std::io::Result<()> {
/// let handle = telemetry.handle();
/// HttpServer::new(move || {
///     App::new()
///         .wrap(otelix_actix::RequestTelemetry::new(&handle))
///         .configure(otelix_actix::metrics_endpoints(handle.clone()))
/// })
/// .bind(("127.0.0.1", 8080))?
/// .run()
/// .await
/// # }
/// ```
///
/// When `METRICS_ADDR` is set, this registers nothing: the endpoints are served by
/// [`metrics_server`] on their own listener, and the application's answers 404 for them. When
/// `METRICS_BEARER_TOKEN` is set, both answer 401 (with `WWW-Authenticate: Bearer`) unless the
/// request carries `Authorization: Bearer <token>`.
#[cfg(feature = "prometheus")]
pub fn metrics_endpoints(handle: TelemetryHandle) -> impl FnOnce(&mut web::ServiceConfig) {
    move |config| {
        if handle.config().metrics_addr().is_none() {
            endpoints(handle)(config);
        }
    }
}

/// The metrics endpoints of [`metrics_endpoints`] on a server of their own, for
/// `METRICS_ADDR`: one worker, no signal handling (stop it with its handle when the
/// application stops), the same bearer token rule. Bind `listener` to
/// [`Config::metrics_addr`](otelix::Config::metrics_addr) yourself, so that a busy port is
/// reported when the application starts.
///
/// # Errors
///
/// What actix-web reports when it cannot use `listener`.
#[cfg(feature = "prometheus")]
pub fn metrics_server(
    handle: TelemetryHandle,
    listener: std::net::TcpListener,
) -> std::io::Result<actix_web::dev::Server> {
    Ok(actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .configure(endpoints(handle.clone()))
            .default_service(web::to(|| async {
                json_error(StatusCode::NOT_FOUND, "not found")
            }))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)?
    .run())
}

#[cfg(feature = "prometheus")]
fn endpoints(handle: TelemetryHandle) -> impl FnOnce(&mut web::ServiceConfig) {
    move |config| {
        let metrics_path = handle.config().metrics_path().to_owned();
        let development = handle.config().environment() == Environment::Development;
        let scrape_handle = handle.clone();
        config.route(
            &metrics_path,
            web::get().to(move |request: HttpRequest| {
                ready(match unauthorized(&scrape_handle, &request) {
                    Some(refused) => refused,
                    None => prometheus_response(&scrape_handle, &request),
                })
            }),
        );
        config.route(
            SUMMARY_PATH,
            web::get().to(move |request: HttpRequest| -> Ready<HttpResponse> {
                ready(if !development {
                    HttpResponse::NotFound().finish()
                } else if let Some(refused) = unauthorized(&handle, &request) {
                    refused
                } else {
                    summary_response(&handle)
                })
            }),
        );
    }
}

/// The 401 answer when a bearer token is configured and the request lacks it.
#[cfg(feature = "prometheus")]
fn unauthorized(handle: &TelemetryHandle, request: &HttpRequest) -> Option<HttpResponse> {
    let expected = handle.config().metrics_bearer_token()?;
    let given = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    if given.is_some_and(|given| constant_time_eq(given.as_bytes(), expected.as_bytes())) {
        return None;
    }
    let mut refused = json_error(
        StatusCode::UNAUTHORIZED,
        "the metrics need Authorization: Bearer <token> (METRICS_BEARER_TOKEN)",
    );
    refused.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"metrics\""),
    );
    Some(refused)
}

/// Compares without returning early on the first difference, so the time taken does not tell
/// how much of a guessed token was right.
#[cfg(feature = "prometheus")]
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// The Prometheus text format, or OpenMetrics (with exemplars) when the scraper accepts it.
#[cfg(feature = "prometheus")]
fn prometheus_response(handle: &TelemetryHandle, request: &HttpRequest) -> HttpResponse {
    let openmetrics = request
        .headers()
        .get_all(ACCEPT)
        .filter_map(|value| value.to_str().ok())
        .any(otelix::openmetrics::accepts_openmetrics);
    let (rendered, content_type) = if openmetrics {
        (
            handle.render_openmetrics(),
            otelix::openmetrics::OPENMETRICS_CONTENT_TYPE,
        )
    } else {
        (handle.render_prometheus(), PROMETHEUS_CONTENT_TYPE)
    };
    match rendered {
        Ok(text) => HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, HeaderValue::from_static(content_type)))
            .body(text),
        Err(RenderError::Disabled) => HttpResponse::NotFound().finish(),
        Err(error) => {
            tracing::error!(target: "otelix", %error, "could not render the Prometheus metrics");
            HttpResponse::InternalServerError().finish()
        }
    }
}

#[cfg(feature = "prometheus")]
fn summary_response(handle: &TelemetryHandle) -> HttpResponse {
    let Some(registry) = handle.prometheus_registry() else {
        return json_error(
            StatusCode::NOT_FOUND,
            "the metrics summary is computed from the Prometheus bridge, which is disabled (PROMETHEUS_ENABLED=false)",
        );
    };
    HttpResponse::Ok().json(summarize(&registry.gather()))
}
