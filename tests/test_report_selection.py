"""One selection of the Figure 2 runs and one method label (xmodal.report.selection), from the runs' config fields."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from hand_tables import pairs, rows, two_seeds, write_run

from xmodal.report import selection


def test_the_label_of_a_method_key_and_of_a_model() -> None:
    assert selection.method_label("baseline", "s2") == "Baseline S2"
    assert selection.method_label("C+T+M") == "C+T+M"
    assert selection.method_label("C (disjoint)") == "C (disjoint)"  # a key is shown as it is
    # a model on other sensors than the paper's pair says so; the Baseline (one model per sensor) never
    assert selection.method_label("C+T+M", modalities=["s2", "s1"]) == "C+T+M"
    assert selection.method_label("C+T+M", modalities=["s1", "s2", "rgb"]) == "C+T+M (s1+s2+rgb)"
    assert selection.method_label("baseline", modalities=["s2"]) == "Baseline"


def test_final_runs_take_the_whole_split_or_else_the_largest_set() -> None:
    small_only = rows([("C+M", "s1", "s1+s2", 10, 0, 0.3, 0.4), ("C+M", "s1", "s1+s2", 20, 0, 0.4, 0.5)])
    df = pd.concat([two_seeds(), small_only, two_seeds().iloc[:1].assign(status="failed")], ignore_index=True)
    final = selection.final_runs(df)
    assert final["n_train_requested"].isna().sum() == 8 and (final["status"] == "ok").all()
    assert final[final["method"] == "C+M"]["n_train"].tolist() == [20]


def _study_with_every_kind_of_run() -> pd.DataFrame:
    """Figure 2 runs, an alignment ablation, disjoint runs (at 500 and on the whole split), sizes, three sensors."""
    full = [(m, s, t, None, k, 0.5, 0.6 + 0.01 * k) for k in range(2)
            for m, s, t in (("baseline", "s1", "s1"), ("baseline", "s2", "s2"), ("C", "s1", "s1+s2"),
                            ("C", "s2", "s1+s2"), ("C+T+M", "s1", "s1+s2"), ("C+T+M", "s2", "s1+s2"))]
    sizes = [(m, s, "s1+s2", n, 0, 0.4, 0.5) for m in ("C", "C+T+M") for s in ("s1", "s2") for n in (50, 500)]
    disjoint = [(m, s, "s1+s2", n, 0, 0.4, 0.5) for m in ("C", "C+T+M") for s in ("s1", "s2") for n in (500, None)]
    three = [("C+T+M", s, "s1+s2+rgb", None, 0, 0.5, 0.6) for s in ("s1", "s2", "rgb")]
    return pd.concat([rows(full), rows(sizes), rows(disjoint, pairing="disjoint"),
                      rows([("C+T+M", "s1", "s1+s2", None, 0, 0.5, 0.6)], alignment="confusion"),
                      rows(three).assign(run_dir=lambda d: d["run_dir"] + "-three")], ignore_index=True)


def test_runs_on_disjoint_scenes_are_never_figure_2_runs() -> None:
    df = _study_with_every_kind_of_run()
    final = selection.final_runs(df)
    assert not selection.on_disjoint_scenes(final).any()
    assert set(final["method"]) == {"baseline", "C", "C+T+M", "C+T+M (confusion)"}  # the ablation: its own key
    assert final["n_train_requested"].isna().all()
    # a method run only on disjoint scenes has no Figure 2 runs at all (not its largest set)
    only = rows([("C+T", s, "s1+s2", 500, 0, 0.4, 0.5) for s in ("s1", "s2")], pairing="disjoint")
    assert len(selection.final_runs(pd.concat([df, only], ignore_index=True))) == len(final)
    p = pairs([("C", "s1", "s2", None, 0, 0.7), ("C", "s1", "s2", 500, 0, 0.6)])
    pd_ = pd.concat([p, pairs([("C (disjoint)", "s1", "s2", None, 0, 0.5)], pairing="disjoint")])
    assert selection.final_pairs(pd_)["homogeneity"].tolist() == [0.7]


def test_the_aligned_counterpart_of_a_disjoint_run_comes_from_its_config_fields() -> None:
    row = {"config_method": "C+T+M", "alignment": "confusion", "pairing": "disjoint"}
    assert selection.aligned_method(row) == "C+T+M (confusion)"
    assert selection.aligned_method({"config_method": "C", "alignment": None, "pairing": "disjoint"}) == "C"


def test_figure2_runs_are_the_run_folders_of_the_tables_selection(tmp_path: Path) -> None:
    """The drift of issue 18: the cloud evaluation and the tables selected the Figure 2 runs differently.

    On a study with an alignment ablation, runs on disjoint scenes (also on the whole split),
    a size sweep and a three-sensor model, the run folders the clouds score are exactly those
    of the tables' rows.
    """
    from xmodal.results import load_results

    study = tmp_path / "runs" / "mixed"
    for k in range(2):
        write_run(study, f"baseline-s1-seed{k}", "baseline", ["s1"], seed=k, config_hash=f"b1{k}".ljust(12, "0"))
        write_run(study, f"baseline-s2-seed{k}", "baseline", ["s2"], seed=k, config_hash=f"b2{k}".ljust(12, "0"))
        write_run(study, f"C-seed{k}", "C", ["s1", "s2"], seed=k, config_hash=f"c0{k}".ljust(12, "0"))
        write_run(study, f"CTM-seed{k}", "C+T+M", ["s1", "s2"], seed=k, config_hash=f"d0{k}".ljust(12, "0"))
    write_run(study, "CTM-confusion", "C+T+M", ["s1", "s2"], config_hash="e" * 12, alignment="confusion")
    write_run(study, "C-disjoint-all", "C", ["s1", "s2"], config_hash="f" * 12, pairing="disjoint")
    write_run(study, "C-disjoint-500", "C", ["s1", "s2"], config_hash="f1".ljust(12, "0"), pairing="disjoint",
              n_train=500)
    write_run(study, "C-500", "C", ["s1", "s2"], config_hash="a1".ljust(12, "0"), n_train=500)
    write_run(study, "CTM-three", "C+T+M", ["s1", "s2", "rgb"], config_hash="a2".ljust(12, "0"))
    results = load_results(study)
    assert {"config_method", "alignment", "pairing"} <= set(results.columns)
    wanted = ("baseline", "C", "C+T+M")
    tables = selection.final_runs(results)
    expected = sorted(set(tables.loc[tables["method"].isin(wanted), "run_dir"]), key=lambda r: Path(r).name)
    assert selection.figure2_runs(study, wanted) == selection.figure2_runs(results, wanted) == expected
    names = {Path(r).name.rsplit("-", 1)[0] for r in expected}
    assert names == {"baseline-s1-seed0", "baseline-s1-seed1", "baseline-s2-seed0", "baseline-s2-seed1",
                     "C-seed0", "C-seed1", "CTM-seed0", "CTM-seed1", "CTM-three"}
    assert len(selection.figure2_runs(study)) == len(expected) + 1  # every method: the ablation too


def test_the_cloud_evaluation_selects_the_figure2_runs(tmp_path: Path) -> None:
    """The clouds' own selection (``select_runs``) against :func:`figure2_runs` on one study."""
    from xmodal.clouds import DEFAULT_METHODS, select_runs

    study = tmp_path / "runs" / "mixed"
    for k in range(2):
        write_run(study, f"baseline-s1-seed{k}", "baseline", ["s1"], seed=k, config_hash=f"b1{k}".ljust(12, "0"))
        write_run(study, f"baseline-s2-seed{k}", "baseline", ["s2"], seed=k, config_hash=f"b2{k}".ljust(12, "0"))
        write_run(study, f"C-seed{k}", "C", ["s1", "s2"], seed=k, config_hash=f"c0{k}".ljust(12, "0"))
    write_run(study, "C-disjoint-all", "C", ["s1", "s2"], config_hash="f" * 12, pairing="disjoint")
    got = [str(run.path) for run, _ in select_runs(study)]
    assert got == selection.figure2_runs(study, DEFAULT_METHODS)


def test_showcase_runs_take_the_first_seeds_of_every_figure2_model() -> None:
    runs = selection.showcase_runs(two_seeds(), seeds=1)
    assert runs == sorted({"/runs/t/baseline-s1-nNone-seed0", "/runs/t/baseline-s2-nNone-seed0",
                           "/runs/t/C-s1+s2-nNone-seed0"})
    assert len(selection.showcase_runs(two_seeds(), seeds=5)) == 6  # three full-set models, two seeds each
