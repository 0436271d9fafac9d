//! The service's own settings, read from the environment and validated the way
//! `otelix::Config` validates its own: an empty variable counts as unset, an invalid value is
//! an error naming the variable and the value (passwords removed), never a silent default.
//!
//! Telemetry settings (`OTEL_*`, `APP_ENV`, `SLOW_QUERY_*`, ...) are otelix's; see
//! `otelix::ENV_VARS`.

use std::collections::HashMap;
use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use url::Url;

/// Why the settings could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// A variable holds a value that cannot be used.
    #[error("invalid value {value:?} for environment variable {var}: expected {expected}")]
    Invalid {
        /// The variable's name.
        var: &'static str,
        /// The value found, with any password removed.
        value: String,
        /// What would have been accepted.
        expected: &'static str,
    },
    /// A variable is set but is not valid Unicode.
    #[error("environment variable {var} is not valid UTF-8")]
    NotUnicode {
        /// The variable's name.
        var: &'static str,
    },
}

/// One variable the service reads, for its README table (otelix's own are `otelix::ENV_VARS`,
/// which also name a builder method: the service has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettingVar {
    /// The variable's name.
    pub name: &'static str,
    /// The default, as text.
    pub default: &'static str,
    /// What it controls.
    pub meaning: &'static str,
}

/// Every variable [`Settings::from_env`] reads (besides otelix's own). The example's README
/// table is checked against this list by a test.
pub const SETTING_VARS: &[SettingVar] = &[
    SettingVar { name: "BIND_ADDR", default: "127.0.0.1:8000", meaning: "IP address and port to listen on; port 0 picks a free port" },
    SettingVar { name: "DATABASE_URL", default: "sqlite://./data/wwmaa.db", meaning: "sqlite://PATH (file and directory created) or postgres://USER[:PASSWORD]@HOST[:PORT]/DB" },
    SettingVar { name: "DATABASE_MAX_CONNECTIONS", default: "10", meaning: "size of the database connection pool, 1 to 1000" },
    SettingVar { name: "DATABASE_ACQUIRE_TIMEOUT_MS", default: "5000", meaning: "time a query waits for a database connection (a free one, or a new one while the database is unreachable) before the request fails with 503, 1 to 600000 ms" },
    SettingVar { name: "REDIS_URL", default: "(none: in-process cache)", meaning: "redis://[USER:PASSWORD@]HOST[:PORT][/DB] (or rediss://) to cache members in Redis" },
    SettingVar { name: "CACHE_TTL_SECONDS", default: "300", meaning: "how long a cached member stays fresh, 1 to 86400" },
    SettingVar { name: "CACHE_KEY_PREFIX", default: "wwmaa", meaning: "prefix of every cache key (letters, digits, - _ . :), so services can share a Redis" },
    SettingVar { name: "STRIPE_API_BASE", default: "http://BIND_ADDR/sandbox/stripe", meaning: "base URL of the payments API (service stripe)" },
    SettingVar { name: "BEEHIIV_API_BASE", default: "http://BIND_ADDR/sandbox/beehiiv", meaning: "base URL of the newsletter API (service beehiiv)" },
    SettingVar { name: "CLOUDFLARE_API_BASE", default: "http://BIND_ADDR/sandbox/cloudflare", meaning: "base URL of the video API (service cloudflare)" },
    SettingVar { name: "AI_REGISTRY_API_BASE", default: "http://BIND_ADDR/sandbox/ai", meaning: "base URL of the classification API (service ai_registry)" },
    SettingVar { name: "EXTERNAL_API_TIMEOUT_MS", default: "5000", meaning: "time allowed for one call to an external API, 1 to 600000 ms" },
    SettingVar { name: "SANDBOX_LATENCY_MS", default: "20", meaning: "mean latency of the built-in sandbox APIs (each answer takes 50% to 150% of it), 0 to 60000" },
    SettingVar { name: "SANDBOX_FAILURE_RATE", default: "0.0", meaning: "share of sandbox API calls answered with 503, 0 to 1" },
    SettingVar { name: "DUNNING_INTERVAL_SECONDS", default: "60", meaning: "pause between two runs of the dunning_reminder job (the first runs at start-up), 1 to 86400" },
    SettingVar { name: "DUNNING_BATCH_SIZE", default: "25", meaning: "overdue members fetched per batch by the job (at most 10 batches a run), 1 to 1000" },
];

/// The default SQLite database, relative to the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/wwmaa.db";

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    /// SQLite, in a file or in memory.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// A validated database URL.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    url: String,
    kind: DatabaseKind,
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("DatabaseUrl").field(&self.display()).finish()
    }
}

impl DatabaseUrl {
    /// Parses `raw`: `sqlite:` URLs and `postgres://` or `postgresql://` URLs with a host.
    ///
    /// # Errors
    ///
    /// The accepted forms, when `raw` is neither.
    pub fn parse(raw: &str) -> Result<DatabaseUrl, &'static str> {
        const EXPECTED: &str =
            "sqlite://PATH, sqlite::memory: or postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE";
        let raw = raw.trim();
        if let Some(rest) = raw.strip_prefix("sqlite:") {
            let path = rest.trim_start_matches("//");
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() || path.contains('\0') {
                return Err(EXPECTED);
            }
            return Ok(DatabaseUrl {
                url: raw.to_owned(),
                kind: DatabaseKind::Sqlite,
            });
        }
        let url = Url::parse(raw).map_err(|_| EXPECTED)?;
        match url.scheme() {
            "postgres" | "postgresql" if url.host_str().is_some_and(|h| !h.is_empty()) => {
                Ok(DatabaseUrl {
                    url: raw.to_owned(),
                    kind: DatabaseKind::Postgres,
                })
            }
            _ => Err(EXPECTED),
        }
    }

    /// The URL as given, with its password: for connecting only, never for printing.
    pub fn as_secret_str(&self) -> &str {
        &self.url
    }

    /// SQLite or PostgreSQL.
    pub fn kind(&self) -> DatabaseKind {
        self.kind
    }

    /// The SQLite file, when this is a SQLite URL that names one (not `:memory:`).
    pub fn sqlite_path(&self) -> Option<&str> {
        let rest = self.url.strip_prefix("sqlite:")?;
        let path = rest.trim_start_matches("//");
        let path = path.split('?').next().unwrap_or_default();
        (path != ":memory:" && !path.is_empty()).then_some(path)
    }

    /// Whether this is an in-memory SQLite database (one connection, gone at exit).
    pub fn is_memory(&self) -> bool {
        self.kind == DatabaseKind::Sqlite && self.sqlite_path().is_none()
    }

    /// The URL for printing: the password removed.
    pub fn display(&self) -> String {
        match self.kind {
            DatabaseKind::Sqlite => self.url.clone(),
            DatabaseKind::Postgres => without_password(&self.url),
        }
    }
}

/// Where the calls to one external service go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiBase {
    /// The sandbox served by this process, under `/sandbox/{name}`.
    Sandbox,
    /// A real (or other) API at this base URL, without a trailing slash.
    Url(String),
}

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

/// The sandbox's base URL for a server listening on `addr`, without a trailing slash: a
/// wildcard address (`0.0.0.0`, `::`) is reached through the loopback address of its family.
pub fn sandbox_base(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/sandbox", SocketAddr::new(ip, addr.port()))
}

/// `raw` with the password of its user-info part removed, when it parses as a URL.
pub fn without_password(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(None);
            url.to_string()
        }
        Ok(_) => raw.to_owned(),
        // Unparseable: keep what surely is not a password (the scheme).
        Err(_) => raw.split_once("://").map_or_else(
            || "(unparseable URL)".to_owned(),
            |(scheme, _)| format!("{scheme}://…"),
        ),
    }
}

struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<OsString>,
}

impl Env<'_> {
    fn raw(&self, var: &'static str) -> Result<Option<String>, SettingsError> {
        match (self.lookup)(var) {
            None => Ok(None),
            Some(value) => {
                let value = value
                    .into_string()
                    .map_err(|_| SettingsError::NotUnicode { var })?;
                Ok(Some(value).filter(|v| !v.trim().is_empty()))
            }
        }
    }

    fn get<T>(
        &self,
        var: &'static str,
        parse: impl Fn(&str) -> Result<T, &'static str>,
    ) -> Result<Option<T>, SettingsError> {
        self.raw(var)?
            .map(|raw| {
                parse(&raw).map_err(|expected| SettingsError::Invalid {
                    var,
                    value: raw.clone(),
                    expected,
                })
            })
            .transpose()
    }

    /// As [`Env::get`], for URLs that may carry a password: the error shows it removed.
    fn get_secret<T>(
        &self,
        var: &'static str,
        parse: impl Fn(&str) -> Result<T, &'static str>,
    ) -> Result<Option<T>, SettingsError> {
        self.raw(var)?
            .map(|raw| {
                parse(&raw).map_err(|expected| SettingsError::Invalid {
                    var,
                    value: without_password(&raw),
                    expected,
                })
            })
            .transpose()
    }
}

fn to_u32(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

fn parse_range(raw: &str, min: u64, max: u64, expected: &'static str) -> Result<u64, &'static str> {
    match raw.trim().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(expected),
    }
}

fn parse_ratio(raw: &str) -> Result<f64, &'static str> {
    match raw.trim().parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err("a number from 0 to 1, such as 0.1"),
    }
}

fn parse_socket_addr(raw: &str) -> Result<SocketAddr, &'static str> {
    raw.trim()
        .parse()
        .map_err(|_| "an IP address and port, such as 127.0.0.1:8000 or [::]:8000")
}

fn parse_redis_url(raw: &str) -> Result<String, &'static str> {
    const EXPECTED: &str =
        "redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... or redis+unix:///PATH";
    let url = Url::parse(raw.trim()).map_err(|_| EXPECTED)?;
    let ok = match url.scheme() {
        "redis" | "rediss" => url.host_str().is_some_and(|h| !h.is_empty()),
        "redis+unix" | "unix" => !url.path().is_empty(),
        _ => false,
    };
    if ok {
        Ok(raw.trim().to_owned())
    } else {
        Err(EXPECTED)
    }
}

fn parse_key_prefix(raw: &str) -> Result<String, &'static str> {
    let raw = raw.trim();
    let ok = raw.len() <= 64
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    if ok {
        Ok(raw.to_owned())
    } else {
        Err("up to 64 letters, digits and - _ . :")
    }
}

fn parse_api_base(raw: &str) -> Result<ApiBase, &'static str> {
    const EXPECTED: &str =
        "an http:// or https:// URL with a host and no query, such as https://api.stripe.com";
    let url = Url::parse(raw.trim()).map_err(|_| EXPECTED)?;
    let ok = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some_and(|h| !h.is_empty())
        && url.query().is_none()
        && url.fragment().is_none();
    if !ok {
        return Err(EXPECTED);
    }
    Ok(ApiBase::Url(raw.trim().trim_end_matches('/').to_owned()))
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

    #[test]
    fn sandbox_base_follows_the_bound_address() {
        let base = |addr: &str| addr.parse().map(sandbox_base);
        assert_eq!(
            base("0.0.0.0:8000").ok().as_deref(),
            Some("http://127.0.0.1:8000/sandbox")
        );
        assert_eq!(
            base("[::]:9000").ok().as_deref(),
            Some("http://[::1]:9000/sandbox")
        );
        assert_eq!(
            base("10.1.2.3:80").ok().as_deref(),
            Some("http://10.1.2.3:80/sandbox")
        );
    }

    #[test]
    fn readme_table_lists_every_variable() {
        let readme = include_str!("../README.md");
        for var in SETTING_VARS {
            let row = format!("| `{}` | {} | {} |", var.name, var.default, var.meaning);
            assert!(
                readme.contains(&row),
                "README.md lacks or differs for:\n{row}"
            );
        }
        let rows = readme
            .lines()
            .skip_while(|l| !l.starts_with("| Variable | Default | Meaning |"))
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .count();
        assert_eq!(
            rows,
            SETTING_VARS.len(),
            "README.md lists a variable the code does not read"
        );
    }

    #[test]
    fn sqlite_urls() -> Result<(), &'static str> {
        let memory = DatabaseUrl::parse("sqlite::memory:")?;
        assert!(memory.is_memory());
        let file = DatabaseUrl::parse("sqlite:///tmp/x.db?mode=rwc")?;
        assert_eq!(file.sqlite_path(), Some("/tmp/x.db"));
        assert!(DatabaseUrl::parse("sqlite:").is_err());
        Ok(())
    }
}
