"""Fault injection: one Ctrl-C (SIGINT) stops a sweep at once and leaves it resumable, with either executor.

Split from test_faults.py (whose helpers it uses) so that the two test processes share the slow
fault tests (``--dist loadfile`` keeps a file on one process).
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
from test_faults import (
    LONG,
    THREE_POINTS,
    _fake_finished,
    _kernels_of,
    _leftovers,
    _study,
    _sweep_argv,
    _wait_for,
    _workers_of,
)

from xmodal.rundir import RunDir
from xmodal.sweep import grid, run_sweep


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["notebook", "process"])
def test_one_sigint_stops_the_sweep_and_leaves_it_resumable(tmp_path: Path, synthetic_root: Path,
                                                            executor: str) -> None:
    study = _study(tmp_path, "sigint", THREE_POINTS, **LONG)
    runs = tmp_path / "runs"
    study_dir = runs / "sigint"
    done, running, queued = grid(study, data_root=synthetic_root)
    finished = _fake_finished(study_dir, done)  # finished earlier: must survive
    stamp = finished.stat().st_mtime_ns
    err = tmp_path / "stderr.txt"
    with open(err, "w") as fh:
        proc = subprocess.Popen(_sweep_argv(study, synthetic_root, runs, "--jobs", "1", "--executor", executor),
                                stderr=fh, stdout=subprocess.DEVNULL)
    ckpt = RunDir(study_dir / running.dir_name).checkpoint_path
    processes = _kernels_of if executor == "notebook" else _workers_of
    try:
        _wait_for("the first checkpoint", ckpt.exists, proc)
        kernels = processes(proc.pid)
        assert kernels, f"the running point has a {'kernel' if executor == 'notebook' else 'worker'}"
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)  # one Ctrl-C
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 130
    assert time.monotonic() - t0 < 30, "the sweep must stop at once, not finish its points"
    last = err.read_text().strip().splitlines()[-1]
    assert last == ("xmodal sweep: Interrupted (SIGINT): 1 of 3 points finished, 1 stopped (resumable), "
                    "1 not started; run the same command to continue")
    _wait_for("the kernel to be gone", lambda: not processes(proc.pid), timeout=10)
    assert not any(Path(f"/proc/{k}").exists() for k in kernels)
    # resumable: checkpoint kept, no error claimed, nothing partial, nothing temporary, the finished run intact
    assert ckpt.exists() and RunDir(ckpt.parent).status() == "partial"
    assert not list(study_dir.rglob("error.json")) and not _leftovers(study_dir)
    assert RunDir(study_dir / queued.dir_name).status() == "pending"
    assert finished.stat().st_mtime_ns == stamp

    assert run_sweep(study, data_root=synthetic_root, runs_dir=runs, jobs=2, progress=False) == 0
    assert all(RunDir(study_dir / p.dir_name).status() == "ok" for p in (done, running, queued))
    assert finished.stat().st_mtime_ns == stamp, "a finished run was redone"
    assert not _leftovers(study_dir)
