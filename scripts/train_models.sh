#!/usr/bin/env bash
# Trains the shipped model and its two comparison models, evaluates all three, and prints the
# tables kept in the README. Takes about an hour on two cores.
# usage: scripts/train_models.sh [--skip-train]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/debug/timbrescope}
DATA=data/nsynth-sf2
[ -x "$BIN" ] || cargo build
if [ "${1:-}" != "--skip-train" ]; then
  "$BIN" dataset synth --soundfont /usr/share/sounds/sf2/FluidR3_GM.sf2 \
      --soundfont /usr/share/sounds/sf2/TimGM6mb.sf2 --out "$DATA"
  # Three degraded copies; the shipped model uses the first.
  for seed in 1 2 3; do
    suffix=$([ "$seed" = 1 ] && echo "" || echo "-s$seed")
    "$BIN" dataset degrade --dataset "$DATA" --out "$DATA-train-domain$suffix" \
        --chain assets/chains/train_domain.toml --seed "$seed"
  done
  # With degradations (the shipped model), without them, and with three degraded copies, from
  # the same config and seed.
  rm -rf runs/default runs/clean-only runs/default-3copies
  "$BIN" train --config models/default.toml --dataset "$DATA" --degraded "$DATA-train-domain" --run runs/default
  "$BIN" train --config models/default.toml --dataset "$DATA" --run runs/clean-only
  "$BIN" train --config models/default.toml --dataset "$DATA" --degraded "$DATA-train-domain" \
      --degraded "$DATA-train-domain-s2" --degraded "$DATA-train-domain-s3" --run runs/default-3copies
fi
for run in default clean-only default-3copies; do
  out=models/reports/$run
  mkdir -p "$out"
  "$BIN" eval --run runs/$run --dataset "$DATA" --split test --out "$out/test.json"
  "$BIN" eval --run runs/$run --dataset "$DATA" --split test_bank --out "$out/test_bank.json"
  for chain in rt60_1.2 pink_10db opus_24; do
    "$BIN" eval --run runs/$run --dataset "$DATA" --split test --chain assets/chains/eval/$chain.toml \
        --seed 5 --out "$out/test_$chain.json"
  done
done
cp runs/default/best.safetensors models/timbrescope-small.safetensors
python3 scripts/report_table.py models/reports
