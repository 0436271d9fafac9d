//! [`ShutdownClock`]: the deadline every delivery of one telemetry pipeline stops at.

use std::time::Instant;

use tokio::sync::watch;

/// When telemetry stops: once a shutdown begins, requests are sent again only until its
/// deadline. Shared by every exporter and batch processor of one telemetry pipeline.
#[derive(Debug)]
pub(crate) struct ShutdownClock {
    deadline: watch::Sender<Option<Instant>>,
}

impl Default for ShutdownClock {
    fn default() -> Self {
        ShutdownClock {
            deadline: watch::Sender::new(None),
        }
    }
}

impl ShutdownClock {
    /// A shutdown that must be over by `deadline` begins; an earlier deadline set already
    /// stands.
    pub(crate) fn begin(&self, deadline: Instant) {
        self.deadline.send_if_modified(|current| match current {
            Some(set) if *set <= deadline => false,
            _ => {
                *current = Some(deadline);
                true
            }
        });
    }

    /// The deadline, once a shutdown has begun.
    #[cfg_attr(
        not(any(feature = "otlp-grpc", feature = "otlp-http")),
        allow(dead_code)
    )]
    pub(crate) fn deadline(&self) -> Option<Instant> {
        *self.deadline.borrow()
    }

    /// Completes when a shutdown has begun.
    #[cfg_attr(
        not(any(feature = "otlp-grpc", feature = "otlp-http")),
        allow(dead_code)
    )]
    pub(crate) async fn begun(&self) {
        let mut receiver = self.deadline.subscribe();
        if receiver.wait_for(Option::is_some).await.is_err() {
            // The clock is never dropped while a delivery holds it.
            std::future::pending::<()>().await;
        }
    }

    /// Completes when a shutdown has begun and its deadline has passed.
    #[cfg_attr(
        not(any(feature = "otlp-grpc", feature = "otlp-http")),
        allow(dead_code)
    )]
    pub(crate) async fn passed(&self) {
        let mut receiver = self.deadline.subscribe();
        let deadline = match receiver.wait_for(Option::is_some).await {
            Ok(deadline) => *deadline,
            // The clock is never dropped while a delivery holds it.
            Err(_) => None,
        };
        match deadline {
            Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
            None => std::future::pending().await,
        }
    }
}
