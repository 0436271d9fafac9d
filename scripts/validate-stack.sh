#!/usr/bin/env bash
# Validates the observability and deployment files without Docker or a cluster:
#   otel-collector.yaml (and the OTLP delivery tests' collector config), docker-compose.yml,
#   Dockerfile,
#   docs/observability/ (Prometheus, rules and their unit tests, Alertmanager, Grafana, SLOs),
#   docs/deployment/kubernetes/.
# Runnable by hand and by CI: bash scripts/validate-stack.sh
#
# Installs what it needs, once: the collector distribution, Jaeger, Prometheus/promtool and
# Alertmanager/amtool built from their pinned Go modules (scripts/lib/peers.sh, tools/), and a
# Python venv with check-jsonschema, kubernetes-validate, PyYAML, hadolint and shellcheck
# (scripts/lib/tools.sh). The collector configs and Jaeger's are loaded by the real programs.
# Prints one line per check and "N passed, M failed"; exits non-zero when a check fails.
set -euo pipefail

cd "$(dirname "$0")/.."

OBS=docs/observability
K8S=docs/deployment/kubernetes
# The Kubernetes version whose schemas the manifests are checked against.
K8S_VERSION="${K8S_VERSION:-1.37.0}"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

note() { printf 'validate-stack: %s\n' "$*" >&2; }

# shellcheck source=scripts/lib/tools.sh
. scripts/lib/tools.sh
# shellcheck source=scripts/lib/peers.sh
. scripts/lib/peers.sh

peers_build otelcol jaeger prometheus alertmanager
install_venv

# ---------------------------------------------------------------------------------------------
# Checks that need more than one tool call, in Python (PyYAML from the venv).
# ---------------------------------------------------------------------------------------------
cat >"$WORK/checks.py" <<'PYEOF'
"""Structural checks of the stack files; one sub-command per check. Exit 1 with reasons."""
import json
import os
import re
import sys

import yaml

OBS = "docs/observability"
K8S = "docs/deployment/kubernetes"
errors = []


def fail(msg):
    errors.append(msg)


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def check_collector_config(cfg, where, root=False):
    """Pipelines only use defined components; memory_limiter first, batch present."""
    for section in ("receivers", "processors", "exporters"):
        if not isinstance(cfg.get(section), dict) or not cfg[section]:
            fail(f"{where}: no {section}")
    service = cfg.get("service") or {}
    for ext in service.get("extensions") or []:
        if ext not in (cfg.get("extensions") or {}):
            fail(f"{where}: service.extensions lists undefined extension {ext!r}")
    if "health_check" not in (service.get("extensions") or []):
        fail(f"{where}: health_check extension not enabled")
    pipelines = service.get("pipelines") or {}
    for signal in ("traces", "metrics", "logs"):
        if signal not in pipelines:
            fail(f"{where}: no {signal} pipeline")
    used = {"receivers": set(), "processors": set(), "exporters": set()}
    for name, pipe in pipelines.items():
        for section in used:
            items = pipe.get(section) or []
            if section != "processors" and not items:
                fail(f"{where}: pipeline {name} has no {section}")
            for item in items:
                used[section].add(item)
                if item not in (cfg.get(section) or {}):
                    fail(f"{where}: pipeline {name} uses undefined {section[:-1]} {item!r}")
        procs = pipe.get("processors") or []
        if not procs or procs[0] != "memory_limiter":
            fail(f"{where}: pipeline {name} must start with memory_limiter, has {procs}")
        if "batch" not in procs:
            fail(f"{where}: pipeline {name} has no batch processor")
    for section, names in used.items():
        for defined in cfg.get(section) or {}:
            if defined not in names:
                fail(f"{where}: {section[:-1]} {defined!r} is defined but in no pipeline")
    if root:
        grpc = cfg["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]
        http = cfg["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
        if not grpc.endswith(":4317") or not http.endswith(":4318"):
            fail(f"{where}: OTLP receivers must listen on 4317 (gRPC) and 4318 (HTTP)")
        if cfg["exporters"].get("otlp_grpc/jaeger", {}).get("endpoint") != "jaeger:4317":
            fail(f"{where}: otlp_grpc/jaeger must export to jaeger:4317")
        logs = cfg["exporters"].get("otlp_http/victorialogs", {}).get("endpoint", "")
        if not logs.startswith("http://victorialogs:9428/"):
            fail(f"{where}: otlp_http/victorialogs must export to http://victorialogs:9428/")
        if not cfg["exporters"].get("prometheus", {}).get("endpoint", "").endswith(":8889"):
            fail(f"{where}: prometheus exporter must listen on :8889")
        if not cfg["extensions"]["health_check"].get("endpoint", "").endswith(":13133"):
            fail(f"{where}: health_check must listen on :13133")
        wanted = {"traces": "otlp_grpc/jaeger", "metrics": "prometheus", "logs": "otlp_http/victorialogs"}
        for signal, exporter in wanted.items():
            if exporter not in (pipelines.get(signal, {}).get("exporters") or []):
                fail(f"{where}: {signal} must go to {exporter}")


def cmd_collector():
    path = "otel-collector.yaml"
    check_collector_config(load_yaml(path), path, root=True)
    # Every top-level section and every component carries a comment just above it.
    lines = open(path, encoding="utf-8").read().splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^[a-z_]+:\s*$", line) or re.match(r"^  [a-z_/]+:\s*$", line):
            prev = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            if not prev.lstrip().startswith("#"):
                fail(f"{path}:{i + 1}: section {line.strip()!r} has no comment above it")
    for cm in ("otel-agent-configmap.yaml", "otel-gateway-configmap.yaml"):
        doc = load_yaml(os.path.join(K8S, cm))
        check_collector_config(yaml.safe_load(doc["data"]["config.yaml"]), f"{K8S}/{cm}")


def cmd_extract_collector_configs():
    """Writes each Kubernetes collector ConfigMap's config.yaml to the directory argv[2]."""
    out = sys.argv[2]
    for cm in sorted(os.listdir(K8S)):
        if not cm.endswith(".yaml"):
            continue
        with open(os.path.join(K8S, cm), encoding="utf-8") as f:
            docs = [d for d in yaml.safe_load_all(f) if isinstance(d, dict)]
        for doc in docs:
            if doc.get("kind") == "ConfigMap" and "config.yaml" in (doc.get("data") or {}):
                with open(os.path.join(out, cm), "w", encoding="utf-8") as f:
                    f.write(doc["data"]["config.yaml"])
                print(cm)


def cmd_collector_components():
    """The collector distribution (`otelcol-otelix components` on stdin) has exactly the
    components that the collector configs (argv[2:]) use: none missing, none unused."""
    built = yaml.safe_load(sys.stdin)
    have = {(kind, c["name"]) for kind in ("receivers", "processors", "exporters", "extensions", "connectors")
            for c in (built.get(kind) or [])}
    used = set()
    for path in sys.argv[2:]:
        cfg = load_yaml(path)
        for kind in ("receivers", "processors", "exporters", "extensions", "connectors"):
            for name in cfg.get(kind) or {}:
                used.add((kind, name.split("/", 1)[0]))
    for kind, name in sorted(used - have):
        fail(f"the configs use {kind[:-1]} {name!r}, which tools/otelcol/components.go lacks")
    for kind, name in sorted(have - used):
        fail(f"tools/otelcol/components.go builds {kind[:-1]} {name!r}, which no collector config uses")


def env_of(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return env


def cmd_compose():
    path = "docker-compose.yml"
    doc = load_yaml(path)
    services = doc.get("services") or {}
    volumes = set((doc.get("volumes") or {}).keys())
    expected = {"wwmaa-backend", "otel-collector", "jaeger", "prometheus", "grafana",
                "alertmanager", "victorialogs", "postgres", "redis"}
    if set(services) != expected:
        fail(f"{path}: services {sorted(services)} != {sorted(expected)}")
    secretish = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|PRIVATE", re.I)
    for name, svc in services.items():
        if "image" in svc and "build" not in svc:
            image = svc["image"]
            tag = image.rsplit(":", 1)[1] if ":" in image.split("/")[-1] else ""
            if not tag or tag == "latest":
                fail(f"{path}: {name}: image {image!r} is not pinned to a version")
        if name != "otel-collector" and "healthcheck" not in svc:
            fail(f"{path}: {name}: no healthcheck")
        for dep, spec in (svc.get("depends_on") or {}).items():
            if dep not in services:
                fail(f"{path}: {name} depends on unknown service {dep!r}")
            elif spec.get("condition") == "service_healthy" and "healthcheck" not in services[dep]:
                fail(f"{path}: {name} waits for {dep} to be healthy, but {dep} has no healthcheck")
        for key, value in env_of(svc).items():
            if secretish.search(key) and "${" not in str(value):
                fail(f"{path}: {name}: {key} holds a literal value; use a ${{VAR:-placeholder}}")
            if re.search(r"://[^/:@\s]+:[^@\s$]+@", str(value)):
                fail(f"{path}: {name}: {key} embeds a literal password")
        for vol in svc.get("volumes") or []:
            source = (vol.split(":")[0] if isinstance(vol, str) else vol.get("source", ""))
            if source.startswith("${"):
                continue
            if source.startswith((".", "/")):
                if not os.path.exists(source):
                    fail(f"{path}: {name}: bind mount source {source} does not exist")
            elif source not in volumes:
                fail(f"{path}: {name}: volume {source!r} is not declared under volumes:")
    app = env_of(services.get("wwmaa-backend", {}))
    want = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector:4317",
        "OTEL_SERVICE_NAME": "wwmaa-backend",
        "APP_ENV": "production",
        "REDIS_URL": "redis://redis:6379",
        "BIND_ADDR": "0.0.0.0:8000",
        "SLOW_QUERY_LOG_FILE": "/var/log/wwmaa-backend/slow_queries.log",
    }
    for key, value in want.items():
        if app.get(key) != value:
            fail(f"{path}: wwmaa-backend: {key}={app.get(key)!r}, expected {value!r}")
    if not str(app.get("DATABASE_URL", "")).endswith("@postgres:5432/wwmaa"):
        fail(f"{path}: wwmaa-backend: DATABASE_URL must point at postgres:5432/wwmaa")
    prom = services.get("prometheus", {})
    if "--enable-feature=exemplar-storage" not in (prom.get("command") or []):
        fail(f"{path}: prometheus must run with --enable-feature=exemplar-storage")
    mounts = " ".join(str(v) for s in services.values() for v in (s.get("volumes") or []))
    for needed in ("./otel-collector.yaml", f"./{OBS}/jaeger.yaml", f"./{OBS}/prometheus.yml", f"./{OBS}/prometheus-alerts.yml",
                   f"./{OBS}/alertmanager.yml", f"./{OBS}/grafana/provisioning",
                   f"./{OBS}/grafana-dashboard.json"):
        if needed not in mounts:
            fail(f"{path}: {needed} is not mounted into any service")


def cmd_dockerfile():
    text = open("Dockerfile", encoding="utf-8").read()
    froms = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, re.M | re.I)
    if len(froms) < 2:
        fail("Dockerfile: expected a multi-stage build (builder + runtime)")
    if "-p wwmaa-backend" not in text or "--release" not in text:
        fail("Dockerfile: the builder must run cargo build --release -p wwmaa-backend")
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    if not users or users[-1].split(":")[0] in ("root", "0"):
        fail("Dockerfile: the runtime stage must switch to a non-root USER")
    if not re.search(r"^HEALTHCHECK\s", text, re.M):
        fail("Dockerfile: no HEALTHCHECK")
    ignore = open(".dockerignore", encoding="utf-8").read().split()
    for entry in ("target/", ".git/", ".env", "secrets/"):
        if entry not in ignore:
            fail(f".dockerignore: {entry} missing")


def cmd_kustomization():
    doc = load_yaml(os.path.join(K8S, "kustomization.yaml"))
    listed = doc.get("resources") or []
    on_disk = sorted(f for f in os.listdir(K8S) if f.endswith(".yaml") and f != "kustomization.yaml")
    for res in listed:
        if not os.path.exists(os.path.join(K8S, res)):
            fail(f"{K8S}/kustomization.yaml: resource {res} does not exist")
    for f in on_disk:
        if f not in listed:
            fail(f"{K8S}/kustomization.yaml: {f} is not listed in resources")
    kinds = set()
    for f in on_disk:
        for d in yaml.safe_load_all(open(os.path.join(K8S, f), encoding="utf-8")):
            if d:
                kinds.add(d["kind"])
                if d["kind"] == "Secret":
                    fail(f"{K8S}/{f}: a Secret manifest; reference Secrets, never commit them")
    for kind in ("Deployment", "DaemonSet", "Service", "ConfigMap"):
        if kind not in kinds:
            fail(f"{K8S}: no {kind}")


def cmd_rules():
    """Every alert: known severity, summary, description, runbook_url with an existing anchor."""
    rules = load_yaml(os.path.join(OBS, "prometheus-alerts.yml"))
    runbook = open(os.path.join(OBS, "runbooks.md"), encoding="utf-8").read()
    anchors = {re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
               for h in re.findall(r"^#+\s+(.+)$", runbook, re.M)}
    alerts = set()
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "alert" not in rule:
                continue
            name = rule["alert"]
            alerts.add(name)
            labels, ann = rule.get("labels") or {}, rule.get("annotations") or {}
            if labels.get("severity") not in ("page", "ticket", "warning", "critical"):
                fail(f"{name}: severity {labels.get('severity')!r} is not page|ticket|warning|critical")
            for key in ("summary", "description", "runbook_url"):
                if not ann.get(key):
                    fail(f"{name}: no {key} annotation")
            url = ann.get("runbook_url", "")
            if "docs/observability/runbooks.md#" not in url:
                fail(f"{name}: runbook_url {url!r} does not point into docs/observability/runbooks.md")
            elif url.split("#", 1)[1] not in anchors:
                fail(f"{name}: runbooks.md has no section #{url.split('#', 1)[1]}")
    for name in alerts:
        if name.lower() not in anchors:
            fail(f"runbooks.md: no section for alert {name}")


def grafana_exprs(dashboard):
    def walk(panels):
        for p in panels:
            yield p
            yield from walk(p.get("panels") or [])
    return list(walk(dashboard.get("panels") or []))


def cmd_grafana(out_rules):
    """Dashboard and provisioning consistency; writes the panels' PromQL as recording rules."""
    dash_path = os.path.join(OBS, "grafana-dashboard.json")
    dash = json.load(open(dash_path, encoding="utf-8"))
    prov = load_yaml(os.path.join(OBS, "grafana/provisioning/datasources/datasources.yml"))
    ds = {d["uid"]: d for d in prov["datasources"]}
    prom_uids = {uid for uid, d in ds.items() if d["type"] == "prometheus"}
    dest = [x for d in ds.values() for x in (d.get("jsonData") or {}).get("exemplarTraceIdDestinations") or []]
    if not any(x.get("name") == "trace_id" and ds.get(x.get("datasourceUid"), {}).get("type") == "jaeger"
               for x in dest):
        fail("datasources.yml: no exemplar link from label trace_id to a Jaeger datasource")
    providers = load_yaml(os.path.join(OBS, "grafana/provisioning/dashboards/dashboards.yml"))
    paths = [p["options"]["path"] for p in providers["providers"]]
    compose = open("docker-compose.yml", encoding="utf-8").read()
    if not any(f"grafana-dashboard.json:{p}/" in compose for p in paths):
        fail("docker-compose.yml does not mount grafana-dashboard.json into the provisioned path")
    if not dash.get("uid") or not dash.get("title"):
        fail(f"{dash_path}: uid and title are required")
    ids, rules, exemplar_panels, linked_panels = set(), [], 0, 0
    builtin = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h"}
    for panel in grafana_exprs(dash):
        if panel.get("type") == "row":
            continue
        pid = panel.get("id")
        if pid in ids:
            fail(f"{dash_path}: duplicate panel id {pid}")
        ids.add(pid)
        links = (panel.get("fieldConfig") or {}).get("defaults", {}).get("links") or []
        if any("jaeger_url" in (l.get("url") or "") for l in links):
            linked_panels += 1
        for target in panel.get("targets") or []:
            uid = (target.get("datasource") or panel.get("datasource") or {}).get("uid")
            if uid not in prom_uids:
                fail(f"{dash_path}: panel {pid} uses datasource uid {uid!r}, not a provisioned Prometheus")
            expr = target.get("expr")
            if not expr:
                fail(f"{dash_path}: panel {pid} target {target.get('refId')} has no expr")
                continue
            if "histogram_quantile" in expr:
                if target.get("exemplar") is not True:
                    fail(f"{dash_path}: latency panel {pid} target {target.get('refId')} lacks exemplar: true")
                else:
                    exemplar_panels += 1
            concrete = re.sub(r"\$\{?(__rate_interval|__interval|__range)\}?",
                              lambda m: builtin[m.group(1)], expr)
            concrete = re.sub(r"\$\{?\w+(?::\w+)?\}?", ".*", concrete)
            rules.append({"record": f"grafana:panel_{pid}_{target.get('refId', 'A')}", "expr": concrete})
    if not exemplar_panels:
        fail(f"{dash_path}: no latency target with exemplars")
    if not linked_panels:
        fail(f"{dash_path}: no panel links to Jaeger")
    with open(out_rules, "w", encoding="utf-8") as f:
        yaml.safe_dump({"groups": [{"name": "grafana-dashboard-exprs", "rules": rules}]}, f, sort_keys=False)


def cmd_slos():
    """slos.yaml beyond its schema: unique names, non-decreasing percentiles, objectives equal
    to those the alerts use (prometheus-alerts.yml, group otelix-slo-objectives)."""
    slos = load_yaml(os.path.join(OBS, "slos.yaml"))
    names = [s["name"] for s in slos["slos"]]
    if len(names) != len(set(names)):
        fail("slos.yaml: duplicate SLO names")
    order = ["p50", "p90", "p95", "p99", "p999"]
    for s in slos["slos"] + (slos.get("external") or []):
        lat = s.get("latency_ms") or {}
        values = [lat[p] for p in order if p in lat]
        if values != sorted(values):
            fail(f"slos.yaml: {s.get('name', s.get('service_peer_name'))}: percentiles decrease: {lat}")
    rules = load_yaml(os.path.join(OBS, "prometheus-alerts.yml"))
    budgets = {}
    for group in rules["groups"]:
        for r in group["rules"]:
            if r.get("record") == "slo:http_availability:error_budget_ratio":
                budgets[r["labels"]["endpoint_class"]] = float(re.search(r"vector\(([\d.]+)\)", r["expr"]).group(1))
    for s in slos["slos"]:
        budget = budgets.get(s["class"])
        if budget is None:
            fail(f"slos.yaml: class {s['class']} has no objective in prometheus-alerts.yml")
        elif abs((1 - s["availability"]) - budget) > 1e-9:
            fail(f"slos.yaml: {s['name']}: availability {s['availability']} but the alerts use {1 - budget:g}")


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "grafana":
        cmd_grafana(sys.argv[2])
    elif command == "extract-collector-configs":
        cmd_extract_collector_configs()
    elif command == "collector-components":
        cmd_collector_components()
    else:
        globals()[f"cmd_{command}"]()
    for e in errors:
        print(e)
    sys.exit(1 if errors else 0)
PYEOF

# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------
passed=0
failed=0
check() {
  local name="$1"
  shift
  if "$@" >"$WORK/out" 2>&1; then
    printf 'ok    %s\n' "$name"
    passed=$((passed + 1))
  else
    printf 'FAIL  %s\n' "$name"
    sed 's/^/        /' "$WORK/out" | tail -n 40
    failed=$((failed + 1))
  fi
}

# amtool prints the receiver(s) an alert with these labels goes to.
routes_to() {
  local expected="$1"
  shift
  local got
  got="$("$AMTOOL" config routes test --config.file="$OBS/alertmanager.yml" "$@")"
  [ "$got" = "$expected" ] || { echo "labels $* route to '$got', expected '$expected'"; return 1; }
}

routing() {
  routes_to pager severity=page alertname=HttpAvailabilityErrorBudgetBurn &&
    routes_to pager severity=critical alertname=DatabaseSlowQueries &&
    routes_to ticket severity=ticket alertname=HttpLatencyErrorBudgetBurn &&
    routes_to chat severity=warning alertname=CacheHitRatioLow
}

dashboard_promql() {
  "$PY" "$WORK/checks.py" grafana "$WORK/dashboard-rules.yml" && "$PROMTOOL" check rules "$WORK/dashboard-rules.yml"
}

k8s_manifests() {
  local files=()
  local f
  for f in "$K8S"/*.yaml; do
    [ "$(basename "$f")" = kustomization.yaml ] || files+=("$f")
  done
  "$BIN/kubernetes-validate" --strict --quiet -k "$K8S_VERSION" "${files[@]}"
}

# The real collector loads each config: unknown components, renamed or moved options and
# malformed values fail here. The Kubernetes configs read POD_IP and NODE_NAME from the pod.
collector_validate() {
  POD_IP=127.0.0.1 NODE_NAME=validate "$OTELCOL" validate --config="$1"
}
mkdir -p "$WORK/collector-configs"
"$PY" "$WORK/checks.py" extract-collector-configs "$WORK/collector-configs" >"$WORK/collector-configs.txt"
[ -s "$WORK/collector-configs.txt" ] || { note "no collector ConfigMaps found in $K8S"; exit 1; }

# The OTLP delivery tests' collector takes its addresses, certificate files and token from the
# environment the test sets; validate loads the config without opening the files.
DELIVERY_COLLECTOR=examples/wwmaa-backend/tests/otlp_delivery/collector.yaml
delivery_collector_validate() {
  local var env=()
  while read -r var; do
    var="${var#env:}"
    case "$var" in
      *_CERT | *_KEY) env+=("$var=/validate/$var.pem") ;;
      *_TOKEN) env+=("$var=validate") ;;
      *) env+=("$var=127.0.0.1:$((4000 + ${#env[@]}))") ;;
    esac
  done < <(grep -o 'env:[A-Z_]*' "$DELIVERY_COLLECTOR" | sort -u)
  env "${env[@]}" "$OTELCOL" validate --config="$DELIVERY_COLLECTOR"
}

check "collector $(peers_version otelcol) validate otel-collector.yaml" collector_validate otel-collector.yaml
while read -r cm; do
  check "collector $(peers_version otelcol) validate $K8S/$cm (its config.yaml)" collector_validate "$WORK/collector-configs/$cm"
done <"$WORK/collector-configs.txt"
check "collector $(peers_version otelcol) validate $DELIVERY_COLLECTOR" delivery_collector_validate
collector_components() {
  local configs=(otel-collector.yaml "$DELIVERY_COLLECTOR")
  while read -r cm; do configs+=("$WORK/collector-configs/$cm"); done <"$WORK/collector-configs.txt"
  "$OTELCOL" components | "$PY" "$WORK/checks.py" collector-components "${configs[@]}"
}
check "collector distribution: exactly the components the configs use" collector_components
check "jaeger $(peers_version jaeger) validate $OBS/jaeger.yaml"  "$JAEGER" validate --config="$OBS/jaeger.yaml"
check "promtool check config $OBS/prometheus.yml"         "$PROMTOOL" check config "$OBS/prometheus.yml"
check "promtool check rules $OBS/prometheus-alerts.yml"   "$PROMTOOL" check rules "$OBS/prometheus-alerts.yml"
check "promtool test rules $OBS/tests/alerts-test.yml"    "$PROMTOOL" test rules "$OBS/tests/alerts-test.yml"
check "alerts: severity, annotations, runbook sections"   "$PY" "$WORK/checks.py" rules
check "amtool check-config $OBS/alertmanager.yml"         "$AMTOOL" check-config "$OBS/alertmanager.yml"
check "alertmanager routes by severity"                   routing
check "docker-compose.yml against the Compose spec"       "$BIN/check-jsonschema" --builtin-schema vendor.compose-spec docker-compose.yml
check "docker-compose.yml: dependencies, volumes, secrets, pins" "$PY" "$WORK/checks.py" compose
check "hadolint Dockerfile"                               "$BIN/hadolint" Dockerfile
check "Dockerfile: stages, non-root, healthcheck"         "$PY" "$WORK/checks.py" dockerfile
check "otel-collector.yaml and collector ConfigMaps: pipelines" "$PY" "$WORK/checks.py" collector
check "kubernetes manifests (schemas $K8S_VERSION, strict, offline)" k8s_manifests
check "kustomization.yaml lists every manifest"          "$PY" "$WORK/checks.py" kustomization
check "grafana dashboard: JSON, datasources, PromQL"      dashboard_promql
check "slos.schema.json is a valid JSON Schema"           "$BIN/check-jsonschema" --check-metaschema "$OBS/slos.schema.json"
check "slos.yaml against slos.schema.json"                "$BIN/check-jsonschema" --schemafile "$OBS/slos.schema.json" "$OBS/slos.yaml"
check "slos.yaml agrees with the alerting objectives"     "$PY" "$WORK/checks.py" slos
check "shellcheck scripts/*.sh scripts/lib/*.sh .ci/run"  "$BIN/shellcheck" -x scripts/*.sh scripts/lib/*.sh .ci/run

printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
