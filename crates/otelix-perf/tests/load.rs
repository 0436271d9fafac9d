//! otelix-perf against a local actix-web server: counts, status codes, percentiles, SLO
//! verdicts, slowest requests and open-loop latency.
mod common;

use std::sync::atomic::Ordering::SeqCst;

use common::{endpoint, perf, read_report, start_server, stderr, stdout, write_file};

#[test]
fn counts_and_status_codes_match_what_the_server_saw() {
    let server = start_server();
    let dir = tempfile::tempdir().unwrap();
    let report_path = dir.path().join("report.json");
    let output = perf(&[
        "--base-url",
        &server.base_url,
        "--endpoint",
        "/ok",
        "--endpoint",
        "/missing",
        "--endpoint",
        "/fail",
        "--requests",
        "31",
        "--concurrency",
        "3",
        "--output",
        report_path.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = read_report(&report_path);
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["parameters"]["requests"], 31);
    assert_eq!(report["parameters"]["mode"], "closed_loop");
    assert_eq!(report["slo_passed"], serde_json::Value::Null);

    let seen = &server.seen;
    let (ok, missing, fail) = (
        seen.ok.load(SeqCst),
        seen.missing.load(SeqCst),
        seen.fail.load(SeqCst),
    );
    assert_eq!(ok + missing + fail, 31);
    assert_eq!(report["totals"]["requests"], 31);
    assert_eq!(report["totals"]["responses"], 31);

    let e = endpoint(&report, "GET /ok");
    assert_eq!(e["requests"], ok);
    assert_eq!(e["status_codes"], serde_json::json!({"200": ok}));
    assert_eq!(e["errors"]["http_4xx"], 0);

    let e = endpoint(&report, "GET /missing");
    assert_eq!(e["requests"], missing);
    assert_eq!(e["status_codes"], serde_json::json!({"404": missing}));
    assert_eq!(e["errors"]["http_4xx"], missing);

    let e = endpoint(&report, "GET /fail");
    assert_eq!(e["requests"], fail);
    assert_eq!(e["status_codes"], serde_json::json!({"500": fail}));
    assert_eq!(e["errors"]["http_5xx"], fail);
    assert_eq!(report["totals"]["errors"]["http_5xx"], fail);

    // Round-robin over the three endpoints.
    assert_eq!((ok, missing, fail), (11, 10, 10));
    let text = stdout(&output);
    assert!(
        text.contains("GET /missing") && text.contains("404:10"),
        "{text}"
    );
}

#[test]
fn a_delayed_route_shows_in_its_percentiles_only() {
    let server = start_server();
    let dir = tempfile::tempdir().unwrap();
    let report_path = dir.path().join("report.json");
    let output = perf(&[
        "--base-url",
        &server.base_url,
        "--endpoint",
        "/ok",
        "--endpoint",
        "/slow",
        "--requests",
        "40",
        "--concurrency",
        "4",
        "--output",
        report_path.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = read_report(&report_path);
    let slow = endpoint(&report, "GET /slow")["latency_ms"]["p50"]
        .as_f64()
        .unwrap();
    let fast = endpoint(&report, "GET /ok")["latency_ms"]["p50"]
        .as_f64()
        .unwrap();
    assert!(slow >= 100.0, "slow p50 {slow} ms");
    assert!(fast < 50.0, "fast p50 {fast} ms");
    assert_eq!(server.seen.slow.load(SeqCst), 20);
}

const SLOS: &str = "version: 1
service: test
slos:
  - name: slow
    class: api
    endpoints: [{method: GET, path: /slow}]
    availability: 0.99
    latency_ms: {p99: 1}
  - name: fast
    class: health
    endpoints: [{method: GET, path: /ok}]
    availability: 0.5
    latency_ms: {p50: 5000, p99: 10000}
";

#[test]
fn an_slo_that_cannot_hold_exits_1_and_one_that_holds_exits_0() {
    let server = start_server();
    let dir = tempfile::tempdir().unwrap();
    let slo_path = write_file(&dir, "slos.yaml", SLOS);
    let report_path = dir.path().join("report.json");

    // Without --endpoint, the endpoints come from the SLO file.
    let output = perf(&[
        "--base-url",
        &server.base_url,
        "--slo",
        &slo_path,
        "--requests",
        "10",
        "--output",
        report_path.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(server.seen.slow.load(SeqCst), 5);
    assert_eq!(server.seen.ok.load(SeqCst), 5);
    let text = stdout(&output);
    assert!(text.contains("FAIL slow"), "{text}");
    assert!(text.contains("PASS fast"), "{text}");
    let report = read_report(&report_path);
    assert_eq!(report["slo_passed"], false);
    let slos = report["slos"].as_array().unwrap();
    assert_eq!(slos[0]["name"], "slow");
    assert_eq!(slos[0]["passed"], false);
    assert_eq!(slos[0]["availability"]["passed"], true);
    assert_eq!(slos[0]["latency_ms"][0]["percentile"], "p99");
    assert_eq!(slos[0]["latency_ms"][0]["passed"], false);
    assert_eq!(slos[1]["passed"], true);
    assert_eq!(endpoint(&report, "GET /slow")["slo"], "slow");

    // An --endpoint is checked against the SLO entry listing it.
    let output = perf(&[
        "--base-url",
        &server.base_url,
        "--slo",
        &slo_path,
        "--endpoint",
        "/ok",
        "--requests",
        "5",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("All SLOs hold"));
}

#[test]
fn availability_counts_5xx_as_failures() {
    let server = start_server();
    let dir = tempfile::tempdir().unwrap();
    let slo_path = write_file(
        &dir,
        "slos.yaml",
        "version: 1\nslos:\n  - {name: f, class: api, endpoints: [{method: GET, path: /fail}, {method: GET, path: /ok}], availability: 0.9, latency_ms: {p99: 10000}}\n",
    );
    let report_path = dir.path().join("report.json");
    let output = perf(&[
        "--base-url",
        &server.base_url,
        "--slo",
        &slo_path,
        "--requests",
        "10",
        "--output",
        report_path.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report = read_report(&report_path);
    let slo = &report["slos"][0];
    assert_eq!(slo["requests"], 10);
    assert_eq!(slo["availability"]["observed"], 0.5);
    assert_eq!(slo["availability"]["passed"], false);
    assert_eq!(slo["latency_ms"][0]["passed"], true);
}

#[test]
fn slowest_requests_carry_ids_the_server_issued() {
    let server = start_server();
    let dir = tempfile::tempdir().unwrap();
    let report_path = dir.path().join("report.json");
    let output = perf(&[
        "--base-url",
        &server.base_url,
        "--endpoint",
        "/ok",
        "--endpoint",
        "/slow",
        "--requests",
        "20",
        "--concurrency",
        "2",
        "--slowest",
        "5",
        "--output",
        report_path.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = read_report(&report_path);
    let slowest = report["slowest"].as_array().unwrap();
    assert_eq!(slowest.len(), 5);
    let issued = server.seen.issued_ids.lock().unwrap();
    let mut previous = f64::INFINITY;
    for entry in slowest {
        let id = entry["request_id"].as_str().unwrap();
        assert!(issued.contains(id), "{id} was not issued by the server");
        assert_eq!(entry["status"], 200);
        let latency = entry["latency_ms"].as_f64().unwrap();
        assert!(
            latency <= previous,
            "{latency} after {previous}: not slowest first"
        );
        if entry["endpoint"] == "GET /slow" {
            assert!(latency >= 100.0, "{entry}");
        }
        previous = latency;
    }
    // A fast route could only outrun a 100 ms one on a badly overloaded machine.
    assert_eq!(slowest[0]["endpoint"], "GET /slow");
    let first = slowest[0]["request_id"].as_str().unwrap();
    assert!(stdout(&output).contains(first), "the table lists the IDs");
}

#[test]
fn slo_endpoints_are_sent_with_their_method_and_json_body() {
    let server = start_server();
    let dir = tempfile::tempdir().unwrap();
    let slo_path = write_file(
        &dir,
        "slos.yaml",
        "version: 1\nslos:\n  - name: write\n    class: api\n    endpoints:\n      - method: PATCH\n        path: /items/2\n        body: {status: active, tier: standard}\n    availability: 0.9\n    latency_ms: {p99: 10000}\n",
    );
    let output = perf(&[
        "--base-url",
        &server.base_url,
        "--slo",
        &slo_path,
        "--requests",
        "3",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let bodies = server.seen.patch_bodies.lock().unwrap();
    assert_eq!(bodies.len(), 3);
    for (content_type, body) in bodies.iter() {
        assert_eq!(content_type, "application/json");
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"status": "active", "tier": "standard"})
        );
    }
}

#[test]
fn without_endpoint_or_slo_file_it_tests_health() {
    let server = start_server();
    let output = perf(&[
        "--base-url",
        &server.base_url,
        "--requests",
        "7",
        "--slowest",
        "0",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(server.seen.health.load(SeqCst), 7);
    assert!(!stdout(&output).contains("Slowest requests"));
}

#[test]
fn a_request_over_the_timeout_is_a_timeout_error() {
    let server = start_server();
    let dir = tempfile::tempdir().unwrap();
    let report_path = dir.path().join("report.json");
    let output = perf(&[
        "--base-url",
        &server.base_url,
        "--endpoint",
        "/slow",
        "--requests",
        "4",
        "--concurrency",
        "2",
        "--timeout",
        "20ms",
        "--output",
        report_path.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = read_report(&report_path);
    let e = endpoint(&report, "GET /slow");
    assert_eq!(e["errors"]["timeout"], 4);
    assert_eq!(e["responses"], 0);
    assert_eq!(e["latency_ms"], serde_json::Value::Null);
    assert!(e["error_examples"]["timeout"]
        .as_str()
        .unwrap()
        .contains("20ms"));
}

#[test]
fn open_loop_latency_includes_the_wait_behind_a_stalled_server() {
    // The first /stall request takes a second; at 100 requests/s on one connection the next
    // ones were due while it stalled, and their latency counts from when they were due.
    let server = start_server();
    let dir = tempfile::tempdir().unwrap();
    let report_path = dir.path().join("open.json");
    let output = perf(&[
        "--base-url",
        &server.base_url,
        "--endpoint",
        "/stall",
        "--rate",
        "100",
        "--concurrency",
        "1",
        "--requests",
        "50",
        "--output",
        report_path.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = read_report(&report_path);
    assert_eq!(report["parameters"]["mode"], "open_loop");
    let latency = &endpoint(&report, "GET /stall")["latency_ms"];
    assert!(latency["max"].as_f64().unwrap() >= 900.0, "{latency}");
    // 49 of 50 requests waited behind the stall: without the correction only one would be slow.
    assert!(latency["p50"].as_f64().unwrap() >= 300.0, "{latency}");
    assert_eq!(server.seen.stall.load(SeqCst), 50);

    // The same stall in closed loop hides in a single slow request.
    let server = start_server();
    let report_path = dir.path().join("closed.json");
    let output = perf(&[
        "--base-url",
        &server.base_url,
        "--endpoint",
        "/stall",
        "--concurrency",
        "1",
        "--requests",
        "50",
        "--output",
        report_path.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = read_report(&report_path);
    let latency = &endpoint(&report, "GET /stall")["latency_ms"];
    assert!(latency["max"].as_f64().unwrap() >= 900.0, "{latency}");
    assert!(latency["p50"].as_f64().unwrap() < 300.0, "{latency}");
}

#[test]
fn open_loop_with_a_duration_reports_what_it_could_not_send() {
    // One connection to a route that takes 100 ms cannot carry 200 requests/s.
    let server = start_server();
    let dir = tempfile::tempdir().unwrap();
    let report_path = dir.path().join("report.json");
    let output = perf(&[
        "--base-url",
        &server.base_url,
        "--endpoint",
        "/slow",
        "--rate",
        "200",
        "--duration",
        "1s",
        "--concurrency",
        "1",
        "--output",
        report_path.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = read_report(&report_path);
    let sent = report["totals"]["requests"].as_u64().unwrap();
    assert_eq!(sent, server.seen.slow.load(SeqCst));
    assert_eq!(report["totals"]["not_sent"].as_u64().unwrap(), 200 - sent);
    assert!(sent < 100, "{sent}");
    assert!(stdout(&output).contains("were not sent"));
}
