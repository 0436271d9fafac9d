use std::time::Duration;

/// Errors returned by the [`Receiver`](crate::Receiver).
#[derive(Debug, thiserror::Error)]
pub enum TestkitError {
    /// A listening socket could not be bound; the message names the transport and address.
    #[error("cannot bind the OTLP receiver socket: {0}")]
    Bind(#[source] std::io::Error),
    /// The receiver's background runtime or thread could not be started.
    #[error("cannot start the OTLP receiver runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// No received item matched the predicate before the timeout.
    #[error("timed out after {after:?} waiting for {what}: {seen} received, none matched")]
    Timeout {
        /// What was waited for, e.g. "a span matching the predicate".
        what: String,
        /// The timeout that elapsed.
        after: Duration,
        /// How many items of that kind the receiver held when the wait gave up.
        seen: usize,
    },
}
