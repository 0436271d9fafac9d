//! The SLO file (`docs/observability/slos.yaml`, schema in `slos.schema.json`): reading and
//! validating it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use http::header::HeaderName;
use http::{HeaderValue, Method};
use serde::Deserialize;

/// A latency percentile an SLO can bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Percentile {
    /// The median.
    P50,
    /// 90th percentile.
    P90,
    /// 95th percentile.
    P95,
    /// 99th percentile.
    P99,
    /// 99.9th percentile.
    P999,
}

impl Percentile {
    /// Every percentile, in increasing order.
    pub const ALL: [Percentile; 5] = [Self::P50, Self::P90, Self::P95, Self::P99, Self::P999];

    /// The quantile in (0, 1).
    pub fn quantile(self) -> f64 {
        match self {
            Self::P50 => 0.5,
            Self::P90 => 0.9,
            Self::P95 => 0.95,
            Self::P99 => 0.99,
            Self::P999 => 0.999,
        }
    }

    /// The key used in the SLO file and in reports: `p50` ... `p999`.
    pub fn key(self) -> &'static str {
        match self {
            Self::P50 => "p50",
            Self::P90 => "p90",
            Self::P95 => "p95",
            Self::P99 => "p99",
            Self::P999 => "p999",
        }
    }

    fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.key() == key)
    }
}

impl fmt::Display for Percentile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// A validated SLO file.
#[derive(Debug, Clone)]
pub struct SloFile {
    /// `service`, when given.
    pub service: Option<String>,
    /// The `slos` entries, in file order.
    pub slos: Vec<Slo>,
}

/// One `slos` entry: endpoints sharing objectives.
#[derive(Debug, Clone)]
pub struct Slo {
    /// Stable identifier.
    pub name: String,
    /// Endpoint class (`health`, `api`, `reports`).
    pub class: String,
    /// The requests to send.
    pub endpoints: Vec<SloEndpoint>,
    /// Minimum share of good responses, in (0, 1).
    pub availability: f64,
    /// Maximum latency per percentile, in milliseconds, in increasing percentile order.
    pub latency_ms: Vec<(Percentile, f64)>,
}

/// One request of an SLO entry.
#[derive(Debug, Clone)]
pub struct SloEndpoint {
    /// HTTP method.
    pub method: Method,
    /// Request target (path and optional query).
    pub path: String,
    /// JSON body, sent as `application/json`.
    pub body: Option<serde_json::Value>,
    /// Extra request headers.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// Why an SLO file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SloError {
    /// The file could not be read.
    #[error("cannot read SLO file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a valid SLO file.
    #[error("invalid SLO file {path}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong, naming the key.
        reason: String,
    },
}

const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
const CLASSES: [&str; 3] = ["health", "api", "reports"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    version: serde_yaml_ng::Value,
    service: Option<String>,
    #[allow(dead_code)]
    window_days: Option<u32>,
    slos: Vec<RawSlo>,
    // Informative only: never load-tested.
    #[allow(dead_code)]
    external: Option<serde_yaml_ng::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlo {
    name: String,
    class: String,
    #[allow(dead_code)]
    description: Option<String>,
    endpoints: Vec<RawEndpoint>,
    availability: f64,
    latency_ms: BTreeMap<String, f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEndpoint {
    method: String,
    path: String,
    body: Option<serde_json::Value>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

/// Reads and validates an SLO file.
///
/// # Errors
///
/// [`SloError::Read`] when the file cannot be read, [`SloError::Invalid`] naming the first
/// problem when it is not a valid version 1 SLO file.
pub fn load(path: &Path) -> Result<SloFile, SloError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| SloError::Read {
        path: shown.clone(),
        source,
    })?;
    parse(&text).map_err(|reason| SloError::Invalid {
        path: shown,
        reason,
    })
}

/// Parses and validates the text of an SLO file.
///
/// # Errors
///
/// A message naming the first problem found.
pub fn parse(text: &str) -> Result<SloFile, String> {
    let raw: RawFile = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
    if raw.version.as_u64() != Some(1) {
        return Err(format!(
            "version must be 1, got {}",
            yaml_inline(&raw.version)
        ));
    }
    if raw.slos.is_empty() {
        return Err("slos must list at least one SLO".into());
    }
    let mut names = std::collections::HashSet::new();
    let slos = raw
        .slos
        .into_iter()
        .enumerate()
        .map(|(i, slo)| {
            let at = format!("slos[{i}] ({})", slo.name);
            if !valid_name(&slo.name) {
                return Err(format!("{at}: name must match ^[a-z0-9][a-z0-9_-]*$"));
            }
            if !names.insert(slo.name.clone()) {
                return Err(format!("{at}: name is used twice"));
            }
            validate_slo(slo, &at)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SloFile {
        service: raw.service,
        slos,
    })
}

fn validate_slo(slo: RawSlo, at: &str) -> Result<Slo, String> {
    if !CLASSES.contains(&slo.class.as_str()) {
        return Err(format!(
            "{at}: class must be one of {}, got '{}'",
            CLASSES.join(", "),
            slo.class
        ));
    }
    if !(slo.availability > 0.0 && slo.availability < 1.0) {
        return Err(format!(
            "{at}: availability must be strictly between 0 and 1, got {}",
            slo.availability
        ));
    }
    if slo.endpoints.is_empty() {
        return Err(format!("{at}: endpoints must list at least one endpoint"));
    }
    if slo.latency_ms.is_empty() {
        return Err(format!(
            "{at}: latency_ms must give at least one of p50, p90, p95, p99, p999"
        ));
    }
    let mut latency_ms = Vec::new();
    for (key, value) in &slo.latency_ms {
        let percentile = Percentile::from_key(key).ok_or_else(|| {
            format!("{at}: latency_ms.{key} is not one of p50, p90, p95, p99, p999")
        })?;
        if !(value.is_finite() && *value > 0.0) {
            return Err(format!(
                "{at}: latency_ms.{key} must be a positive number of milliseconds, got {value}"
            ));
        }
        latency_ms.push((percentile, *value));
    }
    latency_ms.sort_by_key(|(p, _)| *p);
    let endpoints = slo
        .endpoints
        .into_iter()
        .enumerate()
        .map(|(j, e)| validate_endpoint(e, &format!("{at}: endpoints[{j}]")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Slo {
        name: slo.name,
        class: slo.class,
        endpoints,
        availability: slo.availability,
        latency_ms,
    })
}

fn validate_endpoint(raw: RawEndpoint, at: &str) -> Result<SloEndpoint, String> {
    if !METHODS.contains(&raw.method.as_str()) {
        return Err(format!(
            "{at}: method must be one of {}, got '{}'",
            METHODS.join(", "),
            raw.method
        ));
    }
    let method =
        Method::from_bytes(raw.method.as_bytes()).map_err(|e| format!("{at}: method: {e}"))?;
    if raw.path.contains(['{', '}']) {
        return Err(format!(
            "{at}: path '{}' is a route template; give a concrete request target",
            raw.path
        ));
    }
    let path = crate::cli::parse_endpoint(&raw.path).map_err(|e| format!("{at}: path {e}"))?;
    if let Some(body) = &raw.body {
        if !(body.is_object() || body.is_array()) {
            return Err(format!("{at}: body must be a JSON object or array"));
        }
    }
    let headers = raw
        .headers
        .into_iter()
        .map(|(name, value)| {
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("{at}: headers: '{name}' is not a valid header name"))?;
            let value = HeaderValue::from_str(&value).map_err(|_| {
                format!("{at}: headers.{name}: the value is not a valid header value")
            })?;
            Ok((header, value))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(SloEndpoint {
        method,
        path,
        body: raw.body,
        headers,
    })
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn yaml_inline(value: &serde_yaml_ng::Value) -> String {
    serde_yaml_ng::to_string(value)
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "?".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_projects_slo_file() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/observability/slos.yaml");
        let file = load(&path).unwrap();
        assert_eq!(file.service.as_deref(), Some("wwmaa-backend"));
        let health = &file.slos[0];
        assert_eq!(health.name, "health");
        assert_eq!(health.endpoints[0].path, "/health");
        assert_eq!(
            health.latency_ms,
            vec![(Percentile::P50, 10.0), (Percentile::P99, 100.0)]
        );
        let write = file.slos.iter().find(|s| s.name == "api-write").unwrap();
        assert_eq!(write.endpoints[0].method, Method::PATCH);
        assert!(write.endpoints[0].body.as_ref().unwrap().is_object());
    }

    fn minimal(slo: &str) -> String {
        format!("version: 1\nslos:\n  - {slo}\n")
    }

    #[test]
    fn rejects_what_the_schema_rejects() {
        let ok = "{name: a, class: api, endpoints: [{method: GET, path: /a}], availability: 0.9, latency_ms: {p99: 5}}";
        assert!(parse(&minimal(ok)).is_ok());
        let cases = [
            (ok.replace("0.9", "1.5"), "availability"),
            (ok.replace("p99", "p98"), "latency_ms.p98"),
            (ok.replace("{p99: 5}", "{}"), "latency_ms"),
            (ok.replace("p99: 5", "p99: -1"), "latency_ms.p99"),
            (ok.replace("GET", "FETCH"), "method"),
            (ok.replace("path: /a", "path: a"), "path"),
            (
                ok.replace("path: /a", "path: \"/a/{id}\""),
                "route template",
            ),
            (ok.replace("class: api", "class: misc"), "class"),
            (ok.replace("name: a", "name: A"), "name"),
            (ok.replace("[{method: GET, path: /a}]", "[]"), "endpoints"),
            (ok.replace("availability", "availabilty"), "availabilty"),
        ];
        for (text, expected) in cases {
            let err = parse(&minimal(&text)).unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
        }
        assert!(parse("version: 2\nslos: []\n")
            .unwrap_err()
            .contains("version"));
        assert!(parse("slos: []\n").unwrap_err().contains("version"));
        assert!(parse("version: 1\nslos: []\n")
            .unwrap_err()
            .contains("at least one"));
        assert!(parse(": : :").is_err());
    }
}
