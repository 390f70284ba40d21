"""One-line notes a page writes under its figures: which data and runs, and how long the runs trained.

Both are computed from the runs' records (the results table, a run's config), never typed
in: a page that shows a measured time takes it from the runs' records
(:func:`xmodal.book.timing_text`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from xmodal.analysis.tidy import ok_runs

__all__ = ["source_note", "training_budget"]


def source_note(results: pd.DataFrame, study: str | None = None) -> str:
    """Which data and how many runs a figure shows (one line for captions and titles).

    E.g. ``"synthetic SEN12MS-like data, winter, scene split; 14 runs of study 'quick', seeds 0"``.
    """
    ok = ok_runs(results)
    if len(ok) == 0:
        return "no finished run"
    kinds = sorted({str(k) for k in ok["data_kind"].dropna()}) if "data_kind" in ok else []
    kind = "/".join(kinds) if kinds else "unknown data"
    kind = {"synthetic": "synthetic SEN12MS-like data", "SEN12MS": "SEN12MS"}.get(kind, kind)
    seasons = sorted({str(s) for s in ok["season"].dropna()}) if "season" in ok else []
    splits = sorted({str(s) for s in ok["split"].dropna()}) if "split" in ok else []
    n_runs = ok["run_dir"].nunique() if "run_dir" in ok else len(ok)
    seeds = sorted({int(s) for s in ok["seed"].dropna()}) if "seed" in ok else []
    parts = [kind]
    if seasons:
        parts.append("/".join(seasons))
    if splits:
        parts.append("/".join(splits) + " split")
    where = f" of study '{study}'" if study else ""
    seed_txt = f", seeds {', '.join(map(str, seeds))}" if seeds else ""
    return f"{', '.join(parts)}; {n_runs} runs{where}{seed_txt}"


def training_budget(config: Mapping[str, Any]) -> str:
    """One Markdown sentence on how long a run of the size sweep trains (from its config).

    With ``steps_per_epoch`` set, every run takes the same number of optimisation
    steps whatever its training-set size, so a size curve varies only the data;
    without it, an epoch is a pass over the run's own training set, so smaller sets
    also get fewer steps.
    """
    epochs, batch = int(config["epochs"]), int(config["batch_size"])
    steps = config.get("steps_per_epoch")
    if steps:
        return (f"**Training budget:** every run takes the same {epochs} x {int(steps)} = "
                f"{epochs * int(steps)} optimisation steps of {batch} patches per modality, whatever its "
                "training-set size, so the curves vary only the data.")
    return (f"**Training budget:** every run takes {epochs} epochs over its own training set "
            f"(batches of {batch} patches per modality), so smaller training sets also get fewer "
            "optimisation steps: the curves mix the amount of data with the amount of training.")
