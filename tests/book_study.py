"""A tiny study, really trained, shared by the plot and book tests.

Both test modules call :func:`tiny_study`; the sweep is resumable, so the second call
finds every run finished and only reads them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Every method of the paper once; two training-set sizes for the Figure 3 methods; C+T+M with domain confusion.
TINY_STUDY: dict[str, Any] = {
    "name": "booktest",
    "description": "Tiny study for the book tests: 1 epoch of a narrow ResNet18.",
    "base": {
        "season": "winter", "split": "scene", "test_fraction": 0.25, "backbone": "resnet18",
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
