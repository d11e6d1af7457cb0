#!/usr/bin/env python3
"""Prints the evaluation tables of models/README.md from the reports `timbrescope eval` wrote.

usage: scripts/report_table.py models/reports
Each subfolder is one model; its test.json, test_bank.json and test_<chain>.json are read.
"""
import json
import sys
from pathlib import Path

CHAINS = [("rt60_1.2", "RT60 1.2 s"), ("pink_10db", "pink noise 10 dB"), ("opus_24", "Opus 24 kbit/s")]


def load(folder: Path, name: str):
    path = folder / f"{name}.json"
    return json.loads(path.read_text())["metrics"] if path.exists() else None


def pct(m, key="acc_instrument"):
    return f"{100 * m[key]:.1f}%" if m and key in m else "-"


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "models/reports")
    models = sorted(p for p in root.iterdir() if p.is_dir())
    print("| model | split | instrument | family | pitch class | velocity | descriptor R² |")
    print("|---|---|---|---|---|---|---|")
    for folder in models:
        for split in ["test", "test_bank"]:
            m = load(folder, split)
            if m:
                r2 = f"{m['r2_descriptors']:.3f}" if "r2_descriptors" in m else "-"
                print(f"| {folder.name} | {split} | {pct(m)} | {pct(m, 'acc_family')} | "
                      f"{pct(m, 'acc_pitch_class')} | {pct(m, 'acc_velocity')} | {r2} |")
    print()
    print("| model | clean | " + " | ".join(name for _, name in CHAINS) + " | worst drop |")
    print("|---|---|" + "---|" * len(CHAINS) + "---|")
    for folder in models:
        clean = load(folder, "test")
        if not clean:
            continue
        drops, cells = [], []
        for key, _ in CHAINS:
            m = load(folder, f"test_{key}")
            cells.append(pct(m))
            if m:
                drops.append(100 * (clean["acc_instrument"] - m["acc_instrument"]))
        worst = f"{max(drops):.1f} points" if drops else "-"
        print(f"| {folder.name} | {pct(clean)} | " + " | ".join(cells) + f" | {worst} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
