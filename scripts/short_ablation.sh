#!/usr/bin/env bash
# Changes to the training recipe measured on a shortened schedule (2 contrastive and 20
# multi-task epochs): the default recipe (both degraded copies and the feature-domain
# degradations) without its noise floor and pitch shift, with each variant's added back,
# evaluated clean, in the three robustness conditions and on the held-out bank. Reports go to
# models/reports/short/NAME/; the tables are printed at the end. 8-10 minutes of training a
# variant, 2 of evaluation.
# usage: scripts/short_ablation.sh [VARIANT ...]
#   VARIANT: none, or options of scripts/ablation_config.py joined by commas, e.g.
#   floor=5:6:100 (the noise floor, PERCENTILE:MARGIN:RANGE), shift=0.5:2 (PROBABILITY:SEMITONES),
#   floor=5:6:100,shift=0.5:2, noise=-5:20:3 (the feature-domain noise's SNR range and weight),
#   eq=0.75:8 (the feature-domain equaliser's PROBABILITY:GAIN_DB).
#   Default: all the variants of models/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/debug/timbrescope}
DATA=data/nsynth-sf2
[ -x "$BIN" ] || cargo build
for copy in train-domain train-codec; do
  [ -d "$DATA-$copy" ] || { echo "run scripts/train_models.sh --one-library first: $DATA-$copy is missing" >&2; exit 1; }
done
variants=("$@")
[ ${#variants[@]} -gt 0 ] ||
  variants=(none floor=10:3:40 floor=5:6:80 floor=5:6:100 shift=0.5:2 floor=5:6:100,shift=0.5:2
    floor=5:6:80,shift=0.5:2 floor=5:6:80,shift=0.5:2,noise=-5:20:3)
mkdir -p runs/short models/reports/short
for v in "${variants[@]}"; do
  args=(--ssl-epochs 2 --mtl-epochs 20)
  name=none
  if [ "$v" != none ]; then
    name=""
    IFS=, read -ra opts <<<"$v"
    for o in "${opts[@]}"; do
      key=${o%%=*}
      value=${o#*=}
      args+=("--$key=$value")
      case $key in
        floor) IFS=: read -r p m r <<<"$value"; part="p$p-m$m-r$r" ;;
        shift) IFS=: read -r p s <<<"$value"; part="shift-p$p-s$s" ;;
        noise) IFS=: read -r lo hi w <<<"$value"; part="noise-snr${lo}-${hi}-w$w" ;;
        eq) IFS=: read -r p g <<<"$value"; part="eq-p$p-g$g" ;;
        *) echo "unknown option $key in $v" >&2; exit 2 ;;
      esac
      name=${name:+$name-}$part
    done
  fi
  config=runs/short/$name.toml
  python3 scripts/ablation_config.py "${args[@]}" > "$config"
  rm -rf "runs/short/$name"
  "$BIN" train --config "$config" --dataset "$DATA" --degraded "$DATA-train-domain" \
      --degraded "$DATA-train-codec" --run "runs/short/$name" >/dev/null
  out=models/reports/short/$name
  mkdir -p "$out"
  "$BIN" eval --run "runs/short/$name" --dataset "$DATA" --split test --out "$out/test.json" >/dev/null
  "$BIN" eval --run "runs/short/$name" --dataset "$DATA" --split test_bank --out "$out/test_bank.json" >/dev/null
  for chain in rt60_1.2 pink_10db opus_24; do
    "$BIN" eval --run "runs/short/$name" --dataset "$DATA" --split test --chain "assets/chains/eval/$chain.toml" \
        --seed 5 --out "$out/test_$chain.json" >/dev/null
  done
done
python3 scripts/report_table.py models/reports/short
