"""Build the study's Jupyter Book, fully offline.

:func:`build_book` turns the results of one study (``runs/<study>/<run>/``, written by
:func:`xmodal.sweep.run_sweep`) into a static HTML book:

1. it *stages* the book sources (``_config.yml``, ``_toc.yml``, ``book/``) into
   ``<out>/_build/source`` — the source tree is never written to;
2. it copies the executed notebook of every run into ``book/_generated/runs/`` of the
   staging copy (rendered as they ran, not re-executed) and writes their index;
3. it copies the assets the pages need into the staged ``_static/vendor/``: MathJax 3
   (from the npm package, fetched once with ``make mathjax``) and plotly's own
   ``plotly.min.js`` from the installed ``plotly`` package;
4. it runs Jupyter Book 1 with warnings as errors; the result pages are notebooks executed
   at build time, reading the study through :func:`page_context` (which takes the study
   from the environment variables ``XMODAL_RUNS``, ``XMODAL_STUDY`` and ``XMODAL_DATA``);
5. it checks the built HTML: no page may load anything from the network
   (:func:`check_offline`), and interactive pages must contain their plotly figures.

The pages call :func:`page_context`, the tables and sentences of :mod:`xmodal.report` (on
the statistics of :mod:`xmodal.analysis`) and the figures of :mod:`xmodal.plots`; they hold
only a few lines of logic each. A page reads a run through :class:`xmodal.rundir.RunDir`
(never by a file name), and shows the sensors the runs were trained on (their configs),
whatever they are.

Why one module of about 750 lines: the page context the pages read and the staged build that
executes them change together (a page's new need is a context field and an asset to stage);
the tables and sentences the pages show live in :mod:`xmodal.report`.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xmodal.data.normalize import modality_label
from xmodal.errors import EXIT_FAILED, XmodalError
from xmodal.rundir import Latents, Predictions, Result, RunDir
from xmodal.sweep.spec import DEFAULT_STUDY

if TYPE_CHECKING:
    import pandas as pd

    from xmodal.report.sources import ProfileSource

__all__ = [
    "BookError",
    "PageContext",
    "build_book",
    "check_offline",
    "find_mathjax",
    "page_context",
    "project_root",
    "run_notebooks",
    "run_page_name",
    "synthetic_intro",
]

#: Environment variables through which :func:`build_book` tells the pages what to show.
ENV_RUNS = "XMODAL_RUNS"
ENV_STUDY = "XMODAL_STUDY"
ENV_DATA = "XMODAL_DATA"
#: Optional override of where MathJax's ``es5`` folder is found.
ENV_MATHJAX = "XMODAL_MATHJAX"
#: Optional folder of the long profiles' archives (default: the package's ``xmodal/archives``).
ENV_ARCHIVES = "XMODAL_ARCHIVES"

#: Where ``make mathjax`` puts the npm package (relative to the project root).
MATHJAX_NPM_DIR = Path(".cache/npm/node_modules/mathjax/es5")
#: MathJax entry point inside ``es5`` (``mathjax_path`` in ``_config.yml`` points at it).
MATHJAX_ENTRY = "tex-chtml.js"
#: Book sources staged for a build (relative to the project root).
BOOK_SOURCES = ("_config.yml", "_toc.yml", "book")
#: Staged folder published as the book's ``_static`` (``html_static_path`` in ``_config.yml``).
#: Not ``_static``: Jupyter Book would add every ``.js`` file found there to every page.
STATIC_DIR = "_assets"
#: Pages whose HTML must contain an interactive plotly figure.
INTERACTIVE_PAGES = ("book/latent.html",)

_TAG_RE = re.compile(r"<(?P<tag>[a-zA-Z][\w-]*)\b(?P<attrs>[^>]*)>", re.S)
_URL_ATTR_RE = re.compile(r"""\b(?:src|href|data)\s*=\s*["']\s*(?P<url>(?:https?:)?//[^"']*)["']""", re.I)
_CSS_URL_RE = re.compile(r"""(?:url\(\s*["']?|@import\s+["'])(?P<url>(?:https?:)?//[^"')]+)""", re.I)


class BookError(XmodalError, RuntimeError):
    """The book cannot be built; the message says what is missing and how to get it."""

    exit_code = EXIT_FAILED


def project_root() -> Path:
    """The project checkout holding ``_config.yml``, ``_toc.yml`` and ``book/``.

    Raises:
        BookError: if the package is not used from a source checkout.
    """
    root = Path(__file__).resolve().parents[1]
    missing = [s for s in BOOK_SOURCES if not (root / s).exists()]
    if missing:
        raise BookError(
            f"The book sources {missing} are not in {root}: build the book from a source "
            "checkout of xmodal (pip install -e .)"
        )
    return root


# ---------------------------------------------------------------------------------
# what the pages read
# ---------------------------------------------------------------------------------
@dataclass
class PageContext:
    """What a book page shows: one study's results and the data it ran on.

    Attributes:
        study: the study's name.
        study_dir: folder holding one sub-folder per run (``runs/<study>``).
        data_root: the SEN12MS root the study ran on (None if unknown or gone).
        results: the tidy results table of :func:`xmodal.results.load_results`
            (a row per run and sensor).
    """

    study: str
    study_dir: Path
    data_root: Path | None
    results: pd.DataFrame

    def describe_data(self) -> dict[str, Any]:
        """``xmodal.data.describe_root`` of the study's data (empty if it is not available)."""
        if self.data_root is None:
            return {}
        from xmodal.data import describe_root

        return dict(describe_root(self.data_root))

    @property
    def data_kind(self) -> str:
        """``"synthetic"`` or ``"SEN12MS"`` (as the runs recorded it)."""
        if "data_kind" in getattr(self.results, "columns", ()):
            kinds = sorted(set(self.results["data_kind"].dropna()))
            if kinds:
                return "/".join(kinds)
        return "unknown data"

    @property
    def n_runs(self) -> int:
        """Number of finished runs in :attr:`results`."""
        return _n_runs(self.results)

    @property
    def sensors(self) -> list[str]:
        """The sensors the study's runs were trained on, in display order."""
        from xmodal.analysis.tidy import sensors_in

        return sensors_in(self.results)

    @property
    def source(self) -> str:
        """One line saying where the figures come from, for captions and titles."""
        from xmodal.report.notes import source_note

        return source_note(self.results, study=self.study)

    @functools.cached_property
    def homogeneity(self) -> pd.DataFrame:
        """Homogeneity of every pair of sensors per run (:func:`xmodal.results.load_homogeneity`).

        The joint models' scores and those of the pairs of separately trained single-sensor
        Baselines; read once per page.
        """
        from xmodal.results import load_homogeneity

        return load_homogeneity(self.results)

    @functools.cached_property
    def validation(self) -> list[dict[str, Any]]:
        """Every finished run's validation record (:func:`xmodal.results.load_validation`; read once per page).

        The form of an archive's runs: :func:`xmodal.report.tuning.validation_table` makes the curves.
        """
        from xmodal.results import load_validation

        return load_validation(self.results)

    @functools.cached_property
    def predictions(self) -> dict[str, Predictions]:
        """Test predictions of every finished run, by run folder (read once per page)."""
        from xmodal.results import load_predictions

        return load_predictions(self.results)

    def run_dir(self, method: str, modality: str | None = None, seed: int | None = None) -> Path | None:
        """Folder of one finished run of ``method`` on the full training set.

        The lowest seed unless ``seed`` is given; for the baseline, the one trained on ``modality``.
        """
        from xmodal.report.selection import final_runs

        df = final_runs(self.results)
        df = df[df["method"] == method]
        if modality is not None:
            df = df[df["trained_modalities"] == modality] if method == "baseline" else df
        if seed is not None:
            df = df[df["seed"] == seed]
        if len(df) == 0:
            return None
        return Path(df.sort_values(["seed", "run_dir"]).iloc[0]["run_dir"])

    def result(self, run_dir: str | Path) -> Result:
        """The :class:`~xmodal.rundir.Result` of one run."""
        return RunDir(run_dir).result()

    @property
    def config(self) -> dict[str, Any]:
        """Configuration of a representative run (the full model when present)."""
        first = self.sensors[0] if self.sensors else None
        for method in ("C+T+M", "C", "baseline"):
            run = self.run_dir(method, first if method == "baseline" else None)
            if run is not None:
                return dict(self.result(run).config)
        run = Path(self.results[self.results["status"] == "ok"].iloc[0]["run_dir"])
        return dict(self.result(run).config)

    @property
    def class_names(self) -> list[str]:
        """Class names of the soft labels, as the runs recorded them."""
        ok = self.results[self.results["status"] == "ok"]
        return self.result(ok.iloc[0]["run_dir"]).class_names

    def datasets(self, modality: str | None = None) -> tuple[Any, Any]:
        """Training and test split of the study's data, as its runs split them.

        Args:
            modality: the sensor to read (default: the study's first, in display order).
        """
        from xmodal.data import Sen12MS

        if self.data_root is None:
            raise BookError("The data the study ran on is not available: pass data_root / XMODAL_DATA")
        cfg = self.config
        common = dict(season=cfg["season"], modality=modality or self.sensors[0], split_method=cfg["split"],
                      test_fraction=cfg["test_fraction"], seed=cfg["seed"],
                      label_scheme=cfg["label_scheme"], cache_dir=cfg.get("cache_dir"))
        import warnings

        with warnings.catch_warnings():  # skipped patches are reported by data_summary
            warnings.simplefilter("ignore", UserWarning)
            return (Sen12MS(self.data_root, split="train", **common),
                    Sen12MS(self.data_root, split="test", **common))

    def data_summary(self, train: Any, test: Any) -> str:
        """Markdown: which data the study ran on and how it was split."""
        cfg = self.config
        kind = self.data_kind
        shape = tuple(train[0][0].shape) if len(train) else ()
        return (
            f"**The study `{self.study}` ran on {'synthetic SEN12MS-like data' if kind == 'synthetic' else kind}** "
            f"at `{self.data_root}`: season *{cfg['season']}*, **{cfg['split']} split** "
            f"(test fraction {cfg['test_fraction']:.3f}, seed {cfg['seed']}), "
            f"{len(train)} training and {len(test)} test patches, "
            f"label scheme `{cfg['label_scheme']}` ({len(train.class_names)} classes: "
            f"{', '.join(train.class_names)}); an {modality_label(train.modality)} input is "
            f"{shape[0] if shape else '?'} bands of "
            f"{shape[1] if shape else '?'} × {shape[2] if shape else '?'} pixels."
            + _skipped_note(train, test)
        )

    def split_leakage(self) -> dict[str, float]:
        """Share of test patches overlapping a training patch, per split method.

        :func:`xmodal.data.split_leakage` on the study's data, with its runs' settings.
        """
        from xmodal.data import split_leakage

        if self.data_root is None:
            raise BookError("The data the study ran on is not available: pass data_root / XMODAL_DATA")
        cfg = self.config
        import warnings

        with warnings.catch_warnings():  # skipped (unlabelled) patches are reported on the data page
            warnings.simplefilter("ignore", UserWarning)
            return split_leakage(self.data_root, season=cfg.get("season", "winter"),
                                 test_fraction=cfg.get("test_fraction", 4000 / 31825),
                                 seed=cfg.get("seed", 0), label_scheme=cfg.get("label_scheme", "dfc9"))

    def synthetic_params(self) -> Any:
        """The synthetic generator's parameters (``SyntheticParams``), or None for real data."""
        params = self.describe_data().get("synthetic_params")
        if not params:
            return None
        from xmodal.data.synthetic import SyntheticParams

        return SyntheticParams.from_dict(params)

    def latent_panels(self, methods: Sequence[str] = ("C", "C+T+M")) -> dict[str, list[Latents]]:
        """Saved latent vectors for the latent-space page, panel title -> runs.

        The single-sensor Baseline models together, then each of ``methods`` that has runs
        (each: the full-training-set run with the lowest seed).

        Args:
            methods: the joint methods to show, as the results table names them (e.g.
                ``"C+T+M (confusion)"``, see :func:`xmodal.results.method_of`).
        """
        panels: dict[str, list[Latents]] = {}
        base = [RunDir(b) for b in (self.run_dir("baseline", m) for m in self.sensors) if b is not None]
        base = [b for b in base if b.has_latents()]
        if base:
            panels[f"Baseline ({_NUMBERS.get(len(base), str(len(base)))} models)" if len(base) > 1
                   else "Baseline"] = [b.latents() for b in base]
        for method in methods:
            run = self.run_dir(method)
            if run is not None and RunDir(run).has_latents():
                panels[method] = [RunDir(run).latents()]
        if not panels:
            raise BookError(f"No latent vectors in the runs of {self.study_dir}")
        return panels

    def other_study(self, name: str) -> pd.DataFrame | None:
        """The results table of study ``name`` beside this one (``<runs>/<name>``), or None without finished runs.

        The latent page shows the ``latent`` profile's sensitivity study this way when its
        runs exist; when the book is built from that study itself, its own results.
        """
        from xmodal.results import load_results

        if name == self.study:
            return self.results
        folder = self.study_dir.parent / name
        if not folder.is_dir():
            return None
        results = load_results(folder)
        return results if (results["status"] == "ok").any() else None

    def long_profile(self, name: str) -> ProfileSource | None:
        """A long profile's results beside this study: its live runs, else its shipped archive, else None.

        The live runs are ``<runs>/<name>`` beside this study; the archive is ``<name>.json`` in
        ``$XMODAL_ARCHIVES`` (default: the package's ``xmodal/archives``). The pages label which
        (:func:`xmodal.report.sources.profile_source`).
        """
        from xmodal.report.sources import profile_source

        return profile_source(self.study_dir.parent, name, os.environ.get(ENV_ARCHIVES) or None)


#: Number words of the latent page's panel titles.
_NUMBERS = {2: "two", 3: "three", 4: "four", 5: "five"}


def display_path(path: str | Path | None) -> str | None:
    """A data path as a published page may show it: relative to the project, else the folder's name.

    The book is read by others: the absolute path of the machine that built it says nothing
    to them and may say too much about that machine.
    """
    if path is None:
        return None
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path(__file__).resolve().parents[1]))
    except ValueError:
        return p.name or str(p)


def synthetic_intro(synthetic: bool, root: str | Path | None) -> str:
    """Markdown introducing the data-generation section of the data page.

    Args:
        synthetic: whether the study ran on synthetic data (else there is no generator to describe).
        root: the data root, named in the text by :func:`display_path` (never the builder's absolute path).
    """
    root = display_path(root)
    if not synthetic:
        return (f"The study ran on a SEN12MS download (`{root}`), not on synthetic data: "
                "there is no generator to describe.")
    return (
        f"The study ran on **synthetic** SEN12MS-like data (`{root}`), written by "
        "`xmodal.data.make_synthetic` as real GeoTIFFs in the official layout, so the same reader "
        "is used as for SEN12MS. Each scene draws a biome and a class prior; land cover is a "
        "warped two-level Voronoi partition; the label is a coarse MODIS-like 500 m grid of "
        "majority classes (with boundary errors); Sentinel-2 reflectance is rendered from "
        "per-class 13-band signatures with scene, object and texture variability, adjacency blur, "
        "noise, winter snow and thin clouds; Sentinel-1 backscatter from per-class VV/VH levels "
        "in dB with multiplicative gamma speckle (mean 1, shape = number of looks). The vegetated "
        "classes overlap in backscatter, so S1 is less separable than S2, as on SEN12MS. Every "
        "parameter, with its unit (recorded in the data's `xmodal_synthetic.json`):"
    )


def _n_runs(results: Any) -> int:
    if results is None or len(results) == 0:
        return 0
    for col in ("run", "run_id", "run_dir", "config_hash"):
        if col in results.columns:
            return int(results[col].nunique())
    return len(results)


def page_context(
    runs_dir: str | Path | None = None,
    study: str | None = None,
    data_root: str | Path | None = None,
) -> PageContext:
    """The study a book page shows.

    Arguments default to the environment variables set by :func:`build_book`
    (``XMODAL_RUNS``, ``XMODAL_STUDY``, ``XMODAL_DATA``), then to ``runs`` and
    ``default`` under the project root, so a page also runs by hand in Jupyter.

    Raises:
        BookError: if the study has no finished run.
    """
    from xmodal.results import load_results

    study = study or os.environ.get(ENV_STUDY) or DEFAULT_STUDY
    if runs_dir is None:
        runs_dir = os.environ.get(ENV_RUNS) or str(Path(__file__).resolve().parents[1] / "runs")
    study_dir = _study_dir(runs_dir, study)
    results = load_results(study_dir)
    if len(results) == 0:
        raise BookError(
            f"No finished run in {study_dir}: run `xmodal sweep --study {study}` before building the book"
        )
    data_root = data_root or os.environ.get(ENV_DATA) or _data_root_from_results(results)
    root = Path(data_root).resolve() if data_root else None
    if root is not None and not root.exists():
        root = None
    return PageContext(study=study_dir.name, study_dir=study_dir, data_root=root, results=results)


def _study_dir(runs_dir: str | Path, study: str) -> Path:
    """``runs_dir/<study name>`` of a study as every command takes it (:func:`xmodal.sweep.resolve_study`)."""
    from xmodal.sweep import resolve_study

    _, name = resolve_study(study, need_spec=False)
    return Path(runs_dir).resolve() / name


def _skipped_note(*datasets: Any) -> str:
    skipped = {str(p): str(r) for ds in datasets for p, r in (getattr(ds, "skipped", None) or [])}
    if not skipped:
        return ""
    reasons = sorted(set(skipped.values()))
    return (f" The reader skipped {len(skipped)} patch(es): "
            + "; ".join(reasons[:3]) + ("; ..." if len(reasons) > 3 else "") + ".")


def _data_root_from_results(results: pd.DataFrame) -> str | None:
    """The data root recorded in the first finished run's result."""
    ok = results[results["status"] == "ok"] if "status" in results.columns else results
    for run_dir in ok["run_dir"].dropna().unique():
        res = RunDir(run_dir).read_result()
        if res is None:
            continue
        root = res.data.get("root") or res.config.get("data_root")
        if root:
            return str(root)
    return None


# ---------------------------------------------------------------------------------
# run notebooks
# ---------------------------------------------------------------------------------
def run_notebooks(study_dir: str | Path) -> list[tuple[Path, Result | None]]:
    """Executed notebooks of a study's runs, with each run's :class:`~xmodal.rundir.Result` (None if absent).

    Sorted by run folder name. A run still executing has only a hidden partial copy of
    its notebook and is left out.
    """
    out = []
    for run in (RunDir(p) for p in sorted(Path(study_dir).iterdir()) if p.is_dir()):
        if run.has_notebook():
            out.append((run.notebook_path, run.read_result()))
    return out


def run_page_name(run_name: str) -> str:
    """File name (without suffix) of a run's page: the run folder's name, safe in a URL.

    ``+`` is spelled ``p`` (``C+T+M-s1+s2-...`` -> ``CpTpM-s1ps2-...``).
    """
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", run_name.replace("+", "p")).strip("-") or "run"


def _run_title(run_name: str, result: Result | None) -> tuple[str, str]:
    """Title and one-line summary of a run."""
    if result is None:
        return f"Run {run_name} (unfinished or failed)", "no result"
    cfg = result.config
    method = cfg.get("method", "?")
    label = (f"Baseline {'/'.join(modality_label(m) for m in result.modalities)}" if method == "baseline"
             else method)
    size = cfg.get("n_train")
    title = f"{label}, n_train={size if size is not None else 'all'}, seed {cfg.get('seed', '?')}"
    if not result.ok:
        title += f" ({result.status})"
    parts = []
    for mod, m in result.metrics.items():
        parts.append(f"{modality_label(mod)} macro {m['macro']:.3f} / weighted {m['weighted']:.3f}")
    for pair, s in result.homogeneity.items():
        parts.append(f"homogeneity s({', '.join(modality_label(m) for m in pair.split('|'))}) {s:.3f}")
    return title, "; ".join(parts) or "no metrics"


def _stage_run_notebooks(study_dir: Path, dest: Path) -> list[dict[str, str]]:
    """Copy the executed run notebooks into ``dest`` with a title naming the run."""
    import nbformat

    dest.mkdir(parents=True, exist_ok=True)
    rows = []
    for nb_path, result in run_notebooks(study_dir):
        run_name = nb_path.parent.name
        stem = run_page_name(run_name)
        title, summary = _run_title(run_name, result)
        nb = nbformat.read(nb_path, as_version=4)
        # A title cell naming the run: the template's own title is the same in every run.
        head = nbformat.v4.new_markdown_cell(
            f"# {title}\n\nRun folder `{run_name}`. {summary}.\n\n"
            "This notebook is shown as the sweep executed it."
        )
        _demote_headings(nb)
        nb.cells.insert(0, head)
        nbformat.write(nb, dest / f"{stem}.ipynb")
        rows.append({"doc": f"_generated/runs/{stem}", "title": title, "summary": summary})
    return rows


def _demote_headings(nb: Any) -> None:
    """Turn the notebook's level-1 headings into level-2 ones (one title per page)."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = re.sub(r"(?m)^# ", "## ", cell.source)


def _drop_runs_glob(toc_path: Path) -> None:
    """Remove the glob of run notebooks from a staged ``_toc.yml`` (no run notebook yet)."""
    import yaml

    toc = yaml.safe_load(toc_path.read_text())
    for part in toc.get("parts", []):
        for chapter in part.get("chapters", []):
            if chapter.get("file") == "book/runs":
                chapter.pop("sections", None)
    toc_path.write_text(yaml.safe_dump(toc, sort_keys=False))


def timing_text(summary: Mapping[str, Any] | None) -> str:
    """One paragraph on where a sweep's job time went (:func:`xmodal.sweep.sweep_time_summary`)."""
    if not summary or not summary.get("runs"):
        return "No timed sweep is on record for these runs (they were found finished, or copied here)."
    how = " and ".join(summary["executors"])
    text = (f"**Where the time went.** {summary['runs']} runs were trained by this study's sweeps "
            f"(executor: {how}) in {summary['job_seconds'] / 60:.1f} minutes of job time, "
            f"{summary['train_seconds'] / 60:.1f} of them training")
    if summary["notebook_seconds"]:
        text += f"; rendering their executed notebooks took {summary['notebook_seconds'] / 60:.1f} more"
    return text + (f". Time outside training (process or kernel start, imports, data set-up, evaluation, "
                   f"writing results, notebooks): **{summary['outside_share']:.0%}** of all job time. "
                   "Measured on the machine that built this book, which may have been busy with other work.")


def _write_runs_index(rows: list[dict[str, str]], path: Path, study: str, timing: str = "") -> None:
    if not rows:
        text = f"The study `{study}` has no executed run notebook yet.\n"
    else:
        lines = [
            f"The study `{study}` has {len(rows)} executed run notebook(s).",
            "",
            "| run | results |",
            "| --- | --- |",
        ]
        for r in rows:
            lines.append(f"| {{doc}}`{r['title']} <{r['doc']}>` | {r['summary']} |")
        text = "\n".join(lines) + "\n"
    if timing:
        text = timing + "\n\n" + text
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


# ---------------------------------------------------------------------------------
# offline assets
# ---------------------------------------------------------------------------------
def find_mathjax(root: str | Path | None = None) -> Path:
    """MathJax 3's ``es5`` folder (holding ``tex-chtml.js``) to serve from the book.

    Looks at ``$XMODAL_MATHJAX`` then ``<root>/.cache/npm/node_modules/mathjax/es5``.

    Raises:
        BookError: if MathJax is not there, saying how to fetch it.
    """
    candidates = []
    if os.environ.get(ENV_MATHJAX):
        candidates.append(Path(os.environ[ENV_MATHJAX]))
    base = Path(root) if root is not None else Path(__file__).resolve().parents[1]
    candidates.append(base / MATHJAX_NPM_DIR)
    for c in candidates:
        if (c / MATHJAX_ENTRY).is_file():
            return c
        if (c / "es5" / MATHJAX_ENTRY).is_file():
            return c / "es5"
    raise BookError(
        f"MathJax 3 is missing (looked for {MATHJAX_ENTRY} in {', '.join(map(str, candidates))}). "
        "The book serves MathJax itself so that it works offline; fetch it once from the npm "
        "registry with `make mathjax` (npm install --prefix .cache/npm mathjax@3), or set "
        f"{ENV_MATHJAX} to a MathJax 3 es5 folder."
    )


def plotly_js() -> Path:
    """The ``plotly.min.js`` of the installed ``plotly`` package."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise BookError(f"plotly.min.js not found at {path}: reinstall plotly")
    return path


def _stage_vendor(static: Path, mathjax: Path) -> None:
    vendor = static / "vendor"
    shutil.copytree(mathjax, vendor / "mathjax", dirs_exist_ok=True)
    (vendor / "plotly").mkdir(parents=True, exist_ok=True)
    shutil.copy2(plotly_js(), vendor / "plotly" / "plotly.min.js")


# ---------------------------------------------------------------------------------
# checks of the built HTML
# ---------------------------------------------------------------------------------
def check_offline(html_dir: str | Path) -> list[str]:
    """Every reference in the built book that would load something from the network.

    Scans the HTML pages (``src``/``href``/``data`` attributes of every tag except links
    ``<a>`` a reader clicks) and the CSS files (``url(...)`` and ``@import``) for
    ``http://``, ``https://`` or protocol-relative ``//`` addresses.

    Returns:
        ``"file: tag url"`` strings, empty when the book is self-contained.
    """
    html_dir = Path(html_dir)
    problems = []
    for page in sorted(html_dir.rglob("*.html")):
        text = page.read_text(errors="replace")
        for m in _TAG_RE.finditer(text):
            tag = m.group("tag").lower()
            if tag == "a":
                continue
            for u in _URL_ATTR_RE.finditer(m.group("attrs")):
                problems.append(f"{page.relative_to(html_dir)}: <{tag}> {u.group('url')}")
    for css in sorted(html_dir.rglob("*.css")):
        for u in _CSS_URL_RE.finditer(css.read_text(errors="replace")):
            problems.append(f"{css.relative_to(html_dir)}: url {u.group('url')}")
    return problems


def _check_interactive(html_dir: Path) -> list[str]:
    problems = []
    for rel in INTERACTIVE_PAGES:
        page = html_dir / rel
        if not page.is_file():
            problems.append(f"{rel}: page missing")
            continue
        text = page.read_text(errors="replace")
        if "Plotly.newPlot" not in text:
            problems.append(f"{rel}: no interactive figure (no Plotly.newPlot)")
        if "vendor/plotly/plotly.min.js" not in text:
            problems.append(f"{rel}: plotly.js is not loaded from the book's _static")
    return problems


# ---------------------------------------------------------------------------------
# the build
# ---------------------------------------------------------------------------------
def build_book(
    runs_dir: str | Path = "runs",
    study: str = DEFAULT_STUDY,
    data_root: str | Path | None = None,
    *,
    out_dir: str | Path | None = None,
    strict: bool = True,
    quiet: bool = False,
) -> Path:
    """Build the book of one study and check that it works offline.

    Args:
        runs_dir: folder holding one folder per study (``runs/<study>/<run>/``).
        study: the study to show: a profile's name, a study YAML's path (its ``name`` names
            the runs folder) or a runs folder's name (:func:`xmodal.sweep.resolve_study`).
        data_root: the SEN12MS root the study ran on (default: the one recorded in the
            runs' results); used by the data page.
        out_dir: folder that receives ``_build/`` (default: the project root, so the
            book is ``_build/html/index.html``).
        strict: treat Sphinx warnings as errors (``-W -n --keep-going``).
        quiet: do not print the build log.

    Returns:
        Path of ``_build/html/index.html``.

    Raises:
        BookError: no finished run, MathJax missing, the build failed, or the built
            HTML references the network or lacks its interactive figures.
    """
    root = project_root()
    out = Path(out_dir).resolve() if out_dir is not None else root
    study_dir = _study_dir(runs_dir, study)
    if not study_dir.is_dir():
        raise BookError(
            f"No runs folder {study_dir}: run `xmodal sweep --study {study} --runs {runs_dir}` first"
        )
    # Fails early, with the reason, when the study has no finished run.
    ctx = page_context(runs_dir=Path(runs_dir).resolve(), study=study, data_root=data_root)
    mathjax = find_mathjax(root)

    build = out / "_build"
    source = build / "source"
    if source.exists():
        shutil.rmtree(source)
    source.mkdir(parents=True)
    for name in BOOK_SOURCES:
        src = root / name
        if src.is_dir():
            shutil.copytree(src, source / name, ignore=shutil.ignore_patterns(
                "_generated", ".ipynb_checkpoints", "__pycache__"))
        else:
            shutil.copy2(src, source / name)
    # The method page shows the package's own code beside the equations
    # ({literalinclude} /xmodal/losses.py ...): stage the modules it quotes.
    package = Path(__file__).resolve().parent
    (source / "xmodal").mkdir()
    for py in package.rglob("*.py"):  # subpackages too (/xmodal/training/loop.py)
        target = source / "xmodal" / py.relative_to(package)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(py, target)
    rows = _stage_run_notebooks(study_dir, source / "book" / "_generated" / "runs")
    from xmodal.sweep import sweep_time_summary

    _write_runs_index(rows, source / "book" / "_generated" / "runs_index.md", ctx.study,
                      timing_text(sweep_time_summary(study_dir)))
    if not rows:
        _drop_runs_glob(source / "_toc.yml")
    _stage_vendor(source / STATIC_DIR, mathjax)

    html = build / "html"
    if html.exists():
        shutil.rmtree(html)
    env = dict(os.environ)
    env[ENV_RUNS] = str(Path(runs_dir).resolve())
    env[ENV_STUDY] = ctx.study
    if ctx.data_root is not None:
        env[ENV_DATA] = str(ctx.data_root)
    # The page kernels draw with the inline backend, whatever the caller uses (make: Agg).
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    cmd = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()", "build", str(source),
           "--path-output", str(out), "--builder", "html", "--all"]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    proc = subprocess.run(cmd, env=env, text=True, capture_output=True)
    log = proc.stdout + proc.stderr
    (build).mkdir(exist_ok=True)
    (build / "book.log").write_text(log)
    if not quiet:
        print(log)
    index = html / "index.html"
    if proc.returncode != 0 or not index.is_file():
        tail = "\n".join(log.strip().splitlines()[-40:])
        raise BookError(
            f"jupyter-book build failed (exit {proc.returncode}); full log in {build / 'book.log'}:\n{tail}"
        )
    problems = check_offline(html) + _check_interactive(html)
    if problems:
        raise BookError("The built book is not self-contained:\n  " + "\n  ".join(problems))
    print(f"The book of study {ctx.study!r} ({ctx.n_runs} runs) is at {index}")
    return index
