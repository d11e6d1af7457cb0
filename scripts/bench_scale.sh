#!/usr/bin/env bash
# The scale benchmark (BENCHMARKS.md, "Scale"): an NSynth-size data set in NSynth's layout and
# labels (examples/scale_bench.rs: every GM program of the pool's six libraries over 80 pitches
# and 5 velocities, 307,200 notes), its examples.json parsed, its store built by rendering each
# note straight into it, one multi-task epoch of models/nsynth.toml trained from the store, and
# the test split evaluated; then 30,000 of the notes as WAV files and `store build` over them.
# Each step is its own process, timed with its peak RSS by /usr/bin/time. Needs about 26 GB of
# disk under DIR (default data/scale) and, on two cores, about 50 minutes.
# usage: scripts/bench_scale.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/debug/timbrescope}
DIR=${1:-data/scale}
cargo build --bin timbrescope --example scale_bench
EX=target/debug/examples/scale_bench
# shellcheck source=scripts/banks.sh
. scripts/banks.sh
LIBS=("$(bank fluidr3)" "$(bank generaluser)" "$(bank freepats)" "$(bank a320u)" "$(bank sonivox)" "$(bank timgm6mb)")
timed() { /usr/bin/time -f "  wall %e s, peak RSS %M KB" "$@"; }

rm -rf "$DIR" "$DIR-wav" "$DIR-run"
echo "== examples.json: write, then open and check (timed)"
"$EX" write "$DIR" "${LIBS[@]}"
echo "== store: every note rendered into it"
timed "$EX" render "$DIR" "${LIBS[@]}"
du -sb "$DIR/store" | awk '{printf "  store on disk %.2f GB\n", $1 / 1e9}'
echo "== one multi-task epoch from the store"
sed 's/^epochs = 6$/epochs = 1/' models/nsynth.toml > "$DIR/one-epoch.toml"
timed "$BIN" train --config "$DIR/one-epoch.toml" --dataset "$DIR" --stage mtl --run "$DIR-run" 2>&1 | tail -4
python3 - "$DIR-run/metrics.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
steps = [r for r in rows if r["split"] == "train"]
gaps = [b["wall_secs"] - a["wall_secs"] for a, b in zip(steps, steps[1:])]
print(f"  {len(steps)} steps of 64, median step {statistics.median(gaps):.4f} s, "
      f"{64 / statistics.median(gaps):.0f} samples/s; epoch {steps[-1]['wall_secs'] - steps[0]['wall_secs']:.0f} s")
PY
echo "== evaluation of the test split (TimGM6mb's instruments, unseen in training)"
timed "$BIN" eval --run "$DIR-run" --dataset "$DIR" --split test --out "$DIR-run/test.json" 2>&1 | tail -3
echo "== 30,000 notes as WAV, then store build from the files"
timed "$EX" wav "$DIR-wav" 30000 "${LIBS[@]}"
timed "$BIN" store build --dataset "$DIR-wav" --config models/nsynth.toml 2>&1 | tail -3
