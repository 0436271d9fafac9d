use std::any::Any;
use std::borrow::Cow;
use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use futures_util::FutureExt as _;
use opentelemetry::context::FutureExt as _;
use opentelemetry::metrics::{Counter, Gauge, Histogram};
use opentelemetry::trace::{Link, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use opentelemetry_semantic_conventions::attribute as semattr;

use super::JobError;
use crate::instrument::{duration_buckets, short_type_name, Providers, SharedTracer};
use crate::names::{self, JOB_NAME, OUTCOME};

/// `error.type` of a job that panicked.
pub const PANIC: &str = "panic";
/// `error.type` of a job whose future was dropped before it finished.
pub const CANCELLED: &str = "cancelled";

/// Result of [`JobTracker::track`] for a job whose output is `O`.
pub type JobResult<O> = Result<<O as JobOutput>::Ok, JobError<<O as JobOutput>::Err>>;

/// The output of a job: `Result<T, E>` (an `Err` is a failure) or `()` (only a panic fails).
#[diagnostic::on_unimplemented(
    message = "otelix cannot tell whether the job output `{Self}` is a success or a failure",
    label = "a tracked job must return `Result<T, E>` or `()`"
)]
pub trait JobOutput {
    /// What a successful run yields.
    type Ok;
    /// What a failed run yields.
    type Err;
    /// Success or failure.
    ///
    /// # Errors
    ///
    /// `Err` when the run failed.
    fn into_result(self) -> Result<Self::Ok, Self::Err>;
}

impl<T, E> JobOutput for Result<T, E> {
    type Ok = T;
    type Err = E;
    fn into_result(self) -> Result<T, E> {
        self
    }
}

impl JobOutput for () {
    type Ok = ();
    type Err = Infallible;
    fn into_result(self) -> Result<(), Infallible> {
        Ok(())
    }
}

/// Records background job runs: a root span per run, duration, outcome and last success.
///
/// Every run is an INTERNAL span named after the job, in a trace of its own (a run is not part
/// of the request that started it, and may outlive it) with a span link to the span that was
/// current when it started, if any; `job.name` on the span, and on failure `error.type` (the
/// error's type name, `panic` or `cancelled`) and an error status. Metrics, all with `job.name`:
///
/// - [`otelix.job.duration`](names::JOB_DURATION) (histogram, `s`) and
///   [`otelix.job.runs`](names::JOB_RUNS) (counter, `{run}`), with `outcome` = `success` or
///   `failure`;
/// - [`otelix.job.last_success_timestamp`](names::JOB_LAST_SUCCESS_TIMESTAMP) (gauge, `s`,
///   Unix time), set only on success, so that
///   `time() - otelix_job_last_success_timestamp_seconds > N` alerts on a job that stopped
///   succeeding, whether it fails or stopped running.
///
/// A job that panics is caught, recorded as a failure and returned as
/// [`JobError::Panicked`]: it never takes the process down.
#[derive(Clone, Debug)]
pub struct JobTracker {
    inner: Arc<TrackerInner>,
}

#[derive(Debug)]
struct TrackerInner {
    tracer: SharedTracer,
    duration: Histogram<f64>,
    runs: Counter<u64>,
    last_success: Gauge<f64>,
}

impl JobTracker {
    /// A tracker recording with otelix's own tracer and meter.
    pub fn new(telemetry: &crate::TelemetryHandle) -> Self {
        Self::with_providers(Providers::from_handle(telemetry))
    }

    /// The process-wide tracker, built on first use from the providers that `otelix::init`
    /// installs (`opentelemetry::global`). Its instruments are bound to the providers present
    /// at that first use, so initialise telemetry before the first tracked job.
    pub fn global() -> Self {
        static GLOBAL: OnceLock<JobTracker> = OnceLock::new();
        GLOBAL
            .get_or_init(|| Self::with_providers(Providers::global()))
            .clone()
    }

    fn with_providers(providers: Providers) -> Self {
        let Providers { tracer, meter } = providers;
        Self {
            inner: Arc::new(TrackerInner {
                tracer,
                duration: meter
                    .f64_histogram(names::JOB_DURATION.name)
                    .with_unit(names::JOB_DURATION.unit)
                    .with_description(names::JOB_DURATION.description)
                    .with_boundaries(duration_buckets())
                    .build(),
                runs: meter
                    .u64_counter(names::JOB_RUNS.name)
                    .with_unit(names::JOB_RUNS.unit)
                    .with_description(names::JOB_RUNS.description)
                    .build(),
                last_success: meter
                    .f64_gauge(names::JOB_LAST_SUCCESS_TIMESTAMP.name)
                    .with_unit(names::JOB_LAST_SUCCESS_TIMESTAMP.unit)
                    .with_description(names::JOB_LAST_SUCCESS_TIMESTAMP.description)
                    .build(),
            }),
        }
    }

    /// Runs `job` as a run of the job called `name`, with the run's span as the current
    /// context while it runs.
    ///
    /// # Errors
    ///
    /// [`JobError::Failed`] with the job's own error when it returns `Err`;
    /// [`JobError::Panicked`] when it panics.
    pub async fn track<F>(&self, name: impl Into<Cow<'static, str>>, job: F) -> JobResult<F::Output>
    where
        F: Future,
        F::Output: JobOutput,
    {
        let name = name.into();
        let mut run = self.start(name.clone());
        let output = AssertUnwindSafe(job.with_context(run.cx.clone()))
            .catch_unwind()
            .await;
        match output {
            Ok(output) => match output.into_result() {
                Ok(value) => {
                    run.finish(None);
                    Ok(value)
                }
                Err(source) => {
                    run.finish(Some(Cow::Owned(short_type_name::<
                        <F::Output as JobOutput>::Err,
                    >())));
                    Err(JobError::Failed { job: name, source })
                }
            },
            Err(payload) => {
                run.finish(Some(Cow::Borrowed(PANIC)));
                Err(JobError::Panicked {
                    job: name,
                    message: panic_message(payload.as_ref()),
                })
            }
        }
    }

    fn start(&self, name: Cow<'static, str>) -> JobRun {
        let caller = Context::current();
        let caller_span = caller.span().span_context().clone();
        let mut builder = self
            .inner
            .tracer
            .span_builder(name.clone())
            .with_kind(SpanKind::Internal)
            .with_attributes([KeyValue::new(JOB_NAME, name.clone())]);
        if caller_span.is_valid() {
            builder = builder.with_links(vec![Link::with_context(caller_span)]);
        }
        // An empty parent context makes the run the root of a trace of its own.
        let root = Context::new();
        let span = self.inner.tracer.build_with_context(builder, &root);
        JobRun {
            tracker: self.clone(),
            name,
            cx: root.with_span(span),
            start: Instant::now(),
            finished: false,
        }
    }
}

/// Runs `job` as a run of the job called `name` through the process-wide
/// [`JobTracker::global`]; see [`JobTracker::track`].
///
/// # Errors
///
/// As [`JobTracker::track`].
///
/// ```no_run
/// # #[derive(Debug, thiserror::Error)]
/// # #[error("mail server unavailable")]
/// # struct MailError;
/// # async fn send_reminders() -> Result<usize, MailError> { Ok(3) }
/// # async fn example() {
/// match otelix::jobs::track_job("dunning_reminder", send_reminders()).await {
///     Ok(sent) => println!("{sent} reminders sent"),
///     Err(error) => eprintln!("{error}"), // "job dunning_reminder failed: ..." or "... panicked: ..."
/// }
/// # }
/// ```
pub async fn track_job<F>(name: impl Into<Cow<'static, str>>, job: F) -> JobResult<F::Output>
where
    F: Future,
    F::Output: JobOutput,
{
    JobTracker::global().track(name, job).await
}

/// One run in progress; records `cancelled` if dropped before it finishes.
struct JobRun {
    tracker: JobTracker,
    name: Cow<'static, str>,
    cx: Context,
    start: Instant,
    finished: bool,
}

impl JobRun {
    fn finish(&mut self, error_type: Option<Cow<'static, str>>) {
        if self.finished {
            return;
        }
        self.finished = true;
        let elapsed = self.start.elapsed().as_secs_f64();
        let inner = &self.tracker.inner;
        let outcome = if error_type.is_none() {
            "success"
        } else {
            "failure"
        };
        let labels = [
            KeyValue::new(JOB_NAME, self.name.clone()),
            KeyValue::new(OUTCOME, outcome),
        ];
        inner.duration.record(elapsed, &labels);
        inner.runs.add(1, &labels);
        let span = self.cx.span();
        match error_type {
            None => inner.last_success.record(
                unix_seconds(SystemTime::now()),
                &[KeyValue::new(JOB_NAME, self.name.clone())],
            ),
            Some(error_type) => {
                span.set_attribute(KeyValue::new(semattr::ERROR_TYPE, error_type.clone()));
                span.set_status(Status::error(error_type));
            }
        }
        span.end();
    }
}

impl Drop for JobRun {
    fn drop(&mut self) {
        self.finish(Some(Cow::Borrowed(CANCELLED)));
    }
}

fn unix_seconds(at: SystemTime) -> f64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64())
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        String::from("panic payload is not a string")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_messages_are_read_from_str_and_string_payloads() {
        let literal: Box<dyn Any + Send> = Box::new("boom");
        assert_eq!(panic_message(literal.as_ref()), "boom");
        let formatted: Box<dyn Any + Send> = Box::new(format!("boom {}", 42));
        assert_eq!(panic_message(formatted.as_ref()), "boom 42");
        let other: Box<dyn Any + Send> = Box::new(42_u8);
        assert_eq!(
            panic_message(other.as_ref()),
            "panic payload is not a string"
        );
    }

    #[test]
    fn outputs_convert_to_results() {
        assert!(matches!(().into_result(), Ok(())));
        assert!(matches!(Ok::<u8, String>(1).into_result(), Ok(1)));
        assert!(Err::<u8, String>("x".into()).into_result().is_err());
    }

    #[test]
    fn unix_seconds_are_seconds_since_the_epoch() {
        let at = UNIX_EPOCH + std::time::Duration::from_millis(1_500);
        assert!((unix_seconds(at) - 1.5).abs() < f64::EPSILON);
        assert!(unix_seconds(SystemTime::now()) > 1.7e9);
    }
}
