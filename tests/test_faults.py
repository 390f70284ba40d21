"""Fault injection: what a sweep leaves behind when it is killed, interrupted, out of space or blocked.

Each test asserts the message a user sees and that nothing finished was lost. The
slow ones run real sweeps (papermill kernels) on the tiny synthetic root; the
others inject the fault (a monkeypatched writer, a held lock, a private tmpfs
when ``unshare`` works here).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import nbformat
import pytest
import yaml

from xmodal import atomic
from xmodal.atomic import DiskFullError
from xmodal.cli import main
from xmodal.results import load_results
from xmodal.rundir import Result, RunDir
from xmodal.sweep import StudyPoint, grid, run_sweep

#: A tiny model (seconds per point on the tiny synthetic root); threads fixed, as in the profiles.
TINY = dict(
    epochs=1, batch_size=8, latent_dim=32, merge_hidden=[32, 32], classifier_hidden=16,
    modality_hidden=8, test_fraction=0.25, n_latent=10, device="cpu", threads=1,
)
#: Long enough to be caught mid-training: many short epochs, a checkpoint after each.
LONG = dict(TINY, epochs=8, steps_per_epoch=2)
#: prctl option: adopt orphaned descendants (Linux).
PR_SET_CHILD_SUBREAPER = 36
THREE_POINTS = [{"method": "baseline", "modalities": [["s1"], ["s2"]]}, {"method": "C"}]


def _study(tmp_path: Path, name: str, runs: list[dict], **base: object) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"name": name, "base": {**TINY, **base}, "runs": runs}))
    return path


def _sweep_argv(study: Path, data: Path, runs: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "xmodal.cli", "sweep", "--study", str(study), "--data", str(data),
            "--runs", str(runs), *extra]


def _fake_finished(study_dir: Path, point: StudyPoint) -> Path:
    """A finished run of ``point`` (its result only): what the sweep must keep and never redo."""
    run = RunDir(study_dir / point.dir_name)
    run.write_result(Result(config=point.config.to_dict(), config_hash=point.config.hash(),
                            metrics={m: {"macro": 0.5, "weighted": 0.5} for m in point.config.modalities}))
    return run.result_path


def _stamps(study_dir: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in study_dir.rglob("result.json")}


def _leftovers(folder: Path) -> list[Path]:
    """Temporary files of the atomic writer (any version) and partial notebooks."""
    return [p for p in folder.rglob(".*")
            if p.is_file() and (p.name.endswith(".tmp") or ".tmp" in p.name or p.name.startswith(".partial-"))]


def _processes(test: Callable[[Path], bool]) -> list[int]:
    """Ids of the running processes whose ``/proc/<id>`` folder passes ``test`` (unreadable ones are skipped)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if test(proc):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def _kernels_of(pid: int) -> list[int]:
    """Processes started as Jupyter kernels of process ``pid`` (their environment names it)."""
    return _processes(lambda p: f"JPY_PARENT_PID={pid}".encode() in (p / "environ").read_bytes().split(b"\0"))


def _workers_of(pid: int) -> list[int]:
    """Worker processes (multiprocessing spawn) started by process ``pid``."""
    return _processes(lambda p: f"\nPPid:\t{pid}\n" in (p / "status").read_text()
                      and b"spawn_main" in (p / "cmdline").read_bytes())


def _wait_for(what: str, condition: Callable[[], bool], proc: subprocess.Popen | None = None,
              timeout: float = 240, every: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc is None or proc.poll() is None, f"the sweep ended before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)


def _unshare_works() -> bool:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"],
                           capture_output=True)
    return probe.returncode == 0


needs_unshare = pytest.mark.skipif(not _unshare_works(), reason="needs root and `unshare -m` to mount a tmpfs")


# --------------------------------------------------------------------------- kill -9 mid-checkpoint (item 4)
@contextlib.contextmanager
def _reaping_orphans() -> Iterator[None]:
    """Make this process adopt the orphans of the processes it kills (as an init would), so they can be reaped.

    Here PID 1 does not reap: a killed kernel would stay a zombie, i.e. look alive, and its
    temporary file would look in use.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    try:
        yield
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


@pytest.mark.slow
def test_kill_during_a_checkpoint_write_resumes_without_leftovers(tmp_path: Path, synthetic_root: Path) -> None:
    study = _study(tmp_path, "killed", [{"method": "C"}], **dict(LONG, epochs=12, steps_per_epoch=1))
    runs = tmp_path / "runs"
    (point,) = grid(study, data_root=synthetic_root)
    run = RunDir(runs / "killed" / point.dir_name)
    caught: list[Path] = []
    killed: list[int] = []
    with _reaping_orphans():
        proc = subprocess.Popen(_sweep_argv(study, synthetic_root, runs), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)

        def writing_checkpoint() -> bool:
            """Freeze the kernel while it writes a checkpoint (SIGSTOP), then kill it and the sweep (SIGKILL)."""
            temps = list(run.path.glob(f".{run.checkpoint_path.name}.*")) if run.path.exists() else []
            if not temps:
                return False
            kernels = _kernels_of(proc.pid)
            for k in kernels:
                os.kill(k, signal.SIGSTOP)
            still = [p for p in temps if p.exists()]
            if not still:  # the write finished in between: let it go on, try the next epoch
                for k in kernels:
                    os.kill(k, signal.SIGCONT)
                return False
            for k in kernels:
                os.kill(k, signal.SIGKILL)
            os.killpg(proc.pid, signal.SIGKILL)
            caught.extend(still)
            killed.extend(kernels)
            return True

        try:
            _wait_for("a checkpoint being written", writing_checkpoint, proc, every=0.005)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for k in killed:  # adopted once the sweep died
            with contextlib.suppress(ChildProcessError):
                os.waitpid(k, 0)
    assert caught and all(p.exists() for p in caught), "the killed write left its temporary file"
    assert not run.result_path.exists()

    assert run_sweep(study, data_root=synthetic_root, runs_dir=runs, progress=False) == 0
    assert run.status() == "ok"
    assert not _leftovers(run.path), "the next sweep removed what the killed process left"


@pytest.mark.slow
def test_a_damaged_checkpoint_is_set_aside_and_its_point_finishes(tmp_path: Path, synthetic_root: Path) -> None:
    """Drift: a truncated checkpoint.pt failed its point on every later sweep (torch's zip-archive error)."""
    from xmodal.training import run_experiment

    study = _study(tmp_path, "damaged", [{"method": "C"}], **dict(LONG, epochs=2, steps_per_epoch=1))
    runs = tmp_path / "runs"
    (point,) = grid(study, data_root=synthetic_root)
    run = RunDir(runs / "damaged" / point.dir_name)

    def stop(info: dict) -> None:
        raise KeyboardInterrupt  # killed after its first epoch

    with pytest.raises(KeyboardInterrupt):
        run_experiment(point.config, run.path, on_epoch_end=stop)
    half = run.checkpoint_path.read_bytes()[:4096]
    run.checkpoint_path.write_bytes(half)  # truncated, as a kill during the write of an earlier version left it

    assert run_sweep(study, data_root=synthetic_root, runs_dir=runs, progress=False, executor="process") == 0
    assert run.status() == "ok" and run.read_error() is None
    [aside] = run.damaged_checkpoints()
    assert aside.name.startswith("checkpoint.pt.damaged-") and aside.read_bytes() == half
    assert len(load_results(runs / "damaged")) == len(point.config.modalities)  # the study's table reads it
    assert run_sweep(study, data_root=synthetic_root, runs_dir=runs, progress=False, executor="process") == 0


# --------------------------------------------------------------------------- full disk (item 4)
@pytest.mark.slow
def test_no_space_for_a_run_is_one_line_before_it_starts(
    tmp_path: Path, synthetic_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    study = _study(tmp_path, "full", [{"method": "baseline", "modalities": [["s1"], ["s2"]]}])
    runs = tmp_path / "runs"
    done, todo = grid(study, data_root=synthetic_root)
    finished = _fake_finished(runs / "full", done)
    stamp = finished.stat().st_mtime_ns
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda p: real(p)._replace(free=3 * 2**20))
    assert main(["sweep", "--study", str(study), "--data", str(synthetic_root), "--runs", str(runs)]) == 1
    err = [ln for ln in capsys.readouterr().err.strip().splitlines() if ln.startswith("xmodal")]  # after the bar
    assert len(err) == 1
    assert re.fullmatch(
        rf"xmodal sweep: Not enough free space for run {todo.name} in {runs / 'full'}: 3 MB free, a run of this "
        r"study needs about [\d,]+ MB \(checkpoint with optimiser state, written twice, and outputs\); free some "
        r"space there or choose another --runs folder, and run the same command again: finished runs are kept",
        err[0]), err[0]
    assert finished.stat().st_mtime_ns == stamp
    assert not (runs / "full" / todo.dir_name).exists(), "no folder, no kernel for a point that cannot fit"


@pytest.mark.slow
def test_disk_filling_up_while_writing_removes_the_temporary(
    tmp_path: Path, synthetic_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    study = _study(tmp_path, "enospc", [{"method": "baseline", "modalities": [["s1"], ["s2"]]}])
    runs = tmp_path / "runs"
    done, todo = grid(study, data_root=synthetic_root)
    finished = _fake_finished(runs / "enospc", done)
    before = finished.read_bytes()
    real_write_with = atomic.write_with

    def half_then_full(path: object, writer: Callable[[Path], None], **kw: object) -> Path:
        def write_half(tmp: Path) -> None:
            tmp.write_bytes(b"half")
            raise OSError(errno.ENOSPC, "No space left on device")

        return real_write_with(path, write_half, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(atomic, "write_with", half_then_full)
    assert main(["sweep", "--study", str(study), "--data", str(synthetic_root), "--runs", str(runs)]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"xmodal sweep: No space left on the device of {runs / 'enospc'} while writing ")
    assert line.endswith("and run the command again: finished results are kept")
    assert finished.read_bytes() == before and not _leftovers(runs)


@pytest.mark.slow
def test_kernel_out_of_space_stops_the_sweep(tmp_path: Path, synthetic_root: Path) -> None:
    """A run that hits a full disk fails with its record, and no further point is started."""
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python",
                                                           "display_name": "Python 3"}})
    nb.cells = [
        nbformat.v4.new_code_cell('out_dir = ""', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "from xmodal.atomic import DiskFullError\n"
            "raise DiskFullError(28, f'No space left on the device of {out_dir} while writing 270.0 MB to "
            "checkpoint.pt; free some space there (or choose another folder) and run the command again: "
            "finished results are kept')"),
    ]
    notebook = tmp_path / "full.ipynb"
    nbformat.write(nb, notebook)
    study = _study(tmp_path, "kfull", THREE_POINTS)
    runs = tmp_path / "runs"
    first, *others = grid(study, data_root=synthetic_root)
    first_dir = runs / "kfull" / first.dir_name
    where = re.escape(str(first_dir))
    with pytest.raises(DiskFullError, match=rf"^\[Errno 28\] No space left on the device of {where} while"):
        run_sweep(study, data_root=synthetic_root, runs_dir=runs, notebook=notebook, progress=False)
    err = json.loads((first_dir / "error.json").read_text())
    assert err["exception"] == "DiskFullError" and err["point"] == first.name
    assert all(RunDir(runs / "kfull" / p.dir_name).status() == "pending" for p in others)
    assert not _leftovers(runs)


@needs_unshare
@pytest.mark.slow
def test_small_disk_for_real(tmp_path: Path, synthetic_root: Path) -> None:
    """A real 4 MB tmpfs as the runs folder: the free-space check refuses, in one line."""
    study = _study(tmp_path, "tmpfs", [{"method": "C"}])
    runs = tmp_path / "runs"
    runs.mkdir()
    argv = " ".join(_sweep_argv(study, synthetic_root, runs))
    proc = subprocess.run(["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o size=4m tmpfs {runs} && exec {argv}"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    (line,) = proc.stderr.strip().splitlines()[-1:]
    assert re.match(rf"xmodal sweep: Not enough free space for run C-s1\+s2-nall-seed0 in {runs / 'tmpfs'}: "
                    r"4 MB free, a run of this study needs about", line), line


# --------------------------------------------------------------------------- read-only runs folder (item 5)
@pytest.mark.slow
def test_unwritable_runs_folder_names_it(
    tmp_path: Path, synthetic_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    study = _study(tmp_path, "ro", [{"method": "baseline", "modalities": [["s1"], ["s2"]]}])
    runs = tmp_path / "runs"
    done, _ = grid(study, data_root=synthetic_root)
    finished = _fake_finished(runs / "ro", done)
    before = finished.read_bytes()

    def read_only(path: object, *args: object, **kwargs: object) -> Path:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(atomic, "write_with", read_only)
    assert main(["sweep", "--study", str(study), "--data", str(synthetic_root), "--runs", str(runs)]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == (f"xmodal sweep: permission denied: cannot write {runs / 'ro' / 'study.json'}; choose a folder "
                    "you can write (--runs, --out) or change its permissions")
    assert finished.read_bytes() == before


@needs_unshare
@pytest.mark.slow
def test_read_only_mount_for_real(tmp_path: Path, synthetic_root: Path) -> None:
    study = _study(tmp_path, "romount", [{"method": "C"}])
    runs = tmp_path / "runs"
    (point,) = grid(study, data_root=synthetic_root)
    finished = _fake_finished(runs / "romount", point)
    before = finished.read_bytes()
    argv = " ".join(_sweep_argv(study, synthetic_root, runs))
    proc = subprocess.run(
        ["unshare", "-m", "sh", "-c", f"mount --bind {runs} {runs} && mount -o remount,ro,bind {runs} && exec {argv}"],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()[-1:]
    assert line == (f"xmodal sweep: read-only file system: cannot write {runs / 'romount' / 'study.json'}; "
                    "choose a folder you can write (--runs, --out) or change its permissions")
    assert finished.read_bytes() == before


# --------------------------------------------------------------------------- moved runs and data (item 1)
@pytest.mark.slow
def test_moved_data_and_runs_are_found_and_reused(tmp_path: Path, synthetic_root: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    old = tmp_path / "old"
    shutil.copytree(synthetic_root, old / "data", ignore=shutil.ignore_patterns(".xmodal_cache"))
    study = _study(tmp_path, "moved", [{"method": "baseline", "modalities": [["s1"]]}])
    assert run_sweep(study, data_root=old / "data", runs_dir=old / "runs", progress=False) == 0
    new = tmp_path / "new" / "place"
    shutil.copytree(old, new, copy_function=shutil.copy)  # new file times, as `cp -r` makes them
    shutil.rmtree(old)
    stamps = _stamps(new / "runs")
    assert len(stamps) == 1
    capsys.readouterr()
    assert run_sweep(study, data_root=new / "data", runs_dir=new / "runs") == 0
    out = capsys.readouterr().out
    assert "1 of 1 points finished (0 run now)" in out, "0 points retrained"
    assert _stamps(new / "runs") == stamps
    assert len([p for p in (new / "runs" / "moved").iterdir() if p.is_dir()]) == 1, "no second run folder"
    # the book, asked without --data, names the old location and the option
    import xmodal.book

    monkeypatch.delenv(xmodal.book.ENV_DATA, raising=False)
    assert main(["book", "--study", "moved", "--runs", str(new / "runs")]) == 2
    line = capsys.readouterr().err.strip()
    assert f"'{old / 'data'}': the folder does not exist" in line and "--data" in line


# --------------------------------------------------------------------------- concurrent sweeps (item 7)
@pytest.mark.slow
def test_point_held_by_another_sweep_is_reported_not_failed(
    tmp_path: Path, synthetic_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = _study(tmp_path, "busy", [{"method": "baseline", "modalities": [["s1"], ["s2"]]}])
    runs = tmp_path / "runs"
    done, held = grid(study, data_root=synthetic_root)
    _fake_finished(runs / "busy", done)
    run = RunDir(runs / "busy" / held.dir_name)
    run.prepare()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, sys, time; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX); "
         "print('locked', flush=True); time.sleep(120)", str(run.lock_path)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with open(run.lock_path, "a") as fh:  # the lock really is taken
            with pytest.raises(BlockingIOError):
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        capsys.readouterr()
        assert main(["sweep", "--study", str(study), "--data", str(synthetic_root), "--runs", str(runs)]) == 0
    finally:
        holder.kill()
        holder.wait()
    out = capsys.readouterr().out
    assert re.search(rf"{re.escape(held.name)}\s+running in another sweep", out)
    assert "1 point(s) are running in another sweep; run this command again once it ends" in out
    assert run.status() == "pending" and not run.error_path.exists()


@pytest.mark.slow
def test_printed_commands_run_without_a_venv_and_record_failures(tmp_path: Path, synthetic_root: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    study = _study(tmp_path, "slurm", [{"method": "baseline", "modalities": [["s1"]]},
                                       {"method": "baseline", "modalities": [["s2"]], "set": {"precision": "fp16"}}])
    runs = tmp_path / "runs"
    assert run_sweep(study, data_root=synthetic_root, runs_dir=runs, print_commands=True) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    # no activated venv: a bare PATH, no VIRTUAL_ENV; the command names its Python itself
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "MPLBACKEND": "Agg",
           "PYTHONPATH": os.environ.get("PYTHONPATH", ""), "OMP_NUM_THREADS": "1"}
    ok = subprocess.run(lines[0], shell=True, env=env, capture_output=True, text=True, timeout=600)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run(lines[1], shell=True, env=env, capture_output=True, text=True, timeout=600)
    assert bad.returncode == 1
    ok_point, bad_point = grid(study, data_root=synthetic_root)
    error_file = runs / "slurm" / bad_point.dir_name / "error.json"
    assert bad.stdout.strip() == (f"{bad_point.name}: failed: ConfigError: Invalid value for 'precision': 'fp16' "
                                  f"needs CUDA (autocast + gradient scaler); use 'bf16' or 'fp32' on CPU "
                                  f"(details: {error_file})")
    df = load_results(runs / "slurm")
    assert sorted(df["status"]) == ["failed", "ok"]
    assert "fp16" in df.loc[df["status"] == "failed", "error"].iloc[0]
