"""Hand-made tables and run folders with known answers, for the analysis and report tests.

Results tables carry the config fields the report layer selects on (``config_method``,
``alignment``, ``pairing``) beside the method key :func:`xmodal.results.method_of` makes of
them, as :func:`xmodal.results.load_results` does. Nothing here trains.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xmodal.analysis.homogeneity import PAIR_COLUMNS
from xmodal.results import method_of
from xmodal.rundir import Latents, Predictions, Result, RunDir


def rows(specs: list[tuple], *, alignment: str | None = None, pairing: str = "aligned",
         study: str = "t") -> pd.DataFrame:
    """A results table from (config method, sensor, trained, n_requested, seed, macro, weighted) tuples."""
    out = []
    for method, sensor, trained, n_req, seed, macro, weighted in specs:
        key = method_of({"method": method, "alignment": alignment, "pairing": pairing})
        out.append({"study": study, "method": key, "config_method": method,
                    "alignment": (alignment or "reversal") if "M" in method else None, "pairing": pairing,
                    "modality": sensor, "trained_modalities": trained,
                    "n_train": 100 if n_req is None else n_req, "n_train_requested": n_req, "seed": seed,
                    "macro": macro, "weighted": weighted, "homogeneity": math.nan, "status": "ok",
                    "data_kind": "synthetic", "season": "winter", "split": "scene",
                    "run_dir": f"/runs/{study}/{key}-{trained}-n{n_req}-seed{seed}"})
    df = pd.DataFrame(out)
    df["n_train_requested"] = df["n_train_requested"].astype("Int64")
    return df


def two_seeds() -> pd.DataFrame:
    """Baseline S1 / S2 and C on S1+S2, two seeds, full training set; C also at n=10."""
    return rows([
        ("baseline", "s1", "s1", None, 0, 0.50, 0.60), ("baseline", "s1", "s1", None, 1, 0.52, 0.62),
        ("baseline", "s2", "s2", None, 0, 0.60, 0.70), ("baseline", "s2", "s2", None, 1, 0.64, 0.74),
        ("C", "s1", "s1+s2", None, 0, 0.55, 0.70), ("C", "s2", "s1+s2", None, 0, 0.65, 0.75),
        ("C", "s1", "s1+s2", None, 1, 0.57, 0.74), ("C", "s2", "s1+s2", None, 1, 0.67, 0.77),
        ("C", "s1", "s1+s2", 10, 0, 0.30, 0.40), ("C", "s2", "s1+s2", 10, 0, 0.35, 0.45),
    ])


def three_sensors() -> pd.DataFrame:
    """Baselines on s1, s2 and rgb and C+T+M on all three, one seed."""
    return rows([
        ("baseline", "s1", "s1", None, 0, 0.50, 0.60), ("baseline", "s2", "s2", None, 0, 0.60, 0.70),
        ("baseline", "rgb", "rgb", None, 0, 0.55, 0.65),
        ("C+T+M", "s1", "s1+s2+rgb", None, 0, 0.52, 0.61), ("C+T+M", "s2", "s1+s2+rgb", None, 0, 0.62, 0.72),
        ("C+T+M", "rgb", "s1+s2+rgb", None, 0, 0.58, 0.66),
    ])


def pairs(specs: list[tuple], pairing: str = "aligned") -> pd.DataFrame:
    """A pair homogeneity table from (method, sensor_a, sensor_b, n_train, seed, homogeneity) tuples."""
    return pd.DataFrame([{"study": "t", "method": m, "pairing": pairing, "sensor_a": a, "sensor_b": b, "n_train": n,
                          "seed": seed, "homogeneity": h, "n_pairs": 10, "run_dir_a": f"{m}{seed}",
                          "run_dir_b": f"{m}{seed}"}
                         for m, a, b, n, seed, h in specs], columns=list(PAIR_COLUMNS))


def prediction(sensor: str, ids: list[str], prob: list[list[float]]) -> Predictions:
    """One sensor's predictions over two classes (targets equal to the predictions)."""
    p = np.asarray(prob, dtype=float)
    return Predictions([sensor], ["A", "B"], {sensor: np.asarray(ids)}, {sensor: p}, {sensor: p})


def predictions_for(df: pd.DataFrame, n_scenes: int = 6, per_scene: int = 5,
                    seed: int = 0) -> dict[str, Predictions]:
    """Predictions for every run of ``df`` on one shared test set (``n_scenes`` scenes), noisier for lower F1."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"ROIs2017_winter_{s}_p{p}" for s in range(1, n_scenes + 1) for p in range(per_scene)])
    target = rng.dirichlet(np.full(4, 0.3), len(ids))
    out: dict[str, Predictions] = {}
    for run_dir, sub in df.groupby("run_dir"):
        sensors = list(sub["modality"])
        probs = {}
        for s in sensors:
            noise = 1.0 - float(sub.loc[sub["modality"] == s, "weighted"].iloc[0])
            probs[s] = (1 - noise) * target + noise * rng.dirichlet(np.ones(4), len(ids))
        out[str(run_dir)] = Predictions(sensors, ["a", "b", "c", "d"], {s: ids for s in sensors},
                                        {s: target for s in sensors}, probs)
    return out


def latents(sensors: list[str], n: int = 6, seed: int = 0, shift: float = 0.0) -> Latents:
    """The same patches seen by every sensor: sensor k's vectors are patch vectors + k * shift."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, 4)).astype(np.float32) * 5
    labels = np.eye(3)[np.arange(n) % 3]
    z = np.concatenate([base + k * shift for k in range(len(sensors))])
    ids = np.array([f"p{i}" for i in range(n)] * len(sensors))
    mod = np.repeat(np.array(sensors), n)
    return Latents(z, np.tile(labels, (len(sensors), 1)), np.tile(labels, (len(sensors), 1)), mod, ids)


def write_run(study: Path, name: str, method: str, sensors: list[str], seed: int = 0,
              config_hash: str = "abcdef012345", probs: dict[str, list[list[float]]] | None = None,
              homogeneity: dict[str, float] | None = None, micro: bool = True,
              **config: Any) -> RunDir:
    """A finished run folder written through :class:`~xmodal.rundir.RunDir` (``config`` adds config keys)."""
    run = RunDir(study / f"{name}-{config_hash}")
    metrics = {s: {"macro": 0.5, "weighted": 0.6, **({"micro": 0.7} if micro else {}),
                   "per_class": {"A": 0.4, "B": 0.6}, "support": {"A": 1, "B": 2}} for s in sensors}
    run.write_result(Result.from_dict({
        "config": {"method": method, "modalities": sensors, "seed": seed, "n_train": None, "epochs": 1, **config},
        "config_hash": config_hash, "data": {"kind": "synthetic", "n_test": 3, "n_train": {s: 9 for s in sensors},
                                             "class_names": ["A", "B"]},
        "metrics": metrics, "homogeneity": homogeneity or {}, "history": [{"epoch": 1}],
        "timings": {"total_seconds": 1.0}}))
    if probs is not None:
        ids = {s: np.array(["p1", "p2", "p3"]) for s in sensors}
        p = {s: np.asarray(probs[s], dtype=float) for s in sensors}
        run.write_predictions(Predictions(sensors, ["A", "B"], ids, p, p))
    return run
