#!/usr/bin/env bash
# Streamed training against the in-memory training it replaced (BENCHMARKS.md, "Data"): BASE's
# binary (default 7f8905a, the last commit that analysed every note into memory) and this tree's,
# which streams from the feature stores, each training RUNS times 2 multi-task epochs of its own
# models/default.toml on the pool with its two degraded copies (scripts/pool.sh,
# models/README.md), one run after another. The stores are built first, untimed. Prints each
# run's median step, peak RSS and wall time. Needs the pool's three data sets; a quiet machine.
# usage: scripts/bench_stream.sh [BASE] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${1:-7f8905a}
RUNS=${2:-2}
BASE_DIR=/tmp/timbrescope-base-$BASE
OUT=${OUT:-/tmp/timbrescope-bench-stream}
[ -d "$BASE_DIR" ] || git worktree add --detach "$BASE_DIR" "$BASE"
# One target folder shares the dependencies' builds; the base binary is copied aside first.
CARGO_TARGET_DIR=$PWD/target cargo build --manifest-path "$BASE_DIR/Cargo.toml" --bin timbrescope
mkdir -p "$OUT"
cp target/debug/timbrescope "$OUT/timbrescope-base"
cargo build --bin timbrescope
SETS=(data/pool data/pool-train-domain data/pool-train-codec)
for d in "${SETS[@]}"; do target/debug/timbrescope store build --dataset "$d" --config models/default.toml; done
two_epochs() { sed '/^\[mtl\]/,/^\[/ s/^epochs = .*/epochs = 2/' "$1" > "$2"; }
two_epochs "$BASE_DIR/models/default.toml" "$OUT/base.toml"
two_epochs models/default.toml "$OUT/stream.toml"
median_step() {
    python3 - "$1/metrics.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
steps = [r for r in rows if r["split"] == "train" and r["stage"] == "mtl"]
gaps = [b["wall_secs"] - a["wall_secs"] for a, b in zip(steps, steps[1:])]
print(f"  {len(steps)} steps, median step {statistics.median(gaps):.4f} s")
PY
}
run() {
    local name=$1 bin=$2 k=$3
    rm -rf "$OUT/run-$name-$k"
    echo "== $name, run $k"
    /usr/bin/time -f "  wall %e s, peak RSS %M KB" "$bin" train --config "$OUT/$name.toml" \
        --dataset data/pool --degraded data/pool-train-domain --degraded data/pool-train-codec \
        --stage mtl --run "$OUT/run-$name-$k" 2>&1 | grep -E "wall|error" || true
    median_step "$OUT/run-$name-$k"
}
for k in $(seq "$RUNS"); do
    run base "$OUT/timbrescope-base" "$k"
    run stream target/debug/timbrescope "$k"
done
