#!/usr/bin/env bash
# Regenerates the compressed-format fixtures in tests/fixtures/formats/ (checked in; tests/loaders.rs
# reads them). Needs: sox, flac, lame, oggenc (Debian: sox flac lame vorbis-tools).
#
# The signal, identical in every fixture: 0.5 s in all, 0.100 s of digital silence, then a 440 Hz
# sine of peak amplitude 0.5 (-6.02 dBFS) starting at phase 0 for 0.300 s, then 0.100 s of
# silence. The sharp onset at 0.100 s lets the tests check that codec delay has been removed.
#
#   tone440_48k_stereo.flac  48 kHz, 2 identical channels, 24-bit, FLAC level 8
#   tone440_44k_stereo.mp3   44.1 kHz, 2 identical channels, LAME CBR 128 kbit/s (with the LAME
#                            header that records encoder delay and padding)
#   tone440_44k_mono.ogg     44.1 kHz, mono, Vorbis quality 5
set -euo pipefail
out="$(cd "$(dirname "$0")/.." && pwd)/tests/fixtures/formats"
mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# -D: no dither, so the PCM (and therefore the fixtures) is reproducible bit for bit.
tone() { # rate channels bits file
  sox -D -n -r "$1" -c "$2" -b "$3" "$4" synth 0.3 sine 440 gain -6.0206 pad 0.1 0.1
}

tone 48000 2 24 "$work/t48s.wav"
# flac notes (on stderr) that it skips the fact chunk sox writes for 24-bit WAV; harmless.
flac --silent --best --force -o "$out/tone440_48k_stereo.flac" "$work/t48s.wav"

tone 44100 2 16 "$work/t44s.wav"
lame --quiet --noreplaygain -b 128 --cbr "$work/t44s.wav" "$out/tone440_44k_stereo.mp3"

tone 44100 1 16 "$work/t44m.wav"
oggenc --quiet -q 5 -o "$out/tone440_44k_mono.ogg" "$work/t44m.wav"

ls -l "$out"
