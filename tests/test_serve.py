"""The folder server answers as an object store does: ranges, HEAD, CORS, no escape."""

from __future__ import annotations

import http.client
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from data_helpers.serve import FolderServer, parse_range

DATA = bytes(range(256)) * 4  # 1024 bytes, each byte its offset modulo 256


@pytest.fixture
def served(tmp_path: Path):
    root = tmp_path / "site"
    (root / "image.zarr").mkdir(parents=True)
    (root / "image.zarr" / "chunk").write_bytes(DATA)
    (root / "image.zarr" / ".zattrs").write_text("{}")
    (tmp_path / "secret.txt").write_text("outside")
    (root / "link").symlink_to(tmp_path / "secret.txt")
    with FolderServer(root) as server:
        yield server


def request(server: FolderServer, method: str, path: str, **headers: str):
    host, port = server._httpd.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.request(method, path, headers=headers)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response, body


def test_whole_file_and_dotfiles(served: FolderServer) -> None:
    response, body = request(served, "GET", "/image.zarr/chunk")
    assert response.status == 200 and body == DATA
    assert response.getheader("Accept-Ranges") == "bytes"
    response, body = request(served, "GET", "/image.zarr/.zattrs")
    assert response.status == 200 and body == b"{}"
    assert response.getheader("Content-Type") == "application/octet-stream"


@pytest.mark.parametrize(
    ("header", "start", "stop"),
    [
        ("bytes=10-19", 10, 20),
        ("bytes=1000-", 1000, 1024),
        ("bytes=-16", 1008, 1024),
        ("bytes=1000-5000", 1000, 1024),
        ("bytes=-5000", 0, 1024),
    ],
)
def test_ranges(served: FolderServer, header: str, start: int, stop: int) -> None:
    response, body = request(served, "GET", "/image.zarr/chunk", Range=header)
    assert response.status == 206
    assert body == DATA[start:stop]
    assert response.getheader("Content-Range") == f"bytes {start}-{stop - 1}/1024"
    assert response.getheader("Content-Length") == str(stop - start)


def test_unsatisfiable_and_malformed_ranges(served: FolderServer) -> None:
    response, body = request(served, "GET", "/image.zarr/chunk", Range="bytes=2000-")
    assert response.status == 416 and body == b""
    assert response.getheader("Content-Range") == "bytes */1024"
    response, body = request(served, "GET", "/image.zarr/chunk", Range="bytes=0-1,4-5")
    assert response.status == 200 and body == DATA  # not a single range: ignored


def test_parse_range() -> None:
    assert parse_range("bytes=0-0", 10) == (0, 1)
    assert parse_range("bytes=-0", 10) is None
    with pytest.raises(ValueError, match="single byte range"):
        parse_range("items=0-1", 10)


def test_head_sends_headers_only(served: FolderServer) -> None:
    response, body = request(served, "HEAD", "/image.zarr/chunk")
    assert response.status == 200 and body == b""
    assert response.getheader("Content-Length") == "1024"
    response, body = request(served, "HEAD", "/image.zarr/chunk", Range="bytes=-4")
    assert response.status == 206 and body == b""
    assert response.getheader("Content-Range") == "bytes 1020-1023/1024"


def test_cors_and_preflight(served: FolderServer) -> None:
    response, _ = request(served, "GET", "/image.zarr/chunk", Origin="http://x.org")
    assert response.getheader("Access-Control-Allow-Origin") == "*"
    exposed = response.getheader("Access-Control-Expose-Headers")
    assert "Content-Range" in exposed and "Content-Length" in exposed
    response, body = request(
        served,
        "OPTIONS",
        "/image.zarr/chunk",
        Origin="http://x.org",
        **{"Access-Control-Request-Method": "GET"},
        **{"Access-Control-Request-Headers": "range"},
    )
    assert response.status == 204 and body == b""
    assert "Range" in response.getheader("Access-Control-Allow-Headers")
    assert "GET" in response.getheader("Access-Control-Allow-Methods")


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/image.zarr/%2E%2E/../secret.txt",
        "/link",
        "/image.zarr/..%2f..%2fsecret.txt",
        "/%2Fetc%2Fpasswd",
        "/",
        "/image.zarr",
    ],
)
def test_nothing_outside_the_folder_and_no_listing(
    served: FolderServer, path: str
) -> None:
    response, body = request(served, "GET", path)
    assert response.status == 404
    assert b"outside" not in body and b"root:" not in body


def test_binds_loopback_and_logs_requests(served: FolderServer) -> None:
    assert served.url.startswith("http://127.0.0.1:")
    request(served, "GET", "/image.zarr/chunk", Range="bytes=-16")
    request(served, "GET", "/missing")
    assert [
        (r.method, r.key, r.byte_range, r.status, r.nbytes) for r in served.requests
    ] == [
        ("GET", "image.zarr/chunk", "-16", 206, 16),
        ("GET", "missing", "all", 404, 0),
    ]


def test_delay_and_mounts(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "f").write_text("A")
    (tmp_path / "b" / "index.html").write_text("B")
    mounts = {"viewer": tmp_path / "b"}
    with FolderServer(tmp_path / "a", delay=0.2, mounts=mounts) as s:
        start = time.perf_counter()
        _, body = request(s, "GET", "/f")
        assert body == b"A" and time.perf_counter() - start >= 0.2
        _, body = request(s, "GET", "/viewer/")
        assert body == b"B"
        response, _ = request(s, "GET", "/viewer/../f")
        assert response.status == 404


def test_ipv6_address(tmp_path: Path) -> None:
    """An IPv6 address is served over IPv6 and written in brackets in the URL."""
    (tmp_path / "file").write_bytes(DATA)
    with FolderServer(tmp_path, host="::1") as server:
        assert server.url == f"http://[::1]:{server.port}/"
        with urllib.request.urlopen(f"{server.url}file") as response:
            assert response.read() == DATA


def test_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError, match="not a folder"):
        FolderServer(tmp_path / "missing")


def test_wait_idle_waits_for_the_log(served: FolderServer, monkeypatch) -> None:
    """A client has its answer before the server logs it: wait_idle bridges that."""
    record = served.record

    def slow_record(entry) -> None:  # widen the gap between answer and log
        time.sleep(0.2)
        record(entry)

    monkeypatch.setattr(served, "record", slow_record)
    start = len(served.requests)
    request(served, "GET", "/image.zarr/chunk", Range="bytes=0-9")
    served.wait_idle()
    assert len(served.requests) == start + 1
    assert served.requests[-1].nbytes == 10
    served.wait_idle(timeout=0.1)  # nothing in flight: returns at once


def test_serving_needs_only_the_standard_library() -> None:
    """.ci/run serves the sample data with the machine's Python, before nox has
    made an environment with zarr and dask: importing the server must not
    import them (data_helpers imports its modules on first use)."""
    code = (
        "import sys, tests.data_server\n"
        "heavy = {'zarr', 'dask', 'numpy', 'matplotlib'} & set(sys.modules)\n"
        "print(sorted(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert result.stdout.strip() == "[]"


def test_package_names_load_on_first_use() -> None:
    import data_helpers

    assert data_helpers.level_shape((5, 4, 3), 1) == (3, 2, 2)
    assert "level_shape" in dir(data_helpers)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        data_helpers.nothing  # noqa: B018
