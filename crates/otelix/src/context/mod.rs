//! What travels with a request: the W3C trace context and baggage across process boundaries
//! ([`propagator`], [`HeaderExtractor`], [`HeaderInjector`]), a client's `X-Request-ID`
//! ([`sanitize_request_id`]), and the matched route inside the process ([`RequestRoute`]).
//! Shared by the HTTP middleware, the outgoing-call instrumentation and the slow-query processor.

mod propagation;
mod route;

pub use propagation::{
    propagator, sanitize_request_id, HeaderExtractor, HeaderInjector, W3CTraceContextPropagator,
};
pub use route::RequestRoute;
