//! Command-line arguments and the parsers that reject bad values with a message naming them.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use http::Method;
use url::Url;

/// Requests sent when neither `--requests` nor `--duration` is given.
pub const DEFAULT_REQUESTS: u64 = 100;

const MAX_DURATION_SECONDS: f64 = 365.0 * 86_400.0;

/// Load and SLO test for an HTTP service: sends requests, measures latency percentiles and
/// errors per endpoint, checks them against the objectives of an SLO file, and lists the
/// slowest requests with their `X-Request-ID` (the trace ID to open in Jaeger).
///
/// Exit code: 0 when every SLO holds (or no SLO file was given), 1 when one fails,
/// 2 on a usage error (bad option, unreadable file, unreachable service).
#[derive(Debug, Clone, Parser)]
#[command(name = "otelix-perf", version, about)]
pub struct Args {
    /// Base URL of the service (http only), such as http://localhost:8000. A path in it is
    /// prefixed to every endpoint.
    #[arg(long, value_name = "URL", value_parser = parse_base_url)]
    pub base_url: Url,

    /// Request target to test: a path with an optional query string. Repeat for several.
    /// Default: every endpoint of the --slo file, or /health without one.
    #[arg(long = "endpoint", value_name = "PATH", value_parser = parse_endpoint)]
    pub endpoints: Vec<String>,

    /// Total number of requests, spread round-robin over the endpoints [default: 100].
    #[arg(
        long,
        value_name = "N",
        value_parser = parse_positive_u64,
        allow_negative_numbers = true,
        conflicts_with = "duration"
    )]
    pub requests: Option<u64>,

    /// Run for this long instead of a request count: 30s, 500ms, 2m, 1h (a bare number is
    /// seconds).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true)]
    pub duration: Option<Duration>,

    /// Connections, each with at most one request in flight. Closed loop: each sends its next
    /// request when the previous one is done. With --rate: the bound on requests in flight.
    #[arg(
        long,
        short = 'c',
        value_name = "C",
        default_value_t = 10,
        value_parser = parse_positive_usize,
        allow_negative_numbers = true
    )]
    pub concurrency: usize,

    /// Open loop: send R requests per second in total, at a constant arrival rate. Latency is
    /// measured from each request's intended send time, so queueing behind a slow server
    /// shows (no coordinated omission).
    #[arg(long, value_name = "R", value_parser = parse_positive_rate, allow_negative_numbers = true)]
    pub rate: Option<f64>,

    /// HTTP method for the --endpoint requests [default: GET].
    #[arg(long, value_name = "M", value_parser = parse_method)]
    pub method: Option<Method>,

    /// File whose content is the body of the --endpoint requests (sent as application/json
    /// when it is JSON, application/octet-stream otherwise).
    #[arg(long, value_name = "FILE")]
    pub body: Option<PathBuf>,

    /// SLO file (docs/observability/slos.yaml format) to check the results against, and the
    /// source of the default endpoints. No SLO file is read unless this is given.
    #[arg(long, value_name = "FILE")]
    pub slo: Option<PathBuf>,

    /// Write the JSON report here (schema in the crate's README).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// How many of the slowest requests to list with their X-Request-ID (0: none).
    #[arg(long, value_name = "K", default_value_t = 10, value_parser = parse_count, allow_negative_numbers = true)]
    pub slowest: usize,

    /// Time allowed for one request (connect, send, response and body); a request that takes
    /// longer counts as a timeout error.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration, allow_hyphen_values = true)]
    pub timeout: Duration,
}

/// Parses an `http://` base URL with a host.
fn parse_base_url(value: &str) -> Result<Url, String> {
    let url =
        Url::parse(value).map_err(|e| format!("not a URL ({e}); expected http://host:port"))?;
    match url.scheme() {
        "http" => {}
        "https" => return Err("https is not supported; use an http:// URL".into()),
        other => {
            return Err(format!(
                "scheme '{other}' is not supported; expected http://host:port"
            ))
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host; expected http://host:port".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("the base URL must not have a query or fragment; put it in --endpoint".into());
    }
    Ok(url)
}

/// Checks that an endpoint is an origin-form request target.
pub(crate) fn parse_endpoint(value: &str) -> Result<String, String> {
    if !value.starts_with('/') {
        return Err(format!(
            "'{value}' must start with '/' (a path with an optional query)"
        ));
    }
    if value.chars().any(char::is_whitespace) {
        return Err(format!("'{value}' contains whitespace"));
    }
    http::uri::PathAndQuery::try_from(value)
        .map_err(|e| format!("'{value}' is not a valid request target: {e}"))?;
    Ok(value.to_owned())
}

fn parse_positive_u64(value: &str) -> Result<u64, String> {
    match value.trim().parse::<i128>() {
        Ok(n) if (1..=i128::from(u64::MAX)).contains(&n) => {
            u64::try_from(n).map_err(|_| format!("{value} is too large"))
        }
        Ok(_) => Err(format!("must be a positive whole number, got {value}")),
        Err(_) => Err(format!("'{value}' is not a whole number")),
    }
}

fn parse_positive_usize(value: &str) -> Result<usize, String> {
    let n = parse_positive_u64(value)?;
    usize::try_from(n).map_err(|_| format!("{value} is too large"))
}

fn parse_count(value: &str) -> Result<usize, String> {
    match value.trim().parse::<i128>() {
        Ok(n) if n >= 0 => usize::try_from(n).map_err(|_| format!("{value} is too large")),
        Ok(_) => Err(format!("must not be negative, got {value}")),
        Err(_) => Err(format!("'{value}' is not a whole number")),
    }
}

fn parse_positive_rate(value: &str) -> Result<f64, String> {
    match value.trim().parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        Ok(_) => Err(format!(
            "must be a positive number of requests per second, got {value}"
        )),
        Err(_) => Err(format!("'{value}' is not a number")),
    }
}

fn parse_method(value: &str) -> Result<Method, String> {
    Method::from_bytes(value.to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("'{value}' is not an HTTP method"))
}

/// Parses `30s`, `500ms`, `2m`, `1h`, `1.5s` or a bare number of seconds; zero and negative
/// values are rejected.
pub(crate) fn parse_duration(value: &str) -> Result<Duration, String> {
    let text = value.trim();
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("'{value}' is not a duration (examples: 30s, 500ms, 2m)"))?;
    let seconds_per_unit = match unit.trim() {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(format!(
                "unknown unit '{other}' in '{value}' (use ms, s, m or h)"
            ))
        }
    };
    let seconds = number * seconds_per_unit;
    if !seconds.is_finite() || seconds <= 0.0 {
        return Err(format!("must be greater than zero, got {value}"));
    }
    // Bounded so that adding it to the clock can never overflow.
    if seconds > MAX_DURATION_SECONDS {
        return Err(format!("'{value}' is too long (at most 365 days)"));
    }
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("'{value}' is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("0s")
            .unwrap_err()
            .contains("greater than zero"));
        assert!(parse_duration("-3s")
            .unwrap_err()
            .contains("greater than zero"));
        assert!(parse_duration("3 weeks")
            .unwrap_err()
            .contains("unknown unit"));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("9999999h").unwrap_err().contains("too long"));
    }

    #[test]
    fn counts_and_rates() {
        assert_eq!(parse_positive_u64("12").unwrap(), 12);
        assert!(parse_positive_u64("0").unwrap_err().contains("positive"));
        assert!(parse_positive_u64("-4").unwrap_err().contains("positive"));
        assert!(parse_positive_u64("x").is_err());
        assert!(parse_positive_rate("0").unwrap_err().contains("positive"));
        assert_eq!(parse_positive_rate("2.5").unwrap(), 2.5);
        assert_eq!(parse_count("0").unwrap(), 0);
        assert!(parse_count("-1").is_err());
    }

    #[test]
    fn urls_and_endpoints() {
        assert!(parse_base_url("http://127.0.0.1:8000").is_ok());
        assert!(parse_base_url("https://example.invalid")
            .unwrap_err()
            .contains("https"));
        assert!(parse_base_url("localhost:8000").is_err());
        assert!(parse_base_url("not a url")
            .unwrap_err()
            .contains("not a URL"));
        assert!(parse_endpoint("/api/members?status=active").is_ok());
        assert!(parse_endpoint("health")
            .unwrap_err()
            .contains("start with '/'"));
        assert_eq!(parse_method("patch").unwrap(), Method::PATCH);
    }

    #[test]
    fn both_limits_conflict() {
        let err = Args::try_parse_from([
            "otelix-perf",
            "--base-url",
            "http://x",
            "--requests",
            "5",
            "--duration",
            "1s",
        ])
        .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
    }
}
