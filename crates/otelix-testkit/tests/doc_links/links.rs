//! Every link in every Markdown file resolves: relative targets exist and their `#anchor`s
//! name a heading there; http(s) targets are well formed, never fetched.

use std::path::{Component, Path, PathBuf};

use crate::markdown::{anchors, links};
use crate::{markdown_files, read, relative, root};

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
