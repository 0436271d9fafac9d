//! The matched HTTP route template of the request a span belongs to.

use std::sync::Arc;

/// The matched route template of the request being served, stored in the OpenTelemetry
/// [`Context`](opentelemetry::Context) by the HTTP middleware so that slow-query and N+1 records name the route.
///
/// [`SlowQueryProcessor`](crate::SlowQueryProcessor) reads it in `on_start` from the parent context of each span, so it
/// must be in the context the request's spans start from:
///
/// ```
/// use opentelemetry::Context;
/// use otelix::RequestRoute;
///
/// let cx = Context::current().with_value(RequestRoute::new("/members/{id}"));
/// assert_eq!(cx.get::<RequestRoute>().map(|r| &*r.0), Some("/members/{id}"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestRoute(pub Arc<str>);

impl RequestRoute {
    /// Wraps a route template such as `/members/{id}`.
    pub fn new(route: impl Into<Arc<str>>) -> Self {
        RequestRoute(route.into())
    }
}
