#!/usr/bin/env python3
"""Prints the real-players tables of models/README.md from the reports `scripts/pool_short.sh`
and `scripts/eval_real.sh` wrote.

usage: scripts/real_table.py NAME=FOLDER [NAME=FOLDER ...]
Each FOLDER may hold test.json, test_bank.json and test_bank_middle.json, and real/ with
test_real.json, test_real_middle.json, window.json and window_middle.json. The first table is
one row per model; the second each instrument's recall on test_real (note cut, from the onset)
with its notes, classes under 8 notes marked.
"""
import json
import sys
from pathlib import Path

from tables import named_folders, pct


def load(folder: Path, name: str):
    path = folder / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def main() -> int:
    models = named_folders(sys.argv[1:], __doc__)
    if models is None:
        return 2
    print("| model | test | TimGM6mb | TimGM6mb from the middle | test_real | balanced | unseen family "
          "| from the middle (balanced) | windows (balanced) | windows from the middle (balanced) |")
    print("|---|" + "---|" * 9)
    for name, folder in models:
        real = folder / "real"
        r, rm = load(real, "test_real"), load(real, "test_real_middle")
        w, wm = load(real, "window"), load(real, "window_middle")
        print(f"| {name} | {pct(load(folder, 'test'))} | {pct(load(folder, 'test_bank'))} "
              f"| {pct(load(folder, 'test_bank_middle'))} | {pct(r)} | {pct(r, 'balanced_instrument')} "
              f"| {pct(r, 'acc_family_unseen')} | {pct(rm, 'balanced_instrument')} "
              f"| {pct(w, 'balanced_instrument')} | {pct(wm, 'balanced_instrument')} |")
    print()
    reports = [(name, load(folder / "real", "test_real")) for name, folder in models]
    first = next((r for _, r in reports if r), None)
    if not first:
        return 0
    labels = first["confusion"]["labels"]
    support = [sum(row) for row in first["confusion"]["counts"]]
    print("| instrument (notes) | " + " | ".join(name for name, _ in reports) + " |")
    print("|---|" + "---|" * len(reports))
    for k, label in enumerate(labels):
        if support[k] == 0:
            continue
        mark = "" if support[k] >= 8 else ", not averaged"
        cells = []
        for _, r in reports:
            recall = r["per_class_recall"].get(label) if r else None
            cells.append("-" if recall is None else f"{100 * recall:.0f}%")
        print(f"| {label} ({support[k]}{mark}) | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
