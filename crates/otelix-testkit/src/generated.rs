//! Generated sections of documentation files: a test renders what belongs between two marker
//! lines and [`check_section`] fails when the file says anything else, or rewrites the section
//! when the test runs with `OTELIX_BLESS=1`. So a table that the code produces (the
//! configuration table, the metrics table) cannot drift from the code.

use std::path::Path;

/// Compares the text between the lines `begin` and `end` of the file at `path` with
/// `expected`; with `OTELIX_BLESS=1` in the environment, writes `expected` there instead.
///
/// `begin` and `end` are whole lines, without their line ends. `how_to_regenerate` is the
/// command a reader should run, quoted in the failure message.
///
/// # Panics
///
/// When the file cannot be read (or, blessing, written), lacks a marker, or differs from
/// `expected` without `OTELIX_BLESS=1`: this is a test helper.
pub fn check_section(path: &Path, begin: &str, end: &str, expected: &str, how_to_regenerate: &str) {
    let bless = std::env::var_os("OTELIX_BLESS").is_some_and(|v| v == "1");
    check_or_bless(path, [begin, end], expected, how_to_regenerate, bless);
}

#[allow(clippy::panic)]
fn check_or_bless(
    path: &Path,
    [begin, end]: [&str; 2],
    expected: &str,
    how_to_regenerate: &str,
    bless: bool,
) {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{} cannot be read: {e}", path.display()));
    let begin_line = format!("{begin}\n");
    let end_line = format!("{end}\n");
    let (before, rest) = text
        .split_once(&begin_line)
        .unwrap_or_else(|| panic!("{} has no line {begin}", path.display()));
    let (current, after) = rest
        .split_once(&end_line)
        .unwrap_or_else(|| panic!("{} has no line {end} after {begin}", path.display()));
    if current == expected {
        return;
    }
    if bless {
        std::fs::write(
            path,
            format!("{before}{begin_line}{expected}{end_line}{after}"),
        )
        .unwrap_or_else(|e| panic!("{} cannot be written: {e}", path.display()));
        return;
    }
    panic!(
        "the generated section of {} differs from what the code produces.\n\
         Regenerate it with `{how_to_regenerate}`, or put this between the markers:\n\n{expected}",
        path.display()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_equal_section_passes_and_a_different_one_fails() {
        let dir = tempfile::tempdir().expect("a scratch directory");
        let path = dir.path().join("doc.md");
        std::fs::write(&path, "intro\n<!-- b -->\n| a |\n<!-- e -->\nafter\n").expect("write");
        let markers = ["<!-- b -->", "<!-- e -->"];
        check_or_bless(&path, markers, "| a |\n", "regenerate", false);
        let differs = std::panic::catch_unwind(|| {
            check_or_bless(&path, markers, "| b |\n", "regenerate", false);
        });
        assert!(differs.is_err(), "a different section passed");
        check_or_bless(&path, markers, "| b |\n", "regenerate", true);
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "intro\n<!-- b -->\n| b |\n<!-- e -->\nafter\n"
        );
    }
}
