"""`kitbag key new` and the pseudonyms made with a key (study-data.md, "Intake")."""

from __future__ import annotations

import hashlib
import hmac
import re
import stat
from pathlib import Path

import pandas as pd

from data_contracts.participants import PARTICIPANTS
from kitbag_analysis.cli import main
from kitbag_analysis.intake.keys import pseudonym, pseudonyms, read_key


def test_key_new_is_32_random_bytes_mode_0600(tmp_path: Path, capsys) -> None:
    a, b = tmp_path / "a.key", tmp_path / "b.key"
    assert main(["key", "new", "--out", str(a)]) == 0
    assert main(["key", "new", "--out", str(b)]) == 0
    assert len(a.read_bytes()) == 32 and a.read_bytes() != b.read_bytes()
    assert stat.S_IMODE(a.stat().st_mode) == 0o600
    printed = capsys.readouterr()
    assert a.read_bytes().hex() not in printed.out + printed.err


def test_key_new_refuses_to_overwrite(tmp_path: Path, capsys) -> None:
    path = tmp_path / "la.key"
    assert main(["key", "new", "--out", str(path)]) == 0
    before = path.read_bytes()
    capsys.readouterr()
    assert main(["key", "new", "--out", str(path)]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "never overwritten" in err and "Traceback" not in err
    assert path.read_bytes() == before


def test_key_new_makes_a_private_folder_and_refuses_one_it_cannot_make(tmp_path: Path, capsys) -> None:
    assert main(["key", "new", "--out", str(tmp_path / "keys" / "la.key")]) == 0
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    (tmp_path / "file").write_text("x")
    assert main(["key", "new", "--out", str(tmp_path / "file" / "la.key")]) == 2
    assert "cannot make" in capsys.readouterr().err


def test_pseudonym_is_prefix_and_16_hex_of_hmac_sha256() -> None:
    key = bytes(range(32))
    for p in PARTICIPANTS:
        expected = hmac.new(key, f"{p.type}:BX0012345".encode(), hashlib.sha256).hexdigest()[:16]
        made = pseudonym(key, p.type, "BX0012345")
        assert made == p.prefix + expected
        assert re.fullmatch(p.id_pattern, made)


def test_pseudonyms_hash_each_distinct_id_and_keep_blanks() -> None:
    key = bytes(32)
    ids = pd.Series(["A1", None, "B2", "A1"])
    made = pseudonyms(key, "child", ids)
    assert made[0] == made[3] == pseudonym(key, "child", "A1")
    assert made[1] is None and made[2] == pseudonym(key, "child", "B2")
    # the participant type is part of what is hashed
    assert pseudonym(key, "child", "A1")[1:] != pseudonym(key, "carer", "A1")[1:]


def test_read_key_refuses_a_file_of_the_wrong_length_and_warns_when_loose(tmp_path: Path) -> None:
    short = tmp_path / "short.key"
    short.write_bytes(b"0" * 31)
    try:
        read_key(short)
        raise AssertionError("a 31-byte key was accepted")
    except Exception as exc:  # UnusableInput
        assert "exactly 32 bytes" in str(exc) and getattr(exc, "exit_code", None) == 2
    loose = tmp_path / "loose.key"
    loose.write_bytes(bytes(32))
    loose.chmod(0o644)
    assert read_key(loose)[1] and "chmod 600" in read_key(loose)[1]
    loose.chmod(0o600)
    assert read_key(loose)[1] is None
