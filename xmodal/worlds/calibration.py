"""Calibration: the world knobs that make the Baselines as hard as the paper's.

:func:`calibrate` searches, for each sensor of a profile's ``calibration`` block
(:mod:`xmodal.worlds.spec`), the value of its knob at which that sensor's Baseline, trained at the
profile's settings (those of Figure 2), scores the paper's weighted F1.

- **Calibration scenes.** Every round draws the world anew with the block's ``data_seed`` (another
  generator seed than the study's), so the search scores its Baselines on the test scenes of
  *another draw of the same world*: it never sees the study's validation or test scenes, which the
  achieved scores are then measured on (the profile's own sweep).
- **One knob per sensor.** A sensor's knob changes that sensor's files only (S1's knobs leave the
  S2 and land-cover files as they are, and S2's leave S1's: ``tests/test_worlds.py``), and a Baseline
  reads its own sensor only, so the two searches run side by side in one world per round, and a
  sensor whose knob value was already scored keeps its score (no run is repeated).
- **The search** (:func:`propose`) is a bracketing secant on the mean score over the block's seeds:
  the first rounds score the ``start`` values; then it interpolates between the closest values on
  either side of the target, or extrapolates along the knob's known direction, within the range. A
  sensor is done when a scored value comes within half the tolerance of its target; the search
  stops when every sensor is done or after ``rounds`` rounds. The chosen value of each sensor is its
  scored value closest to the target.

Everything lands in ``<runs>/<profile>-calibration/``: the rounds' runs (run folders like any
other, so an interrupted calibration resumes), ``search.json`` (every round, rewritten atomically
after each) and the data roots of the rounds under ``<data dir>/<profile>-calibration/``.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from xmodal import atomic
from xmodal.sweep import resolve_study, run_sweep
from xmodal.worlds.spec import CalibrationSpec, SensorKnob, WorldError, calibration_spec

__all__ = ["SEARCH_FILE", "calibrate", "calibration_dir", "chosen_values", "make_world", "propose", "read_search",
           "world_params"]

#: The search's record, beside its runs.
SEARCH_FILE = "search.json"
#: The file that marks a data root as made by the world runner (so an incomplete one may be made again).
WORLD_SENTINEL = ".xmodal_world"
#: Knob values are rounded to this many decimals (a readable profile, and equal values compare equal).
DECIMALS = 3


def calibration_dir(runs_dir: str | os.PathLike[str], study: str) -> Path:
    """``<runs_dir>/<study>-calibration``: the search's runs and record."""
    return Path(runs_dir) / f"{study}-calibration"


def read_search(folder: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The search record of a calibration folder (None when there is none)."""
    path = Path(folder) / SEARCH_FILE
    return json.loads(path.read_text()) if path.exists() else None


def world_params(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The generator parameters a profile sets (its ``data.synthetic.params``; ``{}`` when none)."""
    synth = (spec.get("data") or {}).get("synthetic")
    if not synth:
        raise WorldError(f"Study {spec.get('name')!r} has no synthetic data: only a synthetic world has knobs")
    return dict(synth.get("params") or {})


def propose(points: Sequence[tuple[float, float]], target: float, knob: SensorKnob) -> float | None:
    """The next knob value to score, from the ``(value, mean score)`` pairs scored so far.

    The ``start`` values first; then linear interpolation between the closest values on either
    side of the target, or, without such a bracket, the secant of the two values closest to the
    target when its slope has the knob's direction (else a step of a quarter of the range in
    that direction), clipped to ``[low, high]``. ``None`` when the value it arrives at was
    already scored (nothing new to learn).
    """
    seen = {round(x, DECIMALS) for x, _ in points}
    for x in knob.start:
        if round(x, DECIMALS) not in seen:
            return round(x, DECIMALS)
    pts = sorted(points)
    below = [(x, f) for x, f in pts if f < target]
    above = [(x, f) for x, f in pts if f >= target]
    direction = knob.knob.easier  # +1: a higher value scores higher
    x_new: float
    if below and above:
        # the closest pair that brackets the target (the knob is monotone, up to noise)
        (x0, f0) = min(below, key=lambda p: target - p[1])
        (x1, f1) = min(above, key=lambda p: p[1] - target)
        x_new = x0 + (target - f0) * (x1 - x0) / (f1 - f0) if f1 != f0 else (x0 + x1) / 2
    else:
        near = sorted(pts, key=lambda p: abs(p[1] - target))[:2]
        slope = (near[0][1] - near[1][1]) / (near[0][0] - near[1][0]) if len(near) == 2 and near[0][0] != near[1][0] \
            else 0.0
        x0, f0 = near[0]
        if slope * direction > 1e-3:
            x_new = x0 + (target - f0) / slope
        else:
            sign = direction if f0 < target else -direction
            x_new = x0 + sign * 0.25 * (knob.high - knob.low)
    x_new = round(min(max(x_new, knob.low), knob.high), DECIMALS)
    return None if x_new in seen else x_new


def chosen_values(record: Mapping[str, Any]) -> dict[str, float]:
    """Each sensor's scored knob value whose mean score came closest to its target."""
    out = {}
    for sensor, target in record["spec"]["targets"].items():
        name = record["spec"]["knobs"][sensor]["knob"]
        scored = [(r["values"][name], r["scores"][sensor]["mean"]) for r in record["rounds"] if sensor in r["scores"]]
        if not scored:
            raise WorldError(f"The calibration in {record.get('folder')} scored no value for {sensor}")
        out[name] = min(scored, key=lambda p: abs(p[1] - target))[0]
    return out


def _train(config: dict[str, Any], out_dir: str) -> dict[str, Any]:
    """One Baseline of a round (in a worker process): its test weighted F1 on the calibration scenes."""
    from xmodal.training import run_experiment

    result = run_experiment(config, out_dir)
    (sensor,) = config["modalities"]
    return {"sensor": sensor, "seed": config["seed"], "weighted": float(result.metrics[sensor]["weighted"]),
            "macro": float(result.metrics[sensor]["macro"]), "run_dir": out_dir}


def make_world(root: Path, synth: Mapping[str, Any], params: Mapping[str, Any], data_seed: int,
                progress: bool) -> str:
    """The round's data root (made unless it already holds exactly this world); its fingerprint."""
    from xmodal.data import make_synthetic
    from xmodal.data.layout import MARKER_NAME
    from xmodal.data.synthetic import SyntheticParams

    kwargs = {k: v for k, v in synth.items() if k != "params"}
    kwargs["seed"] = data_seed
    p = SyntheticParams.from_dict(dict(params))
    marker = root / MARKER_NAME
    if marker.exists():
        meta = json.loads(marker.read_text())
        same = (meta.get("status") == "complete" and meta.get("seed") == data_seed
                and all(meta.get(k) == v for k, v in kwargs.items() if k in ("n_scenes", "patches_per_side",
                                                                              "patch_size", "season"))
                and SyntheticParams.from_dict(meta.get("params", {})).identity() == p.identity())
        if same:
            return str(meta["fingerprint"])
    sentinel = root / WORLD_SENTINEL
    if root.exists() and any(root.iterdir()) and not sentinel.exists():
        raise WorldError(f"{root} holds files this world runner did not write; give an empty or new data folder")
    if sentinel.exists():  # our own world, left incomplete or of other parameters: made again from scratch
        import shutil

        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    sentinel.write_text("made by xmodal.worlds: removed and made again when incomplete\n")
    summary = make_synthetic(root, params=p, progress=progress, **kwargs)
    return str(summary["fingerprint"])


def calibrate(
    study: str | os.PathLike[str] | Mapping[str, Any] = "calibrated",
    *,
    runs_dir: str | os.PathLike[str] = "runs",
    data_dir: str | os.PathLike[str] = "data",
    data_root: str | os.PathLike[str] | None = None,
    jobs: int = 1,
    search_only: bool = False,
    progress: bool = True,
) -> int:
    """Search the profile's knobs (see the module docstring), then run the profile at the chosen values.

    Args:
        study: a calibration profile (``calibrated``), a study YAML's path or a spec.
        runs_dir: the folder of the study folders (the search goes to ``<runs_dir>/<name>-calibration``).
        data_dir: where the rounds' data roots go (``<data_dir>/<name>-calibration/round-<k>``).
        data_root: the profile's own data root (default its ``data.root``), for its sweep; made (the
            calibrated world with the profile's generator seed) unless it already holds it.
        jobs: runs trained at once.
        search_only: stop after the search.
        progress: print every round.

    Returns:
        0 when the search ended and the profile's sweep finished; 1 when a run of the sweep failed;
        3 when the profile does not hold the chosen values (it says which to write) so that its
        sweep would measure another world.

    Raises:
        WorldError: no or a bad ``calibration`` block, a non-synthetic profile.
    """
    import multiprocessing

    from xmodal.config import ExperimentConfig
    from xmodal.training import identified_config

    if jobs < 1:
        raise WorldError(f"Invalid value for --jobs: {jobs!r}; must be >= 1")
    spec, folder = resolve_study(study)
    assert spec is not None
    cal = calibration_spec(spec)
    base_params = world_params(spec)
    synth = dict(spec["data"]["synthetic"])
    cdir = calibration_dir(runs_dir, folder)
    cdir.mkdir(parents=True, exist_ok=True)
    record = read_search(cdir)
    if record is not None and record.get("spec") != cal.to_dict():
        raise WorldError(f"{cdir / SEARCH_FILE} holds a search with another calibration block; move it away to "
                         f"start a new one")
    record = record or {"profile": spec["name"], "spec": cal.to_dict(), "rounds": [], "base_params": base_params}
    record["folder"] = str(cdir)
    t_start = time.perf_counter()
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) if jobs > 1 else None
    try:
        while len(record["rounds"]) < cal.rounds:
            values, todo = _next_round(record, cal)
            if not todo:
                break
            k = len(record["rounds"])
            t0 = time.perf_counter()
            params = {**base_params, **values}
            root = Path(data_dir) / f"{folder}-calibration" / f"round-{k}"
            make_world(root, synth, params, cal.data_seed, progress=False)
            configs = []
            for sensor in todo:
                for seed in cal.seeds:
                    cfg = identified_config({**spec["base"], "method": "baseline", "modalities": [sensor],
                                             "seed": seed, "data_root": str(root.resolve()), "progress": False})
                    cfg = ExperimentConfig.from_dict(cfg.to_dict())
                    out = cdir / "rounds" / f"round-{k}" / f"baseline-{sensor}-seed{seed}-{cfg.hash()}"
                    configs.append((cfg.to_dict(), str(out)))
            results = (list(pool.map(_train, *zip(*configs, strict=True))) if pool
                       else [_train(*c) for c in configs])
            scores: dict[str, Any] = {}
            for sensor in todo:
                vals = [r["weighted"] for r in results if r["sensor"] == sensor]
                scores[sensor] = {"seeds": list(cal.seeds), "weighted": vals, "mean": statistics.fmean(vals),
                                  "sd": statistics.stdev(vals) if len(vals) > 1 else math.nan,
                                  "macro": statistics.fmean(r["macro"] for r in results if r["sensor"] == sensor)}
            record["rounds"].append({"round": k, "values": values, "scores": scores, "root": str(root),
                                     "seconds": time.perf_counter() - t0})
            atomic.write_json(cdir / SEARCH_FILE, record)
            if progress:
                said = ", ".join(f"{s} {v['mean']:.3f} (target {cal.targets[s]:.2f})" for s, v in scores.items())
                print(f"round {k}: {values}: {said}", flush=True)
    finally:
        if pool is not None:
            pool.shutdown()
    chosen = chosen_values(record)
    record["chosen"] = chosen
    record["converged"] = all(_done(record, cal, s) for s in cal.targets)
    record["stopped"] = ("every sensor within half the tolerance" if record["converged"]
                         else f"the round limit ({cal.rounds})" if len(record["rounds"]) >= cal.rounds
                         else "the next value was one already scored (the scores' noise is larger than what is left)")
    record["search_seconds"] = record.get("search_seconds", 0.0) + time.perf_counter() - t_start
    atomic.write_json(cdir / SEARCH_FILE, record)
    held = {name: base_params.get(name) for name in chosen}
    if progress:
        print(f"chosen: {chosen} (the scored values closest to the targets; stopped at {record['stopped']})")
    if held != chosen:
        print(f"The profile {spec['name']!r} holds {held}; the search chose {chosen}: write these values under "
              f"data.synthetic.params of {spec.get('source') or spec['name']} and run again to measure them.")
        return 3
    if search_only:
        return 0
    own = Path(data_root) if data_root is not None else Path(str(spec["data"].get("root") or Path(data_dir) / folder))
    make_world(own, synth, base_params, int(synth.get("seed", 0)), progress=False)  # the world's own draw
    return run_sweep(spec, jobs=jobs, data_root=own, runs_dir=runs_dir, progress=progress)


def _scored(record: Mapping[str, Any], name: str, sensor: str) -> list[tuple[float, float, int]]:
    """``(value, mean score, round)`` of every value of ``name`` scored for ``sensor``."""
    return [(r["values"][name], r["scores"][sensor]["mean"], r["round"])
            for r in record["rounds"] if sensor in r["scores"]]


def _done(record: Mapping[str, Any], cal: CalibrationSpec, sensor: str) -> bool:
    name = cal.knobs[sensor].knob.name
    return any(abs(f - cal.targets[sensor]) <= cal.tolerance / 2 for _, f, _ in _scored(record, name, sensor))


def _next_round(record: Mapping[str, Any], cal: CalibrationSpec) -> tuple[dict[str, float], list[str]]:
    """The knob values of the next round and the sensors it trains (those with something new to score)."""
    values: dict[str, float] = {}
    todo: list[str] = []
    for sensor, sk in cal.knobs.items():
        scored = _scored(record, sk.knob.name, sensor)
        best = min(scored, key=lambda p: abs(p[1] - cal.targets[sensor]))[0] if scored else sk.start[0]
        x = None if _done(record, cal, sensor) else propose([(v, f) for v, f, _ in scored], cal.targets[sensor], sk)
        if x is None:
            values[sk.knob.name] = best
        else:
            values[sk.knob.name] = x
            todo.append(sensor)
    return values, todo
