use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use opentelemetry::context::FutureExt as _;
use opentelemetry::metrics::{Counter, Histogram};
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use opentelemetry_semantic_conventions::attribute as semattr;

use super::{Cache, CacheError, CacheOperation, RemoteCache};
use crate::instrument::{duration_buckets, Providers, SharedTracer};
use crate::names::{self, CACHE_KEY_PREFIX, CACHE_NAME, CACHE_OPERATION, CACHE_RESULT};

/// Wraps a [`Cache`] with metrics and, for remote backends, CLIENT spans.
///
/// Every operation records:
///
/// - [`otelix.cache.requests`](names::CACHE_REQUESTS) (counter, `{request}`) with
///   `cache.name`, `cache.operation` (`get`, `set`, `delete`) and `cache.result`: `hit`,
///   `miss` or `error` for `get`; `ok` or `error` for `set` and `delete`;
/// - [`otelix.cache.operation.duration`](names::CACHE_OPERATION_DURATION) (histogram, `s`)
///   with the same attributes.
///
/// For a backend whose [`Cache::remote`] is `Some` (such as
/// `RedisCache`) each operation is also a CLIENT span, child of the current
/// context, named after `db.operation.name` (`GET`, `SET`, `DEL`), with `db.system.name`,
/// `db.operation.name`, `db.namespace`, `server.address`, `server.port`, `cache.name` and, on
/// failure, `error.type` and an error status. Keys never become attributes, since they may hold
/// user data; [`InstrumentedCache::with_key_prefix`] opts into recording the part before a
/// separator.
///
/// A miss is not an error: it leaves the span status unset.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let config = otelix::Config::builder()
/// #     .with_traces_exporter(otelix::Exporters::NONE)
/// #     .with_metrics_exporter(otelix::Exporters::NONE)
/// #     .with_logs_exporter(otelix::Exporters::NONE)
/// #     .build_from_vars(Vec::<(String, String)>::new())?;
/// # let telemetry = otelix::Telemetry::builder(config).build()?;
/// use std::time::Duration;
/// use otelix::cache::{CacheExt, InstrumentedCache, MemoryCache};
///
/// let members = InstrumentedCache::new("members", MemoryCache::new(10_000), &telemetry.handle());
/// members.set_json("member:42", &["Ada", "Lovelace"], Duration::from_secs(300)).await?;
/// let hit: Option<Vec<String>> = members.get_json_or_miss("member:42").await;
/// assert!(hit.is_some());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct InstrumentedCache<C> {
    inner: C,
    name: Cow<'static, str>,
    key_prefix_separator: Option<char>,
    instruments: Arc<CacheInstruments>,
}

#[derive(Debug)]
struct CacheInstruments {
    tracer: SharedTracer,
    requests: Counter<u64>,
    duration: Histogram<f64>,
}

impl CacheInstruments {
    fn new(providers: Providers) -> Self {
        let Providers { tracer, meter } = providers;
        Self {
            tracer,
            requests: meter
                .u64_counter(names::CACHE_REQUESTS.name)
                .with_unit(names::CACHE_REQUESTS.unit)
                .with_description(names::CACHE_REQUESTS.description)
                .build(),
            duration: meter
                .f64_histogram(names::CACHE_OPERATION_DURATION.name)
                .with_unit(names::CACHE_OPERATION_DURATION.unit)
                .with_description(names::CACHE_OPERATION_DURATION.description)
                .with_boundaries(duration_buckets())
                .build(),
        }
    }
}

impl<C: Cache> InstrumentedCache<C> {
    /// Instruments `inner` as the cache called `name` (the `cache.name` attribute: a fixed,
    /// low-cardinality name such as `members`), recording with otelix's own tracer and meter.
    pub fn new(
        name: impl Into<Cow<'static, str>>,
        inner: C,
        telemetry: &crate::TelemetryHandle,
    ) -> Self {
        Self::with_providers(name, inner, Providers::from_handle(telemetry))
    }

    /// As [`InstrumentedCache::new`], recording through the process-wide providers that
    /// `otelix::init` installs, as they are when this is called.
    pub fn with_global_providers(name: impl Into<Cow<'static, str>>, inner: C) -> Self {
        Self::with_providers(name, inner, Providers::global())
    }

    fn with_providers(name: impl Into<Cow<'static, str>>, inner: C, providers: Providers) -> Self {
        Self {
            inner,
            name: name.into(),
            key_prefix_separator: None,
            instruments: Arc::new(CacheInstruments::new(providers)),
        }
    }

    /// Records, on spans only, the part of each key before the first `separator` as
    /// `cache.key_prefix` (`member` for `member:42`); a key without the separator records
    /// nothing. Use it only when key prefixes are fixed names chosen in code. Default: no key
    /// information is recorded at all.
    pub fn with_key_prefix(mut self, separator: char) -> Self {
        self.key_prefix_separator = Some(separator);
        self
    }

    /// The `cache.name` of this cache.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &C {
        &self.inner
    }

    /// Unwraps the backend.
    pub fn into_inner(self) -> C {
        self.inner
    }

    async fn observe<T, F>(
        &self,
        operation: CacheOperation,
        key: &str,
        call: F,
        result_of: fn(&T) -> &'static str,
    ) -> Result<T, CacheError>
    where
        F: Future<Output = Result<T, CacheError>> + Send,
    {
        let start = Instant::now();
        let span_cx = self
            .inner
            .remote()
            .map(|remote| self.start_span(remote, operation, key));
        let result = match &span_cx {
            Some(cx) => call.with_context(cx.clone()).await,
            None => call.await,
        };
        let elapsed = start.elapsed();
        let cache_result = match &result {
            Ok(value) => result_of(value),
            Err(_) => "error",
        };
        self.record(operation, cache_result, elapsed);
        if let Some(cx) = span_cx {
            let span = cx.span();
            if let Err(error) = &result {
                span.set_attribute(KeyValue::new(semattr::ERROR_TYPE, error.error_type()));
                span.set_status(Status::error(error.error_type()));
            }
            span.set_attribute(KeyValue::new(CACHE_RESULT, cache_result));
            span.end();
        }
        result
    }

    fn start_span(&self, remote: &RemoteCache, operation: CacheOperation, key: &str) -> Context {
        let db_operation = remote.operation_name(operation).to_owned();
        let mut attributes = vec![
            KeyValue::new(semattr::DB_SYSTEM_NAME, remote.system_name().to_owned()),
            KeyValue::new(semattr::DB_OPERATION_NAME, db_operation.clone()),
            KeyValue::new(semattr::SERVER_ADDRESS, remote.server_address().to_owned()),
            KeyValue::new(CACHE_NAME, self.name.clone()),
            KeyValue::new(CACHE_OPERATION, operation.as_str()),
        ];
        if let Some(port) = remote.server_port() {
            attributes.push(KeyValue::new(semattr::SERVER_PORT, i64::from(port)));
        }
        if let Some(namespace) = remote.namespace() {
            attributes.push(KeyValue::new(semattr::DB_NAMESPACE, namespace.to_owned()));
        }
        if let Some(prefix) = self
            .key_prefix_separator
            .and_then(|separator| key.split_once(separator))
            .map(|(prefix, _)| prefix)
        {
            attributes.push(KeyValue::new(CACHE_KEY_PREFIX, prefix.to_owned()));
        }
        let parent = Context::current();
        let builder = self
            .instruments
            .tracer
            .span_builder(db_operation)
            .with_kind(SpanKind::Client)
            .with_attributes(attributes);
        let span = self.instruments.tracer.build_with_context(builder, &parent);
        parent.with_span(span)
    }

    fn record(&self, operation: CacheOperation, result: &'static str, elapsed: Duration) {
        let attributes = [
            KeyValue::new(CACHE_NAME, self.name.clone()),
            KeyValue::new(CACHE_OPERATION, operation.as_str()),
            KeyValue::new(CACHE_RESULT, result),
        ];
        self.instruments.requests.add(1, &attributes);
        self.instruments
            .duration
            .record(elapsed.as_secs_f64(), &attributes);
    }
}

fn hit_or_miss(value: &Option<Vec<u8>>) -> &'static str {
    if value.is_some() {
        "hit"
    } else {
        "miss"
    }
}

fn ok(_: &()) -> &'static str {
    "ok"
}

#[async_trait]
impl<C: Cache> Cache for InstrumentedCache<C> {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        self.observe(CacheOperation::Get, key, self.inner.get(key), hit_or_miss)
            .await
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        self.observe(
            CacheOperation::Set,
            key,
            self.inner.set(key, value, ttl),
            ok,
        )
        .await
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.observe(CacheOperation::Delete, key, self.inner.delete(key), ok)
            .await
    }

    fn remote(&self) -> Option<&RemoteCache> {
        self.inner.remote()
    }
}
