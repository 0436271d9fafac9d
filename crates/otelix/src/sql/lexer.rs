//! The one SQL tokenizer: a single-pass byte lexer that the sanitizer and the statement summary
//! both read statements with.
//!
//! Why a hand-written lexer and not a parser's tokenizer: it runs on every database span, so
//! it must not allocate (a token is two offsets into the statement); it must read any input,
//! including statements cut short or not SQL at all, without failing (an unterminated string
//! or comment simply runs to the end of the input); and it must be fooled neither by quotes
//! inside comments nor by comments inside quotes, in each dialect's own rules.
//!
//! Tokens cover the input without gaps, and every token boundary is a character boundary:
//! tokens split only at ASCII bytes, and any non-ASCII byte belongs to a word or a quote.

/// The lexical rules [`sanitize_query_with`](crate::sanitize_query_with) reads a statement with.
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

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// A run of whitespace.
    Space,
    /// `-- ...` (and `# ...` in MySQL) up to the newline, or `/* ... */`; an unterminated
    /// block comment runs to the end of the input.
    Comment,
    /// An identifier or keyword: `members`, `SELECT`, `t1`, `col_2`, `ümlaut`.
    Word,
    /// `"..."` (standard SQL) or `` `...` ``, with doubled quotes as escapes. Unterminated, it
    /// runs to the end of the input.
    QuotedIdentifier { terminated: bool },
    /// A string literal: `'...'`, `E'...'`, `N'...'`, `X'...'`, `B'...'`, `U&'...'`,
    /// `$tag$...$tag$`, and `"..."` in MySQL. Unterminated, it runs to the end of the input.
    String,
    /// A numeric literal: `42`, `3.14`, `.5`, `1e-3`, `0xFF`, `0b101`, `0o17`, `1_000`.
    Number,
    /// A bind parameter: `?`, `?1`, `$1`, `:name`, `@name`.
    Placeholder,
    /// A variable: `$name` (standard SQL), `@@name`.
    Variable,
    /// `::`, or any other single byte: operators, punctuation, parentheses.
    Symbol,
}

/// A token: its kind and where it lies in the statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl Token {
    /// Whether the token is a literal: a string or a number.
    pub(crate) fn is_literal(self) -> bool {
        matches!(self.kind, TokenKind::String | TokenKind::Number)
    }

    /// Whether the token is whitespace or a comment.
    pub(crate) fn is_trivia(self) -> bool {
        matches!(self.kind, TokenKind::Space | TokenKind::Comment)
    }
}

/// The tokens of a statement, in order. Cloning it is how a reader looks ahead.
#[derive(Debug, Clone)]
pub(crate) struct Lexer<'a> {
    text: &'a str,
    src: &'a [u8],
    pos: usize,
    dialect: SqlDialect,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(text: &'a str, dialect: SqlDialect) -> Self {
        Lexer {
            text,
            src: text.as_bytes(),
            pos: 0,
            dialect,
        }
    }

    /// The text of `token`.
    pub(crate) fn text(&self, token: Token) -> &'a str {
        self.text.get(token.start..token.end).unwrap_or_default()
    }

    /// Whether `token` is the one-byte symbol `symbol`.
    pub(crate) fn is_symbol(&self, token: Token, symbol: u8) -> bool {
        token.kind == TokenKind::Symbol
            && token.end == token.start + 1
            && self.at(token.start) == symbol
    }

    /// Whether `token` is the word `word` (ASCII, any case).
    pub(crate) fn is_word(&self, token: Token, word: &str) -> bool {
        token.kind == TokenKind::Word && self.text(token).eq_ignore_ascii_case(word)
    }

    /// The next token that is not whitespace or a comment.
    pub(crate) fn next_significant(&mut self) -> Option<Token> {
        self.find(|token| !token.is_trivia())
    }

    /// Continues after `end`, the end of a token this lexer (or a clone of it) produced.
    pub(crate) fn resume_at(&mut self, end: usize) {
        self.pos = end;
    }

    /// The byte at `i`, or 0 past the end (0 is never significant to the lexer).
    fn at(&self, i: usize) -> u8 {
        self.src.get(i).copied().unwrap_or(0)
    }

    fn mysql(&self) -> bool {
        self.dialect == SqlDialect::MySql
    }

    /// The kind and end of the token that starts at `i` with the byte `c`.
    #[inline]
    fn token_at(&self, i: usize, c: u8) -> (TokenKind, usize) {
        // The common bytes first, without the general dispatch.
        let class = class(c);
        if class & SPACE != 0 {
            return (TokenKind::Space, self.run_end(i + 1, SPACE));
        }
        if class & SIMPLE_SYMBOL != 0 {
            return (TokenKind::Symbol, i + 1);
        }
        if class & PLAIN_WORD_START != 0 && !matches!(self.at(i + 1), b'\'' | b'&') {
            return (TokenKind::Word, self.word_end(i + 1));
        }
        // The dot of `t.col`, not of `.5`.
        if c == b'.' && !self.at(i + 1).is_ascii_digit() {
            return (TokenKind::Symbol, i + 1);
        }
        self.rare_token_at(i, c)
    }

    #[inline(never)]
    fn rare_token_at(&self, i: usize, c: u8) -> (TokenKind, usize) {
        if let Some(end) = self.comment_end(i, c) {
            return (TokenKind::Comment, end);
        }
        if let Some((kind, end)) = self.literal(i, c) {
            return (kind, end);
        }
        self.other(i, c)
    }

    /// Where the run of bytes of `class` that goes on at `j` ends.
    #[inline]
    fn run_end(&self, j: usize, of: u8) -> usize {
        let rest = self.src.get(j..).unwrap_or_default();
        j + rest
            .iter()
            .position(|&b| class(b) & of == 0)
            .unwrap_or(rest.len())
    }

    /// If a comment starts at `i`, where it ends.
    fn comment_end(&self, i: usize, c: u8) -> Option<usize> {
        let line_comment = (c == b'-' && self.at(i + 1) == b'-') || (c == b'#' && self.mysql());
        if line_comment {
            // The newline is whitespace: the next token.
            let rest = self.src.get(i..).unwrap_or_default();
            return Some(
                rest.iter()
                    .position(|&b| b == b'\n')
                    .map_or(self.src.len(), |p| i + p),
            );
        }
        (c == b'/' && self.at(i + 1) == b'*').then(|| self.block_comment_end(i))
    }

    fn block_comment_end(&self, start: usize) -> usize {
        let nested = !self.mysql();
        let mut depth = 1usize;
        let mut j = start + 2;
        while j + 1 < self.src.len() {
            match (self.at(j), self.at(j + 1)) {
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
        self.src.len()
    }

    /// If a literal starts at `i`, its kind and where it ends (the end of input when
    /// unterminated).
    fn literal(&self, i: usize, c: u8) -> Option<(TokenKind, usize)> {
        let mysql = self.mysql();
        let string = |end| Some((TokenKind::String, end));
        match c {
            b'\'' => string(self.string_end(i, mysql)),
            b'"' if mysql => string(self.string_end(i, true)),
            b'0'..=b'9' => Some((TokenKind::Number, self.number_end(i))),
            b'.' if self.at(i + 1).is_ascii_digit() => {
                Some((TokenKind::Number, self.number_end(i)))
            }
            b'$' if !mysql => self.dollar_quote_end(i).map(|end| (TokenKind::String, end)),
            b'e' | b'E' if !mysql && self.at(i + 1) == b'\'' && !self.follows_word(i) => {
                string(self.string_end(i + 1, true))
            }
            b'n' | b'N' | b'x' | b'X' | b'b' | b'B'
                if self.at(i + 1) == b'\'' && !self.follows_word(i) =>
            {
                string(self.string_end(i + 1, mysql))
            }
            b'u' | b'U'
                if !mysql
                    && self.at(i + 1) == b'&'
                    && self.at(i + 2) == b'\''
                    && !self.follows_word(i) =>
            {
                string(self.string_end(i + 2, false))
            }
            _ => None,
        }
    }

    /// Quoted identifiers, placeholders, variables, words and symbols: what is neither
    /// trivia nor a literal.
    fn other(&self, i: usize, c: u8) -> (TokenKind, usize) {
        let word_at = |j: usize| is_word_start(self.at(j), self.dialect);
        match c {
            b'"' | b'`' => match self.quoted_end(i) {
                Some(end) => (TokenKind::QuotedIdentifier { terminated: true }, end),
                None => (
                    TokenKind::QuotedIdentifier { terminated: false },
                    self.src.len(),
                ),
            },
            // `$1`, or `$name`: dollar quotes were taken as literals.
            b'$' if !self.mysql() => match self.at(i + 1) {
                d if d.is_ascii_digit() => (TokenKind::Placeholder, self.digits_end(i + 1)),
                _ if word_at(i + 1) => (TokenKind::Variable, self.word_end(i + 1)),
                _ => (TokenKind::Symbol, i + 1),
            },
            b'?' => (TokenKind::Placeholder, self.digits_end(i + 1)),
            b':' if self.at(i + 1) == b':' => (TokenKind::Symbol, i + 2),
            b':' if word_at(i + 1) => (TokenKind::Placeholder, self.word_end(i + 1)),
            b'@' if self.at(i + 1) == b'@' && word_at(i + 2) => {
                (TokenKind::Variable, self.word_end(i + 2))
            }
            b'@' if word_at(i + 1) => (TokenKind::Placeholder, self.word_end(i + 1)),
            c if is_word_start(c, self.dialect) => (TokenKind::Word, self.word_end(i)),
            _ => (TokenKind::Symbol, i + 1),
        }
    }

    /// The end of the string whose opening quote is at `open`; the end of input when
    /// unterminated. With `backslash`, `\` escapes the next byte.
    fn string_end(&self, open: usize, backslash: bool) -> usize {
        let src = self.src;
        let quote = self.at(open);
        let mut j = open + 1;
        while j < src.len() {
            let c = self.at(j);
            if c == b'\\' && backslash {
                j += 2;
            } else if c == quote {
                if self.at(j + 1) == quote {
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

    /// The end of a quoted identifier whose opening quote is at `open`, with doubled quotes as
    /// escapes; `None` when unterminated.
    fn quoted_end(&self, open: usize) -> Option<usize> {
        let quote = self.at(open);
        let mut j = open + 1;
        while j < self.src.len() {
            if self.at(j) == quote {
                if self.at(j + 1) == quote {
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
    fn dollar_quote_end(&self, i: usize) -> Option<usize> {
        let src = self.src;
        let mut j = i + 1;
        let first = self.at(j);
        if first != b'$' {
            if !is_plain_word_start(first) {
                return None;
            }
            while j < src.len() && {
                let c = self.at(j);
                c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
            } {
                j += 1;
            }
            if self.at(j) != b'$' {
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

    fn number_end(&self, i: usize) -> usize {
        let radix_digit: Option<fn(u8) -> bool> = match (self.at(i), self.at(i + 1)) {
            (b'0', b'x' | b'X') => Some(|c: u8| c.is_ascii_hexdigit()),
            (b'0', b'b' | b'B') => Some(|c: u8| c == b'0' || c == b'1'),
            (b'0', b'o' | b'O') => Some(|c: u8| (b'0'..=b'7').contains(&c)),
            _ => None,
        };
        if let Some(is_digit) = radix_digit {
            if is_digit(self.at(i + 2)) {
                let mut j = i + 2;
                while is_digit(self.at(j)) || self.at(j) == b'_' {
                    j += 1;
                }
                return j;
            }
        }
        let digits = |mut j: usize| {
            while self.at(j).is_ascii_digit() || self.at(j) == b'_' {
                j += 1;
            }
            j
        };
        let mut j = digits(i);
        if self.at(j) == b'.' {
            j = digits(j + 1);
        }
        if matches!(self.at(j), b'e' | b'E') {
            let sign = usize::from(matches!(self.at(j + 1), b'+' | b'-'));
            if self.at(j + 1 + sign).is_ascii_digit() {
                j = digits(j + 1 + sign);
            }
        }
        j
    }

    fn word_end(&self, j: usize) -> usize {
        self.run_end(j, WORD_BYTE)
    }

    fn digits_end(&self, mut j: usize) -> usize {
        while self.at(j).is_ascii_digit() {
            j += 1;
        }
        j
    }

    /// Whether the byte before `i` continues a word, so a letter at `i` cannot start a prefix
    /// like `E'`. Words are lexed whole, so this only matters after a number (`1e'x'`).
    fn follows_word(&self, i: usize) -> bool {
        i > 0 && is_word_byte(self.at(i - 1))
    }
}

impl Iterator for Lexer<'_> {
    type Item = Token;

    #[inline]
    fn next(&mut self) -> Option<Token> {
        let start = self.pos;
        let c = *self.src.get(start)?;
        let (kind, end) = self.token_at(start, c);
        self.pos = end;
        Some(Token { kind, start, end })
    }
}

/// Whitespace.
const SPACE: u8 = 1;
/// Bytes that are a token on their own, whatever follows.
const SIMPLE_SYMBOL: u8 = 2;
/// Bytes that start a word in every dialect and never start anything else (unless a quote
/// follows, as in `E'...'`): letters, `_` and every non-ASCII byte.
const PLAIN_WORD_START: u8 = 4;
/// Bytes that go on a word: those that start one, digits and `$`.
const WORD_BYTE: u8 = 8;

/// What each byte can be, looked up once per byte on the hot path.
static CLASSES: [u8; 256] = {
    let mut classes = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let mut class = 0;
        if matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c') {
            class |= SPACE;
        }
        if matches!(
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
        ) {
            class |= SIMPLE_SYMBOL;
        }
        if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            class |= PLAIN_WORD_START | WORD_BYTE;
        }
        if c.is_ascii_digit() || c == b'$' {
            class |= WORD_BYTE;
        }
        classes[b] = class;
        b += 1;
    }
    classes
};

#[inline]
fn class(c: u8) -> u8 {
    CLASSES[usize::from(c)]
}

fn is_plain_word_start(c: u8) -> bool {
    class(c) & PLAIN_WORD_START != 0
}

/// Letters, `_` and any non-ASCII byte start a word (identifier or keyword); in MySQL `$` too.
fn is_word_start(c: u8, dialect: SqlDialect) -> bool {
    is_plain_word_start(c) || (c == b'$' && dialect == SqlDialect::MySql)
}

fn is_word_byte(c: u8) -> bool {
    class(c) & WORD_BYTE != 0
}

#[cfg(test)]
#[path = "lexer_tests.rs"]
mod tests;
