#!/usr/bin/env bash
# The compose stack without Docker: the OpenTelemetry Collector running otel-collector.yaml,
# Jaeger running docs/observability/jaeger.yaml, VictoriaLogs, Prometheus running
# docs/observability/prometheus.yml and Alertmanager running alertmanager.yml, the same programs
# at the same releases (built from tools/ by scripts/peers.sh), on 127.0.0.1 and the ports
# docker-compose.yml publishes. Only addresses differ from compose: the collector's and Jaeger's
# through their own --set and environment, Prometheus's targets rewritten to 127.0.0.1.
#
#   bash scripts/stack.sh          # runs until Ctrl-C; logs and data in target/stack/
#   cargo run -p wwmaa-backend     # in another terminal: exports to localhost:4317
#
# Ports: collector 4317/4318 (OTLP), 13133 (health), 8888 (own metrics), 8889 (Prometheus
# exporter); Jaeger 16686 (UI and API; its own OTLP receiver on 14317, which compose keeps
# inside its network); VictoriaLogs 9428; Prometheus 9090; Alertmanager 9093.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/peers.sh
. scripts/lib/peers.sh

note() { printf 'stack: %s\n' "$*" >&2; }

peers_build otelcol jaeger prometheus alertmanager victorialogs
DIR="${STACK_DIR:-target/stack}"
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
OBS="$(pwd)/docs/observability"

pids=()
# shellcheck disable=SC2329 # invoked by the trap below
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT INT TERM

start() { # name, command...
  local name="$1"
  shift
  "$@" >"$DIR/$name.log" 2>&1 &
  pids+=("$!")
}

wait_http() { # name, url
  for _ in $(seq 1 60); do
    curl -sf -o /dev/null "$2" && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.5
  done
  note "$1 did not come up ($2); its log, $DIR/$1.log:"
  tail -n 20 "$DIR/$1.log" >&2
  exit 1
}

start victorialogs "$VICTORIALOGS" -httpListenAddr=127.0.0.1:9428 \
  -storageDataPath="$DIR/victorialogs-data" -retentionPeriod=7d
wait_http victorialogs http://127.0.0.1:9428/health

start jaeger env JAEGER_OTLP_GRPC_ENDPOINT=127.0.0.1:14317 JAEGER_OTLP_HTTP_ENDPOINT=127.0.0.1:14318 \
  JAEGER_QUERY_HTTP_ENDPOINT=127.0.0.1:16686 JAEGER_QUERY_GRPC_ENDPOINT=127.0.0.1:16685 \
  JAEGER_HEALTH_ENDPOINT=127.0.0.1:14133 JAEGER_METRICS_HOST=127.0.0.1 JAEGER_METRICS_PORT=14888 \
  "$JAEGER" --config="$OBS/jaeger.yaml"
wait_http jaeger http://127.0.0.1:14133/status

start otel-collector "$OTELCOL" --config=otel-collector.yaml \
  --set=receivers::otlp::protocols::grpc::endpoint=127.0.0.1:4317 \
  --set=receivers::otlp::protocols::http::endpoint=127.0.0.1:4318 \
  --set=extensions::health_check::endpoint=127.0.0.1:13133 \
  --set=exporters::otlp_grpc/jaeger::endpoint=127.0.0.1:14317 \
  --set=exporters::otlp_http/victorialogs::endpoint=http://127.0.0.1:9428/insert/opentelemetry \
  --set=exporters::prometheus::endpoint=127.0.0.1:8889 \
  '--set=service::telemetry::metrics::readers=[{pull: {exporter: {prometheus: {host: 127.0.0.1, port: 8888}}}}]'
wait_http otel-collector http://127.0.0.1:13133/

# Alertmanager reads its receivers' URLs from files (compose mounts a secrets directory).
secrets="$DIR/alertmanager-secrets"
mkdir -p "$secrets"
for name in pager-webhook-url ticket-webhook-url slack-webhook-url; do
  [ -f "$secrets/$name" ] || echo "http://127.0.0.1:9/$name" >"$secrets/$name"
done
sed "s#/etc/alertmanager/secrets#$secrets#g" "$OBS/alertmanager.yml" >"$DIR/alertmanager.yml"
start alertmanager "$ALERTMANAGER" --config.file="$DIR/alertmanager.yml" \
  --storage.path="$DIR/alertmanager-data" --web.listen-address=127.0.0.1:9093 --cluster.listen-address=
wait_http alertmanager http://127.0.0.1:9093/-/ready

sed -E 's#"(wwmaa-backend|otel-collector|alertmanager|localhost):([0-9]+)"#"127.0.0.1:\2"#g' \
  "$OBS/prometheus.yml" >"$DIR/prometheus.yml"
cp "$OBS/prometheus-alerts.yml" "$DIR/"
start prometheus "$PROMETHEUS" --config.file="$DIR/prometheus.yml" \
  --storage.tsdb.path="$DIR/prometheus-data" --web.listen-address=127.0.0.1:9090 \
  --enable-feature=exemplar-storage
wait_http prometheus http://127.0.0.1:9090/-/ready

cat <<EOF
stack: up (logs in $DIR). Start the service in another terminal:  cargo run -p wwmaa-backend
  Jaeger        http://localhost:16686          a trace: /trace/<X-Request-ID>
  VictoriaLogs  http://localhost:9428/select/vmui
  Prometheus    http://localhost:9090
  Alertmanager  http://localhost:9093
  collector     OTLP localhost:4317 (gRPC) and :4318 (HTTP), health localhost:13133
Ctrl-C stops everything.
EOF
wait -n "${pids[@]}" || true
note "a program of the stack exited; stopping the rest (logs in $DIR)"
exit 1
