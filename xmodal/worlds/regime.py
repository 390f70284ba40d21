"""The regime map's runs: every cell of a grid over two world knobs, trained as ordinary studies.

A regime profile (``xmodal/studies/regime.yaml``, block ``regime``: :mod:`xmodal.worlds.spec`)
crosses two knobs of :data:`xmodal.data.knobs.KNOBS`. Each level of a *generator* knob is a world:
its own data root (the profile's generator parameters with that knob set) and its own study,
``<runs>/regime/regime-<knob>-<level>``, run by :func:`xmodal.sweep.run_sweep` like any other (the
same run folders, resume and error records). Each level of a *training* knob (S1's training
patches) is a group of runs inside every world: the S1 Baseline and the compared joint methods
with that many S1 patches, beside all of S2's. A Baseline of a sensor the training knob does not
touch (S2's) is the same for every level of it, so it runs once per world.

:func:`world_specs` writes the worlds' specs; :func:`run_regime` makes their data and runs them;
:func:`regime_cells` gives every row of the results its cell.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xmodal import atomic
from xmodal.data.knobs import Knob
from xmodal.sweep import resolve_study, run_sweep
from xmodal.worlds.calibration import make_world, world_params
from xmodal.worlds.spec import RegimeSpec, WorldError, regime_spec

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TIMES_FILE", "cell_axes", "level_text", "regime_cells", "run_regime", "world_name",
           "world_specs"]

#: The regime's wall times, beside its worlds.
TIMES_FILE = "regime-times.json"


def level_text(value: Any) -> str:
    """A knob level as names and labels show it (``None``, a training size: ``"all"``)."""
    if value is None:
        return "all"
    return f"{value:g}" if isinstance(value, float) else str(value)


def world_name(profile: str, values: Mapping[str, Any]) -> str:
    """The study (folder) name of one world: ``<profile>-<knob>-<level>...``."""
    return "-".join([profile, *(f"{k}-{level_text(v)}" for k, v in values.items())])


def _groups(regime: RegimeSpec) -> list[dict[str, Any]]:
    """The run groups of one world: per training level the S1-side runs, and the other Baselines once."""
    tknob: Knob | None = None
    levels: tuple[Any, ...] = (None,)
    if regime.training_axes:
        (tknob, levels), = regime.training_axes
    sensor = tknob.sensor if tknob is not None else None
    groups: list[dict[str, Any]] = []
    for level in levels:
        extra: dict[str, Any] = {}
        if tknob is not None:
            extra["name"] = f"{tknob.name}-{level_text(level)}"
            if level is not None:
                extra["set"] = {tknob.param: {sensor: int(level)}}
        mods = [[sensor]] if sensor else [["s1"], ["s2"]]
        groups.append({"method": "baseline", "modalities": mods, **extra})
        groups += [{"method": m, **extra} for m in regime.methods]
    if sensor is not None:
        others = [[s] for s in ("s1", "s2") if s != sensor]
        groups.append({"method": "baseline", "modalities": others})
    return groups


def world_specs(spec: Mapping[str, Any], data_dir: str | os.PathLike[str] = "data") -> list[dict[str, Any]]:
    """One study spec per world of a regime profile: its name, knob values, data root and runs.

    Each has the profile's ``base`` and seeds; its ``data.synthetic.params`` are the profile's with
    the world's knobs set, and ``world`` holds the knob values; its root is
    ``<data_dir>/<profile>/<world name>``.
    """
    regime = regime_spec(spec)
    base_params = world_params(spec)
    synth = dict(spec["data"]["synthetic"])
    waxes = regime.world_axes
    combos: list[dict[str, Any]] = [{}]
    for k, levels in waxes:
        combos = [{**c, k.name: v} for c in combos for v in levels]
    out = []
    for values in combos:
        name = world_name(str(spec["name"]), values)
        params = {**base_params, **{knob_param(k): values[k] for k in values}}
        root = Path(data_dir) / str(spec["name"]) / name
        out.append({
            "name": name, "description": f"World {values} of the regime map {spec['name']!r}.",
            "data": {"synthetic": {**synth, "params": params}, "root": str(root)},
            "base": dict(spec["base"]), "seeds": list(regime.seeds), "n_train": [None],
            "runs": _groups(regime), "executor": "process", "notebooks": "none", "world": values,
        })
    return out


def knob_param(name: str) -> str:
    """The generator parameter of a knob."""
    from xmodal.data.knobs import knob

    return knob(name).param


def run_regime(
    study: str | os.PathLike[str] | Mapping[str, Any] = "regime",
    *,
    runs_dir: str | os.PathLike[str] = "runs",
    data_dir: str | os.PathLike[str] = "data",
    jobs: int = 1,
    only: str | None = None,
    progress: bool = True,
) -> int:
    """Make every world's data and run its study (see the module docstring).

    Args:
        study: a regime profile (``regime``), a study YAML's path or a spec.
        runs_dir: the folder of the study folders; the worlds go to ``<runs_dir>/<profile>/``.
        data_dir: where the worlds' data roots go (``<data_dir>/<profile>/<world>``).
        jobs: runs trained at once.
        only: run only the worlds whose name contains this text.
        progress: print what is done.

    Returns:
        0 when every run finished, 1 when one failed (the others go on).
    """
    spec, folder = resolve_study(study)
    assert spec is not None
    worlds = world_specs(spec, data_dir)
    if only:
        worlds = [w for w in worlds if only in w["name"]]
        if not worlds:
            raise WorldError(f"No world of {folder!r} matches --only {only!r}")
    where = Path(runs_dir) / folder
    where.mkdir(parents=True, exist_ok=True)
    times_path = where / TIMES_FILE
    import json

    times = json.loads(times_path.read_text()) if times_path.exists() else {"worlds": {}}
    atomic.write_json(where / "regime-spec.json", {"spec": spec, "regime": regime_spec(spec).to_dict(),
                                                   "worlds": {w["name"]: w["world"] for w in worlds}})
    code = 0
    for w in worlds:
        t0 = time.perf_counter()
        root = Path(w["data"]["root"])
        synth = w["data"]["synthetic"]
        make_world(root, synth, synth["params"], int(synth.get("seed", 0)), progress=False)
        t_data = time.perf_counter() - t0
        world = {k: v for k, v in w.items() if k != "world"}
        if progress:
            print(f"world {w['name']}: data in {t_data:.0f} s; training", flush=True)
        code = max(code, run_sweep(world, jobs=jobs, data_root=root, runs_dir=where, progress=progress))
        prev = times["worlds"].get(w["name"], {})
        times["worlds"][w["name"]] = {"data_seconds": prev.get("data_seconds", 0.0) + t_data,
                                      "seconds": prev.get("seconds", 0.0) + time.perf_counter() - t0, "jobs": jobs}
        atomic.write_json(times_path, times)
    return code


def cell_axes(spec: Mapping[str, Any]) -> list[str]:
    """The map's two axis columns, in the profile's order (the heatmaps' rows, then columns)."""
    return [k.name for k, _ in regime_spec(spec).axes]


def regime_cells(results: pd.DataFrame, spec: Mapping[str, Any]) -> pd.DataFrame:
    """The results rows of a regime profile's worlds, each with its cell.

    Adds one column per axis knob: the world's level for a generator knob (from the row's
    ``study``), and for the training knob the level of the run (from the number of training
    patches of its sensor; a level of "all" is ``None``). The Baselines of the other sensor get
    ``None`` there too and the column ``shared`` True: one run serves every level of the knob.

    Raises:
        WorldError: a row whose study is not a world of the profile.
    """
    import pandas as pd

    regime = regime_spec(spec)
    worlds = {w["name"]: w["world"] for w in world_specs(spec)}
    df = results.copy()
    unknown = sorted(set(df["study"]) - set(worlds))
    if unknown:
        raise WorldError(f"Rows of studies {unknown} are not worlds of {spec['name']!r} ({sorted(worlds)})")
    for k, _ in regime.world_axes:
        df[k.name] = [worlds[s][k.name] for s in df["study"]]
    df["shared"] = False
    for k, levels in regime.training_axes:
        counts = {}
        for run_dir, rows in df.groupby("run_dir"):
            own = rows[rows["modality"] == k.sensor]
            counts[run_dir] = int(own["n_train"].iloc[0]) if len(own) else None
        level = []
        for run_dir in df["run_dir"]:
            n = counts[run_dir]
            level.append(n if n in levels else None)
        df[k.name] = pd.Series(level, index=df.index, dtype=object)
        df["shared"] = [counts[r] is None for r in df["run_dir"]]
    return df
