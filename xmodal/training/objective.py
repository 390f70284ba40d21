"""The objective of eq. (4): the loss terms of one step, put together.

``alpha * L_T + beta * L_C - L_M`` (:func:`total_loss`) over the losses of the method:
``L_C`` (eq. 1) and ``L_M`` (eq. 2) come from :mod:`xmodal.losses` as they are; ``L_T``
(eq. 3) runs over every ordered pair of modalities with latent vectors scaled to unit
length (:func:`triplet_term`, :data:`TRIPLET_NORMALIZE`); a non-reversal ``alignment``
replaces ``- L_M`` by ``+ w L_align`` (:func:`alignment_loss`). :class:`LossRecord` holds
what one step logs. The step itself (forward, backward, optimiser) is
:func:`xmodal.training.loop.train_step`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, cast

import torch
import torch.nn.functional as F
from torch import Tensor

from xmodal.config import ExperimentConfig
from xmodal.losses import (
    coral_loss,
    domain_confusion_loss,
    mine_triplets,
    mmd_loss,
    pairwise_alignment_loss,
    triplet_loss,
)
from xmodal.models import CrossModalNet

__all__ = ["TRIPLET_NORMALIZE", "LossRecord", "aligns", "alignment_loss", "total_loss", "triplet_term"]


#: Whether eq. 3 measures distances between latent vectors scaled to unit length (default).
#: The paper mines hard negatives by *cosine* similarity, i.e. by direction; with raw
#: vectors the un-margined positive term ``||x^a - x^b_+||`` pulls every vector toward the
#: others at constant force, so the whole latent space shrinks and the classifier starves:
#: on tiny synthetic runs C+T reached weighted F1 ~0.2 with raw vectors against ~0.6-0.7 on
#: the unit sphere (where distances lie in [0, 2] and the margin ``mu = 1`` means "cosine
#: similarity at most 0.5"). A config key ``triplet_normalize`` overrides it when present.
TRIPLET_NORMALIZE = True


class LossRecord(NamedTuple):
    """The losses of one training step, detached 0-d tensors on the device (reading them syncs the host).

    Attributes:
        L_C: the classification loss (eq. 1).
        L_M: the modality classifier's loss (eq. 2); logged for every method (a probe without ``M``).
        L_T: the triplet loss (eq. 3), mean over valid anchors; logged for every method.
        loss: the eq. (4) objective the encoders minimise (:func:`total_loss` with the step's weight ``w``).
        triplet_valid: the fraction of anchors with a valid triplet.
        modality_accuracy: the modality classifier's accuracy on the step's batch (argmax against the
            true sensor): below chance when the encoders have flipped the code under gradient reversal.
        L_align: the alignment term of a non-reversal ``alignment`` (:func:`alignment_loss`), 0 otherwise
            (and then left out of the history).
    """

    L_C: Tensor
    L_M: Tensor
    L_T: Tensor
    loss: Tensor
    triplet_valid: Tensor
    modality_accuracy: Tensor
    L_align: Tensor


def triplet_term(
    z: Tensor, y: Tensor, sizes: Sequence[int], config: ExperimentConfig
) -> tuple[Tensor, Tensor]:
    """L_T over every ordered modality pair (a, b): mean over valid anchors, and their count.

    The latent vectors enter eq. 3 scaled to unit length (unless the config
    sets ``triplet_normalize: false``): see :data:`TRIPLET_NORMALIZE`.
    """
    unit = bool(getattr(config, "triplet_normalize", TRIPLET_NORMALIZE))
    zs, ys = z.split(list(sizes)), y.split(list(sizes))
    total = z.new_zeros((), dtype=torch.float32)
    count = z.new_zeros((), dtype=torch.float32)
    for a in range(len(sizes)):
        for b in range(len(sizes)):
            if a == b:
                continue
            pos, neg, valid = mine_triplets(
                zs[a].detach(), ys[a], zs[b].detach(), ys[b], config.positive_threshold, config.negative_threshold
            )
            za, zb = (F.normalize(zs[a].float(), dim=1), F.normalize(zs[b].float(), dim=1)) if unit else (zs[a], zs[b])
            per = triplet_loss(za, zb[pos], zb[neg], config.lam, config.mu, reduction="none")
            v = valid.to(per.dtype)
            total = total + (per * v).sum()
            count = count + v.sum()
    return total / count.clamp(min=1.0), count


def aligns(config: ExperimentConfig) -> bool:
    """Whether the encoders minimise an alignment term of their own (``M`` with an alignment other than reversal)."""
    return "M" in config.losses and config.alignment != "reversal"


def alignment_loss(z: Tensor, sizes: Sequence[int], net: CrossModalNet, config: ExperimentConfig) -> Tensor:
    """``L_align``, the encoders' term of a non-reversal ``config.alignment`` (wiring: :mod:`xmodal.losses`).

    * ``"confusion"``: :func:`~xmodal.losses.domain_confusion_loss` of the modality classifier
      applied to ``z`` with its parameters *detached*: the gradient reaches the encoders only,
      while the classifier itself keeps learning ``L_M`` on latents it cannot move.
    * ``"coral"`` / ``"mmd"``: :func:`~xmodal.losses.coral_loss` / :func:`~xmodal.losses.mmd_loss`
      between the sensors' latents of the batch (every pair of sensors,
      :func:`~xmodal.losses.pairwise_alignment_loss`), on the raw latent vectors.

    Args:
        z: ``[N, D]`` latents of the step, the sensors' batches concatenated.
        sizes: rows of each sensor in ``z``, in order.
        net: the network (its ``modality_classifier`` for ``"confusion"``).
        config: ``alignment``.

    Returns:
        A 0-d tensor.

    Raises:
        ValueError: ``config.alignment`` is ``"reversal"`` (its term is the gradient reversal itself).
    """
    if config.alignment == "confusion":
        head = net.modality_classifier
        frozen = {name: p.detach() for name, p in head.named_parameters()}
        return domain_confusion_loss(torch.func.functional_call(head, frozen, (z,)))
    if config.alignment in ("coral", "mmd"):
        fn = coral_loss if config.alignment == "coral" else mmd_loss
        return pairwise_alignment_loss(z.split(list(sizes)), fn)
    raise ValueError(f"alignment_loss: alignment {config.alignment!r} has no term of its own")


def total_loss(
    L_C: Tensor, L_M: Tensor, L_T: Tensor, config: ExperimentConfig, grl_w: float | None = None,
    L_align: Tensor | None = None, *, backprop: bool | None = None,
) -> Tensor:
    """Eq. (4), ``alpha * L_T + beta * L_C - L_M``, over the losses of the method (``config.losses``).

    The minus sign of ``L_M`` is the gradient reversal layer in front of the
    modality classifier: the classifier minimises ``L_M`` while the encoders
    receive its gradient reversed and scaled by the GRL weight ``w``. With
    another ``config.alignment`` (an ablation), ``- w * L_M`` becomes ``+ w * L_align``
    (:func:`alignment_loss`) and the reversal weight stays 0. The equation has two readings:

    * back-propagated (``backprop=True``; the default when ``grl_w`` is None) --
      ``beta * L_C (+ alpha * L_T) + L_M (+ w * L_align)``. ``L_M`` is always in it:
      without ``M`` or with another alignment it trains the modality classifier on
      latents it cannot move (reversal weight 0: a probe, or the adversary of
      ``"confusion"``); ``w * L_align`` is there only for a method with ``M`` and a
      non-reversal alignment.
    * the objective the encoders minimise (``grl_w`` given, ``backprop`` not set) --
      ``beta * L_C (+ alpha * L_T) (- w * L_M | + w * L_align)``: the ``loss`` of the history.

    Args:
        L_C: the classification loss (eq. 1).
        L_M: the modality classifier's loss (eq. 2).
        L_T: the triplet loss (eq. 3).
        config: ``losses``, ``alpha``, ``beta``, ``alignment``.
        grl_w: the step's alignment weight ``w`` (the GRL weight for ``"reversal"``).
        L_align: the step's :func:`alignment_loss` (needed with ``M`` and a non-reversal alignment).
        backprop: which reading (see above).

    Returns:
        A 0-d tensor.

    Raises:
        ValueError: ``L_align`` or ``w`` missing where the reading needs them.
    """
    if backprop is None:
        backprop = grl_w is None
    aligned = aligns(config)
    if aligned and (L_align is None or grl_w is None):
        raise ValueError(f"total_loss: alignment {config.alignment!r} with M needs L_align and its weight grl_w")
    if not backprop and grl_w is None:
        raise ValueError("total_loss: the encoders' objective needs the step's weight grl_w")
    loss = config.beta * L_C
    if "T" in config.losses:
        loss = loss + config.alpha * L_T
    if backprop:
        loss = loss + L_M
        if aligned:
            loss = loss + cast(float, grl_w) * cast(Tensor, L_align)
        return loss
    if aligned:
        loss = loss + cast(float, grl_w) * cast(Tensor, L_align)
    elif "M" in config.losses:
        loss = loss - cast(float, grl_w) * L_M
    return loss

