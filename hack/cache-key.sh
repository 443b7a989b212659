#!/usr/bin/env bash
# Keeps a shared cargo target directory honest. Cargo decides freshness by file times, so
# a clone whose sources are older than the last build could reuse a stale binary. This
# keys the build on content: when the workspace's sources differ from the ones the target
# dir was last built from, it touches them so cargo rebuilds our crates (dependencies stay
# cached). It also drops what builds of other trees left there (our crates' artifacts and
# incremental state, rebuilt anyway), so that repeated CI runs from fresh clones do not
# fill the disk. Usage: hack/cache-key.sh TARGET_DIR. Idempotent.
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
  # Our crates rebuild now anyway: remove their old artifacts (test binaries are large)
  # and the incremental caches, which only help rebuilding the same tree.
  for profile in debug release; do
    # Another build may be writing there meanwhile: what cannot go now goes next time.
    rm -rf "$target/$profile/incremental" "$target/$profile/examples" 2>/dev/null || true
    if [ -d "$target/$profile/deps" ]; then
      # Our crates and every test, example and bench target of this tree.
      names=$(find openraft-store apiserver controllers conformance -path '*/target' -prune -o \
        -type f -name '*.rs' \( -path '*/tests/*' -o -path '*/examples/*' -o -path '*/benches/*' \) \
        -print | xargs -r -n1 basename | sed 's/\.rs$//' | sort -u | paste -sd'|')
      find "$target/$profile/deps" -maxdepth 1 -type f -regextype posix-extended \
        -regex ".*/(lib)?(apiserver|controllers|conformance|openraft_store|ferrokube|${names:-none})-[0-9a-f]{16}(\..*)?" \
        -delete 2>/dev/null || true
    fi
  done
  echo "$key" > "$stamp"
fi
