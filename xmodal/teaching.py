"""Helpers of the teaching notebooks (``notebooks/teaching/``): train a few variants, compare them.

Each exercise of the book's teaching page changes one knob of
:class:`~xmodal.config.ExperimentConfig` and compares the runs. The notebooks
stay a few lines long because the computation lives here:

* :func:`base_config` is the ``default`` profile's own ``base`` settings
  (:data:`PROFILE`, read from its file, never repeated here), with the notebook's
  ``data_root`` checked and identified (:func:`xmodal.training.identified_config`) and the
  knobs the notebook sets; only :data:`CHANGED_KEYS` differ from the profile otherwise, so
  an exercise's runs can be set beside the book's;
* :func:`train_variants` trains one run per variant (a mapping of changed
  config keys) with :func:`xmodal.training.run_experiment`, each in its own folder
  ``<runs_dir>/<method>-<config hash>`` (:func:`variant_dir`), so a variant that
  was already trained (by the task notebook, by another exercise, or an earlier
  execution) is read back instead of trained again;
* :func:`compare` turns the results into one table: the knobs that differ, the
  training budget, macro and weighted F1 per sensor and the homogeneity
  (eq. 5) of every sensor pair; :func:`ranking` says it in a sentence and
  :func:`plot_comparison` draws it;
* :func:`history_table`, :func:`prediction_difference` and
  :func:`latent_similarity` answer the questions of single exercises (do two
  runs train alike, did the latent space collapse).

Example::

    from xmodal import teaching

    base = teaching.base_config("data/default", method="C+T+M")  # the default profile's settings
    results = teaching.train_variants(base, [{"lam": 0.0}, {"lam": 1.0}], "runs/teaching")
    teaching.compare(results)
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from xmodal.config import ExperimentConfig
from xmodal.rundir import Result, RunDir
from xmodal.sweep.spec import DEFAULT_STUDY

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = [
    "CHANGED_KEYS",
    "PROFILE",
    "base_config",
    "compare",
    "history_table",
    "latent_similarity",
    "plot_comparison",
    "prediction_difference",
    "profile_base",
    "ranking",
    "source_note",
    "train_variants",
    "variant_dir",
]

#: The study profile whose ``base`` settings every exercise starts from (read from its file by
#: :func:`profile_base`): an exercise's runs are the book's runs with one knob changed.
PROFILE = DEFAULT_STUDY
#: The config keys in which :func:`base_config` (called with no knob) differs from the profile's
#: ``base``: where the data is and what it holds (the notebook's ``data_root``, whose fingerprint
#: identifies the runs), and no progress bars in a notebook. Every other key is the profile's.
CHANGED_KEYS: tuple[str, ...] = ("data_root", "data_fingerprint", "progress")
#: Config keys never shown as a difference between variants (they do not change the result,
#: or every variant of an exercise shares them).
HIDDEN_KEYS: tuple[str, ...] = (*ExperimentConfig.RUNTIME_KEYS, *ExperimentConfig.LOCATION_KEYS, "data_fingerprint")

#: How the default study's data is made, quoted by the error of a missing ``data_root``.
MAKE_DATA_HINT = (
    "make the default study's data with `make data` (or `xmodal data synth --study default --out data/default`) "
    "from the project's root folder, or pass another SEN12MS root with `-p data_root PATH`"
)


# ----------------------------------------------------------------------------- configuration
def profile_base() -> dict[str, Any]:
    """The ``base`` settings of the :data:`PROFILE` study profile, as its file states them."""
    from xmodal.sweep import load_study

    return dict(load_study(PROFILE)["base"])


def base_config(data_root: str | os.PathLike[str], **knobs: Any) -> ExperimentConfig:
    """The configuration every variant of an exercise starts from: the profile's, on ``data_root``.

    The :data:`PROFILE` profile's ``base`` (:func:`profile_base`: architecture, budget,
    learning-rate schedule, split, threads), with ``data_root`` checked and its fingerprint
    recorded (:func:`xmodal.training.identified_config`, as ``xmodal train`` and the sweep
    identify a run), progress bars off, and the ``knobs`` given.

    Args:
        data_root: the notebook's ``data_root`` parameter: a SEN12MS root (real or synthetic)
            holding the config's season; a relative path is relative to the current folder.
        **knobs: :class:`~xmodal.config.ExperimentConfig` fields to change (``method``, a smaller
            budget, model sizes, ...). A knob given as ``None`` keeps the profile's value (the
            notebooks' parameters default to ``None``); to set a key to ``None`` (e.g.
            ``steps_per_epoch=None``: epochs over the data), change it in a variant.

    Returns:
        The validated, identified configuration.

    Raises:
        RootError: a bad ``data_root`` (the message names it and how to make the data).
        ConfigError: an unknown knob or a bad value (the message names it).
    """
    from xmodal.training import identified_config

    given = {k: v for k, v in knobs.items() if v is not None}
    values = {**profile_base(), "progress": False, **given, "data_root": str(Path(data_root))}
    return identified_config(values, hint=MAKE_DATA_HINT)


def variant_dir(runs_dir: str | os.PathLike[str], run: ExperimentConfig | Result) -> Path:
    """The folder of one variant: ``<runs_dir>/<method>-<config hash>``.

    Args:
        runs_dir: the notebook's ``runs_dir`` parameter.
        run: the variant's configuration, or its result.
    """
    if isinstance(run, Result):
        return Path(runs_dir) / f"{run.method}-{run.config_hash}"
    return Path(runs_dir) / f"{run.method}-{run.hash()}"


# ----------------------------------------------------------------------------- training
def _describe(changes: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_show(v)}" for k, v in changes.items()) or "the base configuration"


def _show(value: Any) -> Any:
    """A config value as a table cell: lists become ``"a+b"`` strings, other values stay."""
    if isinstance(value, (list, tuple)):
        return "+".join(str(v) for v in value)
    return value


def train_variants(
    base: ExperimentConfig,
    variants: Sequence[Mapping[str, Any]],
    runs_dir: str | os.PathLike[str],
    *,
    verbose: bool = True,
) -> list[Result]:
    """Train (or read back) one run per variant of ``base``.

    Args:
        base: the shared configuration (:func:`base_config`).
        variants: one mapping per run, the config keys it changes (``{}`` is the
            base itself), e.g. ``[{"lam": 0.0}, {"lam": 5.0}]``.
        runs_dir: where the run folders go (:func:`variant_dir`). A folder that
            holds a finished run of the same configuration is read, not trained
            again, so exercises and their task and solution notebooks share runs.
        verbose: print one line per variant (what, where, trained or reused, seconds).

    Returns:
        The :class:`~xmodal.rundir.Result` of every variant, in the order given.

    Raises:
        ValueError: ``variants`` is empty or holds something that is not a mapping.
        ConfigError: a variant changes an unknown key or sets a bad value.
    """
    from xmodal.training import identified_config, run_experiment

    if isinstance(variants, Mapping) or not isinstance(variants, Sequence) or not variants:
        raise ValueError(f"Invalid variants {variants!r}: give a non-empty list of mappings of changed config keys")
    configs = []
    for i, changes in enumerate(variants):
        if not isinstance(changes, Mapping):
            raise ValueError(f"Invalid variant #{i} {changes!r}: expected a mapping of changed config keys")
        # what the variant's data holds, again: a variant may change the root, season or split
        configs.append((changes, identified_config(base.replace(**{"data_fingerprint": None, **changes}),
                                                   hint=MAKE_DATA_HINT)))
    results = []
    for i, (changes, config) in enumerate(configs, 1):
        out = RunDir(variant_dir(runs_dir, config))
        reused = out.status() == "ok"
        t0 = time.perf_counter()
        run_experiment(config, out.path)
        results.append(out.result())
        if verbose:
            how = "reused" if reused else f"trained in {time.perf_counter() - t0:.0f} s"
            print(f"[{i}/{len(configs)}] {config.method}, {_describe(changes)}: {how} -> {out.path}")
    return results


# ----------------------------------------------------------------------------- comparing
def _varied_keys(results: Sequence[Result]) -> list[str]:
    """Config keys whose values differ between the results, in the config's field order."""
    keys = []
    for name in ExperimentConfig.field_names():
        if name in HIDDEN_KEYS:
            continue
        values = {repr(_show(r.config.get(name))) for r in results}
        if len(values) > 1:
            keys.append(name)
    return keys


def _label(result: Result, keys: Sequence[str]) -> str:
    if not keys:
        return result.method
    if keys == ["method"]:
        return result.method
    return ", ".join(f"{k}={_show(result.config.get(k))}" for k in keys)


def _steps(result: Result) -> int | None:
    per_epoch = result.data.get("steps_per_epoch") or result.config.get("steps_per_epoch")
    epochs = result.config.get("epochs")
    return None if per_epoch is None or epochs is None else int(per_epoch) * int(epochs)


def compare(results: Sequence[Result], metrics: Sequence[str] = ("macro", "weighted")) -> pd.DataFrame:
    """One row per run: what differs, the training budget, F1 per sensor and homogeneity.

    Args:
        results: finished runs (from :func:`train_variants` or :class:`~xmodal.rundir.RunDir`).
        metrics: F1 averages to show per sensor (keys of ``Result.metrics[sensor]``:
            ``macro``, ``weighted``, ``micro``).

    Returns:
        A DataFrame indexed by a label of the run (``"lam=0.0"``; the method when
        nothing else differs) with the columns ``method``, the config keys that
        differ between the runs (lists shown as ``"s1+s2"``), ``train patches``
        (per sensor, as the run saw them), ``steps`` (optimisation steps in all),
        ``<sensor> <metric>`` for every sensor of any run, and ``homogeneity
        <a>|<b>`` for every sensor pair (NaN where a run lacks the sensor). The
        ``source`` entry of ``DataFrame.attrs`` says which data and how many runs.

    Raises:
        ValueError: no results, an unfinished run, or an unknown metric.
    """
    import pandas as pd

    if not results:
        raise ValueError("compare() needs at least one result")
    for r in results:
        if not r.ok:
            raise ValueError(f"Run {r.method} ({r.config_hash}) did not finish: status {r.status!r}")
    keys = _varied_keys(results)
    sensors = list(dict.fromkeys(m for r in results for m in r.metrics))
    pairs = list(dict.fromkeys(p for r in results for p in r.homogeneity))
    rows = []
    for r in results:
        row: dict[str, Any] = {"method": r.method}
        row.update({k: _show(r.config.get(k)) for k in keys if k != "method"})
        row["train patches"] = r.n_train(r.modalities[0]) if r.modalities else None
        row["steps"] = _steps(r)
        for m in sensors:
            for metric in metrics:
                scores = r.metrics.get(m)
                if scores is not None and metric not in scores:
                    raise ValueError(f"Unknown metric {metric!r}; the runs report {sorted(scores)}")
                row[f"{m} {metric}"] = float(scores[metric]) if scores is not None else np.nan
        for p in pairs:
            row[f"homogeneity {p}"] = r.homogeneity.get(p, np.nan)
        rows.append(row)
    labels = [_label(r, keys) for r in results]
    table = pd.DataFrame(rows, index=pd.Index(labels, name="run"))
    table.attrs["source"] = source_note(results)
    return table


def source_note(results: Sequence[Result]) -> str:
    """Which data and how many runs a table or figure shows, in one line."""
    roots = sorted({str(r.data.get("root") or r.config.get("data_root")) for r in results})
    kinds = sorted({r.data_kind for r in results})
    seeds = sorted({r.seed for r in results if r.seed is not None})
    n = len(results)
    return (f"{n} run{'s' if n != 1 else ''} (seed {', '.join(map(str, seeds))}) on "
            f"{' / '.join(kinds)} data in {', '.join(roots)}")


def ranking(table: pd.DataFrame, column: str, higher_is_better: bool = True) -> str:
    """The runs of a :func:`compare` table ordered by ``column``, as a sentence fragment.

    Example: ``"lam=5.0 (0.712) > lam=1.0 (0.684) > lam=0.0 (0.601)"``.

    Raises:
        KeyError: ``column`` is not in the table (the message lists the columns).
    """
    if column not in table.columns:
        raise KeyError(f"Unknown column {column!r}; the table has {list(table.columns)}")
    values = table[column].astype(float).dropna().sort_values(ascending=not higher_is_better)
    sign = " > " if higher_is_better else " < "
    return sign.join(f"{label} ({value:.3f})" for label, value in values.items())


def history_table(results: Sequence[Result], key: str = "loss") -> pd.DataFrame:
    """One logged quantity per epoch, one column per run (labelled as in :func:`compare`).

    Args:
        results: finished runs.
        key: a key of the per-epoch history (``loss``, ``L_C``, ``L_M``, ``L_T``,
            ``grl_weight``, ``triplet_valid``).

    Raises:
        KeyError: no run logged ``key`` (the message lists what they logged).
    """
    import pandas as pd

    keys = _varied_keys(results)
    columns = {}
    logged: set[str] = set()
    for r in results:
        logged.update(k for h in r.history for k in h)
        columns[_label(r, keys)] = pd.Series({int(h["epoch"]): h.get(key, np.nan) for h in r.history}, dtype=float)
    if key not in logged:
        raise KeyError(f"Unknown history key {key!r}; the runs logged {sorted(logged)}")
    table = pd.DataFrame(columns)
    table.index.name = "epoch"
    return table


def prediction_difference(run_a: str | os.PathLike[str], run_b: str | os.PathLike[str]) -> float:
    """Largest absolute difference between the class probabilities two runs predict.

    Both runs must have the same sensors and test patches (the same data and split).

    Raises:
        RunFolderError: a run folder lacks its predictions.
        ValueError: the runs predict for different sensors or test patches.
    """
    a, b = RunDir(run_a).predictions(), RunDir(run_b).predictions()
    if a.modalities != b.modalities:
        raise ValueError(f"The runs predict for different sensors: {a.modalities} and {b.modalities}")
    worst = 0.0
    for m in a.modalities:
        if not np.array_equal(a.ids[m], b.ids[m]):
            raise ValueError(f"The runs predict for different {m} test patches (another data root or split?)")
        worst = max(worst, float(np.abs(a.prob[m] - b.prob[m]).max(initial=0.0)))
    return worst


def latent_similarity(run: str | os.PathLike[str]) -> float:
    """Mean cosine similarity between the latent vectors of different saved test patches.

    Near 1 means the latent space has collapsed (every vector points the same way);
    near 0, the vectors are spread out. Rows of all sensors are pooled.

    Raises:
        RunFolderError: the run folder has no latent vectors.
        ValueError: fewer than two latent vectors were saved.
    """
    z = RunDir(run).latents().z.astype(np.float64)
    if len(z) < 2:
        raise ValueError(f"{run} saved {len(z)} latent vector(s); need at least two (raise n_latent)")
    unit = z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
    n = len(unit)
    total = unit.sum(axis=0)
    # sum over pairs i != j of cos(z_i, z_j) = |sum of unit vectors|^2 - n
    return float((total @ total - n) / (n * (n - 1)))


# ----------------------------------------------------------------------------- plotting
def plot_comparison(
    table: pd.DataFrame,
    columns: Sequence[str],
    x: str | None = None,
    by: str | None = None,
    title: str = "",
) -> Figure:
    """Draw columns of a :func:`compare` table: bars per run, or lines against ``x``.

    Args:
        table: a :func:`compare` table (its ``source`` attribute becomes the caption).
        columns: the score columns to draw (e.g. ``["s1 macro", "homogeneity s1|s2"]``).
        x: a numeric column to put on the x axis (e.g. ``"train patches"``); ``None``
            draws grouped horizontal bars, one group per run.
        by: with ``x``, a column whose values split the runs into separate lines.
        title: the figure's title.

    Raises:
        KeyError: a column is not in the table (the message lists the columns).
    """
    import matplotlib.pyplot as plt

    for c in [*columns, *(c for c in (x, by) if c is not None)]:
        if c not in table.columns:
            raise KeyError(f"Unknown column {c!r}; the table has {list(table.columns)}")
    if x is None:
        fig, ax = plt.subplots(figsize=(6.5, 0.5 + 0.45 * len(table) * max(1, len(columns)) ** 0.5 + 0.6))
        height = 0.8 / len(columns)
        pos = np.arange(len(table))
        for i, c in enumerate(columns):
            ax.barh(pos + i * height, table[c].astype(float), height=height, label=c)
        ax.set_yticks(pos + height * (len(columns) - 1) / 2, [str(i) for i in table.index])
        ax.invert_yaxis()
        ax.set_xlabel("score")
        values = table[list(columns)].astype(float).to_numpy()
        ax.set_xlim(min(0.0, np.nanmin(values, initial=0.0)), max(1.0, np.nanmax(values, initial=1.0)))
    else:
        fig, ax = plt.subplots(figsize=(6.5, 3.6))
        groups = [("", table)] if by is None else list(table.groupby(by, dropna=False, sort=False))
        for name, part in groups:
            part = part.sort_values(x)
            for c in columns:
                label = c if by is None else f"{c}, {by}={name}"
                ax.plot(part[x].astype(float), part[c].astype(float), marker="o", label=label)
        ax.set_xlabel(x)
        ax.set_ylabel("score")
        values = table[list(columns)].astype(float).to_numpy()
        ax.set_ylim(min(0.0, np.nanmin(values, initial=0.0)), max(1.0, np.nanmax(values, initial=1.0)) + 0.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    if title:
        ax.set_title(title, fontsize=10)
    source = table.attrs.get("source")
    if source:
        fig.text(0.01, 0.01, source, fontsize=7, color="0.4", va="bottom")
    fig.tight_layout(rect=(0, 0.04 if source else 0, 1, 1))
    return fig
