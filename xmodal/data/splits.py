"""Train/test splits of SEN12MS patches, and how much a split leaks.

SEN12MS cuts 256 px patches with a stride of 128 px, so neighbouring patches of
a scene share half their pixels. The paper splits its 31,825 winter patches at
random into 27,825 for training and 4,000 for testing: a test patch then often
overlaps training patches, and test scores are optimistic. Three methods:

- ``"random"``: the paper's split, a seeded random share ``test_fraction``
  (default 4000/31825) of patches; proportional on smaller data.
- ``"scene"``: whole scenes (SEN12MS "ROIs") are held out until the test share
  reaches ``test_fraction`` of the patches: no scene, hence no overlapping
  patch, is in both sets. The honest default of this study.
- ``"official"``: the lists ``train_list.txt`` and ``test_list.txt`` at the
  root (one file name per line, as distributed with the SEN12MS classification
  code); S1, S2 or LC names all work.

:func:`leakage` measures, for a split, the share of test patches whose
footprint overlaps a training patch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from .errors import MissingFileError
from .layout import PatchKey, parse_patch_filename

__all__ = ["SPLIT_METHODS", "make_split", "subsample", "leakage", "PAPER_TEST_FRACTION"]

SPLIT_METHODS = ("random", "scene", "official")
#: The paper's split: 4,000 of 31,825 winter patches for testing.
PAPER_TEST_FRACTION = 4000 / 31825


def _check_fraction(test_fraction: float) -> None:
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"Invalid test_fraction {test_fraction!r}; must be in (0, 1)")


def make_split(
    keys: Sequence[PatchKey],
    method: str = "scene",
    test_fraction: float = PAPER_TEST_FRACTION,
    seed: int = 0,
    root: str | Path | None = None,
) -> tuple[list[PatchKey], list[PatchKey]]:
    """Split patch keys into (train, test), each sorted by (scene, patch).

    Args:
        keys: all usable patches.
        method: "random", "scene" or "official" (see module docstring).
        test_fraction: share of patches held out (random, scene).
        seed: seeds the random choice.
        root: the SEN12MS root holding the official lists (method "official").

    Raises:
        ValueError: unknown method or bad fraction; MissingFileError: official
            lists absent.
    """
    _check_fraction(test_fraction)
    keys = sorted(keys, key=lambda k: (k.scene, k.patch))
    n = len(keys)
    if n < 2:
        raise ValueError(f"Cannot split {n} patch(es) into a training and a test set")
    rng = np.random.default_rng([seed, 7919])
    if method == "random":
        n_test = min(n - 1, max(1, int(round(n * test_fraction))))
        test_idx = set(rng.permutation(n)[:n_test].tolist())
        test = [k for i, k in enumerate(keys) if i in test_idx]
    elif method == "scene":
        scenes = sorted({k.scene for k in keys})
        if len(scenes) < 2:
            raise ValueError(f"A split by scene needs at least two scenes, found {scenes}")
        counts = {s: 0 for s in scenes}
        for k in keys:
            counts[k.scene] += 1
        target = n * test_fraction
        held: set[int] = set()
        total = 0
        for s in rng.permutation(scenes).tolist():
            if total >= target or len(held) == len(scenes) - 1:
                break
            held.add(s)
            total += counts[s]
        test = [k for k in keys if k.scene in held]
    elif method == "official":
        if root is None:
            raise ValueError("The official split needs the root holding train_list.txt and test_list.txt")
        lists = {}
        for part in ("train", "test"):
            path = Path(root) / f"{part}_list.txt"
            if not path.exists():
                raise MissingFileError(
                    f"Official split list not found: {path} (split='official' needs train_list.txt and "
                    "test_list.txt at the SEN12MS root; use split='scene' or 'random' otherwise)"
                )
            names = [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
            lists[part] = {p[0] for p in map(parse_patch_filename, (Path(x).name for x in names)) if p}
        test = [k for k in keys if k in lists["test"]]
        train = [k for k in keys if k in lists["train"]]
        if not test or not train:
            raise ValueError(
                f"The official lists in {root} name {len(train)} training and {len(test)} test patches "
                "of this season; both must be non-empty"
            )
        return train, test
    else:
        raise ValueError(f"Unknown split method {method!r}; choose one of {list(SPLIT_METHODS)}")
    test_set = set(test)
    train = [k for k in keys if k not in test_set]
    return train, test


def subsample(keys: Sequence[PatchKey], n: int | None, seed: int = 0, what: str = "split") -> list[PatchKey]:
    """A seeded subset of ``n`` keys, nested across ``n`` (a prefix of one permutation).

    Raises:
        ValueError: ``n`` larger than the number of keys, or not positive.
    """
    if n is None:
        return list(keys)
    if n <= 0:
        raise ValueError(f"Invalid number of samples {n!r}; must be > 0")
    if n > len(keys):
        raise ValueError(f"n_samples={n} exceeds the {len(keys)} patches of the {what}")
    perm = np.random.default_rng([seed, 104729]).permutation(len(keys))[:n]
    return [keys[i] for i in sorted(perm.tolist())]


def leakage(
    train: Sequence[PatchKey],
    test: Sequence[PatchKey],
    bounds: dict[PatchKey, Sequence[float]],
) -> float:
    """Share of test patches whose footprint overlaps some training patch.

    Footprints are the GeoTIFF bounds (left, bottom, right, top); patches of
    different scenes never overlap (each scene has its own CRS). Vectorised per
    scene.
    """
    if not test:
        return 0.0
    by_scene: dict[int, list[Sequence[float]]] = {}
    for k in train:
        by_scene.setdefault(k.scene, []).append(bounds[k])
    hits = 0
    test_by_scene: dict[int, list[Sequence[float]]] = {}
    for k in test:
        test_by_scene.setdefault(k.scene, []).append(bounds[k])
    for scene, tb in test_by_scene.items():
        if scene not in by_scene:
            continue
        a = np.asarray(tb)[:, None, :]
        b = np.asarray(by_scene[scene])[None, :, :]
        ox = np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0])
        oy = np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1])
        hits += int(((ox > 1e-6) & (oy > 1e-6)).any(axis=1).sum())
    return hits / len(test)
