//! What a SQL statement does and to which table, read from its text.
//!
//! This is a scanner, not a parser: it skips comments, string literals and parenthesised
//! sub-expressions, and finds the statement's keyword and its first target table at the top
//! level. That is what the semantic conventions want for `db.operation.name` and
//! `db.collection.name`; a statement it cannot read gets no collection rather than a wrong one.

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

#[derive(Debug, PartialEq)]
enum Token<'a> {
    Word(&'a str),
    Quoted(&'a str),
    Open,
    Close,
    Other,
}

/// Top-level tokens (paren depth 0) with their depth, skipping comments and literals.
fn tokens(sql: &str) -> Vec<(usize, Token<'_>)> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 2;
            }
            b'\'' => {
                i += 1;
                while i < bytes.len() {
                    if bytes[i] == b'\'' {
                        if bytes.get(i + 1) == Some(&b'\'') {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
                out.push((depth, Token::Other));
            }
            b'"' | b'`' => {
                let close = b;
                let start = i + 1;
                i = start;
                while i < bytes.len() && bytes[i] != close {
                    i += 1;
                }
                out.push((depth, Token::Quoted(sql.get(start..i).unwrap_or_default())));
                i += 1;
            }
            b'(' => {
                out.push((depth, Token::Open));
                depth += 1;
                i += 1;
            }
            b')' => {
                depth = depth.saturating_sub(1);
                out.push((depth, Token::Close));
                i += 1;
            }
            _ if b.is_ascii_alphabetic() || b == b'_' => {
                let start = i;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'_' | b'$' | b'.'))
                {
                    i += 1;
                }
                out.push((depth, Token::Word(sql.get(start..i).unwrap_or_default())));
            }
            _ if b.is_ascii_whitespace() => i += 1,
            _ => {
                out.push((depth, Token::Other));
                i += 1;
            }
        }
    }
    out
}

fn keyword(word: &str) -> Option<&'static str> {
    OPERATIONS
        .iter()
        .copied()
        .find(|op| op.eq_ignore_ascii_case(word))
}

fn table_after<'a>(tokens: &[(usize, Token<'a>)], from: usize) -> Option<String> {
    let (depth, token) = tokens.get(from)?;
    if *depth != 0 {
        return None;
    }
    let name = match token {
        Token::Word(w) if keyword(w).is_none() && !w.eq_ignore_ascii_case("ONLY") => w,
        Token::Word(w) if w.eq_ignore_ascii_case("ONLY") => return table_after(tokens, from + 1),
        Token::Quoted(q) => q,
        _ => return None,
    };
    // Schema-qualified names keep their last part: `public.members` is the `members` table.
    let last = name.rsplit('.').next().unwrap_or(name).trim_matches('"');
    (!last.is_empty()).then(|| last.to_owned())
}

fn find_word(tokens: &[(usize, Token<'_>)], start: usize, word: &str) -> Option<usize> {
    tokens
        .iter()
        .enumerate()
        .skip(start)
        .find(|(_, (depth, t))| {
            *depth == 0 && matches!(t, Token::Word(w) if w.eq_ignore_ascii_case(word))
        })
        .map(|(i, _)| i)
}

pub(crate) fn summarize(sql: &str) -> StatementSummary {
    let tokens = tokens(sql);
    let mut start = 0;
    // `WITH name AS (...), ... <statement>`: the statement's keyword is the first top-level
    // operation word after the common table expressions.
    if let Some((0, Token::Word(w))) = tokens.first() {
        if w.eq_ignore_ascii_case("WITH") {
            start = tokens
                .iter()
                .enumerate()
                .skip(1)
                .find(|(_, (d, t))| *d == 0 && matches!(t, Token::Word(w) if matches!(keyword(w), Some("SELECT" | "INSERT" | "UPDATE" | "DELETE"))))
                .map_or(tokens.len(), |(i, _)| i);
        }
    }
    let operation = match tokens.get(start) {
        Some((0, Token::Word(w))) => keyword(w),
        _ => None,
    };
    let collection = match operation {
        Some("SELECT") | Some("DELETE") => {
            find_word(&tokens, start, "FROM").and_then(|i| table_after(&tokens, i + 1))
        }
        Some("INSERT") | Some("REPLACE") => {
            find_word(&tokens, start, "INTO").and_then(|i| table_after(&tokens, i + 1))
        }
        Some("UPDATE") => table_after(&tokens, start + 1),
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
