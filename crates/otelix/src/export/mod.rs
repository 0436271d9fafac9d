//! Where telemetry leaves the process: OTLP to a collector ([`otlp`]: otelix's own encoder for
//! spans over gRPC, the SDK's exporters otherwise; each transport behind its feature), and the
//! pull side served at `/metrics` (feature `prometheus`), the Prometheus bridge's registry
//! rendered as text or as [`openmetrics`] with [`exemplars`].

pub mod exemplars;
#[cfg(feature = "prometheus")]
pub mod openmetrics;
pub(crate) mod otlp;
