//! Instrumented database access through `sqlx` (feature `sqlx`), for SQLite and PostgreSQL.
//!
//! [`InstrumentedPool`] wraps a `sqlx::Pool` and is itself a `sqlx::Executor`, so queries are
//! built and run exactly as with sqlx, and every one becomes a CLIENT span named
//! `{db.operation.name} {db.collection.name}` plus a
//! [`db.client.operation.duration`](crate::names::DB_CLIENT_OPERATION_DURATION) point:
//!
//! ```no_run
//! # async fn demo(handle: otelix::TelemetryHandle) -> Result<(), sqlx::Error> {
//! use otelix::db::InstrumentedPool;
//!
//! let pool = sqlx::SqlitePool::connect("sqlite::memory:").await?;
//! let db = InstrumentedPool::new(pool, &handle);
//! let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM sqlite_master")
//!     .fetch_one(&db)
//!     .await?;
//! // Name the collection when the statement does not show it plainly.
//! sqlx::query("SELECT * FROM (SELECT 1)").execute(&db.with_collection("members")).await?;
//! # Ok(()) }
//! ```
//!
//! Span attributes: `db.system.name`, `db.namespace`, `db.collection.name`,
//! `db.operation.name`, `db.query.text` (sanitized: literals become `?`, bound parameter values
//! are never recorded), `server.address`/`server.port` for a server, `db.response.returned_rows`,
//! and on failure `error.type` plus `db.response.status_code` (the SQLSTATE or SQLite code).
//! The operation and collection are read from the statement when not given.
//!
//! Transactions and single connections are not wrapped: queries run through
//! `&mut *transaction` are not instrumented.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Instant;

use futures_core::future::BoxFuture;
use futures_core::stream::{BoxStream, Stream};
use opentelemetry::metrics::Histogram;
use opentelemetry::trace::{FutureExt as _, SpanKind, Status, TraceContextExt, Tracer as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::SdkTracer;
use opentelemetry_semantic_conventions::attribute as attr;
use sqlx::{Database, Either, Execute, Executor, Pool, SqlStr};

use crate::names;
use crate::sql::summarize;

/// A database `sqlx` supports that otelix knows how to describe: SQLite, PostgreSQL, and
/// `sqlx::Any` connected to either (the system is then read from the connection URL).
pub trait DbSystem: Database + private::Sealed {
    /// `db.system.name`, `db.namespace`, `server.address` and `server.port` for a pool.
    #[doc(hidden)]
    fn describe(pool: &Pool<Self>) -> Endpoint;
}

/// Where a pool connects, for span attributes.
#[doc(hidden)]
#[derive(Debug, Clone, Default)]
pub struct Endpoint {
    system: &'static str,
    namespace: Option<String>,
    server_address: Option<String>,
    server_port: Option<u16>,
}

mod private {
    pub trait Sealed {}
    impl Sealed for sqlx::Sqlite {}
    impl Sealed for sqlx::Postgres {}
    impl Sealed for sqlx::Any {}
}

impl DbSystem for sqlx::Sqlite {
    fn describe(pool: &Pool<Self>) -> Endpoint {
        let options = pool.connect_options();
        let name = options
            .get_filename()
            .file_name()
            .map(|f| f.to_string_lossy().into_owned());
        Endpoint {
            system: "sqlite",
            namespace: name,
            server_address: None,
            server_port: None,
        }
    }
}

impl DbSystem for sqlx::Postgres {
    fn describe(pool: &Pool<Self>) -> Endpoint {
        let options = pool.connect_options();
        Endpoint {
            system: "postgresql",
            namespace: options.get_database().map(str::to_owned),
            server_address: Some(options.get_host().to_owned()),
            server_port: Some(options.get_port()),
        }
    }
}

impl DbSystem for sqlx::Any {
    fn describe(pool: &Pool<Self>) -> Endpoint {
        let url = &pool.connect_options().database_url;
        match url.scheme() {
            "postgres" | "postgresql" => Endpoint {
                system: "postgresql",
                namespace: url
                    .path()
                    .strip_prefix('/')
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned),
                server_address: url.host_str().map(str::to_owned),
                server_port: Some(url.port().unwrap_or(5432)),
            },
            "sqlite" => Endpoint {
                system: "sqlite",
                namespace: url
                    .path()
                    .rsplit('/')
                    .next()
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned),
                server_address: None,
                server_port: None,
            },
            "mysql" | "mariadb" => Endpoint {
                system: "mysql",
                namespace: url
                    .path()
                    .strip_prefix('/')
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned),
                server_address: url.host_str().map(str::to_owned),
                server_port: Some(url.port().unwrap_or(3306)),
            },
            _ => Endpoint {
                system: "other_sql",
                ..Endpoint::default()
            },
        }
    }
}

struct Shared {
    tracer: SdkTracer,
    duration: Histogram<f64>,
    exemplars: crate::export::exemplars::ExemplarSink,
    endpoint: Endpoint,
}

/// A `sqlx::Pool` whose queries are traced and measured. Cheap to clone.
pub struct InstrumentedPool<DB: DbSystem> {
    pool: Pool<DB>,
    shared: Arc<Shared>,
    collection: Option<Arc<str>>,
}

impl<DB: DbSystem> Clone for InstrumentedPool<DB> {
    fn clone(&self) -> Self {
        InstrumentedPool {
            pool: self.pool.clone(),
            shared: self.shared.clone(),
            collection: self.collection.clone(),
        }
    }
}

impl<DB: DbSystem> fmt::Debug for InstrumentedPool<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstrumentedPool")
            .field("system", &self.shared.endpoint.system)
            .field("namespace", &self.shared.endpoint.namespace)
            .field("collection", &self.collection)
            .finish_non_exhaustive()
    }
}

impl<DB: DbSystem> InstrumentedPool<DB> {
    /// Wraps `pool`, recording with the tracer and meter of `handle`.
    pub fn new(pool: Pool<DB>, handle: &crate::TelemetryHandle) -> Self {
        let duration = handle
            .meter()
            .f64_histogram(names::DB_CLIENT_OPERATION_DURATION.name)
            .with_unit(names::DB_CLIENT_OPERATION_DURATION.unit)
            .with_description(names::DB_CLIENT_OPERATION_DURATION.description)
            .with_boundaries(crate::DURATION_BUCKETS_SECONDS.to_vec())
            .build();
        let endpoint = DB::describe(&pool);
        InstrumentedPool {
            pool,
            shared: Arc::new(Shared {
                tracer: handle.tracer().clone(),
                duration,
                exemplars: handle.exemplar_sink(names::DB_CLIENT_OPERATION_DURATION.prometheus),
                endpoint,
            }),
            collection: None,
        }
    }

    /// The same pool, reporting `collection` as `db.collection.name` for every query instead of
    /// the table read from the statement.
    pub fn with_collection(&self, collection: impl Into<Arc<str>>) -> Self {
        InstrumentedPool {
            collection: Some(collection.into()),
            ..self.clone()
        }
    }

    /// The wrapped pool, for what is not instrumented (transactions, `acquire`, `close`).
    pub fn pool(&self) -> &Pool<DB> {
        &self.pool
    }

    /// Takes the query apart (its text is needed for the span, and sqlx hands it out only by
    /// value), opens the span and returns the query rebuilt with the span's context.
    fn start<'q, E>(&self, mut query: E) -> Result<(Rebuilt<DB>, Operation), sqlx::Error>
    where
        E: Execute<'q, DB>,
    {
        let persistent = query.persistent();
        let statement = query.statement().cloned();
        let arguments = query.take_arguments().map_err(sqlx::Error::Encode)?;
        let sql = query.sql();
        let operation = self.operation(sql.as_str());
        Ok((
            Rebuilt {
                sql: Some(sql),
                statement,
                arguments,
                persistent,
            },
            operation,
        ))
    }

    fn operation(&self, sql: &str) -> Operation {
        let shared = &self.shared;
        let summary = summarize(sql);
        let collection: Option<Arc<str>> = self
            .collection
            .clone()
            .or_else(|| summary.collection.map(Arc::from));
        let name = match (summary.operation, collection.as_deref()) {
            (Some(op), Some(coll)) => format!("{op} {coll}"),
            (Some(op), None) => op.to_owned(),
            (None, _) => shared.endpoint.system.to_owned(),
        };
        let mut metric_attrs = Vec::with_capacity(4);
        metric_attrs.push(KeyValue::new(attr::DB_SYSTEM_NAME, shared.endpoint.system));
        if let Some(coll) = &collection {
            metric_attrs.push(KeyValue::new(attr::DB_COLLECTION_NAME, coll.to_string()));
        }
        if let Some(op) = summary.operation {
            metric_attrs.push(KeyValue::new(attr::DB_OPERATION_NAME, op));
        }
        let mut span_attrs = metric_attrs.clone();
        span_attrs.push(KeyValue::new(
            attr::DB_QUERY_TEXT,
            crate::sql::sanitize_query(sql).into_owned(),
        ));
        if let Some(ns) = &shared.endpoint.namespace {
            span_attrs.push(KeyValue::new(attr::DB_NAMESPACE, ns.clone()));
        }
        if let Some(address) = &shared.endpoint.server_address {
            span_attrs.push(KeyValue::new(attr::SERVER_ADDRESS, address.clone()));
        }
        if let Some(port) = shared.endpoint.server_port {
            span_attrs.push(KeyValue::new(attr::SERVER_PORT, i64::from(port)));
        }
        let span = shared
            .tracer
            .span_builder(name)
            .with_kind(SpanKind::Client)
            .with_attributes(span_attrs)
            .start_with_context(&shared.tracer, &Context::current());
        Operation {
            cx: Context::current_with_span(span),
            started: Instant::now(),
            metric_attrs,
            duration: shared.duration.clone(),
            exemplars: shared.exemplars.clone(),
            rows: 0,
            failed: false,
        }
    }
}

/// One query's span and measurement, finished exactly once: on completion, error or drop.
struct Operation {
    cx: Context,
    started: Instant,
    metric_attrs: Vec<KeyValue>,
    duration: Histogram<f64>,
    exemplars: crate::export::exemplars::ExemplarSink,
    rows: i64,
    failed: bool,
}

impl Operation {
    fn fail(&mut self, error: &sqlx::Error) {
        if self.failed {
            return;
        }
        self.failed = true;
        let (class, code) = classify(error);
        let span = self.cx.span();
        span.set_attribute(KeyValue::new(attr::ERROR_TYPE, class.clone()));
        if let Some(code) = code {
            span.set_attribute(KeyValue::new(attr::DB_RESPONSE_STATUS_CODE, code));
        }
        // The description is the error's kind, not its text: database messages can quote
        // the values that violated a constraint.
        span.set_status(Status::error(class.clone()));
        self.metric_attrs
            .push(KeyValue::new(attr::ERROR_TYPE, class));
    }
}

impl Drop for Operation {
    fn drop(&mut self) {
        let span = self.cx.span();
        span.set_attribute(KeyValue::new(attr::DB_RESPONSE_RETURNED_ROWS, self.rows));
        span.end();
        let seconds = self.started.elapsed().as_secs_f64();
        self.duration.record(seconds, &self.metric_attrs);
        let span_context = span.span_context();
        if span_context.is_sampled() {
            self.exemplars
                .record(seconds, &self.metric_attrs, span_context.trace_id());
        }
    }
}

/// A short, bounded error class for `error.type`, and the database's own code when there is
/// one (SQLSTATE for PostgreSQL, the extended result code for SQLite).
fn classify(error: &sqlx::Error) -> (String, Option<String>) {
    let class = match error {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned());
            let class = code.clone().unwrap_or_else(|| "database".to_owned());
            return (class, code);
        }
        sqlx::Error::PoolTimedOut => "pool_timeout",
        sqlx::Error::PoolClosed => "pool_closed",
        sqlx::Error::Io(_) => "io",
        sqlx::Error::Tls(_) => "tls",
        sqlx::Error::Protocol(_) => "protocol",
        sqlx::Error::RowNotFound => "row_not_found",
        sqlx::Error::Encode(_) => "encode",
        sqlx::Error::Decode(_) | sqlx::Error::ColumnDecode { .. } => "decode",
        sqlx::Error::ColumnNotFound(_) | sqlx::Error::ColumnIndexOutOfBounds { .. } => "column",
        sqlx::Error::TypeNotFound { .. } => "type_not_found",
        sqlx::Error::Configuration(_) => "configuration",
        sqlx::Error::WorkerCrashed => "worker_crashed",
        _ => "other",
    };
    (class.to_owned(), None)
}

/// A query taken apart and put back together, so its text could be read first.
struct Rebuilt<DB: Database> {
    sql: Option<SqlStr>,
    statement: Option<DB::Statement>,
    arguments: Option<DB::Arguments>,
    persistent: bool,
}

impl<DB: Database> Execute<'_, DB> for Rebuilt<DB> {
    fn sql(mut self) -> SqlStr {
        self.sql.take().unwrap_or_else(|| SqlStr::from_static(""))
    }
    fn statement(&self) -> Option<&DB::Statement> {
        self.statement.as_ref()
    }
    fn take_arguments(&mut self) -> Result<Option<DB::Arguments>, sqlx::error::BoxDynError> {
        Ok(self.arguments.take())
    }
    fn persistent(&self) -> bool {
        self.persistent
    }
}

struct InstrumentedStream<'e, T> {
    inner: BoxStream<'e, Result<T, sqlx::Error>>,
    operation: Option<Operation>,
}

impl<'e, L, R> Stream for InstrumentedStream<'e, Either<L, R>> {
    type Item = Result<Either<L, R>, sqlx::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        // The query's own diagnostics (sqlx logs, driver spans) belong to its span.
        let _attached = this.operation.as_ref().map(|op| op.cx.clone().attach());
        let polled = this.inner.as_mut().poll_next(cx);
        match &polled {
            Poll::Ready(Some(Ok(Either::Right(_)))) => {
                if let Some(op) = this.operation.as_mut() {
                    op.rows += 1;
                }
            }
            Poll::Ready(Some(Err(error))) => {
                if let Some(op) = this.operation.as_mut() {
                    op.fail(error);
                }
            }
            Poll::Ready(None) => {
                this.operation = None;
            }
            _ => {}
        }
        polled
    }
}

impl<'p, DB> Executor<'p> for &'_ InstrumentedPool<DB>
where
    DB: DbSystem,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    type Database = DB;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<DB::QueryResult, DB::Row>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, DB>,
    {
        match self.start(query) {
            Ok((query, operation)) => {
                // sqlx's pool executor clones the pool, so the stream does not borrow it.
                let inner = {
                    let _attached = operation.cx.clone().attach();
                    (&self.pool).fetch_many(query)
                };
                Box::pin(InstrumentedStream {
                    inner,
                    operation: Some(operation),
                })
            }
            Err(error) => Box::pin(Once(Some(Err(error)))),
        }
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<DB::Row>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, DB>,
    {
        let started = self.start(query);
        let pool = self.pool.clone();
        Box::pin(async move {
            let (query, mut operation) = started?;
            let cx = operation.cx.clone();
            let result = async { (&pool).fetch_optional(query).await }
                .with_context(cx)
                .await;
            match &result {
                Ok(Some(_)) => operation.rows = 1,
                Ok(None) => {}
                Err(error) => operation.fail(error),
            }
            drop(operation);
            result
        })
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [DB::TypeInfo],
    ) -> BoxFuture<'e, Result<DB::Statement, sqlx::Error>>
    where
        'p: 'e,
    {
        let pool = self.pool.clone();
        Box::pin(async move { (&pool).prepare_with(sql, parameters).await })
    }

    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, Result<sqlx::Describe<DB>, sqlx::Error>>
    where
        'p: 'e,
    {
        let pool = self.pool.clone();
        Box::pin(async move { (&pool).describe(sql).await })
    }
}

/// A stream of one item: the error that kept a query from starting.
struct Once<T>(Option<T>);

// `Option<T>` is moved out, never pinned in place, so `Once` is `Unpin` whatever `T` is.
impl<T> Unpin for Once<T> {}

impl<T> Stream for Once<T> {
    type Item = T;
    fn poll_next(mut self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<Option<T>> {
        Poll::Ready(self.0.take())
    }
}
