"""Tests for data_helpers.sample_data: real pooch downloads from a local server."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pooch
import pytest
import zarr

from data_helpers import SampleDataError, load_heart_data, sample_data
from tests.data_server import DataServer

HEART = "hoa_heart.zarr"
SHAPE = (120, 120, 139)
REPO_ROOT = Path(__file__).resolve().parents[1]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def source_files(sample_dir: Path) -> list[Path]:
    return sorted((sample_dir / HEART).iterdir())


def expected_request_paths(sample_dir: Path) -> set[str]:
    return {f"/{HEART}/{path.name}" for path in source_files(sample_dir)}


@pytest.fixture(scope="module")
def source_array(sample_dir: Path) -> np.ndarray:
    """The heart image read directly from the tests' copy (see conftest.py)."""
    store = zarr.storage.LocalStore(sample_dir / HEART, read_only=True)
    return zarr.open_array(store=store, mode="r", zarr_format=2)[:]


@pytest.fixture
def cache(heart_env: DataServer) -> Path:
    """The (initially missing) cache folder that heart_env points at."""
    return Path(os.environ["DATA_HELPERS_CACHE"])


def cache_hashes(cache: Path) -> dict[str, str]:
    return {
        path.relative_to(cache).as_posix(): sha256(path)
        for path in cache.rglob("*")
        if path.is_file()
    }


def assert_cache_valid(cache: Path) -> None:
    """Every registry file is cached with the right hash, and nothing else is."""
    registry = {k: v.split(":", 1)[1] for k, v in sample_data._registry().items()}
    assert cache_hashes(cache) == registry


# --------------------------------------------------------------------------
# Registry, defaults and overrides
# --------------------------------------------------------------------------


def test_registry_has_the_real_hash_of_every_file(sample_dir: Path) -> None:
    # Without ../shared/data, sample_dir is a download that pooch checked against
    # the registry on the way in: a wrong hash fails there (tests/sample_source.py).
    registry = sample_data._registry()
    assert len(registry) == 13
    files = source_files(sample_dir)
    expected = {f"{HEART}/{p.name}": f"sha256:{sha256(p)}" for p in files}
    assert registry == expected


def test_default_cache_dir_is_the_os_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATA_HELPERS_CACHE", raising=False)
    assert sample_data.cache_dir() == Path(pooch.os_cache("data_helpers"))
    monkeypatch.setenv("DATA_HELPERS_CACHE", "")  # empty counts as unset
    assert sample_data.cache_dir() == Path(pooch.os_cache("data_helpers"))


def test_cache_dir_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DATA_HELPERS_CACHE", str(tmp_path / "elsewhere"))
    assert sample_data.cache_dir() == tmp_path / "elsewhere"


def test_default_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATA_HELPERS_URL", raising=False)
    assert sample_data.base_url() == sample_data.DEFAULT_URL
    assert sample_data.base_url().startswith("https://")
    assert sample_data.base_url().endswith("/book/data/")


@pytest.mark.parametrize(
    "value", ["http://mirror.example/data", "http://mirror.example/data/"]
)
def test_base_url_override(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("DATA_HELPERS_URL", value)
    assert sample_data.base_url() == "http://mirror.example/data/"


@pytest.mark.parametrize("slash", ["", "/"])
def test_download_from_url_with_a_sub_folder(
    heart_env: DataServer,
    monkeypatch: pytest.MonkeyPatch,
    source_array: np.ndarray,
    sample_dir: Path,
    slash: str,
) -> None:
    (heart_env.root / "mirror").mkdir()
    (heart_env.root / HEART).rename(heart_env.root / "mirror" / HEART)
    monkeypatch.setenv("DATA_HELPERS_URL", heart_env.url + "mirror" + slash)
    np.testing.assert_array_equal(load_heart_data(), source_array)
    expected = {"/mirror" + p for p in expected_request_paths(sample_dir)}
    assert set(heart_env.requests) == expected


# --------------------------------------------------------------------------
# Downloading and loading
# --------------------------------------------------------------------------


def test_numpy_array_equals_the_source(
    heart_env: DataServer, cache: Path, source_array: np.ndarray
) -> None:
    array = load_heart_data("numpy")
    assert type(array) is np.ndarray
    assert array.dtype == np.uint8 == source_array.dtype
    assert array.shape == SHAPE == source_array.shape
    np.testing.assert_array_equal(array, source_array)
    assert_cache_valid(cache)


def test_default_array_type_is_numpy(heart_env: DataServer) -> None:
    assert type(load_heart_data()) is np.ndarray


def test_zarr_array_equals_the_source_and_is_read_only(
    heart_env: DataServer, cache: Path, source_array: np.ndarray
) -> None:
    array = load_heart_data("zarr")
    assert isinstance(array, zarr.Array)
    assert array.read_only
    assert array.dtype == np.uint8
    assert array.shape == SHAPE
    np.testing.assert_array_equal(array[:], source_array)
    # The array lives in the cache, not somewhere else.
    assert Path(str(array.store.root)).resolve() == (cache / HEART).resolve()


def test_writing_to_the_zarr_array_fails_and_leaves_the_cache_alone(
    heart_env: DataServer, cache: Path, source_array: np.ndarray
) -> None:
    array = load_heart_data("zarr")
    before = cache_hashes(cache)
    with pytest.raises(ValueError, match="read-only"):
        array[0, 0, 0] = 255
    with pytest.raises(ValueError, match="read-only"):
        array[:] = 0
    with pytest.raises(ValueError, match="read-only"):
        array.resize((10, 10, 10))
    assert cache_hashes(cache) == before
    np.testing.assert_array_equal(load_heart_data(), source_array)


def test_second_load_makes_no_request(heart_env: DataServer, sample_dir: Path) -> None:
    load_heart_data()
    assert len(heart_env.requests) == 13
    assert set(heart_env.requests) == expected_request_paths(sample_dir)
    heart_env.requests.clear()
    load_heart_data()
    load_heart_data("zarr")
    assert heart_env.requests == []


def test_progress_bar_on_first_load_only(
    heart_env: DataServer, capfd: pytest.CaptureFixture[str]
) -> None:
    capfd.readouterr()
    load_heart_data()
    first = capfd.readouterr()
    assert "100%" in first.err  # tqdm's bar, one per downloaded file
    assert re.search(r"\|[^|\n]*\| *[\d.]+k?/[\d.]+k?", first.err), first.err
    assert first.out == ""
    load_heart_data()
    load_heart_data("zarr")
    second = capfd.readouterr()
    assert second.err == ""
    assert second.out == ""


def test_unknown_array_type(heart_env: DataServer) -> None:
    with pytest.raises(ValueError, match=r"Unknown array_type 'dask'.*use 'numpy'"):
        load_heart_data("dask")  # type: ignore[call-overload]
    assert heart_env.requests == []  # checked before anything is downloaded


# --------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------


def test_corrupt_served_file(heart_env: DataServer, cache: Path) -> None:
    served = heart_env.root / HEART / "0.1.1"
    served.chmod(0o644)
    data = bytearray(served.read_bytes())
    data[100] ^= 0xFF
    served.write_bytes(bytes(data))
    with pytest.raises(
        SampleDataError,
        match=r"'hoa_heart\.zarr/0\.1\.1'.*does not match its SHA-256 hash.*"
        r"fix the mirror or unset DATA_HELPERS_URL",
    ):
        load_heart_data()
    assert not (cache / HEART / "0.1.1").exists()
    # Only files that passed their check are in the cache (no temporary files).
    registry = {k: v.split(":", 1)[1] for k, v in sample_data._registry().items()}
    for name, digest in cache_hashes(cache).items():
        assert registry.get(name) == digest, name


def test_missing_served_file(heart_env: DataServer, cache: Path) -> None:
    (heart_env.root / HEART / "1.0.2").unlink()
    with pytest.raises(
        SampleDataError, match=r"Could not download .*hoa_heart\.zarr/1\.0\.2.*404"
    ):
        load_heart_data()
    assert not (cache / HEART / "1.0.2").exists()


def test_unreachable_server(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, dead_url: str
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("DATA_HELPERS_URL", dead_url)
    monkeypatch.setenv("DATA_HELPERS_CACHE", str(cache))
    with pytest.raises(SampleDataError) as info:
        load_heart_data()
    message = str(info.value)
    assert f"{dead_url}{HEART}/" in message  # the URL tried
    assert str(cache) in message
    assert "DATA_HELPERS_URL" in message
    assert "DATA_HELPERS_CACHE" in message
    assert "network connection" in message


@pytest.mark.parametrize("name", ["0.0.1", ".zarray"])
@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_damaged_cached_file_is_downloaded_again(
    heart_env: DataServer,
    cache: Path,
    source_array: np.ndarray,
    name: str,
    damage: str,
) -> None:
    load_heart_data()
    cached = cache / HEART / name
    data = cached.read_bytes()
    if damage == "truncate":
        cached.write_bytes(data[: len(data) // 2])
    else:
        flipped = bytes(b ^ 0xFF for b in data[-8:])
        cached.write_bytes(data[:-8] + flipped)
        assert cached.stat().st_size == len(data)
    heart_env.requests.clear()

    np.testing.assert_array_equal(load_heart_data(), source_array)
    assert heart_env.requests == [f"/{HEART}/{name}"]
    assert_cache_valid(cache)


def test_damaged_cached_file_is_never_used_offline(
    heart_env: DataServer, cache: Path, monkeypatch: pytest.MonkeyPatch, dead_url: str
) -> None:
    load_heart_data()
    cached = cache / HEART / "0.0.1"
    cached.write_bytes(cached.read_bytes()[:1000])
    monkeypatch.setenv("DATA_HELPERS_URL", dead_url)
    with pytest.raises(SampleDataError, match=r"Could not download .*0\.0\.1"):
        load_heart_data()
    with pytest.raises(SampleDataError, match=r"Could not download .*0\.0\.1"):
        load_heart_data("zarr")


# --------------------------------------------------------------------------
# Several processes at once
# --------------------------------------------------------------------------

_WORKER = """
import hashlib, sys, time
from pathlib import Path
from data_helpers import load_heart_data

ready, go = Path(sys.argv[1]), Path(sys.argv[2])
ready.touch()
deadline = time.monotonic() + 30
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.001)
array = load_heart_data()
print(array.dtype, array.shape, hashlib.sha256(array.tobytes()).hexdigest())
"""


def test_four_processes_load_at_once(
    heart_env: DataServer, cache: Path, tmp_path: Path, source_array: np.ndarray
) -> None:
    n = 4
    go = tmp_path / "go"
    ready = [tmp_path / f"ready{i}" for i in range(n)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(ready[i]), str(go)],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(n)
    ]
    try:
        deadline = time.monotonic() + 30
        while not all(r.exists() for r in ready) and time.monotonic() < deadline:
            time.sleep(0.005)
        go.touch()  # start all downloads at the same moment
        results = [proc.communicate(timeout=60) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for proc, (_, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
    expected = f"uint8 {SHAPE} {hashlib.sha256(source_array.tobytes()).hexdigest()}"
    assert [out.strip() for out, _ in results] == [expected] * n
    assert_cache_valid(cache)  # every file intact, no temporary files left
