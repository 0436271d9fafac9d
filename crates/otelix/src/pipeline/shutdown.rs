//! Flushing and shutting down the three providers within one deadline, collector or not.

use std::time::{Duration, Instant};

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};

use super::error::{FlushError, FlushFailure};
use super::report::FlushOutcome;

type FlushJob = Box<dyn FnOnce(Duration) -> OTelSdkResult + Send>;

/// Runs the three provider operations (traces, metrics, logs) in parallel threads and waits at
/// most `deadline`; each signal's outcome, in that order.
pub(super) fn run_bounded<T, M, L>(
    deadline: Duration,
    traces: T,
    metrics: M,
    logs: L,
) -> [FlushOutcome; 3]
where
    T: FnOnce(Duration) -> OTelSdkResult + Send + 'static,
    M: FnOnce(Duration) -> OTelSdkResult + Send + 'static,
    L: FnOnce(Duration) -> OTelSdkResult + Send + 'static,
{
    let start = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    let jobs: [(usize, &str, FlushJob); 3] = [
        (0, "traces", Box::new(traces)),
        (1, "metrics", Box::new(metrics)),
        (2, "logs", Box::new(logs)),
    ];
    // A signal whose thread never reports is one the deadline cut off.
    let mut outcomes = [
        FlushOutcome::TimedOut,
        FlushOutcome::TimedOut,
        FlushOutcome::TimedOut,
    ];
    let mut spawned = 0;
    for (index, signal, job) in jobs {
        let tx = tx.clone();
        let started = std::thread::Builder::new()
            .name(format!("otelix-flush-{signal}"))
            .spawn(move || {
                let _ = tx.send((index, job(deadline)));
            });
        match started {
            Ok(_) => spawned += 1,
            Err(error) => {
                outcomes[index] = FlushOutcome::Failed(OTelSdkError::InternalFailure(format!(
                    "could not start the flush thread: {error}"
                )));
            }
        }
    }
    drop(tx);
    for _ in 0..spawned {
        let left = deadline.saturating_sub(start.elapsed());
        let Ok((index, result)) = rx.recv_timeout(left) else {
            break;
        };
        outcomes[index] = match result {
            Ok(()) | Err(OTelSdkError::AlreadyShutdown) => FlushOutcome::Flushed,
            Err(OTelSdkError::Timeout(_)) => FlushOutcome::TimedOut,
            Err(error) => FlushOutcome::Failed(error),
        };
    }
    outcomes
}

/// The outcomes of a flush as [`Telemetry::force_flush`](super::Telemetry::force_flush)
/// reports them: the deadline first, then every provider's error.
pub(super) fn flush_result(
    deadline: Duration,
    outcomes: [FlushOutcome; 3],
) -> Result<(), FlushError> {
    let mut failures = Vec::new();
    for (signal, outcome) in ["traces", "metrics", "logs"].into_iter().zip(outcomes) {
        match outcome {
            FlushOutcome::Flushed => {}
            FlushOutcome::TimedOut => return Err(FlushError::Timeout(deadline)),
            FlushOutcome::Failed(source) => failures.push(FlushFailure { signal, source }),
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(FlushError::Flush(failures))
    }
}
