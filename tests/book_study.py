"""The trained studies the tests share: the ``quick`` profile, and the book's study made from it.

The quick-profile test (test_study.py), the plot tests and the book tests all read really
trained runs; :func:`shared_studies` trains them once for the whole test run. The first test
process that asks (under pytest-xdist, whichever worker comes first) makes the quick
profile's data and runs the profile in the folder every worker shares, holding a file lock;
then it makes the book's study ``booktest``: the quick profile's points plus the named
confusion ablation. The sweep is resumable and a run's folder is named by its point and
config hash, so the quick profile's finished run folders, copied into ``booktest``, are
found finished: only the ablation is trained and its notebook rendered. The other workers
wait for the lock and then find every run finished and only read them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, NamedTuple

import pytest

#: Arguments of the tiny synthetic root shared by the tests (4 scenes, 3x3 patches of 32 px).
TINY_SYNTHETIC: dict[str, Any] = dict(n_scenes=4, patches_per_side=3, patch_size=32, seed=0, progress=False)

#: The book's study: the quick profile (every method of the paper once, two training-set sizes for the
#: Figure 3 methods, one seed, the process executor rendering the full-set models' notebooks) and C+T+M
#: with domain confusion, the named ablation.
BOOK_STUDY_NAME = "booktest"
CONFUSION_RUN: dict[str, Any] = {"method": "C+T+M", "name": "confusion", "set": {"alignment": "confusion"}}


class SharedStudies(NamedTuple):
    """The shared trained studies: folders ``<runs>/quick`` and ``<runs>/booktest``, and their data root."""

    quick: Path
    book: Path
    data: Path


def book_study_spec() -> dict[str, Any]:
    """The ``booktest`` spec: the quick profile's, renamed, with the confusion ablation."""
    from xmodal.sweep import load_study

    spec = load_study("quick")
    return {**spec, "name": BOOK_STUDY_NAME,
            "description": "The book tests' study: the quick profile and the confusion ablation.",
            "runs": [*spec["runs"], CONFUSION_RUN]}


def _sweep(spec: dict[str, Any] | str, data: Path, runs: Path) -> None:
    from xmodal.sweep import run_sweep

    status = run_sweep(spec, jobs=2, data_root=data, runs_dir=runs, progress=False)
    name = spec if isinstance(spec, str) else spec["name"]
    assert status == 0, f"the study {name!r} failed; see the error.json files under {runs / name}"


def make_studies(shared: Path) -> SharedStudies:
    """Make (or resume) the quick profile's data and runs and the book's study under ``shared``."""
    from xmodal.data import MARKER_NAME, make_synthetic
    from xmodal.sweep import SWEEP_TIMES_FILE, load_study

    data, runs = shared / "quick-data", shared / "runs"
    shared.mkdir(parents=True, exist_ok=True)
    if not (data / MARKER_NAME).is_file():
        make_synthetic(data, progress=False, **load_study("quick")["data"]["synthetic"])
    _sweep("quick", data, runs)
    quick, book = runs / "quick", runs / BOOK_STUDY_NAME
    if not book.exists():  # the quick profile's finished runs, their notebooks and job times
        shutil.copytree(quick, book, ignore=lambda folder, names: [
            n for n in names if folder == str(quick) and not (quick / n).is_dir() and n != SWEEP_TIMES_FILE])
    _sweep(book_study_spec(), data, runs)
    return SharedStudies(quick, book, data)


def shared_studies(tmp_path_factory: pytest.TempPathFactory) -> SharedStudies:
    """The shared studies, trained once for the whole test run.

    Under pytest-xdist every worker has its own base temporary folder, all in one parent:
    the studies live in that parent, made by the first worker that asks.
    """
    from filelock import FileLock

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    with FileLock(str(shared / "shared-studies.lock")):
        return make_studies(shared / "shared-studies")


def shared_tiny_study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The book's study, trained once for the whole test run: ``(study folder, data root)``."""
    studies = shared_studies(tmp_path_factory)
    return studies.book, studies.data
