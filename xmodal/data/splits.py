"""Train/test splits of SEN12MS patches, and how much a split leaks.

SEN12MS cuts 256 px patches with a stride of 128 px, so neighbouring patches of
a scene share half their pixels. The paper splits its 31,825 winter patches
into 27,825 for training and 4,000 for testing without saying how; if the split
was drawn at random (our reading), a test patch often overlaps training patches,
and test scores are optimistic. Three methods:

- ``"random"``: that reading of the paper's split, a seeded random share
  ``test_fraction`` (default 4000/31825) of patches; proportional on smaller data.
- ``"scene"``: whole scenes (SEN12MS "ROIs") are held out until the test share
  reaches ``test_fraction`` of the patches: no scene, hence no overlapping
  patch, is in both sets. The honest default of this study.
- ``"official"``: the lists ``train_list.txt`` and ``test_list.txt`` at the
  root (one file name per line, as distributed with the SEN12MS classification
  code); S1, S2 or LC names all work, blank lines are ignored. The lists are
  checked (:func:`read_official_lists`), never trusted silently:

  ==========================================  ==============================================
  problem                                     outcome
  ==========================================  ==============================================
  a patch in both lists                       :class:`SplitListError` (a train/test leak),
                                              naming the patch and both files with lines
  a patch listed twice in one list            :class:`SplitListWarning` naming the file and
                                              both lines; the patch counts once
  a listed patch of the season read with no   :class:`MissingFileError` naming the list file
  file on disk                                and line; with ``bad_patch="skip"`` a
                                              :class:`SplitListWarning`, and the patch is
                                              reported as skipped
  a line that names no SEN12MS patch file     :class:`SplitListError` naming the file and
                                              line; with ``bad_patch="skip"`` a warning
  ==========================================  ==============================================

  Patches of other seasons in the lists are not looked for on disk (the
  official lists cover all four seasons; a root may hold only one). A patch on
  disk but in neither list is in neither set.

:func:`leakage` measures, for a split, the share of test patches whose
footprint overlaps a training patch.

A *validation* split (:func:`carve_validation`, config key ``val_fraction``) is carved from the
training split by whole scenes, whatever the split method: no validation scene keeps a training
patch. Every choice of the study (a hyperparameter, a stopping epoch, a threshold) is made on it;
the test split is read only by the final evaluation. Under ``"scene"`` (and official lists that
keep scenes apart) no scene is in two of train, validation and test; under ``"random"`` the test
split shares scenes with both by design (that is the leak it models), while validation and
training still share none.

How the sensors share the training split is the *pairing* (:data:`PAIRINGS`):

- ``"aligned"``: every sensor trains on the same patches (each place is seen by
  every sensor).
- ``"disjoint"``: the training scenes are partitioned between the sensors
  (:func:`partition_scenes`), so no place is seen by two sensors in training;
  the test split stays aligned (every test patch is read by every sensor).
"""

from __future__ import annotations

import warnings
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .errors import MissingFileError, SplitListError, SplitListWarning
from .layout import PatchKey, parse_patch_filename

__all__ = [
    "SPLIT_METHODS", "OfficialLists", "read_official_lists", "make_split", "subsample", "leakage",
    "PAPER_TEST_FRACTION", "PAIRINGS", "partition_scenes", "carve_validation", "scene_sets",
]

SPLIT_METHODS = ("random", "scene", "official")
#: How the sensors share the training split: the same patches, or scenes of their own (see the module docstring).
PAIRINGS = ("aligned", "disjoint")
#: The paper's split sizes: 4,000 of 31,825 winter patches for testing (how they were drawn is not stated).
PAPER_TEST_FRACTION = 4000 / 31825


def _check_fraction(test_fraction: float) -> None:
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"Invalid test_fraction {test_fraction!r}; must be in (0, 1)")


#: How many problems of one kind a message spells out before "and N more".
_SHOW = 3


class OfficialLists(NamedTuple):
    """The checked official split lists (see :func:`read_official_lists`)."""

    #: Listed training patch -> its (first) line number in :attr:`train_path`.
    train: dict[PatchKey, int]
    #: Listed test patch -> its (first) line number in :attr:`test_path`.
    test: dict[PatchKey, int]
    train_path: Path
    test_path: Path
    #: Listed patches with no file on disk (only with ``bad_patch="skip"``), as
    #: ``{"patch", "file", "error", "reason"}`` dicts (``file`` is the list file).
    missing: list[dict[str, str]]


def _more(n: int) -> str:
    return f" (and {n - _SHOW} more)" if n > _SHOW else ""


def read_official_lists(
    root: str | Path,
    on_disk: Collection[PatchKey] | None = None,
    bad_patch: str = "raise",
) -> OfficialLists:
    """Read and check ``train_list.txt`` and ``test_list.txt`` at ``root`` (see the module docstring).

    Args:
        root: the SEN12MS root holding the lists.
        on_disk: the patches that have files under ``root`` (any sensor); listed
            patches of their season(s) that are not among them are missing. None
            skips that check.
        bad_patch: "raise" (a missing listed patch or an unreadable line is an
            error) or "skip" (a :class:`SplitListWarning`, and missing patches are
            returned in :attr:`OfficialLists.missing`).

    Raises:
        MissingFileError: a list is absent, or (``bad_patch="raise"``) names a
            patch with no file, naming the list file and line.
        SplitListError: a patch in both lists (always), or (``bad_patch="raise"``)
            a line that names no SEN12MS patch file.

    Warns:
        SplitListWarning: a patch listed twice in one list; with
            ``bad_patch="skip"``, missing patches and unreadable lines.
    """
    entries: dict[str, dict[PatchKey, int]] = {}
    paths: dict[str, Path] = {}
    unreadable: list[str] = []
    for part in ("train", "test"):
        path = Path(root) / f"{part}_list.txt"
        if not path.exists():
            raise MissingFileError(
                f"Official split list not found: {path} (split='official' needs train_list.txt and "
                "test_list.txt at the SEN12MS root; use split='scene' or 'random' otherwise)"
            )
        paths[part] = path
        seen: dict[PatchKey, int] = {}
        repeats: list[str] = []
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            name = line.strip()
            if not name:
                continue
            parsed = parse_patch_filename(Path(name).name)
            if parsed is None:
                unreadable.append(f"{path}, line {number}: {name!r}")
                continue
            key = parsed[0]
            if key in seen:
                repeats.append(f"line {number} repeats {key.id} of line {seen[key]}")
            else:
                seen[key] = number
        if repeats:
            warnings.warn(
                f"{path}: {len(repeats)} duplicate line(s), each patch counts once: "
                + "; ".join(repeats[:_SHOW]) + _more(len(repeats)),
                SplitListWarning,
                stacklevel=3,
            )
        entries[part] = seen
    train, test = entries["train"], entries["test"]
    both = sorted(set(train) & set(test), key=lambda k: (k.season_folder, k.scene, k.patch))
    if both:
        where = "; ".join(
            f"{k.id} ({paths['train'].name} line {train[k]}, {paths['test'].name} line {test[k]})" for k in both[:_SHOW]
        )
        raise SplitListError(
            f"{len(both)} patch(es) are in both {paths['train']} and {paths['test']}, a train/test leak: "
            f"{where}{_more(len(both))}; remove each from one of the lists"
        )
    if unreadable:
        msg = (f"{len(unreadable)} line(s) of the official split lists name no SEN12MS patch file "
               f"(expected e.g. ROIs2017_winter_s2_1_p30.tif): {'; '.join(unreadable[:_SHOW])}"
               f"{_more(len(unreadable))}")
        if bad_patch != "skip":
            raise SplitListError(msg + "; fix the lists, or pass bad_patch='skip' to ignore those lines")
        warnings.warn(msg + "; those lines are ignored", SplitListWarning, stacklevel=3)
    missing: list[dict[str, str]] = []
    if on_disk is not None:
        present = set(on_disk)
        seasons = {k.season_folder for k in present}
        for part in ("train", "test"):
            for key, number in entries[part].items():
                if key.season_folder in seasons and key not in present:
                    missing.append({
                        "patch": key.id,
                        "file": str(paths[part]),
                        "error": "MissingFileError",
                        "reason": f"{paths[part]}, line {number}: lists {key.id}, which has no file under {root}",
                    })
        if missing:
            text = "; ".join(m["reason"] for m in missing[:_SHOW]) + _more(len(missing))
            if bad_patch != "skip":
                raise MissingFileError(
                    f"{len(missing)} patch(es) of the official split lists have no file: {text}; restore the "
                    "files, fix the lists, or pass bad_patch='skip' to leave them out"
                )
            warnings.warn(
                f"{len(missing)} patch(es) of the official split lists have no file and are left out: {text}",
                SplitListWarning,
                stacklevel=3,
            )
    return OfficialLists(train, test, paths["train"], paths["test"], missing)


def make_split(
    keys: Sequence[PatchKey],
    method: str = "scene",
    test_fraction: float = PAPER_TEST_FRACTION,
    seed: int = 0,
    root: str | Path | None = None,
    lists: OfficialLists | None = None,
    bad_patch: str = "raise",
) -> tuple[list[PatchKey], list[PatchKey]]:
    """Split patch keys into (train, test), each sorted by (scene, patch).

    Args:
        keys: all usable patches.
        method: "random", "scene" or "official" (see module docstring).
        test_fraction: share of patches held out (random, scene).
        seed: seeds the random choice.
        root: the SEN12MS root holding the official lists (method "official").
        lists: the official lists already read by :func:`read_official_lists`
            (method "official"); None reads them from ``root``, taking ``keys``
            as the patches on disk.
        bad_patch: passed to :func:`read_official_lists` when it is called here.

    Raises:
        ValueError: unknown method or bad fraction; MissingFileError,
            SplitListError: see :func:`read_official_lists`.
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
        if lists is None:
            if root is None:
                raise ValueError("The official split needs the root holding train_list.txt and test_list.txt")
            lists = read_official_lists(root, on_disk=keys, bad_patch=bad_patch)
        test = [k for k in keys if k in lists.test]
        train = [k for k in keys if k in lists.train]
        if not test or not train:
            raise ValueError(
                f"The official lists in {lists.train_path.parent} name {len(train)} training and {len(test)} "
                "test patches of this season; both must be non-empty"
            )
        return train, test
    else:
        raise ValueError(f"Unknown split method {method!r}; choose one of {list(SPLIT_METHODS)}")
    test_set = set(test)
    train = [k for k in keys if k not in test_set]
    return train, test


def carve_validation(
    train: Sequence[PatchKey], val_fraction: float, seed: int = 0
) -> tuple[list[PatchKey], list[PatchKey]]:
    """Hold out whole scenes of a training split for validation: ``(train, val)``, each in ``train``'s order.

    Scenes are drawn in a seeded order until the validation patches reach ``val_fraction`` of
    the training patches, always leaving at least one training scene. Every patch goes with its
    scene, so no scene is in both parts. ``val_fraction`` 0 returns ``(train, [])``.

    Args:
        train: the training split (any split method).
        val_fraction: share of the training patches to hold out, in [0, 1).
        seed: seeds the order of the scenes (the run's ``data_seed``).

    Raises:
        ValueError: a fraction outside [0, 1), or a positive fraction of a split with fewer
            than two scenes.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"Invalid val_fraction {val_fraction!r}; must be in [0, 1)")
    keys = list(train)
    if val_fraction == 0.0:
        return keys, []
    scenes = sorted({k.scene for k in keys})
    if len(scenes) < 2:
        raise ValueError(
            f"A validation split takes whole scenes from the training split, which has {len(scenes)} scene(s) "
            f"{scenes}; use more scenes (a smaller test_fraction or more data) or val_fraction 0"
        )
    counts = {s: 0 for s in scenes}
    for k in keys:
        counts[k.scene] += 1
    target = len(keys) * val_fraction
    held: set[int] = set()
    total = 0
    for s in np.random.default_rng([seed, 32452843]).permutation(scenes).tolist():
        if total >= target or len(held) == len(scenes) - 1:
            break
        held.add(s)
        total += counts[s]
    return [k for k in keys if k.scene not in held], [k for k in keys if k.scene in held]


def scene_sets(**parts: Sequence[PatchKey]) -> dict[str, set[tuple[str, int]]]:
    """The scenes (season folder, scene) of each named part of a split, e.g. ``scene_sets(train=..., val=...)``."""
    return {name: {(k.season_folder, k.scene) for k in keys} for name, keys in parts.items()}


def partition_scenes(
    keys: Sequence[PatchKey], modalities: Sequence[str], seed: int = 0
) -> dict[str, list[PatchKey]]:
    """Partition the scenes of ``keys`` (a training split) between ``modalities``: pairing ``"disjoint"``.

    The scenes are shuffled with ``seed`` and dealt round-robin in the order of
    ``modalities``, so each modality gets ``floor`` or ``ceil`` of ``1/M`` of the
    scenes (their patch counts follow the scenes' sizes) and no scene goes to two
    modalities. Every patch goes with its scene; each part keeps the order of ``keys``.

    Args:
        keys: the patches to partition (the training split).
        modalities: the sensors, in the config's order (distinct).
        seed: seeds the shuffle of the scenes.

    Returns:
        modality -> its patches, for every modality of ``modalities``.

    Raises:
        ValueError: no or repeated modalities, or fewer scenes than modalities.
    """
    mods = list(modalities)
    if not mods or len(set(mods)) != len(mods):
        raise ValueError(f"partition_scenes: need distinct modalities, got {mods}")
    scenes = sorted({k.scene for k in keys})
    if len(scenes) < len(mods):
        raise ValueError(
            f"pairing 'disjoint' gives every modality scenes of its own, but the training split has "
            f"{len(scenes)} scene(s) {scenes} for {len(mods)} modalities {mods}; use more scenes "
            "(a smaller test_fraction or more data) or pairing 'aligned'"
        )
    order = np.random.default_rng([seed, 15485863]).permutation(len(scenes)).tolist()
    owner = {scenes[j]: mods[i % len(mods)] for i, j in enumerate(order)}
    parts: dict[str, list[PatchKey]] = {m: [] for m in mods}
    for k in keys:
        parts[owner[k.scene]].append(k)
    return parts


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
