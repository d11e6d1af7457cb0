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
chains=test
[ "${CHAINS:-1}" = 1 ] || chains=
# shellcheck source=scripts/evaluate.sh
. scripts/evaluate.sh
evaluate_run "$run" "$DATA" "$REPORTS/$name" --chains "$chains" --middle --real --mixtures
