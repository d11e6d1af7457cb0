#!/usr/bin/env python3
"""How loud a data set's notes are: percentiles of each note's RMS and peak in dBFS over a seeded
sample of its 16-bit WAVs (the spread the mixtures' level matching takes out, src/data/mixing.rs).

usage: scripts/note_levels.py [DATA_DIR] [--count N] [--seed S]
"""
import argparse
import array
import math
import random
import sys
import wave
from pathlib import Path


def levels(path: Path) -> tuple[float, float]:
    with wave.open(str(path)) as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: {8 * w.getsampwidth()}-bit samples, expected 16-bit")
        samples = array.array("h", w.readframes(w.getnframes()))
    if sys.byteorder == "big":
        samples.byteswap()
    n = max(len(samples), 1)
    rms = math.sqrt(sum(s * s for s in samples) / n) / 32768.0
    peak = max((abs(s) for s in samples), default=0) / 32768.0
    db = lambda x: 20.0 * math.log10(max(x, 1e-12))
    return db(rms), db(peak)


def percentile(values: list[float], q: float) -> float:
    v = sorted(values)
    return v[round(q / 100.0 * (len(v) - 1))]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", nargs="?", default="data/pool")
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    files = sorted(Path(a.data, "audio").glob("*.wav"))
    if not files:
        sys.exit(f"no WAVs under {Path(a.data, 'audio')}")
    sample = random.Random(a.seed).sample(files, min(a.count, len(files)))
    rms, peak = zip(*(levels(f) for f in sample))
    qs = [5, 25, 50, 75, 95]
    print(f"{len(sample)} of {len(files)} notes in {a.data} (seed {a.seed}), dBFS at percentiles {qs}:")
    print("RMS  " + "  ".join(f"{percentile(list(rms), q):6.1f}" for q in qs))
    print("peak " + "  ".join(f"{percentile(list(peak), q):6.1f}" for q in qs))
    print(f"RMS spread, 5th to 95th percentile: {percentile(list(rms), 95) - percentile(list(rms), 5):.1f} dB")


if __name__ == "__main__":
    main()
