"""A hand-made archive of a ``regime`` profile, with known answers, for the report, plot and book tests.

Written in the archive's own layout (:mod:`xmodal.archive`, schema 1), as ``xmodal archive --study
regime`` writes a regime map (a study per world, one S2 Baseline per world shared by every level
of S1's training patches, a pair of Baselines per cell and seed), so
:func:`xmodal.archive.load_archive` reads it as it reads a real one.

The grid: ``s1_contrast`` 1, 1.8, 2.6 (a world each) by ``n_train_s1`` all, 290, 72; three seeds;
C and C+T+M. Every paired difference over seeds is the grid's gain at that cell plus
:data:`JITTER` (seed s), so every interval is ``gain -/+`` :data:`HALF_WIDTH` exactly: every run
predicts the test targets themselves, so the test scenes add nothing to it. A gain above
:data:`HALF_WIDTH` in size is significant; one below it is not.

- :data:`LIFTS_AT_FEWEST`: C lifts S1 at (1, 72) only; C+T+M loses 0.05 on S2 at (2.6, 72)
  (significantly more than the margin) and 0.015 at (1, 290) (significantly below 0, not below
  the margin); C+T+M's homogeneity rises at contrasts 1 and 1.8. All three signs: (1, 72) only.
- :data:`NO_LIFT`: C's gain on S1 never reaches significance; it grows as the contrast falls and as
  S1's patches fall, largest at (1, 72) (+0.008); C+T+M keeps accuracy everywhere; its homogeneity
  never rises significantly (largest at (2.6, all), +0.008).
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from xmodal.archive import ARCHIVE_SCHEMA, encode_masks
from xmodal.metrics import F1_THRESHOLD
from xmodal.results import RESULT_COLUMNS, method_of

#: The map's axes, in the profile's order (rows, then columns of the heatmaps).
AXES: dict[str, list[Any]] = {"s1_contrast": [1.0, 1.8, 2.6], "n_train_s1": [None, 290, 72]}
SEEDS = (0, 1, 2)
METHODS = ("C", "C+T+M")
#: The calibrated world's generator parameters (the profile's ``data.synthetic.params``).
CALIBRATED_PARAMS = {"s1_contrast": 1.8, "s2_noise": 0.5}
#: The calibrated world's cell.
CALIBRATED_CELL = (1.8, None)
#: Training patches of each sensor when a run has them all.
ALL_PATCHES = 1160
#: What seed s adds to every method's score (and homogeneity) beyond the Baselines': the paired spread.
JITTER = (0.0, 0.004, -0.004)
#: The half-width of every cell's 95% interval: t(0.975, 2) * sd(JITTER) / sqrt(3).
HALF_WIDTH = float(stats.t.ppf(0.975, 2) * np.std(JITTER, ddof=1) / math.sqrt(len(SEEDS)))
#: Wall times of every world (seconds).
WORLD_SECONDS = {"data_seconds": 120.0, "seconds": 2400.0, "jobs": 2}

Cell = tuple[float, Any]
#: A grid: per (quantity, method, sensor), the gain of each cell (cells not named: 0).
Grid = Mapping[tuple[str, str, str], Mapping[Cell, float]]

_CONTRASTS = AXES["s1_contrast"]
_PATCHES = [72, 290, None]  # the grid's order of n_train_s1: fewest first, "all" last

LIFTS_AT_FEWEST: Grid = {
    ("f1", "C", "s1"): {(1.0, 72): 0.06, (1.8, 72): 0.005},
    ("f1", "C+T+M", "s1"): {(c, n): -0.005 for c in _CONTRASTS for n in _PATCHES},
    ("f1", "C+T+M", "s2"): {(2.6, 72): -0.05, (1.0, 290): -0.015},
    ("homogeneity", "C+T+M", "s1|s2"): {(c, n): 0.05 for c in (1.0, 1.8) for n in _PATCHES},
}

NO_LIFT: Grid = {
    ("f1", "C", "s1"): {(c, n): 0.002 * (2 - i) + 0.002 * (2 - j)
                        for i, c in enumerate(_CONTRASTS) for j, n in enumerate(_PATCHES)},
    ("f1", "C+T+M", "s1"): {(c, n): -0.005 for c in _CONTRASTS for n in _PATCHES},
    ("homogeneity", "C+T+M", "s1|s2"): {(c, n): 0.003 * i + 0.001 * j
                                         for i, c in enumerate(_CONTRASTS) for j, n in enumerate(_PATCHES)},
}


def gain(grid: Grid, quantity: str, method: str, sensor: str, cell: Cell) -> float:
    """The grid's gain of one cell (0 where the grid names none)."""
    return float(grid.get((quantity, method, sensor), {}).get(cell, 0.0))


def world(contrast: float) -> str:
    """The study name of the world with this contrast: ``regime-s1_contrast-1.8``."""
    return f"regime-s1_contrast-{contrast:g}"


def spec(profile: str = "regime") -> dict[str, Any]:
    """The profile's spec as the archive keeps it."""
    return {"name": profile, "description": "A hand-made regime map.", "extends": "calibrated",
            "data": {"synthetic": {"n_scenes": 200, "patches_per_side": 4, "patch_size": 32, "season": "winter",
                                   "seed": 0, "params": dict(CALIBRATED_PARAMS)}, "root": "data/regime"},
            "base": {"epochs": 10, "batch_size": 32}, "seeds": list(SEEDS), "runs": [], "tuning": None,
            "calibration": None,
            "regime": {"axes": {k: list(v) for k, v in AXES.items()}, "seeds": list(SEEDS), "methods": list(METHODS)}}


def _base_s1(contrast: float, n: Any) -> float:
    return 0.40 + 0.1 * _CONTRASTS.index(contrast) - {None: 0.0, 290: 0.03, 72: 0.08}[n]


def _row(study: str, folder: str, method: str, sensor: str, sensors: list[str], n_train: int, seed: int,
         weighted: float, homogeneity: float) -> dict[str, Any]:
    cfg = {"method": method, "alignment": "reversal" if "M" in method else None}
    row = dict.fromkeys(RESULT_COLUMNS)
    row.update({"study": study, "point": folder.rsplit("-seed", 1)[0], "method": method_of(cfg),
                "config_method": method, "alignment": cfg["alignment"], "pairing": "aligned", "modality": sensor,
                "trained_modalities": "+".join(sensors), "n_train": n_train, "n_train_requested": None,
                "n_test": 30, "seed": seed, "macro": weighted - 0.1, "weighted": weighted, "micro": weighted,
                "homogeneity": homogeneity, "seconds": 60.0, "epochs": 10, "backbone": "resnet18",
                "patch_size": 32, "data_kind": "synthetic", "season": "winter", "split": "scene", "status": "ok",
                "config_hash": f"{zlib.crc32(f'{study}/{folder}'.encode()):012d}",
                "run_dir": f"archive:regime/{study}/{folder}"})
    return row


def tables(grid: Grid) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The results rows and the homogeneity pairs of every world, cell and seed."""
    results: list[dict[str, Any]] = []
    pairs: list[dict[str, Any]] = []

    def pair(study: str, method: str, n: int, seed: int, h: float, a: str, b: str) -> None:
        pairs.append({"study": study, "method": method, "pairing": "aligned", "sensor_a": "s1", "sensor_b": "s2",
                      "n_train": n, "seed": seed, "homogeneity": h, "n_pairs": 30, "run_dir_a": a, "run_dir_b": b})

    for c in _CONTRASTS:
        study = world(c)
        for seed in SEEDS:
            s2_base = 0.75 + 0.01 * seed
            s2 = _row(study, f"baseline-s2-nall-seed{seed}", "baseline", "s2", ["s2"], ALL_PATCHES, seed, s2_base,
                      math.nan)
            results.append(s2)
            for n in (None, 290, 72):
                n1 = ALL_PATCHES if n is None else n
                level = "all" if n is None else str(n)
                s1_base = _base_s1(c, n) + 0.01 * seed
                s1 = _row(study, f"baseline-s1-n_train_s1{level}-seed{seed}", "baseline", "s1", ["s1"], n1, seed,
                          s1_base, math.nan)
                results.append(s1)
                h_base = 0.60 + 0.01 * seed
                pair(study, "baseline", n1, seed, h_base, s1["run_dir"], s2["run_dir"])
                for m in METHODS:
                    h = h_base + gain(grid, "homogeneity", m, "s1|s2", (c, n)) + JITTER[seed]
                    folder = f"{m}-s1+s2-n_train_s1{level}-seed{seed}"
                    for sensor, base, count in (("s1", s1_base, n1), ("s2", s2_base, ALL_PATCHES)):
                        w = base + gain(grid, "f1", m, sensor, (c, n)) + JITTER[seed]
                        results.append(_row(study, folder, m, sensor, ["s1", "s2"], count, seed, w, h))
                    pair(study, results[-1]["method"], n1, seed, h, results[-1]["run_dir"], results[-1]["run_dir"])
    return results, pairs


def _predictions(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Every run predicts the test targets (30 patches of 6 scenes): the scenes add nothing to an interval."""
    ids = [f"ROIs2017_winter_{s}_p{p}" for s in range(1, 7) for p in range(5)]
    target = np.zeros((len(ids), 4), dtype=bool)
    for i in range(len(ids)):
        target[i, i % 4] = True
        target[i, (i // 4) % 4] = True
    mask = encode_masks(target)
    runs: dict[str, dict[str, str]] = {}
    for r in results:
        runs.setdefault(r["run_dir"], {})[r["modality"]] = mask
    return {"threshold": F1_THRESHOLD, "class_names": ["forest", "shrubland", "grassland", "water"], "ids": ids,
            "target": mask, "runs": runs}


def archive_dict(grid: Grid = LIFTS_AT_FEWEST, profile: str = "regime") -> dict[str, Any]:
    """The archive as JSON-able data (see the module docstring)."""
    results, pairs = tables(grid)
    runs = [{"run_dir": r["run_dir"], "config": {"method": r["config_method"], "seed": r["seed"]},
             "timings": {"total_seconds": 60.0}} for r in {r["run_dir"]: r for r in results}.values()]
    worlds = {world(c): {"s1_contrast": c} for c in _CONTRASTS}
    clean = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()} for r in results]
    return {
        "schema": ARCHIVE_SCHEMA, "profile": profile, "commit": "fedcba9876543210", "date": "2027-01-15",
        "machine": {"cpus": 2, "platform": "Linux", "python": "3.11"},
        "data": {"kind": "synthetic", "fingerprint": None, "spec": spec(profile)["data"]},
        "spec": spec(profile),
        "results": clean,
        "pairs": pairs,
        "predictions": _predictions(results),
        "runs": runs,
        "times": {"regime": {"worlds": {name: dict(WORLD_SECONDS) for name in worlds}}},
        "regime": {"spec": spec(profile)["regime"], "worlds": worlds},
    }


def write_regime_archive(folder: Path, grid: Grid = LIFTS_AT_FEWEST, profile: str = "regime") -> Path:
    """Write the hand-made archive as ``<folder>/<profile>.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{profile}.json"
    path.write_text(json.dumps(archive_dict(grid, profile)))
    return path
