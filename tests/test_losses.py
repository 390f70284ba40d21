"""The losses of eq. 1-3, triplet mining, the gradient reversal layer and the alignment alternatives, by hand."""

from __future__ import annotations

import math

import pytest
import torch

from xmodal.losses import (
    ALIGNMENTS,
    GradientReversal,
    classification_loss,
    coral_loss,
    domain_confusion_loss,
    grl_weight,
    histogram_intersection,
    mine_triplets,
    mmd_loss,
    modality_loss,
    pairwise_alignment_loss,
    triplet_loss,
)


# ----------------------------------------------------------------------------- eq. 1
def test_classification_loss_is_kl_by_hand() -> None:
    logits = torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0]])  # softmax: [.5, .5], [.75, .25]
    target = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    # sample 1: 1*log(1/.5) + 0 (0 log 0 = 0); sample 2: .5 log(.5/.75) + .5 log(.5/.25)
    expected = (math.log(2.0) + 0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(2.0)) / 2
    assert classification_loss(logits, target).item() == pytest.approx(expected, rel=1e-6)


def test_classification_loss_zero_when_prediction_matches_and_finite_with_zeros() -> None:
    target = torch.tensor([[0.2, 0.8, 0.0]])
    logits = torch.log(torch.tensor([[0.2, 0.8, 1e-30]]))
    loss = classification_loss(logits, target)
    assert torch.isfinite(loss) and loss.item() == pytest.approx(0.0, abs=1e-6)


def test_classification_loss_matches_torch_kl_div() -> None:
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(8, 5, generator=g)
    target = torch.softmax(torch.randn(8, 5, generator=g), dim=1)
    ref = torch.nn.functional.kl_div(torch.log_softmax(logits, 1), target, reduction="batchmean")
    assert classification_loss(logits, target).item() == pytest.approx(ref.item(), rel=1e-5)


def test_classification_loss_shape_error() -> None:
    with pytest.raises(ValueError, match="classification_loss: logits"):
        classification_loss(torch.zeros(2, 3), torch.zeros(2, 4))


# ----------------------------------------------------------------------------- eq. 2
def test_modality_loss_binary_equals_bce() -> None:
    logits = torch.tensor([[0.3, 1.2], [2.0, -1.0], [0.0, 0.5]])
    m = torch.tensor([1, 0, 1])
    # by hand: -log softmax(logits)[m]
    expected = -sum(math.log(math.exp(row[i]) / (math.exp(row[0]) + math.exp(row[1]))) for row, i in
                    zip(logits.tolist(), m.tolist(), strict=True)) / 3
    assert modality_loss(logits, m).item() == pytest.approx(expected, rel=1e-6)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits[:, 1] - logits[:, 0], m.float())
    assert modality_loss(logits, m).item() == pytest.approx(bce.item(), rel=1e-6)


def test_modality_loss_three_modalities() -> None:
    logits = torch.zeros(4, 3)
    assert modality_loss(logits, torch.tensor([0, 1, 2, 0])).item() == pytest.approx(math.log(3.0))


# ----------------------------------------------------------------------------- eq. 3
def test_triplet_loss_by_hand() -> None:
    a = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    p = torch.tensor([[3.0, 4.0], [1.0, 1.0]])  # distances 5, 0
    n = torch.tensor([[0.0, 0.5], [1.0, 3.0]])  # distances .5, 2
    lam, mu = 2.0, 1.5
    per = [5 + lam * max(0.0, mu - 0.5), 0 + lam * max(0.0, mu - 2.0)]  # 7, 0
    assert triplet_loss(a, p, n, lam, mu).item() == pytest.approx(sum(per))  # eq. 3 sums over N
    assert triplet_loss(a, p, n, lam, mu, reduction="mean").item() == pytest.approx(sum(per) / 2)
    assert triplet_loss(a, p, n, lam, mu, reduction="none").tolist() == pytest.approx(per)


def test_triplet_loss_errors() -> None:
    z = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="Invalid reduction"):
        triplet_loss(z, z, z, reduction="max")
    with pytest.raises(ValueError, match="shapes differ"):
        triplet_loss(z, z, torch.zeros(3, 3))


# ----------------------------------------------------------------------------- mining
def test_histogram_intersection() -> None:
    y = torch.tensor([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    s = histogram_intersection(y, y)
    assert torch.allclose(s, torch.tensor([[1.0, 0.5], [0.5, 1.0]]))


def test_mine_triplets_picks_intended_positive_and_hard_negative() -> None:
    # Anchor 0: label [1, 0, 0]. Candidates in b:
    #   b0 [.6, .4, 0]  S=.6  positive candidate, less similar label
    #   b1 [1, 0, 0]    S=1   most similar label -> positive (only one at S=1)
    #   b2 [0, 1, 0]    S=0   negative candidate, cosine -1 to anchor
    #   b3 [0, 0, 1]    S=0   negative candidate, cosine .8 to anchor -> hard negative
    #   b4 [.05, .95,0] S=.05 negative candidate, cosine .6
    # Anchor 1: label [0, 0, 1]: b3 is the only positive; b0, b1, b2, b4 are negatives (S <= .05);
    #   cosine to anchor 1 is 1.0 for b0, .995 for b1 -> hard negative b0.
    # Anchor 2: label [.5, .5, 0]: S = .9 (b0), .5 (b1), .5 (b2), 0 (b3), .55 (b4):
    #   most similar label b0; the only negative candidate is b3.
    # Anchor 3: label [.2, .2, .6]: S = .4, .2, .2, .6, .25 -> positive b3 but no S <= .1 -> masked out.
    y_a = torch.tensor([[1.0, 0, 0], [0, 0, 1.0], [0.5, 0.5, 0], [0.2, 0.2, 0.6]])
    y_b = torch.tensor([[0.6, 0.4, 0], [1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [0.05, 0.95, 0]])
    z_a = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 0.0]])
    z_b = torch.tensor([[0.0, 1.0], [0.1, 1.0], [-1.0, 0.0], [0.8, 0.6], [0.6, 0.8]])
    pos, neg, valid = mine_triplets(z_a, y_a, z_b, y_b, positive_threshold=0.5, negative_threshold=0.1)
    assert valid.tolist() == [True, True, True, False]
    assert pos[:3].tolist() == [1, 3, 0]
    assert neg[:3].tolist() == [3, 0, 3]


def test_mine_triplets_tie_break_prefers_hardest_positive() -> None:
    # Two equally similar positives (both S = 1): the one with the smaller cosine similarity wins.
    y_a = torch.tensor([[1.0, 0.0]])
    y_b = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    z_a = torch.tensor([[1.0, 0.0]])
    z_b = torch.tensor([[1.0, 0.1], [0.2, 1.0], [1.0, 0.0]])
    pos, neg, valid = mine_triplets(z_a, y_a, z_b, y_b)
    assert valid.tolist() == [True] and pos.tolist() == [1] and neg.tolist() == [2]


def test_mine_triplets_masks_anchor_without_positive() -> None:
    y_a = torch.tensor([[1.0, 0.0, 0.0]])
    y_b = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    z = torch.randn(1, 4)
    _, _, valid = mine_triplets(z, y_a, torch.randn(2, 4), y_b)
    assert valid.tolist() == [False]


def test_mine_triplets_threshold_error() -> None:
    z, y = torch.zeros(1, 2), torch.ones(1, 1)
    with pytest.raises(ValueError, match="negative_threshold"):
        mine_triplets(z, y, z, y, positive_threshold=0.2, negative_threshold=0.3)


# ----------------------------------------------------------------------------- GRL
@pytest.mark.slow
def test_gradient_reversal_flips_and_scales_gradient() -> None:
    x = torch.randn(3, 4, requires_grad=True, dtype=torch.float64)
    grl = GradientReversal(0.7)
    y = grl(x)
    assert torch.equal(y, x)  # identity forward
    upstream = torch.randn(3, 4, dtype=torch.float64)
    (y * upstream).sum().backward()
    assert torch.allclose(x.grad, -0.7 * upstream)
    grl.weight = 2.0  # settable
    x.grad = None
    (grl(x) * upstream).sum().backward()
    assert torch.allclose(x.grad, -2.0 * upstream)


def test_gradient_reversal_autograd_gradcheck_of_reversed_map() -> None:
    # d/dx of GRL(x) must equal d/dx of (-w x) in the backward pass.
    x = torch.randn(5, dtype=torch.float64, requires_grad=True)
    w = 0.3
    (g_grl,) = torch.autograd.grad(GradientReversal(w)(x).pow(2).sum(), x)
    assert torch.allclose(g_grl, -w * 2 * x.detach())


def test_grl_weight_schedules() -> None:
    assert grl_weight(0.3, "constant", 0.5) == 0.5
    assert grl_weight(0.0, "acmr", 1.0) == pytest.approx(0.0)
    assert grl_weight(0.5, "acmr", 2.0) == pytest.approx(2.0 * (2 / (1 + math.exp(-5)) - 1))
    assert grl_weight(1.0, "acmr", 1.0) == pytest.approx(2 / (1 + math.exp(-10)) - 1)
    with pytest.raises(ValueError, match="Invalid GRL schedule"):
        grl_weight(0.5, "linear", 1.0)


# ----------------------------------------------------------------------------- alignment alternatives
def test_alignment_vocabulary() -> None:
    assert ALIGNMENTS == ("reversal", "confusion", "coral", "mmd")


@pytest.mark.parametrize("n_modalities", [2, 3, 5])
def test_domain_confusion_minimum_is_ln_m_at_uniform(n_modalities: int) -> None:
    logits = torch.full((4, n_modalities), 0.7, requires_grad=True)
    loss = domain_confusion_loss(logits)
    assert loss.item() == pytest.approx(math.log(n_modalities))
    (grad,) = torch.autograd.grad(loss, logits)
    assert torch.allclose(grad, torch.zeros_like(grad), atol=1e-7)  # a minimum: no gradient
    other = torch.randn(4, n_modalities, generator=torch.Generator().manual_seed(n_modalities))
    assert domain_confusion_loss(other).item() > math.log(n_modalities)


def test_domain_confusion_by_hand_and_against_a_flipped_code() -> None:
    logits = torch.tensor([[math.log(3.0), 0.0]])  # softmax [.75, .25]
    assert domain_confusion_loss(logits).item() == pytest.approx(-(math.log(0.75) + math.log(0.25)) / 2)
    # a flipped but separable code: the classifier is confidently wrong. Gradient reversal counts that as a win
    # (L_M far above ln 2); domain confusion does not (far above its minimum ln 2 as well).
    flipped = torch.tensor([[-4.0, 4.0], [4.0, -4.0]])
    truth = torch.tensor([0, 1])
    assert modality_loss(flipped, truth).item() > 5 * math.log(2)
    assert domain_confusion_loss(flipped).item() > 5 * math.log(2)


def test_domain_confusion_errors() -> None:
    with pytest.raises(ValueError, match="M >= 2 modalities"):
        domain_confusion_loss(torch.zeros(3, 1))
    with pytest.raises(ValueError, match="M >= 2 modalities"):
        domain_confusion_loss(torch.zeros(3))


def test_coral_by_hand_and_properties() -> None:
    a = torch.tensor([[0.0], [2.0]])  # variance 2 (1/(n-1))
    b = torch.tensor([[0.0], [1.0]])  # variance .5
    assert coral_loss(a, b).item() == pytest.approx((2.0 - 0.5) ** 2 / 4)  # d = 1
    z = torch.randn(16, 5, generator=torch.Generator().manual_seed(0))
    assert coral_loss(z, z.clone()).item() == pytest.approx(0.0, abs=1e-10)
    assert coral_loss(z, z + 3.0).item() == pytest.approx(0.0, abs=1e-5)  # second moments only: offsets are free
    assert coral_loss(z, 2.0 * z).item() > 0
    assert coral_loss(z, torch.randn(9, 5)).item() > 0  # batch sizes may differ


def test_mmd_by_hand() -> None:
    x, y = torch.tensor([[0.0]]), torch.tensor([[1.0]])
    assert mmd_loss(x, y, sigmas=[1.0]).item() == pytest.approx(2 - 2 * math.exp(-0.5))
    assert mmd_loss(x, y, sigmas=[1.0, 2.0]).item() == pytest.approx(2 * (2 - math.exp(-0.5) - math.exp(-1 / 8)))
    a, b = torch.tensor([[0.0], [1.0]]), torch.tensor([[0.0], [2.0]])

    def k(d2: float) -> float:  # Gaussian kernel, sigma 1
        return math.exp(-d2 / 2)

    within_a, within_b = k(1), k(4)  # the off-diagonal pair of each sensor
    across = (k(0) + k(4) + k(1) + k(1)) / 4
    assert mmd_loss(a, b, sigmas=[1.0], unbiased=True).item() == pytest.approx(within_a + within_b - 2 * across)
    biased = (2 + 2 * within_a) / 4 + (2 + 2 * within_b) / 4 - 2 * across
    assert mmd_loss(a, b, sigmas=[1.0]).item() == pytest.approx(biased)


def test_mmd_properties() -> None:
    g = torch.Generator().manual_seed(0)
    z = torch.randn(32, 4, generator=g)
    assert mmd_loss(z, z.clone()).item() == pytest.approx(0.0, abs=1e-6)  # biased: exactly 0 for identical batches
    near = mmd_loss(z, torch.randn(32, 4, generator=g)).item()
    far = mmd_loss(z, torch.randn(32, 4, generator=g) + 2.0).item()
    assert far > near and far > 0
    assert mmd_loss(z, z.clone(), unbiased=True).item() < 0  # the U-statistic can go below 0


def test_alignment_losses_gradients_finite_even_for_identical_batches() -> None:
    for fn in (coral_loss, mmd_loss, lambda a, b: mmd_loss(a, b, unbiased=True)):
        z = torch.randn(8, 3, generator=torch.Generator().manual_seed(1))
        a, b = z.clone().requires_grad_(), z.clone().requires_grad_()
        ga, gb = torch.autograd.grad(fn(a, b), (a, b))
        assert torch.isfinite(ga).all() and torch.isfinite(gb).all()
        a2 = z.clone().requires_grad_()
        (g,) = torch.autograd.grad(fn(a2, z + 1.5), a2)
        assert torch.isfinite(g).all() and g.abs().sum() > 0


def test_pairwise_alignment_any_number_of_modalities() -> None:
    g = torch.Generator().manual_seed(2)
    zs = {m: torch.randn(10, 3, generator=g) * (i + 1) for i, m in enumerate(["s1", "s2", "s3"])}
    expected = (coral_loss(zs["s1"], zs["s2"]) + coral_loss(zs["s1"], zs["s3"]) + coral_loss(zs["s2"], zs["s3"])) / 3
    assert pairwise_alignment_loss(zs, coral_loss).item() == pytest.approx(expected.item())
    two = [zs["s1"], zs["s2"]]
    assert pairwise_alignment_loss(two, mmd_loss).item() == pytest.approx(mmd_loss(*two).item())
    with pytest.raises(ValueError, match="at least 2 modalities, got 1"):
        pairwise_alignment_loss([zs["s1"]], coral_loss)


def test_alignment_loss_errors() -> None:
    z = torch.zeros(4, 3)
    with pytest.raises(ValueError, match="must be \\[N, D\\] with equal D"):
        coral_loss(z, torch.zeros(4, 2))
    with pytest.raises(ValueError, match="at least 2 vectors per modality, got 1 and 4"):
        coral_loss(z[:1], z)
    with pytest.raises(ValueError, match="invalid sigmas"):
        mmd_loss(z, z, sigmas=[0.0])
    with pytest.raises(ValueError, match="at least 2 vectors per modality"):
        mmd_loss(z[:1], z, unbiased=True)


@pytest.mark.slow
def test_domain_confusion_wiring_of_the_docstring() -> None:
    # h trains on L_M of detached latents only; the encoder gets L_conf through h with detached parameters.
    torch.manual_seed(0)
    encoder, h = torch.nn.Linear(4, 3), torch.nn.Linear(3, 2)
    x, m = torch.randn(8, 4), torch.tensor([0, 1] * 4)
    z = encoder(x)
    frozen = {name: p.detach() for name, p in h.named_parameters()}
    loss = domain_confusion_loss(torch.func.functional_call(h, frozen, (z,))) + modality_loss(h(z.detach()), m)
    loss.backward()
    grad_h = h.weight.grad.clone()
    h.zero_grad()
    modality_loss(h(z.detach()), m).backward()
    assert torch.allclose(grad_h, h.weight.grad)  # L_conf left the classifier alone
    assert encoder.weight.grad.abs().sum() > 0  # ... and reached the encoder
