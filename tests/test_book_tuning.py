"""The tuned profile on the book's pages: where the page context finds it, and the pages without it.

The book built with the tuned profile's archive is checked in ``test_book.py``; here, its pages
executed when neither the profile's runs nor its archive exist (they say so, and how to make them).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hand_tables import write_run
from notebook_sections import section
from tuned_archive import write_tuned_archive

ROOT = Path(__file__).resolve().parents[1]


def test_page_context_finds_the_archive_through_the_environment(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from xmodal.book import ENV_ARCHIVES, page_context

    write_run(tmp_path / "runs" / "hand", "C-s1+s2-nall-seed0", "C", ["s1", "s2"])
    ctx = page_context(runs_dir=tmp_path / "runs", study="hand")
    monkeypatch.setenv(ENV_ARCHIVES, str(tmp_path / "archives"))
    assert ctx.long_profile("tuned") is None
    write_tuned_archive(tmp_path / "archives")
    found = ctx.long_profile("tuned")
    assert found is not None and found.archived and found.archive.path == tmp_path / "archives" / "tuned.json"


@pytest.mark.slow
def test_pages_without_tuned_runs_or_archive_say_how_to_make_them(
        tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from nbclient import NotebookClient

    from xmodal.book import ENV_ARCHIVES, ENV_RUNS, ENV_STUDY

    study_dir = tmp_path_factory.mktemp("runs") / "hand"  # a study written by hand: no training
    probs = {s: [[1.0, 0.0], [0.0, 1.0], [0.6, 0.4]] for s in ("s1", "s2")}
    for seed in (0, 1):
        for name, method, sensors in (("baseline-s1", "baseline", ["s1"]), ("baseline-s2", "baseline", ["s2"]),
                                      ("C-s1+s2", "C", ["s1", "s2"])):
            write_run(study_dir, f"{name}-nall-seed{seed}", method, sensors, seed=seed, probs=probs,
                      config_hash=f"{seed}{len(name):02d}" + "0" * 9)
    monkeypatch.setenv(ENV_RUNS, str(study_dir.parent))
    monkeypatch.setenv(ENV_STUDY, study_dir.name)
    monkeypatch.setenv(ENV_ARCHIVES, str(tmp_path_factory.mktemp("no-archives")))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    assert not (study_dir.parent / "tuned").exists()
    tuning = nbformat.read(ROOT / "book" / "tuning.ipynb", as_version=4)
    results = nbformat.read(ROOT / "book" / "results.ipynb", as_version=4)
    code = [c for c in results.cells if c.cell_type == "code"]
    results.cells = [code[0], *section(results.cells, "## The verdicts again")]  # without the tuned profile,
    # the section reads nothing of the page above its setup cell
    for nb in (tuning, results):
        NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=False).execute()
        said = "\n".join(o.get("data", {}).get("text/markdown", "") for c in nb.cells if c.cell_type == "code"
                         for o in c.outputs)
        assert "The `tuned` profile has no finished run beside this study and no archive" in said
        assert "xmodal tune --study tuned --jobs 2 --data data/default" in said
        assert "xmodal archive --study tuned" in said
