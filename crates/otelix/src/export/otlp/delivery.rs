//! What the three signal exporters share once their request is encoded: the delivery runs on
//! otelix's export runtime (the exporters' futures are polled by plain executors: the batch
//! processors' export threads, the periodic metric reader's thread), the answer is read for a
//! partial success, and every item is counted: exported, or dropped with its reason.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};

use super::retry::{Outcome, Sender};
use crate::process::DropReason;

/// An `Export*ServiceResponse`: what it says was rejected.
pub(crate) trait PartialSuccess: prost::Message + Default {
    /// The rejected item count and the collector's message (both zero or empty on a full
    /// success).
    fn rejected(&self) -> (i64, &str);
}

/// One exporter's way to its collector: the signal's [`Sender`], shared by every exporter of
/// the signal, and the runtime it runs on.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    sender: Arc<Sender>,
    runtime: tokio::runtime::Handle,
}

impl Delivery {
    pub(crate) fn new(sender: Arc<Sender>, runtime: tokio::runtime::Handle) -> Self {
        Delivery { sender, runtime }
    }

    /// Delivers `body`, a request holding `items` items, and counts them.
    pub(crate) async fn export<R: PartialSuccess>(
        &self,
        body: Vec<u8>,
        items: u64,
    ) -> OTelSdkResult {
        let drops = self.sender.drops();
        let body = match self.sender.prepare(body) {
            Ok(body) => body,
            Err(failure) => {
                drops.add(DropReason::ExportFailed, items);
                return Err(OTelSdkError::InternalFailure(failure.reason));
            }
        };
        let sender = Arc::clone(&self.sender);
        let task = AbortOnDrop(
            self.runtime
                .spawn(async move { sender.deliver(body).await }),
        );
        // A task that cannot finish (the runtime is shutting down) was stopped by shutdown.
        match task.await.unwrap_or(Outcome::ShutDown) {
            Outcome::Delivered(answer) => {
                let response = R::decode(answer).unwrap_or_default();
                let (rejected, message) = response.rejected();
                let rejected = u64::try_from(rejected).unwrap_or(0).min(items);
                if rejected > 0 || !message.is_empty() {
                    self.sender.report_partial_success(rejected, message);
                }
                drops.add(DropReason::Rejected, rejected);
                drops.add_exported(items - rejected);
                Ok(())
            }
            Outcome::Failed(failure) => {
                drops.add(DropReason::ExportFailed, items);
                Err(OTelSdkError::InternalFailure(format!(
                    "OTLP {} export to {} failed: {}: {}",
                    self.sender.signal().as_str(),
                    self.sender.endpoint(),
                    failure.kind.as_str(),
                    failure.reason
                )))
            }
            Outcome::ShutDown => {
                drops.add(DropReason::Shutdown, items);
                Err(OTelSdkError::InternalFailure(format!(
                    "OTLP {} export to {} not delivered before the shutdown deadline",
                    self.sender.signal().as_str(),
                    self.sender.endpoint(),
                )))
            }
        }
    }
}

/// A task on the export runtime that stops when its exporter stops waiting for it (a batch
/// processor gives up on an export that outlives its timeout).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
