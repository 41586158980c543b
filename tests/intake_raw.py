"""Shared helpers for the intake tests: synthetic raw LA folders, keys, and the leak check."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from kitbag_analysis.synthetic.generate import SynthSpec
from kitbag_analysis.synthetic.raw_folders import IDENTIFIERS, write_raw

RAW_SPEC = SynthSpec(seed=7, children=400)
SLUGS = ("bexley", "haringey", "oxfordshire", "warwickshire")
KEYS = {slug: bytes(range(k, k + 32)) for k, slug in enumerate(SLUGS)}  # fixed keys: reproducible tests


@pytest.fixture(scope="session", name="raw_master")
def raw_master_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Raw folders (one per LA) of the small synthetic study, written once per session."""
    return write_raw(tmp_path_factory.mktemp("rawmaster") / "raw", RAW_SPEC)


@pytest.fixture(name="raw")
def raw_fixture(raw_master: Path, tmp_path: Path) -> Path:
    """A fresh copy of the raw folders that a test may corrupt."""
    return Path(shutil.copytree(raw_master, tmp_path / "raw"))


def key_file(folder: Path, slug: str) -> Path:
    path = folder / f"{slug}.key"
    if not path.exists():
        path.write_bytes(KEYS[slug])
        path.chmod(0o600)
    return path


def read_raw_text(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def identifier_values(raw_dir: Path) -> set[str]:
    """Every value of a direct identifier or raw id in one LA's raw folder (names split too)."""
    values: set[str] = set()
    for file, columns in IDENTIFIERS.items():
        frame = read_raw_text(raw_dir / file)
        for column in columns:
            for value in frame[column]:
                if value:
                    values |= {value, value.replace(" ", "")}
                    if column == "name":
                        values |= set(value.split(" "))
    return values


def squash(text: str) -> str:
    """Printed text with whitespace and table borders removed (a wrapped cell joined up)."""
    return re.sub(r"[\s│┃━─┏┓┗┛┡┩┣┫╇╋┳┻└┘┌┐├┤┼┬┴]", "", text)


def files_bytes(*folders: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for folder in folders for p in sorted(folder.rglob("*")) if p.is_file()}


BASE64_RUN = re.compile(r"[A-Za-z0-9+/=\n]{200,}")


def assert_no_leak(
    values: set[str], keys: list[bytes], blobs: dict[object, bytes], printed: str, images: bool = False
) -> None:
    """No identifier value, nor a key (raw bytes or hex), in any output byte or printed line.

    ``images``: the files embed base64 images (a report bundle), whose runs of random letters
    and digits are blanked before the search for identifier values (a short name would match
    there by chance); the keys are searched for in every byte regardless.
    """
    secrets = {s for key in keys for s in (key, key.hex().encode(), key.hex().upper().encode())}
    squashed = squash(printed)
    for where, blob in blobs.items():
        for s in secrets:
            assert s not in blob, f"the key is in {where}"
        text = blob.decode("utf-8", errors="replace")
        text = BASE64_RUN.sub(" ", text) if images else text
        leaked = [v for v in values if v in text]
        assert not leaked, f"{len(leaked)} identifier value(s) in {where}"
    for s in secrets:
        assert s.decode("latin-1") not in printed
    leaked = [v for v in values if v in printed or v.replace(" ", "") in squashed]
    assert not leaked, f"{len(leaked)} identifier value(s) printed"
