//! URLs printed without their passwords (in `Debug`, errors and the start-up summary).

use url::Url;

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
