"""Run folders in, models of the menu out: the one place that knows a run folder's files.

:func:`find_runs` names the run folders, :func:`load_run` reads one (through
:mod:`xmodal.rundir`), :func:`group_models` makes the menu's models (one run, or a
Baseline's one-sensor runs joined) and :func:`model_menu` its drop-downs. Runs are told
apart exactly as the config tells them apart (:meth:`xmodal.config.ExperimentConfig.identity_of`,
what the run's hash is made of): two runs the config keeps apart are two models.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from xmodal.config import METHODS, ExperimentConfig
from xmodal.data.normalize import MODALITIES

# The method label of every page (the report layer's).
from xmodal.report.selection import method_label
from xmodal.rundir import RunDir
from xmodal.rundir import find_runs as find_run_dirs

from .errors import ExplorerError

__all__ = ["MENU_FIRST", "Model", "RunRecord", "find_runs", "group_models", "load_run", "menu_value", "model_menu"]

#: Menu keys shown first, in this order; the other varying keys follow alphabetically.
MENU_FIRST = ("method", "modalities", "n_train", "seed")


@dataclass
class RunRecord:
    """What the explorer reads from one run folder.

    Attributes:
        path: the run folder.
        config: the run's ``ExperimentConfig`` as a dict (its result's config).
        class_names: names of the soft-label entries.
        metrics: per modality, macro and weighted F1 (its result's metrics).
        homogeneity: eq. (5) per sensor pair, ``"s1|s2" -> s``.
        data_root: the SEN12MS root the run read (as recorded; may be gone).
        latents_file: the latents file the arrays below come from.
        z: ``[N, D]`` latent vectors; ``labels``/``prob``: ``[N, C]`` soft labels and predicted
            probabilities; ``modality``/``ids``: ``[N]`` sensor and patch id of each row.
    """

    path: Path
    config: dict[str, Any]
    class_names: list[str]
    metrics: dict[str, dict[str, float]]
    homogeneity: dict[str, float]
    data_root: str | None
    latents_file: Path
    z: np.ndarray
    labels: np.ndarray
    prob: np.ndarray
    modality: np.ndarray
    ids: np.ndarray


def load_run(run_dir: str | Path) -> RunRecord:
    """Read one finished run folder (its result and latent vectors, through :mod:`xmodal.rundir`).

    Raises:
        ExplorerError: the run did not finish, or its files are missing or unreadable.
    """
    from xmodal.rundir import RunFolderError

    run = RunDir(run_dir)
    try:
        result = run.result()
    except RunFolderError as err:
        raise ExplorerError(f"{run.name}: no readable result ({err})") from None
    if not result.ok:
        raise ExplorerError(f"{run.name}: status {result.status!r}, not a finished run")
    if not run.has_latents():
        raise ExplorerError(f"{run.name}: no latent vectors ({run.latents_path} is missing)")
    try:
        lat = run.latents()
    except RunFolderError as err:
        raise ExplorerError(str(err)) from None
    if len(lat.z) == 0:
        raise ExplorerError(f"{run.name}: no latent vectors were saved (n_latent = 0)")
    config = dict(result.config)
    metrics: dict[str, dict[str, float]] = {
        m: {k: float(v[k]) for k in ("macro", "weighted") if k in v} for m, v in result.metrics.items()
    }
    return RunRecord(
        path=run.path, config=config, class_names=result.class_names, metrics=metrics,
        homogeneity={k: float(v) for k, v in result.homogeneity.items()},
        data_root=_resolve_root(result.data.get("root") or config.get("data_root"), run.path),
        latents_file=run.latents_path,
        z=lat.z.astype(np.float32), labels=lat.labels.astype(np.float32), prob=lat.prob.astype(np.float32),
        modality=lat.modality.astype(str), ids=lat.ids.astype(str),
    )


def _resolve_root(root: str | None, run_dir: Path) -> str | None:
    """The recorded data root, found from here when it is relative.

    A relative root (``data/quick``) is looked for from the current folder, then from
    the run folder's ancestors (``runs/<study>/<run>`` sits in the project).
    """
    if not root or Path(root).is_absolute() or Path(root).is_dir():
        return root
    for base in run_dir.resolve().parents:
        if (base / root).is_dir():
            return str(base / root)
    return root


def find_runs(source: str | Path | Iterable[str | Path]) -> list[Path]:
    """Run folders named by ``source``.

    ``source`` is a study folder (its run folders holding a result), one run folder,
    or a list of run folders.

    Raises:
        ExplorerError: if no run folder is found.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if RunDir(path).result_path.is_file():
            runs = [path]
        elif path.is_dir():
            runs = [r.path for r in find_run_dirs(path) if r.result_path.is_file()]
        else:
            raise ExplorerError(f"No such folder: {path}")
    else:
        runs = [Path(p) for p in source]
    if not runs:
        raise ExplorerError(f"No run folder (holding a finished result) in {source}")
    return runs


@dataclass
class Model:
    """What one entry of the model menu shows.

    One run, or the Baseline's one-sensor runs that differ only in their sensor
    (two separate models, embedded together).

    Attributes:
        runs: the run(s), ordered by sensor.
        config: the shared config; ``modalities`` lists every sensor of the runs.
    """

    runs: list[RunRecord]
    config: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.config:
            self.config = dict(self.runs[0].config)

    @property
    def shared_space(self) -> bool:
        """Whether all points live in one latent space (one network)."""
        return len(self.runs) == 1

    def _cat(self, name: str) -> np.ndarray:
        return np.concatenate([getattr(r, name) for r in self.runs])

    @property
    def z(self) -> np.ndarray:
        """``[N, D]`` latent vectors of all the runs, stacked in run order."""
        return self._cat("z")

    @property
    def labels(self) -> np.ndarray:
        """``[N, C]`` soft labels, rows as in :attr:`z`."""
        return self._cat("labels")

    @property
    def prob(self) -> np.ndarray:
        """``[N, C]`` predicted class probabilities, rows as in :attr:`z`."""
        return self._cat("prob")

    @property
    def modality(self) -> np.ndarray:
        """``[N]`` sensor of each row."""
        return self._cat("modality")

    @property
    def ids(self) -> np.ndarray:
        """``[N]`` patch id of each row."""
        return self._cat("ids")

    @property
    def sensors(self) -> list[str]:
        """Sensors in the order of the config's ``modalities``."""
        present = list(dict.fromkeys(self.modality.tolist()))
        order = [m for m in self.config.get("modalities", []) if m in present]
        return order + [m for m in present if m not in order]


def _model_key(config: Mapping[str, Any], drop: Iterable[str] = ()) -> str:
    """The run's identity (what its config hash is made of) without ``drop``, as a sortable string."""
    identity = ExperimentConfig.identity_of(config)
    return json.dumps({k: v for k, v in identity.items() if k not in set(drop)}, sort_keys=True, default=str)


def group_models(runs: Sequence[RunRecord]) -> list[Model]:
    """The models of the menu: one :class:`Model` per run, Baseline pairs joined.

    Baseline runs which differ only in their one sensor become one model
    ("Baseline (two models)"), as in the book's latent page.

    Models are sorted by method (the paper's order), then by the menu keys.
    """
    groups: dict[str, list[RunRecord]] = {}
    singles: list[list[RunRecord]] = []
    for run in runs:
        mods = list(run.config.get("modalities") or [])
        if run.config.get("method") == "baseline" and len(mods) == 1:
            groups.setdefault(_model_key(run.config, drop=("modalities",)), []).append(run)
        else:
            singles.append([run])
    members: list[list[RunRecord]] = []
    for group in groups.values():
        seen: dict[str, RunRecord] = {}
        for run in group:  # the same sensor twice (a copied folder): keep separate models
            mod = run.config["modalities"][0]
            if mod in seen:
                singles.append([run])
            else:
                seen[mod] = run
        members.append(list(seen.values()))
    members += singles
    models = []
    for rs in members:
        config = dict(rs[0].config)
        if len(rs) > 1:
            mods = [m for r in rs for m in r.config["modalities"]]
            order = {m: i for i, m in enumerate(MODALITIES)}
            rs = sorted(rs, key=lambda r: (order.get(r.config["modalities"][0], 9), r.config["modalities"][0]))
            config["modalities"] = sorted(mods, key=lambda m: (order.get(m, 9), m))
        models.append(Model(runs=list(rs), config=config))

    def sort_key(m: Model) -> tuple:
        method = m.config.get("method", "")
        rank = METHODS.index(method) if method in METHODS else len(METHODS)
        n_train = m.config.get("n_train")
        return (rank, method, float("inf") if n_train is None else n_train, m.config.get("seed", 0),
                _model_key(m.config), str(m.runs[0].path))

    return sorted(models, key=sort_key)


def menu_value(key: str, value: Any) -> str:
    """How a config value reads in the menu (``n_train=None`` -> ``"all"``, lists joined by ``+``).

    A method reads as every page names it (:func:`xmodal.report.selection.method_label`).
    """
    if key == "n_train" and value is None:
        return "all"
    if key == "method":
        return method_label(str(value))
    if isinstance(value, (list, tuple)):
        return "+".join(str(v) for v in value)
    return str(value)


def model_menu(configs: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """The drop-downs of the page: varying config key -> its values as they read in the menu.

    Every key of the runs' identity (:meth:`~xmodal.config.ExperimentConfig.identity_of`:
    not where or on which device a run ran) whose value varies among ``configs`` gets a
    drop-down; its values come in a natural order (methods as in the paper, numbers
    ascending, ``all`` last).
    """
    keys = sorted({k for c in configs for k in ExperimentConfig.identity_of(c)})
    varying = {}
    for key in keys:
        raw = [c.get(key) for c in configs]
        distinct = list(dict.fromkeys(json.dumps(v, sort_keys=True, default=str) for v in raw))
        if len(distinct) < 2:
            continue
        uniq: dict[str, Any] = {}
        for v in raw:
            uniq.setdefault(menu_value(key, v), v)

        def order(item: tuple[str, Any], key: str = key) -> tuple:
            label, v = item
            if key == "method" and v in METHODS:
                return (0, METHODS.index(v), 0.0, label)
            if v is None:
                return (2, 0, 0.0, label)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return (1, 0, float(v), label)
            return (1, 1, 0.0, label)

        values = [label for label, _ in sorted(uniq.items(), key=order)]
        varying[key] = values
    first = [k for k in MENU_FIRST if k in varying]
    return {k: varying[k] for k in first + sorted(set(varying) - set(first))}
