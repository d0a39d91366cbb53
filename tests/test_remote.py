"""Tests for data_helpers.remote (and checking images on S3), against moto's server."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import zarr
from zarr.storage import FsspecStore, LocalStore

import data_helpers.ome  # noqa: F401  (before pydantic_zarr.v3: see its comment)
from data_helpers.check import CheckError, check_image
from data_helpers.pyramid import write_pyramid
from data_helpers.remote import is_remote, open_store, s3_options

BUCKET = "images"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A real S3 API (moto's server) on 127.0.0.1 and a free port."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_env(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """The standard AWS variables pointing at the test server, and a bucket."""
    for name, value in {
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "eu-west-1",
        "AWS_ALLOW_HTTP": "true",
        # No settings from the machine's own AWS files.
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    import s3fs

    fs = s3fs.S3FileSystem(**s3_options(), skip_instance_cache=True)
    if not fs.exists(BUCKET):
        fs.mkdir(BUCKET)
    return s3_endpoint


def small_image(store, zarr_format: int = 2) -> None:
    """A three-level pyramid of a smooth (z, y, x) uint16 image, in ``store``."""
    z, y, x = np.mgrid[0:21, 0:30, 0:34].astype(np.float32)
    image = (1000 * (np.sin(z / 5) + np.cos(y / 7) + np.sin(x / 9)) + 4000).astype(
        "uint16"
    )
    if zarr_format == 3:
        from pydantic_zarr.v3 import ArraySpec

        spec = ArraySpec.from_array(
            image,
            chunk_grid={"name": "regular", "configuration": {"chunk_shape": (16,) * 3}},
            codecs=[
                {"name": "bytes", "configuration": {"endian": "little"}},
                {"name": "zstd", "configuration": {"level": 3, "checksum": False}},
            ],
        )
    else:
        from pydantic_zarr.v2 import ArraySpec

        blosc = {"id": "blosc", "cname": "zstd", "clevel": 3, "shuffle": 2}
        spec = ArraySpec.from_array(
            image, chunks=(16, 16, 16), compressor=blosc, dimension_separator="/"
        )
    write_pyramid(store, spec, image, voxel_size=(1.0, 1.0, 1.0), levels=3)


def test_is_remote() -> None:
    assert is_remote("s3://bucket/a.zarr") and is_remote("HTTPS://host/a.zarr")
    assert not is_remote("data/a.zarr") and not is_remote(Path("s3:/x"))


def test_s3_options_from_the_environment() -> None:
    env = {
        "AWS_ENDPOINT_URL": "https://s3.example.org",
        "AWS_ACCESS_KEY_ID": "key",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    assert s3_options(env) == {
        "key": "key",
        "secret": "secret",
        "client_kwargs": {
            "endpoint_url": "https://s3.example.org",
            "region_name": "eu-west-1",
        },
    }
    assert s3_options({**env, "AWS_REGION": "us-east-2"})["client_kwargs"][
        "region_name"
    ] == ("us-east-2")
    assert s3_options({}) == {}  # AWS itself, credentials from botocore's chain
    with pytest.raises(ValueError, match="set AWS_ALLOW_HTTP=true"):
        s3_options({"AWS_ENDPOINT_URL": "http://127.0.0.1:9000"})
    allowed = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9000", "AWS_ALLOW_HTTP": "true"}
    assert s3_options(allowed)["client_kwargs"]["endpoint_url"].startswith("http:")


def test_local_and_http_stores(tmp_path: Path) -> None:
    local = open_store(tmp_path / "a.zarr", "w")
    assert isinstance(local, LocalStore) and not local.read_only
    assert open_store(tmp_path / "a.zarr").read_only
    web = open_store("http://127.0.0.1:9/a.zarr/")
    assert (
        isinstance(web, FsspecStore) and web.read_only and web.path.endswith("a.zarr")
    )
    with pytest.raises(ValueError, match="can be read, not written"):
        open_store("http://127.0.0.1:9/a.zarr", "w")
    with pytest.raises(ValueError, match="mode must be"):
        open_store(tmp_path, "a")  # type: ignore[arg-type]


def test_write_and_read_back_on_s3(s3_env: str) -> None:
    url = f"s3://{BUCKET}/written.ome.zarr"
    small_image(open_store(url, "w"))
    group = zarr.open_group(open_store(url), mode="r")
    assert group["1"].shape == (11, 15, 17)
    with pytest.raises(ValueError, match="read-only"):
        zarr.open_group(open_store(url), mode="r")["0"][0, 0, 0] = 1


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_check_an_image_on_s3(s3_env: str, zarr_format: int) -> None:
    url = f"s3://{BUCKET}/good-{zarr_format}.ome.zarr"
    small_image(open_store(url, "w"), zarr_format)
    result = check_image(url, deep=True, workers=2)
    assert result.problems == [] and result.information == [], result.text()
    level0 = result.summary.levels[0]
    assert level0.stored == level0.in_grid == 2 * 2 * 3  # S3 lists
    assert level0.bytes_stored and level0.bytes_stored > 0


def test_a_cut_chunk_on_s3_exits_1(s3_env: str) -> None:
    url = f"s3://{BUCKET}/cut.ome.zarr"
    store = open_store(url, "w")
    small_image(store)
    import s3fs

    fs = s3fs.S3FileSystem(**s3_options(), skip_instance_cache=True)
    key = f"{BUCKET}/cut.ome.zarr/0/1/1/2"
    whole = fs.cat(key)
    fs.pipe(key, whole[:20])
    done = subprocess.run(
        [sys.executable, "-m", "data_helpers.check", url, "--deep"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr
    problems = [line for line in done.stdout.splitlines() if line.startswith("PROB")]
    assert problems == [
        "PROBLEM chunk 0/1/1/2: cannot be decoded (its Blosc header says "
        f"{len(whole)} bytes, but 20 are stored): the stored object is cut short "
        "or corrupt, so readers fail on it or show wrong voxels."
    ]


def test_nothing_there_on_s3_exits_2(s3_env: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "data_helpers.check", f"s3://{BUCKET}/none.ome.zarr"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "is not a Zarr group (no zarr.json or .zgroup there)" in done.stderr


def test_plain_http_endpoint_needs_allow_http(
    s3_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ALLOW_HTTP")
    with pytest.raises(CheckError, match="set AWS_ALLOW_HTTP=true"):
        check_image(f"s3://{BUCKET}/good-2.ome.zarr")
