#!/usr/bin/env python3
"""Single-threaded librosa reference timings for the STFT and CQT front ends.

Usage (from the repository root, after scripts/fixtures.sh has created .venv):

    .venv/bin/python benches/librosa_ref.py [FOLDER] [--min-runs 20] [--min-secs 2.0]

FOLDER (default assets/demo) is scanned for *.wav files; every 16 kHz mono file
is tiled/trimmed to --clip-secs (default 4.0 s) and timed. Files with another
rate or channel count are skipped. If the folder is missing or holds no usable
file, tests/fixtures/librosa/music.npy tiled/trimmed to 4.0 s is used instead.

Per clip and per measurement: two warm-up calls, then repeated calls until at
least --min-runs runs AND at least --min-secs seconds of timed calls have
accumulated (capped at --max-runs); the per-clip value is the median call time.
The reported value is the median of the per-clip medians, in milliseconds.

Measurements (JSON keys):

  stft_log_ms     librosa.stft(n_fft=1024, hop=256, hann, center, zero pad) then
                  20*log10(max(|X|, 1e-5)).
  cqt_ms          librosa.cqt(sr=16000, hop=256, fmin=32.703, n_bins=761, bpo=96),
                  default librosa configuration. With LIBROSA_CACHE_DIR unset (the
                  default) librosa's joblib cache is disabled, so every call
                  rebuilds the filter bases; warm-up only removes one-off costs
                  (imports, numba compilation of helpers).
  cqt_nocache_ms  same call with librosa.cache.clear(warn=False) before every call
                  (outside the timed region). In 0.11 this is Memory.clear() on the
                  joblib store; with caching disabled it is a no-op, so this number
                  is expected to equal cqt_ms within noise.
  cqt_diskcache_ms          (subprocess with LIBROSA_CACHE_DIR=<tmpdir>, default
                            LIBROSA_CACHE_LEVEL=10): filter bases (__vqt_filter_fft,
                            wavelet, wavelet_lengths, ... at cache level 10) are
                            loaded from the warm joblib disk cache.
  cqt_diskcache_cleared_ms  same subprocess, librosa.cache.clear() before every call:
                            bases rebuilt and written to disk each time.
  cqt_basis_memo_ms         default configuration, but the per-octave filter basis
                            (__vqt_filter_fft) memoised in memory (a copy is
                            returned, vqt scales it in place). This is the cost of
                            the transform itself with precomputed kernels:
                            STFTs, sparse products and soxr decimation.
  export_stft_ms            what `timbrescope features DIR --view stft` does, per clip: read the
                            WAV (soundfile), stft_log above, np.save into a temporary folder.
  export_cqt_ms             the same with 20*log10(max(|librosa.cqt|, 1e-5)) (defaults).
  torch_stft_log_ms         (only if torch is importable) torch.stft equivalent of
                            stft_log_ms, torch.set_num_threads(1).
  nnaudio_cqt2010v2_ms      (only if nnAudio is importable) nnAudio CQT2010v2 with the
                            same CQT parameters, construction excluded.

stdout: one JSON object. stderr: human-readable progress and summary.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SR = 16000
STFT_PARAMS = dict(n_fft=1024, hop_length=256, window="hann", center=True, pad_mode="constant")
CQT_PARAMS = dict(sr=SR, hop_length=256, fmin=32.703, n_bins=761, bins_per_octave=96)
FALLBACK = ROOT / "tests" / "fixtures" / "librosa" / "music.npy"

warnings.filterwarnings("ignore", message="n_fft=.*is too large")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def fit_length(y: np.ndarray, n: int) -> np.ndarray:
    """Tile (repeat) or trim to exactly n samples."""
    return np.ascontiguousarray(np.resize(np.asarray(y, dtype=np.float32), n))


def load_clips(folder: Path, clip_secs: float):
    n = int(round(clip_secs * SR))
    clips = []
    if folder.is_dir():
        import soundfile as sf

        for path in sorted(folder.glob("*.wav")) + sorted(folder.glob("*.WAV")):
            if path.stat().st_size == 0:
                log(f"skip {path.name}: empty file")
                continue
            try:
                info = sf.info(str(path))
            except Exception as exc:  # unreadable file
                log(f"skip {path.name}: {exc}")
                continue
            if info.samplerate != SR or info.channels != 1:
                log(f"skip {path.name}: {info.samplerate} Hz, {info.channels} ch (need 16 kHz mono)")
                continue
            y, _ = sf.read(str(path), dtype="float32", always_2d=False)
            if y.size == 0:
                log(f"skip {path.name}: empty")
                continue
            clips.append((path.name, fit_length(y, n)))
        if clips:
            return clips, str(folder)
        log(f"no usable 16 kHz mono WAV in {folder}; using fallback")
    else:
        log(f"{folder} not found; using fallback")
    return [(FALLBACK.name, fit_length(np.load(FALLBACK), n))], f"fallback:{FALLBACK.relative_to(ROOT)}"


def bench(fn, min_runs: int, min_secs: float, max_runs: int, pre=None, warmup: int = 2) -> dict:
    for _ in range(warmup):
        if pre is not None:
            pre()
        fn()
    times = []
    total = 0.0
    while (len(times) < min_runs or total < min_secs) and len(times) < max_runs:
        if pre is not None:
            pre()
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        times.append(dt)
        total += dt
    return dict(median_ms=1e3 * statistics.median(times), runs=len(times), min_ms=1e3 * min(times))


# --------------------------------------------------------------------------

def librosa_measurements(clips, args, disk_cache_mode: bool) -> dict:
    import librosa

    results = {}

    def stft_log(y):
        X = librosa.stft(y, **STFT_PARAMS)
        return 20.0 * np.log10(np.maximum(np.abs(X), 1e-5))

    def cqt(y):
        return librosa.cqt(y, **CQT_PARAMS)

    def clear():
        librosa.cache.clear(warn=False)

    if disk_cache_mode:
        plan = [("cqt_diskcache_ms", cqt, None), ("cqt_diskcache_cleared_ms", cqt, clear)]
    else:
        plan = [("stft_log_ms", stft_log, None), ("cqt_ms", cqt, None), ("cqt_nocache_ms", cqt, clear)]

    for name, clip in clips:
        for key, fn, pre in plan:
            r = bench(lambda: fn(clip), args.min_runs, args.min_secs, args.max_runs, pre=pre)
            results.setdefault(key, []).append(dict(clip=name, **r))
            log(f"  {name:24s} {key:26s} median {r['median_ms']:9.3f} ms  (min {r['min_ms']:.3f}, {r['runs']} runs)")

    if not disk_cache_mode:
        results.update(memo_measurement(clips, args))
        results.update(export_measurements(args, stft_log))
    return results


def export_measurements(args, stft_log) -> dict:
    """Read, analyse and save, file by file, as the feature export does: the demo clips as
    they are on disk (no tiling), each timed as one call."""
    import librosa
    import soundfile as sf

    def cqt_db(y):
        return 20.0 * np.log10(np.maximum(np.abs(librosa.cqt(y, **CQT_PARAMS)), 1e-5))

    files = sorted((ROOT / "assets" / "demo").glob("*.wav"))
    out = {}
    with tempfile.TemporaryDirectory(prefix="export_") as tmp:
        for key, analyse in [("export_stft_ms", stft_log), ("export_cqt_ms", cqt_db)]:
            for path in files:
                target = Path(tmp) / (path.stem + ".npy")

                def run():
                    y, _ = sf.read(str(path), dtype="float32")
                    np.save(target, analyse(y).astype(np.float32))

                r = bench(run, args.min_runs, args.min_secs, args.max_runs)
                out.setdefault(key, []).append(dict(clip=path.name, **r))
                log(f"  {path.name:24s} {key:26s} median {r['median_ms']:9.3f} ms")
    return out


def memo_measurement(clips, args) -> dict:
    import librosa.core.constantq as cq

    key_name = "__vqt_filter_fft"
    original = cq.__dict__[key_name]
    memo = {}

    def memoised(sr, freqs, filter_scale, norm, sparsity, hop_length=None, window="hann", gamma=0.0,
                 dtype=np.complex64, alpha=None):
        key = (float(sr), np.asarray(freqs).tobytes(), filter_scale, norm, sparsity, hop_length, str(window),
               gamma, np.dtype(dtype).str, None if alpha is None else np.asarray(alpha).tobytes())
        if key not in memo:
            memo[key] = original(sr, freqs, filter_scale, norm, sparsity, hop_length=hop_length, window=window,
                                 gamma=gamma, dtype=dtype, alpha=alpha)
        basis, n_fft, lengths = memo[key]
        return basis.copy(), n_fft, lengths

    import librosa

    out = []
    setattr(cq, key_name, memoised)
    try:
        for name, clip in clips:
            r = bench(lambda: librosa.cqt(clip, **CQT_PARAMS), args.min_runs, args.min_secs, args.max_runs)
            out.append(dict(clip=name, **r))
            log(f"  {name:24s} {'cqt_basis_memo_ms':26s} median {r['median_ms']:9.3f} ms  (min {r['min_ms']:.3f}, {r['runs']} runs)")
    finally:
        setattr(cq, key_name, original)
    return {"cqt_basis_memo_ms": out}


def disk_cache_subprocess(clips, args) -> dict:
    with tempfile.TemporaryDirectory(prefix="librosa_cache_") as tmp:
        clip_file = Path(tmp) / "clips.npz"
        np.savez(clip_file, names=np.array([c[0] for c in clips]), data=np.stack([c[1] for c in clips]))
        env = dict(os.environ)
        env["LIBROSA_CACHE_DIR"] = str(Path(tmp) / "cache")
        env.pop("LIBROSA_CACHE_LEVEL", None)
        cmd = [sys.executable, str(Path(__file__).resolve()), "--_disk-cache-worker", str(clip_file),
               "--min-runs", str(args.min_runs), "--min-secs", str(args.min_secs), "--max-runs", str(args.max_runs)]
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            log(f"disk-cache worker failed (rc={proc.returncode}); skipping those numbers")
            return {}
        return json.loads(proc.stdout)


def torch_measurements(clips, args) -> dict:
    out = {}
    try:
        import torch
    except Exception:
        log("torch not importable: skipping torch.stft / nnAudio")
        return out
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    window = torch.hann_window(1024)

    def tstft(x):
        with torch.no_grad():
            X = torch.stft(x, n_fft=1024, hop_length=256, window=window, center=True, pad_mode="constant",
                           return_complex=True)
            return 20.0 * torch.log10(torch.clamp(X.abs(), min=1e-5))

    out["torch"] = torch.__version__
    try:
        res = []
        for name, clip in clips:
            x = torch.from_numpy(clip)
            r = bench(lambda: tstft(x), args.min_runs, args.min_secs, args.max_runs)
            res.append(dict(clip=name, **r))
            log(f"  {name:24s} {'torch_stft_log_ms':26s} median {r['median_ms']:9.3f} ms")
        out["torch_stft_log_ms"] = res
    except Exception as exc:
        log(f"torch.stft failed: {exc!r}")
        out["torch_error"] = repr(exc)

    cls = None
    try:
        from nnAudio.features.cqt import CQT2010v2 as cls  # nnAudio >= 0.3
    except Exception:
        try:
            from nnAudio.Spectrogram import CQT2010v2 as cls  # older layout
        except Exception:
            log("nnAudio not importable: skipping CQT2010v2")
    if cls is not None:
        try:
            layer = cls(sr=SR, hop_length=256, fmin=32.703, n_bins=761, bins_per_octave=96, verbose=False)
            res = []
            for name, clip in clips:
                x = torch.from_numpy(clip)[None, :]

                def run():
                    with torch.no_grad():
                        return layer(x)

                r = bench(run, args.min_runs, args.min_secs, args.max_runs)
                res.append(dict(clip=name, **r))
                log(f"  {name:24s} {'nnaudio_cqt2010v2_ms':26s} median {r['median_ms']:9.3f} ms")
            out["nnaudio_cqt2010v2_ms"] = res
            import nnAudio

            out["nnaudio"] = getattr(nnAudio, "__version__", "unknown")
        except Exception as exc:
            log(f"nnAudio CQT2010v2 failed: {exc!r}")
            out["nnaudio_error"] = repr(exc)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description="single-threaded librosa STFT/CQT reference timings")
    ap.add_argument("folder", nargs="?", default=str(ROOT / "assets" / "demo"))
    ap.add_argument("--clip-secs", type=float, default=4.0)
    ap.add_argument("--min-runs", type=int, default=20)
    ap.add_argument("--min-secs", type=float, default=2.0)
    ap.add_argument("--max-runs", type=int, default=5000)
    ap.add_argument("--no-disk-cache", action="store_true", help="skip the LIBROSA_CACHE_DIR subprocess")
    ap.add_argument("--_disk-cache-worker", dest="worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.worker:
        data = np.load(args.worker)
        clips = [(str(n), np.ascontiguousarray(d, dtype=np.float32)) for n, d in zip(data["names"], data["data"])]
        print(json.dumps(librosa_measurements(clips, args, disk_cache_mode=True)))
        return 0

    import librosa
    import scipy
    import soxr

    folder = Path(args.folder)
    if not folder.is_absolute():
        folder = (Path.cwd() / folder) if (Path.cwd() / folder).exists() else ROOT / folder
    clips, source = load_clips(folder, args.clip_secs)
    log(f"librosa {librosa.__version__} numpy {np.__version__} scipy {scipy.__version__} soxr {soxr.__version__}; "
        f"{len(clips)} clip(s) of {args.clip_secs} s from {source}; single-threaded")

    per = librosa_measurements(clips, args, disk_cache_mode=False)
    if not args.no_disk_cache:
        per.update(disk_cache_subprocess(clips, args))
    per.update(torch_measurements(clips, args))

    result = {}
    order = ["stft_log_ms", "cqt_ms", "cqt_nocache_ms", "cqt_basis_memo_ms", "cqt_diskcache_ms",
             "cqt_diskcache_cleared_ms", "export_stft_ms", "export_cqt_ms", "torch_stft_log_ms",
             "nnaudio_cqt2010v2_ms"]
    for key in order:
        if key in per:
            result[key] = round(statistics.median(r["median_ms"] for r in per[key]), 4)
    result.update(
        clip_secs=args.clip_secs,
        clips=len(clips),
        source=source,
        librosa=librosa.__version__,
        numpy=np.__version__,
        scipy=scipy.__version__,
        soxr=soxr.__version__,
        python=platform.python_version(),
        machine=platform.machine(),
        threads=1,
        timing="median over >= %d runs and >= %.1f s per clip after 2 warm-up calls; median across clips"
        % (args.min_runs, args.min_secs),
        notes={
            "cqt_ms": "librosa defaults: joblib cache disabled (LIBROSA_CACHE_DIR unset), filters rebuilt every call",
            "cqt_nocache_ms": "librosa.cache.clear(warn=False) before each call; a no-op when caching is disabled",
            "cqt_basis_memo_ms": "per-octave filter basis memoised in memory: transform cost only",
            "cqt_diskcache_ms": "LIBROSA_CACHE_DIR set, level 10: filter bases loaded from warm joblib disk cache",
            "cqt_diskcache_cleared_ms": "LIBROSA_CACHE_DIR set, cache cleared before each call",
        },
    )
    for key in ("torch", "torch_error", "nnaudio", "nnaudio_error"):
        if key in per:
            result[key] = per[key]
    result["per_clip"] = {k: per[k] for k in order if k in per}

    log("summary (median ms per %.1f s clip):" % args.clip_secs)
    for key in order:
        if key in result:
            log(f"  {key:26s} {result[key]:10.3f}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
