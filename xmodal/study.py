r"""Studies: a grid of experiments run through one parameterised notebook, resumably.

A *study* is a YAML file (``xmodal/studies/{quick,default,paper}.yaml`` or any
path) that says which data to use and which points to train: the paper's
ablations (Baseline on S1 and on S2, C, C+M, C+T, C+T+M), training-set sizes
(Figure 3) and seeds. Every point becomes one validated
:class:`~xmodal.config.ExperimentConfig` and one run folder
``<runs_dir>/<study>/<point-name>-<config hash>/`` whose files
:mod:`xmodal.rundir` names and reads (the executed notebook, the result, the
checkpoint, predictions, latents, and an error record only when the point failed).

**Identity.** The config hash leaves out where the data sits (``data_root``) and
takes in what it holds (``data_fingerprint``, :mod:`xmodal.fingerprint`) and the
torch thread count (``threads``, fixed by the profiles; when a spec leaves it
null the sweep fills in ``cores // jobs``). Moving or copying the data and the
runs folder together therefore keeps every run: the next sweep finds them.

**Running.** :func:`run_sweep` checks the data root up front (layout, season
folder, S1/S2/LC files paired, the synthetic marker complete; one clear error
before any kernel starts), then executes every pending point with papermill
(``notebooks/experiment.ipynb``), ``jobs`` at a time, each in its own Jupyter
kernel. A finished point is never redone; a failing point leaves its error
record and the sweep goes on; a point held by another sweep (its run folder's
lock) is reported as running elsewhere and does not count as a failure. Before a
point starts, leftovers of killed processes are removed from its folder and the
free space is checked against what a run needs (its checkpoint with optimiser
state, a second copy while that is replaced, and its outputs).

**Stopping.** Ctrl-C (SIGINT) or SIGTERM stops the sweep at once: points not
started are dropped, running points' kernels are killed, their partial notebooks
removed and no error is recorded for them (their checkpoints stay, so they resume
from their last epoch); :class:`SweepInterrupted` says in one line what finished,
what stopped and what never started. Every file is written atomically
(:mod:`xmodal.atomic`), so even ``kill -9`` loses no finished run; running the
same command again continues.

Study file format::

    name: quick                   # the folder under runs_dir
    description: one line shown in the book
    data:
      synthetic: {n_scenes: 4, patches_per_side: 3, patch_size: 32, seed: 0}  # make_synthetic kwargs
      root: data/quick            # the data root (``--data`` overrides it)
      # or, for real data:  sen12ms: true  (and no ``synthetic``: a root must be given)
    base: {backbone: resnet18, epochs: 2, threads: 1}   # ExperimentConfig values shared by all points
    seeds: [0]
    n_train: [null]               # default training-set sizes (null = the whole split)
    runs:                         # groups; each expands over its sizes x seeds (x modalities)
      - {method: baseline, modalities: [[s1], [s2]], n_train: [16, 32]}
      - {method: C+T+M, n_train: [16, 32]}
      - {method: C+M, set: {alpha: 0.5}}     # ``set`` overrides config values of one group

Running on a cluster (one Slurm array task per pending point)::

    xmodal sweep --study paper --data /scratch/SEN12MS --print-commands > points.txt
    sbatch --array=1-$(wc -l < points.txt) --gres=gpu:1 --cpus-per-task=8 --time=12:00:00 \
        --wrap 'eval "$(sed -n "${SLURM_ARRAY_TASK_ID}p" points.txt)"'
    # afterwards (or whenever): the same command without --print-commands skips the
    # finished points and reports the failed ones; ``xmodal results --study paper``
    # aggregates them.

``--print-commands`` writes each pending point's notebook parameters into its run
folder and prints one command per point, ``<python> -m xmodal.cli run-point
<run folder> --notebook ... --kernel ...`` with the absolute path of the Python
that ran the sweep, so it works without an activated virtual environment.
:func:`run_point` (``xmodal run-point``) runs that one point exactly as the
sweep would (same checks, lock, error record, interruption), so its failures show
up in ``xmodal results`` like any other.

The notebook is found at ``notebooks/experiment.ipynb`` next to the ``xmodal``
package folder (a repository checkout or an editable install); elsewhere set the
environment variable ``XMODAL_NOTEBOOK`` or pass ``notebook=`` to
:func:`run_sweep`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import math
import os
import re
import shlex
import shutil
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from xmodal import atomic
from xmodal.atomic import DiskFullError
from xmodal.config import ConfigError, ExperimentConfig
from xmodal.errors import XmodalError
from xmodal.rundir import RunDir, RunError, read_json, study_meta_path
from xmodal.workers import EXECUTORS, WorkerPool

if TYPE_CHECKING:

    from xmodal.fingerprint import RootSummary

__all__ = [
    "StudyError",
    "StudyPoint",
    "SweepInterrupted",
    "STUDIES_DIR",
    "STUDY_NAMES",
    "load_study",
    "grid",
    "sweep_threads",
    "check_data",
    "notebook_path",
    "check_parameters",
    "aligned_examples",
    "space_needed",
    "run_sweep",
    "run_point",
    "point_status",
]

#: Folder of the study specs shipped with the package.
STUDIES_DIR = Path(__file__).resolve().parent / "studies"
#: The profiles shipped with the package.
STUDY_NAMES: tuple[str, ...] = ("quick", "default", "paper")
#: Name of the experiment notebook in the repository (``notebooks/<name>``).
NOTEBOOK_NAME = "experiment.ipynb"
#: Environment variable that points at the experiment notebook (installed packages).
NOTEBOOK_ENV = "XMODAL_NOTEBOOK"
#: Lines of traceback kept in a run's error record.
TRACEBACK_LINES = 40
#: Room for a run's outputs besides its checkpoint (notebook, predictions, latents).
OUTPUT_ROOM_BYTES = 64 * 2**20
#: Tensors an optimiser keeps per parameter (Adam: two moments; SGD: momentum), see ``xmodal.training``.
_OPTIMIZER_STATES = {"adam": 2, "adamw": 2, "sgd": 1}
#: Seconds between two looks of the sweep's main thread at its points (and at a stop request).
_POLL_SECONDS = 0.2
#: What a point's status means, as the summary says it.
_STATUS_TEXT = {
    "ok": "ok",
    "failed": "failed",
    "busy": "running in another sweep",
    "interrupted": "stopped (resumable)",
    "not started": "not started",
    "no space": "not started (disk full)",
}

_TOP_KEYS = {"name", "description", "data", "base", "seeds", "n_train", "runs", "executor", "notebooks"}

#: Which points get an executed notebook when the ``process`` executor trained them: every
#: point, those of the first seed of their group, or none (the notebook executor makes every one).
NOTEBOOK_CHOICES: tuple[str, ...] = ("all", "first-seed", "none")  # first-seed: of every method

#: File in a study's folder: each point's job time and how it ran (``sweep`` writes it).
SWEEP_TIMES_FILE = "sweep-times.json"
_GROUP_KEYS = {"method", "modalities", "n_train", "seeds", "set", "name"}
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

# The results section below reads and writes through these (xmodal.rundir / xmodal.atomic).
_read_json = read_json
_atomic_write_text = atomic.write_text


class StudyError(XmodalError, ValueError):
    """A study file or a sweep request is invalid; the message names the file or value."""


class SweepInterrupted(KeyboardInterrupt):
    """A sweep stopped by SIGINT or SIGTERM; the message says what finished, stopped and never started.

    Attributes:
        signum: the signal that stopped it.
        counts: points per status (``ok``, ``interrupted``, ``not started``, ...).
    """

    def __init__(self, message: str, signum: int, counts: Mapping[str, int]) -> None:
        super().__init__(message)
        self.signum = signum
        self.counts = dict(counts)

    @property
    def exit_code(self) -> int:
        """``128 + signal number``: 130 for Ctrl-C, 143 for SIGTERM (the shell's convention)."""
        return 128 + self.signum

    def __str__(self) -> str:
        return str(self.args[0])


# ---------------------------------------------------------------------------
# study specs
# ---------------------------------------------------------------------------
def _study_file(name_or_path: str | os.PathLike[str]) -> Path:
    s = str(name_or_path)
    if s in STUDY_NAMES or (not s.endswith((".yaml", ".yml")) and (STUDIES_DIR / f"{s}.yaml").is_file()):
        return STUDIES_DIR / f"{s}.yaml"
    p = Path(s)
    if p.is_file():
        return p
    raise StudyError(
        f"Unknown study {s!r}: not one of {list(STUDY_NAMES)} and no such file"
    )


def load_study(name_or_path: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, Any]:
    """Read and check a study spec.

    Args:
        name_or_path: ``"quick"``, ``"default"``, ``"paper"``, a path to a YAML
            file, or an already loaded mapping.

    Returns:
        The spec as a dict with every top-level key present (``name``,
        ``description``, ``data``, ``base``, ``seeds``, ``n_train``, ``runs``)
        and ``source`` (the file it came from, or ``None``).

    Raises:
        StudyError: the file is missing or a key or value is invalid (the
            message names the file and the key).
        ConfigError: a ``base`` or ``set`` value is not a valid config value.
    """
    import yaml

    if isinstance(name_or_path, Mapping):
        raw: Any = dict(name_or_path)
        source = raw.get("source")
    else:
        path = _study_file(name_or_path)
        try:
            raw = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise StudyError(f"Study file {path} is not valid YAML: {exc}") from None
        source = str(path)
    where = source or "study mapping"
    if not isinstance(raw, dict):
        raise StudyError(f"Study file {where} must hold a mapping, got {type(raw).__name__}")
    unknown = sorted(set(raw) - _TOP_KEYS - {"source"})
    if unknown:
        raise StudyError(f"Study file {where}: unknown key(s) {unknown}; valid keys are {sorted(_TOP_KEYS)}")
    spec: dict[str, Any] = {
        "name": raw.get("name") or (Path(source).stem if source else None),
        "description": raw.get("description", ""),
        "data": dict(raw.get("data") or {}),
        "base": dict(raw.get("base") or {}),
        "seeds": list(raw.get("seeds") or [0]),
        "n_train": list(raw.get("n_train") or [None]),
        "runs": list(raw.get("runs") or []),
        "executor": raw.get("executor") or "notebook",
        "notebooks": raw.get("notebooks") or "all",
        "source": source,
    }
    if spec["executor"] not in EXECUTORS:
        raise StudyError(
            f"Study file {where}: invalid 'executor' {spec['executor']!r}; choose one of {list(EXECUTORS)}")
    if spec["notebooks"] not in NOTEBOOK_CHOICES:
        raise StudyError(
            f"Study file {where}: invalid 'notebooks' {spec['notebooks']!r}; choose one of {list(NOTEBOOK_CHOICES)}")
    if not spec["name"] or not re.fullmatch(r"[\w.+-]+", str(spec["name"])):
        raise StudyError(f"Study file {where}: 'name' must be a simple folder name, got {spec['name']!r}")
    if not spec["runs"]:
        raise StudyError(f"Study file {where}: 'runs' lists no experiments")
    try:
        ExperimentConfig.from_dict(spec["base"])
    except ConfigError as exc:
        raise ConfigError(f"Study file {where}, 'base': {exc}") from None
    for i, group in enumerate(spec["runs"]):
        if not isinstance(group, dict) or "method" not in group:
            raise StudyError(f"Study file {where}: runs[{i}] must be a mapping with a 'method'")
        bad = sorted(set(group) - _GROUP_KEYS)
        if bad:
            raise StudyError(
                f"Study file {where}: runs[{i}] has unknown key(s) {bad}; valid keys are {sorted(_GROUP_KEYS)}"
            )
    data = spec["data"]
    bad = sorted(set(data) - {"synthetic", "root", "sen12ms"})
    if bad:
        raise StudyError(f"Study file {where}: 'data' has unknown key(s) {bad}; use synthetic, root, sen12ms")
    return spec


# ---------------------------------------------------------------------------
# the grid
# ---------------------------------------------------------------------------
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


def _resolve_data_root(spec: Mapping[str, Any], data_root: str | os.PathLike[str] | None) -> str:
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


def _data_key(config: ExperimentConfig) -> tuple[str, str, str | None, bool]:
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
    :func:`check_data`).

    Args:
        study: a study name, path or loaded spec (see :func:`load_study`).
        data_root: the SEN12MS root to use instead of the study's ``data.root``.
        jobs: points the sweep runs at once (only for a null ``threads``).
        fingerprints: fill ``data_fingerprint`` (``False``: leave it as the spec says).

    Returns:
        The points in the order of the spec; names are unique. Their hashes are
        the run folder names :func:`run_sweep` uses with the same ``jobs``.

    Raises:
        StudyError: duplicate points or a real-data study without a data root.
        ConfigError: a point's configuration is invalid (the message names the point).
    """
    spec = load_study(study)
    root = _resolve_data_root(spec, data_root)
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
        points = _with_fingerprints(points, _fingerprints(points, lenient=True))
    return points


def _fingerprints(points: Sequence[StudyPoint], lenient: bool = False) -> dict[tuple[Any, ...], RootSummary]:
    """The summary of every distinct data root the points read (``lenient``: skip unreadable roots)."""
    from xmodal.data.errors import Sen12MSError
    from xmodal.fingerprint import inspect_root

    out: dict[tuple[Any, ...], RootSummary] = {}
    for p in points:
        key = _data_key(p.config)
        if key in out or (lenient and not Path(key[0]).is_dir()):
            continue
        root, season, cache_dir, lists = key
        try:
            out[key] = inspect_root(root, season, cache_dir=cache_dir, official_lists=lists)
        except Sen12MSError:
            if not lenient:
                raise
    return out


def _with_fingerprints(points: Sequence[StudyPoint], roots: Mapping[tuple[Any, ...], RootSummary]) -> list[StudyPoint]:
    out = []
    for p in points:
        summary = roots.get(_data_key(p.config))
        if summary is not None and p.config.data_fingerprint is None:
            p = dataclasses.replace(p, config=p.config.replace(data_fingerprint=summary.fingerprint))
        out.append(p)
    return out


def check_data(points: Sequence[StudyPoint], *, hint: str = "") -> dict[tuple[Any, ...], RootSummary]:
    """Check the data every point reads, before any point starts.

    For each distinct (root, season) of the points: the root and its season
    folder exist, the synthetic marker (if any) is complete and matches the
    files, every patch has its S1, S2 and LC file (unless every point reading it
    skips bad patches), the official split lists exist where ``split: official``
    asks for them, and a point's recorded ``data_fingerprint`` is the root's.

    Args:
        points: the points to run.
        hint: appended to the message when a root does not exist (how to make or pass it).

    Returns:
        ``(root, season, cache_dir, official lists)`` -> the :class:`~xmodal.fingerprint.RootSummary`.

    Raises:
        xmodal.data.RootError: a root is missing, incomplete or inconsistent (the message names it).
        xmodal.data.MissingFileError: an official split list is missing.
        ConfigError: a point's recorded data fingerprint is not its root's (naming both).
    """
    from xmodal.data.errors import RootError

    by_key: dict[tuple[Any, ...], list[StudyPoint]] = {}
    for p in points:
        by_key.setdefault(_data_key(p.config), []).append(p)
    roots: dict[tuple[Any, ...], RootSummary] = {}
    for key, group in by_key.items():
        root = Path(key[0])
        if not root.is_dir():
            what = "does not exist" if not root.exists() else "is not a folder"
            raise RootError(f"The data root {root} {what}" + (f"; {hint}" if hint else ""))
        summary = _fingerprints(group[:1])[key]
        if summary.n_unpaired and any(p.config.bad_patch == "raise" for p in group):
            from xmodal.data.layout import SENSORS

            raise RootError(
                f"{root}: {summary.n_unpaired} patch(es) of season {summary.season} lack a partner file "
                f"({', '.join(f'{s.upper()} {summary.counts.get(s)}' for s in SENSORS)} files; "
                f"e.g. {', '.join(summary.unpaired)}); restore them, or set bad_patch: skip to leave them out"
            )
        for p in group:
            recorded = p.config.data_fingerprint
            if recorded is not None and recorded != summary.fingerprint:
                raise ConfigError(
                    f"Point {p.name}: its data_fingerprint {recorded} is not that of {root} (season "
                    f"{summary.season}: {summary.fingerprint}); point it at the data it was set up for"
                )
        roots[key] = summary
    return roots


# ---------------------------------------------------------------------------
# the notebook
# ---------------------------------------------------------------------------
def notebook_path(notebook: str | os.PathLike[str] | None = None) -> Path:
    """Locate ``experiment.ipynb``, the one notebook every point runs.

    Looks at, in order: the ``notebook`` argument, ``$XMODAL_NOTEBOOK``, and
    ``notebooks/experiment.ipynb`` beside the folder of the ``xmodal`` package
    (a repository checkout or an editable install).

    Raises:
        StudyError: the notebook is not found (the message lists where it looked).
    """
    tried: list[str] = []
    candidates: list[Path] = []
    if notebook is not None:
        candidates.append(Path(notebook))
    elif os.environ.get(NOTEBOOK_ENV):
        candidates.append(Path(os.environ[NOTEBOOK_ENV]))
    else:
        candidates.append(Path(__file__).resolve().parent.parent / "notebooks" / NOTEBOOK_NAME)
    for c in candidates:
        tried.append(str(c))
        if c.is_file():
            return c.resolve()
    raise StudyError(
        f"Experiment notebook not found (looked at {tried}); run from a checkout of the "
        f"xmodal repository or set {NOTEBOOK_ENV}=/path/to/experiment.ipynb"
    )


def check_parameters(namespace: Mapping[str, Any], before: Iterable[str]) -> ExperimentConfig:
    """Check the notebook's parameters and the data root they name, before any training.

    The notebook records the names defined before its ``parameters`` cell; any
    new public name after the parameters (and papermill's injected cell) that is
    neither a config field nor ``out_dir`` is a misspelt parameter. The values
    must make a valid :class:`~xmodal.config.ExperimentConfig`, ``data_root``
    must be a SEN12MS root holding the season, and a recorded
    ``data_fingerprint`` must be that root's.

    Args:
        namespace: the notebook's ``globals()``.
        before: names defined before the parameters cell.

    Returns:
        The validated config.

    Raises:
        ConfigError: naming the unknown parameter(s), the bad value, the
            missing or malformed data root, or both fingerprints.
    """
    from xmodal.data.errors import Sen12MSError
    from xmodal.fingerprint import check_fingerprint

    known = set(ExperimentConfig.field_names()) | {"out_dir"}
    new = {k for k in namespace if not k.startswith("_")} - set(before) - known
    if new:
        raise ConfigError(f"Unknown parameter(s) {sorted(new)}; valid parameters are {sorted(known)}")
    config = ExperimentConfig.from_dict({k: namespace[k] for k in ExperimentConfig.field_names() if k in namespace})
    root = Path(config.data_root).expanduser()
    if not root.is_dir():
        what = "does not exist" if not root.exists() else "is not a folder"
        raise ConfigError(
            f"Invalid value for 'data_root': {config.data_root!r} {what} (from {Path.cwd()}); give a SEN12MS "
            "root in the official layout, e.g. one made by `xmodal data synth --study quick --out data/quick`"
        )
    try:
        check_fingerprint(config)
    except Sen12MSError as exc:
        raise ConfigError(f"Invalid value for 'data_root': {exc}") from None
    return config


def aligned_examples(
    config: ExperimentConfig | Mapping[str, Any],
    run_dir: str | os.PathLike[str],
    *,
    n: int = 4,
    seed: int = 0,
) -> dict[str, Any]:
    """A few aligned test patches of a finished run: images, soft labels, predictions.

    Reads the run's predictions (:meth:`xmodal.rundir.RunDir.predictions`) and
    loads the same test patches from each trained modality through
    :class:`xmodal.data.Sen12MS` (aligned by patch id). Patches are drawn so
    that their dominant classes differ where possible.

    Args:
        config: the run's configuration.
        run_dir: the run folder.
        n: number of patches.
        seed: seeds the choice of patches.

    Returns:
        ``{"ids", "modalities", "class_names", "target" [n, K], "prob": {mod: [n, K]},
        "images": {mod: [n, C, H, W]}, "band_names": {mod: [...]}}``.
    """
    import numpy as np

    from xmodal.data import Sen12MS

    cfg = config if isinstance(config, ExperimentConfig) else ExperimentConfig.from_dict(dict(config))
    run = RunDir(run_dir)
    mods = list(cfg.modalities)
    pred = run.predictions()
    ids = np.asarray(pred.ids[mods[0]]).astype(str)
    target = np.asarray(pred.target[mods[0]])
    prob = {}
    for m in mods:  # align every modality's predictions to the first one's ids
        pos = {pid: j for j, pid in enumerate(pred.ids[m])}
        prob[m] = np.asarray(pred.prob[m])[[pos[pid] for pid in ids]]
    names = list(pred.class_names) or None
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(ids))
    dominant = target[order].argmax(axis=1)
    _, first = np.unique(dominant, return_index=True)  # one patch per dominant class first
    picks = list(order[np.sort(first)])
    chosen = set(picks)
    picks += [i for i in order if i not in chosen]
    picks = picks[: min(n, len(ids))]
    sel = [ids[i] for i in picks]
    images: dict[str, Any] = {}
    band_names: dict[str, list[str]] = {}
    class_names = names
    for m in mods:
        ds = Sen12MS(cfg.data_root, season=cfg.season, modality=m, split="test",
                     split_method=cfg.split, test_fraction=cfg.test_fraction, seed=cfg.data_seed,
                     label_scheme=cfg.label_scheme, patch_size=cfg.patch_size,
                     normalization="sen12ms", cache_dir=cfg.cache_dir, bad_patch=cfg.bad_patch)
        where = {pid: i for i, pid in enumerate(ds.ids)}
        missing = [pid for pid in sel if pid not in where]
        if missing:
            raise StudyError(f"Patches {missing[:3]} of {run.predictions_path} are not in the "
                             f"{m} test split of {cfg.data_root}")
        x, _ = ds.__getitems__([where[pid] for pid in sel])
        images[m] = np.asarray(x)
        band_names[m] = list(ds.band_names)
        class_names = class_names or list(ds.class_names)
    return {"ids": sel, "modalities": mods, "class_names": class_names,
            "target": target[picks], "prob": {m: prob[m][picks] for m in mods},
            "images": images, "band_names": band_names}


# ---------------------------------------------------------------------------
# one point
# ---------------------------------------------------------------------------
def _parameters(point: StudyPoint, run: RunDir) -> dict[str, Any]:
    return {**point.config.to_dict(), "out_dir": str(run.path)}


def point_status(run_dir: str | os.PathLike[str]) -> str:
    """``"ok"``, ``"failed"``, ``"partial"`` or ``"pending"``: :meth:`xmodal.rundir.RunDir.status`."""
    return RunDir(run_dir).status()


def _traceback_tail(lines: Sequence[str]) -> list[str]:
    text = _ANSI.sub("", "\n".join(lines))
    out = [ln for ln in text.splitlines() if ln.strip()]
    return out[-TRACEBACK_LINES:]


@contextlib.contextmanager
def _run_lock(run: RunDir) -> Iterator[bool]:
    """An advisory lock on a run folder (released when the process dies); yields whether it was taken."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield True
        return
    fh = open(run.lock_path, "a")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True
    finally:
        fh.close()


def _kill_kernel(pid: int) -> None:
    """Kill a kernel and everything it started (it leads its own process group)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


class _Stop:
    """Why a sweep stops, shared by its threads, and the kernels to kill then.

    The signal handler only sets :attr:`signum` and the event (nothing that
    takes a lock); the main thread's loop then calls :meth:`kill_kernels`, and a
    kernel that starts after that kills itself in :meth:`kernel_started`.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._kernels: dict[str, int] = {}
        self.signum: int | None = None
        self.disk_full: str | None = None

    def is_set(self) -> bool:
        return self._event.is_set()

    def interrupt(self, signum: int) -> None:
        """Stop because of a signal (safe to call from a signal handler)."""
        if self.signum is None:
            self.signum = signum
        self._event.set()

    def no_space(self, message: str) -> None:
        """Stop starting points: the disk is full (``message`` says where and how much)."""
        if self.disk_full is None:
            self.disk_full = message
        self._event.set()

    def kernel_started(self, point: str, pid: int) -> None:
        with self._lock:
            self._kernels[point] = pid
        if self.signum is not None:
            _kill_kernel(pid)

    def kernel_ended(self, point: str) -> None:
        with self._lock:
            self._kernels.pop(point, None)

    def kill_kernels(self) -> None:
        with self._lock:
            pids = list(self._kernels.values())
        for pid in pids:
            _kill_kernel(pid)


def _tracked_kernel_manager(stop: _Stop, point: str) -> type:
    """A kernel manager class that reports its kernel's pid to ``stop`` (so an interrupt can end it)."""
    from jupyter_client.manager import AsyncKernelManager

    class TrackedKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
            await super().start_kernel(**kw)
            pid = getattr(self.provisioner, "pid", None)
            if pid is not None:
                stop.kernel_started(point, int(pid))

    return TrackedKernelManager


_space_cache: dict[tuple[Any, ...], int] = {}


def space_needed(config: ExperimentConfig) -> int:
    """Bytes of free disk a run of ``config`` needs at its peak.

    Its checkpoint (float32 weights and the optimiser's state, counted on a
    model built on torch's ``meta`` device, i.e. without memory), twice (the
    new checkpoint is written beside the old one, then replaces it), plus
    :data:`OUTPUT_ROOM_BYTES` for the notebook, predictions and latents.
    """
    key = (config.backbone, tuple(config.modalities), config.latent_dim, tuple(config.merge_hidden),
           config.classifier_hidden, config.modality_hidden, config.label_scheme, config.optimizer)
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


def _mb(n: float) -> str:
    return f"{n / 2**20:,.0f} MB" if n < 2**30 else f"{n / 2**30:,.1f} GB"


def _papermill(point: StudyPoint, run: RunDir, notebook: Path, kernel_name: str, stop: _Stop) -> None:
    """Execute the experiment notebook of ``point`` into the run's partial notebook (its kernel tracked by ``stop``)."""
    import papermill as pm

    pm.execute_notebook(str(notebook), str(run.partial_notebook_path), parameters=_parameters(point, run),
                        kernel_name=kernel_name, progress_bar=False, log_output=False,
                        kernel_manager_class=_tracked_kernel_manager(stop, point.name))


def _execute_point(
    point: StudyPoint, study_dir: Path, notebook: Path, kernel_name: str, stop: _Stop | None = None,
    pool: WorkerPool | None = None,
) -> dict[str, Any]:
    """Run one point with papermill or in a worker of ``pool``; return a summary (never raises for a failing run).

    Statuses: ``ok``, ``failed`` (an error record was written: ``error_file``),
    ``busy`` (another sweep holds the point), ``interrupted`` (stopped: partial
    notebook removed, no error record, checkpoint kept), ``not started`` (the
    sweep was stopping), ``no space`` (not enough free disk to start).
    """
    import papermill as pm

    stop = stop or _Stop()
    run = RunDir(study_dir / point.dir_name)
    summary: dict[str, Any] = {"point": point.name, "dir": point.dir_name, "seconds": 0.0}
    if stop.is_set():
        return {**summary, "status": "not started"}
    need = space_needed(point.config)
    free = shutil.disk_usage(study_dir).free
    if free < need:
        stop.no_space(
            f"Not enough free space for run {point.name} in {study_dir}: {_mb(free)} free, a run of this study needs "
            f"about {_mb(need)} (checkpoint with optimiser state, written twice, and outputs); free some space "
            "there or choose another --runs folder, and run the same command again: finished runs are kept"
        )
        return {**summary, "status": "no space"}
    run.prepare()  # the folder, without temporaries of killed processes
    t0 = time.time()
    with _run_lock(run) as locked:
        if not locked:
            return {**summary, "status": "busy", "error": "running in another sweep"}
        if run.status() == "ok":  # finished meanwhile by another sweep
            return {**summary, "status": "ok", "skipped": True}
        if stop.is_set():
            return {**summary, "status": "not started"}
        run.clear_error()
        run.notebook_path.unlink(missing_ok=True)  # the record of an earlier attempt is being replaced
        partial = run.partial_notebook_path
        error: RunError | None = None
        try:
            if pool is not None:
                outcome = pool.train(point.config.to_dict(), str(run.path))
                if outcome["status"] == "failed":
                    error = RunError(outcome["exception"], outcome["message"],
                                     _traceback_tail(outcome.get("traceback") or []))
                elif run.status() != "ok":
                    error = RunError("MissingResult" if outcome["status"] == "ok" else "WorkerStopped",
                                     f"the run ended ({outcome['status']}) but {run.result_path} is missing or not ok")
            else:
                _papermill(point, run, notebook, kernel_name, stop)
                if run.status() != "ok":
                    error = RunError("MissingResult",
                                     f"the notebook finished but {run.result_path} is missing or not ok")
        except pm.PapermillExecutionError as exc:
            error = RunError(exc.ename, _ANSI.sub("", str(exc.evalue)), _traceback_tail(exc.traceback))
        except Exception as exc:  # kernel died or was killed, notebook unreadable, ...
            error = RunError(type(exc).__name__, str(exc), _traceback_tail(traceback.format_exception(exc)))
        finally:
            stop.kernel_ended(point.name)
        seconds = time.time() - t0
        summary["seconds"] = seconds
        if run.status() == "ok":
            with contextlib.suppress(FileNotFoundError):
                os.replace(partial, run.notebook_path)
            return {**summary, "status": "ok"}
        if stop.signum is not None:  # stopped on purpose: resumable, no error record
            partial.unlink(missing_ok=True)
            atomic.remove_stale_temps(run.path)
            return {**summary, "status": "interrupted"}
        assert error is not None
        with contextlib.suppress(FileNotFoundError):
            os.replace(partial, run.notebook_path)  # the failed notebook is kept for inspection
        atomic.remove_stale_temps(run.path)
        if error.exception == DiskFullError.__name__:  # the kernel ran out of space: start no further point
            stop.no_space(re.sub(r"^\[Errno \d+\] ", "", error.message))
        record = RunError(error.exception, error.message, error.traceback, {
            "point": point.name, "study": point.study, "config_hash": point.config.hash(),
            "config": point.config.to_dict(), "seconds": seconds, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        out = {**summary, "status": "failed", "error": error.summary}
        try:
            run.write_error(record)
            out["error_file"] = str(run.error_path)
        except OSError as exc:  # a full or read-only disk: say so, point at no file
            out["error"] = f"{error.summary} (its error record could not be written: {exc})"
            if isinstance(exc, DiskFullError):
                stop.no_space(str(exc.strerror))
        return out


def _command(run: RunDir, notebook: Path, kernel_name: str) -> str:
    """The shell command that runs one prepared point (see :func:`run_point`), without an active venv."""
    return shlex.join([sys.executable, "-m", "xmodal.cli", "run-point", str(run.path),
                       "--notebook", str(notebook), "--kernel", kernel_name])


def _summary_table(rows: list[dict[str, Any]], study_dir: Path) -> str:
    import pandas as pd

    table = []
    for r in rows:
        res = RunDir(study_dir / r["dir"]).read_result()
        scores = " ".join(
            f"{m}:{v.get('macro', float('nan')):.2f}/{v.get('weighted', float('nan')):.2f}"
            for m, v in (res.metrics if res is not None else {}).items()
        )
        table.append({"point": r["point"], "status": _STATUS_TEXT.get(r["status"], r["status"]),
                      "F1 macro/weighted": scores or "-",
                      "seconds": round(r.get("seconds", 0.0), 1),
                      "error": (r.get("error") or "")[:80]})
    return pd.DataFrame(table).to_string(index=False)


# ---------------------------------------------------------------------------
# many points
# ---------------------------------------------------------------------------
@contextlib.contextmanager
def _stop_on_signals(stop: _Stop) -> Iterator[None]:
    """SIGINT and SIGTERM set ``stop`` instead of raising (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.interrupt(signum)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _run_points(
    points: Sequence[StudyPoint],
    study_dir: Path,
    notebook: Path,
    kernel_name: str,
    *,
    jobs: int,
    progress: bool,
    title: str,
    n_total: int | None = None,
    executor: str = "notebook",
) -> list[dict[str, Any]]:
    """Execute ``points`` (``jobs`` at a time) until done or stopped; one summary dict per point.

    ``executor``: ``notebook`` (a Jupyter kernel per point) or ``process`` (``jobs`` long-lived
    worker processes, :class:`xmodal.workers.WorkerPool`).

    Raises:
        SweepInterrupted: SIGINT or SIGTERM arrived (running kernels were killed).
        DiskFullError: the disk is full (no further point was started).
    """
    from tqdm.auto import tqdm

    stop = _Stop()
    results: dict[str, dict[str, Any]] = {}
    n_total = len(points) if n_total is None else n_total
    for p in points:  # imports torch once, here, rather than in the point threads
        space_needed(p.config)
    bar = tqdm(total=n_total, initial=n_total - len(points), unit="run", desc=title,
               disable=not progress, file=sys.stderr)
    workers = WorkerPool(min(jobs, len(points))) if executor == "process" and points else None
    with _stop_on_signals(stop):
        pool = ThreadPoolExecutor(max_workers=max(1, min(jobs, len(points))))
        try:
            futures: dict[Future[dict[str, Any]], StudyPoint] = {
                pool.submit(_execute_point, p, study_dir, notebook, kernel_name, stop, workers): p for p in points}
            pending = set(futures)
            while pending:
                try:
                    done, pending = wait(pending, timeout=_POLL_SECONDS, return_when=FIRST_COMPLETED)
                except KeyboardInterrupt:  # a signal the handler did not catch (handler not installed)
                    stop.interrupt(signal.SIGINT)
                    done = set()
                for fut in done:
                    p = futures[fut]
                    r: dict[str, Any]
                    if fut.cancelled():
                        r = {"point": p.name, "dir": p.dir_name, "status": "not started", "seconds": 0.0}
                    else:
                        try:
                            r = fut.result()
                        except Exception as exc:  # a bug or an I/O error of the sweep itself, not of the run
                            r = {"point": p.name, "dir": p.dir_name, "status": "failed", "seconds": 0.0,
                                 "error": f"{type(exc).__name__}: {exc}"}
                            if isinstance(exc, DiskFullError):
                                stop.no_space(str(exc.strerror))
                    results[p.name] = r
                    if r["status"] in ("ok", "failed", "busy"):
                        bar.update(1)
                    bar.set_postfix_str(f"{p.name}: {_STATUS_TEXT.get(r['status'], r['status'])}")
                if stop.is_set():
                    for fut in pending:
                        fut.cancel()
                    if stop.signum is not None:
                        stop.kill_kernels()
                        if workers is not None:
                            workers.kill()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            if workers is not None:
                workers.close()
            bar.close()
    rows = [results.get(p.name) or {"point": p.name, "dir": p.dir_name, "status": "not started", "seconds": 0.0}
            for p in points]
    if stop.signum is not None:
        counts = {s: sum(r["status"] == s for r in rows) for s in _STATUS_TEXT}
        finished = counts["ok"] + n_total - len(points)
        parts = [f"{finished} of {n_total} points finished"]
        if counts["failed"]:
            parts.append(f"{counts['failed']} failed")
        if counts["busy"]:
            parts.append(f"{counts['busy']} running in another sweep")
        parts.append(f"{counts['interrupted']} stopped (resumable)")
        parts.append(f"{counts['not started'] + counts['no space']} not started")
        name = signal.Signals(stop.signum).name
        raise SweepInterrupted(f"Interrupted ({name}): {', '.join(parts)}; run the same command to continue",
                               stop.signum, counts)
    if stop.disk_full is not None:
        raise DiskFullError(errno.ENOSPC, stop.disk_full)
    return rows


def _report(rows: list[dict[str, Any]], study_dir: Path, title: str, n_run: int, grid_dirs: set[str]) -> None:
    n_ok = sum(r["status"] == "ok" for r in rows)
    print(f"{title}: {n_ok} of {len(rows)} points finished ({n_run} run now) in {study_dir}")
    print(_summary_table(rows, study_dir))
    others = sorted(d.name for d in study_dir.iterdir()
                    if d.is_dir() and d.name not in grid_dirs and RunDir(d).is_run())
    if others:
        print(f"Note: {len(others)} other run folder(s) in {study_dir} are not points of this study as it stands "
              f"(another config, data or hash version, e.g. {others[0]}); `xmodal results` still reads them.")
    busy = [r for r in rows if r["status"] == "busy"]
    if busy:
        print(f"{len(busy)} point(s) are running in another sweep; run this command again once it ends "
              "to see them here.")
    failed = [r for r in rows if r["status"] == "failed"]
    if failed:
        print(f"{len(failed)} point(s) failed:")
        for r in failed:
            where = f" (details: {r['error_file']})" if r.get("error_file") else ""
            print(f"  {r['point']}: {r.get('error', '')}{where}")


def _exit_code(rows: Sequence[Mapping[str, Any]]) -> int:
    """0 when every point finished or is running in another sweep, 1 when one failed."""
    return 1 if any(r["status"] not in ("ok", "busy") for r in rows) else 0


def _missing_root_hint(spec: Mapping[str, Any], from_option: bool) -> str:
    if from_option:
        return "pass the folder of the SEN12MS data with --data"
    if (spec.get("data") or {}).get("synthetic"):
        study = spec.get("name") if spec.get("name") in STUDY_NAMES else (spec.get("source") or spec.get("name"))
        root = (spec.get("data") or {}).get("root", "DIR")
        return f"make it with `xmodal data synth --study {study} --out {root}`, or pass the data's folder with --data"
    return "pass the folder of the data with --data"


def run_sweep(
    study: str | os.PathLike[str] | Mapping[str, Any],
    *,
    jobs: int = 1,
    data_root: str | os.PathLike[str] | None = None,
    runs_dir: str | os.PathLike[str] = "runs",
    print_commands: bool = False,
    only: str | None = None,
    notebook: str | os.PathLike[str] | None = None,
    kernel_name: str = "python3",
    progress: bool = True,
    executor: str | None = None,
) -> int:
    """Run every pending point of a study through the experiment notebook.

    Checks the data first (:func:`check_data`: nothing starts on a wrong root).
    Finished points are skipped; a point that was killed or interrupted
    mid-training resumes from its checkpoint (the notebook calls
    :func:`xmodal.training.run_experiment` with ``resume=True``); a failing point
    writes its error record and the others go on. ``jobs`` points run at once,
    each in its own Jupyter kernel; a null ``threads`` in the spec becomes
    :func:`sweep_threads` of ``jobs`` (and enters the hash).

    Args:
        study: ``quick`` | ``default`` | ``paper`` | a study YAML path | a spec.
        jobs: points run in parallel.
        data_root: SEN12MS root to use instead of the study's ``data.root``.
        runs_dir: folder holding one folder per study.
        print_commands: write each pending point's parameters and print one
            command per pending point (for a Slurm job array, see the module
            docstring) instead of running them.
        only: run only the points whose name contains this text.
        notebook: the experiment notebook (default: see :func:`notebook_path`).
        kernel_name: Jupyter kernel that executes the notebook.
        progress: show a tqdm bar over the grid and print the summary table.
        executor: ``notebook`` (a Jupyter kernel per point) or ``process`` (``jobs``
            long-lived workers, :mod:`xmodal.workers`; then the spec's ``notebooks``
            says which finished points get their executed notebook afterwards).
            None: the spec's ``executor`` (default ``notebook``).

    Returns:
        The exit code: 0 when every selected point finished (or is running in
        another sweep), 1 when one failed.

    Raises:
        StudyError, ConfigError: a bad study or option (before anything runs).
        xmodal.data.Sen12MSError: the data root is missing or malformed (before anything runs).
        SweepInterrupted: SIGINT/SIGTERM stopped the sweep (its message says what is left).
        DiskFullError: not enough free space to start a point, or the disk filled up.
    """
    if jobs < 1:
        raise StudyError(f"Invalid value for --jobs: {jobs!r}; must be >= 1")
    spec = load_study(study)
    executor = executor or spec["executor"]
    if executor not in EXECUTORS:
        raise StudyError(f"Invalid value for --executor: {executor!r}; choose one of {list(EXECUTORS)}")
    root = _resolve_data_root(spec, data_root)
    points = grid(spec, data_root=root, jobs=jobs, fingerprints=False)
    everything = points
    if only:
        points = [p for p in points if only in p.name]
        if not points:
            raise StudyError(f"No point of study {spec['name']!r} matches --only {only!r}")
    roots = check_data(points, hint=_missing_root_hint(spec, data_root is not None))
    points = _with_fingerprints(points, roots)
    grid_dirs = {p.dir_name for p in _with_fingerprints(everything, _fingerprints(everything, lenient=True))}
    points = [dataclasses.replace(p, config=p.config.replace(progress=False)) for p in points]
    nb = notebook_path(notebook)
    study_dir = Path(runs_dir).resolve() / spec["name"]
    study_dir.mkdir(parents=True, exist_ok=True)
    atomic.write_json(study_meta_path(study_dir), spec)

    pending = [p for p in points if RunDir(study_dir / p.dir_name).status() != "ok"]
    if print_commands:
        for p in pending:
            run = RunDir(study_dir / p.dir_name)
            run.prepare()
            run.write_parameters(_parameters(p, run))
            print(_command(run, nb, kernel_name))
        return 0

    title = f"study {spec['name']}"
    rows = _run_points(pending, study_dir, nb, kernel_name, jobs=jobs, progress=progress, title=title,
                       n_total=len(points), executor=executor)
    _record_times(study_dir, rows, executor)
    done = {r["point"]: r for r in rows}
    rows = [done.get(p.name) or {"point": p.name, "dir": p.dir_name, "status": "ok", "seconds": 0.0,
                                 "skipped": True} for p in points]
    if progress:
        _report(rows, study_dir, f"Study {spec['name']!r}", len(pending), grid_dirs)
    code = _exit_code(rows)
    if executor == "process":
        wanted = notebook_points(points, spec["notebooks"])
        failed = _render_notebooks(wanted, study_dir, nb, kernel_name, jobs=jobs, progress=progress)
        code = max(code, 1 if failed else 0)
    return code


def sweep_time_summary(study_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """Where a study's job time went, from its :data:`SWEEP_TIMES_FILE` and its runs' results.

    Job time is each point's wall time in its kernel or worker, summed over points (with
    ``jobs`` points at once the sweep's wall time is about ``job / jobs``); training time is
    each run's ``timings.train_seconds``; rendering notebooks after a ``process`` sweep counts
    as job time outside training. Only points a sweep ran and timed (not those found finished)
    are counted.

    Returns:
        None without a times file, else ``runs``, ``job_seconds`` (training jobs),
        ``notebook_seconds``, ``train_seconds``, ``outside_seconds`` and ``outside_share``
        (of all job time), ``executors``.
    """
    folder = Path(study_dir)
    times = read_json(folder / SWEEP_TIMES_FILE)
    if not times:
        return None
    runs = dict(times.get("train") or {})
    job = train = 0.0
    n = 0
    for name, entry in runs.items():
        res = RunDir(folder / name).read_result()
        if res is None or not res.ok:
            continue
        n += 1
        job += float(entry["seconds"])
        train += float(res.timings.get("train_seconds") or 0.0)
    notebooks = sum(float(v["seconds"]) for v in (times.get("notebooks") or {}).values())
    total = job + notebooks
    return {"runs": n, "job_seconds": job, "notebook_seconds": notebooks, "train_seconds": train,
            "outside_seconds": total - train, "outside_share": (total - train) / total if total else math.nan,
            "executors": sorted({str(v.get("executor")) for v in runs.values()})}


def notebook_points(points: Sequence[StudyPoint], which: str) -> list[StudyPoint]:
    """The points whose executed notebook a ``process`` sweep renders (see :data:`NOTEBOOK_CHOICES`).

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


def _record_times(study_dir: Path, rows: Sequence[Mapping[str, Any]], executor: str, kind: str = "train") -> None:
    """Add the job time of the points run now to the study's :data:`SWEEP_TIMES_FILE` (none run: nothing written)."""
    timed = {str(r["dir"]): {"seconds": round(float(r["seconds"]), 3), "executor": executor}
             for r in rows if r.get("status") == "ok" and not r.get("skipped") and r.get("seconds")}
    if not timed:
        return
    path = study_dir / SWEEP_TIMES_FILE
    times = read_json(path) or {}
    times.setdefault(kind, {}).update(timed)
    atomic.write_json(path, times)


def _render_point(point: StudyPoint, study_dir: Path, notebook: Path, kernel_name: str, stop: _Stop) -> dict[str, Any]:
    """Execute the notebook of a finished point (it loads the result: nothing is trained again)."""
    run = RunDir(study_dir / point.dir_name)
    summary: dict[str, Any] = {"point": point.name, "dir": point.dir_name, "seconds": 0.0}
    if stop.is_set() or run.status() != "ok" or run.has_notebook():
        return {**summary, "status": "not started" if stop.is_set() else "ok", "skipped": True}
    t0 = time.time()
    with _run_lock(run) as locked:
        if not locked:
            return {**summary, "status": "busy"}
        partial = run.partial_notebook_path
        try:
            _papermill(point, run, notebook, kernel_name, stop)
            os.replace(partial, run.notebook_path)
            status, error = "ok", None
        except Exception as exc:  # noqa: BLE001 - reported; the run itself stays finished
            partial.unlink(missing_ok=True)
            status, error = ("interrupted" if stop.signum is not None else "failed"), f"{type(exc).__name__}: {exc}"
        finally:
            stop.kernel_ended(point.name)
    return {**summary, "status": status, "error": error, "seconds": time.time() - t0}


def _render_notebooks(
    points: Sequence[StudyPoint], study_dir: Path, notebook: Path, kernel_name: str, *, jobs: int, progress: bool,
) -> int:
    """Render the executed notebooks of finished ``points`` that lack one; return how many failed.

    Raises:
        SweepInterrupted: SIGINT or SIGTERM arrived (the runs are all kept; the notebooks resume next time).
    """
    todo = [p for p in points if RunDir(study_dir / p.dir_name).status() == "ok"
            and not RunDir(study_dir / p.dir_name).has_notebook()]
    if not todo:
        return 0
    stop = _Stop()
    rows: list[dict[str, Any]] = []
    with _stop_on_signals(stop), ThreadPoolExecutor(max_workers=max(1, min(jobs, len(todo)))) as pool:
        futures = [pool.submit(_render_point, p, study_dir, notebook, kernel_name, stop) for p in todo]
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=_POLL_SECONDS, return_when=FIRST_COMPLETED)
            rows.extend(f.result() for f in done)
            if stop.signum is not None:
                stop.kill_kernels()
                for f in pending:
                    f.cancel()
    _record_times(study_dir, rows, "notebook", kind="notebooks")
    if stop.signum is not None:
        n_ok = sum(r["status"] == "ok" and not r.get("skipped") for r in rows)
        raise SweepInterrupted(
            f"Interrupted ({signal.Signals(stop.signum).name}) while rendering notebooks: every run is finished, "
            f"{n_ok} of {len(todo)} notebooks rendered; run the same command to render the rest", stop.signum,
            {"ok": n_ok})
    failed = [r for r in rows if r["status"] == "failed"]
    if progress:
        seconds = sum(r["seconds"] for r in rows)
        print(f"Rendered {sum(r['status'] == 'ok' for r in rows)} executed notebook(s) of finished runs "
              f"in {seconds:.0f} s of job time")
        for r in failed:
            print(f"  notebook of {r['point']} failed: {r['error']}")
    return len(failed)


def run_point(
    run_dir: str | os.PathLike[str],
    *,
    notebook: str | os.PathLike[str] | None = None,
    kernel_name: str = "python3",
    progress: bool = True,
) -> int:
    """Run one prepared point (``xmodal sweep --print-commands``) exactly as the sweep would.

    Reads the point's notebook parameters from its run folder, checks that the
    folder's name ends in the config's hash and that the data root holds the
    recorded data (fingerprint), then runs the notebook through the sweep's own
    path: the folder's lock (a point running elsewhere is reported, exit 0),
    an error record on failure (seen by ``xmodal results``), and SIGINT/SIGTERM
    ending the kernel and leaving the point resumable.

    Args:
        run_dir: the point's run folder (holding its parameters).
        notebook: the experiment notebook (default: see :func:`notebook_path`).
        kernel_name: Jupyter kernel that executes the notebook.
        progress: print the point's one-line summary.

    Returns:
        0 when the point finished (or runs in another sweep), 1 when it failed.

    Raises:
        StudyError: the folder has no parameters or its name does not match them.
        ConfigError, xmodal.data.Sen12MSError: bad parameters or data.
        SweepInterrupted, DiskFullError: as :func:`run_sweep`.
    """
    import yaml

    run = RunDir(Path(run_dir).expanduser().resolve())
    try:
        params = yaml.safe_load(run.parameters_path.read_text())
    except FileNotFoundError:
        raise StudyError(f"{run.parameters_path} does not exist: prepare the point with "
                         "`xmodal sweep ... --print-commands` first") from None
    except yaml.YAMLError as exc:
        raise StudyError(f"{run.parameters_path} is not valid YAML: {exc}") from None
    if not isinstance(params, dict):
        raise StudyError(f"{run.parameters_path} must hold a mapping of notebook parameters")
    params.pop("out_dir", None)
    try:
        config = ExperimentConfig.from_dict(params)
    except ConfigError as exc:
        raise ConfigError(f"{run.parameters_path}: {exc}") from None
    suffix = f"-{config.hash()}"
    if not run.name.endswith(suffix):
        raise StudyError(f"{run.path}: the folder's name does not end in its parameters' config hash "
                         f"{config.hash()} (were the parameters edited?); prepare the point again "
                         "with --print-commands")
    meta = read_json(study_meta_path(run.path.parent)) or {}
    point = StudyPoint(str(meta.get("name") or run.path.parent.name), run.name[: -len(suffix)], config)
    check_data([point], hint="the parameters name the data root the sweep was given (--data)")
    rows = _run_points([point], run.path.parent, notebook_path(notebook), kernel_name, jobs=1,
                       progress=False, title=point.name)
    r = rows[0]
    if progress:
        where = f" (details: {r['error_file']})" if r.get("error_file") else ""
        extra = f": {r['error']}" if r.get("error") and r["status"] == "failed" else ""
        print(f"{point.name}: {_STATUS_TEXT.get(r['status'], r['status'])}{extra}{where}")
    return _exit_code(rows)
