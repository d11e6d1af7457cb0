"""What the report-table scripts share: their NAME=FOLDER arguments and a metric as a percentage."""
import sys
from pathlib import Path


def named_folders(argv, usage: str):
    """(name, folder) pairs from NAME=FOLDER arguments, or None (usage printed) when one is malformed
    or none is given."""
    models = []
    for arg in argv:
        name, _, folder = arg.partition("=")
        if not folder:
            break
        models.append((name, Path(folder)))
    else:
        if models:
            return models
    print(usage, file=sys.stderr)
    return None


def pct(report, key="acc_instrument"):
    """A report's metric as a percentage with one decimal, "-" where the report or metric is absent."""
    if not report or key not in report["metrics"]:
        return "-"
    return f"{100 * report['metrics'][key]:.1f}%"
