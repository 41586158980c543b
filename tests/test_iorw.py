"""Atomic, durable writes: readers see the old content or the new, never a part."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from kitbag_analysis import atomic


def test_write_text_replaces_whole_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    target.write_text("old")
    atomic.write_text(target, "new")
    assert target.read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


def test_a_failing_writer_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "a.csv"
    target.write_text("old")

    def broken(tmp: Path) -> None:
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic.write_with(target, broken)
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]


def test_publish_dir_swaps_whole_folders(tmp_path: Path) -> None:
    final = tmp_path / "unit"
    final.mkdir()
    (final / "old.html").write_text("old")
    with atomic.staging_dir(final) as staged:
        (staged / "new.html").write_text("new")
        atomic.publish_dir(staged, final)
    assert [p.name for p in final.iterdir()] == ["new.html"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["unit"]  # no staging or old copy left


def test_staging_is_removed_when_not_published(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), atomic.staging_dir(tmp_path / "unit") as staged:
        (staged / "x").write_text("x")
        raise RuntimeError
    assert list(tmp_path.iterdir()) == []


def test_sha256(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"kitbag")
    assert atomic.sha256(path) == hashlib.sha256(b"kitbag").hexdigest()
