//! Instrumentation of what a request calls: the database ([`db`], with the `sqlx` feature),
//! caches ([`cache`]), outgoing HTTP calls ([`external`]) and background jobs ([`jobs`]). Each
//! opens CLIENT or INTERNAL spans as children of the current span and records its metrics
//! through the providers of a [`TelemetryHandle`](crate::TelemetryHandle).

pub mod cache;
#[cfg(feature = "sqlx")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlx")))]
pub mod db;
pub mod external;
pub mod jobs;
mod providers;

pub(crate) use providers::{duration_buckets, short_type_name, Providers, SharedTracer};
