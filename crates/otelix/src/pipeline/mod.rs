//! Providers, exporters, the `tracing` subscriber and the [`Telemetry`] guard.
//!
//! [`init`] builds everything from a [`Config`] and installs it globally; [`Telemetry::builder`]
//! builds the same without touching process-global state (for tests and for embedding).

mod logs;
mod metrics;
mod resource;
mod shutdown;
mod traces;

pub(crate) use logs::RateLimiter;
pub use metrics::DURATION_BUCKETS_SECONDS;

use crate::export::otlp::{log_exporter, metric_exporter, otlp_span_exporter, probe};
use metrics::seconds_histogram_view;
use resource::resource;
use shutdown::run_bounded;
use traces::{sampler, BoxedProcessor, ObserveThenExport};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::metrics::ObservableCounter;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider, SpanProcessor};
use tracing_subscriber::fmt::writer::BoxMakeWriter;

use self::logs as logging;
use crate::config::{Config, Protocol};
use crate::export::exemplars::{ExemplarRegistry, ExemplarSink};
use crate::process::{
    register_dropped_metric, BatchExportProcessor, BatchLogExportProcessor, ExportHandle,
};
use crate::process::{SlowQueryHandle, SlowQueryProcessor};

/// The instrumentation scope of everything otelix itself records.
pub const SCOPE_NAME: &str = "otelix";

/// Why telemetry could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    /// An OTLP exporter could not be built from the configuration.
    #[error("could not build the OTLP {signal} exporter for {endpoint}: {source}")]
    Exporter {
        /// `traces`, `metrics` or `logs`.
        signal: &'static str,
        /// Where it would have exported.
        endpoint: String,
        /// What the exporter said.
        source: opentelemetry_otlp::ExporterBuildError,
    },
    /// The OTLP/gRPC span exporter could not be built for the endpoint.
    #[error("could not build the OTLP traces exporter for {endpoint}: {reason}")]
    SpanExporter {
        /// Where it would have exported.
        endpoint: String,
        /// What went wrong.
        reason: String,
    },
    /// The Prometheus bridge could not be registered.
    #[error("could not set up the Prometheus bridge: {0}")]
    Prometheus(String),
    /// The background runtime that drives gRPC exports could not start.
    #[error("could not start the otelix export runtime: {0}")]
    Runtime(std::io::Error),
    /// [`init`] found a global `tracing` subscriber already installed.
    #[error("a global tracing subscriber is already installed; use Telemetry::builder(..).build() and install it yourself")]
    SubscriberAlreadySet,
}

/// Why a shutdown did not complete cleanly. Telemetry is off afterwards either way.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShutdownError {
    /// Flushing did not finish within the deadline; what was still buffered is lost.
    #[error("telemetry flush did not finish within {0:?}; buffered telemetry was dropped")]
    Timeout(Duration),
    /// A provider reported errors while flushing (for example, the collector refused).
    #[error("telemetry flush failed, what was still buffered is lost (is the collector reachable?): {0}")]
    Flush(String),
}

/// Why the Prometheus text could not be produced.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// `PROMETHEUS_ENABLED` is false.
    #[error("the Prometheus bridge is disabled (PROMETHEUS_ENABLED=false)")]
    Disabled,
    /// The registry's content could not be encoded.
    #[error("could not encode metrics: {0}")]
    Encode(String),
}

/// Builds a [`Telemetry`] from a [`Config`].
#[must_use]
pub struct TelemetryBuilder {
    config: Config,
    log_writer: Option<BoxMakeWriter>,
    span_processors: Vec<Box<dyn SpanProcessor>>,
}

impl std::fmt::Debug for TelemetryBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetryBuilder")
            .field("config", &self.config)
            .field("span_processors", &self.span_processors.len())
            .finish_non_exhaustive()
    }
}

impl TelemetryBuilder {
    /// Where log lines are written. Default: standard output.
    pub fn with_log_writer<W>(mut self, writer: W) -> Self
    where
        W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
    {
        self.log_writer = Some(BoxMakeWriter::new(writer));
        self
    }

    /// Adds a span processor that runs before the exporter (for example the SDK's in-memory
    /// exporter in a test).
    pub fn with_span_processor(mut self, processor: impl SpanProcessor + 'static) -> Self {
        self.span_processors.push(Box::new(processor));
        self
    }

    /// Builds providers, exporters and the subscriber without installing anything globally.
    ///
    /// # Errors
    ///
    /// [`InitError`] when an exporter, the Prometheus bridge or the export runtime cannot be
    /// set up. An unreachable collector is not an error: one warning says so, each scheduled
    /// export connects again, and what cannot be delivered is dropped within the queue bounds.
    pub fn build(self) -> Result<Telemetry, InitError> {
        Telemetry::assemble(self)
    }

    /// Builds, then installs the tracer and meter providers, the W3C propagators and the
    /// `tracing` subscriber as process-wide defaults.
    ///
    /// # Errors
    ///
    /// As [`TelemetryBuilder::build`], and [`InitError::SubscriberAlreadySet`].
    pub fn init(self) -> Result<Telemetry, InitError> {
        let telemetry = self.build()?;
        tracing::dispatcher::set_global_default(telemetry.dispatch.clone())
            .map_err(|_| InitError::SubscriberAlreadySet)?;
        opentelemetry::global::set_tracer_provider(telemetry.tracer_provider.clone());
        opentelemetry::global::set_meter_provider(telemetry.meter_provider.clone());
        opentelemetry::global::set_text_map_propagator(crate::context::propagator());
        Ok(telemetry)
    }
}

/// Sets up telemetry from `config` and installs it globally. Keep the returned guard alive for
/// the life of the service; dropping it (or calling [`Telemetry::shutdown`]) flushes.
///
/// # Errors
///
/// See [`TelemetryBuilder::init`].
pub fn init(config: Config) -> Result<Telemetry, InitError> {
    Telemetry::builder(config).init()
}

/// A cheap, cloneable handle on running telemetry: what request handlers and middleware need.
#[derive(Clone, Debug)]
pub struct TelemetryHandle {
    config: Arc<Config>,
    tracer: SdkTracer,
    meter: opentelemetry::metrics::Meter,
    prometheus: Option<prometheus::Registry>,
    slow_query: SlowQueryHandle,
    span_export: Option<ExportHandle>,
    log_export: Option<ExportHandle>,
    exemplars: Option<Arc<ExemplarRegistry>>,
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

    /// Counters of the log records the OTLP log export dropped (the `logs` series of
    /// `otelix.exporter.dropped`); `None` when logs are not exported over OTLP.
    pub fn log_export(&self) -> Option<&ExportHandle> {
        self.log_export.as_ref()
    }

    /// The Prometheus registry behind the bridge, when `PROMETHEUS_ENABLED` is true.
    pub fn prometheus_registry(&self) -> Option<&prometheus::Registry> {
        self.prometheus.as_ref()
    }

    /// Where an instrumentation keeps the exemplars of its duration histogram `family` (the
    /// Prometheus name, such as `http_server_request_duration_seconds`; buckets
    /// [`DURATION_BUCKETS_SECONDS`]). Disabled when the Prometheus bridge or exemplars
    /// (`OTELIX_EXEMPLARS`) are off.
    pub fn exemplar_sink(&self, family: &str) -> ExemplarSink {
        self.exemplars
            .as_ref()
            .map_or_else(ExemplarSink::disabled, |registry| {
                registry.sink(family, DURATION_BUCKETS_SECONDS)
            })
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
            .map_err(|e| RenderError::Encode(e.to_string()))?;
        Ok(out)
    }
}

/// Running telemetry. Flushes and shuts down on [`Telemetry::shutdown`] or on drop, within the
/// configured deadline (`OTELIX_SHUTDOWN_TIMEOUT`).
pub struct Telemetry {
    handle: TelemetryHandle,
    tracer_provider: SdkTracerProvider,
    meter_provider: SdkMeterProvider,
    logger_provider: Option<SdkLoggerProvider>,
    dispatch: tracing::Dispatch,
    export_runtime: Option<tokio::runtime::Runtime>,
    _dropped_metric: ObservableCounter<u64>,
    shut_down: AtomicBool,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("config", &self.handle.config)
            .field("shut_down", &self.shut_down.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Telemetry {
    /// A builder for telemetry described by `config`.
    pub fn builder(config: Config) -> TelemetryBuilder {
        TelemetryBuilder {
            config,
            log_writer: None,
            span_processors: Vec::new(),
        }
    }

    /// A cloneable handle for handlers and middleware.
    pub fn handle(&self) -> TelemetryHandle {
        self.handle.clone()
    }

    /// The configuration telemetry was built from.
    pub fn config(&self) -> &Config {
        &self.handle.config
    }

    /// The tracer provider (always present: trace IDs are request IDs even when nothing is
    /// exported).
    pub fn tracer_provider(&self) -> &SdkTracerProvider {
        &self.tracer_provider
    }

    /// The meter provider feeding both the OTLP exporter and the Prometheus bridge.
    pub fn meter_provider(&self) -> &SdkMeterProvider {
        &self.meter_provider
    }

    /// The logger provider, when log records are exported.
    pub fn logger_provider(&self) -> Option<&SdkLoggerProvider> {
        self.logger_provider.as_ref()
    }

    /// The `tracing` dispatcher with otelix's layers, for `tracing::dispatcher::with_default`
    /// when telemetry was built without [`init`].
    pub fn dispatch(&self) -> &tracing::Dispatch {
        &self.dispatch
    }

    /// Exports everything buffered now, waiting at most the shutdown deadline.
    ///
    /// # Errors
    ///
    /// [`ShutdownError`] when a flush fails or does not finish in time.
    pub fn force_flush(&self) -> Result<(), ShutdownError> {
        let (t, m, l) = self.providers();
        run_bounded(
            self.handle.config.shutdown_timeout(),
            move |_| t.force_flush(),
            move |_| m.force_flush(),
            move |_| l.map_or(Ok(()), |l| l.force_flush()),
        )
    }

    /// Flushes every signal and shuts the providers down, returning within the configured
    /// deadline even when the collector is down or never answers. Idempotent: later calls
    /// return `Ok(())` at once.
    ///
    /// # Errors
    ///
    /// [`ShutdownError`] when a flush fails or does not finish in time; telemetry is off
    /// afterwards either way.
    pub fn shutdown(&self) -> Result<(), ShutdownError> {
        if self.shut_down.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let (t, m, l) = self.providers();
        run_bounded(
            self.handle.config.shutdown_timeout(),
            move |left| t.shutdown_with_timeout(left),
            move |left| m.shutdown_with_timeout(left),
            move |left| l.map_or(Ok(()), |l| l.shutdown_with_timeout(left)),
        )
    }

    fn providers(
        &self,
    ) -> (
        SdkTracerProvider,
        SdkMeterProvider,
        Option<SdkLoggerProvider>,
    ) {
        (
            self.tracer_provider.clone(),
            self.meter_provider.clone(),
            self.logger_provider.clone(),
        )
    }

    fn assemble(builder: TelemetryBuilder) -> Result<Telemetry, InitError> {
        let TelemetryBuilder {
            config,
            log_writer,
            span_processors,
        } = builder;
        let resource = resource(&config);
        let exporting = !config.sdk_disabled();
        let grpc_needed = exporting
            && config.protocol() == Protocol::Grpc
            && (config.traces_exporters().otlp
                || config.metrics_exporters().otlp
                || config.logs_exporters().otlp);
        // tonic's channel runs a worker task on the runtime it was built in. A runtime of our
        // own keeps exports independent of the application's runtime: a current-thread
        // runtime blocked in shutdown cannot starve the exporter, and `init` works from
        // synchronous code.
        let export_runtime = if grpc_needed {
            Some(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("otelix-export")
                    .enable_all()
                    .build()
                    .map_err(InitError::Runtime)?,
            )
        } else {
            None
        };
        let _entered = export_runtime.as_ref().map(|rt| rt.enter());

        // Metrics: one provider, two readers (OTLP push and the Prometheus pull bridge).
        let mut meter_builder = SdkMeterProvider::builder()
            .with_resource(resource.clone())
            .with_view(seconds_histogram_view);
        let prometheus_registry = if config.prometheus_enabled() {
            let registry = prometheus::Registry::new();
            let exporter = opentelemetry_prometheus::exporter()
                .with_registry(registry.clone())
                .build()
                .map_err(|e| InitError::Prometheus(e.to_string()))?;
            meter_builder = meter_builder.with_reader(exporter);
            Some(registry)
        } else {
            None
        };
        if exporting && config.metrics_exporters().otlp {
            let exporter = metric_exporter(&config)?;
            meter_builder = meter_builder.with_reader(
                PeriodicReader::builder(exporter)
                    .with_interval(config.metric_export_interval())
                    .build(),
            );
        }
        if exporting && config.metrics_exporters().console {
            meter_builder = meter_builder.with_reader(
                PeriodicReader::builder(opentelemetry_stdout::MetricExporter::default())
                    .with_interval(config.metric_export_interval())
                    .build(),
            );
        }
        let meter_provider = meter_builder.build();

        let scope = InstrumentationScope::builder(SCOPE_NAME)
            .with_version(env!("CARGO_PKG_VERSION"))
            .build();
        let meter =
            opentelemetry::metrics::MeterProvider::meter_with_scope(&meter_provider, scope.clone());
        // Slow-query detection watches every database span, whoever made it; it runs before
        // the exporter so a full export queue cannot hide a slow query.
        let slow_query =
            SlowQueryProcessor::with_deferred_log_dispatch(config.slow_query().clone(), &meter);
        let slow_query_handle = slow_query.handle();

        // Traces: the provider always exists, because trace IDs are request IDs.
        let mut tracer_builder = SdkTracerProvider::builder()
            .with_resource(resource.clone())
            .with_sampler(sampler(config.sampler()));
        let mut span_export = None;
        let mut export_processor = None;
        if exporting && config.traces_exporters().otlp {
            let batch = config.batch();
            // One exporter, hence one connection, per export in flight: an exporter runs one
            // export at a time.
            let exporters = (0..batch.max_concurrent_exports)
                .map(|_| otlp_span_exporter(&config))
                .collect::<Result<Vec<_>, _>>()?;
            let processor = BatchExportProcessor::with_runtime(
                exporters,
                batch,
                export_runtime.as_ref().map(|rt| rt.handle().clone()),
            );
            span_export = Some(processor.handle());
            export_processor = Some(processor);
        }
        match export_processor {
            // One processor for both, so the SDK hands over each span without copying it for
            // a second processor.
            Some(export) if span_processors.is_empty() => {
                tracer_builder =
                    tracer_builder.with_span_processor(ObserveThenExport { slow_query, export });
            }
            export => {
                tracer_builder = tracer_builder.with_span_processor(slow_query);
                for processor in span_processors {
                    tracer_builder = tracer_builder.with_span_processor(BoxedProcessor(processor));
                }
                if let Some(export) = export {
                    tracer_builder = tracer_builder.with_span_processor(export);
                }
            }
        }
        if exporting && config.traces_exporters().console {
            tracer_builder =
                tracer_builder.with_simple_exporter(opentelemetry_stdout::SpanExporter::default());
        }
        let tracer_provider = tracer_builder.build();

        // Logs: exported only when asked; lines on stdout are the subscriber's job.
        let mut log_export = None;
        let logger_provider = if exporting && config.logs_exporters().any() {
            let mut logs_builder = SdkLoggerProvider::builder().with_resource(resource);
            if config.logs_exporters().otlp {
                let processor = BatchLogExportProcessor::with_runtime(
                    vec![log_exporter(&config)?],
                    config.log_batch(),
                    export_runtime.as_ref().map(|rt| rt.handle().clone()),
                );
                log_export = Some(processor.handle());
                logs_builder = logs_builder.with_log_processor(processor);
            }
            if config.logs_exporters().console {
                logs_builder =
                    logs_builder.with_simple_exporter(opentelemetry_stdout::LogExporter::default());
            }
            Some(logs_builder.build())
        } else {
            None
        };

        // Present from the start, zeros included, so alerts on its increase work at once.
        let dropped_metric = register_dropped_metric(
            &meter,
            span_export
                .iter()
                .chain(log_export.iter())
                .map(ExportHandle::counter)
                .collect(),
        );

        let tracer = tracer_provider.tracer_with_scope(scope);

        let dispatch = logging::dispatch(
            &config,
            log_writer.unwrap_or_else(|| BoxMakeWriter::new(std::io::stdout)),
            tracer.clone(),
            logger_provider.as_ref(),
        );

        slow_query_handle.set_log_dispatch(dispatch.clone());
        for export in span_export.iter().chain(log_export.iter()) {
            export.set_log_dispatch(dispatch.clone());
        }

        drop(_entered);
        let exemplars = prometheus_registry
            .as_ref()
            .filter(|_| config.exemplars())
            .map(|_| Arc::new(ExemplarRegistry::default()));
        let telemetry = Telemetry {
            handle: TelemetryHandle {
                config: Arc::new(config),
                tracer,
                meter,
                exemplars,
                prometheus: prometheus_registry,
                slow_query: slow_query_handle,
                span_export,
                log_export,
            },
            tracer_provider,
            meter_provider,
            logger_provider,
            dispatch,
            export_runtime,
            _dropped_metric: dropped_metric,
            shut_down: AtomicBool::new(false),
        };
        telemetry.warn_if_collector_unreachable();
        Ok(telemetry)
    }

    /// Warns once, in the background so start-up is never delayed, when the collector cannot
    /// be reached.
    fn warn_if_collector_unreachable(&self) {
        let config = self.handle.config.clone();
        let dispatch = self.dispatch.clone();
        let exporting = !config.sdk_disabled()
            && (config.traces_exporters().otlp
                || config.metrics_exporters().otlp
                || config.logs_exporters().otlp);
        if !exporting {
            return;
        }
        let spawned = std::thread::Builder::new()
            .name("otelix-probe".into())
            .spawn(move || {
                let mut endpoints = vec![config.traces_endpoint()];
                for e in [config.otlp_metrics_endpoint(), config.logs_endpoint()] {
                    if !endpoints.contains(&e) {
                        endpoints.push(e);
                    }
                }
                for endpoint in endpoints {
                    if let Err(reason) = probe(endpoint) {
                        tracing::dispatcher::with_default(&dispatch, || {
                            tracing::warn!(
                                target: "otelix",
                                endpoint,
                                protocol = config.protocol().as_str(),
                                %reason,
                                "OTLP collector not reachable; the service runs on, every scheduled export tries to connect again, and batches it cannot deliver are dropped"
                            );
                        });
                    }
                }
            });
        if spawned.is_err() {
            // Only a diagnostic is lost; telemetry itself is unaffected.
        }
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Err(error) = self.shutdown() {
            // Logging through our own subscriber could be gone already; stderr always works.
            eprintln!("otelix: {error}");
        }
        if let Some(rt) = self.export_runtime.take() {
            // Never blocks, so dropping the guard inside an async context is safe.
            rt.shutdown_background();
        }
    }
}
