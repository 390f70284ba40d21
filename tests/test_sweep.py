"""Sweeps of real kernels and workers: failures recorded, finished runs kept, a killed sweep resumed, and the
numbers independent of ``--jobs`` and of the executor.

Split from test_study.py (specs, grid, the quick profile) so that the two test processes share the
slow sweeps (``--dist loadfile`` keeps a file on one process).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_study import _tiny_study

from xmodal.results import RESULT_COLUMNS, load_results
from xmodal.rundir import RunDir
from xmodal.sweep import StudyError, grid, load_study, point_status, run_sweep


@pytest.mark.slow
def test_sweep_records_failures_and_skips_finished_runs(
    tmp_path: Path, synthetic_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _tiny_study(tmp_path, "mixed", [
        {"method": "baseline", "modalities": [["s1"]]},
        {"method": "baseline", "modalities": [["s2"]], "set": {"precision": "fp16"}},  # fails in the kernel
    ])
    runs = tmp_path / "runs"
    assert run_sweep(path, data_root=synthetic_root, runs_dir=runs, jobs=2, progress=False) == 1
    ok_point, bad_point = grid(path, data_root=synthetic_root)
    ok_dir, bad_dir = runs / "mixed" / ok_point.dir_name, runs / "mixed" / bad_point.dir_name
    assert point_status(ok_dir) == "ok" and (ok_dir / "experiment.ipynb").exists()
    assert point_status(bad_dir) == "failed"
    err = json.loads((bad_dir / "error.json").read_text())
    assert "'fp16' needs CUDA" in err["message"] and err["traceback"] and err["point"] == bad_point.name
    assert (bad_dir / "experiment.ipynb").exists(), "the failed notebook is kept for inspection"
    assert not list((runs / "mixed").rglob(".partial-*")) and not list((runs / "mixed").rglob("*.tmp"))

    stamps = {p: p.stat().st_mtime_ns for p in ok_dir.iterdir()}
    capsys.readouterr()
    assert run_sweep(path, data_root=synthetic_root, runs_dir=runs) == 1
    assert {p: p.stat().st_mtime_ns for p in ok_dir.iterdir()} == stamps, "a finished run was redone"
    out = capsys.readouterr().out
    assert f"{bad_point.name}: ConfigError: Invalid value for 'precision'" in out
    assert f"(details: {bad_dir / 'error.json'})" in out

    df = load_results(runs / "mixed")
    assert list(df.columns) == list(RESULT_COLUMNS)
    assert sorted(df["status"]) == ["failed", "ok"]
    failed = df[df["status"] == "failed"].iloc[0]
    assert failed["modality"] == "s2" and "fp16" in failed["error"] and pd.isna(failed["macro"])


@pytest.mark.slow
def test_killed_sweep_resumes_without_redoing_finished_runs(tmp_path: Path, synthetic_root: Path) -> None:
    path = _tiny_study(tmp_path, "killed", [{"method": "baseline", "modalities": [["s1"], ["s2"]]}])
    runs = tmp_path / "runs"
    code = (f"from xmodal.sweep import run_sweep; "
            f"run_sweep({str(path)!r}, data_root={str(synthetic_root)!r}, runs_dir={str(runs)!r}, progress=False)")
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    points = grid(path, data_root=synthetic_root)
    first = runs / "killed" / points[0].dir_name
    deadline = time.monotonic() + 180
    try:
        while point_status(first) != "ok":
            assert proc.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline, "no result appeared"
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its kernel, at once
        proc.wait()
    stamp = (first / "result.json").stat().st_mtime_ns
    assert run_sweep(path, data_root=synthetic_root, runs_dir=runs, progress=False) == 0
    assert (first / "result.json").stat().st_mtime_ns == stamp
    assert all(point_status(runs / "killed" / p.dir_name) == "ok" for p in points)


def torch_cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


@pytest.fixture(scope="module")
def executors(tmp_path_factory: pytest.TempPathFactory, synthetic_root: Path) -> tuple[Path, Path, Path]:
    """A study of two points and two seeds swept at ``--jobs 2`` by each executor.

    Returns ``(spec file, notebook executor's runs folder, process executor's runs folder)``; the
    process executor renders the first seed's notebooks.
    """
    tmp = tmp_path_factory.mktemp("executors")
    path = _tiny_study(tmp, "proc", [{"method": "baseline", "modalities": [["s1"]]}, {"method": "C"}], seeds=(0, 1))
    nb_runs, proc_runs = tmp / "nb", tmp / "proc"
    assert run_sweep(path, data_root=synthetic_root, runs_dir=nb_runs, jobs=2, progress=False) == 0
    spec = {**load_study(path), "notebooks": "first-seed"}
    assert run_sweep(spec, data_root=synthetic_root, runs_dir=proc_runs, jobs=2, progress=False,
                     executor="process") == 0
    return path, nb_runs, proc_runs


@pytest.mark.slow
def test_jobs_do_not_change_the_numbers(executors: tuple[Path, Path, Path], tmp_path: Path,
                                        synthetic_root: Path) -> None:
    """Same hash, same numbers: threads are fixed by the spec, so --jobs only changes how many run at once.

    At --jobs 1 one worker process trains every point in turn; at --jobs 2 two workers share them, and
    the notebook executor gives every point a kernel of its own.
    """
    path, nb_runs, proc_runs = executors
    spec = {**load_study(path), "notebooks": "none"}
    assert run_sweep(spec, data_root=synthetic_root, runs_dir=tmp_path / "one", jobs=1, progress=False,
                     executor="process") == 0
    for p in grid(path, data_root=synthetic_root):
        one = RunDir(tmp_path / "one" / "proc" / p.dir_name).predictions()
        for two in (RunDir(proc_runs / "proc" / p.dir_name).predictions(),
                    RunDir(nb_runs / "proc" / p.dir_name).predictions()):
            for m in p.config.modalities:
                np.testing.assert_array_equal(one.prob[m], two.prob[m])


@pytest.mark.slow
def test_process_executor_gives_the_notebooks_numbers(executors: tuple[Path, Path, Path], synthetic_root: Path,
                                                      tmp_path: Path) -> None:
    path, nb_runs, proc_runs = executors
    for p in grid(path, data_root=synthetic_root):
        a, b = RunDir(nb_runs / "proc" / p.dir_name), RunDir(proc_runs / "proc" / p.dir_name)
        assert b.status() == "ok"
        for m in p.config.modalities:
            np.testing.assert_array_equal(a.predictions().prob[m], b.predictions().prob[m])
        # the executed notebook: every point with the notebook executor, the first seed with the process one
        assert a.has_notebook() and b.has_notebook() == (p.config.seed == 0), p.name
    times = json.loads((proc_runs / "proc" / "sweep-times.json").read_text())
    assert len(times["train"]) == 4 and {t["executor"] for t in times["train"].values()} == {"process"}
    assert len(times["notebooks"]) == 2 and all(t["seconds"] > 0 for t in times["notebooks"].values())
    # a failing point in a worker: an error record, the others finish, exit code 1
    bad = _tiny_study(tmp_path, "bad", [{"method": "C"}], device="cuda")  # this machine has no GPU
    if torch_cuda_available():
        pytest.skip("a GPU is present: device cuda does not fail here")
    assert run_sweep(bad, data_root=synthetic_root, runs_dir=proc_runs, progress=False, executor="process") == 1
    (err,) = (proc_runs / "bad").rglob("error.json")
    assert "cuda" in err.read_text().lower()
    with pytest.raises(StudyError, match="--executor"):
        run_sweep(path, data_root=synthetic_root, runs_dir=proc_runs, executor="threads")


