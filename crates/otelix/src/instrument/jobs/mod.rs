//! Background job runs: each run a root span linked to its caller, with duration, outcome and
//! last-success metrics, and panics caught instead of taking the process down.
//!
//! - [`JobTracker::track`] with a tracker built from a `TelemetryHandle`, or
//! - [`track_job`] with the process-wide [`JobTracker::global`], or
//! - `#[otelix::job(name = "...")]` on an `async fn` ([`track_job`] around its body).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let config = otelix::Config::builder()
//! #     .with_traces_exporter(otelix::Exporters::NONE)
//! #     .with_metrics_exporter(otelix::Exporters::NONE)
//! #     .with_logs_exporter(otelix::Exporters::NONE)
//! #     .build_from_vars(Vec::<(String, String)>::new())?;
//! # let telemetry = otelix::Telemetry::builder(config).build()?;
//! use otelix::jobs::{JobError, JobTracker};
//!
//! let jobs = JobTracker::new(&telemetry.handle());
//! let sent = jobs.track("dunning_reminder", async { Ok::<_, std::io::Error>(3) }).await?;
//! assert_eq!(sent, 3);
//!
//! async fn render_digest() {
//!     panic!("template missing");
//! }
//! let crashed = jobs.track("digest", render_digest()).await;
//! assert!(matches!(crashed, Err(JobError::<std::convert::Infallible>::Panicked { .. })));
//!
//! let text = telemetry.handle().render_prometheus()?;
//! assert!(text.contains("otelix_job_last_success_timestamp_seconds"));
//! # Ok(())
//! # }
//! ```

mod error;
mod tracker;

pub use error::JobError;
pub use tracker::{track_job, JobOutput, JobResult, JobTracker, CANCELLED, PANIC};
