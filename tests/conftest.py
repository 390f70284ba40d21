"""Shared fixtures: tiny synthetic SEN12MS-like data made by the project's own generator."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

from book_study import TINY_SYNTHETIC


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


# ----------------------------------------------------------------------------- the fast tier
#: Set by ``make test-fast``: the tests that neither train, nor generate data, nor start kernels.
FAST_TIER_ENV = "XMODAL_TEST_TIER"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In the fast tier, leave out the tests marked ``slow`` (whatever ``-m`` says)."""
    if os.environ.get(FAST_TIER_ENV) != "fast":
        return
    kept = [item for item in items if item.get_closest_marker("slow") is None]
    dropped = [item for item in items if item.get_closest_marker("slow") is not None]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


class FastTierViolation(AssertionError):
    """A test of the fast tier trained, generated data or started a kernel or worker: mark it ``slow``."""


_current_test = ["(collection)"]


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Remember the running test, for the fast tier's message."""
    _current_test[0] = item.nodeid


@pytest.fixture(scope="session", autouse=True)
def _fast_tier_guard() -> Iterator[None]:
    """In the fast tier, a test that trains, writes GeoTIFFs or starts a kernel or worker fails, naming it.

    Session-wide, so it also covers session fixtures (the tiny synthetic root). The guard is
    what keeps ``make test-fast`` honest: a test that needs any of these is marked ``slow``
    and runs in the full ``make test``.
    """
    if os.environ.get(FAST_TIER_ENV) != "fast":
        yield
        return

    def refuse(what: str) -> Callable[..., None]:
        def _refuse(*args: object, **kwargs: object) -> None:
            raise FastTierViolation(f"{_current_test[0]} {what} in the fast tier: mark it @pytest.mark.slow")
        return _refuse

    import multiprocessing.process

    import rasterio
    import torch
    from jupyter_client.manager import KernelManager

    real_open = rasterio.open

    def guarded_open(fp: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        if mode != "r":
            refuse(f"writes a GeoTIFF ({fp})")()
        return real_open(fp, mode, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(torch.Tensor, "backward", refuse("trains (calls backward)"))
        mp.setattr(rasterio, "open", guarded_open)
        mp.setattr(KernelManager, "start_kernel", refuse("starts a Jupyter kernel"))
        mp.setattr(multiprocessing.process.BaseProcess, "start", refuse("starts a worker process"))
        yield
