//! Where telemetry leaves the process: OTLP to a collector ([`otlp`]: otelix's own encoder for
//! spans over gRPC, the SDK's exporters otherwise), and the pull side served at `/metrics`, the
//! Prometheus bridge's registry rendered as text or as [`openmetrics`] with [`exemplars`].

pub mod exemplars;
pub mod openmetrics;
pub(crate) mod otlp;
