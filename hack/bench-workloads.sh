#!/usr/bin/env bash
# Workload benchmark: builds ferrokube and the workloadbench client in release mode,
# starts the real binary with NODES simulated nodes and all controllers, creates
# Deployments totalling PODS pods, and prints the time until all are Running and the
# server's RSS. Rewrites the workloads section of BENCHMARKS.md. Idempotent.
# Env: NODES (1000), PODS (10000), PER (pods per Deployment, 100), PROFILE (release).
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE="${PROFILE:-release}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ferrokube/target}"
cargo build -q --profile "$PROFILE" -p apiserver --bin ferrokube
cargo build -q --profile "$PROFILE" -p conformance --example workloadbench
dir="$PROFILE"; [ "$PROFILE" = "dev" ] && dir="debug"
NODES="${NODES:-1000}" PODS="${PODS:-10000}" PER="${PER:-100}"
table=$(FERROKUBE_BIN="$CARGO_TARGET_DIR/$dir/ferrokube" \
  "$CARGO_TARGET_DIR/$dir/examples/workloadbench" "$NODES" "$PODS" "$PER")
echo "$table"
section=$(printf '<!-- workloads:begin (written by make bench-workloads) -->\n%s\n\n`make bench-workloads` (NODES=%s PODS=%s PER=%s, %s profile, %s, %s cores).\n<!-- workloads:end -->' \
  "$table" "$NODES" "$PODS" "$PER" "$PROFILE" "$(date -u +%F)" "$(nproc)")
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
