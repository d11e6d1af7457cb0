#!/usr/bin/env bash
# The stationary floor taken out of the inputs (`[input.noise_floor]`), measured: the default
# recipe (both degraded copies and the feature-domain degradations) on a shortened schedule (2
# contrastive and 20 multi-task epochs), with each given setting (`none`: without a floor),
# evaluated clean, in the three robustness conditions and on the held-out bank. Reports go to
# models/reports/floor/; the tables are printed at the end. About 12 minutes a setting.
# usage: scripts/floor_ablation.sh [none|PERCENTILE:MARGIN:RANGE ...]   (default: none 10:3:40 5:6:80)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/debug/timbrescope}
DATA=data/nsynth-sf2
[ -x "$BIN" ] || cargo build
for copy in train-domain train-codec; do
  [ -d "$DATA-$copy" ] || { echo "run scripts/train_models.sh first: $DATA-$copy is missing" >&2; exit 1; }
done
variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=(none 10:3:40 5:6:80)
mkdir -p runs/floor models/reports/floor
for v in "${variants[@]}"; do
  floor=""
  name=none
  if [ "$v" != none ]; then
    IFS=: read -r p m r <<<"$v"
    name="p$p-m$m-r$r"
    floor="\n\n[input.noise_floor]\npercentile = $p\nmargin_db = $m\nrange_db = $r"
  fi
  config=runs/floor/$name.toml
  sed -e "/^\[ssl\]/,/^\[/ s/^epochs = .*/epochs = 2/" -e "/^\[mtl\]/,/^\[/ s/^epochs = .*/epochs = 20/" \
      -e "s/^cqt_pool = .*/&$floor/" models/default.toml > "$config"
  rm -rf "runs/floor/$name"
  "$BIN" train --config "$config" --dataset "$DATA" --degraded "$DATA-train-domain" \
      --degraded "$DATA-train-codec" --run "runs/floor/$name" >/dev/null
  out=models/reports/floor/$name
  mkdir -p "$out"
  "$BIN" eval --run "runs/floor/$name" --dataset "$DATA" --split test --out "$out/test.json" >/dev/null
  "$BIN" eval --run "runs/floor/$name" --dataset "$DATA" --split test_bank --out "$out/test_bank.json" >/dev/null
  for chain in rt60_1.2 pink_10db opus_24; do
    "$BIN" eval --run "runs/floor/$name" --dataset "$DATA" --split test --chain "assets/chains/eval/$chain.toml" \
        --seed 5 --out "$out/test_$chain.json" >/dev/null
  done
done
python3 scripts/report_table.py models/reports/floor
