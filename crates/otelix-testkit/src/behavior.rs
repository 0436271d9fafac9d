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
    /// Record nothing and answer with the refusal's status. The request is still counted,
    /// and listed by [`Receiver::requests`](crate::Receiver::requests) as refused.
    Refuse(Refusal),
}

/// A refusal of [`Behavior::Refuse`], with the status each transport answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// gRPC `UNAVAILABLE`; HTTP 503 with `Retry-After: <seconds>` when `retry_after_seconds`
    /// is set. Retryable: an exporter should send the same batch again.
    Unavailable {
        /// The `Retry-After` header's value (HTTP only; gRPC answers the bare code).
        retry_after_seconds: Option<u64>,
    },
    /// gRPC `INVALID_ARGUMENT`; HTTP 400. Permanent: an exporter must not send the batch again.
    InvalidArgument,
}

impl Refusal {
    /// The gRPC status the receiver answers.
    pub(crate) fn grpc_status(self) -> tonic::Status {
        match self {
            Refusal::Unavailable { .. } => {
                tonic::Status::unavailable("otelix-testkit receiver refuses: unavailable")
            }
            Refusal::InvalidArgument => {
                tonic::Status::invalid_argument("otelix-testkit receiver refuses: invalid argument")
            }
        }
    }
}

/// What a handler should do with a request that decoded.
pub(crate) enum Verdict {
    Refuse(Refusal),
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
            Behavior::Reject => Verdict::Refuse(Refusal::Unavailable {
                retry_after_seconds: None,
            }),
            Behavior::Refuse(refusal) => Verdict::Refuse(refusal),
            Behavior::Hang => Verdict::Record {
                answer_after: Answer::Never,
            },
            Behavior::Delay(delay) => Verdict::Record {
                answer_after: Answer::After(delay),
            },
        }
    }
}
