//! Unit tests of the exposition parser, one module per concern; the sample pages and the
//! helpers they share live here.

mod errors;
mod pages;
mod properties;

use super::*;

/// What the Prometheus bridge serves: escaped help, `_total` counters, a histogram.
const PROMETHEUS_PAGE: &str = r#"# HELP otelix_cache_requests_total Cache requests by result, with a \\ and a\nnewline.
# TYPE otelix_cache_requests_total counter
otelix_cache_requests_total{cache_name="members",cache_result="hit",otel_scope_name="otelix"} 3
otelix_cache_requests_total{cache_name="members",cache_result="miss",otel_scope_name="otelix"} 1
# HELP http_server_request_duration_seconds Duration of HTTP server requests.
# TYPE http_server_request_duration_seconds histogram
http_server_request_duration_seconds_bucket{http_route="/users/{id}",le="0.005"} 0
http_server_request_duration_seconds_bucket{http_route="/users/{id}",le="+Inf"} 2
http_server_request_duration_seconds_sum{http_route="/users/{id}"} 0.024
http_server_request_duration_seconds_count{http_route="/users/{id}"} 2
# A comment that is neither HELP nor TYPE.

# TYPE target_info gauge
target_info{service_name="otelix-test"} 1
"#;

const OPENMETRICS_PAGE: &str = r#"# HELP jobs Runs with \"quotes\"\nand a line
# TYPE jobs counter
jobs_total{job_name="a\\b\"c"} 3
jobs_created{job_name="a\\b\"c"} 1764240000.5
# TYPE request_duration_seconds histogram
# UNIT request_duration_seconds seconds
request_duration_seconds_bucket{le="0.005"} 1 # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736"} 0.004 1764240000.123
request_duration_seconds_bucket{le="+Inf"} 2 # {trace_id="00f067aa0ba902b7"} 3
request_duration_seconds_sum 3.004
request_duration_seconds_count 2
# EOF
"#;

fn parse_ok(text: &str) -> Exposition {
    Exposition::parse(text).expect("a valid page")
}

fn error(text: &str, format: Format) -> ParseError {
    match Exposition::parse_as(text, format) {
        Ok(parsed) => panic!("accepted as {format:?}: {parsed:#?}"),
        Err(error) => error,
    }
}
