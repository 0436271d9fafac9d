use std::time::Duration;

use super::CacheOperation;

/// Why a cache call failed. Messages never contain keys or values: keys may carry user data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// The backend did not answer within the per-operation timeout.
    #[error("cache {operation} did not finish within {timeout:?}")]
    Timeout {
        /// What was attempted.
        operation: CacheOperation,
        /// The limit that ran out.
        timeout: Duration,
    },
    /// Redis refused, failed or could not be reached.
    #[cfg(feature = "redis")]
    #[error("redis {operation} failed: {source}")]
    Redis {
        /// What was attempted.
        operation: CacheOperation,
        /// What the Redis client said.
        source: redis::RedisError,
    },
    /// The Redis URL could not be used.
    #[cfg(feature = "redis")]
    #[error("invalid Redis URL {url}: {source}")]
    InvalidUrl {
        /// The URL as given, with any password replaced by `REDACTED`.
        url: String,
        /// Why the Redis client refused it.
        source: redis::RedisError,
    },
    /// [`RedisCache`](super::RedisCache) was built outside a Tokio runtime, which its
    /// connection needs for reconnecting in the background.
    #[cfg(feature = "redis")]
    #[error("RedisCache must be built inside a Tokio runtime")]
    NoRuntime,
    /// `set` was called with a zero time to live.
    #[error("cache entries need a time to live above zero, got {0:?}")]
    InvalidTtl(Duration),
    /// A value could not be written as JSON.
    #[error("could not encode a {type_name} as JSON: {source}")]
    Encode {
        /// The Rust type of the value.
        type_name: &'static str,
        /// What `serde_json` said.
        source: serde_json::Error,
    },
    /// A cached value is not JSON for the requested type (for example after the type changed).
    #[error("cached value is not JSON for a {type_name}: {source}")]
    Decode {
        /// The Rust type requested.
        type_name: &'static str,
        /// What `serde_json` said.
        source: serde_json::Error,
    },
    /// A custom backend failed.
    #[error("cache {operation} failed: {source}")]
    Backend {
        /// What was attempted.
        operation: CacheOperation,
        /// The backend's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl CacheError {
    /// A failure of a custom [`Cache`](super::Cache) backend.
    pub fn backend(
        operation: CacheOperation,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Backend {
            operation,
            source: source.into(),
        }
    }

    /// A short, bounded class of this error for the `error.type` attribute: `timeout`,
    /// `connection_refused`, `connection_dropped`, `io`, `server`, `response`, `auth`,
    /// `invalid_ttl`, `encode`, `decode`, `config` or `backend`.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Timeout { .. } => "timeout",
            #[cfg(feature = "redis")]
            Self::Redis { source, .. } => redis_error_type(source),
            #[cfg(feature = "redis")]
            Self::InvalidUrl { .. } | Self::NoRuntime => "config",
            Self::InvalidTtl(_) => "invalid_ttl",
            Self::Encode { .. } => "encode",
            Self::Decode { .. } => "decode",
            Self::Backend { .. } => "backend",
        }
    }
}

#[cfg(feature = "redis")]
fn redis_error_type(error: &redis::RedisError) -> &'static str {
    if error.is_timeout() {
        "timeout"
    } else if error.is_connection_refusal() {
        "connection_refused"
    } else if error.is_connection_dropped() {
        "connection_dropped"
    } else if error.is_io_error() {
        "io"
    } else {
        match error.kind() {
            redis::ErrorKind::Server(_) | redis::ErrorKind::Extension => "server",
            redis::ErrorKind::AuthenticationFailed => "auth",
            redis::ErrorKind::Parse | redis::ErrorKind::UnexpectedReturnType => "response",
            redis::ErrorKind::InvalidClientConfig => "config",
            _ => "redis",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_types_are_short_classes() {
        let timeout = CacheError::Timeout {
            operation: CacheOperation::Get,
            timeout: Duration::from_millis(250),
        };
        assert_eq!(timeout.error_type(), "timeout");
        assert_eq!(timeout.to_string(), "cache get did not finish within 250ms");
        assert_eq!(
            CacheError::InvalidTtl(Duration::ZERO).error_type(),
            "invalid_ttl"
        );
        let backend = CacheError::backend(CacheOperation::Delete, "memcached said no");
        assert_eq!(backend.error_type(), "backend");
        assert_eq!(
            backend.to_string(),
            "cache delete failed: memcached said no"
        );
    }

    #[cfg(feature = "redis")]
    #[test]
    fn redis_errors_are_classified_by_kind() {
        let refused =
            redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(redis_error_type(&refused), "connection_refused");
        let timed_out = redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut));
        assert_eq!(redis_error_type(&timed_out), "timeout");
        let parse = redis::RedisError::from((redis::ErrorKind::Parse, "bad reply"));
        assert_eq!(redis_error_type(&parse), "response");
    }
}
