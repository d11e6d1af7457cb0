#!/usr/bin/env bash
# The real-recordings data set (split test_real, and the train-eligible notes of
# assets/real_sources.toml): downloads the Debian packages it names (unpacked here, not
# installed), decodes the organ's WavPack pipes, and cuts the recordings into NSynth notes in
# DIR (default data/real): each note alone, then silence; and in DIR-window, the 4 s of the
# recording from each note's start. Notes per source, instrument and split: DIR/real_counts.json.
# usage: scripts/real.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/debug/timbrescope}
[ -x "$BIN" ] || cargo build
DATA=${1:-data/real}
DEBS=${DEBS:-data/debs}
ROOT=$DEBS/root
sudo_=""
[ "$(id -u)" = 0 ] || sudo_=sudo
mkdir -p "$ROOT"
updated=false
for p in gcompris-qt-data grandorgue-demo; do
  if ! ls "$DEBS/${p}"_*.deb >/dev/null 2>&1; then
    if ! (cd "$DEBS" && apt-get download "$p" 2>/dev/null); then
      $updated || { $sudo_ apt-get update -qq; updated=true; }
      (cd "$DEBS" && apt-get download "$p")
    fi
  fi
  dpkg-deb -x "$DEBS/${p}"_*.deb "$ROOT"
done
if ! command -v wvunpack >/dev/null; then
  $updated || $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends wavpack >/dev/null
fi
# The demo organ's pipes: WavPack data behind .wav names, in a zip named .orgue.
organ=$(ls "$ROOT"/usr/share/GrandOrgue/packages/*.orgue)
rm -rf "$ROOT/grandorgue" "$ROOT/grandorgue.wv"
python3 -m zipfile -e "$organ" "$ROOT/grandorgue.wv"
for stop in "$ROOT"/grandorgue.wv/*/; do
  name=$(basename "$stop")
  ls "$stop"*.wav >/dev/null 2>&1 || continue
  mkdir -p "$ROOT/grandorgue/$name"
  for f in "$stop"*.wav; do
    wvunpack -q -y "$f" -o "$ROOT/grandorgue/$name/$(basename "$f")" 2>/dev/null
  done
done
"$BIN" dataset real --root "$ROOT" --out "$DATA"
"$BIN" dataset real --root "$ROOT" --out "$DATA-window" --cut window
