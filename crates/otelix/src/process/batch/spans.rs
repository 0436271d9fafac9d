//! [`BatchExportProcessor`]: the batch queue as the SDK's span processor.

use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use opentelemetry_sdk::Resource;

use super::queue::{Batcher, OtlpExporters};
use super::worker::Exporter;
use super::ExportHandle;
use crate::config::{BatchSettings, Signal};

impl<E: SpanExporter + 'static> Exporter<SpanData> for E {
    fn set_resource(&mut self, resource: &Resource) {
        SpanExporter::set_resource(self, resource);
    }

    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        SpanExporter::export(self, batch).await
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        SpanExporter::shutdown_with_timeout(self, timeout)
    }
}

/// A span processor for throughput: a bounded queue filled without blocking, batches exported
/// by dedicated threads with several exports in flight, and every span it loses counted by
/// reason (see [`ExportHandle`] and the `otelix.exporter.dropped` metric).
///
/// - `on_end` moves a sampled span into the current batch; when the queue already holds
///   `max_queue_size` spans it drops the span instead (`queue_full`) and never blocks.
/// - A batch is sealed when it reaches `max_export_batch_size` spans, or when
///   `schedule_delay` passed since the last export, and goes to the next free export thread.
///   There is one export thread per exporter given to [`BatchExportProcessor::new`], so that
///   many exports run at once, each exporter only ever running one (the SDK's contract).
/// - An export that fails or takes longer than `export_timeout` loses its batch
///   (`export_failed`); the thread then waits before its next export (100 ms, doubling up to
///   5 s, while exports keep failing).
/// - `force_flush` and `shutdown` export everything queued; spans ending after shutdown, and
///   spans still queued when the shutdown deadline passes, are dropped (`shutdown`).
#[derive(Debug)]
pub struct BatchExportProcessor {
    batcher: Batcher<SpanData>,
}

impl BatchExportProcessor {
    /// A processor exporting through `exporters`, one export thread each (so
    /// `exporters.len()` exports can be in flight), with the queue and batch sizes, the
    /// schedule delay and the export timeout of `settings`.
    pub fn new<E>(exporters: Vec<E>, settings: BatchSettings) -> Self
    where
        E: SpanExporter + 'static,
    {
        BatchExportProcessor {
            batcher: Batcher::new(Signal::Traces, exporters, settings, None),
        }
    }

    /// A processor for otelix's own OTLP exporters, which retry within the export timeout,
    /// count their items in `otlp.drops` and stop retrying at the shutdown deadline.
    pub(crate) fn for_otlp<E>(
        exporters: Vec<E>,
        settings: BatchSettings,
        otlp: OtlpExporters,
    ) -> Self
    where
        E: SpanExporter + 'static,
    {
        BatchExportProcessor {
            batcher: Batcher::new(Signal::Traces, exporters, settings, Some(otlp)),
        }
    }

    /// Counters of the spans this processor dropped; usable after the processor moved into
    /// a tracer provider.
    pub fn handle(&self) -> ExportHandle {
        self.batcher.handle()
    }
}

impl SpanProcessor for BatchExportProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        // Recorded but unsampled spans (database spans kept for slow-query detection) are
        // not exported.
        if span.span_context.is_sampled() {
            self.batcher.push(span);
        }
    }

    /// Exports everything queued now, waiting at most twice the export timeout.
    fn force_flush(&self) -> OTelSdkResult {
        self.batcher.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.batcher.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.batcher.start_workers(Some(resource));
    }
}
