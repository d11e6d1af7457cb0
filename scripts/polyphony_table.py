#!/usr/bin/env python3
"""Prints the polyphony tables of models/README.md from the reports `scripts/pool_short.sh`
(or `scripts/train_models.sh`) wrote.

usage: scripts/polyphony_table.py NAME=FOLDER [NAME=FOLDER ...]
Each FOLDER may hold test.json, test_bank.json, real/test_real.json (single notes) and
test_bank_mix2.json, test_bank_mix3.json, test_mix2.json, real/test_real_mix2.json and
train_mix2_power.json (`eval --mixtures`). The first table is one row per model: single notes,
then mixtures of 2 and 3 TimGM6mb notes, of 2 test notes, of 2 real recordings, and of 2 notes of
the train split as training mixes them; the second each instrument's AP in 2-note TimGM6mb
mixtures.
"""
import json
import sys
from pathlib import Path

from tables import named_folders, pct


def load(path: Path):
    return json.loads(path.read_text()) if path.exists() else None


def mix(report, key):
    if not report:
        return "-"
    if key == "sdr":
        m = report.get("masks")
        return f"{m['sdr_db']:.1f} dB (ideal {m['ideal_sdr_db']:.1f})" if m else "-"
    if key == "exact_set":
        return f"{100 * report[key]:.1f}%"
    return f"{report[key]:.3f}"


def main() -> int:
    models = named_folders(sys.argv[1:], __doc__)
    if models is None:
        return 2
    print("| model | test | TimGM6mb | test_real balanced | TimGM6mb mixtures of 2: mAP | F1 | exact set "
          "| mask SDR | of 3: mAP | exact set | test mixtures of 2: mAP | test_real mixtures of 2: mAP "
          "| train mixtures of 2: mAP |")
    print("|---|" + "---|" * 12)
    for name, f in models:
        m2, m3, t2, r2, fit = (
            load(f / f"{n}.json")
            for n in ("test_bank_mix2", "test_bank_mix3", "test_mix2", "real/test_real_mix2", "train_mix2_power")
        )
        print(f"| {name} | {pct(load(f / 'test.json'))} | {pct(load(f / 'test_bank.json'))} "
              f"| {pct(load(f / 'real' / 'test_real.json'), 'balanced_instrument')} "
              f"| {mix(m2, 'map')} | {mix(m2, 'micro_f1')} | {mix(m2, 'exact_set')} | {mix(m2, 'sdr')} "
              f"| {mix(m3, 'map')} | {mix(m3, 'exact_set')} | {mix(t2, 'map')} | {mix(r2, 'map')} "
              f"| {mix(fit, 'map')} |")
    print()
    reports = [(name, load(f / "test_bank_mix2.json")) for name, f in models]
    first = next((r for _, r in reports if r), None)
    if not first:
        return 0
    print("| instrument: AP in 2-note TimGM6mb mixtures | " + " | ".join(n for n, _ in reports) + " |")
    print("|---|" + "---|" * len(reports))
    for label in first["per_class_ap"]:
        cells = []
        for _, r in reports:
            ap = r["per_class_ap"].get(label) if r else None
            cells.append("-" if ap is None else f"{ap:.2f}")
        print(f"| {label} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
