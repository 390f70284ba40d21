"""Shared fixtures: tiny synthetic SEN12MS-like data made by the project's own generator."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

#: Arguments of the tiny synthetic root shared by the tests (4 scenes, 3x3 patches of 32 px).
TINY_SYNTHETIC = dict(n_scenes=4, patches_per_side=3, patch_size=32, seed=0, progress=False)


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny synthetic SEN12MS root in the official layout (read-only by convention).

    Tests that modify files must copy it first (see ``synthetic_copy``).
    """
    from xmodal.data import make_synthetic

    root = tmp_path_factory.mktemp("sen12ms_tiny")
    make_synthetic(root, **TINY_SYNTHETIC)
    return root


@pytest.fixture()
def synthetic_copy(synthetic_root: Path, tmp_path: Path) -> Path:
    """A private, writable copy of the tiny synthetic root (without its cache)."""
    import shutil

    dst = tmp_path / "sen12ms_copy"
    shutil.copytree(synthetic_root, dst, ignore=shutil.ignore_patterns(".xmodal_cache"))
    return dst
