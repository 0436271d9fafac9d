//! What to send: the endpoints of a run, from the command line or the SLO file.

use bytes::Bytes;
use http::header::HeaderName;
use http::{HeaderValue, Method, Uri};

use crate::slo::SloFile;

/// One endpoint under test: a prepared request and the SLO it belongs to.
#[derive(Debug, Clone)]
pub struct Target {
    /// `METHOD path`, as shown in reports.
    pub label: String,
    /// HTTP method.
    pub method: Method,
    /// The request target as given (without the base URL's path).
    pub path: String,
    /// The origin-form URI actually sent (base URL path + path).
    pub uri: Uri,
    /// Request body, empty for none.
    pub body: Bytes,
    /// `Content-Type` of the body, when there is one.
    pub content_type: Option<HeaderValue>,
    /// Extra headers.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Index of the SLO entry this endpoint is measured against.
    pub slo: Option<usize>,
}

/// A body given on the command line.
#[derive(Debug, Clone)]
pub struct CommandLineBody {
    /// The file's bytes.
    pub bytes: Bytes,
    /// `application/json` when the bytes are JSON, `application/octet-stream` otherwise.
    pub content_type: HeaderValue,
}

impl CommandLineBody {
    /// Wraps the content of a body file, detecting JSON.
    pub fn new(bytes: Vec<u8>) -> Self {
        let is_json = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok();
        let content_type = if is_json {
            "application/json"
        } else {
            "application/octet-stream"
        };
        Self {
            bytes: Bytes::from(bytes),
            content_type: HeaderValue::from_static(content_type),
        }
    }
}

/// Builds the targets: the command-line endpoints (each matched to the SLO entry listing the
/// same method and request target), else every endpoint of the SLO file, else `/health`.
///
/// # Errors
///
/// [`TargetError`] when a request target cannot be joined to the base path, or an SLO
/// endpoint's JSON body cannot be serialised.
pub fn targets(
    base_path: &str,
    endpoints: &[String],
    method: Option<&Method>,
    body: Option<&CommandLineBody>,
    slos: Option<&SloFile>,
) -> Result<Vec<Target>, TargetError> {
    let base_path = base_path.trim_end_matches('/');
    let mut targets = Vec::new();
    if endpoints.is_empty() && slos.is_some() {
        for (index, slo) in slos.iter().flat_map(|f| f.slos.iter()).enumerate() {
            for endpoint in &slo.endpoints {
                let (body, content_type) = match &endpoint.body {
                    Some(json) => (
                        Bytes::from(serde_json::to_vec(json).map_err(TargetError::Body)?),
                        Some(HeaderValue::from_static("application/json")),
                    ),
                    None => (Bytes::new(), None),
                };
                targets.push(Target {
                    label: format!("{} {}", endpoint.method, endpoint.path),
                    method: endpoint.method.clone(),
                    path: endpoint.path.clone(),
                    uri: join(base_path, &endpoint.path)?,
                    body,
                    content_type,
                    headers: endpoint.headers.clone(),
                    slo: Some(index),
                });
            }
        }
        return Ok(targets);
    }
    let default = ["/health".to_owned()];
    let paths = if endpoints.is_empty() {
        &default[..]
    } else {
        endpoints
    };
    let method = method.cloned().unwrap_or(Method::GET);
    for path in paths {
        if targets.iter().any(|t: &Target| &t.path == path) {
            continue;
        }
        let slo = slos.and_then(|file| {
            file.slos.iter().position(|slo| {
                slo.endpoints
                    .iter()
                    .any(|e| e.method == method && &e.path == path)
            })
        });
        targets.push(Target {
            label: format!("{method} {path}"),
            method: method.clone(),
            path: path.clone(),
            uri: join(base_path, path)?,
            body: body.map(|b| b.bytes.clone()).unwrap_or_default(),
            content_type: body.map(|b| b.content_type.clone()),
            headers: Vec::new(),
            slo,
        });
    }
    Ok(targets)
}

/// Why the requests to send could not be planned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// The base URL's path and an endpoint do not make a request target.
    #[error("'{target}' is not a valid request target: {source}")]
    InvalidTarget {
        /// The joined target.
        target: String,
        /// Why it does not parse.
        source: http::uri::InvalidUri,
    },
    /// An SLO endpoint's JSON body could not be serialised.
    #[error("an SLO endpoint's body cannot be sent as JSON: {0}")]
    Body(#[source] serde_json::Error),
}

fn join(base_path: &str, path: &str) -> Result<Uri, TargetError> {
    let target = format!("{base_path}{path}");
    Uri::try_from(target.as_str()).map_err(|source| TargetError::InvalidTarget { target, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLOS: &str = "version: 1
slos:
  - {name: a, class: api, endpoints: [{method: GET, path: /a}, {method: PATCH, path: /b, body: {x: 1}}], availability: 0.9, latency_ms: {p99: 5}}
  - {name: h, class: health, endpoints: [{method: GET, path: /health}], availability: 0.9, latency_ms: {p99: 5}}
";

    #[test]
    fn default_is_health_without_slo_file() {
        let t = targets("/", &[], None, None, None).unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].label, "GET /health");
        assert_eq!(t[0].uri, "/health");
    }

    #[test]
    fn default_is_every_slo_endpoint() {
        let file = crate::slo::parse(SLOS).unwrap();
        let t = targets("/prefix/", &[], None, None, Some(&file)).unwrap();
        let labels: Vec<_> = t.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["GET /a", "PATCH /b", "GET /health"]);
        assert_eq!(t[1].uri, "/prefix/b");
        assert_eq!(&t[1].body[..], br#"{"x":1}"#);
        assert_eq!(t[1].content_type.as_ref().unwrap(), "application/json");
        assert_eq!(
            t.iter().map(|t| t.slo).collect::<Vec<_>>(),
            [Some(0), Some(0), Some(1)]
        );
    }

    #[test]
    fn command_line_endpoints_find_their_slo() {
        let file = crate::slo::parse(SLOS).unwrap();
        let endpoints = [
            "/health".to_owned(),
            "/other".to_owned(),
            "/health".to_owned(),
        ];
        let body = CommandLineBody::new(b"plain".to_vec());
        let t = targets("", &endpoints, None, Some(&body), Some(&file)).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].slo, Some(1));
        assert_eq!(t[1].slo, None);
        assert_eq!(
            t[0].content_type.as_ref().unwrap(),
            "application/octet-stream"
        );
    }
}
