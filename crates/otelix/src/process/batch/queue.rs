//! The bounded queue both batch processors share: items are pushed into the current batch
//! under one short lock, a full batch is sealed for the next free export thread, and flush and
//! shutdown wait on the threads' progress within their deadlines.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::Resource;

use super::worker::{export_loop, Exporter};
use super::{thread_name, DropCounter, DropReason, ExportHandle, TRACING_TARGET};
use crate::config::{BatchSettings, Signal};
use crate::export::otlp::ShutdownClock;

pub(super) struct State<T> {
    /// The batch being filled.
    pub(super) current: Vec<T>,
    /// Full batches waiting for an export thread.
    pub(super) sealed: VecDeque<Vec<T>>,
    /// Items in `current` and `sealed`.
    pub(super) queued: usize,
    /// Batches being exported.
    pub(super) in_flight: usize,
    /// Export threads still running.
    pub(super) workers: usize,
    /// No more items are accepted; the workers drain the queue and stop.
    pub(super) closed: bool,
}

impl<T> State<T> {
    pub(super) fn seal(&mut self, capacity: usize) {
        if !self.current.is_empty() {
            let batch = std::mem::replace(&mut self.current, Vec::with_capacity(capacity));
            self.sealed.push_back(batch);
        }
    }
}

pub(super) struct Shared<T> {
    pub(super) state: Mutex<State<T>>,
    /// Export threads wait here for a sealed batch, the schedule delay, or shutdown.
    pub(super) work: Condvar,
    /// Flush and shutdown wait here for the queue to empty or the workers to stop.
    pub(super) progress: Condvar,
    pub(super) drops: Arc<DropCounter>,
    pub(super) max_queue_size: usize,
    pub(super) max_batch: usize,
    pub(super) schedule_delay: Duration,
    pub(super) export_timeout: Duration,
    /// Set for otelix's OTLP exporters, which retry, count what they export or drop, and stop
    /// retrying at the shutdown deadline this clock carries.
    pub(super) own_exporter: Option<Arc<ShutdownClock>>,
}

impl<T> Shared<T> {
    pub(super) fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A panicking exporter must not stop collection: the state stays consistent because
        // every critical section is a few field updates.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The queue and export threads shared by both processors.
pub(super) struct Batcher<T> {
    shared: Arc<Shared<T>>,
    start: Mutex<Option<StartWorkers>>,
}

type StartWorkers = Box<dyn FnOnce(Option<&Resource>) + Send>;

/// What a processor shares with otelix's own OTLP exporters: the counters they count their
/// items in, and the shutdown deadline they stop retrying at.
pub(crate) struct OtlpExporters {
    pub(crate) drops: Arc<DropCounter>,
    pub(crate) clock: Arc<ShutdownClock>,
}

impl<T> std::fmt::Debug for Batcher<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher")
            .field("max_queue_size", &self.shared.max_queue_size)
            .field("max_export_batch_size", &self.shared.max_batch)
            .field("drops", &self.shared.drops)
            .finish_non_exhaustive()
    }
}

impl<T> Batcher<T> {
    pub(super) fn new<X>(
        signal: Signal,
        exporters: Vec<X>,
        settings: BatchSettings,
        otlp: Option<OtlpExporters>,
    ) -> Self
    where
        T: Send + 'static,
        X: Exporter<T>,
    {
        let (drops, own_exporter) = match otlp {
            Some(otlp) => (otlp.drops, Some(otlp.clock)),
            None => (Arc::new(DropCounter::new(signal)), None),
        };
        let max_batch = settings
            .max_export_batch_size
            .clamp(1, settings.max_queue_size.max(1));
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                current: Vec::with_capacity(max_batch),
                sealed: VecDeque::new(),
                queued: 0,
                in_flight: 0,
                workers: 0,
                closed: false,
            }),
            work: Condvar::new(),
            progress: Condvar::new(),
            drops,
            max_queue_size: settings.max_queue_size.max(1),
            max_batch,
            schedule_delay: settings.schedule_delay,
            export_timeout: settings.export_timeout,
            own_exporter,
        });
        // The export threads start once the provider hands over its resource (it always
        // does, in `build`): an exporter that already ran on another thread could no longer
        // be given it.
        let thread_shared = Arc::clone(&shared);
        let start: StartWorkers = Box::new(move |resource| {
            for (i, mut exporter) in exporters.into_iter().enumerate() {
                if let Some(resource) = resource {
                    exporter.set_resource(resource);
                }
                let worker_shared = Arc::clone(&thread_shared);
                thread_shared.lock().workers += 1;
                let spawned = std::thread::Builder::new()
                    .name(thread_name(signal, i))
                    .spawn(move || {
                        // What the exporter itself emits (a transport's logs) must not come
                        // back into the pipeline it is exporting.
                        let _suppressed = Context::enter_telemetry_suppressed_scope();
                        export_loop(&worker_shared, exporter);
                    });
                if let Err(error) = spawned {
                    thread_shared.lock().workers -= 1;
                    tracing::error!(
                        target: TRACING_TARGET,
                        %error,
                        signal = signal.as_str(),
                        "cannot start an export thread"
                    );
                }
            }
        });
        Batcher {
            shared,
            start: Mutex::new(Some(start)),
        }
    }

    pub(super) fn handle(&self) -> ExportHandle {
        ExportHandle {
            drops: Arc::clone(&self.shared.drops),
        }
    }

    pub(super) fn start_workers(&self, resource: Option<&Resource>) {
        let start = self
            .start
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(start) = start {
            start(resource);
        }
    }

    /// Queues `item`, or drops and counts it when the queue is full or closed; never blocks
    /// on an export.
    pub(super) fn push(&self, item: T) {
        let shared = &*self.shared;
        let mut state = shared.lock();
        if state.closed {
            drop(state);
            shared.drops.add(DropReason::Shutdown, 1);
            return;
        }
        if state.queued >= shared.max_queue_size {
            drop(state);
            shared.drops.add(DropReason::QueueFull, 1);
            return;
        }
        state.current.push(item);
        state.queued += 1;
        if state.current.len() >= shared.max_batch {
            state.seal(shared.max_batch);
            drop(state);
            shared.work.notify_one();
        }
    }

    /// Waits until the queue is empty and no export is in flight, or `deadline` passes.
    fn wait_idle(&self, deadline: Instant) -> bool {
        let shared = &self.shared;
        let mut state = shared.lock();
        loop {
            if state.queued == 0 && state.in_flight == 0 {
                return true;
            }
            if state.workers == 0 {
                return false;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = shared
                .progress
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Exports everything queued now, waiting at most twice the export timeout.
    pub(super) fn force_flush(&self) -> OTelSdkResult {
        self.start_workers(None);
        {
            let mut state = self.shared.lock();
            if state.closed {
                return Err(OTelSdkError::AlreadyShutdown);
            }
            state.seal(self.shared.max_batch);
        }
        self.shared.work.notify_all();
        // An export that is already late may take the whole export timeout before the last
        // batch gets its turn.
        let timeout = self.shared.export_timeout.saturating_mul(2);
        if self.wait_idle(Instant::now() + timeout) {
            Ok(())
        } else {
            Err(OTelSdkError::Timeout(timeout))
        }
    }

    pub(super) fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.start_workers(None);
        let deadline = Instant::now() + timeout;
        let shared = &self.shared;
        {
            let mut state = shared.lock();
            if state.closed {
                return Err(OTelSdkError::AlreadyShutdown);
            }
            state.closed = true;
            state.seal(0);
        }
        if let Some(clock) = &shared.own_exporter {
            // The exporters stop retrying a little before the deadline, so that their
            // threads are done (and their batches counted) when this waits no longer.
            let margin = (timeout / 10).min(Duration::from_millis(200));
            clock.begin(deadline - margin);
        }
        shared.work.notify_all();
        let mut state = shared.lock();
        while state.workers > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = shared
                .progress
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        // What no export thread took in time is lost; taken out so no thread exports it later.
        let left_behind: usize = state.sealed.drain(..).map(|b| b.len()).sum();
        state.queued = 0;
        let stopped = state.workers == 0;
        drop(state);
        shared.drops.add(DropReason::Shutdown, left_behind as u64);
        if stopped && left_behind == 0 {
            Ok(())
        } else {
            Err(OTelSdkError::Timeout(timeout))
        }
    }
}

impl<T> Drop for Batcher<T> {
    /// Lets the export threads drain the queue and stop, without waiting for them (the
    /// provider calls `shutdown` first when it is dropped).
    fn drop(&mut self) {
        // Never started (no provider handed over a resource): start now, so what was queued
        // is still exported.
        self.start_workers(None);
        {
            let mut state = self.shared.lock();
            state.closed = true;
            state.seal(0);
        }
        self.shared.work.notify_all();
    }
}
