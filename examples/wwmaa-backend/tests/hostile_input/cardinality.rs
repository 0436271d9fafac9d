//! Cardinality: three floods leave exactly the series the route table and the semantic
//! conventions allow, and resident memory flat once warm.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use otelix_testkit::exposition::{Labels, Sample};
use otelix_testkit::Receiver;

use crate::common::{self, WAIT};
use crate::flood::{flood, Kind, Series, FLOOD};
use crate::rng::seed;
use crate::service::{metrics_page, mib, rss_bytes, spawn_service, wait_quiet};

/// Allowed growth of resident memory from the end of the second flood to the end of the
/// third. Allocator arenas and pools are warm by then, so what remains is noise: 0.1 to
/// 0.2 MiB measured. Keeping each SERVER span of the third flood (its path, query and user
/// agent alone are 1.3 KB) would add about 4 MiB, keeping its `baggage` 20 MiB.
const FLAT_RSS_BYTES: u64 = 3 << 20;
/// The longest `tracestate` otelix propagates, and so keeps in the span context.
const MAX_TRACESTATE_LEN: usize = 512;

/// The values `http.request.method` may take: the methods the semantic conventions know, and
/// `_OTHER` for every other.
const KNOWN_METHODS: [&str; 10] = [
    "CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE", "_OTHER",
];

/// The series of a scrape: every sample's name and labels.
fn series_of(page: &str) -> BTreeSet<(String, Labels)> {
    common::exposition(page)
        .samples()
        .map(|sample| (sample.name().to_owned(), sample.labels().clone()))
        .collect()
}

/// `(method, route, status)` of each `http.server.request.duration` series.
fn duration_series(page: &str) -> BTreeSet<Series> {
    common::exposition(page)
        .find("http_server_request_duration_seconds_count", &[])
        .into_iter()
        .map(|s| {
            (
                s.labels()["http_request_method"].clone(),
                s.labels().get("http_route").cloned(),
                s.labels()["http_response_status_code"].clone(),
            )
        })
        .collect()
}

#[test]
fn random_paths_methods_queries_and_propagation_headers_keep_series_and_memory_bounded() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let receiver = Receiver::start().expect("receiver");
    let (mut service, addr) = spawn_service(dir.path(), &receiver);
    let pid = service.child.id();
    let seed = seed();

    // The dunning job runs once at start-up and calls the sandbox (POST /sandbox/...): its
    // series come before the first scrape, so that later scrapes differ only by the floods.
    let deadline = Instant::now() + WAIT;
    while !metrics_page(addr).contains("otelix_job_duration_seconds_count") {
        assert!(
            Instant::now() < deadline,
            "the start-up job run never finished\n{}",
            service.tail()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let mut rss = Vec::new();
    let mut pages = Vec::new();
    for round in 0..3_u64 {
        let sent = flood(addr, seed.wrapping_add(round));
        assert_eq!(sent.values().sum::<usize>(), FLOOD);
        wait_quiet(addr, &receiver, &service);
        rss.push(rss_bytes(pid));
        pages.push(metrics_page(addr));
        if round == 0 {
            check_spans(&receiver, seed);
        }
        receiver.clear();
    }

    // Exactly the series the route table and the conventions allow, one per kind of request:
    // unmatched paths have no route, unknown methods are `_OTHER`. Every request had a path of
    // its own, a third of them a method of their own.
    let expected: BTreeSet<Series> = Kind::ALL.iter().map(|k| k.series()).collect();
    for (round, page) in pages.iter().enumerate() {
        let flood_series: BTreeSet<Series> = duration_series(page)
            .into_iter()
            .filter(|(_, route, _)| !route.as_deref().is_some_and(|r| r.starts_with("/sandbox/")))
            .collect();
        assert_eq!(
            flood_series,
            expected,
            "seed {seed}: after flood {}",
            round + 1
        );
        // One series per method and scheme that requests used, bound with the first of them
        // (the floods' and the start-up job's calls to the sandbox): no series for the known
        // methods nobody sent, none per unknown method.
        let method_and_scheme = |s: &Sample| {
            (
                s.labels()["http_request_method"].clone(),
                s.labels()["url_scheme"].clone(),
            )
        };
        let exposition = common::exposition(page);
        let active: BTreeSet<(String, String)> = exposition
            .find("http_server_active_requests", &[])
            .into_iter()
            .map(method_and_scheme)
            .collect();
        let expected_active: BTreeSet<(String, String)> = exposition
            .find("http_server_request_duration_seconds_count", &[])
            .into_iter()
            .map(method_and_scheme)
            .collect();
        assert!(
            active.iter().all(|(method, scheme)| {
                KNOWN_METHODS.contains(&method.as_str())
                    && ["http", "https"].contains(&scheme.as_str())
            }),
            "seed {seed}: {active:?}"
        );
        assert_eq!(
            active,
            expected_active,
            "seed {seed}: after flood {}",
            round + 1
        );
    }
    // Every family: the same series after the third flood as after the first.
    let (first, last) = (series_of(&pages[0]), series_of(&pages[2]));
    let added: Vec<_> = last.difference(&first).collect();
    let removed: Vec<_> = first.difference(&last).collect();
    assert!(
        added.is_empty() && removed.is_empty(),
        "seed {seed}: series appeared {added:#?} or disappeared {removed:#?}"
    );
    eprintln!(
        "{} series on /metrics after each flood; {} http.server.request.duration series",
        last.len(),
        duration_series(&pages[2]).len()
    );

    match rss.as_slice() {
        [Some(warm), Some(second), Some(third)] => {
            eprintln!(
                "resident memory after floods 1, 2, 3: {:.1} MiB, {:.1} MiB, {:.1} MiB",
                mib(*warm),
                mib(*second),
                mib(*third)
            );
            assert!(
                third.saturating_sub(*second) <= FLAT_RSS_BYTES,
                "seed {seed}: resident memory grew by {:.1} MiB over the third flood (allowed {:.1} MiB): {:.1}, {:.1}, {:.1} MiB",
                mib(third - second),
                mib(FLAT_RSS_BYTES),
                mib(*warm),
                mib(*second),
                mib(*third)
            );
        }
        _ => eprintln!("memory not checked: /proc/<pid>/status is Linux-only"),
    }
    service.terminate();
}

/// The spans of the first flood: one SERVER span per request, continuing the caller's trace,
/// its `tracestate` cut to 512 characters, or dropped when invalid.
fn check_spans(receiver: &Receiver, seed: u64) {
    let spans = receiver.spans();
    let servers: Vec<_> = spans
        .iter()
        .filter(|s| s.kind() == SpanKind::Server)
        .filter_map(|s| Some((s, s.attr_str("user_agent.original")?)))
        .filter(|(_, ua)| ua.starts_with("hostile/"))
        .collect();
    // The export queue (8192 spans) holds a whole flood, so none is dropped.
    assert_eq!(
        servers.len(),
        FLOOD,
        "seed {seed}: one SERVER span per request"
    );
    let mut seen = BTreeMap::new();
    for (span, ua) in servers {
        let state = &span.span.trace_state;
        let tag = ua.split('/').nth(1).unwrap_or_default();
        *seen.entry(tag.to_owned()).or_insert(0) += 1;
        assert!(
            span.parent_span_id().is_some(),
            "seed {seed}: the traceparent is continued"
        );
        match tag {
            "ts0" | "ts33" => assert_eq!(state, "", "seed {seed}: {tag}"),
            "ts32" => assert!(
                !state.is_empty() && state.len() <= MAX_TRACESTATE_LEN && state.starts_with("k0"),
                "seed {seed}: {tag}: {state}"
            ),
            other => panic!("seed {seed}: unexpected user agent tag {other}"),
        }
    }
    assert_eq!(
        seen.len(),
        3,
        "seed {seed}: every tracestate variant seen: {seen:?}"
    );
}
