//! Adapters between OpenTelemetry's carrier traits and [`http::HeaderMap`].

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector};

/// Reads propagation headers from an [`http::HeaderMap`].
///
/// Header names are matched case-insensitively, as the specification requires ("Vendors MUST
/// expect the header name in any case").
#[derive(Clone, Copy, Debug)]
pub struct HeaderExtractor<'a>(pub &'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    /// The first value of `key`, or `None` when it is absent or not visible ASCII (which
    /// includes any value that is not valid UTF-8).
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    /// The names of all headers present.
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }

    /// Every value of `key`, in order, or `None` when it is absent or when any of its values is
    /// not visible ASCII. An unreadable value spoils the whole field rather than being skipped:
    /// skipping it would hide a duplicated `traceparent` or an invalid `tracestate` part.
    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let values = self
            .0
            .get_all(key)
            .iter()
            .map(|value| value.to_str().ok())
            .collect::<Option<Vec<&str>>>()?;
        (!values.is_empty()).then_some(values)
    }
}

/// Writes propagation headers into an [`http::HeaderMap`].
///
/// Each [`Injector::set`] replaces any value already present, so injecting twice never leaves
/// two `traceparent` headers. A name or value that is not a valid header is skipped: propagation
/// is best effort and must never fail or panic the request carrying it.
#[derive(Debug)]
pub struct HeaderInjector<'a>(pub &'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    /// Sets `key` to `value`, replacing earlier values; skips invalid names and values.
    fn set(&mut self, key: &str, value: String) {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::try_from(value),
        ) else {
            return;
        };
        self.0.insert(name, value);
    }

    /// Reserves room for `additional` more headers when the map can grow that far.
    fn reserve(&mut self, additional: usize) {
        // Only a hint: when the map cannot grow, `set` still works until it is full.
        let _ = self.0.try_reserve(additional);
    }
}
