//! The member cache: cache-aside in front of `GET /api/members/{id}`, members stored as JSON,
//! invalidated on every change. In process by default, in Redis when `REDIS_URL` is set; both
//! are wrapped in otelix's `InstrumentedCache` (`otelix.cache.requests` with hit/miss/error,
//! and CLIENT spans for Redis).
//!
//! A cache is an optimisation: a failing cache reads as a miss and a failed write or
//! invalidation is logged, never an error for the client. Invalidation failures are bounded
//! by the entries' time to live.

use std::sync::Arc;
use std::time::Duration;

use otelix::cache::{Cache, CacheError, CacheExt, InstrumentedCache, MemoryCache, RedisCache};

use crate::settings::{without_password, Settings};
use crate::store::Member;

/// Entries of the in-process cache before it starts evicting.
const MEMORY_CAPACITY: u64 = 10_000;

/// The members cache. Cheap to clone.
#[derive(Clone)]
pub struct MemberCache {
    cache: InstrumentedCache<Arc<dyn Cache>>,
    prefix: Arc<str>,
    ttl: Duration,
    description: Arc<str>,
}

impl std::fmt::Debug for MemberCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemberCache")
            .field("backend", &self.description)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl MemberCache {
    /// The cache `settings` ask for. Building never connects: a Redis that is down reads as
    /// misses until it is back.
    ///
    /// # Errors
    ///
    /// [`CacheError`] when the Redis URL is unusable (or this runs outside a Tokio runtime).
    pub fn new(
        settings: &Settings,
        telemetry: &otelix::TelemetryHandle,
    ) -> Result<Self, CacheError> {
        let (backend, description): (Arc<dyn Cache>, String) = match settings.redis_url() {
            Some(url) => (
                Arc::new(RedisCache::builder(url).build()?),
                format!("redis {}", without_password(url)),
            ),
            None => (
                Arc::new(MemoryCache::new(MEMORY_CAPACITY)),
                "in-process memory".to_owned(),
            ),
        };
        Ok(MemberCache {
            cache: InstrumentedCache::new("members", backend, telemetry),
            prefix: Arc::from(settings.cache_key_prefix()),
            ttl: settings.cache_ttl(),
            description: Arc::from(description),
        })
    }

    /// What backs the cache, for the start-up summary (no password).
    pub fn description(&self) -> &str {
        &self.description
    }

    fn key(&self, id: i64) -> String {
        format!("{}:member:{id}", self.prefix)
    }

    /// The cached member `id`, or `None` (a miss, or a cache that failed).
    pub async fn get(&self, id: i64) -> Option<Member> {
        self.cache.get_json_or_miss(&self.key(id)).await
    }

    /// Caches `member` for the configured time to live.
    pub async fn put(&self, member: &Member) {
        if let Err(error) = self
            .cache
            .set_json(&self.key(member.id), member, self.ttl)
            .await
        {
            tracing::warn!(%error, kind = error.error_type(), backend = %self.description, "could not cache a member");
        }
    }

    /// Forgets member `id`, after a change.
    pub async fn invalidate(&self, id: i64) {
        if let Err(error) = self.cache.delete(&self.key(id)).await {
            tracing::warn!(%error, kind = error.error_type(), backend = %self.description, "could not invalidate a cached member");
        }
    }
}
