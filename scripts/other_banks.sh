#!/usr/bin/env bash
# The default recipe on the short schedule (2 contrastive and 20 multi-task epochs, as
# scripts/short_ablation.sh, without voting) trained on more than one bank, TimGM6mb held out:
# renders the data set, its feature store and its two degraded copies, trains, and evaluates
# into models/reports/other-banks/NAME-short/. With FULL=1, the one-library recipe
# (models/ablations/one-library.toml: its full schedule, voting) into models/reports/other-banks/NAME/. Each bank is a path or one of
# the names of scripts/banks.sh. Check first that a bank does not repeat the held-out one:
# `cargo run --example bank_overlap -- DATASET`.
# usage: scripts/other_banks.sh NAME BANK...
#   e.g. scripts/other_banks.sh generaluser fluidr3 generaluser
#        FULL=1 scripts/other_banks.sh generaluser fluidr3 generaluser
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/debug/timbrescope}
[ -x "$BIN" ] || cargo build
[ $# -ge 2 ] || { echo "usage: $0 NAME BANK..." >&2; exit 2; }
name=$1
shift
# shellcheck source=scripts/banks.sh
. scripts/banks.sh

args=()
for b in "$@"; do
  args+=(--soundfont "$(bank "$b")")
done
DATA=data/nsynth-$name
"$BIN" dataset synth "${args[@]}" --soundfont "$(bank timgm6mb)" --train-banks $# --out "$DATA"
"$BIN" store build --dataset "$DATA"
"$BIN" dataset degrade --dataset "$DATA" --out "$DATA-train-domain" --chain assets/chains/train_domain.toml --seed 1
"$BIN" dataset degrade --dataset "$DATA" --out "$DATA-train-codec" --chain assets/chains/train_codec.toml --seed 4
mkdir -p runs/other-banks
if [ "${FULL:-0}" = 1 ]; then
  config=models/ablations/one-library.toml
else
  name=$name-short
  config=runs/other-banks/$name.toml
  python3 scripts/ablation_config.py --floor 5:6:80 --shift 0.5:2 --ssl-epochs 2 --mtl-epochs 20 >"$config"
fi
run=runs/other-banks/$name
rm -rf "$run"
time "$BIN" train --config "$config" --dataset "$DATA" --degraded "$DATA-train-domain" \
    --degraded "$DATA-train-codec" --run "$run" >/dev/null
# shellcheck source=scripts/evaluate.sh
. scripts/evaluate.sh
evaluate_run "$run" "$DATA" "models/reports/other-banks/$name"
