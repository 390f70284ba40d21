"""Studies: a grid of experiments run through one parameterised notebook, resumably.

A *study* is a YAML file (``xmodal/studies/{quick,default,paper}.yaml`` or any
path) that says which data to use and which points to train: the paper's
ablations (Baseline on S1 and on S2, C, C+M, C+T, C+T+M), training-set sizes
(Figure 3) and seeds. Every point becomes one validated
:class:`~xmodal.config.ExperimentConfig` and one run directory::

    <runs_dir>/<study>/<point-name>-<config hash>/
        experiment.ipynb   the executed notebook (its own record of the run)
        result.json        metrics, history, timings, versions (written by the trainer)
        checkpoint.pt      the last finished epoch (a killed run resumes from it)
        predictions.npz    test probabilities per modality (homogeneity, eq. 5)
        latents.npz        latent vectors of some test patches (UMAP)
        error.json         only when the point failed: exception and traceback tail

:func:`run_sweep` executes every pending point with papermill
(``notebooks/experiment.ipynb``); a point whose ``result.json`` says
``"status": "ok"`` is never redone, a failed point leaves ``error.json`` and the
sweep goes on. Everything the sweep writes is written atomically (temporary
file + :func:`os.replace`), so killing it at any moment loses no finished run;
re-running it continues where it stopped.

Study file format::

    name: quick                   # the folder under runs_dir
    description: one line shown in the book
    data:
      synthetic: {n_scenes: 4, patches_per_side: 3, patch_size: 32, seed: 0}  # make_synthetic kwargs
      root: data/quick            # the data root (``--data`` overrides it)
      # or, for real data:  sen12ms: true  (and no ``synthetic``: a root must be given)
    base: {backbone: resnet18, epochs: 2}   # ExperimentConfig values shared by all points
    seeds: [0]
    n_train: [null]               # default training-set sizes (null = the whole split)
    runs:                         # groups; each expands over its sizes x seeds (x modalities)
      - {method: baseline, modalities: [[s1], [s2]], n_train: [16, 32]}
      - {method: C+T+M, n_train: [16, 32]}
      - {method: C+M, set: {alpha: 0.5}}     # ``set`` overrides config values of one group

Running on a cluster (one Slurm array task per pending point)::

    xmodal sweep --study paper --data /scratch/SEN12MS --print-commands > points.txt
    sbatch --array=1-$(wc -l < points.txt) --gres=gpu:1 --cpus-per-task=8 --time=12:00:00 \\
        --wrap 'eval "$(sed -n "${SLURM_ARRAY_TASK_ID}p" points.txt)"'
    # afterwards (or whenever): the same command without --print-commands skips the
    # finished points and reports the failed ones; ``xmodal results --study paper``
    # aggregates them.

``--print-commands`` writes each pending point's parameters to
``<run dir>/parameters.yaml`` and prints one ``papermill`` command per point.

The notebook is found at ``notebooks/experiment.ipynb`` next to the ``xmodal``
package folder (a repository checkout or an editable install); elsewhere set the
environment variable ``XMODAL_NOTEBOOK`` or pass ``notebook=`` to
:func:`run_sweep`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import re
import shlex
import sys
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, Sequence

from xmodal.config import ConfigError, ExperimentConfig

__all__ = [
    "StudyError",
    "StudyPoint",
    "STUDIES_DIR",
    "STUDY_NAMES",
    "load_study",
    "grid",
    "notebook_path",
    "check_parameters",
    "aligned_examples",
    "run_sweep",
    "point_status",
    "load_results",
    "load_latent_measures",
    "load_histories",
    "method_of",
    "load_per_class",
    "load_homogeneity",
    "load_homogeneity_context",
    "baseline_homogeneity",
    "summarize",
    "export_csv",
]

#: Folder of the study specs shipped with the package.
STUDIES_DIR = Path(__file__).resolve().parent / "studies"
#: The profiles shipped with the package.
STUDY_NAMES: tuple[str, ...] = ("quick", "default", "paper")
#: Name of the executed notebook in a run directory.
NOTEBOOK_NAME = "experiment.ipynb"
#: Environment variable that points at the experiment notebook (installed packages).
NOTEBOOK_ENV = "XMODAL_NOTEBOOK"
#: Lines of traceback kept in ``error.json``.
TRACEBACK_LINES = 40

_TOP_KEYS = {"name", "description", "data", "base", "seeds", "n_train", "runs"}
_GROUP_KEYS = {"method", "modalities", "n_train", "seeds", "set", "name"}
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class StudyError(ValueError):
    """A study file or a sweep request is invalid; the message names the file or value."""


# ---------------------------------------------------------------------------
# atomic files
# ---------------------------------------------------------------------------
def _atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder and :func:`os.replace`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def _atomic_write_json(path: Path, obj: Any) -> None:
    _atomic_write_text(path, json.dumps(obj, indent=2, default=str, allow_nan=True) + "\n")


def _read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or ``None`` when it is missing or unreadable."""
    try:
        with open(path) as fh:
            obj = json.load(fh)
    except (FileNotFoundError, json.JSONDecodeError, OSError):
        return None
    return obj if isinstance(obj, dict) else None


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
        source = None
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
        "source": source,
    }
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


def grid(
    study: str | os.PathLike[str] | Mapping[str, Any],
    *,
    data_root: str | os.PathLike[str] | None = None,
) -> list[StudyPoint]:
    """Expand a study into its points (one validated config each).

    Every group of ``runs`` expands over its training-set sizes, seeds and, for
    the baseline, its modalities (``modalities: [[s1], [s2]]``). The data root is
    made absolute so that a run's config hash names the data it saw.

    Args:
        study: a study name, path or loaded spec (see :func:`load_study`).
        data_root: the SEN12MS root to use instead of the study's ``data.root``.

    Returns:
        The points in the order of the spec; names are unique.

    Raises:
        StudyError: duplicate points or a real-data study without a data root.
        ConfigError: a point's configuration is invalid (the message names the point).
    """
    spec = study if isinstance(study, Mapping) and "source" in study else load_study(study)
    root = _resolve_data_root(spec, data_root)
    base = dict(spec["base"])
    base["data_root"] = root
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
    return points


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


def check_parameters(namespace: Mapping[str, Any], before: Iterable[str]) -> None:
    """Reject notebook parameters that are not config fields.

    The notebook records the names defined before its ``parameters`` cell; any
    new public name after the parameters (and papermill's injected cell) that is
    neither a config field nor ``out_dir`` is a misspelt parameter.

    Args:
        namespace: the notebook's ``globals()``.
        before: names defined before the parameters cell.

    Raises:
        ConfigError: naming the unknown parameter(s).
    """
    known = set(ExperimentConfig.field_names()) | {"out_dir"}
    new = {k for k in namespace if not k.startswith("_")} - set(before) - known
    if new:
        raise ConfigError(f"Unknown parameter(s) {sorted(new)}; valid parameters are {sorted(known)}")


def aligned_examples(
    config: ExperimentConfig | Mapping[str, Any],
    run_dir: str | os.PathLike[str],
    *,
    n: int = 4,
    seed: int = 0,
) -> dict[str, Any]:
    """A few aligned test patches of a finished run: images, soft labels, predictions.

    Reads the run's ``predictions.npz`` and loads the same test patches from
    each trained modality through :class:`xmodal.data.Sen12MS` (aligned by
    patch id). Patches are drawn so that their dominant classes differ where
    possible.

    Args:
        config: the run's configuration.
        run_dir: the run directory holding ``predictions.npz``.
        n: number of patches.
        seed: seeds the choice of patches.

    Returns:
        ``{"ids", "modalities", "class_names", "target" [n, K], "prob": {mod: [n, K]},
        "images": {mod: [n, C, H, W]}, "band_names": {mod: [...]}}``.
    """
    import numpy as np

    from xmodal.data import Sen12MS

    cfg = config if isinstance(config, ExperimentConfig) else ExperimentConfig.from_dict(dict(config))
    run_dir = Path(run_dir)
    mods = list(cfg.modalities)
    with np.load(run_dir / "predictions.npz", allow_pickle=False) as z:
        files = set(z.files)
        ids = np.asarray(z[f"ids_{mods[0]}"] if f"ids_{mods[0]}" in files else z["ids"]).astype(str)
        target = np.asarray(z[f"target_{mods[0]}"])
        prob = {}
        for m in mods:  # align every modality's predictions to the first one's ids
            ids_m = np.asarray(z[f"ids_{m}"] if f"ids_{m}" in files else z["ids"]).astype(str)
            pos = {pid: j for j, pid in enumerate(ids_m)}
            prob[m] = np.asarray(z[f"prob_{m}"])[[pos[pid] for pid in ids]]
        names = [str(c) for c in z["class_names"]] if "class_names" in files else None
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
                     split_method=cfg.split, test_fraction=cfg.test_fraction, seed=cfg.seed,
                     label_scheme=cfg.label_scheme, patch_size=cfg.patch_size,
                     normalization="sen12ms", cache_dir=cfg.cache_dir, bad_patch=cfg.bad_patch)
        where = {pid: i for i, pid in enumerate(ds.ids)}
        missing = [pid for pid in sel if pid not in where]
        if missing:
            raise StudyError(f"Patches {missing[:3]} of {run_dir / 'predictions.npz'} are not in the "
                             f"{m} test split of {cfg.data_root}")
        x, _ = ds.__getitems__([where[pid] for pid in sel])
        images[m] = np.asarray(x)
        band_names[m] = list(ds.band_names)
        class_names = class_names or list(ds.class_names)
    return {"ids": sel, "modalities": mods, "class_names": class_names,
            "target": target[picks], "prob": {m: prob[m][picks] for m in mods},
            "images": images, "band_names": band_names}


def _parameters(point: StudyPoint, run_dir: Path) -> dict[str, Any]:
    return {**point.config.to_dict(), "out_dir": str(run_dir)}


def point_status(run_dir: str | os.PathLike[str]) -> str:
    """``"ok"`` (finished), ``"failed"`` (error.json), ``"partial"`` (checkpoint only) or ``"pending"``."""
    d = Path(run_dir)
    res = _read_json(d / "result.json")
    if res is not None and res.get("status") == "ok":
        return "ok"
    if (d / "error.json").exists():
        return "failed"
    if (d / "checkpoint.pt").exists():
        return "partial"
    return "pending"


def _traceback_tail(lines: Sequence[str]) -> list[str]:
    text = _ANSI.sub("", "\n".join(lines))
    out = [ln for ln in text.splitlines() if ln.strip()]
    return out[-TRACEBACK_LINES:]


@contextlib.contextmanager
def _run_lock(run_dir: Path) -> Iterator[bool]:
    """An advisory lock on a run directory (released when the process dies)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield True
        return
    fh = open(run_dir / ".lock", "a")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True
    finally:
        fh.close()


def _execute_point(
    point: StudyPoint, run_dir: Path, notebook: Path, kernel_name: str
) -> dict[str, Any]:
    """Run one point with papermill; return a summary dict (never raises for run errors)."""
    import papermill as pm

    run_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    with _run_lock(run_dir) as locked:
        if not locked:
            return {"point": point.name, "status": "busy", "seconds": 0.0,
                    "error": "another sweep is running this point"}
        if point_status(run_dir) == "ok":  # finished meanwhile by another sweep
            return {"point": point.name, "status": "ok", "seconds": 0.0, "skipped": True}
        with contextlib.suppress(FileNotFoundError):
            os.remove(run_dir / "error.json")
        partial = run_dir / f".partial-{NOTEBOOK_NAME}"  # ends in .ipynb, as papermill expects
        error: dict[str, Any] | None = None
        try:
            pm.execute_notebook(
                str(notebook),
                str(partial),
                parameters=_parameters(point, run_dir),
                kernel_name=kernel_name,
                progress_bar=False,
                log_output=False,
            )
            if point_status(run_dir) != "ok":
                error = {"exception": "MissingResult",
                         "message": f"the notebook finished but {run_dir / 'result.json'} is missing or not ok",
                         "traceback": []}
        except pm.PapermillExecutionError as exc:
            error = {"exception": exc.ename, "message": _ANSI.sub("", str(exc.evalue)),
                     "traceback": _traceback_tail(exc.traceback)}
        except Exception as exc:  # kernel died, notebook unreadable, ...
            error = {"exception": type(exc).__name__, "message": str(exc),
                     "traceback": _traceback_tail(traceback.format_exception(exc))}
        finally:
            if partial.exists():
                os.replace(partial, run_dir / NOTEBOOK_NAME)
        seconds = time.time() - t0
        if error is not None:
            error.update(point=point.name, study=point.study, config_hash=point.config.hash(),
                         config=point.config.to_dict(), seconds=seconds,
                         time=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
            _atomic_write_json(run_dir / "error.json", error)
            return {"point": point.name, "status": "failed", "seconds": seconds,
                    "error": f"{error['exception']}: {error['message']}"}
        return {"point": point.name, "status": "ok", "seconds": seconds}


def _command(point: StudyPoint, run_dir: Path, notebook: Path, kernel_name: str) -> str:
    params = run_dir / "parameters.yaml"
    return " ".join(shlex.quote(a) for a in (
        "papermill", str(notebook), str(run_dir / NOTEBOOK_NAME),
        "-f", str(params), "-k", kernel_name, "--no-progress-bar",
    ))


def _summary_table(rows: list[dict[str, Any]], study_dir: Path) -> str:
    import pandas as pd

    table = []
    for r in rows:
        res = _read_json(study_dir / r["dir"] / "result.json") or {}
        scores = " ".join(
            f"{m}:{v.get('macro', float('nan')):.2f}/{v.get('weighted', float('nan')):.2f}"
            for m, v in (res.get("metrics") or {}).items()
        )
        table.append({"point": r["point"], "status": r["status"],
                      "F1 macro/weighted": scores or "-",
                      "seconds": round(r.get("seconds", 0.0), 1),
                      "error": (r.get("error") or "")[:80]})
    return pd.DataFrame(table).to_string(index=False)


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
) -> int:
    """Run every pending point of a study through the experiment notebook.

    Finished points (``result.json`` with ``"status": "ok"``) are skipped;
    a point that was killed mid-training resumes from its checkpoint (the
    notebook calls :func:`xmodal.train.run_experiment` with ``resume=True``);
    a failing point writes ``error.json`` and the others go on. ``jobs`` points
    run at once, each in its own Jupyter kernel process, with
    ``threads = max(1, cores // jobs)`` torch threads each.

    Args:
        study: ``quick`` | ``default`` | ``paper`` | a study YAML path | a spec.
        jobs: points run in parallel.
        data_root: SEN12MS root to use instead of the study's ``data.root``.
        runs_dir: folder holding one folder per study.
        print_commands: write each pending point's ``parameters.yaml`` and print
            one ``papermill`` command per pending point (for a Slurm job array,
            see the module docstring) instead of running them.
        only: run only the points whose name contains this text.
        notebook: the experiment notebook (default: see :func:`notebook_path`).
        kernel_name: Jupyter kernel that executes the notebook.
        progress: show a tqdm bar over the grid and print the summary table.

    Returns:
        The exit code: 0 when every selected point finished, 1 otherwise.
    """
    if jobs < 1:
        raise StudyError(f"Invalid value for jobs: {jobs!r}; must be >= 1")
    spec = load_study(study)
    points = grid(spec, data_root=data_root)
    if only:
        points = [p for p in points if only in p.name]
        if not points:
            raise StudyError(f"No point of study {spec['name']!r} matches only={only!r}")
    cores = os.cpu_count() or 1
    threads = max(1, cores // jobs)
    points = [dataclasses.replace(p, config=p.config.replace(threads=threads, progress=False)) for p in points]
    nb = notebook_path(notebook)
    study_dir = Path(runs_dir).resolve() / spec["name"]
    study_dir.mkdir(parents=True, exist_ok=True)
    _atomic_write_json(study_dir / "study.json", {k: v for k, v in spec.items()})

    pending = [p for p in points if point_status(study_dir / p.dir_name) != "ok"]
    if print_commands:
        import yaml

        for p in pending:
            run_dir = study_dir / p.dir_name
            _atomic_write_text(run_dir / "parameters.yaml",
                               yaml.safe_dump(_parameters(p, run_dir), sort_keys=False))
            print(_command(p, run_dir, nb, kernel_name))
        return 0

    from tqdm.auto import tqdm

    results: list[dict[str, Any]] = [
        {"point": p.name, "dir": p.dir_name, "status": "ok", "seconds": 0.0, "skipped": True}
        for p in points if p not in pending
    ]
    bar = tqdm(total=len(points), initial=len(points) - len(pending), unit="run",
               desc=f"study {spec['name']}", disable=not progress, file=sys.stderr)
    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(_execute_point, p, study_dir / p.dir_name, nb, kernel_name): p
                       for p in pending}
            for fut in as_completed(futures):
                p = futures[fut]
                try:
                    r = fut.result()
                except Exception as exc:  # a bug in the sweep itself, not in the run
                    r = {"point": p.name, "status": "failed", "seconds": 0.0, "error": repr(exc)}
                r["dir"] = p.dir_name
                results.append(r)
                bar.set_postfix_str(f"{p.name}: {r['status']}")
                bar.update(1)
    finally:
        bar.close()
    order = {p.name: i for i, p in enumerate(points)}
    results.sort(key=lambda r: order[r["point"]])
    n_failed = sum(r["status"] != "ok" for r in results)
    if progress:
        print(f"Study {spec['name']!r}: {len(results) - n_failed} of {len(results)} points finished "
              f"({len(pending)} run now) in {study_dir}")
        print(_summary_table(results, study_dir))
        if n_failed:
            print(f"{n_failed} point(s) failed; see error.json in their run directories.")
    return 1 if n_failed else 0


# ---------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------
if TYPE_CHECKING:  # the results section's types (imported where used at run time)
    import pandas as pd

    from xmodal.rundir import Result, RunDir, RunError

RESULT_COLUMNS: tuple[str, ...] = (
    "study", "point", "method", "alignment", "modality", "trained_modalities", "n_train", "n_train_requested",
    "n_test", "seed", "macro", "weighted", "micro", "homogeneity", "seconds", "epochs",
    "backbone", "patch_size", "data_kind", "season", "split", "status", "error", "config_hash", "run_dir",
)


def _alignment_of(config: Mapping[str, Any]) -> str | None:
    """How the run's ``M`` hid the sensor (``None`` for a method without ``M``; runs older than the key: reversal)."""
    from xmodal.config import METHOD_LOSSES

    if "M" not in METHOD_LOSSES.get(str(config.get("method")), frozenset()):
        return None
    return str(config.get("alignment") or "reversal")


def method_of(config: Mapping[str, Any]) -> str:
    """The run's method as the results tables name it: the config's method, with a non-default alignment.

    ``C+T+M`` with ``alignment: confusion`` is ``"C+T+M (confusion)"``, so the tables and claims
    that select the paper's method names exactly never mix an ablation into the paper's method.
    """
    method = str(config.get("method"))
    alignment = _alignment_of(config)
    return method if alignment in (None, "reversal") else f"{method} ({alignment})"


def _runs_once(root: Path) -> list[tuple[RunDir, Result | None, RunError | None]]:
    """Every run at or below ``root`` with its result and error, each config hash once.

    Two run folders hold the same config hash when a study was copied or moved (its runs
    folder twice under ``root``): the first in path order is kept, a finished run before a
    failed one.
    """
    from xmodal.rundir import find_runs

    kept: dict[str, tuple[RunDir, Result | None, RunError | None]] = {}
    for run in find_runs(root):
        res = run.read_result()
        err = None if res is not None and res.ok else run.read_error()
        config_hash = res.config_hash if res is not None else (err.extra.get("config_hash") if err else None)
        key = str(config_hash) if config_hash else str(run.path)
        old = kept.get(key)
        if old is None or (not (old[1] is not None and old[1].ok) and res is not None and res.ok):
            kept[key] = (run, res, err)
    return sorted(kept.values(), key=lambda t: t[0].path)


def _study_of(run: RunDir) -> str:
    from xmodal.rundir import read_json, study_meta_path

    meta = read_json(study_meta_path(run.path.parent))
    return str(meta.get("name")) if meta and meta.get("name") else run.path.parent.name


def _point_of(run: RunDir, config_hash: str | None) -> str:
    if config_hash and run.name.endswith(f"-{config_hash}"):
        return run.name[: -len(config_hash) - 1]
    import re

    return re.sub(r"-[0-9a-f]{12}$", "", run.name)


def _micro_f1(run: RunDir, modality: str) -> float:
    """Micro F1 of ``modality`` from the run's predictions (results written before ``micro`` was recorded)."""
    from xmodal.metrics import F1_THRESHOLD, f1_scores
    from xmodal.rundir import RunFolderError

    try:
        pred = run.predictions()
    except RunFolderError:
        return math.nan
    if modality not in pred.prob:
        return math.nan
    return float(f1_scores(pred.target[modality], pred.prob[modality], threshold=F1_THRESHOLD)["micro"])


def load_results(path: str | os.PathLike[str]) -> pd.DataFrame:
    """The tidy results table: one row per run and evaluated sensor.

    The sensors of a run are those of its config (:attr:`xmodal.rundir.Result.modalities`).
    A run folder found twice (the same config hash: a study copied or moved below
    ``path``) counts once: the first in path order, a finished run before a failed one.

    Args:
        path: a study folder (``runs/default``), a folder of study folders
            (``runs``) or a single run directory.

    Returns:
        A DataFrame with columns :data:`RESULT_COLUMNS`. ``method`` is :func:`method_of` the
        run's config (the paper's name, or e.g. ``"C+T+M (confusion)"`` for an alignment
        ablation) and ``alignment`` the run's alignment (``None`` without ``M``). ``homogeneity`` is the
        mean eq.-(5) score over the sensor pairs involving the row's sensor
        (NaN for the single-sensor baseline: see :func:`load_homogeneity`);
        failed runs have ``status == "failed"``, NaN scores and their ``error``.

    Raises:
        StudyError: ``path`` does not exist (the message names it).
    """
    import pandas as pd

    root = Path(path)
    if not root.exists():
        raise StudyError(f"No results: {root} does not exist")
    rows: list[dict[str, Any]] = []
    for run, res, err in _runs_once(root):
        if res is not None and res.ok:
            rows.extend(_result_rows(run, res))
        else:
            rows.extend(_failed_rows(run, res, err))
    df = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
    for col in ("macro", "weighted", "micro", "homogeneity", "seconds"):
        df[col] = pd.to_numeric(df[col], errors="coerce")
    for col in ("n_train", "n_train_requested", "n_test", "seed", "epochs", "patch_size"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("Int64")
    return df.sort_values(["study", "method", "modality", "n_train_requested", "seed"],
                          na_position="last", kind="stable").reset_index(drop=True)


def _failed_rows(run: RunDir, res: Result | None, err: RunError | None) -> list[dict[str, Any]]:
    cfg = (err.config if err is not None else {}) or (res.config if res is not None else {})
    config_hash = (err.extra.get("config_hash") if err is not None else None) or (res.config_hash if res else None)
    mods = list(cfg.get("modalities") or ["?"])
    return [{
        "study": _study_of(run), "point": _point_of(run, config_hash),
        "method": method_of(cfg) if cfg.get("method") else None, "alignment": _alignment_of(cfg),
        "modality": mod, "trained_modalities": "+".join(cfg.get("modalities") or []),
        "n_train": cfg.get("n_train"), "n_train_requested": cfg.get("n_train"),
        "seed": cfg.get("seed"), "epochs": cfg.get("epochs"), "backbone": cfg.get("backbone"),
        "patch_size": cfg.get("patch_size"), "split": cfg.get("split"), "season": cfg.get("season"),
        "status": "failed" if err is not None else (res.status if res is not None else "unknown"),
        "error": err.summary if err is not None else None,
        "config_hash": config_hash, "run_dir": str(run.path),
    } for mod in mods]


def _result_rows(run: RunDir, res: Result) -> list[dict[str, Any]]:
    cfg = res.config
    rows = []
    for mod in res.modalities:
        m = res.metrics.get(mod, {})
        micro = m.get("micro")
        rows.append({
            "study": _study_of(run), "point": _point_of(run, res.config_hash), "method": method_of(cfg),
            "alignment": _alignment_of(cfg), "modality": mod, "trained_modalities": "+".join(res.modalities),
            "n_train": res.n_train(mod), "n_train_requested": cfg.get("n_train"), "n_test": res.data.get("n_test"),
            "seed": res.seed, "macro": m.get("macro"), "weighted": m.get("weighted"),
            "micro": micro if micro is not None else _micro_f1(run, mod),
            "homogeneity": res.homogeneity_of(mod),
            "seconds": res.timings.get("total_seconds"), "epochs": len(res.history) or cfg.get("epochs"),
            "backbone": cfg.get("backbone"), "patch_size": cfg.get("patch_size"),
            "data_kind": res.data.get("kind"), "season": res.data.get("season", cfg.get("season")),
            "split": res.data.get("split", cfg.get("split")), "status": "ok", "error": None,
            "config_hash": res.config_hash, "run_dir": str(run.path),
        })
    return rows


def load_per_class(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Per-class F1 of every finished run: one row per run, sensor and class.

    Columns: study, point, method, modality, n_train, seed, class, f1, support, run_dir.
    """
    import pandas as pd

    rows = []
    for run, res, _ in _runs_once(Path(path)):
        if res is None or not res.ok:
            continue
        for mod in res.modalities:
            m = res.metrics.get(mod, {})
            support = m.get("support") or {}
            for cls, f1 in (m.get("per_class") or {}).items():
                rows.append({"study": _study_of(run), "point": _point_of(run, res.config_hash),
                             "method": method_of(res.config), "modality": mod, "n_train": res.n_train(mod),
                             "seed": res.seed, "class": cls, "f1": f1,
                             "support": support.get(cls), "run_dir": str(run.path)})
    return pd.DataFrame(rows, columns=["study", "point", "method", "modality", "n_train", "seed",
                                       "class", "f1", "support", "run_dir"])


def _results_table(results: pd.DataFrame | str | os.PathLike[str]) -> pd.DataFrame:
    import pandas as pd

    return results if isinstance(results, pd.DataFrame) else load_results(results)


def baseline_homogeneity(results: pd.DataFrame | str | os.PathLike[str]) -> pd.DataFrame:
    """Cross-modal homogeneity (eq. 5) of separately trained single-sensor Baselines.

    The paper's baseline homogeneity (0.63) compares a model trained on S1 only with one
    trained on S2 only. This pairs the single-sensor Baseline runs of every pair of
    sensors of the same study, seed and training-set size
    (:func:`xmodal.analysis.tables.baseline_pairs`), reads their test predictions and
    aligns them by patch id (:func:`xmodal.analysis.tables.baseline_homogeneity`).

    Args:
        results: a :func:`load_results` table or a path it accepts.

    Returns:
        One row per pair of runs, columns :data:`xmodal.analysis.tables.PAIR_COLUMNS`.
    """
    from xmodal.analysis import tables
    from xmodal.rundir import RunDir

    pairs = tables.baseline_pairs(_results_table(results))
    runs = {str(r) for r in pairs["run_dir_a"]} | {str(r) for r in pairs["run_dir_b"]}
    return tables.baseline_homogeneity(pairs, {r: RunDir(r).predictions() for r in sorted(runs)})


def load_homogeneity(results: pd.DataFrame | str | os.PathLike[str]) -> pd.DataFrame:
    """The homogeneity (eq. 5) of every pair of sensors: one row per run (or pair of runs) and pair.

    The joint models' scores come from each finished run's result (the trainer compares
    the aligned test predictions of every pair of its sensors); the single-sensor
    Baselines' from :func:`baseline_homogeneity`.

    Args:
        results: a :func:`load_results` table or a path it accepts.

    Returns:
        Columns :data:`xmodal.analysis.tables.PAIR_COLUMNS`; for a joint model ``n_pairs``
        is its number of test patches and ``run_dir_a == run_dir_b``.
    """
    import pandas as pd

    from xmodal.analysis import tables
    from xmodal.rundir import RunDir

    df = _results_table(results)
    ok = df[df["status"] == "ok"].drop_duplicates("run_dir")
    rows = []
    for _, r in ok.iterrows():
        res = RunDir(r["run_dir"]).result()
        for key, score in res.homogeneity.items():
            pair = tables.sensor_order(key.split("|"))
            if len(pair) != 2:
                continue
            a, b = pair
            rows.append({"study": r["study"], "method": method_of(res.config), "sensor_a": a, "sensor_b": b,
                         "n_train": r["n_train_requested"], "seed": res.seed, "homogeneity": score,
                         "n_pairs": res.data.get("n_test"), "run_dir_a": r["run_dir"], "run_dir_b": r["run_dir"]})
    joint = pd.DataFrame(rows, columns=list(tables.PAIR_COLUMNS))
    base = baseline_homogeneity(df)
    out = pd.concat([f for f in (joint, base) if len(f)]) if len(joint) or len(base) else joint
    for col in ("n_train", "seed", "n_pairs"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("Int64")
    out["homogeneity"] = pd.to_numeric(out["homogeneity"], errors="coerce")
    return out.reset_index(drop=True)


def load_homogeneity_context(results: pd.DataFrame | str | os.PathLike[str]) -> pd.DataFrame:
    """:func:`xmodal.analysis.tables.homogeneity_context` of every full-training-set pair of sensors.

    Reads the test predictions of the runs of :func:`load_homogeneity` and, for the
    constant predictor, each run's training-label mean (``Result.data["train_prior"]``)
    when it recorded one.
    """
    import numpy as np

    from xmodal.analysis import tables
    from xmodal.rundir import RunDir

    pairs = tables.final_pairs(load_homogeneity(results))
    runs = sorted({str(r) for r in pairs["run_dir_a"]} | {str(r) for r in pairs["run_dir_b"]})
    predictions = {r: RunDir(r).predictions() for r in runs}
    priors = {}
    for r in runs:
        prior = RunDir(r).result().data.get("train_prior")
        if prior is not None:
            priors[r] = np.asarray(prior, dtype=float)
    return tables.homogeneity_context(pairs, predictions, priors)


#: Columns of :func:`load_latent_measures` before the measures of :func:`xmodal.analysis.latent.latent_measures`.
LATENT_KEY_COLUMNS: tuple[str, ...] = (
    "study", "point", "method", "alignment", "seed", "n_train", "alpha", "grl_weight", "steps", "sensors", "run_dir",
)


def _multi_sensor_runs(results: pd.DataFrame) -> list[tuple[pd.Series, Result]]:
    """The finished runs of a results table trained on two or more sensors, each once, with their result."""
    from xmodal.rundir import RunDir

    ok = results[results["status"] == "ok"].drop_duplicates("run_dir")
    out = []
    for _, row in ok.iterrows():
        res = RunDir(row["run_dir"]).read_result()
        if res is not None and res.ok and len(res.modalities) >= 2:
            out.append((row, res))
    return out


def _run_keys(row: pd.Series, res: Result) -> dict[str, Any]:
    cfg = res.config
    epochs = len(res.history) or int(cfg.get("epochs") or 0)
    per_epoch = res.data.get("steps_per_epoch") or cfg.get("steps_per_epoch")
    return {
        "study": row["study"], "point": row["point"], "method": method_of(cfg), "alignment": _alignment_of(cfg),
        "seed": res.seed, "n_train": cfg.get("n_train"), "alpha": cfg.get("alpha"), "grl_weight": cfg.get("grl_weight"),
        "steps": epochs * int(per_epoch) if per_epoch else None, "sensors": "+".join(res.modalities),
        "run_dir": str(row["run_dir"]),
    }


def load_latent_measures(results: pd.DataFrame | str | os.PathLike[str]) -> pd.DataFrame:
    """:func:`xmodal.analysis.latent.latent_measures` of every finished multi-sensor run: one row per run.

    Reads each run's ``latents.npz`` (the first ``n_latent`` test patches of every sensor)
    and measures how much of the sensor is left in the latent space (linear probe, neighbour
    mixing) and how well the sensors meet there (label and same-patch retrieval).

    Args:
        results: a :func:`load_results` table (e.g. only the full-training-set runs,
            :func:`xmodal.analysis.tables.final_runs`) or a path it accepts.

    Returns:
        :data:`LATENT_KEY_COLUMNS` (``n_train`` the requested size, missing for the whole
        split; ``steps`` the run's optimisation steps; ``sensors`` e.g. ``"s1+s2"``), then
        the numbers of :func:`~xmodal.analysis.latent.latent_measures` with ``k`` =
        :data:`~xmodal.analysis.latent.NEIGHBOURS` neighbours, or fewer when a sensor has fewer
        latents (column ``k``). A run without latents, or with too few of them to measure,
        keeps its row with the measures missing.
    """
    import numpy as np
    import pandas as pd

    from xmodal.analysis.latent import NEIGHBOURS, latent_measures
    from xmodal.rundir import RunDir, RunFolderError

    rows = []
    for row, res in _multi_sensor_runs(_results_table(results)):
        keys = _run_keys(row, res)
        try:
            lat = RunDir(row["run_dir"]).latents()
            fewest = int(np.unique(lat.modality, return_counts=True)[1].min())
            keys.update(latent_measures(lat.z, lat.modality, lat.ids, lat.labels, k=min(NEIGHBOURS, fewest)))
        except (RunFolderError, ValueError):
            pass
        rows.append(keys)
    df = pd.DataFrame(rows)
    for col in LATENT_KEY_COLUMNS:
        if col not in df.columns:
            df[col] = None
    for col in ("seed", "n_train", "steps"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("Int64")
    return df[list(LATENT_KEY_COLUMNS) + [c for c in df.columns if c not in LATENT_KEY_COLUMNS]]


def load_histories(results: pd.DataFrame | str | os.PathLike[str]) -> pd.DataFrame:
    """The training history of every finished multi-sensor run: one row per run and epoch.

    Args:
        results: a :func:`load_results` table or a path it accepts.

    Returns:
        :data:`LATENT_KEY_COLUMNS`, ``n_sensors``, ``epoch`` and every key the runs' histories
        hold (``L_C``, ``L_M``, ``L_T``, ``loss``, ``modality_accuracy``, ``probe_accuracy``, ...),
        the epoch's ``grl_weight`` (the scheduled weight at its last step) as ``w``: ``grl_weight``
        is the config's. A key a run did not record (runs older than it) is missing (NaN) in its rows.
    """
    import pandas as pd

    rows = []
    for row, res in _multi_sensor_runs(_results_table(results)):
        keys = {**_run_keys(row, res), "n_sensors": len(res.modalities)}
        for i, entry in enumerate(res.history):
            epoch = {("w" if k == "grl_weight" else k): v for k, v in entry.items() if k != "epoch"}
            rows.append({**keys, "epoch": i + 1, **epoch})
    df = pd.DataFrame(rows)
    for col in (*LATENT_KEY_COLUMNS, "n_sensors", "epoch"):
        if col not in df.columns:
            df[col] = None
    for col in ("seed", "n_train", "steps", "n_sensors", "epoch"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("Int64")
    first = [*LATENT_KEY_COLUMNS, "n_sensors", "epoch"]
    return df[first + [c for c in df.columns if c not in first]]


def summarize(df: pd.DataFrame, by_size: bool = True) -> pd.DataFrame:
    """Mean, standard deviation and count of the scores per method x sensor (x n_train).

    Only finished runs count; the ``n`` column is the number of runs (seeds); see
    :func:`xmodal.analysis.tables.summary_table`.
    """
    from xmodal.analysis.tables import summary_table

    return summary_table(df, by_size=by_size)


def export_csv(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``df`` to ``path`` as CSV atomically; returns the path."""
    from xmodal.atomic import write_text

    return write_text(path, df.to_csv(index=False))
