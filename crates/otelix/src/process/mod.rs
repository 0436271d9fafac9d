//! Span and log-record processors, between the SDK's providers and the exporters: the batch
//! export processors ([`BatchExportProcessor`], [`BatchLogExportProcessor`]: bounded queues,
//! counted drops) and the [`SlowQueryProcessor`] (slow queries and N+1 patterns, from any
//! database span).

mod batch;
mod slow_query;

pub(crate) use batch::register_dropped_metric;
pub use batch::{BatchExportProcessor, BatchLogExportProcessor, ExportHandle};
pub use slow_query::{SlowQueryHandle, SlowQueryProcessor};
