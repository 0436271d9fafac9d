//! An in-process OTLP receiver and a Prometheus/OpenMetrics text parser, for tests of
//! exported telemetry.
//!
//! [`Receiver::start`] binds OTLP/gRPC and OTLP/HTTP (protobuf, optionally gzip) on free
//! ports of `127.0.0.1` and serves them from its own runtime on a background thread, so it
//! works from plain `#[test]`s, `#[tokio::test]`, `#[actix_rt::test]` or any executor.
//! Everything that arrives is recorded with its resource attributes and scope name;
//! tests read snapshots ([`Receiver::spans`], [`Receiver::counts`], ...) or wait for the
//! first matching item ([`Receiver::wait_for_span`] and its blocking twin).
//! [`Behavior`] makes the receiver refuse (retryably or not, see [`Refusal`]), hang or answer
//! late, to test exporter failure handling; [`Receiver::requests`] lists every request with
//! its encoding and a digest, so that a batch sent again can be told from a new one.
//!
//! ```no_run
//! use std::time::Duration;
//! use otelix_testkit::Receiver;
//!
//! # fn main() -> Result<(), otelix_testkit::TestkitError> {
//! let receiver = Receiver::start()?;
//! // Point the OTLP exporter under test at `receiver.grpc_endpoint()`
//! // (or `receiver.http_endpoint()`), then produce telemetry and flush it.
//! let span = receiver.wait_for_span_blocking(
//!     |span| span.name() == "GET /health",
//!     Duration::from_secs(5),
//! )?;
//! assert_eq!(span.attr_str("http.route").as_deref(), Some("/health"));
//! assert_eq!(span.trace_id().len(), 32);
//! assert_eq!(receiver.counts().spans, 1);
//! # Ok(())
//! # }
//! ```
//!
//! [`exposition`] parses what `/metrics` serves (Prometheus text 0.0.4 or OpenMetrics 1.0)
//! into families and samples to query by name and labels: see its example.
//!
//! [`generated`] keeps tables in the docs equal to what the code produces.
//!
//! The `otelix-receiver` binary runs the receiver on fixed addresses and prints its counts as
//! JSON lines, for benchmark scripts: `cargo run -p otelix-testkit --bin otelix-receiver -- --help`.
#![deny(missing_docs)]

mod behavior;
mod error;
pub mod exposition;
pub mod generated;
mod grpc;
mod http;
mod received;
mod receiver;
mod requests;
mod store;

pub use behavior::{Behavior, Refusal};
pub use error::TestkitError;
pub use received::{AttrValue, ReceivedLog, ReceivedMetric, ReceivedSpan, Transport};
pub use receiver::{Receiver, ReceiverBuilder};
pub use requests::{ExportRequest, Signal};
pub use store::Counts;

/// The largest export request accepted, compressed or not, on either transport (64 MiB).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;
