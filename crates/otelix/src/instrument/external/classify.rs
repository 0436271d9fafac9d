//! Bounded attribute values for HTTP calls: the method, and the `error.type` of a failure.

use http::{Method, StatusCode};

/// How a request method is recorded.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct HttpMethod {
    /// `http.request.method`: the method, or `_OTHER` outside the known set.
    pub(crate) attribute: &'static str,
    /// The span name: the method, or `HTTP` outside the known set.
    pub(crate) span_name: &'static str,
    /// `http.request.method_original`, only for methods outside the known set.
    pub(crate) original: Option<String>,
}

/// Maps `method` as the HTTP conventions ask: the nine methods of RFC 9110 and RFC 5789 as
/// they are, anything else as `_OTHER` (its original kept on the span only), so a client
/// inventing methods cannot grow the metric's series.
pub(crate) fn http_method(method: &Method) -> HttpMethod {
    let known = match *method {
        Method::GET => Some("GET"),
        Method::HEAD => Some("HEAD"),
        Method::POST => Some("POST"),
        Method::PUT => Some("PUT"),
        Method::DELETE => Some("DELETE"),
        Method::CONNECT => Some("CONNECT"),
        Method::OPTIONS => Some("OPTIONS"),
        Method::TRACE => Some("TRACE"),
        Method::PATCH => Some("PATCH"),
        _ => None,
    };
    match known {
        Some(name) => HttpMethod {
            attribute: name,
            span_name: name,
            original: None,
        },
        None => HttpMethod {
            attribute: "_OTHER",
            span_name: "HTTP",
            original: Some(method.as_str().to_owned()),
        },
    }
}

/// `error.type` of an answer: its status code for 4xx and 5xx (a client span treats both as
/// errors), `None` otherwise.
pub(crate) fn status_error_type(status: StatusCode) -> Option<String> {
    (status.is_client_error() || status.is_server_error()).then(|| status.as_str().to_owned())
}

/// What went wrong when no answer came, as `reqwest` reports it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TransportFailure {
    pub(crate) timeout: bool,
    pub(crate) connect: bool,
    pub(crate) redirect: bool,
    pub(crate) body: bool,
    pub(crate) decode: bool,
    pub(crate) request: bool,
    pub(crate) builder: bool,
}

/// `error.type` of a call that got no answer. A timeout while connecting is a `timeout`: the
/// limit that ran out matters more to the reader than the phase it ran out in.
pub(crate) fn transport_error_type(failure: TransportFailure) -> &'static str {
    if failure.timeout {
        "timeout"
    } else if failure.connect {
        "connect"
    } else if failure.redirect {
        "redirect"
    } else if failure.body {
        "body"
    } else if failure.decode {
        "decode"
    } else if failure.builder {
        "builder"
    } else if failure.request {
        "request"
    } else {
        "_OTHER"
    }
}

pub(crate) fn reqwest_error_type(error: &reqwest::Error) -> &'static str {
    transport_error_type(TransportFailure {
        timeout: error.is_timeout(),
        connect: error.is_connect(),
        redirect: error.is_redirect(),
        body: error.is_body(),
        decode: error.is_decode(),
        request: error.is_request(),
        builder: error.is_builder(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_methods_are_kept() {
        for method in [Method::GET, Method::POST, Method::PATCH, Method::OPTIONS] {
            let mapped = http_method(&method);
            assert_eq!(mapped.attribute, method.as_str());
            assert_eq!(mapped.span_name, method.as_str());
            assert_eq!(mapped.original, None);
        }
    }

    #[test]
    fn unknown_methods_become_other() {
        let purge = Method::from_bytes(b"PURGE").expect("PURGE is a valid method token");
        assert_eq!(
            http_method(&purge),
            HttpMethod {
                attribute: "_OTHER",
                span_name: "HTTP",
                original: Some("PURGE".to_owned()),
            }
        );
        // Methods are case-sensitive: `get` is not `GET`.
        let lower = Method::from_bytes(b"get").expect("get is a valid method token");
        assert_eq!(http_method(&lower).attribute, "_OTHER");
    }

    #[test]
    fn only_4xx_and_5xx_are_errors() {
        assert_eq!(status_error_type(StatusCode::OK), None);
        assert_eq!(status_error_type(StatusCode::FOUND), None);
        assert_eq!(
            status_error_type(StatusCode::NOT_FOUND).as_deref(),
            Some("404")
        );
        assert_eq!(
            status_error_type(StatusCode::SERVICE_UNAVAILABLE).as_deref(),
            Some("503")
        );
    }

    #[test]
    fn transport_failures_have_one_class_each() {
        let classify = |f: fn(&mut TransportFailure)| {
            let mut failure = TransportFailure::default();
            f(&mut failure);
            transport_error_type(failure)
        };
        assert_eq!(classify(|f| f.timeout = true), "timeout");
        assert_eq!(
            classify(|f| {
                f.timeout = true;
                f.connect = true;
            }),
            "timeout"
        );
        assert_eq!(classify(|f| f.connect = true), "connect");
        assert_eq!(
            classify(|f| {
                f.connect = true;
                f.request = true;
            }),
            "connect"
        );
        assert_eq!(classify(|f| f.redirect = true), "redirect");
        assert_eq!(classify(|f| f.body = true), "body");
        assert_eq!(classify(|f| f.decode = true), "decode");
        assert_eq!(classify(|f| f.builder = true), "builder");
        assert_eq!(classify(|f| f.request = true), "request");
        assert_eq!(classify(|_| {}), "_OTHER");
    }
}
