#!/usr/bin/env bash
# Trains the shipped model on the library pool (scripts/pool.sh, TimGM6mb held out) with its two
# degraded copies, evaluates it with and without voting, copies it to
# models/timbrescope-small.safetensors and prints the tables kept in the README: about an hour
# on two cores. `--one-library` instead trains and evaluates the recipes measured on FluidR3
# alone (models/ablations/one-library.toml, shipped before the pool, and `clean-only`; with
# `--ablations` also the six recipes of models/ablations/, another 150 minutes) into
# models/reports/one-library/. `--skip-train` only re-evaluates existing runs.
# The shipped recipe trains with the played copy (scripts/played.sh, `train --played`); PLAYED=0
# leaves it out. RUN and OUT move the run and its reports (default runs/default and
# models/reports/default); SHIP=0 leaves the shipped model file and training time alone.
# usage: [PLAYED=0] [RUN=DIR OUT=DIR SHIP=0] scripts/train_models.sh [--skip-train] [--one-library [--ablations]]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/debug/timbrescope}
[ -x "$BIN" ] || cargo build
skip_train=false
one_library=false
ablations=false
for arg in "$@"; do
  case "$arg" in
    --skip-train) skip_train=true ;;
    --one-library) one_library=true ;;
    --ablations) ablations=true ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done
$ablations && ! $one_library && { echo "--ablations goes with --one-library" >&2; exit 2; }

# The two degraded copies of a data set: the target domain with each stage at probability 0.5,
# and the codec alone. Rooms, noise and equalisers are also drawn afresh in the feature domain;
# a codec only comes from a copy.
degraded_copies() {
  "$BIN" dataset degrade --dataset "$1" --out "$1-train-domain" --chain assets/chains/train_domain.toml --seed 1
  "$BIN" dataset degrade --dataset "$1" --out "$1-train-codec" --chain assets/chains/train_codec.toml --seed 4
}

# shellcheck source=scripts/evaluate.sh
. scripts/evaluate.sh

if ! $one_library; then
  DATA=data/pool
  RUN=${RUN:-runs/default}
  OUT=${OUT:-models/reports/default}
  SHIP=${SHIP:-1}
  played=()
  [ "${PLAYED:-1}" = 1 ] && played=(--played "$DATA-played")
  if ! $skip_train; then
    # The shipped model's pool is the five sample libraries (no STK models): STK=1 adds them.
    STK=${STK:-0} scripts/pool.sh "$DATA"
    degraded_copies "$DATA"
    [ ${#played[@]} = 0 ] || scripts/played.sh "$DATA"
    rm -rf "$RUN"
    mkdir -p "$OUT" "$(dirname "$RUN")"
    # The whole run's wall time, and its peak RSS where GNU time is installed.
    timer=()
    [ -x /usr/bin/time ] && timer=(/usr/bin/time -f "peak RSS %M kB" -o "$RUN.rss")
    start=$(date +%s)
    "${timer[@]}" "$BIN" train --config models/default.toml --dataset "$DATA" \
        --degraded "$DATA-train-domain" --degraded "$DATA-train-codec" "${played[@]}" --run "$RUN"
    { echo "trained in $(( $(date +%s) - start )) s"; cat "$RUN.rss" 2>/dev/null || true; } |
        tee "$OUT/train_secs.txt"
    if [ "$SHIP" = 1 ]; then cp "$OUT/train_secs.txt" models/reports/train_secs.txt; fi
  fi
  # As its model file says (voting over shifts of up to 2 semitones), the valid split as training
  # scored it when it chose the best epoch, the held-out library from the notes' middle, the real
  # recordings and the mixtures; and hearing each note once.
  evaluate_run "$RUN" "$DATA" "$OUT" --chains "test test_bank" --valid --middle --real --mixtures
  evaluate_run "$RUN" "$DATA" "$OUT-no-votes" --chains "test test_bank" -- --shift-votes 0
  [ "$SHIP" = 1 ] || exit 0
  cp "$RUN/best.safetensors" models/timbrescope-small.safetensors
  python3 scripts/report_table.py --held-out models/reports
  exit 0
fi

DATA=data/nsynth-sf2
runs=(default clean-only)
$ablations && runs+=(noise noise-rooms-eq no-floor-no-shift noise-floor noise-subtraction noise-subtraction-shift)
if ! $skip_train; then
  "$BIN" dataset synth --soundfont /usr/share/sounds/sf2/FluidR3_GM.sf2 \
      --soundfont /usr/share/sounds/sf2/TimGM6mb.sf2 --out "$DATA"
  degraded_copies "$DATA"
  rm -rf "${runs[@]/#/runs/one-library/}"
  "$BIN" train --config models/ablations/one-library.toml --dataset "$DATA" \
      --degraded "$DATA-train-domain" --degraded "$DATA-train-codec" --run runs/one-library/default
  # The same config and seed without any degradation.
  "$BIN" train --config models/ablations/one-library.toml --dataset "$DATA" --clean \
      --run runs/one-library/clean-only
  if $ablations; then
    for name in noise noise-rooms-eq; do
      "$BIN" train --config "models/ablations/$name.toml" --dataset "$DATA" \
          --degraded "$DATA-train-domain" --run "runs/one-library/$name"
    done
    # The one-library recipe without its noise floor and pitch shift; with the floor but no
    # shift; with the floor subtracted without a range limit, without and with the shift.
    for name in no-floor-no-shift noise-floor noise-subtraction noise-subtraction-shift; do
      "$BIN" train --config "models/ablations/$name.toml" --dataset "$DATA" \
          --degraded "$DATA-train-domain" --degraded "$DATA-train-codec" --run "runs/one-library/$name"
    done
  fi
fi
for run in "${runs[@]}"; do
  evaluate_run "runs/one-library/$run" "$DATA" "models/reports/one-library/$run" --chains "test test_bank"
done
evaluate_run runs/one-library/default "$DATA" models/reports/one-library/default-no-votes --chains "test test_bank" \
    -- --shift-votes 0
python3 scripts/report_table.py models/reports/one-library
