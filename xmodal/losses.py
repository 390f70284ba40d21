"""The losses of the paper, as pure functions, and the gradient reversal layer.

============================  =======================================================
paper                         here
============================  =======================================================
eq. (1)  L_C, KL divergence   :func:`classification_loss`
eq. (2)  L_M, modality BCE    :func:`modality_loss` (cross entropy; binary == BCE)
eq. (3)  L_T, triplet         :func:`triplet_loss`, triplets from :func:`mine_triplets`
eq. (4)  a L_T + b L_C - L_M  the minus sign is :class:`GradientReversal` (Ganin &
                              Lempitsky 2015), weight scheduled by :func:`grl_weight`
============================  =======================================================
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "classification_loss",
    "modality_loss",
    "triplet_loss",
    "histogram_intersection",
    "mine_triplets",
    "GradientReversal",
    "GradientReversalFunction",
    "grl_weight",
    "GRL_SCHEDULES",
]

GRL_SCHEDULES: tuple[str, ...] = ("constant", "acmr")


def classification_loss(logits: Tensor, target: Tensor) -> Tensor:
    """Eq. (1): ``L_C = 1/N sum_i sum_c y_i(c) log(y_i(c) / y_hat_i(c))``.

    The KL divergence of the predicted distribution ``y_hat = softmax(logits)``
    from the soft label ``y`` (the patch's class histogram), averaged over the
    ``N`` samples. Terms with ``y_i(c) = 0`` contribute 0 (``0 log 0 = 0``).

    Args:
        logits: ``[N, C]`` unnormalised class scores (computed in float32).
        target: ``[N, C]`` soft labels, rows summing to 1.

    Returns:
        Scalar tensor.
    """
    if logits.shape != target.shape:
        raise ValueError(f"classification_loss: logits {tuple(logits.shape)} and target {tuple(target.shape)} differ")
    log_q = F.log_softmax(logits.float(), dim=1)
    y = target.float()
    # xlogy gives 0 where y == 0 (0 * log 0 = 0), exactly as the KL convention.
    kl = torch.special.xlogy(y, y) - y * log_q
    return kl.sum(dim=1).mean()


def modality_loss(logits: Tensor, modality: Tensor) -> Tensor:
    """Eq. (2): the modality classifier's cross entropy, averaged over ``N``.

    The paper writes ``L_M = 1/N sum_i m_i log(m_hat_i)`` (the sign is folded
    into eq. 4). Here it is the usual non-negative cross entropy
    ``-1/N sum_i log m_hat_i(m_i)`` over ``n_modalities`` logits; with two
    modalities it equals binary cross entropy on ``sigmoid(logit_1 - logit_0)``.
    The modality classifier minimises it; the upstream networks maximise it
    through the gradient reversal layer (eq. 4's ``- L_M``).

    Args:
        logits: ``[N, n_modalities]`` modality scores.
        modality: ``[N]`` integer modality indices.
    """
    return F.cross_entropy(logits.float(), modality.long())


def triplet_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    lam: float = 1.0,
    mu: float = 1.0,
    reduction: str = "sum",
) -> Tensor:
    """Eq. (3): ``L_T = sum_i ||x_i^a - x_+^b||_2 + lam * max(0, mu - ||x_i^a - x_-^b||_2)``.

    Distances are plain (not squared) Euclidean norms in the latent space, as
    in the equation. The paper *sums* over the ``N`` anchors, which ties the
    loss scale (and hence the meaning of ``alpha`` in eq. 4) to the batch
    size; ``reduction="sum"`` (the default here) is that exact equation,
    ``"mean"`` divides by ``N`` (what the trainer uses, so that ``alpha`` does
    not change meaning with the batch size: ``alpha_mean = N * alpha_sum``),
    ``"none"`` returns the ``[N]`` per-anchor terms.

    Args:
        anchor, positive, negative: ``[N, D]`` latent vectors.
        lam: weight ``lambda`` of the negative term.
        mu: margin ``mu`` of the negative term.
        reduction: ``"sum"`` | ``"mean"`` | ``"none"``.
    """
    if not (anchor.shape == positive.shape == negative.shape):
        raise ValueError(
            f"triplet_loss: shapes differ: anchor {tuple(anchor.shape)}, positive {tuple(positive.shape)}, "
            f"negative {tuple(negative.shape)}"
        )
    d_pos = torch.linalg.vector_norm(anchor.float() - positive.float(), dim=-1)
    d_neg = torch.linalg.vector_norm(anchor.float() - negative.float(), dim=-1)
    per_anchor = d_pos + lam * torch.clamp(mu - d_neg, min=0.0)
    if reduction == "sum":
        return per_anchor.sum()
    if reduction == "mean":
        return per_anchor.mean()
    if reduction == "none":
        return per_anchor
    raise ValueError(f"Invalid reduction {reduction!r}; choose 'sum', 'mean' or 'none'")


def histogram_intersection(y_a: Tensor, y_b: Tensor) -> Tensor:
    """All-pairs histogram intersection ``S[i, j] = sum_c min(y_a[i, c], y_b[j, c])``.

    1 for identical class histograms, 0 for disjoint ones (the same measure as
    eq. 5, applied to labels). Returns ``[N_a, N_b]``.
    """
    return torch.minimum(y_a[:, None, :], y_b[None, :, :]).sum(dim=-1)


@torch.no_grad()
def mine_triplets(
    z_a: Tensor,
    y_a: Tensor,
    z_b: Tensor,
    y_b: Tensor,
    positive_threshold: float = 0.5,
    negative_threshold: float = 0.1,
) -> tuple[Tensor, Tensor, Tensor]:
    """Pick, for every anchor of modality ``a``, a positive and a hard negative of modality ``b``.

    The batches need not be aligned (the paper's setting): only the labels
    relate them. With ``S = histogram_intersection(y_a, y_b)``:

    * **positive** candidates: ``S >= positive_threshold`` ("similar class
      content"). The positive is the candidate with the *largest* ``S`` (the
      most similar label). Ties within 1e-6 -- frequent, soft labels come in
      coarse steps and pure patches all have ``S = 1`` -- are broken by the
      *smallest* cosine similarity to the anchor (the hardest of the equally
      similar positives), then by the lowest index.
    * **negative** candidates: ``S <= negative_threshold`` ("different class
      content"). The negative is the candidate with the *largest* cosine
      similarity to the anchor (hard negative mining, as in the paper).
    * an anchor with no positive or no negative candidate is masked out.

    Fully vectorised (``[N_a, N_b]`` matrices, no loop over samples), run
    without gradients: only the chosen indices matter.

    Args:
        z_a, z_b: ``[N_a, D]``, ``[N_b, D]`` latent vectors.
        y_a, y_b: ``[N_a, C]``, ``[N_b, C]`` soft labels.
        positive_threshold, negative_threshold: see above.

    Returns:
        ``(pos_idx [N_a] long, neg_idx [N_a] long, valid [N_a] bool)``; indices
        into the ``b`` batch (meaningless where ``valid`` is False).
    """
    if not negative_threshold < positive_threshold:
        raise ValueError(
            f"mine_triplets: negative_threshold ({negative_threshold}) must be < positive_threshold ({positive_threshold})"
        )
    sim_label = histogram_intersection(y_a.float(), y_b.float())  # [Na, Nb]
    cos = F.normalize(z_a.float(), dim=1) @ F.normalize(z_b.float(), dim=1).T  # [Na, Nb]

    pos_cand = sim_label >= positive_threshold
    neg_cand = sim_label <= negative_threshold
    best = torch.where(pos_cand, sim_label, torch.full_like(sim_label, -1.0)).amax(dim=1, keepdim=True)
    pos_tie = pos_cand & (sim_label >= best - 1e-6)
    # Among the most similar labels, the smallest cosine similarity (argmax of -cos; first index on ties).
    pos_idx = torch.where(pos_tie, -cos, torch.full_like(cos, -math.inf)).argmax(dim=1)
    neg_idx = torch.where(neg_cand, cos, torch.full_like(cos, -math.inf)).argmax(dim=1)
    valid = pos_cand.any(dim=1) & neg_cand.any(dim=1)
    return pos_idx, neg_idx, valid


class GradientReversalFunction(torch.autograd.Function):
    """Identity in the forward pass; multiplies the gradient by ``-weight`` backwards."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: float) -> Tensor:  # type: ignore[override]
        ctx.weight = float(weight)
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        return grad.neg() * ctx.weight, None


class GradientReversal(nn.Module):
    """Gradient reversal layer (Ganin & Lempitsky 2015) implementing eq. 4's ``- L_M``.

    The modality classifier behind it *minimises* L_M, while every module in
    front of it receives ``-weight`` times the gradient, i.e. *maximises* L_M:
    the latent space is pushed to hide the modality.

    Args:
        weight: reversal strength (settable attribute; see :func:`grl_weight`).
    """

    def __init__(self, weight: float = 1.0) -> None:
        super().__init__()
        self.weight = float(weight)

    def forward(self, x: Tensor) -> Tensor:
        return GradientReversalFunction.apply(x, self.weight)

    def extra_repr(self) -> str:
        return f"weight={self.weight:g}"


def grl_weight(progress: float, schedule: str = "acmr", final: float = 1.0) -> float:
    """Weight of the gradient reversal at training ``progress`` in [0, 1].

    * ``"constant"``: ``final`` throughout.
    * ``"acmr"``: ``final * (2 / (1 + exp(-10 p)) - 1)``, rising smoothly from 0
      (the schedule of Ganin & Lempitsky, used by ACMR, the paper's ref. [21]),
      so the adversary only pushes once the classifier has learnt something.
    """
    if schedule == "constant":
        return float(final)
    if schedule == "acmr":
        p = min(max(float(progress), 0.0), 1.0)
        return float(final) * (2.0 / (1.0 + math.exp(-10.0 * p)) - 1.0)
    raise ValueError(f"Invalid GRL schedule {schedule!r}; choose one of {list(GRL_SCHEDULES)}")
