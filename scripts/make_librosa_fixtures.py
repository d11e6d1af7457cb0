#!/usr/bin/env python3
"""Generate librosa reference fixtures for the Rust STFT / CQT implementations.

Writes into tests/fixtures/librosa/:

  music.npy              float32 [32000]      deterministic music-like signal, 16 kHz, 2.0 s
  music_stft_mag.npy     float32 [513, 126]   |librosa.stft(music, 1024/256, hann, centered, zero pad)|
  music_cqt_mag.npy      float32 [761, 126]   |librosa.cqt(music, ...)| (parameters below)
  tone.npy               float32 [16000]      440 Hz sine, amplitude 0.5, 1.0 s
  tone_cqt_mag.npy       float32 [761, 63]    |librosa.cqt(tone, ...)|
  soxr_hq_decim2_taps.npy float32 [2R+1]      effective FIR of soxr 'soxr_hq' 2:1 decimation
                                               (taps for offsets -R..R, zero phase)
  params.json            exact parameters, versions, derived numbers
  README.md              how the files were made

  Timbre descriptor references (librosa.feature on the same 1024/256 frames), for
  music and tone, each float32 [frames] (126 for music, 63 for tone):
  {music,tone}_centroid.npy   spectral_centroid
  {music,tone}_bandwidth.npy  spectral_bandwidth (p=2, norm=True)
  {music,tone}_flatness.npy   spectral_flatness (power=2.0, amin=1e-10)
  {music,tone}_zcr.npy        zero_crossing_rate (frame_length=1024, center=True)
  {music,tone}_rms.npy        rms (frame_length=1024, center=True, pad_mode='constant')

Run through scripts/fixtures.sh (creates .venv with the pinned reference stack),
or directly:  .venv/bin/python scripts/make_librosa_fixtures.py [--out DIR]

Besides writing the fixtures, the script re-implements librosa's CQT in plain
numpy exactly as described in tests/fixtures/librosa/ALGORITHM.md and checks it
against librosa.cqt (once with soxr as decimator, once with the extracted FIR
taps), so the written description is verified each time fixtures are made.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import platform
import sys
import warnings
from pathlib import Path

import numpy as np

import librosa
import librosa.core.constantq as _cq
import scipy
import soundfile
import soxr

ROOT = Path(__file__).resolve().parent.parent

# librosa's internal STFT warns when a decimated octave is shorter than n_fft=1024
# (it still zero-pads and works); keep the output readable.
warnings.filterwarnings("ignore", message="n_fft=.*is too large")

SR = 16000
SEED = 20240611

STFT_PARAMS = dict(n_fft=1024, hop_length=256, window="hann", center=True, pad_mode="constant")
CQT_PARAMS = dict(sr=SR, hop_length=256, fmin=32.703, n_bins=761, bins_per_octave=96)

# Timbre descriptors: librosa.feature on the same frames as STFT_PARAMS. The spectral ones take
# the STFT parameters as they are; zero_crossing_rate and rms frame the waveform themselves.
SPECTRAL_PARAMS = dict(sr=SR, **STFT_PARAMS)
FRAME_PARAMS = dict(frame_length=STFT_PARAMS["n_fft"], hop_length=STFT_PARAMS["hop_length"], center=True)


def descriptor_arrays(name: str, y: np.ndarray) -> dict:
    """Per-frame librosa descriptors of one signal, each float32 [frames] (librosa returns [1, frames])."""
    feats = dict(
        centroid=librosa.feature.spectral_centroid(y=y, **SPECTRAL_PARAMS),
        bandwidth=librosa.feature.spectral_bandwidth(y=y, **SPECTRAL_PARAMS, p=2, norm=True),
        flatness=librosa.feature.spectral_flatness(y=y, **STFT_PARAMS, power=2.0, amin=1e-10),
        # zero_crossing_rate always pads with the edge samples when centred (it has no pad_mode).
        zcr=librosa.feature.zero_crossing_rate(y, **FRAME_PARAMS),
        rms=librosa.feature.rms(y=y, **FRAME_PARAMS, pad_mode="constant"),
    )
    frames = 1 + len(y) // STFT_PARAMS["hop_length"]
    out = {}
    for k, v in feats.items():
        assert v.shape == (1, frames), (name, k, v.shape)
        out[f"{name}_{k}.npy"] = np.asarray(v[0], dtype=np.float32)
    return out


# Decimator FIR half-length (taps for offsets -R..R). Beyond |k| = 191 the
# extracted soxr response is below 1e-7 (float32 noise level).
TAPS_HALF = 200


# --------------------------------------------------------------------------
# Test signals
# --------------------------------------------------------------------------

NOTES = [
    # f0 in Hz, onset s, harmonics, decay time constant s, vibrato (rate Hz, relative depth) or None
    dict(name="A2", f0=110.0, onset=0.10, n_harm=20, tau=0.90, vibrato=None),
    dict(name="C4", f0=261.63, onset=0.45, n_harm=14, tau=0.70, vibrato=(5.5, 0.006)),
    dict(name="G4", f0=392.00, onset=0.80, n_harm=12, tau=0.50, vibrato=None),
]
ATTACK_S = 0.005
BURST = dict(onset=1.30, length=0.040, tau=0.008, gain=0.6)
NOISE_STD = 3e-4
PEAK = 0.5
MUSIC_SECS = 2.0


def make_music() -> np.ndarray:
    """Deterministic music-like test signal (float32, 16 kHz, 2.0 s, peak ~0.5)."""
    rng = np.random.default_rng(SEED)
    n = int(round(MUSIC_SECS * SR))
    t = np.arange(n) / SR
    x = np.zeros(n)
    for note in NOTES:
        tau_t = t - note["onset"]
        on = tau_t >= 0
        env = np.where(on, np.exp(-np.maximum(tau_t, 0.0) / note["tau"]), 0.0)
        env *= np.clip(tau_t / ATTACK_S, 0.0, 1.0)
        phases = rng.uniform(0.0, 2.0 * np.pi, size=note["n_harm"])
        for k in range(1, note["n_harm"] + 1):
            fk = k * note["f0"]
            if fk >= 0.95 * SR / 2:
                continue
            if note["vibrato"] is None:
                ph = 2.0 * np.pi * fk * tau_t
            else:
                rate, depth = note["vibrato"]
                # instantaneous frequency fk * (1 + depth * cos(2 pi rate tau))
                ph = 2.0 * np.pi * fk * (tau_t + depth / (2.0 * np.pi * rate) * np.sin(2.0 * np.pi * rate * tau_t))
            x += env * np.sin(ph + phases[k - 1]) / k
    # percussive noise burst
    b0 = int(round(BURST["onset"] * SR))
    bl = int(round(BURST["length"] * SR))
    tb = np.arange(bl) / SR
    x[b0 : b0 + bl] += BURST["gain"] * rng.standard_normal(bl) * np.exp(-tb / BURST["tau"])
    x *= PEAK / np.max(np.abs(x))
    # low-level background noise
    x += NOISE_STD * rng.standard_normal(n)
    return x.astype(np.float32)


def make_tone() -> np.ndarray:
    t = np.arange(SR) / SR
    return (0.5 * np.sin(2.0 * np.pi * 440.0 * t)).astype(np.float32)


# --------------------------------------------------------------------------
# librosa introspection
# --------------------------------------------------------------------------

def cqt_defaults() -> dict:
    sig = inspect.signature(librosa.cqt)
    keep = ["tuning", "filter_scale", "norm", "sparsity", "window", "scale", "pad_mode", "res_type", "dtype"]
    return {k: sig.parameters[k].default for k in keep}


def cqt_design(sr=SR, hop_length=256, fmin=32.703, n_bins=761, bins_per_octave=96):
    """Frequencies, alpha, lengths and per-octave plan, computed the way vqt() does."""
    freqs = librosa.interval_frequencies(
        n_bins=n_bins, fmin=fmin, intervals="equal", bins_per_octave=bins_per_octave, sort=True
    )
    alpha = librosa.filters._relative_bandwidth(freqs=freqs)
    lengths, cutoff = librosa.filters.wavelet_lengths(
        freqs=freqs, sr=sr, window="hann", filter_scale=1, gamma=0, alpha=alpha
    )
    n_octaves = int(np.ceil(float(n_bins) / bins_per_octave))
    n_filters = min(bins_per_octave, n_bins)
    early = _cq.__dict__["__early_downsample_count"](sr / 2.0, cutoff, hop_length, n_octaves)
    vqt_filter_fft = _cq.__dict__["__vqt_filter_fft"]
    octaves = []
    my_sr, my_hop = float(sr), hop_length
    for i in range(n_octaves):
        sl = slice(-n_filters, None) if i == 0 else slice(-n_filters * (i + 1), -n_filters * i)
        idx = np.arange(n_bins)[sl]
        basis, n_fft, lens_oct = vqt_filter_fft(
            my_sr, freqs[sl], 1, 1, 0.01, window="hann", gamma=0, dtype=np.complex64, alpha=alpha[sl]
        )
        octaves.append(
            dict(
                octave=i,
                bins=[int(idx[0]), int(idx[-1])],
                n_filters=int(len(idx)),
                sr=my_sr,
                hop=my_hop,
                n_fft=int(n_fft),
                len_min=float(lens_oct.min()),
                len_max=float(lens_oct.max()),
                basis_nnz=int(basis.nnz),
                basis_scale=float(np.sqrt(sr / my_sr)),
            )
        )
        if my_hop % 2 == 0:
            my_hop //= 2
            my_sr /= 2.0
    return dict(
        freqs=freqs,
        alpha=alpha,
        lengths=lengths,
        cutoff=float(cutoff),
        n_octaves=n_octaves,
        early_downsample_count=int(early),
        octaves=octaves,
        window_bandwidth_hann=float(librosa.filters.window_bandwidth("hann")),
    )


# --------------------------------------------------------------------------
# soxr decimator as an explicit FIR
# --------------------------------------------------------------------------

def soxr_decimate2(x: np.ndarray) -> np.ndarray:
    """Exactly what librosa.resample(x, orig_sr=2, target_sr=1, res_type='soxr_hq', scale=True) does."""
    x = np.asarray(x, dtype=np.float32)
    y = soxr.resample(x, 2, 1, quality="soxr_hq")
    y = librosa.util.fix_length(y, size=int(np.ceil(x.shape[-1] * 0.5)))
    y = y / np.sqrt(0.5)
    return np.asarray(y, dtype=np.float32)


def extract_soxr_taps(half: int = TAPS_HALF) -> np.ndarray:
    """Effective impulse response h[k], k=-half..half, of soxr 'soxr_hq' 2:1 decimation.

    soxr output (without librosa's sqrt(2) scaling) satisfies
        out[n] = sum_k h[k] * x[2n - k]      (x = 0 outside the signal)
    Even-index taps come from an impulse at an even position, odd-index taps
    from one at an odd position.
    """
    n = 8192
    p = n // 2
    h = np.zeros(2 * half + 1)
    for off in (0, 1):
        x = np.zeros(n, np.float32)
        x[p + off] = 1.0
        y = soxr.resample(x, 2, 1, quality="soxr_hq").astype(np.float64)
        for m in range(len(y)):
            k = 2 * m - p - off
            if -half <= k <= half:
                h[k + half] = y[m]
    return h


def fir_decimate2(x: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """out[n] = sqrt(2) * sum_k h[k] x[2n-k], n < ceil(len/2), zero-padded input; float32 result."""
    half = (len(taps) - 1) // 2
    x64 = np.asarray(x, dtype=np.float64)
    full = np.convolve(x64, taps.astype(np.float64))  # full[j] = sum_k h[k] x[j - (k+half)] -> index j = m + half
    n_out = int(np.ceil(len(x) / 2))
    idx = 2 * np.arange(n_out) + half
    y = full[idx] * np.sqrt(2.0)
    return y.astype(np.float32)


# --------------------------------------------------------------------------
# Independent numpy re-implementation of librosa 0.11 cqt (see ALGORITHM.md)
# --------------------------------------------------------------------------

def reference_cqt(y: np.ndarray, decimate, sr=SR, hop=256, fmin=32.703, n_bins=761, bpo=96, sparsity=0.01):
    """Re-implementation from the written description, float64 throughout."""
    n_oct = int(math.ceil(n_bins / bpo))
    ratios = 2.0 ** (np.arange(bpo, dtype=float) / bpo)
    freqs = (np.multiply.outer(2.0 ** np.arange(n_oct), ratios).flatten()[:n_bins]) * fmin
    r = 2.0 ** (2.0 / bpo)
    alpha = (r - 1.0) / (r + 1.0)  # for equal spacing 2**(2/bpo_local) with bpo_local == bpo
    q = 1.0 / alpha
    lengths_full = q * sr / freqs

    my_y = np.asarray(y, dtype=np.float32)
    my_sr, my_hop = float(sr), hop
    responses = []
    for i in range(n_oct):
        hi = n_bins - bpo * i
        lo = max(0, hi - bpo)
        f = freqs[lo:hi]
        lens = q * my_sr / f
        n_fft = int(2.0 ** np.ceil(np.log2(lens.max())))
        basis = np.zeros((len(f), n_fft), dtype=complex)
        for row, (ilen, fr) in enumerate(zip(lens, f)):
            t = np.arange(math.floor(-ilen / 2), math.floor(ilen / 2), dtype=float)
            n = len(t)
            w = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)  # periodic Hann, length n
            sig = w * np.exp(1j * 2.0 * np.pi * fr / my_sr * t)
            sig /= np.sum(np.abs(sig))
            lpad = (n_fft - n) // 2
            basis[row, lpad : lpad + n] = sig
        basis *= (lens / n_fft)[:, None]
        B = np.fft.fft(basis, axis=1)[:, : n_fft // 2 + 1]
        # sparsify rows: drop the smallest magnitudes that together hold < sparsity of the row's L1 mass
        mags = np.abs(B)
        srt = np.sort(mags, axis=1)
        cum = np.cumsum(srt / mags.sum(axis=1, keepdims=True), axis=1)
        j = np.argmin(cum < sparsity, axis=1)
        thr = srt[np.arange(len(f)), j][:, None]
        B = np.where(mags >= thr, B, 0.0)
        B *= np.sqrt(sr / my_sr)
        # boxcar STFT, centered, zero padded
        ypad = np.pad(my_y.astype(np.float64), (n_fft // 2, n_fft // 2))
        n_frames = 1 + len(my_y) // my_hop
        frames = np.stack([ypad[k * my_hop : k * my_hop + n_fft] for k in range(n_frames)], axis=1)
        X = np.fft.rfft(frames, axis=0)
        responses.append(B @ X)
        if my_hop % 2 == 0:
            my_hop //= 2
            my_sr /= 2.0
            my_y = decimate(my_y)
    n_frames = min(c.shape[1] for c in responses)
    out = np.zeros((n_bins, n_frames), dtype=complex)
    end = n_bins
    for c in responses:
        out[end - c.shape[0] : end] = c[:, :n_frames]
        end -= c.shape[0]
    out /= np.sqrt(lengths_full)[:, None]
    return out


def rel_err(a, b):
    a = np.abs(a)
    b = np.abs(b)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


# --------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "tests" / "fixtures" / "librosa"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    music = make_music()
    tone = make_tone()

    stft_mag = np.abs(librosa.stft(music, **STFT_PARAMS)).astype(np.float32)
    music_cqt = librosa.cqt(music, **CQT_PARAMS)
    tone_cqt = librosa.cqt(tone, **CQT_PARAMS)
    music_cqt_mag = np.abs(music_cqt).astype(np.float32)
    tone_cqt_mag = np.abs(tone_cqt).astype(np.float32)

    taps = extract_soxr_taps()

    arrays = {
        "music.npy": music,
        "music_stft_mag.npy": stft_mag,
        "music_cqt_mag.npy": music_cqt_mag,
        "tone.npy": tone,
        "tone_cqt_mag.npy": tone_cqt_mag,
        "soxr_hq_decim2_taps.npy": taps.astype(np.float32),
    }
    for name, arr in arrays.items():
        assert arr.dtype == np.float32, name
        np.save(out / name, arr)

    # Kept apart from `arrays` so params.json and the README's first table stay as they were.
    descriptors = {**descriptor_arrays("music", music), **descriptor_arrays("tone", tone)}
    for name, arr in descriptors.items():
        np.save(out / name, arr)

    # ---- derived numbers -------------------------------------------------
    design = cqt_design()
    defaults = cqt_defaults()
    sel = [0, 95, 96, 760]
    lens_sel = {int(b): float(design["lengths"][b]) for b in sel}
    freqs_sel = {int(b): float(design["freqs"][b]) for b in sel}

    # ---- decimator checks ----------------------------------------------------
    rng = np.random.default_rng(1)
    xr = rng.standard_normal(5001).astype(np.float32)
    dec_err = float(np.max(np.abs(fir_decimate2(xr, taps) - soxr_decimate2(xr))))
    w = np.linspace(0, np.pi, 8193)
    k = np.arange(-TAPS_HALF, TAPS_HALF + 1)
    H = np.abs(np.exp(-1j * np.outer(w, k)) @ taps)
    fnorm = w / np.pi  # 1.0 = input Nyquist
    def gain_db(fr):
        return float(20 * np.log10(H[np.argmin(np.abs(fnorm - fr))] + 1e-300))
    pass_edge = float(fnorm[np.where(np.abs(20 * np.log10(H + 1e-300)) > 0.01)[0][0]])
    decim = dict(
        half_length=TAPS_HALF,
        max_abs_error_vs_soxr_random_float32=dec_err,
        dc_gain=float(taps.sum()),
        h0=float(taps[TAPS_HALF]),
        passband_edge_0p01dB_rel_input_nyquist=pass_edge,
        gain_db_at={str(f): gain_db(f) for f in (0.45, 0.46, 0.47, 0.475, 0.48, 0.49, 0.5, 0.6)},
    )

    # ---- verify the written algorithm -------------------------------------------
    checks = {}
    for name, sig, ref in (("music", music, music_cqt), ("tone", tone, tone_cqt)):
        r_soxr = reference_cqt(sig, soxr_decimate2)
        r_fir = reference_cqt(sig, lambda x: fir_decimate2(x, taps))
        assert r_soxr.shape == ref.shape, (r_soxr.shape, ref.shape)
        checks[name] = dict(
            reimpl_soxr_max_abs_err_rel_to_max=rel_err(r_soxr, ref),
            reimpl_fir_taps_max_abs_err_rel_to_max=rel_err(r_fir, ref),
        )

    tone_peak_bin = int(np.argmax(tone_cqt_mag[:, tone_cqt_mag.shape[1] // 2]))

    versions = dict(
        python=platform.python_version(),
        librosa=librosa.__version__,
        numpy=np.__version__,
        scipy=scipy.__version__,
        soundfile=soundfile.__version__,
        soxr=soxr.__version__,
        libsoxr=getattr(soxr, "__libsoxr_version__", "unknown"),
    )
    params = dict(
        versions=versions,
        sr=SR,
        music=dict(
            seed=SEED,
            seconds=MUSIC_SECS,
            peak_target_before_noise=PEAK,
            notes=NOTES,
            attack_s=ATTACK_S,
            harmonic_amplitude="1/k, random phase per harmonic (numpy default_rng(seed).uniform)",
            burst=BURST,
            noise_std=NOISE_STD,
            actual_peak=float(np.max(np.abs(music))),
        ),
        tone=dict(freq_hz=440.0, amplitude=0.5, seconds=1.0),
        stft=dict(call="librosa.stft", **STFT_PARAMS, magnitude="np.abs(...).astype(float32)"),
        cqt=dict(
            call="librosa.cqt",
            **CQT_PARAMS,
            defaults_used=defaults,
            note="all arguments not listed use the librosa.cqt defaults in defaults_used",
        ),
        cqt_design=dict(
            n_octaves=design["n_octaves"],
            alpha=float(design["alpha"][0]),
            q=float(1.0 / design["alpha"][0]),
            window_bandwidth_hann=design["window_bandwidth_hann"],
            filter_cutoff_hz=design["cutoff"],
            early_downsample_count=design["early_downsample_count"],
            freqs_hz=freqs_sel,
            filter_lengths_at_16k=lens_sel,
            octaves=design["octaves"],
        ),
        soxr_hq_decimator=decim,
        algorithm_check=checks,
        shapes={k: list(v.shape) for k, v in arrays.items()},
        tone_peak_bin=tone_peak_bin,
    )
    (out / "params.json").write_text(json.dumps(params, indent=2, default=str) + "\n")

    # ---- human readable output ---------------------------------------------------
    print(f"librosa {librosa.__version__}, numpy {np.__version__}, scipy {scipy.__version__}, soxr {soxr.__version__}")
    print("cqt defaults (inspect.signature):", defaults)
    print(f"alpha={design['alpha'][0]:.16g}  Q={1/design['alpha'][0]:.10g}  cutoff={design['cutoff']:.6f} Hz  "
          f"early downsample count={design['early_downsample_count']}")
    for b in sel:
        o = next(o for o in design["octaves"] if o["bins"][0] <= b <= o["bins"][1])
        print(f"  bin {b:3d}: f={freqs_sel[b]:12.6f} Hz  filter length @16 kHz = {lens_sel[b]:.6f}  "
              f"(octave {o['octave']}, at {o['sr']:g} Hz: {lens_sel[b] * o['sr'] / SR:.6f}, n_fft {o['n_fft']})")
    for o in design["octaves"]:
        print(f"  octave {o['octave']}: bins {o['bins'][0]:3d}..{o['bins'][1]:3d}  sr={o['sr']:7.1f}  hop={o['hop']:3d}  "
              f"n_fft={o['n_fft']}  len {o['len_min']:.3f}..{o['len_max']:.3f}  nnz={o['basis_nnz']}  "
              f"basis*{o['basis_scale']:.6f}")
    print("soxr decimator:", json.dumps(decim))
    print("algorithm check:", json.dumps(checks))
    for name, arr in arrays.items():
        print(f"  {name:26s} {str(arr.shape):12s} {arr.nbytes / 1024:7.1f} KiB")
    total = sum((out / n).stat().st_size for n in arrays)
    print(f"total npy bytes: {total}")
    for name, arr in descriptors.items():
        print(f"  {name:26s} {str(arr.shape):12s} min {arr.min():.6g} max {arr.max():.6g}")

    write_readme(out, params, design, arrays, total, descriptors)
    return 0


def write_readme(out: Path, params: dict, design: dict, arrays: dict, total: int, descriptors: dict) -> None:
    v = params["versions"]
    d = params["cqt"]["defaults_used"]
    lens = params["cqt_design"]["filter_lengths_at_16k"]
    fr = params["cqt_design"]["freqs_hz"]
    chk = params["algorithm_check"]
    dec = params["soxr_hq_decimator"]
    lines = []
    a = lines.append
    a("# librosa reference fixtures")
    a("")
    a("Generated by `scripts/fixtures.sh`, which creates `.venv` from `scripts/requirements-ref.txt` when missing")
    a("and runs `.venv/bin/python scripts/make_librosa_fixtures.py`. The `.npy` files, `params.json` and this")
    a("README are generated (do not edit by hand; regenerate). `ALGORITHM.md` is a hand-written description")
    a("of librosa's CQT that the generator verifies with an independent re-implementation (see Self-check).")
    a("")
    a(f"Versions: librosa {v['librosa']}, numpy {v['numpy']}, scipy {v['scipy']}, soxr {v['soxr']} "
      f"(libsoxr {v['libsoxr']}), soundfile {v['soundfile']}, Python {v['python']}.")
    a("")
    a("All arrays are little-endian float32 `.npy`; 2-D arrays are `[freq_bins, frames]` (C order).")
    a("Exact parameters, derived numbers and the self-check results are in `params.json`;")
    a("the CQT algorithm is described step by step in `ALGORITHM.md`.")
    a("")
    a("| file | shape | content |")
    a("|---|---|---|")
    desc = {
        "music.npy": "music-like test signal, 16 kHz mono, 2.0 s",
        "music_stft_mag.npy": "`np.abs(librosa.stft(y, n_fft=1024, hop_length=256, window='hann', center=True, pad_mode='constant'))`",
        "music_cqt_mag.npy": "`np.abs(librosa.cqt(y, sr=16000, hop_length=256, fmin=32.703, n_bins=761, bins_per_octave=96))`",
        "tone.npy": "`0.5*sin(2*pi*440*n/16000)`, n = 0..15999",
        "tone_cqt_mag.npy": "same CQT as above, of `tone.npy`",
        "soxr_hq_decim2_taps.npy": f"effective zero-phase FIR of soxr `soxr_hq` 2:1 decimation, taps for k = -{TAPS_HALF}..{TAPS_HALF}",
    }
    for name, arr in arrays.items():
        a(f"| `{name}` | {list(arr.shape)} | {desc[name]} |")
    a("")
    a(f"Total size of the `.npy` files: {total / 1e6:.2f} MB.")
    a("")
    a("## Signals")
    a("")
    a(f"`music.npy` (seed {SEED}, `numpy.random.default_rng`), t = n/16000, 32000 samples:")
    a("")
    for nt in NOTES:
        vib = "no vibrato" if nt["vibrato"] is None else (
            f"vibrato {nt['vibrato'][0]} Hz, depth ±{nt['vibrato'][1] * 100:.1f} % of frequency")
        a(f"- {nt['name']} f0 = {nt['f0']} Hz, onset {nt['onset']} s, harmonics k = 1..{nt['n_harm']} "
          f"with amplitude 1/k and random phase, envelope = linear {ATTACK_S * 1000:.0f} ms attack × "
          f"exp(-(t-onset)/{nt['tau']}), {vib}.")
    a(f"- noise burst at {BURST['onset']} s: {BURST['length'] * 1000:.0f} ms of Gaussian noise × "
      f"{BURST['gain']} × exp(-t/{BURST['tau']}).")
    a(f"- the sum is scaled to peak {PEAK}, then Gaussian background noise with std {NOISE_STD} is added "
      f"(final peak {params['music']['actual_peak']:.4f}); cast to float32.")
    a("")
    a("`tone.npy`: 1.0 s of a 440 Hz sine with amplitude 0.5 (computed in float64, cast to float32);")
    a(f"its CQT peaks at bin {params['tone_peak_bin']} (f = 32.703·2^(bin/96)).")
    a("")
    a("## CQT parameters and librosa defaults")
    a("")
    a("Explicit: `sr=16000, hop_length=256, fmin=32.703, n_bins=761, bins_per_octave=96`.")
    a("Everything else is left at the defaults, read from `inspect.signature(librosa.cqt)` of the installed")
    a(f"librosa {v['librosa']} (and confirmed in `librosa/core/constantq.py`):")
    a("")
    a(f"`tuning={d['tuning']!r}, filter_scale={d['filter_scale']!r}, norm={d['norm']!r}, sparsity={d['sparsity']!r}, "
      f"window={d['window']!r}, scale={d['scale']!r}, pad_mode={d['pad_mode']!r}, res_type={d['res_type']!r}, "
      f"dtype={d['dtype']!r}` (dtype None → complex64 for float32 input).")
    a("")
    a("So the expected defaults (res_type soxr_hq, scale=True, sparsity 0.01, filter_scale 1, norm 1,")
    a("window hann, pad_mode constant) are exactly what 0.11 uses; `cqt` calls `vqt` with `gamma=0`, intervals='equal'.")
    a("")
    a("## Filter lengths and FFT sizes")
    a("")
    a("`librosa.filters.wavelet_lengths(freqs, sr=16000, window='hann', filter_scale=1, gamma=0, alpha)` with")
    a("`freqs = librosa.interval_frequencies(761, fmin=32.703, intervals='equal', bins_per_octave=96)` and")
    a(f"`alpha = librosa.filters._relative_bandwidth(freqs)` = {params['cqt_design']['alpha']:.16g} for every bin")
    a(f"(Q = 1/alpha = {params['cqt_design']['q']:.10g}); length = Q·sr/f:")
    a("")
    a("| bin | f (Hz) | length at 16 kHz (samples) | octave | length at the octave's rate (Q·sr_i/f) |")
    a("|---|---|---|---|---|")
    for b in lens:
        o = next(o for o in design["octaves"] if o["bins"][0] <= b <= o["bins"][1])
        a(f"| {b} | {fr[b]:.6f} | {lens[b]:.6f} | {o['octave']} (sr {o['sr']:g}) | {lens[b] * o['sr'] / SR:.6f} |")
    a("")
    a(f"Filter cutoff {params['cqt_design']['filter_cutoff_hz']:.4f} Hz < Nyquist 8000 Hz; early downsampling count = "
      f"{params['cqt_design']['early_downsample_count']} (none).")
    a("")
    a("| octave | bins | sr (Hz) | hop | n_fft | filter lengths at that sr | nonzeros after sparsify | basis × |")
    a("|---|---|---|---|---|---|---|---|")
    for o in design["octaves"]:
        a(f"| {o['octave']} | {o['bins'][0]}..{o['bins'][1]} | {o['sr']:g} | {o['hop']} | {o['n_fft']} | "
          f"{o['len_min']:.3f}..{o['len_max']:.3f} | {o['basis_nnz']} | √{o['sr'] and int(round(SR / o['sr']))} = {o['basis_scale']:.6f} |")
    a("")
    a("## Self-check")
    a("")
    a("`make_librosa_fixtures.py` re-implements the algorithm of `ALGORITHM.md` in plain numpy (float64) and")
    a("compares |CQT| with librosa's (max abs difference / max |librosa CQT|):")
    a("")
    for name, c in chk.items():
        a(f"- {name}: with soxr as decimator {c['reimpl_soxr_max_abs_err_rel_to_max']:.2e}; "
          f"with the FIR taps of `soxr_hq_decim2_taps.npy` {c['reimpl_fir_taps_max_abs_err_rel_to_max']:.2e}")
    a("")
    a(f"FIR decimator vs soxr on random float32 noise: max abs difference {dec['max_abs_error_vs_soxr_random_float32']:.2e}; "
      f"DC gain {dec['dc_gain']:.8f}; 0.01 dB passband edge at {dec['passband_edge_0p01dB_rel_input_nyquist']:.4f} × input Nyquist.")
    a("")
    write_descriptor_readme(a, descriptors)
    (out / "README.md").write_text("\n".join(lines))


def write_descriptor_readme(a, descriptors: dict) -> None:
    """The timbre-descriptor section, appended after everything above (which it leaves unchanged)."""
    a("## Timbre descriptors")
    a("")
    a("Per-frame librosa features of `music.npy` and `tone.npy` on the STFT frames above (n_fft 1024, hop 256,")
    a("periodic Hann, centred; frame t is centred on sample 256·t). librosa returns `[1, frames]`; the files hold")
    a("the single row as float32 `[frames]`. `tests/descriptors.rs` checks `src/dsp/descriptors.rs` against them.")
    a("")
    a("| file | shape | content |")
    a("|---|---|---|")
    stft = "n_fft=1024, hop_length=256, window='hann', center=True, pad_mode='constant'"
    frame = "frame_length=1024, hop_length=256, center=True"
    desc = {
        "centroid": f"`librosa.feature.spectral_centroid(y=y, sr=16000, {stft})`",
        "bandwidth": f"`librosa.feature.spectral_bandwidth(y=y, sr=16000, {stft}, p=2, norm=True)`",
        "flatness": f"`librosa.feature.spectral_flatness(y=y, {stft}, power=2.0, amin=1e-10)`",
        "zcr": f"`librosa.feature.zero_crossing_rate(y, {frame})`",
        "rms": f"`librosa.feature.rms(y=y, {frame}, pad_mode='constant')`",
    }
    for name, arr in descriptors.items():
        a(f"| `{name}` | {list(arr.shape)} | {desc[name[:-4].split('_', 1)[1]]} |")
    a("")
    a("Definitions in librosa 0.11, with S = |STFT| and f_k = k·16000/1024:")
    a("")
    a("- centroid = Σ f_k S_k / Σ S_k; bandwidth = (Σ S_k (f_k − centroid)² / Σ S_k)^½. A frame whose Σ S_k is")
    a("  below float32's smallest normal is left unnormalised, which makes both ~0.")
    a("- flatness = exp(mean ln P_k) / mean P_k with P_k = max(S_k², 1e-10) in float32 (1.0 for a silent frame).")
    a("- zero_crossing_rate pads the waveform with 512 copies of its first and last sample (`mode='edge'`; it has")
    a("  no pad_mode), frames it without a window, sets |x| ≤ 1e-10 to +0 and counts sign-bit changes between")
    a("  neighbours inside each frame (the frame's first sample never counts), divided by 1024.")
    a("- rms = sqrt(mean x²) over the zero-padded 1024-sample frame.")
    a("")


if __name__ == "__main__":
    sys.exit(main())
