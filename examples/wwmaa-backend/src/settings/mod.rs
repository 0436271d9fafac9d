//! The service's own settings, read from the environment and validated the way
//! `otelix::Config` validates its own: an empty variable counts as unset, an invalid value is
//! an error naming the variable and the value (passwords removed), never a silent default.
//!
//! Telemetry settings (`OTEL_*`, `APP_ENV`, `SLOW_QUERY_*`, ...) are otelix's; see
//! `otelix::ENV_VARS`.
//!
//! | File | What |
//! |---|---|
//! | `mod.rs` | [`Settings`]: each variable read with its default, and the accessors |
//! | `table.rs` | [`SETTING_VARS`], the list the example's README table is checked against |
//! | `parse.rs` | reading one variable, and the parsers of the values |
//! | `database.rs` | [`DatabaseUrl`]: SQLite or PostgreSQL |
//! | `api_base.rs` | [`ApiBase`]: where the external calls go, and the sandbox's URL |
//! | `redact.rs` | [`without_password`], for every URL that is printed |
//! | `error.rs` | [`SettingsError`] |

mod api_base;
mod database;
mod error;
mod parse;
mod redact;
mod table;

pub use api_base::{sandbox_base, ApiBase};
pub use database::{DatabaseKind, DatabaseUrl, DEFAULT_DATABASE_URL};
pub use error::SettingsError;
pub use redact::without_password;
pub use table::{SettingVar, SETTING_VARS};

use std::collections::HashMap;
use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use parse::{
    parse_api_base, parse_key_prefix, parse_range, parse_ratio, parse_redis_url, parse_socket_addr,
    to_u32, Env,
};

/// The service's settings. Build with [`Settings::from_env`] or [`Settings::from_vars`].
/// `Debug` shows URLs without their passwords.
#[derive(Clone)]
pub struct Settings {
    bind_addr: SocketAddr,
    database_url: DatabaseUrl,
    database_max_connections: u32,
    database_acquire_timeout: Duration,
    redis_url: Option<String>,
    cache_ttl: Duration,
    cache_key_prefix: String,
    stripe: ApiBase,
    beehiiv: ApiBase,
    cloudflare: ApiBase,
    ai_registry: ApiBase,
    external_timeout: Duration,
    sandbox_latency: Duration,
    sandbox_failure_rate: f64,
    dunning_interval: Duration,
    dunning_batch_size: u32,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let base = |b: &ApiBase| match b {
            ApiBase::Sandbox => "sandbox".to_owned(),
            ApiBase::Url(url) => without_password(url),
        };
        f.debug_struct("Settings")
            .field("bind_addr", &self.bind_addr)
            .field("database_url", &self.database_url)
            .field("database_max_connections", &self.database_max_connections)
            .field("database_acquire_timeout", &self.database_acquire_timeout)
            .field(
                "redis_url",
                &self.redis_url.as_deref().map(without_password),
            )
            .field("cache_ttl", &self.cache_ttl)
            .field("cache_key_prefix", &self.cache_key_prefix)
            .field("stripe", &base(&self.stripe))
            .field("beehiiv", &base(&self.beehiiv))
            .field("cloudflare", &base(&self.cloudflare))
            .field("ai_registry", &base(&self.ai_registry))
            .field("external_timeout", &self.external_timeout)
            .field("sandbox_latency", &self.sandbox_latency)
            .field("sandbox_failure_rate", &self.sandbox_failure_rate)
            .field("dunning_interval", &self.dunning_interval)
            .field("dunning_batch_size", &self.dunning_batch_size)
            .finish()
    }
}

impl Settings {
    /// Reads every setting from the process environment.
    ///
    /// # Errors
    ///
    /// [`SettingsError`] naming the first variable with an invalid value.
    pub fn from_env() -> Result<Settings, SettingsError> {
        Self::resolve(&|name| std::env::var_os(name))
    }

    /// Reads every setting from `vars` instead of the environment (for tests and embedding).
    ///
    /// # Errors
    ///
    /// [`SettingsError`] naming the first variable with an invalid value.
    pub fn from_vars<I, K, V>(vars: I) -> Result<Settings, SettingsError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let vars: HashMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Self::resolve(&|name| vars.get(name).map(OsString::from))
    }

    fn resolve(lookup: &dyn Fn(&str) -> Option<OsString>) -> Result<Settings, SettingsError> {
        let env = Env { lookup };
        Ok(Settings {
            bind_addr: env
                .get("BIND_ADDR", parse_socket_addr)?
                .unwrap_or(SocketAddr::from((Ipv4Addr::LOCALHOST, 8000))),
            database_url: env
                .get_secret("DATABASE_URL", DatabaseUrl::parse)?
                .map_or_else(|| DatabaseUrl::parse(DEFAULT_DATABASE_URL), Ok)
                .map_err(|expected| SettingsError::Invalid {
                    var: "DATABASE_URL",
                    value: DEFAULT_DATABASE_URL.to_owned(),
                    expected,
                })?,
            database_max_connections: env
                .get("DATABASE_MAX_CONNECTIONS", |raw| {
                    parse_range(raw, 1, 1000, "a whole number from 1 to 1000")
                })?
                .map_or(10, to_u32),
            database_acquire_timeout: Duration::from_millis(
                env.get("DATABASE_ACQUIRE_TIMEOUT_MS", |raw| {
                    parse_range(
                        raw,
                        1,
                        600_000,
                        "a whole number of milliseconds from 1 to 600000",
                    )
                })?
                .unwrap_or(5_000),
            ),
            redis_url: env.get_secret("REDIS_URL", parse_redis_url)?,
            cache_ttl: Duration::from_secs(
                env.get("CACHE_TTL_SECONDS", |raw| {
                    parse_range(raw, 1, 86_400, "a whole number of seconds from 1 to 86400")
                })?
                .unwrap_or(300),
            ),
            cache_key_prefix: env
                .get("CACHE_KEY_PREFIX", parse_key_prefix)?
                .unwrap_or_else(|| "wwmaa".to_owned()),
            stripe: env
                .get("STRIPE_API_BASE", parse_api_base)?
                .unwrap_or(ApiBase::Sandbox),
            beehiiv: env
                .get("BEEHIIV_API_BASE", parse_api_base)?
                .unwrap_or(ApiBase::Sandbox),
            cloudflare: env
                .get("CLOUDFLARE_API_BASE", parse_api_base)?
                .unwrap_or(ApiBase::Sandbox),
            ai_registry: env
                .get("AI_REGISTRY_API_BASE", parse_api_base)?
                .unwrap_or(ApiBase::Sandbox),
            external_timeout: Duration::from_millis(
                env.get("EXTERNAL_API_TIMEOUT_MS", |raw| {
                    parse_range(
                        raw,
                        1,
                        600_000,
                        "a whole number of milliseconds from 1 to 600000",
                    )
                })?
                .unwrap_or(5_000),
            ),
            sandbox_latency: Duration::from_millis(
                env.get("SANDBOX_LATENCY_MS", |raw| {
                    parse_range(
                        raw,
                        0,
                        60_000,
                        "a whole number of milliseconds from 0 to 60000",
                    )
                })?
                .unwrap_or(20),
            ),
            sandbox_failure_rate: env.get("SANDBOX_FAILURE_RATE", parse_ratio)?.unwrap_or(0.0),
            dunning_interval: Duration::from_secs(
                env.get("DUNNING_INTERVAL_SECONDS", |raw| {
                    parse_range(raw, 1, 86_400, "a whole number of seconds from 1 to 86400")
                })?
                .unwrap_or(60),
            ),
            dunning_batch_size: env
                .get("DUNNING_BATCH_SIZE", |raw| {
                    parse_range(raw, 1, 1000, "a whole number from 1 to 1000")
                })?
                .map_or(25, to_u32),
        })
    }

    /// Where to listen (`BIND_ADDR`).
    pub fn bind_addr(&self) -> SocketAddr {
        self.bind_addr
    }

    /// The database (`DATABASE_URL`).
    pub fn database_url(&self) -> &DatabaseUrl {
        &self.database_url
    }

    /// The connection pool size (`DATABASE_MAX_CONNECTIONS`).
    pub fn database_max_connections(&self) -> u32 {
        self.database_max_connections
    }

    /// How long a query waits for a connection (`DATABASE_ACQUIRE_TIMEOUT_MS`).
    pub fn database_acquire_timeout(&self) -> Duration {
        self.database_acquire_timeout
    }

    /// The Redis URL with its password (`REDIS_URL`); `None` for the in-process cache.
    pub fn redis_url(&self) -> Option<&str> {
        self.redis_url.as_deref()
    }

    /// How long cached members stay fresh (`CACHE_TTL_SECONDS`).
    pub fn cache_ttl(&self) -> Duration {
        self.cache_ttl
    }

    /// The prefix of every cache key (`CACHE_KEY_PREFIX`).
    pub fn cache_key_prefix(&self) -> &str {
        &self.cache_key_prefix
    }

    /// Where the `stripe` calls go (`STRIPE_API_BASE`).
    pub fn stripe(&self) -> &ApiBase {
        &self.stripe
    }

    /// Where the `beehiiv` calls go (`BEEHIIV_API_BASE`).
    pub fn beehiiv(&self) -> &ApiBase {
        &self.beehiiv
    }

    /// Where the `cloudflare` calls go (`CLOUDFLARE_API_BASE`).
    pub fn cloudflare(&self) -> &ApiBase {
        &self.cloudflare
    }

    /// Where the `ai_registry` calls go (`AI_REGISTRY_API_BASE`).
    pub fn ai_registry(&self) -> &ApiBase {
        &self.ai_registry
    }

    /// Whether any external service is served by the built-in sandbox.
    pub fn uses_sandbox(&self) -> bool {
        [
            &self.stripe,
            &self.beehiiv,
            &self.cloudflare,
            &self.ai_registry,
        ]
        .into_iter()
        .any(|base| *base == ApiBase::Sandbox)
    }

    /// The time allowed for one external call (`EXTERNAL_API_TIMEOUT_MS`).
    pub fn external_timeout(&self) -> Duration {
        self.external_timeout
    }

    /// Mean latency of the sandbox APIs (`SANDBOX_LATENCY_MS`).
    pub fn sandbox_latency(&self) -> Duration {
        self.sandbox_latency
    }

    /// Share of sandbox calls that fail (`SANDBOX_FAILURE_RATE`).
    pub fn sandbox_failure_rate(&self) -> f64 {
        self.sandbox_failure_rate
    }

    /// Pause between two job runs (`DUNNING_INTERVAL_SECONDS`).
    pub fn dunning_interval(&self) -> Duration {
        self.dunning_interval
    }

    /// Members per job batch (`DUNNING_BATCH_SIZE`).
    pub fn dunning_batch_size(&self) -> u32 {
        self.dunning_batch_size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        Settings::from_vars(vars.iter().copied())
    }

    #[test]
    fn defaults_run_offline() -> Result<(), SettingsError> {
        let s = settings(&[])?;
        assert_eq!(s.bind_addr().to_string(), "127.0.0.1:8000");
        assert_eq!(s.database_url().kind(), DatabaseKind::Sqlite);
        assert_eq!(s.database_url().sqlite_path(), Some("./data/wwmaa.db"));
        assert_eq!(s.database_acquire_timeout(), Duration::from_secs(5));
        assert_eq!(s.redis_url(), None);
        assert_eq!(s.stripe(), &ApiBase::Sandbox);
        assert!(s.uses_sandbox());
        assert_eq!(s.sandbox_latency(), Duration::from_millis(20));
        assert_eq!(s.sandbox_failure_rate(), 0.0);
        assert_eq!(s.dunning_interval(), Duration::from_secs(60));
        Ok(())
    }

    #[test]
    fn empty_values_count_as_unset() -> Result<(), SettingsError> {
        let s = settings(&[("BIND_ADDR", ""), ("SANDBOX_FAILURE_RATE", "  ")])?;
        assert_eq!(s.bind_addr().port(), 8000);
        Ok(())
    }

    #[test]
    fn invalid_values_name_the_variable_and_the_value() {
        for (var, value) in [
            ("BIND_ADDR", "localhost"),
            ("DATABASE_URL", "mysql://db/x"),
            ("DATABASE_MAX_CONNECTIONS", "0"),
            ("DATABASE_ACQUIRE_TIMEOUT_MS", "0"),
            ("REDIS_URL", "http://cache"),
            ("CACHE_TTL_SECONDS", "-1"),
            ("CACHE_KEY_PREFIX", "has space"),
            ("STRIPE_API_BASE", "ftp://stripe"),
            ("BEEHIIV_API_BASE", "https://x/?key=1"),
            ("EXTERNAL_API_TIMEOUT_MS", "0"),
            ("SANDBOX_LATENCY_MS", "fast"),
            ("SANDBOX_FAILURE_RATE", "1.5"),
            ("DUNNING_INTERVAL_SECONDS", "0"),
            ("DUNNING_BATCH_SIZE", "100000"),
        ] {
            let error = settings(&[(var, value)]).err();
            let text = error.map(|e| e.to_string()).unwrap_or_default();
            assert!(text.contains(var), "{var}: {text}");
            assert!(text.contains(value), "{var}: {text}");
        }
    }

    #[test]
    fn passwords_never_appear_in_errors_or_display() -> Result<(), SettingsError> {
        let error = settings(&[("DATABASE_URL", "mysql://bob:hunter2@db/x")])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("DATABASE_URL") && !error.contains("hunter2"),
            "{error}"
        );
        let s = settings(&[
            ("DATABASE_URL", "postgres://bob:hunter2@db:5432/wwmaa"),
            ("REDIS_URL", "redis://:hunter2@cache:6379/0"),
            ("STRIPE_API_BASE", "https://key:hunter2@api.stripe.com"),
        ])?;
        assert_eq!(s.database_url().kind(), DatabaseKind::Postgres);
        assert_eq!(s.database_url().display(), "postgres://bob@db:5432/wwmaa");
        assert!(!format!("{s:?}").contains("hunter2"));
        Ok(())
    }

    #[test]
    fn api_bases_lose_their_trailing_slash() -> Result<(), SettingsError> {
        let s = settings(&[("STRIPE_API_BASE", "https://api.stripe.com/")])?;
        match s.stripe() {
            ApiBase::Url(url) => assert_eq!(url, "https://api.stripe.com"),
            ApiBase::Sandbox => panic!("not the sandbox"),
        }
        let s = settings(&[("STRIPE_API_BASE", "https://example.com/stripe/")])?;
        match s.stripe() {
            ApiBase::Url(url) => assert_eq!(url, "https://example.com/stripe"),
            ApiBase::Sandbox => panic!("not the sandbox"),
        }
        Ok(())
    }
}
