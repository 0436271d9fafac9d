//! `otelix::jobs`: root spans linked to the caller, outcomes, caught panics and the
//! last-success gauge.

mod common;

use std::time::Duration;

use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{TraceContextExt, Tracer};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use otelix::jobs::{JobError, JobTracker};
use otelix::names;

use common::{
    current_ids, flush, hex, prometheus, receiver, sample, samples, telemetry, wait_span,
};

const RUNS: &str = names::JOB_RUNS.prometheus;
const DURATION_COUNT: &str = "otelix_job_duration_seconds_count";
const LAST_SUCCESS: &str = names::JOB_LAST_SUCCESS_TIMESTAMP.prometheus;

#[derive(Debug, thiserror::Error)]
#[error("mail server said no")]
struct ReminderError;

#[tokio::test]
async fn a_run_is_a_root_span_linked_to_the_callers_span() {
    let receiver = receiver();
    let telemetry = telemetry(&receiver);
    let handle = telemetry.handle();
    let jobs = JobTracker::new(&handle);

    let caller = handle.tracer().start("POST /admin/reminders");
    let cx = opentelemetry::Context::current_with_span(caller);
    let mut run_ids = (String::new(), String::new());
    let tracer = handle.tracer().clone();
    let (caller_ids, sent) = async {
        let sent = jobs
            .track("dunning_reminder", async {
                run_ids = current_ids();
                tracer.in_span("send batch", |_| ());
                Ok::<_, ReminderError>(3)
            })
            .await
            .expect("the job run succeeds");
        (current_ids(), sent)
    }
    .with_context(cx.clone())
    .await;
    cx.span().end();
    assert_eq!(sent, 3);

    flush(&telemetry);
    let run = wait_span(&receiver, "job span", |s| s.name() == "dunning_reminder");
    assert_eq!(run.kind(), SpanKind::Internal);
    assert_eq!(run.parent_span_id(), None, "a run is a root span");
    assert_ne!(run.trace_id(), caller_ids.0, "a run has a trace of its own");
    assert_eq!((run.trace_id(), run.span_id()), run_ids);
    assert_eq!(
        run.attr_str(names::JOB_NAME).as_deref(),
        Some("dunning_reminder")
    );
    assert_eq!(run.status_code(), StatusCode::Unset);
    let links = &run.span.links;
    assert_eq!(links.len(), 1, "{links:?}");
    assert_eq!(hex(&links[0].trace_id), caller_ids.0);
    assert_eq!(hex(&links[0].span_id), caller_ids.1);

    let batch = wait_span(&receiver, "work in the job", |s| s.name() == "send batch");
    assert_eq!(batch.parent_span_id(), Some(run.span_id()));

    // Runs can be spawned: the tracked future is `Send`.
    let spawned = tokio::spawn({
        let jobs = jobs.clone();
        async move {
            jobs.track("spawned", async { Ok::<_, ReminderError>(1) })
                .await
        }
    })
    .await
    .expect("the spawned job task completes");
    assert!(spawned.is_ok());

    // Without a current span there is nothing to link to.
    jobs.track("orphan", async {})
        .await
        .expect("the orphan job run succeeds");
    flush(&telemetry);
    let orphan = wait_span(&receiver, "orphan", |s| s.name() == "orphan");
    assert!(orphan.span.links.is_empty());
    assert_eq!(orphan.parent_span_id(), None);
}

#[tokio::test]
async fn failures_and_panics_are_recorded_and_only_success_moves_the_gauge() {
    let receiver = receiver();
    let telemetry = telemetry(&receiver);
    let jobs = JobTracker::new(&telemetry.handle());
    let job = "nightly_digest";
    let last_success = |text: &str| sample(text, LAST_SUCCESS, &[("job_name", job)]);

    jobs.track(job, async { Ok::<_, ReminderError>(()) })
        .await
        .expect("the job run succeeds");
    let first_success = last_success(&prometheus(&telemetry));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default();
    assert!(
        (now - first_success).abs() < 60.0,
        "{first_success} vs {now}"
    );

    tokio::time::sleep(Duration::from_millis(20)).await;
    let failed = jobs.track(job, async { Err::<(), _>(ReminderError) }).await;
    assert!(
        matches!(&failed, Err(JobError::Failed { job: name, source: ReminderError }) if name == job),
        "{failed:?}"
    );
    let panicked = jobs
        .track(job, async {
            if first_success > 0.0 {
                panic!("template {} missing", "digest.html");
            }
            Ok::<(), ReminderError>(())
        })
        .await;
    match &panicked {
        Err(JobError::Panicked { job: name, message }) => {
            assert_eq!(name, job);
            assert_eq!(message, "template digest.html missing");
        }
        other => panic!("expected a caught panic, got {other:?}"),
    }
    assert!(panicked.as_ref().is_err_and(JobError::is_panic));
    let dropped = tokio::time::timeout(
        Duration::from_millis(20),
        jobs.track(job, std::future::pending::<()>()),
    )
    .await;
    assert!(dropped.is_err());

    let text = prometheus(&telemetry);
    assert_eq!(
        last_success(&text),
        first_success,
        "failures moved the gauge"
    );
    assert_eq!(
        sample(&text, RUNS, &[("job_name", job), ("outcome", "failure")]),
        3.0
    );
    assert_eq!(
        sample(&text, RUNS, &[("job_name", job), ("outcome", "success")]),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            DURATION_COUNT,
            &[("job_name", job), ("outcome", "failure")]
        ),
        3.0
    );

    tokio::time::sleep(Duration::from_millis(20)).await;
    jobs.track(job, async {})
        .await
        .expect("the job run succeeds");
    let second_success = last_success(&prometheus(&telemetry));
    assert!(
        second_success > first_success,
        "{second_success} <= {first_success}"
    );

    // A job that never succeeded has no last-success series: `absent()` alerts on it.
    let _ = jobs
        .track("never_ok", async { Err::<(), _>(ReminderError) })
        .await;
    let text = prometheus(&telemetry);
    assert!(samples(&text, LAST_SUCCESS, &[("job_name", "never_ok")]).is_empty());

    flush(&telemetry);
    let failure = |error_type: &'static str| {
        wait_span(&receiver, error_type, move |s| {
            s.name() == job && s.attr_str("error.type").as_deref() == Some(error_type)
        })
    };
    for error_type in ["ReminderError", "panic", "cancelled"] {
        let span = failure(error_type);
        assert_eq!(span.status_code(), StatusCode::Error, "{error_type}");
        assert_eq!(span.parent_span_id(), None);
    }
    let metric = receiver
        .wait_for_metric_blocking(
            |m| m.name() == names::JOB_LAST_SUCCESS_TIMESTAMP.name,
            common::ARRIVAL,
        )
        .expect("the last-success gauge is exported");
    assert_eq!(metric.unit(), "s");
    let runs = receiver
        .wait_for_metric_blocking(|m| m.name() == names::JOB_RUNS.name, common::ARRIVAL)
        .expect("the job runs counter is exported");
    assert!(runs
        .data_point_attributes()
        .iter()
        .any(|p| p.get(names::OUTCOME).map(String::as_str) == Some("failure")));
}
