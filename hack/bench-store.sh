#!/usr/bin/env bash
# Store benchmark: the embedded openraft-store (one node, fsync on) next to Debian's
# etcd 3.4 (/usr/bin/etcd, one member, fsync on, driven through its v3 JSON gateway on
# loopback), with the same workload: CLIENTS_LIST concurrent clients creating fresh 1 KiB
# keys for BENCH_SECONDS each; then in-process watch delivery latency (ferrokube only).
# Writes the figures and the ratios into the "store" section of BENCHMARKS.md.
# Idempotent: each run uses fresh temporary data dirs and stops what it started.
# Env: CLIENTS_LIST ("1 64"), BENCH_SECONDS (10), PROFILE (release; "dev" for a quick check).
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS_LIST="${CLIENTS_LIST:-1 64}"
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
results="$work/results.txt"

for c in $CLIENTS_LIST; do
  "$BENCH" ferrokube "$c" "$SECONDS_" "$work/ferrokube-$c" | tee -a "$results"
done

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
  for c in $CLIENTS_LIST; do
    "$BENCH" etcd "$c" "$SECONDS_" "http://127.0.0.1:$port" | tee -a "$results"
  done
else
  echo "etcd: /usr/bin/etcd not installed (make deps installs etcd-server); skipped" | tee -a "$results"
fi
"$BENCH" watch | tee -a "$results"

# The "store" section of BENCHMARKS.md, rewritten between its markers.
section="$work/section.md"
{
  echo "<!-- store:begin (written by make bench-store) -->"
  echo "## Store: openraft-store vs etcd $(/usr/bin/etcd --version 2>/dev/null | head -1 | awk '{print $3}')"
  echo
  echo "\`make bench-store\` ($PROFILE build, $(nproc) cores, fsync on, 1 KiB values, ${SECONDS_} s per run, $(date -u +%Y-%m-%d))."
  echo "ferrokube's store is embedded (in process); etcd is a separate process reached over"
  echo "loopback HTTP through its JSON gateway, as the only client available here without gRPC."
  echo
  echo "| clients | ferrokube creates/s | etcd creates/s | throughput ratio | ferrokube p50 / p99 ms | etcd p50 / p99 ms | p50 latency ratio |"
  echo "|---|---|---|---|---|---|---|"
  for c in $CLIENTS_LIST; do
    f=$(grep "^ferrokube $c clients:" "$results" || true)
    e=$(grep "^etcd $c clients:" "$results" || true)
    awk -v f="$f" -v e="$e" -v c="$c" 'BEGIN {
      split(f, a, " "); split(e, b, " ");
      fr = a[9]; fp50 = a[13]; fp99 = a[16];
      er = b[9]; ep50 = b[13]; ep99 = b[16];
      ratio = (er > 0) ? sprintf("%.2fx", fr / er) : "n/a";
      lat = (ep50 > 0) ? sprintf("%.2fx", fp50 / ep50) : "n/a";
      printf "| %s | %s | %s | %s | %s / %s | %s / %s | %s |\n", c, fr, (er == "" ? "n/a" : er), ratio, fp50, fp99, (ep50 == "" ? "n/a" : ep50), (ep99 == "" ? "n/a" : ep99), lat
    }'
  done
  echo
  echo "Throughput ratio: ferrokube / etcd (higher is better). Latency ratio: ferrokube / etcd (lower is better)."
  echo
  echo '```'
  cat "$results"
  echo '```'
  echo "<!-- store:end -->"
} > "$section"

[ -f BENCHMARKS.md ] || printf '# Benchmarks\n\nFigures measured on this project'"'"'s machines (2 cores); each section names the command that produced it.\n\n' > BENCHMARKS.md
if grep -q '<!-- store:begin' BENCHMARKS.md; then
  awk -v sec="$section" '
    /<!-- store:begin/ { while ((getline line < sec) > 0) print line; skip = 1; next }
    /<!-- store:end/ { skip = 0; next }
    !skip { print }' BENCHMARKS.md > "$work/B.md"
  cp "$work/B.md" BENCHMARKS.md
else
  { echo; cat "$section"; } >> BENCHMARKS.md
fi
echo "wrote the store section of BENCHMARKS.md"
