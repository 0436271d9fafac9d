//! [`SlowQuerySettings`]: what the slow-query processor looks for and where it writes. The
//! defaults of the settings that have a variable are the settings table's.

use std::path::PathBuf;
use std::time::Duration;

/// What [`SlowQueryProcessor`](crate::SlowQueryProcessor) looks for and where it writes. Each
/// field with a variable has that variable's default.
///
/// ```
/// use std::time::Duration;
/// use otelix::SlowQuerySettings;
///
/// let settings = SlowQuerySettings {
///     threshold: Duration::from_millis(500),
///     log_file: "/var/log/checkout/slow_queries.log".into(),
///     ..SlowQuerySettings::default()
/// };
/// assert_eq!(settings.critical, Duration::from_secs(5));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlowQuerySettings {
    /// A database span at least this long is a slow query of severity `warning`
    /// (`SLOW_QUERY_THRESHOLD_SECONDS`).
    pub threshold: Duration,
    /// A database span at least this long is a slow query of severity `critical`, whatever
    /// `threshold` says (`SLOW_QUERY_CRITICAL_SECONDS`).
    pub critical: Duration,
    /// The JSON-lines file. It is created, with missing directories, when the first line is
    /// written, not before (`SLOW_QUERY_LOG_FILE`; this struct's default is the development
    /// one, `./logs/slow_queries.log`).
    pub log_file: PathBuf,
    /// The file is rotated before a line would take it past this size; 0 never rotates
    /// (`SLOW_QUERY_LOG_MAX_BYTES`).
    pub max_bytes: u64,
    /// Rotated files kept: `slow_queries.log.1` (newest) to `slow_queries.log.N`; 0 keeps
    /// none (`SLOW_QUERY_LOG_BACKUPS`).
    pub backups: usize,
    /// This many runs of the same statement under one parent span make an N+1 report; 0
    /// turns N+1 detection off (`N_PLUS_ONE_THRESHOLD`).
    pub n_plus_one_threshold: usize,
    /// Records waiting for the worker; when full, records are dropped and counted in
    /// `otelix.slow_query.dropped`. At least 1. Default: 4096.
    pub queue_capacity: usize,
    /// N+1 state of a trace whose local root span has not ended is dropped this long after
    /// its first database span. Default: 60 s.
    pub n_plus_one_trace_timeout: Duration,
}

impl Default for SlowQuerySettings {
    fn default() -> Self {
        use super::settings::*;
        SlowQuerySettings {
            threshold: SLOW_QUERY_THRESHOLD_SECONDS.parsed_default(),
            critical: SLOW_QUERY_CRITICAL_SECONDS.parsed_default(),
            log_file: super::resolve::development_slow_query_log(),
            max_bytes: SLOW_QUERY_LOG_MAX_BYTES.parsed_default(),
            backups: SLOW_QUERY_LOG_BACKUPS.parsed_default(),
            n_plus_one_threshold: N_PLUS_ONE_THRESHOLD.parsed_default(),
            queue_capacity: 4096,
            n_plus_one_trace_timeout: Duration::from_secs(60),
        }
    }
}
