"""The per-installation secret file: made once, owner-only, shared by every reader."""
from __future__ import annotations

import stat

import pytest

from app.installation_secrets import read_or_create


def test_made_once_owner_only_and_read_back_the_same(tmp_path):
    path = tmp_path / "instance" / "some-secret"
    first = read_or_create(path)
    assert len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_or_create(path) == first
    assert [p.name for p in path.parent.iterdir()] == ["some-secret"]   # no draft left behind


def test_a_damaged_file_is_refused_rather_than_used(tmp_path):
    path = tmp_path / "short"
    path.write_text("tooshort")
    with pytest.raises(RuntimeError, match="holds no usable token"):
        read_or_create(path, what="token")
