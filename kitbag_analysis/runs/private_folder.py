"""The run's private folder, outside the report folder: the validated study the kernels load,
the analyses and the suppression pattern they share, the kernels' sockets.

It holds row-level data, so it is created mode 0700 in the system's temporary folder, removed on
every exit path of the run, and a folder left by a killed run (its owner's process is gone) is
removed by the next run.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import tempfile
from collections.abc import Iterator
from pathlib import Path

from kitbag_analysis import atomic

PREFIX = "kitbag-private-"
STUDY_FILE = "study.pkl"


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


@contextlib.contextmanager
def private_folder(study: object) -> Iterator[Path]:
    """A 0700 folder holding ``study`` pickled (0600); removed when the run ends, however."""
    remove_stale()
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
    os.chmod(folder, 0o700)
    try:
        path = folder / STUDY_FILE
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(study, handle, protocol=pickle.HIGHEST_PROTOCOL)
        yield folder
    finally:
        atomic.remove_tree(folder)


__all__ = ["PREFIX", "STUDY_FILE", "private_folder", "remove_stale"]
