//! The README's configuration table is generated from otelix's settings table
//! ([`otelix::ENV_VARS`]): this test fails when the two differ, and rewrites the README's
//! table when run with `OTELIX_BLESS=1`:
//!
//! ```sh
//! OTELIX_BLESS=1 cargo test -p otelix --test readme
//! ```

use std::path::Path;

const BEGIN: &str = "<!-- configuration-table: generated from otelix::ENV_VARS; \
                     OTELIX_BLESS=1 cargo test -p otelix --test readme rewrites it -->";
const END: &str = "<!-- /configuration-table -->";

/// The table as the README shows it: one row per variable, in the settings table's order.
fn rendered() -> String {
    let mut table = String::from(
        "| Variable | Value | Default | Builder method | Meaning |\n|---|---|---|---|---|\n",
    );
    for var in otelix::ENV_VARS {
        table.push_str(&format!(
            "| `{}` | {} | {} | `{}` | {} |\n",
            var.name,
            var.value,
            var.default.replace('|', "\\|"),
            var.builder,
            var.meaning.replace('|', "\\|"),
        ));
    }
    table
}

#[test]
fn readme_configuration_table_is_the_settings_table() {
    otelix_testkit::generated::check_section(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"),
        BEGIN,
        END,
        &rendered(),
        "OTELIX_BLESS=1 cargo test -p otelix --test readme",
    );
}

#[test]
fn every_variable_has_a_builder_method_and_a_value_kind() {
    for var in otelix::ENV_VARS {
        assert!(
            var.builder.starts_with("with_"),
            "{}: {}",
            var.name,
            var.builder
        );
        assert!(!var.value.is_empty(), "{} has no value kind", var.name);
        assert!(!var.meaning.is_empty(), "{} has no meaning", var.name);
    }
}
