#!/usr/bin/env bash
# Trains the shipped model and its comparison model, evaluates them, and prints the tables kept
# in the README. About 40 minutes on two cores; `--ablations` adds the six recipes of
# models/ablations/ (another 150 minutes); `--skip-train` only re-evaluates existing runs.
# usage: scripts/train_models.sh [--skip-train] [--ablations]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/debug/timbrescope}
DATA=data/nsynth-sf2
[ -x "$BIN" ] || cargo build
skip_train=false
ablations=false
for arg in "$@"; do
  case "$arg" in
    --skip-train) skip_train=true ;;
    --ablations) ablations=true ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done
runs=(default clean-only)
$ablations && runs+=(noise noise-rooms-eq no-floor-no-shift noise-floor noise-subtraction noise-subtraction-shift)
if ! $skip_train; then
  "$BIN" dataset synth --soundfont /usr/share/sounds/sf2/FluidR3_GM.sf2 \
      --soundfont /usr/share/sounds/sf2/TimGM6mb.sf2 --out "$DATA"
  # The target domain with each stage at probability 0.5, and the codec alone: rooms, noise and
  # equalisers are also drawn afresh in the feature domain, a codec only comes from a copy.
  "$BIN" dataset degrade --dataset "$DATA" --out "$DATA-train-domain" \
      --chain assets/chains/train_domain.toml --seed 1
  "$BIN" dataset degrade --dataset "$DATA" --out "$DATA-train-codec" \
      --chain assets/chains/train_codec.toml --seed 4
  rm -rf "${runs[@]/#/runs/}"
  "$BIN" train --config models/default.toml --dataset "$DATA" --degraded "$DATA-train-domain" \
      --degraded "$DATA-train-codec" --run runs/default
  # The same config and seed without any degradation.
  "$BIN" train --config models/default.toml --dataset "$DATA" --clean --run runs/clean-only
  if $ablations; then
    for name in noise noise-rooms-eq; do
      "$BIN" train --config "models/ablations/$name.toml" --dataset "$DATA" \
          --degraded "$DATA-train-domain" --run "runs/$name"
    done
    # The shipped recipe without its noise floor and pitch shift; with the floor but no shift;
    # with the floor subtracted without a range limit, without and with the shift.
    for name in no-floor-no-shift noise-floor noise-subtraction noise-subtraction-shift; do
      "$BIN" train --config "models/ablations/$name.toml" --dataset "$DATA" \
          --degraded "$DATA-train-domain" --degraded "$DATA-train-codec" --run "runs/$name"
    done
  fi
fi
# Each run as its model file says (the default votes over shifts of up to 2 semitones), and the
# default without voting as `default-no-votes`.
evaluate() {
  local run=$1 out=$2
  shift 2
  mkdir -p "$out"
  "$BIN" eval --run "runs/$run" --dataset "$DATA" --split test "$@" --out "$out/test.json"
  "$BIN" eval --run "runs/$run" --dataset "$DATA" --split test_bank "$@" --out "$out/test_bank.json"
  for chain in rt60_1.2 pink_10db opus_24; do
    "$BIN" eval --run "runs/$run" --dataset "$DATA" --split test --chain "assets/chains/eval/$chain.toml" \
        --seed 5 "$@" --out "$out/test_$chain.json"
  done
}
for run in "${runs[@]}"; do
  evaluate "$run" "models/reports/$run"
done
evaluate default models/reports/default-no-votes --shift-votes 0
cp runs/default/best.safetensors models/timbrescope-small.safetensors
python3 scripts/report_table.py models/reports
