#!/usr/bin/env python3
"""One leave-one-library-out fold of a pooled data set (scripts/pool.sh): the held-out library's
notes become the test_bank split, every other training library keeps its train/valid/test
split, and the pool's own held-out library (test_bank) is dropped unless it is the one held out.
The fold's audio is the pool's (a symbolic link), so nothing is rendered again.

usage: scripts/fold.py POOL LIBRARY OUT
"""
import json
import os
import shutil
import sys


def main() -> None:
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    pool, held, out = sys.argv[1:]
    with open(os.path.join(pool, "examples.json")) as f:
        examples = json.load(f)
    banks = sorted({e.get("bank") for e in examples.values()})
    if held not in banks:
        sys.exit(f"{held}: not a library of {pool} ({', '.join(map(str, banks))})")
    pool_held = {e.get("bank") for e in examples.values() if e.get("split") == "test_bank"}
    fold = {}
    for key, e in examples.items():
        if e.get("bank") == held:
            fold[key] = dict(e, split="test_bank")
        elif e.get("bank") not in pool_held:
            fold[key] = e
    os.makedirs(out, exist_ok=True)
    for i, key in enumerate(sorted(fold)):
        fold[key]["note"] = i
    tmp = os.path.join(out, "examples.json.part")
    with open(tmp, "w") as f:
        json.dump(fold, f, indent=1, sort_keys=True)
    os.replace(tmp, os.path.join(out, "examples.json"))
    shutil.copyfile(os.path.join(pool, "taxonomy.json"), os.path.join(out, "taxonomy.json"))
    audio = os.path.join(out, "audio")
    if not os.path.lexists(audio):
        os.symlink(os.path.abspath(os.path.join(pool, "audio")), audio)
    splits = {}
    for e in fold.values():
        splits[e["split"]] = splits.get(e["split"], 0) + 1
    print(f"{out}: {held} held out; {splits}")


if __name__ == "__main__":
    main()
