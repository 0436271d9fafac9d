//! The OTLP log exporter: a batch of log records becomes an `ExportLogsServiceRequest` through
//! `opentelemetry-proto`'s transform, delivered over the signal's transport.

use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::logs::tonic::group_logs_by_resource_and_scope;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use opentelemetry_sdk::Resource;
use prost::Message as _;

use super::delivery::{Delivery, PartialSuccess};

/// Exports log records over the signal's transport.
#[derive(Debug)]
pub(crate) struct OtlpLogExporter {
    resource: ResourceAttributesWithSchema,
    delivery: Delivery,
}

impl OtlpLogExporter {
    pub(crate) fn new(delivery: Delivery) -> Self {
        OtlpLogExporter {
            resource: ResourceAttributesWithSchema::default(),
            delivery,
        }
    }
}

impl LogExporter for OtlpLogExporter {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let records = batch.iter().count() as u64;
        let request = ExportLogsServiceRequest {
            resource_logs: group_logs_by_resource_and_scope(&batch, &self.resource),
        };
        self.delivery
            .export::<ExportLogsServiceResponse>(request.encode_to_vec(), records)
            .await
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.into();
    }
}

impl PartialSuccess for ExportLogsServiceResponse {
    fn rejected(&self) -> (i64, &str) {
        self.partial_success.as_ref().map_or((0, ""), |p| {
            (p.rejected_log_records, p.error_message.as_str())
        })
    }
}
