#!/usr/bin/env python3
"""Single-threaded audiomentations reference timings for the degradation chain.

Usage (from the repository root, with .venv set up as in scripts/requirements-ref.txt):

    .venv/bin/python benches/audiomentations_ref.py CLIP.wav BRIR.wav [--min-runs 20] [--min-secs 1.0]

CLIP is a 16 kHz mono clip (e.g. assets/demo/piano_C4.wav), BRIR a 16 kHz two-channel
(binaural) impulse response, e.g. from `timbrescope rir --rt60 1.2 --binaural`. This is
the audiomentations counterpart of timbrescope's Rust `degrade` chain:

  reverb_ms        ApplyImpulseResponse(BRIR, p=1). The mono clip is passed as two
                   identical channels: audiomentations then loads the IR as stereo and
                   convolves channel i with ear i (a 1-D input would make it downmix the
                   BRIR to mono). Output is tail-trimmed and peak-normalised to 0.5.
  fftconvolve_ms   scipy.signal.fftconvolve(clip, BRIR) for both ears, full length.
  pink_noise_ms    AddColorNoise, SNR 10 dB, f_decay -3.01 dB/octave (pink).
  eq_ms            LowShelfFilter 200 Hz +6 dB, HighShelfFilter 4 kHz -6 dB (Q 0.707),
                   BandPassFilter 300-3400 Hz (12 dB/octave Butterworth), in sequence;
                   eq_parts_ms has each filter alone.
  mp3_ms           Mp3Compression 32 kbps, lameenc backend (encode in memory, write a
                   temporary .mp3, decode it with librosa.load).
  mp3_fast_ms      (if fast_mp3_augment is importable) the same with the in-memory
                   "fast-mp3-augment" backend, audiomentations' default since 0.42.
  opus_soundfile_ms  audiomentations has no Opus transform; for reference, an Ogg/Opus
                   round trip at 32 kbps through soundfile (libsndfile + libopus) in memory.
  chain_ms         Compose([reverb, pink noise, the three EQs, MP3 lameenc]).

Stages after the reverb are timed on the reverberant two-channel signal, the input
they get inside the chain. Each value: two warm-up calls, then the median of at least
--min-runs calls and --min-secs seconds of calls. Parameters are re-drawn on every
call (with min == max), as audiomentations does in use.

stdout: one JSON object. stderr: human-readable progress.
"""

import os

# Single-threaded BLAS/FFT/numba, set before numpy is imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import scipy.signal  # noqa: E402
import soundfile as sf  # noqa: E402

try:
    import audiomentations as am
except ImportError as exc:
    sys.exit(f"{exc}: install the audiomentations block of scripts/requirements-ref.txt "
             "(pip install --no-deps ..., see the comment there)")

SR = 16000
SNR_DB = 10.0
PINK_DB_PER_OCTAVE = am.NOISE_COLOR_DECAYS["pink"]  # -10*log10(2) = -3.0103
BITRATE_KBPS = 32


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def bench(fn, min_runs: int, min_secs: float, warmup: int = 2) -> float:
    """Median wall time of fn() in milliseconds."""
    for _ in range(warmup):
        fn()
    times = []
    while len(times) < min_runs or sum(times) < min_secs:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def opus_roundtrip(x: np.ndarray) -> np.ndarray:
    """Encode (channels, n) to Ogg/Opus at BITRATE_KBPS in memory and decode it again."""
    channels = x.shape[0]
    # libsndfile maps compression level q to ((1 - q) * 250 + 6) kbps per channel.
    per_channel_kbps = BITRATE_KBPS / channels
    level = 1.0 - (per_channel_kbps - 6.0) / 250.0
    buf = io.BytesIO()
    sf.write(buf, x.T, SR, format="OGG", subtype="OPUS", compression_level=level)
    buf.seek(0)
    y, _ = sf.read(buf, dtype="float32", always_2d=True)
    return y.T


def main() -> int:
    ap = argparse.ArgumentParser(description="single-threaded audiomentations degradation timings")
    ap.add_argument("clip")
    ap.add_argument("brir")
    ap.add_argument("--min-runs", type=int, default=20)
    ap.add_argument("--min-secs", type=float, default=1.0)
    args = ap.parse_args()

    clip, sr = sf.read(args.clip, dtype="float32", always_2d=True)
    if sr != SR or clip.shape[1] != 1:
        sys.exit(f"{args.clip}: {sr} Hz, {clip.shape[1]} ch; need 16 kHz mono")
    info = sf.info(args.brir)
    if info.samplerate != SR or info.channels != 2:
        sys.exit(f"{args.brir}: {info.samplerate} Hz, {info.channels} ch; need 16 kHz two-channel")
    brir, _ = sf.read(args.brir, dtype="float32", always_2d=True)
    clip = clip[:, 0]
    stereo = np.ascontiguousarray(np.stack([clip, clip]))

    random.seed(0)
    np.random.seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the lameenc backend is deprecated
        reverb = am.ApplyImpulseResponse(ir_path=args.brir, p=1.0)
        noise = am.AddColorNoise(min_snr_db=SNR_DB, max_snr_db=SNR_DB, min_f_decay=PINK_DB_PER_OCTAVE,
                                 max_f_decay=PINK_DB_PER_OCTAVE, p=1.0)
        eqs = [
            am.LowShelfFilter(min_center_freq=200.0, max_center_freq=200.0, min_gain_db=6.0, max_gain_db=6.0,
                              min_q=0.707, max_q=0.707, p=1.0),
            am.HighShelfFilter(min_center_freq=4000.0, max_center_freq=4000.0, min_gain_db=-6.0,
                               max_gain_db=-6.0, min_q=0.707, max_q=0.707, p=1.0),
            # Edges are centre -/+ bandwidth/2 (arithmetic): 1850 -/+ 1550 Hz = 300..3400 Hz.
            am.BandPassFilter(min_center_freq=1850.0, max_center_freq=1850.0,
                              min_bandwidth_fraction=3100.0 / 1850.0, max_bandwidth_fraction=3100.0 / 1850.0,
                              min_rolloff=12, max_rolloff=12, p=1.0),
        ]
        eq = am.Compose(eqs)
        mp3 = am.Mp3Compression(min_bitrate=BITRATE_KBPS, max_bitrate=BITRATE_KBPS, backend="lameenc",
                                preserve_delay=True, p=1.0)  # lameenc rejects preserve_delay=False
        chain = am.Compose([reverb, noise, *eqs, mp3])

    wet = reverb(stereo, SR)
    noisy = noise(wet, SR)
    ear_snr = [round(float(10 * np.log10(np.mean(w ** 2) / np.mean((y - w) ** 2))), 2)
               for w, y in zip(wet, noisy)]
    n = dict(min_runs=args.min_runs, min_secs=args.min_secs)
    ms = {}

    def run(key, fn):
        ms[key] = round(bench(fn, **n), 4)
        log(f"  {key:18s} {ms[key]:10.3f} ms")

    log(f"audiomentations {am.__version__}: {args.clip} ({clip.size} samples), {args.brir} ({brir.shape[0]} x 2)")
    run("reverb_ms", lambda: reverb(stereo, SR))
    run("fftconvolve_ms", lambda: scipy.signal.fftconvolve(clip[None, :], brir.T, axes=-1))
    run("pink_noise_ms", lambda: noise(wet, SR))
    run("eq_ms", lambda: eq(wet, SR))
    parts = {}
    for name, t in zip(("low_shelf", "high_shelf", "band_pass"), eqs):
        parts[name] = round(bench(lambda: t(wet, SR), **n), 4)
        log(f"    {name:16s} {parts[name]:10.3f} ms")
    run("mp3_ms", lambda: mp3(wet, SR))
    run("chain_ms", lambda: chain(stereo, SR))

    notes = [
        "reverb: a 1-D (mono) input makes ApplyImpulseResponse load the BRIR downmixed to mono; "
        "the clip is therefore passed as two identical channels so that each ear's IR is convolved "
        "(scipy.signal.convolve), giving binaural output; the tail is cut to the input length and "
        "the result peak-normalised to 0.5",
        "pink noise: the noise RMS is the mean of the per-channel signal RMS minus 10 dB, and the same "
        "noise level goes into both ears, so the SNR is exact only for mono input; for a binaural signal "
        "each ear's SNR differs by the ears' level difference (snr_per_ear_db); the 1/f shape comes from a "
        "128-point FFT filter with random phase, so it is only pink above about 125 Hz",
        "EQ: RBJ cookbook shelves (low shelf gain at DC, high shelf gain at Nyquist, Q 0.707, "
        "f0 = shelf midpoint); band-pass = scipy butter(2, bandpass), 12 dB/octave each side "
        "(sosfilt, not zero-phase)",
        "mp3: lameenc backend, LAME quality 7, MPEG-2 layer III, 32 kbps for both channels together; "
        "it requires preserve_delay=True, so the output keeps the encoder delay and padding and is "
        "longer than the input; includes writing and decoding a temporary file",
        "opus: audiomentations %s has no Opus transform; opus_soundfile_ms is a soundfile "
        "(libsndfile + libopus, default complexity) round trip instead, most of it encoding; not part of "
        "chain_ms" % am.__version__,
        "chain: Compose([reverb, pink noise, low shelf, high shelf, band-pass, mp3 lameenc])",
    ]
    try:
        import fast_mp3_augment  # noqa: F401

        fast = am.Mp3Compression(min_bitrate=BITRATE_KBPS, max_bitrate=BITRATE_KBPS,
                                 backend="fast-mp3-augment", p=1.0)
        run("mp3_fast_ms", lambda: fast(wet, SR))
    except ImportError:
        notes.append("fast_mp3_augment not importable: mp3_fast_ms skipped")
    run("opus_soundfile_ms", lambda: opus_roundtrip(wet))

    result = {"audiomentations": am.__version__, **ms, "eq_parts_ms": parts, "snr_per_ear_db": ear_snr,
              "input": f"{clip.size / SR:.2f} s mono clip at {SR} Hz, {brir.shape[0]}-tap 2-ch BRIR; "
                       "stages after reverb timed on the 2-ch reverberant signal",
              "timing": f"median of >= {args.min_runs} calls and >= {args.min_secs} s after 2 warm-up calls, "
                        "single thread",
              "numpy": np.__version__, "scipy": scipy.__version__, "soundfile": sf.__version__,
              "notes": "; ".join(notes)}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
