#!/usr/bin/env bash
# Regenerate the librosa reference fixtures in tests/fixtures/librosa/.
#
# Creates the reference virtual environment .venv (git-ignored) from
# scripts/requirements-ref.txt when it is missing or incomplete, then runs
# scripts/make_librosa_fixtures.py. Extra arguments are passed through.
# The same .venv is used by benches/librosa_ref.py.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV="$ROOT/.venv"
PY="$VENV/bin/python"
REQ="$ROOT/scripts/requirements-ref.txt"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$PY" ]; then
    echo "creating $VENV" >&2
    "$PYTHON" -m venv "$VENV"
fi

# Install (or repair) the pinned reference stack when any pin is not satisfied.
if ! "$PY" - "$REQ" <<'PYCHECK'
import sys
from importlib.metadata import version, PackageNotFoundError
ok = True
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    name, want = line.split("==")
    try:
        have = version(name)
    except PackageNotFoundError:
        have = None
    if have != want:
        print(f"{name}: want {want}, have {have}", file=sys.stderr)
        ok = False
sys.exit(0 if ok else 1)
PYCHECK
then
    echo "installing reference packages from $REQ" >&2
    "$PY" -m pip install --disable-pip-version-check -q -r "$REQ"
fi

exec "$PY" "$ROOT/scripts/make_librosa_fixtures.py" "$@"
