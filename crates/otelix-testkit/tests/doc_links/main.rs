//! The Markdown a reader follows, checked as a whole-workspace test: every link in every
//! Markdown file of the repository resolves (relative targets exist and their `#anchor`s name a
//! heading there; http(s) targets are well formed, never fetched), no page and no comment of a
//! source or script file cites an internal issue number instead of saying what it stands for,
//! the README's actix-web block is the guide's compiled one, and the guide's `Cargo.toml` asks
//! for the versions the workspace uses.
//!
//! It lives here because the testkit is the workspace's test-support crate. It reads files, and
//! asks git which files are the workspace's; it changes nothing.

mod comments;
mod guide;
mod issue_numbers;
mod links;
mod markdown;

use std::fs;
use std::path::{Path, PathBuf};

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

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
}
