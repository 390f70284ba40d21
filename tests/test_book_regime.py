"""The regime page executed: against the hand-made regime archive, and with neither runs nor archive."""

from __future__ import annotations

from pathlib import Path

import pytest
from hand_tables import write_run
from regime_archive import write_regime_archive

ROOT = Path(__file__).resolve().parents[1]


def _study(folder: Path) -> Path:
    """A study written by hand (no training): the page context the page needs."""
    study_dir = folder / "hand"
    probs = {s: [[1.0, 0.0], [0.0, 1.0], [0.6, 0.4]] for s in ("s1", "s2")}
    for seed in (0, 1):
        write_run(study_dir, f"baseline-s1-nall-seed{seed}", "baseline", ["s1"], seed=seed, probs=probs,
                  config_hash=f"{seed}" * 12)
    return study_dir


def _said(nb: object) -> str:
    return "\n".join(o.get("data", {}).get("text/markdown", "") for c in nb.cells  # type: ignore[attr-defined]
                     if c.cell_type == "code" for o in c.outputs)


def _execute(monkeypatch: pytest.MonkeyPatch, study_dir: Path, archives: Path) -> object:
    import nbformat
    from nbclient import NotebookClient

    from xmodal.book import ENV_ARCHIVES, ENV_RUNS, ENV_STUDY

    monkeypatch.setenv(ENV_RUNS, str(study_dir.parent))
    monkeypatch.setenv(ENV_STUDY, study_dir.name)
    monkeypatch.setenv(ENV_ARCHIVES, str(archives))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(ROOT / "book" / "regime.ipynb", as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=False).execute()
    return nb


def test_the_page_follows_the_tuning_page_in_the_toc() -> None:
    toc = (ROOT / "_toc.yml").read_text()
    assert "      - file: book/tuning\n      - file: book/regime\n" in toc


@pytest.mark.slow
def test_the_page_renders_the_archived_map_and_its_computed_sentences(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from xmodal import report

    study_dir = _study(tmp_path / "runs")
    write_regime_archive(tmp_path / "archives")
    nb = _execute(monkeypatch, study_dir, tmp_path / "archives")
    said = _said(nb)
    source = report.regime_source(tmp_path / "runs", tmp_path / "archives")
    assert source is not None and source.archived
    assert "archived results of profile 'regime' (commit fedcba9, 2027-01-15)" in said
    assert "These are **archived** results" in said
    for sentence in report.regime_sentences(source.differences, source.axes, source.calibrated,
                                            source=source.source):
        assert sentence in said
    assert "**C lifts S1** (C − Baseline weighted F1 on S1, its 95% interval above 0) in 1 of the 9 cells: " \
           "s1_contrast 1, n_train_s1 72" in said
    assert "**How long it took:** the 3 worlds' 90 runs took **2.0 h**" in said
    html = "\n".join(o.get("data", {}).get("text/html", "") for c in nb.cells  # type: ignore[attr-defined]
                     if c.cell_type == "code" for o in c.outputs)
    assert "s1_contrast" in html and "calibrated" in html  # the knobs and the map's table


@pytest.mark.slow
def test_the_page_without_runs_or_archive_says_how_to_make_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    study_dir = _study(tmp_path / "runs")
    (tmp_path / "no-archives").mkdir()
    nb = _execute(monkeypatch, study_dir, tmp_path / "no-archives")
    said = _said(nb)
    assert "The `regime` profile has no finished run beside this study and no archive" in said
    assert "`make regime`" in said and "xmodal regime --study regime --jobs 2" in said
    assert "xmodal archive --study regime" in said
