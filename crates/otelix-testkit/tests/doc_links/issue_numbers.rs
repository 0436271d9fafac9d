//! Internal issue numbers: a reader cannot open our tracker, so neither a page nor a comment
//! in the code cites one.

use std::collections::BTreeSet;
use std::fs;

use crate::comments::{comments, syntax_of, tracked_files, Syntax};
use crate::{line_of, markdown_files, read, relative, root};

/// References to an issue tracker by number in `text`: the word issue, issues, PR, pull
/// request or ticket followed by a number (a line break may sit between them, a `#` may mark
/// the number), and a `#` with digits standing alone. Returns the line and the text found;
/// the spellings are in the tests below.
///
/// A `#` is not a reference when it is part of something else: an anchor (`#1-run-it`), an
/// HTML entity (`&#123;`), a colour (`#1e88e5`, and digits-only colours: six or eight digits,
/// or three or four on a line that speaks of colour), or a standard's number (`PKCS #8`).
fn issue_references(text: &str) -> Vec<(usize, String)> {
    let lower = text.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    // (start, end) of each reference, in `text`'s offsets (lower-casing ASCII keeps them).
    let mut found: Vec<(usize, usize)> = Vec::new();
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    for word in ["issue", "issues", "pr", "pull request", "ticket"] {
        for (start, _) in lower.match_indices(word) {
            if start > 0 && is_word(bytes[start - 1]) {
                continue;
            }
            let after = &lower[start + word.len()..];
            let spaced = after.trim_start();
            if spaced.len() == after.len() {
                continue; // "issues" when looking for "issue", "pr" inside "prose"...
            }
            let number = spaced.strip_prefix('#').unwrap_or(spaced);
            let digits = number.bytes().take_while(u8::is_ascii_digit).count();
            if digits > 0 {
                found.push((start, lower.len() - number.len() + digits));
            }
        }
    }
    for (start, _) in lower.match_indices('#') {
        let before_ok =
            start == 0 || matches!(bytes[start - 1], b' ' | b'\n' | b'\t' | b'(' | b'[' | b',');
        let digits = lower[start + 1..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        let after = bytes.get(start + 1 + digits).copied();
        let after_ok = after.is_none_or(|b| !(is_word(b) || b == b'-'));
        let covered = found.iter().any(|(s, e)| (*s..*e).contains(&start));
        let standard = lower[..start].ends_with("pkcs ");
        if before_ok
            && !standard
            && digits > 0
            && after_ok
            && !covered
            && !is_colour(&lower, start, digits)
        {
            found.push((start, start + 1 + digits));
        }
    }
    found.sort();
    found
        .into_iter()
        .map(|(start, end)| (line_of(text, start), text[start..end].replace('\n', " ")))
        .collect()
}

/// Whether the `#` at `start` of `lower`, followed by `digits` digits, is a colour: `#rrggbb`
/// or `#rrggbbaa`, or `#rgb` or `#rgba` on a line that names a colour property.
fn is_colour(lower: &str, start: usize, digits: usize) -> bool {
    let line_start = lower[..start].rfind('\n').map_or(0, |newline| newline + 1);
    let line_end = lower[start..]
        .find('\n')
        .map_or(lower.len(), |end| start + end);
    let line = &lower[line_start..line_end];
    matches!(digits, 6 | 8)
        || (matches!(digits, 3 | 4)
            && ["colo", "fill", "stroke", "background", "rgb"]
                .iter()
                .any(|word| line.contains(word)))
}

#[test]
fn markdown_names_no_internal_issue_numbers() {
    let root = root();
    let mut problems = Vec::new();
    for page in markdown_files(&root) {
        for (line, reference) in issue_references(&read(&page)) {
            problems.push(format!("{}:{line}: {reference}", relative(&root, &page)));
        }
    }
    assert!(
        problems.is_empty(),
        "a reader cannot open our issue tracker: say what each of these stands for instead\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn issue_references_are_found_in_every_spelling() {
    let text = "after issue 10, see (issue 11) and issues\n12; PR #7 fixed #13.\nNot #1-run-it, &#123;, tissue 4 or issue tracker.";
    let found: Vec<String> = issue_references(text).into_iter().map(|(_, t)| t).collect();
    assert_eq!(found, ["issue 10", "issue 11", "issues 12", "PR #7", "#13"]);
}

#[test]
fn source_comments_name_no_internal_issue_numbers() {
    let root = root();
    let mut problems = Vec::new();
    let mut syntaxes = BTreeSet::new();
    let mut scanned = 0;
    for path in tracked_files(&root) {
        // Tracked but deleted in the working tree, or not text: nothing to read.
        let Ok(bytes) = fs::read(root.join(&path)) else {
            continue;
        };
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        let Some(syntax) = syntax_of(&path, &text) else {
            continue;
        };
        syntaxes.insert(syntax);
        scanned += 1;
        for (line, reference) in issue_references(&comments(&text, syntax)) {
            problems.push(format!("{path}:{line}: {reference}"));
        }
    }
    assert!(
        scanned > 100,
        "only {scanned} source and script files read: is the file list broken?"
    );
    for expected in [Syntax::Rust, Syntax::Shell, Syntax::Toml, Syntax::Yaml] {
        assert!(
            syntaxes.contains(&expected),
            "no {expected:?} file read: is the syntax detection broken?"
        );
    }
    assert!(
        problems.is_empty(),
        "a reader cannot open our issue tracker: say in the comment what each of these stands \
         for instead\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn legitimate_hashes_are_not_references() {
    let text = "#[derive(Debug)] #![allow(dead_code)] #!/usr/bin/env bash\n\
                colours #1e88e5 and #000000, fill: #333, background #fff0\n\
                see [setup](#1-dependencies) and &#123; or x#2\n\
                keys in PKCS #8, PKCS #1 or SEC1";
    assert_eq!(issue_references(text), []);
    // Three digits on a line that says nothing of colour read as an issue number.
    assert_eq!(issue_references("fixed in #333"), [(1, "#333".to_owned())]);
}

#[test]
fn references_in_comments_are_found_on_their_line_and_code_is_not_read() {
    let source = "//! Crate docs.\n\
                  let text = \"issue 11 in a string\";\n\
                  // Covered by issue 10 and\n\
                  /* PR #7, */ let s = \"#13\"; // see #14\n";
    assert_eq!(
        issue_references(&comments(source, Syntax::Rust)),
        [
            (3, "issue 10".to_owned()),
            (4, "PR #7".to_owned()),
            (4, "#14".to_owned()),
        ]
    );
    let script = "#!/usr/bin/env bash\necho \"issue 3\" ${#a[@]} # issue 4\n";
    assert_eq!(
        issue_references(&comments(script, Syntax::Shell)),
        [(2, "issue 4".to_owned())]
    );
}
