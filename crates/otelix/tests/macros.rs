//! The global forms: `#[otelix::external]`, `#[otelix::job]`, `track_external`, `track_job` and
//! `ExternalCall::start`, recording through the providers `init` installs. A process of its own,
//! since it installs global state.

// A failed setup step should fail the test loudly, which is what `expect` does.
#![allow(clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::sync::LazyLock;

use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{TraceContextExt, Tracer};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use otelix::external::{track_external, ExternalCall};
use otelix::jobs::{track_job, JobError};
use otelix::names;
use otelix_testkit::{ReceivedSpan, Receiver};

use common::{flush, prometheus, samples, wait_span, wait_spans};

struct Global {
    receiver: Receiver,
    telemetry: otelix::Telemetry,
}

/// Installed once, before the first tracked call, as a service's `main` would.
static GLOBAL: LazyLock<Global> = LazyLock::new(|| {
    let receiver = common::receiver();
    let telemetry = otelix::Telemetry::builder(common::config(&receiver))
        .with_log_writer(std::io::sink)
        .init()
        .expect("telemetry installs globally");
    Global {
        receiver,
        telemetry,
    }
});

#[derive(Debug)]
struct PaymentError;

#[derive(Debug)]
struct ParseError;

impl From<ParseError> for PaymentError {
    fn from(_: ParseError) -> Self {
        PaymentError
    }
}

fn parse(fail: bool) -> Result<u32, ParseError> {
    if fail {
        Err(ParseError)
    } else {
        Ok(7)
    }
}

/// The macro form; `?` converts `ParseError` into the declared `PaymentError`.
#[otelix::external(service = "stripe", operation = "create_payment")]
async fn create_payment_with_macro(fail: bool) -> Result<u32, PaymentError> {
    let amount = parse(fail)?;
    Ok(amount)
}

/// The function form.
async fn create_payment_with_function(fail: bool) -> Result<u32, PaymentError> {
    track_external("stripe", "create_payment", async move {
        let amount = parse(fail)?;
        Ok(amount)
    })
    .await
}

/// The guard form.
fn create_payment_with_guard(fail: bool) -> Result<u32, PaymentError> {
    let call = ExternalCall::start("stripe", "create_payment");
    match parse(fail) {
        Ok(amount) => {
            call.finish_ok();
            Ok(amount)
        }
        Err(_) => {
            call.finish_err("PaymentError");
            Err(PaymentError)
        }
    }
}

struct Newsletter {
    list: &'static str,
}

impl Newsletter {
    /// Methods work too, `self` included.
    #[otelix::external(service = "beehiiv", operation = "subscribe")]
    async fn subscribe(&self, email: &str) -> Result<String, PaymentError> {
        if email.is_empty() {
            return Err(PaymentError);
        }
        Ok(format!("{email} on {}", self.list))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("digest failed")]
struct DigestError;

#[otelix::job(name = "nightly_digest")]
async fn nightly_digest(fail: bool) -> Result<u32, DigestError> {
    if fail {
        return Err(DigestError);
    }
    Ok(12)
}

#[otelix::job(name = "cleanup")]
async fn cleanup(explode: bool) {
    if explode {
        panic!("disk on fire");
    }
}

/// Everything that identifies a span's shape, without IDs or timing.
fn shape(span: &ReceivedSpan) -> (String, i32, HashMap<String, String>, StatusCode) {
    (
        span.name().to_owned(),
        span.span.kind,
        span.attrs(),
        span.status_code(),
    )
}

/// The one span whose parent is the span `parent` names.
fn child_of(parent: &str) -> ReceivedSpan {
    let receiver = &GLOBAL.receiver;
    let parent = wait_span(receiver, parent, |s| s.name() == parent);
    wait_span(receiver, "child", |s| {
        s.parent_span_id().as_deref() == Some(parent.span_id().as_str())
    })
}

#[tokio::test]
async fn macro_guard_and_function_forms_record_the_same_telemetry() {
    let global = &*GLOBAL;
    let tracer = opentelemetry::global::tracer("test");
    for fail in [false, true] {
        for form in ["macro", "function", "guard"] {
            let parent = tracer.start(format!("{form} {fail}"));
            let cx = opentelemetry::Context::current_with_span(parent);
            let result = async {
                match form {
                    "macro" => create_payment_with_macro(fail).await,
                    "function" => create_payment_with_function(fail).await,
                    _ => create_payment_with_guard(fail),
                }
            }
            .with_context(cx.clone())
            .await;
            cx.span().end();
            assert_eq!(result.is_err(), fail, "{form}");
        }
    }
    let newsletter = Newsletter { list: "weekly" };
    assert_eq!(
        newsletter
            .subscribe("a@b.c")
            .await
            .expect("subscribing a@b.c succeeds"),
        "a@b.c on weekly"
    );
    assert!(newsletter.subscribe("").await.is_err());

    let text = prometheus(&global.telemetry);
    let stripe = [
        ("service_peer_name", "stripe"),
        ("otelix_operation", "create_payment"),
    ];
    let series = samples(&text, "http_client_request_duration_seconds_count", &stripe);
    assert_eq!(series.len(), 2, "one series per outcome:\n{text}");
    let failed: Vec<f64> = samples(
        &text,
        "http_client_request_duration_seconds_count",
        &[stripe[0], stripe[1], ("error_type", "PaymentError")],
    );
    assert_eq!(failed, [3.0], "{text}");
    assert_eq!(series.iter().sum::<f64>(), 6.0);
    assert_eq!(
        samples(
            &text,
            "http_client_request_duration_seconds_count",
            &[
                ("service_peer_name", "beehiiv"),
                ("error_type", "PaymentError")
            ],
        ),
        [1.0]
    );

    flush(&global.telemetry);
    for fail in [false, true] {
        let macro_span = shape(&child_of(&format!("macro {fail}")));
        assert_eq!(macro_span.0, "stripe create_payment");
        assert_eq!(macro_span.1, 3, "CLIENT");
        assert_eq!(
            macro_span.2.get("error.type").map(String::as_str),
            fail.then_some("PaymentError")
        );
        assert_eq!(
            macro_span.3,
            if fail {
                StatusCode::Error
            } else {
                StatusCode::Unset
            }
        );
        assert_eq!(shape(&child_of(&format!("function {fail}"))), macro_span);
        assert_eq!(shape(&child_of(&format!("guard {fail}"))), macro_span);
    }
}

#[tokio::test]
async fn job_macro_records_like_track_job() {
    let global = &*GLOBAL;
    assert_eq!(
        nightly_digest(false)
            .await
            .expect("the digest job succeeds"),
        12
    );
    let failed = nightly_digest(true).await;
    assert!(matches!(
        failed,
        Err(JobError::Failed {
            source: DigestError,
            ..
        })
    ));
    assert!(cleanup(false).await.is_ok());
    let exploded = cleanup(true).await;
    assert!(
        matches!(&exploded, Err(JobError::Panicked { message, .. }) if message == "disk on fire")
    );

    let by_function = track_job("nightly_digest", async { Err::<u32, _>(DigestError) }).await;
    assert!(by_function.is_err());

    let text = prometheus(&global.telemetry);
    let runs = |job, outcome| {
        samples(
            &text,
            names::JOB_RUNS.prometheus,
            &[("job_name", job), ("outcome", outcome)],
        )
    };
    assert_eq!(runs("nightly_digest", "success"), [1.0]);
    assert_eq!(runs("nightly_digest", "failure"), [2.0]);
    assert_eq!(runs("cleanup", "success"), [1.0]);
    assert_eq!(runs("cleanup", "failure"), [1.0]);

    flush(&global.telemetry);
    let receiver = &global.receiver;
    let failures = wait_spans(receiver, 2, |s| {
        s.name() == "nightly_digest" && s.status_code() == StatusCode::Error
    });
    assert_eq!(
        shape(&failures[0]),
        shape(&failures[1]),
        "macro and function differ"
    );
    let panic_span = wait_span(receiver, "panicked job", |s| {
        s.name() == "cleanup" && s.attr_str("error.type").as_deref() == Some("panic")
    });
    assert_eq!(panic_span.status_code(), StatusCode::Error);
}
