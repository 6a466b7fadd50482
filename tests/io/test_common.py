"""Atomic writes: complete or absent, with the permissions a plain open() would give."""

import os

import pytest

from treemarket.io.common import write_atomic, write_json


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_atomic_files_follow_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        write_json(tmp_path / "a.json", {"x": 1})
        with open(tmp_path / "b.txt", "w") as handle:  # what a plain open() gives
            handle.write("x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o666 & ~umask
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == (
        tmp_path / "b.txt"
    ).stat().st_mode & 0o777


def test_a_failed_write_leaves_nothing(tmp_path):
    def broken(handle):
        handle.write("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomic(tmp_path / "x.json", broken)
    assert list(tmp_path.iterdir()) == []


def test_a_folder_or_an_unwritable_place_is_a_one_line_model_error(tmp_path):
    from treemarket.errors import ModelError

    with pytest.raises(ModelError, match="is a folder"):
        write_json(tmp_path, {"x": 1})
    (tmp_path / "file").write_text("x")
    with pytest.raises(ModelError, match="cannot be written"):
        write_json(tmp_path / "file" / "below.json", {"x": 1})
