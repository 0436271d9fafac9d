//! [`RequestTelemetryFuture`]: the inner service's future, with the request's context current
//! while it is polled.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context as TaskContext, Poll};

use actix_web::dev::ServiceResponse;
use opentelemetry::trace::WithContext;
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};
use pin_project_lite::pin_project;

use super::in_flight::InFlight;
use crate::hooks::{ClassifyError, OnResponse};
use crate::propagation::X_REQUEST_ID;
use crate::request_id::RequestId;

pin_project! {
    /// The future of [`RequestTelemetryMiddleware`](crate::RequestTelemetryMiddleware): the
    /// inner service's, with the request's context current while it is polled, finishing the
    /// span and the measurements when it completes, or when it is dropped first.
    pub struct RequestTelemetryFuture<F, Req, Res, C> {
        #[pin]
        inner: Inner<F>,
        in_flight: Option<InFlight<Req, Res, C>>,
    }
}

pin_project! {
    #[project = InnerProj]
    enum Inner<F> {
        Excluded { #[pin] future: F, request_id: Option<RequestId> },
        Instrumented { #[pin] future: WithContext<F> },
    }
}

impl<F, Req, Res, C> RequestTelemetryFuture<F, Req, Res, C> {
    /// A request on an excluded path: not traced, yet its response carries an ID, a fresh
    /// trace ID that no span uses, which still tells one response's log lines from another's.
    #[inline]
    pub(super) fn excluded(future: F) -> Self {
        RequestTelemetryFuture {
            inner: Inner::Excluded {
                future,
                request_id: RequestId::from_trace_id(RandomIdGenerator::default().new_trace_id()),
            },
            in_flight: None,
        }
    }

    #[inline]
    pub(super) fn instrumented(future: WithContext<F>, in_flight: InFlight<Req, Res, C>) -> Self {
        RequestTelemetryFuture {
            inner: Inner::Instrumented { future },
            in_flight: Some(in_flight),
        }
    }
}

impl<F, B, Req, Res, C> Future for RequestTelemetryFuture<F, Req, Res, C>
where
    F: Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
    Res: OnResponse,
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
