//! Internal issue numbers: a reader cannot open our tracker, so no page cites one.

use crate::{line_of, markdown_files, read, relative, root};

/// References to an issue tracker by number in `text`: "issue 11", "issues 10", "PR 7",
/// "ticket 3" (a line break may sit between word and number) and "#11" standing alone.
/// Returns the line and the text found.
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
        if before_ok && digits > 0 && after_ok && !covered {
            found.push((start, start + 1 + digits));
        }
    }
    found.sort();
    found
        .into_iter()
        .map(|(start, end)| (line_of(text, start), text[start..end].replace('\n', " ")))
        .collect()
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
