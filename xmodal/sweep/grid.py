"""A study's grid: its points, each one validated config and one run folder.

Every point becomes one :class:`~xmodal.config.ExperimentConfig` and one run folder
``<runs_dir>/<study>/<point-name>-<config hash>/`` whose files :mod:`xmodal.rundir`
names and reads.

**Identity.** The config hash leaves out where the data sits (``data_root``) and takes
in what it holds (``data_fingerprint``, :mod:`xmodal.fingerprint`) and the torch thread
count (``threads``, fixed by the profiles; when a spec leaves it null the sweep fills in
``cores // jobs``). Moving or copying the data and the runs folder together therefore
keeps every run: the next sweep finds them.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xmodal.config import ConfigError, ExperimentConfig
from xmodal.sweep.spec import NOTEBOOK_CHOICES, StudyError, load_study

if TYPE_CHECKING:
    from xmodal.fingerprint import RootSummary

__all__ = ["OUTPUT_ROOM_BYTES", "StudyPoint", "grid", "notebook_points", "space_needed", "sweep_threads"]

#: Room for a run's outputs besides its checkpoint (notebook, predictions, latents).
OUTPUT_ROOM_BYTES = 64 * 2**20
#: Tensors an optimiser keeps per parameter (Adam: two moments; SGD: momentum), see :mod:`xmodal.training`.
_OPTIMIZER_STATES = {"adam": 2, "adamw": 2, "sgd": 1}


@dataclasses.dataclass(frozen=True)
class StudyPoint:
    """One experiment of a study.

    Attributes:
        study: the study's name (its folder under ``runs_dir``).
        name: readable point name, e.g. ``"baseline-s1-n200-seed0"``.
        config: the validated configuration of the run.
    """

    study: str
    name: str
    config: ExperimentConfig

    @property
    def dir_name(self) -> str:
        """``<name>-<config hash>``: the run directory under ``runs_dir/<study>``."""
        return f"{self.name}-{self.config.hash()}"


def _point_name(method: str, modalities: Sequence[str], n_train: int | None, seed: int) -> str:
    mods = "+".join(modalities)
    size = "all" if n_train is None else str(n_train)
    return f"{method}-{mods}-n{size}-seed{seed}"


def resolve_data_root(spec: Mapping[str, Any], data_root: str | os.PathLike[str] | None) -> str:
    """The absolute data root of a study: ``data_root`` when given, else the spec's ``data.root``.

    Raises:
        StudyError: a real-data study (``data: {sen12ms: true}``) without a root.
    """
    if data_root is not None:
        return str(Path(data_root).expanduser().resolve())
    root = (spec.get("data") or {}).get("root")
    if root is None:
        if (spec.get("data") or {}).get("sen12ms"):
            raise StudyError(
                f"Study {spec.get('name')!r} runs on real SEN12MS data: give its root "
                "(run_sweep(..., data_root=...) or xmodal sweep --data /path/to/SEN12MS)"
            )
        root = spec.get("base", {}).get("data_root", ExperimentConfig().data_root)
    return str(Path(root).expanduser().resolve())


def sweep_threads(jobs: int = 1) -> int:
    """Torch threads per point when a spec leaves ``threads`` null: the usable cores divided by ``jobs``.

    The value enters the run's hash (threads change the floating-point
    summation order), so the same spec run with another ``jobs`` on another
    machine makes other runs; the shipped profiles fix ``threads`` instead.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, cores // max(1, jobs))


def data_key(config: ExperimentConfig) -> tuple[str, str, str | None, bool]:
    """What determines a point's data fingerprint: root, season, cache folder, official lists."""
    return (str(Path(config.data_root).expanduser().resolve()), config.season, config.cache_dir,
            config.split == "official")


def grid(
    study: str | os.PathLike[str] | Mapping[str, Any],
    *,
    data_root: str | os.PathLike[str] | None = None,
    jobs: int = 1,
    fingerprints: bool = True,
) -> list[StudyPoint]:
    """Expand a study into its points (one validated config each).

    Every group of ``runs`` expands over its training-set sizes, seeds and, for
    the baseline, its modalities (``modalities: [[s1], [s2]]``). The data root
    is made absolute; a null ``threads`` becomes :func:`sweep_threads` of ``jobs``;
    ``data_fingerprint`` is filled from each root that can be read (a missing or
    malformed root leaves it null; the sweep refuses such roots, see
    :func:`xmodal.sweep.check_data`).

    Args:
        study: a study name, path or loaded spec (see :func:`~xmodal.sweep.load_study`).
        data_root: the SEN12MS root to use instead of the study's ``data.root``.
        jobs: points the sweep runs at once (only for a null ``threads``).
        fingerprints: fill ``data_fingerprint`` (``False``: leave it as the spec says).

    Returns:
        The points in the order of the spec; names are unique. Their hashes are
        the run folder names :func:`~xmodal.sweep.run_sweep` uses with the same ``jobs``.

    Raises:
        StudyError: duplicate points or a real-data study without a data root.
        ConfigError: a point's configuration is invalid (the message names the point).
    """
    spec = load_study(study)
    root = resolve_data_root(spec, data_root)
    base = dict(spec["base"])
    base["data_root"] = root
    if base.get("threads") is None:
        base["threads"] = sweep_threads(jobs)
    default_mods = base.get("modalities", ExperimentConfig().modalities)
    points: list[StudyPoint] = []
    seen: set[str] = set()
    for i, group in enumerate(spec["runs"]):
        method = group["method"]
        mods_list = group.get("modalities")
        if mods_list is None:
            mods_list = [default_mods]
        elif mods_list and all(isinstance(m, str) for m in mods_list):
            mods_list = [mods_list] if method != "baseline" else [[m] for m in mods_list]
        sizes = group.get("n_train", spec["n_train"])
        seeds = group.get("seeds", spec["seeds"])
        overrides = dict(group.get("set") or {})
        for mods in mods_list:
            for n in sizes:
                for seed in seeds:
                    values = {**base, **overrides, "method": method, "modalities": list(mods),
                              "n_train": n, "seed": seed}
                    if "data_root" in overrides:
                        values["data_root"] = str(Path(overrides["data_root"]).expanduser().resolve())
                    name = _point_name(method, mods, n, seed)
                    if group.get("name"):
                        name = f"{group['name']}-{name}"
                    try:
                        config = ExperimentConfig.from_dict(values)
                    except ConfigError as exc:
                        raise ConfigError(f"Study {spec['name']!r}, runs[{i}], point {name}: {exc}") from None
                    if name in seen:
                        raise StudyError(f"Study {spec['name']!r}: point {name} appears twice")
                    seen.add(name)
                    points.append(StudyPoint(spec["name"], name, config))
    if fingerprints:
        points = with_fingerprints(points, root_summaries(points, lenient=True))
    return points


def root_summaries(points: Sequence[StudyPoint], lenient: bool = False) -> dict[tuple[Any, ...], RootSummary]:
    """The summary of every distinct data root the points read (``lenient``: skip unreadable roots)."""
    from xmodal.data.errors import Sen12MSError
    from xmodal.fingerprint import inspect_root

    out: dict[tuple[Any, ...], RootSummary] = {}
    for p in points:
        key = data_key(p.config)
        if key in out or (lenient and not Path(key[0]).is_dir()):
            continue
        root, season, cache_dir, lists = key
        try:
            out[key] = inspect_root(root, season, cache_dir=cache_dir, official_lists=lists)
        except Sen12MSError:
            if not lenient:
                raise
    return out


def with_fingerprints(points: Sequence[StudyPoint], roots: Mapping[tuple[Any, ...], RootSummary]) -> list[StudyPoint]:
    """The points with ``data_fingerprint`` filled from ``roots`` where the spec left it null."""
    out = []
    for p in points:
        summary = roots.get(data_key(p.config))
        if summary is not None and p.config.data_fingerprint is None:
            p = dataclasses.replace(p, config=p.config.replace(data_fingerprint=summary.fingerprint))
        out.append(p)
    return out


def notebook_points(points: Sequence[StudyPoint], which: str) -> list[StudyPoint]:
    """The points whose executed notebook a ``process`` sweep renders (see :data:`~xmodal.sweep.NOTEBOOK_CHOICES`).

    ``first-seed``: of the points that differ only in their seed and training-set size (one
    method, sensors and settings) and include the whole training split, the one with the
    smallest seed on the whole split: one notebook per model of Figure 2 and its ablations.
    """
    if which not in NOTEBOOK_CHOICES:
        raise StudyError(f"Invalid 'notebooks' {which!r}; choose one of {list(NOTEBOOK_CHOICES)}")
    if which == "all":
        return list(points)
    if which == "none":
        return []
    first: dict[str, StudyPoint] = {}
    for p in points:
        if p.config.n_train is not None:
            continue
        key = p.config.replace(seed=0).hash()  # the same model but for its seed
        if key not in first or p.config.seed < first[key].config.seed:
            first[key] = p
    chosen = {p.name for p in first.values()}
    return [p for p in points if p.name in chosen]


_space_cache: dict[tuple[Any, ...], int] = {}


def space_needed(config: ExperimentConfig) -> int:
    """Bytes of free disk a run of ``config`` needs at its peak.

    Its checkpoint (float32 weights and the optimiser's state, counted on a
    model built on torch's ``meta`` device, i.e. without memory), twice (the
    new checkpoint is written beside the old one, then replaces it), plus
    :data:`OUTPUT_ROOM_BYTES` for the notebook, predictions and latents.
    """
    key = (config.backbone, config.backbone_width, tuple(config.modalities), config.latent_dim,
           tuple(config.merge_hidden), config.classifier_hidden, config.modality_hidden, config.label_scheme,
           config.optimizer)
    if key not in _space_cache:
        import torch

        from xmodal.data import MODALITIES
        from xmodal.data.labels import n_classes
        from xmodal.training import build_model

        with torch.device("meta"):
            net = build_model(config, {m: MODALITIES[m] for m in config.modalities}, n_classes(config.label_scheme))
        n_params = sum(p.numel() for p in net.parameters())
        checkpoint = 4 * n_params * (1 + _OPTIMIZER_STATES.get(config.optimizer, 2))
        _space_cache[key] = 2 * checkpoint + OUTPUT_ROOM_BYTES
    return _space_cache[key]
