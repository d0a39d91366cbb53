"""Tests for data_helpers.files.get_directory_contents."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from data_helpers import get_directory_contents


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "folder"
    root.mkdir()
    for name in ["b.txt", ".zarray", "A", "0.0.1", "0.0.0", ".hidden_dir/"]:
        if name.endswith("/"):
            (root / name).mkdir()
            (root / name / "inside").write_text("x")
        else:
            (root / name).write_text("x")
    (root / "sub").mkdir()
    (root / "sub" / "nested.txt").write_text("x")
    return root


def test_sorted_hidden_included_direct_children_only(folder: Path) -> None:
    assert get_directory_contents(folder) == [
        ".hidden_dir",
        ".zarray",
        "0.0.0",
        "0.0.1",
        "A",
        "b.txt",
        "sub",
    ]


def test_accepts_str(folder: Path) -> None:
    assert get_directory_contents(str(folder)) == get_directory_contents(folder)


def test_empty_directory(tmp_path: Path) -> None:
    assert get_directory_contents(tmp_path) == []


def test_returns_names_not_paths(folder: Path) -> None:
    assert all("/" not in name for name in get_directory_contents(folder))


def test_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(
        FileNotFoundError,
        match=rf"No such directory: {re.escape(repr(str(missing)))}.*Check the path",
    ):
        get_directory_contents(missing)


def test_path_is_a_file(folder: Path) -> None:
    file = folder / "b.txt"
    with pytest.raises(
        NotADirectoryError,
        match=rf"{re.escape(repr(str(file)))} is a file.*Pass the folder",
    ):
        get_directory_contents(file)
