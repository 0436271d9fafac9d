//! Parsers for the settings' text, and checks for the same values set in code.
//!
//! Each returns `Err(expected)` with a short description of what would have been accepted, so
//! the caller can build an error naming the variable (or builder method), the offending value
//! and the accepted forms. The settings table names one parser (and, where a value set in
//! code needs one, one check) per row.

use std::path::PathBuf;
use std::time::Duration;

use super::types::Secret;

pub(super) fn bool(raw: &str) -> Result<bool, &'static str> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("true or false"),
    }
}

/// Milliseconds as a non-negative integer, as the OpenTelemetry specification defines
/// `OTEL_*_TIMEOUT`, `OTEL_*_INTERVAL` and `OTEL_BSP_*_DELAY`.
pub(super) fn millis(raw: &str) -> Result<Duration, &'static str> {
    raw.trim()
        .parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| "a whole number of milliseconds")
}

/// An OTLP metrics temporality preference, as the exporter specification names them.
pub(super) fn temporality(
    raw: &str,
) -> Result<opentelemetry_sdk::metrics::Temporality, &'static str> {
    use opentelemetry_sdk::metrics::Temporality;
    match raw.trim().to_ascii_lowercase().as_str() {
        "cumulative" => Ok(Temporality::Cumulative),
        "delta" => Ok(Temporality::Delta),
        "lowmemory" => Ok(Temporality::LowMemory),
        _ => Err("cumulative, delta or lowmemory"),
    }
}

pub(super) fn positive_millis(raw: &str) -> Result<Duration, &'static str> {
    match millis(raw) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err("a whole number of milliseconds greater than 0"),
    }
}

/// Seconds as a decimal number greater than 0, as in `SLOW_QUERY_THRESHOLD_SECONDS=0.5`.
pub(super) fn positive_seconds(raw: &str) -> Result<Duration, &'static str> {
    const EXPECTED: &str = "a number of seconds greater than 0, such as 1 or 0.25";
    match raw.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s < 1e9 => Ok(Duration::from_secs_f64(s)),
        _ => Err(EXPECTED),
    }
}

pub(super) fn whole_number(raw: &str) -> Result<u64, &'static str> {
    raw.trim()
        .parse::<u64>()
        .map_err(|_| "a whole number (0 or more)")
}

pub(super) fn whole_usize(raw: &str) -> Result<usize, &'static str> {
    raw.trim()
        .parse::<usize>()
        .map_err(|_| "a whole number (0 or more)")
}

pub(super) fn file_path(raw: &str) -> Result<PathBuf, &'static str> {
    if raw.trim().is_empty() || raw.ends_with('/') || raw.contains('\0') {
        return Err("a file path, such as ./logs/slow_queries.log");
    }
    Ok(PathBuf::from(raw))
}

pub(super) fn checked_file_path(path: PathBuf) -> Result<PathBuf, &'static str> {
    match path.to_str() {
        Some(text) => file_path(text),
        // A path that is not UTF-8 came from code, not from a variable: nothing to check.
        None => Ok(path),
    }
}

pub(super) fn positive_usize(raw: &str) -> Result<usize, &'static str> {
    match raw.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("a whole number greater than 0"),
    }
}

pub(super) fn ratio(raw: &str) -> Result<f64, &'static str> {
    raw.trim()
        .parse::<f64>()
        .map_err(|_| "a number from 0 to 1")
        .and_then(checked_ratio)
}

pub(super) fn checked_ratio(ratio: f64) -> Result<f64, &'static str> {
    if (0.0..=1.0).contains(&ratio) {
        Ok(ratio)
    } else {
        Err("a number from 0 to 1")
    }
}

pub(super) fn positive_duration(d: Duration) -> Result<Duration, &'static str> {
    if d.is_zero() {
        Err("a duration greater than 0")
    } else {
        Ok(d)
    }
}

pub(super) fn positive_count(n: usize) -> Result<usize, &'static str> {
    if n == 0 {
        Err("a whole number greater than 0")
    } else {
        Ok(n)
    }
}

/// A name such as `service.name`: anything but blank.
pub(super) fn name(raw: &str) -> Result<String, &'static str> {
    if raw.trim().is_empty() {
        Err("a non-empty name")
    } else {
        Ok(raw.to_owned())
    }
}

pub(super) fn owned_name(raw: String) -> Result<String, &'static str> {
    name(&raw)
}

/// An OTLP endpoint: an absolute `http` or `https` URL with a host and no query or fragment,
/// or, for gRPC, `host:port` without a scheme (which `OTEL_EXPORTER_OTLP_INSECURE` completes).
pub(super) fn endpoint(raw: &str) -> Result<String, &'static str> {
    const EXPECTED: &str = "an http:// or https:// URL with a host, such as http://localhost:4317 \
                            (or host:port for gRPC)";
    let trimmed = raw.trim();
    if !trimmed.contains("://") {
        // Read as if it had a scheme, and give it back without one.
        let url = url::Url::parse(&format!("http://{trimmed}")).map_err(|_| EXPECTED)?;
        let bare = url.host_str().is_some_and(|h| !h.is_empty())
            && url.port().is_some()
            && url.path() == "/"
            && url.query().is_none()
            && url.fragment().is_none()
            && url.username().is_empty();
        return match url.as_str().strip_prefix("http://") {
            Some(rest) if bare => Ok(rest.trim_end_matches('/').to_owned()),
            _ => Err(EXPECTED),
        };
    }
    let url = url::Url::parse(trimmed).map_err(|_| EXPECTED)?;
    let scheme_ok = matches!(url.scheme(), "http" | "https");
    let host_ok = url.host_str().is_some_and(|h| !h.is_empty());
    if !scheme_ok || !host_ok || url.query().is_some() || url.fragment().is_some() {
        return Err(EXPECTED);
    }
    // The URL's own serialisation: an internationalised host is punycode-encoded, which the
    // transports' URI parsers require.
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

pub(super) fn owned_endpoint(raw: String) -> Result<String, &'static str> {
    endpoint(&raw)
}

/// A socket address to listen on, such as `127.0.0.1:9464` or `[::1]:9464`.
pub(super) fn socket_addr(raw: &str) -> Result<std::net::SocketAddr, &'static str> {
    raw.trim()
        .parse()
        .map_err(|_| "an address with a port, such as 127.0.0.1:9464")
}

/// A URL path for an HTTP route: starts with `/`, visible ASCII, no query or fragment.
pub(super) fn route_path(raw: &str) -> Result<String, &'static str> {
    const EXPECTED: &str = "a path starting with '/', such as /metrics";
    let ok = raw.starts_with('/')
        && raw.len() <= 256
        && raw
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'?' && b != b'#');
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(EXPECTED)
    }
}

pub(super) fn owned_route_path(raw: String) -> Result<String, &'static str> {
    route_path(&raw).map_err(|expected| {
        if url::Url::parse(&raw).is_ok() {
            // Before the builder's names followed the variables, `with_metrics_endpoint` was
            // the OTLP metrics URL: say where that went.
            "a path starting with '/', such as /metrics (the OTLP metrics URL is \
             with_otlp_metrics_endpoint)"
        } else {
            expected
        }
    })
}

/// A comma-separated `key=value` list with percent-encoded values, the format of
/// `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_EXPORTER_OTLP_HEADERS` (W3C Baggage octets).
pub(super) fn key_values(raw: &str) -> Result<Vec<(String, String)>, &'static str> {
    const EXPECTED: &str = "a comma-separated list of key=value pairs";
    let mut out = Vec::new();
    for member in raw.split(',') {
        let member = member.trim();
        if member.is_empty() {
            continue;
        }
        let (key, value) = member.split_once('=').ok_or(EXPECTED)?;
        let key = key.trim();
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(EXPECTED);
        }
        let value = percent_encoding::percent_decode_str(value.trim())
            .decode_utf8()
            .map_err(|_| "a comma-separated list of key=value pairs with UTF-8 values")?;
        out.push((key.to_owned(), value.into_owned()));
    }
    Ok(out)
}

/// `OTEL_EXPORTER_OTLP_HEADERS`: a `key=value` list whose keys and values are valid HTTP
/// header names and values.
pub(super) fn headers(raw: &str) -> Result<Vec<(String, String)>, &'static str> {
    let pairs = key_values(raw)?;
    for (key, value) in &pairs {
        valid_header(key, value)?;
    }
    Ok(pairs)
}

pub(super) fn valid_header(key: &str, value: &str) -> Result<(), &'static str> {
    let valid = http::HeaderName::from_bytes(key.as_bytes()).is_ok()
        && http::HeaderValue::from_str(value).is_ok();
    if valid {
        Ok(())
    } else {
        Err("valid HTTP header names and values")
    }
}

/// What an error shows of a secret: its length only.
pub(super) fn hidden(secret: &str) -> String {
    format!("({} characters, hidden)", secret.chars().count())
}

/// What an error shows of a header list: the names, each value replaced, so a malformed entry
/// can be found without an API key reaching a log.
pub(super) fn header_keys(raw: &str) -> String {
    raw.split(',')
        .map(|member| match member.split_once('=') {
            Some((key, _)) => format!("{}=(hidden)", key.trim()),
            None => "(an entry without '=', hidden)".to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// A bearer token: 16 to 256 visible ASCII characters (RFC 6750's token68 and more).
pub(super) fn bearer_token(raw: &str) -> Result<Secret, &'static str> {
    let token = raw.trim();
    if (16..=256).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(Secret(token.to_owned()))
    } else {
        Err("16 to 256 visible ASCII characters, without spaces")
    }
}

pub(super) fn checked_bearer_token(token: Secret) -> Result<Secret, &'static str> {
    bearer_token(&token.0)
}

/// `tracing` filter directives, as `RUST_LOG` holds them.
pub(super) fn filter(raw: &str) -> Result<String, &'static str> {
    tracing_subscriber::EnvFilter::builder()
        .parse(raw)
        .map(|_| raw.to_owned())
        .map_err(|_| "tracing filter directives, such as info or info,my_crate=debug")
}

pub(super) fn owned_filter(raw: String) -> Result<String, &'static str> {
    filter(&raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bools_accept_the_usual_spellings_and_nothing_else() {
        for t in ["true", "TRUE", "1", "yes", "on", " True "] {
            assert_eq!(bool(t), Ok(true), "{t}");
        }
        for f in ["false", "0", "no", "off", "FALSE"] {
            assert_eq!(bool(f), Ok(false), "{f}");
        }
        for bad in ["maybe", "", "2", "tru"] {
            assert!(bool(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn endpoints_must_be_http_urls_with_a_host() {
        assert_eq!(
            endpoint("http://collector:4317/").as_deref(),
            Ok("http://collector:4317")
        );
        assert!(endpoint("https://otel.example.com").is_ok());
        assert_eq!(
            endpoint("http://bücher.example:4317").as_deref(),
            Ok("http://xn--bcher-kva.example:4317")
        );
        assert_eq!(endpoint("collector:4317").as_deref(), Ok("collector:4317"));
        for bad in [
            "collector",
            "collector:4317/path",
            "localhost",
            "ftp://x",
            "http://",
            "http://h:99999",
            "http://h/?a=b",
            "",
        ] {
            assert!(endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn key_values_decode_percent_encoding_and_reject_garbage() {
        assert_eq!(
            key_values("a=1, b = x%20y ,,c=").unwrap_or_default(),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y".into()),
                ("c".into(), String::new())
            ]
        );
        assert!(key_values("novalue").is_err());
        assert!(key_values("=x").is_err());
        assert!(key_values("a=%ff").is_err());
    }

    #[test]
    fn numbers_are_bounded() {
        assert_eq!(ratio("0.25"), Ok(0.25));
        assert!(ratio("2").is_err());
        assert!(ratio("-0.1").is_err());
        assert!(ratio("NaN").is_err());
        assert_eq!(millis("1500"), Ok(Duration::from_millis(1500)));
        assert!(millis("1.5s").is_err());
        assert!(positive_millis("0").is_err());
        assert!(positive_usize("0").is_err());
        assert_eq!(positive_usize("512"), Ok(512));
    }

    #[test]
    fn seconds_and_paths() {
        assert_eq!(positive_seconds("0.25"), Ok(Duration::from_millis(250)));
        assert_eq!(positive_seconds("2"), Ok(Duration::from_secs(2)));
        for bad in ["0", "-1", "inf", "NaN", "1s", ""] {
            assert!(positive_seconds(bad).is_err(), "{bad}");
        }
        assert!(file_path("logs/").is_err());
        assert!(file_path("/var/log/x.log").is_ok());
        assert_eq!(whole_number("0"), Ok(0));
        assert!(whole_number("-3").is_err());
    }

    #[test]
    fn route_paths() {
        assert!(route_path("/metrics").is_ok());
        assert!(route_path("metrics").is_err());
        assert!(route_path("/a b").is_err());
        assert!(route_path("/m?x=1").is_err());
    }
}
