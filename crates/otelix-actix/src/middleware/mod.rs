//! The request middleware: one OpenTelemetry SERVER span, the HTTP server metrics and the
//! request-ID headers per request.
//!
//! In actix-web's idiom, [`RequestTelemetry`] is the [`Transform`](actix_web::dev::Transform)
//! an application wraps, built once and cloned into every worker; it makes one
//! [`RequestTelemetryMiddleware`], the [`Service`](actix_web::dev::Service), per worker; each
//! request then lives in a [`RequestTelemetryFuture`]. The files follow a request:
//!
//! | file | what it holds |
//! |---|---|
//! | `transform.rs` | [`RequestTelemetry`]: the builder, and what all workers share (tracer, propagator, instruments) |
//! | `service.rs` | [`RequestTelemetryMiddleware`] and its `call()`, with the per-worker caches |
//! | `start.rs` | from the request to the started span: its parent, name and attributes |
//! | `future.rs` | [`RequestTelemetryFuture`]: the request's context kept current while the inner service runs |
//! | `in_flight.rs` | a started request to its end: the hooks, the span's last attributes, the metrics, the response headers, cancellation |
//! | `instruments.rs` | the metric instruments, bound to their label sets on first use |
//!
//! The span is made with the SDK tracer directly rather than through a `tracing` span: the
//! bridge costs several times as much per request, and nothing here needs `tracing`'s span
//! machinery, since otelix's log lines read the current OpenTelemetry context.

mod future;
mod in_flight;
mod instruments;
mod service;
mod start;
mod transform;

pub use future::RequestTelemetryFuture;
pub use service::RequestTelemetryMiddleware;
pub use transform::RequestTelemetry;
