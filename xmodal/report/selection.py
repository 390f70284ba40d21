"""Which runs a page shows, and how it names a method: each defined once, from the runs' config fields.

**The method key** of a run is :func:`xmodal.results.method_of` of its config: the config's
``method``, tagged with a non-default ``alignment`` or ``pairing`` (``"C+T+M (confusion)"``,
``"C (disjoint)"``), so a table that selects the paper's method names never mixes an
ablation in. The results tables carry it as ``method``, beside the config fields it is
made of (``config_method``, ``alignment``, ``pairing``). :func:`method_label` is the one
display name of a key (and of a model, with the sensors it was trained on).

**The Figure 2 runs** (:func:`final_runs`): the finished runs on aligned patches
(``pairing`` not ``disjoint``: those see part of the training set by design and are
compared with aligned runs of their own size, :func:`xmodal.report.comparisons.pairing_table`),
trained on the whole training split (``n_train`` null); for a method without such runs,
those on its largest training set. Every alignment ablation is its own method key. The
same rule picks the rows of a pair homogeneity table (:func:`final_pairs`), the run
folders the cloud evaluation scores (:func:`figure2_runs`) and the models an interactive
page shows one by one (:func:`showcase_runs`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from xmodal.analysis.tidy import ok_runs
from xmodal.data.normalize import modality_label
from xmodal.data.splits import PAIRINGS
from xmodal.report.paper import paper_sensors

__all__ = [
    "ALIGNED",
    "DISJOINT",
    "method_label",
    "on_disjoint_scenes",
    "aligned_method",
    "final_runs",
    "final_pairs",
    "figure2_runs",
    "showcase_runs",
]

#: The config's two ``pairing`` values (:data:`xmodal.data.splits.PAIRINGS`): every sensor on the same
#: patches, or each on scenes of its own.
ALIGNED, DISJOINT = PAIRINGS


def method_label(method: str, sensor: str | None = None, modalities: Sequence[str] | None = None) -> str:
    """The display name of a method key: ``"baseline"`` -> ``"Baseline"``, others as they are.

    Args:
        method: a method key (a results table's ``method``: :func:`xmodal.results.method_of`).
        sensor: a sensor whose label is appended (``"Baseline S2"``: a sensor's model or score).
        modalities: the sensors the model was trained on. A cross-modal model on other sensors
            than the paper's pair (:func:`xmodal.report.paper.paper_sensors`) is named with them,
            ``"C+T+M (s1+s2+rgb)"``, so it is never read as the paper's model; a Baseline (one
            model per sensor) is not.

    Returns:
        The label, e.g. ``"C+T+M"``, ``"Baseline S1"``, ``"C (disjoint)"``, ``"C+T+M (s1+s2+rgb)"``.
    """
    name = "Baseline" if method == "baseline" else method
    if modalities is not None and method != "baseline" and sorted(modalities) != sorted(paper_sensors()):
        name = f"{name} ({'+'.join(modalities)})"
    return f"{name} {modality_label(sensor)}" if sensor else name


def on_disjoint_scenes(table: pd.DataFrame) -> pd.Series:
    """Which rows of a results or pair table are runs trained on disjoint scenes (their config's ``pairing``).

    A table without a ``pairing`` column (runs older than the option) holds aligned runs only.
    """
    if "pairing" not in table.columns:
        return pd.Series(False, index=table.index)
    return table["pairing"].astype(object).eq(DISJOINT).fillna(False).astype(bool)


def aligned_method(row: Mapping[str, Any]) -> str:
    """The method key of the same training on aligned patches, from a results row's config fields.

    ``C`` on disjoint scenes (``config_method`` C, ``pairing`` disjoint, key ``"C (disjoint)"``)
    has ``"C"``; ``C+T+M`` with domain confusion on disjoint scenes has ``"C+T+M (confusion)"``.
    """
    from xmodal.results import method_of

    alignment = row.get("alignment")
    return method_of({"method": row["config_method"], "pairing": ALIGNED,
                      "alignment": None if alignment is None or pd.isna(alignment) else alignment})


def _whole_split(table: pd.DataFrame, requested: str, size: str) -> np.ndarray:
    """The Figure 2 rule as a mask by position: aligned rows on the whole split, or else on the largest set."""
    aligned = ~on_disjoint_scenes(table).to_numpy(dtype=bool)
    method = table["method"].to_numpy(dtype=object)
    mask = aligned & table[requested].isna().to_numpy(dtype=bool)
    sizes = pd.to_numeric(table[size], errors="coerce").to_numpy(dtype=np.float64)
    for m in set(method[aligned]) - set(method[mask]):
        rows = aligned & (method == m)
        if m is None or m != m or not np.isfinite(sizes[rows]).any():
            continue
        mask |= rows & (sizes == np.nanmax(sizes[rows]))
    return mask


def final_runs(results: pd.DataFrame) -> pd.DataFrame:
    """Rows of the Figure 2 runs (see the module docstring): finished, aligned, on the full training set.

    Rows with ``n_train_requested`` missing (the whole split); for a method without such runs,
    those with its largest training set (``n_train``). Runs on disjoint scenes never count.
    The rows keep the table's order.
    """
    ok = ok_runs(results)
    return ok[_whole_split(ok, "n_train_requested", "n_train")]


def final_pairs(pairs: pd.DataFrame) -> pd.DataFrame:
    """Rows of a pair homogeneity table for the Figure 2 runs (the rule of :func:`final_runs`), scores present.

    ``n_train`` of a pair table is the requested size: per method, the rows on the whole split,
    or else those on its largest requested set; runs on disjoint scenes never count.
    """
    df = pairs.dropna(subset=["homogeneity"])
    return df[_whole_split(df, "n_train", "n_train")]


def figure2_runs(results: pd.DataFrame | str | os.PathLike[str],
                 methods: Sequence[str] | None = None) -> list[str]:
    """The run folders of the Figure 2 runs (:func:`final_runs`), each once, sorted by folder name.

    What every page that scores the Figure 2 *runs* (rather than their table rows) uses: the
    cloud evaluation re-scores exactly these models.

    Args:
        results: a results table (:func:`xmodal.results.load_results`), or a study folder it loads.
        methods: method keys to keep (``"baseline"``, ``"C"``, ``"C+T+M (confusion)"``, ...);
            None: every method.

    Raises:
        xmodal.results.ResultsError: ``results`` is a path that does not exist.
    """
    if not isinstance(results, pd.DataFrame):
        from xmodal.results import load_results

        results = load_results(results)
    df = final_runs(results)
    if methods is not None:
        df = df[df["method"].isin(list(methods))]
    return sorted({str(r) for r in df["run_dir"]}, key=lambda r: (os.path.basename(r), r))


def showcase_runs(results: pd.DataFrame, seeds: int = 3) -> list[str]:
    """Run folders a page shows one by one: every Figure 2 model (method and sensors), its first ``seeds`` seeds.

    A study may hold many seeds and sizes; an interactive page (the explorer) needs one
    model per menu choice, not every run.
    """
    df = final_runs(results)
    out: list[str] = []
    for _, sub in df.groupby(["method", "trained_modalities"], sort=False):
        first = sorted(int(v) for v in sub["seed"].dropna().unique())[:seeds]
        out.extend(sub[sub["seed"].isin(first)]["run_dir"].drop_duplicates().astype(str))
    return sorted(set(out))
