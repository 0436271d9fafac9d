//! The OTLP/gRPC services.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tokio::net::TcpListener;
use tonic::codec::CompressionEncoding;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

use crate::behavior::Verdict;
use crate::receiver::Shared;
use crate::requests::ExportMessage;
use crate::{Transport, MAX_MESSAGE_BYTES};

#[derive(Clone)]
struct GrpcReceiver(Arc<Shared>);

impl GrpcReceiver {
    /// Counts the request, applies the behavior, and records via `record` unless refused.
    async fn handle<Req: ExportMessage, Resp: Default>(
        &self,
        request: Request<Req>,
        record: impl FnOnce(&Shared, Req),
    ) -> Result<Response<Resp>, Status> {
        let gzip = request
            .metadata()
            .get("grpc-encoding")
            .is_some_and(|encoding| encoding.as_bytes().eq_ignore_ascii_case(b"gzip"));
        let verdict = self.0.behavior.verdict();
        let refused = match verdict {
            Verdict::Refuse(refusal) => Some(refusal),
            Verdict::Record { .. } => None,
        };
        self.0
            .store
            .count_request(|| request.get_ref().describe(Transport::Grpc, gzip, refused));
        match verdict {
            Verdict::Refuse(refusal) => Err(refusal.grpc_status()),
            Verdict::Record { answer_after } => {
                record(&self.0, request.into_inner());
                answer_after.wait().await;
                Ok(Response::new(Resp::default()))
            }
        }
    }
}

#[tonic::async_trait]
impl TraceService for GrpcReceiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.handle(request, |shared, req| {
            shared.store.record_traces(req, Transport::Grpc);
        })
        .await
    }
}

#[tonic::async_trait]
impl MetricsService for GrpcReceiver {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        self.handle(request, |shared, req| {
            shared.store.record_metrics(req, Transport::Grpc);
        })
        .await
    }
}

#[tonic::async_trait]
impl LogsService for GrpcReceiver {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        self.handle(request, |shared, req| {
            shared.store.record_logs(req, Transport::Grpc);
        })
        .await
    }
}

/// Serves the three OTLP services on `listener` until the runtime drops the task.
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let receiver = GrpcReceiver(shared);
    let traces = TraceServiceServer::new(receiver.clone())
        .accept_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(MAX_MESSAGE_BYTES);
    let metrics = MetricsServiceServer::new(receiver.clone())
        .accept_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(MAX_MESSAGE_BYTES);
    let logs = LogsServiceServer::new(receiver)
        .accept_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(MAX_MESSAGE_BYTES);
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    // The server only returns on a listener failure. No caller is left to return it to,
    // so say it where a failing test's output will show it.
    if let Err(error) = tonic::transport::Server::builder()
        .add_service(traces)
        .add_service(metrics)
        .add_service(logs)
        .serve_with_incoming(incoming)
        .await
    {
        eprintln!("otelix-testkit: OTLP/gRPC server stopped: {error}");
    }
}
