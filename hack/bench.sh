#!/usr/bin/env bash
# API benchmark: builds ferrokube and the apibench client in release mode, starts the real
# binary on a free loopback port with a fresh data dir, and prints time to ready, RSS and
# create/get/list/watch figures with 1 and 64 clients. Idempotent; leaves nothing running.
# Env: BENCH_SECONDS (5 per phase), PROFILE (release; "dev" for a quick check).
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE="${PROFILE:-release}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ferrokube/target}"
cargo build -q --profile "$PROFILE" -p apiserver --bin ferrokube
cargo build -q --profile "$PROFILE" -p conformance --example apibench
dir="$PROFILE"; [ "$PROFILE" = "dev" ] && dir="debug"
FERROKUBE_BIN="$CARGO_TARGET_DIR/$dir/ferrokube" "$CARGO_TARGET_DIR/$dir/examples/apibench" "${BENCH_SECONDS:-5}"
