"""The explorer's error."""

from __future__ import annotations

from xmodal.errors import EXIT_FAILED, XmodalError

__all__ = ["ExplorerError"]


class ExplorerError(XmodalError, RuntimeError):
    """The explorer cannot be built; the message says what is missing."""

    exit_code = EXIT_FAILED
