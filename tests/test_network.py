"""Stores from URLs, the local S3 server, and the request counts of remote reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import zarr

from data_helpers.local_s3 import LocalS3
from data_helpers.network_reads import AccessPattern, measure_read, open_image
from data_helpers.remote import (
    TRANSFER_OPTIONS,
    RemoteError,
    open_store,
    s3_filesystem,
    s3_options,
)
from data_helpers.serve import FolderServer


def test_transfer_options() -> None:
    """One GET per chunk (no HEAD first) and bounded retries, for every s3 store."""
    assert TRANSFER_OPTIONS["max_concurrency"] == 1
    store = open_store("s3://bucket/x.zarr")
    assert store.fs.max_concurrency == 1 and store.fs.retries == 1
    with pytest.raises(RemoteError, match="names no bucket"):
        open_store("s3:///x.zarr")
    with pytest.raises(RemoteError, match="set AWS_ALLOW_HTTP=true"):
        s3_options({"AWS_ENDPOINT_URL": "http://127.0.0.1:9000"})


def test_local_s3_round_trip_and_request_log(monkeypatch) -> None:
    with LocalS3() as s3:
        for name, value in s3.environment().items():
            monkeypatch.setenv(name, value)
        assert s3.endpoint_url.startswith("http://127.0.0.1:")
        s3.create_bucket("box")
        array = zarr.create_array(
            open_store("s3://box/a.zarr", "w"), shape=(4, 4), chunks=(2, 2), dtype="u1"
        )
        array[:] = np.arange(16, dtype="u1").reshape(4, 4)
        s3.requests.clear()
        read = zarr.open_array(open_store("s3://box/a.zarr"), mode="r", zarr_format=3)
        assert np.array_equal(read[:2, :2], [[0, 1], [4, 5]])
        paths = [(r.method, r.path, r.status) for r in s3.requests]
        assert paths == [
            ("GET", "/box/a.zarr/zarr.json", 200),
            ("GET", "/box/a.zarr/c/0/0", 200),
        ]
    with LocalS3() as again:  # moto keeps buckets per process: reset on start
        for name, value in again.environment().items():
            monkeypatch.setenv(name, value)
        assert s3_filesystem().ls("", refresh=True) == []


def test_measure_read_counts_chunks_and_waits(tmp_path: Path) -> None:
    group = zarr.open_group(tmp_path / "image.zarr", mode="w", zarr_format=2)
    group.attrs["multiscales"] = [{"datasets": [{"path": "0"}]}]
    level = group.create_array("0", shape=(8, 8, 8), chunks=(4, 4, 4), dtype="u1")
    level[:] = 1
    with FolderServer(tmp_path) as server:
        arrays = open_image(server.url + "image.zarr", zarr_format=2)
        slab = AccessPattern("slab", 0, (slice(0, 4), slice(None), slice(None)))
        cost = measure_read(server, arrays, slab)
        assert (cost.requests, cost.bytes_needed) == (4, 4 * 8 * 8)
        assert cost.bytes_sent == sum(
            (tmp_path / "image.zarr" / "0" / f"0.{j}.{k}").stat().st_size
            for j in (0, 1)
            for k in (0, 1)
        )
        slow = measure_read(server, arrays, slab, latency=0.05, concurrency=1)
        assert slow.requests == 4 and slow.seconds >= 4 * 0.05
        assert server.delay == 0.0  # restored
