"""Figures of one run, shown by the experiment notebook (``xmodal/sweep/experiment.ipynb``).

Each function takes what one run wrote or will train on (its :class:`~xmodal.rundir.Result`,
the first batch of :func:`xmodal.training.first_step`, or the aligned examples of
:func:`xmodal.sweep.aligned_examples`) and returns a matplotlib figure or a table; none of
them trains or reads a study. The study-wide figures of the book are the other modules of
:mod:`xmodal.plots`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from xmodal.data.normalize import DISPLAY_COMPOSITES, MODALITIES, composite_channels
from xmodal.metrics import F1_THRESHOLD
from xmodal.rundir import Result

__all__ = [
    "LOSS_LABELS",
    "describe_data",
    "plot_losses",
    "scores_table",
    "plot_per_class_f1",
    "display_rgb",
    "plot_batch",
    "plot_pairs",
]

#: History key -> label (the paper's names and equation numbers).
LOSS_LABELS: dict[str, str] = {
    "L_C": r"$\mathcal{L}_C$ classification (eq. 1)",
    "L_M": r"$\mathcal{L}_M$ modality (eq. 2)",
    "L_T": r"$\mathcal{L}_T$ triplet (eq. 3)",
}
#: Loss -> the letter of the method name that switches it on.
_LOSS_LETTER = {"L_C": "C", "L_M": "M", "L_T": "T"}
#: Display colour and (long) label of each modality: the data layer's (``ModalitySpec.color``, ``.long_label``).
_MOD_COLORS = {name: spec.color for name, spec in MODALITIES.items()}
_MOD_LABEL = {name: spec.long_label for name, spec in MODALITIES.items()}


def describe_data(result: Result) -> str:
    """One Markdown sentence saying which data a run's figures come from."""
    data, cfg = result.data, result.config
    kind = result.data_kind
    what = "Synthetic SEN12MS-like data" if kind == "synthetic" else f"{kind} data"
    n_train = data.get("n_train") or {}
    train = ", ".join(f"{m}: {n}" for m, n in n_train.items())
    return (
        f"**Data:** {what} at `{data.get('root', cfg.get('data_root'))}`, season "
        f"{data.get('season', cfg.get('season'))}, split *{data.get('split', cfg.get('split'))}*; "
        f"training patches per modality ({train}), {data.get('n_test', '?')} test patches per modality; "
        f"method **{cfg.get('method')}**, backbone {cfg.get('backbone')}, seed {cfg.get('seed')}."
    )


def plot_losses(history: Sequence[Mapping[str, Any]], method: str | None = None):
    """The training losses per epoch, one panel each for L_C, L_M and L_T.

    Args:
        history: :attr:`Result.history <xmodal.rundir.Result.history>`: one dict per epoch
            with ``L_C``, ``L_M``, ``L_T``.
        method: when given, losses the method does not train with are left out.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    keys = [k for k in LOSS_LABELS if any(h.get(k) is not None for h in history)]
    if method is not None:
        keys = [k for k in keys if _LOSS_LETTER[k] in method.split("+") or (k == "L_C")]
    keys = keys or ["L_C"]
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.2), squeeze=False)
    epochs = [h.get("epoch", i + 1) for i, h in enumerate(history)]
    for ax, k in zip(axes[0], keys, strict=True):
        vals = [np.nan if h.get(k) is None else float(h[k]) for h in history]
        ax.plot(epochs, vals, marker="o", color="k")
        ax.set_title(LOSS_LABELS[k])
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("mean loss per epoch")
    fig.tight_layout()
    return fig


def scores_table(result: Result):
    """Macro/weighted F1 per modality and its mean homogeneity over the sensor pairs (eq. 5), as a DataFrame."""
    import pandas as pd

    rows = [{"modality": mod, "macro F1": m.get("macro"), "weighted F1": m.get("weighted"),
             "homogeneity s (eq. 5)": result.homogeneity_of(mod)}
            for mod, m in result.metrics.items()]
    return pd.DataFrame(rows).set_index("modality").round(3)


def plot_per_class_f1(result: Result):
    """Per-class F1 (at :data:`~xmodal.metrics.F1_THRESHOLD`) of each evaluated modality, as grouped bars."""
    import matplotlib.pyplot as plt

    metrics = result.metrics
    names = result.class_names
    mods = list(metrics)
    fig, ax = plt.subplots(figsize=(max(6, 0.8 * len(names) + 2), 3.4))
    width = 0.8 / max(1, len(mods))
    x = np.arange(len(names))
    for j, mod in enumerate(mods):
        pc = metrics[mod].get("per_class") or {}
        vals = [np.nan if pc.get(c) is None else pc[c] for c in names]
        ax.bar(x + (j - (len(mods) - 1) / 2) * width, vals, width,
               label=f"{_MOD_LABEL.get(mod, mod)} (macro {metrics[mod].get('macro', np.nan):.2f})",
               color=_MOD_COLORS.get(mod))
    support = next(iter(metrics.values()), {}).get("support") or {}
    ax.set_xticks(x, [f"{c}\n(n={support.get(c, '?')})" for c in names], rotation=0, fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel(f"F1 (threshold {F1_THRESHOLD})")
    ax.set_title("Per-class F1 on the test split")
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def _stretch(img: np.ndarray, lo: float = 2, hi: float = 98) -> np.ndarray:
    """Per-channel percentile stretch of an [H, W, 3] array to [0, 1]."""
    flat = img.reshape(-1, img.shape[-1])
    a = np.nanpercentile(flat, lo, axis=0)
    b = np.nanpercentile(flat, hi, axis=0)
    return np.clip((img - a) / np.where(b > a, b - a, 1.0), 0.0, 1.0)


def display_rgb(x: np.ndarray, band_names: Sequence[str], modality: str) -> np.ndarray:
    """A displayable [H, W, 3] image of one patch ([C, H, W], any normalisation).

    The sensor file's composite of :data:`xmodal.data.normalize.DISPLAY_COMPOSITES`
    (S1 false colour VV, VH, VV - VH; optical modalities true colour B04, B03, B02),
    each channel stretched between its 2nd and 98th percentile. An unknown modality
    with the two S1 bands is shown as S1.
    """
    x = np.asarray(x, dtype=np.float32)
    names = [str(b).upper() for b in band_names]
    spec = MODALITIES.get(modality)
    if spec is not None:
        sensor = spec.sensor
    else:  # the first composite whose bands the patch has (the last one otherwise)
        sensor = next((s for s, (_, channels) in DISPLAY_COMPOSITES.items()
                       if all(c.split("-")[0] in names for c in channels)), list(DISPLAY_COMPOSITES)[-1])
    rgb = composite_channels(x, names, sensor)
    return _stretch(rgb)


def plot_pairs(examples: Mapping[str, Any]):
    """Aligned test patches: each modality's image, then soft label vs. predictions.

    Args:
        examples: the dict of :func:`xmodal.sweep.aligned_examples` (keys ``ids``,
            ``modalities``, ``images``, ``band_names``, ``prob``, ``target``,
            ``class_names``).

    Returns:
        The matplotlib figure: one row per patch.
    """
    import matplotlib.pyplot as plt

    mods = list(examples["modalities"])
    ids = list(examples["ids"])
    names = list(examples["class_names"])
    n = len(ids)
    ncols = len(mods) + 1
    fig, axes = plt.subplots(max(n, 1), ncols, figsize=(2.6 * len(mods) + 5.5, 2.6 * max(n, 1)),
                             squeeze=False, gridspec_kw={"width_ratios": [1] * len(mods) + [2.2]})
    x = np.arange(len(names))
    width = 0.8 / (len(mods) + 1)
    for i, pid in enumerate(ids):
        for j, mod in enumerate(mods):
            ax = axes[i][j]
            ax.imshow(display_rgb(examples["images"][mod][i], examples["band_names"][mod], mod))
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(_MOD_LABEL.get(mod, mod), fontsize=9)
            if j == 0:
                ax.set_ylabel(pid.replace("ROIs", "").replace("_", " "), fontsize=7)
        ax = axes[i][-1]
        ax.bar(x - 0.4 + width / 2, examples["target"][i], width, color="0.6", label="soft label")
        for j, mod in enumerate(mods):
            ax.bar(x - 0.4 + width * (j + 1.5), examples["prob"][mod][i], width,
                   color=_MOD_COLORS.get(mod), label=f"prediction from {mod}")
        ax.axhline(F1_THRESHOLD, color="k", lw=0.6, ls=":")
        ax.set_ylim(0, 1)
        ax.set_xticks(x, names if i == n - 1 else [""] * len(names), rotation=45, ha="right", fontsize=7)
        if i == 0:
            ax.legend(fontsize=7, loc="upper right")
            ax.set_title(f"class shares (dotted: the {F1_THRESHOLD} threshold)", fontsize=9)
    fig.tight_layout()
    return fig


def plot_batch(step: Mapping[str, Any]):
    """The first training batch of a run: a few patches of each sensor with their dominant class.

    The sensors' batches are drawn independently (Sec. 2 of the paper: no aligned pairs), so
    the columns of two rows show different places.

    Args:
        step: the dict of :func:`xmodal.training.first_step` (keys ``modalities``, ``ids``,
            ``images``, ``band_names``, ``target``, ``class_names``, ``batch_size``).

    Returns:
        The matplotlib figure: one row per sensor.
    """
    import matplotlib.pyplot as plt

    mods = list(step["modalities"])
    names = list(step["class_names"])
    n = max(len(step["ids"][m]) for m in mods)
    fig, axes = plt.subplots(len(mods), max(n, 1), figsize=(1.9 * max(n, 1), 2.2 * len(mods)), squeeze=False)
    for i, mod in enumerate(mods):
        for j in range(n):
            ax = axes[i][j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j >= len(step["ids"][mod]):
                ax.axis("off")
                continue
            ax.imshow(display_rgb(step["images"][mod][j], step["band_names"][mod], mod))
            label = np.asarray(step["target"][mod][j])
            k = int(label.argmax())
            ax.set_title(f"{names[k]} {label[k]:.0%}", fontsize=8)
            if j == 0:
                ax.set_ylabel(_MOD_LABEL.get(mod, mod), fontsize=8)
    fig.suptitle(f"First training batch: {n} of the {step['batch_size']} patches of each sensor "
                 "(title: the dominant class of the soft label)", fontsize=9)
    fig.tight_layout()
    return fig
