//! The receiver: sockets, its own runtime on a background thread, and the public handle.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::behavior::BehaviorCell;
use crate::store::Store;
use crate::{
    Behavior, Counts, ExportRequest, ReceivedLog, ReceivedMetric, ReceivedSpan, TestkitError,
};

/// State shared by the servers and the [`Receiver`] handle.
pub(crate) struct Shared {
    pub(crate) store: Store,
    pub(crate) behavior: BehaviorCell,
}

const LOCALHOST_ANY_PORT: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

/// Builds a [`Receiver`]; get one from [`Receiver::builder`].
#[derive(Debug, Clone)]
pub struct ReceiverBuilder {
    behavior: Behavior,
    grpc_addr: SocketAddr,
    http_addr: SocketAddr,
    keep_items: bool,
}

impl Default for ReceiverBuilder {
    fn default() -> Self {
        ReceiverBuilder {
            behavior: Behavior::Accept,
            grpc_addr: LOCALHOST_ANY_PORT,
            http_addr: LOCALHOST_ANY_PORT,
            keep_items: true,
        }
    }
}

impl ReceiverBuilder {
    /// How export requests are answered. Default: [`Behavior::Accept`].
    #[must_use]
    pub fn with_behavior(mut self, behavior: Behavior) -> Self {
        self.behavior = behavior;
        self
    }

    /// The OTLP/gRPC listening address. Default: `127.0.0.1:0` (a free port).
    #[must_use]
    pub fn with_grpc_addr(mut self, addr: SocketAddr) -> Self {
        self.grpc_addr = addr;
        self
    }

    /// The OTLP/HTTP listening address. Default: `127.0.0.1:0` (a free port).
    #[must_use]
    pub fn with_http_addr(mut self, addr: SocketAddr) -> Self {
        self.http_addr = addr;
        self
    }

    /// Whether received items are kept for [`Receiver::spans`] and the waits. With `false`
    /// only [`Receiver::counts`] is updated, so memory stays flat under load.
    /// Default: `true`.
    #[must_use]
    pub fn with_keep_items(mut self, keep_items: bool) -> Self {
        self.keep_items = keep_items;
        self
    }

    /// Binds both sockets and starts the servers on a dedicated runtime thread.
    ///
    /// # Errors
    ///
    /// [`TestkitError::Bind`] when an address cannot be bound, [`TestkitError::Runtime`] when
    /// the runtime or its thread cannot be started.
    pub fn build(self) -> Result<Receiver, TestkitError> {
        // Bound here, on the caller's thread, so that a taken port is reported by `build`.
        let grpc = bind("OTLP/gRPC", self.grpc_addr)?;
        let http = bind("OTLP/HTTP", self.http_addr)?;
        let grpc_addr = grpc.local_addr().map_err(TestkitError::Bind)?;
        let http_addr = http.local_addr().map_err(TestkitError::Bind)?;
        let shared = Arc::new(Shared {
            store: Store::new(self.keep_items),
            behavior: BehaviorCell::new(self.behavior),
        });
        let (stop, stopped) = oneshot::channel();
        let (ready_tx, ready_rx) = mpsc::channel();
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("otelix-testkit-receiver".to_owned())
            .spawn(move || run(grpc, http, thread_shared, stopped, ready_tx))
            .map_err(TestkitError::Runtime)?;
        let runtime = match ready_rx.recv() {
            Ok(Ok(handle)) => handle,
            Ok(Err(error)) => return Err(TestkitError::Runtime(error)),
            Err(mpsc::RecvError) => {
                return Err(TestkitError::Runtime(io::Error::other(
                    "the receiver thread exited during startup",
                )))
            }
        };
        Ok(Receiver {
            grpc_addr,
            http_addr,
            shared,
            runtime,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

fn bind(what: &str, addr: SocketAddr) -> Result<TcpListener, TestkitError> {
    let with_context = |error: io::Error| {
        TestkitError::Bind(io::Error::new(
            error.kind(),
            format!("{what} on {addr}: {error}"),
        ))
    };
    let listener = TcpListener::bind(addr).map_err(with_context)?;
    listener.set_nonblocking(true).map_err(with_context)?;
    Ok(listener)
}

/// The body of the receiver thread. The runtime is created and dropped on this thread,
/// never on the caller's, because dropping a runtime inside another runtime panics.
fn run(
    grpc: TcpListener,
    http: TcpListener,
    shared: Arc<Shared>,
    stopped: oneshot::Receiver<()>,
    ready: mpsc::Sender<io::Result<Handle>>,
) {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("otelix-testkit-worker")
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            let _ = ready.send(Err(error));
            return;
        }
    };
    let listeners = {
        let _context = runtime.enter();
        tokio::net::TcpListener::from_std(grpc)
            .and_then(|grpc| Ok((grpc, tokio::net::TcpListener::from_std(http)?)))
    };
    let (grpc, http) = match listeners {
        Ok(listeners) => listeners,
        Err(error) => {
            let _ = ready.send(Err(error));
            return;
        }
    };
    runtime.spawn(crate::grpc::serve(grpc, Arc::clone(&shared)));
    runtime.spawn(crate::http::serve(http, shared));
    if ready.send(Ok(runtime.handle().clone())).is_err() {
        return;
    }
    // Either a stop message or the sender's drop ends the wait.
    let _ = runtime.block_on(stopped);
    // Dropping the server tasks closes the listeners and every connection, including
    // requests held open by `Behavior::Hang`.
    runtime.shutdown_timeout(Duration::from_secs(1));
}

/// An in-process OTLP receiver (gRPC and HTTP/protobuf) that records what arrives.
///
/// It runs on its own runtime thread, so it works from plain `#[test]`s and under any
/// async runtime. The servers stop on [`Receiver::shutdown`] or drop.
pub struct Receiver {
    grpc_addr: SocketAddr,
    http_addr: SocketAddr,
    shared: Arc<Shared>,
    runtime: Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("grpc_addr", &self.grpc_addr)
            .field("http_addr", &self.http_addr)
            .field("behavior", &self.shared.behavior.get())
            .field("counts", &self.shared.store.counts())
            .finish_non_exhaustive()
    }
}

impl Receiver {
    /// Starts a receiver with the defaults: both transports on free ports of `127.0.0.1`,
    /// [`Behavior::Accept`].
    ///
    /// # Errors
    ///
    /// As [`ReceiverBuilder::build`].
    pub fn start() -> Result<Receiver, TestkitError> {
        Receiver::builder().build()
    }

    /// A builder to choose the behavior or fixed addresses.
    pub fn builder() -> ReceiverBuilder {
        ReceiverBuilder::default()
    }

    /// The OTLP/gRPC endpoint, `http://127.0.0.1:PORT`.
    pub fn grpc_endpoint(&self) -> String {
        format!("http://{}", self.grpc_addr)
    }

    /// The OTLP/HTTP base endpoint, `http://127.0.0.1:PORT`; it serves `POST /v1/traces`,
    /// `/v1/metrics` and `/v1/logs`.
    pub fn http_endpoint(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// The bound OTLP/gRPC address.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// The bound OTLP/HTTP address.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// Changes how later requests are answered (requests already waiting keep theirs).
    pub fn set_behavior(&self, behavior: Behavior) {
        self.shared.behavior.set(behavior);
    }

    /// The spans received so far, in arrival order.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.shared.store.snapshot()
    }

    /// The metrics received so far, in arrival order (one item per metric per export).
    pub fn metrics(&self) -> Vec<ReceivedMetric> {
        self.shared.store.snapshot()
    }

    /// The log records received so far, in arrival order.
    pub fn logs(&self) -> Vec<ReceivedLog> {
        self.shared.store.snapshot()
    }

    /// How much was received since the start or the last [`clear`](Receiver::clear).
    pub fn counts(&self) -> Counts {
        self.shared.store.counts()
    }

    /// Every well-formed export request so far, accepted or refused, in arrival order: a
    /// test tells a batch sent again (same [`digest`](ExportRequest::digest)) from a new one,
    /// and sees whether it came gzip-compressed. Empty when items are not kept
    /// ([`ReceiverBuilder::with_keep_items`]).
    pub fn requests(&self) -> Vec<ExportRequest> {
        self.shared.store.requests()
    }

    /// Forgets every received item and request and resets the counts.
    pub fn clear(&self) {
        self.shared.store.clear();
    }

    /// The first span, already received or arriving later, that matches `pred`.
    ///
    /// Needs no timer from the caller's runtime, so it works under any executor.
    ///
    /// # Errors
    ///
    /// [`TestkitError::Timeout`] when no span matched within `timeout`.
    pub async fn wait_for_span(
        &self,
        pred: impl Fn(&ReceivedSpan) -> bool,
        timeout: Duration,
    ) -> Result<ReceivedSpan, TestkitError> {
        self.shared.store.wait(&self.runtime, pred, timeout).await
    }

    /// The first metric, already received or arriving later, that matches `pred`.
    ///
    /// # Errors
    ///
    /// [`TestkitError::Timeout`] when no metric matched within `timeout`.
    pub async fn wait_for_metric(
        &self,
        pred: impl Fn(&ReceivedMetric) -> bool,
        timeout: Duration,
    ) -> Result<ReceivedMetric, TestkitError> {
        self.shared.store.wait(&self.runtime, pred, timeout).await
    }

    /// The first log record, already received or arriving later, that matches `pred`.
    ///
    /// # Errors
    ///
    /// [`TestkitError::Timeout`] when no record matched within `timeout`.
    pub async fn wait_for_log(
        &self,
        pred: impl Fn(&ReceivedLog) -> bool,
        timeout: Duration,
    ) -> Result<ReceivedLog, TestkitError> {
        self.shared.store.wait(&self.runtime, pred, timeout).await
    }

    /// Blocking form of [`wait_for_span`](Receiver::wait_for_span); blocks the calling thread.
    ///
    /// # Errors
    ///
    /// [`TestkitError::Timeout`] when no span matched within `timeout`.
    pub fn wait_for_span_blocking(
        &self,
        pred: impl Fn(&ReceivedSpan) -> bool,
        timeout: Duration,
    ) -> Result<ReceivedSpan, TestkitError> {
        self.shared.store.wait_blocking(pred, timeout)
    }

    /// Blocking form of [`wait_for_metric`](Receiver::wait_for_metric).
    ///
    /// # Errors
    ///
    /// [`TestkitError::Timeout`] when no metric matched within `timeout`.
    pub fn wait_for_metric_blocking(
        &self,
        pred: impl Fn(&ReceivedMetric) -> bool,
        timeout: Duration,
    ) -> Result<ReceivedMetric, TestkitError> {
        self.shared.store.wait_blocking(pred, timeout)
    }

    /// Blocking form of [`wait_for_log`](Receiver::wait_for_log).
    ///
    /// # Errors
    ///
    /// [`TestkitError::Timeout`] when no record matched within `timeout`.
    pub fn wait_for_log_blocking(
        &self,
        pred: impl Fn(&ReceivedLog) -> bool,
        timeout: Duration,
    ) -> Result<ReceivedLog, TestkitError> {
        self.shared.store.wait_blocking(pred, timeout)
    }

    /// Stops both servers, closing open connections, and waits (about a second at most)
    /// for the runtime thread to end. Dropping the receiver does the same.
    pub fn shutdown(mut self) {
        self.stop_servers();
    }

    fn stop_servers(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            // A panic on the receiver thread has already been printed; nothing to add.
            let _ = thread.join();
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop_servers();
    }
}
