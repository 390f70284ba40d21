"""The run folder: the one owner of a run's files and of the records they hold.

Every run (one point of a study, or one ``xmodal train``) has a folder::

    <run dir>/
        result.json        Result: config, data, metrics, homogeneity, history, timings (written last)
        checkpoint.pt      the last finished epoch (a killed run resumes from it); weights only once done
        checkpoint.pt.damaged-<UTC time>   a checkpoint that could not be read, set aside (the run started over)
        predictions.npz    Predictions: test ids, soft labels and class probabilities per sensor
        latents.npz        Latents: latent vectors of some test patches, the same ids for every sensor
        experiment.ipynb   the executed notebook (a sweep's record of the run)
        model.json         ModelRecord: what inference needs beside the weights (sensors, bands,
                           normalisation, classes, patch size); written before result.json
        error.json         RunError: only when the run failed (exception, message, traceback tail)
        parameters.yaml    the notebook's parameters (``xmodal sweep --print-commands``)

No other module spells these names: the trainer writes through :class:`RunDir`,
and the study, the analysis, the plots, the book and the notebooks read typed
records from it. Every file is written atomically (:mod:`xmodal.atomic`), so a
killed process leaves either the old or the new file, never half of one.

A study folder (``<runs>/<study>/``) holds one run folder per point and the
study's spec as ``study.json`` (:func:`study_meta_path`).

Why one module of about 800 lines: it is the one owner of the folder's file names, and every
record's reader and writer (and the atomic writes they go through) sits beside the name it
reads; split, the layout above would be written in several places.
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
    "MODEL_SCHEMA",
    "ModelInput",
    "ModelRecord",
    "Predictions",
    "Result",
    "RunDir",
    "RunError",
    "RunFolderError",
    "align_ids",
    "find_runs",
    "iter_results",
    "model_record_of",
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
MODEL_FILE = "model.json"
#: Version of the ``model.json`` layout.
MODEL_SCHEMA = 1
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
        history: one dict per epoch (losses, GRL weight, triplet validity, seconds; with a
            validation split its scores, ``val_f1_weighted`` and ``val_score``).
        validation: the validation curve and the chosen epoch
            (:func:`xmodal.training.validation.validation_record`; empty without a validation split).
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
    validation: dict[str, Any] = field(default_factory=dict)
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
        for key in ("data", "timings", "versions", "validation"):
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


# ----------------------------------------------------------------------------- the model record (inference)
@dataclass(frozen=True)
class ModelInput:
    """How one modality's network input is made from a sensor file (a part of :class:`ModelRecord`).

    Attributes:
        modality: the modality (``s1``, ``s2``, ``s2all``, ``rgb``).
        sensor: the sensor file it reads (``s1`` or ``s2``).
        file_bands: the bands of that sensor's files, in order, as SEN12MS stores them.
        bands: the bands the network takes, in the order it takes them.
        mean, std: per-band z-scoring statistics of :attr:`bands`.
        clip: ``[low, high]`` the raw values are clipped to (dB for S1, reflectance x 10000 for S2).
        nan_fill: what a NaN becomes before clipping (S1: the clip floor), or ``None``.
        normalization: where the statistics come from (``sen12ms`` or ``dataset``).
    """

    modality: str
    sensor: str
    file_bands: list[str]
    bands: list[str]
    mean: list[float]
    std: list[float]
    clip: list[float]
    nan_fill: float | None = None
    normalization: str = "sen12ms"

    @property
    def band_index(self) -> list[int]:
        """Indices of :attr:`bands` among :attr:`file_bands`."""
        return [self.file_bands.index(b) for b in self.bands]


@dataclass(frozen=True)
class ModelRecord:
    """What a trained run needs at inference beside its weights (``model.json``).

    Loading a model from a run folder reads this record and the checkpoint it names, and
    nothing else: neither the training data nor the study.

    Attributes:
        checkpoint: file name of the weights in the run folder.
        config_hash: the run's config hash (the checkpoint holds the same).
        method: the run's method.
        modalities: the modalities the network was trained on, in config order.
        inputs: modality -> :class:`ModelInput`.
        label_scheme: the label scheme (``dfc9``, ``dfc10``).
        class_names: the classes of the network's output, in order.
        patch_size: side in pixels of the network's input.
        footprint: side in pixels of the image a patch covers (the stored patch size); the
            input is that window area-averaged to :attr:`patch_size`.
        pixel_size_m: ground sampling distance of the training images in metres (``None``: unknown).
        data_kind: ``synthetic`` or ``SEN12MS`` (what the run trained on).
        schema: :data:`MODEL_SCHEMA`.
    """

    checkpoint: str
    config_hash: str
    method: str
    modalities: list[str]
    inputs: dict[str, ModelInput]
    label_scheme: str
    class_names: list[str]
    patch_size: int
    footprint: int
    pixel_size_m: float | None = None
    data_kind: str = "unknown"
    schema: int = MODEL_SCHEMA

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``model.json``."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> ModelRecord:
        """The record of a ``model.json`` object.

        Raises:
            ValueError: a key is missing or has the wrong type (the message names it).
        """
        try:
            inputs = {str(m): ModelInput(**dict(v)) for m, v in dict(obj["inputs"]).items()}
            names = {f.name for f in dataclasses.fields(cls)}
            known = {k: v for k, v in obj.items() if k in names and k != "inputs"}
            record = cls(inputs=inputs, **known)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a model record ({type(exc).__name__}: {exc})") from None
        if int(record.schema) > MODEL_SCHEMA:
            raise ValueError(f"model record schema {record.schema} is newer than this xmodal's ({MODEL_SCHEMA})")
        return record


def _stored_patch(result: Result) -> tuple[int, float | None]:
    """Side in pixels and pixel size (m) of the patches a run's data root stores.

    Read from the data description the run recorded (a synthetic root records its
    generator's patch size), else from one GeoTIFF of the root.

    Raises:
        ValueError: neither is available (the message says why).
    """
    from xmodal.data.layout import season_folder

    desc = result.data.get("description") or {}
    season = str(result.config.get("season", "winter"))
    synth = desc.get("synthetic") or {}
    entry = (synth.get("seasons") or {}).get(season_folder(season)) or synth
    params = desc.get("synthetic_params") or entry.get("params") or {}
    if entry.get("patch_size"):
        pixel = params.get("pixel_size_m")
        return int(entry["patch_size"]), None if pixel is None else float(pixel)
    root = Path(str(result.data.get("root") or result.config.get("data_root") or ""))
    sensor_dirs = root / season_folder(season)
    first = next(sensor_dirs.glob("s2_*/*.tif"), None) if sensor_dirs.is_dir() else None
    if first is None:
        raise ValueError(f"the size of the training patches is not recorded and their data root {root} "
                         "holds no S2 patch to measure it on")
    import rasterio

    with rasterio.open(first) as ds:
        pixel = float(abs(ds.transform.a)) if ds.crs is not None and ds.crs.is_projected else None
        return int(ds.width), pixel


def model_record_of(result: Result, checkpoint: str = CHECKPOINT_FILE) -> ModelRecord:
    """The :class:`ModelRecord` of a finished run, derived from its :class:`Result`.

    What the trainer writes as ``model.json``; for a run folder written before that file
    existed, ``xmodal predict --write-record RUN`` writes it from the folder's ``result.json``.

    Raises:
        ValueError: the result lacks what inference needs (normalisation statistics of a
            modality, the size of the training patches); the message names it.
    """
    from xmodal.data.normalize import SENSOR_BANDS, modality_spec

    stats = result.data.get("stats") or {}
    inputs: dict[str, ModelInput] = {}
    for m in result.modalities:
        spec = modality_spec(m)
        st = stats.get(m) or {}
        if not all(k in st for k in ("bands", "mean", "std")) or list(st["bands"]) != list(spec.bands):
            raise ValueError(f"the run's data record holds no normalisation statistics of the bands of {m!r}")
        clip = st.get("clip") or []
        inputs[m] = ModelInput(m, spec.sensor, list(SENSOR_BANDS[spec.sensor]), list(spec.bands),
                               [float(v) for v in st["mean"]], [float(v) for v in st["std"]],
                               [float(v) for v in clip], None if st.get("nan_fill") is None else float(st["nan_fill"]),
                               str(st.get("normalization", "sen12ms")))
    footprint, pixel = _stored_patch(result)
    size = result.config.get("patch_size")
    return ModelRecord(
        checkpoint=checkpoint, config_hash=result.config_hash, method=result.method, modalities=result.modalities,
        inputs=inputs, label_scheme=str(result.config.get("label_scheme", "dfc9")), class_names=result.class_names,
        patch_size=int(size) if size else footprint, footprint=footprint, pixel_size_m=pixel,
        data_kind=result.data_kind,
    )


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
    def model_path(self) -> Path:
        """``model.json`` in the folder (what inference needs, :class:`ModelRecord`)."""
        return self.path / MODEL_FILE

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

    # --- the model record (inference) -------------------------------------------------
    def read_model_record(self) -> ModelRecord | None:
        """The run's :class:`ModelRecord`, or ``None`` when ``model.json`` is missing or unreadable."""
        obj = read_json(self.model_path)
        if obj is None:
            return None
        try:
            return ModelRecord.from_dict(obj)
        except ValueError:
            return None

    def write_model_record(self, record: ModelRecord) -> Path:
        """Write ``model.json`` atomically; returns its path."""
        return atomic.write_json(self.model_path, record.to_dict())

    def record_model(self, result: Result) -> Path | None:
        """Write the :class:`ModelRecord` derived from ``result`` (:func:`model_record_of`).

        Returns:
            Its path, or ``None`` when the result lacks what inference needs (a run on
            in-memory datasets without normalisation statistics): nothing is written then.
        """
        try:
            record = model_record_of(result, self.checkpoint_path.name)
        except ValueError:
            return None
        return self.write_model_record(record)

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
        """Remove the result, the model record and the checkpoint (a run started again from scratch)."""
        for p in (self.result_path, self.model_path, self.checkpoint_path):
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
