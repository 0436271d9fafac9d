//! The comments of the workspace's tracked source and script files, everything else blanked,
//! so that the checks which read prose read comments too.
//!
//! Each language gets a lexer just deep enough to tell a comment from a string that looks like
//! one: `"// not a comment"` in Rust, `echo "# not a comment"` or `${#array[@]}` in a shell
//! script. What is not comment text (code, strings, the comment markers themselves) becomes
//! spaces, line breaks stay, so a finding's line in the result is its line in the file.

use std::path::Path;
use std::process::Command;

#[cfg(test)]
mod tests;

/// How a kind of file writes its comments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Syntax {
    /// `//`, `///`, `//!` and `/* */` (which nest); strings, raw strings and char literals are
    /// not comments.
    Rust,
    /// `//` and `/* */` (which do not nest); strings, backquoted raw strings and runes are not.
    Go,
    /// A `#` that starts a word outside quotes; a here-document's body is read line by line,
    /// as [`Syntax::Yaml`], because it usually carries another language (Python, YAML).
    Shell,
    /// A `#` outside single-, double- and triple-quoted strings.
    Python,
    /// A `#` outside basic strings (with escapes) and literal strings (without).
    Toml,
    /// A `#` at the start of a line or after a blank, outside a quoted scalar on that line.
    Yaml,
    /// A `#` that starts a line (Dockerfiles, ignore files).
    LineHash,
}

/// Paths never read, though tracked: inputs of the fuzz targets, not prose.
const SKIPPED_PREFIXES: &[&str] = &["fuzz/corpus/", "fuzz/artifacts/"];

/// Directories never read wherever they are: build output and version control data.
const SKIPPED_DIRS: &[&str] = &["target", ".git"];

/// The files git tracks under `root`, and the new ones it would (not ignored), relative to it
/// with `/` separators, less the skipped ones. Asked of git rather than walked: a working tree
/// also holds logs, data volumes and secrets that are nobody's source.
pub(crate) fn tracked_files(root: &Path) -> Vec<String> {
    let output = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(root)
        .output()
        .unwrap_or_else(|e| panic!("running git ls-files in {}: {e}", root.display()));
    assert!(
        output.status.success(),
        "git ls-files in {} failed: {}",
        root.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .split('\0')
        .filter(|path| !path.is_empty() && !skipped(path))
        .map(str::to_owned)
        .collect()
}

/// Whether `path` (relative, `/` separators) is left out of the scan.
pub(crate) fn skipped(path: &str) -> bool {
    SKIPPED_PREFIXES
        .iter()
        .any(|prefix| path.starts_with(prefix))
        || path
            .split('/')
            .any(|component| SKIPPED_DIRS.contains(&component))
}

/// The comment syntax of the file at `path` whose text is `text`, or `None` for a file that is
/// not source or script (Markdown, JSON, lock files, checksums).
pub(crate) fn syntax_of(path: &str, text: &str) -> Option<Syntax> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let extension = name.rsplit_once('.').map(|(_, extension)| extension);
    match extension {
        Some("rs") => Some(Syntax::Rust),
        Some("go") => Some(Syntax::Go),
        Some("sh" | "bash") => Some(Syntax::Shell),
        Some("py") => Some(Syntax::Python),
        Some("toml") => Some(Syntax::Toml),
        Some("yml" | "yaml") => Some(Syntax::Yaml),
        Some("gitignore" | "dockerignore") => Some(Syntax::LineHash),
        _ if name == "go.mod" => Some(Syntax::Go),
        _ if name == "Dockerfile" || name.starts_with("Dockerfile.") => Some(Syntax::LineHash),
        None => interpreter(text).and_then(|program| match program {
            "sh" | "bash" | "dash" | "zsh" | "ksh" => Some(Syntax::Shell),
            python if python.starts_with("python") => Some(Syntax::Python),
            _ => None,
        }),
        Some(_) => None,
    }
}

/// The program a `#!` line names, through `env` if it is used: `bash` for
/// `#!/usr/bin/env bash` and for `#!/bin/bash -e`.
fn interpreter(text: &str) -> Option<&str> {
    let line = text.lines().next()?.strip_prefix("#!")?;
    let mut words = line.split_whitespace();
    let mut program = words.next()?.rsplit('/').next()?;
    if program == "env" {
        program = words.find(|word| !word.starts_with('-'))?;
    }
    Some(program)
}

/// `text` with everything but the text of its comments blanked: each character a space, line
/// breaks kept.
pub(crate) fn comments(text: &str, syntax: Syntax) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut scan = Scan {
        chars: &chars,
        at: 0,
        out: String::with_capacity(text.len()),
    };
    match syntax {
        Syntax::Rust => c_family(&mut scan, true),
        Syntax::Go => c_family(&mut scan, false),
        Syntax::Shell => shell(&mut scan),
        Syntax::Python => hash_outside_strings(&mut scan, true),
        Syntax::Toml => hash_outside_strings(&mut scan, false),
        Syntax::Yaml => {
            while !scan.done() {
                hash_line(&mut scan);
                scan.skip();
            }
        }
        Syntax::LineHash => {
            while !scan.done() {
                while scan.peek(0).is_some_and(|c| c == ' ' || c == '\t') {
                    scan.skip();
                }
                if scan.peek(0) == Some('#') {
                    scan.skip();
                    scan.keep_line();
                }
                scan.skip_line();
                scan.skip();
            }
        }
    }
    scan.out
}

/// A cursor over the text that copies comment text and blanks the rest.
struct Scan<'a> {
    chars: &'a [char],
    at: usize,
    out: String,
}

impl Scan<'_> {
    fn done(&self) -> bool {
        self.at >= self.chars.len()
    }

    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.at + ahead).copied()
    }

    /// The character `back` places before the cursor.
    fn before(&self, back: usize) -> Option<char> {
        self.at
            .checked_sub(back)
            .and_then(|index| self.chars.get(index))
            .copied()
    }

    fn starts_with(&self, text: &str) -> bool {
        text.chars()
            .enumerate()
            .all(|(ahead, c)| self.peek(ahead) == Some(c))
    }

    /// Copies the next character: it is comment text.
    fn keep(&mut self) {
        if let Some(c) = self.peek(0) {
            self.out.push(c);
            self.at += 1;
        }
    }

    /// Blanks the next character, keeping a line break.
    fn skip(&mut self) {
        if let Some(c) = self.peek(0) {
            self.out.push(if c == '\n' { '\n' } else { ' ' });
            self.at += 1;
        }
    }

    fn skip_n(&mut self, count: usize) {
        for _ in 0..count {
            self.skip();
        }
    }

    /// Copies up to the end of the line, not the line break.
    fn keep_line(&mut self) {
        while self.peek(0).is_some_and(|c| c != '\n') {
            self.keep();
        }
    }

    /// Blanks up to the end of the line, not the line break.
    fn skip_line(&mut self) {
        while self.peek(0).is_some_and(|c| c != '\n') {
            self.skip();
        }
    }

    /// Blanks a quoted text whose opening quote is already passed, up to and including the
    /// closing `quote`; a backslash escapes the next character when `escapes`.
    fn skip_quoted(&mut self, quote: char, escapes: bool) {
        while let Some(c) = self.peek(0) {
            if escapes && c == '\\' {
                self.skip_n(2);
            } else {
                self.skip();
                if c == quote {
                    return;
                }
            }
        }
    }
}

/// Rust (`rust`) or Go.
fn c_family(scan: &mut Scan<'_>, rust: bool) {
    while let Some(c) = scan.peek(0) {
        match c {
            '/' if scan.peek(1) == Some('/') => {
                scan.skip_n(2);
                // `///` and `//!` mark doc comments; the marker is not text.
                if rust && matches!(scan.peek(0), Some('/' | '!')) {
                    scan.skip();
                }
                scan.keep_line();
            }
            '/' if scan.peek(1) == Some('*') => block_comment(scan, rust),
            '"' => {
                scan.skip();
                scan.skip_quoted('"', true);
            }
            '`' if !rust => {
                scan.skip();
                scan.skip_quoted('`', false);
            }
            '\'' => char_literal(scan),
            'r' if rust => match raw_string_hashes(scan) {
                Some(hashes) => {
                    scan.skip_n(2 + hashes);
                    let close = format!("\"{}", "#".repeat(hashes));
                    while !scan.done() && !scan.starts_with(&close) {
                        scan.skip();
                    }
                    scan.skip_n(close.len());
                }
                None => scan.skip(),
            },
            _ => scan.skip(),
        }
    }
}

/// A `/* */` comment at the cursor; Rust's nest, and `/**` and `/*!` mark doc comments.
fn block_comment(scan: &mut Scan<'_>, rust: bool) {
    scan.skip_n(2);
    if rust && matches!(scan.peek(0), Some('*' | '!')) && scan.peek(1) != Some('/') {
        scan.skip();
    }
    let mut depth = 1;
    while depth > 0 && !scan.done() {
        if scan.starts_with("*/") {
            depth -= 1;
            scan.skip_n(2);
        } else if rust && scan.starts_with("/*") {
            depth += 1;
            scan.skip_n(2);
        } else {
            scan.keep();
        }
    }
}

/// A `'` at the cursor: a char literal (`'x'`, `'\''`, `'\u{1F600}'`, Go's runes alike) or a
/// Rust lifetime or label, which has no closing quote.
fn char_literal(scan: &mut Scan<'_>) {
    if scan.peek(1) == Some('\\') {
        scan.skip_n(3);
        while scan.peek(0).is_some_and(|c| c != '\'' && c != '\n') {
            scan.skip();
        }
        scan.skip();
    } else if scan.peek(2) == Some('\'') && scan.peek(1) != Some('\n') {
        scan.skip_n(3);
    } else {
        scan.skip();
    }
}

/// At an `r`: the number of `#`s of the raw string it opens (`r"`, `r#"`, `br"`, `cr##"`), or
/// `None` when it is part of a name or a raw identifier (`r#type`).
fn raw_string_hashes(scan: &Scan<'_>) -> Option<usize> {
    let is_name = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let starts_token = !is_name(scan.before(1))
        || (matches!(scan.before(1), Some('b' | 'c')) && !is_name(scan.before(2)));
    if !starts_token {
        return None;
    }
    let hashes = (1..).take_while(|&k| scan.peek(k) == Some('#')).count();
    (scan.peek(1 + hashes) == Some('"')).then_some(hashes)
}

/// POSIX shell and bash.
fn shell(scan: &mut Scan<'_>) {
    // Delimiters of here-documents opened on the current line, and whether `<<-` strips tabs.
    let mut pending: Vec<(String, bool)> = Vec::new();
    while let Some(c) = scan.peek(0) {
        match c {
            '#' if scan
                .before(1)
                .is_none_or(|p| p.is_whitespace() || ";&|()".contains(p)) =>
            {
                scan.skip();
                scan.keep_line();
            }
            '\\' => scan.skip_n(2),
            '\'' => {
                scan.skip();
                scan.skip_quoted('\'', false);
            }
            '"' => {
                scan.skip();
                scan.skip_quoted('"', true);
            }
            '<' if scan.starts_with("<<<") => scan.skip_n(3),
            '<' if scan.starts_with("<<") => pending.push(heredoc_delimiter(scan)),
            '\n' => {
                scan.skip();
                for (delimiter, strip_tabs) in pending.drain(..) {
                    heredoc_body(scan, &delimiter, strip_tabs);
                }
            }
            _ => scan.skip(),
        }
    }
}

/// Reads `<<WORD`, `<<-WORD`, `<<'WORD'` or `<<"WORD"` at the cursor: the delimiter, and
/// whether leading tabs are stripped.
fn heredoc_delimiter(scan: &mut Scan<'_>) -> (String, bool) {
    scan.skip_n(2);
    let strip_tabs = scan.peek(0) == Some('-');
    if strip_tabs {
        scan.skip();
    }
    while scan.peek(0).is_some_and(|c| c == ' ' || c == '\t') {
        scan.skip();
    }
    let mut delimiter = String::new();
    while let Some(c) = scan.peek(0) {
        if c.is_whitespace() || ";&|<>()".contains(c) {
            break;
        }
        if !matches!(c, '\'' | '"' | '\\') {
            delimiter.push(c);
        }
        scan.skip();
    }
    (delimiter, strip_tabs)
}

/// The lines of a here-document up to and including its delimiter line.
fn heredoc_body(scan: &mut Scan<'_>, delimiter: &str, strip_tabs: bool) {
    while !scan.done() {
        let line: String = scan.chars[scan.at..]
            .iter()
            .take_while(|&&c| c != '\n')
            .collect();
        let line = if strip_tabs {
            line.trim_start_matches('\t')
        } else {
            &line
        };
        if line == delimiter {
            scan.skip_line();
            scan.skip();
            return;
        }
        hash_line(scan);
        scan.skip();
    }
}

/// One line of YAML (or of a here-document): a `#` that starts the line or follows a blank,
/// outside quotes. A quote opens a quoted text only where a value can start, so the `'` of
/// `it's` in a plain value is text; `''` inside single quotes is YAML's escaped quote.
fn hash_line(scan: &mut Scan<'_>) {
    let start = scan.at;
    let mut quote: Option<char> = None;
    while let Some(c) = scan.peek(0) {
        if c == '\n' {
            return;
        }
        let previous = (scan.at > start).then(|| scan.chars[scan.at - 1]);
        match quote {
            Some('"') if c == '\\' && scan.peek(1) != Some('\n') => scan.skip_n(2),
            Some('\'') if c == '\'' && scan.peek(1) == Some('\'') => scan.skip_n(2),
            Some(q) => {
                if c == q {
                    quote = None;
                }
                scan.skip();
            }
            None => {
                if c == '#' && previous.is_none_or(char::is_whitespace) {
                    scan.skip();
                    scan.keep_line();
                    return;
                }
                if (c == '"' || c == '\'') && opens_quote(scan, start) {
                    quote = Some(c);
                }
                scan.skip();
            }
        }
    }
}

/// Whether the quote at the cursor opens a quoted text: where a value starts (the line's
/// start, after a blank or one of `([{,=:`), directly or after a string prefix of one or two
/// letters (Python's `f"`, `rb'`).
fn opens_quote(scan: &Scan<'_>, line_start: usize) -> bool {
    let value_starts_at = |index: usize| {
        index == line_start || {
            let previous = scan.chars[index - 1];
            previous.is_whitespace() || "([{,=:".contains(previous)
        }
    };
    let prefix = (1..=2)
        .take_while(|&back| {
            scan.at >= line_start + back
                && matches!(
                    scan.chars[scan.at - back],
                    'b' | 'B' | 'f' | 'F' | 'r' | 'R' | 'u' | 'U'
                )
        })
        .count();
    value_starts_at(scan.at) || (1..=prefix).any(|back| value_starts_at(scan.at - back))
}

/// Python (`single_quote_escapes`) or TOML, whose single-quoted literal strings take no escapes.
fn hash_outside_strings(scan: &mut Scan<'_>, single_quote_escapes: bool) {
    while let Some(c) = scan.peek(0) {
        match c {
            '#' => {
                scan.skip();
                scan.keep_line();
            }
            '"' | '\'' => {
                let escapes = c == '"' || single_quote_escapes;
                if scan.peek(1) == Some(c) && scan.peek(2) == Some(c) {
                    scan.skip_n(3);
                    let close: String = [c; 3].iter().collect();
                    while !scan.done() && !scan.starts_with(&close) {
                        if escapes && scan.peek(0) == Some('\\') {
                            scan.skip();
                        }
                        scan.skip();
                    }
                    scan.skip_n(3);
                } else {
                    scan.skip();
                    while let Some(next) = scan.peek(0) {
                        if next == '\n' {
                            break;
                        }
                        if escapes && next == '\\' {
                            scan.skip();
                        }
                        scan.skip();
                        if next == c {
                            break;
                        }
                    }
                }
            }
            _ => scan.skip(),
        }
    }
}
