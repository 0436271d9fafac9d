use std::borrow::Cow;

use percent_encoding::percent_decode_str;

/// What replaces a redacted value.
pub const REDACTED: &str = "REDACTED";

/// Query parameter names whose values are always redacted, compared after lowercasing and
/// dropping `-` and `_` (so `api_key`, `API-Key` and `apikey` are one name). The OpenTelemetry
/// conventions' list for `url.full` (`AWSAccessKeyId`, `Signature`, `sig`, `X-Goog-Signature`)
/// plus the usual credential carriers.
pub const SENSITIVE_QUERY_KEYS: &[&str] = &[
    "token",
    "key",
    "apikey",
    "signature",
    "sig",
    "password",
    "passwd",
    "pwd",
    "secret",
    "clientsecret",
    "auth",
    "authorization",
    "accesstoken",
    "refreshtoken",
    "idtoken",
    "sessiontoken",
    "code",
    "awsaccesskeyid",
    "xamzsignature",
    "xamzcredential",
    "xamzsecuritytoken",
    "xgoogsignature",
    "xgoogcredential",
];

/// Name endings that mark a value as a credential whatever comes before them
/// (`stripe_secret`, `githubToken`, `db_password`, `x-api-key`).
const SENSITIVE_SUFFIXES: &[&str] = &["token", "secret", "password", "signature", "apikey"];

/// `url` as it may be recorded in `url.full`: credentials in the user-info part replaced by
/// `REDACTED` (`https://REDACTED:REDACTED@host/`, as the OpenTelemetry conventions ask), the
/// values of sensitive query parameters (see [`SENSITIVE_QUERY_KEYS`]) replaced by `REDACTED`,
/// and the fragment, which is never sent, dropped. Everything else is kept as written.
///
/// ```
/// use otelix::redact::redact_url;
///
/// let url = url::Url::parse("https://bob:pw@api.example.com/v1/pay?amount=5&api_key=sk_live_1#x")?;
/// assert_eq!(
///     redact_url(&url),
///     "https://REDACTED:REDACTED@api.example.com/v1/pay?amount=5&api_key=REDACTED"
/// );
/// # Ok::<(), url::ParseError>(())
/// ```
pub fn redact_url(url: &url::Url) -> String {
    let mut redacted = url.clone();
    redacted.set_fragment(None);
    if !redacted.username().is_empty() {
        // Fails only for URLs that cannot have credentials, which then have none to hide.
        let _ = redacted.set_username(REDACTED);
    }
    if redacted.password().is_some() {
        let _ = redacted.set_password(Some(REDACTED));
    }
    if let Some(query) = url.query() {
        if let Cow::Owned(query) = redact_query(query) {
            redacted.set_query(Some(&query));
        }
    }
    redacted.to_string()
}

/// The query with the values of sensitive parameters replaced, borrowed when nothing changed.
/// A URL query string (the part after `?`) as it may be recorded in `url.query`: the values of
/// sensitive parameters (see [`SENSITIVE_QUERY_KEYS`]) replaced by `REDACTED`, the rest kept.
/// Borrowed back when nothing is sensitive.
///
/// ```
/// use otelix::redact::redact_query;
///
/// assert_eq!(redact_query("status=active&token=abc"), "status=active&token=REDACTED");
/// assert!(matches!(redact_query("page=2"), std::borrow::Cow::Borrowed(_)));
/// ```
pub fn redact_query(query: &str) -> Cow<'_, str> {
    if !query.split('&').any(is_sensitive_pair) {
        return Cow::Borrowed(query);
    }
    let pairs: Vec<Cow<'_, str>> = query
        .split('&')
        .map(|pair| {
            if is_sensitive_pair(pair) {
                let name = pair.split_once('=').map_or(pair, |(name, _)| name);
                Cow::Owned(format!("{name}={REDACTED}"))
            } else {
                Cow::Borrowed(pair)
            }
        })
        .collect();
    Cow::Owned(pairs.join("&"))
}

fn is_sensitive_pair(pair: &str) -> bool {
    match pair.split_once('=') {
        Some((name, value)) => !value.is_empty() && is_sensitive_key(name),
        None => false,
    }
}

/// Whether the query parameter called `raw_name` (as written in the URL, percent-encoded or
/// not) carries a credential.
pub(crate) fn is_sensitive_key(raw_name: &str) -> bool {
    let decoded = percent_decode_str(&raw_name.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned();
    let normalized: String = decoded
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | ' ' | '.'))
        .flat_map(char::to_lowercase)
        .collect();
    SENSITIVE_QUERY_KEYS.contains(&normalized.as_str())
        || SENSITIVE_SUFFIXES
            .iter()
            .any(|suffix| normalized.ends_with(suffix))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(raw: &str) -> String {
        let url = url::Url::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
        redact_url(&url)
    }

    #[test]
    fn plain_urls_are_unchanged() {
        assert_eq!(
            redact("https://api.stripe.com/v1/charges?limit=10&starting_after=ch_1"),
            "https://api.stripe.com/v1/charges?limit=10&starting_after=ch_1"
        );
        assert_eq!(redact("http://127.0.0.1:8080/"), "http://127.0.0.1:8080/");
    }

    #[test]
    fn listed_query_keys_are_redacted() {
        for key in [
            "token",
            "key",
            "api_key",
            "apiKey",
            "API-KEY",
            "signature",
            "sig",
            "password",
            "secret",
            "X-Amz-Signature",
            "X-Amz-Credential",
            "X-Amz-Security-Token",
            "access_token",
            "AWSAccessKeyId",
            "X-Goog-Signature",
            "client_secret",
            "code",
        ] {
            let got = redact(&format!("https://h.example/p?a=1&{key}=s3cr3t&b=2"));
            assert_eq!(
                got,
                format!("https://h.example/p?a=1&{key}=REDACTED&b=2"),
                "{key}"
            );
        }
    }

    #[test]
    fn credential_suffixes_are_redacted() {
        for key in ["stripe_secret", "githubToken", "db_password", "x-api-key"] {
            assert!(is_sensitive_key(key), "{key}");
        }
        for key in ["monkey", "keyboard", "sort", "page", "tokens_used", "q"] {
            assert!(!is_sensitive_key(key), "{key}");
        }
    }

    #[test]
    fn percent_encoded_keys_are_recognised() {
        assert_eq!(
            redact("https://h.example/?api%5Fkey=abc&x=1"),
            "https://h.example/?api%5Fkey=REDACTED&x=1"
        );
        assert_eq!(
            redact("https://h.example/?access+token=abc"),
            "https://h.example/?access+token=REDACTED"
        );
    }

    #[test]
    fn repeated_and_odd_parameters() {
        assert_eq!(
            redact("https://h.example/?token=a&token=b&flag&=x&&sig="),
            "https://h.example/?token=REDACTED&token=REDACTED&flag&=x&&sig="
        );
        // A value holding `=` is redacted whole.
        assert_eq!(
            redact("https://h.example/?signature=a=b=c&ok=1"),
            "https://h.example/?signature=REDACTED&ok=1"
        );
    }

    #[test]
    fn userinfo_is_redacted_and_fragment_dropped() {
        assert_eq!(
            redact("https://user:pass@h.example/p#frag"),
            "https://REDACTED:REDACTED@h.example/p"
        );
        assert_eq!(
            redact("https://user@h.example/p"),
            "https://REDACTED@h.example/p"
        );
        assert_eq!(
            redact("https://:pass@h.example/"),
            "https://:REDACTED@h.example/"
        );
    }

    #[test]
    fn secrets_never_survive() {
        let got = redact(
            "https://u:hunter2@h.example/cb?code=hunter2&state=ok&X-Amz-Signature=hunter2#hunter2",
        );
        assert!(!got.contains("hunter2"), "{got}");
        assert!(got.contains("state=ok"), "{got}");
    }
}
