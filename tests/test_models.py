"""Backbones, merge nets, heads and the assembled CrossModalNet (tiny sizes)."""

from __future__ import annotations

import pytest
import torch

from xmodal.models import Classifier, CrossModalNet, MergeNet, ModalityClassifier, StridedConv2d, build_backbone

TINY = dict(latent_dim=32, merge_hidden=(48, 40), classifier_hidden=24, modality_hidden=16)


@pytest.mark.parametrize("name,feat", [("resnet18", 512), ("resnet50", 2048)])
def test_build_backbone_adapts_bands_and_drops_fc(name: str, feat: int) -> None:
    net, dim = build_backbone(name, 13)
    assert dim == feat
    assert net.conv1.in_channels == 13
    net.eval()
    with torch.no_grad():
        assert net(torch.randn(2, 13, 32, 32)).shape == (2, feat)


def test_build_backbone_errors() -> None:
    with pytest.raises(ValueError, match="Invalid backbone 'vgg'"):
        build_backbone("vgg", 3)
    with pytest.raises(ValueError, match="Invalid in_channels 0"):
        build_backbone("resnet18", 0)


def test_merge_net_and_heads_shapes() -> None:
    merge = MergeNet(512, (64, 48), 32)
    linears = [m for m in merge if isinstance(m, torch.nn.Linear)]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [(512, 64), (64, 48), (48, 32)]
    z = merge(torch.randn(4, 512))
    assert z.shape == (4, 32)
    assert Classifier(32, 16, 9)(z).shape == (4, 9)
    assert ModalityClassifier(32, 16, 3)(z).shape == (4, 3)
    with pytest.raises(ValueError, match="two"):
        MergeNet(512, (64,), 32)


def test_cross_modal_net_forward_single_and_mapping() -> None:
    torch.manual_seed(0)
    net = CrossModalNet({"s1": 2, "s2": 10, "rgb": 3}, n_classes=9, **TINY).eval()
    assert isinstance(net.backbones, torch.nn.ModuleDict) and set(net.backbones) == {"s1", "s2", "rgb"}
    x1, x2 = torch.randn(3, 2, 16, 16), torch.randn(2, 10, 16, 16)
    out = net(x1, "s1")
    assert out["z"].shape == (3, 32) and out["logits"].shape == (3, 9) and out["modality_logits"].shape == (3, 3)
    both = net({"s1": x1, "s2": x2})
    assert both["z"].shape == (5, 32) and both["modality"].tolist() == [0, 0, 0, 1, 1]
    with torch.no_grad():
        assert torch.allclose(both["logits"][:3], out["logits"], atol=1e-5)
    with pytest.raises(ValueError, match="Invalid modality 's2all'"):
        net(x1, "s2all")
    with pytest.raises(ValueError, match="pass the modality"):
        net(x1)


@pytest.mark.slow
def test_grl_in_front_of_modality_classifier_reverses_encoder_gradient() -> None:
    torch.manual_seed(0)
    net = CrossModalNet({"s1": 2, "s2": 10}, n_classes=4, dropout=0.0, **TINY)
    net.eval()  # fixed BatchNorm statistics: the two passes below see the same function
    x = torch.randn(2, 2, 16, 16)
    head = net.merges["s1"][-1].weight

    def grad_of_modality_logit(weight: float) -> torch.Tensor:
        net.zero_grad()
        net.grl.weight = weight
        net(x, "s1")["modality_logits"][:, 0].sum().backward()
        return head.grad.clone()

    g1, g2 = grad_of_modality_logit(1.0), grad_of_modality_logit(0.5)
    assert torch.allclose(g2, 0.5 * g1, atol=1e-6)
    # Without reversal the same gradient has the opposite sign.
    net.zero_grad()
    z = net.embed(x, "s1")
    net.modality_classifier(z)[:, 0].sum().backward()
    assert torch.allclose(head.grad, -g1, atol=1e-6)
    assert g1.abs().sum() > 0


def _freed_memory_full_of_nans() -> None:
    """Allocate and free NaN-filled buffers, so memory a kernel forgets to initialise holds NaNs."""
    junk = [torch.full((n,), float("nan"), dtype=dtype) for n in (1000, 4096, 16384, 65536, 262144)
            for dtype in (torch.float32, torch.bfloat16) for _ in range(8)]
    del junk


def test_strided_convolutions_are_bf16_safe_and_unchanged_otherwise() -> None:
    torch.manual_seed(0)
    net, _ = build_backbone("resnet18", 2, width=16)
    strided = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d) and max(m.stride) > 1]
    assert strided and all(type(m) is StridedConv2d for m in strided)
    unstrided = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d) and m.stride == (1, 1)]
    assert unstrided and all(type(m) is torch.nn.Conv2d for m in unstrided)
    # same parameters and the same random draws as torchvision's own layers
    torch.manual_seed(0)
    again, _ = build_backbone("resnet18", 2, width=16)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), again.state_dict().values(), strict=True))
    conv = strided[-1]
    plain = torch.nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride,
                            padding=conv.padding, bias=False)
    plain.load_state_dict(conv.state_dict())
    x = torch.randn(4, conv.in_channels, 5, 5)
    assert torch.equal(conv(x), plain(x)), "fp32: the ordinary path"


@pytest.mark.slow
@pytest.mark.parametrize("width", [1, 4])
def test_a_strided_conv_on_one_pixel_wide_maps_has_finite_bf16_gradients(width: int) -> None:
    # CPU bf16 autocast: oneDNN's weight gradient of such a convolution reads uninitialised memory (torch 2.14)
    torch.manual_seed(0)
    conv = StridedConv2d(64, 128, 3, stride=2, padding=1, bias=False)
    for _ in range(10):
        _freed_memory_full_of_nans()
        conv.weight.grad = None
        x = torch.randn(16, 64, 4, width, requires_grad=True)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y = conv(x)
        assert y.dtype == torch.bfloat16
        y.float().sum().backward()
        assert torch.isfinite(conv.weight.grad).all() and torch.isfinite(x.grad).all()
