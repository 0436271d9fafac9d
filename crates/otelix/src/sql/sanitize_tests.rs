use super::*;
use proptest::prelude::*;

fn s(sql: &str) -> String {
    sanitize_query(sql).into_owned()
}

fn my(sql: &str) -> String {
    sanitize_query_with(sql, SqlDialect::MySql).into_owned()
}

#[test]
fn string_literals_become_placeholders() {
    assert_eq!(
        s("SELECT * FROM t WHERE a = 'x'"),
        "SELECT * FROM t WHERE a = ?"
    );
    assert_eq!(s("WHERE a = 'it''s' AND b = ''"), "WHERE a = ? AND b = ?");
    assert_eq!(
        s(r"WHERE a = E'it\'s \\' AND b = 1"),
        "WHERE a = ? AND b = ?"
    );
    assert_eq!(s(r"WHERE a = e'x\'y'"), "WHERE a = ?");
    assert_eq!(
        s("WHERE a = X'DEADBEEF' OR b = B'0101' OR c = N'ü'"),
        "WHERE a = ? OR b = ? OR c = ?"
    );
    assert_eq!(s("WHERE a = U&'d\\0061t'"), "WHERE a = ?");
    // Standard strings: a backslash is an ordinary character.
    assert_eq!(
        s(r"WHERE path = 'C:\' AND b = 'x'"),
        "WHERE path = ? AND b = ?"
    );
}

#[test]
fn dollar_quoted_strings_become_placeholders() {
    assert_eq!(
        s("SELECT $$it's $1$$, $tag$a $$ b$tag$ FROM t"),
        "SELECT ?, ? FROM t"
    );
    assert_eq!(s("SELECT $a$ secret"), "SELECT ?");
    assert_eq!(s("SELECT $$ secret"), "SELECT ?");
}

#[test]
fn numeric_literals_become_placeholders() {
    assert_eq!(s("LIMIT 10 OFFSET 20"), "LIMIT ? OFFSET ?");
    assert_eq!(
        s("x = 3.14 OR y = .5 OR z = 1e-3 OR w = 2.5E+10 OR v = 7."),
        "x = ? OR y = ? OR z = ? OR w = ? OR v = ?"
    );
    assert_eq!(
        s("x = 0xFF OR y = 0b101 OR z = 0o17 OR w = 1_000_000"),
        "x = ? OR y = ? OR z = ? OR w = ?"
    );
    assert_eq!(s("x = -42"), "x = -?");
}

#[test]
fn numbers_inside_identifiers_are_kept() {
    assert_eq!(
        s("SELECT t1.col2 FROM table2 t1"),
        "SELECT t1.col2 FROM table2 t1"
    );
    assert_eq!(
        s("SELECT \"Col 1\", `col 2` FROM x"),
        "SELECT \"Col 1\", `col 2` FROM x"
    );
    assert_eq!(s("SELECT \"a\"\"b\" FROM x"), "SELECT \"a\"\"b\" FROM x");
}

#[test]
fn placeholders_are_kept() {
    for sql in [
        "WHERE a = ? AND b = ?2",
        "WHERE a = $1 AND b = $12",
        "WHERE a = :name AND b = :other_1",
        "WHERE a = @p1 AND b = @@session.x",
        "WHERE a::int = $1::text",
    ] {
        assert_eq!(s(sql), sql);
    }
    // `:1` is an Oracle placeholder and a slice bound in PostgreSQL; the number goes.
    assert_eq!(s("arr[1:2]"), "arr[?:?]");
}

#[test]
fn in_lists_collapse() {
    assert_eq!(s("WHERE id IN (1, 2, 3)"), "WHERE id IN (?)");
    assert_eq!(s("WHERE id in(?,?,?)"), "WHERE id in (?)");
    assert_eq!(s("WHERE id NOT IN ($1, $2)"), "WHERE id NOT IN (?)");
    assert_eq!(
        s("WHERE id IN ( 'a' , /* c */ 'b', -1, :x, @y )"),
        "WHERE id IN (?)"
    );
    assert_eq!(
        s("WHERE id IN (SELECT id FROM t WHERE x = 1)"),
        "WHERE id IN (SELECT id FROM t WHERE x = ?)"
    );
    assert_eq!(s("WHERE id IN (a, 1)"), "WHERE id IN (a, ?)");
    assert_eq!(s("WHERE id IN ('a"), "WHERE id IN (?");
    assert_eq!(s("WHERE min = 1"), "WHERE min = ?");
}

#[test]
fn comments_and_whitespace() {
    assert_eq!(s("SELECT a -- the 'a'\nFROM t"), "SELECT a FROM t");
    assert_eq!(
        s("SELECT /* 'x' /* nested */ 42 */ a FROM t"),
        "SELECT a FROM t"
    );
    assert_eq!(s("SELECT a/**/FROM t"), "SELECT a FROM t");
    assert_eq!(
        s("  SELECT\n\t a ,\r\n b  FROM   t ;  "),
        "SELECT a , b FROM t ;"
    );
    assert_eq!(s("SELECT a /* unterminated 'x'"), "SELECT a");
    assert_eq!(s("-- only a comment"), "");
}

#[test]
fn unterminated_strings_redact_the_rest() {
    assert_eq!(s("SELECT 'abc FROM t WHERE x = 1"), "SELECT ?");
    assert_eq!(s("SELECT E'abc\\' FROM t"), "SELECT ?");
    assert_eq!(s("SELECT \"unterminated 'ident"), "SELECT ?");
    assert_eq!(s("SELECT `x, 'y'"), "SELECT ?");
}

#[test]
fn mysql_rules() {
    assert_eq!(
        my(r#"WHERE a = "secret" AND b = 'it\'s' AND c = 'x''y'"#),
        "WHERE a = ? AND b = ? AND c = ?"
    );
    assert_eq!(
        my("SELECT a # comment 'x'\nFROM `t1` WHERE $v = 1"),
        "SELECT a FROM `t1` WHERE $v = ?"
    );
    assert_eq!(my("SELECT /* a /* b */ c FROM t"), "SELECT c FROM t");
    assert_eq!(my("WHERE id IN (\"a\", 'b', ?)"), "WHERE id IN (?)");
    assert_eq!(SqlDialect::from_db_system("MySQL"), SqlDialect::MySql);
    assert_eq!(SqlDialect::from_db_system("sqlite"), SqlDialect::Standard);
}

#[test]
fn clean_statements_are_borrowed() {
    for sql in [
        "SELECT id FROM members WHERE email = $1",
        "UPDATE t SET a = ? WHERE id IN (?)",
        "",
    ] {
        assert!(matches!(sanitize_query(sql), Cow::Borrowed(_)), "{sql}");
    }
    // Leading and trailing trivia are cut off without copying either.
    assert!(matches!(
        sanitize_query("\n  SELECT a  -- done"),
        Cow::Borrowed("SELECT a")
    ));
}

#[test]
fn output_is_bounded() {
    let long = format!("SELECT {} FROM t", "colümn, ".repeat(1000));
    let out = s(&long);
    assert!(out.len() <= MAX_SANITIZED_LEN, "{}", out.len());
    assert!(out.ends_with(", \u{2026}"), "{out}");
    assert_eq!(s(&out), out);
    let literals = format!("SELECT {}", "'x', ".repeat(2000));
    let out = s(&literals);
    assert!(out.len() <= MAX_SANITIZED_LEN);
    assert!(!out.contains('x'));
}

/// A literal whose content is uppercase letters and digits (and quoting characters), for
/// a template that is otherwise lowercase and has no two digits in a row: any uppercase
/// letter or digit pair in the output is a leak.
#[derive(Debug, Clone)]
enum Literal {
    Str(String),
    EscapeStr(String),
    Dollar(String, String),
    Int(u64),
    Decimal(u32, u32, Option<i8>),
    Hex(u32),
    Prefixed(char, String),
    MySqlDouble(String),
}

fn secret() -> impl Strategy<Value = String> {
    "[A-Z0-9]{2}[A-Z0-9 '\"\\\\$;,()*/#-]{0,12}[A-Z]"
}

fn literal(dialect: SqlDialect) -> BoxedStrategy<Literal> {
    let common = prop_oneof![
        secret().prop_map(Literal::Str),
        (10u64..u64::MAX).prop_map(Literal::Int),
        (
            10u32..100_000,
            10u32..100_000,
            proptest::option::of(10i8..99)
        )
            .prop_map(|(a, b, e)| Literal::Decimal(a, b, e)),
        (0x10u32..u32::MAX).prop_map(Literal::Hex),
        (
            prop_oneof![Just('X'), Just('N'), Just('B')],
            "[A-F0-9]{2,8}"
        )
            .prop_map(|(p, c)| Literal::Prefixed(p, c)),
    ];
    match dialect {
        SqlDialect::Standard => prop_oneof![
            common,
            secret().prop_map(Literal::EscapeStr),
            ("[a-z_]{0,4}", secret()).prop_map(|(t, c)| Literal::Dollar(t, c)),
        ]
        .boxed(),
        SqlDialect::MySql => prop_oneof![common, secret().prop_map(Literal::MySqlDouble)].boxed(),
    }
}

impl Literal {
    fn render(&self, dialect: SqlDialect) -> String {
        let mysql = dialect == SqlDialect::MySql;
        let quote = |content: &str, q: char, backslash: bool| {
            let mut out = String::from(q);
            for c in content.chars() {
                if c == q {
                    out.push(q);
                } else if c == '\\' && backslash {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push(q);
            out
        };
        match self {
            Literal::Str(c) => quote(c, '\'', mysql),
            Literal::EscapeStr(c) => {
                // Escape quotes with a backslash to exercise the E'' rules.
                let body: String = c
                    .chars()
                    .flat_map(|ch| match ch {
                        '\'' => vec!['\\', '\''],
                        '\\' => vec!['\\', '\\'],
                        ch => vec![ch],
                    })
                    .collect();
                format!("E'{body}'")
            }
            Literal::Dollar(tag, c) => {
                let c = c.replace('$', "");
                format!("${tag}${c}${tag}$")
            }
            Literal::Int(n) => n.to_string(),
            Literal::Decimal(a, b, e) => match e {
                Some(e) => format!("{a}.{b}e-{e}"),
                None => format!("{a}.{b}"),
            },
            Literal::Hex(n) => format!("0x{n:X}"),
            Literal::Prefixed(p, c) => format!("{p}'{c}'"),
            Literal::MySqlDouble(c) => quote(c, '"', true),
        }
    }
}

fn template_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("select".to_owned()),
        Just("from".to_owned()),
        Just("where".to_owned()),
        Just("in".to_owned()),
        Just("and".to_owned()),
        "[a-z_]{1,6}[0-9]?",
        "[a-z]{1,3}\\.[a-z]{1,3}[0-9]?",
        Just("\"quoted id\"".to_owned()),
        Just("`tick`".to_owned()),
        Just("$1".to_owned()),
        Just("?".to_owned()),
        Just(":name".to_owned()),
        Just("@p1".to_owned()),
        Just("::".to_owned()),
        "[=<>(),;*+-]",
        Just("\n".to_owned()),
        Just("  ".to_owned()),
        Just("-- COMMENT 'X' 99\n".to_owned()),
        Just("/* COMMENT 'X' 99 */".to_owned()),
    ]
}

fn query(dialect: SqlDialect) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            3 => template_piece(),
            1 => literal(dialect).prop_map(move |l| l.render(dialect)),
        ],
        0..24,
    )
    .prop_map(|pieces| pieces.join(" "))
}

fn assert_no_leak(out: &str) -> Result<(), TestCaseError> {
    let leaked_letter = out.chars().any(|c| c.is_ascii_uppercase());
    let leaked_digits = out
        .as_bytes()
        .windows(2)
        .any(|w| w[0].is_ascii_digit() && w[1].is_ascii_digit());
    prop_assert!(!leaked_letter && !leaked_digits, "leak in {out:?}");
    Ok(())
}

proptest! {
    #[test]
    fn never_leaks_a_standard_literal(sql in query(SqlDialect::Standard)) {
        let out = sanitize_query(&sql);
        assert_no_leak(&out)?;
        prop_assert_eq!(sanitize_query(&out), out.clone());
    }

    #[test]
    fn never_leaks_a_mysql_literal(sql in query(SqlDialect::MySql)) {
        let out = sanitize_query_with(&sql, SqlDialect::MySql);
        assert_no_leak(&out)?;
        prop_assert_eq!(sanitize_query_with(&out, SqlDialect::MySql), out.clone());
    }

    #[test]
    fn idempotent_and_bounded_on_any_input(sql in "\\PC{0,300}|[ -~]{0,300}|[$'\"`E/*\\-#\\\\ 0-9a-z()?:@,.]{0,120}") {
        for dialect in [SqlDialect::Standard, SqlDialect::MySql] {
            let once = sanitize_query_with(&sql, dialect);
            prop_assert!(once.len() <= MAX_SANITIZED_LEN);
            let twice = sanitize_query_with(&once, dialect);
            prop_assert_eq!(&twice, &once, "dialect {:?}", dialect);
        }
    }

    #[test]
    fn long_inputs_are_bounded_and_idempotent(word in "[a-zé0-9 ']{1,8}", n in 200usize..800) {
        let sql = word.repeat(n);
        for dialect in [SqlDialect::Standard, SqlDialect::MySql] {
            let once = sanitize_query_with(&sql, dialect);
            prop_assert!(once.len() <= MAX_SANITIZED_LEN);
            prop_assert_eq!(sanitize_query_with(&once, dialect), once.clone());
        }
    }
}
