"""Where outputs are written: every file and folder the workbench publishes goes through here.

A write is atomic and durable: the new content goes to a temporary sibling (same folder, so the
same file system), is flushed and fsynced, renamed over the target, and the folder is fsynced so
the rename itself survives a power cut. Readers see the old or the new content, never a part.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path


def sha256(path: str | Path) -> str:
    """The file's SHA-256, hex."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def fsync_dir(folder: str | Path) -> None:
    """Make the folder's entries (a rename, a new file) durable."""
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sibling(path: str | Path, tag: str) -> Path:
    """A hidden, unique temporary name beside ``path`` (same folder, same file system)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{tag}-{uuid.uuid4().hex[:8]}")


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def replace(source: str | Path, target: str | Path) -> None:
    """Rename ``source`` over ``target`` (same folder) and make the rename durable."""
    os.replace(source, target)
    fsync_dir(Path(target).parent)


def write_with(path: str | Path, writer: Callable[[Path], None], tag: str = "tmp") -> Path:
    """Atomically create or replace ``path`` with what ``writer(temporary path)`` writes."""
    path = Path(path)
    tmp = sibling(path, tag)
    try:
        writer(tmp)
        _fsync_file(tmp)
        replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Atomically create or replace a UTF-8 text file."""
    return write_with(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Atomically create or replace a binary file."""
    return write_with(path, lambda tmp: tmp.write_bytes(data))


def staged_file(path: str | Path, writer: Callable[[Path], None], tag: str = "staged") -> Path:
    """Write a fsynced temporary sibling of ``path`` and return it, for a caller that renames
    several files in an order of its own (`replace` each when all are written)."""
    tmp = sibling(path, tag)
    try:
        writer(tmp)
        _fsync_file(tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def write_private_text(path: str | Path, text: str) -> Path:
    """Atomically create or replace a UTF-8 text file readable by its owner only: the temporary
    file is created with mode 0600 (never widened, never chmod-ed after)."""

    def writer(tmp: Path) -> None:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)

    return write_with(path, writer)


def overwrite_and_unlink(path: str | Path) -> None:
    """Overwrite a file's bytes with zeros in place, fsync, then unlink it.

    What this does: the file's current blocks on an ordinary in-place file system (ext4, xfs) no
    longer hold the old bytes, and its name is gone. What it cannot promise: copy-on-write or
    log-structured file systems (btrfs, ZFS, APFS), SSD wear levelling, snapshots and backups may
    keep older copies; so may blocks freed by earlier replacements of the same file.
    """
    path = Path(path)
    with open(path, "r+b") as handle:
        size = os.fstat(handle.fileno()).st_size
        for start in range(0, size, 1 << 20):
            handle.write(b"\0" * min(1 << 20, size - start))
        handle.flush()
        os.fsync(handle.fileno())
    path.unlink()
    fsync_dir(path.parent)


def publish_dir(staged: str | Path, final: str | Path, step: Callable[[str], None] | None = None) -> None:
    """Put the folder ``staged`` at ``final`` by renames only: a reader sees the old folder or
    the new one. The old one is moved aside first (``.NAME.old-*``, whole: `restore_aside` puts it
    back if the process dies before the swap), then, after the swap, renamed ``.NAME.trash-*``
    and removed. ``step`` is called after each rename (``aside``, ``swapped``, ``trashed``)."""
    staged, final = Path(staged), Path(final)
    step = step or (lambda _name: None)
    aside = sibling(final, "old")
    try:
        if final.exists() or final.is_symlink():
            os.replace(final, aside)
            fsync_dir(final.parent)
            step("aside")
        os.replace(staged, final)
    except BaseException:
        if (aside.exists() or aside.is_symlink()) and not final.exists():
            os.replace(aside, final)
        raise
    fsync_dir(final.parent)
    if aside.exists() or aside.is_symlink():
        step("swapped")
        trash = sibling(final, "trash")
        os.replace(aside, trash)
        step("trashed")
        remove_tree(trash)


def restore_aside(final: str | Path) -> Path | None:
    """When nothing is at ``final``, put back the folder a killed `publish_dir` had moved aside
    (``.NAME.old-*``, the last moved if several); returns what was restored. Call it, with the
    folder's lock held, before removing any other leftover."""
    final = Path(final)
    if final.exists() or final.is_symlink():
        return None
    moved = sorted(final.parent.glob(f".{final.name}.old-*"), key=lambda p: p.lstat().st_ctime_ns)
    if not moved:
        return None
    os.replace(moved[-1], final)
    fsync_dir(final.parent)
    return moved[-1]


def remove_tree(path: str | Path) -> None:
    """Remove a file or folder if present (a symlink is unlinked, never followed)."""
    path = Path(path)
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.exists():
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def staging_dir(final: str | Path, tag: str = "staging") -> Iterator[Path]:
    """A fresh hidden sibling folder of ``final``; removed unless the caller published it."""
    staged = sibling(final, tag)
    staged.mkdir(parents=True)
    try:
        yield staged
    finally:
        remove_tree(staged)


@contextlib.contextmanager
def exclusive(name: str) -> Iterator[None]:
    """Hold the lock called ``name`` for the block, leaving no file anywhere: an abstract Unix
    socket (Linux) bound for the block, released by the kernel however the process ends (a
    SIGKILL included). Raise `BlockingIOError` at once if another process holds it."""
    lock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        lock.bind("\0kitbag-lock-" + hashlib.sha256(name.encode()).hexdigest()[:40])
    except OSError:
        lock.close()
        raise BlockingIOError(f"the lock {name!r} is held by another process") from None
    try:
        yield
    finally:
        lock.close()


def folder_lock_name(kind: str, folder: str | Path) -> str:
    """The lock of a folder by what it is, not by the name it was given: its device and inode, so
    every name of it (a symlink, a relative path, a bind mount) meets the same lock. A folder that
    does not exist (yet) is locked as `entry_lock_name` locks it."""
    try:
        found = os.stat(folder)
    except OSError:
        return entry_lock_name(kind, folder)
    return f"{kind}:dev={found.st_dev}:ino={found.st_ino}"


def entry_lock_name(kind: str, path: str | Path) -> str:
    """The lock of a name in a folder (an output folder that is replaced by renames, so has no
    inode of its own to key by): its parent's device and inode, and the name."""
    path = Path(path).absolute()
    parent = os.stat(path.parent)
    return f"{kind}:dev={parent.st_dev}:ino={parent.st_ino}:{path.name}"


__all__ = [
    "entry_lock_name",
    "exclusive",
    "folder_lock_name",
    "fsync_dir",
    "overwrite_and_unlink",
    "publish_dir",
    "remove_tree",
    "replace",
    "restore_aside",
    "sha256",
    "sibling",
    "staged_file",
    "staging_dir",
    "write_bytes",
    "write_text",
    "write_private_text",
    "write_with",
]
