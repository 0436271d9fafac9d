//! Dates as whole days since 1970-01-01 (how the database stores them, the same on SQLite and
//! PostgreSQL) and as `YYYY-MM-DD` text (how the API shows them). The calendar is the `time`
//! crate's; a day number is the Julian day number shifted to start at 1970.

use time::macros::{date, format_description};
use time::{Date, OffsetDateTime};

const EPOCH: Date = date!(1970 - 01 - 01);

/// Days since 1970-01-01 in UTC, today.
pub fn today() -> i64 {
    day_of(OffsetDateTime::now_utc().date())
}

/// Seconds since 1970-01-01, now.
pub fn now_seconds() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// `YYYY-MM-DD` for a day number (proleptic Gregorian calendar). Day numbers beyond the years
/// -9999 to 9999, which no stored date reaches, show as the first or last day of that range.
pub fn format_day(day: i64) -> String {
    date_of(day)
        .unwrap_or(if day < 0 { Date::MIN } else { Date::MAX })
        .to_string()
}

/// The day number of a `YYYY-MM-DD` date from year 1 to 9999, `None` for anything else.
pub fn parse_day(text: &str) -> Option<i64> {
    // The format's `[year]` also takes a sign, and the year 0.
    if text.len() != 10 || !text.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let date = Date::parse(text, format_description!("[year]-[month]-[day]")).ok()?;
    (date.year() >= 1).then(|| day_of(date))
}

fn day_of(date: Date) -> i64 {
    i64::from(date.to_julian_day()) - i64::from(EPOCH.to_julian_day())
}

fn date_of(day: i64) -> Option<Date> {
    let julian_day = day.checked_add(i64::from(EPOCH.to_julian_day()))?;
    Date::from_julian_day(i32::try_from(julian_day).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(format_day(0), "1970-01-01");
        assert_eq!(format_day(-1), "1969-12-31");
        assert_eq!(format_day(11_016), "2000-02-29");
        assert_eq!(format_day(20_454), "2026-01-01");
        assert_eq!(parse_day("2000-02-29"), Some(11_016));
        assert_eq!(parse_day("1970-01-01"), Some(0));
        assert_eq!(parse_day("9999-12-31"), Some(2_932_896));
        assert_eq!(format_day(i64::MAX), "9999-12-31");
        assert_eq!(format_day(i64::MIN), "-9999-01-01");
    }

    #[test]
    fn round_trips_and_rejects_non_dates() {
        for day in (-719_000..2_900_000).step_by(997) {
            assert_eq!(parse_day(&format_day(day)), Some(day), "{day}");
        }
        for bad in [
            "2023-02-29",
            "2023-13-01",
            "2023-00-10",
            "2023-1-01",
            "20230101",
            "+023-01-01",
            "0000-01-01",
            "-999-01-01",
            "2023-02-1x",
            "",
        ] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
    }
}
