//! Bad input: exit code 2 and a message naming the problem.
mod common;

use common::{perf, start_server, stderr, write_file};

fn assert_usage_error(args: &[&str], expected: &[&str]) {
    let output = perf(args);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {message}");
    for text in expected {
        assert!(
            message.contains(text),
            "{args:?}: expected {text:?} in: {message}"
        );
    }
}

#[test]
fn an_unreachable_base_url_is_named() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    assert_usage_error(
        &["--base-url", &url, "--requests", "3"],
        &["cannot connect to --base-url", &url],
    );
}

#[test]
fn malformed_values_are_named() {
    let server = start_server();
    let url = server.base_url.as_str();
    let cases: &[(&[&str], &[&str])] = &[
        (&["--base-url", "not a url"], &["--base-url", "not a URL"]),
        (
            &["--base-url", "https://127.0.0.1:1"],
            &["--base-url", "https is not supported"],
        ),
        (
            &["--base-url", url, "--requests", "0"],
            &["--requests", "positive"],
        ),
        (
            &["--base-url", url, "--requests", "-3"],
            &["--requests", "positive"],
        ),
        (
            &["--base-url", url, "--concurrency", "0"],
            &["--concurrency", "positive"],
        ),
        (
            &["--base-url", url, "--concurrency", "-1"],
            &["--concurrency", "positive"],
        ),
        (&["--base-url", url, "--rate", "0"], &["--rate", "positive"]),
        (
            &["--base-url", url, "--rate", "-5"],
            &["--rate", "positive"],
        ),
        (
            &["--base-url", url, "--duration", "0s"],
            &["--duration", "greater than zero"],
        ),
        (
            &["--base-url", url, "--duration", "soon"],
            &["--duration", "not a duration"],
        ),
        (
            &["--base-url", url, "--timeout", "-1s"],
            &["--timeout", "greater than zero"],
        ),
        (
            &["--base-url", url, "--duration", "-3s"],
            &["--duration", "greater than zero"],
        ),
        (
            &["--base-url", url, "--requests", "5", "--duration", "2s"],
            &["--requests", "--duration", "cannot be used with"],
        ),
        (
            &["--base-url", url, "--endpoint", "health"],
            &["--endpoint", "must start with '/'"],
        ),
        (&["--base-url", url, "--slowest", "-2"], &["--slowest"]),
    ];
    for (args, expected) in cases {
        assert_usage_error(args, expected);
    }
}

#[test]
fn unreadable_and_invalid_files_are_named() {
    let server = start_server();
    let url = server.base_url.as_str();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.yaml").display().to_string();
    assert_usage_error(
        &["--base-url", url, "--slo", &missing],
        &["cannot read SLO file", &missing],
    );

    let invalid = write_file(
        &dir,
        "invalid.yaml",
        "version: 1\nslos:\n  - {name: a, class: api, endpoints: [{method: GET, path: /ok}], availability: 1.5, latency_ms: {p99: 5}}\n",
    );
    assert_usage_error(
        &["--base-url", url, "--slo", &invalid],
        &["invalid SLO file", &invalid, "availability"],
    );

    let not_yaml = write_file(&dir, "broken.yaml", "version: [1\n");
    assert_usage_error(
        &["--base-url", url, "--slo", &not_yaml],
        &["invalid SLO file", &not_yaml],
    );

    let body = dir.path().join("body.json").display().to_string();
    assert_usage_error(
        &["--base-url", url, "--endpoint", "/ok", "--body", &body],
        &["cannot read body file", &body],
    );

    let slo = write_file(
        &dir,
        "ok.yaml",
        "version: 1\nslos:\n  - {name: a, class: api, endpoints: [{method: GET, path: /ok}], availability: 0.5, latency_ms: {p99: 5000}}\n",
    );
    assert_usage_error(
        &["--base-url", url, "--slo", &slo, "--method", "POST"],
        &["--method and --body apply to --endpoint"],
    );

    let output = dir
        .path()
        .join("no-such-dir")
        .join("report.json")
        .display()
        .to_string();
    assert_usage_error(
        &["--base-url", url, "--requests", "1", "--output", &output],
        &["cannot write the report", &output],
    );
}
