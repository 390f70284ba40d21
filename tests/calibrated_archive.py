"""A hand-made archive of the ``calibrated`` profile, with known answers, for the report, plot and book tests.

Written in the archive's own layout (:mod:`xmodal.archive`, schema 1), as
:func:`xmodal.archive.write_archive` writes a calibration profile: the Baselines on S1 and on S2,
seeds 0-9, and the search's record. Known answers:

* the search: three rounds. S1's knob ``s1_contrast`` scores 0.542 at 1.0, 0.615 at 1.6 and 0.634
  at 1.8 (done: within half the tolerance of 0.63); S2's knob ``s2_noise`` scores 0.700 at 1.0 and
  0.772 at 0.5 (done in round 1, so round 2 does not re-score it). Chosen: ``s1_contrast`` 1.8,
  ``s2_noise`` 0.5; 12 minutes of search;
* achieved (test weighted F1 over 10 seeds): S1 0.63 on average (**within** ± 0.02 of 0.63), S2
  0.80 (**outside** ± 0.02 of 0.77);
* the calibrated world's parameters (``s1_contrast`` 1.8, ``s2_noise`` 0.5) differ from the
  default profile's (none set: 1 and 1).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hand_tables import predictions_for, rows

from xmodal.archive import ARCHIVE_SCHEMA, encode_masks
from xmodal.metrics import F1_THRESHOLD, binarize

PROFILE = "calibrated"
SEEDS = tuple(range(10))
#: The achieved mean test weighted F1 per sensor (seed s adds 0.004 (s - 4.5): the mean is exact).
ACHIEVED = {"s1": 0.63, "s2": 0.80}
SPREAD = 0.004
TARGETS = {"s1": 0.63, "s2": 0.77}
TOLERANCE = 0.02
CHOSEN = {"s1_contrast": 1.8, "s2_noise": 0.5}
SEARCH_SECONDS = 720.0
#: The search's rounds: (s1_contrast, s2_noise, S1 mean or None, S2 mean or None).
ROUNDS = ((1.0, 1.0, 0.542, 0.700), (1.6, 0.5, 0.615, 0.772), (1.8, 0.5, 0.634, None))
COMMIT = "fedcba9876543210"
DATE = "2026-12-05"


def spec() -> dict[str, Any]:
    """The calibration block (as ``xmodal/studies/calibrated.yaml`` has it)."""
    return {"targets": dict(TARGETS), "tolerance": TOLERANCE,
            "knobs": {"s1": {"knob": "s1_contrast", "low": 0.5, "high": 3.0, "start": [1.0, 1.6]},
                      "s2": {"knob": "s2_noise", "low": 0.0, "high": 1.5, "start": [1.0, 0.5]}},
            "seeds": [0, 1, 2], "data_seed": 1, "rounds": 7}


def record() -> dict[str, Any]:
    """The search's record as the archive keeps it (``archive.calibration``)."""
    rounds = []
    for k, (s1, s2, m1, m2) in enumerate(ROUNDS):
        scores = {}
        for sensor, m in (("s1", m1), ("s2", m2)):
            if m is not None:
                scores[sensor] = {"seeds": [0, 1, 2], "weighted": [m - 0.01, m, m + 0.01], "mean": m, "sd": 0.01,
                                  "macro": m - 0.1}
        rounds.append({"round": k, "values": {"s1_contrast": s1, "s2_noise": s2}, "scores": scores,
                       "seconds": 240.0})
    return {"profile": PROFILE, "spec": spec(), "base_params": dict(CHOSEN), "chosen": dict(CHOSEN),
            "converged": True, "stopped": "every sensor within half the tolerance",
            "search_seconds": SEARCH_SECONDS, "rounds": rounds}


def results() -> pd.DataFrame:
    """The profile's results table as the archive holds it (``run_dir`` ``archive:calibrated/...``)."""
    specs = [("baseline", s, s, None, seed, mean - 0.1, mean + SPREAD * (seed - 4.5))
             for s, mean in ACHIEVED.items() for seed in SEEDS]
    df = rows(specs, study=PROFILE)
    df["run_dir"] = [f"archive:{PROFILE}/{Path(r).name}" for r in df["run_dir"]]
    return df


def expected_shares() -> dict[str, float]:
    """Each class's share of the test patches where it is present (the archive's targets), computed here apart."""
    preds = predictions_for(results())
    p = next(iter(preds.values()))
    m = p.modalities[0]
    target = binarize(p.target[m], F1_THRESHOLD)
    return dict(zip(p.class_names, target.mean(axis=0).tolist(), strict=True))


def archive_dict(params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The archive as JSON-able data (see the module docstring); ``params``: the world's knobs (default CHOSEN)."""
    df = results()
    preds = predictions_for(df)
    first = next(iter(preds.values()))
    sensor = first.modalities[0]
    order = np.argsort(first.ids[sensor], kind="stable")
    runs = [{"run_dir": r, "config": {"method": "baseline", "modalities": [s], "seed": int(seed)},
             "timings": {"total_seconds": 60.0}}
            for r, s, seed in df[["run_dir", "modality", "seed"]].itertuples(index=False)]
    world = dict(CHOSEN if params is None else params)
    data_spec = {"synthetic": {"n_scenes": 200, "patches_per_side": 4, "patch_size": 32, "season": "winter",
                               "seed": 0, "params": world}, "root": "data/calibrated"}
    return {
        "schema": ARCHIVE_SCHEMA, "profile": PROFILE, "commit": COMMIT, "date": DATE,
        "machine": {"cpus": 2, "platform": "Linux", "python": "3.11"},
        "data": {"kind": "synthetic", "fingerprint": None, "spec": data_spec},
        "spec": {"name": PROFILE, "extends": "default", "data": data_spec, "seeds": list(SEEDS),
                 "calibration": spec()},
        "results": json.loads(df.to_json(orient="records")),
        "pairs": [],
        "predictions": {"threshold": F1_THRESHOLD, "class_names": list(first.class_names),
                        "ids": [str(v) for v in np.asarray(first.ids[sensor])[order]],
                        "target": encode_masks(binarize(first.target[sensor][order], F1_THRESHOLD)),
                        "runs": {run: {m: encode_masks(binarize(p.prob[m][order], F1_THRESHOLD))
                                       for m in p.modalities} for run, p in preds.items()}},
        "runs": runs,
        "times": {"sweep": {"seconds": 1200.0}},
        "calibration": record(),
    }


def write_calibrated_archive(folder: Path, params: dict[str, Any] | None = None) -> Path:
    """Write the hand-made archive as ``<folder>/calibrated.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{PROFILE}.json"
    path.write_text(json.dumps(archive_dict(params)))
    return path
