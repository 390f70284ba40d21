"""Everything the page shows, as one JSON-serialisable dict (:func:`build_data`)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .embedding import UMAP_PARAMS, embed
from .errors import ExplorerError
from .points import K_NEIGHBOURS, aligned_partners, colour_categories, cross_sensor_neighbours
from .runs import Model, RunRecord, group_models, menu_value, model_menu
from .thumbnails import THUMB_SIZE, VIEWS, _thumbnails, _view_of

__all__ = ["RIGHT_COLOURS", "VIRIDIS", "build_data"]

#: Colours of "prediction right" (Okabe-Ito blue and orange, readable for colour-blind eyes).
RIGHT_COLOURS = {"right": "#0072b2", "wrong": "#e69f00"}
#: Viridis, for the homogeneity scale 0..1.
VIRIDIS = ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58",
           "#b5de2b", "#fde725"]


def _pct(a: np.ndarray) -> list[list[int]]:
    """Shares as integer percents (what the page shows; keeps the page light)."""
    return np.rint(np.asarray(a, dtype=np.float64) * 100).astype(int).tolist()


def _model_title(values: Mapping[str, str], model: Model) -> str:
    if values:
        return ", ".join(f"{k} {v}" if k != "method" else v for k, v in values.items())
    return menu_value("method", model.config.get("method", "model"))


def build_data(runs: Sequence[RunRecord], *, k: int = K_NEIGHBOURS, umap_params: Mapping[str, Any] | None = None,
               cache: bool | str | Path = True, data_root: str | Path | None = None,
               thumb_size: int = THUMB_SIZE, title: str | None = None,
               skipped: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """Everything the page shows, as one JSON-serialisable dict.

    Args:
        runs: the runs (see :func:`load_run`).
        k: cross-sensor neighbours marked on click.
        umap_params: UMAP settings (default :data:`UMAP_PARAMS`).
        cache: where embeddings are cached (see :func:`embed`).
        data_root: the SEN12MS root for thumbnails (default: the one the runs recorded);
            without it, the page has no thumbnails and says so.
        thumb_size: thumbnail side in pixels.
        title: the page's heading.
        skipped: ``(run folder, reason)`` of runs left out, listed in the page.

    Returns:
        ``{"title", "sensors", "views", "classes", "colours", "menu", "models", "patches",
        "notes", ...}``: ``patches`` holds each patch's id, thumbnails and soft label (in
        percent) once; a model's points refer to patches by index (and carry their own
        ``label`` only when their soft labels differ, e.g. another label scheme).
    """
    from xmodal.data.normalize import modality_color, modality_label
    from xmodal.plots.core import CLASS_COLORS

    if not runs:
        raise ExplorerError("No finished run with latent vectors to explore")
    params = dict(UMAP_PARAMS if umap_params is None else umap_params)
    models = group_models(runs)
    menu = model_menu([m.config for m in models])
    all_sensors = list(dict.fromkeys(s for m in models for s in m.sensors))
    patch_ids = list(dict.fromkeys(pid for m in models for pid in m.ids.tolist()))
    patch_index = {pid: i for i, pid in enumerate(patch_ids)}
    classes = list(dict.fromkeys(c for r in runs for c in r.class_names))
    how: list[str] = []
    out_models = []
    # Soft labels belong to the patch: stored once (by patch) unless a model's differ (another scheme).
    shared_labels: dict[int, list[int]] = {}
    label_classes: list[int] | None = None
    for model in models:
        sensors = model.sensors
        mod = model.modality
        ids = model.ids
        xy, source = embed(model, params, cache)
        how.append(source)
        partners = aligned_partners(ids, mod, sensors)
        cats = colour_categories(model.labels, model.prob, partners)
        if model.shared_space:
            nn, rank = cross_sensor_neighbours(model.z, mod, sensors, k=k, partners=partners)
        else:
            nn, rank = np.zeros((len(ids), len(sensors), 0), np.int64), np.zeros((len(ids), len(sensors)), np.int64)
        own = np.array([sensors.index(m) for m in mod])
        others = [[b for b in range(len(sensors)) if b != a] for a in own]
        found = float(np.mean(rank[rank > 0] == 1)) if (rank > 0).any() else None
        class_pos = [classes.index(c) for c in model.runs[0].class_names]
        values = {key: menu_value(key, model.config.get(key)) for key in menu}
        metrics: dict[str, dict[str, float]] = {}
        hom: dict[str, float] = {}
        for r in model.runs:
            metrics.update(r.metrics)
            hom.update(r.homogeneity)
        patch_rows = [patch_index[p] for p in ids.tolist()]
        label_pct = _pct(model.labels)
        own_labels = label_classes not in (None, class_pos) or any(
            shared_labels.get(j, row) != row for j, row in zip(patch_rows, label_pct, strict=True))
        if not own_labels:
            label_classes = class_pos
            shared_labels.update(zip(patch_rows, label_pct, strict=True))
        out_models.append({
            "title": _model_title(values, model),
            "values": values,
            "runs": [r.path.name for r in model.runs],
            "shared": model.shared_space,
            "sensors": [all_sensors.index(s) for s in sensors],
            "classes": class_pos,
            "metrics": metrics,
            "homogeneity": hom,
            "pair_found": found,
            "embedding": source,
            "points": {
                "patch": patch_rows,
                "sensor": [all_sensors.index(m) for m in mod.tolist()],
                "x": np.round(xy[:, 0].astype(np.float64), 3).tolist(),
                "y": np.round(xy[:, 1].astype(np.float64), 3).tolist(),
                **({"label": label_pct} if own_labels else {}),  # else: patches.label
                "prob": _pct(model.prob),
                "dominant": cats["dominant"].tolist(),
                "predicted": cats["predicted"].tolist(),
                "right": cats["right"].astype(int).tolist(),
                "hom": [None if np.isnan(h) else round(float(h), 3) for h in cats["homogeneity"]],
                # other sensors' partner rows, ranks and neighbours (own sensor left out)
                "partner": [[int(partners[i, b]) for b in others[i]] for i in range(len(ids))],
                "rank": [[int(rank[i, b]) for b in others[i]] for i in range(len(ids))],
                "nn": [[int(j) for b in others[i] for j in nn[i, b] if j >= 0] for i in range(len(ids))],
            },
        })
    views = list(dict.fromkeys(v for s in all_sensors if (v := _view_of(s)) is not None))
    roots = [str(data_root)] if data_root is not None else [r.data_root for r in runs]
    thumbs, thumb_note = _thumbnails(patch_ids, views, roots, thumb_size)
    default = next((i for i, m in enumerate(models)
                    if m.config.get("method") == "C+T+M" and m.config.get("n_train") is None), 0)
    cached = sum(h == "cache" for h in how)
    notes = [
        (f"UMAP of each model's saved latent vectors (test patches), {json.dumps(params)}; "
         f"{cached} of {len(how)} embeddings read from the cache in the run folders."),
        "Right: the class with the largest predicted probability is the dominant class of the soft label.",
        ("Homogeneity: sum over classes of min(p_a, p_b) between the patch's predictions from two sensors "
         "(the summand of eq. 5; its mean over the test patches is s)."),
        (f"Neighbours: the {k} nearest latent vectors from each other sensor, by cosine similarity in "
         "the latent space (not in the 2-d projection)."),
        thumb_note,
    ]
    if skipped:
        notes.append("Left out: " + "; ".join(f"{name} ({why})" for name, why in skipped) + ".")
    return {
        "title": title or "Latent-space explorer",
        "sensors": all_sensors,
        "sensor_labels": [modality_label(s) for s in all_sensors],
        "sensor_colours": [modality_color(s) for s in all_sensors],
        "sensor_views": [_view_of(s) for s in all_sensors],
        "views": {v: VIEWS[v]["caption"] for v in views},
        "classes": classes,
        "class_colours": [CLASS_COLORS.get(c, "#7f7f7f") for c in classes],
        "right_colours": RIGHT_COLOURS,
        "scale": VIRIDIS,
        "k": k,
        "menu": menu,
        "default": default,
        "models": out_models,
        "patches": {"ids": patch_ids, "thumbs": thumbs,
                    "label": [shared_labels.get(i) for i in range(len(patch_ids))]},
        "has_thumbs": any(t is not None for ts in thumbs.values() for t in ts),
        "notes": notes,
    }
