use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// How the receiver answers export requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Behavior {
    /// Record the items and answer success at once.
    #[default]
    Accept,
    /// Record nothing and answer gRPC `UNAVAILABLE` / HTTP 503, which exporters treat as
    /// retryable. The request is still counted in [`Counts::export_requests`](crate::Counts).
    Reject,
    /// Record the items and never answer, as a stalled collector would; the exporter's
    /// own timeout is what ends the request.
    Hang,
    /// Record the items on arrival and answer success after the delay.
    Delay(Duration),
}

/// What a handler should do with a request that decoded.
pub(crate) enum Verdict {
    Reject,
    Record { answer_after: Answer },
}

pub(crate) enum Answer {
    Now,
    After(Duration),
    Never,
}

impl Answer {
    pub(crate) async fn wait(self) {
        match self {
            Answer::Now => {}
            Answer::After(delay) => tokio::time::sleep(delay).await,
            Answer::Never => std::future::pending::<()>().await,
        }
    }
}

/// The behavior, changeable while the servers run.
#[derive(Debug, Default)]
pub(crate) struct BehaviorCell(Mutex<Behavior>);

impl BehaviorCell {
    pub(crate) fn new(behavior: Behavior) -> Self {
        BehaviorCell(Mutex::new(behavior))
    }

    pub(crate) fn get(&self) -> Behavior {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn set(&self, behavior: Behavior) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = behavior;
    }

    pub(crate) fn verdict(&self) -> Verdict {
        match self.get() {
            Behavior::Accept => Verdict::Record {
                answer_after: Answer::Now,
            },
            Behavior::Reject => Verdict::Reject,
            Behavior::Hang => Verdict::Record {
                answer_after: Answer::Never,
            },
            Behavior::Delay(delay) => Verdict::Record {
                answer_after: Answer::After(delay),
            },
        }
    }
}
