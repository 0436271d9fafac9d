use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use moka::Expiry;

use super::{Cache, CacheError};

/// An in-process cache ([`moka`]'s concurrent, TinyLFU-evicting cache) with per-entry expiry.
///
/// Cloning shares the entries. Reads never fail; a full cache evicts the entries least likely
/// to be read again.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), otelix::cache::CacheError> {
/// use std::time::Duration;
/// use otelix::cache::{Cache, MemoryCache};
///
/// let cache = MemoryCache::new(10_000);
/// cache.set("member:42", b"{\"name\":\"Ada\"}", Duration::from_secs(60)).await?;
/// assert!(cache.get("member:42").await?.is_some());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct MemoryCache {
    entries: moka::future::Cache<String, Entry>,
}

impl std::fmt::Debug for MemoryCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryCache")
            .field("entry_count", &self.entries.entry_count())
            .field("max_capacity", &self.entries.policy().max_capacity())
            .finish()
    }
}

#[derive(Clone)]
struct Entry {
    value: Arc<[u8]>,
    ttl: Duration,
}

/// Each entry expires `ttl` after it was last written; reads do not extend it.
struct PerEntryTtl;

impl Expiry<String, Entry> for PerEntryTtl {
    fn expire_after_create(&self, _key: &String, entry: &Entry, _at: Instant) -> Option<Duration> {
        Some(entry.ttl)
    }

    fn expire_after_update(
        &self,
        _key: &String,
        entry: &Entry,
        _at: Instant,
        _left: Option<Duration>,
    ) -> Option<Duration> {
        Some(entry.ttl)
    }
}

impl MemoryCache {
    /// A cache holding at most `max_entries` entries.
    pub fn new(max_entries: u64) -> Self {
        Self {
            entries: moka::future::Cache::builder()
                .max_capacity(max_entries)
                .expire_after(PerEntryTtl)
                .build(),
        }
    }

    /// A cache holding at most about `max_bytes` of keys and values.
    pub fn with_max_bytes(max_bytes: u64) -> Self {
        Self {
            entries: moka::future::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|key: &String, entry: &Entry| {
                    u32::try_from(key.len() + entry.value.len()).unwrap_or(u32::MAX)
                })
                .expire_after(PerEntryTtl)
                .build(),
        }
    }

    /// The approximate number of entries (eviction and expiry are applied lazily).
    pub fn entry_count(&self) -> u64 {
        self.entries.entry_count()
    }
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        Ok(self
            .entries
            .get(key)
            .await
            .map(|entry| entry.value.to_vec()))
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        if ttl.is_zero() {
            return Err(CacheError::InvalidTtl(ttl));
        }
        let entry = Entry {
            value: Arc::from(value),
            ttl,
        };
        self.entries.insert(key.to_owned(), entry).await;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.entries.invalidate(key).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::CacheExt;

    #[tokio::test]
    async fn set_get_delete_round_trip() {
        let cache = MemoryCache::new(100);
        assert_eq!(cache.get("k").await.ok().flatten(), None);
        assert!(cache.set("k", b"v1", Duration::from_secs(60)).await.is_ok());
        assert_eq!(cache.get("k").await.ok().flatten(), Some(b"v1".to_vec()));
        assert!(cache.set("k", b"v2", Duration::from_secs(60)).await.is_ok());
        assert_eq!(cache.get("k").await.ok().flatten(), Some(b"v2".to_vec()));
        assert!(cache.delete("k").await.is_ok());
        assert!(cache.delete("k").await.is_ok());
        assert_eq!(cache.get("k").await.ok().flatten(), None);
    }

    #[tokio::test]
    async fn entries_expire_after_their_own_ttl() {
        let cache = MemoryCache::new(100);
        assert!(cache
            .set("short", b"x", Duration::from_millis(30))
            .await
            .is_ok());
        assert!(cache
            .set("long", b"y", Duration::from_secs(60))
            .await
            .is_ok());
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert_eq!(cache.get("short").await.ok().flatten(), None);
        assert_eq!(cache.get("long").await.ok().flatten(), Some(b"y".to_vec()));
    }

    #[tokio::test]
    async fn overwriting_resets_the_ttl() {
        let cache = MemoryCache::with_max_bytes(1024);
        assert!(cache.set("k", b"x", Duration::from_secs(60)).await.is_ok());
        assert!(cache
            .set("k", b"z", Duration::from_millis(30))
            .await
            .is_ok());
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert_eq!(cache.get("k").await.ok().flatten(), None);
    }

    #[tokio::test]
    async fn zero_ttl_is_refused() {
        let cache = MemoryCache::new(100);
        assert!(matches!(
            cache.set("k", b"v", Duration::ZERO).await,
            Err(CacheError::InvalidTtl(_))
        ));
    }

    #[tokio::test]
    async fn json_helpers_round_trip_and_report_bad_data() {
        let cache = MemoryCache::new(100);
        let ttl = Duration::from_secs(60);
        assert!(cache.set_json("n", &vec![1, 2, 3], ttl).await.is_ok());
        assert_eq!(
            cache.get_json::<Vec<u32>>("n").await.ok().flatten(),
            Some(vec![1, 2, 3])
        );
        assert!(cache.set("bad", b"not json", ttl).await.is_ok());
        assert!(matches!(
            cache.get_json::<Vec<u32>>("bad").await,
            Err(CacheError::Decode { .. })
        ));
        assert_eq!(cache.get_json_or_miss::<Vec<u32>>("bad").await, None);
        assert_eq!(cache.get_or_miss("bad").await, Some(b"not json".to_vec()));
    }
}
