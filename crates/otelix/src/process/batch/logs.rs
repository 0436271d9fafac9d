//! [`BatchLogExportProcessor`]: the batch queue as the SDK's log processor.

use std::time::Duration;

use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter, LogProcessor, SdkLogRecord};
use opentelemetry_sdk::Resource;

use super::queue::{Batcher, OtlpExporters};
use super::worker::Exporter;
use super::ExportHandle;
use crate::config::{BatchSettings, Signal};

/// A log record and its scope, owned by the queue (the SDK hands them over by reference).
type LogItem = Box<(SdkLogRecord, InstrumentationScope)>;

impl<E: LogExporter + 'static> Exporter<LogItem> for E {
    fn set_resource(&mut self, resource: &Resource) {
        LogExporter::set_resource(self, resource);
    }

    async fn export(&self, batch: Vec<LogItem>) -> OTelSdkResult {
        let records: Vec<(&SdkLogRecord, &InstrumentationScope)> =
            batch.iter().map(|item| (&item.0, &item.1)).collect();
        LogExporter::export(self, LogBatch::new(&records)).await
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        LogExporter::shutdown_with_timeout(self, timeout)
    }
}

/// The log-record counterpart of [`BatchExportProcessor`](crate::BatchExportProcessor): the
/// same bounded queue, export threads, back-off and drop counting (`signal="logs"` in
/// `otelix.exporter.dropped`), with the `OTEL_BLRP_*` settings. Each record is copied, with its scope, into the queue, as the
/// SDK's batch processor does.
#[derive(Debug)]
pub struct BatchLogExportProcessor {
    batcher: Batcher<LogItem>,
}

impl BatchLogExportProcessor {
    /// A processor exporting through `exporters`, one export thread each.
    pub fn new<E>(exporters: Vec<E>, settings: BatchSettings) -> Self
    where
        E: LogExporter + 'static,
    {
        BatchLogExportProcessor {
            batcher: Batcher::new(Signal::Logs, exporters, settings, None),
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
        E: LogExporter + 'static,
    {
        BatchLogExportProcessor {
            batcher: Batcher::new(Signal::Logs, exporters, settings, Some(otlp)),
        }
    }

    /// Counters of the log records this processor dropped; usable after the processor moved
    /// into a logger provider.
    pub fn handle(&self) -> ExportHandle {
        self.batcher.handle()
    }
}

impl LogProcessor for BatchLogExportProcessor {
    fn emit(&self, record: &mut SdkLogRecord, scope: &InstrumentationScope) {
        self.batcher.push(Box::new((record.clone(), scope.clone())));
    }

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
