"""Tests for tests/sample_source.py: where the tests' sample data come from."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from data_helpers import SampleDataError
from tests.data_server import DataServer
from tests.sample_source import sample_data_folder

HEART = "hoa_heart.zarr"


@pytest.fixture
def no_shared(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Point DATA_HELPERS_SHARED at a missing folder, as in a fresh clone."""
    missing = tmp_path / "no-shared"
    monkeypatch.setenv("DATA_HELPERS_SHARED", str(missing))
    monkeypatch.setenv("DATA_HELPERS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("DATA_HELPERS_REQUIRE_DATA", raising=False)
    return missing


def outcome() -> str:
    """What ``sample_data_folder()`` did: its folder, ``skip: ...`` or ``fail: ...``.

    A skip must not skip the test that checks for something else.
    """
    try:
        return str(sample_data_folder())
    except pytest.skip.Exception as skipped:
        return f"skip: {skipped}"
    except pytest.fail.Exception as failed:
        return f"fail: {failed}"


def test_the_shared_copy_comes_first(
    sample_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, dead_url: str
) -> None:
    shared = tmp_path / "shared"
    shutil.copytree(sample_dir / HEART, shared / HEART)
    monkeypatch.setenv("DATA_HELPERS_SHARED", str(shared))
    monkeypatch.setenv("DATA_HELPERS_URL", dead_url)  # nothing is downloaded
    assert outcome() == str(shared)


def test_without_the_shared_copy_the_download(
    no_shared: Path, heart_env: DataServer, tmp_path: Path
) -> None:
    # heart_env serves a copy of the data and points DATA_HELPERS_URL at it.
    folder = tmp_path / "cache"
    assert outcome() == str(folder)
    served = sorted(p.name for p in (heart_env.root / HEART).iterdir())
    assert sorted(p.name for p in (folder / HEART).iterdir()) == served
    assert len(heart_env.requests) == len(served) == 13


def test_no_copy_skips_saying_why(
    no_shared: Path, monkeypatch: pytest.MonkeyPatch, dead_url: str
) -> None:
    monkeypatch.setenv("DATA_HELPERS_URL", dead_url)
    message = outcome()
    assert message.startswith(
        f"skip: No copy of the sample data for the tests: {no_shared} holds no {HEART}/"
    )
    assert dead_url in message  # the URL tried, from data_helpers' own message
    assert "DATA_HELPERS_URL" in message and "DATA_HELPERS_SHARED" in message


def test_no_copy_fails_when_required(
    no_shared: Path, monkeypatch: pytest.MonkeyPatch, dead_url: str
) -> None:
    monkeypatch.setenv("DATA_HELPERS_URL", dead_url)
    monkeypatch.setenv("DATA_HELPERS_REQUIRE_DATA", "1")  # as .ci/run sets it
    assert outcome().startswith(
        f"fail: No copy of the sample data for the tests: {no_shared}"
    )


def test_a_damaged_download_is_an_error_not_a_skip(
    no_shared: Path, heart_env: DataServer
) -> None:
    served = heart_env.root / HEART / ".zarray"
    served.chmod(0o644)
    served.write_bytes(served.read_bytes() + b" ")
    with pytest.raises(SampleDataError, match="does not match its SHA-256 hash"):
        outcome()
