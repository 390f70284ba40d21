"""The cloud evaluation's error (one class for the package :mod:`xmodal.clouds`)."""

from __future__ import annotations

from xmodal.errors import XmodalError

__all__ = ["CloudEvalError"]


class CloudEvalError(XmodalError, ValueError):
    """The cloud evaluation cannot run or its files cannot be read; the message names what and where."""
