#!/usr/bin/env python3
"""Times timbrescope (criterion) and librosa on the same demo clips in one run; prints the ratios,
then the feature cache against computing the same epoch.

usage: benches/compare.py            (needs the venv made by scripts/fixtures.sh)
The criterion benches run in the dev profile, which optimises every crate (see Cargo.toml).
"""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = ROOT / ".venv" / "bin" / "python"


def criterion_median_ms(name: str) -> float:
    est = json.loads((ROOT / "target" / "criterion" / name / "new" / "estimates.json").read_text())
    return est["median"]["point_estimate"] / 1e6


def main() -> int:
    if not PY.exists():
        # Creates the pinned reference environment (and regenerates the fixtures, byte-identical).
        subprocess.run(["bash", str(ROOT / "scripts" / "fixtures.sh")], check=True)
    env = dict(os.environ, RAYON_NUM_THREADS="1")
    subprocess.run(["cargo", "bench", "--profile", "dev", "--bench", "dsp", "--", "--noplot"], cwd=ROOT, env=env, check=True)
    ref = json.loads(subprocess.run([str(PY), str(ROOT / "benches" / "librosa_ref.py"), str(ROOT / "assets" / "demo")],
                                    cwd=ROOT, check=True, capture_output=True, text=True).stdout)
    ours = {
        "stft_log": criterion_median_ms("stft_log"),
        "cqt": criterion_median_ms("cqt_db"),
        "export_stft": criterion_median_ms("features_folder/stft/1") / 32,
        "export_cqt": criterion_median_ms("features_folder/cqt/1") / 32,
        "export_cqt_2": criterion_median_ms("features_folder/cqt/2") / 32,
    }
    rows = [
        ("STFT 1024/256 + dB", ours["stft_log"], "librosa.stft + log", ref["stft_log_ms"]),
        ("CQT 761 bins, dB", ours["cqt"], "librosa.cqt (defaults)", ref["cqt_ms"]),
        ("CQT 761 bins, dB", ours["cqt"], "librosa.cqt, filter bases memoised", ref["cqt_basis_memo_ms"]),
    ]
    if "nnaudio_cqt2010v2_ms" in ref:
        rows.append(("CQT 761 bins, dB", ours["cqt"], "nnAudio CQT2010v2", ref["nnaudio_cqt2010v2_ms"]))
    if "torch_stft_log_ms" in ref:
        rows.append(("STFT 1024/256 + dB", ours["stft_log"], "torch.stft + log", ref["torch_stft_log_ms"]))
    print("\n| work (4-s clip, 16 kHz, one thread) | timbrescope median | reference | reference median | speed-up |")
    print("|---|---|---|---|---|")
    for what, t, ref_name, r in rows:
        print(f"| {what} | {t:.3f} ms | {ref_name} | {r:.2f} ms | {r / t:.1f}x |")
    print("\n| `features DIR` per 4-s clip, one thread: read the WAV, analyse, write the .npy "
          "| timbrescope median | librosa + soundfile + numpy median | speed-up |")
    print("|---|---|---|---|")
    for view, key in [("STFT, dB", "stft"), ("CQT, dB", "cqt")]:
        t, r = ours[f"export_{key}"], ref[f"export_{key}_ms"]
        print(f"| {view} | {t:.3f} ms | {r:.2f} ms | {r / t:.1f}x |")
    print(f"(timbrescope's figure includes flushing the files to the disk at the end; numpy's does not. "
          f"CQT on 2 threads: {ours['export_cqt_2']:.2f} ms a clip, "
          f"{ours['export_cqt'] / ours['export_cqt_2']:.2f}x on {os.cpu_count()} cores)")
    print(f"librosa {ref.get('librosa')}, clips: {ref.get('clips')}")

    # The feature store: a training epoch's notes read from it against analysed from the audio,
    # as stored (time-pooled dB views) and finished (floor, standardisation, bin pooling).
    subprocess.run(["cargo", "bench", "--profile", "dev", "--bench", "data", "--", "--noplot"], cwd=ROOT, env=env, check=True)
    for suffix, what in [("", "as stored (time-pooled STFT + CQT in dB)"),
                         ("_finished", "finished (floor out, standardised, bins pooled)")]:
        stored, analysed = criterion_median_ms(f"epoch/from_store{suffix}"), criterion_median_ms(f"epoch/analysed{suffix}")
        print(f"\nepoch of training notes {what}, one thread: from the store {stored:.1f} ms, "
              f"analysed from the audio {analysed:.1f} ms: {analysed / stored:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
