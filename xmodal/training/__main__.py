"""``python -m xmodal.training``: the ``xmodal train`` command, in the form ``torchrun`` starts.

::

    python -m xmodal.training --config run.yaml --set method=C+T+M --out runs/by-hand
    torchrun --nproc-per-node 4 -m xmodal.training --config run.yaml --out runs/big

It *is* ``xmodal train`` (:mod:`xmodal.cli`): the same options, the same identity of the
config (:func:`~xmodal.training.run.identified_config`: the data root checked and its
fingerprint recorded, so the same training lands in the same run folder whichever command
started it), the same one-line errors and exit codes. Under ``torchrun`` only rank 0 prints.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``xmodal train`` with ``argv`` (default: the command line's arguments); returns its exit code."""
    from xmodal.cli import main as cli_main

    return cli_main(["train", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
