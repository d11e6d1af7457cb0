#!/usr/bin/env python3
"""Prints the evaluation tables of models/README.md from the reports `timbrescope eval` wrote.

usage: scripts/report_table.py [--held-out] models/reports
       scripts/report_table.py --recall BEFORE AFTER
Each subfolder is one model; its test.json, test_bank.json and test_<chain>.json are read.
--held-out adds a table of the held-out library per instrument and the library probe.
--recall compares two models' recall of each instrument on the held-out library.
"""
import json
import sys
from pathlib import Path

CHAINS = [("rt60_1.2", "RT60 1.2 s"), ("pink_10db", "pink noise 10 dB"), ("opus_24", "Opus 24 kbit/s")]


def report(folder: Path, name: str):
    path = folder / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def load(folder: Path, name: str):
    r = report(folder, name)
    return r["metrics"] if r else None


def pct(m, key="acc_instrument"):
    return f"{100 * m[key]:.1f}%" if m and key in m else "-"


def conditions(models, split: str) -> None:
    """Instrument accuracy on a split clean and in each condition, with the worst drop."""
    print()
    label = "model" if split == "test" else f"model ({split})"
    print(f"| {label} | clean | " + " | ".join(name for _, name in CHAINS) + " | worst drop |")
    print("|---|---|" + "---|" * len(CHAINS) + "---|")
    for folder in models:
        clean = load(folder, split)
        if not clean:
            continue
        drops, cells = [], []
        for key, _ in CHAINS:
            m = load(folder, f"{split}_{key}")
            cells.append(pct(m))
            if m:
                drops.append(100 * (clean["acc_instrument"] - m["acc_instrument"]))
        worst = f"{max(drops):.1f} points" if drops else "-"
        print(f"| {folder.name} | {pct(clean)} | " + " | ".join(cells) + f" | {worst} |")


def recall_table(before: Path, after: Path) -> int:
    """Each instrument's recall on the held-out library by two models, largest change first."""
    a, b = report(before, "test_bank"), report(after, "test_bank")
    if not a or not b:
        print(f"no test_bank.json in {before if not a else after}", file=sys.stderr)
        return 1
    ra, rb = a["per_class_recall"], b["per_class_recall"]
    names = [n for n in ra if ra[n] is not None and rb.get(n) is not None]
    print(f"| instrument | {before.name} | {after.name} | change |")
    print("|---|---|---|---|")
    for n in sorted(names, key=lambda n: -abs(rb[n] - ra[n])):
        print(f"| {n} | {100 * ra[n]:.0f}% | {100 * rb[n]:.0f}% | {100 * (rb[n] - ra[n]):+.0f} |")
    print(f"| **accuracy** | {pct(a['metrics'])} | {pct(b['metrics'])} | "
          f"{100 * (b['metrics']['acc_instrument'] - a['metrics']['acc_instrument']):+.1f} |")
    return 0


def main() -> int:
    if sys.argv[1:2] == ["--recall"]:
        if len(sys.argv) != 4:
            print("usage: scripts/report_table.py --recall BEFORE AFTER", file=sys.stderr)
            return 2
        return recall_table(Path(sys.argv[2]), Path(sys.argv[3]))
    args = [a for a in sys.argv[1:] if a != "--held-out"]
    root = Path(args[0] if args else "models/reports")
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
    conditions(models, "test")
    # The held-out library in the three conditions, where a model was evaluated so.
    if any(load(f, f"test_bank_{key}") for f in models for key, _ in CHAINS):
        conditions(models, "test_bank")
    # The held-out library per instrument, and the library probe on the test split's embeddings.
    held = [(f, report(f, "test_bank")) for f in models]
    held = [(f, r) for f, r in held if r and "--held-out" in sys.argv]
    if held:
        print()
        print("| model | held-out | class-balanced | weakest instruments | library probe (test) |")
        print("|---|---|---|---|---|")
    for folder, r in held:
        recalls = {k: v for k, v in r["per_class_recall"].items() if v is not None}
        balanced = sum(recalls.values()) / max(len(recalls), 1)
        weakest = ", ".join(f"{k} {100 * v:.0f}%" for k, v in sorted(recalls.items(), key=lambda kv: kv[1])[:3])
        test = report(folder, "test")
        probe = (test or {}).get("library_probe")
        probe_text = (f"{100 * probe['accuracy']:.1f}% against {100 * probe['chance']:.1f}% "
                      f"({probe['accuracy'] / probe['chance']:.2f}x)") if probe else "-"
        print(f"| {folder.name} | {pct(r['metrics'])} | {100 * balanced:.1f}% | {weakest} | {probe_text} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
