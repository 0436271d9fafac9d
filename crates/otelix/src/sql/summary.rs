//! What a SQL statement does and to which table, read from its text.
//!
//! This is a scanner, not a parser: it reads the statement with the shared [`Lexer`], skips
//! comments, literals and parenthesised sub-expressions, and finds the statement's keyword and
//! its first target table at the top level. That is what the semantic conventions want for `db.operation.name` and
//! `db.collection.name`; a statement it cannot read gets no collection rather than a wrong one.

use std::borrow::Cow;

use super::lexer::{Lexer, Token, TokenKind};
use super::SqlDialect;

/// The operation keyword (upper case) and the first target table of a statement.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct StatementSummary {
    pub(crate) operation: Option<&'static str>,
    pub(crate) collection: Option<String>,
}

const OPERATIONS: &[&str] = &[
    "SELECT", "INSERT", "UPDATE", "DELETE", "REPLACE", "MERGE", "UPSERT", "CREATE", "DROP",
    "ALTER", "TRUNCATE", "BEGIN", "COMMIT", "ROLLBACK", "PRAGMA", "EXPLAIN", "VACUUM", "ANALYZE",
    "SET", "SHOW", "COPY", "CALL", "LISTEN", "NOTIFY",
];

/// The significant tokens of a statement (no whitespace, no comments) with their parenthesis
/// depth; a parenthesis has the depth outside it.
#[derive(Clone)]
struct Tokens<'a> {
    lexer: Lexer<'a>,
    depth: usize,
}

impl Iterator for Tokens<'_> {
    type Item = (usize, Token);

    fn next(&mut self) -> Option<(usize, Token)> {
        let token = self.lexer.next_significant()?;
        if self.lexer.is_symbol(token, b'(') {
            self.depth += 1;
            return Some((self.depth - 1, token));
        }
        if self.lexer.is_symbol(token, b')') {
            self.depth = self.depth.saturating_sub(1);
        }
        Some((self.depth, token))
    }
}

impl<'a> Tokens<'a> {
    /// The operation keyword a top-level word names.
    fn operation(&self, (depth, token): (usize, Token)) -> Option<&'static str> {
        if depth != 0 || token.kind != TokenKind::Word {
            return None;
        }
        keyword(self.lexer.text(token))
    }

    /// Skips past the next top-level word `word`; `None` when there is none.
    fn skip_past_word(&mut self, word: &str) -> Option<()> {
        while let Some((depth, token)) = self.next() {
            if depth == 0 && self.lexer.is_word(token, word) {
                return Some(());
            }
        }
        None
    }

    /// A name at the top level: an identifier that is no operation keyword, or a quoted one
    /// without its quotes.
    fn name(&self, (depth, token): (usize, Token)) -> Option<Cow<'a, str>> {
        if depth != 0 {
            return None;
        }
        let text = self.lexer.text(token);
        match token.kind {
            TokenKind::Word if keyword(text).is_none() => Some(Cow::Borrowed(text)),
            TokenKind::QuotedIdentifier { terminated: true } => {
                let quote = text.get(..1).unwrap_or_default();
                let inner = text.get(1..text.len() - 1).unwrap_or_default();
                let doubled = quote.repeat(2);
                Some(if inner.contains(&doubled) {
                    Cow::Owned(inner.replace(&doubled, quote))
                } else {
                    Cow::Borrowed(inner)
                })
            }
            _ => None,
        }
    }

    /// The table named next: `t`, `ONLY t`, `"T"`; of a qualified name (`public.t`), the last
    /// part. A name that ends in a dot not followed by a name (`t.`, `t. x`) is unreadable.
    fn table(&mut self) -> Option<String> {
        let mut next = self.next()?;
        if self.lexer.is_word(next.1, "ONLY") {
            next = self.next()?;
        }
        let mut name = self.name(next)?;
        let mut end = next.1.end;
        loop {
            let mut ahead = self.clone();
            match ahead.next() {
                Some((_, dot)) if dot.start == end && ahead.lexer.is_symbol(dot, b'.') => {}
                // `t.5`: the dot went into a number.
                Some((_, other))
                    if other.start == end && ahead.lexer.text(other).starts_with('.') =>
                {
                    return None
                }
                _ => break,
            }
            let part = ahead.next()?;
            if part.1.start != end + 1 {
                return None;
            }
            name = ahead.name(part)?;
            end = part.1.end;
            *self = ahead;
        }
        (!name.is_empty()).then(|| name.into_owned())
    }
}

fn keyword(word: &str) -> Option<&'static str> {
    OPERATIONS
        .iter()
        .copied()
        .find(|op| op.eq_ignore_ascii_case(word))
}

pub(crate) fn summarize(sql: &str) -> StatementSummary {
    let mut tokens = Tokens {
        lexer: Lexer::new(sql, SqlDialect::Standard),
        depth: 0,
    };
    let mut operation = None;
    if let Some(first) = tokens.next() {
        if tokens.lexer.is_word(first.1, "WITH") {
            // `WITH name AS (...), ... <statement>`: the statement's keyword is the first
            // top-level operation word after the common table expressions.
            while let Some(next) = tokens.next() {
                operation = tokens
                    .operation(next)
                    .filter(|op| matches!(*op, "SELECT" | "INSERT" | "UPDATE" | "DELETE"));
                if operation.is_some() {
                    break;
                }
            }
        } else {
            operation = tokens.operation(first);
        }
    }
    let collection = match operation {
        Some("SELECT" | "DELETE") => tokens.skip_past_word("FROM").and_then(|()| tokens.table()),
        Some("INSERT" | "REPLACE") => tokens.skip_past_word("INTO").and_then(|()| tokens.table()),
        Some("UPDATE") => tokens.table(),
        _ => None,
    };
    StatementSummary {
        operation,
        collection,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(sql: &str) -> (Option<&'static str>, Option<String>) {
        let s = summarize(sql);
        (s.operation, s.collection)
    }

    #[test]
    fn plain_statements() {
        assert_eq!(
            summary("SELECT id, name FROM members WHERE id = $1"),
            (Some("SELECT"), Some("members".into()))
        );
        assert_eq!(
            summary("insert into payments (id) values (?)"),
            (Some("INSERT"), Some("payments".into()))
        );
        assert_eq!(
            summary("UPDATE members SET status = 'x' WHERE id = 1"),
            (Some("UPDATE"), Some("members".into()))
        );
        assert_eq!(
            summary("DELETE FROM public.members WHERE id = 1"),
            (Some("DELETE"), Some("members".into()))
        );
        assert_eq!(
            summary("SELECT * FROM \"Member List\""),
            (Some("SELECT"), Some("Member List".into()))
        );
        assert_eq!(
            summary("SELECT * FROM ONLY members"),
            (Some("SELECT"), Some("members".into()))
        );
    }

    #[test]
    fn comments_literals_and_subqueries_are_skipped() {
        assert_eq!(
            summary(
                "/* from x */ -- from y\n SELECT 'FROM fake', (SELECT 1 FROM inner_t) FROM members"
            ),
            (Some("SELECT"), Some("members".into()))
        );
        assert_eq!(
            summary("SELECT * FROM (SELECT 1) AS t"),
            (Some("SELECT"), None)
        );
        assert_eq!(summary("SELECT 1"), (Some("SELECT"), None));
    }

    #[test]
    fn quoting_and_nesting_follow_the_shared_lexer() {
        assert_eq!(
            summary("/* a /* nested */ FROM x */ SELECT $$ FROM y $$, E'\\' FROM z' FROM members"),
            (Some("SELECT"), Some("members".into()))
        );
        assert_eq!(
            summary("SELECT * FROM \"public\".\"Member List\" m"),
            (Some("SELECT"), Some("Member List".into()))
        );
        assert_eq!(
            summary("UPDATE \"a\"\"b\" SET x = 1"),
            (Some("UPDATE"), Some("a\"b".into()))
        );
        assert_eq!(
            summary("INSERT INTO app.events(kind) VALUES ($1)"),
            (Some("INSERT"), Some("events".into()))
        );
        // A dangling dot: unreadable, so no collection rather than a wrong one.
        assert_eq!(summary("SELECT * FROM t. x"), (Some("SELECT"), None));
        assert_eq!(
            summary("DELETE FROM \"unterminated"),
            (Some("DELETE"), None)
        );
    }

    #[test]
    fn common_table_expressions() {
        assert_eq!(
            summary("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10) SELECT count(*) FROM c"),
            (Some("SELECT"), Some("c".into()))
        );
        assert_eq!(
            summary("WITH old AS (SELECT id FROM members) DELETE FROM sessions WHERE member_id IN (SELECT id FROM old)"),
            (Some("DELETE"), Some("sessions".into()))
        );
    }

    #[test]
    fn other_and_unreadable_statements() {
        assert_eq!(
            summary("CREATE TABLE IF NOT EXISTS members (id INTEGER)"),
            (Some("CREATE"), None)
        );
        assert_eq!(summary("begin"), (Some("BEGIN"), None));
        assert_eq!(summary(""), (None, None));
        assert_eq!(summary("((("), (None, None));
        assert_eq!(summary("'unterminated"), (None, None));
        assert_eq!(summary("frobnicate the database"), (None, None));
    }
}
