#!/usr/bin/env bash
# A model on the real-recordings set (scripts/real.sh): test_real cut as notes and as windows,
# each heard from the note's onset and from its middle, into OUT/{test_real,test_real_middle,
# window,window_middle}.json, with a line per report.
# usage: scripts/eval_real.sh (RUN_DIR | MODEL_FILE | shipped:NAME) OUT [REAL_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/debug/timbrescope}
[ -x "$BIN" ] || cargo build
[ $# -ge 2 ] || { echo "usage: $0 (RUN_DIR | MODEL_FILE | shipped:NAME) OUT [REAL_DIR]" >&2; exit 2; }
model=$1 out=$2 real=${3:-data/real}
[ -f "$real/examples.json" ] && [ -f "$real-window/examples.json" ] || scripts/real.sh "$real"
mkdir -p "$out"
if [ -d "$model" ]; then source_=(--run "$model"); else source_=(--model "$model"); fi
for cut in note window; do
  data=$real name=test_real
  [ $cut = window ] && data=$real-window name=window
  for from in onset middle; do
    file=$name
    [ $from = middle ] && file=${name}_middle
    echo "== $cut, from the $from"
    "$BIN" eval "${source_[@]}" --dataset "$data" --split test_real --from $from --out "$out/$file.json" |
        grep -E "^[0-9]+ notes|class-balanced|outside"
  done
done
