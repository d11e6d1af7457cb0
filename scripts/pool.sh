#!/usr/bin/env bash
# The library pool: every independent recording reachable here, TimGM6mb held out. Renders the
# five sample libraries (FluidR3, GeneralUser GS, freepats, A320U without the programs that
# hold TimGM6mb's recordings, Sonivox EAS) and the STK physical models (assets/stk.toml), split
# by pitch within each, and TimGM6mb whole as
# the test_bank split, into DIR (default data/pool). Each library comes from scripts/banks.sh.
# usage: scripts/pool.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/debug/timbrescope}
[ -x "$BIN" ] || cargo build
# shellcheck source=scripts/banks.sh
. scripts/banks.sh
DATA=${1:-data/pool}
"$BIN" dataset synth \
    --soundfont "$(bank fluidr3)" \
    --soundfont "$(bank generaluser)" \
    --soundfont "$(bank freepats)" \
    --soundfont "$(bank a320u)" \
    --soundfont "$(bank sonivox)" \
    --soundfont "$(bank stk)" \
    --soundfont "$(bank timgm6mb)" \
    --train-banks 6 --exclude a320u:16,19,57 --out "$DATA"
