#!/usr/bin/env python3
"""Times timbrescope's degradation chain (criterion, benches/degrade.rs) and audiomentations
(benches/audiomentations_ref.py) on the same clip and the same binaural room response in one
run; prints the table kept in BENCHMARKS.md.

usage: benches/compare_degrade.py
Needs the reference venv (.venv, scripts/fixtures.sh) with the audiomentations block of
scripts/requirements-ref.txt installed as that file says.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = ROOT / ".venv" / "bin" / "python"
CLIP = ROOT / "assets" / "demo" / "piano_C4.wav"


def median_ms(name: str) -> float:
    est = json.loads((ROOT / "target" / "criterion" / "degrade" / name / "new" / "estimates.json").read_text())
    return est["median"]["point_estimate"] / 1e6


def main() -> int:
    env = dict(os.environ, RAYON_NUM_THREADS="1")
    # The bench writes the binaural room it uses (RT60 1.2 s, seed 7) for the reference to use too.
    subprocess.run(["cargo", "bench", "--profile", "dev", "--bench", "degrade", "--", "--noplot"],
                   cwd=ROOT, env=env, check=True)
    brir = ROOT / "target" / "tmp" / "brir_1.2s_seed7.wav"
    ref = json.loads(subprocess.run([str(PY), str(ROOT / "benches" / "audiomentations_ref.py"), str(CLIP), str(brir)],
                                    cwd=ROOT, check=True, capture_output=True, text=True).stdout)
    rows = [
        ("whole chain, MP3 32 (reverb, pink 10 dB, 2 shelves, band-pass)", median_ms("chain_audiomentations"),
         "Compose of the same", ref["chain_ms"]),
        ("binaural room 1.2 s: generate + convolve", median_ms("rir_binaural_1.2s") + median_ms("convolve_binaural_1.2s"),
         "ApplyImpulseResponse (given the BRIR)", ref["reverb_ms"]),
        ("convolution alone, both ears", median_ms("convolve_binaural_1.2s"), "scipy fftconvolve, both ears",
         ref["fftconvolve_ms"]),
        ("pink noise at 10 dB, both ears", median_ms("pink_noise"), "AddColorNoise", ref["pink_noise_ms"]),
        ("band-pass 300-3400 Hz, both ears", median_ms("band_pass"), "BandPassFilter", ref["eq_parts_ms"]["band_pass"]),
        ("MP3 32 kbit/s round trip, both ears", median_ms("mp3_32"), "Mp3Compression (lameenc)", ref["mp3_ms"]),
        ("Opus 32 kbit/s round trip, both ears", median_ms("opus_32"), "soundfile Ogg/Opus (no audiomentations transform)",
         ref.get("opus_soundfile_ms", float("nan"))),
    ]
    print("\n| work (4-s clip, 16 kHz, one thread) | timbrescope median | audiomentations / reference | median | speed-up |")
    print("|---|---|---|---|---|")
    for what, ours, ref_name, theirs in rows:
        print(f"| {what} | {ours:.2f} ms | {ref_name} | {theirs:.2f} ms | {theirs / ours:.1f}x |")
    print(f"\ntarget chain (1.2 s binaural room, pink 10 dB, band-pass, Opus 32): {median_ms('chain_target'):.2f} ms "
          f"as the model hears it (the room's mid on), {median_ms('chain_target_ears'):.2f} ms with both ears "
          f"(target 15 ms)")
    print(f"after a slider moves (chain from the stage on + STFT, CQT, two Δs): RT60 {median_ms('slider_rt60'):.2f} ms, "
          f"SNR {median_ms('slider_snr'):.2f} ms (target 50 ms to the redrawn views)")
    print(f"stages: room generation {median_ms('rir_binaural_1.2s'):.2f} ms, mono convolution "
          f"{median_ms('convolve_mono_1.2s'):.2f} ms")
    print(f"audiomentations {ref.get('audiomentations')}; notes: {ref.get('notes')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
