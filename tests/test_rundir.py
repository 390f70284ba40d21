"""The run folder (xmodal.rundir) and the atomic writer (xmodal.atomic)."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from xmodal import atomic
from xmodal.rundir import Latents, Predictions, Result, RunDir, RunError, RunFolderError, align_ids, find_runs


def _result(**over):
    base = {"config": {"method": "C", "modalities": ["s1", "s2"], "seed": 3, "n_train": None},
            "config_hash": "abc123", "data": {"n_train": {"s1": 10, "s2": 12}, "class_names": ["A", "B"],
                                              "kind": "synthetic"},
            "metrics": {"s1": {"macro": 0.5, "weighted": 0.6}, "s2": {"macro": 0.7, "weighted": 0.8}},
            "homogeneity": {"s1|s2": 0.55}}
    base.update(over)
    return Result.from_dict(base)


def test_result_round_trip_keeps_unknown_keys(tmp_path):
    run = RunDir(tmp_path / "r")
    res = Result.from_dict({**_result().to_dict(), "future_key": [1, 2]})
    run.write_result(res)
    back = run.result()
    assert back == res
    assert back.extra == {"future_key": [1, 2]}
    assert back.method == "C" and back.modalities == ["s1", "s2"] and back.seed == 3
    assert back.n_train("s2") == 12 and back.class_names == ["A", "B"] and back.data_kind == "synthetic"
    assert back.homogeneity_of("s1") == pytest.approx(0.55)
    assert np.isnan(Result.from_dict({**res.to_dict(), "homogeneity": {}}).homogeneity_of("s1"))


def test_result_nan_is_written_as_null(tmp_path):
    run = RunDir(tmp_path)
    run.write_result(_result(homogeneity={"s1|s2": float("nan")}))
    assert json.loads(run.result_path.read_text())["homogeneity"]["s1|s2"] is None
    assert np.isnan(run.result().homogeneity["s1|s2"])


def test_missing_and_broken_files_are_named(tmp_path):
    run = RunDir(tmp_path)
    with pytest.raises(RunFolderError, match="result.json does not exist"):
        run.result()
    run.result_path.write_text("{not json")
    assert run.read_result() is None
    with pytest.raises(RunFolderError, match="result.json is unreadable"):
        run.result()
    with pytest.raises(RunFolderError, match="predictions.npz does not exist"):
        run.predictions()
    run.latents_path.write_bytes(b"garbage")
    with pytest.raises(RunFolderError, match="latents.npz is unreadable"):
        run.latents()


def test_status(tmp_path):
    run = RunDir(tmp_path / "r")
    assert run.status() == "pending"
    run.prepare()
    run.checkpoint_path.write_bytes(b"x")
    assert run.status() == "partial"
    run.write_error(RunError("ValueError", "bad", ["line"], {"point": "p"}))
    assert run.status() == "failed"
    assert run.read_error().summary == "ValueError: bad"
    assert run.read_error().extra == {"point": "p"}
    run.write_result(_result())
    assert run.status() == "ok"
    run.write_result(_result(status="failed"))
    assert run.status() == "failed"
    run.clear_error()
    assert run.status() == "partial"


def test_predictions_and_latents_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    run = RunDir(tmp_path)
    pred = Predictions(["s1", "s2", "rgb"], ["A", "B"],
                       {m: np.array(["p1", "p2", "p3"]) for m in ("s1", "s2", "rgb")},
                       {m: rng.random((3, 2)) for m in ("s1", "s2", "rgb")},
                       {m: rng.random((3, 2)) for m in ("s1", "s2", "rgb")})
    run.write_predictions(pred)
    back = run.predictions()
    assert back.modalities == ["s1", "s2", "rgb"]
    for m in pred.modalities:
        np.testing.assert_array_equal(back.prob[m], pred.prob[m])
        np.testing.assert_array_equal(back.ids[m], pred.ids[m])
    lat = Latents(rng.random((4, 3)), rng.random((4, 2)), rng.random((4, 2)),
                  np.array(["s1", "s1", "s2", "s2"]), np.array(["a", "b", "a", "b"]))
    run.write_latents(lat)
    back_lat = run.latents()
    assert back_lat.modalities == ["s1", "s2"]
    np.testing.assert_array_equal(back_lat.of("s2").z, lat.z[2:])
    assert find_runs(tmp_path) == []  # no result, no error: not a run yet
    run.write_result(_result())
    assert find_runs(tmp_path) == [run]


def test_align_ids():
    ia, ib = align_ids(["a", "b", "c"], ["c", "x", "a"])
    np.testing.assert_array_equal(ia, [0, 2])
    np.testing.assert_array_equal(ib, [2, 0])


def test_atomic_write_removes_temp_on_failure(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")

    def broken(tmp):
        tmp.write_bytes(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic.write_with(target, broken)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]


def test_full_disk_is_one_clear_error(tmp_path):
    target = tmp_path / "checkpoint.pt"

    def full(tmp):
        tmp.write_bytes(b"x" * 10)
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(atomic.DiskFullError, match=f"No space left on the device of {tmp_path}.*2.0 MB"):
        atomic.write_with(target, full, nbytes=2_000_000)
    assert list(tmp_path.iterdir()) == []


def test_stale_temps_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    pid = int(dead.stdout)
    stale = tmp_path / f".checkpoint.pt.{pid}.0123abcd.tmp"
    legacy = tmp_path / f".checkpoint.pt.tmp{pid}"
    mine = tmp_path / f".result.json.{os.getpid()}.0123abcd.tmp"
    keep = tmp_path / "result.json"
    for p in (stale, legacy, mine, keep):
        p.write_bytes(b"x")
    removed = atomic.remove_stale_temps(tmp_path)
    assert sorted(p.name for p in removed) == sorted([stale.name, legacy.name])
    assert mine.exists() and keep.exists()


def test_a_killed_writer_still_exiting_is_waited_for(tmp_path):
    # a writer just sent SIGKILL may still be exiting when its killer cleans up: with ``wait``, its temporary goes
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    stale = tmp_path / f".checkpoint.pt.{child.pid}.0123abcd.tmp"
    mine = tmp_path / f".result.json.{os.getpid()}.0123abcd.tmp"
    stale.write_bytes(b"x")
    mine.write_bytes(b"x")
    try:
        assert atomic.remove_stale_temps(tmp_path) == [] and stale.exists()  # alive: kept
        threading.Timer(0.3, child.kill).start()
        t0 = time.monotonic()
        assert atomic.remove_stale_temps(tmp_path, wait=30) == [stale]
        assert time.monotonic() - t0 < 25, "it returns once the writer is gone, not at the deadline"
        assert mine.exists(), "this process's own temporaries are neither waited for nor removed"
    finally:
        child.kill()
        child.wait()


def test_zombie_writer_counts_as_dead(tmp_path, monkeypatch):
    # a live pid (our parent) whose /proc stat says Z: the writer exited and was never reaped (PID 1 not reaping)
    pid = os.getppid()
    stat = {pid: f"{pid} (py thon) x) Z 1 2 3\n"}  # the command name may hold spaces and ')'
    monkeypatch.setattr(atomic, "_read_stat", lambda p: stat.get(p))
    stale = tmp_path / f".checkpoint.pt.{pid}.0123abcd.tmp"
    stale.write_bytes(b"x")
    assert not atomic._alive(pid)
    assert atomic.remove_stale_temps(tmp_path) == [stale]
    stat[pid] = f"{pid} (python) S 1 2 3\n"
    assert atomic._alive(pid)
    monkeypatch.setattr(atomic, "_read_stat", lambda p: None)  # no /proc: fall back on os.kill alone
    assert atomic._alive(pid)


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_real_zombie_counts_as_dead():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        for _ in range(500):  # the child exits at once; until waited for, it is a zombie
            if atomic._proc_state(child.pid) == "Z":
                break
            time.sleep(0.01)
        assert atomic._proc_state(child.pid) == "Z"
        assert not atomic._alive(child.pid)
    finally:
        child.wait()


def test_jsonable():
    obj = {"a": np.float32(1.5), "b": np.arange(3), "c": (1, float("inf")), 4: tmp_path_like()}
    assert atomic.jsonable(obj) == {"a": 1.5, "b": [0, 1, 2], "c": [1, None], "4": "x/y"}


def tmp_path_like():
    from pathlib import Path

    return Path("x/y")
