//! Checks of user input that serde's types cannot express.

use otelix_actix::ApiError;
use serde::Deserialize;

use crate::calendar;
use crate::errors::bad_request;

/// A member's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum MemberStatus {
    Active,
    Lapsed,
    Cancelled,
}

impl MemberStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Active => "active",
            MemberStatus::Lapsed => "lapsed",
            MemberStatus::Cancelled => "cancelled",
        }
    }
}

/// A member's tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Tier {
    Standard,
    Student,
    Family,
    Lifetime,
}

impl Tier {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Tier::Standard => "standard",
            Tier::Student => "student",
            Tier::Family => "family",
            Tier::Lifetime => "lifetime",
        }
    }
}

/// A trimmed name of 1 to 200 characters without control characters.
pub(crate) fn name<'a>(field: &'static str, value: &'a str) -> Result<&'a str, ApiError> {
    let trimmed = value.trim();
    let count = trimmed.chars().count();
    if count == 0 || count > 200 || trimmed.chars().any(char::is_control) {
        return Err(bad_request(format!(
            "`{field}` must be 1 to 200 characters, without control characters"
        )));
    }
    Ok(trimmed)
}

/// An e-mail address: one `@`, something on both sides, a dot in the domain, at most 254
/// bytes, no spaces.
pub(crate) fn email(value: &str) -> Result<&str, ApiError> {
    let value = value.trim();
    let valid = value.len() <= 254
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        && value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if valid {
        Ok(value)
    } else {
        Err(bad_request("`email` must be an e-mail address"))
    }
}

/// A `YYYY-MM-DD` date as a day number.
pub(crate) fn date(field: &'static str, value: &str) -> Result<i64, ApiError> {
    calendar::parse_day(value)
        .ok_or_else(|| bad_request(format!("`{field}` must be a date as YYYY-MM-DD")))
}

/// `value` within `min..=max`.
pub(crate) fn within<T>(field: &'static str, value: T, min: T, max: T) -> Result<T, ApiError>
where
    T: PartialOrd + std::fmt::Display + Copy,
{
    if value < min || value > max {
        Err(bad_request(format!(
            "`{field}` must be from {min} to {max}"
        )))
    } else {
        Ok(value)
    }
}

/// A text of 1 to `max` characters.
pub(crate) fn text<'a>(
    field: &'static str,
    value: &'a str,
    max: usize,
) -> Result<&'a str, ApiError> {
    let count = value.trim().chars().count();
    if count == 0 || count > max {
        Err(bad_request(format!(
            "`{field}` must be 1 to {max} characters"
        )))
    } else {
        Ok(value.trim())
    }
}

/// A three-letter ISO 4217 currency code, lower-cased.
pub(crate) fn currency(value: &str) -> Result<String, ApiError> {
    let value = value.trim();
    if value.len() == 3 && value.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(bad_request(
            "`currency` must be a three-letter ISO 4217 code, such as usd",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for good in ["a@b.co", "first.last+tag@members.example.org"] {
            assert!(email(good).is_ok(), "{good}");
        }
        for bad in [
            "", "a", "a@b", "@b.co", "a@@b.co", "a b@c.de", "a@.co", "a@b.co.",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_and_ranges() {
        assert_eq!(name("name", "  Ada  ").ok(), Some("Ada"));
        assert!(name("name", " ").is_err());
        assert!(name("name", "a\u{0}b").is_err());
        assert!(name("name", &"x".repeat(201)).is_err());
        assert!(within("limit", 0, 1, 100).is_err());
        assert_eq!(within("limit", 100, 1, 100).ok(), Some(100));
        assert_eq!(currency("EUR").ok().as_deref(), Some("eur"));
        assert!(currency("euro").is_err());
    }
}
