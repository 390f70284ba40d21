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


#: The slowest test files, slowest first (their time in a full run, the shared studies counted with
#: test_book.py, which builds the book on them). ``make test`` hands whole files to its two processes
#: (``-n 2 --dist loadfile``) in collection order as each one runs out of work; taking the long ones
#: first lets the short ones fill in at the end, so that both processes finish together.
SLOWEST_FIRST = (
    "test_book.py", "test_sweep.py", "test_faults.py", "test_teaching.py", "test_faults_sigint.py",
    "test_train.py", "test_archive.py", "test_clouds.py", "test_three_sensors.py", "test_notebook.py",
    "test_analysis_latent.py", "test_validation.py", "test_tuning.py", "test_plots.py", "test_study.py",
    "test_book_regime.py",
)


def pytest_configure(config: pytest.Config) -> None:
    """Keep the collection order for pytest-xdist (by default it hands out the files with most tests first)."""
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The files of :data:`SLOWEST_FIRST` first; in the fast tier, leave out the tests marked ``slow``
    (whatever ``-m`` says)."""
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: each file's own order kept
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
