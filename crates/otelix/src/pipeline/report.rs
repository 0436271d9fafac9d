//! [`ShutdownReport`]: what shutdown did with each signal's telemetry, so that a service can
//! log it and exit 0 whether or not the collector was there.
//!
//! An unreachable collector at shutdown is not an error of the service: orchestrators read a
//! non-zero exit as a crash. The report says what was lost and why, per signal, and names the
//! endpoint; `Err` is left for what the caller can act on.

use std::fmt;
use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkError;

use crate::config::Signal;

/// What [`Telemetry::shutdown`](crate::Telemetry::shutdown) did with each signal.
#[derive(Debug)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Spans.
    pub traces: SignalReport,
    /// Metric data points.
    pub metrics: SignalReport,
    /// Log records.
    pub logs: SignalReport,
    /// How long shutdown took.
    pub elapsed: Duration,
    /// The deadline it had (`OTELIX_SHUTDOWN_TIMEOUT`).
    pub deadline: Duration,
}

impl ShutdownReport {
    /// The three signals' reports.
    pub fn signals(&self) -> [&SignalReport; 3] {
        [&self.traces, &self.metrics, &self.logs]
    }

    /// Whether everything was delivered: every signal flushed in time and nothing was dropped.
    pub fn is_complete(&self) -> bool {
        self.signals().iter().all(|signal| signal.is_complete())
    }

    /// Writes the report as one `tracing` event (target `otelix`): `info` when everything was
    /// delivered, `warn` otherwise. The providers are shut down by then, so it reaches the
    /// service's log lines, not the collector.
    pub fn log(&self) {
        // The pipelines are shut down: this line is for the service's log, not an OTLP log
        // record to be dropped and counted.
        let _suppressed = opentelemetry::Context::enter_telemetry_suppressed_scope();
        if self.is_complete() {
            tracing::info!(target: "otelix", dropped = 0u64, "{self}");
        } else {
            tracing::warn!(target: "otelix", dropped = self.dropped_total(), "{self}");
        }
    }

    /// Items of every signal that were not delivered.
    pub fn dropped_total(&self) -> u64 {
        self.signals()
            .iter()
            .map(|signal| signal.dropped.total())
            .sum()
    }
}

/// One line: how long it took, then each signal's destination, counts and losses.
impl fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.is_complete() {
            "telemetry shut down, everything delivered"
        } else {
            "telemetry shut down, not everything delivered"
        };
        write!(
            f,
            "{verdict} in {} ms (deadline {} ms)",
            self.elapsed.as_millis(),
            self.deadline.as_millis()
        )?;
        for signal in self.signals() {
            write!(f, "; {signal}")?;
        }
        Ok(())
    }
}

/// What happened to one signal's telemetry.
#[derive(Debug)]
#[non_exhaustive]
pub struct SignalReport {
    /// Which signal.
    pub signal: Signal,
    /// The OTLP endpoint it was exported to; `None` when it was not exported over OTLP (its
    /// exporter list does not name `otlp`, or `OTEL_SDK_DISABLED`).
    pub endpoint: Option<String>,
    /// Items the collector accepted over the whole run: spans, metric data points or log
    /// records.
    pub exported: u64,
    /// Items lost over the whole run, by reason.
    pub dropped: Dropped,
    /// How the final flush ended.
    pub flush: FlushOutcome,
    /// The last reason an export failed, such as
    /// `collector not reachable: tcp connect error: Connection refused`; `None` when no export
    /// failed.
    pub last_failure: Option<String>,
}

impl SignalReport {
    /// Whether this signal flushed in time and dropped nothing.
    pub fn is_complete(&self) -> bool {
        matches!(self.flush, FlushOutcome::Flushed) && self.dropped.total() == 0
    }
}

impl fmt::Display for SignalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let signal = self.signal.as_str();
        let Some(endpoint) = &self.endpoint else {
            return write!(f, "{signal}: not exported over OTLP");
        };
        write!(f, "{signal} to {endpoint}: {} exported", self.exported)?;
        if self.dropped.total() > 0 {
            write!(f, ", {} dropped ({})", self.dropped.total(), self.dropped)?;
        }
        match &self.flush {
            FlushOutcome::Flushed => {}
            FlushOutcome::TimedOut => write!(f, ", final flush cut off by the deadline")?,
            FlushOutcome::Failed(error) => write!(f, ", final flush failed: {error}")?,
        }
        if let Some(reason) = &self.last_failure {
            write!(f, ", last failure: {reason}")?;
        }
        Ok(())
    }
}

/// Items lost instead of exported, by reason (the `reason` label of
/// `otelix_exporter_dropped_total`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Dropped {
    /// The queue was full (`queue_full`).
    pub queue_full: u64,
    /// Refused for good by the collector, or not delivered within the export timeout,
    /// retries included (`export_failed`).
    pub export_failed: u64,
    /// Rejected by the collector in a partial success (`rejected`).
    pub rejected: u64,
    /// Still queued or being retried at the shutdown deadline, or ended after shutdown
    /// (`shutdown`).
    pub shutdown: u64,
}

impl Dropped {
    /// All reasons together.
    pub fn total(&self) -> u64 {
        self.queue_full + self.export_failed + self.rejected + self.shutdown
    }

    fn reasons(&self) -> [(&'static str, u64); 4] {
        [
            ("queue_full", self.queue_full),
            ("export_failed", self.export_failed),
            ("rejected", self.rejected),
            ("shutdown", self.shutdown),
        ]
    }
}

/// The non-zero reasons, such as `export_failed 35, shutdown 4`.
impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (reason, count) in self.reasons() {
            if count == 0 {
                continue;
            }
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{reason} {count}")?;
        }
        Ok(())
    }
}

/// How a signal's final flush ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum FlushOutcome {
    /// Its provider flushed and shut down in time (what could not be delivered is in
    /// [`SignalReport::dropped`]).
    Flushed,
    /// The shutdown deadline passed first.
    TimedOut,
    /// Its provider reported an error.
    Failed(OTelSdkError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(signal: Signal, endpoint: Option<&str>, dropped: Dropped) -> SignalReport {
        SignalReport {
            signal,
            endpoint: endpoint.map(str::to_owned),
            exported: 10,
            dropped,
            flush: FlushOutcome::Flushed,
            last_failure: None,
        }
    }

    #[test]
    fn a_report_without_losses_is_complete_and_says_so() {
        let report = ShutdownReport {
            traces: signal(Signal::Traces, Some("http://c:4317"), Dropped::default()),
            metrics: signal(Signal::Metrics, Some("http://c:4317"), Dropped::default()),
            logs: signal(Signal::Logs, None, Dropped::default()),
            elapsed: Duration::from_millis(12),
            deadline: Duration::from_secs(5),
        };
        assert!(report.is_complete());
        assert_eq!(
            report.to_string(),
            "telemetry shut down, everything delivered in 12 ms (deadline 5000 ms); \
             traces to http://c:4317: 10 exported; metrics to http://c:4317: 10 exported; \
             logs: not exported over OTLP"
        );
    }

    #[test]
    fn losses_name_the_endpoint_the_reasons_and_the_last_failure() {
        let mut traces = signal(
            Signal::Traces,
            Some("https://collector:4317"),
            Dropped {
                export_failed: 35,
                shutdown: 4,
                ..Dropped::default()
            },
        );
        traces.last_failure = Some("collector not reachable: Connection refused".into());
        let mut metrics = signal(
            Signal::Metrics,
            Some("https://collector:4317"),
            Dropped::default(),
        );
        metrics.flush = FlushOutcome::TimedOut;
        let report = ShutdownReport {
            traces,
            metrics,
            logs: signal(Signal::Logs, None, Dropped::default()),
            elapsed: Duration::from_millis(5001),
            deadline: Duration::from_secs(5),
        };
        assert!(!report.is_complete());
        assert_eq!(report.dropped_total(), 39);
        let text = report.to_string();
        assert!(
            text.starts_with("telemetry shut down, not everything delivered"),
            "{text}"
        );
        assert!(
            text.contains(
                "traces to https://collector:4317: 10 exported, 39 dropped (export_failed 35, \
                 shutdown 4), last failure: collector not reachable: Connection refused"
            ),
            "{text}"
        );
        assert!(text.contains("metrics to https://collector:4317: 10 exported, final flush cut off by the deadline"), "{text}");
    }
}
