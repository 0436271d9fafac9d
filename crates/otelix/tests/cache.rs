//! `otelix::cache`: hit/miss metrics through the Prometheus bridge and OTLP, Redis round trips
//! with CLIENT spans, and bounded failures when Redis is down or silent.

// A failed setup step should fail the test loudly, which is what `expect` does.
#![allow(clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{flush, prometheus, receiver, sample, samples, telemetry, ARRIVAL};
use otelix::cache::{Cache, CacheExt, InstrumentedCache, MemoryCache};
use otelix::names;

const REQUESTS: &str = names::CACHE_REQUESTS.prometheus;
const DURATION_COUNT: &str = "otelix_cache_operation_duration_seconds_count";

#[tokio::test]
async fn memory_cache_hits_and_misses_are_counted() {
    let receiver = receiver();
    let telemetry = telemetry(&receiver);
    let members = InstrumentedCache::new("members", MemoryCache::new(100), &telemetry.handle());
    let ttl = Duration::from_secs(60);

    assert_eq!(members.get_or_miss("member:1").await, None);
    members
        .set_json("member:1", &("Ada", 36), ttl)
        .await
        .expect("set_json member:1");
    let first: Option<(String, u32)> = members.get_json_or_miss("member:1").await;
    assert_eq!(first, Some(("Ada".to_owned(), 36)));
    assert!(members.get("member:1").await.is_ok_and(|v| v.is_some()));
    members.delete("member:1").await.expect("delete member:1");
    assert_eq!(members.get_or_miss("member:1").await, None);
    // A refused write is an error, not a success.
    assert!(members.set("member:2", b"x", Duration::ZERO).await.is_err());

    let text = prometheus(&telemetry);
    let get = |result| {
        sample(
            &text,
            REQUESTS,
            &[
                ("cache_name", "members"),
                ("cache_operation", "get"),
                ("cache_result", result),
            ],
        )
    };
    assert_eq!(get("hit"), 2.0);
    assert_eq!(get("miss"), 2.0);
    assert!(samples(&text, REQUESTS, &[("cache_result", "error")]).len() == 1);
    let set = |result| {
        sample(
            &text,
            REQUESTS,
            &[("cache_operation", "set"), ("cache_result", result)],
        )
    };
    assert_eq!(set("ok"), 1.0);
    assert_eq!(set("error"), 1.0);
    assert_eq!(
        sample(
            &text,
            REQUESTS,
            &[("cache_operation", "delete"), ("cache_result", "ok")]
        ),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            DURATION_COUNT,
            &[("cache_operation", "get"), ("cache_result", "hit")]
        ),
        2.0
    );

    // The same numbers arrive over OTLP.
    flush(&telemetry);
    let metric = receiver
        .wait_for_metric_blocking(|m| m.name() == names::CACHE_REQUESTS.name, ARRIVAL)
        .expect("the cache request counter is exported");
    assert_eq!(metric.unit(), "{request}");
    let points = metric.data_point_attributes();
    for result in ["hit", "miss", "ok", "error"] {
        assert!(
            points.iter().any(
                |p| p.get(names::CACHE_RESULT).map(String::as_str) == Some(result)
                    && p.get(names::CACHE_NAME).map(String::as_str) == Some("members")
            ),
            "no {result} point in {points:?}"
        );
    }
    assert_eq!(metric.sum_value(), 7.0);
    let duration = receiver
        .wait_for_metric_blocking(
            |m| m.name() == names::CACHE_OPERATION_DURATION.name,
            ARRIVAL,
        )
        .expect("the cache duration histogram is exported");
    assert_eq!(duration.unit(), "s");
    assert_eq!(duration.histogram_counts(), 7);

    // In-process operations are not worth a span each.
    assert!(receiver
        .spans()
        .iter()
        .all(|span| span.attr_str(names::CACHE_NAME).is_none()));
}

#[cfg(feature = "redis")]
mod redis {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use opentelemetry::context::FutureExt as _;
    use opentelemetry::trace::{TraceContextExt, Tracer};
    use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
    use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
    use otelix::cache::{Cache, CacheError, CacheExt, InstrumentedCache, RedisCache, RemoteCache};
    use otelix::names;
    use otelix_testkit::ReceivedSpan;

    use super::common::{
        closed_port, current_ids, flush, prometheus, receiver, redis_url, sample, telemetry,
        unique, wait_span, SilentServer,
    };
    use super::REQUESTS;

    const TIMEOUT: Duration = Duration::from_millis(200);

    /// Not hanging is the property under test; the bound is loose so that a busy machine
    /// cannot fail it.
    const NEVER_HANGS: Duration = Duration::from_secs(3);

    fn cache_at(url: &str) -> RedisCache {
        RedisCache::builder(url)
            .with_timeout(TIMEOUT)
            .build()
            .expect("a Redis cache client")
    }

    fn is_cache_span(span: &ReceivedSpan, cache: &str, operation: &str) -> bool {
        span.attr_str(names::CACHE_NAME).as_deref() == Some(cache)
            && span.attr_str(names::CACHE_OPERATION).as_deref() == Some(operation)
    }

    #[tokio::test]
    async fn redis_round_trip_counts_and_opens_client_spans() {
        let Some(url) = redis_url("redis_round_trip_counts_and_opens_client_spans") else {
            return;
        };
        let receiver = receiver();
        let telemetry = telemetry(&receiver);
        let handle = telemetry.handle();
        let sessions =
            InstrumentedCache::new("sessions", cache_at(&url), &handle).with_key_prefix(':');
        let key = unique("otelix-test");
        let ttl = Duration::from_secs(30);

        let parent = handle.tracer().start("request");
        let cx = opentelemetry::Context::current_with_span(parent);
        let (trace_id, parent_id) = async {
            assert_eq!(sessions.get_or_miss(&key).await, None);
            sessions
                .set_json(&key, &vec!["a", "b"], ttl)
                .await
                .expect("set_json on Redis");
            let got: Option<Vec<String>> =
                sessions.get_json(&key).await.expect("get_json on Redis");
            assert_eq!(got, Some(vec!["a".to_owned(), "b".to_owned()]));
            sessions.delete(&key).await.expect("delete on Redis");
            assert_eq!(sessions.get_or_miss(&key).await, None);
            current_ids()
        }
        .with_context(cx.clone())
        .await;
        cx.span().end();

        // Expiry is Redis's own.
        sessions
            .set(&key, b"short", Duration::from_millis(50))
            .await
            .expect("set with a 50 ms expiry on Redis");
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(sessions.get_or_miss(&key).await, None);

        let text = prometheus(&telemetry);
        let count = |operation, result| {
            sample(
                &text,
                REQUESTS,
                &[
                    ("cache_name", "sessions"),
                    ("cache_operation", operation),
                    ("cache_result", result),
                ],
            )
        };
        assert_eq!(count("get", "miss"), 3.0);
        assert_eq!(count("get", "hit"), 1.0);
        assert_eq!(count("set", "ok"), 2.0);
        assert_eq!(count("delete", "ok"), 1.0);

        flush(&telemetry);
        let get = wait_span(&receiver, "GET span", |s| {
            is_cache_span(s, "sessions", "get")
                && s.attr_str(names::CACHE_RESULT).as_deref() == Some("hit")
        });
        assert_eq!(get.name(), "GET");
        assert_eq!(get.kind(), SpanKind::Client);
        assert_eq!(get.trace_id(), trace_id);
        assert_eq!(get.parent_span_id().as_deref(), Some(parent_id.as_str()));
        let remote = sessions
            .remote()
            .cloned()
            .expect("the Redis backend is remote");
        let expected = [
            ("db.system.name", "redis".to_owned()),
            ("db.operation.name", "GET".to_owned()),
            ("server.address", remote.server_address().to_owned()),
            (
                "server.port",
                remote.server_port().unwrap_or_default().to_string(),
            ),
            ("db.namespace", remote.namespace().unwrap_or("0").to_owned()),
            ("cache.key_prefix", "otelix-test".to_owned()),
        ];
        for (key, value) in expected {
            assert_eq!(get.attr_str(key).as_deref(), Some(value.as_str()), "{key}");
        }
        let set = wait_span(&receiver, "SET span", |s| {
            is_cache_span(s, "sessions", "set")
        });
        assert_eq!(set.name(), "SET");
        let del = wait_span(&receiver, "DEL span", |s| {
            is_cache_span(s, "sessions", "delete")
        });
        assert_eq!(del.name(), "DEL");
        // The key itself (its unique part) is recorded nowhere.
        let secret_part = key.split_once(':').map_or("", |(_, rest)| rest);
        for span in receiver.spans() {
            for value in span.attrs().values() {
                assert!(!value.contains(secret_part), "key leaked: {value}");
            }
        }
    }

    #[tokio::test]
    async fn redis_connection_is_reestablished_after_it_drops() {
        let Some(url) = redis_url("redis_connection_is_reestablished_after_it_drops") else {
            return;
        };
        let target = url::Url::parse(&url).expect("REDIS_URL is a URL");
        let upstream = format!(
            "{}:{}",
            target.host_str().unwrap_or("127.0.0.1"),
            target.port().unwrap_or(6379)
        );
        let proxy = Proxy::start(upstream).await;
        let mut via_proxy = target.clone();
        via_proxy
            .set_port(Some(proxy.port))
            .unwrap_or_else(|()| panic!("cannot set port"));
        let receiver = receiver();
        let telemetry = telemetry(&receiver);
        let cache = InstrumentedCache::new(
            "reconnect",
            cache_at(via_proxy.as_str()),
            &telemetry.handle(),
        );
        let key = unique("otelix-test");
        cache
            .set(&key, b"v", Duration::from_secs(30))
            .await
            .expect("set on Redis");

        proxy.sever_connections();
        // The first call after the drop may fail; later ones must succeed on a new connection.
        let mut recovered = false;
        for _ in 0..20 {
            if cache
                .get(&key)
                .await
                .is_ok_and(|v| v.as_deref() == Some(b"v"))
            {
                recovered = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(recovered, "no successful get after the connection dropped");
        assert!(proxy.accepted() >= 2, "no new connection was made");
        let _ = cache.delete(&key).await;
    }

    #[tokio::test]
    async fn unreachable_redis_get_is_a_counted_error_within_the_timeout() {
        let receiver = receiver();
        let telemetry = telemetry(&receiver);
        let url = format!("redis://127.0.0.1:{}", closed_port());
        let down = InstrumentedCache::new("down", cache_at(&url), &telemetry.handle());

        for _ in 0..3 {
            let started = Instant::now();
            let result = tokio::time::timeout(NEVER_HANGS, down.get("member:1"))
                .await
                .expect("get hung");
            assert!(result.is_err(), "{result:?}");
            assert!(started.elapsed() < NEVER_HANGS);
        }
        assert_eq!(down.get_or_miss("member:1").await, None);
        assert!(down
            .set("member:1", b"v", Duration::from_secs(1))
            .await
            .is_err());

        let text = prometheus(&telemetry);
        assert_eq!(
            sample(
                &text,
                REQUESTS,
                &[
                    ("cache_name", "down"),
                    ("cache_operation", "get"),
                    ("cache_result", "error")
                ]
            ),
            4.0
        );
        flush(&telemetry);
        let span = wait_span(&receiver, "failed GET", |s| is_cache_span(s, "down", "get"));
        let error_type = span.attr_str("error.type").unwrap_or_default();
        assert!(
            ["connection_refused", "timeout", "io"].contains(&error_type.as_str()),
            "{error_type}"
        );
        assert_eq!(span.status_code(), StatusCode::Error);
    }

    /// While Redis is down, every operation must not wait out its timeout on reconnection
    /// retries: a refused connection is an error at once, so a request that reads and then
    /// fills the cache is not slowed by twice the timeout for as long as the outage lasts.
    #[tokio::test]
    async fn refused_redis_is_an_error_at_once_not_a_timeout() {
        let url = format!("redis://127.0.0.1:{}", closed_port());
        let down = cache_at(&url);
        for _ in 0..5 {
            let result = down.get("member:1").await;
            assert!(
                matches!(&result, Err(error @ CacheError::Redis { .. })
                    if error.error_type() == "connection_refused"),
                "{result:?}"
            );
        }
        let set = down.set("member:1", b"v", Duration::from_secs(1)).await;
        assert!(
            matches!(&set, Err(error) if error.error_type() == "connection_refused"),
            "{set:?}"
        );
    }

    #[tokio::test]
    async fn silent_redis_get_times_out_as_a_counted_error() {
        let silent = SilentServer::start();
        let receiver = receiver();
        let telemetry = telemetry(&receiver);
        let url = format!("redis://127.0.0.1:{}", silent.port);
        let stalled = InstrumentedCache::new("stalled", cache_at(&url), &telemetry.handle());

        for attempt in 0..2 {
            let started = Instant::now();
            let result = tokio::time::timeout(NEVER_HANGS, stalled.get("member:1"))
                .await
                .expect("get hung");
            assert!(
                matches!(result, Err(CacheError::Timeout { timeout, .. }) if timeout == TIMEOUT),
                "{result:?}"
            );
            // The first get waits for the whole timeout; the next one may join the connection
            // attempt the first one started, and share its end.
            if attempt == 0 {
                assert!(started.elapsed() >= TIMEOUT);
            }
        }
        assert_eq!(stalled.get_or_miss("member:1").await, None);

        let text = prometheus(&telemetry);
        assert_eq!(
            sample(
                &text,
                REQUESTS,
                &[("cache_name", "stalled"), ("cache_result", "error")]
            ),
            3.0
        );
        flush(&telemetry);
        let span = wait_span(&receiver, "timed-out GET", |s| {
            is_cache_span(s, "stalled", "get")
        });
        assert_eq!(span.attr_str("error.type").as_deref(), Some("timeout"));
        drop(silent);
    }

    #[test]
    fn remote_attributes_are_public_for_custom_backends() {
        let remote = RemoteCache::new("memcached", "cache.internal", Some(11211))
            .with_operation_name(otelix::cache::CacheOperation::Delete, "delete");
        assert_eq!(
            remote.operation_name(otelix::cache::CacheOperation::Get),
            "GET"
        );
        assert_eq!(
            remote.operation_name(otelix::cache::CacheOperation::Delete),
            "delete"
        );
    }

    /// A TCP proxy to Redis whose connections the test can cut.
    struct Proxy {
        port: u16,
        connections: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
        accepted: Arc<std::sync::atomic::AtomicUsize>,
        acceptor: tokio::task::JoinHandle<()>,
    }

    impl Proxy {
        async fn start(upstream: String) -> Self {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("binding 127.0.0.1:0");
            let port = listener
                .local_addr()
                .map(|a| a.port())
                .expect("the listener's address");
            let connections = Arc::new(std::sync::Mutex::new(Vec::new()));
            let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let (tasks, count) = (connections.clone(), accepted.clone());
            let acceptor = tokio::spawn(async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let upstream = upstream.clone();
                    let task = tokio::spawn(async move {
                        if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                    if let Ok(mut tasks) = tasks.lock() {
                        tasks.push(task);
                    }
                }
            });
            Self {
                port,
                connections,
                accepted,
                acceptor,
            }
        }

        /// Closes every proxied connection, as a Redis restart or a network blip would.
        fn sever_connections(&self) {
            if let Ok(mut tasks) = self.connections.lock() {
                for task in tasks.drain(..) {
                    task.abort();
                }
            }
        }

        fn accepted(&self) -> usize {
            self.accepted.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    impl Drop for Proxy {
        fn drop(&mut self) {
            self.sever_connections();
            self.acceptor.abort();
        }
    }
}
