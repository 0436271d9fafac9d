//! Outages and refusals under a steady load: a collector stopped for 10 seconds, a receiver
//! answering `UNAVAILABLE` / 503 with `Retry-After` for a while (retryable: nothing may be
//! lost), and one answering `INVALID_ARGUMENT` / 400 (permanent: each batch is sent once and
//! counted as dropped).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use otelix_testkit::{Behavior, Receiver, Refusal, Signal};

use crate::collector::{Collector, Listener};
use crate::common::pki::Pki;
use crate::common::{ok, Protocol};
use crate::load::{missing_server_spans, Load, Sent};
use crate::service::Service;
use crate::Peers;

/// How long the collector is down, as the acceptance asks.
const OUTAGE: Duration = Duration::from_secs(10);
/// How long, after the load, every SERVER span may take to arrive: the retries' back-off
/// after the outage, within the spans' export budget (`OTEL_BSP_EXPORT_TIMEOUT`, 30 s).
const CATCH_UP: Duration = Duration::from_secs(30);
/// The route under load: a database read behind the cache.
const ROUTE: &str = "/api/members/1";

fn direct_endpoint(receiver: &Receiver, protocol: Protocol) -> String {
    match protocol {
        Protocol::Grpc => receiver.grpc_endpoint(),
        Protocol::HttpProtobuf => receiver.http_endpoint(),
    }
}

fn case(protocol: Protocol, name: &str) -> String {
    format!("{}-{name}", protocol.otel_name().replace('/', "-"))
}

/// Fails naming the missing traces unless every request of `sent` has its SERVER span.
async fn assert_all_arrived(
    receiver: &Receiver,
    sent: &[Sent],
    window: (Instant, Instant),
    what: &str,
    service: &Service,
) {
    let during = sent
        .iter()
        .filter(|s| s.at >= window.0 && s.at <= window.1)
        .count();
    assert!(during > 0, "{what}: no request was sent during the outage");
    let missing = missing_server_spans(receiver, sent, CATCH_UP).await;
    let missing_during = sent
        .iter()
        .filter(|s| s.at >= window.0 && s.at <= window.1 && missing.contains(&s.trace_id))
        .count();
    assert!(
        missing.is_empty(),
        "{what}: {} of {} requests' SERVER spans never arrived ({missing_during} of the {during} sent during the outage), {CATCH_UP:?} after the load ended; first missing trace: {}\n{}",
        missing.len(),
        sent.len(),
        missing.iter().next().map_or("", String::as_str),
        service.tail()
    );
    ok(&format!(
        "{what}: all {} requests' SERVER spans arrived, {during} of them sent during the outage",
        sent.len()
    ));
}

pub(crate) async fn collector_outage(protocol: Protocol) {
    let Some(peers) = Peers::from_env() else {
        return;
    };
    println!("\n== collector outage over {} ==", protocol.otel_name());
    let dir = tempfile::tempdir().expect("temporary directory");
    let pki = Pki::make(dir.path());
    let receiver = Receiver::start().expect("the testkit receiver starts");
    let mut collector = Collector::start(
        &peers.otelcol,
        dir.path(),
        &pki,
        &crate::secret("token"),
        receiver.grpc_addr(),
    );
    let service = Service::start(
        dir.path(),
        &case(protocol, "outage"),
        protocol,
        &collector.endpoint(Listener::Plain, protocol),
        &[],
    );
    let load = Load::start(service.base(), ROUTE);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let down = Instant::now();
    collector.stop();
    tokio::time::sleep(OUTAGE.saturating_sub(down.elapsed())).await;
    collector.restart();
    let up = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let sent = load.stop().await;
    assert_all_arrived(
        &receiver,
        &sent,
        (down, up),
        &format!(
            "collector stopped for {:.1} s under 50 requests/s",
            (up - down).as_secs_f64()
        ),
        &service,
    )
    .await;
}

pub(crate) async fn unavailable_then_back(protocol: Protocol) {
    if Peers::from_env().is_none() {
        return;
    }
    let refusal = Refusal::Unavailable {
        retry_after_seconds: Some(2),
    };
    let what = match protocol {
        Protocol::Grpc => "receiver answering UNAVAILABLE for 6 s",
        Protocol::HttpProtobuf => "receiver answering 503 with Retry-After: 2 for 6 s",
    };
    println!("\n== {what} over {} ==", protocol.otel_name());
    let dir = tempfile::tempdir().expect("temporary directory");
    let receiver = Receiver::start().expect("the testkit receiver starts");
    let service = Service::start(
        dir.path(),
        &case(protocol, "unavailable"),
        protocol,
        &direct_endpoint(&receiver, protocol),
        &[],
    );
    let load = Load::start(service.base(), ROUTE);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let refused_from = Instant::now();
    receiver.set_behavior(Behavior::Refuse(refusal));
    tokio::time::sleep(Duration::from_secs(6)).await;
    receiver.set_behavior(Behavior::Accept);
    let refused_until = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let sent = load.stop().await;
    assert_all_arrived(
        &receiver,
        &sent,
        (refused_from, refused_until),
        what,
        &service,
    )
    .await;

    // The refused trace batches were sent again, not rebuilt: each refused digest was
    // accepted later.
    let requests = receiver.requests();
    let refused: BTreeSet<u64> = requests
        .iter()
        .filter(|r| r.signal == Signal::Traces && r.refused.is_some())
        .map(|r| r.digest)
        .collect();
    let accepted: BTreeSet<u64> = requests
        .iter()
        .filter(|r| r.signal == Signal::Traces && r.refused.is_none())
        .map(|r| r.digest)
        .collect();
    assert!(!refused.is_empty(), "{what}: no trace batch was refused");
    let never_accepted = refused.difference(&accepted).count();
    assert_eq!(
        never_accepted,
        0,
        "{what}: {never_accepted} of {} refused trace batches were never sent again as they were",
        refused.len()
    );
    // The wait between two sends of one batch: at least Retry-After when the answer had one.
    let mut gaps: Vec<Duration> = Vec::new();
    for digest in &refused {
        let sends: Vec<Instant> = requests
            .iter()
            .filter(|r| r.digest == *digest)
            .map(|r| r.received_at)
            .collect();
        gaps.extend(sends.windows(2).map(|w| w[1].duration_since(w[0])));
    }
    let shortest = gaps.iter().min().copied().unwrap_or_default();
    if protocol == Protocol::HttpProtobuf {
        // Retry-After is in whole seconds; allow for the clocks of two processes' tasks.
        assert!(
            shortest >= Duration::from_millis(1900),
            "{what}: a refused batch was sent again after {shortest:?}, before Retry-After's 2 s"
        );
    }
    ok(&format!(
        "{what}: the {} refused trace batches were each sent again and accepted; the shortest wait between two sends was {:.2} s",
        refused.len(),
        shortest.as_secs_f64()
    ));
}

pub(crate) async fn permanent_refusal(protocol: Protocol) {
    if Peers::from_env().is_none() {
        return;
    }
    let what = match protocol {
        Protocol::Grpc => "receiver answering INVALID_ARGUMENT",
        Protocol::HttpProtobuf => "receiver answering 400",
    };
    println!("\n== {what} over {} ==", protocol.otel_name());
    let dir = tempfile::tempdir().expect("temporary directory");
    let receiver = Receiver::builder()
        .with_behavior(Behavior::Refuse(Refusal::InvalidArgument))
        .build()
        .expect("the testkit receiver starts");
    let service = Service::start(
        dir.path(),
        &case(protocol, "invalid"),
        protocol,
        &direct_endpoint(&receiver, protocol),
        &[],
    );
    for _ in 0..10 {
        service.exercise().await;
    }
    // Longer than any first retry would wait: a retried batch would show up meanwhile.
    tokio::time::sleep(Duration::from_secs(4)).await;
    receiver.set_behavior(Behavior::Accept);
    // Exports in flight when the behavior changed end before the counts are compared.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let requests = receiver.requests();
    let mut refused: BTreeMap<&str, (u64, usize, BTreeSet<u64>)> = BTreeMap::new();
    for request in requests.iter().filter(|r| r.refused.is_some()) {
        let signal = match request.signal {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
        };
        let entry = refused.entry(signal).or_default();
        entry.0 += request.items;
        entry.1 += 1;
        entry.2.insert(request.digest);
    }
    let mut failures = Vec::new();
    for signal in ["traces", "metrics", "logs"] {
        let (items, batches, digests) = refused.get(signal).cloned().unwrap_or_default();
        if batches == 0 {
            failures.push(format!("no {signal} batch arrived to be refused"));
            continue;
        }
        if digests.len() != batches {
            failures.push(format!(
                "{} of {batches} refused {signal} batches were sent again",
                batches - digests.len()
            ));
        }
        let dropped = service.dropped(signal, "export_failed").await;
        if dropped != Some(items as f64) {
            failures.push(format!(
                "otelix_exporter_dropped_total{{signal=\"{signal}\",reason=\"export_failed\"}} is {}, the receiver refused {items} items in {batches} batches",
                dropped.map_or_else(|| "absent".to_owned(), |v| v.to_string())
            ));
        } else if digests.len() == batches {
            ok(&format!(
                "{what}: {batches} {signal} batches refused, each sent once; their {items} items counted as export_failed"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{what}:\n{}\n{}",
        failures.join("\n"),
        service.tail()
    );
    // Refusals are not fatal: what comes next is delivered.
    let ids = service.exercise().await;
    let missing = missing_server_spans(
        &receiver,
        &ids.into_iter()
            .map(|trace_id| Sent {
                at: Instant::now(),
                trace_id,
            })
            .collect::<Vec<_>>(),
        crate::common::WAIT,
    )
    .await;
    assert!(
        missing.is_empty(),
        "{what}: nothing arrived once the receiver accepted again"
    );
}
