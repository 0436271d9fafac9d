//! Workspace hygiene: no `unwrap_or_else` whose closure only panics with what `expect` would
//! say anyway.
//!
//! `.unwrap_or_else(|e| panic!(..))` with a fixed message (or one whose only placeholder is
//! the error) says no more than `.expect("message")`, which prints the error itself, and reads
//! worse. A closure whose message names another runtime value (a path, a seed, the page that
//! failed to parse) carries information `expect` cannot, and stays.

// An unreadable workspace should fail the test loudly, which is what `expect` does.
#![allow(clippy::expect_used)]

use std::fmt;
use std::path::{Path, PathBuf};

/// Directories never scanned, wherever they are: build output, fuzz targets, VCS data.
const SKIPPED_DIRS: &[&str] = &["target", "fuzz", ".git"];

#[test]
fn no_unwrap_or_else_that_only_panics_with_what_expect_would_say() {
    let root = workspace_root();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(
        files.len() > 50,
        "the scan found only {} .rs files under {}",
        files.len(),
        root.display()
    );

    let mut findings = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file)
            .unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
        let relative = file
            .strip_prefix(&root)
            .unwrap_or(file)
            .to_string_lossy()
            .replace('\\', "/");
        findings.extend(find_in(&text).into_iter().map(|found| Finding {
            file: relative.clone(),
            line: found.line,
            snippet: found.snippet,
        }));
    }

    assert!(
        findings.is_empty(),
        "{} `unwrap_or_else` closure(s) only panic with a fixed message or the error: use \
         `.expect(\"what was expected\")`, which prints the error itself\n  {}",
        findings.len(),
        findings
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}

/// One place to convert.
struct Finding {
    file: String,
    line: usize,
    snippet: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.snippet)
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.rs` file under `dir`, outside [`SKIPPED_DIRS`].
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if !SKIPPED_DIRS.contains(&name) {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// A match in one file: its line and the matched text, up to the end of the `panic!`.
#[derive(Debug, PartialEq)]
struct Found {
    line: usize,
    snippet: String,
}

/// Every `unwrap_or_else` in `text` whose closure (`|x|`, `||`, `|_|`, `move`, its body in
/// braces or not) is only a `panic!` whose message has no placeholder and no argument other
/// than the closure's error.
fn find_in(text: &str) -> Vec<Found> {
    const CALL: &str = "unwrap_or_else(";
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find(CALL) {
        let start = from + at;
        from = start + CALL.len();
        let Some(end) = only_panics_with_what_expect_says(&text[from..]) else {
            continue;
        };
        let snippet = text[start..from + end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        found.push(Found {
            line: text[..start].matches('\n').count() + 1,
            snippet,
        });
    }
    found
}

/// For the text after `unwrap_or_else(`: the length through the call's `)` when the closure
/// is nothing but a panic that `expect` could say.
fn only_panics_with_what_expect_says(after: &str) -> Option<usize> {
    let mut cursor = Cursor::new(after);
    panic_end(&mut cursor)?;
    // Through the `)` of `unwrap_or_else` (and the `}` of a closure body in braces).
    cursor.skip_whitespace();
    cursor.eat("}");
    cursor.skip_whitespace();
    cursor.eat(")");
    Some(cursor.offset)
}

/// Reads the closure and its `panic!(..)`; the offset after the panic's `)` when `expect`
/// could say the same.
fn panic_end(cursor: &mut Cursor<'_>) -> Option<usize> {
    cursor.skip_whitespace();
    if cursor.eat_word("move") {
        cursor.skip_whitespace();
    }
    cursor.eat("|").then_some(())?;
    cursor.skip_whitespace();
    let parameter = cursor.identifier();
    cursor.skip_whitespace();
    cursor.eat("|").then_some(())?;
    cursor.skip_whitespace();
    if cursor.eat("{") {
        cursor.skip_whitespace();
    }
    cursor.eat("panic!(").then_some(())?;
    cursor.skip_whitespace();
    if cursor.eat(")") {
        return Some(cursor.offset);
    }
    let literal = cursor.string_literal()?;
    cursor.skip_whitespace();
    let arguments = if cursor.eat(")") {
        Vec::new()
    } else {
        cursor.eat(",").then_some(())?;
        cursor.arguments()?
    };
    let error = match parameter {
        "" | "_" => None,
        name => Some(name),
    };
    let placeholders = placeholders(literal)?;
    let mut next_positional = 0;
    let says_only_the_error = placeholders.iter().all(|placeholder| {
        let argument = match placeholder.as_str() {
            "" => {
                next_positional += 1;
                arguments.get(next_positional - 1).map(String::as_str)
            }
            index if index.bytes().all(|b| b.is_ascii_digit()) => index
                .parse::<usize>()
                .ok()
                .and_then(|i| arguments.get(i))
                .map(String::as_str),
            name => Some(name),
        };
        error.is_some() && argument == error
    });
    let no_other_arguments = arguments
        .iter()
        .all(|argument| error == Some(argument.as_str()));
    (says_only_the_error && no_other_arguments).then_some(cursor.offset)
}

/// The argument part of each `{...}` of a format string (`e` of `{e:?}`, empty for `{}`);
/// `None` for a malformed string.
fn placeholders(literal: &str) -> Option<Vec<String>> {
    let mut found = Vec::new();
    let mut chars = literal.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
            }
            '{' => {
                let mut inside = String::new();
                loop {
                    match chars.next()? {
                        '}' => break,
                        c => inside.push(c),
                    }
                }
                let argument = inside.split(':').next().unwrap_or("").trim();
                found.push(argument.to_owned());
            }
            _ => {}
        }
    }
    Some(found)
}

/// A reading position in source text.
struct Cursor<'a> {
    text: &'a str,
    offset: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor { text, offset: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.text[self.offset..]
    }

    fn skip_whitespace(&mut self) {
        let rest = self.rest();
        self.offset += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, token: &str) -> bool {
        let matched = self.rest().starts_with(token);
        if matched {
            self.offset += token.len();
        }
        matched
    }

    /// `word` as a whole word.
    fn eat_word(&mut self, word: &str) -> bool {
        let rest = self.rest();
        let whole = rest.starts_with(word)
            && !rest[word.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_');
        if whole {
            self.offset += word.len();
        }
        whole
    }

    /// An identifier, `_`, or nothing.
    fn identifier(&mut self) -> &'a str {
        let rest = self.rest();
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        self.offset += end;
        &rest[..end]
    }

    /// The contents of a `"..."` or `r#"..."#` literal, escapes left as written.
    fn string_literal(&mut self) -> Option<&'a str> {
        let rest = self.rest();
        if let Some(raw) = rest.strip_prefix('r') {
            let hashes = raw.len() - raw.trim_start_matches('#').len();
            let body = raw[hashes..].strip_prefix('"')?;
            let closing = format!("\"{}", "#".repeat(hashes));
            let end = body.find(&closing)?;
            self.offset += 1 + hashes + 1 + end + closing.len();
            return Some(&body[..end]);
        }
        let body = rest.strip_prefix('"')?;
        let mut escaped = false;
        for (index, c) in body.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    self.offset += 1 + index + 1;
                    return Some(&body[..index]);
                }
                _ => {}
            }
        }
        None
    }

    /// The comma-separated arguments up to the `)` that closes the call, each trimmed; the
    /// cursor ends after that `)`.
    fn arguments(&mut self) -> Option<Vec<String>> {
        let mut arguments = Vec::new();
        let mut current = String::new();
        let mut depth = 0usize;
        loop {
            self.skip_string_literals(&mut current);
            let c = self.rest().chars().next()?;
            self.offset += c.len_utf8();
            match c {
                '(' | '[' | '{' => depth += 1,
                ')' if depth == 0 => {
                    if !current.trim().is_empty() {
                        arguments.push(current.trim().to_owned());
                    }
                    return Some(arguments);
                }
                ')' | ']' | '}' => depth = depth.checked_sub(1)?,
                ',' if depth == 0 => {
                    arguments.push(current.trim().to_owned());
                    current.clear();
                    continue;
                }
                _ => {}
            }
            current.push(c);
        }
    }

    /// Copies a string literal at the cursor into `into` whole, so that its brackets and
    /// commas do not count.
    fn skip_string_literals(&mut self, into: &mut String) {
        while ["\"", "r\"", "r#"]
            .iter()
            .any(|start| self.rest().starts_with(start))
        {
            let start = self.offset;
            if self.string_literal().is_none() {
                self.offset = start;
                return;
            }
            into.push_str(&self.text[start..self.offset]);
        }
    }
}

#[test]
fn what_expect_would_say_is_found() {
    let flagged = [
        "x.unwrap_or_else(|e| panic!(\"{e}\"));",
        "x.unwrap_or_else(|e| panic!(\"reading x: {e}\"));",
        "x.unwrap_or_else(|err| panic!(\"{err:?}\"));",
        "x.unwrap_or_else(|e| panic!(\"{:#}\", e));",
        "x.unwrap_or_else(|e| panic!(\"reading {0}: {0}\", e,));",
        "x.unwrap_or_else(|_| panic!(\"get hung\"));",
        "x.unwrap_or_else(|| panic!(\"no value\"));",
        "x.unwrap_or_else(move |e| panic!(\"{e}\"));",
        "x.unwrap_or_else(|e| {\n    panic!(\n        \"a long message about {e}\"\n    )\n});",
        "x.unwrap_or_else(|e| panic!(r#\"quoted \"{e}\"\"#));",
        "x.unwrap_or_else(|e| panic!(\"braces {{e}} are text: {e}\"));",
        // Split, so that this file does not hold what it forbids.
        concat!("x.unwrap_or_else(|e| panic!", "());"),
    ];
    for text in flagged {
        assert_eq!(find_in(text).len(), 1, "not flagged: {text}");
    }
    let kept = [
        "x.unwrap_or_else(|e| panic!(\"{path}: {e}\"));",
        "x.unwrap_or_else(|e| panic!(\"{}: {e}\", path.display()));",
        "x.unwrap_or_else(|e| panic!(\"{}\", self.failure(&format!(\"GET {url}: {e}\"))));",
        "x.unwrap_or_else(|_| panic!(\"not a version: {version}\"));",
        "x.unwrap_or_else(|| panic!(\"no {service} span in {:?}\", names));",
        "x.unwrap_or_else(|e| {\n    let names = list();\n    panic!(\"{e}: {names:?}\")\n});",
        "x.unwrap_or_else(|e| e.into_inner());",
        "x.unwrap_or_else(syn::Error::into_compile_error);",
        "x.unwrap_or_else(|e| panic!(\"{e} in {}\", \"fixed, (text)\"));",
        "x.unwrap_or_else(|e| panic!(some_message(e)));",
    ];
    for text in kept {
        assert_eq!(find_in(text), Vec::new(), "flagged: {text}");
    }
    let lines =
        find_in("fn a() {\n    let x = y\n        .unwrap_or_else(|e| panic!(\"{e}\"));\n}\n");
    assert_eq!(
        lines,
        [Found {
            line: 3,
            snippet: "unwrap_or_else(|e| panic!(\"{e}\"))".to_owned()
        }]
    );
}
