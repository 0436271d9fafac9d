//! Providers, exporters, the `tracing` subscriber and the [`Telemetry`] guard.
//!
//! [`init`] builds everything from a [`Config`] and installs it globally; [`Telemetry::builder`]
//! builds the same without touching process-global state (for tests and for embedding).
//!
//! | file | what it holds |
//! |---|---|
//! | `builder` | [`TelemetryBuilder`]: the providers, the export runtime and the subscriber, assembled |
//! | `telemetry` | [`Telemetry`]: the running guard, flush and shutdown |
//! | `handle` | [`TelemetryHandle`]: what handlers and middleware hold; the `/metrics` rendering |
//! | `error` | [`InitError`], [`ShutdownError`], [`FlushError`], [`RenderError`] |
//! | `traces`, `metrics`, `logs`, `resource` | each signal's pieces: sampler and processor wiring, duration buckets, log lines, the resource |
//! | `shutdown` | flushing the three providers within one deadline |
//! | `report` | [`ShutdownReport`]: per signal, where it went, what was exported and lost, and why |

mod builder;
mod error;
mod handle;
mod logs;
mod metrics;
mod report;
mod resource;
mod shutdown;
mod telemetry;
mod traces;

pub use builder::TelemetryBuilder;
pub use error::{FlushError, FlushFailure, InitError, RenderError, ShutdownError};
pub use handle::TelemetryHandle;
pub(crate) use logs::RateLimiter;
pub use metrics::DURATION_BUCKETS_SECONDS;
pub use report::{Dropped, FlushOutcome, ShutdownReport, SignalReport};
pub use telemetry::Telemetry;

use crate::config::Config;

/// The instrumentation scope of everything otelix itself records.
pub const SCOPE_NAME: &str = "otelix";

/// Sets up telemetry from `config` and installs it globally. Keep the returned guard alive for
/// the life of the service; dropping it (or calling [`Telemetry::shutdown`]) flushes.
///
/// # Errors
///
/// See [`TelemetryBuilder::init`].
pub fn init(config: Config) -> Result<Telemetry, InitError> {
    Telemetry::builder(config).init()
}
