use proptest::prelude::*;

use super::*;
use TokenKind::*;

fn tokens(sql: &str, dialect: SqlDialect) -> Vec<(TokenKind, &str)> {
    let lexer = Lexer::new(sql, dialect);
    lexer.clone().map(|t| (t.kind, lexer.text(t))).collect()
}

fn standard(sql: &str) -> Vec<(TokenKind, &str)> {
    tokens(sql, SqlDialect::Standard)
}

#[test]
fn a_statement_in_tokens() {
    assert_eq!(
        standard("SELECT t1.a,\"B\" FROM t1 -- c\nWHERE a::int = $1 AND b IN ('x', .5)"),
        [
            (Word, "SELECT"),
            (Space, " "),
            (Word, "t1"),
            (Symbol, "."),
            (Word, "a"),
            (Symbol, ","),
            (QuotedIdentifier { terminated: true }, "\"B\""),
            (Space, " "),
            (Word, "FROM"),
            (Space, " "),
            (Word, "t1"),
            (Space, " "),
            (Comment, "-- c"),
            (Space, "\n"),
            (Word, "WHERE"),
            (Space, " "),
            (Word, "a"),
            (Symbol, "::"),
            (Word, "int"),
            (Space, " "),
            (Symbol, "="),
            (Space, " "),
            (Placeholder, "$1"),
            (Space, " "),
            (Word, "AND"),
            (Space, " "),
            (Word, "b"),
            (Space, " "),
            (Word, "IN"),
            (Space, " "),
            (Symbol, "("),
            (String, "'x'"),
            (Symbol, ","),
            (Space, " "),
            (Number, ".5"),
            (Symbol, ")"),
        ]
    );
}

#[test]
fn strings_in_each_dialect() {
    assert_eq!(
        standard(r"E'a\'b' 'c\' $t$x$t$ U&'d'"),
        [
            (String, r"E'a\'b'"),
            (Space, " "),
            (String, r"'c\'"),
            (Space, " "),
            (String, "$t$x$t$"),
            (Space, " "),
            (String, "U&'d'"),
        ]
    );
    assert_eq!(
        tokens(r#""a\"b" $v # c"#, SqlDialect::MySql),
        [
            (String, r#""a\"b""#),
            (Space, " "),
            (Word, "$v"),
            (Space, " "),
            (Comment, "# c"),
        ]
    );
    // Unterminated: the rest of the input.
    assert_eq!(standard("'abc"), [(String, "'abc")]);
    assert_eq!(
        standard("\"abc"),
        [(QuotedIdentifier { terminated: false }, "\"abc")]
    );
}

#[test]
fn placeholders_and_variables() {
    assert_eq!(
        standard("? ?2 :name @p @@v $name"),
        [
            (Placeholder, "?"),
            (Space, " "),
            (Placeholder, "?2"),
            (Space, " "),
            (Placeholder, ":name"),
            (Space, " "),
            (Placeholder, "@p"),
            (Space, " "),
            (Variable, "@@v"),
            (Space, " "),
            (Variable, "$name"),
        ]
    );
}

#[test]
fn comments_nest_in_standard_sql_only() {
    let sql = "/* a /* b */ c */";
    assert_eq!(standard(sql), [(Comment, sql)]);
    assert_eq!(
        tokens(sql, SqlDialect::MySql)
            .first()
            .map(|(kind, text)| (*kind, *text)),
        Some((Comment, "/* a /* b */"))
    );
}

#[test]
fn tokens_cover_any_input_at_character_boundaries() {
    for sql in ["", "ü'ö", "$ä$é", "1é", "\u{0}\\'", "x'", "@@", ":", "/*"] {
        for dialect in [SqlDialect::Standard, SqlDialect::MySql] {
            let joined: std::string::String = tokens(sql, dialect)
                .into_iter()
                .map(|(_, text)| text)
                .collect();
            assert_eq!(joined, sql, "{dialect:?}");
        }
    }
}

proptest! {
    /// Tokens are never empty, follow each other without gaps and split the input only at
    /// character boundaries, whatever the input.
    #[test]
    fn tokens_cover_the_input(sql in "\\PC{0,200}|[$'\"`eEuU&/*\\-#\\\\ 0-9a-z()?:@.é]{0,80}") {
        for dialect in [SqlDialect::Standard, SqlDialect::MySql] {
            let mut end = 0;
            for token in Lexer::new(&sql, dialect) {
                prop_assert_eq!(token.start, end);
                prop_assert!(token.end > token.start);
                prop_assert!(sql.is_char_boundary(token.end), "{:?} in {:?}", token, sql);
                end = token.end;
            }
            prop_assert_eq!(end, sql.len());
        }
    }
}
