//! A transport that answers from a script, so that the retry loop can be tested without a
//! network: each attempt takes the next answer (after its delay), and is recorded.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::Failure;

/// One scripted answer: how long the attempt takes, and what it returns.
pub(crate) type Answer = (Duration, Result<Bytes, Failure>);

#[derive(Clone, Default)]
pub(crate) struct FakeTransport {
    script: Arc<Mutex<VecDeque<Answer>>>,
    /// When each attempt started, and the body it sent.
    attempts: Arc<Mutex<Vec<(Instant, Bytes)>>>,
}

impl FakeTransport {
    pub(crate) fn new(answers: impl IntoIterator<Item = Answer>) -> Self {
        FakeTransport {
            script: Arc::new(Mutex::new(answers.into_iter().collect())),
            attempts: Arc::default(),
        }
    }

    pub(crate) fn attempts(&self) -> Vec<(Instant, Bytes)> {
        self.attempts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(super) async fn send(&self, body: Bytes) -> Result<Bytes, Failure> {
        self.attempts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((Instant::now(), body));
        let next = self
            .script
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front();
        // Once the script is over, the collector answers at once with success.
        let (delay, answer) = next.unwrap_or((Duration::ZERO, Ok(Bytes::new())));
        tokio::time::sleep(delay).await;
        answer
    }
}
