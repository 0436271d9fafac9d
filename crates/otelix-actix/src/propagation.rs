//! Reading propagation headers from actix-web's own `HeaderMap`.

use actix_web::http::header::{HeaderMap, HeaderName};
use opentelemetry::propagation::Extractor;

pub(crate) static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
pub(crate) static TRACESTATE: HeaderName = HeaderName::from_static("tracestate");
pub(crate) static BAGGAGE: HeaderName = HeaderName::from_static("baggage");
pub(crate) static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// W3C Trace Context Level 2 `traceresponse`: the server span's IDs, for the caller.
pub(crate) static TRACERESPONSE: HeaderName = HeaderName::from_static("traceresponse");

/// Reads propagation headers from an actix-web [`HeaderMap`], for OpenTelemetry propagators.
///
/// actix-web 4 keeps its own header map (on `http` 0.2 types), so [`otelix::HeaderExtractor`]
/// (for `http` 1.x) does not apply. This one behaves the same way: names are matched
/// case-insensitively, and [`get_all`](Extractor::get_all) reports every value of a repeated
/// header, which is how otelix's W3C propagator recognises a duplicated `traceparent`.
///
/// ```
/// use actix_web::test::TestRequest;
/// use opentelemetry::propagation::Extractor;
/// use otelix_actix::ActixHeaderExtractor;
///
/// let req = TestRequest::default()
///     .append_header(("tracestate", "a=1"))
///     .append_header(("tracestate", "b=2"))
///     .to_http_request();
/// let headers = ActixHeaderExtractor(req.headers());
/// assert_eq!(headers.get("TraceState"), Some("a=1"));
/// assert_eq!(headers.get_all("tracestate"), Some(vec!["a=1", "b=2"]));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ActixHeaderExtractor<'a>(pub &'a HeaderMap);

impl ActixHeaderExtractor<'_> {
    /// The values of `key`. The propagation headers are looked up by a constant name, because
    /// parsing a non-standard name from a string allocates.
    fn values(&self, key: &str) -> std::slice::Iter<'_, actix_web::http::header::HeaderValue> {
        let known = [&TRACEPARENT, &TRACESTATE, &BAGGAGE]
            .into_iter()
            .find(|name| name.as_str().eq_ignore_ascii_case(key));
        match known {
            Some(name) => self.0.get_all(name),
            None => match HeaderName::from_bytes(key.as_bytes()) {
                Ok(name) => self.0.get_all(name),
                Err(_) => [].iter(),
            },
        }
    }
}

impl Extractor for ActixHeaderExtractor<'_> {
    /// The first value of `key`, or `None` when it is absent or not visible ASCII (which
    /// includes any value that is not valid UTF-8).
    fn get(&self, key: &str) -> Option<&str> {
        self.values(key)
            .next()
            .and_then(|value| value.to_str().ok())
    }

    /// The names of all headers present.
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }

    /// Every value of `key`, in order, or `None` when it is absent or when any of its values is
    /// not visible ASCII: an unreadable value spoils the whole field rather than being skipped,
    /// since skipping it would hide a duplicated `traceparent` or a bad `tracestate` part.
    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let values = self
            .values(key)
            .map(|value| value.to_str().ok())
            .collect::<Option<Vec<&str>>>()?;
        (!values.is_empty()).then_some(values)
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderValue;
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn unreadable_value_spoils_get_all_but_not_other_headers() {
        let bad = HeaderValue::from_bytes(b"\xff\xfe").expect("opaque bytes are a header value");
        let req = TestRequest::default()
            .append_header(("traceparent", "ok"))
            .append_header(("traceparent", bad))
            .insert_header(("x-custom", "v"))
            .to_http_request();
        let headers = ActixHeaderExtractor(req.headers());
        assert_eq!(headers.get_all("traceparent"), None);
        assert_eq!(headers.get("traceparent"), Some("ok"));
        assert_eq!(headers.get("X-Custom"), Some("v"));
        assert_eq!(headers.get_all("missing"), None);
        assert_eq!(headers.get("not a header name"), None);
        let mut keys = headers.keys();
        keys.sort_unstable();
        assert_eq!(keys, ["traceparent", "x-custom"]);
    }
}
