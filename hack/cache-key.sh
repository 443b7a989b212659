#!/usr/bin/env bash
# Keeps a shared cargo target directory honest. Cargo decides freshness by file times, so
# a clone whose sources are older than the last build could reuse a stale binary. This
# keys the build on content: when the workspace's sources differ from the ones the target
# dir was last built from, it touches them so cargo rebuilds our crates (dependencies stay
# cached). Usage: hack/cache-key.sh TARGET_DIR. Idempotent.
set -euo pipefail
target="${1:?usage: hack/cache-key.sh TARGET_DIR}"
cd "$(dirname "$0")/.."
mkdir -p "$target"
if git rev-parse --git-dir >/dev/null 2>&1; then
  key=$( { git ls-files -s; git diff HEAD; git ls-files -o --exclude-standard | xargs -r sha256sum; } | sha256sum | cut -d' ' -f1)
else
  key=$(find . -path ./target -prune -o -type f \( -name '*.rs' -o -name 'Cargo.*' \) -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
fi
stamp="$target/.ferrokube-source-key"
if [ "$(cat "$stamp" 2>/dev/null)" != "$key" ]; then
  find Cargo.toml Cargo.lock openraft-store apiserver controllers conformance \
    -type f \( -name '*.rs' -o -name 'Cargo.toml' -o -name 'Cargo.lock' \) -exec touch {} + 2>/dev/null || true
  echo "$key" > "$stamp"
fi
