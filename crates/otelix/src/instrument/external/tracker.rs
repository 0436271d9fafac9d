use crate::export::exemplars::ExemplarSink;
use std::borrow::Cow;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use opentelemetry::context::FutureExt as _;
use opentelemetry::metrics::Histogram;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use opentelemetry_semantic_conventions::attribute as semattr;

use crate::instrument::{duration_buckets, short_type_name, Providers, SharedTracer};
use crate::names::{self, OTELIX_OPERATION};

/// `error.type` of a call that was dropped before it finished (its future was cancelled, or an
/// [`ExternalCall`] was dropped without `finish_*`).
pub const CANCELLED: &str = "cancelled";

/// `error.type` of a call during which the thread panicked.
pub const PANIC: &str = "panic";

/// Records external calls: CLIENT spans and the
/// [`http.client.request.duration`](names::HTTP_CLIENT_REQUEST_DURATION) histogram.
///
/// Build one per process from a handle ([`ExternalTracker::new`]) and clone it freely, or use
/// the process-wide one ([`ExternalTracker::global`], what [`track_external`],
/// [`ExternalCall::start`] and `#[otelix::external]` use).
///
/// Every call is a CLIENT span, child of the current context, named `{service} {operation}`,
/// with `service.peer.name` and `otelix.operation`; on failure `error.type` and an error status.
/// Its duration goes to `http.client.request.duration` (seconds) with `service.peer.name`,
/// `otelix.operation` and `error.type`. HTTP calls made through
/// `ExternalClient` add the HTTP attributes to both.
#[derive(Clone, Debug)]
pub struct ExternalTracker {
    inner: Arc<TrackerInner>,
}

#[derive(Debug)]
struct TrackerInner {
    tracer: SharedTracer,
    duration: Histogram<f64>,
    exemplars: ExemplarSink,
}

impl ExternalTracker {
    /// A tracker recording with otelix's own tracer and meter.
    pub fn new(telemetry: &crate::TelemetryHandle) -> Self {
        Self::with_providers(
            Providers::from_handle(telemetry),
            telemetry.exemplar_sink(names::HTTP_CLIENT_REQUEST_DURATION.prometheus),
        )
    }

    /// The process-wide tracker, built on first use from the providers that `otelix::init`
    /// installs (`opentelemetry::global`). Its instruments are bound to the providers present
    /// at that first use, so initialise telemetry before the first tracked call.
    pub fn global() -> Self {
        static GLOBAL: OnceLock<ExternalTracker> = OnceLock::new();
        GLOBAL
            .get_or_init(|| Self::with_providers(Providers::global(), ExemplarSink::disabled()))
            .clone()
    }

    fn with_providers(providers: Providers, exemplars: ExemplarSink) -> Self {
        let Providers { tracer, meter } = providers;
        let duration = meter
            .f64_histogram(names::HTTP_CLIENT_REQUEST_DURATION.name)
            .with_unit(names::HTTP_CLIENT_REQUEST_DURATION.unit)
            .with_description(names::HTTP_CLIENT_REQUEST_DURATION.description)
            .with_boundaries(duration_buckets())
            .build();
        Self {
            inner: Arc::new(TrackerInner {
                tracer,
                duration,
                exemplars,
            }),
        }
    }

    /// Starts a call to `operation` of `service`; see [`ExternalCall`].
    pub fn start(
        &self,
        service: impl Into<Cow<'static, str>>,
        operation: impl Into<Cow<'static, str>>,
    ) -> ExternalCall {
        let service = service.into();
        let operation = operation.into();
        let name = format!("{service} {operation}");
        let labels = vec![
            KeyValue::new(semattr::SERVICE_PEER_NAME, service),
            KeyValue::new(OTELIX_OPERATION, operation),
        ];
        self.start_span(name, labels.clone(), labels)
    }

    /// Runs `future` as a call to `operation` of `service`, with the call's span as the current
    /// context while it runs. A `Result` output that is `Err(E)` records `error.type` as `E`'s
    /// type name without its module path (`StripeError`), never the error's message; a future
    /// dropped before it completes records `cancelled`.
    pub async fn track<F>(
        &self,
        service: impl Into<Cow<'static, str>>,
        operation: impl Into<Cow<'static, str>>,
        future: F,
    ) -> F::Output
    where
        F: Future,
        F::Output: CallOutcome,
    {
        let call = self.start(service, operation);
        let output = future.with_context(call.context().clone()).await;
        match output.error_type() {
            None => call.finish_ok(),
            Some(error_type) => call.finish_err(error_type),
        }
        output
    }

    /// Opens the CLIENT span, child of the current context.
    pub(crate) fn start_span(
        &self,
        name: String,
        span_attributes: Vec<KeyValue>,
        labels: Vec<KeyValue>,
    ) -> ExternalCall {
        let parent = Context::current();
        let builder = self
            .inner
            .tracer
            .span_builder(name)
            .with_kind(SpanKind::Client)
            .with_attributes(span_attributes);
        let span = self.inner.tracer.build_with_context(builder, &parent);
        ExternalCall {
            cx: parent.with_span(span),
            start: Instant::now(),
            duration: self.inner.duration.clone(),
            exemplars: self.inner.exemplars.clone(),
            labels,
            finished: false,
        }
    }
}

/// Runs `future` as a call to `operation` of `service` through the process-wide
/// [`ExternalTracker::global`]; see [`ExternalTracker::track`].
///
/// ```no_run
/// # async fn charge() -> Result<u64, std::io::Error> { Ok(1) }
/// # async fn example() -> Result<(), std::io::Error> {
/// let charge_id = otelix::external::track_external("stripe", "create_payment", charge()).await?;
/// # let _ = charge_id;
/// # Ok(())
/// # }
/// ```
pub async fn track_external<F>(
    service: impl Into<Cow<'static, str>>,
    operation: impl Into<Cow<'static, str>>,
    future: F,
) -> F::Output
where
    F: Future,
    F::Output: CallOutcome,
{
    ExternalTracker::global()
        .track(service, operation, future)
        .await
}

/// One external call in progress: a guard for code that is not a single future.
///
/// Finish it with [`ExternalCall::finish_ok`] or [`ExternalCall::finish_err`]; dropping it
/// unfinished records `error.type = cancelled` (or `panic` while the thread panics). Run the
/// call's own work inside [`ExternalCall::context`] so that its spans become children of this
/// one.
///
/// ```no_run
/// use otelix::external::ExternalCall;
///
/// let call = ExternalCall::start("stripe", "create_payment");
/// // ... talk to Stripe ...
/// # let timed_out = false;
/// if timed_out {
///     call.finish_err("timeout");
/// } else {
///     call.finish_ok();
/// }
/// ```
#[derive(Debug)]
#[must_use = "an external call that is dropped unfinished is recorded as cancelled"]
pub struct ExternalCall {
    cx: Context,
    start: Instant,
    duration: Histogram<f64>,
    exemplars: ExemplarSink,
    labels: Vec<KeyValue>,
    finished: bool,
}

impl ExternalCall {
    /// Starts a call through the process-wide [`ExternalTracker::global`].
    pub fn start(
        service: impl Into<Cow<'static, str>>,
        operation: impl Into<Cow<'static, str>>,
    ) -> Self {
        ExternalTracker::global().start(service, operation)
    }

    /// The context holding the call's span, for `FutureExt::with_context` or `attach`.
    pub fn context(&self) -> &Context {
        &self.cx
    }

    /// Ends the call as a success.
    pub fn finish_ok(mut self) {
        self.finish(None);
    }

    /// Ends the call as a failure of class `error_type`: a short, bounded value such as
    /// `timeout`, `503` or an error type's name, never a message.
    pub fn finish_err(mut self, error_type: impl Into<Cow<'static, str>>) {
        self.finish(Some(error_type.into()));
    }

    /// Adds an attribute to the span and the histogram (for the HTTP response status).
    #[cfg(feature = "reqwest")]
    pub(crate) fn add_label(&mut self, label: KeyValue) {
        self.cx.span().set_attribute(label.clone());
        self.labels.push(label);
    }

    fn finish(&mut self, error_type: Option<Cow<'static, str>>) {
        if self.finished {
            return;
        }
        self.finished = true;
        let elapsed = self.start.elapsed().as_secs_f64();
        let span = self.cx.span();
        if let Some(error_type) = error_type {
            let label = KeyValue::new(semattr::ERROR_TYPE, error_type.clone());
            span.set_attribute(label.clone());
            span.set_status(Status::error(error_type));
            self.labels.push(label);
        }
        self.duration.record(elapsed, &self.labels);
        let span_context = span.span_context();
        if span_context.is_sampled() {
            self.exemplars
                .record(elapsed, &self.labels, span_context.trace_id());
        }
        span.end();
    }
}

impl Drop for ExternalCall {
    fn drop(&mut self) {
        let error_type = if std::thread::panicking() {
            PANIC
        } else {
            CANCELLED
        };
        self.finish(Some(Cow::Borrowed(error_type)));
    }
}

/// The output of a tracked call: tells success from failure, and names the failure.
#[diagnostic::on_unimplemented(
    message = "otelix cannot tell whether `{Self}` is a success or a failure",
    label = "the output of a tracked external call must be `Result<T, E>` or `()`",
    note = "return a `Result` from the call, or use `ExternalCall` to finish it by hand"
)]
pub trait CallOutcome {
    /// `None` for a success; for a failure, its `error.type`.
    fn error_type(&self) -> Option<Cow<'static, str>>;
}

impl<T, E> CallOutcome for Result<T, E> {
    fn error_type(&self) -> Option<Cow<'static, str>> {
        self.as_ref()
            .err()
            .map(|_| Cow::Owned(short_type_name::<E>()))
    }
}

impl CallOutcome for () {
    fn error_type(&self) -> Option<Cow<'static, str>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct StripeError;

    #[test]
    fn results_are_classified_by_error_type_name() {
        let ok: Result<u8, StripeError> = Ok(1);
        assert_eq!(ok.error_type(), None);
        let err: Result<u8, StripeError> = Err(StripeError);
        assert_eq!(err.error_type().as_deref(), Some("StripeError"));
        let io: Result<(), std::io::Error> = Err(std::io::Error::other("secret message"));
        assert_eq!(io.error_type().as_deref(), Some("Error"));
        let boxed: Result<(), Box<dyn std::error::Error + Send + Sync>> = Err("x".into());
        assert_eq!(
            boxed.error_type().as_deref(),
            Some("Box<dyn Error + Send + Sync>")
        );
        assert_eq!(().error_type(), None);
    }
}
