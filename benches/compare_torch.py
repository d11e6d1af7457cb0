#!/usr/bin/env python3
"""Times one training step of the default model in timbrescope (Candle, criterion, benches/learn.rs)
and in PyTorch (benches/torch_ref.py, the same network) in one run; prints a markdown table of
milliseconds and samples per second with the ratio (ours over PyTorch's samples/s: >1 means
timbrescope is faster).

usage: benches/compare_torch.py [--threads N]
Both sides get N threads (default 2): Candle through RAYON_NUM_THREADS (unset, it takes every
core), PyTorch through torch.set_num_threads. Needs torch in the reference venv (.venv) as
scripts/requirements-ref.txt says.
"""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = ROOT / ".venv" / "bin" / "python"
BATCH = 64


def median_ms(name: str) -> float:
    est = json.loads((ROOT / "target" / "criterion" / "learn" / name / "new" / "estimates.json").read_text())
    return est["median"]["point_estimate"] / 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
    subprocess.run(["cargo", "bench", "--profile", "dev", "--bench", "learn", "--", "--noplot"],
                   cwd=ROOT, env=env, check=True)
    # The reference runs after the bench, not beside it: both would fight over the same cores.
    ref = json.loads(subprocess.run([str(PY), str(ROOT / "benches" / "torch_ref.py"), "--threads", str(args.threads)],
                                    cwd=ROOT, check=True, capture_output=True, text=True).stdout)
    rows = [
        ("MTL step, batch 64: forward, loss, backward, AdamW", median_ms("mtl_step_batch64"),
         "same, convolutions as unfold + dense (as ours)", ref["mtl_step_ms"], BATCH),
        ("MTL step, batch 64", median_ms("mtl_step_batch64"),
         "same, convolutions as nn.Conv1d", ref["mtl_step_conv1d_ms"], BATCH),
        ("contrastive step, batch 64: encoders, projections, NT-Xent, AdamW", median_ms("ssl_step_batch64"),
         "same", ref["ssl_step_ms"], BATCH),
        ("predict one note (eval forward)", median_ms("predict_one"), "same, under no_grad", ref["predict_one_ms"], 1),
    ]
    print(f"\n| step | timbrescope (Candle) | samples/s | PyTorch {ref['torch']} | median | samples/s | ratio |")
    print("|---|---|---|---|---|---|---|")
    for what, ours, theirs_name, theirs, samples in rows:
        ours_sps, theirs_sps = samples / (ours / 1e3), samples / (theirs / 1e3)
        print(f"| {what} | {ours:.2f} ms | {ours_sps:.1f} | {theirs_name} | {theirs:.2f} ms | {theirs_sps:.1f} "
              f"| {ours_sps / theirs_sps:.2f}x |")
    print(f"\nthreads: Candle {args.threads} (RAYON_NUM_THREADS), PyTorch {ref['threads']} "
          f"(set_num_threads; 1 inter-op thread); {os.cpu_count()} cores here. Parameters: {ref['parameters']:,} "
          f"(PyTorch's count of the same network).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
