"""The one atomic writer of the project.

Every file a run, a sweep, the synthetic generator or the book writes goes
through :func:`write_with`: the content is written to a temporary file in the
same folder (named ``.<name>.<pid>.<random>.tmp``), optionally flushed to disk
(``fsync``), and renamed over the target with :func:`os.replace`. A reader
therefore sees either the old file or the new one, never half of one. On any
failure (an exception, a full disk, Ctrl-C) the temporary file is removed; a
process killed with ``SIGKILL`` cannot clean up, so :func:`remove_stale_temps`
removes the temporaries of processes that no longer exist (or are zombies).

A full disk is reported as :class:`DiskFullError`, one line naming the folder
and how many bytes were being written.

This module sits at the bottom of the layers (it imports only the standard
library and numpy), so the data layer and the trainer can both use it.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import math
import os
import re
import secrets
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from xmodal.errors import EXIT_FAILED, XmodalError

__all__ = [
    "DiskFullError",
    "jsonable",
    "remove_stale_temps",
    "temp_name",
    "write_bytes",
    "write_json",
    "write_npz",
    "write_text",
    "write_with",
]

#: Temporary files of :func:`write_with`: ``.<target name>.<pid>.<random hex>.tmp``.
TEMP_RE = re.compile(r"^\.(?P<target>.+)\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp$")
#: Temporary files of earlier versions: ``.<target name>.tmp<pid>``.
_LEGACY_TEMP_RE = re.compile(r"^\.(?P<target>.+)\.tmp(?P<pid>\d+)$")


class DiskFullError(XmodalError, OSError):
    """No space left on the device while writing a file; the message names the folder."""

    exit_code = EXIT_FAILED


def temp_name(path: Path) -> Path:
    """A fresh temporary name beside ``path`` (same folder, so :func:`os.replace` is atomic)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def _disk_full(path: Path, nbytes: int | None, exc: OSError) -> DiskFullError:
    size = f"{nbytes / 1e6:.1f} MB" if nbytes is not None else "a file"
    return DiskFullError(
        errno.ENOSPC,
        f"No space left on the device of {path.parent} while writing {size} to {path.name}; "
        f"free some space there (or choose another folder) and run the command again: finished results are kept",
    )


def write_with(path: str | os.PathLike[str], writer: Callable[[Path], object], *, fsync: bool = True,
               nbytes: int | None = None) -> Path:
    """Write ``path`` atomically: ``writer(tmp)`` fills a temporary file that then replaces ``path``.

    Args:
        path: the target file; its folder is created when missing.
        writer: writes the complete content to the path it is given (what it returns is ignored).
        fsync: flush the file to disk before the rename (skip it for large, re-creatable files).
        nbytes: size of what is written, for the message of a full disk.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        DiskFullError: no space left on the device (the temporary file is removed).
        OSError: any other failure to write (the temporary file is removed).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(target)
    try:
        writer(tmp)
        if fsync:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if exc.errno == errno.ENOSPC:
            raise _disk_full(target, nbytes, exc) from exc
        raise
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return target


def write_bytes(path: str | os.PathLike[str], data: bytes, *, fsync: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return write_with(path, lambda tmp: tmp.write_bytes(data), fsync=fsync, nbytes=len(data))


def write_text(path: str | os.PathLike[str], text: str, *, fsync: bool = True) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return write_bytes(path, text.encode("utf-8"), fsync=fsync)


def jsonable(obj: Any) -> Any:
    """Recursively turn numpy, torch and :class:`~pathlib.Path` values into JSON values.

    Non-finite floats become ``None`` (JSON has no NaN), tuples become lists.
    """
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if hasattr(obj, "tolist") and callable(obj.tolist) and type(obj).__module__.startswith("torch"):
        return jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return jsonable(obj.item())
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_json(path: str | os.PathLike[str], obj: Any, *, fsync: bool = True) -> Path:
    """Write ``obj`` as indented JSON (through :func:`jsonable`) to ``path`` atomically."""
    text = json.dumps(jsonable(obj), indent=2, allow_nan=False) + "\n"
    return write_text(path, text, fsync=fsync)


def write_npz(path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray], *, fsync: bool = True) -> Path:
    """Write ``arrays`` as a compressed ``.npz`` to ``path`` atomically."""
    buf = io.BytesIO()
    # typed Any: numpy's stub reads ``**arrays`` as possibly binding its ``allow_pickle: bool`` keyword
    named: dict[str, Any] = {k: np.asarray(v) for k, v in arrays.items()}
    np.savez_compressed(buf, **named)
    return write_bytes(path, buf.getvalue(), fsync=fsync)


def _read_stat(pid: int) -> str | None:
    """The line of ``/proc/<pid>/stat``, or ``None`` when it cannot be read (no such process, no ``/proc``)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None


def _proc_state(pid: int) -> str | None:
    """The state letter of ``pid`` (field 3 of ``/proc/<pid>/stat``: ``R``, ``S``, ``Z``...), or ``None`` if unknown."""
    stat = _read_stat(pid)
    if stat is None:
        return None
    # field 2 is the command name in parentheses, which may itself hold spaces and ')': the state follows the last ')'
    fields = stat.rpartition(")")[2].split()
    return fields[0] if fields else None


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs; a zombie (exited, not yet reaped by its parent) does not.

    In a container whose PID 1 does not reap, a killed writer stays a zombie
    forever: :func:`os.kill` still finds it, but it will never finish its write.
    """
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        pass
    return _proc_state(pid) not in ("Z", "X")  # zombie, or dead (X: should never be seen, but is not alive)


def remove_stale_temps(folder: str | os.PathLike[str], *, wait: float = 0.0) -> list[Path]:
    """Remove the temporary files left in ``folder`` by processes that no longer run.

    A process killed while writing (``SIGKILL``, a power cut) leaves its
    temporary file behind; this is called before a run starts in a folder.

    Args:
        folder: the folder to clean (not recursive).
        wait: seconds to wait for the other processes that wrote a temporary file here to end. A
            process just sent ``SIGKILL`` is still exiting for a moment (its pipes are already
            closed, so its parent has seen it die, but it is not yet a zombie): a caller that
            killed every writer of ``folder`` waits for them here. Temporaries of this process
            are never waited for or removed.

    Returns:
        The files removed.
    """
    removed: list[Path] = []
    d = Path(folder)
    if not d.is_dir():
        return removed
    deadline = time.monotonic() + max(0.0, wait)
    while True:
        waiting = False
        for p in d.iterdir():
            m = TEMP_RE.match(p.name) or _LEGACY_TEMP_RE.match(p.name)
            if not m:
                continue
            pid = int(m.group("pid"))
            if not _alive(pid):
                with contextlib.suppress(OSError):
                    p.unlink()
                    removed.append(p)
            elif pid != os.getpid():
                waiting = True
        if not waiting or time.monotonic() >= deadline:
            return removed
        time.sleep(0.05)
