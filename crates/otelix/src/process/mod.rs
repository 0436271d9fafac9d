//! Span and log-record processors, between the SDK's providers and the exporters: the batch
//! export processors ([`BatchExportProcessor`], [`BatchLogExportProcessor`]: bounded queues,
//! counted drops) and the [`SlowQueryProcessor`] (slow queries and N+1 patterns, from any
//! database span).

mod batch;
mod slow_query;

#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
pub(crate) use batch::DropReason;
pub(crate) use batch::{register_dropped_metric, DropCounter, OtlpExporters};
pub use batch::{BatchExportProcessor, BatchLogExportProcessor, ExportHandle};
pub use slow_query::{SlowQueryHandle, SlowQueryProcessor, SlowQuerySettings};
