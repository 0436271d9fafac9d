use std::borrow::Cow;

use async_trait::async_trait;
use http::Extensions;
use opentelemetry::context::FutureExt as _;
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::KeyValue;
use opentelemetry_semantic_conventions::attribute as semattr;
use reqwest::{IntoUrl, Method, Request, Response};
use reqwest_middleware::{ClientWithMiddleware, Middleware, Next, RequestBuilder};

use super::classify::{http_method, reqwest_error_type, status_error_type};
use super::tracker::{ExternalCall, ExternalTracker};
use crate::names::OTELIX_OPERATION;
use crate::redact::redact_url;

/// The peer service and operation of an outgoing request, carried in the request's extensions
/// from [`ExternalClient`] to [`ExternalCallMiddleware`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExternalTarget {
    service: Option<Cow<'static, str>>,
    operation: Option<Cow<'static, str>>,
}

impl ExternalTarget {
    /// The `operation` of `service`.
    pub fn new(
        service: impl Into<Cow<'static, str>>,
        operation: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            service: Some(service.into()),
            operation: Some(operation.into()),
        }
    }

    /// The peer service (`service.peer.name`), when set.
    pub fn service(&self) -> Option<&str> {
        self.service.as_deref()
    }

    /// The operation (`otelix.operation`), when set.
    pub fn operation(&self) -> Option<&str> {
        self.operation.as_deref()
    }
}

/// A `reqwest` client whose every request is an instrumented external call.
///
/// Each request gets a CLIENT span, child of the current context, named after its HTTP method
/// (`POST`; `HTTP` for a method outside the standard set) as the HTTP client conventions ask,
/// with `http.request.method`, `server.address`, `server.port`, `url.full` (credentials and
/// secret query values redacted by [`redact_url`](crate::redact::redact_url)),
/// `http.response.status_code`, `service.peer.name`, `otelix.operation` and, on failure,
/// `error.type` (the status code for 4xx and 5xx answers; `timeout`, `connect`, `redirect`,
/// `body`, `decode`, `request`, `builder` or `middleware` when no answer came). The request
/// carries `traceparent`, `tracestate` and `baggage` for that span. Its duration goes to
/// `http.client.request.duration` with `http.request.method`, `server.address`, `server.port`,
/// `service.peer.name`, `otelix.operation`, `http.response.status_code` and `error.type`: never
/// the URL, so the series stay bounded.
///
/// It is a [`reqwest_middleware::ClientWithMiddleware`] underneath, so requests are built and
/// sent exactly as with `reqwest`, and other middleware (retries, say) can be stacked with
/// [`ExternalCallMiddleware`]: each attempt is then its own span.
///
/// ```no_run
/// # async fn example(telemetry: otelix::TelemetryHandle) -> Result<(), reqwest_middleware::Error> {
/// use otelix::external::ExternalClient;
///
/// let client = ExternalClient::new(reqwest::Client::new(), &telemetry);
/// let stripe = client.service("stripe");
/// let response = stripe
///     .operation("create_payment")
///     .post("https://api.stripe.com/v1/payment_intents")
///     .json(&serde_json::json!({ "amount": 500, "currency": "eur" }))
///     .send()
///     .await?;
/// # let _ = response;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct ExternalClient {
    client: ClientWithMiddleware,
    target: ExternalTarget,
}

impl ExternalClient {
    /// Instruments `client` with otelix's own tracer and meter.
    pub fn new(client: reqwest::Client, telemetry: &crate::TelemetryHandle) -> Self {
        Self::with_tracker(client, ExternalTracker::new(telemetry))
    }

    /// Instruments `client` through `tracker` (for example [`ExternalTracker::global`]).
    pub fn with_tracker(client: reqwest::Client, tracker: ExternalTracker) -> Self {
        Self::from_middleware_client(
            reqwest_middleware::ClientBuilder::new(client)
                .with(ExternalCallMiddleware::new(tracker))
                .build(),
        )
    }

    /// Uses a middleware stack built by the caller, which must include an
    /// [`ExternalCallMiddleware`] for requests to be recorded.
    pub fn from_middleware_client(client: ClientWithMiddleware) -> Self {
        Self {
            client,
            target: ExternalTarget::default(),
        }
    }

    /// A client whose requests go to the peer service `service` (`service.peer.name`: a fixed
    /// name such as `stripe`). Cheap: shares the connection pool.
    #[must_use]
    pub fn service(&self, service: impl Into<Cow<'static, str>>) -> Self {
        let mut scoped = self.clone();
        scoped.target.service = Some(service.into());
        scoped
    }

    /// A client whose requests are the operation `operation` (`otelix.operation`: a fixed name
    /// such as `create_payment`).
    #[must_use]
    pub fn operation(&self, operation: impl Into<Cow<'static, str>>) -> Self {
        let mut scoped = self.clone();
        scoped.target.operation = Some(operation.into());
        scoped
    }

    /// The service and operation this client's requests are recorded under.
    pub fn target(&self) -> &ExternalTarget {
        &self.target
    }

    /// The middleware client underneath.
    pub fn middleware_client(&self) -> &ClientWithMiddleware {
        &self.client
    }

    /// Starts a `GET` request.
    pub fn get<U: IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    /// Starts a `POST` request.
    pub fn post<U: IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    /// Starts a `PUT` request.
    pub fn put<U: IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::PUT, url)
    }

    /// Starts a `PATCH` request.
    pub fn patch<U: IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::PATCH, url)
    }

    /// Starts a `DELETE` request.
    pub fn delete<U: IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::DELETE, url)
    }

    /// Starts a `HEAD` request.
    pub fn head<U: IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::HEAD, url)
    }

    /// Starts a request with any method.
    pub fn request<U: IntoUrl>(&self, method: Method, url: U) -> RequestBuilder {
        self.client
            .request(method, url)
            .with_extension(self.target.clone())
    }
}

/// The `reqwest-middleware` middleware behind [`ExternalClient`], for callers who assemble their
/// own stack. Requests are labelled by an [`ExternalTarget`] extension; without one they are
/// recorded without `service.peer.name` and `otelix.operation`.
#[derive(Clone, Debug)]
pub struct ExternalCallMiddleware {
    tracker: ExternalTracker,
}

impl ExternalCallMiddleware {
    /// Records requests through `tracker`.
    pub fn new(tracker: ExternalTracker) -> Self {
        Self { tracker }
    }

    fn start(&self, target: &ExternalTarget, request: &Request) -> ExternalCall {
        let url = request.url();
        let method = http_method(request.method());
        let mut labels = vec![KeyValue::new(
            semattr::HTTP_REQUEST_METHOD,
            method.attribute,
        )];
        if let Some(host) = url.host() {
            // `server.address` is the bare address: `::1`, not the URL's `[::1]`.
            let address = match host {
                url::Host::Ipv6(address) => address.to_string(),
                other => other.to_string(),
            };
            labels.push(KeyValue::new(semattr::SERVER_ADDRESS, address));
        }
        if let Some(port) = url.port_or_known_default() {
            labels.push(KeyValue::new(semattr::SERVER_PORT, i64::from(port)));
        }
        if let Some(service) = &target.service {
            labels.push(KeyValue::new(semattr::SERVICE_PEER_NAME, service.clone()));
        }
        if let Some(operation) = &target.operation {
            labels.push(KeyValue::new(OTELIX_OPERATION, operation.clone()));
        }
        let mut span_attributes = labels.clone();
        span_attributes.push(KeyValue::new(semattr::URL_FULL, redact_url(url)));
        if let Some(original) = method.original {
            span_attributes.push(KeyValue::new(
                semattr::HTTP_REQUEST_METHOD_ORIGINAL,
                original,
            ));
        }
        self.tracker
            .start_span(method.span_name.to_owned(), span_attributes, labels)
    }
}

#[async_trait]
impl Middleware for ExternalCallMiddleware {
    async fn handle(
        &self,
        mut request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let target = extensions
            .get::<ExternalTarget>()
            .cloned()
            .unwrap_or_default();
        let mut call = self.start(&target, &request);
        crate::propagator().inject_context(
            call.context(),
            &mut crate::HeaderInjector(request.headers_mut()),
        );
        let result = next
            .run(request, extensions)
            .with_context(call.context().clone())
            .await;
        match &result {
            Ok(response) => {
                let status = response.status();
                call.add_label(KeyValue::new(
                    semattr::HTTP_RESPONSE_STATUS_CODE,
                    i64::from(status.as_u16()),
                ));
                match status_error_type(status) {
                    Some(error_type) => call.finish_err(error_type),
                    None => call.finish_ok(),
                }
            }
            Err(reqwest_middleware::Error::Reqwest(error)) => {
                call.finish_err(reqwest_error_type(error));
            }
            Err(reqwest_middleware::Error::Middleware(_)) => call.finish_err("middleware"),
        }
        result
    }
}
