//! The thread-safe record of everything the receiver accepted, and the waits on it.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use tokio::runtime::Handle;
use tokio::sync::Notify;
use tokio::task::AbortHandle;

use crate::received::data_point_count;
use crate::{ExportRequest, ReceivedLog, ReceivedMetric, ReceivedSpan, TestkitError, Transport};

/// How much the receiver has accepted since it started or was last cleared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Counts {
    /// Spans accepted.
    pub spans: u64,
    /// Metric data points accepted (over all metric types).
    pub metric_data_points: u64,
    /// Log records accepted.
    pub logs: u64,
    /// Well-formed export requests that arrived on either transport, including those that
    /// [`Behavior::Reject`](crate::Behavior::Reject) or
    /// [`Behavior::Refuse`](crate::Behavior::Refuse) turned away.
    pub export_requests: u64,
}

#[derive(Default)]
pub(crate) struct Inner {
    spans: Vec<ReceivedSpan>,
    metrics: Vec<ReceivedMetric>,
    logs: Vec<ReceivedLog>,
    requests: Vec<ExportRequest>,
    counts: Counts,
    /// Bumped by `clear`, so that waits restart their scan from the first item.
    generation: u64,
}

/// One kind of received item, so that the waits are written once.
pub(crate) trait Item: Clone {
    const WHAT: &'static str;
    fn list(inner: &Inner) -> &[Self];
}

impl Item for ReceivedSpan {
    const WHAT: &'static str = "a span matching the predicate";
    fn list(inner: &Inner) -> &[Self] {
        &inner.spans
    }
}

impl Item for ReceivedMetric {
    const WHAT: &'static str = "a metric matching the predicate";
    fn list(inner: &Inner) -> &[Self] {
        &inner.metrics
    }
}

impl Item for ReceivedLog {
    const WHAT: &'static str = "a log record matching the predicate";
    fn list(inner: &Inner) -> &[Self] {
        &inner.logs
    }
}

/// Where a wait has scanned to, so each wake-up only looks at new items.
#[derive(Default)]
struct Cursor {
    generation: u64,
    next: usize,
}

impl Cursor {
    /// The first item at or after the cursor that matches, or the number of items seen.
    fn scan<T: Item>(&mut self, inner: &Inner, pred: &impl Fn(&T) -> bool) -> Result<T, usize> {
        let items = T::list(inner);
        if self.generation != inner.generation || self.next > items.len() {
            self.generation = inner.generation;
            self.next = 0;
        }
        let start = self.next;
        self.next = items.len();
        items
            .get(start..)
            .and_then(|fresh| fresh.iter().find(|item| pred(item)).cloned())
            .ok_or(items.len())
    }
}

pub(crate) struct Store {
    inner: Mutex<Inner>,
    changed: Condvar,
    notify: Arc<Notify>,
    keep_items: bool,
}

fn scope_name(scope: Option<&InstrumentationScope>) -> String {
    scope.map(|s| s.name.clone()).unwrap_or_default()
}

fn resource_attributes(
    resource: Option<&Resource>,
) -> Vec<opentelemetry_proto::tonic::common::v1::KeyValue> {
    resource.map(|r| r.attributes.clone()).unwrap_or_default()
}

impl Store {
    pub(crate) fn new(keep_items: bool) -> Self {
        Store {
            inner: Mutex::new(Inner::default()),
            changed: Condvar::new(),
            notify: Arc::new(Notify::new()),
            keep_items,
        }
    }

    // A panic while holding the lock cannot leave `Inner` inconsistent in a way that
    // matters to tests, so a poisoned lock is used as is.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wake(&self) {
        self.changed.notify_all();
        self.notify.notify_waiters();
    }

    pub(crate) fn counts(&self) -> Counts {
        self.lock().counts
    }

    pub(crate) fn snapshot<T: Item>(&self) -> Vec<T> {
        T::list(&self.lock()).to_vec()
    }

    pub(crate) fn clear(&self) {
        let mut inner = self.lock();
        let generation = inner.generation.wrapping_add(1);
        *inner = Inner {
            generation,
            ..Inner::default()
        };
    }

    /// Counts a request and, when items are kept, lists it as `describe` says (computed only
    /// then, since it encodes the message again).
    pub(crate) fn count_request(&self, describe: impl FnOnce() -> ExportRequest) {
        let request = self.keep_items.then(describe);
        let mut inner = self.lock();
        inner.counts.export_requests += 1;
        inner.requests.extend(request);
    }

    pub(crate) fn requests(&self) -> Vec<ExportRequest> {
        self.lock().requests.clone()
    }

    pub(crate) fn record_traces(&self, request: ExportTraceServiceRequest, transport: Transport) {
        let mut received = Vec::new();
        for resource_spans in request.resource_spans {
            let resource = resource_attributes(resource_spans.resource.as_ref());
            for scope_spans in resource_spans.scope_spans {
                let scope_name = scope_name(scope_spans.scope.as_ref());
                received.extend(scope_spans.spans.into_iter().map(|span| ReceivedSpan {
                    resource: resource.clone(),
                    scope_name: scope_name.clone(),
                    span,
                    transport,
                }));
            }
        }
        {
            let mut inner = self.lock();
            inner.counts.spans += received.len() as u64;
            if self.keep_items {
                inner.spans.extend(received);
            }
        }
        self.wake();
    }

    pub(crate) fn record_metrics(
        &self,
        request: ExportMetricsServiceRequest,
        transport: Transport,
    ) {
        let mut received = Vec::new();
        let mut points = 0u64;
        for resource_metrics in request.resource_metrics {
            let resource = resource_attributes(resource_metrics.resource.as_ref());
            for scope_metrics in resource_metrics.scope_metrics {
                let scope_name = scope_name(scope_metrics.scope.as_ref());
                for metric in scope_metrics.metrics {
                    points += data_point_count(&metric) as u64;
                    received.push(ReceivedMetric {
                        resource: resource.clone(),
                        scope_name: scope_name.clone(),
                        metric,
                        transport,
                    });
                }
            }
        }
        {
            let mut inner = self.lock();
            inner.counts.metric_data_points += points;
            if self.keep_items {
                inner.metrics.extend(received);
            }
        }
        self.wake();
    }

    pub(crate) fn record_logs(&self, request: ExportLogsServiceRequest, transport: Transport) {
        let mut received = Vec::new();
        for resource_logs in request.resource_logs {
            let resource = resource_attributes(resource_logs.resource.as_ref());
            for scope_logs in resource_logs.scope_logs {
                let scope_name = scope_name(scope_logs.scope.as_ref());
                received.extend(
                    scope_logs
                        .log_records
                        .into_iter()
                        .map(|record| ReceivedLog {
                            resource: resource.clone(),
                            scope_name: scope_name.clone(),
                            record,
                            transport,
                        }),
                );
            }
        }
        {
            let mut inner = self.lock();
            inner.counts.logs += received.len() as u64;
            if self.keep_items {
                inner.logs.extend(received);
            }
        }
        self.wake();
    }

    fn timeout_error<T: Item>(timeout: Duration, seen: usize) -> TestkitError {
        TestkitError::Timeout {
            what: T::WHAT.to_owned(),
            after: timeout,
            seen,
        }
    }

    pub(crate) fn wait_blocking<T: Item>(
        &self,
        pred: impl Fn(&T) -> bool,
        timeout: Duration,
    ) -> Result<T, TestkitError> {
        // A timeout too large for `Instant` means "wait forever".
        let deadline = Instant::now().checked_add(timeout);
        let mut cursor = Cursor::default();
        let mut inner = self.lock();
        loop {
            let seen = match cursor.scan(&inner, &pred) {
                Ok(item) => return Ok(item),
                Err(seen) => seen,
            };
            inner = match deadline {
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(Self::timeout_error::<T>(timeout, seen));
                    }
                    self.changed
                        .wait_timeout(inner, deadline - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => self
                    .changed
                    .wait(inner)
                    .unwrap_or_else(PoisonError::into_inner),
            };
        }
    }

    /// Waits without needing a timer in the caller's runtime: the deadline wake-up is a
    /// task on the receiver's own runtime (`timers`), so this works under any executor.
    pub(crate) async fn wait<T: Item>(
        &self,
        timers: &Handle,
        pred: impl Fn(&T) -> bool,
        timeout: Duration,
    ) -> Result<T, TestkitError> {
        let deadline = Instant::now().checked_add(timeout);
        let mut cursor = Cursor::default();
        let mut timer: Option<AbortOnDrop> = None;
        loop {
            // Created before scanning so that a wake-up between the scan and the await is
            // not lost (`notify_waiters` reaches every `Notified` that exists).
            let notified = self.notify.notified();
            let seen = match cursor.scan(&self.lock(), &pred) {
                Ok(item) => return Ok(item),
                Err(seen) => seen,
            };
            if let Some(deadline) = deadline {
                let now = Instant::now();
                if now >= deadline {
                    return Err(Self::timeout_error::<T>(timeout, seen));
                }
                if timer.as_ref().is_none_or(|t| t.0.is_finished()) {
                    let notify = Arc::clone(&self.notify);
                    let remaining = deadline - now;
                    let task = timers.spawn(async move {
                        tokio::time::sleep(remaining).await;
                        notify.notify_waiters();
                    });
                    timer = Some(AbortOnDrop(task.abort_handle()));
                }
            }
            notified.await;
        }
    }
}

/// Cancels a wait's deadline timer when the wait ends or is dropped.
struct AbortOnDrop(AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
