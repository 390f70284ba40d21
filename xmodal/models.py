r"""The cross-modal network of the paper (Fig. 1): backbones, merge nets, heads.

One :class:`CrossModalNet` holds, for every modality ``m``:

* a ResNet backbone ``f^m`` (trained from scratch, weights never downloaded)
  whose first convolution takes the modality's band count, and
* a 3-layer fully-connected merge net ``g^m`` projecting the backbone features
  into the shared latent space (``z = g^m(f^m(x^m))``),

and, shared by all modalities,

* a :class:`Classifier` giving land-cover logits (trained with eq. 1), and
* a :class:`ModalityClassifier` guessing the input modality (eq. 2) behind a
  :class:`~xmodal.losses.GradientReversal` layer, which turns the minus sign of
  eq. 4 into a reversed gradient for everything upstream of it.

Modalities are keys of :class:`torch.nn.ModuleDict`\ s, so two, three or more
sensors are handled the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from xmodal.losses import GradientReversal

if TYPE_CHECKING:
    import torchvision

__all__ = [
    "BACKBONES",
    "build_backbone",
    "StridedConv2d",
    "MergeNet",
    "Classifier",
    "ModalityClassifier",
    "CrossModalNet",
]

#: Backbone name -> feature dimension of its global-pooled output.
BACKBONES: dict[str, int] = {"resnet18": 512, "resnet34": 512, "resnet50": 2048}

#: Channels of the first stage of torchvision's ResNets (``backbone_width`` 64): the paper's network.
BASE_WIDTH = 64


def build_backbone(name: str, in_channels: int, width: int = 64) -> tuple[nn.Module, int]:
    """A torchvision ResNet without pretrained weights, adapted to ``in_channels`` bands.

    The first convolution is replaced by one with ``in_channels`` inputs (same
    7x7 kernel, stride 2) and the final fully-connected layer by the identity,
    so the module maps ``[B, in_channels, H, W]`` to ``[B, feat_dim]``
    (global average pooling makes any ``H, W >= 1`` work; below 32 px the last
    stages see 1x1 maps).

    ``width`` is the channel count of the stem and the first stage (torchvision's
    and the paper's 64); the four stages have ``width, 2 width, 4 width, 8 width``
    channels, so the features are ``8 width`` wide (times 4 for ResNet50's
    bottlenecks). A narrower network has the same depth and shape at about
    ``(width / 64)^2`` of the compute: the embedded CPU study uses it to train
    its runs to convergence within its time budget.

    Args:
        name: ``"resnet18"``, ``"resnet34"`` (512-d features at width 64) or
            ``"resnet50"`` (2048-d, the paper's choice).
        in_channels: number of input bands (2 for S1, 10 for S2, ...).
        width: channels of the first stage (a positive multiple of 8; 64 = torchvision's ResNet).

    Returns:
        ``(module, feat_dim)``.

    Raises:
        ValueError: unknown backbone name, non-positive ``in_channels`` or an invalid ``width``.
    """
    if name not in BACKBONES:
        raise ValueError(f"Invalid backbone {name!r}; choose one of {sorted(BACKBONES)}")
    if not isinstance(in_channels, int) or in_channels <= 0:
        raise ValueError(f"Invalid in_channels {in_channels!r} for backbone {name!r}; must be a positive int")
    if not isinstance(width, int) or width <= 0 or width % 8:
        raise ValueError(f"Invalid backbone width {width!r}; must be a positive multiple of 8 (64 = torchvision's)")
    import torchvision  # about a second (it imports torch._dynamo): paid where a network is built

    net = getattr(torchvision.models, name)(weights=None)
    if width != BASE_WIDTH:
        _narrow(net, width)
    old = net.conv1
    net.conv1 = nn.Conv2d(
        in_channels, old.out_channels, kernel_size=old.kernel_size, stride=old.stride,
        padding=old.padding, bias=False,
    )
    nn.init.kaiming_normal_(net.conv1.weight, mode="fan_out", nonlinearity="relu")
    net.fc = nn.Identity()
    for module in net.modules():
        if type(module) is nn.Conv2d and max(module.stride) > 1:
            # same parameters, same state_dict, no new random draws: only its forward changes
            module.__class__ = StridedConv2d
    return net, BACKBONES[name] * width // BASE_WIDTH


class StridedConv2d(nn.Conv2d):
    """A strided convolution that runs in float32 when it sees a one-pixel-wide map under CPU bfloat16 autocast.

    PyTorch's CPU bfloat16 convolution (oneDNN, torch 2.14) computes the weight gradient of a
    strided, padded convolution whose input map is one pixel wide from memory it never
    initialised: the gradient is NaN whenever that memory held a NaN. Below 32 px the last
    stages of a ResNet see 1x1 maps (and below 16 px earlier ones do), so a ``bf16`` run on
    small patches could diverge at random. On such maps the convolution is a handful of
    multiply-adds, so it runs in float32 (autocast off) and the result is cast back; any
    other input, and every other precision and device, take the ordinary path. Patches of
    the paper's size (256 px) never meet the case.
    """

    def forward(self, x: Tensor) -> Tensor:
        """The convolution of ``x``; in float32 on a one-pixel-wide map under CPU bfloat16 autocast."""
        if (x.device.type == "cpu" and min(x.shape[-2:]) == 1 and torch.is_autocast_enabled("cpu")
                and torch.get_autocast_dtype("cpu") == torch.bfloat16):
            with torch.autocast("cpu", enabled=False):
                return super().forward(x.float()).to(torch.bfloat16)
        return super().forward(x)


def _narrow(net: torchvision.models.ResNet, width: int) -> None:
    """Rebuild a torchvision ResNet's stem and stages with ``width, 2 width, 4 width, 8 width`` channels."""
    block = type(net.layer1[0])
    depths = [len(stage) for stage in (net.layer1, net.layer2, net.layer3, net.layer4)]
    net.inplanes = width
    net.bn1 = nn.BatchNorm2d(width)
    net.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)  # replaced by the caller
    net.layer1 = net._make_layer(block, width, depths[0])
    net.layer2 = net._make_layer(block, 2 * width, depths[1], stride=2)
    net.layer3 = net._make_layer(block, 4 * width, depths[2], stride=2)
    net.layer4 = net._make_layer(block, 8 * width, depths[3], stride=2)
    for module in net.modules():  # torchvision's initialisation
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


class MergeNet(nn.Sequential):
    """Per-modality projection ``g^m`` into the shared latent space (3 FC layers).

    ``feat_dim -> hidden[0] -> hidden[1] -> latent_dim``. The two hidden layers
    are Linear + BatchNorm + ReLU + Dropout; the last layer is linear only, so
    the latent vector is unconstrained in sign and scale (the triplet loss of
    eq. 3 measures Euclidean distances in it, the mining cosine similarities).

    Args:
        feat_dim: backbone feature size (512 or 2048).
        hidden: the two hidden widths (paper: 2048 -> 1024 overall; widths unstated).
        latent_dim: shared latent size (paper: 1024).
        dropout: dropout probability after each hidden layer.
    """

    def __init__(self, feat_dim: int, hidden: Sequence[int], latent_dim: int, dropout: float = 0.2) -> None:
        if len(hidden) != 2:
            raise ValueError(f"Invalid merge hidden widths {list(hidden)!r}; a 3-layer merge net needs two")
        h0, h1 = (int(h) for h in hidden)
        super().__init__(
            nn.Linear(feat_dim, h0, bias=False), nn.BatchNorm1d(h0), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(h0, h1, bias=False), nn.BatchNorm1d(h1), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(h1, latent_dim),
        )


class _Head(nn.Sequential):
    """Linear -> ReLU -> Dropout -> Linear (no BatchNorm: it sees mixed-modality batches)."""

    def __init__(self, in_dim: int, hidden: int, out_dim: int, dropout: float) -> None:
        super().__init__(
            nn.Linear(in_dim, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(hidden, out_dim)
        )


class Classifier(_Head):
    """Shared land-cover classifier: latent -> hidden -> ``n_classes`` logits.

    Its softmax is the predicted class distribution ``y_hat`` of eq. 1.
    """

    def __init__(self, latent_dim: int, hidden: int, n_classes: int, dropout: float = 0.2) -> None:
        super().__init__(latent_dim, hidden, n_classes, dropout)


class ModalityClassifier(_Head):
    """Shared modality classifier: latent -> hidden -> ``n_modalities`` logits (eq. 2).

    Always one logit per modality, trained with cross entropy; with two
    modalities this equals the paper's binary cross entropy on
    ``sigmoid(logit_1 - logit_0)``, and it extends to three or more modalities.
    """

    def __init__(self, latent_dim: int, hidden: int, n_modalities: int, dropout: float = 0.2) -> None:
        super().__init__(latent_dim, hidden, n_modalities, dropout)


class CrossModalNet(nn.Module):
    """Modality-specific backbones and merge nets feeding shared heads (Fig. 1).

    Args:
        in_channels: modality name -> band count, e.g. ``{"s1": 2, "s2": 10}``;
            the order fixes the modality index used by the modality classifier.
        n_classes: number of land-cover classes.
        backbone: ``"resnet18"``, ``"resnet34"`` or ``"resnet50"``.
        backbone_width: channels of the backbones' first stage (64: torchvision's ResNet).
        latent_dim: size of the shared latent space.
        merge_hidden: the two hidden widths of every merge net.
        classifier_hidden: hidden width of the shared classifier.
        modality_hidden: hidden width of the modality classifier.
        dropout: dropout in the merge nets and both heads.

    Attributes:
        modalities: the modality names, in index order.
        backbones, merges: :class:`~torch.nn.ModuleDict` keyed by modality.
        classifier, modality_classifier: the shared heads.
        grl: the :class:`~xmodal.losses.GradientReversal` in front of the
            modality classifier; set ``net.grl.weight`` to change its strength.
    """

    def __init__(
        self,
        in_channels: Mapping[str, int],
        n_classes: int,
        backbone: str = "resnet18",
        latent_dim: int = 1024,
        merge_hidden: Sequence[int] = (1024, 1024),
        classifier_hidden: int = 512,
        modality_hidden: int = 256,
        dropout: float = 0.2,
        backbone_width: int = BASE_WIDTH,
    ) -> None:
        super().__init__()
        if not in_channels:
            raise ValueError("Invalid in_channels: give at least one modality, e.g. {'s2': 10}")
        if n_classes < 1:
            raise ValueError(f"Invalid n_classes {n_classes!r}; must be >= 1")
        self.modalities: tuple[str, ...] = tuple(in_channels)
        self.in_channels = dict(in_channels)
        self.n_classes = int(n_classes)
        self.latent_dim = int(latent_dim)
        self.backbones = nn.ModuleDict()
        self.merges = nn.ModuleDict()
        for m, c in in_channels.items():
            net, feat_dim = build_backbone(backbone, c, backbone_width)
            self.backbones[m] = net
            self.merges[m] = MergeNet(feat_dim, merge_hidden, latent_dim, dropout)
        self.classifier = Classifier(latent_dim, classifier_hidden, n_classes, dropout)
        self.grl = GradientReversal(1.0)
        self.modality_classifier = ModalityClassifier(latent_dim, modality_hidden, len(self.modalities), dropout)

    def modality_index(self, modality: str) -> int:
        """Index of ``modality`` in :attr:`modalities` (the modality classifier's target)."""
        try:
            return self.modalities.index(modality)
        except ValueError:
            raise ValueError(
                f"Invalid modality {modality!r}; this network was built for {list(self.modalities)}"
            ) from None

    def embed(self, x: Tensor, modality: str) -> Tensor:
        """Latent vectors ``z = g^m(f^m(x))`` of a batch of one modality."""
        self.modality_index(modality)
        return self.merges[modality](self.backbones[modality](x))

    def heads(self, z: Tensor) -> dict[str, Tensor]:
        """Class logits and (gradient-reversed) modality logits of latent vectors."""
        return {"z": z, "logits": self.classifier(z), "modality_logits": self.modality_classifier(self.grl(z))}

    def forward(self, x: Tensor | Mapping[str, Tensor], modality: str | None = None) -> dict[str, Tensor]:
        """Run one modality, or several at once.

        Args:
            x: a batch ``[B, C_m, H, W]`` of modality ``modality``; or a mapping
                modality -> batch, in which case each batch goes through its own
                backbone and merge net and the latents are concatenated (in the
                mapping's order) before the shared heads run once.
            modality: the modality of ``x`` (required when ``x`` is a tensor).

        Returns:
            ``{"z": [N, latent_dim], "logits": [N, n_classes],
            "modality_logits": [N, n_modalities]}``; with a mapping also
            ``"modality": [N]`` long tensor of modality indices.
        """
        if isinstance(x, Mapping):
            zs, idx = [], []
            for m, xm in x.items():
                z = self.embed(xm, m)
                zs.append(z)
                idx.append(torch.full((z.shape[0],), self.modality_index(m), dtype=torch.long, device=z.device))
            out = self.heads(torch.cat(zs))
            out["modality"] = torch.cat(idx)
            return out
        if modality is None:
            raise ValueError(f"CrossModalNet: pass the modality of the batch, one of {list(self.modalities)}")
        return self.heads(self.embed(x, modality))
