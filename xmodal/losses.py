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

Alternatives to eq. (4)'s ``- L_M`` (:data:`ALIGNMENTS`)
--------------------------------------------------------
Gradient reversal lets the encoders "win" by making the modality classifier
confidently *wrong*: flipping the code keeps the sensors separable while ``L_M``
rises above ``ln 2``. The alignment objectives below cannot be won that way.

=============  ===========================================  ==============================================
alignment      loss                                         who gets which gradient (trainer wiring)
=============  ===========================================  ==============================================
``reversal``   :func:`modality_loss` on ``GRL(z)``          classifier ``h``: ``+grad L_M``; encoders
               (the paper, eq. 4)                           (backbones ``f^m`` + merge nets ``g^m``):
                                                            ``-w grad L_M`` through :class:`GradientReversal`.
``confusion``  :func:`domain_confusion_loss`                ``h`` minimises ``L_M(h(z.detach()))`` (no
               (Tzeng et al. 2015)                          gradient to the encoders); the encoders
                                                            minimise ``w L_conf(h'(z))`` with ``h'`` = ``h``
                                                            with *detached* parameters, e.g.
                                                            ``torch.func.functional_call(h, {n: p.detach()
                                                            for n, p in h.named_parameters()}, (z,))``, so
                                                            ``h`` gets no gradient from ``L_conf``. No GRL.
``coral``      :func:`coral_loss` via                       encoders only: ``+w grad``; both sensors' sides
               :func:`pairwise_alignment_loss`              get gradient (no classifier, no GRL).
``mmd``        :func:`mmd_loss` via                         as ``coral``.
               :func:`pairwise_alignment_loss`
=============  ===========================================  ==============================================

In every case the encoders also minimise ``beta L_C + alpha L_T`` as in eq. (4),
``w`` is the alignment weight (the GRL weight's slot; :func:`grl_weight` can
schedule it), and the parameter sets are disjoint, so one scalar
``beta L_C + alpha L_T + w L_align + L_M(h(z.detach()))`` and one ``backward()``
suffice. For ``coral`` and ``mmd`` the modality classifier is not needed; training
it on ``z.detach()`` anyway keeps an ``L_M`` curve comparable across alignments
(then a real probe: it cannot be fooled by a flipped code). With
:class:`~xmodal.models.CrossModalNet`, ``L_M(h(z.detach()))`` is what its
``modality_logits`` give with ``net.grl.weight = 0`` (the GRL then passes no
gradient to the encoders), so the non-reversal alignments keep that weight at 0
and add their own term on ``outputs["z"]`` (split per modality for ``coral`` and
``mmd``; through ``net.modality_classifier`` with detached parameters for
``confusion``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence

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
    "ALIGNMENTS",
    "MMD_BANDWIDTHS",
    "domain_confusion_loss",
    "coral_loss",
    "mmd_loss",
    "pairwise_alignment_loss",
]

GRL_SCHEDULES: tuple[str, ...] = ("constant", "acmr")

#: How the latent space is pushed to hide the sensor (see the module docstring for the wiring):
#: ``"reversal"`` -- eq. (4)'s ``- L_M`` through :class:`GradientReversal` (the paper);
#: ``"confusion"`` -- :func:`domain_confusion_loss` against a classifier trained on detached latents;
#: ``"coral"`` -- :func:`coral_loss` (second moments) over all pairs of sensors;
#: ``"mmd"`` -- :func:`mmd_loss` (whole distributions, multi-kernel) over all pairs of sensors.
ALIGNMENTS: tuple[str, ...] = ("reversal", "confusion", "coral", "mmd")

#: Kernel widths of :func:`mmd_loss` when none are given: ``sigma^2`` as multiples of the median
#: squared distance in the pooled batch (the median heuristic), a factor 2 apart as in DAN (Long et al. 2015).
MMD_BANDWIDTHS: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)


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
            f"mine_triplets: negative_threshold ({negative_threshold}) must be < "
            f"positive_threshold ({positive_threshold})"
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
    def forward(ctx, x: Tensor, weight: float) -> Tensor:
        """``x`` unchanged (a view); ``weight`` is kept for the backward pass."""
        ctx.weight = float(weight)
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:
        """The reversed, scaled gradient ``-weight * grad`` for ``x``; none for ``weight``."""
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
        """``x`` unchanged; its gradient is multiplied by ``-weight`` on the way back."""
        return GradientReversalFunction.apply(x, self.weight)

    def extra_repr(self) -> str:
        """The weight, shown in the module's repr."""
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


# ----------------------------------------------------------------------------- alignment alternatives
def domain_confusion_loss(logits: Tensor) -> Tensor:
    """Domain confusion: cross entropy of the modality classifier's softmax against the uniform distribution.

    ``L_conf = -1/N sum_i 1/M sum_m log m_hat_i(m)`` (Tzeng, Hoffman, Darrell & Saenko
    2015, "Simultaneous Deep Transfer Across Domains and Tasks", ICCV, Sec. 3.1). Since
    ``CE(u, p) = H(u) + KL(u || p) = ln M + KL(u || p)``, it is ``>= ln M`` with
    equality exactly when every prediction is uniform: the encoders reach the minimum
    only when the classifier cannot tell the sensors apart, not by making it
    confidently wrong (a flipped code has ``L_conf`` far above ``ln M``, unlike
    ``- L_M``, which a flipped code *maximises*). The modality classifier keeps
    minimising :func:`modality_loss` on detached latents; the encoders minimise this
    through the classifier with detached parameters (no gradient reversal; wiring in
    the module docstring).

    Args:
        logits: ``[N, M]`` modality scores, ``M >= 2``.

    Returns:
        Scalar tensor (float32), minimum ``ln M``.
    """
    if logits.ndim != 2 or logits.shape[1] < 2:
        raise ValueError(
            f"domain_confusion_loss: logits must be [N, M] with M >= 2 modalities, got {tuple(logits.shape)}"
        )
    return -F.log_softmax(logits.float(), dim=1).mean(dim=1).mean()


def _two_batches(z_a: Tensor, z_b: Tensor, where: str, min_rows: int) -> tuple[Tensor, Tensor]:
    if z_a.ndim != 2 or z_b.ndim != 2 or z_a.shape[1] != z_b.shape[1]:
        raise ValueError(f"{where}: z_a {tuple(z_a.shape)} and z_b {tuple(z_b.shape)} must be [N, D] with equal D")
    if min(z_a.shape[0], z_b.shape[0]) < min_rows:
        raise ValueError(
            f"{where}: need at least {min_rows} vectors per modality, got {z_a.shape[0]} and {z_b.shape[0]}"
        )
    return z_a.float(), z_b.float()


def _covariance(z: Tensor) -> Tensor:
    centred = z - z.mean(dim=0, keepdim=True)
    return centred.T @ centred / (z.shape[0] - 1)


def coral_loss(z_a: Tensor, z_b: Tensor) -> Tensor:
    """Deep CORAL: ``||C_a - C_b||_F^2 / (4 d^2)`` (Sun & Saenko 2016, eq. 1).

    ``C_m`` is the unbiased covariance (``1/(n_m - 1)``, eq. 2-3) of sensor ``m``'s
    latent vectors in the batch, ``d`` their dimension. It aligns second moments
    only: batches that differ by a constant offset score 0 (use :func:`mmd_loss`, or
    both, to match means too). Both sides receive gradient; batch sizes may differ.

    Args:
        z_a, z_b: ``[N_a, D]``, ``[N_b, D]`` latent vectors (``N >= 2`` each).

    Returns:
        Scalar tensor (float32), ``>= 0``; 0 for identical batches.
    """
    a, b = _two_batches(z_a, z_b, "coral_loss", 2)
    d = a.shape[1]
    return (_covariance(a) - _covariance(b)).pow(2).sum() / (4 * d * d)


def _sq_dist(x: Tensor, y: Tensor) -> Tensor:
    """All-pairs squared Euclidean distances (no square root: its gradient at 0 is infinite)."""
    return (x.pow(2).sum(1)[:, None] + y.pow(2).sum(1)[None, :] - 2 * x @ y.T).clamp_min(0.0)


def mmd_loss(
    z_a: Tensor,
    z_b: Tensor,
    sigmas: Sequence[float] | None = None,
    unbiased: bool = False,
) -> Tensor:
    """Squared maximum mean discrepancy with a sum of Gaussian kernels (Gretton et al. 2012).

    ``MMD^2 = E k(a, a') + E k(b, b') - 2 E k(a, b)`` with
    ``k(x, y) = sum_j exp(-||x - y||^2 / (2 sigma_j^2))`` (a multi-kernel family as in
    DAN, Long et al. 2015). Gretton, Borgwardt, Rasch, Schoelkopf & Smola (2012), "A
    Kernel Two-Sample Test", JMLR 13: with a characteristic kernel it is 0 exactly
    when the two distributions are equal.

    * ``unbiased=False`` (default): the *biased* V-statistic ``MMD_b^2``, all pairs
      including ``i = j``; ``>= 0``, and exactly 0 for identical batches.
    * ``unbiased=True``: the *unbiased* U-statistic ``MMD_u^2``, the within-sensor means
      leave out ``i = j``; can be slightly negative, needs ``N >= 2`` per sensor.

    Args:
        z_a, z_b: ``[N_a, D]``, ``[N_b, D]`` latent vectors.
        sigmas: kernel widths ``sigma_j``; None: ``sigma_j^2 = m_j * median`` of the pooled
            batch's off-diagonal squared distances (detached: the widths are not trained),
            with ``m_j`` in :data:`MMD_BANDWIDTHS`.
        unbiased: which estimate (see above).

    Returns:
        Scalar tensor (float32).
    """
    a, b = _two_batches(z_a, z_b, "mmd_loss", 2 if unbiased else 1)
    d_aa, d_bb, d_ab = _sq_dist(a, a), _sq_dist(b, b), _sq_dist(a, b)
    if sigmas is None:
        with torch.no_grad():
            pooled = torch.cat([a, b])
            d_all = _sq_dist(pooled, pooled)
            off = d_all[~torch.eye(len(pooled), dtype=torch.bool, device=pooled.device)]
            median = off.median() if off.numel() else torch.tensor(0.0)
            base = float(median) if float(median) > 0 else 1.0
        widths2 = [m * base for m in MMD_BANDWIDTHS]
    else:
        if len(sigmas) == 0 or any(not (s > 0 and math.isfinite(s)) for s in sigmas):
            raise ValueError(f"mmd_loss: invalid sigmas {list(sigmas)}; need positive, finite widths")
        widths2 = [float(s) ** 2 for s in sigmas]

    def kernel(d2: Tensor) -> Tensor:
        out = torch.exp(-d2 / (2.0 * widths2[0]))  # widths2 is never empty (checked above)
        for w2 in widths2[1:]:
            out = out + torch.exp(-d2 / (2.0 * w2))
        return out

    k_aa, k_bb, k_ab = kernel(d_aa), kernel(d_bb), kernel(d_ab)
    if not unbiased:
        return k_aa.mean() + k_bb.mean() - 2.0 * k_ab.mean()
    n, m = a.shape[0], b.shape[0]
    within_a = (k_aa.sum() - k_aa.diagonal().sum()) / (n * (n - 1))
    within_b = (k_bb.sum() - k_bb.diagonal().sum()) / (m * (m - 1))
    return within_a + within_b - 2.0 * k_ab.mean()


def pairwise_alignment_loss(
    z_by_modality: Mapping[str, Tensor] | Sequence[Tensor],
    fn: Callable[[Tensor, Tensor], Tensor],
) -> Tensor:
    """Mean of a two-sample alignment loss over all unordered pairs of modalities.

    With ``M`` modalities, ``1 / (M (M - 1) / 2) sum_{a < b} fn(z_a, z_b)``: for two
    sensors simply ``fn(z_S1, z_S2)``; with more, every pair counts equally.

    Args:
        z_by_modality: the batch's latent vectors per modality (a mapping name -> ``[N_m, D]``
            or a sequence of ``[N_m, D]`` tensors), at least 2.
        fn: a symmetric two-sample loss, e.g. :func:`coral_loss` or :func:`mmd_loss`.

    Returns:
        Scalar tensor.
    """
    batches = list(z_by_modality.values()) if isinstance(z_by_modality, Mapping) else list(z_by_modality)
    if len(batches) < 2:
        raise ValueError(f"pairwise_alignment_loss: need at least 2 modalities, got {len(batches)}")
    return torch.stack([fn(x, y) for x, y in itertools.combinations(batches, 2)]).mean()
