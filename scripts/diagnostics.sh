#!/usr/bin/env bash
# The figures of README's "Diagnostics": a two-library data set (FluidR3, split by pitch, and
# TimGM6mb held out whole; every second pitch, velocity 100), the shipped model's pink-noise
# sweeps on both, and its embeddings of the held-out notes clean and at 10 dB pink noise (the
# embedding map's screenshot). Reports go to models/reports/diagnostics/, data to data/two.
# usage: scripts/diagnostics.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/debug/timbrescope}
[ -x "$BIN" ] || cargo build
sf=/usr/share/sounds/sf2
out=models/reports/diagnostics
mkdir -p "$out"
model=shipped:timbrescope-small.safetensors
"$BIN" dataset synth --soundfont "$sf/FluidR3_GM.sf2" --soundfont "$sf/TimGM6mb.sf2" \
  --pitch-step 2 --velocities 100 --out data/two
"$BIN" eval --model "$model" --dataset data/two --split test --sweep pink=-5:30:5 --seed 1 \
  --out "$out/within-fluidr3.json"
"$BIN" eval --model "$model" --dataset data/two --split test_bank --sweep pink=-5:30:5 --seed 1 \
  --out "$out/held-out-timgm6mb.json"
"$BIN" embed --model "$model" --dataset data/two --split test_bank --out data/two-bank.npz
"$BIN" embed --model "$model" --dataset data/two --split test_bank --chain assets/chains/eval/pink_10db.toml \
  --seed 1 --out data/two-bank-pink10.npz
