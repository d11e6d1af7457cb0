#!/usr/bin/env bash
# The input resolution, measured: the default config (without its noise floor and pitch shift, as
# scripts/ablation_config.py writes it) with other `[input]` poolings, each trained on clean
# notes with a shortened schedule (2 contrastive and 15 multi-task epochs), evaluated on the
# test split. Reports go to models/reports/pooling/; the table is printed at the end.
# usage: scripts/pooling_ablation.sh [TIME:STFT:CQT ...]   (default: 4:4:4 2:4:4 4:2:2 8:8:8)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/debug/timbrescope}
DATA=data/nsynth-sf2
[ -x "$BIN" ] || cargo build
variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=(4:4:4 2:4:4 4:2:2 8:8:8)
mkdir -p runs/pooling models/reports/pooling
for v in "${variants[@]}"; do
  IFS=: read -r t s c <<<"$v"
  name="t${t}-s${s}-c${c}"
  config=runs/pooling/$name.toml
  python3 scripts/ablation_config.py --pool "$v" --ssl-epochs 2 --mtl-epochs 15 > "$config"
  rm -rf "runs/pooling/$name"
  start=$(date +%s)
  "$BIN" train --config "$config" --dataset "$DATA" --clean --run "runs/pooling/$name" >/dev/null
  echo "$(( $(date +%s) - start ))" > "runs/pooling/$name/wall_secs"
  "$BIN" eval --run "runs/pooling/$name" --dataset "$DATA" --split test \
      --out "models/reports/pooling/$name.json" >/dev/null
done
echo "| time:STFT:CQT pool | frames | STFT bins | CQT bins | test instrument | run |"
echo "|---|---|---|---|---|---|"
for v in "${variants[@]}"; do
  IFS=: read -r t s c <<<"$v"
  name="t${t}-s${s}-c${c}"
  acc=$(python3 -c "import json; print(f\"{100 * json.load(open('models/reports/pooling/$name.json'))['metrics']['acc_instrument']:.1f}%\")")
  secs=$(cat "runs/pooling/$name/wall_secs")
  echo "| $t:$s:$c | $((251 / t)) | $((513 / s)) | $((761 / c)) | $acc | $((secs / 60)) min $((secs % 60)) s |"
done
