"""The run's checkpoint: written after every epoch, read to resume, set aside when damaged.

A per-epoch checkpoint holds weights, optimiser, gradient scaler, history and RNG state, so
a resumed run goes on as if never stopped; a finished run's checkpoint is slimmed to the
weights and history (:func:`make_checkpoint`). Writing is atomic (:func:`save_checkpoint`).
A checkpoint that cannot be read (truncated by a kill, a full disk of an earlier version)
is renamed ``checkpoint.pt.damaged-<UTC time>`` (:meth:`xmodal.rundir.RunDir.set_aside_checkpoint`),
one :class:`DamagedCheckpointWarning` names it, and the run starts again from scratch:
nothing finished is lost (a finished run's numbers are in ``result.json``, which is
read before any checkpoint).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from xmodal import atomic
from xmodal.config import ExperimentConfig
from xmodal.errors import XmodalError
from xmodal.rundir import RunDir, RunFolderError
from xmodal.training.batches import Inputs
from xmodal.training.loop import TrainState

__all__ = [
    "DamagedCheckpointWarning",
    "ResumeError",
    "make_checkpoint",
    "read_checkpoint",
    "restore",
    "save_checkpoint",
]


class ResumeError(XmodalError, RuntimeError):
    """``out_dir`` holds a checkpoint or result of a different configuration."""


def make_checkpoint(
    config: ExperimentConfig, inputs: Inputs, state: TrainState, device: torch.device, *, final: bool
) -> dict[str, Any]:
    """The run's checkpoint: what ``load_model`` needs, and unless ``final`` what resuming needs.

    Args:
        config: the run's config (its hash guards resuming).
        inputs: modalities, classes and channels of the data.
        state: network, optimiser, scaler, history.
        device: where the CUDA RNG state is read from.
        final: the run is complete: keep the weights and history only
            (``optimizer`` ``None`` tells :func:`restore` that only evaluation is missing).
    """
    ckpt: dict[str, Any] = {
        "config_hash": config.hash(),
        "config": config.to_dict(),
        "in_channels": inputs.in_channels,
        "n_classes": inputs.n_classes,
        "class_names": inputs.class_names,
        "epoch": state.epoch,
        "model": state.net.state_dict(),
        "optimizer": None,
        "history": state.history,
    }
    if not final:
        ckpt["optimizer"] = state.optimizer.state_dict()
        ckpt["scaler"] = state.scaler.state_dict()
        ckpt["best_model"] = state.best_model
        ckpt["rng"] = {"torch": torch.get_rng_state(),
                       "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None}
    return ckpt


def _tensor_bytes(obj: Any) -> int:
    """Bytes of the tensors in a (nested) checkpoint object."""
    if isinstance(obj, Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, Mapping):
        return sum(_tensor_bytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(_tensor_bytes(v) for v in obj)
    return 0


def save_checkpoint(run: RunDir, checkpoint: Mapping[str, Any]) -> None:
    """``torch.save`` the checkpoint atomically (no fsync: checkpoints are large and re-creatable).

    A failure removes the temporary file; a full disk raises :class:`xmodal.atomic.DiskFullError`.
    """
    atomic.write_with(run.checkpoint_path, lambda tmp: torch.save(checkpoint, tmp), fsync=False,
                      nbytes=_tensor_bytes(checkpoint))


class DamagedCheckpointWarning(UserWarning):
    """A run's checkpoint could not be read: it was set aside and the run started again from scratch."""


def read_checkpoint(path: Path, device: torch.device | str) -> dict[str, Any]:
    """The checkpoint at ``path`` (tensors on ``device``).

    Raises:
        RunFolderError: the file cannot be read as a checkpoint (truncated, not a checkpoint);
            the message names it and the reason. A missing file or a file system error raises
            the :class:`OSError` as it is.
    """
    try:
        ckpt = torch.load(path, map_location=device, weights_only=True)
    except (OSError, MemoryError):
        raise
    except Exception as exc:  # torch reports a damaged file in many ways (RuntimeError, EOFError, pickle errors)
        reason = (str(exc).strip().splitlines() or [""])[0]
        raise RunFolderError(f"{path} cannot be read ({type(exc).__name__}: {reason})") from exc
    if not isinstance(ckpt, dict):
        raise RunFolderError(f"{path} holds no checkpoint (a {type(ckpt).__name__}, not a mapping)")
    return ckpt


def restore(state: TrainState, run: RunDir, config: ExperimentConfig, device: torch.device,
            *, main: bool = True) -> None:
    """Continue from the run folder's checkpoint, if there is one.

    A per-epoch checkpoint restores weights, optimiser, scaler, history, the best epoch's
    weights (early stopping) and RNG state, so the run goes on as if never stopped; a finished run's slim
    checkpoint restores weights and history (only the evaluation is missing).
    A checkpoint that cannot be read (:func:`read_checkpoint`) leaves ``state`` as
    built, so the run starts again from scratch; the main process (``main``) sets the
    file aside (:meth:`~xmodal.rundir.RunDir.set_aside_checkpoint`) and warns once,
    naming it (:class:`DamagedCheckpointWarning`).

    Raises:
        ResumeError: the checkpoint belongs to another config.
    """
    path = run.checkpoint_path
    if not path.exists():
        return
    try:
        ckpt = read_checkpoint(path, device)
    except RunFolderError as exc:
        if main:
            aside = run.set_aside_checkpoint()
            warnings.warn(DamagedCheckpointWarning(
                f"{exc}; set it aside as {aside.name if aside else 'nothing (it was gone)'} and started the run "
                "again from scratch"), stacklevel=2)
        return
    if ckpt.get("config_hash") != config.hash():
        raise ResumeError(
            f"{path} belongs to another config (hash {ckpt.get('config_hash')}, this config "
            f"{config.hash()}); use another out_dir or resume=False to start over"
        )
    state.net.load_state_dict(ckpt["model"])
    state.history = list(ckpt["history"])
    if ckpt.get("optimizer") is None:  # slim: the run was complete
        return
    state.optimizer.load_state_dict(ckpt["optimizer"])
    state.scaler.load_state_dict(ckpt["scaler"])
    state.best_model = ckpt.get("best_model")
    torch.set_rng_state(ckpt["rng"]["torch"].cpu())
    if device.type == "cuda" and ckpt["rng"].get("cuda") is not None:
        torch.cuda.set_rng_state(ckpt["rng"]["cuda"].cpu(), device)
