#!/usr/bin/env bash
# The library pool: every independent recording reachable here, TimGM6mb held out. Renders the
# five sample libraries (FluidR3, GeneralUser GS, freepats, A320U without the programs that
# hold TimGM6mb's recordings, Sonivox EAS) and the STK physical models (assets/stk.toml), split
# by pitch within each, and TimGM6mb whole as the test_bank split, into DIR (default
# data/pool). Each library comes from scripts/banks.sh. STK=0 leaves the STK models out: the
# pool the shipped model was trained on.
# usage: [STK=0] scripts/pool.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/debug/timbrescope}
[ -x "$BIN" ] || cargo build
# shellcheck source=scripts/banks.sh
. scripts/banks.sh
DATA=${1:-data/pool}
libraries=(fluidr3 generaluser freepats a320u sonivox)
[ "${STK:-1}" = 0 ] || libraries+=(stk)
args=()
for name in "${libraries[@]}" timgm6mb; do
  args+=(--soundfont "$(bank "$name")")
done
"$BIN" dataset synth "${args[@]}" --train-banks ${#libraries[@]} --exclude a320u:16,19,57 --out "$DATA"
