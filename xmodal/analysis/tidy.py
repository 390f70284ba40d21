"""The tidy tables' vocabulary: finished rows, sensors and methods in display order, means per group.

Every table of a study is tidy: one row per run (or pair of runs) and sensor, with columns
``method``, ``modality`` (or ``sensor_a``/``sensor_b``), ``seed``, ... as
:func:`xmodal.results.load_results` and :func:`xmodal.results.load_homogeneity` make them.
Sensors are never named here: they are the ones a table holds, ordered as the data layer
lists its modalities (:data:`xmodal.data.normalize.MODALITIES`), and pairs of sensors are
:func:`itertools.combinations` of them; methods follow :data:`xmodal.config.METHODS`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import pandas as pd

from xmodal.config import METHODS
from xmodal.data.normalize import MODALITIES

__all__ = ["ok_runs", "sensor_order", "sensor_pairs", "sensors_in", "methods_in", "flat_columns", "summary_table"]


def ok_runs(results: pd.DataFrame) -> pd.DataFrame:
    """The rows of finished runs (all rows when the table has no ``status``)."""
    if "status" in results.columns:
        return results[results["status"] == "ok"]
    return results


def sensor_order(sensors: Iterable[str]) -> list[str]:
    """``sensors`` without repeats, in the data layer's order of modalities (unknown ones last, sorted)."""
    present = {str(s) for s in sensors}
    return [m for m in MODALITIES if m in present] + sorted(present - set(MODALITIES))


def sensor_pairs(sensors: Iterable[str]) -> list[tuple[str, str]]:
    """Every pair of ``sensors`` once, each pair and the pairs in :func:`sensor_order`."""
    return list(itertools.combinations(sensor_order(sensors), 2))


def sensors_in(table: pd.DataFrame, column: str = "modality") -> list[str]:
    """The sensors of a table's ``column``, in :func:`sensor_order`."""
    return sensor_order(table[column].dropna()) if column in table.columns else []


def methods_in(table: pd.DataFrame) -> list[str]:
    """The methods of a table, in the order of :data:`xmodal.config.METHODS` (unknown ones last)."""
    present = set(table["method"].dropna())
    return [m for m in METHODS if m in present] + sorted(present - set(METHODS))


def flat_columns(columns: pd.Index) -> list[str]:
    """``("macro", "mean")`` -> ``"macro_mean"``: the columns of an aggregated table."""
    return ["_".join(map(str, c)) for c in columns]


def summary_table(results: pd.DataFrame, by_size: bool = True) -> pd.DataFrame:
    """Mean, standard deviation and count of the scores per method x sensor (x training-set size).

    Only finished runs count; the ``n`` column is the number of runs (seeds).
    """
    ok = ok_runs(results)
    keys = ["method", "modality"] + (["n_train_requested"] if by_size else [])
    metrics = [c for c in ("macro", "weighted", "homogeneity") if c in ok]
    out = ok.groupby(keys, dropna=False)[metrics].agg(["mean", "std"])
    out.columns = flat_columns(out.columns)
    out["n"] = ok.groupby(keys, dropna=False).size()
    return out.reset_index().rename(columns={"n_train_requested": "n_train"})
