"""The SEN12MS dataset: Sentinel-1, Sentinel-2 and MODIS land cover patches."""

from __future__ import annotations

import json
import os
import warnings
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch.utils.data import Dataset

from .cache import PackedCache, Problem, decode_patch, scan_season
from .clouds import select_patches
from .errors import ERRORS_BY_NAME, LabelCodeError, LabelCodeWarning, RootError, Sen12MSError, Sen12MSWarning
from .labels import (
    INVALID_CODE_MAX_SHARE,
    LABEL_SCHEMES,
    CodeCounts,
    check_label_codes,
    class_names,
    invalid_code_note,
    label_codes,
    n_classes,
)
from .layout import MARKER_NAME, SEASONS, SENSORS, PatchKey, patch_path, season_folder
from .normalize import PUBLISHED_STATS, SENSOR_BANDS, modality_spec
from .splits import (
    PAIRINGS,
    PAPER_TEST_FRACTION,
    SPLIT_METHODS,
    carve_validation,
    leakage,
    make_split,
    partition_scenes,
    read_official_lists,
    subsample,
)

__all__ = ["Sen12MS", "describe_root", "check_root", "FileProblem", "MARKER_NAME", "split_leakage",
           "NORMALIZATIONS", "BAD_PATCH_CHOICES"]

#: Values of ``Sen12MS(normalization=...)``: published SEN12MS statistics, or the training split's own.
NORMALIZATIONS: tuple[str, ...] = ("sen12ms", "dataset")
#: Values of ``Sen12MS(bad_patch=...)``: raise on the first bad patch, or skip (and list) them.
BAD_PATCH_CHOICES: tuple[str, ...] = ("raise", "skip")
# The private names xmodal.config imported before these were public; kept so it keeps working.
_NORMALIZATIONS = NORMALIZATIONS
_BAD_PATCH = BAD_PATCH_CHOICES
#: Patches used at most to compute dataset statistics (enough for 4 significant digits).
_STATS_SAMPLE = 2000


class Sen12MS(Dataset):
    """SEN12MS patches of one modality, with soft land-cover labels.

    SEN12MS (Schmitt et al., 2019, ISPRS Annals IV-2/W7) holds 180,662 triplets
    of co-registered 256 x 256 px patches at 10 m: Sentinel-1 dual-pol SAR (VV,
    VH sigma0 in dB, float32), Sentinel-2 Level-1C (13 bands, reflectance x
    10000, uint16) and MODIS land cover (IGBP, LCCS-LC, LCCS-LU, LCCS-SH at 500 m
    resampled to 10 m), in four seasons, cut with stride 128 from 252 scenes
    ("ROIs") worldwide. The paper uses the winter season (31,825 patches).

    Each item is ``(x, y)``: ``x`` a float32 tensor ``[C, H, W]`` of the chosen
    modality's bands, cleaned (S1 NaNs and clipping to [-25, 0] dB, S2 clipping
    to [0, 10000]) and z-scored; ``y`` the soft label, the relative histogram of
    the simplified IGBP classes of the patch (``label_scheme`` "dfc9": nine
    classes, Savanna ignored; "dfc10": ten).

    Land-cover values outside IGBP 1..17 (0, 18..255) are checked per patch
    against :data:`~xmodal.data.labels.INVALID_CODE_MAX_SHARE`: a patch with a
    small share of them keeps the label of its valid pixels (renormalised) and is
    named in a :class:`~xmodal.data.errors.LabelCodeWarning` and in
    :attr:`label_code_patches`; a patch with more (or with values above 255) is a
    bad patch (:class:`~xmodal.data.errors.LabelCodeError`).

    Bad patches, unlabelled patches (e.g. pure savanna under dfc9) and, for the
    official split with ``bad_patch="skip"``, listed patches with no file are
    reported in :attr:`skipped_patches` (JSON-able dicts) and :attr:`skipped`.
    Both describe the whole season of the root, so every split and modality of
    one root lists the same skipped patches.

    The GeoTIFFs are decoded once into a packed, memory-mapped cache
    (:class:`~xmodal.data.cache.PackedCache`); ``__getitems__`` serves whole
    batches from it with vectorised indexing. Datasets built with the same
    root, season, split, split_method, test_fraction, seed, n_samples and
    label_scheme list the same patches in the same order whatever the modality,
    so ``ds_s1[i]`` and ``ds_s2[i]`` are an aligned pair (given the same cloud
    filters and pairing ``"aligned"``).

    With ``pairing="disjoint"`` the training split's scenes are partitioned between
    ``pairing_modalities`` (:func:`~xmodal.data.splits.partition_scenes`, seeded by
    ``seed``): the training set of a modality holds only the patches of its own
    scenes, and ``"dataset"`` normalisation statistics come from those patches
    alone. The test split (and ``"all"``) is the same for every pairing.

    With ``val_fraction`` > 0, whole scenes of the training split are held out as the
    ``"val"`` split (:func:`~xmodal.data.splits.carve_validation`, seeded by ``seed``), before
    the pairing's partition: the training split loses them, the validation split is aligned
    (every sensor reads the same patches, as in the test split) and the test split is unchanged.

    Args:
        root: SEN12MS root in the official layout
            (``ROOT/ROIs2017_winter/s1_<scene>/ROIs2017_winter_s1_<scene>_p<patch>.tif``).
        season: "spring", "summer", "fall" or "winter".
        modality: "s1", "s2" (10 bands), "s2all" (13 bands) or "rgb".
        split: "train", "val" (with ``val_fraction`` > 0), "test" or "all".
        split_method: "scene" (no overlap across sets), "random" (a reading of the paper's) or
            "official" (``train_list.txt``/``test_list.txt`` at the root).
        test_fraction: share held out for testing (the paper: 4000/31825).
        val_fraction: share of the training patches held out, by whole scenes, for validation.
        seed: seeds the split and the subsample.
        n_samples: keep this many patches of the split (nested across sizes).
        label_scheme: "dfc9" or "dfc10".
        patch_size: side in pixels (area-averaged from the stored patches).
        normalization: "sen12ms" (published statistics) or "dataset" (computed
            on the training split of this root).
        cache: use the packed cache (False decodes every item from its GeoTIFF).
        cache_dir: folder of the cache (default ``<root>/.xmodal_cache``).
        bad_patch: "raise" on the first bad patch, or "skip" bad patches and
            report them in :attr:`skipped_patches` and a warning.
        progress: progress bar while the cache is built.
        pairing: "aligned" (every modality trains on the whole training split) or
            "disjoint" (each trains on scenes of its own, see above).
        pairing_modalities: the modalities the training scenes are partitioned
            between (pairing "disjoint"), in the config's order; must hold ``modality``.
        max_cloud_cover: keep only patches whose cloud cover (from the cloud masks
            or cover list, see :mod:`xmodal.data.clouds`) is at most this (0..1).
        cloudy_list: leave out the patches of this cloudy-patch list (a text file
            of patch ids or file names, or a list of them).

    The cloud filters apply to the chosen split after splitting (and the
    pairing's partition) and before ``n_samples``: the split does not depend on them.

    Attributes:
        skipped_patches: the patches left out, as JSON-able dicts ``{"patch": id,
            "file": path, "error": name, "reason": message}``; ``error`` is the
            :class:`~xmodal.data.errors.Sen12MSError` subclass name (e.g.
            ``"CorruptFileError"``, ``"LabelCodeError"``, ``"MissingFileError"``)
            or ``"unlabelled"`` for a patch with no pixel of a kept class;
            ``file`` is the file at fault (the LC file for label problems, the
            list file for a listed patch with no file).
        skipped: the same as ``(patch id, message)`` pairs.
        label_code_patches: the patches kept despite a few values outside IGBP
            1..17, as JSON-able dicts ``{"patch": id, "file": LC path, "codes":
            [int, ...], "share": float}``.
        train_keys, val_keys, test_keys: the split (the same for every modality and pairing;
            ``val_keys`` is empty without ``val_fraction``).
        train_part: the training patches of this modality: ``train_keys``, or
            with pairing "disjoint" the patches of its own scenes (before the cloud
            filters and ``n_samples``).

    Raises:
        Sen12MSError: (subclasses) naming the file and the problem.

    Warns:
        LabelCodeWarning: patches kept with a few non-IGBP land-cover values.
        SplitListWarning: official split lists with a repeated patch (or, with
            ``bad_patch="skip"``, a missing one).
        Sen12MSWarning: ``"Skipped N SEN12MS patch(es) ..."`` when patches are left out (a
            UserWarning, as the other warnings).
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        season: str = "winter",
        modality: str = "s2",
        split: str = "train",
        split_method: str = "scene",
        test_fraction: float = PAPER_TEST_FRACTION,
        seed: int = 0,
        n_samples: int | None = None,
        label_scheme: str = "dfc9",
        patch_size: int | None = None,
        normalization: str = "sen12ms",
        cache: bool = True,
        cache_dir: str | os.PathLike[str] | None = None,
        bad_patch: str = "raise",
        progress: bool = True,
        max_cloud_cover: float | None = None,
        cloudy_list: str | os.PathLike[str] | Sequence[str] | None = None,
        pairing: str = "aligned",
        pairing_modalities: Sequence[str] | None = None,
        val_fraction: float = 0.0,
    ) -> None:
        if season not in SEASONS:
            raise ValueError(f"Unknown season {season!r}; choose one of {sorted(SEASONS)}")
        self.spec = modality_spec(modality)
        if split not in ("train", "val", "test", "all"):
            raise ValueError(f"Unknown split {split!r}; choose 'train', 'val', 'test' or 'all'")
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"Invalid val_fraction {val_fraction!r}; must be in [0, 1)")
        if split == "val" and val_fraction == 0.0:
            raise ValueError("The 'val' split needs val_fraction > 0 (the share of training scenes held out)")
        if split_method not in SPLIT_METHODS:
            raise ValueError(f"Unknown split method {split_method!r}; choose one of {list(SPLIT_METHODS)}")
        if label_scheme not in LABEL_SCHEMES:
            raise ValueError(f"Unknown label scheme {label_scheme!r}; choose one of {sorted(LABEL_SCHEMES)}")
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"Unknown normalization {normalization!r}; choose one of {list(NORMALIZATIONS)}")
        if bad_patch not in BAD_PATCH_CHOICES:
            raise ValueError(f"Invalid bad_patch {bad_patch!r}; choose 'raise' or 'skip'")
        if patch_size is not None and patch_size <= 0:
            raise ValueError(f"Invalid patch_size {patch_size!r}; must be > 0")
        if pairing not in PAIRINGS:
            raise ValueError(f"Unknown pairing {pairing!r}; choose one of {list(PAIRINGS)}")
        if pairing == "disjoint" and (pairing_modalities is None or modality not in pairing_modalities):
            raise ValueError(
                f"pairing 'disjoint' partitions the training scenes between pairing_modalities, which must "
                f"hold modality {modality!r}; got {pairing_modalities!r}"
            )
        self.root = Path(root)
        self.season = season
        self.modality = modality
        self.split = split
        self.split_method = split_method
        self.pairing = pairing
        self.label_scheme = label_scheme
        self.use_cache = cache

        self.store = PackedCache(self.root, season, patch_size, cache_dir, progress=progress)
        all_keys = self.store.keys
        counts = np.asarray(self.store.array("lc"))[self.store.rows]  # [N, 11] pixels of classes 0..10
        problems = dict(self.store.problems)
        problems.update(self._label_code_problems(all_keys, counts))
        bad = sorted(problems.items())
        if bad and bad_patch == "raise":
            pid, problem = bad[0]
            more = f" (and {len(bad) - 1} more bad patch(es); bad_patch='skip' skips them)" if len(bad) > 1 else ""
            raise ERRORS_BY_NAME.get(problem.error, Sen12MSError)(problem.message + more)
        self.skipped_patches: list[dict[str, str]] = [
            {"patch": pid, "file": p.file, "error": p.error, "reason": p.message} for pid, p in bad
        ]

        # keys with a label under this scheme (e.g. not pure savanna under dfc9) and no label problem
        keep = np.asarray(LABEL_SCHEMES[label_scheme])
        counts = counts[:, keep]
        sound = np.asarray([k.id not in problems for k in all_keys], dtype=bool)
        labelled = sound & (counts.sum(axis=1) > 0)
        for i in np.flatnonzero(sound & ~labelled):
            k = all_keys[i]
            self.skipped_patches.append({
                "patch": k.id,
                "file": str(patch_path(self.root, k, "lc")),
                "error": "unlabelled",
                "reason": f"{k.id}: no pixel of a {label_scheme} class (e.g. only savanna)",
            })
        pos = {k: i for i, k in enumerate(all_keys)}
        usable = [k for k, ok in zip(all_keys, labelled, strict=True) if ok]
        lists = None
        if split_method == "official":
            lists = read_official_lists(self.root, on_disk=self.store.on_disk, bad_patch=bad_patch)
            self.skipped_patches.extend(lists.missing)
        self.skipped: list[tuple[str, str]] = [(r["patch"], r["reason"]) for r in self.skipped_patches]
        if self.skipped:
            warnings.warn(
                f"Skipped {len(self.skipped)} SEN12MS patch(es) of {self.root}; first: {self.skipped[0][1]}",
                Sen12MSWarning,
                stacklevel=2,
            )
        if len(usable) < 2:
            raise RootError(f"{self.root}: fewer than two usable patches in season {season!r}")
        self.train_keys, self.test_keys = make_split(usable, split_method, test_fraction, seed, self.root, lists)
        self.train_keys, self.val_keys = carve_validation(self.train_keys, val_fraction, seed)
        # the training patches this modality may train on: the whole training split, or its own scenes
        self.train_part: list[PatchKey] = self.train_keys
        what = f"{split} split ({split_method})"
        if pairing == "disjoint" and pairing_modalities is not None:
            self.train_part = partition_scenes(self.train_keys, pairing_modalities, seed)[modality]
            if split == "train":
                what = f"{modality} part of the train split ({split_method}; pairing 'disjoint': scenes of its own)"
        keys = {"train": self.train_part, "val": self.val_keys, "test": self.test_keys, "all": usable}[split]
        if max_cloud_cover is not None or cloudy_list is not None:
            keys = select_patches(keys, self.root, season, max_cloud_cover=max_cloud_cover,
                                  cloudy_list=cloudy_list)
        self.keys: list[PatchKey] = subsample(keys, n_samples, seed, what=what)
        self._rows = self.store.rows[[pos[k] for k in self.keys]]
        self.ids: list[str] = [k.id for k in self.keys]
        c = counts[[pos[k] for k in self.keys]]
        self.labels: np.ndarray = (c / c.sum(axis=1, keepdims=True)).astype(np.float32)
        self.class_names = class_names(label_scheme)
        self.n_classes = n_classes(label_scheme)
        self.band_names = list(self.spec.bands)
        self.in_channels = self.spec.in_channels
        self._band_idx = np.asarray(self.spec.band_index)
        self.stats = self._statistics(normalization, [pos[k] for k in self.train_part])
        self._mean = np.asarray(self.stats["mean"], dtype=np.float32)[:, None, None]
        self._std = np.asarray(self.stats["std"], dtype=np.float32)[:, None, None]

    # -- checks ------------------------------------------------------------------
    def _label_code_problems(self, keys: Sequence[PatchKey], counts: np.ndarray) -> dict[str, Problem]:
        """Apply :data:`INVALID_CODE_MAX_SHARE` to the packed patches; warn about the ones kept.

        Args:
            keys: the packed patches.
            counts: their pixel counts of simplified classes 0..10 (0: no IGBP code).

        Returns:
            patch id -> problem for the patches with too many non-IGBP values.
            The ones kept are listed in :attr:`label_code_patches` and one
            :class:`LabelCodeWarning`.
        """
        total = counts.sum(axis=1)
        share = np.divide(counts[:, 0], total, out=np.zeros(len(total)), where=total > 0)
        problems: dict[str, Problem] = {}
        self.label_code_patches: list[dict[str, Any]] = []
        notes = []
        for i in np.flatnonzero(share > 0).tolist():  # the few patches holding non-IGBP values (ints, to index keys)
            key = keys[i]
            path = patch_path(self.root, key, "lc")
            invalid = self.store.invalid_codes.get(key.id, {})
            try:
                check_label_codes(CodeCounts(counts[i].astype(np.int64), invalid), path)
            except LabelCodeError as exc:
                problems[key.id] = Problem("LabelCodeError", str(exc), str(path))
                continue
            self.label_code_patches.append(
                {"patch": key.id, "file": str(path), "codes": sorted(invalid), "share": float(share[i])}
            )
            notes.append(invalid_code_note(path, invalid, float(share[i])))
        if notes:
            more = f"; and {len(notes) - 3} more (see Sen12MS.label_code_patches)" if len(notes) > 3 else ""
            warnings.warn(
                f"{len(notes)} SEN12MS patch(es) of {self.root} hold land-cover codes outside IGBP 1..17 on at "
                f"most {INVALID_CODE_MAX_SHARE:.0%} of their pixels (INVALID_CODE_MAX_SHARE); those pixels are "
                f"ignored and each soft label renormalised over the others: {'; '.join(notes[:3])}{more}",
                LabelCodeWarning,
                stacklevel=3,
            )
        return problems

    # -- statistics ------------------------------------------------------------
    def _statistics(self, normalization: str, train_pos: Sequence[int]) -> dict[str, Any]:
        bands = self.spec.bands
        need = [b for b in bands if normalization == "dataset" or b not in PUBLISHED_STATS]
        computed: dict[str, tuple[float, float]] = {}
        if need:
            rows = self.store.rows[np.asarray(train_pos)]
            if len(rows) > _STATS_SAMPLE:
                rows = np.sort(np.random.default_rng(0).choice(rows, _STATS_SAMPLE, replace=False))
            all_bands = SENSOR_BANDS[self.spec.sensor]
            idx = [all_bands.index(b) for b in need]
            arr = np.asarray(self.store.array(self.spec.sensor)[rows][:, idx], dtype=np.float64)
            mean = arr.mean(axis=(0, 2, 3))
            std = arr.std(axis=(0, 2, 3))
            computed = {b: (float(m), float(max(s, 1e-6))) for b, m, s in zip(need, mean, std, strict=True)}
        src = {b: ("training split" if b in computed else "published (SEN12MS)") for b in bands}
        table = {b: computed.get(b) or PUBLISHED_STATS[b] for b in bands}
        lo, hi = (-25.0, 0.0) if self.spec.sensor == "s1" else (0.0, 10000.0)
        return {
            "normalization": normalization,
            "bands": list(bands),
            "mean": [table[b][0] for b in bands],
            "std": [table[b][1] for b in bands],
            "source": src,
            "clip": [lo, hi],
            "nan_fill": lo if self.spec.sensor == "s1" else None,
        }

    # -- access ------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.keys)

    def _images(self, rows: np.ndarray) -> np.ndarray:
        if self.use_cache:
            # one fancy-indexing step (rows x bands), then z-score in place: no extra copies
            arr = self.store.array(self.spec.sensor)[np.ix_(rows, self._band_idx)].astype(np.float32)
            arr -= self._mean
            arr /= self._std
            return arr
        from .cache import _downsample, decode_patch
        from .layout import patch_path
        from .normalize import clean

        out = []
        row_to_key = {int(r): k for r, k in zip(self._rows, self.keys, strict=True)}
        for r in rows:
            key = row_to_key[int(r)]
            raw, _ = decode_patch(patch_path(self.root, key, self.spec.sensor), self.spec.sensor)
            img = _downsample(clean(self.spec.sensor, raw), self.store.side)
            if self.spec.sensor == "s2":
                img = np.rint(img)
            out.append(img[self._band_idx])
        return (np.stack(out).astype(np.float32) - self._mean) / self._std

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} patches")
        x = self._images(self._rows[[i]])[0]
        return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(self.labels[i].copy())

    def __getitems__(self, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """A whole batch at once (torch's DataLoader calls this when present)."""
        idx = np.asarray(indices, dtype=np.int64)
        rows = self._rows[idx]
        order = np.argsort(rows, kind="stable")  # sorted rows read the memmap sequentially
        if np.array_equal(order, np.arange(len(idx))):
            x = self._images(rows)
        else:
            x = np.empty((len(idx), self.in_channels, self.store.side, self.store.side), dtype=np.float32)
            x[order] = self._images(rows[order])
        return torch.from_numpy(x), torch.from_numpy(self.labels[idx])

    def images(self, indices: Sequence[int] | None = None) -> np.ndarray:
        """Normalised images of ``indices`` (all when None) as one float32 array."""
        idx = np.arange(len(self)) if indices is None else np.asarray(indices)
        return self.__getitems__(idx.tolist())[0].numpy()

    def raw(self, i: int) -> np.ndarray:
        """The cleaned (clipped, not normalised) bands of patch ``i`` of this modality."""
        return np.asarray(self.store.array(self.spec.sensor)[self._rows[i]][self._band_idx], dtype=np.float32)

    def leakage(self) -> float:
        """Share of test patches overlapping a training patch under this split."""
        pos = {k: i for i, k in enumerate(self.store.keys)}
        bounds = {k: self.store.bounds[pos[k]] for k in self.train_keys + self.test_keys}
        return leakage(self.train_keys, self.test_keys, bounds)

    def __repr__(self) -> str:
        return (f"Sen12MS(root={str(self.root)!r}, season={self.season!r}, modality={self.modality!r}, "
                f"split={self.split!r}/{self.split_method!r}, n={len(self)}, classes={self.n_classes}, "
                f"bands={self.band_names})")

    # -- display -----------------------------------------------------------------
    def plot(self, i: int, ax: Any = None) -> Any:
        """Show patch ``i``: its image (S1 VV/VH, S2 true colour) and soft label bars."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(1, 2, figsize=(7, 3.2), gridspec_kw={"width_ratios": [1, 1.3]})
        img = self.raw(i)
        if self.spec.sensor == "s1":
            show = np.clip((img[0] + 25) / 25, 0, 1)
            ax[0].imshow(show, cmap="gray")
            ax[0].set_title(f"S1 VV (dB) {self.ids[i]}", fontsize=8)
        else:
            names = self.band_names
            if all(b in names for b in ("B04", "B03", "B02")):
                rgb = np.stack([img[names.index(b)] for b in ("B04", "B03", "B02")], -1)
            else:
                rgb = np.repeat(img[:1].transpose(1, 2, 0), 3, -1)
            ax[0].imshow(np.clip(rgb / 2500.0, 0, 1))
            ax[0].set_title(f"S2 true colour {self.ids[i]}", fontsize=8)
        ax[0].axis("off")
        ax[1].barh(self.class_names, self.labels[i], color="tab:green")
        ax[1].set_xlim(0, 1)
        ax[1].invert_yaxis()
        ax[1].set_title("soft label (class histogram)", fontsize=8)
        return ax


def split_leakage(root: str | os.PathLike[str], season: str = "winter", **kwargs: Any) -> dict[str, float]:
    """Share of test patches overlapping a training patch, for the random and the scene split."""
    out = {}
    for method in ("random", "scene"):
        ds = Sen12MS(root, season, modality="s1", split="test", split_method=method, progress=False, **kwargs)
        out[method] = ds.leakage()
    return out


def describe_root(root: str | os.PathLike[str]) -> dict[str, Any]:
    """What a root holds: kind (synthetic or SEN12MS), seasons and file counts.

    Raises:
        RootError: the root does not exist or holds no season folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise RootError(f"SEN12MS root not found: {root}")
    seasons: dict[str, dict[str, int]] = {}
    for name, folder in SEASONS.items():
        sdir = root / folder
        if not sdir.is_dir():
            continue
        counts = {s: 0 for s in SENSORS}
        for scene in sdir.iterdir():
            prefix = scene.name.split("_")[0]
            if scene.is_dir() and prefix in counts:
                counts[prefix] += sum(1 for f in scene.iterdir() if f.suffix == ".tif")
        seasons[name] = counts
    if not seasons:
        raise RootError(f"{root} holds no SEN12MS season folder ({', '.join(SEASONS.values())})")
    marker = root / MARKER_NAME
    info: dict[str, Any] = {"kind": "SEN12MS", "root": str(root), "seasons": seasons}
    if marker.exists():
        meta = json.loads(marker.read_text())
        info.update(kind="synthetic", synthetic_params=meta.get("params"),
                    synthetic=dict((k, v) for k, v in meta.items() if k != "params"))
    return info


class FileProblem(NamedTuple):
    """A file of a SEN12MS root that fails a check (see :func:`check_root`)."""

    #: The file at fault (for a missing partner: the missing file).
    file: str
    #: Name of the :class:`~xmodal.data.errors.Sen12MSError` subclass, e.g. ``"CorruptFileError"``.
    error: str
    #: What is wrong, naming the file.
    problem: str


def check_root(
    root: str | os.PathLike[str],
    season: str | None = None,
    progress: bool = False,
    max_share: float = INVALID_CODE_MAX_SHARE,
) -> list[FileProblem]:
    """Open and decode every patch file of a root, and list the bad ones.

    Each S1, S2 and LC file is decoded with the reader's own checks (a GeoTIFF
    that opens and decodes, band count, data type, S1 not all NaN, LC values:
    see :data:`~xmodal.data.labels.INVALID_CODE_MAX_SHARE`); a patch missing a
    partner file and a file whose size differs from the most common size of its
    season are reported too. Nothing is written (no cache).

    Args:
        root: the SEN12MS root.
        season: one season, or None for every season folder present.
        progress: show a progress bar.
        max_share: largest share of non-IGBP land-cover values tolerated.

    Returns:
        the problems, sorted by file; empty when every file is fine.

    Raises:
        RootError: the root does not exist or holds no season folder (or not the
            one asked for).
    """
    from tqdm.auto import tqdm

    root = Path(root)
    if season is None:
        if not root.is_dir():
            raise RootError(f"SEN12MS root not found: {root}")
        seasons = [name for name, folder in SEASONS.items() if (root / folder).is_dir()]
        if not seasons:
            raise RootError(f"{root} holds no SEN12MS season folder ({', '.join(SEASONS.values())})")
    else:
        seasons = [season]
    found: list[FileProblem] = []

    def work(item: tuple[str, Path]) -> tuple[tuple[int, ...], FileProblem | None]:
        sensor, path = item
        try:
            arr, _ = decode_patch(path, sensor)
            if sensor == "lc":
                check_label_codes(label_codes(arr[0]), path, max_share)
        except Sen12MSError as exc:
            return (), FileProblem(str(path), type(exc).__name__, str(exc))
        return tuple(arr.shape[1:]), None

    for name in seasons:
        scan = scan_season(root, name)
        keys = sorted(set().union(*[set(scan[s]) for s in SENSORS]), key=lambda k: (k.scene, k.patch))
        files: list[tuple[str, Path]] = []
        for key in keys:
            have = [s for s in SENSORS if key in scan[s]]
            for sensor in SENSORS:
                if sensor not in have:
                    missing = patch_path(root, key, sensor)
                    found.append(FileProblem(str(missing), "MissingFileError",
                                             f"{patch_path(root, key, have[0])} has no partner file: {missing}"))
            files += [(s, root / scan[s][key][0]) for s in have]
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            results = list(tqdm(pool.map(work, files), total=len(files), disable=not progress,
                                desc=f"Checking {season_folder(name)}", unit="file"))
        sizes = [shape for shape, _ in results if shape]
        common = Counter(sizes).most_common(1)[0][0] if sizes else None
        for (_, path), (shape, problem) in zip(files, results, strict=True):
            if problem is not None:
                found.append(problem)
            elif shape != common:
                found.append(FileProblem(
                    str(path), "PatchSizeError",
                    f"{path}: {shape[0]}x{shape[1]} pixels, but most files of {season_folder(name)} are "
                    f"{common[0]}x{common[1]}",  # type: ignore[index]
                ))
    return sorted(found)
