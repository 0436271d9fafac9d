//! The README's actix-web block is the guide's compiled one, and the guide's `Cargo.toml`
//! asks for the versions the workspace uses.

use std::collections::BTreeMap;

use crate::{read, root};

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
