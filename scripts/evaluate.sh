#!/usr/bin/env bash
# The evaluation every training script runs on its run, in one place (sourced by
# scripts/train_models.sh, scripts/pool_short.sh and scripts/other_banks.sh):
#
#   evaluate_run RUN DATA OUT [--chains "SPLIT..."] [--middle] [--valid] [--real] [--mixtures] [-- EVAL ARGS...]
#
# always   the test split and the held-out library (test_bank), clean: OUT/{test,test_bank}.json
# --chains each SPLIT (default: test) through the three evaluation chains (a room with RT60
#          1.2 s, pink noise at 10 dB, Opus at 24 kbit/s; seed 5): OUT/SPLIT_CHAIN.json
# --middle the held-out library heard from the notes' middle: OUT/test_bank_middle.json
# --valid  the valid split without votes, as training scored it: OUT/valid.json
# --real   the real recordings (scripts/eval_real.sh): OUT/real/
# --mixtures  1,000 seeded mixtures of 2 and 3 held-out notes, of 2 in a room, of 2 test-split
#          notes and of 2 real recordings; with a multi-label head (`[polyphony]` in the run's
#          config) also mixed in power as training mixes them, held-out and the training split's
#          own (1 and 2 notes)
# EVAL ARGS (e.g. --shift-votes 0) go to the clean and chained evaluations.
# BIN is the binary (default target/debug/timbrescope).

evaluate_run() {
  local run=$1 data=$2 out=$3
  shift 3
  local chains=test middle=false valid=false real=false mixtures=false
  while [ $# -gt 0 ]; do
    case "$1" in
      --chains) chains=$2; shift 2 ;;
      --middle) middle=true; shift ;;
      --valid) valid=true; shift ;;
      --real) real=true; shift ;;
      --mixtures) mixtures=true; shift ;;
      --) shift; break ;;
      *) echo "evaluate_run: unknown option $1" >&2; return 2 ;;
    esac
  done
  local bin=${BIN:-target/debug/timbrescope}
  mkdir -p "$out"
  local split chain k
  for split in test test_bank; do
    "$bin" eval --run "$run" --dataset "$data" --split $split "$@" --out "$out/$split.json"
  done
  for split in $chains; do
    for chain in rt60_1.2 pink_10db opus_24; do
      "$bin" eval --run "$run" --dataset "$data" --split "$split" --chain "assets/chains/eval/$chain.toml" \
          --seed 5 "$@" --out "$out/${split}_$chain.json"
    done
  done
  if $valid; then
    "$bin" eval --run "$run" --dataset "$data" --split valid --shift-votes 0 --out "$out/valid.json"
  fi
  if $middle; then
    "$bin" eval --run "$run" --dataset "$data" --split test_bank --from middle --out "$out/test_bank_middle.json"
  fi
  if $real; then
    BIN=$bin scripts/eval_real.sh "$run" "$out/real"
  fi
  $mixtures || return 0
  local seeded=(--count 1000 --seed 11)
  for k in 2 3; do
    "$bin" eval --run "$run" --dataset "$data" --split test_bank --mixtures $k "${seeded[@]}" \
        --out "$out/test_bank_mix$k.json"
  done
  "$bin" eval --run "$run" --dataset "$data" --split test_bank --mixtures 2 "${seeded[@]}" \
      --chain assets/chains/eval/rt60_1.2.toml --out "$out/test_bank_mix2_rt60_1.2.json"
  "$bin" eval --run "$run" --dataset "$data" --split test --mixtures 2 "${seeded[@]}" --out "$out/test_mix2.json"
  mkdir -p "$out/real"
  "$bin" eval --run "$run" --dataset data/real --split test_real --mixtures 2 "${seeded[@]}" \
      --out "$out/real/test_real_mix2.json"
  grep -q '^\[polyphony\]' "$run/config.toml" || return 0
  "$bin" eval --run "$run" --dataset "$data" --split test_bank --mixtures 2 "${seeded[@]}" --mix-in power \
      --out "$out/test_bank_mix2_power.json"
  for k in 1 2; do
    "$bin" eval --run "$run" --dataset "$data" --split train --mixtures $k "${seeded[@]}" --mix-in power \
        --out "$out/train_mix${k}_power.json"
  done
}
