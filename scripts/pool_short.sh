#!/usr/bin/env bash
# One recipe on the short schedule (2 contrastive and 20 multi-task epochs, the noise floor and
# the pitch shift, feature-domain degradations, no degraded copies, no votes) trained on a
# data set (default: the pool of scripts/pool.sh), evaluated on its test split clean and
# degraded and on the held-out library, into models/reports/pool/NAME/. Further arguments go
# to scripts/ablation_config.py (e.g. --positives other_library, --adversary 0.3:1). DATA,
# REPORTS and RUNS move the data set, reports and run folders; CHAINS=0 skips the degraded
# evaluations; PLAYED=DIR trains with a played copy (scripts/played.sh). Besides the test split
# and the held-out library from the onset, the held-out library from the notes' middle and the
# real recordings (scripts/eval_real.sh) are evaluated, and mixtures of 2 and 3 held-out notes
# and of 2 real recordings.
# usage: [DATA=data/pool] scripts/pool_short.sh NAME [ABLATION FLAGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/debug/timbrescope}
[ -x "$BIN" ] || cargo build
[ $# -ge 1 ] || { echo "usage: $0 NAME [ABLATION FLAGS...]" >&2; exit 2; }
name=$1
shift
DATA=${DATA:-data/pool}
REPORTS=${REPORTS:-models/reports/pool}
RUNS=${RUNS:-runs/pool}
[ -f "$DATA/examples.json" ] || scripts/pool.sh "$DATA"
mkdir -p "$RUNS" "$REPORTS/$name"
config=$RUNS/$name.toml
python3 scripts/ablation_config.py --floor 5:6:80 --shift 0.5:2 --ssl-epochs 2 --mtl-epochs 20 "$@" >"$config"
run=$RUNS/$name
rm -rf "$run"
start=$(date +%s)
played=()
[ -n "${PLAYED:-}" ] && played=(--played "$PLAYED")
"$BIN" train --config "$config" --dataset "$DATA" "${played[@]}" --run "$run" >/dev/null
echo "$name: trained in $(( $(date +%s) - start )) s" | tee "$REPORTS/$name/train_secs.txt"
out=$REPORTS/$name
"$BIN" eval --run "$run" --dataset "$DATA" --split test --out "$out/test.json"
"$BIN" eval --run "$run" --dataset "$DATA" --split test_bank --out "$out/test_bank.json"
"$BIN" eval --run "$run" --dataset "$DATA" --split test_bank --from middle --out "$out/test_bank_middle.json"
scripts/eval_real.sh "$run" "$out/real"
# Mixtures of the held-out library's notes (2 and 3 sources) and of the test split's (2).
for k in 2 3; do
  "$BIN" eval --run "$run" --dataset "$DATA" --split test_bank --mixtures $k --count 1000 --seed 11 \
      --out "$out/test_bank_mix$k.json"
done
"$BIN" eval --run "$run" --dataset "$DATA" --split test --mixtures 2 --count 1000 --seed 11 --out "$out/test_mix2.json"
"$BIN" eval --run "$run" --dataset data/real --split test_real --mixtures 2 --count 1000 --seed 11 \
    --out "$out/real/test_real_mix2.json"
# The same TimGM6mb mixtures mixed in power as training mixes them, and how well the model fits
# its own training split's mixtures and notes (a model with a multi-label head).
if grep -q '^\[polyphony\]' "$config"; then
  "$BIN" eval --run "$run" --dataset "$DATA" --split test_bank --mixtures 2 --count 1000 --seed 11 --mix-in power \
      --out "$out/test_bank_mix2_power.json"
  for k in 1 2; do
    "$BIN" eval --run "$run" --dataset "$DATA" --split train --mixtures $k --count 1000 --seed 11 --mix-in power \
        --out "$out/train_mix${k}_power.json"
  done
fi
[ "${CHAINS:-1}" = 1 ] || exit 0
for chain in rt60_1.2 pink_10db opus_24; do
  "$BIN" eval --run "$run" --dataset "$DATA" --split test --chain "assets/chains/eval/$chain.toml" \
      --seed 5 --out "$out/test_$chain.json"
done
