"""The run folder: the one owner of a run's files and of the records they hold.

Every run (one point of a study, or one ``xmodal train``) has a folder::

    <run dir>/
        result.json        Result: config, data, metrics, homogeneity, history, timings (written last)
        checkpoint.pt      the last finished epoch (a killed run resumes from it); weights only once done
        checkpoint.pt.damaged-<UTC time>   a checkpoint that could not be read, set aside (the run started over)
        predictions.npz    Predictions: test ids, soft labels and class probabilities per sensor
        latents.npz        Latents: latent vectors of some test patches, the same ids for every sensor
        experiment.ipynb   the executed notebook (a sweep's record of the run)
        error.json         RunError: only when the run failed (exception, message, traceback tail)
        parameters.yaml    the notebook's parameters (``xmodal sweep --print-commands``)

No other module spells these names: the trainer writes through :class:`RunDir`,
and the study, the analysis, the plots, the book and the notebooks read typed
records from it. Every file is written atomically (:mod:`xmodal.atomic`), so a
killed process leaves either the old or the new file, never half of one.

A study folder (``<runs>/<study>/``) holds one run folder per point and the
study's spec as ``study.json`` (:func:`study_meta_path`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from xmodal import atomic
from xmodal.errors import XmodalError

__all__ = [
    "RESULT_SCHEMA",
    "RUN_STATUSES",
    "Latents",
    "Predictions",
    "Result",
    "RunDir",
    "RunError",
    "RunFolderError",
    "align_ids",
    "find_runs",
    "iter_results",
    "read_json",
    "study_meta_path",
]

#: Version of the ``result.json`` layout.
RESULT_SCHEMA = 1
RESULT_FILE = "result.json"
CHECKPOINT_FILE = "checkpoint.pt"
#: A checkpoint that could not be read, set aside: ``checkpoint.pt.damaged-<UTC time>`` (not a ``.pt`` file).
DAMAGED_CHECKPOINT_PREFIX = f"{CHECKPOINT_FILE}.damaged-"
PREDICTIONS_FILE = "predictions.npz"
LATENTS_FILE = "latents.npz"
ERROR_FILE = "error.json"
NOTEBOOK_FILE = "experiment.ipynb"
#: The notebook while papermill writes it (ends in ``.ipynb``, as papermill expects).
PARTIAL_NOTEBOOK_FILE = ".partial-experiment.ipynb"
PARAMETERS_FILE = "parameters.yaml"
LOCK_FILE = ".lock"
#: The study's spec, in the study folder (parent of its run folders).
STUDY_FILE = "study.json"

Status = Literal["ok", "failed", "partial", "pending"]
#: What :meth:`RunDir.status` returns: finished, failed (error.json), a checkpoint only, nothing yet.
RUN_STATUSES: tuple[str, ...] = ("ok", "failed", "partial", "pending")


class RunFolderError(XmodalError, FileNotFoundError):
    """A run folder lacks a file that was asked for, or holds an unreadable one; the message names it."""


def read_json(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The JSON object in ``path``, or ``None`` when it is missing, unreadable or not an object."""
    try:
        with open(path) as fh:
            obj = json.load(fh)
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return obj if isinstance(obj, dict) else None


def study_meta_path(study_dir: str | os.PathLike[str]) -> Path:
    """Where a study folder keeps its spec (``study.json``)."""
    return Path(study_dir) / STUDY_FILE


# ----------------------------------------------------------------------------- records
@dataclass(frozen=True)
class Result:
    """What a finished run reports (``result.json``).

    Attributes:
        config: the run's :class:`~xmodal.config.ExperimentConfig` as a dict.
        config_hash: the config's hash (names the run folder in a study).
        data: which data the run saw: kind (synthetic / sen12ms), root, season,
            split, pairing, n_train per sensor, training scenes per sensor and how many
            they share, n_test, class_names, stats, steps_per_epoch, skipped patches,
            the root's description.
        metrics: sensor -> F1 scores (macro, weighted, micro, per_class, support).
        homogeneity: ``"a|b"`` -> eq.-(5) score of every pair of sensors.
        history: one dict per epoch (losses, GRL weight, triplet validity, seconds).
        timings: train, eval and total seconds.
        versions: package versions.
        device: the torch device.
        world_size: processes (DDP).
        status: ``"ok"`` for a finished run.
        schema: :data:`RESULT_SCHEMA`.
        extra: keys of the file this version does not know (kept on a round trip).
    """

    config: dict[str, Any]
    config_hash: str
    data: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    homogeneity: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    device: str = "cpu"
    world_size: int = 1
    status: str = "ok"
    schema: int = RESULT_SCHEMA
    extra: dict[str, Any] = field(default_factory=dict)

    # --- what readers ask most --------------------------------------------------
    @property
    def ok(self) -> bool:
        """Whether the run finished."""
        return self.status == "ok"

    @property
    def method(self) -> str:
        """The run's method (baseline, C, C+M, C+T, C+T+M, ...)."""
        return str(self.config.get("method"))

    @property
    def modalities(self) -> list[str]:
        """The sensors the run was trained on (and evaluated on), in config order."""
        return list(self.config.get("modalities") or list(self.metrics))

    @property
    def seed(self) -> int | None:
        """The run's seed."""
        seed = self.config.get("seed")
        return None if seed is None else int(seed)

    @property
    def class_names(self) -> list[str]:
        """Names of the classes of the soft labels, as the run saw them."""
        names = self.data.get("class_names")
        if names:
            return list(names)
        from xmodal.data.labels import class_names

        return class_names(self.config.get("label_scheme", "dfc9"))

    @property
    def data_kind(self) -> str:
        """``"synthetic"``, ``"sen12ms"`` or ``"unknown"``."""
        return str(self.data.get("kind") or "unknown")

    def n_train(self, modality: str) -> int | None:
        """Training patches the run used for ``modality``."""
        n = (self.data.get("n_train") or {}).get(modality, self.config.get("n_train"))
        return None if n is None else int(n)

    def homogeneity_of(self, modality: str) -> float:
        """Mean eq.-(5) score over the sensor pairs that include ``modality`` (NaN when none)."""
        pairs = [v for k, v in self.homogeneity.items() if modality in k.split("|") and v is not None]
        return float(sum(pairs) / len(pairs)) if pairs else math.nan

    # --- (de)serialisation -------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``result.json``."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        out.update(self.extra)
        return out

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> Result:
        """The record of a ``result.json`` object (unknown keys go to :attr:`extra`)."""
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        known = {k: v for k, v in obj.items() if k in names}
        if "config" not in known or "config_hash" not in known:
            raise ValueError("A result needs 'config' and 'config_hash'")
        known["metrics"] = {m: dict(v) for m, v in (known.get("metrics") or {}).items()}
        known["homogeneity"] = {
            k: (math.nan if v is None else float(v)) for k, v in (known.get("homogeneity") or {}).items()
        }
        for key in ("data", "timings", "versions"):
            known[key] = dict(known.get(key) or {})
        known["history"] = list(known.get("history") or [])
        return cls(**known, extra={k: v for k, v in obj.items() if k not in names})


@dataclass(frozen=True)
class Predictions:
    """Test predictions of a run (``predictions.npz``), per sensor.

    Attributes:
        modalities: the sensors, in config order.
        class_names: the classes of ``target`` and ``prob`` columns.
        ids: sensor -> patch ids [N_m].
        target: sensor -> soft labels [N_m, C].
        prob: sensor -> predicted class probabilities [N_m, C].
    """

    modalities: list[str]
    class_names: list[str]
    ids: dict[str, np.ndarray]
    target: dict[str, np.ndarray]
    prob: dict[str, np.ndarray]

    def aligned(self, a: str, b: str) -> tuple[np.ndarray, np.ndarray]:
        """Row indices ``(ia, ib)`` of the patches both sensors have, in ``a``'s order."""
        return align_ids(self.ids[a], self.ids[b])

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The arrays of ``predictions.npz``: ``ids_<m>``, ``target_<m>``, ``prob_<m>`` per sensor.

        The first sensor's ids and targets are also stored as ``ids`` and ``target``
        (the layout of earlier versions, which :meth:`from_arrays` still reads).
        """
        arrays: dict[str, np.ndarray] = {
            "modalities": np.array(self.modalities),
            "class_names": np.array(self.class_names),
        }
        first = self.modalities[0]
        arrays["ids"] = np.asarray(self.ids[first]).astype(str)
        arrays["target"] = np.asarray(self.target[first])
        for m in self.modalities:
            arrays[f"ids_{m}"] = np.asarray(self.ids[m]).astype(str)
            arrays[f"target_{m}"] = np.asarray(self.target[m])
            arrays[f"prob_{m}"] = np.asarray(self.prob[m])
        return arrays

    @classmethod
    def from_arrays(cls, z: Mapping[str, np.ndarray]) -> Predictions:
        """The record of the arrays of a ``predictions.npz`` (earlier layouts included).

        Raises:
            KeyError: an array is missing.
        """
        mods = [str(m) for m in z["modalities"]]
        ids, target, prob = {}, {}, {}
        for m in mods:
            ids[m] = np.asarray(z[f"ids_{m}"] if f"ids_{m}" in z else z["ids"]).astype(str)
            target[m] = np.asarray(z[f"target_{m}"] if f"target_{m}" in z else z["target"])
            prob[m] = np.asarray(z[f"prob_{m}"])
        return cls(mods, [str(c) for c in z["class_names"]], ids, target, prob)


@dataclass(frozen=True)
class Latents:
    """Latent vectors of some test patches (``latents.npz``); rows of all sensors stacked.

    The same patch ids appear once per sensor, in the same order, so the rows of
    two sensors with equal ``ids`` are aligned pairs.

    Attributes:
        z: latent vectors [N, D].
        labels: soft labels [N, C].
        prob: predicted class probabilities [N, C].
        modality: sensor of each row [N].
        ids: patch id of each row [N].
    """

    z: np.ndarray
    labels: np.ndarray
    prob: np.ndarray
    modality: np.ndarray
    ids: np.ndarray

    @property
    def modalities(self) -> list[str]:
        """The sensors present, in order of first appearance."""
        return list(dict.fromkeys(str(m) for m in self.modality))

    def of(self, modality: str) -> Latents:
        """The rows of one sensor."""
        keep = self.modality == modality
        return Latents(self.z[keep], self.labels[keep], self.prob[keep], self.modality[keep], self.ids[keep])

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The arrays of ``latents.npz`` (one per attribute; sensors and ids as strings)."""
        return {"z": self.z, "labels": self.labels, "prob": self.prob,
                "modality": np.asarray(self.modality).astype(str), "ids": np.asarray(self.ids).astype(str)}

    @classmethod
    def from_arrays(cls, z: Mapping[str, np.ndarray]) -> Latents:
        """The record of the arrays of a ``latents.npz`` (``prob`` is NaN in files written without it).

        Raises:
            KeyError: an array is missing.
        """
        n = len(z["z"])
        prob = np.asarray(z["prob"]) if "prob" in z else np.full_like(np.asarray(z["labels"]), np.nan)
        return cls(np.asarray(z["z"]), np.asarray(z["labels"]), prob[:n],
                   np.asarray(z["modality"]).astype(str), np.asarray(z["ids"]).astype(str))


@dataclass(frozen=True)
class RunError:
    """Why a run failed (``error.json``).

    Attributes:
        exception: the exception's class name.
        message: its message.
        traceback: the last lines of the traceback.
        extra: point, study, config, config_hash, seconds, time, ... as the writer recorded them.
    """

    exception: str
    message: str
    traceback: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        """``"<exception>: <message>"``."""
        return f"{self.exception}: {self.message}"

    @property
    def config(self) -> dict[str, Any]:
        """The failed run's config as a dict (empty when the writer did not record it)."""
        return dict(self.extra.get("config") or {})

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``error.json`` (the :attr:`extra` keys at the top level)."""
        return {"exception": self.exception, "message": self.message, "traceback": list(self.traceback),
                **self.extra}

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> RunError:
        """The record of an ``error.json`` object (keys other than the three named go to :attr:`extra`)."""
        rest = {k: v for k, v in obj.items() if k not in ("exception", "message", "traceback")}
        return cls(str(obj.get("exception", "")), str(obj.get("message", "")),
                   [str(t) for t in obj.get("traceback") or []], rest)


def align_ids(ids_a: Sequence[str] | np.ndarray, ids_b: Sequence[str] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row indices ``(ia, ib)`` of the ids both lists hold, in ``ids_a``'s order."""
    a = np.asarray(ids_a).astype(str)
    b = np.asarray(ids_b).astype(str)
    if a.shape == b.shape and np.array_equal(a, b):
        n = len(a)
        return np.arange(n), np.arange(n)
    pos_b = {pid: j for j, pid in enumerate(b)}
    ia = np.array([i for i, pid in enumerate(a) if pid in pos_b], dtype=np.int64)
    ib = np.array([pos_b[a[i]] for i in ia], dtype=np.int64)
    return ia, ib


# ----------------------------------------------------------------------------- the folder
class RunDir:
    """One run folder: its file names, typed reads and atomic writes, and its status.

    Args:
        path: the run folder (need not exist yet).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __fspath__(self) -> str:
        return str(self.path)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunDir) and self.path == other.path

    def __hash__(self) -> int:
        return hash(self.path)

    @property
    def name(self) -> str:
        """The folder's name (``<point>-<config hash>`` for a run of a study)."""
        return self.path.name

    # --- paths ----------------------------------------------------------------------
    @property
    def result_path(self) -> Path:
        """``result.json`` in the folder."""
        return self.path / RESULT_FILE

    @property
    def checkpoint_path(self) -> Path:
        """``checkpoint.pt`` in the folder."""
        return self.path / CHECKPOINT_FILE

    @property
    def predictions_path(self) -> Path:
        """``predictions.npz`` in the folder."""
        return self.path / PREDICTIONS_FILE

    @property
    def latents_path(self) -> Path:
        """``latents.npz`` in the folder."""
        return self.path / LATENTS_FILE

    @property
    def error_path(self) -> Path:
        """``error.json`` in the folder."""
        return self.path / ERROR_FILE

    @property
    def notebook_path(self) -> Path:
        """``experiment.ipynb`` in the folder (the executed notebook)."""
        return self.path / NOTEBOOK_FILE

    @property
    def partial_notebook_path(self) -> Path:
        """The notebook while papermill writes it (renamed to :attr:`notebook_path` when done)."""
        return self.path / PARTIAL_NOTEBOOK_FILE

    @property
    def parameters_path(self) -> Path:
        """``parameters.yaml`` in the folder (the notebook's parameters)."""
        return self.path / PARAMETERS_FILE

    @property
    def lock_path(self) -> Path:
        """``.lock``: the advisory lock a sweep holds while it runs the folder, so two sweeps never run it at once."""
        return self.path / LOCK_FILE

    # --- status -------------------------------------------------------------------
    def status(self) -> Status:
        """``"ok"`` (finished), ``"failed"`` (error.json), ``"partial"`` (checkpoint only) or ``"pending"``."""
        res = self.read_result()
        if res is not None and res.ok:
            return "ok"
        if self.error_path.exists():
            return "failed"
        if self.checkpoint_path.exists():
            return "partial"
        return "pending"

    def is_run(self) -> bool:
        """Whether the folder holds a result or an error (a run that reached an end)."""
        return self.result_path.exists() or self.error_path.exists()

    def has_latents(self) -> bool:
        """Whether ``latents.npz`` exists."""
        return self.latents_path.is_file()

    def has_notebook(self) -> bool:
        """Whether the executed notebook ``experiment.ipynb`` exists."""
        return self.notebook_path.is_file()

    def prepare(self) -> None:
        """Create the folder and remove temporaries that killed processes left in it."""
        self.path.mkdir(parents=True, exist_ok=True)
        atomic.remove_stale_temps(self.path)

    # --- result -------------------------------------------------------------------
    def read_result(self) -> Result | None:
        """The run's :class:`Result`, or ``None`` when ``result.json`` is missing or unreadable."""
        obj = read_json(self.result_path)
        if obj is None:
            return None
        try:
            return Result.from_dict(obj)
        except (TypeError, ValueError):
            return None

    def result(self) -> Result:
        """The run's :class:`Result`.

        Raises:
            RunFolderError: ``result.json`` is missing or unreadable (the message names it).
        """
        res = self.read_result()
        if res is None:
            what = "is unreadable" if self.result_path.exists() else "does not exist (the run has not finished)"
            raise RunFolderError(f"{self.result_path} {what}")
        return res

    def write_result(self, result: Result) -> Path:
        """Write ``result.json`` atomically; returns its path."""
        return atomic.write_json(self.result_path, result.to_dict())

    # --- predictions and latents ------------------------------------------------------
    def _npz(self, path: Path) -> dict[str, np.ndarray]:
        try:
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        except FileNotFoundError as exc:
            raise RunFolderError(f"{path} does not exist (the run has not finished)") from exc
        except (OSError, ValueError, KeyError) as exc:
            raise RunFolderError(f"{path} is unreadable ({exc})") from exc

    def predictions(self) -> Predictions:
        """The run's :class:`Predictions` (raises :class:`RunFolderError` naming a missing file)."""
        arrays = self._npz(self.predictions_path)
        try:
            return Predictions.from_arrays(arrays)
        except KeyError as exc:
            raise RunFolderError(f"{self.predictions_path} lacks the array {exc}") from exc

    def write_predictions(self, predictions: Predictions) -> Path:
        """Write ``predictions.npz`` atomically; returns its path."""
        return atomic.write_npz(self.predictions_path, predictions.to_arrays())

    def latents(self) -> Latents:
        """The run's :class:`Latents` (raises :class:`RunFolderError` naming a missing file)."""
        arrays = self._npz(self.latents_path)
        try:
            return Latents.from_arrays(arrays)
        except KeyError as exc:
            raise RunFolderError(f"{self.latents_path} lacks the array {exc}") from exc

    def write_latents(self, latents: Latents) -> Path:
        """Write ``latents.npz`` atomically; returns its path."""
        return atomic.write_npz(self.latents_path, latents.to_arrays())

    # --- errors ---------------------------------------------------------------------
    def read_error(self) -> RunError | None:
        """The run's :class:`RunError`, or ``None`` when ``error.json`` is missing or unreadable."""
        obj = read_json(self.error_path)
        return None if obj is None else RunError.from_dict(obj)

    def write_error(self, error: RunError) -> Path:
        """Write ``error.json`` atomically; returns its path."""
        return atomic.write_json(self.error_path, error.to_dict())

    def clear_error(self) -> None:
        """Remove ``error.json`` if present (a failed run started again)."""
        with contextlib.suppress(FileNotFoundError):
            self.error_path.unlink()

    # --- checkpoint -----------------------------------------------------------------
    def damaged_checkpoints(self) -> list[Path]:
        """The checkpoints set aside as unreadable (:meth:`set_aside_checkpoint`), oldest first."""
        return sorted(self.path.glob(f"{DAMAGED_CHECKPOINT_PREFIX}*"))

    def set_aside_checkpoint(self) -> Path | None:
        """Rename an unreadable ``checkpoint.pt`` to ``checkpoint.pt.damaged-<UTC time>``, kept for a person to see.

        Returns:
            The new path, or ``None`` when there was no checkpoint (another process set it aside).
        """
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        target = self.path / f"{DAMAGED_CHECKPOINT_PREFIX}{stamp}"
        n = 1
        while target.exists():
            n += 1
            target = self.path / f"{DAMAGED_CHECKPOINT_PREFIX}{stamp}-{n}"
        try:
            os.replace(self.checkpoint_path, target)
        except FileNotFoundError:
            return None
        return target

    def clear_training(self) -> None:
        """Remove the result and the checkpoint (a run started again from scratch)."""
        for p in (self.result_path, self.checkpoint_path):
            p.unlink(missing_ok=True)

    # --- parameters (papermill) ---------------------------------------------------------
    def write_parameters(self, parameters: Mapping[str, Any]) -> Path:
        """Write the notebook's parameters to ``parameters.yaml`` atomically; returns its path."""
        import yaml

        return atomic.write_text(self.parameters_path, yaml.safe_dump(atomic.jsonable(dict(parameters)),
                                                                      sort_keys=False))


def find_runs(path: str | os.PathLike[str]) -> list[RunDir]:
    """Every run folder at or below ``path`` that holds a result or an error, sorted by path."""
    root = Path(path)
    found: set[Path] = set()
    for name in (RESULT_FILE, ERROR_FILE):
        found.update(p.parent for p in root.rglob(name))
    return [RunDir(p) for p in sorted(found)]


def iter_results(path: str | os.PathLike[str]) -> Iterator[tuple[RunDir, Result]]:
    """``(run, result)`` of every finished run at or below ``path``."""
    for run in find_runs(path):
        res = run.read_result()
        if res is not None and res.ok:
            yield run, res
