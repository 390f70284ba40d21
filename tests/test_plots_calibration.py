"""The calibration figure: drawn from the report layer's tables, with the target band, the chosen value, a caption."""

from __future__ import annotations

from pathlib import Path

import pytest
from calibrated_archive import CHOSEN, write_calibrated_archive

from xmodal import plots, report


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> report.ProfileSource:
    folder = tmp_path_factory.mktemp("archives")
    write_calibrated_archive(folder)
    found = report.calibration_source(Path(folder) / "no-runs", folder)
    assert found is not None
    return found


def _caption(fig: object) -> str:
    return " ".join(t.get_text() for t in fig.texts)  # type: ignore[attr-defined]


def test_calibration_figure_marks_target_band_chosen_value_and_test_score(source: report.ProfileSource) -> None:
    import matplotlib.pyplot as plt

    record = report.calibration_record(source)
    assert record is not None
    fig = plots.calibration_figure(record, source.source, report.achieved_table(source))
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["S1: s1_contrast", "S2: s2_noise"]
    s1, s2 = fig.axes[0], fig.axes[1]
    assert s1.get_xlim() == (0.5, 3.0) and s2.get_xlim() == (0.0, 1.5)
    legend = [t.get_text() for t in s1.get_legend().get_texts()]
    assert "target 0.63 ± 0.02" in legend and f"chosen s1_contrast = {CHOSEN['s1_contrast']:g}" in legend
    assert "test scenes, 10 seeds (95% interval)" in legend
    band = [p for p in s1.patches if p.get_label().startswith("target")]
    assert len(band) == 1
    span = band[0]  # a Rectangle (matplotlib >= 3.9) or a Polygon
    ys = [span.get_y(), span.get_y() + span.get_height()] if hasattr(span, "get_height") \
        else [v[1] for v in span.get_xy()]
    assert min(ys) == pytest.approx(0.61) and max(ys) == pytest.approx(0.65)
    rounds = sorted(t.get_text() for t in s1.texts)
    assert rounds == ["r0", "r1", "r2"] and sorted(t.get_text() for t in s2.texts) == ["r0", "r1"]
    caption = _caption(fig)
    assert "3 rounds" in caption and "over 3 seeds" in caption and "generator seed 1" in caption
    assert "archived results of profile 'calibrated'" in caption and "Diamond" in caption
    plt.close(fig)
    bare = plots.calibration_figure(record)
    assert "Diamond" not in _caption(bare) and "Data:" not in _caption(bare)
    plt.close(bare)
