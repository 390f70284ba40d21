"""The tidy tables' vocabulary (xmodal.analysis.tidy): sensors and methods in display order, finished rows."""

from __future__ import annotations

import pandas as pd
from hand_tables import two_seeds

from xmodal.analysis import tidy


def test_sensors_are_ordered_as_the_data_layer_lists_them_and_paired_once() -> None:
    assert tidy.sensor_order(["rgb", "s2", "s1", "s2", "zz", "aa"]) == ["s1", "s2", "rgb", "aa", "zz"]
    assert tidy.sensor_pairs(["rgb", "s1", "s2"]) == [("s1", "s2"), ("s1", "rgb"), ("s2", "rgb")]
    assert tidy.sensor_pairs(["s2"]) == []
    df = pd.DataFrame({"method": ["C+T+M", "zeta", "baseline", "C"], "modality": ["rgb", "s1", None, "s1"]})
    assert tidy.methods_in(df) == ["baseline", "C", "C+T+M", "zeta"]
    assert tidy.sensors_in(df) == ["s1", "rgb"]


def test_ok_runs_and_the_summary_table_count_finished_runs_only() -> None:
    df = pd.concat([two_seeds(), two_seeds().iloc[:1].assign(status="failed", weighted=0.0)], ignore_index=True)
    assert len(tidy.ok_runs(df)) == len(two_seeds())
    summary = tidy.summary_table(df).set_index(["method", "modality", "n_train"])
    assert summary.loc[("baseline", "s1", pd.NA), "n"] == 2  # the failed run is not counted
    assert summary.loc[("baseline", "s1", pd.NA), "weighted_mean"] == 0.61
