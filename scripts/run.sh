#!/usr/bin/env bash
# Launches the workbench (building it first if needed); extra arguments go to timbrescope.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh run
# The dev profile optimises every dependency (see Cargo.toml), so the workbench is fast and
# shares its build with the test suite.
exec cargo run --quiet -- "$@"
