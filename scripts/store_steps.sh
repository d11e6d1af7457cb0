#!/usr/bin/env bash
# What the feature store's 0.5-dB steps cost: the shipped model evaluated on the pool's test split
# and held-out library (scripts/pool.sh) read from the store and analysed from the audio
# (`eval --from-audio`), with each command's wall time and peak RSS, into
# models/reports/store-steps/ (BENCHMARKS.md, "Data"). Run it with nothing else running.
# usage: scripts/store_steps.sh [DATA]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/debug/timbrescope}
[ -x "$BIN" ] || cargo build
DATA=${1:-data/pool}
OUT=models/reports/store-steps
mkdir -p "$OUT"
rm -f "$OUT/times.txt"
"$BIN" store build --dataset "$DATA"
for split in test test_bank; do
  for source in store audio; do
    extra=()
    [ $source = audio ] && extra=(--from-audio)
    /usr/bin/time -f "$split $source %e s %M kB" -a -o "$OUT/times.txt" \
        "$BIN" eval --model models/timbrescope-small.safetensors --dataset "$DATA" --split $split "${extra[@]}" \
        --out "$OUT/${split}_$source.json"
  done
done
cat "$OUT/times.txt"
