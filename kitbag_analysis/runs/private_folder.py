"""How row-level data reach a run's workers and kernels without a file that could outlive them.

- The validated study (and the study's suppression pattern) travel with the tasks as bytes; a
  worker puts them in an anonymous in-memory file (`in_memory`: Linux ``memfd_create``) that its
  kernel reads through ``/proc/<worker>/fd/<n>``. The file has no name on any disk: it is gone
  the moment its worker ends, however it ends (a SIGKILL included).
- Each worker process keeps a 0700 folder (`process_folder`) for its kernel's connection file
  and sockets and for a unit's pages while they are made (published outputs only, no rows). It
  is removed when the worker exits; one left by a killed process is removed by the next run (its
  name holds the process's pid and start time, so a dead worker nothing has reaped, a zombie, or
  a later process given the same pid does not keep it).
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


def started(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, from /proc), or None if there is no
    such process or it has died (a zombie: a SIGKILLed run's worker nothing has reaped yet)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] in ("Z", "X") else fields[19]


def _alive(pid: int, start: str | None) -> bool:
    """The process that made a folder still runs: its pid is alive and (where the folder names it)
    started when that process did (not a later process given the same pid)."""
    now = started(pid)
    return now is not None and (start is None or now == start)


def remove_stale(root: str | Path | None = None) -> list[Path]:
    """Remove private folders whose owning process has died (a SIGKILLed run's), zombies and
    reused pids included."""
    root = Path(root or tempfile.gettempdir())
    removed = []
    for folder in sorted(root.glob(f"{PREFIX}*")):
        parts = folder.name.removeprefix(PREFIX).split("-")
        if not parts[0].isdigit():
            continue
        start = parts[1] if len(parts) >= 3 and parts[1].isdigit() else None  # (an older folder: pid only)
        if not _alive(int(parts[0]), start):
            atomic.remove_tree(folder)
            removed.append(folder)
    return removed


def process_folder() -> Path:
    """This process's 0700 folder (made on first use, removed at exit)."""
    pid = os.getpid()
    folder = _FOLDER.get(pid)
    if folder is None or not folder.is_dir():
        remove_stale()
        folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{pid}-{started(pid)}-"))
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


__all__ = ["PREFIX", "in_memory", "process_folder", "remove_own", "remove_stale", "started"]
