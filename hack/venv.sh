#!/usr/bin/env bash
# Creates (once) the Python venv the black-box tests use: the official `kubernetes`
# client and pytest. Usage: hack/venv.sh VENV_DIR. Idempotent.
set -euo pipefail
venv="${1:?usage: hack/venv.sh VENV_DIR}"
want="kubernetes==33.1.0 pytest==8.3.5"
stamp="$venv/.ferrokube-reqs"
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check $want
echo "$want" > "$stamp"
