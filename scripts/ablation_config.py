#!/usr/bin/env python3
"""Prints a variant of models/default.toml for the ablation scripts: the default recipe without
its noise floor, pitch shift and cross-library positives (the base the short-schedule tables
compare against), with the options given added back or changed.

usage: scripts/ablation_config.py [--floor P:M:R] [--shift PROB:SEMITONES] [--pool T:S:C]
                                  [--noise SNR_LO:SNR_HI:WEIGHT] [--eq PROB:GAIN_DB] [--ssl-epochs N]
                                  [--mtl-epochs N] [--crop PROB:MAX_SECS] [--played PROB]
                                  [--polyphony SHARE:LABEL_WEIGHT:MASK_WEIGHT] [--seed N]
"""
import argparse
import re
from pathlib import Path

DEFAULT = Path(__file__).resolve().parent.parent / "models" / "default.toml"
OPTIONAL = ("input.noise_floor", "pitch_shift", "polyphony")


def without_optional(text: str) -> str:
    """Drops the optional sections, each from its header (and the comments just above it) to
    the next section."""
    out, skipping, comments = [], False, []
    for line in text.splitlines():
        header = re.match(r"^\[([^\]]+)\]", line)
        if header:
            skipping = header.group(1) in OPTIONAL
            if not skipping:
                out += comments
            comments = []
            if not skipping:
                out.append(line)
            continue
        if skipping:
            continue
        if line.startswith("#"):
            comments.append(line)
        else:
            out += comments + [line]
            comments = []
    out += comments
    return "\n".join(out).rstrip() + "\n"


def set_epochs(text: str, section: str, epochs: int) -> str:
    pattern = re.compile(rf"(^\[{section}\]\n(?:(?!\[).*\n)*?)epochs = \d+", re.M)
    text, n = pattern.subn(rf"\g<1>epochs = {epochs}", text)
    assert n == 1, f"no epochs in [{section}]"
    return text


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--floor", help="PERCENTILE:MARGIN_DB:RANGE_DB")
    p.add_argument("--shift", help="PROBABILITY:SEMITONES")
    p.add_argument("--pool", help="TIME:STFT:CQT")
    p.add_argument("--noise", help="SNR_LO:SNR_HI:WEIGHT of [feature_noise]")
    p.add_argument("--eq", help="PROBABILITY:GAIN_DB of [feature_eq]")
    p.add_argument("--positives", choices=["same_note", "other_library"], help="[ssl] positives")
    p.add_argument("--adversary", help="WEIGHT:REVERSAL of [mtl.library_adversary]")
    p.add_argument("--ssl-epochs", type=int)
    p.add_argument("--mtl-epochs", type=int)
    p.add_argument("--crop", help="PROBABILITY:MAX_OFFSET_SECS of [crop]")
    p.add_argument("--played", type=float, help="probability of [played] (train with --played DIR)")
    p.add_argument("--polyphony", help="SHARE:LABEL_WEIGHT:MASK_WEIGHT of [polyphony]")
    p.add_argument("--mixup", type=float, help="[mtl] mixup_alpha (0: no mixup)")
    p.add_argument("--seed", type=int, help="the run's seed (another draw of the same recipe)")
    a = p.parse_args()
    # The short-schedule tables compare against same-note positives: --positives adds them back.
    text = re.sub(r"^(#.*\n)*positives = .*\n", "", without_optional(DEFAULT.read_text()), count=1, flags=re.M)
    variant = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(a).items() if v is not None)
    description = f"The default recipe from ablation_config.py {variant}".strip()
    text = re.sub(r"^description = .*", f'description = "{description}"', text, count=1, flags=re.M)
    if a.seed is not None:
        text, n = re.subn(r"^seed = \d+", f"seed = {a.seed}", text, count=1, flags=re.M)
        assert n == 1, "no seed"
    if a.mixup is not None:
        text, n = re.subn(r"^mixup_alpha = .*", f"mixup_alpha = {a.mixup:g}", text, count=1, flags=re.M)
        assert n == 1, "no mixup_alpha in [mtl]"
    if a.pool:
        for key, value in zip(["time_pool", "stft_pool", "cqt_pool"], a.pool.split(":")):
            text = re.sub(rf"^{key} = \d+", f"{key} = {int(value)}", text, flags=re.M)
    if a.noise:
        lo, hi, weight = (float(v) for v in a.noise.split(":"))
        text, n = re.subn(r"^snr_db = .*", f"snr_db = [{lo:g}, {hi:g}]", text, count=1, flags=re.M)
        assert n == 1, "no snr_db in [feature_noise]"
        text, n = re.subn(r"(^\[feature_noise\]\n(?:(?!\[).*\n)*?)weight = .*", rf"\g<1>weight = {weight}", text, flags=re.M)
        assert n == 1, "no weight in [feature_noise]"
    if a.eq:
        prob, gain = (float(v) for v in a.eq.split(":"))
        section = r"(^\[feature_eq\]\n(?:(?!\[).*\n)*?)"
        text, n = re.subn(section + r"probability = .*", rf"\g<1>probability = {prob:g}", text, flags=re.M)
        assert n == 1, "no probability in [feature_eq]"
        text, n = re.subn(section + r"gain_db = .*", rf"\g<1>gain_db = {gain:g}", text, flags=re.M)
        assert n == 1, "no gain_db in [feature_eq]"
    if a.ssl_epochs is not None:
        text = set_epochs(text, "ssl", a.ssl_epochs)
    if a.mtl_epochs is not None:
        text = set_epochs(text, "mtl", a.mtl_epochs)
    if a.floor:
        pct, margin, rng = (int(v) for v in a.floor.split(":"))
        floor = f"\n[input.noise_floor]\npercentile = {pct}\nmargin_db = {margin}\nrange_db = {rng}\n"
        text = re.sub(r"^(cqt_pool = \d+\n)", rf"\g<1>{floor}", text, flags=re.M)
    if a.shift:
        prob, semitones = a.shift.split(":")
        text += f"\n[pitch_shift]\nprobability = {float(prob)}\nsemitones = {int(semitones)}\n"
    if a.positives:
        text, n = re.subn(r"^(degraded_pairs = .*\n)", rf'\g<1>positives = "{a.positives}"\n', text, count=1, flags=re.M)
        assert n == 1, "no degraded_pairs in [ssl]"
    if a.adversary:
        weight, reversal = (float(v) for v in a.adversary.split(":"))
        text += f"\n[mtl.library_adversary]\nweight = {weight}\nreversal = {reversal}\n"
    if a.crop:
        prob, secs = (float(v) for v in a.crop.split(":"))
        text += f"\n[crop]\nprobability = {prob:g}\nmax_offset_secs = {secs:g}\n"
    if a.played is not None:
        text += f"\n[played]\nprobability = {a.played:g}\n"
    if a.polyphony:
        share, label, mask = (float(v) for v in a.polyphony.split(":"))
        text += f"\n[polyphony]\nshare = {share:g}\nlabel_weight = {label:g}\nmask_weight = {mask:g}\n"
    print(text, end="")


if __name__ == "__main__":
    main()
