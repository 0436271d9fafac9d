//! The Markdown a reader follows, checked as a whole-workspace test: every link in every
//! Markdown file of the repository resolves (relative targets exist and their `#anchor`s name a
//! heading there; http(s) targets are well formed, never fetched), no page cites an internal
//! issue number instead of saying what it stands for, the README's actix-web block is the
//! guide's compiled one, and the guide's `Cargo.toml` asks for the versions the workspace uses.
//!
//! It lives here because the testkit is the workspace's test-support crate; it reads files only.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Component, Path, PathBuf};

/// The repository root.
fn root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| panic!("{} has no grandparent", manifest.display()))
}

/// Every Markdown file of the repository, outside build output and hidden directories.
fn markdown_files(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !(name.starts_with('.') || name == "target" || name == "node_modules") {
                    walk(&path, out);
                }
            } else if name.ends_with(".md") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(root, &mut files);
    files.sort();
    files
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn relative<'a>(root: &Path, path: &'a Path) -> std::borrow::Cow<'a, str> {
    path.strip_prefix(root).unwrap_or(path).to_string_lossy()
}

// ---------------------------------------------------------------------------------------------
// A small Markdown reader: enough of CommonMark to find links and headings.

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

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
}

/// A link found in a page: its line and its target as written.
#[derive(Debug)]
struct Link {
    line: usize,
    target: String,
}

/// A reference-style use, `[text][label]` or `[label][]`, whose label must be defined.
#[derive(Debug)]
struct Reference {
    line: usize,
    label: String,
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
fn links(text: &str) -> (Vec<Link>, Vec<Reference>, HashSet<String>) {
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
fn anchors(text: &str) -> HashSet<String> {
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

/// What is wrong with an absolute URL's syntax, if anything: a scheme, `//`, a host of
/// letters, digits, dots and dashes (or a bracketed IPv6 address), an optional numeric port,
/// and no whitespace or characters that cannot appear in a URL.
fn url_problem(url: &str) -> Option<&'static str> {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return Some("not http:// or https://");
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        match v6.split_once(']') {
            Some((_, port)) => ("[v6]", port.strip_prefix(':')),
            None => return Some("unclosed IPv6 bracket"),
        }
    } else {
        match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return Some("no host");
    }
    if host != "[v6]"
        && !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return Some("the host has characters a host name cannot have");
    }
    if host.starts_with(['.', '-']) || host.ends_with('-') || host.contains("..") {
        return Some("malformed host");
    }
    if let Some(port) = port {
        if port.is_empty() || !port.chars().all(|c| c.is_ascii_digit()) || port.len() > 5 {
            return Some("the port is not a number");
        }
    }
    if url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | '`'))
    {
        return Some("characters that cannot appear in a URL");
    }
    None
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `path` with `.` and `..` resolved lexically; `None` when it climbs above the root.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            other => out.push(other),
        }
    }
    Some(out)
}

/// What is wrong with `target`, linked from `page`, if anything.
fn link_problem(root: &Path, page: &Path, target: &str) -> Option<String> {
    if target.is_empty() {
        return Some("empty target".into());
    }
    if target.starts_with("http://") || target.starts_with("https://") {
        return url_problem(target).map(|p| format!("malformed URL ({p})"));
    }
    if let Some(address) = target.strip_prefix("mailto:") {
        return (!address.contains('@')).then(|| "malformed mailto: address".into());
    }
    if let Some((scheme, _)) = target.split_once(':') {
        if !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+')
        {
            return Some(format!("unsupported scheme {scheme}:"));
        }
    }
    let (path_part, anchor) = match target.split_once('#') {
        Some((path, anchor)) => (path, Some(anchor)),
        None => (target, None),
    };
    let path_part = path_part.split('?').next().unwrap_or_default();
    let file = if path_part.is_empty() {
        page.to_path_buf()
    } else {
        let decoded = percent_decode(path_part);
        let joined = match decoded.strip_prefix('/') {
            Some(from_root) => root.join(from_root),
            None => page.parent().unwrap_or(root).join(&decoded),
        };
        match normalize(&joined) {
            Some(file) if file.starts_with(root) => file,
            _ => return Some("points outside the repository".into()),
        }
    };
    if !file.exists() {
        return Some(format!("{} does not exist", relative(root, &file)));
    }
    let anchor = anchor?;
    let markdown = if file.is_dir() {
        file.join("README.md")
    } else {
        file.clone()
    };
    if markdown.extension().is_some_and(|e| e == "md") && markdown.is_file() {
        let wanted = percent_decode(anchor).to_lowercase();
        if anchors(&read(&markdown)).contains(&wanted) {
            return None;
        }
        return Some(format!(
            "{} has no heading whose anchor is #{anchor}",
            relative(root, &markdown)
        ));
    }
    let line_anchor = anchor.strip_prefix('L').is_some_and(|l| {
        l.split("-L")
            .all(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    });
    (!line_anchor).then(|| format!("#{anchor} on a file that is not Markdown"))
}

#[test]
fn every_markdown_link_resolves() {
    let root = root();
    let mut problems = Vec::new();
    let mut checked = 0;
    for page in markdown_files(&root) {
        let text = read(&page);
        let (links, references, definitions) = links(&text);
        for link in links {
            checked += 1;
            if let Some(problem) = link_problem(&root, &page, &link.target) {
                problems.push(format!(
                    "{}:{}: ({}) {problem}",
                    relative(&root, &page),
                    link.line,
                    link.target
                ));
            }
        }
        for reference in references {
            // `[USER:PASSWORD@]HOST[:PORT][/DB]` is text: only a label that starts like a
            // name or a number reads as a reference whose definition went missing.
            let label_like = reference.label.starts_with(|c: char| c.is_alphanumeric());
            if label_like && !definitions.contains(&reference.label) {
                problems.push(format!(
                    "{}:{}: [{}] is used but never defined",
                    relative(&root, &page),
                    reference.line,
                    reference.label
                ));
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} links found: is the parser broken?"
    );
    assert!(
        problems.is_empty(),
        "{} dead or malformed links:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

// ---------------------------------------------------------------------------------------------
// Internal issue numbers.

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

// ---------------------------------------------------------------------------------------------
// The README's block and the guide's dependencies.

/// The first fenced block after the line containing `marker`.
fn block_after<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    let start = text.find(marker)?;
    let open = start + text[start..].find("\n```")? + 1;
    let body = open + text[open..].find('\n')? + 1;
    let close = body + text[body..].find("\n```")?;
    Some(&text[body..close + 1])
}

#[test]
fn the_readmes_actix_web_block_is_the_guides_compiled_one() {
    let root = root();
    let readme = read(&root.join("README.md"));
    let guide = read(&root.join("docs/guide.md"));
    let in_readme = block_after(&readme, "\n## Instrument an actix-web service")
        .expect("README.md has a block under 'Instrument an actix-web service'");
    let in_guide = block_after(&guide, "<!-- readme-snippet:")
        .expect("docs/guide.md has a block after its readme-snippet marker");
    assert_eq!(
        in_readme, in_guide,
        "README.md's 'Instrument an actix-web service' block must be byte for byte the block of \
         docs/guide.md that the doc tests compile"
    );
}

/// `name = "1.2"` or `name = { version = "1.2", ... }` of a TOML dependency line.
fn dependency_version(line: &str) -> Option<(&str, &str)> {
    let (name, value) = line.split_once('=')?;
    let value = value.trim();
    let quoted = match value.strip_prefix('{') {
        Some(table) => table
            .split("version")
            .nth(1)?
            .trim_start()
            .strip_prefix('=')?,
        None => value,
    };
    let version = quoted.trim_start().strip_prefix('"')?.split('"').next()?;
    Some((name.trim(), version))
}

/// The part of a version that Cargo's default (caret) requirement keeps fixed: up to and
/// including the first non-zero component (`0.9.1` → `0.9`, `4.2` → `4`).
fn compatible_family(version: &str) -> Vec<&str> {
    let mut family = Vec::new();
    for part in version.split('.') {
        family.push(part);
        if part != "0" {
            break;
        }
    }
    family
}

#[test]
fn the_guides_dependencies_match_the_workspaces() {
    let root = root();
    let guide = read(&root.join("docs/guide.md"));
    let manifest = read(&root.join("Cargo.toml"));
    let workspace: BTreeMap<&str, &str> = manifest
        .split("[workspace.dependencies]")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .expect("Cargo.toml has [workspace.dependencies]")
        .lines()
        .filter_map(dependency_version)
        .collect();
    let block = block_after(&guide, "<!-- guide-dependencies")
        .expect("docs/guide.md has a block after its guide-dependencies marker");
    let mut compared = 0;
    for (name, version) in block.lines().filter_map(dependency_version) {
        let Some(ours) = workspace.get(name) else {
            panic!("docs/guide.md asks for {name}, which the workspace does not use");
        };
        assert_eq!(
            compatible_family(version),
            compatible_family(ours),
            "docs/guide.md asks for {name} {version}; the workspace builds against {ours}"
        );
        compared += 1;
    }
    assert!(
        compared >= 5,
        "only {compared} dependencies read from the guide's block"
    );
}

// ---------------------------------------------------------------------------------------------
// The reader itself.

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

#[test]
fn urls_are_checked_for_syntax_only() {
    for good in [
        "https://example.org",
        "http://localhost:16686/trace/$id",
        "https://[::1]:4318/v1/traces",
        "https://a.b/c?d=e#f",
    ] {
        assert_eq!(url_problem(good), None, "{good}");
    }
    for bad in [
        "https://",
        "https://exa mple.org",
        "http://host:port/",
        "https://-bad.org",
        "ftp://x.org",
    ] {
        assert!(url_problem(bad).is_some(), "{bad}");
    }
}

#[test]
fn issue_references_are_found_in_every_spelling() {
    let text = "after issue 10, see (issue 11) and issues\n12; PR #7 fixed #13.\nNot #1-run-it, &#123;, tissue 4 or issue tracker.";
    let found: Vec<String> = issue_references(text).into_iter().map(|(_, t)| t).collect();
    assert_eq!(found, ["issue 10", "issue 11", "issues 12", "PR #7", "#13"]);
}
