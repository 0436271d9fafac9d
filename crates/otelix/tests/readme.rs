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

/// A per-signal form of an OTLP setting (`OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE`) that says no
/// more than its general form: shown in the general form's row.
fn folded(var: &otelix::EnvVar) -> bool {
    var.meaning.starts_with("as OTEL_EXPORTER_OTLP_") && var.meaning.ends_with(" only")
}

/// The per-signal forms folded into `general`'s row.
fn per_signal(general: &otelix::EnvVar) -> Vec<&'static otelix::EnvVar> {
    let Some(suffix) = general.name.strip_prefix("OTEL_EXPORTER_OTLP_") else {
        return Vec::new();
    };
    otelix::ENV_VARS
        .iter()
        .filter(|var| folded(var))
        .filter(|var| {
            ["TRACES", "METRICS", "LOGS"]
                .iter()
                .any(|signal| var.name == format!("OTEL_EXPORTER_OTLP_{signal}_{suffix}"))
        })
        .collect()
}

/// The table as the README shows it: one row per variable, in the settings table's order, a
/// setting's per-signal forms in its row.
fn rendered() -> String {
    let mut table = String::from(
        "| Variable | Value | Default | Builder method | Meaning |\n|---|---|---|---|---|\n",
    );
    for var in otelix::ENV_VARS.iter().filter(|var| !folded(var)) {
        let signals = per_signal(var);
        let mut names = format!("`{}`", var.name);
        let mut builders = format!("`{}`", var.builder);
        if !signals.is_empty() {
            let list = |field: fn(&otelix::EnvVar) -> &'static str| {
                signals
                    .iter()
                    .map(|v| format!("`{}`", field(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            names.push_str(&format!(" (per signal: {})", list(|v| v.name)));
            builders.push_str(&format!(", {}", list(|v| v.builder)));
        }
        table.push_str(&format!(
            "| {names} | {} | {} | {builders} | {} |\n",
            var.value,
            var.default.replace('|', "\\|"),
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
fn every_per_signal_form_is_shown_in_its_general_row() {
    let table = rendered();
    for var in otelix::ENV_VARS {
        assert!(
            table.contains(&format!("`{}`", var.name)),
            "{} is not in the table",
            var.name
        );
    }
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
