//! [`TelemetryHandle`]: what request handlers and middleware hold on running telemetry.

use std::sync::Arc;

use opentelemetry_sdk::trace::SdkTracer;

use super::metrics::DURATION_BUCKETS_SECONDS;
#[cfg(feature = "prometheus")]
use super::RenderError;
use crate::config::Config;
use crate::export::exemplars::{ExemplarRegistry, ExemplarSink};
use crate::process::{ExportHandle, SlowQueryHandle};

/// A cheap, cloneable handle on running telemetry: what request handlers and middleware need.
#[derive(Clone, Debug)]
pub struct TelemetryHandle {
    pub(super) config: Arc<Config>,
    pub(super) tracer: SdkTracer,
    pub(super) meter: opentelemetry::metrics::Meter,
    #[cfg(feature = "prometheus")]
    pub(super) prometheus: Option<prometheus::Registry>,
    pub(super) slow_query: SlowQueryHandle,
    pub(super) span_export: Option<ExportHandle>,
    pub(super) metric_export: Option<ExportHandle>,
    pub(super) log_export: Option<ExportHandle>,
    pub(super) exemplars: Option<Arc<ExemplarRegistry>>,
}

impl TelemetryHandle {
    /// The configuration telemetry was built from.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The tracer for otelix's own spans.
    pub fn tracer(&self) -> &SdkTracer {
        &self.tracer
    }

    /// The meter for otelix's own instruments.
    pub fn meter(&self) -> &opentelemetry::metrics::Meter {
        &self.meter
    }

    /// Counters of the slow-query processor (records dropped).
    pub fn slow_query(&self) -> &SlowQueryHandle {
        &self.slow_query
    }

    /// Counters of the spans the OTLP span export dropped (also the `traces` series of
    /// `otelix.exporter.dropped`); `None` when spans are not exported over OTLP.
    pub fn span_export(&self) -> Option<&ExportHandle> {
        self.span_export.as_ref()
    }

    /// Counters of the metric data points the OTLP metric export delivered and dropped (the
    /// `metrics` series of `otelix.exporter.dropped`); `None` when metrics are not exported
    /// over OTLP.
    pub fn metric_export(&self) -> Option<&ExportHandle> {
        self.metric_export.as_ref()
    }

    /// Counters of the log records the OTLP log export dropped (the `logs` series of
    /// `otelix.exporter.dropped`); `None` when logs are not exported over OTLP.
    pub fn log_export(&self) -> Option<&ExportHandle> {
        self.log_export.as_ref()
    }

    /// Where an instrumentation keeps the exemplars of its duration histogram `family` (the
    /// Prometheus name, such as `http_server_request_duration_seconds`; buckets
    /// [`DURATION_BUCKETS_SECONDS`]). Disabled when the Prometheus bridge or exemplars
    /// (`OTELIX_EXEMPLARS`) are off, or otelix was built without its `prometheus` feature.
    pub fn exemplar_sink(&self, family: &str) -> ExemplarSink {
        self.exemplars
            .as_ref()
            .map_or_else(ExemplarSink::disabled, |registry| {
                registry.sink(family, DURATION_BUCKETS_SECONDS)
            })
    }
}

/// The pull side, served at `/metrics`.
#[cfg(feature = "prometheus")]
impl TelemetryHandle {
    /// The Prometheus registry behind the bridge, when `PROMETHEUS_ENABLED` is true.
    pub fn prometheus_registry(&self) -> Option<&prometheus::Registry> {
        self.prometheus.as_ref()
    }

    /// The current metrics in the OpenMetrics 1.0 text format, with the trace IDs of
    /// [`exemplar_sink`](Self::exemplar_sink)s on the bucket lines of their histograms.
    ///
    /// # Errors
    ///
    /// [`RenderError::Disabled`] when the bridge is off.
    pub fn render_openmetrics(&self) -> Result<String, RenderError> {
        let registry = self.prometheus.as_ref().ok_or(RenderError::Disabled)?;
        Ok(crate::export::openmetrics::encode(
            &registry.gather(),
            self.exemplars.as_deref(),
        ))
    }

    /// The current metrics in the Prometheus text exposition format (version 0.0.4).
    ///
    /// # Errors
    ///
    /// [`RenderError::Disabled`] when the bridge is off; [`RenderError::Encode`] when the
    /// registry holds something the encoder rejects.
    pub fn render_prometheus(&self) -> Result<String, RenderError> {
        let registry = self.prometheus.as_ref().ok_or(RenderError::Disabled)?;
        let families = registry.gather();
        let mut out = String::with_capacity(16 * 1024);
        prometheus::TextEncoder::new()
            .encode_utf8(&families, &mut out)
            .map_err(RenderError::Encode)?;
        Ok(out)
    }
}
