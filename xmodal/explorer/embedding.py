"""The 2-d UMAP of a model's latent vectors, cached in its run folder.

Embeddings are cached per model in the (first) run folder as
``explorer-umap-<key>.npz``, where the key (:func:`cache_key`) hashes the bytes of the
latents file(s), the UMAP parameters and the umap-learn version, so rebuilding a page does
not run UMAP again. The embedding is the package's one UMAP,
:func:`xmodal.analysis.latent.umap_2d` (cosine).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from xmodal.analysis.latent import UMAP_METRIC, umap_2d

from .runs import Model

__all__ = ["CACHE_PREFIX", "UMAP_PARAMS", "cache_key", "embed"]

#: UMAP settings of the explorer (seeded; the metric is the package's one, :data:`UMAP_METRIC`: cosine,
#: like the neighbours the page marks).
UMAP_PARAMS: dict[str, Any] = {"n_neighbors": 15, "min_dist": 0.1, "random_state": 0}
#: Cache files written into run folders.
CACHE_PREFIX = "explorer-umap-"


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _umap_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("umap-learn")
    except PackageNotFoundError:
        return "unknown"


def cache_key(latents_files: Sequence[str | Path], params: Mapping[str, Any]) -> str:
    """The key of a cached embedding (hex SHA-256).

    It hashes the content hashes of the latents file(s) (in order), the UMAP
    parameters and the umap-learn version.
    """
    h = hashlib.sha256()
    for f in latents_files:
        h.update(_file_sha256(Path(f)).encode())
    h.update(json.dumps({**dict(params), "metric": UMAP_METRIC}, sort_keys=True).encode())
    h.update(_umap_version().encode())
    return h.hexdigest()


def _run_umap(z: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
    """The package's one UMAP (:func:`xmodal.analysis.latent.umap_2d`, cosine) with the explorer's settings."""
    return umap_2d(z, n_neighbors=int(params.get("n_neighbors", 15)), min_dist=float(params.get("min_dist", 0.1)),
                   seed=int(params.get("random_state", 0)))


def embed(model: Model, params: Mapping[str, Any] | None = None,
          cache: bool | str | Path = True) -> tuple[np.ndarray, str]:
    """2-d UMAP coordinates of a model's latent vectors, from the cache when possible.

    Args:
        model: the model (its runs' latent vectors are embedded together).
        params: UMAP settings (default :data:`UMAP_PARAMS`).
        cache: True: ``explorer-umap-<key>.npz`` in the model's first run folder;
            a folder: there instead (for read-only runs); False: never cache.

    Returns:
        ``[N, 2]`` float32 coordinates, and how they were obtained (``"cache"``,
        ``"umap"``, or ``"umap (not cached: ...)"``).
    """
    params = dict(UMAP_PARAMS if params is None else params)
    if cache is False:
        return _run_umap(model.z, params), "umap"
    key = cache_key([r.latents_file for r in model.runs], params)
    folder = model.runs[0].path if cache is True else Path(cache)
    path = folder / f"{CACHE_PREFIX}{key[:16]}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as f:
                if str(f["key"]) == key and f["xy"].shape == (len(model.z), 2):
                    return np.asarray(f["xy"], dtype=np.float32), "cache"
        except (OSError, ValueError, KeyError):
            pass  # unreadable: compute again and overwrite
    xy = _run_umap(model.z, params)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        with open(tmp, "wb") as fh:
            np.savez(fh, xy=xy, key=np.array(key), params=np.array(json.dumps(params, sort_keys=True)))
        os.replace(tmp, path)
    except OSError as err:
        return xy, f"umap (not cached: {err.strerror or err})"
    return xy, "umap"
