//! From the request to the started SERVER span: its parent from the propagation headers, its
//! name from the route, its attributes from the request and the [`OnRequest`] hook.

use std::borrow::Cow;
use std::net::IpAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use actix_web::dev::ServiceRequest;
use actix_web::http::header;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanBuilder, SpanKind, TraceContextExt, Tracer as _};
use opentelemetry::{Array, Context, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};
use opentelemetry_semantic_conventions::attribute as semattr;
use otelix::RequestRoute;

use super::in_flight::InFlight;
use super::service::Worker;
use crate::attributes::{
    truncate, HttpMethod, Scheme, MAX_METHOD_LEN, MAX_PATH_LEN, MAX_QUERY_LEN, MAX_USER_AGENT_LEN,
};
use crate::hooks::OnRequest;
use crate::propagation::{ActixHeaderExtractor, X_REQUEST_ID};
use crate::request_id::RequestId;
use otelix::names::CLIENT_REQUEST_ID;

/// Attributes set when the span starts (at most 8) plus those added at the end (2), so the
/// span's attribute list never grows after it is allocated.
const SPAN_ATTRIBUTE_CAPACITY: usize = 10;

impl<Req: OnRequest, Res, C> Worker<Req, Res, C> {
    /// Starts the request's span, counts it as active, and returns it in flight.
    #[inline]
    pub(super) fn start(worker: &Rc<Self>, req: &ServiceRequest) -> InFlight<Req, Res, C> {
        let start = Instant::now();
        let shared = &worker.shared;
        let method = HttpMethod::classify(req.method());
        let scheme = request_scheme(req);

        // A fresh context: a request starts a trace or continues the caller's, never
        // whatever happens to be current on the worker thread.
        let parent = shared
            .propagator
            .extract_with_context(&Context::new(), &ActixHeaderExtractor(req.headers()));

        // The route is looked up in the application's resource map before the router runs,
        // so that it names the span from the start (samplers see it), reaches the context
        // that handlers' spans start from, and labels even requests that inner middleware
        // ends before routing.
        let pattern = req.match_pattern();
        let route = pattern
            .as_deref()
            .map(|pattern| worker.routes.borrow_mut().intern(pattern));
        let mut attributes = worker.start_attributes(req, method, scheme, route.as_ref());
        worker.on_request.on_request(req, &mut attributes);

        let span = shared.tracer.build_with_context(
            SpanBuilder {
                name: span_name(method, pattern),
                span_kind: Some(SpanKind::Server),
                attributes: Some(attributes),
                ..SpanBuilder::default()
            },
            &parent,
        );
        let trace_id = opentelemetry::trace::Span::span_context(&span).trace_id();
        // The tracer yields an invalid context only when its provider is shut down; the
        // response still gets a well-formed ID, from the caller's trace if there is one.
        let request_id = RequestId::from_trace_id(trace_id)
            .or_else(|| RequestId::from_trace_id(parent.span().span_context().trace_id()))
            .or_else(|| RequestId::from_trace_id(RandomIdGenerator::default().new_trace_id()));
        // Added after the SERVER span started, so only the spans a handler opens carry the
        // route to otelix's slow-query processor.
        let cx = match &route {
            Some(route) => parent.with_value(RequestRoute(Arc::clone(route))),
            None => parent,
        }
        .with_span(span);

        shared
            .instruments
            .active_requests(&shared.attributes, method, scheme)
            .add(1);
        InFlight::new(
            Rc::clone(worker),
            cx,
            route,
            request_id,
            start,
            method,
            scheme,
        )
    }
}

impl<Req, Res, C> Worker<Req, Res, C> {
    /// The attributes otelix sets when the span starts: the HTTP semantic conventions'
    /// request attributes, client-controlled values bounded in length.
    fn start_attributes(
        &self,
        req: &ServiceRequest,
        method: HttpMethod,
        scheme: Scheme,
        route: Option<&Arc<str>>,
    ) -> Vec<KeyValue> {
        let shared = &self.shared;
        let mut attributes = Vec::with_capacity(SPAN_ATTRIBUTE_CAPACITY);
        attributes.push(shared.attributes.method(method).clone());
        if method == HttpMethod::Other {
            attributes.push(KeyValue::new(
                semattr::HTTP_REQUEST_METHOD_ORIGINAL,
                shared_str(truncate(req.method().as_str(), MAX_METHOD_LEN)),
            ));
        }
        if let Some(route) = route {
            attributes.push(KeyValue::new(semattr::HTTP_ROUTE, route_value(route)));
        }
        attributes.push(KeyValue::new(
            semattr::URL_PATH,
            shared_str(truncate(req.path(), MAX_PATH_LEN)),
        ));
        let query = req.query_string();
        if !query.is_empty() {
            // Sensitive parameters' values (tokens, keys, signatures, passwords) never reach
            // the span, as the semantic conventions ask.
            let redacted = otelix::redact::redact_query(query);
            attributes.push(KeyValue::new(
                semattr::URL_QUERY,
                shared_str(truncate(&redacted, MAX_QUERY_LEN)),
            ));
        }
        attributes.push(shared.attributes.scheme(scheme).clone());
        if let Some(peer) = req.peer_addr() {
            if let Some(address) = self.client_address(peer.ip()) {
                attributes.push(KeyValue::new(semattr::CLIENT_ADDRESS, address));
            }
        }
        let headers = req.headers();
        if let Some(user_agent) = headers
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
        {
            attributes.push(KeyValue::new(
                semattr::USER_AGENT_ORIGINAL,
                shared_str(truncate(user_agent, MAX_USER_AGENT_LEN)),
            ));
        }
        if let Some(client_id) = client_request_id(headers) {
            attributes.push(KeyValue::new(
                CLIENT_REQUEST_ID,
                Value::Array(Array::String(vec![client_id.into()])),
            ));
        }
        attributes
    }
}

/// `{METHOD} {route}`, or `{METHOD}` alone when no route matched. The route template string
/// that `match_pattern` allocated becomes the name, so the name costs no allocation of its own.
fn span_name(method: HttpMethod, pattern: Option<String>) -> Cow<'static, str> {
    match pattern {
        Some(mut name) => {
            name.insert(0, ' ');
            name.insert_str(0, method.span_name());
            Cow::Owned(name)
        }
        None => Cow::Borrowed(method.span_name()),
    }
}

/// `https` when a proxy says the client used it (`X-Forwarded-Proto`, only the values `http`
/// and `https` are believed) or the server itself serves TLS; `http` otherwise.
fn request_scheme(req: &ServiceRequest) -> Scheme {
    let forwarded = req
        .headers()
        .get(header::X_FORWARDED_PROTO)
        .map(|value| value.as_bytes());
    match forwarded {
        Some(proto) if proto.eq_ignore_ascii_case(b"https") => Scheme::Https,
        Some(proto) if proto.eq_ignore_ascii_case(b"http") => Scheme::Http,
        _ if req.app_config().secure() => Scheme::Https,
        _ => Scheme::Http,
    }
}

/// The client's `X-Request-ID` when there is exactly one and it survives sanitizing.
fn client_request_id(headers: &header::HeaderMap) -> Option<String> {
    let mut values = headers.get_all(&X_REQUEST_ID);
    match (values.next(), values.next()) {
        (Some(value), None) => otelix::sanitize_request_id(value.as_bytes()),
        _ => None,
    }
}

/// A span attribute value from client input. Reference-counted rather than boxed, so that the
/// copies the SDK makes of a finished span for each of several processors cost no allocation.
fn shared_str(value: &str) -> Value {
    Value::String(StringValue::from(Arc::<str>::from(value)))
}

pub(super) fn route_value(route: &Arc<str>) -> Value {
    Value::String(StringValue::from(Arc::clone(route)))
}

/// The address as text, without an intermediate `String`.
pub(super) fn ip_value(ip: IpAddr) -> Option<Value> {
    use std::io::Write as _;
    // The longest IPv6 text form is 45 bytes.
    let mut buf = [0u8; 64];
    let unused = {
        let mut rest = &mut buf[..];
        write!(rest, "{ip}").ok()?;
        rest.len()
    };
    let written = buf.get(..buf.len() - unused)?;
    std::str::from_utf8(written).ok().map(shared_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_text_is_complete() {
        let text = |ip: IpAddr| ip_value(ip).map(|v| v.as_str().into_owned());
        let longest = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";
        let v6: IpAddr = longest.parse().expect("an IPv6 address");
        assert_eq!(
            text(v6).as_deref(),
            Some("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
        );
        assert_eq!(
            text(IpAddr::from([127, 0, 0, 1])).as_deref(),
            Some("127.0.0.1")
        );
    }

    #[test]
    fn span_names_are_method_and_route() {
        assert_eq!(
            span_name(HttpMethod::Get, Some("/users/{id}".to_owned())),
            "GET /users/{id}"
        );
        assert_eq!(span_name(HttpMethod::Post, None), "POST");
        assert_eq!(
            span_name(HttpMethod::Other, Some("/x".to_owned())),
            "HTTP /x"
        );
    }
}
