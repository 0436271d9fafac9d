use super::*;

/// The comment text of each line that has some, blanks collapsed.
fn kept(text: &str, syntax: Syntax) -> Vec<String> {
    let blanked = comments(text, syntax);
    assert_eq!(
        blanked.lines().count(),
        text.lines().count(),
        "line breaks must survive: {blanked:?}"
    );
    blanked
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| !line.is_empty())
        .collect()
}

#[test]
fn rust_comments_of_every_kind_are_kept_without_their_markers() {
    let source = r#"//! Crate docs.
/// Item docs.
#[derive(Debug)]
struct S<'a>(&'a str); // trailing
/* block /* nested */ still block */ fn f() {}
/** outer block doc */
fn g() { /*! inner block doc */ }
/**/ fn h() {}
"#;
    assert_eq!(
        kept(source, Syntax::Rust),
        [
            "Crate docs.",
            "Item docs.",
            "trailing",
            "block nested still block",
            "outer block doc",
            "inner block doc",
        ]
    );
}

#[test]
fn rust_strings_and_chars_hide_comment_markers() {
    let source = r###"let a = "// not \" /* not */";
let b = r#"a "quoted" // not"#; let c = br"/* not"; let d = cr##"" // "# not"##;
let e = '"'; let f = '\''; let g = b'/'; let h = '\u{2F}'; // after the chars
let r#type = 1; let raw = r"x"; // after a raw identifier
fn k<'a>(s: &'a str) -> &'a str { s } // after lifetimes
#![allow(dead_code)]
"###;
    assert_eq!(
        kept(source, Syntax::Rust),
        [
            "after the chars",
            "after a raw identifier",
            "after lifetimes"
        ]
    );
}

#[test]
fn go_comments_do_not_nest_and_raw_strings_hide_markers() {
    let source = "s := \"// not\" // kept\nr := `/* not\n// not */` /* a /* b */ x := '\\''\nc := '/' // rune\n";
    assert_eq!(kept(source, Syntax::Go), ["kept", "a /* b", "rune"]);
}

#[test]
fn shell_comments_start_a_word_outside_quotes() {
    let source = r##"#!/usr/bin/env bash
# Top.
echo "# not" '# not' a#b ${#list[@]} $# \# x # trailing
[ "$x" = 1 ];# after a semicolon
cat <<'EOF' >"$WORK/check.py"
# in the here-document
print("# not", 'it''s # not', f"# {x}", rb'# not')  # python's comment
EOF
cat <<-DONE
	# tab-indented, in the here-document
	DONE
echo "it's
# inside a two-line string, not a comment" # after it
"##;
    assert_eq!(
        kept(source, Syntax::Shell),
        [
            "!/usr/bin/env bash",
            "Top.",
            "trailing",
            "after a semicolon",
            "in the here-document",
            "python's comment",
            "tab-indented, in the here-document",
            "after it",
        ]
    );
}

#[test]
fn python_and_toml_comments_are_outside_strings() {
    let python =
        "x = \"# not\"  # kept\ny = '''\n# not: a string\n'''  # after\nz = 'a\\'b # not' # end\n";
    assert_eq!(kept(python, Syntax::Python), ["kept", "after", "end"]);
    let toml = "[package] # table\nname = \"a#b\" # name\npath = 'C:\\' # literal strings take no escapes\ntext = \"\"\"\n# not\n\"\"\"\n";
    assert_eq!(
        kept(toml, Syntax::Toml),
        ["table", "name", "literal strings take no escapes"]
    );
}

#[test]
fn yaml_comments_start_a_line_or_follow_a_blank() {
    let source = r##"# Top.
key: "value # not" # kept
other: 'it''s # not' # also
url: http://example.org/#fragment
list: [ "#not", a ]   # end
colour: "#1e88e5"
plain: it's fine # plain
script: |
  echo $# ${#a}
  # embedded comment
"##;
    assert_eq!(
        kept(source, Syntax::Yaml),
        ["Top.", "kept", "also", "end", "plain", "embedded comment"]
    );
}

#[test]
fn dockerfile_and_ignore_files_comment_whole_lines() {
    let source = "# syntax=docker/dockerfile:1\nFROM rust AS build # an argument, not a comment\n  # indented\nRUN echo \"#1\"\n";
    assert_eq!(
        kept(source, Syntax::LineHash),
        ["syntax=docker/dockerfile:1", "indented"]
    );
}

#[test]
fn syntax_follows_the_extension_or_the_interpreter() {
    let bash = "#!/usr/bin/env bash\nset -e\n";
    for (path, text, expected) in [
        ("crates/otelix/src/lib.rs", "", Some(Syntax::Rust)),
        ("tools/otelcol/main.go", "", Some(Syntax::Go)),
        ("tools/otelcol/go.mod", "", Some(Syntax::Go)),
        ("scripts/faults.sh", "", Some(Syntax::Shell)),
        (".ci/run", bash, Some(Syntax::Shell)),
        ("bin/tool", "#!/bin/sh -eu\n", Some(Syntax::Shell)),
        (
            "bin/check",
            "#!/usr/bin/env -S python3 -u\n",
            Some(Syntax::Python),
        ),
        ("scripts/check.py", "", Some(Syntax::Python)),
        ("Cargo.toml", "", Some(Syntax::Toml)),
        (
            "docs/observability/alertmanager.yml",
            "",
            Some(Syntax::Yaml),
        ),
        (
            "docs/deployment/kubernetes/namespace.yaml",
            "",
            Some(Syntax::Yaml),
        ),
        ("Dockerfile", "", Some(Syntax::LineHash)),
        (".dockerignore", "", Some(Syntax::LineHash)),
        ("fuzz/.gitignore", "", Some(Syntax::LineHash)),
        ("README.md", "", None),
        ("Cargo.lock", "", None),
        ("tools/otelcol/go.sum", "", None),
        ("docs/observability/grafana-dashboard.json", "", None),
        ("LICENSE", "Permission is hereby granted\n", None),
        ("bin/node-tool", "#!/usr/bin/env node\n", None),
    ] {
        assert_eq!(syntax_of(path, text), expected, "{path}");
    }
}

#[test]
fn build_output_fuzz_inputs_and_git_data_are_skipped() {
    for path in [
        "target/debug/build/out.rs",
        "fuzz/target/x.rs",
        "fuzz/corpus/headers/seed.rs",
        "fuzz/artifacts/headers/crash-1",
        ".git/hooks/pre-commit.sh",
    ] {
        assert!(skipped(path), "{path}");
    }
    for path in [
        "crates/otelix/src/lib.rs",
        "fuzz/fuzz_targets/headers.rs",
        ".ci/run",
    ] {
        assert!(!skipped(path), "{path}");
    }
}
