//! The configuration's tests: defaults, every variable read, invalid values named.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use super::*;

fn from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::builder().build_from_vars(vars.iter().copied())
}

#[test]
fn defaults_without_any_variable() {
    let c = from(&[]).expect("valid configuration");
    assert!(!c.sdk_disabled());
    assert_eq!(c.service_name(), "unknown_service");
    assert_eq!(c.environment(), Environment::Development);
    // The transport the build has; gRPC when it has both (or neither).
    if cfg!(feature = "otlp-grpc") || !cfg!(feature = "otlp-http") {
        assert_eq!(c.otlp(Signal::Traces).protocol, Protocol::Grpc);
        assert_eq!(c.traces_endpoint(), "http://localhost:4317");
    } else {
        assert_eq!(c.otlp(Signal::Traces).protocol, Protocol::HttpProtobuf);
        assert_eq!(c.traces_endpoint(), "http://localhost:4318/v1/traces");
    }
    assert_eq!(c.otlp(Signal::Traces).timeout, Duration::from_secs(10));
    assert_eq!(c.sampler(), SamplerKind::ParentBasedAlwaysOn);
    assert_eq!(c.traces_exporters(), Exporters::OTLP);
    assert_eq!(c.metric_export_interval(), Duration::from_secs(60));
    assert_eq!(c.batch(), BatchSettings::default());
    assert_eq!(c.prometheus_enabled(), cfg!(feature = "prometheus"));
    assert_eq!(c.metrics_path(), "/metrics");
    assert_eq!(c.log_format(), LogFormat::Pretty);
    assert_eq!(c.log_filter(), "info");
    assert_eq!(c.shutdown_timeout(), Duration::from_secs(5));
}

#[test]
fn every_variable_is_read() {
    let c = from(&[
        ("OTEL_SDK_DISABLED", "true"),
        ("OTEL_SERVICE_NAME", "svc"),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "service.name=ignored,service.version=1.2.3,team=core%2Fplatform",
        ),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
        (
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
            "http://logs:9999/custom",
        ),
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "https://traces.example.com/v1/traces",
        ),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=secret%3D1"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
        ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "0.5"),
        ("OTEL_TRACES_EXPORTER", "otlp,console"),
        ("OTEL_METRICS_EXPORTER", "none"),
        ("OTEL_LOGS_EXPORTER", "console"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "1000"),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "200"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "4096"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "1024"),
        ("OTEL_BSP_MAX_CONCURRENT_EXPORTS", "3"),
        ("APP_ENV", "production"),
        ("LOG_FORMAT", "pretty"),
        ("PROMETHEUS_ENABLED", "false"),
        ("METRICS_ENDPOINT", "/internal/metrics"),
        ("RUST_LOG", "warn,otelix=debug"),
        ("OTELIX_SHUTDOWN_TIMEOUT", "750"),
        ("SLOW_QUERY_THRESHOLD_SECONDS", "0.5"),
        ("SLOW_QUERY_CRITICAL_SECONDS", "2"),
        ("SLOW_QUERY_LOG_FILE", "/tmp/otelix/slow.log"),
        ("SLOW_QUERY_LOG_MAX_BYTES", "1024"),
        ("SLOW_QUERY_LOG_BACKUPS", "0"),
        ("N_PLUS_ONE_THRESHOLD", "3"),
    ])
    .expect("valid configuration");
    assert!(c.sdk_disabled());
    assert_eq!(c.service_name(), "svc");
    assert_eq!(c.service_version(), Some("1.2.3"));
    assert_eq!(
        c.resource_attributes(),
        &[("team".to_owned(), "core/platform".to_owned())]
    );
    assert_eq!(c.otlp(Signal::Traces).protocol, Protocol::HttpProtobuf);
    assert_eq!(c.traces_endpoint(), "https://traces.example.com/v1/traces");
    assert_eq!(
        c.otlp_metrics_endpoint(),
        "http://collector:4318/v1/metrics"
    );
    assert_eq!(c.logs_endpoint(), "http://logs:9999/custom");
    let headers: Vec<_> = c.otlp(Signal::Traces).header_pairs().collect();
    assert_eq!(headers, [("api-key", "secret=1")]);
    assert_eq!(c.otlp(Signal::Traces).timeout, Duration::from_millis(2500));
    assert_eq!(c.sampler(), SamplerKind::ParentBasedTraceIdRatio(0.5));
    assert_eq!(
        c.traces_exporters(),
        Exporters {
            otlp: true,
            console: true
        }
    );
    assert_eq!(c.metrics_exporters(), Exporters::NONE);
    assert_eq!(
        c.logs_exporters(),
        Exporters {
            otlp: false,
            console: true
        }
    );
    assert_eq!(c.metric_export_interval(), Duration::from_secs(1));
    assert_eq!(
        c.batch(),
        BatchSettings {
            schedule_delay: Duration::from_millis(100),
            export_timeout: Duration::from_millis(200),
            max_queue_size: 4096,
            max_export_batch_size: 1024,
            max_concurrent_exports: 3
        }
    );
    assert_eq!(c.environment(), Environment::Production);
    assert!(!c.prometheus_enabled());
    assert_eq!(c.metrics_path(), "/internal/metrics");
    assert_eq!(c.log_format(), LogFormat::Pretty);
    assert_eq!(c.log_filter(), "warn,otelix=debug");
    assert_eq!(c.shutdown_timeout(), Duration::from_millis(750));
    let sq = c.slow_query();
    assert_eq!(sq.threshold, Duration::from_millis(500));
    assert_eq!(sq.critical, Duration::from_secs(2));
    assert_eq!(sq.log_file, PathBuf::from("/tmp/otelix/slow.log"));
    assert_eq!(sq.max_bytes, 1024);
    assert_eq!(sq.backups, 0);
    assert_eq!(sq.n_plus_one_threshold, 3);
}

#[test]
fn slow_query_log_location_follows_the_environment() {
    let dev = from(&[]).expect("valid configuration");
    assert_eq!(
        dev.slow_query().log_file,
        PathBuf::from("./logs/slow_queries.log")
    );
    let prod = from(&[
        ("APP_ENV", "production"),
        ("OTEL_SERVICE_NAME", "wwmaa backend"),
    ])
    .expect("valid configuration");
    assert_eq!(
        prod.slow_query().log_file,
        PathBuf::from("/var/log/wwmaa_backend/slow_queries.log")
    );
}

#[test]
fn a_default_service_name_yields_to_the_environment() {
    let named = |vars: &[(&str, &str)]| {
        Config::builder()
            .with_default_service_name("binary")
            .build_from_vars(vars.iter().copied())
            .map(|c| c.service_name().to_owned())
            .expect("valid configuration")
    };
    assert_eq!(named(&[]), "binary");
    assert_eq!(named(&[("OTEL_SERVICE_NAME", "from-env")]), "from-env");
    assert_eq!(
        named(&[("OTEL_RESOURCE_ATTRIBUTES", "service.name=attr")]),
        "attr"
    );
}

#[test]
fn critical_below_threshold_is_an_error() {
    let err = from(&[
        ("SLOW_QUERY_THRESHOLD_SECONDS", "3"),
        ("SLOW_QUERY_CRITICAL_SECONDS", "2"),
    ]);
    assert!(matches!(
        err,
        Err(ConfigError::InvalidEnv {
            var: "SLOW_QUERY_CRITICAL_SECONDS",
            ..
        })
    ));
}

#[test]
fn invalid_values_are_errors_naming_the_variable_and_the_value() {
    let cases = [
        ("OTEL_SDK_DISABLED", "perhaps"),
        ("OTEL_RESOURCE_ATTRIBUTES", "no-equals-sign"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "not a url"),
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "ftp://x"),
        ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "bad header=1"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "10s"),
        ("OTEL_TRACES_SAMPLER", "sometimes"),
        ("OTEL_TRACES_SAMPLER_ARG", "2"),
        ("OTEL_TRACES_EXPORTER", "zipkin"),
        ("OTEL_METRICS_EXPORTER", "none,otlp"),
        ("OTEL_LOGS_EXPORTER", "jaeger"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "0"),
        ("OTEL_BSP_SCHEDULE_DELAY", "-1"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "soon"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "0"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "many"),
        ("OTEL_BSP_MAX_CONCURRENT_EXPORTS", "0"),
        ("APP_ENV", "staging"),
        ("PROMETHEUS_ENABLED", "maybe"),
        ("METRICS_ENDPOINT", "metrics"),
        ("METRICS_ADDR", "localhost"),
        ("OTELIX_EXEMPLARS", "sometimes"),
        ("LOG_FORMAT", "xml"),
        ("RUST_LOG", "info,[=="),
        ("OTELIX_SHUTDOWN_TIMEOUT", "forever"),
        ("SLOW_QUERY_THRESHOLD_SECONDS", "1s"),
        ("SLOW_QUERY_CRITICAL_SECONDS", "-5"),
        ("SLOW_QUERY_LOG_FILE", "logs/"),
        ("SLOW_QUERY_LOG_MAX_BYTES", "10MB"),
        ("SLOW_QUERY_LOG_BACKUPS", "five"),
        ("N_PLUS_ONE_THRESHOLD", "-1"),
    ];
    for (var, value) in cases {
        let err = match from(&[(var, value)]) {
            Ok(_) => panic!("{var}={value} was accepted"),
            Err(e) => e,
        };
        let msg = err.to_string();
        assert!(msg.contains(var), "{msg} does not name {var}");
        let shown = if var == "OTEL_EXPORTER_OTLP_HEADERS" {
            "bad header"
        } else {
            value
        };
        assert!(msg.contains(shown), "{msg} does not show {value:?}");
    }
}

#[test]
fn the_metrics_listener_and_token() {
    assert!(from(&[]).is_ok_and(|c| c.exemplars()));
    assert!(from(&[("OTELIX_EXEMPLARS", "false")]).is_ok_and(|c| !c.exemplars()));
    let c = from(&[
        ("METRICS_ADDR", "127.0.0.1:9464"),
        ("METRICS_BEARER_TOKEN", " s3cret-token-0123456789 "),
    ])
    .expect("valid configuration");
    assert_eq!(c.metrics_addr(), Some(([127, 0, 0, 1], 9464).into()));
    assert_eq!(c.metrics_bearer_token(), Some("s3cret-token-0123456789"));
    assert!(
        !format!("{c:?}").contains("s3cret"),
        "Debug shows the token"
    );
    let builder = Config::builder().with_metrics_bearer_token("s3cret-token-0123456789");
    assert!(!format!("{builder:?}").contains("s3cret"));
    let defaults = from(&[]).expect("valid configuration");
    assert_eq!(defaults.metrics_addr(), None);
    assert_eq!(defaults.metrics_bearer_token(), None);

    // An unusable token is an error that names the variable, never the value.
    for bad in ["short", "has a space in the middle ok", &"x".repeat(300)] {
        let Err(err) = from(&[("METRICS_BEARER_TOKEN", bad)]) else {
            panic!("an unusable token was accepted");
        };
        let msg = err.to_string();
        assert!(msg.contains("METRICS_BEARER_TOKEN"), "{msg}");
        assert!(!msg.contains(bad), "{msg} shows the secret");
        let Err(err) = Config::builder()
            .with_metrics_bearer_token(bad)
            .build_from_vars(Vec::<(String, String)>::new())
        else {
            panic!("an unusable token was accepted");
        };
        let msg = err.to_string();
        assert!(
            msg.contains("with_metrics_bearer_token") && !msg.contains(bad),
            "{msg}"
        );
    }
}

#[test]
fn every_documented_variable_has_a_valid_and_an_invalid_case() {
    // Keeps ENV_VARS, the parser and the tests in step: each variable appears in at least
    // two `(name, value)` pairs of these test modules, a valid one and an invalid one.
    let tests = [include_str!("tests.rs"), include_str!("otlp_tests.rs")].concat();
    for var in ENV_VARS {
        let quoted = format!("\"{}\",", var.name);
        assert!(
            tests.matches(&quoted).count() >= 2,
            "{} lacks a valid and an invalid case",
            var.name
        );
    }
}

#[test]
fn batch_larger_than_queue_is_an_error() {
    let err = from(&[
        ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "200"),
    ]);
    assert!(matches!(
        err,
        Err(ConfigError::InvalidEnv {
            var: "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
            ..
        })
    ));
}

#[test]
fn log_batch_settings_come_from_blrp_variables() {
    let defaults = from(&[]).expect("valid configuration");
    assert_eq!(defaults.log_batch().max_queue_size, 2_048);
    assert_eq!(defaults.log_batch().schedule_delay, Duration::from_secs(1));
    let c = from(&[
        ("OTEL_BLRP_SCHEDULE_DELAY", "250"),
        ("OTEL_BLRP_EXPORT_TIMEOUT", "4000"),
        ("OTEL_BLRP_MAX_QUEUE_SIZE", "100"),
        ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "10"),
    ])
    .expect("valid configuration");
    assert_eq!(
        c.log_batch(),
        BatchSettings {
            schedule_delay: Duration::from_millis(250),
            export_timeout: Duration::from_secs(4),
            max_queue_size: 100,
            max_export_batch_size: 10,
            max_concurrent_exports: 1,
        }
    );
    let from_code = Config::builder()
        .with_blrp_max_queue_size(64)
        .with_blrp_max_export_batch_size(32)
        .with_blrp_schedule_delay(Duration::from_millis(5))
        .build_from_vars([("OTEL_BLRP_MAX_QUEUE_SIZE", "100")])
        .expect("valid configuration");
    assert_eq!(from_code.log_batch().max_queue_size, 64);
    assert_eq!(
        from_code.log_batch().schedule_delay,
        Duration::from_millis(5)
    );
    let err = Config::builder()
        .with_blrp_max_queue_size(0)
        .build_from_vars(Vec::<(String, String)>::new());
    assert!(err.is_err_and(|e| e.to_string().contains("with_blrp_max_queue_size")));
    for (var, bad) in [
        ("OTEL_BLRP_MAX_QUEUE_SIZE", "lots"),
        ("OTEL_BLRP_SCHEDULE_DELAY", "0"),
        ("OTEL_BLRP_EXPORT_TIMEOUT", "soon"),
    ] {
        let err = from(&[(var, bad)]).map(|_| ());
        assert!(
            matches!(&err, Err(e) if e.to_string().contains(var) && e.to_string().contains(bad)),
            "{var}={bad}: {err:?}"
        );
    }
    let err = from(&[
        ("OTEL_BLRP_MAX_QUEUE_SIZE", "100"),
        ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "200"),
    ]);
    assert!(matches!(
        err,
        Err(ConfigError::InvalidEnv {
            var: "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE",
            ..
        })
    ));
}

#[test]
fn code_wins_over_environment() {
    let c = Config::builder()
        .with_service_name("from-code")
        .with_prometheus_enabled(true)
        .with_otlp_protocol(Protocol::Grpc)
        .with_otlp_endpoint("http://code:4317")
        .with_otlp_header("api-key", "code")
        .with_resource_attribute("team", "code")
        .with_traces_sampler(SamplerKind::AlwaysOff)
        .build_from_vars([
            ("OTEL_SERVICE_NAME", "from-env"),
            ("PROMETHEUS_ENABLED", "false"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=env,other=1"),
            ("OTEL_RESOURCE_ATTRIBUTES", "team=env"),
            ("OTEL_TRACES_SAMPLER", "always_on"),
        ])
        .expect("valid configuration");
    assert_eq!(c.service_name(), "from-code");
    assert!(c.prometheus_enabled());
    assert_eq!(c.otlp(Signal::Traces).protocol, Protocol::Grpc);
    assert_eq!(c.traces_endpoint(), "http://code:4317");
    let headers: Vec<_> = c.otlp(Signal::Traces).header_pairs().collect();
    assert_eq!(headers, [("other", "1"), ("api-key", "code")]);
    assert_eq!(
        c.resource_attributes(),
        &[("team".to_owned(), "code".to_owned())]
    );
    assert_eq!(c.sampler(), SamplerKind::AlwaysOff);
}

#[test]
fn invalid_code_values_name_the_setter() {
    let err = Config::builder()
        .with_traces_sampler(SamplerKind::TraceIdRatio(2.0))
        .build_from_vars(Vec::<(String, String)>::new());
    assert!(err.is_err_and(|e| e.to_string().contains("with_traces_sampler")));
    let err = Config::builder()
        .with_otlp_endpoint("nope")
        .build_from_vars(Vec::<(String, String)>::new());
    assert!(err.is_err_and(
        |e| e.to_string().contains("with_otlp_endpoint") && e.to_string().contains("nope")
    ));
    let err = Config::builder()
        .with_metric_export_interval(Duration::ZERO)
        .build_from_vars(Vec::<(String, String)>::new());
    assert!(err.is_err_and(|e| e.to_string().contains("with_metric_export_interval")));
}

#[test]
fn log_format_follows_the_environment_unless_set() {
    let c = from(&[("APP_ENV", "production")]).expect("valid configuration");
    assert_eq!(c.log_format(), LogFormat::Json);
}

#[test]
fn empty_variables_count_as_unset() {
    let c = from(&[("PROMETHEUS_ENABLED", ""), ("OTEL_SERVICE_NAME", " ")])
        .expect("valid configuration");
    assert_eq!(c.prometheus_enabled(), cfg!(feature = "prometheus"));
    assert_eq!(c.service_name(), "unknown_service");
}

#[test]
fn grpc_signal_endpoints_share_the_base_url() {
    let c = from(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
    ])
    .expect("valid configuration");
    assert_eq!(c.traces_endpoint(), "http://collector:4317");
    assert_eq!(c.otlp_metrics_endpoint(), "http://collector:4317");
    assert_eq!(c.logs_endpoint(), "http://collector:4317");
    let c = from(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://metrics:4317"),
    ])
    .expect("valid configuration");
    assert_eq!(c.otlp_metrics_endpoint(), "http://metrics:4317");
    assert_eq!(c.traces_endpoint(), "http://localhost:4317");
}

#[cfg(unix)]
#[test]
fn non_unicode_values_are_errors() {
    use std::os::unix::ffi::OsStringExt;
    let lookup = |name: &str| (name == "APP_ENV").then(|| OsString::from_vec(vec![0xff, 0xfe]));
    let err = Config::builder().resolve(&resolve::Vars::new(&lookup));
    assert_eq!(err.err(), Some(ConfigError::NotUnicode { var: "APP_ENV" }));
}

#[test]
fn every_default_parses() {
    for (name, kind, parsed) in settings::default_checks() {
        match (kind, parsed) {
            (table::DefaultValue::Parsed, Ok(true)) => {}
            (table::DefaultValue::Derived | table::DefaultValue::Unset, Ok(false)) => {}
            (kind, parsed) => panic!("{name}: default {kind:?} gave {parsed:?}"),
        }
    }
    // The settings structs' own defaults are the table's.
    assert_eq!(
        BatchSettings::default(),
        from(&[]).expect("defaults").batch()
    );
    assert_eq!(
        &SlowQuerySettings::default(),
        from(&[]).expect("defaults").slow_query()
    );
}

#[test]
fn the_scrape_path_setter_points_to_the_otlp_url_setter_when_given_a_url() {
    let err = Config::builder()
        .with_metrics_endpoint("http://collector:4318/v1/metrics")
        .build_from_vars(Vec::<(String, String)>::new())
        .expect_err("a URL is not a scrape path");
    let msg = err.to_string();
    assert!(msg.contains("with_metrics_endpoint"), "{msg}");
    assert!(msg.contains("with_otlp_metrics_endpoint"), "{msg}");
}

#[test]
fn every_builder_method_the_table_names_exists() {
    let sources = [include_str!("mod.rs"), include_str!("settings.rs")];
    for var in ENV_VARS {
        let generated = format!("builder: {}(", var.builder);
        let written = format!("pub fn {}(", var.builder);
        assert!(
            sources
                .iter()
                .any(|s| s.contains(&generated) || s.contains(&written)),
            "{} names {}, which ConfigBuilder lacks",
            var.name,
            var.builder
        );
    }
}
