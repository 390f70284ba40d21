"""The results loader's tables (xmodal.results.load_results) on run folders written by hand: nothing trains."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hand_tables import write_run

from xmodal.rundir import RunDir, RunError


def test_load_results_reads_runs_through_rundir_and_counts_a_copied_run_once(tmp_path: Path) -> None:
    from xmodal.results import load_per_class, load_results
    from xmodal.rundir import study_meta_path

    study = tmp_path / "runs" / "mine"
    study_meta_path(study).parent.mkdir(parents=True)
    study_meta_path(study).write_text('{"name": "mine"}')
    write_run(study, "C-s1+s2-nall-seed0", "C", ["s1", "s2"], homogeneity={"s1|s2": 0.8})
    copy = tmp_path / "runs" / "mine-copy"
    write_run(copy, "C-s1+s2-nall-seed0", "C", ["s1", "s2"], homogeneity={"s1|s2": 0.8})  # same hash
    failed = RunDir(study / "baseline-s1-nall-seed0-0123456789ab")
    failed.write_error(RunError("ValueError", "bad patch", ["line"], {
        "config": {"method": "baseline", "modalities": ["s1"], "seed": 0}, "config_hash": "0123456789ab"}))
    df = load_results(tmp_path / "runs")
    ok = df[df["status"] == "ok"]
    assert len(ok) == 2 and set(ok["run_dir"]) == {str(study / "C-s1+s2-nall-seed0-abcdef012345")}
    assert set(ok["study"]) == {"mine"} and set(ok["point"]) == {"C-s1+s2-nall-seed0"}
    assert ok["homogeneity"].tolist() == [0.8, 0.8] and ok["micro"].tolist() == [0.7, 0.7]
    # the method key beside the config fields it is made of
    assert set(ok["config_method"]) == {"C"} and set(ok["pairing"]) == {"aligned"} and ok["alignment"].isna().all()
    bad = df[df["status"] == "failed"].iloc[0]
    assert (bad["method"], bad["config_method"], bad["pairing"]) == ("baseline", "baseline", "aligned")
    assert bad["error"] == "ValueError: bad patch" and bad["point"] == "baseline-s1-nall-seed0"
    assert len(load_per_class(tmp_path / "runs")) == 2 * 2  # the copy is not counted twice
    from xmodal.results import ResultsError

    with pytest.raises(ResultsError, match="No results: .*nowhere does not exist"):
        load_results(tmp_path / "nowhere")


def test_micro_f1_falls_back_on_the_predictions_at_the_threshold(tmp_path: Path) -> None:
    from xmodal.metrics import f1_scores
    from xmodal.results import load_results

    probs = {"s1": [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]}
    write_run(tmp_path, "baseline-s1", "baseline", ["s1"], probs=probs, micro=False)
    p = np.asarray(probs["s1"])
    assert load_results(tmp_path)["micro"].iloc[0] == pytest.approx(f1_scores(p, p)["micro"])


def test_the_method_key_tags_a_non_default_alignment_or_pairing(tmp_path: Path) -> None:
    from xmodal.results import load_results

    write_run(tmp_path, "ctm-confusion-disjoint", "C+T+M", ["s1", "s2"], config_hash="a" * 12,
              alignment="confusion", pairing="disjoint")
    write_run(tmp_path, "c-confusion", "C", ["s1", "s2"], config_hash="b" * 12, alignment="confusion")
    df = load_results(tmp_path).drop_duplicates("run_dir").set_index("config_method")
    assert df.loc["C+T+M", "method"] == "C+T+M (confusion, disjoint)"
    assert (df.loc["C+T+M", "alignment"], df.loc["C+T+M", "pairing"]) == ("confusion", "disjoint")
    assert df.loc["C", "method"] == "C" and pd.isna(df.loc["C", "alignment"])  # C has no M to align
