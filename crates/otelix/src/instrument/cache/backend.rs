use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::CacheError;

/// One kind of cache operation: the `cache.operation` attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CacheOperation {
    /// A read: [`Cache::get`].
    Get,
    /// A write with expiry: [`Cache::set`].
    Set,
    /// A removal: [`Cache::delete`].
    Delete,
}

impl CacheOperation {
    /// `get`, `set` or `delete`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Set => "set",
            Self::Delete => "delete",
        }
    }
}

impl fmt::Display for CacheOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An async key-value cache of bytes with per-entry expiry.
///
/// Backends know nothing of telemetry: wrap one in [`InstrumentedCache`](super::InstrumentedCache)
/// to count requests, time them and, for a backend that reports [`Cache::remote`], open CLIENT
/// spans. The trait is object safe, so `Arc<dyn Cache>` picks a backend at run time; typed JSON
/// access comes from [`CacheExt`].
#[async_trait]
pub trait Cache: Send + Sync {
    /// The value stored under `key`, or `None` when there is none or it has expired.
    ///
    /// # Errors
    ///
    /// [`CacheError`] when the backend fails or does not answer in time.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError>;

    /// Stores `value` under `key` for `ttl`, replacing any earlier value and its expiry.
    ///
    /// # Errors
    ///
    /// [`CacheError::InvalidTtl`] for a zero `ttl`; otherwise as [`Cache::get`].
    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError>;

    /// Removes `key`; removing a key that is not there succeeds.
    ///
    /// # Errors
    ///
    /// As [`Cache::get`].
    async fn delete(&self, key: &str) -> Result<(), CacheError>;

    /// Where an out-of-process backend lives, for its CLIENT spans. `None` (the default) for
    /// in-process backends, whose operations are too cheap to deserve a span.
    fn remote(&self) -> Option<&RemoteCache> {
        None
    }
}

#[async_trait]
impl<C: Cache + ?Sized> Cache for Arc<C> {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        (**self).get(key).await
    }
    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        (**self).set(key, value, ttl).await
    }
    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        (**self).delete(key).await
    }
    fn remote(&self) -> Option<&RemoteCache> {
        (**self).remote()
    }
}

#[async_trait]
impl<C: Cache + ?Sized> Cache for Box<C> {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        (**self).get(key).await
    }
    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        (**self).set(key, value, ttl).await
    }
    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        (**self).delete(key).await
    }
    fn remote(&self) -> Option<&RemoteCache> {
        (**self).remote()
    }
}

/// Typed and forgiving access on top of any [`Cache`].
///
/// Decoding failures are not cache failures: the backend answered, so the request has already
/// been counted as a hit; the JSON helpers report them as [`CacheError::Decode`].
#[async_trait]
pub trait CacheExt: Cache {
    /// The value under `key` decoded from JSON.
    ///
    /// # Errors
    ///
    /// As [`Cache::get`], and [`CacheError::Decode`] when the stored bytes are not JSON for `T`.
    async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, CacheError> {
        match self.get(key).await? {
            None => Ok(None),
            Some(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|source| CacheError::Decode {
                        type_name: std::any::type_name::<T>(),
                        source,
                    })
            }
        }
    }

    /// Stores `value` as JSON under `key` for `ttl`.
    ///
    /// # Errors
    ///
    /// [`CacheError::Encode`] when `value` cannot be written as JSON; otherwise as [`Cache::set`].
    async fn set_json<T: Serialize + Sync + ?Sized>(
        &self,
        key: &str,
        value: &T,
        ttl: Duration,
    ) -> Result<(), CacheError> {
        let bytes = serde_json::to_vec(value).map_err(|source| CacheError::Encode {
            type_name: std::any::type_name::<T>(),
            source,
        })?;
        self.set(key, &bytes, ttl).await
    }

    /// [`Cache::get`] with every failure read as a miss: for callers that fall back to the source
    /// of truth anyway. The failure is still counted (as `cache.result = error`) by an
    /// [`InstrumentedCache`](super::InstrumentedCache).
    async fn get_or_miss(&self, key: &str) -> Option<Vec<u8>> {
        self.get(key).await.ok().flatten()
    }

    /// [`CacheExt::get_json`] with every failure, including undecodable data, read as a miss.
    async fn get_json_or_miss<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.get_json(key).await.ok().flatten()
    }
}

impl<C: Cache + ?Sized> CacheExt for C {}

/// Where an out-of-process cache lives: the attributes of its CLIENT spans.
///
/// Follows the database client conventions: `db.system.name`, `server.address`, `server.port`,
/// `db.namespace`, and `db.operation.name` per [`CacheOperation`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteCache {
    system_name: Cow<'static, str>,
    server_address: String,
    server_port: Option<u16>,
    namespace: Option<String>,
    operation_names: [Cow<'static, str>; 3],
}

impl RemoteCache {
    /// A backend of `system_name` (a `db.system.name` value such as `redis` or `memcached`) at
    /// `server_address`, with operation names `GET`, `SET` and `DEL` until
    /// [`RemoteCache::with_operation_name`] says otherwise.
    pub fn new(
        system_name: impl Into<Cow<'static, str>>,
        server_address: impl Into<String>,
        server_port: Option<u16>,
    ) -> Self {
        Self {
            system_name: system_name.into(),
            server_address: server_address.into(),
            server_port,
            namespace: None,
            operation_names: [
                Cow::Borrowed("GET"),
                Cow::Borrowed("SET"),
                Cow::Borrowed("DEL"),
            ],
        }
    }

    /// The `db.namespace` attribute (for Redis, the database index). Default: none.
    pub fn with_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// The `db.operation.name` (and span name) for `operation`: the backend's own command name.
    pub fn with_operation_name(
        mut self,
        operation: CacheOperation,
        name: impl Into<Cow<'static, str>>,
    ) -> Self {
        self.operation_names[Self::index(operation)] = name.into();
        self
    }

    /// The `db.system.name` value.
    pub fn system_name(&self) -> &str {
        &self.system_name
    }

    /// The `server.address` value: host name, IP address or socket path.
    pub fn server_address(&self) -> &str {
        &self.server_address
    }

    /// The `server.port` value, when there is one.
    pub fn server_port(&self) -> Option<u16> {
        self.server_port
    }

    /// The `db.namespace` value, when there is one.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// The `db.operation.name` value for `operation`.
    pub fn operation_name(&self, operation: CacheOperation) -> &str {
        &self.operation_names[Self::index(operation)]
    }

    const fn index(operation: CacheOperation) -> usize {
        match operation {
            CacheOperation::Get => 0,
            CacheOperation::Set => 1,
            CacheOperation::Delete => 2,
        }
    }
}
