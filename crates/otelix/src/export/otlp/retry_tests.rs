use std::sync::{Arc, Mutex, PoisonError};

use super::*;
use crate::export::otlp::transport::fake::{Answer, FakeTransport};
use crate::process::ExportHandle;

const ENDPOINT: &str = "http://collector.test:4317";

fn unavailable(delay: Option<Duration>) -> Answer {
    (
        Duration::ZERO,
        Err(Failure::retryable(
            FailureKind::Unavailable,
            "gRPC status 14 (The service is currently unavailable)",
            delay,
        )),
    )
}

fn ok() -> Answer {
    (Duration::ZERO, Ok(Bytes::from_static(b"answer")))
}

/// A sender over `fake`, its log lines captured in the returned buffer.
fn sender(
    fake: &FakeTransport,
    attempt_timeout: Duration,
    budget: Duration,
    clock: &Arc<ShutdownClock>,
) -> (Sender, Arc<Mutex<Vec<u8>>>) {
    let drops = Arc::new(DropCounter::new(Signal::Traces));
    let lines = Arc::new(Mutex::new(Vec::new()));
    let writer = Arc::clone(&lines);
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || Capture(Arc::clone(&writer)))
        .finish();
    ExportHandle::new(Arc::clone(&drops)).set_log_dispatch(tracing::Dispatch::new(subscriber));
    let sender = Sender::new(
        Transport::Fake(fake.clone()),
        Signal::Traces,
        ENDPOINT.to_owned(),
        Limits {
            attempt_timeout,
            budget,
        },
        Arc::clone(clock),
        drops,
    );
    (sender, lines)
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn text(lines: &Mutex<Vec<u8>>) -> String {
    String::from_utf8_lossy(&lines.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
}

fn gaps(fake: &FakeTransport) -> Vec<Duration> {
    let attempts = fake.attempts();
    attempts.windows(2).map(|w| w[1].0 - w[0].0).collect()
}

#[tokio::test]
async fn a_retryable_failure_is_sent_again_with_growing_delays_until_it_succeeds() {
    let fake = FakeTransport::new([
        unavailable(None),
        unavailable(None),
        unavailable(None),
        ok(),
    ]);
    let clock = Arc::new(ShutdownClock::default());
    let (sender, _) = sender(
        &fake,
        Duration::from_secs(1),
        Duration::from_secs(10),
        &clock,
    );
    let outcome = sender.deliver(Bytes::from_static(b"request")).await;
    assert!(
        matches!(outcome, Outcome::Delivered(ref b) if &b[..] == b"answer"),
        "{outcome:?}"
    );
    let attempts = fake.attempts();
    assert_eq!(attempts.len(), 4);
    assert!(attempts.iter().all(|(_, body)| &body[..] == b"request"));
    let gaps = gaps(&fake);
    // 100 ms, 200 ms, 400 ms, each with up to as much again of jitter.
    for (gap, least) in gaps.iter().zip([100, 200, 400]) {
        assert!(*gap >= Duration::from_millis(least), "{gaps:?}");
        assert!(*gap < Duration::from_millis(least * 2 + 400), "{gaps:?}");
    }
}

#[tokio::test]
async fn a_permanent_failure_is_sent_once() {
    let refused = Failure::permanent(FailureKind::Refused, "HTTP 400 Bad Request");
    let fake = FakeTransport::new([(Duration::ZERO, Err(refused.clone()))]);
    let clock = Arc::new(ShutdownClock::default());
    let (sender, _) = sender(
        &fake,
        Duration::from_secs(1),
        Duration::from_secs(10),
        &clock,
    );
    let outcome = sender.deliver(Bytes::new()).await;
    assert!(
        matches!(outcome, Outcome::Failed(ref f) if *f == refused),
        "{outcome:?}"
    );
    assert_eq!(fake.attempts().len(), 1);
}

#[tokio::test]
async fn refused_credentials_are_sent_once_and_the_warning_does_not_promise_a_retry() {
    let refused = Failure::permanent(FailureKind::Authentication, "HTTP 401 Unauthorized");
    let fake = FakeTransport::new([(Duration::ZERO, Err(refused.clone()))]);
    let clock = Arc::new(ShutdownClock::default());
    let (sender, lines) = sender(
        &fake,
        Duration::from_secs(1),
        Duration::from_secs(10),
        &clock,
    );
    let outcome = sender.deliver(Bytes::new()).await;
    assert!(
        matches!(outcome, Outcome::Failed(ref f) if *f == refused),
        "{outcome:?}"
    );
    assert_eq!(fake.attempts().len(), 1);
    let text = text(&lines);
    assert!(
        text.contains("collector refused the credentials")
            && text.contains("requests are not sent again")
            && !text.contains("sent again within"),
        "{text}"
    );
}

#[tokio::test]
async fn the_delay_the_collector_asks_for_is_honoured() {
    let fake = FakeTransport::new([unavailable(Some(Duration::from_millis(600))), ok()]);
    let clock = Arc::new(ShutdownClock::default());
    let (sender, _) = sender(
        &fake,
        Duration::from_secs(1),
        Duration::from_secs(10),
        &clock,
    );
    let outcome = sender.deliver(Bytes::new()).await;
    assert!(matches!(outcome, Outcome::Delivered(_)), "{outcome:?}");
    let gaps = gaps(&fake);
    assert!(gaps[0] >= Duration::from_millis(600), "{gaps:?}");
    assert!(gaps[0] < Duration::from_millis(900), "{gaps:?}");
}

#[tokio::test]
async fn a_delay_beyond_the_budget_gives_up_at_once() {
    let fake = FakeTransport::new([unavailable(Some(Duration::from_secs(30))), ok()]);
    let clock = Arc::new(ShutdownClock::default());
    let (sender, _) = sender(
        &fake,
        Duration::from_secs(1),
        Duration::from_secs(5),
        &clock,
    );
    let started = Instant::now();
    let outcome = sender.deliver(Bytes::new()).await;
    assert!(
        matches!(outcome, Outcome::Failed(ref f) if f.kind == FailureKind::Unavailable),
        "{outcome:?}"
    );
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_eq!(fake.attempts().len(), 1);
}

#[tokio::test]
async fn each_attempt_is_bounded_by_what_is_left_of_the_budget() {
    // The collector never answers within the attempt's timeout: the first attempt takes the
    // attempt timeout, the last one only what is left of the budget.
    let hang = (Duration::from_secs(60), Ok(Bytes::new()));
    let fake = FakeTransport::new([hang.clone(), hang.clone(), hang]);
    let clock = Arc::new(ShutdownClock::default());
    let (sender, _) = sender(
        &fake,
        Duration::from_millis(400),
        Duration::from_millis(700),
        &clock,
    );
    let started = Instant::now();
    let outcome = sender.deliver(Bytes::new()).await;
    let took = started.elapsed();
    assert!(
        matches!(outcome, Outcome::Failed(ref f) if f.kind == FailureKind::Timeout),
        "{outcome:?}"
    );
    assert!(took >= Duration::from_millis(650), "{took:?}");
    assert!(took < Duration::from_millis(1000), "{took:?}");
    assert_eq!(fake.attempts().len(), 2);
}

#[tokio::test]
async fn retries_stop_at_the_shutdown_deadline() {
    let fake = FakeTransport::new((0..1000).map(|_| unavailable(None)));
    let clock = Arc::new(ShutdownClock::default());
    let (sender, _) = sender(
        &fake,
        Duration::from_secs(1),
        Duration::from_secs(30),
        &clock,
    );
    let started = Instant::now();
    let stop = Arc::clone(&clock);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop.begin(Instant::now() + Duration::from_millis(500));
    });
    let outcome = sender.deliver(Bytes::new()).await;
    let took = started.elapsed();
    assert!(matches!(outcome, Outcome::ShutDown), "{outcome:?}");
    assert!(took < Duration::from_millis(900), "{took:?}");
    assert!(fake.attempts().len() >= 2);
}

#[tokio::test]
async fn an_attempt_in_flight_ends_at_the_shutdown_deadline() {
    let fake = FakeTransport::new([(Duration::from_secs(60), Ok(Bytes::new()))]);
    let clock = Arc::new(ShutdownClock::default());
    let (sender, _) = sender(
        &fake,
        Duration::from_secs(30),
        Duration::from_secs(30),
        &clock,
    );
    clock.begin(Instant::now() + Duration::from_millis(300));
    let started = Instant::now();
    let outcome = sender.deliver(Bytes::new()).await;
    assert!(matches!(outcome, Outcome::ShutDown), "{outcome:?}");
    assert!(started.elapsed() < Duration::from_millis(600));
}

#[tokio::test]
async fn an_outage_is_reported_once_when_it_starts_and_once_when_it_ends() {
    let fake = FakeTransport::new([
        unavailable(None),
        unavailable(None),
        ok(),
        unavailable(None),
        ok(),
    ]);
    let clock = Arc::new(ShutdownClock::default());
    let (sender, lines) = sender(
        &fake,
        Duration::from_secs(1),
        Duration::from_secs(10),
        &clock,
    );
    assert!(matches!(
        sender.deliver(Bytes::new()).await,
        Outcome::Delivered(_)
    ));
    let first = text(&lines);
    assert_eq!(first.matches("OTLP export failing").count(), 1, "{first}");
    assert_eq!(
        first.matches("OTLP export succeeds again").count(),
        1,
        "{first}"
    );
    for expected in [
        "WARN",
        "signal=\"traces\"",
        ENDPOINT,
        "collector unavailable",
        "gRPC status 14",
    ] {
        assert!(first.contains(expected), "{expected} missing: {first}");
    }
    // A second outage gets its own pair of lines.
    assert!(matches!(
        sender.deliver(Bytes::new()).await,
        Outcome::Delivered(_)
    ));
    let both = text(&lines);
    assert_eq!(both.matches("OTLP export failing").count(), 2, "{both}");
    assert_eq!(
        both.matches("OTLP export succeeds again").count(),
        2,
        "{both}"
    );
}

#[tokio::test]
async fn a_refused_request_is_reported_at_most_once_a_minute() {
    let refused = || {
        (
            Duration::ZERO,
            Err(Failure::permanent(
                FailureKind::Refused,
                "HTTP 400 Bad Request",
            )),
        )
    };
    let fake = FakeTransport::new([refused(), refused(), refused()]);
    let clock = Arc::new(ShutdownClock::default());
    let (sender, lines) = sender(
        &fake,
        Duration::from_secs(1),
        Duration::from_secs(10),
        &clock,
    );
    for _ in 0..3 {
        assert!(matches!(
            sender.deliver(Bytes::new()).await,
            Outcome::Failed(_)
        ));
    }
    let text = text(&lines);
    assert_eq!(
        text.matches("refused a request for good").count(),
        1,
        "{text}"
    );
    assert!(text.contains("HTTP 400 Bad Request"), "{text}");
    assert!(!text.contains("OTLP export failing"), "{text}");
}

fn refused_connection() -> Answer {
    (
        Duration::ZERO,
        Err(Failure::retryable(
            FailureKind::Connection,
            "tcp connect error: Connection refused (os error 111)",
            None,
        )),
    )
}

#[tokio::test]
async fn a_shutdown_during_an_outage_tries_once_more_and_gives_up_without_waiting_for_the_deadline()
{
    let fake = FakeTransport::new((0..1000).map(|_| refused_connection()));
    let clock = Arc::new(ShutdownClock::default());
    let (sender, _) = sender(
        &fake,
        Duration::from_secs(1),
        Duration::from_secs(30),
        &clock,
    );
    let stop = Arc::clone(&clock);
    let deadline = Arc::new(Mutex::new(None));
    let set = Arc::clone(&deadline);
    tokio::spawn(async move {
        // Four attempts fail (at 0, ~0.1, ~0.3, ~0.7 s) before the shutdown begins.
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let at = Instant::now() + Duration::from_secs(10);
        *set.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        stop.begin(at);
    });
    let outcome = sender.deliver(Bytes::new()).await;
    assert!(matches!(outcome, Outcome::ShutDown), "{outcome:?}");
    let began = deadline
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .expect("the shutdown began");
    let attempts = fake.attempts();
    let after: Vec<_> = attempts.iter().filter(|(at, _)| *at >= began).collect();
    assert_eq!(
        after.len(),
        1,
        "one attempt once the shutdown began: {attempts:?}"
    );
    assert!(
        Instant::now() < began + Duration::from_secs(5),
        "it gave up long before the 10 s deadline"
    );
}

#[tokio::test]
async fn a_collector_that_answers_unavailable_is_still_tried_during_shutdown() {
    let fake = FakeTransport::new((0..1000).map(|_| unavailable(None)));
    let clock = Arc::new(ShutdownClock::default());
    let (sender, _) = sender(
        &fake,
        Duration::from_secs(1),
        Duration::from_secs(30),
        &clock,
    );
    clock.begin(Instant::now() + Duration::from_millis(800));
    let outcome = sender.deliver(Bytes::new()).await;
    assert!(matches!(outcome, Outcome::ShutDown), "{outcome:?}");
    assert!(
        fake.attempts().len() >= 3,
        "retried until the deadline: {:?}",
        fake.attempts()
    );
}
