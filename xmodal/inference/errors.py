"""The errors and warnings of inference: one line naming the file (or run folder) and what is wrong."""

from __future__ import annotations

from xmodal.errors import XmodalError

__all__ = ["InferenceError", "InferenceWarning"]


class InferenceError(XmodalError, ValueError):
    """A run folder cannot be used as a model, or a scene cannot be classified with it.

    The message names the file or folder, what is wrong and what to do; the ``xmodal``
    command prints it as one line and exits with code 2.
    """


class InferenceWarning(UserWarning):
    """The input can be classified, but probably not as meant (e.g. S1 in linear power, not dB)."""
