#!/usr/bin/env bash
# Live mode timed as it runs on this machine, into models/reports/live/ (OUT moves it):
# 1. the window under Xvfb at its default size (1400 x 900, lavapipe draws), a demo note looped
#    as if live for SECS seconds (default 30): frames per second, block to pixel, prediction
#    latency, CPU;
# 2. headless, the same note looped for LONG seconds (default 600, ten minutes): dropped blocks,
#    block to columns, prediction latency, CPU.
# There is no reference tool to time beside it: nothing else draws these views live.
# usage: [SECS=30] [LONG=600] benches/live.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/debug/timbrescope}
OUT=${OUT:-models/reports/live}
[ -x "$BIN" ] || cargo build
mkdir -p "$OUT"
clip=assets/demo/violin_A4.wav
runtime=$(mktemp -d)
# A fresh settings folder: a window size kept from an earlier session would change the size timed.
XDG_DATA_HOME=$(mktemp -d) XDG_RUNTIME_DIR=$runtime xvfb-run -a -s "-screen 0 1600x1000x24" \
  "$BIN" live --file "$clip" --loop --quit-after "${SECS:-30}" --stats "$OUT/window.json"
"$BIN" live --headless --file "$clip" --loop --secs "${LONG:-600}" --report "$OUT/headless.json"
python3 - "$OUT" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
w = json.loads((out / "window.json").read_text())
h = json.loads((out / "headless.json").read_text())
s = w["stream"]
ms = lambda d, k: "-" if d.get(k) is None else f"{d[k]:.1f} ms"
print(f"window: {w['fps_median']:.1f} frames/s (median), frame p95 {ms(w['frame_interval'], 'p95_ms')}; "
      f"block to pixel median {ms(w['block_to_pixel'], 'median_ms')}, p95 {ms(w['block_to_pixel'], 'p95_ms')}; "
      f"prediction median {ms(s['prediction'], 'median_ms')}, p95 {ms(s['prediction'], 'p95_ms')}; "
      f"CPU {s['cpu_percent']:.0f}% of a core; {s['dropped_blocks']} of {s['blocks']} blocks dropped")
print(f"headless {h['stream_secs']:.0f} s: {h['dropped_blocks']} of {h['blocks']} blocks dropped; "
      f"block to columns median {ms(h['block_to_columns'], 'median_ms')}, max {ms(h['block_to_columns'], 'max_ms')}; "
      f"prediction median {ms(h['prediction'], 'median_ms')}, p95 {ms(h['prediction'], 'p95_ms')}, "
      f"max {ms(h['prediction'], 'max_ms')}; {h['skipped_predictions']} hops skipped; CPU {h['cpu_percent']:.0f}% of a core")
PY
