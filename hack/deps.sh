#!/usr/bin/env bash
# Installs the Debian packages ferrokube builds against (Debian's RocksDB 7.8 and libclang
# for its bindings) and etcd-server (the benchmarks' reference), when they are missing.
# Idempotent: does nothing when everything is already there.
set -euo pipefail
need=()
for pkg in librocksdb-dev libclang-dev etcd-server pkg-config; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
command -v cargo >/dev/null || { echo "cargo is missing: install Rust (rustup) first" >&2; exit 1; }
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
