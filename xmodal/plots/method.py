"""The method drawn: the architecture (the paper's Figure 1), the reversal schedule, a mined triplet batch."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from xmodal.data.normalize import modality_color, modality_label

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["architecture_figure", "grl_schedule_figure", "triplet_figure"]


def architecture_figure(modalities: Sequence[str], backbone: str = "ResNet",
                        latent_dim: int | str = 1024) -> Figure:
    """The architecture (the paper's Figure 1) for the sensors of a run, drawn with matplotlib boxes."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_hex
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    n = len(modalities)
    fig, ax = plt.subplots(figsize=(10, 1.6 + 1.3 * n))
    ax.set_xlim(-0.15, 10.1)
    ax.set_ylim(0, 1.3 * n + 0.6)
    ax.axis("off")

    def box(x: float, y: float, w: float, h: float, text: str, color: str) -> None:
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.03", fc=color, ec="black", lw=1))
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=8.5)

    def arrow(x0: float, y0: float, x1: float, y1: float, style: str = "-|>", color: str = "black") -> None:
        ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle=style, mutation_scale=10, color=color, lw=1))

    mid = (1.3 * n + 0.6) / 2
    for i, mod in enumerate(modalities):
        y = 1.3 * (n - 1 - i) + 0.5
        col = to_hex(modality_color(mod))
        box(0.0, y, 1.2, 0.7, f"{modality_label(mod)}\nimage $x^{{{mod.upper()}}}$", col + "55")
        box(1.6, y, 1.7, 0.7, f"{backbone}\n$f^{{{mod.upper()}}}$ (own weights)", col + "33")
        box(3.7, y, 1.7, 0.7, f"merge net $g^{{{mod.upper()}}}$\n3 FC layers", col + "33")
        arrow(1.2, y + 0.35, 1.6, y + 0.35)
        arrow(3.3, y + 0.35, 3.7, y + 0.35)
        arrow(5.4, y + 0.35, 5.85, mid)
    box(5.85, mid - 0.45, 1.3, 0.9, f"shared latent\n$z$ ({latent_dim}-d)", "#ffe699")
    box(7.6, mid + 0.35, 2.3, 0.75, "classifier\n$\\mathcal{L}_C$ KL (eq. 1)", "#c6e0b4")
    box(7.6, mid - 0.55, 2.3, 0.75, "GRL → modality classifier\n$\\mathcal{L}_M$ (eq. 2)", "#f4b183")
    box(7.6, mid - 1.45, 2.3, 0.7, "triplets across modalities\n$\\mathcal{L}_T$ (eq. 3)", "#bdd7ee")
    arrow(7.15, mid + 0.1, 7.6, mid + 0.7)
    arrow(7.15, mid, 7.6, mid - 0.18)
    arrow(7.15, mid - 0.1, 7.6, mid - 1.1)
    ax.text(5.0, 0.05, r"$\mathcal{L} = \alpha\,\mathcal{L}_T + \beta\,\mathcal{L}_C - \mathcal{L}_M$ (eq. 4);"
            " the minus sign is the gradient reversal layer (GRL)", ha="center", fontsize=9)
    fig.tight_layout()
    return fig


def grl_schedule_figure(final: float = 1.0) -> Figure:
    """The weight of the gradient reversal over training progress (``xmodal.losses.grl_weight``)."""
    import matplotlib.pyplot as plt

    from xmodal.losses import grl_weight

    p = np.linspace(0, 1, 101)
    fig, ax = plt.subplots(figsize=(5, 2.6))
    for schedule in ("constant", "acmr"):
        ax.plot(p, [grl_weight(float(v), schedule, final) for v in p], label=schedule)
    ax.set_xlabel("training progress p")
    ax.set_ylabel("reversal weight")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def triplet_figure(info: Mapping[str, Any], title: str = "") -> Figure:
    """Label similarity S and cosine similarity of a mined batch.

    ``info`` is that of :func:`xmodal.analysis.triplets.mined_triplets`; each anchor's
    positive (circle) and hard negative (cross) are marked.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    for ax, key, name in ((axes[0], "s", "histogram intersection S of soft labels"),
                          (axes[1], "cos", "cosine similarity of latent vectors")):
        im = ax.imshow(info[key], cmap="viridis", vmin=0 if key == "s" else -1, vmax=1)
        rows = np.flatnonzero(info["valid"])
        ax.scatter(info["pos"][rows], rows, marker="o", facecolor="none", edgecolor="white", s=60,
                   label="positive")
        ax.scatter(info["neg"][rows], rows, marker="x", color="red", s=40, label="hard negative")
        ax.set_xlabel("other-modality batch")
        ax.set_ylabel("anchor")
        ax.set_title(name, fontsize=8)
        fig.colorbar(im, ax=ax, fraction=0.046)
    axes[0].legend(fontsize=7, loc="upper right")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig
