"""Where a page takes a long profile's results from: its live runs, else its shipped archive.

A profile too long for ``make book`` (the ``tuned`` profile: tuning, then its final seeds) runs
on its own; :func:`xmodal.archive.write_archive` keeps its results in a small archive that ships
with the package. :func:`profile_source` picks what a page shows:

1. **live**: ``<runs>/<profile>`` holds finished runs. They are read through the archive's own
   writer (into a temporary folder) and loaded back, so a page computes from exactly the tables an
   archive of these runs would hold (the test predictions as class masks at the F1 threshold: the
   F1 scores and their intervals are the runs'), and the tuning record is the same;
2. **archived**: else the archive ``<archives>/<profile>.json`` (default: the package's
   :data:`xmodal.archive.ARCHIVE_DIR`), labelled with its profile, commit and date;
3. neither: ``None``, and :func:`no_source_text` says how to make them.

Every caption and sentence built from a :class:`ProfileSource` names it by :attr:`ProfileSource.source`:
the data, the runs and whether they are live or archived.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from xmodal.report.notes import source_note

if TYPE_CHECKING:
    import pandas as pd

    from xmodal.archive import Archive
    from xmodal.rundir import Predictions

__all__ = ["LIVE", "ARCHIVED", "TUNED_PROFILE", "ProfileSource", "no_source_text", "profile_source",
           "source_paragraph"]

#: The profile of equal tuning (``xmodal/studies/tuned.yaml``).
TUNED_PROFILE: Final[str] = "tuned"
#: The two kinds of :attr:`ProfileSource.kind`.
LIVE: Final[str] = "live"
ARCHIVED: Final[str] = "archived"


@dataclasses.dataclass(frozen=True)
class ProfileSource:
    """A long profile's results as a page reads them, and where they come from.

    Attributes:
        archive: the loaded tables (:class:`xmodal.archive.Archive`; for live runs, an archive
            written from them a moment ago).
        kind: :data:`LIVE` or :data:`ARCHIVED`.
        label: what the results are, e.g. ``"archived results of profile 'tuned' (commit abc1234,
            2026-12-03)"`` or ``"live runs of profile 'tuned' (runs/tuned)"``.
    """

    archive: Archive
    kind: str
    label: str

    @property
    def profile(self) -> str:
        """The profile's name."""
        return self.archive.profile

    @property
    def archived(self) -> bool:
        """Whether the results come from the shipped archive (not from runs on this machine)."""
        return self.kind == ARCHIVED

    @property
    def results(self) -> pd.DataFrame:
        """The tidy results table (:func:`xmodal.results.load_results`'s columns)."""
        return self.archive.results

    @property
    def pairs(self) -> pd.DataFrame:
        """The homogeneity pairs (:func:`xmodal.results.load_homogeneity`'s columns)."""
        return self.archive.pairs

    @property
    def predictions(self) -> dict[str, Predictions]:
        """``run_dir`` -> its test predictions (class masks; F1 as the run's)."""
        return self.archive.predictions

    @property
    def runs(self) -> list[dict[str, Any]]:
        """Every run's record: ``run_dir``, ``config``, ``validation``, ``timings``, ..."""
        return self.archive.runs

    @property
    def tuning(self) -> dict[str, Any] | None:
        """The tuning record (searched ranges, settings, trials, importances), or None."""
        return self.archive.tuning

    @property
    def times(self) -> dict[str, Any]:
        """The measured wall times (``sweep``, ``tuning``)."""
        return self.archive.times

    @property
    def machine(self) -> dict[str, Any]:
        """The machine the archive was written on (cpus, platform, python)."""
        return dict(self.archive.meta.get("machine") or {})

    @property
    def data_kind(self) -> str:
        """``"synthetic"`` or ``"SEN12MS"``, as the runs recorded it."""
        kinds = sorted({str(k) for k in self.results["data_kind"].dropna()}) if len(self.results) else []
        return "/".join(kinds) if kinds else str((self.archive.meta.get("data") or {}).get("kind") or "unknown data")

    @property
    def source(self) -> str:
        """One line for captions: the data and runs (:func:`source_note`), then live or archived."""
        return f"{source_note(self.results, study=self.profile)}; {self.label}"


def _has_finished_runs(folder: Path) -> bool:
    from xmodal.results import load_results

    if not folder.is_dir():
        return False
    results = load_results(folder)
    return bool(len(results)) and bool((results["status"] == "ok").any())


def profile_source(runs_dir: str | os.PathLike[str], profile: str = TUNED_PROFILE,
                   archive_dir: str | os.PathLike[str] | None = None) -> ProfileSource | None:
    """The profile's live runs when ``<runs_dir>/<profile>`` holds finished runs, else its archive, else None.

    Args:
        runs_dir: the folder holding the study folders (``<runs_dir>/<profile>/<run>``).
        profile: the profile's name.
        archive_dir: the folder of the archives (default: the package's ``xmodal/archives``).

    Returns:
        A :class:`ProfileSource` (see the module docstring), or None when neither exists.

    Raises:
        xmodal.archive.ArchiveError: the live runs cannot be archived (several test sets), or the
            archive on disk cannot be read.
    """
    from xmodal.archive import archive_path, load_archive, write_archive

    folder = Path(runs_dir) / profile
    if _has_finished_runs(folder):
        with tempfile.TemporaryDirectory(prefix="xmodal-live-") as tmp:
            write_archive(profile, runs_dir, out=tmp)
            archive = load_archive(profile, tmp)
        n = archive.results["run_dir"].nunique()
        label = f"live runs of profile {profile!r} ({n} runs in {Path(runs_dir).name}/{profile})"
        return ProfileSource(archive=archive, kind=LIVE, label=label)
    if archive_path(profile, archive_dir).exists():
        archive = load_archive(profile, archive_dir)
        return ProfileSource(archive=archive, kind=ARCHIVED, label=archive.label)
    return None


def no_source_text(profile: str = TUNED_PROFILE, data: str = "data/default") -> str:
    """Markdown for a page when the profile has neither runs nor an archive: what is missing and how to make it."""
    return (f"*The `{profile}` profile has no finished run beside this study and no archive of its results "
            f"ships with this copy of xmodal, so this section has nothing to show.* To make them, run the "
            f"profile on its own (it does not fit in `make book`): `xmodal tune --study {profile} --jobs 2 "
            f"--data {data}` tunes every model and then trains its final seeds into `runs/{profile}`; "
            f"`xmodal archive --study {profile}` then writes `xmodal/archives/{profile}.json`, which the "
            "book renders when the runs are absent" + (" (`make tuned` runs both)" if profile == TUNED_PROFILE else "")
            + ". Build the book again afterwards.")


def source_paragraph(source: ProfileSource | None, profile: str = TUNED_PROFILE) -> str:
    """Markdown for the top of a page: which data and runs it shows, and whether they are archived.

    Without a source, :func:`no_source_text`.
    """
    if source is None:
        return no_source_text(profile)
    text = f"**Data of every figure and table below:** {source.source}."
    if source.archived:
        text += (f" These are **archived** results: the profile's runs were not beside the study this book was "
                 f"built from (`<runs>/{source.profile}`), so the page renders the archive that ships with xmodal "
                 f"(`{source.archive.path.name}`, written from the runs at commit `{source.archive.commit[:7]}` on "
                 f"{source.archive.date}). Running the profile replaces them with live runs.")
    else:
        text += " These are **live** runs, read from disk when the book was built."
    if source.tuning is None:
        text += (" They carry no tuning record (the profile's tuning folder, `<runs>/"
                 f"{source.profile}-tuning`, was not beside them), so the search cannot be shown.")
    return text
