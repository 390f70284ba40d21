"""A run folder as a model: its record, its network, and how a raw image becomes the network's input.

A finished run folder holds the weights (``checkpoint.pt``) and, since the trainer writes it,
``model.json`` (:class:`~xmodal.rundir.ModelRecord`): the sensors and their bands, the
normalisation statistics, the label scheme and class names, the patch size. :meth:`Model.load`
needs nothing else: neither the training data nor the study. A folder written before
``model.json`` existed gets an :class:`InferenceError` that says how to write the record from
the folder's own ``result.json`` (:func:`write_model_record`, ``xmodal predict --write-record RUN``).

A raw window of a sensor file becomes the network's input exactly as the training patches
did (:mod:`xmodal.data.cache` and :class:`xmodal.data.Sen12MS`): the model's bands, NaN
filled and values clipped (:func:`xmodal.data.normalize.clean`), area-averaged from the
footprint to the network's patch size, stored precision (S2 rounded to integers, S1 to
float16, as the packed cache holds them), then z-scored with the record's statistics.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from xmodal.data.cache import _downsample
from xmodal.data.normalize import clean, modality_label
from xmodal.rundir import ModelInput, ModelRecord, RunDir, model_record_of

# The trainer's loader of a checkpoint (moving to xmodal.training with issue 18): the one place
# inference imports from the training layer.
from xmodal.training import load_model

from .errors import InferenceError

__all__ = ["Model", "load_models", "write_model_record"]

#: How to write the record of an old run folder, for messages.
_WRITE_RECORD = "xmodal predict --write-record {run}"


@dataclass
class Model:
    """A trained network with what it needs to read raw images (see the module docstring).

    Attributes:
        run: the run folder.
        record: its :class:`~xmodal.rundir.ModelRecord`.
        net: the network, in eval mode, on ``device``.
        device: where it runs.
    """

    run: RunDir
    record: ModelRecord
    net: torch.nn.Module
    device: torch.device

    @classmethod
    def load(cls, run_dir: str | os.PathLike[str] | RunDir, device: str | torch.device = "cpu", *,
             derive_record: bool = False) -> Model:
        """The model of a finished run folder.

        Args:
            run_dir: the run folder.
            device: torch device of the network.
            derive_record: for a folder without ``model.json`` (written before it existed),
                derive the record from its ``result.json`` in memory instead of raising.

        Raises:
            InferenceError: not a finished run, no (or an unreadable) ``model.json``, no
                checkpoint, or a checkpoint of another config; the message says what to do.
        """
        run = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
        if not run.path.is_dir():
            raise InferenceError(f"{run.path} is not a run folder (no such folder)")
        record = run.read_model_record()
        if record is None:
            record = _missing_record(run, derive_record)
        ckpt = run.path / record.checkpoint
        if ckpt != run.checkpoint_path or not ckpt.is_file():
            raise InferenceError(f"{ckpt} does not exist: the run folder {run.path} holds no weights "
                                 "(has the run finished?)")
        net, config = load_model(run.path, device=device)
        if config.hash() != record.config_hash:
            raise InferenceError(
                f"{run.model_path} describes config {record.config_hash}, but {ckpt} holds config {config.hash()}; "
                f"write the record again with `{_WRITE_RECORD.format(run=run.path)}`")
        if list(getattr(net, "modalities", ())) != list(record.modalities):
            raise InferenceError(f"{run.model_path} lists modalities {record.modalities}, but the network of {ckpt} "
                                 f"has {list(getattr(net, 'modalities', ()))}")
        return cls(run, record, net, torch.device(device))

    # --- what the record says -------------------------------------------------------
    @property
    def modalities(self) -> list[str]:
        """The modalities the network takes."""
        return list(self.record.modalities)

    @property
    def class_names(self) -> list[str]:
        """The classes of its output."""
        return list(self.record.class_names)

    def input(self, modality: str) -> ModelInput:
        """How ``modality``'s input is made (:class:`~xmodal.rundir.ModelInput`)."""
        return self.record.inputs[modality]

    # --- raw image -> input -> answer ---------------------------------------------------
    def prepare(self, modality: str, raw: np.ndarray, invalid: np.ndarray | None = None) -> torch.Tensor:
        """The network's input ``[N, bands, patch_size, patch_size]`` of raw patches of ``modality``.

        Args:
            modality: one of :attr:`modalities`.
            raw: ``[N, bands, footprint, footprint]`` the model's bands (:attr:`ModelInput.bands`, in
                that order) in the sensor's units (S1 dB, S2 reflectance x 10000).
            invalid: ``[N, footprint, footprint]`` bool, pixels that hold no data: they are filled
                (S1 with the clip floor, as the training data's NaNs; S2 with the band's mean) first.
        """
        spec = self.input(modality)
        x = np.array(raw, dtype=np.float32)  # a copy: filled in place
        if invalid is not None and invalid.any():
            fill = np.asarray([spec.nan_fill if spec.nan_fill is not None else m for m in spec.mean], np.float32)
            x = np.where(invalid[:, None], fill[None, :, None, None], x).astype(np.float32)
        x = clean(spec.sensor, x)
        n, c, h, w = x.shape
        side = self.record.patch_size
        if (h, w) != (side, side):
            x = _downsample(x.reshape(n * c, h, w), side).reshape(n, c, side, side)
        # the precision the packed cache stores (xmodal.data.cache): what the network was trained on
        x = np.rint(x).astype(np.uint16) if spec.sensor == "s2" else x.astype(np.float16)
        x = x.astype(np.float32)
        x -= np.asarray(spec.mean, np.float32)[:, None, None]
        x /= np.asarray(spec.std, np.float32)[:, None, None]
        return torch.from_numpy(np.ascontiguousarray(x))

    @torch.inference_mode()
    def classify(self, modality: str, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Class probabilities ``[N, C]`` and latent vectors ``[N, D]`` of a batch of inputs."""
        out = self.net(x.to(self.device), modality)
        prob = torch.softmax(out["logits"].float(), dim=1).cpu().numpy()
        return prob, out["z"].float().cpu().numpy()


def _missing_record(run: RunDir, derive: bool) -> ModelRecord:
    """The record of a folder without a readable ``model.json``: derived, or an error saying what to do."""
    fix = f"`{_WRITE_RECORD.format(run=run.path)}`"
    if run.model_path.exists():
        raise InferenceError(f"{run.model_path} is unreadable; write it again with {fix}")
    result = run.read_result()
    if result is None or not result.ok:
        raise InferenceError(f"{run.path} holds no finished run (no readable {run.result_path.name}); train it "
                             "first (xmodal train, or a sweep)")
    if not derive:
        raise InferenceError(
            f"{run.path} has no {run.model_path.name} (it was trained before xmodal wrote one): write it from the "
            f"folder's {run.result_path.name} with {fix}, or train the run again")
    try:
        return model_record_of(result, run.checkpoint_path.name)
    except ValueError as exc:
        raise InferenceError(f"{run.path}: {exc}; train the run again to make it usable") from None


def write_model_record(run_dir: str | os.PathLike[str] | RunDir) -> Path:
    """Write ``model.json`` of a finished run folder from its ``result.json`` (a folder from before it existed).

    Returns:
        The path written.

    Raises:
        InferenceError: no finished run in the folder, or its result lacks what inference needs.
    """
    run = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
    result = run.read_result()
    if result is None or not result.ok:
        raise InferenceError(f"{run.path} holds no finished run (no readable {run.result_path.name})")
    try:
        record = model_record_of(result, run.checkpoint_path.name)
    except ValueError as exc:
        raise InferenceError(f"{run.path}: cannot write {run.model_path.name}: {exc}; train the run again") from None
    return run.write_model_record(record)


def load_models(
    runs: str | os.PathLike[str] | RunDir | Model | Sequence[str | os.PathLike[str] | RunDir | Model],
    device: str | torch.device = "cpu",
    *,
    derive_record: bool = False,
) -> dict[str, Model]:
    """Modality -> the model that answers for it, from one run folder or several.

    Several run folders make one system, e.g. two single-sensor Baselines: each modality is
    taken from the first run that has it. They must share the class names and the patch
    footprint (one output grid). A :class:`Model` already loaded is used as it is (to predict
    several scenes without loading the network again).

    Raises:
        InferenceError: a folder is not a usable model, or two disagree on classes or footprint.
    """
    items = [runs] if isinstance(runs, (str, os.PathLike, RunDir, Model)) else list(runs)
    if not items:
        raise InferenceError("no run folder given: pass the run folder of a trained model")
    by_modality: dict[str, Model] = {}
    first: Model | None = None
    for item in items:
        model = item if isinstance(item, Model) else Model.load(item, device, derive_record=derive_record)
        if first is None:
            first = model
        elif model.class_names != first.class_names:
            raise InferenceError(f"{model.run.path} predicts the classes {model.class_names}, but {first.run.path} "
                                 f"predicts {first.class_names}: runs of one map must share their classes")
        elif model.record.footprint != first.record.footprint:
            raise InferenceError(f"{model.run.path} reads patches of {model.record.footprint} px, but {first.run.path} "
                                 f"of {first.record.footprint} px: runs of one map must share their patch footprint")
        for m in model.modalities:
            by_modality.setdefault(m, model)
    return by_modality


def describe_models(models: Mapping[str, Model]) -> str:
    """One line naming which run answers for which sensor, for messages and summaries."""
    return "; ".join(f"{modality_label(m)}: {model.run.name} ({model.record.method})" for m, model in models.items())
