use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{Cache, CacheError, CacheOperation, RemoteCache};

/// A [`Cache`] in Redis, over one multiplexed connection that reconnects by itself.
///
/// Every operation is bounded by a per-operation timeout (default
/// [`RedisCache::DEFAULT_TIMEOUT`], 250 ms): when Redis is down, unreachable or stalled, `get`
/// returns [`CacheError::Timeout`] or [`CacheError::Redis`] within that time, and
/// [`CacheExt::get_or_miss`](super::CacheExt::get_or_miss) turns that into a miss. A refused
/// connection (Redis stopped, its host up) is an error at once: each operation after a lost
/// connection makes one connection attempt, and waits for no retry. Building never connects,
/// so a service starts while Redis is down and uses it once it is back.
///
/// Values are stored as Redis strings with `SET key value PX ttl`.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), otelix::cache::CacheError> {
/// use std::time::Duration;
/// use otelix::cache::{CacheExt, RedisCache};
///
/// let redis = RedisCache::builder("redis://127.0.0.1:6379/0")
///     .with_timeout(Duration::from_millis(100))
///     .build()?;
/// let cached: Option<Vec<u8>> = redis.get_or_miss("member:42").await;
/// # let _ = cached;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisCache {
    connection: ConnectionManager,
    timeout: Duration,
    remote: RemoteCache,
}

impl std::fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCache")
            .field("remote", &self.remote)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Builds a [`RedisCache`].
#[derive(Debug)]
#[must_use]
pub struct RedisCacheBuilder {
    url: String,
    timeout: Duration,
    reconnect_attempts: usize,
}

impl RedisCache {
    /// The per-operation timeout unless [`RedisCacheBuilder::with_timeout`] says otherwise.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(250);

    /// A builder for the Redis at `url` (`redis://[user:password@]host[:port][/db]`,
    /// `rediss://` for TLS when the `redis` crate's TLS feature is on, `redis+unix:///path`).
    pub fn builder(url: impl Into<String>) -> RedisCacheBuilder {
        RedisCacheBuilder {
            url: url.into(),
            timeout: Self::DEFAULT_TIMEOUT,
            reconnect_attempts: 0,
        }
    }

    /// The per-operation timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    async fn bounded<T, F>(&self, operation: CacheOperation, call: F) -> Result<T, CacheError>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(value)) => Ok(value),
            // The client's connection and response timeouts are this same timeout, and may
            // fire first: the same error either way.
            Ok(Err(source)) if !source.is_timeout() => Err(CacheError::Redis { operation, source }),
            Ok(Err(_)) | Err(_) => Err(CacheError::Timeout {
                operation,
                timeout: self.timeout,
            }),
        }
    }
}

impl RedisCacheBuilder {
    /// How long one operation may take, connecting included. Default: 250 ms.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many times a failed connection attempt is retried (with jittered exponential
    /// backoff from 100 ms up to 1 s) before the operation waiting on it fails and the next
    /// operation starts over. Default: 0. Operations wait on these retries, up to their
    /// timeout: with any retry, every operation takes the whole timeout while Redis refuses
    /// connections, instead of failing (and reading as a miss) at once.
    pub fn with_reconnect_attempts(mut self, attempts: usize) -> Self {
        self.reconnect_attempts = attempts;
        self
    }

    /// Builds the cache without connecting; the first operation connects.
    ///
    /// # Errors
    ///
    /// [`CacheError::InvalidUrl`] when the URL is not a Redis URL; [`CacheError::NoRuntime`]
    /// when called outside a Tokio runtime.
    pub fn build(self) -> Result<RedisCache, CacheError> {
        let client =
            redis::Client::open(self.url.as_str()).map_err(|source| CacheError::InvalidUrl {
                url: redact_password(&self.url),
                source,
            })?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(CacheError::NoRuntime);
        }
        let remote = remote_of(client.get_connection_info());
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(self.reconnect_attempts)
            .set_max_delay(Duration::from_secs(1));
        let connection =
            ConnectionManager::new_lazy_with_config(client, config).map_err(|source| {
                CacheError::InvalidUrl {
                    url: redact_password(&self.url),
                    source,
                }
            })?;
        Ok(RedisCache {
            connection,
            timeout: self.timeout,
            remote,
        })
    }
}

fn remote_of(info: &redis::ConnectionInfo) -> RemoteCache {
    let (address, port) = match info.addr() {
        redis::ConnectionAddr::Tcp(host, port) => (host.clone(), Some(*port)),
        redis::ConnectionAddr::TcpTls { host, port, .. } => (host.clone(), Some(*port)),
        #[cfg(unix)]
        redis::ConnectionAddr::Unix(path) => (path.display().to_string(), None),
        _ => (String::from("unknown"), None),
    };
    RemoteCache::new("redis", address, port).with_namespace(info.redis_settings().db().to_string())
}

/// The URL for an error message: never with its password.
fn redact_password(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut parsed) => {
            if parsed.password().is_some() && parsed.set_password(Some("REDACTED")).is_err() {
                return String::from("(unprintable URL)");
            }
            parsed.to_string()
        }
        // Unparsable: it might still hold a secret, so say only how long it was.
        Err(_) => format!("({} characters, not a URL)", raw.len()),
    }
}

#[async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let mut connection = self.connection.clone();
        self.bounded(
            CacheOperation::Get,
            redis::cmd("GET")
                .arg(key)
                .query_async::<Option<Vec<u8>>>(&mut connection),
        )
        .await
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        if ttl.is_zero() {
            return Err(CacheError::InvalidTtl(ttl));
        }
        // PX takes whole milliseconds; a sub-millisecond TTL still has to expire, not fail.
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut connection = self.connection.clone();
        self.bounded(
            CacheOperation::Set,
            redis::cmd("SET")
                .arg(key)
                .arg(value)
                .arg("PX")
                .arg(millis)
                .exec_async(&mut connection),
        )
        .await
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        let mut connection = self.connection.clone();
        self.bounded(
            CacheOperation::Delete,
            redis::cmd("DEL").arg(key).exec_async(&mut connection),
        )
        .await
    }

    fn remote(&self) -> Option<&RemoteCache> {
        Some(&self.remote)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_error_messages() {
        assert_eq!(
            redact_password("redis://user:hunter2@cache.internal:6380/2"),
            "redis://user:REDACTED@cache.internal:6380/2"
        );
        assert_eq!(
            redact_password("redis://cache.internal"),
            "redis://cache.internal"
        );
        assert!(!redact_password("::hunter2::").contains("hunter2"));
    }

    #[test]
    fn building_outside_a_runtime_is_an_error_not_a_panic() {
        assert!(matches!(
            RedisCache::builder("redis://127.0.0.1:1").build(),
            Err(CacheError::NoRuntime)
        ));
        assert!(matches!(
            RedisCache::builder("http://user:hunter2@example.invalid").build(),
            Err(CacheError::InvalidUrl { url, .. }) if !url.contains("hunter2")
        ));
    }

    #[tokio::test]
    async fn remote_attributes_come_from_the_url() {
        let cache = RedisCache::builder("redis://cache.internal:6380/3")
            .build()
            .expect("a Redis cache for a valid URL");
        let remote = cache.remote().cloned();
        assert_eq!(
            remote,
            Some(RemoteCache::new("redis", "cache.internal", Some(6380)).with_namespace("3"))
        );
    }
}
