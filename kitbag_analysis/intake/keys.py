"""The LA's secret pseudonymisation key, and pseudonyms made with it (study-data.md, "Intake").

A key file holds exactly 32 random bytes (from `secrets`), created with mode 0600 and never
overwritten. The pseudonym of a raw id is the participant's prefix and the first 16 hex digits
of HMAC-SHA256(key, "<participant_type>:<raw id>").
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

import pandas as pd

from data_contracts.errors import UnusableInput
from data_contracts.participants import BY_TYPE
from kitbag_analysis import atomic

KEY_BYTES = 32
HEX_DIGITS = 16


def new_key(out: str | Path) -> Path:
    """Write a fresh key to ``out`` (mode 0600; a missing folder is made, mode 0700); an existing
    file is never overwritten."""
    out = Path(out)
    try:
        out.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise UnusableInput(f"{out.parent}: cannot make the key file's folder ({exc.strerror}).") from None
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise UnusableInput(
            f"{out}: already exists; a key is never overwritten (the pseudonyms of every earlier return "
            "depend on it). Choose another path, or keep using this key."
        ) from None
    except OSError as exc:
        raise UnusableInput(f"{out}: cannot be created ({exc.strerror}).") from None
    try:
        os.write(fd, secrets.token_bytes(KEY_BYTES))
        os.fsync(fd)
    finally:
        os.close(fd)
    atomic.fsync_dir(out.parent)
    return out


def read_key(path: str | Path) -> tuple[bytes, str | None]:
    """The key's bytes, and a warning when the file can be read by others than its owner."""
    path = Path(path)
    if not path.is_file():
        raise UnusableInput(f"{path}: no such key file. Make one with `kitbag key new --out KEYFILE`.")
    key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise UnusableInput(f"{path}: is not a key made by `kitbag key new` (it must hold exactly {KEY_BYTES} bytes).")
    loose = path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO)
    warning = f"{path} can be read by others than its owner; run `chmod 600 {path}`." if loose else None
    return key, warning


def pseudonym(key: bytes, participant_type: str, raw_id: str) -> str:
    """The pseudonym of one raw id: prefix + first 16 hex digits of the keyed hash."""
    digest = hmac.new(key, f"{participant_type}:{raw_id}".encode(), hashlib.sha256).hexdigest()
    return BY_TYPE[participant_type].prefix + digest[:HEX_DIGITS]


def pseudonyms(key: bytes, participant_type: str, raw_ids: pd.Series) -> pd.Series:
    """Pseudonyms of a column of raw ids (each distinct id hashed once; blank stays blank)."""
    codes, uniques = pd.factorize(raw_ids, use_na_sentinel=True)
    hashed = pd.array([pseudonym(key, participant_type, str(u)) for u in uniques] + [None], dtype=object)
    return pd.Series(hashed[codes], index=raw_ids.index, dtype=object)
