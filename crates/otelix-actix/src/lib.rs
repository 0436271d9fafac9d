//! # otelix-actix
//!
//! actix-web instrumentation for [otelix]: one middleware that gives every request an
//! OpenTelemetry SERVER span, HTTP server metrics and a request ID, plus the `/metrics` and
//! `/metrics/summary` endpoints.
//!
//! ```no_run
//! use actix_web::{web, App, HttpServer};
//! use otelix_actix::{metrics_endpoints, ApiError, RequestId, RequestTelemetry};
//!
//! async fn get_user(id: web::Path<u64>, request_id: RequestId) -> Result<String, ApiError> {
//!     // Carries trace_id/span_id: the request's span is current in handlers.
//!     tracing::info!(user = *id, "looking up user");
//!     match *id {
//!         0 => Err(ApiError::not_found("no such user")), // {"error":"no such user","request_id":"…"}
//!         id => Ok(format!("user {id} (request {request_id})")),
//!     }
//! }
//!
//! #[actix_web::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let telemetry = otelix::init(otelix::Config::from_env()?)?;
//!     let handle = telemetry.handle();
//!     let middleware = RequestTelemetry::new(&handle);
//!     HttpServer::new(move || {
//!         App::new()
//!             .wrap(middleware.clone())
//!             .configure(metrics_endpoints(handle.clone()))
//!             .route("/users/{id}", web::get().to(get_user))
//!     })
//!     .bind(("0.0.0.0", 8080))?
//!     .run()
//!     .await?;
//!     telemetry.shutdown()?.log();
//!     Ok(())
//! }
//! ```
//!
//! What a request gets from [`RequestTelemetry`]:
//!
//! | | |
//! |---|---|
//! | span | SERVER, `{METHOD} {http.route}`, child of the caller's `traceparent` when valid |
//! | span attributes | `http.request.method` (`_OTHER` + `http.request.method_original` for unknown methods), `http.route` (when a route matched), `url.path`, `url.scheme`, `client.address`, `user_agent.original`, `http.response.status_code`, `error.type` (failures only), [`CLIENT_REQUEST_ID`](otelix::names::CLIENT_REQUEST_ID) |
//! | span status | Error for 5xx and for what [`ClassifyError`] calls a failure; unset otherwise |
//! | response headers | `X-Request-ID: <trace id>`, `traceresponse: 00-<trace id>-<span id>-<flags>` |
//! | metrics | `http.server.request.duration` (s), `http.server.active_requests` |
//!
//! Customise it with [`RequestTelemetry::with_excluded_paths`] and three hooks, in the manner of
//! tower-http's: each takes a closure or a type of your own that implements its trait.
//!
//! | builder method | trait | closure | default |
//! |---|---|---|---|
//! | [`on_request`](RequestTelemetry::on_request): span attributes before the span starts (the sampler sees them) | [`OnRequest`] | `\|request: &ServiceRequest, attributes: &mut Vec<KeyValue>\|` | `()`: none |
//! | [`on_response`](RequestTelemetry::on_response): span attributes once the response is ready | [`OnResponse`] | `\|outcome: &Outcome<'_>, attributes: &mut Vec<KeyValue>\|` | `()`: none |
//! | [`with_error_classifier`](RequestTelemetry::with_error_classifier): which requests failed, and their `error.type` | [`ClassifyError`] | `\|outcome: &Outcome<'_>\| -> Option<&'static str>` | [`DefaultClassifyError`]: 5xx |
//!
//! Write a closure's argument types out, as above: Rust infers them from an `Fn` bound, not
//! from a trait that closures implement.
//!
//! In handlers, [`RequestId`] is the request ID, and [`ApiError`] / [`json_error`] produce JSON
//! error bodies that carry it.
//!
//! [`metrics_endpoints`] and [`metrics_server`] come with the feature `prometheus` (on by
//! default), which turns on otelix's Prometheus bridge; without it the middleware and
//! extractors remain, and otelix builds no Prometheus code.
//!
//! The request's context is current while the handler runs and across its `.await`s, but not
//! in tasks it spawns: wrap those with `opentelemetry::trace::FutureExt::with_context`.
#![deny(missing_docs)]

mod attributes;
mod endpoints;
mod hooks;
mod middleware;
mod propagation;
mod request_id;
#[cfg(feature = "prometheus")]
mod summary;

#[cfg(feature = "prometheus")]
pub use endpoints::{metrics_endpoints, metrics_server};
pub use endpoints::{PROMETHEUS_CONTENT_TYPE, SUMMARY_PATH};
pub use hooks::{ClassifyError, DefaultClassifyError, OnRequest, OnResponse, Outcome};
pub use middleware::{RequestTelemetry, RequestTelemetryFuture, RequestTelemetryMiddleware};
pub use propagation::ActixHeaderExtractor;
pub use request_id::{json_error, ApiError, RequestId, TracedError};

#[cfg(doctest)]
#[doc = include_str!("../../../docs/guide.md")]
pub struct GuideDoctests;
