//! [`Telemetry`]: the running providers, flushed and shut down within one deadline.

use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::metrics::ObservableCounter;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;

use super::shutdown::run_bounded;
use super::{ShutdownError, TelemetryBuilder, TelemetryHandle};
use crate::config::{Config, Signal};
use crate::export::otlp::{probe, ShutdownClock};

/// Running telemetry. Flushes and shuts down on [`Telemetry::shutdown`] or on drop, within the
/// configured deadline (`OTELIX_SHUTDOWN_TIMEOUT`).
pub struct Telemetry {
    pub(super) handle: TelemetryHandle,
    pub(super) tracer_provider: SdkTracerProvider,
    pub(super) meter_provider: SdkMeterProvider,
    pub(super) logger_provider: Option<SdkLoggerProvider>,
    pub(super) dispatch: tracing::Dispatch,
    pub(super) export_runtime: Option<tokio::runtime::Runtime>,
    /// Tells the OTLP exporters when to stop sending failed requests again.
    pub(super) clock: std::sync::Arc<ShutdownClock>,
    pub(super) _dropped_metric: ObservableCounter<u64>,
    pub(super) shut_down: AtomicBool,
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
        TelemetryBuilder::new(config)
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
    /// when telemetry was built without [`init`](crate::init).
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
        let timeout = self.handle.config.shutdown_timeout();
        // Requests that keep failing are sent again only until shortly before the deadline,
        // so that the metric reader's last export, which no processor bounds, ends in time.
        let margin = (timeout / 10).min(std::time::Duration::from_millis(200));
        self.clock
            .begin(std::time::Instant::now() + timeout - margin);
        run_bounded(
            timeout,
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

    /// Warns once, in the background so start-up is never delayed, when the collector cannot
    /// be reached.
    pub(super) fn warn_if_collector_unreachable(&self) {
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
                                protocol = config.otlp(Signal::Traces).protocol.as_str(),
                                %reason,
                                "OTLP collector not reachable; the service runs on, exports are sent again within their export timeout, and what cannot be delivered is dropped and counted in otelix_exporter_dropped_total"
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
