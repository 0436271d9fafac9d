//! The list of the service's variables, from which the example's README table is checked.

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

/// Every variable [`Settings::from_env`](super::Settings::from_env) reads (besides otelix's
/// own). The example's README table is checked against this list by a test.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readme_table_lists_every_variable() {
        let readme = include_str!("../../README.md");
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
}
