//! The export requests as they arrived: which signal, how they were encoded, what they carried
//! and how they were answered, so that tests can tell a batch sent again from a new one.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Instant;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

use crate::received::data_point_count;
use crate::{Refusal, Transport};

/// The signal an export request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    /// `ExportTraceServiceRequest`: spans.
    Traces,
    /// `ExportMetricsServiceRequest`: metric data points.
    Metrics,
    /// `ExportLogsServiceRequest`: log records.
    Logs,
}

/// One well-formed export request, accepted or refused, as [`Receiver::requests`] lists it.
///
/// [`Receiver::requests`]: crate::Receiver::requests
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExportRequest {
    /// What it carried.
    pub signal: Signal,
    /// The transport it came over.
    pub transport: Transport,
    /// Whether its body was gzip-compressed (HTTP `Content-Encoding`, gRPC `grpc-encoding`).
    pub gzip: bool,
    /// Its spans, metric data points or log records.
    pub items: u64,
    /// A digest of its message: the same batch sent again has the same digest.
    pub digest: u64,
    /// The refusal it was answered with; `None` when it was accepted.
    pub refused: Option<Refusal>,
    /// When it arrived: the time between two sends of one batch is the exporter's back-off.
    pub received_at: Instant,
}

/// An OTLP export request message.
pub(crate) trait ExportMessage: Message + Sized {
    const SIGNAL: Signal;
    fn items(&self) -> u64;

    fn describe(
        &self,
        transport: Transport,
        gzip: bool,
        refused: Option<Refusal>,
    ) -> ExportRequest {
        let mut hasher = DefaultHasher::new();
        self.encode_to_vec().hash(&mut hasher);
        ExportRequest {
            signal: Self::SIGNAL,
            transport,
            gzip,
            items: self.items(),
            digest: hasher.finish(),
            refused,
            received_at: Instant::now(),
        }
    }
}

impl ExportMessage for ExportTraceServiceRequest {
    const SIGNAL: Signal = Signal::Traces;
    fn items(&self) -> u64 {
        self.resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len() as u64)
            .sum()
    }
}

impl ExportMessage for ExportMetricsServiceRequest {
    const SIGNAL: Signal = Signal::Metrics;
    fn items(&self) -> u64 {
        self.resource_metrics
            .iter()
            .flat_map(|r| &r.scope_metrics)
            .flat_map(|s| &s.metrics)
            .map(|m| data_point_count(m) as u64)
            .sum()
    }
}

impl ExportMessage for ExportLogsServiceRequest {
    const SIGNAL: Signal = Signal::Logs;
    fn items(&self) -> u64 {
        self.resource_logs
            .iter()
            .flat_map(|r| &r.scope_logs)
            .map(|s| s.log_records.len() as u64)
            .sum()
    }
}
