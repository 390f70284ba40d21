"""Cutting a book page into its sections, for the tests that execute part of a page."""

from __future__ import annotations


def section(cells: list, heading: str) -> list:
    """The cells of one section: from its heading to the next heading of the same level."""
    start = next(i for i, c in enumerate(cells) if c.source.startswith(heading))
    level = heading.split(" ")[0] + " "
    end = next((i for i in range(start + 1, len(cells))
                if cells[i].cell_type == "markdown" and cells[i].source.startswith(level)), len(cells))
    return cells[start:end]
