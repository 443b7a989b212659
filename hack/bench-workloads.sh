#!/usr/bin/env bash
# Workload benchmark: builds ferrokube and the workloadbench client in release mode,
# then for each run starts the real binary with NODES simulated nodes and all
# controllers, creates Deployments totalling PODS pods, and prints the time until all
# are Running and the server's RSS (a run that does not finish within
# WORKLOADBENCH_TIMEOUT seconds reports how far it got). Rewrites the workloads
# section of BENCHMARKS.md with one table per run. Idempotent.
# Env: RUNS ("100:1000 1000:10000", NODES:PODS pairs), or NODES and PODS for one run;
# PER (pods per Deployment, 100), PROFILE (release), WORKLOADBENCH_TIMEOUT (1800).
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE="${PROFILE:-release}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ferrokube/target}"
cargo build -q --profile "$PROFILE" -p apiserver --bin ferrokube
cargo build -q --profile "$PROFILE" -p conformance --example workloadbench
dir="$PROFILE"; [ "$PROFILE" = "dev" ] && dir="debug"
PER="${PER:-100}"
if [ -n "${NODES:-}" ] || [ -n "${PODS:-}" ]; then
  RUNS="${NODES:-1000}:${PODS:-10000}"
else
  RUNS="${RUNS:-100:1000 1000:10000}"
fi
tables=""
for run in $RUNS; do
  nodes="${run%%:*}" pods="${run##*:}"
  echo "== $nodes nodes, $pods pods" >&2
  table=$(FERROKUBE_BIN="$CARGO_TARGET_DIR/$dir/ferrokube" \
    "$CARGO_TARGET_DIR/$dir/examples/workloadbench" "$nodes" "$pods" "$PER")
  echo "$table"
  tables=$(printf '%s\n\n%s\n\n`make bench-workloads` run NODES=%s PODS=%s PER=%s.' \
    "$tables" "$table" "$nodes" "$pods" "$PER")
done
section=$(printf '<!-- workloads:begin (written by make bench-workloads) -->%s\n\n(%s profile, %s, %s cores.)\n<!-- workloads:end -->' \
  "$tables" "$PROFILE" "$(date -u +%F)" "$(nproc)")
python3 - "$section" <<'PY'
import re, sys
section = sys.argv[1]
path = "BENCHMARKS.md"
text = open(path).read()
pattern = re.compile(r"<!-- workloads:begin.*?<!-- workloads:end -->", re.S)
if pattern.search(text):
    text = pattern.sub(lambda _: section, text)
else:
    text = text.rstrip() + "\n\n## Workloads: simulated nodes and Deployments\n\n" + section + "\n"
open(path, "w").write(text)
PY
