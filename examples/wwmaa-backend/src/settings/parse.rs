//! Reading one variable (an empty value counts as unset; an invalid one is an error naming
//! it) and the parsers of the values the settings take.

use std::ffi::OsString;
use std::net::SocketAddr;

use url::Url;

use super::{without_password, ApiBase, SettingsError};

pub(super) struct Env<'a> {
    pub(super) lookup: &'a dyn Fn(&str) -> Option<OsString>,
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

    pub(super) fn get<T>(
        &self,
        var: &'static str,
        parse: impl Fn(&str) -> Result<T, &'static str>,
    ) -> Result<Option<T>, SettingsError> {
        self.get_shown(var, parse, str::to_owned)
    }

    /// As [`Env::get`], for URLs that may carry a password: the error shows it removed.
    pub(super) fn get_secret<T>(
        &self,
        var: &'static str,
        parse: impl Fn(&str) -> Result<T, &'static str>,
    ) -> Result<Option<T>, SettingsError> {
        self.get_shown(var, parse, without_password)
    }

    /// The parsed value of `var`; an invalid one is an error showing the value as `show` writes
    /// it.
    fn get_shown<T>(
        &self,
        var: &'static str,
        parse: impl Fn(&str) -> Result<T, &'static str>,
        show: impl Fn(&str) -> String,
    ) -> Result<Option<T>, SettingsError> {
        self.raw(var)?
            .map(|raw| {
                parse(&raw).map_err(|expected| SettingsError::Invalid {
                    var,
                    value: show(&raw),
                    expected,
                })
            })
            .transpose()
    }
}

pub(super) fn to_u32(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

pub(super) fn parse_range(
    raw: &str,
    min: u64,
    max: u64,
    expected: &'static str,
) -> Result<u64, &'static str> {
    match raw.trim().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(expected),
    }
}

pub(super) fn parse_ratio(raw: &str) -> Result<f64, &'static str> {
    match raw.trim().parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err("a number from 0 to 1, such as 0.1"),
    }
}

pub(super) fn parse_socket_addr(raw: &str) -> Result<SocketAddr, &'static str> {
    raw.trim()
        .parse()
        .map_err(|_| "an IP address and port, such as 127.0.0.1:8000 or [::]:8000")
}

pub(super) fn parse_redis_url(raw: &str) -> Result<String, &'static str> {
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

pub(super) fn parse_key_prefix(raw: &str) -> Result<String, &'static str> {
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

pub(super) fn parse_api_base(raw: &str) -> Result<ApiBase, &'static str> {
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
