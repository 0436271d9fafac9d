//! Statements built by the fuzzer from SQL pieces and literals that carry a marker: whatever
//! the pieces around them (comments, casts, dollar quotes, placeholders, operators), no marker
//! of a literal may survive sanitizing. A stray quote (`'` or `"`) changes which text is a
//! literal at all (`' N'x'` is a string, the identifier `x`, and an unterminated string), so
//! markers after one are not checked; `sql_sanitizer` covers such input for panics and
//! idempotence.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use otelix::{sanitize_query_with, SqlDialect};

#[derive(Debug, Arbitrary)]
enum Piece {
    Keyword(u8),
    Identifier(u8),
    Punctuation(u8),
    Space,
    Placeholder(u8),
    /// A single-quoted string holding the marker (each marker holds its piece's position, and
    /// all have fixed widths, so that none is part of another).
    Text(u16),
    /// A number holding the marker's digits.
    Number(u16),
    /// `E'...'`, `X'...'`, `B'...'`, `N'...'` prefixed strings.
    Prefixed(u8, u16),
    /// A dollar-quoted string (PostgreSQL).
    DollarQuoted(u16),
    /// A double-quoted string (MySQL) or identifier (standard).
    DoubleQuoted(u16),
    LineComment,
    BlockComment,
}

const KEYWORDS: &[&str] = &["SELECT", "FROM", "WHERE", "AND", "OR", "IN", "LIKE", "INSERT INTO", "VALUES", "UPDATE", "SET", "LIMIT", "::text", "CAST(", "AS", ")"];
const IDENTIFIERS: &[&str] = &["members", "t.id", "email", "\"Quoted Name\"", "`tick`", "a_b"];
const PUNCTUATION: &[&str] = &["=", ",", "(", ")", "+", "-", "*", "/", ";", "<>", "||", ".", "'", "\"", "$", "--", "/*", "*/", "\\", "E", "x"];

fuzz_target!(|input: (bool, Vec<Piece>)| {
    let (mysql, pieces) = input;
    let dialect = if mysql { SqlDialect::MySql } else { SqlDialect::Standard };
    let mut sql = String::new();
    let mut markers = Vec::new();
    let mut balanced = true;
    for (n, piece) in pieces.iter().enumerate() {
        match piece {
            Piece::Keyword(k) => sql.push_str(KEYWORDS[usize::from(*k) % KEYWORDS.len()]),
            Piece::Identifier(i) => sql.push_str(IDENTIFIERS[usize::from(*i) % IDENTIFIERS.len()]),
            Piece::Punctuation(p) => {
                let punctuation = PUNCTUATION[usize::from(*p) % PUNCTUATION.len()];
                balanced &= !matches!(punctuation, "'" | "\"");
                sql.push_str(punctuation);
            }
            Piece::Space => sql.push(' '),
            Piece::Placeholder(n) => sql.push_str(&format!("${}", n % 9 + 1)),
            Piece::Text(m) => {
                let marker = format!("zqtext{n:05}x{m:05}");
                sql.push_str(&format!(" '{marker} it''s' "));
                if balanced {
                    markers.push(marker);
                }
            }
            Piece::Number(m) => {
                let marker = format!("7{n:05}0{m:05}3");
                sql.push_str(&format!(" {marker} "));
                if balanced {
                    markers.push(marker);
                }
            }
            Piece::Prefixed(p, m) => {
                let prefix = ["E", "X", "B", "N", "U&"][usize::from(*p) % 5];
                let marker = format!("zqpref{n:05}x{m:05}");
                sql.push_str(&format!(" {prefix}'{marker}' "));
                if balanced {
                    markers.push(marker);
                }
            }
            Piece::DollarQuoted(m) => {
                let marker = format!("zqdollar{n:05}x{m:05}");
                sql.push_str(&format!(" $q${marker}$q$ "));
                if !mysql {
                    if balanced {
                    markers.push(marker);
                }
                }
            }
            Piece::DoubleQuoted(m) => {
                let marker = format!("zqdouble{n:05}x{m:05}");
                sql.push_str(&format!(" \"{marker}\" "));
                if mysql {
                    if balanced {
                    markers.push(marker);
                }
                }
            }
            Piece::LineComment => sql.push_str(" -- zqcomment\n"),
            Piece::BlockComment => sql.push_str(" /* zqcomment */ "),
        }
    }
    let sanitized = sanitize_query_with(&sql, dialect);
    for marker in &markers {
        assert!(
            !sanitized.contains(marker.as_str()),
            "literal {marker} survived:\n  in:  {sql}\n  out: {sanitized}"
        );
    }
});
