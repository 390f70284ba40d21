"""A tiny study, really trained, shared by the plot and book tests.

Both test modules use it through :func:`shared_tiny_study`: the first test process that
asks (under pytest-xdist, whichever worker comes first) makes the data and trains the study
in the folder every worker shares, holding a file lock; the others wait for the lock and
then find every run finished (the sweep is resumable) and only read them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

#: Arguments of the tiny synthetic root shared by the tests (4 scenes, 3x3 patches of 32 px).
TINY_SYNTHETIC: dict[str, Any] = dict(n_scenes=4, patches_per_side=3, patch_size=32, seed=0, progress=False)

#: Every method of the paper once; two training-set sizes for the Figure 3 methods; C+T+M with domain confusion.
TINY_STUDY: dict[str, Any] = {
    "name": "booktest",
    "description": "Tiny study for the book tests: 1 epoch of a narrow ResNet18.",
    "executor": "process",  # as the default study: workers, then the first seed's notebooks
    "notebooks": "first-seed",
    "base": {
        "season": "winter", "split": "scene", "test_fraction": 0.25, "val_fraction": 0.3, "backbone": "resnet18",
        "backbone_width": 16,
        "latent_dim": 32, "merge_hidden": [32, 32], "classifier_hidden": 16, "modality_hidden": 8,
        "epochs": 1, "batch_size": 8, "n_latent": 20, "device": "cpu",
    },
    "seeds": [0],
    "n_train": [None],
    "runs": [
        {"method": "baseline", "modalities": [["s1"], ["s2"]], "n_train": [12, None]},
        {"method": "C", "n_train": [12, None]},
        {"method": "C+M"},
        {"method": "C+T"},
        {"method": "C+T+M", "n_train": [12, None]},
        {"method": "C+T+M", "name": "confusion", "set": {"alignment": "confusion"}},  # the named ablation
    ],
}


def tiny_study(data_root: Path, runs_dir: Path) -> Path:
    """Run (or resume) the tiny study on ``data_root``; returns its folder ``runs_dir/booktest``."""
    from xmodal.sweep import run_sweep

    status = run_sweep(dict(TINY_STUDY), jobs=2, data_root=data_root, runs_dir=runs_dir, progress=False)
    study_dir = runs_dir / TINY_STUDY["name"]
    assert status == 0, f"the tiny study failed; see the error.json files under {study_dir}"
    return study_dir


def shared_tiny_study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The tiny study trained once for the whole test run: ``(study folder, data root)``.

    Under pytest-xdist every worker has its own base temporary folder, all in one parent:
    the study lives in that parent, made by the first worker that asks.
    """
    from filelock import FileLock

    from xmodal.data import MARKER_NAME, make_synthetic

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    with FileLock(str(shared / "booktest.lock")):
        data = shared / "booktest-data"
        if not (data / MARKER_NAME).is_file():
            make_synthetic(data, **TINY_SYNTHETIC)
        return tiny_study(data, shared / "booktest-runs"), data
