//! The statement sanitizer: replaces the literals of a statement with `?`, reading it with
//! the shared [`Lexer`].
//!
//! It runs on every database span that reaches the slow-query worker and on every
//! `db.query.text`, so it must not allocate when the statement is already clean (the common
//! case for `sqlx`, whose statements carry placeholders, not values).
//!
//! Safety rule: when the lexer is unsure, it redacts more, never less. Everything after an
//! unterminated string or quoted identifier is one `?`; comments are dropped whole.

use std::borrow::Cow;

use super::lexer::{Lexer, Token, TokenKind};
use super::SqlDialect;

/// The longest sanitized statement, in bytes, including the ` …` that marks a cut.
///
/// A longer statement is cut after its last whole token that fits and ends in ` …` (a space
/// and U+2026). Cutting between tokens keeps the cut idempotent and never leaves half a
/// quoted identifier behind.
pub const MAX_SANITIZED_LEN: usize = 2048;

const CUT_MARK: &str = " \u{2026}";

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
    Sanitizer {
        lexer: Lexer::new(sql, dialect),
        out: Output::new(sql),
    }
    .run()
}

struct Sanitizer<'a> {
    lexer: Lexer<'a>,
    out: Output<'a>,
}

impl<'a> Sanitizer<'a> {
    fn run(mut self) -> Cow<'a, str> {
        let mut pending_space = false;
        while let Some(token) = self.lexer.next() {
            if token.is_trivia() {
                pending_space = true;
                continue;
            }
            let before = self.out.len();
            if pending_space && before > 0 {
                self.out.push_space();
            }
            pending_space = false;
            self.emit(token);
            if self.out.len() > MAX_SANITIZED_LEN - CUT_MARK.len() {
                self.out.truncate(before);
                return self.out.finish_cut();
            }
        }
        self.out.finish()
    }

    fn emit(&mut self, token: Token) {
        match token.kind {
            TokenKind::String | TokenKind::Number => self.out.push("?"),
            // Unterminated, it runs to the end: what follows may be anything, so it goes like
            // a string.
            TokenKind::QuotedIdentifier { terminated: false } => self.out.push("?"),
            TokenKind::Word if token.end - token.start == 2 && self.lexer.is_word(token, "in") => {
                self.out.keep(token.start, token.end);
                if let Some(list_end) = in_list_end(self.lexer.clone()) {
                    self.out.push(" (?)");
                    self.lexer.resume_at(list_end);
                }
            }
            _ => self.out.keep(token.start, token.end),
        }
    }
}

/// Where the `IN` list that `lexer` is about to read ends, if it holds only literals and
/// placeholders, each with an optional sign.
fn in_list_end(mut lexer: Lexer<'_>) -> Option<usize> {
    let open = lexer.next_significant()?;
    if !lexer.is_symbol(open, b'(') {
        return None;
    }
    loop {
        let mut element = lexer.next_significant()?;
        if lexer.is_symbol(element, b'+') || lexer.is_symbol(element, b'-') {
            element = lexer.next()?;
        }
        // An unterminated literal runs to the end of input, where the `)` needed below cannot
        // follow: such a list is not collapsed.
        if !(element.is_literal() || element.kind == TokenKind::Placeholder) {
            return None;
        }
        let separator = lexer.next_significant()?;
        if lexer.is_symbol(separator, b')') {
            return Some(separator.end);
        }
        if !lexer.is_symbol(separator, b',') {
            return None;
        }
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

#[cfg(test)]
#[path = "sanitize_tests.rs"]
mod tests;
