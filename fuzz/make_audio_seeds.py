#!/usr/bin/env python3
"""Writes the compressed-audio seeds of the fuzzer (fuzz/corpus/{flac,mp3,ogg}/): short tones
encoded by libsndfile through soundfile, which this crate cannot encode itself.

usage: .venv/bin/python fuzz/make_audio_seeds.py   (the venv of scripts/fixtures.sh)
"""
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent / "corpus"


def tone(rate, channels, secs=0.1):
    t = np.arange(int(rate * secs)) / rate
    mono = 0.5 * np.sin(2 * np.pi * 440 * t)
    return np.stack([mono * (1 - 0.3 * c) for c in range(channels)], axis=1).astype(np.float32)


for target, fmt, subtype, ext, cases in [
    ("flac", "FLAC", "PCM_16", "flac", [(44100, 1), (48000, 2)]),
    ("flac", "FLAC", "PCM_24", "flac", [(96000, 2)]),
    ("mp3", "MP3", "MPEG_LAYER_III", "mp3", [(44100, 1), (48000, 2)]),
    ("ogg", "OGG", "VORBIS", "ogg", [(44100, 1), (22050, 2)]),
]:
    (ROOT / target).mkdir(parents=True, exist_ok=True)
    for rate, channels in cases:
        name = f"tone_{rate // 1000}k_{channels}ch_{subtype.lower()}.{ext}"
        sf.write(ROOT / target / name, tone(rate, channels), rate, format=fmt, subtype=subtype)
        print(target, name)
