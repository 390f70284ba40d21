"""The package's one exception base, and the exit code each kind of error means.

Every error the package raises on purpose is an :class:`XmodalError`; each layer
defines its own subclass beside its code (the data layer's
:class:`~xmodal.data.errors.Sen12MSError`, the config's
:class:`~xmodal.config.ConfigError`, the run folder's
:class:`~xmodal.rundir.RunFolderError`, training's, the sweep's, the results',
the clouds', the book's, the explorer's). A subclass also derives from the
built-in exception it used to be (``ValueError``, ``FileNotFoundError``,
``RuntimeError``), so ``except ValueError`` keeps working for callers.

The command line maps an error to its exit code by class, through
:attr:`XmodalError.exit_code`: :data:`EXIT_BAD_INPUT` (2) when what the user gave is
wrong (an option, a config value, a study, the data), :data:`EXIT_FAILED` (1) when
the input was fine but the work could not be done (a page that failed to build).
"""

from __future__ import annotations

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "XmodalError"]

#: Exit code of a command given bad input (options, config, study, data).
EXIT_BAD_INPUT = 2
#: Exit code of a command whose work failed (failed runs, a page that did not build, a full disk).
EXIT_FAILED = 1


class XmodalError(Exception):
    """Base of every error the package raises on purpose; its message names the file or value and the fix.

    Attributes:
        exit_code: the ``xmodal`` command's exit code for this error (class attribute).
    """

    exit_code: int = EXIT_BAD_INPUT
