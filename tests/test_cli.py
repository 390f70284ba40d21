"""The xmodal command: one error style for every command (one line, exit code, --debug)."""

from __future__ import annotations

import errno
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from xmodal import atomic
from xmodal.cli import build_parser, main
from xmodal.data import MARKER_NAME
from xmodal.rundir import Result, RunDir
from xmodal.sweep import grid

TINY_BASE = dict(
    backbone_width=16, epochs=1, batch_size=8, latent_dim=32, merge_hidden=[32, 32], classifier_hidden=16,
    modality_hidden=8, test_fraction=0.25, n_latent=10, device="cpu", threads=1,
)


def _study(tmp_path: Path, name: str = "cli", runs: list | None = None) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"name": name, "base": TINY_BASE,
                                    "runs": runs or [{"method": "baseline", "modalities": [["s1"]]}]}))
    return path


def _one_error_line(capsys: pytest.CaptureFixture[str], command: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, f"expected one line, got {err}"
    assert err[0].startswith(f"xmodal {command}: "), err[0]
    assert "Traceback" not in err[0]
    return err[0]


@pytest.mark.parametrize(
    "argv, command, code, message",
    [
        (["sweep", "--study", "nope"], "sweep", 2, r"Unknown study 'nope': not one of the profiles \['budget'"),
        (["sweep", "--study", "nope.yaml"], "sweep", 2, r"Study file nope.yaml does not exist"),
        (["sweep", "--study", "quick", "--jobs", "0"], "sweep", 2, r"Invalid value for --jobs: 0; must be >= 1"),
        (["train", "--set", "epochs", "--out", "x"], "train", 2, r"--set expects key=value, got 'epochs'"),
        (["train", "--set", "epochs=0", "--out", "x"], "train", 2, r"Invalid value for 'epochs': 0; must be > 0"),
        (["train", "--set", "backbone=vgg", "--out", "x"], "train", 2,
         r"Invalid value for 'backbone': 'vgg'; choose one of \['resnet18', 'resnet34', 'resnet50'\]"),
        (["train", "--set", "data_root=/no/such/root", "--out", "x"], "train", 2,
         r"Invalid data_root '/no/such/root': the folder does not exist; give the SEN12MS root with "
         r"--set data_root=DIR"),
        (["train", "--config", "/no/such.yaml", "--out", "x"], "train", 2, r"Config file not found: /no/such.yaml"),
        (["data", "info", "/no/such/root"], "data info", 2, r"SEN12MS root not found: /no/such/root"),
        (["data", "synth", "--out", "x", "--scenes", "0"], "data synth", 2, r"n_scenes must be >= 1, got 0"),
        (["results", "--study", "nope", "--runs", "/no/runs"], "results", 2,
         r"No runs of study 'nope': /no/runs/nope does not exist; run `xmodal sweep --study nope --runs /no/runs`"),
        (["results", "--study", "quick", "--runs", "/no/runs"], "results", 2, r"/no/runs/quick does not exist"),
        (["book", "--study", "nope", "--runs", "/no/runs"], "book", 2, r"/no/runs/nope does not exist"),
        (["book", "--study", "nope", "--runs", "/no/runs", "--data", "/"], "book", 2, r"/no/runs/nope does not exist"),
        (["clouds", "--study", "nope", "--runs", "/no/runs", "--data", "/"], "clouds", 2,
         r"/no/runs/nope does not exist"),
        (["run-point", "/no/run"], "run-point", 2, r"/no/run/parameters.yaml does not exist: prepare the point"),
    ],
)
def test_bad_input_is_one_line_with_exit_code_2(
    argv: list[str], command: str, code: int, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(argv) == code
    assert re.search(message, _one_error_line(capsys, command))


def test_missing_data_names_the_folder_and_the_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", "--study", str(_study(tmp_path)), "--data", str(tmp_path / "gone"),
                 "--runs", str(tmp_path / "runs")]) == 2
    line = _one_error_line(capsys, "sweep")
    assert line == f"xmodal sweep: Invalid --data '{tmp_path / 'gone'}': the folder does not exist; pass the " \
                   "folder of the SEN12MS data with --data"
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_permission_error_names_the_file(
    tmp_path: Path, synthetic_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def denied(path: object, *args: object, **kwargs: object) -> Path:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(atomic, "write_with", denied)
    runs = tmp_path / "runs"
    assert main(["sweep", "--study", str(_study(tmp_path)), "--data", str(synthetic_root), "--runs", str(runs)]) == 1
    line = _one_error_line(capsys, "sweep")
    assert line == (f"xmodal sweep: permission denied: cannot write {runs / 'cli' / 'study.json'}; choose a folder "
                    "you can write (--runs, --out) or change its permissions")


@pytest.mark.slow
def test_full_disk_is_one_line(
    tmp_path: Path, synthetic_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def full(self: Path, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    runs = tmp_path / "runs"
    assert main(["sweep", "--study", str(_study(tmp_path)), "--data", str(synthetic_root), "--runs", str(runs)]) == 1
    line = _one_error_line(capsys, "sweep")
    assert line.startswith(f"xmodal sweep: No space left on the device of {runs / 'cli'} while writing")
    assert list((runs / "cli").iterdir()) == [], "the temporary file is removed"


def test_unexpected_errors_say_how_to_see_the_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import xmodal.sweep

    def broken(*args: object, **kwargs: object) -> int:
        raise TypeError("a bug")

    monkeypatch.setattr(xmodal.sweep, "run_sweep", broken)
    assert main(["sweep", "--study", "quick"]) == 1
    assert _one_error_line(capsys, "sweep") == (
        "xmodal sweep: unexpected TypeError: a bug (a bug: run again with --debug for the traceback and report it)")
    with pytest.raises(TypeError, match="a bug"):
        main(["--debug", "sweep", "--study", "quick"])
    with pytest.raises(TypeError, match="a bug"):
        main(["sweep", "--study", "quick", "--debug"])
    monkeypatch.setenv("XMODAL_DEBUG", "1")
    with pytest.raises(TypeError, match="a bug"):
        main(["sweep", "--study", "quick"])


def test_debug_shows_the_traceback_in_a_real_process(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "xmodal.cli", "sweep", "--study", "nope"]
    quiet = subprocess.run(cmd, capture_output=True, text=True)
    assert quiet.returncode == 2 and len(quiet.stderr.strip().splitlines()) == 1
    loud = subprocess.run(cmd + ["--debug"], capture_output=True, text=True)
    assert loud.returncode == 1 and "Traceback" in loud.stderr and "StudyError: Unknown study 'nope'" in loud.stderr


def test_multi_line_messages_keep_their_first_line(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import xmodal.book

    def failing_build(**kwargs: object) -> Path:
        raise xmodal.book.BookError("jupyter-book build failed (exit 1); full log in _build/book.log:\nline\nline")

    monkeypatch.setattr(xmodal.book, "build_book", failing_build)
    (tmp_path / "runs" / "quick").mkdir(parents=True)
    assert main(["book", "--study", "quick", "--runs", str(tmp_path / "runs"), "--data", "/"]) == 1
    assert _one_error_line(capsys, "book") == ("xmodal book: jupyter-book build failed (exit 1); full log in "
                                               "_build/book.log (2 more line(s) with --debug)")


# --------------------------------------------------------------------------- the book's data, checked up front
def _fake_finished_runs(study_dir: Path, data_root: str) -> None:
    """A finished run (result only) that recorded ``data_root``: enough for the book's up-front check."""
    (point,) = grid({"name": study_dir.name, "base": TINY_BASE, "runs": [{"method": "C"}]}, data_root=data_root,
                    fingerprints=False)
    config = point.config
    RunDir(study_dir / point.dir_name).write_result(
        Result(config=config.to_dict(), config_hash=config.hash(), data={"root": data_root}))


def test_book_after_the_data_moved_says_so_before_building(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import xmodal.book

    monkeypatch.delenv(xmodal.book.ENV_DATA, raising=False)
    monkeypatch.setattr(xmodal.book, "build_book", lambda **kw: pytest.fail("the build must not start"))
    gone = tmp_path / "old-place" / "data"
    _fake_finished_runs(tmp_path / "runs" / "moved", str(gone))
    assert main(["book", "--study", "moved", "--runs", str(tmp_path / "runs")]) == 2
    assert _one_error_line(capsys, "book") == (
        f"xmodal book: Invalid data root of the runs in {tmp_path / 'runs' / 'moved'} '{gone}': the folder does not "
        "exist; moved or deleted? pass the data's folder with --data")
    assert main(["book", "--study", "moved", "--runs", str(tmp_path / "runs"), "--data", str(tmp_path / "no")]) == 2
    assert _one_error_line(capsys, "book") == (
        f"xmodal book: Invalid --data '{tmp_path / 'no'}': the folder does not exist; give the data root the study "
        "ran on")


def test_book_passes_the_data_it_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import xmodal.book

    seen = {}

    def fake_build(**kwargs: object) -> Path:
        seen.update(kwargs)
        return tmp_path / "index.html"

    monkeypatch.setattr(xmodal.book, "build_book", fake_build)
    monkeypatch.delenv(xmodal.book.ENV_DATA, raising=False)
    data = tmp_path / "data"
    data.mkdir()
    _fake_finished_runs(tmp_path / "runs" / "here", str(data))
    assert main(["book", "--study", "here", "--runs", str(tmp_path / "runs")]) == 0
    assert seen["data_root"] is None  # the book reads the root the runs recorded, which exists
    assert main(["book", "--study", "here", "--runs", str(tmp_path / "runs"), "--data", str(data)]) == 0
    assert seen["data_root"] == str(data)


# --------------------------------------------------------------------------- run-point
@pytest.mark.slow
def test_run_point_refuses_edited_parameters_and_changed_data(
    tmp_path: Path, synthetic_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = _study(tmp_path)
    runs = tmp_path / "runs"
    assert main(["sweep", "--study", str(study), "--data", str(synthetic_copy), "--runs", str(runs),
                 "--print-commands"]) == 0
    (line,) = capsys.readouterr().out.strip().splitlines()
    run_dir = Path(line.split()[4])
    params = yaml.safe_load((run_dir / "parameters.yaml").read_text())
    (run_dir / "parameters.yaml").write_text(yaml.safe_dump({**params, "epochs": 7}))
    assert main(["run-point", str(run_dir)]) == 2
    assert re.search(r"the folder's name does not end in its parameters' config hash [0-9a-f]{12} \(were the "
                     r"parameters edited\?\)", _one_error_line(capsys, "run-point"))
    (run_dir / "parameters.yaml").write_text(yaml.safe_dump(params))
    marker = synthetic_copy / MARKER_NAME  # other generator arguments: other data
    meta = json.loads(marker.read_text())
    meta["seasons"]["ROIs2017_winter"]["seed"] = 99
    marker.write_text(json.dumps(meta))
    assert main(["run-point", str(run_dir)]) == 2
    assert re.search(rf"its data_fingerprint {params['data_fingerprint']} is not that of {synthetic_copy} "
                     r"\(season winter: synthetic:[0-9a-f]{16}\)", _one_error_line(capsys, "run-point"))
    assert RunDir(run_dir).status() == "pending", "nothing ran, nothing was recorded"


def test_parser_lists_every_command() -> None:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert set(sub.choices) == {"data", "train", "sweep", "run-point", "results", "clouds", "predict", "book", "tune",
                                "archive", "calibrate", "regime"}


def test_clouds_reports_a_bad_cover_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "runs" / "default").mkdir(parents=True)
    code = main(["clouds", "--study", "default", "--data", str(tmp_path), "--runs", str(tmp_path / "runs"),
                 "--covers", "1.5"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("xmodal clouds: ") and "1.5" in err[0]


# --------------------------------------------------------------------------- a study, named by name or by YAML
def _write_runs(study_dir: Path, n: int = 3) -> list[RunDir]:
    """``n`` finished runs of study ``study_dir.name`` (results only, no data read: fast)."""
    from xmodal.config import ExperimentConfig
    from xmodal.rundir import study_meta_path

    atomic.write_json(study_meta_path(study_dir), {"name": study_dir.name})
    runs = []
    for seed in range(n):
        config = ExperimentConfig(method="baseline", modalities=["s1"], seed=seed, data_root="/data")
        run = RunDir(study_dir / f"baseline-s1-nall-seed{seed}-{config.hash()}")
        run.write_result(Result(config=config.to_dict(), config_hash=config.hash(),
                                metrics={"s1": {"macro": 0.5 + seed / 10, "weighted": 0.6, "micro": 0.7}}))
        runs.append(run)
    return runs


def test_results_takes_a_study_by_name_or_by_yaml_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "elsewhere" / "my-file.yaml"  # the stem differs from the study's name
    spec.parent.mkdir()
    spec.write_text(yaml.safe_dump({"name": "mine", "base": TINY_BASE, "runs": [{"method": "baseline"}]}))
    _write_runs(tmp_path / "runs" / "mine")
    tables = {}
    for arg in ("mine", str(spec)):
        assert main(["results", "--study", arg, "--runs", "runs", "--csv", f"{len(tables)}.csv"]) == 0
        tables[arg] = (tmp_path / f"{len(tables)}.csv").read_text()
        assert capsys.readouterr().err == ""
    assert tables["mine"] == tables[str(spec)] and len(tables["mine"].splitlines()) == 1 + 3


def test_results_names_each_unreadable_run_on_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    runs = _write_runs(tmp_path / "runs" / "mine")
    damaged = runs[1].result_path
    damaged.write_text(damaged.read_text()[:40])  # truncated, as by a full disk or an editor
    assert main(["results", "--study", "mine", "--runs", "runs", "--csv", "out.csv"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    folder = Path("runs") / "mine" / runs[1].name  # as --runs named it
    assert len(err) == 1 and err[0].startswith(f"xmodal results: cannot read run folder {folder}: ")
    assert f"{folder / damaged.name}: truncated JSON" in err[0]
    import pandas as pd

    table = pd.read_csv(tmp_path / "out.csv")
    assert len(table) == 3, "the damaged run keeps its row"
    assert sorted(table["status"]) == ["ok", "ok", "unreadable"]
    assert str(folder / damaged.name) in table.loc[table["status"] == "unreadable", "error"].item()
