//! `/metrics` (the Prometheus bridge) and `/metrics/summary` (a development overview).

use std::future::{ready, Ready};

use actix_web::http::header::{HeaderValue, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use otelix::{Environment, RenderError, TelemetryHandle};

use crate::request_id::json_error;
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
pub fn metrics_endpoints(handle: TelemetryHandle) -> impl FnOnce(&mut web::ServiceConfig) {
    move |config| {
        let metrics_path = handle.config().metrics_path().to_owned();
        let development = handle.config().environment() == Environment::Development;
        let scrape_handle = handle.clone();
        config.route(
            &metrics_path,
            web::get().to(move || ready(prometheus_response(&scrape_handle))),
        );
        config.route(
            SUMMARY_PATH,
            web::get().to(move || -> Ready<HttpResponse> {
                ready(if development {
                    summary_response(&handle)
                } else {
                    HttpResponse::NotFound().finish()
                })
            }),
        );
    }
}

fn prometheus_response(handle: &TelemetryHandle) -> HttpResponse {
    match handle.render_prometheus() {
        Ok(text) => HttpResponse::Ok()
            .insert_header((
                CONTENT_TYPE,
                HeaderValue::from_static(PROMETHEUS_CONTENT_TYPE),
            ))
            .body(text),
        Err(RenderError::Disabled) => HttpResponse::NotFound().finish(),
        Err(error) => {
            tracing::error!(target: "otelix", %error, "could not render the Prometheus metrics");
            HttpResponse::InternalServerError().finish()
        }
    }
}

fn summary_response(handle: &TelemetryHandle) -> HttpResponse {
    let Some(registry) = handle.prometheus_registry() else {
        return json_error(
            StatusCode::NOT_FOUND,
            "the metrics summary is computed from the Prometheus bridge, which is disabled (PROMETHEUS_ENABLED=false)",
        );
    };
    HttpResponse::Ok().json(summarize(&registry.gather()))
}
