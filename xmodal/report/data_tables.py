"""The data page's tables: how a land-cover map becomes a soft label, class frequencies, the generator's parameters.

Also which patches the page shows (:func:`pick_patches`, :func:`most_mixed`) and how much
each split method leaks test patches into training (:func:`leakage_table`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from xmodal.metrics import F1_THRESHOLD

__all__ = [
    "soft_label_table",
    "class_frequency_table",
    "pick_patches",
    "most_mixed",
    "params_table",
    "params_overview",
    "biome_table",
    "leakage_table",
]


def soft_label_table(lc: np.ndarray, scheme: str = "dfc9") -> pd.DataFrame:
    """How one land-cover map (a patch's ``lc`` array) becomes a soft label.

    Returns:
        One row per class of ``scheme``: its pixel count, its share (the soft label) and
        whether it counts as present for F1 (share above :data:`xmodal.metrics.F1_THRESHOLD`).
    """
    from xmodal.data.labels import LABEL_SCHEMES, SIMPLE_CLASS_NAMES, class_names, simplify, soft_label

    simple = simplify(lc[0] if lc.ndim == 3 else lc)
    label = soft_label(lc, scheme)
    names = class_names(scheme)
    counts = {SIMPLE_CLASS_NAMES[c - 1]: int((simple == c).sum()) for c in LABEL_SCHEMES[scheme]}
    return pd.DataFrame({"class": names, "pixels": [counts[n] for n in names], "soft label": label,
                         f"present for F1 (> {F1_THRESHOLD:g})": label > F1_THRESHOLD})


def class_frequency_table(labels: np.ndarray, class_names: Sequence[str]) -> pd.DataFrame:
    """Class frequencies of a set of soft labels ``[N, C]``.

    Returns:
        Per class: the share of patches where it is present (> 0), where it counts for F1
        (above the threshold), and its mean share of pixels.
    """
    labels = np.asarray(labels)
    return pd.DataFrame({"class": list(class_names),
                         "present in patch (> 0)": (labels > 0).mean(0),
                         f"counts for F1 (> {F1_THRESHOLD:g})": (labels > F1_THRESHOLD).mean(0),
                         "mean share of pixels": labels.mean(0)})


def pick_patches(ids: Sequence[str], labels: np.ndarray, n: int = 4, seed: int = 0) -> list[str]:
    """``n`` patch ids whose dominant classes differ where possible (seeded)."""
    labels = np.asarray(labels)
    order = np.random.default_rng(seed).permutation(len(ids))
    dominant = labels[order].argmax(1)
    _, first = np.unique(dominant, return_index=True)
    picks = list(order[np.sort(first)])
    chosen = set(picks)
    picks += [i for i in order if i not in chosen]
    return [str(ids[i]) for i in picks[:n]]


def most_mixed(ids: Sequence[str], labels: np.ndarray) -> str:
    """The id of the patch whose soft label has the most classes (ties: the most even)."""
    labels = np.asarray(labels)
    key = (labels > 0).sum(1) - labels.max(1)
    return str(ids[int(np.argmax(key))])


def params_table(params: Mapping[str, Any], prefix: str = "") -> pd.DataFrame:
    """A nested parameter mapping (e.g. the synthetic generator's) as a flat table."""
    rows: list[dict[str, Any]] = []

    def walk(obj: Any, key: str) -> None:
        if isinstance(obj, Mapping):
            for k, v in obj.items():
                walk(v, f"{key}.{k}" if key else str(k))
        else:
            if isinstance(obj, (list, tuple)):
                obj = ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in obj)
            rows.append({"parameter": key, "value": obj})

    walk(params, prefix)
    return pd.DataFrame(rows, columns=["parameter", "value"])


def params_overview(params: Any) -> pd.DataFrame:
    """The synthetic generator's parameters: group, name, value, unit, description.

    Args:
        params: a :class:`xmodal.data.synthetic.SyntheticParams`. Tables keyed by biome or
            by class are summarised here and shown in full by :func:`biome_table` and
            :func:`xmodal.plots.signature_figure`.
    """

    def num(x: Any) -> str:
        return f"{x:g}" if isinstance(x, (int, float)) and not isinstance(x, bool) else str(x)

    rows = []
    for r in params.table():
        v = r["value"]
        if isinstance(v, dict) and v and all(isinstance(x, (dict, list)) for x in v.values()):
            first = next(iter(v))
            v = ("per biome: see the biome table" if r["name"].startswith("biome")
                 else f"per class ({len(v)} rows): see the figure" if all(isinstance(x, list) for x in v.values())
                 else f"{len(v)} entries, e.g. {first}: {v[first]}")
        elif isinstance(v, dict):
            v = ", ".join(f"{k} {num(x)}" for k, x in v.items())
        elif isinstance(v, list):
            v = ", ".join(num(x) for x in v)
        else:
            v = num(v)
        rows.append({"group": r["group"], "parameter": r["name"], "value": v, "unit": r["unit"],
                     "description": r["description"]})
    return pd.DataFrame(rows)


def biome_table(params: Any) -> pd.DataFrame:
    """Biomes of the synthetic scenes: probability and class prior of each."""
    return pd.DataFrame(params.biome_table())


def leakage_table(shares: Mapping[str, float], config: Mapping[str, Any]) -> pd.DataFrame:
    """Share of test patches overlapping a training patch per split method, and who uses it.

    Args:
        shares: split method -> share (:func:`xmodal.data.split_leakage`).
        config: a run's config (its ``split`` is "this study's").
    """
    rows = []
    for method, share in shares.items():
        used = []
        if method == "random":
            used.append("the paper")
        if method == config.get("split"):
            used.append("this study")
        rows.append({"split": method, "test patches overlapping a training patch": f"{share:.1%}",
                     "used by": " and ".join(used) or "–"})
    return pd.DataFrame(rows, columns=["split", "test patches overlapping a training patch", "used by"])
