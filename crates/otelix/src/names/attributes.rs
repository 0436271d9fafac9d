//! The attribute keys otelix defines itself. No semantic convention covers these; where one
//! does, otelix uses its key from `opentelemetry-semantic-conventions` instead.

/// The logical operation of an external call (`create_payment`), a name chosen in code.
///
/// No semantic convention names a client-side business operation: `rpc.method` is for RPC
/// systems and `url.template` for HTTP route templates.
pub const OTELIX_OPERATION: &str = "otelix.operation";

/// The logical cache name given to [`InstrumentedCache::new`](crate::cache::InstrumentedCache::new)
/// (`members`).
pub const CACHE_NAME: &str = "cache.name";
/// The cache operation: `get`, `set` or `delete`.
pub const CACHE_OPERATION: &str = "cache.operation";
/// A cache operation's result: `hit`, `miss` or `error` for `get`; `ok` or `error` for `set`
/// and `delete`.
pub const CACHE_RESULT: &str = "cache.result";
/// Span attribute only: the key's prefix, when
/// [`InstrumentedCache::with_key_prefix`](crate::cache::InstrumentedCache::with_key_prefix)
/// asks for it.
pub const CACHE_KEY_PREFIX: &str = "cache.key_prefix";

/// A background job's name, a fixed name chosen in code (`dunning_reminder`).
pub const JOB_NAME: &str = "job.name";
/// A job run's outcome: `success` or `failure`.
pub const OUTCOME: &str = "outcome";

/// A slow query's severity: `warning` or `critical`.
pub const SEVERITY: &str = "severity";

/// Which signal an exporter dropped items of: `traces` or `logs`.
pub const SIGNAL: &str = "signal";
/// Why items were dropped (`queue_full`, ...).
pub const REASON: &str = "reason";

/// Span attribute only: a client-supplied `X-Request-ID`, sanitized, on the HTTP server span.
/// It is the conventions' `http.request.header.<key>` for the one header otelix captures.
pub const CLIENT_REQUEST_ID: &str = "http.request.header.x-request-id";
