//! The settings table: one row per environment variable, in the order of the README's
//! configuration table. A default is written here and nowhere else: as the text a user would
//! put in the variable, read by the row's own parser; for a `Derived` default, how the
//! resolver computes it; for an `Unset` one, what happens when nothing is set.
//!
//! Builder methods are named after the variable they mirror, without the `OTEL_`/`OTELIX_`
//! prefix and without a unit suffix (the value's type carries the unit):
//! `OTEL_BSP_SCHEDULE_DELAY` is `with_bsp_schedule_delay(Duration)`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use opentelemetry_sdk::metrics::Temporality;

use super::otlp::Compression;
use super::parse;
use super::table::settings;
use super::types::{Environment, Exporters, LogFormat, Protocol, SamplerName, Secret};

settings! {
    OTEL_SDK_DISABLED: bool {
        value: "boolean",
        default: Parsed("false"),
        meaning: "true turns every exporter off (the Prometheus bridge and logs to stdout stay)",
        parse: parse::bool,
        builder: with_sdk_disabled(sdk_disabled),
    }
    OTEL_SERVICE_NAME: String {
        value: "text",
        default: Parsed("unknown_service"),
        meaning: "service.name resource attribute; wins over service.name in OTEL_RESOURCE_ATTRIBUTES",
        parse: parse::name,
        check: parse::owned_name,
        builder: with_service_name(service_name, into),
    }
    OTEL_RESOURCE_ATTRIBUTES: Vec<(String, String)> {
        value: "key=value list",
        default: Unset("(none)"),
        meaning: "extra resource attributes, key=value,key=value (values percent-encoded)",
        parse: parse::key_values,
        builder: with_resource_attribute,
    }
    OTEL_EXPORTER_OTLP_ENDPOINT: String {
        value: "URL",
        default: Derived("http://localhost:4317 (grpc), http://localhost:4318 (http/protobuf)"),
        meaning: "collector base URL; for http/protobuf the signal path /v1/traces etc. is appended",
        parse: parse::endpoint,
        check: parse::owned_endpoint,
        builder: with_otlp_endpoint(endpoint, into),
    }
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: String {
        value: "URL",
        default: Derived("(from OTEL_EXPORTER_OTLP_ENDPOINT)"),
        meaning: "full URL for traces, used as is",
        parse: parse::endpoint,
        check: parse::owned_endpoint,
        builder: with_otlp_traces_endpoint(traces_endpoint, into),
    }
    OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: String {
        value: "URL",
        default: Derived("(from OTEL_EXPORTER_OTLP_ENDPOINT)"),
        meaning: "full URL for metrics, used as is",
        parse: parse::endpoint,
        check: parse::owned_endpoint,
        builder: with_otlp_metrics_endpoint(metrics_endpoint_otlp, into),
    }
    OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: String {
        value: "URL",
        default: Derived("(from OTEL_EXPORTER_OTLP_ENDPOINT)"),
        meaning: "full URL for logs, used as is",
        parse: parse::endpoint,
        check: parse::owned_endpoint,
        builder: with_otlp_logs_endpoint(logs_endpoint, into),
    }
    OTEL_EXPORTER_OTLP_PROTOCOL: Protocol {
        value: "grpc or http/protobuf",
        default: Derived("grpc (http/protobuf in a build without the otlp-grpc feature)"),
        meaning: "the OTLP transport",
        parse: Protocol::parse,
        builder: with_otlp_protocol(protocol),
    }
    OTEL_EXPORTER_OTLP_HEADERS: Vec<(String, String)> {
        value: "key=value list",
        default: Unset("(none)"),
        meaning: "headers sent with every export, key=value,key=value (values percent-encoded)",
        parse: parse::headers,
        show: parse::header_keys,
        builder: with_otlp_header,
    }
    OTEL_EXPORTER_OTLP_TIMEOUT: Duration {
        value: "milliseconds",
        default: Parsed("10000"),
        meaning: "time allowed for one export request (one attempt)",
        parse: parse::positive_millis,
        check: parse::positive_duration,
        builder: with_otlp_timeout(otlp_timeout),
    }
    OTEL_EXPORTER_OTLP_COMPRESSION: Compression {
        value: "gzip or none",
        default: Parsed("none"),
        meaning: "compression of export request bodies",
        parse: Compression::parse,
        builder: with_otlp_compression(otlp_compression),
    }
    OTEL_EXPORTER_OTLP_INSECURE: bool {
        value: "boolean",
        default: Parsed("false"),
        meaning: "for a gRPC endpoint written without a scheme (collector:4317): true connects in plaintext, false over TLS; an http:// or https:// endpoint decides by its scheme",
        parse: parse::bool,
        builder: with_otlp_insecure(otlp_insecure),
    }
    OTEL_EXPORTER_OTLP_CERTIFICATE: PathBuf {
        value: "file path",
        default: Unset("(none: the system's roots)"),
        meaning: "PEM bundle of the certificate authorities that verify the collector's certificate, instead of the system's roots",
        parse: parse::file_path,
        check: parse::checked_file_path,
        builder: with_otlp_certificate(otlp_certificate, into),
    }
    OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: PathBuf {
        value: "file path",
        default: Unset("(none)"),
        meaning: "PEM certificate chain presented to the collector (mTLS), with OTEL_EXPORTER_OTLP_CLIENT_KEY",
        parse: parse::file_path,
        check: parse::checked_file_path,
        builder: with_otlp_client_certificate(otlp_client_certificate, into),
    }
    OTEL_EXPORTER_OTLP_CLIENT_KEY: PathBuf {
        value: "file path",
        default: Unset("(none)"),
        meaning: "PEM private key of the client certificate (mTLS)",
        parse: parse::file_path,
        check: parse::checked_file_path,
        builder: with_otlp_client_key(otlp_client_key, into),
    }
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: Protocol {
        value: "grpc or http/protobuf",
        default: Derived("(OTEL_EXPORTER_OTLP_PROTOCOL)"),
        meaning: "as OTEL_EXPORTER_OTLP_PROTOCOL, for traces only",
        parse: Protocol::parse,
        builder: with_otlp_traces_protocol(otlp_traces_protocol),
    }
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: Vec<(String, String)> {
        value: "key=value list",
        default: Unset("(OTEL_EXPORTER_OTLP_HEADERS)"),
        meaning: "as OTEL_EXPORTER_OTLP_HEADERS, for traces only",
        parse: parse::headers,
        show: parse::header_keys,
        builder: with_otlp_traces_header,
    }
    OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: Duration {
        value: "milliseconds",
        default: Derived("(OTEL_EXPORTER_OTLP_TIMEOUT)"),
        meaning: "as OTEL_EXPORTER_OTLP_TIMEOUT, for traces only",
        parse: parse::positive_millis,
        check: parse::positive_duration,
        builder: with_otlp_traces_timeout(otlp_traces_timeout),
    }
    OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: Compression {
        value: "gzip or none",
        default: Derived("(OTEL_EXPORTER_OTLP_COMPRESSION)"),
        meaning: "as OTEL_EXPORTER_OTLP_COMPRESSION, for traces only",
        parse: Compression::parse,
        builder: with_otlp_traces_compression(otlp_traces_compression),
    }
    OTEL_EXPORTER_OTLP_TRACES_INSECURE: bool {
        value: "boolean",
        default: Derived("(OTEL_EXPORTER_OTLP_INSECURE)"),
        meaning: "as OTEL_EXPORTER_OTLP_INSECURE, for traces only",
        parse: parse::bool,
        builder: with_otlp_traces_insecure(otlp_traces_insecure),
    }
    OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE: PathBuf {
        value: "file path",
        default: Derived("(OTEL_EXPORTER_OTLP_CERTIFICATE)"),
        meaning: "as OTEL_EXPORTER_OTLP_CERTIFICATE, for traces only",
        parse: parse::file_path,
        check: parse::checked_file_path,
        builder: with_otlp_traces_certificate(otlp_traces_certificate, into),
    }
    OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE: PathBuf {
        value: "file path",
        default: Derived("(OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE)"),
        meaning: "as OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE, for traces only",
        parse: parse::file_path,
        check: parse::checked_file_path,
        builder: with_otlp_traces_client_certificate(otlp_traces_client_certificate, into),
    }
    OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY: PathBuf {
        value: "file path",
        default: Derived("(OTEL_EXPORTER_OTLP_CLIENT_KEY)"),
        meaning: "as OTEL_EXPORTER_OTLP_CLIENT_KEY, for traces only",
        parse: parse::file_path,
        check: parse::checked_file_path,
        builder: with_otlp_traces_client_key(otlp_traces_client_key, into),
    }
    OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: Protocol {
        value: "grpc or http/protobuf",
        default: Derived("(OTEL_EXPORTER_OTLP_PROTOCOL)"),
        meaning: "as OTEL_EXPORTER_OTLP_PROTOCOL, for metrics only",
        parse: Protocol::parse,
        builder: with_otlp_metrics_protocol(otlp_metrics_protocol),
    }
    OTEL_EXPORTER_OTLP_METRICS_HEADERS: Vec<(String, String)> {
        value: "key=value list",
        default: Unset("(OTEL_EXPORTER_OTLP_HEADERS)"),
        meaning: "as OTEL_EXPORTER_OTLP_HEADERS, for metrics only",
        parse: parse::headers,
        show: parse::header_keys,
        builder: with_otlp_metrics_header,
    }
    OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: Duration {
        value: "milliseconds",
        default: Derived("(OTEL_EXPORTER_OTLP_TIMEOUT)"),
        meaning: "as OTEL_EXPORTER_OTLP_TIMEOUT, for metrics only",
        parse: parse::positive_millis,
        check: parse::positive_duration,
        builder: with_otlp_metrics_timeout(otlp_metrics_timeout),
    }
    OTEL_EXPORTER_OTLP_METRICS_COMPRESSION: Compression {
        value: "gzip or none",
        default: Derived("(OTEL_EXPORTER_OTLP_COMPRESSION)"),
        meaning: "as OTEL_EXPORTER_OTLP_COMPRESSION, for metrics only",
        parse: Compression::parse,
        builder: with_otlp_metrics_compression(otlp_metrics_compression),
    }
    OTEL_EXPORTER_OTLP_METRICS_INSECURE: bool {
        value: "boolean",
        default: Derived("(OTEL_EXPORTER_OTLP_INSECURE)"),
        meaning: "as OTEL_EXPORTER_OTLP_INSECURE, for metrics only",
        parse: parse::bool,
        builder: with_otlp_metrics_insecure(otlp_metrics_insecure),
    }
    OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE: PathBuf {
        value: "file path",
        default: Derived("(OTEL_EXPORTER_OTLP_CERTIFICATE)"),
        meaning: "as OTEL_EXPORTER_OTLP_CERTIFICATE, for metrics only",
        parse: parse::file_path,
        check: parse::checked_file_path,
        builder: with_otlp_metrics_certificate(otlp_metrics_certificate, into),
    }
    OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE: PathBuf {
        value: "file path",
        default: Derived("(OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE)"),
        meaning: "as OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE, for metrics only",
        parse: parse::file_path,
        check: parse::checked_file_path,
        builder: with_otlp_metrics_client_certificate(otlp_metrics_client_certificate, into),
    }
    OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY: PathBuf {
        value: "file path",
        default: Derived("(OTEL_EXPORTER_OTLP_CLIENT_KEY)"),
        meaning: "as OTEL_EXPORTER_OTLP_CLIENT_KEY, for metrics only",
        parse: parse::file_path,
        check: parse::checked_file_path,
        builder: with_otlp_metrics_client_key(otlp_metrics_client_key, into),
    }
    OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: Protocol {
        value: "grpc or http/protobuf",
        default: Derived("(OTEL_EXPORTER_OTLP_PROTOCOL)"),
        meaning: "as OTEL_EXPORTER_OTLP_PROTOCOL, for logs only",
        parse: Protocol::parse,
        builder: with_otlp_logs_protocol(otlp_logs_protocol),
    }
    OTEL_EXPORTER_OTLP_LOGS_HEADERS: Vec<(String, String)> {
        value: "key=value list",
        default: Unset("(OTEL_EXPORTER_OTLP_HEADERS)"),
        meaning: "as OTEL_EXPORTER_OTLP_HEADERS, for logs only",
        parse: parse::headers,
        show: parse::header_keys,
        builder: with_otlp_logs_header,
    }
    OTEL_EXPORTER_OTLP_LOGS_TIMEOUT: Duration {
        value: "milliseconds",
        default: Derived("(OTEL_EXPORTER_OTLP_TIMEOUT)"),
        meaning: "as OTEL_EXPORTER_OTLP_TIMEOUT, for logs only",
        parse: parse::positive_millis,
        check: parse::positive_duration,
        builder: with_otlp_logs_timeout(otlp_logs_timeout),
    }
    OTEL_EXPORTER_OTLP_LOGS_COMPRESSION: Compression {
        value: "gzip or none",
        default: Derived("(OTEL_EXPORTER_OTLP_COMPRESSION)"),
        meaning: "as OTEL_EXPORTER_OTLP_COMPRESSION, for logs only",
        parse: Compression::parse,
        builder: with_otlp_logs_compression(otlp_logs_compression),
    }
    OTEL_EXPORTER_OTLP_LOGS_INSECURE: bool {
        value: "boolean",
        default: Derived("(OTEL_EXPORTER_OTLP_INSECURE)"),
        meaning: "as OTEL_EXPORTER_OTLP_INSECURE, for logs only",
        parse: parse::bool,
        builder: with_otlp_logs_insecure(otlp_logs_insecure),
    }
    OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE: PathBuf {
        value: "file path",
        default: Derived("(OTEL_EXPORTER_OTLP_CERTIFICATE)"),
        meaning: "as OTEL_EXPORTER_OTLP_CERTIFICATE, for logs only",
        parse: parse::file_path,
        check: parse::checked_file_path,
        builder: with_otlp_logs_certificate(otlp_logs_certificate, into),
    }
    OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE: PathBuf {
        value: "file path",
        default: Derived("(OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE)"),
        meaning: "as OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE, for logs only",
        parse: parse::file_path,
        check: parse::checked_file_path,
        builder: with_otlp_logs_client_certificate(otlp_logs_client_certificate, into),
    }
    OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY: PathBuf {
        value: "file path",
        default: Derived("(OTEL_EXPORTER_OTLP_CLIENT_KEY)"),
        meaning: "as OTEL_EXPORTER_OTLP_CLIENT_KEY, for logs only",
        parse: parse::file_path,
        check: parse::checked_file_path,
        builder: with_otlp_logs_client_key(otlp_logs_client_key, into),
    }
    OTEL_TRACES_SAMPLER: SamplerName {
        value: "sampler name",
        default: Parsed("parentbased_always_on"),
        meaning: "always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio",
        parse: SamplerName::parse,
        builder: with_traces_sampler,
    }
    OTEL_TRACES_SAMPLER_ARG: f64 {
        value: "number from 0 to 1",
        default: Parsed("1.0"),
        meaning: "sampling ratio for the *traceidratio samplers",
        parse: parse::ratio,
        check: parse::checked_ratio,
        builder: with_traces_sampler,
    }
    OTEL_TRACES_EXPORTER: Exporters {
        value: "exporter list",
        default: Parsed("otlp"),
        meaning: "otlp, console, none, or otlp,console",
        parse: Exporters::parse,
        builder: with_traces_exporter(traces_exporters),
    }
    OTEL_METRICS_EXPORTER: Exporters {
        value: "exporter list",
        default: Parsed("otlp"),
        meaning: "otlp, console, none, or otlp,console (the Prometheus bridge is separate: PROMETHEUS_ENABLED)",
        parse: Exporters::parse,
        builder: with_metrics_exporter(metrics_exporters),
    }
    OTEL_LOGS_EXPORTER: Exporters {
        value: "exporter list",
        default: Parsed("otlp"),
        meaning: "otlp, console, none, or otlp,console (log lines on stdout are separate: LOG_FORMAT)",
        parse: Exporters::parse,
        builder: with_logs_exporter(logs_exporters),
    }
    OTEL_METRIC_EXPORT_INTERVAL: Duration {
        value: "milliseconds",
        default: Parsed("60000"),
        meaning: "interval between two OTLP metric exports",
        parse: parse::positive_millis,
        check: parse::positive_duration,
        builder: with_metric_export_interval(metric_export_interval),
    }
    OTEL_METRIC_EXPORT_TIMEOUT: Duration {
        value: "milliseconds",
        default: Parsed("30000"),
        meaning: "time allowed for one OTLP metric export, retries included",
        parse: parse::positive_millis,
        check: parse::positive_duration,
        builder: with_metric_export_timeout(metric_export_timeout),
    }
    OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: Temporality {
        value: "cumulative, delta or lowmemory",
        default: Parsed("cumulative"),
        meaning: "aggregation temporality of OTLP metrics (lowmemory: delta for synchronous counters and histograms); the Prometheus bridge is always cumulative",
        parse: parse::temporality,
        builder: with_otlp_metrics_temporality_preference(metrics_temporality),
    }
    OTEL_BSP_SCHEDULE_DELAY: Duration {
        value: "milliseconds",
        default: Parsed("5000"),
        meaning: "delay between two span exports",
        parse: parse::positive_millis,
        check: parse::positive_duration,
        builder: with_bsp_schedule_delay(bsp_schedule_delay),
    }
    OTEL_BSP_EXPORT_TIMEOUT: Duration {
        value: "milliseconds",
        default: Parsed("30000"),
        meaning: "time allowed for one span export, retries included",
        parse: parse::positive_millis,
        check: parse::positive_duration,
        builder: with_bsp_export_timeout(bsp_export_timeout),
    }
    OTEL_BSP_MAX_QUEUE_SIZE: usize {
        value: "count",
        // The specification's 2048 is 40 ms of a saturated worker's spans, too little to ride
        // out a scheduling hiccup of the export threads; 8192 spans take about 8 MiB.
        default: Parsed("8192"),
        meaning: "spans buffered while waiting for export; more are dropped and counted in otelix_exporter_dropped_total",
        parse: parse::positive_usize,
        check: parse::positive_count,
        builder: with_bsp_max_queue_size(bsp_max_queue_size),
    }
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE: usize {
        value: "count",
        default: Parsed("512"),
        meaning: "spans per export request (at most the queue size)",
        parse: parse::positive_usize,
        check: parse::positive_count,
        builder: with_bsp_max_export_batch_size(bsp_max_export_batch_size),
    }
    OTEL_BSP_MAX_CONCURRENT_EXPORTS: usize {
        value: "count",
        default: Parsed("2"),
        meaning: "span export requests in flight at once, each on its own connection",
        parse: parse::positive_usize,
        check: parse::positive_count,
        builder: with_bsp_max_concurrent_exports(bsp_max_concurrent_exports),
    }
    OTEL_BLRP_SCHEDULE_DELAY: Duration {
        value: "milliseconds",
        default: Parsed("1000"),
        meaning: "delay between two log-record exports",
        parse: parse::positive_millis,
        check: parse::positive_duration,
        builder: with_blrp_schedule_delay(blrp_schedule_delay),
    }
    OTEL_BLRP_EXPORT_TIMEOUT: Duration {
        value: "milliseconds",
        default: Parsed("30000"),
        meaning: "time allowed for one log-record export, retries included",
        parse: parse::positive_millis,
        check: parse::positive_duration,
        builder: with_blrp_export_timeout(blrp_export_timeout),
    }
    OTEL_BLRP_MAX_QUEUE_SIZE: usize {
        value: "count",
        default: Parsed("2048"),
        meaning: "log records buffered while waiting for export; more are dropped and counted in otelix_exporter_dropped_total",
        parse: parse::positive_usize,
        check: parse::positive_count,
        builder: with_blrp_max_queue_size(blrp_max_queue_size),
    }
    OTEL_BLRP_MAX_EXPORT_BATCH_SIZE: usize {
        value: "count",
        default: Parsed("512"),
        meaning: "log records per export request (at most the queue size)",
        parse: parse::positive_usize,
        check: parse::positive_count,
        builder: with_blrp_max_export_batch_size(blrp_max_export_batch_size),
    }
    APP_ENV: Environment {
        value: "development or production",
        default: Parsed("development"),
        meaning: "log format default, /metrics/summary, slow-query log location",
        parse: Environment::parse,
        builder: with_app_env(environment),
    }
    PROMETHEUS_ENABLED: bool {
        value: "boolean",
        default: Derived("true (false in a build without the prometheus feature)"),
        meaning: "serve the OTel metrics through the Prometheus bridge",
        parse: parse::bool,
        builder: with_prometheus_enabled(prometheus_enabled),
    }
    METRICS_ENDPOINT: String {
        value: "URL path",
        default: Parsed("/metrics"),
        meaning: "path of the Prometheus scrape endpoint",
        parse: parse::route_path,
        check: parse::owned_route_path,
        builder: with_metrics_endpoint(metrics_path, into),
    }
    OTELIX_EXEMPLARS: bool {
        value: "boolean",
        default: Parsed("true"),
        meaning: "keep the latest sampled trace ID per duration-histogram bucket and serve it as an exemplar to OpenMetrics scrapes of /metrics",
        parse: parse::bool,
        builder: with_exemplars(exemplars),
    }
    METRICS_ADDR: SocketAddr {
        value: "address:port",
        default: Unset("(unset: the application's own listener)"),
        meaning: "serve /metrics and /metrics/summary on a listener of their own at this address, such as 127.0.0.1:9464, and not on the application's",
        parse: parse::socket_addr,
        builder: with_metrics_addr(metrics_addr),
    }
    METRICS_BEARER_TOKEN: Secret {
        value: "secret",
        default: Unset("(unset: no token)"),
        meaning: "when set (16 to 256 visible ASCII characters), /metrics and /metrics/summary answer 401 unless the request carries Authorization: Bearer <token>",
        parse: parse::bearer_token,
        check: parse::checked_bearer_token,
        show: parse::hidden,
        builder: with_metrics_bearer_token,
    }
    LOG_FORMAT: LogFormat {
        value: "json or pretty",
        default: Derived("pretty in development, json in production"),
        meaning: "json or pretty log lines on stdout",
        parse: LogFormat::parse,
        builder: with_log_format(log_format),
    }
    RUST_LOG: String {
        value: "filter directives",
        default: Parsed("info"),
        meaning: "tracing filter directives, such as info,sqlx=warn",
        parse: parse::filter,
        check: parse::owned_filter,
        builder: with_rust_log(log_filter, into),
    }
    OTELIX_SHUTDOWN_TIMEOUT: Duration {
        value: "milliseconds",
        default: Parsed("5000"),
        meaning: "upper bound for flushing telemetry at shutdown",
        parse: parse::positive_millis,
        check: parse::positive_duration,
        builder: with_shutdown_timeout(shutdown_timeout),
    }
    SLOW_QUERY_THRESHOLD_SECONDS: Duration {
        value: "seconds",
        default: Parsed("1.0"),
        meaning: "a database span at least this long is logged as a slow query (severity warning)",
        parse: parse::positive_seconds,
        check: parse::positive_duration,
        builder: with_slow_query_threshold(slow_query_threshold),
    }
    SLOW_QUERY_CRITICAL_SECONDS: Duration {
        value: "seconds",
        default: Parsed("5.0"),
        meaning: "a database span at least this long is logged with severity critical; at least the threshold",
        parse: parse::positive_seconds,
        check: parse::positive_duration,
        builder: with_slow_query_critical(slow_query_critical),
    }
    SLOW_QUERY_LOG_FILE: PathBuf {
        value: "file path",
        default: Derived("./logs/slow_queries.log in development, /var/log/<service>/slow_queries.log in production"),
        meaning: "JSON-lines slow-query and N+1 log; created, with missing directories, when its first line is written (nothing at start-up); a path that can never be written is reported at start-up",
        parse: parse::file_path,
        check: parse::checked_file_path,
        builder: with_slow_query_log_file(slow_query_log_file, into),
    }
    SLOW_QUERY_LOG_MAX_BYTES: u64 {
        value: "bytes",
        default: Parsed("10485760"),
        meaning: "the slow-query log rotates before passing this size; 0 never rotates",
        parse: parse::whole_number,
        builder: with_slow_query_log_max_bytes(slow_query_log_max_bytes),
    }
    SLOW_QUERY_LOG_BACKUPS: usize {
        value: "count",
        default: Parsed("5"),
        meaning: "rotated slow-query logs kept (slow_queries.log.1 to .N)",
        parse: parse::whole_usize,
        builder: with_slow_query_log_backups(slow_query_log_backups),
    }
    N_PLUS_ONE_THRESHOLD: usize {
        value: "count",
        default: Parsed("10"),
        meaning: "this many runs of one statement under one parent span are reported as N+1; 0 turns detection off",
        parse: parse::whole_usize,
        builder: with_n_plus_one_threshold(n_plus_one_threshold),
    }
}
