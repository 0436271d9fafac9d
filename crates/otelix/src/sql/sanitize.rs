//! The statement sanitizer: a single-pass byte lexer that replaces literals with `?`.
//!
//! Why a hand-written lexer and not a regex: it runs on every database span that reaches the
//! worker, it must never be fooled by quotes inside comments or comments inside quotes, and it
//! must not allocate when the statement is already clean (the common case for `sqlx`, whose
//! statements carry placeholders, not values).
//!
//! Safety rule: when the lexer is unsure, it redacts more, never less. Everything after an
//! unterminated string is one `?`; comments are dropped whole.

use std::borrow::Cow;

/// The longest sanitized statement, in bytes, including the ` …` that marks a cut.
///
/// A longer statement is cut after its last whole token that fits and ends in ` …` (a space
/// and U+2026). Cutting between tokens keeps the cut idempotent and never leaves half a
/// quoted identifier behind.
pub const MAX_SANITIZED_LEN: usize = 2048;

const CUT_MARK: &str = " \u{2026}";

/// The lexical rules [`sanitize_query_with`] follows.
///
/// The rules differ in ways that matter for redaction: in MySQL `"..."` is a string and a
/// backslash escapes a quote, elsewhere `"..."` is an identifier and a backslash is an ordinary
/// character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SqlDialect {
    /// Standard SQL as PostgreSQL, SQLite, SQL Server and Oracle read it: `'...'` strings with
    /// `''` escapes, `E'...'` strings with backslash escapes, `$tag$...$tag$` dollar quoting,
    /// `"..."` identifiers, nested `/* */` comments.
    #[default]
    Standard,
    /// MySQL and MariaDB: `'...'` and `"..."` are strings with backslash and doubled-quote
    /// escapes, `#` starts a line comment, `$` is an identifier character, `/* */` does not
    /// nest.
    MySql,
}

impl SqlDialect {
    /// The dialect for a `db.system.name` (or legacy `db.system`) value: `mysql`, `mariadb`
    /// and `tidb` read as [`SqlDialect::MySql`], everything else as [`SqlDialect::Standard`].
    ///
    /// ```
    /// # use otelix::SqlDialect;
    /// assert_eq!(SqlDialect::from_db_system("mariadb"), SqlDialect::MySql);
    /// assert_eq!(SqlDialect::from_db_system("postgresql"), SqlDialect::Standard);
    /// ```
    pub fn from_db_system(db_system: &str) -> Self {
        if ["mysql", "mariadb", "tidb"]
            .iter()
            .any(|name| db_system.eq_ignore_ascii_case(name))
        {
            SqlDialect::MySql
        } else {
            SqlDialect::Standard
        }
    }
}

/// Replaces the literals in a SQL statement with `?`, following the standard (PostgreSQL)
/// lexical rules; see [`sanitize_query_with`] for what changes and what stays.
///
/// ```
/// # use otelix::sanitize_query;
/// assert_eq!(
///     sanitize_query("SELECT * FROM members WHERE email = 'a@b.c' AND id IN (1, 2, 3) -- hi"),
///     "SELECT * FROM members WHERE email = ? AND id IN (?)"
/// );
/// // Already clean: borrowed back, no allocation.
/// assert!(matches!(sanitize_query("SELECT name FROM t1 WHERE id = $1"),
///                  std::borrow::Cow::Borrowed(_)));
/// ```
pub fn sanitize_query(sql: &str) -> Cow<'_, str> {
    sanitize_query_with(sql, SqlDialect::Standard)
}

/// Replaces the literals in a SQL statement with `?`, following `dialect`'s lexical rules.
///
/// - String literals (`'...'`, `E'...'`, `N'...'`, `X'...'`, `B'...'`, `U&'...'`,
///   `$tag$...$tag$`; in MySQL also `"..."`) and numeric literals (`42`, `3.14`, `.5`, `1e-3`,
///   `0xFF`, `0b101`, `1_000`) become `?`.
/// - A list of literals and placeholders after `IN` collapses to `IN (?)`, so statements that
///   differ only in list length read the same.
/// - Comments (`--`, `/* */`, and `#` in MySQL) are dropped; every run of whitespace and
///   comments becomes one space; leading and trailing whitespace goes.
/// - Identifiers (`t1.col2`, `"Quoted"`, `` `quoted` ``), keywords, operators and placeholders
///   (`?`, `?1`, `$1`, `:name`, `@p1`, `@@var`) are kept as written.
/// - An unterminated string turns everything after its opening quote into one `?`; an
///   unterminated comment is dropped; an unterminated quoted identifier is kept.
/// - The result is at most [`MAX_SANITIZED_LEN`] bytes; a longer one is cut and ends in `…`.
///
/// No literal of the input survives in the output, and `sanitize(sanitize(x)) ==
/// sanitize(x)`. The input is borrowed back when nothing had to change.
pub fn sanitize_query_with(sql: &str, dialect: SqlDialect) -> Cow<'_, str> {
    Lexer {
        src: sql.as_bytes(),
        dialect,
        out: Output::new(sql),
    }
    .run()
}

struct Lexer<'a> {
    src: &'a [u8],
    dialect: SqlDialect,
    out: Output<'a>,
}

impl<'a> Lexer<'a> {
    fn run(mut self) -> Cow<'a, str> {
        let mut i = 0;
        let mut pending_space = false;
        while i < self.src.len() {
            let c = at(self.src, i);
            // The common bytes first, without the general dispatch.
            if is_space(c) {
                i += 1;
                while is_space(at(self.src, i)) {
                    i += 1;
                }
                pending_space = true;
                continue;
            }
            let simple_end = if is_simple_symbol(c) {
                Some(i + 1)
            } else if is_plain_word_start(c) && !matches!(at(self.src, i + 1), b'\'' | b'&') {
                let end = word_end(self.src, i);
                (end - i != 2
                    || !self
                        .src
                        .get(i..end)
                        .unwrap_or_default()
                        .eq_ignore_ascii_case(b"in"))
                .then_some(end)
            } else {
                None
            };
            if simple_end.is_none() {
                if let Some(next) = self.skip_trivia(i) {
                    i = next;
                    pending_space = true;
                    continue;
                }
            }
            let before = self.out.len();
            if pending_space && before > 0 {
                self.out.push_space();
            }
            pending_space = false;
            i = match simple_end {
                Some(end) => {
                    self.out.keep(i, end);
                    end
                }
                None => self.token(i),
            };
            if self.out.len() > MAX_SANITIZED_LEN - CUT_MARK.len() {
                self.out.truncate(before);
                return self.out.finish_cut();
            }
        }
        self.out.finish()
    }

    /// If whitespace or a comment starts at `i`, where it ends.
    fn skip_trivia(&self, i: usize) -> Option<usize> {
        let src = self.src;
        let c = at(src, i);
        if is_space(c) {
            let mut j = i + 1;
            while j < src.len() && is_space(at(src, j)) {
                j += 1;
            }
            return Some(j);
        }
        let line_comment = (c == b'-' && at(src, i + 1) == b'-')
            || (c == b'#' && self.dialect == SqlDialect::MySql);
        if line_comment {
            // The newline itself is whitespace: the next call consumes it.
            let rest = src.get(i..).unwrap_or_default();
            return Some(
                rest.iter()
                    .position(|&b| b == b'\n')
                    .map_or(src.len(), |p| i + p),
            );
        }
        if c == b'/' && at(src, i + 1) == b'*' {
            return Some(self.block_comment_end(i));
        }
        None
    }

    fn block_comment_end(&self, start: usize) -> usize {
        let src = self.src;
        let nested = self.dialect == SqlDialect::Standard;
        let mut depth = 1usize;
        let mut j = start + 2;
        while j + 1 < src.len() {
            match (at(src, j), at(src, j + 1)) {
                (b'*', b'/') => {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        return j;
                    }
                }
                (b'/', b'*') if nested => {
                    depth += 1;
                    j += 2;
                }
                _ => j += 1,
            }
        }
        src.len()
    }

    /// Emits the token that starts at `i`; returns where it ends.
    fn token(&mut self, i: usize) -> usize {
        if let Some(end) = self.literal(i) {
            self.out.push("?");
            return end;
        }
        let src = self.src;
        let c = at(src, i);
        let end = match c {
            b'"' | b'`' => match quoted_end(src, i) {
                Some(end) => end,
                None => {
                    // Unterminated: what follows may be anything, so it goes like a string.
                    self.out.push("?");
                    return src.len();
                }
            },
            b'$' if self.dialect == SqlDialect::Standard => {
                // `$1`, or a `$name` placeholder: dollar quotes were taken by `literal`.
                let j = i + 1;
                if at(src, j).is_ascii_digit() {
                    digits_end(src, j)
                } else {
                    word_end(src, j)
                }
            }
            b'?' => digits_end(src, i + 1),
            b':' if at(src, i + 1) == b':' => i + 2,
            b':' if is_word_start(at(src, i + 1), self.dialect) => word_end(src, i + 1),
            b'@' => {
                let j = if at(src, i + 1) == b'@' { i + 2 } else { i + 1 };
                if is_word_start(at(src, j), self.dialect) {
                    word_end(src, j)
                } else {
                    i + 1
                }
            }
            c if is_word_start(c, self.dialect) => {
                let end = word_end(src, i);
                let word = src.get(i..end).unwrap_or_default();
                if word.eq_ignore_ascii_case(b"in") {
                    if let Some(list_end) = self.in_list_end(end) {
                        self.out.keep(i, end);
                        self.out.push(" (?)");
                        return list_end;
                    }
                }
                end
            }
            _ => i + 1,
        };
        self.out.keep(i, end);
        end
    }

    /// If a literal starts at `i`, where it ends (the end of input when unterminated).
    fn literal(&self, i: usize) -> Option<usize> {
        let src = self.src;
        let c = at(src, i);
        let mysql = self.dialect == SqlDialect::MySql;
        match c {
            b'\'' => Some(self.string_end(i, mysql)),
            b'"' if mysql => Some(self.string_end(i, true)),
            b'0'..=b'9' => Some(number_end(src, i)),
            b'.' if at(src, i + 1).is_ascii_digit() => Some(number_end(src, i)),
            b'$' if !mysql => dollar_quote_end(src, i),
            b'e' | b'E' if !mysql && at(src, i + 1) == b'\'' && !follows_word(src, i) => {
                Some(self.string_end(i + 1, true))
            }
            b'n' | b'N' | b'x' | b'X' | b'b' | b'B'
                if at(src, i + 1) == b'\'' && !follows_word(src, i) =>
            {
                Some(self.string_end(i + 1, mysql))
            }
            b'u' | b'U'
                if !mysql
                    && at(src, i + 1) == b'&'
                    && at(src, i + 2) == b'\''
                    && !follows_word(src, i) =>
            {
                Some(self.string_end(i + 2, false))
            }
            _ => None,
        }
    }

    /// The end of the string whose opening quote is at `open`; the end of input when
    /// unterminated. With `backslash`, `\` escapes the next byte.
    fn string_end(&self, open: usize, backslash: bool) -> usize {
        let src = self.src;
        let quote = at(src, open);
        let mut j = open + 1;
        while j < src.len() {
            let c = at(src, j);
            if c == b'\\' && backslash {
                j += 2;
            } else if c == quote {
                if at(src, j + 1) == quote {
                    j += 2;
                } else {
                    return j + 1;
                }
            } else {
                j += 1;
            }
        }
        src.len()
    }

    /// Where an `IN` list that starts at or after `i` ends, if it holds only literals and
    /// placeholders.
    fn in_list_end(&self, i: usize) -> Option<usize> {
        let src = self.src;
        let mut j = self.skip_all_trivia(i);
        if at(src, j) != b'(' {
            return None;
        }
        j += 1;
        loop {
            j = self.skip_all_trivia(j);
            if matches!(at(src, j), b'+' | b'-') {
                j += 1;
            }
            j = self.list_element_end(j)?;
            j = self.skip_all_trivia(j);
            match at(src, j) {
                b',' => j += 1,
                b')' => return Some(j + 1),
                _ => return None,
            }
        }
    }

    fn skip_all_trivia(&self, mut i: usize) -> usize {
        while let Some(next) = self.skip_trivia(i) {
            i = next;
        }
        i
    }

    /// The end of a literal or placeholder at `i`, if there is one (terminated).
    fn list_element_end(&self, i: usize) -> Option<usize> {
        let src = self.src;
        if i >= src.len() {
            return None;
        }
        // An unterminated literal runs to the end of input, where the `)` the caller needs
        // cannot follow: such a list is not collapsed.
        if let Some(end) = self.literal(i) {
            return Some(end);
        }
        let c = at(src, i);
        let end = match c {
            b'?' => digits_end(src, i + 1),
            b'$' if self.dialect == SqlDialect::Standard && at(src, i + 1).is_ascii_digit() => {
                digits_end(src, i + 1)
            }
            b':' if is_word_start(at(src, i + 1), self.dialect) => word_end(src, i + 1),
            b'@' if is_word_start(at(src, i + 1), self.dialect) => word_end(src, i + 1),
            _ => return None,
        };
        Some(end)
    }
}

/// The sanitized text: what was already copied, followed by a run of the input still to
/// copy. Verbatim tokens extend the run, so a clean statement is never copied (it is borrowed
/// back) and a dirty one is copied in few large pieces rather than token by token.
struct Output<'a> {
    src: &'a str,
    /// Allocated on the first flush only.
    copied: String,
    /// The output is `copied + src[run_start..run_end]`.
    run_start: usize,
    run_end: usize,
}

impl<'a> Output<'a> {
    fn new(src: &'a str) -> Self {
        Output {
            src,
            copied: String::new(),
            run_start: 0,
            run_end: 0,
        }
    }

    fn len(&self) -> usize {
        self.copied.len() + (self.run_end - self.run_start)
    }

    fn run(&self) -> &'a str {
        self.src
            .get(self.run_start..self.run_end)
            .unwrap_or_default()
    }

    fn flush(&mut self) {
        if self.run_start == self.run_end {
            return;
        }
        if self.copied.capacity() == 0 {
            self.copied.reserve(self.src.len().min(MAX_SANITIZED_LEN));
        }
        let run = self.run();
        self.copied.push_str(run);
        self.run_start = self.run_end;
    }

    /// Emits `src[start..end]` unchanged.
    fn keep(&mut self, start: usize, end: usize) {
        if start != self.run_end {
            self.flush();
            // Also skips leading trivia without copying when nothing was emitted yet.
            self.run_start = start;
        }
        self.run_end = end;
    }

    /// Emits `text`, extending the run when the input continues with exactly that text.
    fn push(&mut self, text: &str) {
        if self.run_start < self.run_end
            && self
                .src
                .get(self.run_end..)
                .is_some_and(|rest| rest.starts_with(text))
        {
            self.run_end += text.len();
            return;
        }
        self.flush();
        if self.copied.capacity() == 0 {
            self.copied.reserve(self.src.len().min(MAX_SANITIZED_LEN));
        }
        self.copied.push_str(text);
    }

    /// `push(" ")`, minus the string comparison: the most common emission.
    fn push_space(&mut self) {
        if self.run_start < self.run_end && self.src.as_bytes().get(self.run_end) == Some(&b' ') {
            self.run_end += 1;
        } else {
            self.push(" ");
        }
    }

    /// Forgets everything emitted after the first `len` bytes (a token boundary).
    fn truncate(&mut self, len: usize) {
        if len >= self.copied.len() {
            self.run_end = self.run_start + (len - self.copied.len());
        } else {
            self.copied.truncate(len);
            self.run_start = self.run_end;
        }
    }

    fn finish(mut self) -> Cow<'a, str> {
        if self.copied.is_empty() {
            return Cow::Borrowed(self.run());
        }
        self.flush();
        Cow::Owned(self.copied)
    }

    fn finish_cut(self) -> Cow<'a, str> {
        let mut s = self.finish().into_owned();
        s.push_str(if s.is_empty() {
            CUT_MARK.trim_start()
        } else {
            CUT_MARK
        });
        Cow::Owned(s)
    }
}

/// The byte at `i`, or 0 past the end (0 is never significant to the lexer).
fn at(src: &[u8], i: usize) -> u8 {
    src.get(i).copied().unwrap_or(0)
}

/// Bytes that are a token on their own, kept as they are, whatever follows.
fn is_simple_symbol(c: u8) -> bool {
    matches!(
        c,
        b'(' | b')'
            | b','
            | b';'
            | b'='
            | b'<'
            | b'>'
            | b'+'
            | b'*'
            | b'%'
            | b'|'
            | b'&'
            | b'^'
            | b'~'
            | b'!'
            | b'['
            | b']'
            | b'{'
            | b'}'
    )
}

/// Bytes that start a word in every dialect and never start anything else (unless a quote
/// follows, as in `E'...'`).
fn is_plain_word_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

/// Letters, `_` and any non-ASCII byte start a word (identifier or keyword); in MySQL `$` too.
fn is_word_start(c: u8, dialect: SqlDialect) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 || (c == b'$' && dialect == SqlDialect::MySql)
}

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

fn word_end(src: &[u8], mut j: usize) -> usize {
    while j < src.len() && is_word_byte(at(src, j)) {
        j += 1;
    }
    j
}

fn digits_end(src: &[u8], mut j: usize) -> usize {
    while at(src, j).is_ascii_digit() {
        j += 1;
    }
    j
}

/// Whether the byte before `i` continues a word, so a letter at `i` cannot start a prefix
/// like `E'`. Words are lexed whole, so this only matters for robustness.
fn follows_word(src: &[u8], i: usize) -> bool {
    i > 0 && is_word_byte(at(src, i - 1))
}

fn number_end(src: &[u8], i: usize) -> usize {
    let radix_digit: Option<fn(u8) -> bool> = match (at(src, i), at(src, i + 1)) {
        (b'0', b'x' | b'X') => Some(|c: u8| c.is_ascii_hexdigit()),
        (b'0', b'b' | b'B') => Some(|c: u8| c == b'0' || c == b'1'),
        (b'0', b'o' | b'O') => Some(|c: u8| (b'0'..=b'7').contains(&c)),
        _ => None,
    };
    if let Some(is_digit) = radix_digit {
        if is_digit(at(src, i + 2)) {
            let mut j = i + 2;
            while is_digit(at(src, j)) || at(src, j) == b'_' {
                j += 1;
            }
            return j;
        }
    }
    let digits = |mut j: usize| {
        while at(src, j).is_ascii_digit() || at(src, j) == b'_' {
            j += 1;
        }
        j
    };
    let mut j = digits(i);
    if at(src, j) == b'.' {
        j = digits(j + 1);
    }
    if matches!(at(src, j), b'e' | b'E') {
        let sign = usize::from(matches!(at(src, j + 1), b'+' | b'-'));
        if at(src, j + 1 + sign).is_ascii_digit() {
            j = digits(j + 1 + sign);
        }
    }
    j
}

/// The end of a quoted identifier whose opening quote is at `open`, with doubled quotes as
/// escapes; `None` when unterminated.
fn quoted_end(src: &[u8], open: usize) -> Option<usize> {
    let quote = at(src, open);
    let mut j = open + 1;
    while j < src.len() {
        if at(src, j) == quote {
            if at(src, j + 1) == quote {
                j += 2;
                continue;
            }
            return Some(j + 1);
        }
        j += 1;
    }
    None
}

/// If a PostgreSQL dollar quote (`$$` or `$tag$`) opens at `i`, where it ends (the end of
/// input when unterminated).
fn dollar_quote_end(src: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    let first = at(src, j);
    if first != b'$' {
        if !(first.is_ascii_alphabetic() || first == b'_' || first >= 0x80) {
            return None;
        }
        while j < src.len() && {
            let c = at(src, j);
            c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
        } {
            j += 1;
        }
        if at(src, j) != b'$' {
            return None;
        }
    }
    let delimiter = src.get(i..=j)?;
    let body = j + 1;
    let rest = src.get(body..).unwrap_or_default();
    Some(
        rest.windows(delimiter.len())
            .position(|w| w == delimiter)
            .map_or(src.len(), |p| body + p + delimiter.len()),
    )
}

#[cfg(test)]
#[path = "sanitize_tests.rs"]
mod tests;
