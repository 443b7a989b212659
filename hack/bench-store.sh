#!/usr/bin/env bash
# Store benchmark: creates/s of the embedded openraft-store (one node, fsync on) next to
# Debian's etcd 3.4 (/usr/bin/etcd, one member, driven through its v3 JSON gateway), with
# the same workload: CLIENTS concurrent clients creating fresh 1 KiB keys for SECONDS.
# Idempotent: each run uses fresh temporary data dirs and stops what it started.
# Env: CLIENTS (64), BENCH_SECONDS (10), PROFILE (release; "dev" for a quick debug check).
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS="${CLIENTS:-64}"
SECONDS_="${BENCH_SECONDS:-10}"
PROFILE="${PROFILE:-release}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ferrokube/target}"

cargo build -q --profile "$PROFILE" -p openraft-store --example store_bench
dir_profile="$PROFILE"; [ "$PROFILE" = "dev" ] && dir_profile="debug"
BENCH="$CARGO_TARGET_DIR/$dir_profile/examples/store_bench"

work="$(mktemp -d)"
etcd_pid=""
cleanup() {
  if [ -n "$etcd_pid" ]; then kill "$etcd_pid" 2>/dev/null || true; wait "$etcd_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$BENCH" ferrokube "$CLIENTS" "$SECONDS_" "$work/ferrokube"

if [ -x /usr/bin/etcd ]; then
  port=$(( 20000 + RANDOM % 20000 ))
  /usr/bin/etcd --data-dir "$work/etcd" --listen-client-urls "http://127.0.0.1:$port" \
    --advertise-client-urls "http://127.0.0.1:$port" --listen-peer-urls "http://127.0.0.1:$((port + 1))" \
    >"$work/etcd.log" 2>&1 &
  etcd_pid=$!
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    sleep 0.1
  done
  "$BENCH" etcd "$CLIENTS" "$SECONDS_" "http://127.0.0.1:$port"
else
  echo "etcd: /usr/bin/etcd not installed (make deps installs etcd-server); skipped"
fi
