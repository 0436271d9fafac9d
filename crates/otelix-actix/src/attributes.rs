//! Attribute values computed once and reused on every request: normalized methods, schemes,
//! status-code strings and interned route templates; and the bounds applied to values that
//! come from the client.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::http::Method;
use opentelemetry::KeyValue;
use opentelemetry_semantic_conventions::attribute as semattr;

/// The request methods the HTTP semantic conventions know; anything else is `_OTHER`.
/// Methods are case-sensitive, so `get` is `_OTHER` too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum HttpMethod {
    Connect,
    Delete,
    Get,
    Head,
    Options,
    Patch,
    Post,
    Put,
    Trace,
    Other,
}

impl HttpMethod {
    pub(crate) const ALL: [HttpMethod; 10] = [
        HttpMethod::Connect,
        HttpMethod::Delete,
        HttpMethod::Get,
        HttpMethod::Head,
        HttpMethod::Options,
        HttpMethod::Patch,
        HttpMethod::Post,
        HttpMethod::Put,
        HttpMethod::Trace,
        HttpMethod::Other,
    ];

    pub(crate) fn classify(method: &Method) -> HttpMethod {
        // `Method`'s equality on the standard methods is an enum comparison, no string work.
        match *method {
            Method::GET => HttpMethod::Get,
            Method::POST => HttpMethod::Post,
            Method::PUT => HttpMethod::Put,
            Method::DELETE => HttpMethod::Delete,
            Method::PATCH => HttpMethod::Patch,
            Method::HEAD => HttpMethod::Head,
            Method::OPTIONS => HttpMethod::Options,
            Method::CONNECT => HttpMethod::Connect,
            Method::TRACE => HttpMethod::Trace,
            _ => HttpMethod::Other,
        }
    }

    /// The value of `http.request.method`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Connect => "CONNECT",
            HttpMethod::Delete => "DELETE",
            HttpMethod::Get => "GET",
            HttpMethod::Head => "HEAD",
            HttpMethod::Options => "OPTIONS",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Trace => "TRACE",
            HttpMethod::Other => "_OTHER",
        }
    }

    /// The `{method}` part of the span name: the conventions name unknown methods `HTTP`.
    pub(crate) fn span_name(self) -> &'static str {
        match self {
            HttpMethod::Other => "HTTP",
            known => known.as_str(),
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// `url.scheme`, reduced to the two values a server can see, so that it can be a metric label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub(crate) const ALL: [Scheme; 2] = [Scheme::Http, Scheme::Https];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Key-values that depend only on the method and the scheme, built once per middleware.
#[derive(Debug)]
pub(crate) struct StaticAttributes {
    methods: [KeyValue; HttpMethod::ALL.len()],
    schemes: [KeyValue; Scheme::ALL.len()],
    /// `[method, scheme]` for `http.server.active_requests`, indexed by method then scheme.
    active: [[[KeyValue; 2]; Scheme::ALL.len()]; HttpMethod::ALL.len()],
}

impl StaticAttributes {
    pub(crate) fn new() -> Self {
        let method = |m: HttpMethod| KeyValue::new(semattr::HTTP_REQUEST_METHOD, m.as_str());
        let scheme = |s: Scheme| KeyValue::new(semattr::URL_SCHEME, s.as_str());
        StaticAttributes {
            methods: HttpMethod::ALL.map(method),
            schemes: Scheme::ALL.map(scheme),
            active: HttpMethod::ALL.map(|m| Scheme::ALL.map(|s| [method(m), scheme(s)])),
        }
    }

    pub(crate) fn method(&self, method: HttpMethod) -> &KeyValue {
        &self.methods[method.index()]
    }

    pub(crate) fn scheme(&self, scheme: Scheme) -> &KeyValue {
        &self.schemes[scheme.index()]
    }

    pub(crate) fn active(&self, method: HttpMethod, scheme: Scheme) -> &[KeyValue; 2] {
        &self.active[method.index()][scheme.index()]
    }
}

/// `"100"` to `"599"` as static strings, so a status code can be an `error.type` without an
/// allocation per request.
static STATUS_DIGITS: [[u8; 3]; 500] = status_digits();

const fn status_digits() -> [[u8; 3]; 500] {
    let mut table = [[0u8; 3]; 500];
    let mut i = 0;
    while i < 500 {
        let code = i + 100;
        table[i] = [
            b'0' + (code / 100) as u8,
            b'0' + (code / 10 % 10) as u8,
            b'0' + (code % 10) as u8,
        ];
        i += 1;
    }
    table
}

/// The status code as a static string, `_OTHER` outside 100..=599 (the conventions' fallback
/// for `error.type`).
pub(crate) fn status_str(code: u16) -> &'static str {
    usize::from(code)
        .checked_sub(100)
        .and_then(|i| STATUS_DIGITS.get(i))
        .and_then(|digits| std::str::from_utf8(digits).ok())
        .unwrap_or("_OTHER")
}

/// Longest `url.path`, `url.query`, `user_agent.original` or `http.request.method_original` recorded on a
/// span. These come from the client; the limits keep one request from producing a span of
/// many kilobytes. The conventions set no limit, so longer values are cut at a character
/// boundary rather than dropped.
pub(crate) const MAX_PATH_LEN: usize = 2048;
pub(crate) const MAX_QUERY_LEN: usize = 2048;
pub(crate) const MAX_USER_AGENT_LEN: usize = 512;
pub(crate) const MAX_METHOD_LEN: usize = 64;

/// `value` cut to at most `max` bytes at a character boundary.
pub(crate) fn truncate(value: &str, max: usize) -> &str {
    if value.len() <= max {
        return value;
    }
    let mut end = max;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

/// Route templates seen so far, each stored once and shared by every span and data point
/// that names it. Kept per worker thread, so the request path takes no lock. Route templates
/// come from the application's route table, not from the client, so the set is small; the
/// bound only guards against a table generated at run time.
#[derive(Debug, Default)]
pub(crate) struct RouteCache {
    routes: HashMap<Box<str>, Arc<str>>,
}

/// How many distinct route templates are interned per worker.
const MAX_ROUTES: usize = 1024;

impl RouteCache {
    pub(crate) fn intern(&mut self, route: &str) -> Arc<str> {
        if let Some(interned) = self.routes.get(route) {
            return Arc::clone(interned);
        }
        let interned = Arc::<str>::from(route);
        if self.routes.len() < MAX_ROUTES {
            self.routes.insert(route.into(), Arc::clone(&interned));
        }
        interned
    }
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Lowercase hex of `bytes` into `out`, which must be twice as long.
pub(crate) fn write_hex(bytes: &[u8], out: &mut [u8]) {
    for (byte, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        pair[0] = HEX_DIGITS[usize::from(byte >> 4)];
        pair[1] = HEX_DIGITS[usize::from(byte & 0x0f)];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_normalized_case_sensitively() {
        assert_eq!(HttpMethod::classify(&Method::GET), HttpMethod::Get);
        assert_eq!(HttpMethod::classify(&Method::TRACE), HttpMethod::Trace);
        let lower = Method::from_bytes(b"get").expect("a valid method token");
        assert_eq!(HttpMethod::classify(&lower), HttpMethod::Other);
        let foo = Method::from_bytes(b"FOO").expect("a valid method token");
        assert_eq!(HttpMethod::classify(&foo).as_str(), "_OTHER");
        assert_eq!(HttpMethod::Other.span_name(), "HTTP");
    }

    #[test]
    fn static_attributes_line_up_with_their_indexes() {
        let attrs = StaticAttributes::new();
        for method in HttpMethod::ALL {
            assert_eq!(attrs.method(method).value.as_str(), method.as_str());
            for scheme in Scheme::ALL {
                let [m, s] = attrs.active(method, scheme);
                assert_eq!(m.value.as_str(), method.as_str());
                assert_eq!(s.value.as_str(), scheme.as_str());
                assert_eq!(attrs.scheme(scheme).key.as_str(), semattr::URL_SCHEME);
            }
        }
    }

    #[test]
    fn status_strings_cover_every_three_digit_code() {
        assert_eq!(status_str(100), "100");
        assert_eq!(status_str(500), "500");
        assert_eq!(status_str(503), "503");
        assert_eq!(status_str(599), "599");
        assert_eq!(status_str(99), "_OTHER");
        assert_eq!(status_str(600), "_OTHER");
    }

    #[test]
    fn truncation_respects_character_boundaries() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("abcdef", 3), "abc");
        // 'é' is two bytes; cutting after one of them must step back.
        assert_eq!(truncate("aé", 2), "a");
    }

    #[test]
    fn routes_are_interned_once_and_bounded() {
        let mut cache = RouteCache::default();
        let first = cache.intern("/users/{id}");
        let second = cache.intern("/users/{id}");
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(cache.routes.len(), 1);
        for i in 0..MAX_ROUTES + 10 {
            cache.intern(&format!("/r{i}"));
        }
        assert_eq!(cache.routes.len(), MAX_ROUTES);
        assert_eq!(&*cache.intern("/not-cached"), "/not-cached");
    }

    #[test]
    fn hex_is_lowercase() {
        let mut out = [0u8; 4];
        write_hex(&[0xab, 0x01], &mut out);
        assert_eq!(&out, b"ab01");
    }
}
