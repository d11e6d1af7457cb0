#!/usr/bin/env python3
"""Writes five demo notes one after another (piano, violin, trumpet, alto sax, nylon guitar;
4 s each, 16 kHz mono) into one WAV: what README's Live screenshot plays as if live.

usage: scripts/demo_sequence.py OUT.wav
then:  timbrescope live --file OUT.wav --loop
"""
import sys
import wave
from pathlib import Path

NOTES = ["piano_C4", "violin_A4", "trumpet_Bb4", "alto_sax_A3", "nylon_guitar_E3"]


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    demo = Path(__file__).resolve().parent.parent / "assets" / "demo"
    frames, params = b"", None
    for name in NOTES:
        with wave.open(str(demo / f"{name}.wav")) as w:
            params = params or w.getparams()
            frames += w.readframes(w.getnframes())
    with wave.open(sys.argv[1], "wb") as out:
        out.setparams(params)
        out.writeframes(frames)
    return 0


if __name__ == "__main__":
    sys.exit(main())
