#!/usr/bin/env python3
"""Decodes the compressed-format fixtures with libsndfile (through soundfile) into the references
tests/loaders.rs compares this crate's decoders with: each file's channels averaged, at its own
rate, as float32 .npy beside it (NAME.soundfile.npy).

usage: .venv/bin/python scripts/make_decoder_references.py   (the venv of scripts/fixtures.sh)
"""
from pathlib import Path

import numpy as np
import soundfile as sf

FORMATS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "formats"

for path in sorted(FORMATS.iterdir()):
    if path.suffix not in (".flac", ".mp3", ".ogg"):
        continue
    data, rate = sf.read(path, dtype="float32", always_2d=True)
    mono = data.mean(axis=1).astype(np.float32)
    np.save(FORMATS / f"{path.name}.soundfile.npy", mono)
    print(f"{path.name}: {rate} Hz, {data.shape[1]} channel(s), {len(mono)} samples (libsndfile {sf.__libsndfile_version__})")
