"""What every figure module shares: the class colours, and how a figure or table goes on a book page."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go
    from IPython.display import HTML
    from pandas.io.formats.style import Styler

__all__ = ["CLASS_COLORS", "plotly_html", "show_plotly", "show_table"]

#: Colours of the simplified land-cover classes (those of the IEEE GRSS DFC2020).
CLASS_COLORS: dict[str, str] = {
    "Forest": "#009900", "Shrubland": "#c6b044", "Savanna": "#fbff13", "Grassland": "#b6ff05",
    "Wetland": "#27ff87", "Cropland": "#c24f44", "Urban": "#a5a5a5", "Snow/Ice": "#69fff8",
    "Barren": "#f9ffa4", "Water": "#1c0dff",
}


def plotly_html(fig: go.Figure, div_id: str | None = None) -> str:
    """A plotly figure as an HTML fragment without plotly.js and without links to plotly's servers.

    The book serves its own copy of plotly.js, so pages work offline.
    """
    return str(fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                           config={"displaylogo": False, "responsive": True}))


def show_table(table: pd.DataFrame, precision: int = 3) -> Styler:
    """A table for a book page: no index column, no truncated cells, ``precision`` decimals."""
    return table.style.hide(axis="index").format(precision=precision, na_rep="–")


def show_plotly(fig: go.Figure, div_id: str | None = None) -> HTML:
    """Display a plotly figure in a notebook page of the book (see :func:`plotly_html`)."""
    from IPython.display import HTML

    return HTML(plotly_html(fig, div_id))
