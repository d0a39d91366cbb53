"""Shared fixtures: a local server for the sample data and executed chapters."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.data_server import DataServer
from tests.notebooks import ExecutedChapter, execute_chapter
from tests.sample_source import sample_data_folder

_executed: dict[str, ExecutedChapter] = {}


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """The folder holding hoa_heart.zarr/ that the tests serve.

    ../shared/data, else the copy data_helpers downloads (tests/sample_source.py).
    """
    return sample_data_folder()


@pytest.fixture
def data_server(sample_dir: Path, tmp_path: Path) -> Iterator[DataServer]:
    """Serve a private copy of the sample data (tests may damage the copy)."""
    root = tmp_path / "served"
    shutil.copytree(sample_dir / "hoa_heart.zarr", root / "hoa_heart.zarr")
    with DataServer(root) as server:
        yield server


@pytest.fixture
def heart_env(
    data_server: DataServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> DataServer:
    """Point data_helpers at the local server and an empty cache folder."""
    monkeypatch.setenv("DATA_HELPERS_URL", data_server.url)
    monkeypatch.setenv("DATA_HELPERS_CACHE", str(tmp_path / "cache"))
    return data_server


@pytest.fixture(scope="session")
def book_data_env(
    sample_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Serve the sample data for executed chapters, with a warmed cache."""
    cache = tmp_path_factory.mktemp("book-cache")
    saved = {k: os.environ.get(k) for k in ("DATA_HELPERS_URL", "DATA_HELPERS_CACHE")}
    with DataServer(sample_dir) as server:
        os.environ["DATA_HELPERS_URL"] = server.url
        os.environ["DATA_HELPERS_CACHE"] = str(cache)
        from data_helpers.sample_data import fetch_heart_data

        fetch_heart_data()  # download once here, so no chapter shows a progress bar
        yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def executed(book_data_env: None, tmp_path_factory: pytest.TempPathFactory):
    """Return a function that executes a chapter once per test session.

    Every OME-Zarr image the chapter makes is kept (``ome_images``).
    """

    def run(name: str) -> ExecutedChapter:
        if name not in _executed:
            folder = tmp_path_factory.mktemp(f"ome-{name}")
            _executed[name] = execute_chapter(name, collect_dir=folder)
        return _executed[name]

    return run


def pytest_terminal_summary(terminalreporter) -> None:
    if _executed:
        terminalreporter.section("chapter execution times")
        for name, chapter in sorted(_executed.items()):
            terminalreporter.write_line(f"{name}: {chapter.seconds:.1f} s")


@pytest.fixture
def dead_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (a port bound, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"
