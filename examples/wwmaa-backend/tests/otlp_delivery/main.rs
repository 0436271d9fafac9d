//! OTLP delivery as production collectors ask for it, tested with the real binary against the
//! real OpenTelemetry Collector (`OTELCOL`, built from `tools/otelcol`), which forwards what it
//! accepts to the otelix testkit receiver where the test counts it. `scripts/integration.sh`
//! runs this file with `OTELIX_INTEGRATION=1`; without it every test here says it was skipped.
//!
//! - Over gRPC and over HTTP/protobuf, traces, metrics and logs arrive over TLS verified with a
//!   CA file, over mTLS, with a bearer token the collector checks, and gzip-compressed; a
//!   service without the client certificate, with a certificate of another CA, with a CA file
//!   that does not verify the server, or with a wrong token delivers nothing and says so in its
//!   log, naming the endpoint, while it keeps serving. Certificates are made for the run.
//! - Neither the token nor a private key appears in any output of the services or on
//!   `/metrics`.
//! - Under a steady 50 requests a second, a collector stopped for 10 seconds, and a receiver
//!   answering `UNAVAILABLE` or 503 with `Retry-After`, lose no request's SERVER span; a
//!   permanent refusal (`INVALID_ARGUMENT`, 400) is not retried and is counted in
//!   `otelix_exporter_dropped_total{reason="export_failed"}`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;

mod collector;
mod load;
mod resilience;
mod service;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use collector::{Collector, Listener};
use common::pki::Pki;
use common::{ok, Protocol};
use otelix_testkit::{Receiver, Signal};
use service::Service;

/// The binaries and values `scripts/integration.sh` passes.
pub(crate) struct Peers {
    pub(crate) otelcol: PathBuf,
}

impl Peers {
    pub(crate) fn from_env() -> Option<Peers> {
        if !common::integration_enabled() {
            return None;
        }
        Some(Peers {
            otelcol: common::integration_var("OTELCOL").into(),
        })
    }
}

/// A secret that can be found again in an output: a marker and a per-run nonce.
pub(crate) fn secret(kind: &str) -> String {
    format!("zq{kind}{}", common::unique_name("").replace('_', ""))
}

#[actix_web::test]
async fn secured_delivery_over_grpc() {
    secured_delivery(Protocol::Grpc).await;
}

#[actix_web::test]
async fn secured_delivery_over_http_protobuf() {
    secured_delivery(Protocol::HttpProtobuf).await;
}

#[actix_web::test]
async fn collector_outage_loses_no_span_over_grpc() {
    resilience::collector_outage(Protocol::Grpc).await;
}

#[actix_web::test]
async fn collector_outage_loses_no_span_over_http_protobuf() {
    resilience::collector_outage(Protocol::HttpProtobuf).await;
}

#[actix_web::test]
async fn unavailable_then_back_loses_no_span_over_grpc() {
    resilience::unavailable_then_back(Protocol::Grpc).await;
}

#[actix_web::test]
async fn service_unavailable_with_retry_after_loses_no_span_over_http_protobuf() {
    resilience::unavailable_then_back(Protocol::HttpProtobuf).await;
}

#[actix_web::test]
async fn invalid_argument_is_not_retried_and_counted_as_dropped_over_grpc() {
    resilience::permanent_refusal(Protocol::Grpc).await;
}

#[actix_web::test]
async fn bad_request_is_not_retried_and_counted_as_dropped_over_http_protobuf() {
    resilience::permanent_refusal(Protocol::HttpProtobuf).await;
}

/// Runs without peers: the run's certificates are made, written and read back as a TLS client
/// reads them, and a private key's content can be searched for.
#[test]
fn certificates_are_made_for_the_run() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let pki = Pki::make(dir.path());
    for ca in [&pki.ca, &pki.untrusted_ca] {
        let pem = std::fs::read(ca).expect("CA file");
        reqwest::Certificate::from_pem(&pem).expect("a CA certificate");
    }
    for pair in [&pki.server, &pki.client, &pki.untrusted_client] {
        reqwest::Identity::from_pem(&pair.identity_pem()).expect("a certificate and its key");
        assert_eq!(
            std::fs::read_to_string(&pair.key).expect("key file"),
            pair.key_pem
        );
        assert!(!pair.key_lines().is_empty(), "{}", pair.key_pem);
    }
    assert_ne!(pki.client.key_pem, pki.untrusted_client.key_pem);
}

/// What a case sets beside the endpoint, and whether its telemetry must arrive.
struct Case {
    name: &'static str,
    listener: Listener,
    env: Vec<(&'static str, String)>,
    delivers: bool,
}

fn path(path: &std::path::Path) -> String {
    path.display().to_string()
}

fn cases(pki: &Pki, token: &str, wrong_token: &str) -> Vec<Case> {
    let ca = ("OTEL_EXPORTER_OTLP_CERTIFICATE", path(&pki.ca));
    let client = |pair: &common::pki::Pair| {
        [
            ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", path(&pair.cert)),
            ("OTEL_EXPORTER_OTLP_CLIENT_KEY", path(&pair.key)),
        ]
    };
    let bearer = |token: &str| {
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            format!("Authorization=Bearer%20{token}"),
        )
    };
    let case = |name, listener, env: Vec<(&'static str, String)>, delivers| Case {
        name,
        listener,
        env,
        delivers,
    };
    let mut mtls = vec![ca.clone()];
    mtls.extend(client(&pki.client));
    let mut mtls_other_ca = vec![ca.clone()];
    mtls_other_ca.extend(client(&pki.untrusted_client));
    vec![
        case("tls", Listener::Tls, vec![ca.clone()], true),
        case("mtls", Listener::Mtls, mtls, true),
        case("bearer", Listener::Bearer, vec![bearer(token)], true),
        case(
            "gzip",
            Listener::Plain,
            vec![("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip".to_owned())],
            true,
        ),
        case(
            "mtls-without-client-cert",
            Listener::Mtls,
            vec![ca.clone()],
            false,
        ),
        case(
            "mtls-client-cert-of-other-ca",
            Listener::Mtls,
            mtls_other_ca,
            false,
        ),
        case(
            "tls-server-not-verified",
            Listener::Tls,
            vec![("OTEL_EXPORTER_OTLP_CERTIFICATE", path(&pki.untrusted_ca))],
            false,
        ),
        case(
            "wrong-token",
            Listener::Bearer,
            vec![bearer(wrong_token)],
            false,
        ),
    ]
}

async fn secured_delivery(protocol: Protocol) {
    let Some(peers) = Peers::from_env() else {
        return;
    };
    println!("\n== OTLP delivery over {} ==", protocol.otel_name());
    let dir = tempfile::tempdir().expect("temporary directory");
    let pki = Pki::make(dir.path());
    let (token, wrong_token) = (secret("token"), secret("wrongtoken"));
    let receiver = Receiver::start().expect("the testkit receiver starts");
    let collector = Collector::start(
        &peers.otelcol,
        dir.path(),
        &pki,
        &token,
        receiver.grpc_addr(),
    );
    preflight(&collector, &pki, &token).await;

    // Every case runs and is reported, so that one failure does not hide the others.
    let mut failures: Vec<String> = Vec::new();
    let prefix = protocol.otel_name().replace('/', "-");
    let mut services: Vec<(Service, bool)> = Vec::new();
    for case in cases(&pki, &token, &wrong_token) {
        let endpoint = collector.endpoint(case.listener, protocol);
        let name = format!("{prefix}-{}", case.name);
        match Service::try_start(dir.path(), &name, protocol, &endpoint, &case.env) {
            Ok(service) => services.push((service, case.delivers)),
            Err(error) => failures.push(error),
        }
    }
    // gzip straight to a receiver of its own, which sees how each request was encoded.
    let gzip_receiver = Receiver::start().expect("the testkit receiver starts");
    let gzip_endpoint = match protocol {
        Protocol::Grpc => gzip_receiver.grpc_endpoint(),
        Protocol::HttpProtobuf => gzip_receiver.http_endpoint(),
    };
    let gzip_direct = Service::try_start(
        dir.path(),
        &format!("{prefix}-gzip-direct"),
        protocol,
        &gzip_endpoint,
        &[("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip".to_owned())],
    )
    .map_err(|error| failures.push(error))
    .ok();
    for (service, _) in &services {
        service.exercise().await;
    }
    if let Some(service) = &gzip_direct {
        service.exercise().await;
    }

    // Those that deliver: each signal of each, within the wait.
    let deadline = Instant::now() + common::WAIT;
    while Instant::now() < deadline
        && services
            .iter()
            .any(|(s, delivers)| *delivers && s.delivered(&receiver) != [true; 3])
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for (service, _) in services.iter().filter(|(_, delivers)| *delivers) {
        match service.delivered(&receiver) {
            [true, true, true] => ok(&format!(
                "{}: spans, metrics and logs arrived through the collector from {}",
                service.case, service.endpoint
            )),
            arrived => failures.push(format!(
                "{}: through {}, after {:?}, arrived (spans, metrics, logs) = {arrived:?}\n{}",
                service.case,
                service.endpoint,
                common::WAIT,
                service.tail()
            )),
        }
    }
    if let Some(service) = &gzip_direct {
        check_gzip(service, &gzip_receiver)
            .await
            .map_or_else(|e| failures.push(e), |line| ok(&line));
    }
    // Those that cannot deliver: nothing arrived, the log says why and names the endpoint, and
    // the service kept serving (exercise asserts every answer).
    for (service, _) in services.iter().filter(|(_, delivers)| !*delivers) {
        service.exercise().await;
        check_refused(service, &receiver).map_or_else(|e| failures.push(e), |line| ok(&line));
    }

    // No secret in any output or on /metrics, the shutdown's report included.
    let mut pages = Vec::new();
    for (service, _) in &services {
        pages.push(service.metrics_page().await);
    }
    for (service, _) in &mut services {
        service.stop();
    }
    let mut secrets = vec![
        (token.clone(), "bearer token"),
        (wrong_token.clone(), "wrong bearer token"),
    ];
    for pair in [&pki.client, &pki.untrusted_client, &pki.server] {
        for line in pair.key_lines() {
            secrets.push((line, "private key's content"));
        }
    }
    let leaks: Vec<String> = services
        .iter()
        .zip(&pages)
        .flat_map(|((service, _), page)| {
            secrets
                .iter()
                .filter_map(|(secret, what)| service.shown(secret, what, page))
        })
        .collect();
    if leaks.is_empty() {
        ok(&format!(
            "no bearer token and no private key in the output or /metrics of {} services",
            services.len()
        ));
    }
    failures.extend(leaks);
    assert!(
        failures.is_empty(),
        "{} failed check(s) over {}:\n\n{}\n\n{}",
        failures.len(),
        protocol.otel_name(),
        failures.join("\n\n"),
        collector.tail()
    );
}

/// Nothing of `service` arrived, its log names the endpoint in a warning or error, once per
/// signal at most (once per outage, not once per batch).
fn check_refused(service: &Service, receiver: &Receiver) -> Result<String, String> {
    let delivered = service.delivered(receiver);
    if delivered != [false; 3] {
        return Err(format!(
            "{}: telemetry arrived through {}, which must refuse it: (spans, metrics, logs) = {delivered:?}",
            service.case, service.endpoint
        ));
    }
    let reported = service.lines_naming_endpoint(&["WARN", "ERROR"]);
    if reported.is_empty() {
        return Err(format!(
            "{}: no warning or error names the endpoint {}\n{}",
            service.case,
            service.endpoint,
            service.tail()
        ));
    }
    if reported.len() > 3 {
        return Err(format!(
            "{}: {} lines report the refusal by {}, expected one per signal:\n{}",
            service.case,
            reported.len(),
            service.endpoint,
            reported
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        ));
    }
    Ok(format!(
        "{}: nothing delivered, the service kept serving, its log says: {}",
        service.case, reported[0]
    ))
}

/// All three signals of the gzip service arrived at its receiver within the wait, and every
/// request came gzip-compressed.
async fn check_gzip(service: &Service, receiver: &Receiver) -> Result<String, String> {
    let deadline = Instant::now() + common::WAIT;
    while Instant::now() < deadline && service.delivered(receiver) != [true; 3] {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let delivered = service.delivered(receiver);
    if delivered != [true; 3] {
        return Err(format!(
            "{}: arrived (spans, metrics, logs) = {delivered:?}\n{}",
            service.case,
            service.tail()
        ));
    }
    let requests = receiver.requests();
    let plain: Vec<Signal> = requests
        .iter()
        .filter(|r| !r.gzip)
        .map(|r| r.signal)
        .collect();
    if !plain.is_empty() {
        return Err(format!(
            "{}: {} of {} requests came uncompressed with OTEL_EXPORTER_OTLP_COMPRESSION=gzip: {plain:?}",
            service.case,
            plain.len(),
            requests.len()
        ));
    }
    Ok(format!(
        "{}: all {} requests (traces, metrics, logs) gzip-compressed",
        service.case,
        requests.len()
    ))
}

/// The run's certificates, token and collector config work, checked with a plain HTTPS client
/// before any service: a failure of a case below is then the service's.
async fn preflight(collector: &Collector, pki: &Pki, token: &str) {
    // An empty ExportTraceServiceRequest: a protobuf message with no field set is no bytes.
    let body: Vec<u8> = Vec::new();
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&pki.ca).expect("CA")).expect("CA PEM");
    wwmaa_backend::external::install_crypto_provider();
    let client = |identity: Option<&common::pki::Pair>| {
        let mut builder = reqwest::Client::builder().add_root_certificate(ca.clone());
        if let Some(pair) = identity {
            builder = builder
                .identity(reqwest::Identity::from_pem(&pair.identity_pem()).expect("identity"));
        }
        builder.build().expect("HTTPS client")
    };
    let post = |client: reqwest::Client, listener, auth: Option<String>| {
        let url = format!(
            "{}/v1/traces",
            collector.endpoint(listener, Protocol::HttpProtobuf)
        );
        let mut request = client
            .post(url)
            .header("content-type", "application/x-protobuf")
            .body(body.clone());
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        async move { request.send().await.map(|r| r.status().as_u16()) }
    };
    let tls = post(client(None), Listener::Tls, None).await;
    assert_eq!(tls.ok(), Some(200), "TLS with the CA");
    let mtls = post(client(Some(&pki.client)), Listener::Mtls, None).await;
    assert_eq!(mtls.ok(), Some(200), "mTLS with the client certificate");
    let no_client_cert = post(client(None), Listener::Mtls, None).await;
    assert!(
        no_client_cert.is_err(),
        "mTLS without a client certificate: {no_client_cert:?}"
    );
    let bearer = post(
        client(None),
        Listener::Bearer,
        Some(format!("Bearer {token}")),
    )
    .await;
    assert_eq!(bearer.ok(), Some(200), "the bearer token");
    let wrong = post(client(None), Listener::Bearer, Some("Bearer wrong".into())).await;
    assert_eq!(wrong.ok(), Some(401), "a wrong bearer token");
    ok("collector and certificates: TLS and mTLS verify, a missing client certificate and a wrong token are refused (checked with an HTTPS client)");
}
