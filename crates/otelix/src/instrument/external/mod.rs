//! Calls to other services: CLIENT spans, `traceparent` injection and the
//! `http.client.request.duration` histogram, labelled by peer service and operation.
//!
//! - `ExternalClient` (feature `reqwest`): a `reqwest` client whose requests are recorded and
//!   carry the trace context: `client.service("stripe").operation("create_payment").post(url)`.
//! - [`track_external`] / [`ExternalTracker::track`]: any future, such as a call through a
//!   vendor SDK, recorded as a call; `Err` outputs record their error type.
//! - [`ExternalCall`]: a guard for calls that are not one future.
//! - `#[otelix::external(service = "...", operation = "...")]`: [`track_external`] around an
//!   `async fn`'s body.
//!
//! All forms produce the same span (CLIENT, child of the current context, `service.peer.name`,
//! `otelix.operation`, `error.type`) and the same histogram labels; the HTTP client adds the
//! HTTP attributes and names its spans by method, as the HTTP client conventions ask.
//!
//! # Which tracer and meter
//!
//! [`ExternalTracker::new`] and `ExternalClient::new` take a `TelemetryHandle`; the free
//! forms ([`track_external`], [`ExternalCall::start`], the macro) use
//! [`ExternalTracker::global`], built on first use from the providers `otelix::init` installs.
//!
//! # Names
//!
//! The peer service is `service.peer.name`, which replaced the deprecated `peer.service` in the
//! semantic conventions this crate is built against; the operation is `otelix.operation`
//! ([`names::OTELIX_OPERATION`](crate::names::OTELIX_OPERATION)), since no convention names a
//! client-side business operation (`rpc.method` is for RPC systems, `url.template` for HTTP
//! route templates).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! #[derive(Debug)]
//! struct NewsletterError;
//!
//! async fn subscribe(email: &str) -> Result<(), NewsletterError> {
//!     // ... the vendor SDK call ...
//! #   let _ = email;
//!     Err(NewsletterError)
//! }
//!
//! // A CLIENT span "beehiiv subscribe" with error.type = "NewsletterError".
//! let result = otelix::external::track_external("beehiiv", "subscribe", subscribe("a@b.c")).await;
//! assert!(result.is_err());
//! # }
//! ```

#[cfg(feature = "reqwest")]
mod classify;
#[cfg(feature = "reqwest")]
mod client;
mod tracker;

#[cfg(feature = "reqwest")]
pub use client::{ExternalCallMiddleware, ExternalClient, ExternalTarget};
pub use tracker::{track_external, CallOutcome, ExternalCall, ExternalTracker, CANCELLED, PANIC};
