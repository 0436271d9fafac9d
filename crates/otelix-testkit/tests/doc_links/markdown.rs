//! A small Markdown reader: enough of CommonMark to find links and headings.

use std::collections::{BTreeMap, HashSet};

use crate::line_of;

/// A fenced code block's opening or closing line: up to three spaces, then three or more
/// backticks or tildes.
fn fence(line: &str) -> Option<(char, usize)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = &line[indent..];
    let marker = rest.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let count = rest.chars().take_while(|c| *c == marker).count();
    (count >= 3).then_some((marker, count))
}

/// The text with fenced code blocks, HTML comments and inline code spans blanked out (each
/// character a space, line breaks kept), so that what remains is what renders as prose and
/// offsets still map to line numbers.
fn prose(text: &str) -> String {
    blank_code_spans(&without_code_blocks(text))
}

/// The text with fenced code blocks and HTML comments blanked out: what holds headings.
fn without_code_blocks(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut open: Option<(char, usize)> = None;
    for line in text.split_inclusive('\n') {
        let content = line.trim_end_matches('\n');
        let blank_line = match (open, fence(content)) {
            (None, Some(f)) => {
                open = Some(f);
                true
            }
            (Some((marker, count)), Some((m, c))) => {
                if m == marker
                    && c >= count
                    && content.trim_start().trim_start_matches(m).trim().is_empty()
                {
                    open = None;
                }
                true
            }
            (Some(_), None) => true,
            (None, None) => false,
        };
        if blank_line {
            out.extend(line.chars().map(|c| if c == '\n' { '\n' } else { ' ' }));
        } else {
            out.push_str(line);
        }
    }
    blank_comments(&out)
}

fn blank(s: &str) -> String {
    s.chars()
        .map(|c| if c == '\n' { '\n' } else { ' ' })
        .collect()
}

fn blank_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find("-->")
            .map_or(rest.len(), |e| start + e + 3);
        out.push_str(&blank(&rest[start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Blanks `code spans`: a run of n backticks up to the next run of exactly n, within one
/// paragraph; an unmatched run is literal text.
fn blank_code_spans(text: &str) -> String {
    let bytes = text.as_bytes();
    let run_at = |i: usize| bytes[i..].iter().take_while(|b| **b == b'`').count();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        if bytes[i] != b'`' {
            i += 1;
            continue;
        }
        let n = run_at(i);
        let mut j = i + n;
        let mut close = None;
        while j < bytes.len() {
            if bytes[j] == b'`' {
                let m = run_at(j);
                if m == n {
                    close = Some(j + m);
                    break;
                }
                j += m;
            } else if text[j..].starts_with("\n\n") {
                break;
            } else {
                j += 1;
            }
        }
        match close {
            Some(end) => {
                out.push_str(&text[copied..i]);
                out.push_str(&blank(&text[i..end]));
                copied = end;
                i = end;
            }
            None => i += n,
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// A link found in a page: its line and its target as written.
#[derive(Debug)]
pub(crate) struct Link {
    pub(crate) line: usize,
    pub(crate) target: String,
}

/// A reference-style use, `[text][label]` or `[label][]`, whose label must be defined.
#[derive(Debug)]
pub(crate) struct Reference {
    pub(crate) line: usize,
    pub(crate) label: String,
}

fn normalize_label(label: &str) -> String {
    label
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Whether the `]` at `close` ends a bracketed text opened earlier in the same paragraph.
fn has_opening_bracket(text: &str, close: usize) -> bool {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = close;
    while i > 0 {
        i -= 1;
        match bytes[i] {
            b']' if i == 0 || bytes[i - 1] != b'\\' => depth += 1,
            b'[' if i == 0 || bytes[i - 1] != b'\\' => {
                if depth == 0 {
                    return true;
                }
                depth -= 1;
            }
            b'\n' if text[..i].ends_with('\n') => return false,
            _ => {}
        }
    }
    false
}

/// The destination of an inline link whose `(` is at `open`: `<...>` or up to whitespace or
/// the `)` that balances it.
fn destination(text: &str, open: usize) -> Option<String> {
    let rest = text[open + 1..].trim_start_matches([' ', '\t']);
    if let Some(angled) = rest.strip_prefix('<') {
        return angled.find('>').map(|end| angled[..end].to_owned());
    }
    let mut depth = 0usize;
    for (i, c) in rest.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return Some(rest[..i].to_owned()),
            ')' => depth -= 1,
            c if c.is_whitespace() => return Some(rest[..i].to_owned()),
            _ => {}
        }
    }
    None
}

/// Links of every form in `text` (a whole page): inline links and images, reference
/// definitions, autolinks; and the reference-style uses.
pub(crate) fn links(text: &str) -> (Vec<Link>, Vec<Reference>, HashSet<String>) {
    let prose = prose(text);
    let mut links = Vec::new();
    let mut references = Vec::new();
    let mut definitions = HashSet::new();

    // Definitions: `[label]: target` at the start of a line.
    let mut offset = 0;
    for line in prose.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if line.len() - trimmed.len() <= 3 && trimmed.starts_with('[') && !trimmed.starts_with("[^")
        {
            if let Some(end) = trimmed.find("]:") {
                let label = &trimmed[1..end];
                let target = trimmed[end + 2..]
                    .split_whitespace()
                    .next()
                    .unwrap_or_default();
                definitions.insert(normalize_label(label));
                links.push(Link {
                    line: line_of(&prose, offset),
                    target: target
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .to_owned(),
                });
            }
        }
        offset += line.len();
    }

    let bytes = prose.as_bytes();
    for (close, _) in prose.match_indices(']') {
        if (close > 0 && bytes[close - 1] == b'\\') || !has_opening_bracket(&prose, close) {
            continue;
        }
        match bytes.get(close + 1) {
            Some(b'(') => {
                if let Some(target) = destination(&prose, close + 1) {
                    links.push(Link {
                        line: line_of(&prose, close),
                        target,
                    });
                }
            }
            Some(b'[') => {
                let Some(end) = prose[close + 2..].find(']') else {
                    continue;
                };
                let mut label = prose[close + 2..close + 2 + end].to_owned();
                if label.is_empty() {
                    // `[label][]`: the text is the label.
                    let start = prose[..close].rfind('[').unwrap_or(close);
                    label = prose[start + 1..close].to_owned();
                }
                references.push(Reference {
                    line: line_of(&prose, close),
                    label: normalize_label(&label),
                });
            }
            _ => {}
        }
    }

    // Autolinks: <https://...>.
    for (start, _) in prose.match_indices('<') {
        let rest = &prose[start + 1..];
        if rest.starts_with("http://") || rest.starts_with("https://") {
            if let Some(end) = rest.find('>') {
                links.push(Link {
                    line: line_of(&prose, start),
                    target: rest[..end].to_owned(),
                });
            }
        }
    }
    (links, references, definitions)
}

/// GitHub's anchor for a heading's text: the rendered text lower-cased, each space a `-`,
/// everything but letters, digits, `-` and `_` removed.
fn slug(heading: &str) -> String {
    // Render links and images as their text: `[text](url)` becomes `text`.
    let mut text = String::with_capacity(heading.len());
    let mut rest = heading;
    while let Some(close) = rest.find("](") {
        let Some(end) = destination(rest, close + 1).map(|d| close + 2 + d.len()) else {
            break;
        };
        text.push_str(&rest[..close]);
        rest = rest[end..].strip_prefix(')').unwrap_or(&rest[end..]);
    }
    text.push_str(rest);
    text.trim()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .flat_map(char::to_lowercase)
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors a page defines: its headings' slugs (repeats get `-1`, `-2`, ... as on
/// GitHub) and explicit `id`/`name` attributes.
pub(crate) fn anchors(text: &str) -> HashSet<String> {
    let prose = without_code_blocks(text);
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut anchors = HashSet::new();
    for line in prose.lines() {
        let trimmed = line.trim_start();
        if line.len() - trimmed.len() > 3 {
            continue;
        }
        let level = trimmed.chars().take_while(|c| *c == '#').count();
        if (1..=6).contains(&level)
            && trimmed[level..]
                .chars()
                .next()
                .is_none_or(char::is_whitespace)
        {
            let title = trimmed[level..].trim();
            // An optional closing sequence of #s.
            let title = title.trim_end_matches('#').trim_end();
            let base = slug(title);
            let n = seen.entry(base.clone()).or_insert(0);
            anchors.insert(if *n == 0 { base } else { format!("{base}-{n}") });
            *n += 1;
        }
        for attribute in ["id=\"", "name=\""] {
            for (start, _) in line.match_indices(attribute) {
                let value = &line[start + attribute.len()..];
                if let Some(end) = value.find('"') {
                    anchors.insert(value[..end].to_owned());
                }
            }
        }
    }
    anchors
}

#[test]
fn slugs_follow_github() {
    assert_eq!(
        slug("Faults under load (issue 11)"),
        "faults-under-load-issue-11"
    );
    assert_eq!(slug("1. Run it"), "1-run-it");
    assert_eq!(slug("11. /metrics"), "11-metrics");
    assert_eq!(
        slug("Hostile input (in `cargo test`)"),
        "hostile-input-in-cargo-test"
    );
    assert_eq!(
        slug("What `otelix::init` sets up"),
        "what-otelixinit-sets-up"
    );
    assert_eq!(
        slug("See [the guide](docs/guide.md) now"),
        "see-the-guide-now"
    );
    assert_eq!(slug("snake_case and CPU × 2"), "snake_case-and-cpu--2");
    let page =
        "# Title\n\n## Same\n\n```sh\n# not a heading\n```\n\n## Same\n<a id=\"custom\"></a>\n";
    let found = anchors(page);
    for anchor in ["title", "same", "same-1", "custom"] {
        assert!(found.contains(anchor), "{anchor} missing from {found:?}");
    }
    assert!(!found.contains("not-a-heading"));
}

#[test]
fn the_reader_finds_every_kind_of_link_and_skips_code() {
    let page = "See [a](a.md#x \"title\"), ![img](img.png) and [b][ref], [c][].\n\
                Not `[code](x.md)`, nor <!-- [hidden](y.md) -->.\n\
                [![badge](badge.svg)](https://example.org/(paren))\n\
                <https://example.org/auto>\n\n\
                ```md\n[fenced](z.md)\n```\n\n\
                [ref]: <target.md>\n[C]: https://example.org\n";
    let (links, references, definitions) = links(page);
    let targets: Vec<&str> = links.iter().map(|l| l.target.as_str()).collect();
    for expected in [
        "a.md#x",
        "img.png",
        "badge.svg",
        "https://example.org/(paren)",
        "https://example.org/auto",
        "target.md",
        "https://example.org",
    ] {
        assert!(
            targets.contains(&expected),
            "{expected} missing from {targets:?}"
        );
    }
    for unexpected in ["x.md", "y.md", "z.md"] {
        assert!(
            !targets.contains(&unexpected),
            "{unexpected} found in {targets:?}"
        );
    }
    let labels: Vec<&str> = references.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(labels, ["ref", "c"]);
    assert!(definitions.contains("ref") && definitions.contains("c"));
}
