//! Flushing and shutting down the three providers within one deadline, collector or not.

use std::time::{Duration, Instant};

use super::error::FlushFailure;
use super::ShutdownError;

type FlushJob = Box<dyn FnOnce(Duration) -> opentelemetry_sdk::error::OTelSdkResult + Send>;

/// Runs the three provider operations in parallel threads and waits at most `deadline`.
pub(super) fn run_bounded<T, M, L>(
    deadline: Duration,
    traces: T,
    metrics: M,
    logs: L,
) -> Result<(), ShutdownError>
where
    T: FnOnce(Duration) -> opentelemetry_sdk::error::OTelSdkResult + Send + 'static,
    M: FnOnce(Duration) -> opentelemetry_sdk::error::OTelSdkResult + Send + 'static,
    L: FnOnce(Duration) -> opentelemetry_sdk::error::OTelSdkResult + Send + 'static,
{
    let start = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    let jobs: [(&str, FlushJob); 3] = [
        ("traces", Box::new(traces)),
        ("metrics", Box::new(metrics)),
        ("logs", Box::new(logs)),
    ];
    let mut spawned = 0;
    for (signal, job) in jobs {
        let tx = tx.clone();
        let started = std::thread::Builder::new()
            .name(format!("otelix-flush-{signal}"))
            .spawn(move || {
                let _ = tx.send((signal, job(deadline)));
            });
        if started.is_ok() {
            spawned += 1;
        }
    }
    drop(tx);
    let mut failures = Vec::new();
    for _ in 0..spawned {
        let left = deadline.saturating_sub(start.elapsed());
        match rx.recv_timeout(left) {
            Ok((_, Ok(()))) => {}
            Ok((_, Err(opentelemetry_sdk::error::OTelSdkError::AlreadyShutdown))) => {}
            Ok((signal, Err(source))) => failures.push(FlushFailure { signal, source }),
            Err(_) => return Err(ShutdownError::Timeout(deadline)),
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(ShutdownError::Flush(failures))
    }
}
