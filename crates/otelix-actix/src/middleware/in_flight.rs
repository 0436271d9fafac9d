//! A started request until its end: the error classification and the [`OnResponse`] hook, the
//! span's last attributes, the duration and active-request metrics, the response headers; and
//! requests dropped before their response.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use actix_web::dev::ServiceResponse;
use opentelemetry::trace::{Status, TraceContextExt};
use opentelemetry::{Context, KeyValue};
use opentelemetry_semantic_conventions::attribute as semattr;

use super::instruments::DurationKey;
use super::service::Worker;
use crate::attributes::{HttpMethod, Scheme};
use crate::hooks::{ClassifyError, OnResponse, Outcome};
use crate::request_id::{insert_trace_headers, RequestId, TracedError};

/// `error.type` of a request whose future was dropped before a response was ready (the client
/// went away, or the server shut down).
const CANCELLED: &str = "cancelled";

/// A request between its start and its response. Dropping it unfinished records the request
/// as cancelled, so the span always ends and the active-request count always comes back down.
pub(super) struct InFlight<Req, Res, C> {
    worker: Rc<Worker<Req, Res, C>>,
    /// Holds the SERVER span.
    cx: Context,
    route: Option<Arc<str>>,
    request_id: Option<RequestId>,
    start: Instant,
    method: HttpMethod,
    scheme: Scheme,
    finished: bool,
}

impl<Req, Res, C> InFlight<Req, Res, C> {
    #[inline]
    pub(super) fn new(
        worker: Rc<Worker<Req, Res, C>>,
        cx: Context,
        route: Option<Arc<str>>,
        request_id: Option<RequestId>,
        start: Instant,
        method: HttpMethod,
        scheme: Scheme,
    ) -> Self {
        InFlight {
            worker,
            cx,
            route,
            request_id,
            start,
            method,
            scheme,
            finished: false,
        }
    }

    /// The request's context, holding its SERVER span.
    pub(super) fn context(&self) -> &Context {
        &self.cx
    }
}

impl<Req, Res: OnResponse, C: ClassifyError> InFlight<Req, Res, C> {
    /// Ends the span and records the request from the inner service's result, and puts the
    /// request ID on the response or the error. Inlined into the future's `poll`, so that the
    /// response is not copied into and out of a call.
    #[inline]
    pub(super) fn finish<B>(
        mut self,
        result: Result<ServiceResponse<B>, actix_web::Error>,
    ) -> Result<ServiceResponse<B>, actix_web::Error> {
        self.finished = true;
        match result {
            Ok(mut response) => {
                self.complete(&Outcome {
                    status: response.status(),
                    error: response.response().error(),
                    request: Some(response.request()),
                    route: self.route.as_deref(),
                });
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
                self.complete(&Outcome {
                    status: error.as_response_error().status_code(),
                    error: Some(&error),
                    request: None,
                    route: self.route.as_deref(),
                });
                match self.request_id.take() {
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

    /// Classifies the outcome, records the request and ends its span.
    fn complete(&self, outcome: &Outcome<'_>) {
        let error_type = self.worker.classify_error.error_type(outcome);
        let status = outcome.status.as_u16();
        let span = self.cx.span();
        // Nothing is asked of the hook for unsampled spans: nothing would keep it.
        let mut extra = Vec::new();
        if span.is_recording() {
            self.worker.on_response.on_response(outcome, &mut extra);
        }
        self.record(Some(status), error_type);
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
}

impl<Req, Res, C> InFlight<Req, Res, C> {
    /// `http.server.request.duration` with the five allowed labels, and the active-request
    /// count back down. No user-controlled value reaches a label: the route is a template,
    /// method and scheme are normalized, `error.type` is a static class.
    fn record(&self, status: Option<u16>, error_type: Option<&'static str>) {
        let shared = &self.worker.shared;
        let seconds = self.start.elapsed().as_secs_f64();
        shared
            .instruments
            .active_requests(&shared.attributes, self.method, self.scheme)
            .add(-1);
        // An exemplar only for a trace that is exported, so that it leads somewhere.
        let span = self.cx.span();
        let span_context = span.span_context();
        let exemplar = span_context.is_sampled().then(|| span_context.trace_id());
        let key = DurationKey {
            method: self.method,
            scheme: self.scheme,
            status,
            route: self.route.clone(),
            error_type,
        };
        self.worker.durations.borrow_mut().record(
            &shared.instruments,
            &shared.attributes,
            key,
            seconds,
            exemplar,
        );
    }
}

impl<Req, Res, C> Drop for InFlight<Req, Res, C> {
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
