"""The data page's world knobs and calibrated-world sections, executed with and without the calibrated archive.

The whole data page needs the study's data; these two sections read only the page context (the
study's runs) and the ``calibrated`` profile's archive, found through ``XMODAL_ARCHIVES``. So this
test executes the page's imports and these sections' cells, as the page has them, on hand-written
runs (no training), once with the hand-made archive and once without any.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from calibrated_archive import write_calibrated_archive
from hand_tables import write_run
from notebook_sections import section

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ("## The world knobs", "## Calibrated to the paper's Baselines")


def _page(study_dir: Path, archives: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, int]:
    """The sections' Markdown and text outputs, and how many figures they drew."""
    import nbformat
    from nbclient import NotebookClient

    from xmodal.book import ENV_ARCHIVES, ENV_RUNS, ENV_STUDY

    monkeypatch.setenv(ENV_RUNS, str(study_dir.parent))
    monkeypatch.setenv(ENV_STUDY, study_dir.name)
    monkeypatch.setenv(ENV_ARCHIVES, str(archives))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(ROOT / "book" / "data.ipynb", as_version=4)
    setup = next(c for c in nb.cells if c.cell_type == "code")
    lines = setup.source.splitlines()
    setup.source = "\n".join(lines[:lines.index("ctx = page_context()") + 1])  # not the data: hand-written runs
    nb.cells = [setup] + [c for h in SECTIONS for c in section(nb.cells, h)]
    NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=False).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    said = "\n".join(o.get("data", {}).get("text/markdown", "") + o.get("data", {}).get("text/html", "")
                     for o in outputs)
    return said, sum("image/png" in o.get("data", {}) for o in outputs)


@pytest.mark.slow
def test_data_page_renders_the_calibrated_archive_and_says_how_to_make_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    study_dir = tmp_path / "runs" / "hand"
    probs = {s: [[1.0, 0.0], [0.0, 1.0], [0.6, 0.4]] for s in ("s1", "s2")}
    for name, sensors in (("baseline-s1", ["s1"]), ("baseline-s2", ["s2"])):
        write_run(study_dir, f"{name}-nall-seed0", "baseline", sensors, probs=probs,
                  config_hash=f"{len(name):02d}" + "0" * 10)
    archives = tmp_path / "archives"
    write_calibrated_archive(archives)
    said, figures = _page(study_dir, archives, monkeypatch)
    assert "s1_contrast" in said and "modality_n_train" in said  # the knob table and paragraph
    assert "archived results of profile 'calibrated' (commit fedcba9, 2026-12-05)" in said
    assert "generator seed 1 instead of the study's" in said
    assert "0.634 ± 0.010 (n=3) ← chosen" in said and "kept (scored before)" in said
    assert "**within** ± 0.02 of the target 0.63" in said and "**outside** ± 0.02 of the target 0.77" in said
    assert "never the land cover" in said
    assert "The calibrated world is not the default world" in said and "54 minutes" in said
    assert figures == 1
    said, figures = _page(study_dir, tmp_path / "no-archives", monkeypatch)
    assert "The `calibrated` profile has no finished run beside this study and no archive" in said
    assert "xmodal calibrate --study calibrated --jobs 2" in said and "xmodal archive --study calibrated" in said
    assert "s1_contrast" in said and figures == 0
