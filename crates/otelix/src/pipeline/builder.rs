//! [`TelemetryBuilder`]: the three providers, the export runtime and the `tracing` subscriber,
//! assembled from a [`Config`].

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::{MeterProviderBuilder, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanProcessor};
use opentelemetry_sdk::Resource;
use tokio::runtime::Runtime;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

use super::logs as logging;
use super::metrics::seconds_histogram_view;
use super::resource::resource;
use super::traces::{sampler, BoxedProcessor, ObserveThenExport};
use super::{InitError, Telemetry, TelemetryHandle, SCOPE_NAME};
use crate::config::{Config, Signal};
use crate::export::exemplars::ExemplarRegistry;
use crate::export::otlp::{
    log_exporter, metric_exporter, require_transport, span_exporters, ExportContext, ShutdownClock,
};
use crate::process::{
    register_dropped_metric, BatchExportProcessor, BatchLogExportProcessor, DropCounter,
    ExportHandle, OtlpExporters, SlowQueryProcessor,
};

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
    pub(super) fn new(config: Config) -> Self {
        TelemetryBuilder {
            config,
            log_writer: None,
            span_processors: Vec::new(),
        }
    }

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
    /// set up, or when the configuration selects a transport or the bridge that this build
    /// was compiled without ([`InitError::FeatureDisabled`]). An unreachable collector is not
    /// an error: one warning says so, each scheduled export connects again, and what cannot
    /// be delivered is dropped within the queue bounds.
    pub fn build(self) -> Result<Telemetry, InitError> {
        self.assemble()
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

    fn assemble(self) -> Result<Telemetry, InitError> {
        let TelemetryBuilder {
            config,
            log_writer,
            span_processors,
        } = self;
        let resource = resource(&config);
        let exported = [
            (Signal::Traces, config.traces_exporters().otlp),
            (Signal::Metrics, config.metrics_exporters().otlp),
            (Signal::Logs, config.logs_exporters().otlp),
        ];
        let mut otlp = false;
        for (signal, over_otlp) in exported {
            if over_otlp && !config.sdk_disabled() {
                require_transport(&config, signal)?;
                otlp = true;
            }
        }
        let export_runtime = export_runtime(otlp)?;
        let _entered = export_runtime.as_ref().map(Runtime::enter);
        let clock = Arc::new(ShutdownClock::default());
        let context = export_runtime.as_ref().map(|rt| ExportContext {
            runtime: rt.handle().clone(),
            clock: Arc::clone(&clock),
        });

        let (meter_provider, bridge, metric_export) =
            meter_provider(&config, &resource, context.as_ref())?;
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
        let (tracer_provider, span_export) = tracer_provider(
            &config,
            resource.clone(),
            slow_query,
            span_processors,
            context.as_ref(),
        )?;
        let (logger_provider, log_export) = logger_provider(&config, resource, context.as_ref())?;
        let exports = || span_export.iter().chain(&metric_export).chain(&log_export);

        // Present from the start, zeros included, so alerts on its increase work at once.
        let dropped_metric =
            register_dropped_metric(&meter, exports().map(ExportHandle::counter).collect());
        let tracer = tracer_provider.tracer_with_scope(scope);
        let dispatch = logging::dispatch(
            &config,
            log_writer.unwrap_or_else(|| BoxMakeWriter::new(std::io::stdout)),
            tracer.clone(),
            logger_provider.as_ref(),
        );
        slow_query_handle.set_log_dispatch(dispatch.clone());
        for export in exports() {
            export.set_log_dispatch(dispatch.clone());
        }
        drop(_entered);

        let exemplars = bridge
            .as_ref()
            .filter(|_| config.exemplars())
            .map(|_| Arc::new(ExemplarRegistry::default()));
        let telemetry = Telemetry {
            handle: TelemetryHandle {
                config: Arc::new(config),
                tracer,
                meter,
                exemplars,
                #[cfg(feature = "prometheus")]
                prometheus: bridge,
                slow_query: slow_query_handle,
                span_export,
                metric_export,
                log_export,
            },
            tracer_provider,
            meter_provider,
            logger_provider,
            dispatch,
            export_runtime,
            clock,
            _dropped_metric: dropped_metric,
            shut_down: AtomicBool::new(false),
        };
        telemetry.warn_if_collector_unreachable();
        Ok(telemetry)
    }
}

/// Every OTLP request, on either transport, runs on this runtime: the exporters' futures are
/// polled by plain threads (the batch processors', the metric reader's). A runtime of our own
/// keeps exports independent of the application's runtime: a current-thread runtime blocked in
/// shutdown cannot starve the exporter, and `init` works from synchronous code.
fn export_runtime(otlp: bool) -> Result<Option<Runtime>, InitError> {
    if !otlp {
        return Ok(None);
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("otelix-export")
        .enable_all()
        .build()
        .map(Some)
        .map_err(InitError::Runtime)
}

/// Metrics: one provider, two readers (OTLP push and the Prometheus pull bridge).
fn meter_provider(
    config: &Config,
    resource: &Resource,
    context: Option<&ExportContext>,
) -> Result<(SdkMeterProvider, Option<Bridge>, Option<ExportHandle>), InitError> {
    let exporting = !config.sdk_disabled();
    let mut builder = SdkMeterProvider::builder()
        .with_resource(resource.clone())
        .with_view(seconds_histogram_view);
    let mut bridge = None;
    if config.prometheus_enabled() {
        let (with_bridge, registry) = with_prometheus_bridge(builder)?;
        builder = with_bridge;
        bridge = Some(registry);
    }
    let mut export_handle = None;
    if let Some(context) = context.filter(|_| exporting && config.metrics_exporters().otlp) {
        let drops = Arc::new(DropCounter::new(Signal::Metrics));
        builder = builder.with_reader(
            PeriodicReader::builder(metric_exporter(config, context, &drops)?)
                .with_interval(config.metric_export_interval())
                .build(),
        );
        export_handle = Some(ExportHandle::new(drops));
    }
    if exporting && config.metrics_exporters().console {
        builder = builder.with_reader(
            PeriodicReader::builder(opentelemetry_stdout::MetricExporter::default())
                .with_interval(config.metric_export_interval())
                .build(),
        );
    }
    Ok((builder.build(), bridge, export_handle))
}

/// What the Prometheus bridge leaves for the `/metrics` side: the registry it fills.
#[cfg(feature = "prometheus")]
type Bridge = prometheus::Registry;

#[cfg(feature = "prometheus")]
fn with_prometheus_bridge(
    builder: MeterProviderBuilder,
) -> Result<(MeterProviderBuilder, Bridge), InitError> {
    let registry = prometheus::Registry::new();
    let exporter = opentelemetry_prometheus::exporter()
        .with_registry(registry.clone())
        .build()
        .map_err(InitError::Prometheus)?;
    Ok((builder.with_reader(exporter), registry))
}

/// Without the `prometheus` feature there is no bridge to leave anything.
#[cfg(not(feature = "prometheus"))]
type Bridge = std::convert::Infallible;

#[cfg(not(feature = "prometheus"))]
fn with_prometheus_bridge(
    _builder: MeterProviderBuilder,
) -> Result<(MeterProviderBuilder, Bridge), InitError> {
    Err(InitError::FeatureDisabled {
        variable: "PROMETHEUS_ENABLED",
        value: "true",
        feature: "prometheus",
    })
}

/// Traces: the provider always exists, because trace IDs are request IDs.
fn tracer_provider(
    config: &Config,
    resource: Resource,
    slow_query: SlowQueryProcessor,
    span_processors: Vec<Box<dyn SpanProcessor>>,
    context: Option<&ExportContext>,
) -> Result<(SdkTracerProvider, Option<ExportHandle>), InitError> {
    let exporting = !config.sdk_disabled();
    let mut builder = SdkTracerProvider::builder()
        .with_resource(resource)
        .with_sampler(sampler(config.sampler()));
    let export = match context.filter(|_| exporting && config.traces_exporters().otlp) {
        Some(context) => {
            let batch = config.batch();
            let drops = Arc::new(DropCounter::new(Signal::Traces));
            // One exporter per export in flight (an exporter runs one export at a time), all
            // on one connection pool.
            let exporters = span_exporters(config, batch.max_concurrent_exports, context, &drops)?;
            let otlp = OtlpExporters {
                drops,
                clock: Arc::clone(&context.clock),
            };
            Some(BatchExportProcessor::for_otlp(exporters, batch, otlp))
        }
        None => None,
    };
    let export_handle = export.as_ref().map(BatchExportProcessor::handle);
    match export {
        // One processor for both, so the SDK hands over each span without copying it for a
        // second processor.
        Some(export) if span_processors.is_empty() => {
            builder = builder.with_span_processor(ObserveThenExport { slow_query, export });
        }
        export => {
            builder = builder.with_span_processor(slow_query);
            for processor in span_processors {
                builder = builder.with_span_processor(BoxedProcessor(processor));
            }
            if let Some(export) = export {
                builder = builder.with_span_processor(export);
            }
        }
    }
    if exporting && config.traces_exporters().console {
        builder = builder.with_simple_exporter(opentelemetry_stdout::SpanExporter::default());
    }
    Ok((builder.build(), export_handle))
}

/// Logs: exported only when asked; lines on stdout are the subscriber's job.
fn logger_provider(
    config: &Config,
    resource: Resource,
    context: Option<&ExportContext>,
) -> Result<(Option<SdkLoggerProvider>, Option<ExportHandle>), InitError> {
    if config.sdk_disabled() || !config.logs_exporters().any() {
        return Ok((None, None));
    }
    let mut builder = SdkLoggerProvider::builder().with_resource(resource);
    let mut export_handle = None;
    if let Some(context) = context.filter(|_| config.logs_exporters().otlp) {
        let drops = Arc::new(DropCounter::new(Signal::Logs));
        let exporter = log_exporter(config, context, &drops)?;
        let otlp = OtlpExporters {
            drops,
            clock: Arc::clone(&context.clock),
        };
        let processor = BatchLogExportProcessor::for_otlp(vec![exporter], config.log_batch(), otlp);
        export_handle = Some(processor.handle());
        builder = builder.with_log_processor(processor);
    }
    if config.logs_exporters().console {
        builder = builder.with_simple_exporter(opentelemetry_stdout::LogExporter::default());
    }
    Ok((Some(builder.build()), export_handle))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Telemetry built from `vars`, exporting to a port nothing listens on and writing its
    /// log lines nowhere.
    fn build(vars: &[(&str, &str)]) -> Result<Telemetry, InitError> {
        let dir = tempfile::tempdir().expect("a scratch directory");
        let config = Config::builder()
            .with_slow_query_log_file(dir.path().join("slow_queries.log"))
            .build_from_vars(
                [
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"),
                    ("OTELIX_SHUTDOWN_TIMEOUT", "200"),
                ]
                .iter()
                .chain(vars)
                .copied(),
            )
            .expect("valid variables");
        Telemetry::builder(config)
            .with_log_writer(std::io::sink)
            .build()
    }

    fn assert_refused(
        built: Result<Telemetry, InitError>,
        compiled: bool,
        expected: (&str, &str, &str),
    ) {
        match built {
            Ok(_) => assert!(compiled, "{expected:?} accepted without its feature"),
            Err(InitError::FeatureDisabled {
                variable,
                value,
                feature,
            }) => {
                assert!(!compiled, "{expected:?} refused with its feature");
                assert_eq!((variable, value, feature), expected);
            }
            Err(other) => panic!("{expected:?}: unexpected error {other}"),
        }
    }

    #[test]
    fn a_transport_or_bridge_the_build_lacks_is_refused_by_name() {
        let no_otlp = [
            ("OTEL_TRACES_EXPORTER", "none"),
            ("OTEL_METRICS_EXPORTER", "none"),
            ("OTEL_LOGS_EXPORTER", "none"),
        ];
        assert_refused(
            build(&[no_otlp.as_slice(), &[("PROMETHEUS_ENABLED", "true")]].concat()),
            cfg!(feature = "prometheus"),
            ("PROMETHEUS_ENABLED", "true", "prometheus"),
        );
        for (protocol, compiled, feature) in [
            ("grpc", cfg!(feature = "otlp-grpc"), "otlp-grpc"),
            ("http/protobuf", cfg!(feature = "otlp-http"), "otlp-http"),
        ] {
            assert_refused(
                build(&[
                    ("PROMETHEUS_ENABLED", "false"),
                    ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
                ]),
                compiled,
                ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol, feature),
            );
        }
        // Nothing asks for OTLP: the protocol is not looked at.
        assert!(build(&[no_otlp.as_slice(), &[("PROMETHEUS_ENABLED", "false")]].concat()).is_ok());
    }
}
