//! The metric table. Descriptions are the instruments' descriptions, word for word, so that
//! `# HELP` and the docs say the same.

use opentelemetry_semantic_conventions::{attribute as semattr, metric as semmetric};

use super::attributes::{
    CACHE_NAME, CACHE_OPERATION, CACHE_RESULT, JOB_NAME, OTELIX_OPERATION, OUTCOME, REASON,
    SEVERITY, SIGNAL,
};
use super::{Attribute, Metric, MetricKind};

const ON_FAILURE: &str = "on failure";
const WHEN_KNOWN: &str = "when known";
const HTTP_CALLS: &str = "on HTTP calls";
const ERROR_TYPE: Attribute = Attribute::new(semattr::ERROR_TYPE).when(ON_FAILURE);
const DB_SYSTEM_NAME: Attribute = Attribute::new(semattr::DB_SYSTEM_NAME);
const DB_COLLECTION_NAME: Attribute = Attribute::new(semattr::DB_COLLECTION_NAME).when(WHEN_KNOWN);
const DB_OPERATION_NAME: Attribute = Attribute::new(semattr::DB_OPERATION_NAME).when(WHEN_KNOWN);
const URL_SCHEME: Attribute = Attribute::new(semattr::URL_SCHEME).one_of(&["http", "https"]);
const CACHE_ATTRIBUTES: &[Attribute] = &[
    Attribute::new(CACHE_NAME),
    Attribute::new(CACHE_OPERATION).one_of(&["get", "set", "delete"]),
    Attribute::new(CACHE_RESULT).one_of(&["hit", "miss", "ok", "error"]),
];
const JOB_ATTRIBUTES: &[Attribute] = &[
    Attribute::new(JOB_NAME),
    Attribute::new(OUTCOME).one_of(&["success", "failure"]),
];

/// Every metric otelix records, in the order the docs list them.
pub const METRICS: &[Metric] = &[
    HTTP_SERVER_REQUEST_DURATION,
    HTTP_SERVER_ACTIVE_REQUESTS,
    DB_CLIENT_OPERATION_DURATION,
    DB_SLOW_QUERIES,
    DB_N_PLUS_ONE,
    SLOW_QUERY_DROPPED,
    CACHE_REQUESTS,
    CACHE_OPERATION_DURATION,
    HTTP_CLIENT_REQUEST_DURATION,
    JOB_DURATION,
    JOB_RUNS,
    JOB_LAST_SUCCESS_TIMESTAMP,
    EXPORTER_DROPPED,
];

/// `http.server.request.duration`: each HTTP request the service answered, recorded by the
/// actix middleware when the response is done. `http.route` is the route template, absent
/// when no route matched.
pub const HTTP_SERVER_REQUEST_DURATION: Metric = Metric {
    name: semmetric::HTTP_SERVER_REQUEST_DURATION,
    kind: MetricKind::Histogram,
    unit: "s",
    description: "Duration of HTTP server requests.",
    attributes: &[
        Attribute::new(semattr::HTTP_REQUEST_METHOD),
        Attribute::new(semattr::HTTP_ROUTE).when("when a route matched"),
        Attribute::new(semattr::HTTP_RESPONSE_STATUS_CODE).when("when a response was sent"),
        URL_SCHEME,
        ERROR_TYPE,
    ],
    prometheus: "http_server_request_duration_seconds",
};

/// `http.server.active_requests`: requests in flight in the actix middleware.
pub const HTTP_SERVER_ACTIVE_REQUESTS: Metric = Metric {
    name: semmetric::HTTP_SERVER_ACTIVE_REQUESTS,
    kind: MetricKind::UpDownCounter,
    unit: "{request}",
    description: "Number of active HTTP server requests.",
    attributes: &[Attribute::new(semattr::HTTP_REQUEST_METHOD), URL_SCHEME],
    prometheus: "http_server_active_requests",
};

/// `db.client.operation.duration`: each query through an instrumented sqlx pool.
pub const DB_CLIENT_OPERATION_DURATION: Metric = Metric {
    name: semmetric::DB_CLIENT_OPERATION_DURATION,
    kind: MetricKind::Histogram,
    unit: "s",
    description: "Duration of database client operations.",
    attributes: &[
        DB_SYSTEM_NAME,
        DB_COLLECTION_NAME,
        DB_OPERATION_NAME,
        ERROR_TYPE,
    ],
    prometheus: "db_client_operation_duration_seconds",
};

/// `otelix.db.slow_queries`: database spans over the slow-query thresholds, counted by the
/// `SlowQueryProcessor`; each is also a line in the slow-query log.
pub const DB_SLOW_QUERIES: Metric = Metric {
    name: "otelix.db.slow_queries",
    kind: MetricKind::Counter,
    unit: "{query}",
    description: "Database queries at or above the slow-query threshold",
    attributes: &[
        Attribute::new(SEVERITY).one_of(&["warning", "critical"]),
        DB_SYSTEM_NAME,
        DB_COLLECTION_NAME,
        DB_OPERATION_NAME,
    ],
    prometheus: "otelix_db_slow_queries_total",
};

/// `otelix.db.n_plus_one`: N+1 query patterns found by the `SlowQueryProcessor`; each is also
/// a `"kind":"n_plus_one"` line in the slow-query log.
pub const DB_N_PLUS_ONE: Metric = Metric {
    name: "otelix.db.n_plus_one",
    kind: MetricKind::Counter,
    unit: "{occurrence}",
    description: "N+1 query patterns: one statement run repeatedly under one parent span",
    attributes: &[DB_SYSTEM_NAME, DB_COLLECTION_NAME],
    prometheus: "otelix_db_n_plus_one_total",
};

/// `otelix.slow_query.dropped`: slow-query records the `SlowQueryProcessor` lost; every
/// reason is observed from the start, at 0 until a record is lost.
pub const SLOW_QUERY_DROPPED: Metric = Metric {
    name: "otelix.slow_query.dropped",
    kind: MetricKind::ObservableCounter,
    unit: "{record}",
    description: "Slow-query records lost because the queue was full or the log file could not \
                  be written",
    attributes: &[Attribute::new(REASON).one_of(&["queue_full", "worker_stopped", "write_failed"])],
    prometheus: "otelix_slow_query_dropped_total",
};

/// `otelix.cache.requests`: every operation of an `InstrumentedCache`, by result.
pub const CACHE_REQUESTS: Metric = Metric {
    name: "otelix.cache.requests",
    kind: MetricKind::Counter,
    unit: "{request}",
    description: "Cache requests by cache, operation and result.",
    attributes: CACHE_ATTRIBUTES,
    prometheus: "otelix_cache_requests_total",
};

/// `otelix.cache.operation.duration`: how long each operation of an `InstrumentedCache` took.
pub const CACHE_OPERATION_DURATION: Metric = Metric {
    name: "otelix.cache.operation.duration",
    kind: MetricKind::Histogram,
    unit: "s",
    description: "Duration of cache operations.",
    attributes: CACHE_ATTRIBUTES,
    prometheus: "otelix_cache_operation_duration_seconds",
};

/// `http.client.request.duration`: each call to another service, through `ExternalClient`
/// (which adds the HTTP attributes) or a tracked future. `service.peer.name` names the
/// dependency.
pub const HTTP_CLIENT_REQUEST_DURATION: Metric = Metric {
    name: semmetric::HTTP_CLIENT_REQUEST_DURATION,
    kind: MetricKind::Histogram,
    unit: "s",
    description: "Duration of calls to external services.",
    attributes: &[
        Attribute::new(semattr::HTTP_REQUEST_METHOD).when(HTTP_CALLS),
        Attribute::new(semattr::SERVER_ADDRESS).when(HTTP_CALLS),
        Attribute::new(semattr::SERVER_PORT).when(HTTP_CALLS),
        Attribute::new(semattr::SERVICE_PEER_NAME),
        Attribute::new(OTELIX_OPERATION),
        Attribute::new(semattr::HTTP_RESPONSE_STATUS_CODE).when("when a response came back"),
        ERROR_TYPE,
    ],
    prometheus: "http_client_request_duration_seconds",
};

/// `otelix.job.duration`: how long each background job run took.
pub const JOB_DURATION: Metric = Metric {
    name: "otelix.job.duration",
    kind: MetricKind::Histogram,
    unit: "s",
    description: "Duration of background job runs.",
    attributes: JOB_ATTRIBUTES,
    prometheus: "otelix_job_duration_seconds",
};

/// `otelix.job.runs`: background job runs by outcome.
pub const JOB_RUNS: Metric = Metric {
    name: "otelix.job.runs",
    kind: MetricKind::Counter,
    unit: "{run}",
    description: "Background job runs by outcome.",
    attributes: JOB_ATTRIBUTES,
    prometheus: "otelix_job_runs_total",
};

/// `otelix.job.last_success_timestamp`: when each job last succeeded, in Unix seconds, so
/// that `time() - otelix_job_last_success_timestamp_seconds > N` alerts on a job that stopped
/// succeeding, whether it fails or stopped running.
pub const JOB_LAST_SUCCESS_TIMESTAMP: Metric = Metric {
    name: "otelix.job.last_success_timestamp",
    kind: MetricKind::Gauge,
    unit: "s",
    description: "Unix time of each job's last successful run.",
    attributes: &[Attribute::new(JOB_NAME)],
    prometheus: "otelix_job_last_success_timestamp_seconds",
};

/// `otelix.exporter.dropped`: spans and log records the batch export processors dropped, and
/// metric data points the OTLP metric exporter dropped, instead of exporting them; every
/// signal and reason is observed from the start, at 0 until an item is lost.
pub const EXPORTER_DROPPED: Metric = Metric {
    name: "otelix.exporter.dropped",
    kind: MetricKind::ObservableCounter,
    unit: "{item}",
    description: "Telemetry items (spans, metric data points, log records) dropped instead of \
                  exported: queue full, export failed (refused for good, or not delivered within \
                  the export timeout, retries included), rejected by the collector (partial \
                  success), or shutdown",
    attributes: &[
        Attribute::new(SIGNAL).one_of(&["traces", "metrics", "logs"]),
        Attribute::new(REASON).one_of(&["queue_full", "export_failed", "rejected", "shutdown"]),
    ],
    prometheus: "otelix_exporter_dropped_total",
};
