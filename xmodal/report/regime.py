"""The regime map on a page: in which synthetic worlds the paper's signs appear.

A regime profile (:mod:`xmodal.worlds.regime`) trains the Baselines and the joint methods in every
cell of a grid over two world knobs (:data:`xmodal.data.knobs.KNOBS`);
:func:`xmodal.analysis.regime.regime_differences` gives every cell's paired gains over the
Baselines. This module reads them and says what they show:

* :func:`regime_source`: the profile's live runs (``<runs>/regime``), else its archive, else None
  (:func:`xmodal.report.sources.profile_source`), with the cells, their differences and the
  calibrated world's cell computed once (:class:`RegimeSource`);
* :func:`regime_signs`: per cell, which of the paper's three signs appear: **C lifts S1** (C -
  Baseline weighted F1 on S1, its interval above 0), **C+T+M keeps accuracy** (C+T+M - Baseline
  shown above ``-margin`` on both sensors, :data:`~xmodal.analysis.stats.NONINFERIORITY_MARGIN`: the
  Results page's non-inferiority test)
  and **homogeneity rises** (C+T+M - Baseline homogeneity, its interval above 0);
* :func:`regime_sentences`: those signs in words, every number with its interval and n; where no
  cell shows a sign, which way the grid says it grows and where it is largest;
* :func:`regime_table`, :func:`map_grid`, :func:`map_annotations`, :func:`regime_panels`: the map
  as a table and as the heatmaps' grids (:func:`xmodal.plots.regime.regime_heatmaps` draws them);
* :func:`regime_source_paragraph`, :func:`regime_run_text`, :func:`no_regime_text`: where the
  numbers come from, how to make them and how long they took (measured, never typed in).

A cell's interval is its own (95%), not adjusted for the number of cells: of many cells where
nothing happens about 5% would still exclude 0. The sentences say so.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import pandas as pd

from xmodal.analysis.stats import NONINFERIORITY_MARGIN
from xmodal.data.normalize import modality_label
from xmodal.report.format import duration_text
from xmodal.report.selection import method_label
from xmodal.report.sources import ProfileSource, profile_source
from xmodal.worlds.regime import level_text

if TYPE_CHECKING:
    from xmodal.archive import Archive

__all__ = [
    "REGIME_PROFILE",
    "SIGNS",
    "RegimeSource",
    "axis_label",
    "calibrated_cell",
    "cell_text",
    "grid_levels",
    "knob_rows",
    "map_annotations",
    "map_grid",
    "no_regime_text",
    "panel_title",
    "regime_panels",
    "regime_run_text",
    "regime_sentences",
    "regime_signs",
    "regime_source",
    "regime_source_paragraph",
    "regime_table",
]

#: The regime profile (``xmodal/studies/regime.yaml``).
REGIME_PROFILE: Final[str] = "regime"
#: The paper's three signs: the column of :func:`regime_signs` and its name in words.
SIGNS: Final[tuple[tuple[str, str], ...]] = (("c_lifts_s1", "C lifts S1"), ("ctm_keeps", "C+T+M keeps accuracy"),
                                             ("homogeneity_rises", "homogeneity rises"))
#: The quantity of each sign (quantity, method, sensor) of :func:`xmodal.analysis.regime.regime_differences`.
_LIFT: Final[tuple[str, str, str]] = ("f1", "C", "s1")
_HOMOGENEITY: Final[tuple[str, str, str]] = ("homogeneity", "C+T+M", "s1|s2")
_KEEPS: Final[str] = "C+T+M"


# ----------------------------------------------------------------------------- levels and cells
def _level(value: Any) -> Any:
    """A level as the map compares it: None for "all" (None or NaN), a whole number as int, else float."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    v = float(value)
    return int(v) if v.is_integer() and not isinstance(value, float) else v


def _same(a: Any, b: Any) -> bool:
    a, b = _level(a), _level(b)
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


def _order(value: Any) -> tuple[int, float]:
    """Sort key of a level: numbers ascending, "all" (None) after them."""
    v = _level(value)
    return (1, 0.0) if v is None else (0, float(v))


def _key(row: Mapping[Any, Any], axes: Sequence[str]) -> tuple[Any, ...]:
    return tuple(_level(row[a]) for a in axes)


def cell_text(axes: Sequence[str], cell: Sequence[Any]) -> str:
    """A cell in words: ``"s1_contrast 1.8, n_train_s1 all"``."""
    return ", ".join(f"{a} {level_text(_level(v))}" for a, v in zip(axes, cell, strict=True))


def grid_levels(diffs: pd.DataFrame, axes: Sequence[str]) -> list[list[Any]]:
    """Each axis's levels in the map's order (numbers ascending, "all" last), from the cells of ``diffs``."""
    out = []
    for a in axes:
        seen: list[Any] = []
        for v in diffs[a]:
            v = _level(v)
            if not any(_same(v, s) for s in seen):
                seen.append(v)
        out.append(sorted(seen, key=_order))
    return out


def _cells(diffs: pd.DataFrame, axes: Sequence[str]) -> list[tuple[Any, ...]]:
    seen: list[tuple[Any, ...]] = []
    for row in diffs[list(axes)].to_dict(orient="records"):
        k = _key(row, axes)
        if not any(all(_same(x, y) for x, y in zip(k, s, strict=True)) for s in seen):
            seen.append(k)
    return sorted(seen, key=lambda k: tuple(_order(v) for v in k))


def axis_label(name: str) -> str:
    """An axis's label: the knob and its unit, ``"s1_contrast (x)"``, ``"n_train_s1 (patches)"``."""
    from xmodal.data.knobs import knob

    unit = knob(name).unit
    return f"{name} ({unit})" if unit and unit != "-" else name


def knob_rows(axes: Sequence[str] | None = None) -> pd.DataFrame:
    """The rows of :func:`xmodal.data.knobs.knob_table` of the map's axes, in its order (None: every knob)."""
    from xmodal.data.knobs import knob_table

    rows = {r["knob"]: r for r in knob_table()}
    return pd.DataFrame([rows[a] for a in axes] if axes is not None else list(rows.values()))


def calibrated_cell(spec: Mapping[str, Any], diffs: pd.DataFrame, axes: Sequence[str]) -> tuple[Any, ...] | None:
    """The cell of the calibrated world: the profile's generator parameters, all training patches.

    Each generator axis takes the value of its parameter in the profile's ``data.synthetic.params``
    (the calibrated world's), a training axis "all" (None). None when that world is not a cell of the map.
    """
    from xmodal.data.knobs import knob

    params = dict((((spec.get("data") or {}).get("synthetic") or {}).get("params")) or {})
    cell: list[Any] = []
    for a in axes:
        k = knob(a)
        if k.kind == "training":
            cell.append(None)
        elif k.param in params:
            cell.append(_level(params[k.param]))
        else:
            cell.append(_level(k.neutral))
    for c in _cells(diffs, axes):
        if all(_same(x, y) for x, y in zip(c, cell, strict=True)):
            return c
    return None


# ----------------------------------------------------------------------------- where the map comes from
@dataclasses.dataclass(frozen=True)
class RegimeSource:
    """A regime map's results as a page reads them, and what is computed from them once.

    Attributes:
        base: the profile's runs or archive (:class:`xmodal.report.sources.ProfileSource`).
        spec: the profile's spec (its ``regime`` block and calibrated ``data.synthetic.params``).
        axes: the map's two axis knobs, rows then columns (:func:`xmodal.worlds.regime.cell_axes`).
        methods: the compared joint methods.
        cells: the results rows with their cell (:func:`xmodal.worlds.regime.regime_cells`).
        differences: every cell's gains (:func:`xmodal.analysis.regime.regime_differences`).
        calibrated: the calibrated world's cell (:func:`calibrated_cell`), or None.
    """

    base: ProfileSource
    spec: dict[str, Any]
    axes: list[str]
    methods: list[str]
    cells: pd.DataFrame
    differences: pd.DataFrame
    calibrated: tuple[Any, ...] | None

    @property
    def archive(self) -> Archive:
        """The loaded tables."""
        return self.base.archive

    @property
    def profile(self) -> str:
        """The profile's name."""
        return self.base.profile

    @property
    def kind(self) -> str:
        """``"live"`` or ``"archived"``."""
        return self.base.kind

    @property
    def archived(self) -> bool:
        """Whether the results come from the shipped archive."""
        return self.base.archived

    @property
    def label(self) -> str:
        """``"archived results of profile 'regime' (commit ..., date)"`` or ``"live runs of ..."``."""
        return self.base.label

    @property
    def source(self) -> str:
        """One line for captions: the data and runs, then live or archived."""
        return self.base.source

    @property
    def times(self) -> dict[str, Any]:
        """The measured wall times (``regime``: per world ``data_seconds``, ``seconds``, ``jobs``)."""
        return self.base.times

    @property
    def machine(self) -> dict[str, Any]:
        """The machine the runs were archived on."""
        return self.base.machine

    @property
    def n_runs(self) -> int:
        """The number of runs of the map."""
        return int(self.base.results["run_dir"].nunique())

    @property
    def worlds(self) -> list[str]:
        """The worlds' study names."""
        regime = self.archive.regime or {}
        return list(regime.get("worlds") or sorted(set(self.base.results["study"])))


def _regime_spec(archive: Archive) -> dict[str, Any]:
    """The profile's spec, its ``regime`` block from the archive's own record when the spec lacks it."""
    spec = dict(archive.meta.get("spec") or {})
    if not spec.get("regime") and archive.regime:
        spec["regime"] = dict(archive.regime["spec"])
    if not (spec.get("data") or {}).get("synthetic") and (archive.meta.get("data") or {}).get("spec"):
        spec["data"] = dict(archive.meta["data"]["spec"])
    return spec


def regime_map(base: ProfileSource) -> RegimeSource:
    """A :class:`RegimeSource` from a regime profile's runs or archive: its cells and differences."""
    from xmodal.analysis.regime import regime_differences
    from xmodal.worlds.regime import cell_axes, regime_cells

    spec = _regime_spec(base.archive)
    axes = cell_axes(spec)
    methods = [str(m) for m in spec["regime"].get("methods") or ["C", "C+T+M"]]
    cells = regime_cells(base.results, spec)
    diffs = regime_differences(cells, axes, methods, pairs=base.pairs if len(base.pairs) else None,
                               predictions=base.predictions or None)
    return RegimeSource(base=base, spec=spec, axes=axes, methods=methods, cells=cells, differences=diffs,
                        calibrated=calibrated_cell(spec, diffs, axes))


def regime_source(runs_dir: str | os.PathLike[str] = "runs", archives: str | os.PathLike[str] | None = None,
                  profile: str = REGIME_PROFILE) -> RegimeSource | None:
    """The regime map: live ``<runs_dir>/<profile>`` when it holds finished runs, else its archive, else None.

    Live runs are read through the archive's own writer (into a temporary folder), as
    :func:`xmodal.report.sources.profile_source` does, so a page computes from exactly the
    tables an archive of them would hold.

    Args:
        runs_dir: the folder holding the study folders (the worlds are ``<runs_dir>/<profile>/<world>``).
        archives: the folder of the archives (default: the package's ``xmodal/archives``).
        profile: the regime profile's name.
    """
    base = profile_source(runs_dir, profile, archives)
    return None if base is None else regime_map(base)


# ----------------------------------------------------------------------------- the map's panels
def panel_title(quantity: str, method: str, sensor: str) -> str:
    """A panel's (and a table column's) title: ``"C − Baseline, S1 weighted F1"``, ``"C − Baseline, homogeneity"``."""
    what = "homogeneity" if quantity == "homogeneity" else f"{modality_label(sensor)} weighted F1"
    return f"{method_label(method)} − Baseline, {what}"


def regime_panels(diffs: pd.DataFrame) -> list[tuple[str, str, str]]:
    """The map's panels ``(quantity, method, sensor)``: per method, F1 on each sensor, then homogeneity."""
    out = []
    for method in dict.fromkeys(diffs["method"]):
        sub = diffs[diffs["method"] == method]
        for sensor in sorted(set(sub.loc[sub["quantity"] == "f1", "sensor"])):
            out.append(("f1", str(method), str(sensor)))
        if (sub["quantity"] == "homogeneity").any():
            out.append(("homogeneity", str(method), str(sub.loc[sub["quantity"] == "homogeneity", "sensor"].iloc[0])))
    return out


def _select(diffs: pd.DataFrame, quantity: str, method: str, sensor: str) -> pd.DataFrame:
    return diffs[(diffs["quantity"] == quantity) & (diffs["method"] == method) & (diffs["sensor"] == sensor)]


def map_grid(diffs: pd.DataFrame, axes: Sequence[str], quantity: str, method: str, sensor: str,
             column: str = "estimate") -> pd.DataFrame:
    """One panel's ``column`` as a grid: rows the first axis's levels, columns the second's (as text).

    Every cell of the map is there, NaN (``significant``: False) where the panel has no value.
    """
    levels = grid_levels(diffs, axes)
    rows = [level_text(v) for v in levels[0]]
    cols = [level_text(v) for v in levels[1]]
    fill: Any = False if column == "significant" else math.nan
    grid = pd.DataFrame(fill, index=pd.Index(rows, name=axes[0]), columns=pd.Index(cols, name=axes[1]),
                        dtype=bool if column == "significant" else float)
    for r in _select(diffs, quantity, method, sensor).to_dict(orient="records"):
        k = _key(r, axes)
        grid.loc[level_text(k[0]), level_text(k[1])] = bool(r[column]) if column == "significant" else r[column]
    return grid


def _interval(est: float, low: float, high: float, n: int, sep: str = " ") -> str:
    """``"+0.060 [+0.050, +0.070]"``; one seed ``"+0.060 (1 seed)"``; nothing: ``"–"``."""
    if not n or not math.isfinite(est):
        return "–"
    if n < 2 or not math.isfinite(low):
        return f"{est:+.3f}{sep}(1 seed)"
    return f"{est:+.3f}{sep}[{low:+.3f}, {high:+.3f}]"


def _d(row: Mapping[Any, Any]) -> str:
    """A difference with its interval and n: ``"+0.060 [+0.050, +0.070] (n=3)"``."""
    return f"{_interval(row['estimate'], row['low'], row['high'], int(row['n']))} (n={int(row['n'])})"


def map_annotations(diffs: pd.DataFrame, axes: Sequence[str], quantity: str, method: str,
                    sensor: str) -> pd.DataFrame:
    r"""One panel's cell texts, ``"+0.060\\n[+0.050, +0.070]"`` (``"–"`` where it has none), as :func:`map_grid`."""
    est = map_grid(diffs, axes, quantity, method, sensor, "estimate")
    out = pd.DataFrame("–", index=est.index, columns=est.columns, dtype=object)
    for r in _select(diffs, quantity, method, sensor).to_dict(orient="records"):
        k = _key(r, axes)
        out.loc[level_text(k[0]), level_text(k[1])] = _interval(r["estimate"], r["low"], r["high"], int(r["n"]),
                                                                sep="\n")
    return out


def regime_table(diffs: pd.DataFrame, axes: Sequence[str], calibrated: Sequence[Any] | None = None) -> pd.DataFrame:
    """The map as a table of text cells: one row per cell, one column per panel.

    Columns: the two axes (levels as text, "all" for every training patch), ``world`` ("calibrated"
    on the calibrated world's row), one column per :func:`regime_panels` entry, ``"estimate [95%
    interval]"`` with `` *`` when the interval excludes 0, and ``n (seeds)``.
    """
    panels = regime_panels(diffs)
    rows = []
    for cell in _cells(diffs, axes):
        here = diffs[[all(_same(v, c) for v, c in zip(_key(r, axes), cell, strict=True))
                      for r in diffs[list(axes)].to_dict(orient="records")]]
        row: dict[str, Any] = {a: level_text(v) for a, v in zip(axes, cell, strict=True)}
        row["world"] = ("calibrated" if calibrated is not None
                        and all(_same(x, y) for x, y in zip(cell, calibrated, strict=True)) else "")
        for q, m, s in panels:
            sub = _select(here, q, m, s)
            if len(sub):
                r = sub.iloc[0]
                row[panel_title(q, m, s)] = (_interval(r["estimate"], r["low"], r["high"], int(r["n"]))
                                             + (" *" if bool(r["significant"]) else ""))
            else:
                row[panel_title(q, m, s)] = "–"
        ns = sorted({int(n) for n in here["n"]})
        row["n (seeds)"] = "/".join(map(str, ns))
        rows.append(row)
    return pd.DataFrame(rows, columns=[*axes, "world", *(panel_title(*p) for p in panels), "n (seeds)"])


# ----------------------------------------------------------------------------- the paper's signs
def regime_signs(diffs: pd.DataFrame, axes: Sequence[str], margin: float = NONINFERIORITY_MARGIN) -> pd.DataFrame:
    """Per cell, which of the paper's signs appear (see the module docstring).

    Returns:
        The axis columns, then one column per :data:`SIGNS` entry (True, False, or None when the cell
        has no value of that quantity) and ``all_signs`` (True when all three are True).
    """
    rows = []
    for cell in _cells(diffs, axes):
        here = diffs[[all(_same(v, c) for v, c in zip(_key(r, axes), cell, strict=True))
                      for r in diffs[list(axes)].to_dict(orient="records")]]
        lift = _select(here, *_LIFT)
        keep = here[(here["quantity"] == "f1") & (here["method"] == _KEEPS)]
        hom = _select(here, *_HOMOGENEITY)
        row: dict[str, Any] = dict(zip(axes, cell, strict=True))
        row["c_lifts_s1"] = bool((lift["low"] > 0).iloc[0]) if len(lift) and lift["n"].iloc[0] > 1 else None
        keep = keep[keep["n"] > 1]
        row["ctm_keeps"] = bool((keep["low"] > -margin).all()) if len(keep) == 2 else None
        row["homogeneity_rises"] = bool((hom["low"] > 0).iloc[0]) if len(hom) and hom["n"].iloc[0] > 1 else None
        row["all_signs"] = all(row[c] is True for c, _ in SIGNS)
        rows.append(row)
    return pd.DataFrame(rows, columns=[*axes, *(c for c, _ in SIGNS), "all_signs"])


def _lines(sub: pd.DataFrame, axes: Sequence[str], along: int) -> list[list[dict[Any, Any]]]:
    """The panel's rows along one axis, one list per level of the other axis, in the along-axis's order."""
    other = 1 - along
    levels = grid_levels(sub, axes)
    out = []
    for lv in levels[other]:
        line = [r for r in sub.to_dict(orient="records") if _same(r[axes[other]], lv)]
        out.append(sorted(line, key=lambda r: _order(r[axes[along]])))
    return out


def _trend(line: list[dict[Any, Any]]) -> str:
    est = [float(r["estimate"]) for r in line if math.isfinite(float(r["estimate"]))]
    if len(est) < 2:
        return "flat"
    steps = [b - a for a, b in zip(est[:-1], est[1:], strict=True)]
    if all(s > 1e-12 for s in steps):
        return "rises"
    if all(s < -1e-12 for s in steps):
        return "falls"
    return "mixed"


def _beyond(axis: str, levels: list[Any], trend: str) -> str | None:
    """Where the grid points beyond its edge: ``"s1_contrast below 1"``; None when that edge is "all"."""
    if trend == "rises":
        last = levels[-1]
        return None if last is None else f"{axis} above {level_text(last)}"
    if trend == "falls":
        return f"{axis} below {level_text(levels[0])}"
    return None


def _where_it_grows(sub: pd.DataFrame, axes: Sequence[str], what: str) -> str:
    """Which way a panel's estimate grows along each axis, where it is largest, and what would show it."""
    ok = sub[sub["estimate"].notna()]
    if not len(ok):
        return f"{what} was not measured in any cell."
    best = ok.iloc[int(ok["estimate"].to_numpy(float).argmax())].to_dict()
    best_cell = _key(best, axes)
    levels = grid_levels(ok, axes)
    parts, beyond = [], []
    for along in (0, 1):
        other = 1 - along
        lines = _lines(ok, axes, along)
        trends = [_trend(line) for line in lines]
        through = next(line for line in lines if _same(line[0][axes[other]], best_cell[other]))
        values = ", ".join(f"{_interval(r['estimate'], r['low'], r['high'], int(r['n']))} at "
                           f"{level_text(_level(r[axes[along]]))}" for r in through)
        where = f"at {axes[other]} {level_text(best_cell[other])}: {values}"
        common = set(trends)
        if common in ({"rises"}, {"falls"}):
            trend = trends[0]
            word = "rises" if trend == "rises" else "falls"
            parts.append(f"it grows as {axes[along]} {word}, at every level of {axes[other]} ({where})")
            b = _beyond(axes[along], levels[along], trend)
            if b:
                beyond.append(b)
        else:
            parts.append(f"it has no steady direction along {axes[along]} ({where})")
    n = int(best["n"])
    text = (f"Along the grid, {'; '.join(parts)}. It is largest at {cell_text(axes, best_cell)}: {_d(best)}.")
    if float(best["estimate"]) <= 0:
        return text + (f" {what} is nowhere above 0 on this grid, so no direction along it points to a world "
                       "that shows it.")
    half = float(best["high"]) - float(best["estimate"]) if math.isfinite(float(best["high"])) else math.nan
    more = (f"more seeds than {n}: at that cell the interval's half-width ({half:.3f}) is larger than the estimate "
            f"({float(best['estimate']):.3f})") if math.isfinite(half) else f"more seeds than {n}"
    if beyond:
        need = f"worlds beyond the grid's edge that way ({', '.join(beyond)}), or {more}"
    else:
        need = more
    return text + f" To show it, the grid suggests {need}."


def _list(sub: pd.DataFrame, axes: Sequence[str], cells: list[tuple[Any, ...]]) -> str:
    """``"s1_contrast 1, n_train_s1 72 (+0.060 [+0.050, +0.070] (n=3))"`` for each cell, joined."""
    out = []
    for cell in cells:
        r = sub[[all(_same(v, c) for v, c in zip(_key(x, axes), cell, strict=True))
                 for x in sub[list(axes)].to_dict(orient="records")]]
        out.append(f"{cell_text(axes, cell)} ({_d(r.iloc[0].to_dict())})" if len(r) else cell_text(axes, cell))
    return "; ".join(out)


def _marked(signs: pd.DataFrame, axes: Sequence[str], column: str) -> list[tuple[Any, ...]]:
    return [_key(r, axes) for r in signs.to_dict(orient="records") if r[column] is True]


def _in_cell(diffs: pd.DataFrame, axes: Sequence[str], cell: Sequence[Any]) -> pd.DataFrame:
    return diffs[[all(_same(v, c) for v, c in zip(_key(r, axes), cell, strict=True))
                  for r in diffs[list(axes)].to_dict(orient="records")]]


def _keep_text(here: pd.DataFrame) -> str:
    """C+T+M - Baseline on each sensor in one cell: ``"S1 -0.005 [...] (n=3), S2 ..."``."""
    keep = here[(here["quantity"] == "f1") & (here["method"] == _KEEPS)].sort_values("sensor")
    return ", ".join(f"{modality_label(str(r['sensor']))} {_d(r)}" for r in keep.to_dict(orient="records"))


def regime_sentences(diffs: pd.DataFrame, axes: Sequence[str], calibrated: Sequence[Any] | None = None, *,
                     source: str, margin: float = NONINFERIORITY_MARGIN) -> list[str]:
    """The map in words: in which cells each of the paper's signs appears, and all three together.

    Every number comes with its 95% interval and n (seeds). Where no cell shows a sign that
    a panel measures (C lifts S1, homogeneity rises), the sentence says so, which way the
    panel's estimate grows along each axis, where it is largest, and what the grid suggests
    would show it. The last paragraph says the data are synthetic (``source``: the profile and
    whether it is archived) and that the intervals are per cell, not adjusted for their number.

    Args:
        diffs: :func:`xmodal.analysis.regime.regime_differences`.
        axes: the map's two axes.
        calibrated: the calibrated world's cell (:func:`calibrated_cell`), or None.
        source: the results' source line (:attr:`RegimeSource.source`).
        margin: the non-inferiority margin of "C+T+M keeps accuracy".

    Returns:
        Markdown paragraphs, in the order: all three signs, each sign, the calibrated world, caveats.
    """
    signs = regime_signs(diffs, axes, margin)
    k = len(signs)
    out: list[str] = []
    lift, hom = _select(diffs, *_LIFT), _select(diffs, *_HOMOGENEITY)
    counts = {c: len(_marked(signs, axes, c)) for c, _ in SIGNS}
    measured = {c: bool(signs[c].notna().any()) for c, _ in SIGNS}
    both = _marked(signs, axes, "all_signs")
    if both:
        texts = []
        for cell in both:
            here = _in_cell(diffs, axes, cell)
            ll, hh = _select(here, *_LIFT).iloc[0].to_dict(), _select(here, *_HOMOGENEITY).iloc[0].to_dict()
            texts.append(f"{cell_text(axes, cell)} (C − Baseline on S1 {_d(ll)}; C+T+M − Baseline {_keep_text(here)}; "
                         f"homogeneity {_d(hh)})")
        out.append(f"**All three of the paper's signs appear together in {len(both)} of the {k} cells:** "
                   + "; ".join(texts) + ".")
    else:
        tally = ", ".join(f"{name} in {counts[c]}" if measured[c] else f"{name}: not measured" for c, name in SIGNS)
        out.append(f"**No cell of the {k} shows all three of the paper's signs together** ({tally} of the {k}).")
    # 1. C lifts S1
    if not measured["c_lifts_s1"]:
        out.append("**C lifts S1**: not measured (the map has no C runs with two seeds or more).")
    elif counts["c_lifts_s1"]:
        cells = _marked(signs, axes, "c_lifts_s1")
        out.append(f"**C lifts S1** (C − Baseline weighted F1 on S1, its 95% interval above 0) in "
                   f"{len(cells)} of the {k} cells: {_list(lift, axes, cells)}.")
    else:
        out.append(f"**C lifts S1 in none of the {k} cells** (no 95% interval of C − Baseline weighted F1 on S1 lies "
                   f"above 0). " + _where_it_grows(lift, axes, "C − Baseline on S1"))
    # 2. C+T+M keeps accuracy
    if not measured["ctm_keeps"]:
        out.append("**C+T+M keeps accuracy**: not measured (the map has no C+T+M runs with two seeds or more).")
    else:
        kept = _marked(signs, axes, "ctm_keeps")
        keep = diffs[(diffs["quantity"] == "f1") & (diffs["method"] == _KEEPS) & (diffs["n"] > 1)]
        cells_all = [_key(r, axes) for r in signs.to_dict(orient="records") if r["ctm_keeps"] is not None]
        lost = [c for c in cells_all if (_in_cell(keep, axes, c)["high"] < -margin).any()]
        text = (f"**C+T+M keeps accuracy** (C+T+M − Baseline weighted F1 shown above −{margin:g} on both sensors: "
                f"both 95% intervals above −{margin:g}, the non-inferiority test of the Results page) in "
                f"{len(kept)} of the {k} cells" + (": " + "; ".join(
                    f"{cell_text(axes, c)} ({_keep_text(_in_cell(diffs, axes, c))})" for c in kept) if kept else "")
                + ".")
        if lost:
            text += (f" It is shown to lose more than {margin:g} (an interval wholly below −{margin:g}) in "
                     + "; ".join(f"{cell_text(axes, c)} ({_keep_text(_in_cell(diffs, axes, c))})" for c in lost) + ".")
        undecided = len(cells_all) - len(kept) - len(lost)
        if undecided:
            text += (f" In the other {undecided} the intervals reach below −{margin:g} without lying wholly below "
                     "it: the map cannot tell whether C+T+M keeps accuracy there.")
        out.append(text)
    # 3. homogeneity rises
    if not measured["homogeneity_rises"]:
        out.append("**Homogeneity rises**: not measured (the map has no homogeneity pairs of C+T+M and the "
                   "Baselines).")
    elif counts["homogeneity_rises"]:
        cells = _marked(signs, axes, "homogeneity_rises")
        out.append(f"**Homogeneity rises** (C+T+M − Baseline homogeneity, its 95% interval above 0) in "
                   f"{len(cells)} of the {k} cells: {_list(hom, axes, cells)}.")
    else:
        out.append(f"**Homogeneity rises in none of the {k} cells** (no 95% interval of C+T+M − Baseline homogeneity "
                   f"lies above 0). " + _where_it_grows(hom, axes, "C+T+M − Baseline homogeneity"))
    # the calibrated world
    if calibrated is None:
        out.append("**The calibrated world** (the profile's own generator parameters) is not a cell of this grid.")
    else:
        at = _in_cell(diffs, axes, calibrated)
        sign = _in_cell(signs, axes, calibrated).iloc[0]
        said = []
        at_lift, at_hom = _select(at, *_LIFT), _select(at, *_HOMOGENEITY)
        if len(at_lift):
            said.append(f"C − Baseline on S1 {_d(at_lift.iloc[0].to_dict())}: "
                        + ("C lifts S1" if sign["c_lifts_s1"] else "no significant lift"))
        if sign["ctm_keeps"] is not None:
            at_keep = at[(at["quantity"] == "f1") & (at["method"] == _KEEPS)]
            verdict = ("keeps accuracy" if sign["ctm_keeps"] else f"loses more than {margin:g}"
                       if (at_keep["high"] < -margin).any() else f"not shown to stay within {margin:g}")
            said.append(f"C+T+M − Baseline {_keep_text(at)}: {verdict}")
        if len(at_hom):
            said.append(f"homogeneity {_d(at_hom.iloc[0].to_dict())}: "
                        + ("rises" if sign["homogeneity_rises"] else "no significant rise"))
        out.append(f"**At the calibrated world** ({cell_text(axes, calibrated)}: the generator parameters the "
                   f"calibration chose, every S1 training patch): " + "; ".join(said) + ".")
    out.append(f"**Caveats.** These are synthetic worlds drawn by xmodal's generator, not SEN12MS: the map says in "
               f"which synthetic worlds a sign appears, not whether it appears on real data. Data: {source}. Each "
               f"interval is its cell's own 95% interval over its seeds (n above), not adjusted for the {k} cells: "
               f"where nothing happens, about 5% of cells would still exclude 0 by chance (about {0.05 * k:.1f} of "
               f"{k} per panel), so a lone marked cell is weak evidence.")
    return out


# ----------------------------------------------------------------------------- where from, how to make it, how long
def calibrated_fingerprints(source: RegimeSource) -> set[str]:
    """The data fingerprints of the runs of the map's calibrated cell (one world: one fingerprint)."""
    if source.calibrated is None:
        return set()
    cells = source.cells
    here = cells[[all(_same(v, c) for v, c in zip(_key(r, source.axes), source.calibrated, strict=True))
                  for r in cells[list(source.axes)].to_dict(orient="records")]]
    dirs = set(here["run_dir"])
    return {str(r["config"].get("data_fingerprint")) for r in source.archive.runs if r["run_dir"] in dirs}


def calibrated_check_text(source: RegimeSource | None, verdicts: pd.DataFrame, study_fingerprint: str | None,
                          study_source: str, claim: str = "c-beats-baseline-s1") -> str:
    """Markdown: the map's calibrated cell beside the study's own Figure 2 runs, when they share its world.

    The map's calibrated cell trains C and the S1 Baseline on a few seeds of the world the study's
    own runs are in (same data fingerprint); the Results page checks the same difference on all of
    the study's seeds. Both are set side by side, and when the map marks a lift the study does not
    confirm (or the other way round), the text says so. Empty when the study ran in another world.

    Args:
        source: the regime map (:func:`regime_source`).
        verdicts: the study's claims (:func:`xmodal.report.claims.check_claims`).
        study_fingerprint: the data fingerprint of the study's runs.
        study_source: what the study's numbers are (:attr:`xmodal.book.PageContext.source`).
        claim: the claim's id (C against the Baseline on S1).
    """
    if source is None or source.calibrated is None or study_fingerprint is None:
        return ""
    if study_fingerprint not in calibrated_fingerprints(source):
        return ""
    row = verdicts[verdicts["id"] == claim]
    cell = _select(_in_cell(source.differences, source.axes, source.calibrated), *_LIFT)
    if not len(row) or not len(cell):
        return ""
    r, c = row.iloc[0].to_dict(), cell.iloc[0].to_dict()
    study = f"{_d(r)}, verdict *{r['verdict']}*"
    text = (f"**The calibrated cell, and this study's own runs in the same world.** This study ran in the "
            f"map's calibrated world (the same data fingerprint, `{study_fingerprint}`). Its Figure 2 runs, on "
            f"all of its seeds, measure C − Baseline on S1 at {study} (the Results page's check, Holm-adjusted "
            f"over its claims); the map's cell, on {int(c['n'])} seeds, measured {_d(c)}. ")
    map_lift = bool(c["significant"] and c["low"] > 0)
    study_lift = bool(r["low"] > 0)
    if map_lift and not study_lift:
        text += ("The lift the map marks there is **not confirmed** by the larger set of seeds: a single marked "
                 "cell is weak evidence, as the caveat below says.")
    elif study_lift and not map_lift:
        text += "The larger set of seeds shows a lift the map's few seeds could not."
    elif map_lift and study_lift:
        text += "Both show the lift."
    else:
        text += "Neither shows a lift."
    return text + f" Data: {study_source}."


def no_regime_text(profile: str = REGIME_PROFILE) -> str:
    """Markdown for the page when the map has neither runs nor an archive: what is missing and how to make it."""
    return (f"*The `{profile}` profile has no finished run beside this study and no archive of its results ships "
            f"with this copy of xmodal, so this page has no map to show.* To make it, run the profile on its own "
            f"(it does not fit in `make book`): `make regime`, or `xmodal regime --study {profile} --jobs 2`, trains "
            f"every cell of the map into `runs/{profile}/<world>`; `xmodal archive --study {profile}` then writes "
            f"`xmodal/archives/{profile}.json`, which the book renders when the runs are absent. Build the book "
            "again afterwards.")


def regime_source_paragraph(source: RegimeSource | None, profile: str = REGIME_PROFILE) -> str:
    """Markdown for the top of the page: which data and runs the map shows, archived or live.

    Without a source, :func:`no_regime_text`.
    """
    if source is None:
        return no_regime_text(profile)
    text = (f"**Data of every figure and sentence below:** {source.source}. Every world is synthetic: drawn by "
            f"xmodal's generator with the knobs of its cell set.")
    if source.archived:
        text += (f" These are **archived** results: the profile's runs were not beside the study this book was built "
                 f"from (`<runs>/{source.profile}`), so the page renders the archive that ships with xmodal "
                 f"(`{source.archive.path.name}`, written from the runs at commit `{source.archive.commit[:7]}` on "
                 f"{source.archive.date}). Running the profile replaces them with live runs.")
    else:
        text += " These are **live** runs, read from disk when the book was built."
    return text


def regime_run_text(source: RegimeSource | None, profile: str = REGIME_PROFILE) -> str:
    """Markdown: how to run the map, and (with a source) how long it took, from its measured wall times."""
    text = (f"`make regime`, or `xmodal regime --study {profile} --jobs 2`, makes every world's data and trains its "
            f"cells into `runs/{profile}/<world>` (an interrupted run resumes where it stopped); "
            f"`xmodal archive --study {profile}` then writes `xmodal/archives/{profile}.json`, the archive this page "
            "renders when the runs are absent.")
    if source is None:
        return text
    worlds = dict((source.times.get("regime") or {}).get("worlds") or {})
    if not worlds:
        return text + " No wall time of the map is on record for these results."
    total = sum(float(w.get("seconds") or 0) for w in worlds.values())
    data = sum(float(w.get("data_seconds") or 0) for w in worlds.values())
    jobs = sorted({int(w.get("jobs") or 1) for w in worlds.values()})
    at_once = "one run at a time" if jobs == [1] else f"{'/'.join(map(str, jobs))} runs at a time"
    where = f" on a machine with {source.machine['cpus']} CPU cores" if source.machine.get("cpus") else ""
    return text + (f" **How long it took:** the {len(worlds)} worlds' {source.n_runs} runs took "
                   f"**{duration_text(total)}** of wall time ({at_once}{where}), of which {duration_text(data)} made "
                   "the worlds' data, measured by `xmodal regime` (the machine may have been busy with other work).")
