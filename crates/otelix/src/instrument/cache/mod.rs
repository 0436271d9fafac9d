//! Caches with hit/miss metrics: the [`Cache`] trait, an in-memory backend ([`MemoryCache`]),
//! a Redis backend (`RedisCache`, feature `redis`) and the [`InstrumentedCache`] wrapper that
//! records [`otelix.cache.requests`](crate::names::CACHE_REQUESTS),
//! [`otelix.cache.operation.duration`](crate::names::CACHE_OPERATION_DURATION) and, for Redis,
//! CLIENT spans.
//!
//! A cache is an optimisation: every failure is bounded in time and can be read as a miss with
//! [`CacheExt::get_or_miss`], while still being counted as `cache.result = error`.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let config = otelix::Config::builder()
//! #     .with_traces_exporter(otelix::Exporters::NONE)
//! #     .with_metrics_exporter(otelix::Exporters::NONE)
//! #     .with_logs_exporter(otelix::Exporters::NONE)
//! #     .build_from_vars(Vec::<(String, String)>::new())?;
//! # let telemetry = otelix::Telemetry::builder(config).build()?;
//! use std::time::Duration;
//! use otelix::cache::{Cache, InstrumentedCache, MemoryCache};
//!
//! let members = InstrumentedCache::new("members", MemoryCache::new(10_000), &telemetry.handle());
//! assert_eq!(members.get("member:42").await?, None); // a miss
//! members.set("member:42", b"Ada", Duration::from_secs(300)).await?;
//! assert_eq!(members.get("member:42").await?, Some(b"Ada".to_vec())); // a hit
//!
//! let text = telemetry.handle().render_prometheus()?;
//! assert!(text.contains(r#"cache_result="hit""#));
//! # Ok(())
//! # }
//! ```

mod backend;
mod error;
mod instrumented;
mod memory;
#[cfg(feature = "redis")]
mod redis_cache;

pub use backend::{Cache, CacheExt, CacheOperation, RemoteCache};
pub use error::CacheError;
pub use instrumented::InstrumentedCache;
pub use memory::MemoryCache;
#[cfg(feature = "redis")]
pub use redis_cache::{RedisCache, RedisCacheBuilder};
