//! A steady load on the service: one request every 20 ms (50 a second), each on its own task so
//! that a slow answer does not slow the rate, each reply's trace ID (`X-Request-ID`) kept with
//! the time it was sent.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use otelix_testkit::Receiver;
use tokio::sync::watch;

/// The requests' interval: 50 a second.
const EVERY: Duration = Duration::from_millis(20);

/// One answered request.
#[derive(Debug, Clone)]
pub(crate) struct Sent {
    pub(crate) at: Instant,
    pub(crate) trace_id: String,
}

/// The running load; [`Load::stop`] ends it and returns what was sent.
pub(crate) struct Load {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    sent: Arc<Mutex<Vec<Sent>>>,
    failed: Arc<Mutex<Vec<String>>>,
}

impl Load {
    /// Starts sending `GET {base}{path}`.
    pub(crate) fn start(base: &str, path: &str) -> Load {
        let url = format!("{base}{path}");
        let client = crate::common::http_client();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let failed = Arc::new(Mutex::new(Vec::new()));
        let (stop, mut stopped) = watch::channel(false);
        let (task_sent, task_failed) = (Arc::clone(&sent), Arc::clone(&failed));
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(EVERY);
            let mut requests = Vec::new();
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    _ = stopped.changed() => break,
                }
                let (client, url) = (client.clone(), url.clone());
                let (sent, failed) = (Arc::clone(&task_sent), Arc::clone(&task_failed));
                requests.push(tokio::spawn(async move {
                    let at = Instant::now();
                    let outcome = client.get(&url).send().await.map(|r| {
                        let id = r.headers().get("x-request-id").cloned();
                        (r.status(), id)
                    });
                    match outcome {
                        Ok((status, Some(id))) if status.is_success() => {
                            let trace_id = id.to_str().unwrap_or_default().to_owned();
                            sent.lock().expect("lock").push(Sent { at, trace_id });
                        }
                        other => failed.lock().expect("lock").push(format!("{other:?}")),
                    }
                }));
            }
            for request in requests {
                request.await.expect("request task");
            }
        });
        Load {
            stop,
            task,
            sent,
            failed,
        }
    }

    /// Stops the load, waits for the requests in flight, and returns the answered ones. Every
    /// request must have been answered with success: the service keeps serving whatever
    /// happens to its collector.
    pub(crate) async fn stop(self) -> Vec<Sent> {
        let _ = self.stop.send(true);
        self.task.await.expect("load task");
        let failed = self.failed.lock().expect("lock").clone();
        assert!(
            failed.is_empty(),
            "{} requests failed during the load, the first: {}",
            failed.len(),
            failed[0]
        );
        let mut sent = self.sent.lock().expect("lock").clone();
        sent.sort_by_key(|s| s.at);
        sent
    }
}

/// Waits up to `timeout` until every trace of `sent` has its SERVER span at the receiver;
/// returns the trace IDs still missing.
pub(crate) async fn missing_server_spans(
    receiver: &Receiver,
    sent: &[Sent],
    timeout: Duration,
) -> BTreeSet<String> {
    let deadline = Instant::now() + timeout;
    loop {
        let arrived: BTreeSet<String> = receiver
            .spans()
            .iter()
            .filter(|s| s.kind() == SpanKind::Server && s.parent_span_id().is_none())
            .map(|s| s.trace_id())
            .collect();
        let missing: BTreeSet<String> = sent
            .iter()
            .map(|s| s.trace_id.clone())
            .filter(|id| !arrived.contains(id))
            .collect();
        if missing.is_empty() || Instant::now() >= deadline {
            return missing;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
