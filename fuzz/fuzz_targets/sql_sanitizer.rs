//! The slow-query sanitizer on arbitrary text, in both dialects: no panic, the result is at
//! most `MAX_SANITIZED_LEN` bytes, and sanitizing twice changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otelix::{sanitize_query_with, SqlDialect, MAX_SANITIZED_LEN};

fuzz_target!(|data: &[u8]| {
    let Ok(sql) = std::str::from_utf8(data) else { return };
    for dialect in [SqlDialect::Standard, SqlDialect::MySql] {
        let once = sanitize_query_with(sql, dialect);
        assert!(once.len() <= MAX_SANITIZED_LEN, "{} bytes", once.len());
        let twice = sanitize_query_with(&once, dialect);
        assert_eq!(once, twice, "not idempotent for {sql:?}");
    }
});
