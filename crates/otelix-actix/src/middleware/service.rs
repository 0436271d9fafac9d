//! [`RequestTelemetryMiddleware`], the [`Service`] made per worker, and its `call()`.

use std::cell::RefCell;
use std::net::IpAddr;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse};
use opentelemetry::trace::FutureExt as _;
use opentelemetry::Value;

use super::future::RequestTelemetryFuture;
use super::instruments::DurationCache;
use super::start::ip_value;
use super::transform::Shared;
use crate::attributes::RouteCache;
use crate::hooks::{ClassifyError, DefaultClassifyError, OnRequest, OnResponse};

/// The [`Service`] that [`RequestTelemetry`](crate::RequestTelemetry) wraps around an
/// application, one per worker.
pub struct RequestTelemetryMiddleware<S, Req = (), Res = (), C = DefaultClassifyError> {
    service: S,
    worker: Rc<Worker<Req, Res, C>>,
}

impl<S, Req, Res, C> RequestTelemetryMiddleware<S, Req, Res, C> {
    pub(super) fn new(service: S, worker: Worker<Req, Res, C>) -> Self {
        RequestTelemetryMiddleware {
            service,
            worker: Rc::new(worker),
        }
    }
}

impl<S, Req, Res, C> std::fmt::Debug for RequestTelemetryMiddleware<S, Req, Res, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestTelemetryMiddleware")
            .finish_non_exhaustive()
    }
}

/// Per-worker state: what [`RequestTelemetry`](crate::RequestTelemetry) shares and the hooks,
/// plus caches that need no lock because a worker runs on one thread.
pub(super) struct Worker<Req, Res, C> {
    pub(super) shared: Arc<Shared>,
    excluded: Arc<[Box<str>]>,
    pub(super) on_request: Arc<Req>,
    pub(super) on_response: Arc<Res>,
    pub(super) classify_error: Arc<C>,
    pub(super) routes: RefCell<RouteCache>,
    pub(super) durations: RefCell<DurationCache>,
    /// The last client address and its text: a connection's requests share it.
    last_client: RefCell<Option<(IpAddr, Value)>>,
}

impl<Req, Res, C> Worker<Req, Res, C> {
    pub(super) fn new(
        shared: Arc<Shared>,
        excluded: Arc<[Box<str>]>,
        on_request: Arc<Req>,
        on_response: Arc<Res>,
        classify_error: Arc<C>,
    ) -> Self {
        Worker {
            shared,
            excluded,
            on_request,
            on_response,
            classify_error,
            routes: RefCell::new(RouteCache::default()),
            durations: RefCell::new(DurationCache::default()),
            last_client: RefCell::new(None),
        }
    }

    /// `client.address` for `ip`, formatted once per run of requests from one address.
    pub(super) fn client_address(&self, ip: IpAddr) -> Option<Value> {
        let mut last = self.last_client.borrow_mut();
        if let Some((last_ip, value)) = &*last {
            if *last_ip == ip {
                return Some(value.clone());
            }
        }
        let value = ip_value(ip)?;
        *last = Some((ip, value.clone()));
        Some(value)
    }

    fn is_excluded(&self, path: &str) -> bool {
        self.excluded.iter().any(|excluded| **excluded == *path)
    }
}

impl<S, B, Req, Res, C> Service<ServiceRequest> for RequestTelemetryMiddleware<S, Req, Res, C>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    Req: OnRequest,
    Res: OnResponse,
    C: ClassifyError,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = RequestTelemetryFuture<S::Future, Req, Res, C>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        if self.worker.is_excluded(req.path()) {
            return RequestTelemetryFuture::excluded(self.service.call(req));
        }
        let in_flight = Worker::start(&self.worker, &req);
        let cx = in_flight.context().clone();
        // Routing and the synchronous part of inner middleware run inside `call`, so the
        // context is current for it too, not only while the future is polled.
        let future = {
            let _guard = cx.clone().attach();
            self.service.call(req)
        };
        RequestTelemetryFuture::instrumented(future.with_context(cx), in_flight)
    }
}
