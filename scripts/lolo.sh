#!/usr/bin/env bash
# Leave one library out (Minus-1-DB): for each library of the pool (scripts/pool.sh) and for
# TimGM6mb, train on every other training library on the short schedule of
# scripts/pool_short.sh and test on the one left out; TimGM6mb never trains. Gathers the folds
# into models/reports/lolo/lolo.json (the workbench's Training tab opens it as a heatmap) and
# prints the matrix. Extra arguments go to scripts/ablation_config.py (the recipe); FOLDS
# chooses the held-out libraries (default: all seven).
# usage: [FOLDS="freepats sonivox"] scripts/lolo.sh [ABLATION FLAGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/debug/timbrescope}
[ -x "$BIN" ] || cargo build
POOL=${POOL:-data/pool}
[ -f "$POOL/examples.json" ] || scripts/pool.sh "$POOL"
FOLDS=${FOLDS:-"fluidr3_gm generaluser_1_471 freepats a320u sonivox stk timgm6mb"}
out=models/reports/lolo
for held in $FOLDS; do
  data=data/lolo/$held
  python3 scripts/fold.py "$POOL" "$held" "$data"
  DATA=$data REPORTS=$out RUNS=runs/lolo CHAINS=0 scripts/pool_short.sh "$held" "$@"
done
"$BIN" lolo "$out" --out "$out/lolo.json" | tee "$out/matrix.md"
