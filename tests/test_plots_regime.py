"""The regime map's heatmaps: the panels, the marked cells exactly the significant ones, the calibrated outline."""

from __future__ import annotations

from pathlib import Path

import pytest
from regime_archive import CALIBRATED_CELL, write_regime_archive

from xmodal import plots, report
from xmodal.plots.regime import CALIBRATED_LABEL, SIGNIFICANT_GID
from xmodal.report import regime as rr


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> rr.RegimeSource:
    folder = tmp_path_factory.mktemp("archives")
    write_regime_archive(folder)
    found = report.regime_source(Path(folder) / "no-runs", folder)
    assert found is not None
    return found


def test_heatmaps_mark_exactly_the_significant_cells_and_outline_the_calibrated_world(
        source: rr.RegimeSource) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    diffs = source.differences
    fig = plots.regime_heatmaps(diffs, source.axes, source.calibrated, source=source.source)
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.get_title()]
    titles = [ax.get_title() for ax in panels]
    assert titles == [rr.panel_title(*p) for p in rr.regime_panels(diffs)]
    assert titles == ["C − Baseline, S1 weighted F1", "C − Baseline, S2 weighted F1", "C − Baseline, homogeneity",
                      "C+T+M − Baseline, S1 weighted F1", "C+T+M − Baseline, S2 weighted F1",
                      "C+T+M − Baseline, homogeneity"]
    rows, cols = ["1", "1.8", "2.6"], ["72", "290", "all"]
    for ax, (q, m, s) in zip(panels, rr.regime_panels(diffs), strict=True):
        marked = {(rows[int(t.get_position()[1])], cols[int(t.get_position()[0])])
                  for t in ax.texts if t.get_gid() == SIGNIFICANT_GID}
        sig = rr.map_grid(diffs, source.axes, q, m, s, "significant")
        expected = {(r, c) for r in rows for c in cols if sig.loc[r, c]}
        assert marked == expected, (q, m, s)
        outlines = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_label() == CALIBRATED_LABEL]
        assert len(outlines) == 1
        x, y = outlines[0].get_xy()
        assert (rows[int(y)], cols[int(x)]) == ("1.8", "all")
        assert ax.get_xlabel() == "n_train_s1 (patches)" and ax.get_ylabel() == "s1_contrast (x)"
        assert [t.get_text() for t in ax.get_xticklabels()] == cols
        assert [t.get_text() for t in ax.get_yticklabels()] == rows
    total = sum(t.get_gid() == SIGNIFICANT_GID for ax in panels for t in ax.texts)
    assert total == int(diffs["significant"].sum()) == 9
    # the annotation of a cell: its estimate and interval
    first = [t.get_text() for t in panels[0].texts if t.get_gid() != SIGNIFICANT_GID]
    assert "+0.060\n[+0.050, +0.070]" in first
    caption = " ".join(t.get_text() for t in fig.texts)
    assert "synthetic" in caption and "archived results of profile 'regime'" in caption
    assert "not adjusted for the 9 cells" in caption.replace("\n", " ")
    assert CALIBRATED_CELL == (1.8, None)
    plt.close(fig)


def test_shared_symmetric_scale_per_quantity_and_no_outline_without_a_calibrated_cell(
        source: rr.RegimeSource) -> None:
    import matplotlib.pyplot as plt

    fig = plots.regime_heatmaps(source.differences, source.axes, None, source="S")
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.get_title()]
    limits = {ax.get_title(): ax.collections[0].get_clim() for ax in panels}
    f1 = {v for k, v in limits.items() if "F1" in k}
    hom = {v for k, v in limits.items() if "homogeneity" in k}
    assert len(f1) == 1 and len(hom) == 1
    (lo, hi), = f1
    assert lo == -hi and hi == pytest.approx(0.06)
    (lo, hi), = hom
    assert lo == -hi and hi == pytest.approx(0.05)
    assert not any(p.get_label() == CALIBRATED_LABEL for ax in panels for p in ax.patches)
    plt.close(fig)
