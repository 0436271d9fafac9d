//! The README's configuration table lists every variable otelix reads, with its default, and
//! nothing else.

#[test]
fn readme_configuration_table_matches_the_code() {
    let readme = include_str!("../../../README.md");
    for var in otelix::ENV_VARS {
        let row = format!("| `{}` | {} |", var.name, var.default);
        assert!(
            readme.contains(&row),
            "README lacks the row for {}: {row}",
            var.name
        );
    }
    let section = readme
        .split("\n## Configuration")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("README has a Configuration section");
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let name = line
            .trim_start_matches("| `")
            .split('`')
            .next()
            .unwrap_or_default();
        assert!(
            otelix::ENV_VARS.iter().any(|v| v.name == name),
            "README documents {name}, which the code does not read"
        );
    }
}
