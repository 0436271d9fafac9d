//! The releases users run are the releases we test: every image of a stack program in
//! `docker-compose.yml` and in the Kubernetes manifests names the release whose Go module
//! `tools/<peer>/go.mod` pins (what `scripts/lib/peers.sh` builds for the integration suite and
//! `scripts/validate-stack.sh`), and the collector distribution's modules are all of one release.
//! Reads files only: runs in every `cargo test`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize as _;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `module version` pairs of a go.mod's `require` lines (block and single-line forms).
fn requirements(go_mod: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut in_block = false;
    for line in go_mod.lines() {
        let line = line.split("//").next().unwrap_or_default().trim();
        let spec = if in_block {
            if line == ")" {
                in_block = false;
                continue;
            }
            line
        } else if line == "require (" {
            in_block = true;
            continue;
        } else if let Some(rest) = line.strip_prefix("require ") {
            rest
        } else {
            continue;
        };
        let mut words = spec.split_whitespace();
        if let (Some(module), Some(version)) = (words.next(), words.next()) {
            out.insert(module.to_owned(), version.to_owned());
        }
    }
    out
}

fn pin(peer: &str, module: &str) -> String {
    let path = format!("tools/{peer}/go.mod");
    requirements(&read(&path))
        .remove(module)
        .unwrap_or_else(|| panic!("{path} does not require {module}"))
}

/// `(major, minor, patch)` of `v1.2.3` or `1.2.3`.
fn semver(version: &str) -> (u64, u64, u64) {
    let parts: Vec<u64> = version
        .trim_start_matches('v')
        .split('.')
        .map(|p| {
            p.parse()
                .unwrap_or_else(|_| panic!("not a version: {version}"))
        })
        .collect();
    assert_eq!(parts.len(), 3, "not a version: {version}");
    (parts[0], parts[1], parts[2])
}

/// The image tag each stack program must carry, from the Go module pins.
fn expected_tags() -> BTreeMap<&'static str, String> {
    let mut tags = BTreeMap::new();

    // The collector: our distribution is built from the collector's modules at release
    // v0.N.P; the images users run are the contrib (or core) distribution's 0.N.P.
    let collector = pin("otelcol", "go.opentelemetry.io/collector/otelcol");
    tags.insert(
        "otel/opentelemetry-collector-contrib",
        collector.trim_start_matches('v').to_owned(),
    );
    tags.insert(
        "otel/opentelemetry-collector",
        collector.trim_start_matches('v').to_owned(),
    );

    // Jaeger tags each v2 release on the same commit as a v1 module version:
    // v2.N.P is module v1.(63+N).P (v2.0.0 = v1.63.0, v2.12.0 = v1.75.0).
    let (major, minor, patch) = semver(&pin("jaeger", "github.com/jaegertracing/jaeger"));
    assert_eq!(
        major, 1,
        "tools/jaeger pins a module version v1.x (Jaeger v2's module line)"
    );
    assert!(
        minor >= 63,
        "tools/jaeger pins v1.{minor}: older than Jaeger v2"
    );
    tags.insert("jaegertracing/jaeger", format!("2.{}.{patch}", minor - 63));

    // Prometheus v3.N.P is module v0.3NN.P (v3.16.0 = v0.316.0).
    let (_, minor, patch) = semver(&pin("prometheus", "github.com/prometheus/prometheus"));
    assert!(
        minor >= 300,
        "tools/prometheus pins v0.{minor}: not a Prometheus 3 release"
    );
    tags.insert("prom/prometheus", format!("v3.{}.{patch}", minor - 300));

    // Alertmanager and VictoriaLogs: the module version is the release.
    tags.insert(
        "prom/alertmanager",
        pin("alertmanager", "github.com/prometheus/alertmanager"),
    );
    tags.insert(
        "victoriametrics/victoria-logs",
        pin("victorialogs", "github.com/VictoriaMetrics/VictoriaLogs"),
    );
    tags
}

/// Every `image:` of a YAML document tree, with where it was found.
fn images(value: &serde_yaml_ng::Value, out: &mut Vec<String>) {
    match value {
        serde_yaml_ng::Value::Mapping(map) => {
            for (key, value) in map {
                if key.as_str() == Some("image") {
                    if let Some(image) = value.as_str() {
                        out.push(image.to_owned());
                    }
                }
                images(value, out);
            }
        }
        serde_yaml_ng::Value::Sequence(items) => items.iter().for_each(|v| images(v, out)),
        _ => {}
    }
}

/// `(name, tag)` of `registry/name:tag`; the tag may hold `${VAR:-default}`.
fn split_image(image: &str) -> (&str, &str) {
    let name_start = image.rfind('/').map_or(0, |i| i + 1);
    match image[name_start..].find(':') {
        Some(colon) => (
            &image[..name_start + colon],
            &image[name_start + colon + 1..],
        ),
        None => (image, ""),
    }
}

/// The files users deploy from: the compose file and every Kubernetes manifest.
fn deployment_files() -> Vec<String> {
    let mut files = vec!["docker-compose.yml".to_owned()];
    let dir = root().join("docs/deployment/kubernetes");
    let mut manifests: Vec<String> = std::fs::read_dir(&dir)
        .expect("docs/deployment/kubernetes")
        .map(|e| {
            e.expect("a directory entry")
                .file_name()
                .into_string()
                .expect("UTF-8")
        })
        .filter(|name| name.ends_with(".yaml"))
        .map(|name| format!("docs/deployment/kubernetes/{name}"))
        .collect();
    manifests.sort();
    files.extend(manifests);
    files
}

/// Images that are not built from a Go module here, and why they may differ.
const NOT_PINNED_BY_TOOLS: &[(&str, &str)] = &[
    (
        "otelix/wwmaa-backend",
        "the example itself, built from this workspace",
    ),
    (
        "grafana/grafana",
        "not run by the integration suite (dashboards are checked through Prometheus's API)",
    ),
    (
        "postgres",
        "the suite runs Debian's PostgreSQL (scripts/services.sh)",
    ),
    (
        "redis",
        "the suite runs Debian's Redis (scripts/services.sh)",
    ),
];

#[test]
fn deployed_images_name_the_releases_the_suite_builds() {
    let expected = expected_tags();
    let mut checked = 0;
    let mut problems = Vec::new();
    for file in deployment_files() {
        for doc in serde_yaml_ng::Deserializer::from_str(&read(&file)) {
            let value =
                serde_yaml_ng::Value::deserialize(doc).unwrap_or_else(|e| panic!("{file}: {e}"));
            let mut found = Vec::new();
            images(&value, &mut found);
            for image in found {
                let (name, tag) = split_image(&image);
                if let Some(want) = expected.get(name) {
                    checked += 1;
                    if tag != want {
                        problems.push(format!(
                            "{file}: {image}, but tools/ builds {name} {want} for the tests"
                        ));
                    }
                } else if !NOT_PINNED_BY_TOOLS.iter().any(|(n, _)| *n == name) {
                    problems.push(format!(
                        "{file}: {image} is a program the integration suite does not build or \
                         run: add it to tools/ (and this test) or explain it in NOT_PINNED_BY_TOOLS"
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        checked >= 7,
        "only {checked} stack images found: did the files move?"
    );
}

#[test]
fn the_collector_distribution_is_one_release() {
    let go_mod = read("tools/otelcol/go.mod");
    let requires = requirements(&go_mod);
    let release = requires
        .get("go.opentelemetry.io/collector/otelcol")
        .expect("tools/otelcol requires go.opentelemetry.io/collector/otelcol")
        .clone();
    // The collector publishes unstable modules as v0.N.P and stable ones as v1.(N-94).P,
    // contrib as v0.N.P: one release, three version lines.
    let (_, minor, patch) = semver(&release);
    let stable = format!("v1.{}.{patch}", minor - 94);
    let mut problems = Vec::new();
    for (module, version) in &requires {
        let ours = module.starts_with("go.opentelemetry.io/collector")
            || module.starts_with("github.com/open-telemetry/opentelemetry-collector-contrib/");
        if ours && *version != release && *version != stable {
            problems.push(format!("{module} {version} (release {release} / {stable})"));
        }
    }
    assert!(
        problems.is_empty(),
        "tools/otelcol/go.mod mixes collector releases:\n{}",
        problems.join("\n")
    );
    // main.go reports the release it was built from.
    let main = read("tools/otelcol/main.go");
    for constant in ["coreVersion", "contribVersion"] {
        let line = format!("{constant} = \"{release}\"");
        assert!(
            main.lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>().join(" ") == line),
            "tools/otelcol/main.go: {constant} is not {release}"
        );
    }
}

#[test]
fn image_names_and_tags_split_at_the_tag_colon() {
    assert_eq!(
        split_image("prom/prometheus:v3.16.0"),
        ("prom/prometheus", "v3.16.0")
    );
    assert_eq!(split_image("a/b:${TAG:-local}"), ("a/b", "${TAG:-local}"));
    assert_eq!(split_image("host:5000/a/b:1.0"), ("host:5000/a/b", "1.0"));
    assert_eq!(split_image("redis"), ("redis", ""));
}

#[test]
fn requirements_are_read_from_both_go_mod_forms() {
    let reqs = requirements(
        "module x\n\nrequire a.b/c v1.2.3\n\nrequire (\n\td.e/f v0.1.0 // indirect\n\tg.h v2.0.0\n)\n",
    );
    assert_eq!(reqs.get("a.b/c").map(String::as_str), Some("v1.2.3"));
    assert_eq!(reqs.get("d.e/f").map(String::as_str), Some("v0.1.0"));
    assert_eq!(reqs.get("g.h").map(String::as_str), Some("v2.0.0"));
    assert_eq!(reqs.len(), 3);
}
