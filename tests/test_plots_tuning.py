"""The tuning figures: drawn from the report layer's tables, each with a caption naming its data and n."""

from __future__ import annotations

from pathlib import Path

import pytest
from tuned_archive import MODELS, write_tuned_archive

from xmodal import plots, report


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> report.ProfileSource:
    folder = tmp_path_factory.mktemp("archives")
    write_tuned_archive(folder)
    found = report.profile_source(Path(folder) / "no-runs", "tuned", folder)
    assert found is not None
    return found


def _caption(fig: object) -> str:
    return " ".join(t.get_text() for t in fig.texts)  # type: ignore[attr-defined]


def _panels(fig: object) -> list[str]:
    return [ax.get_title() for ax in fig.axes if ax.get_visible() and ax.get_title()]  # type: ignore[attr-defined]


def test_tuning_history_figure(source: report.ProfileSource) -> None:
    import matplotlib.pyplot as plt

    assert source.tuning is not None
    fig = plots.tuning_history_figure(report.tuning_history(source.tuning), source.source)
    assert _panels(fig) == ["Baseline S1", "Baseline S2", "C", "C+M", "C+T", "C+T+M"]
    caption = _caption(fig)
    assert "48 trials of 6 models" in caption and "archived results of profile 'tuned'" in caption
    assert "synthetic SEN12MS-like data" in caption
    plt.close(fig)


def test_importance_figure(source: report.ProfileSource) -> None:
    import matplotlib.pyplot as plt

    assert source.tuning is not None
    fig = plots.importance_figure(report.importance_table(source.tuning), source.source)
    assert len(_panels(fig)) == len(MODELS)
    assert "6 models" in _caption(fig) and "archived" in _caption(fig)
    plt.close(fig)
    empty = plots.importance_figure(report.importance_table({"settings": {}, "importance": {}}), "S")
    assert "0 models" in _caption(empty)
    plt.close(empty)


def test_tuned_curves_figure_marks_the_kept_steps(source: report.ProfileSource) -> None:
    import matplotlib.pyplot as plt

    curves = report.validation_table(source.runs, source.results)
    fig = plots.tuned_curves_figure(report.curve_summary(curves), report.stopping_table(curves), curves,
                                    source.source)
    assert len(_panels(fig)) == len(MODELS)
    assert "18 runs of 6 models" in _caption(fig) and "archived" in _caption(fig)
    first = fig.axes[0]
    dashed = [ln for ln in first.get_lines() if ln.get_linestyle() == "--"]
    assert [ln.get_xdata()[0] for ln in dashed] == [250.0]  # Baseline S1's mean kept step
    plt.close(fig)
