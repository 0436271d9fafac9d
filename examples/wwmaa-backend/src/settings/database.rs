//! `DATABASE_URL`: which database, and the URL with and without its password.

use url::Url;

use super::without_password;

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

#[cfg(test)]
mod tests {
    use super::*;

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
