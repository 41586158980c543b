"""How row-level data reach a run's workers and kernels without a file that could outlive them.

- The validated study (and the study's suppression pattern) travel with the tasks as bytes; a
  worker puts them in an anonymous in-memory file (`in_memory`: Linux ``memfd_create``) that its
  kernel reads through ``/proc/<worker>/fd/<n>``. The file has no name on any disk: it is gone
  the moment its worker ends, however it ends (a SIGKILL included).
- Each worker process keeps a 0700 folder (`process_folder`) for its kernel's connection file
  and sockets and for a unit's pages while they are made (published outputs only, no rows). It
  is removed when the worker exits; one left by a killed process is removed by the next command.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from kitbag_analysis import atomic

PREFIX = "kitbag-private-"
_FOLDER: dict[int, Path] = {}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(root: str | Path | None = None) -> list[Path]:
    """Remove private folders whose owning process has died (a SIGKILLed run's)."""
    root = Path(root or tempfile.gettempdir())
    removed = []
    for folder in root.glob(f"{PREFIX}*"):
        try:
            pid = int(folder.name.removeprefix(PREFIX).split("-")[0])
        except ValueError:
            continue
        if not _alive(pid):
            atomic.remove_tree(folder)
            removed.append(folder)
    return removed


def process_folder() -> Path:
    """This process's 0700 folder (made on first use, removed at exit)."""
    pid = os.getpid()
    folder = _FOLDER.get(pid)
    if folder is None or not folder.is_dir():
        remove_stale()
        folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{pid}-"))
        os.chmod(folder, 0o700)
        _FOLDER[pid] = folder
        atexit.register(atomic.remove_tree, folder)
    return folder


def remove_own() -> None:
    """Remove this process's folder now (its kernel ended: the run is over)."""
    folder = _FOLDER.pop(os.getpid(), None)
    if folder is not None:
        atomic.remove_tree(folder)


@contextlib.contextmanager
def in_memory(data: bytes, name: str = "kitbag-study") -> Iterator[str]:
    """``data`` in an anonymous in-memory file of this process, by a path its children (the
    kernel) can open while it is held; it vanishes with the block or with the process."""
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        yield f"/proc/{os.getpid()}/fd/{fd}"
    finally:
        os.close(fd)


__all__ = ["PREFIX", "in_memory", "process_folder", "remove_own", "remove_stale"]
