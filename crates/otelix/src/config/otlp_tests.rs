//! The OTLP exporter settings: per-signal forms, precedence, endpoints without a scheme,
//! headers kept secret, TLS files with where they came from.

use std::path::Path;
use std::time::Duration;

use super::*;

fn from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::builder().build_from_vars(vars.iter().copied())
}

fn valid(vars: &[(&str, &str)]) -> Config {
    from(vars).expect("valid configuration")
}

#[test]
fn a_signals_own_variable_wins_over_the_general_one() {
    let c = valid(&[
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "3000"),
        ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "7000"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
        ("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "none"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
    ]);
    let traces = c.otlp(Signal::Traces);
    assert_eq!(traces.protocol, Protocol::HttpProtobuf);
    assert_eq!(
        traces.protocol_setting(),
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
    );
    assert_eq!(traces.endpoint, "http://collector:4317/v1/traces");
    assert_eq!(traces.timeout, Duration::from_secs(3));
    assert_eq!(traces.compression, Compression::Gzip);
    let metrics = c.otlp(Signal::Metrics);
    assert_eq!(metrics.protocol, Protocol::Grpc);
    assert_eq!(metrics.protocol_setting(), "OTEL_EXPORTER_OTLP_PROTOCOL");
    assert_eq!(metrics.endpoint, "http://collector:4317");
    assert_eq!(metrics.timeout, Duration::from_secs(7));
    let logs = c.otlp(Signal::Logs);
    assert_eq!(logs.compression, Compression::None);
    assert_eq!(logs.timeout, Duration::from_secs(3));
}

#[test]
fn code_wins_over_the_environment_and_a_signals_code_over_every_signals() {
    let c = Config::builder()
        .with_otlp_timeout(Duration::from_millis(1500))
        .with_otlp_logs_timeout(Duration::from_millis(2500))
        .with_otlp_compression(Compression::Gzip)
        .build_from_vars([
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "9000"),
            ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "9000"),
            ("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "none"),
        ])
        .expect("valid configuration");
    // A general value set in code wins even over a signal's variable.
    assert_eq!(c.otlp(Signal::Traces).timeout, Duration::from_millis(1500));
    assert_eq!(c.otlp(Signal::Logs).timeout, Duration::from_millis(2500));
    assert_eq!(c.otlp(Signal::Metrics).compression, Compression::Gzip);
}

#[test]
fn defaults_for_every_signal() {
    let c = valid(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]);
    for signal in Signal::ALL {
        let export = c.otlp(signal);
        assert_eq!(export.endpoint, "http://localhost:4317");
        assert_eq!(export.timeout, Duration::from_secs(10));
        assert_eq!(export.compression, Compression::None);
        assert!(export.headers.is_empty());
        assert_eq!(export.tls, TlsFiles::default());
        assert!(!export.uses_tls());
    }
}

#[test]
fn a_grpc_endpoint_without_a_scheme_is_tls_unless_insecure() {
    let grpc = [("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")];
    let c = valid(&[grpc[0], ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317")]);
    assert_eq!(c.traces_endpoint(), "https://collector:4317");
    assert!(c.otlp(Signal::Traces).uses_tls());
    let c = valid(&[
        grpc[0],
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317"),
        ("OTEL_EXPORTER_OTLP_INSECURE", "true"),
        ("OTEL_EXPORTER_OTLP_LOGS_INSECURE", "false"),
    ]);
    assert_eq!(c.traces_endpoint(), "http://collector:4317");
    assert_eq!(c.logs_endpoint(), "https://collector:4317");
    // A scheme decides by itself; insecure does not turn https into plaintext.
    let c = valid(&[
        grpc[0],
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4317"),
        ("OTEL_EXPORTER_OTLP_METRICS_INSECURE", "true"),
    ]);
    assert_eq!(c.otlp_metrics_endpoint(), "https://collector:4317");
    // Per signal, too.
    let c = valid(&[
        grpc[0],
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "traces.internal:4317"),
        ("OTEL_EXPORTER_OTLP_TRACES_INSECURE", "true"),
    ]);
    assert_eq!(c.traces_endpoint(), "http://traces.internal:4317");
}

#[test]
fn an_http_endpoint_without_a_scheme_is_an_error_naming_its_variable() {
    let err = from(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
    ])
    .expect_err("HTTP needs a scheme");
    let message = err.to_string();
    assert!(message.contains("OTEL_EXPORTER_OTLP_ENDPOINT"), "{message}");
    assert!(message.contains("collector:4318"), "{message}");
    let err = Config::builder()
        .with_otlp_traces_protocol(Protocol::HttpProtobuf)
        .with_otlp_traces_endpoint("collector:4318")
        .build_from_vars(Vec::<(String, String)>::new())
        .expect_err("HTTP needs a scheme");
    assert!(
        err.to_string().contains("with_otlp_traces_endpoint"),
        "{err}"
    );
}

#[test]
fn headers_per_signal_replace_the_general_ones_and_code_replaces_by_name() {
    let c = Config::builder()
        .with_otlp_header("X-Team", "code")
        .with_otlp_metrics_header("authorization", "Bearer metrics-token")
        .build_from_vars([
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "authorization=Bearer%20general,x-team=env",
            ),
            (
                "OTEL_EXPORTER_OTLP_LOGS_HEADERS",
                "authorization=Bearer%20logs",
            ),
        ])
        .expect("valid configuration");
    let traces = c.otlp(Signal::Traces);
    assert_eq!(traces.header_value("authorization"), Some("Bearer general"));
    assert_eq!(traces.header_value("x-team"), Some("code"));
    assert_eq!(traces.headers.len(), 2, "x-team is replaced, not repeated");
    let logs = c.otlp(Signal::Logs);
    assert_eq!(logs.header_value("authorization"), Some("Bearer logs"));
    assert_eq!(logs.header_value("x-team"), Some("code"));
    let metrics = c.otlp(Signal::Metrics);
    assert_eq!(
        metrics.header_value("authorization"),
        Some("Bearer metrics-token")
    );
}

#[test]
fn header_values_never_appear_in_debug_output_or_errors() {
    const SECRET: &str = "s3cr3t-api-key-4711";
    let c = valid(&[
        ("OTEL_EXPORTER_OTLP_HEADERS", &format!("api-key={SECRET}")),
        (
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            &format!("api-key={SECRET}"),
        ),
    ]);
    assert_eq!(c.otlp(Signal::Logs).header_value("api-key"), Some(SECRET));
    assert!(
        !format!("{c:?}").contains(SECRET),
        "Debug shows a header value"
    );
    let builder = Config::builder().with_otlp_header("api-key", SECRET);
    assert!(
        !format!("{builder:?}").contains(SECRET),
        "the builder's Debug shows it"
    );

    // A malformed entry is named by its key; no value is shown.
    for var in [
        "OTEL_EXPORTER_OTLP_HEADERS",
        "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
    ] {
        let raw = format!("api-key={SECRET},bad key=also-{SECRET}");
        let err = from(&[(var, raw.as_str())]).expect_err("a space in a header name");
        let message = err.to_string();
        assert!(message.contains(var), "{message}");
        assert!(message.contains("bad key"), "{message}");
        assert!(!message.contains(SECRET), "{message} shows a header value");
    }
}

#[test]
fn tls_files_remember_the_setting_that_named_them() {
    let c = Config::builder()
        .with_otlp_client_key("/etc/otel/code.key")
        .build_from_vars([
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/etc/otel/ca.pem"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
                "/etc/otel/traces-ca.pem",
            ),
            (
                "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
                "/etc/otel/client.pem",
            ),
            ("OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY", "/etc/otel/logs.key"),
        ])
        .expect("valid configuration");
    let traces = &c.otlp(Signal::Traces).tls;
    let ca = traces.certificate.as_ref().expect("a CA file");
    assert_eq!(ca.path(), Path::new("/etc/otel/traces-ca.pem"));
    assert_eq!(ca.setting(), "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE");
    let metrics = &c.otlp(Signal::Metrics).tls;
    let ca = metrics.certificate.as_ref().expect("a CA file");
    assert_eq!(ca.setting(), "OTEL_EXPORTER_OTLP_CERTIFICATE");
    let key = metrics.client_key.as_ref().expect("a client key");
    assert_eq!(key.setting(), "with_otlp_client_key");
    assert_eq!(key.path(), Path::new("/etc/otel/code.key"));
    // Code for every signal wins over a signal's variable.
    let logs = &c.otlp(Signal::Logs).tls;
    assert_eq!(
        logs.client_key.as_ref().map(SettingPath::setting),
        Some("with_otlp_client_key")
    );
    assert_eq!(
        logs.client_certificate.as_ref().map(SettingPath::path),
        Some(Path::new("/etc/otel/client.pem"))
    );
}

#[test]
fn every_new_variable_rejects_a_bad_value_by_name() {
    let cases = [
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"),
        ("OTEL_EXPORTER_OTLP_INSECURE", "sometimes"),
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", "certs/"),
        ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "client/"),
        ("OTEL_EXPORTER_OTLP_CLIENT_KEY", "keys/"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"),
        ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "thrift"),
        ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "udp"),
        ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "10s"),
        ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "0"),
        ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "-5"),
        ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "brotli"),
        ("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "deflate"),
        ("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "lz4"),
        ("OTEL_EXPORTER_OTLP_TRACES_INSECURE", "yes please"),
        ("OTEL_EXPORTER_OTLP_METRICS_INSECURE", "2"),
        ("OTEL_EXPORTER_OTLP_LOGS_INSECURE", "nope"),
        ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "ca/"),
        ("OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE", "ca/"),
        ("OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE", "ca/"),
        ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", "c/"),
        ("OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE", "c/"),
        ("OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE", "c/"),
        ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "k/"),
        ("OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY", "k/"),
        ("OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY", "k/"),
        ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "no-equals"),
        ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "=x"),
        ("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "bad key=1"),
        ("OTEL_METRIC_EXPORT_TIMEOUT", "30s"),
        (
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
            "sometimes",
        ),
    ];
    for (var, value) in cases {
        let message = match from(&[(var, value)]) {
            Ok(_) => panic!("{var}={value} was accepted"),
            Err(e) => e.to_string(),
        };
        assert!(message.contains(var), "{message} does not name {var}");
    }
}

#[test]
fn every_new_variable_accepts_a_good_value() {
    let c = valid(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
        ("OTEL_EXPORTER_OTLP_INSECURE", "true"),
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/ca.pem"),
        ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/client.pem"),
        ("OTEL_EXPORTER_OTLP_CLIENT_KEY", "/client.key"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "1000"),
        ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "2000"),
        ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "3000"),
        ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "none"),
        ("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "gzip"),
        ("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "none"),
        ("OTEL_EXPORTER_OTLP_TRACES_INSECURE", "false"),
        ("OTEL_EXPORTER_OTLP_METRICS_INSECURE", "true"),
        ("OTEL_EXPORTER_OTLP_LOGS_INSECURE", "true"),
        ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "/t-ca.pem"),
        ("OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE", "/m-ca.pem"),
        ("OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE", "/l-ca.pem"),
        ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", "/t.pem"),
        ("OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE", "/m.pem"),
        ("OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE", "/l.pem"),
        ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "/t.key"),
        ("OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY", "/m.key"),
        ("OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY", "/l.key"),
        ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "a=1"),
        ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "b=2"),
        ("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "c=3"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317"),
        ("OTEL_METRIC_EXPORT_TIMEOUT", "12000"),
        (
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
            "LowMemory",
        ),
    ]);
    assert_eq!(c.metric_export_timeout(), Duration::from_secs(12));
    assert_eq!(
        c.metrics_temporality(),
        opentelemetry_sdk::metrics::Temporality::LowMemory
    );
    assert_eq!(
        valid(&[]).metrics_temporality(),
        opentelemetry_sdk::metrics::Temporality::Cumulative
    );
    assert_eq!(
        valid(&[("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta")])
            .metrics_temporality(),
        opentelemetry_sdk::metrics::Temporality::Delta
    );
    let metrics = c.otlp(Signal::Metrics);
    assert_eq!(metrics.timeout, Duration::from_secs(2));
    assert_eq!(metrics.compression, Compression::Gzip);
    assert_eq!(metrics.endpoint, "http://collector:4317");
    assert_eq!(c.traces_endpoint(), "https://collector:4317");
    assert_eq!(
        c.otlp(Signal::Logs)
            .tls
            .client_key
            .as_ref()
            .map(SettingPath::path),
        Some(Path::new("/l.key"))
    );
    assert_eq!(c.otlp(Signal::Logs).header_value("c"), Some("3"));
}
