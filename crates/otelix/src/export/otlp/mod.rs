//! OTLP exporters. Spans over gRPC go through [`GrpcSpanExporter`], which encodes the
//! protobuf request itself (a quarter of the SDK exporter's instructions per span); spans over
//! HTTP/protobuf, metrics and logs use `opentelemetry-otlp`'s exporters, built in
//! [`crate::pipeline`].

mod grpc_spans;

pub(crate) use grpc_spans::GrpcSpanExporter;
