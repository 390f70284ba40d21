"""Studies: specs, the grid, resumable papermill sweeps, and the results table."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from book_study import SharedStudies, shared_studies

from xmodal.config import ConfigError, ExperimentConfig
from xmodal.data import MARKER_NAME, RootError
from xmodal.results import RESULT_COLUMNS, baseline_homogeneity, export_csv, load_per_class, load_results, summarize
from xmodal.rundir import RunDir
from xmodal.sweep import (
    BUDGET_STUDY,
    DEFAULT_STUDY,
    LATENT_STUDY,
    SENSORS_STUDY,
    STUDIES_DIR,
    StudyError,
    check_parameters,
    grid,
    load_study,
    profiles,
    resolve_study,
    run_sweep,
    sweep_threads,
)

#: A tiny model for the sweep tests (runs in seconds on the tiny synthetic root).
TINY_BASE = dict(
    backbone_width=16, epochs=1, batch_size=8, latent_dim=32, merge_hidden=[32, 32], classifier_hidden=16,
    modality_hidden=8, test_fraction=0.25, n_latent=10, device="cpu", threads=1,
)


def _tiny_study(tmp_path: Path, name: str, runs: list[dict], seeds: tuple[int, ...] = (0,), **base: object) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"name": name, "base": {**TINY_BASE, **base}, "seeds": list(seeds),
                                    "runs": runs}))
    return path


# ---------------------------------------------------------------------------
# specs and grid
# ---------------------------------------------------------------------------
def test_profiles_are_the_files_of_the_studies_folder() -> None:
    files = sorted(p.stem for p in STUDIES_DIR.glob("*.yaml"))
    assert list(profiles()) == files and len(files) == 9
    for name in files:
        assert load_study(name)["name"] == name, f"{name}.yaml must run into runs/{name}"
    # the studies other code names are profiles (one place names them)
    assert {DEFAULT_STUDY, BUDGET_STUDY, LATENT_STUDY, SENSORS_STUDY} <= set(files)


def test_a_study_resolves_the_same_by_name_and_by_path(tmp_path: Path) -> None:
    by_name, by_path = resolve_study("quick"), resolve_study(STUDIES_DIR / "quick.yaml")
    assert by_name[1] == by_path[1] == "quick" and by_name[0] == by_path[0]
    other = tmp_path / "file-stem.yaml"
    other.write_text(yaml.safe_dump({"name": "inside", "runs": [{"method": "C"}]}))
    assert resolve_study(str(other))[1] == "inside", "the runs folder is the spec's name, not the file's stem"
    assert resolve_study("some-runs", need_spec=False) == (None, "some-runs")
    with pytest.raises(StudyError, match="Unknown study 'some-runs'"):
        resolve_study("some-runs")
    with pytest.raises(StudyError, match=r"Study file .*missing.yaml does not exist"):
        resolve_study(str(tmp_path / "missing.yaml"), need_spec=False)


def test_shipped_studies_cover_the_paper() -> None:
    for name in ("quick", "default", "paper"):
        spec = load_study(name)
        points = grid(spec, data_root="/data/SEN12MS")
        combos = {(p.config.method, tuple(p.config.modalities)) for p in points}
        assert combos >= {("baseline", ("s1",)), ("baseline", ("s2",)), ("C", ("s1", "s2")),
                          ("C+M", ("s1", "s2")), ("C+T", ("s1", "s2")), ("C+T+M", ("s1", "s2"))}
        assert len({p.dir_name for p in points}) == len(points)
        assert all(p.config.data_root == "/data/SEN12MS" for p in points)
        assert all(p.config.data_fingerprint is None for p in points)  # no such root here
        if name != "paper":
            assert {p.config.threads for p in points} == {1}, "a profile fixes the threads (in the hash)"
        sizes = {}
        for p in points:
            sizes.setdefault((p.config.method, tuple(p.config.modalities)), set()).add(p.config.n_train)
        if name != "quick":
            # Figure 3: the paper's setting has a full curve; the default study fits three sizes in its
            # 30-minute budget (50, 150 and all patches: the rise and where it levels off)
            need = 4 if name == "paper" else 3
            for combo in [("baseline", ("s1",)), ("baseline", ("s2",)), ("C", ("s1", "s2")), ("C+T+M", ("s1", "s2"))]:
                assert len(sizes[combo]) >= need, f"{name}: Figure 3 needs >= {need} training-set sizes for {combo}"
            assert len({p.config.seed for p in points}) >= 3
    paper = grid("paper", data_root="/data/SEN12MS")
    assert {p.config.backbone for p in paper} == {"resnet50"}
    assert {p.config.split for p in paper} == {"random"}
    assert load_study("paper")["data"].get("sen12ms") is True
    assert "synthetic" in load_study("default")["data"] and "synthetic" in load_study("quick")["data"]


def test_real_data_study_needs_a_root() -> None:
    with pytest.raises(StudyError, match="runs on real SEN12MS data: give its root"):
        grid("paper")


def test_bad_study_files_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"name": "bad", "runs": [{"method": "C"}], "epochs": 3}))
    with pytest.raises(StudyError, match=r"bad.yaml: unknown key\(s\) \['epochs'\]"):
        load_study(bad)
    bad.write_text(yaml.safe_dump({"name": "bad", "base": {"backbone": "vgg"}, "runs": [{"method": "C"}]}))
    with pytest.raises(ConfigError, match=r"bad.yaml, 'base': Invalid value for 'backbone'"):
        load_study(bad)
    bad.write_text(yaml.safe_dump({"name": "bad", "runs": [{"method": "baseline", "modalities": [["s1", "s2"]]}]}))
    with pytest.raises(ConfigError, match=r"point baseline-s1\+s2-nall-seed0: .*exactly one modality"):
        grid(bad, data_root=tmp_path)
    with pytest.raises(StudyError, match="Unknown study 'nope'"):
        load_study("nope")


def test_grid_names_and_hashes(tmp_path: Path) -> None:
    path = _tiny_study(tmp_path, "g", [
        {"method": "baseline", "modalities": [["s1"], ["s2"]], "n_train": [10, None]},
        {"method": "C+T+M", "set": {"alpha": 0.5}},
    ], seeds=(0, 1))
    points = grid(path, data_root=tmp_path)
    assert [p.name for p in points] == [
        "baseline-s1-n10-seed0", "baseline-s1-n10-seed1", "baseline-s1-nall-seed0", "baseline-s1-nall-seed1",
        "baseline-s2-n10-seed0", "baseline-s2-n10-seed1", "baseline-s2-nall-seed0", "baseline-s2-nall-seed1",
        "C+T+M-s1+s2-nall-seed0", "C+T+M-s1+s2-nall-seed1",
    ]
    assert points[-1].config.alpha == 0.5 and points[-1].config.epochs == 1
    assert points[0].dir_name == f"baseline-s1-n10-seed0-{points[0].config.hash()}"
    assert all(Path(p.config.data_root).is_absolute() for p in points)
    assert {p.config.data_fingerprint for p in points} == {None}  # tmp_path holds no data


@pytest.mark.slow
def test_grid_identity_is_data_and_threads_not_paths(tmp_path: Path, synthetic_root: Path) -> None:
    path = _tiny_study(tmp_path, "ident", [{"method": "C"}], threads=None)
    copy = tmp_path / "elsewhere"
    shutil.copytree(synthetic_root, copy, ignore=shutil.ignore_patterns(".xmodal_cache"))
    (here,), (there,) = grid(path, data_root=synthetic_root), grid(path, data_root=copy)
    assert here.config.data_root != there.config.data_root
    assert here.config.data_fingerprint == there.config.data_fingerprint is not None
    assert here.dir_name == there.dir_name, "the same data elsewhere is the same run"
    # a spec without threads: the sweep's cores // jobs fills it in, and it is in the hash
    (one,), (two,) = grid(path, data_root=synthetic_root, jobs=1), grid(path, data_root=synthetic_root, jobs=2)
    assert one.config.threads == sweep_threads(1) and two.config.threads == sweep_threads(2)
    if sweep_threads(1) != sweep_threads(2):
        assert one.dir_name != two.dir_name


def test_space_needed_counts_the_backbone_width() -> None:
    from xmodal.sweep import space_needed

    narrow, wide = ExperimentConfig(backbone_width=16), ExperimentConfig(backbone_width=64)
    assert space_needed(narrow) < space_needed(wide), "a cached estimate of another width is not reused"
    assert space_needed(ExperimentConfig(backbone_width=16)) == space_needed(narrow)


@pytest.mark.slow
def test_print_commands(tmp_path: Path, synthetic_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _tiny_study(tmp_path, "cmds", [{"method": "baseline", "modalities": [["s1"], ["s2"]]}])
    code = run_sweep(path, data_root=synthetic_root, runs_dir=tmp_path / "runs", print_commands=True)
    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    for line, point in zip(lines, grid(path, data_root=synthetic_root), strict=True):
        run = RunDir(tmp_path / "runs" / "cmds" / point.dir_name)
        argv = shlex.split(line)
        # works without an activated venv: the absolute path of this Python runs the point
        assert argv[:4] == [sys.executable, "-m", "xmodal.cli", "run-point"] and Path(argv[0]).is_absolute()
        assert argv[4] == str(run.path)
        params = yaml.safe_load(run.parameters_path.read_text())
        assert params["out_dir"] == str(run.path)
        cfg = ExperimentConfig.from_dict({k: v for k, v in params.items() if k != "out_dir"})
        assert cfg.hash() == point.config.hash() and cfg.data_fingerprint is not None
        assert run.status() == "pending"


@pytest.mark.slow
def test_wrong_data_fails_before_any_kernel(tmp_path: Path, synthetic_copy: Path) -> None:
    path = _tiny_study(tmp_path, "wrong", [{"method": "baseline", "modalities": [["s1"], ["s2"]]}])
    runs = tmp_path / "runs"
    t0 = time.monotonic()
    with pytest.raises(RootError, match=rf"Invalid --data '{tmp_path / 'nope'}': the folder does not exist; pass .* "
                                        "with --data"):
        run_sweep(path, data_root=tmp_path / "nope", runs_dir=runs, progress=False)
    with pytest.raises(RootError, match="holds no ROIs2017_winter folder"):
        run_sweep(path, data_root=tmp_path, runs_dir=runs, progress=False)
    # a patch without its S2 file: the synthetic marker's count, then (as real data) the pairing
    next(synthetic_copy.rglob("*_s2_1_p1.tif")).unlink()
    with pytest.raises(RootError, match="holds 107 patch files but the synthetic data marker records 108"):
        run_sweep(path, data_root=synthetic_copy, runs_dir=runs, progress=False)
    (synthetic_copy / MARKER_NAME).unlink()
    with pytest.raises(RootError, match=r"1 patch\(es\) of season winter lack a partner file "
                                        r"\(S1 36, S2 35, LC 36 files; e.g. ROIs2017_winter_1_p1\)"):
        run_sweep(path, data_root=synthetic_copy, runs_dir=runs, progress=False)
    assert time.monotonic() - t0 < 30, "the checks must not start kernels"
    assert not runs.exists(), "no run folder, no error record for a wrong --data"


def test_study_without_its_data_says_how_to_make_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RootError, match=r"data root of study 'quick' '.*data/quick': the folder does not exist; make "
                                        r"it with `xmodal data synth --study quick --out data/quick`, or pass the "
                                        r"data's folder with --data"):
        run_sweep("quick", runs_dir=tmp_path / "runs", progress=False)


@pytest.mark.slow
def test_check_parameters_validates_the_data_root(tmp_path: Path, synthetic_root: Path) -> None:
    namespace = {**ExperimentConfig().to_dict(), "out_dir": "x", "data_root": str(tmp_path / "nope")}
    with pytest.raises(RootError, match=r"Invalid data_root '.*nope': the folder does not exist; give a SEN12MS"):
        check_parameters(namespace, before=[])
    namespace["data_root"] = str(tmp_path)
    with pytest.raises(RootError, match="Invalid data_root .* holds no ROIs2017_winter folder"):
        check_parameters(namespace, before=[])
    namespace.update(data_root=str(synthetic_root), data_fingerprint="synthetic:0000000000000000")
    with pytest.raises(ConfigError, match=r"set up for data synthetic:0000000000000000 but .* holds synthetic:"):
        check_parameters(namespace, before=[])
    namespace["data_fingerprint"] = None
    assert check_parameters(namespace, before=[]).data_root == str(synthetic_root)


# ---------------------------------------------------------------------------
# the quick profile end to end, and the results table
# ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def quick_study(tmp_path_factory: pytest.TempPathFactory) -> SharedStudies:
    """The whole ``quick`` study (data from its ``data: synthetic`` section), run once for every test file.

    Its folder ``<runs>/quick`` is ``.quick``, its data root ``.data`` (tests/book_study.py).
    """
    return shared_studies(tmp_path_factory)


@pytest.mark.slow
def test_quick_study_results_table(quick_study: SharedStudies, tmp_path: Path) -> None:
    quick_runs, data = quick_study.quick, quick_study.data
    points = grid("quick", data_root=data)
    df = load_results(quick_runs)
    n_rows = sum(len(p.config.modalities) for p in points)
    assert df.shape == (n_rows, len(RESULT_COLUMNS))
    assert (df["status"] == "ok").all() and (df["study"] == "quick").all()
    assert set(df["method"]) == {"baseline", "C", "C+M", "C+T", "C+T+M"}
    assert df[["macro", "weighted", "micro"]].stack().between(0, 1).all()
    assert (df["data_kind"] == "synthetic").all()
    joint = df[df["method"] != "baseline"]
    assert joint["homogeneity"].between(0, 1).all()
    assert df.loc[df["method"] == "baseline", "homogeneity"].isna().all()
    full = df[df["n_train_requested"].isna()]
    assert (full["n_train"] > df["n_train"].min()).all()

    summary = summarize(df)
    assert {"method", "modality", "n_train", "macro_mean", "weighted_std", "n"} <= set(summary.columns)
    assert summary["n"].sum() == len(df)

    hom = baseline_homogeneity(df)
    assert len(hom) == 2  # two training-set sizes x one seed
    assert hom["homogeneity"].between(0, 1).all() and (hom["n_pairs"] > 0).all()

    per_class = load_per_class(quick_runs)
    assert set(per_class["modality"]) == {"s1", "s2"} and per_class["f1"].between(0, 1).all()

    csv = export_csv(df, tmp_path / "out" / "results.csv")
    back = pd.read_csv(csv)
    assert len(back) == len(df) and list(back.columns) == list(RESULT_COLUMNS)

    # a finished study is not re-run
    stamps = {p: p.stat().st_mtime_ns for p in quick_runs.rglob("result.json")}
    assert run_sweep("quick", data_root=data, runs_dir=quick_runs.parent, progress=False) == 0
    assert {p: p.stat().st_mtime_ns for p in quick_runs.rglob("result.json")} == stamps


# ---------------------------------------------------------------------------
# the alignment ablations and the latent-space loaders
# ---------------------------------------------------------------------------
def test_default_study_has_the_confusion_ablation_and_latent_profile_shares_its_data() -> None:
    default = grid("default", data_root="/data")
    confusion = [p for p in default if p.config.alignment == "confusion"]
    assert [p.name for p in confusion] == [f"confusion-C+T+M-s1+s2-nall-seed{s}" for s in (0, 1, 2)]
    assert {p.config.alignment for p in default if p not in confusion} == {"reversal"}
    latent, spec = load_study("latent"), load_study("default")
    assert latent["data"] == spec["data"] and latent["base"] == spec["base"]
    assert set(latent["seeds"]) <= set(spec["seeds"])
    points = grid("latent", data_root="/data")
    assert {p.config.method for p in points} == {"C+T+M"} and {p.config.n_train for p in points} == {None}
    settings = {(p.config.alignment, p.config.alpha, p.config.grl_weight, p.config.epochs) for p in points}
    for alignment in ("reversal", "confusion"):
        assert {s[1:] for s in settings if s[0] == alignment} == {
            (1.0, 1.0, 10), (1.0, 0.1, 10), (1.0, 5.0, 10), (0.1, 1.0, 10), (5.0, 1.0, 10), (1.0, 1.0, 30)}


def test_default_study_is_designed_for_paired_power_and_the_premise() -> None:
    spec = load_study("default")
    assert spec["executor"] == "process" and spec["notebooks"] == "first-seed"
    points = grid(spec, data_root="/data")
    assert {p.config.split_seed for p in points} == {0}, "one split for every run: the seeds vary training alone"
    assert {p.config.lr_schedule for p in points} == {"cosine"}
    full = [p for p in points if p.config.n_train is None and p.config.alignment == "reversal"]
    per_method: dict[tuple[str, tuple[str, ...]], set[int]] = {}
    for p in full:
        per_method.setdefault((p.config.method, tuple(p.config.modalities)), set()).add(p.config.seed)
    assert len(per_method) == 6 and all(len(s) >= 8 for s in per_method.values()), per_method
    disjoint = [p for p in points if p.config.pairing == "disjoint"]
    assert {p.config.method for p in disjoint} == {"C", "C+T+M"}
    for p in disjoint:  # each has an aligned twin: same method, size and seed
        twin = [q for q in points if q.config.pairing == "aligned" and q.config.method == p.config.method
                and q.config.n_train == p.config.n_train and q.config.seed == p.config.seed]
        assert len(twin) == 1, p.name


def test_notebook_points_take_the_first_seed_of_every_full_set_model() -> None:
    from xmodal.sweep import notebook_points

    points = grid("default", data_root="/data")
    chosen = [p.name for p in notebook_points(points, "first-seed")]
    assert chosen == [
        "baseline-s1-nall-seed0", "baseline-s2-nall-seed0", "C-s1+s2-nall-seed0", "C+M-s1+s2-nall-seed0",
        "C+T-s1+s2-nall-seed0", "C+T+M-s1+s2-nall-seed0", "confusion-C+T+M-s1+s2-nall-seed0"]
    assert notebook_points(points, "none") == [] and len(notebook_points(points, "all")) == len(points)
    with pytest.raises(StudyError, match="'notebooks'"):
        notebook_points(points, "some")


def test_method_of_names_the_ablations_apart() -> None:
    from xmodal.results import method_of

    assert method_of({"method": "C", "pairing": "disjoint"}) == "C (disjoint)"
    both = {"method": "C+T+M", "alignment": "confusion", "pairing": "disjoint"}
    assert method_of(both) == "C+T+M (confusion, disjoint)"
    assert method_of({"method": "C", "pairing": "aligned"}) == "C"

    assert method_of({"method": "C+T+M"}) == "C+T+M"  # runs older than the key: the paper's reversal
    assert method_of({"method": "C+T+M", "alignment": "reversal"}) == "C+T+M"
    assert method_of({"method": "C+M", "alignment": "confusion"}) == "C+M (confusion)"
    assert method_of({"method": "C+T", "alignment": "mmd"}) == "C+T"  # without M the alignment is ignored
    assert method_of({"method": "baseline", "alignment": "coral"}) == "baseline"


@pytest.mark.slow
def test_latent_loaders_on_a_tiny_trained_study(tmp_path: Path, synthetic_root: Path) -> None:
    from xmodal.results import LATENT_KEY_COLUMNS, load_histories, load_homogeneity, load_latent_measures
    from xmodal.training import run_experiment

    study = tmp_path / "runs" / "tiny"
    base = dict(TINY_BASE, data_root=str(synthetic_root), progress=False, threads=1)
    runs = {"C+M-rev": dict(method="C+M"), "C+T+M-conf": dict(method="C+T+M", alignment="confusion"),
            "baseline-s1": dict(method="baseline", modalities=["s1"])}
    for name, values in runs.items():
        run_experiment(ExperimentConfig.from_dict({**base, **values}), study / name)
    df = load_results(study)
    assert list(df.columns) == list(RESULT_COLUMNS)
    by_method = df.drop_duplicates("run_dir").set_index("method")["alignment"]
    assert by_method.dropna().to_dict() == {"C+M": "reversal", "C+T+M (confusion)": "confusion"}
    assert pd.isna(by_method["baseline"])  # no M, no alignment
    hom = load_homogeneity(df)
    assert set(hom["method"]) == {"C+M", "C+T+M (confusion)"}

    measures = load_latent_measures(df)
    assert list(measures.columns[:len(LATENT_KEY_COLUMNS)]) == list(LATENT_KEY_COLUMNS)
    assert sorted(measures["method"]) == ["C+M", "C+T+M (confusion)"]  # multi-sensor runs only
    assert measures["modality_probe"].between(0, 1).all() and (measures["modality_probe_chance"] == 0.5).all()
    assert measures["retrieval_s1_to_s2_map"].between(0, 1).all() and (measures["sensors"] == "s1+s2").all()
    assert (measures["steps"] > 0).all() and measures["n_train"].isna().all()

    history = load_histories(df)
    assert len(history) == 2 * TINY_BASE["epochs"] and set(history["n_sensors"]) == {2}
    assert history["probe_accuracy"].between(0, 1).all() and history["modality_accuracy"].between(0, 1).all()
    assert (history["grl_weight"] == 1.0).all() and history["w"].between(0, 1).all()  # the config's, the epoch's
    conf = history[history["method"] == "C+T+M (confusion)"]
    assert (conf["L_align"] >= 0.69).all() and history[history["method"] == "C+M"]["L_align"].isna().all()


def test_sweep_time_summary_counts_timed_runs_and_notebooks(tmp_path: Path) -> None:
    from xmodal.book import timing_text
    from xmodal.rundir import Result
    from xmodal.sweep import SWEEP_TIMES_FILE, sweep_time_summary

    study = tmp_path / "s"
    assert sweep_time_summary(study) is None
    for name, train in (("a", 8.0), ("b", 16.0)):
        RunDir(study / name).write_result(Result(config={"method": "C"}, config_hash=name,
                                                 timings={"train_seconds": train}))
    (study / SWEEP_TIMES_FILE).write_text(json.dumps({
        "train": {"a": {"seconds": 10.0, "executor": "process"}, "b": {"seconds": 20.0, "executor": "process"},
                  "gone": {"seconds": 99.0, "executor": "process"}},  # no result any more: not counted
        "notebooks": {"a": {"seconds": 6.0, "executor": "notebook"}}}))
    got = sweep_time_summary(study)
    assert got is not None
    assert got["runs"] == 2 and got["job_seconds"] == 30.0 and got["train_seconds"] == 24.0
    assert got["notebook_seconds"] == 6.0 and got["outside_seconds"] == 12.0
    assert got["outside_share"] == pytest.approx(12.0 / 36.0) and got["executors"] == ["process"]
    text = timing_text(got)
    assert "2 runs" in text and "**33%**" in text and "0.6 more" not in text
    assert "No timed sweep" in timing_text(None)


def test_a_sweep_that_runs_nothing_writes_no_times(tmp_path: Path) -> None:
    from xmodal.sweep import SWEEP_TIMES_FILE
    from xmodal.sweep.times import record_times

    record_times(tmp_path, [{"point": "a", "dir": "a", "status": "ok", "skipped": True, "seconds": 0.0}], "process")
    assert not (tmp_path / SWEEP_TIMES_FILE).exists()
    record_times(tmp_path, [{"point": "b", "dir": "b", "status": "ok", "seconds": 2.5}], "process")
    record_times(tmp_path, [{"point": "c", "dir": "c", "status": "failed", "seconds": 1.0}], "process")
    assert json.loads((tmp_path / SWEEP_TIMES_FILE).read_text()) == {"train": {"b": {"seconds": 2.5,
                                                                                     "executor": "process"}}}


def test_load_results_names_unreadable_run_folders(tmp_path: Path) -> None:
    from xmodal.results import UnreadableRunWarning
    from xmodal.rundir import Result

    study = tmp_path / "runs" / "s"
    good = RunDir(study / "a-000000000001")
    config = ExperimentConfig(method="C", seed=0)
    good.write_result(Result(config=config.to_dict(), config_hash=config.hash(),
                             metrics={m: {"macro": 0.5, "weighted": 0.5, "micro": 0.5} for m in ("s1", "s2")}))
    truncated, garbage, not_a_result = (RunDir(study / n) for n in ("b-000000000002", "c-000000000003", "d-0000004"))
    for run in (truncated, garbage, not_a_result):
        run.path.mkdir(parents=True)
    truncated.result_path.write_text(good.result_path.read_text()[:50])
    garbage.error_path.write_text("{oops")
    not_a_result.result_path.write_text("[1, 2]")
    with pytest.warns(UnreadableRunWarning) as caught:
        df = load_results(study)
    assert len(caught) == 3, "one warning per unreadable folder"
    bad = df[df["status"] == "unreadable"].set_index("point")["error"]
    assert len(bad) == 3 and (df["status"] == "ok").sum() == 2
    assert f"{truncated.result_path}: truncated JSON" in bad["b"]
    assert f"{garbage.error_path}: not valid JSON" in bad["c"]
    assert f"{not_a_result.result_path}: holds a JSON list, not an object" in bad["d-0000004"]
