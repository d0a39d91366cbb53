"""Check what "Chunked data over the network" says its cells show.

Each test reads the output of one tagged cell of the executed chapter and
compares it with a value recomputed here from the image's geometry, or with
what a library does when asked directly. Times are checked against the lower
bound that latency sets (each request waits) with a margin above it.
"""

from __future__ import annotations

import functools
import http.server
import importlib.metadata
import inspect
import math
import re
import shlex
import subprocess
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import s3fs
import zarr

from data_helpers.serve import FolderServer

CHAPTER = "chunked-data-over-the-network"
SHAPE = (128, 256, 256)  # z, y, x of level 0
CHUNK, SHARD, LEVELS = 64, 128, 3
LAYOUTS = ["format 2, chunks", "format 3, chunks", "format 3, shards"]
PATTERNS = [
    "thumbnail (lowest level)",
    "xy slice",
    "xz slice",
    "128³ region",
    "whole level 1",
]


@pytest.fixture(scope="module")
def chapter(executed):
    return executed(CHAPTER)


def ints(text: str) -> list[int]:
    return [int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", text)]


def table(text: str) -> dict[tuple[str, str], list[str]]:
    """Rows of a "read  layout  values..." table, by (read, layout)."""
    rows = {}
    for line in text.splitlines():
        for pattern in PATTERNS:
            for layout in LAYOUTS:
                if line.startswith(pattern) and layout in line:
                    rows[pattern, layout] = line.split(layout, 1)[1].split()
    return rows


def chunks_touched(level: int, selection: tuple[slice | int, ...]) -> int:
    """How many chunks of ``level`` a selection covers (computed from the shape)."""
    shape = [math.ceil(n / 2**level) for n in SHAPE]
    count = 1
    for index, n in zip(selection, shape, strict=True):
        if isinstance(index, int):
            count *= 1
        else:
            start, stop, _ = index.indices(n)
            count *= (stop - 1) // CHUNK - start // CHUNK + 1
    return count


EXPECTED_CHUNKS = {
    "thumbnail (lowest level)": chunks_touched(2, (slice(None),) * 3),
    "xy slice": chunks_touched(0, (64, slice(None), slice(None))),
    "xz slice": chunks_touched(0, (slice(None), 128, slice(None))),
    "128³ region": chunks_touched(0, (slice(0, 128), slice(64, 192), slice(64, 192))),
    "whole level 1": chunks_touched(1, (slice(None),) * 3),
}


def test_chapter_runs_quickly_and_quietly(chapter) -> None:
    assert chapter.seconds < 60
    assert chapter.stderr() == []


def test_chunk_size() -> None:
    assert CHUNK**3 * 2 == 512 * 1024  # "64³ × 2 bytes = 512 KiB"
    assert (SHARD // CHUNK) ** 3 == 8  # "eight chunks per shard"


def test_three_layouts_written(chapter) -> None:
    text = chapter.text("claim-layouts")
    for layout in LAYOUTS:
        assert layout in text


def test_suffix_range_is_the_shard_index(chapter) -> None:
    text = chapter.text("claim-suffix-range")
    assert "status 206, 132 bytes" in text
    assert 8 * 16 + 4 == 132  # 8 chunks x (offset, length) of 8 bytes + crc32c
    size = ints(re.search(r"the shard file holds ([\d,]+) bytes", text)[1])[0]
    assert f"Content-Range: bytes {size - 132}-{size - 1}/{size}" in text
    assert "Access-Control-Allow-Origin: *" in text
    exposed = re.search(r"Access-Control-Expose-Headers: (.*)", text)[1]
    assert {"Content-Range", "Content-Length"} <= set(exposed.split(", "))


@pytest.fixture(scope="module")
def counts(chapter) -> dict[tuple[str, str], list[int]]:
    rows = table(chapter.text("claim-patterns"))
    assert len(rows) == len(PATTERNS) * len(LAYOUTS)
    return {key: [int(v.replace(",", "")) for v in row] for key, row in rows.items()}


def test_one_request_per_chunk_without_shards(counts) -> None:
    assert EXPECTED_CHUNKS == {
        "thumbnail (lowest level)": 1,
        "xy slice": 16,
        "xz slice": 8,
        "128³ region": 8,
        "whole level 1": 4,
    }  # the numbers the prose gives
    for pattern, n_chunks in EXPECTED_CHUNKS.items():
        for layout in LAYOUTS[:2]:
            assert counts[pattern, layout][0] == n_chunks, (pattern, layout)
        assert counts[pattern, LAYOUTS[0]] == counts[pattern, LAYOUTS[1]]


def test_slices_receive_far_more_than_they_need(counts) -> None:
    requests, sent, needed = counts["xy slice", LAYOUTS[0]]
    assert needed == SHAPE[1] * SHAPE[2] * 2 == 128 * 1024  # "needs 128 KiB"
    assert 6.5e6 < sent < 7.5e6  # "about 7 MB"
    assert sent / needed > 50  # "over fifty times as much"


def test_shards_cost_an_index_request_and_merge_reads(counts) -> None:
    sharded = LAYOUTS[2]
    assert counts["thumbnail (lowest level)", sharded][0] == 2
    assert counts["xy slice", sharded][0] == 8  # 4 shards: 4 indexes + 4 reads
    shards_under_xy = (SHAPE[1] // SHARD) * (SHAPE[2] // SHARD)
    assert shards_under_xy == 4
    assert counts["xy slice", sharded][1] > counts["xy slice", LAYOUTS[0]][1]
    assert counts["whole level 1", sharded][0] == 2


def test_coalescing_settings(chapter) -> None:
    text = chapter.text("claim-coalesce")
    assert f"gap: {1 << 20}" in text and f"max: {16 << 20}" in text  # 1 and 16 MiB
    assert "concurrency: 10" in text


@pytest.fixture(scope="module")
def seconds(chapter) -> dict[tuple[str, str], list[float]]:
    rows = table(chapter.text("claim-latency"))
    assert len(rows) == len(PATTERNS) * 2
    return {k: [float(v.rstrip("s")) for v in row] for k, row in rows.items()}


def test_time_is_at_least_requests_times_latency(seconds, counts) -> None:
    """Columns: 0, 20, 100 ms, each at concurrency 10 then 1."""
    for (pattern, layout), row in seconds.items():
        requests = counts[pattern, layout][0]
        for k, latency in enumerate([0.0, 0.02, 0.1]):
            default, one = row[2 * k], row[2 * k + 1]
            # printed to 2 decimals: allow the rounding
            assert one >= requests * latency - 0.006, (pattern, layout, latency)
            assert default >= math.ceil(requests / 10) * latency - 0.006


def test_xy_slice_at_100_ms(seconds) -> None:
    row = seconds["xy slice", LAYOUTS[0]]
    assert 1.6 - 0.006 <= row[5] < 1.6 * 1.5  # "1.6 s ... only a little more"
    assert 0.2 - 0.006 <= row[4] < 1.0  # "two rounds of waiting instead of sixteen"


def test_figure(chapter) -> None:
    figure = chapter.figures[-1]
    titles = [ax["title"] for ax in figure["axes"]]
    assert titles == [
        "Requests per read",
        "Time per read, 100 ms latency, 1 request at a time",
    ]
    assert chapter.images("claim-figure") == 1


def test_opening_costs(chapter) -> None:
    lines = chapter.text("claim-open").splitlines()
    found = {line.split(":")[0].strip(): ints(line.split(":")[1]) for line in lines}
    assert found["format 2, told the format"] == [11, 3]
    assert found["format 2, consolidated"] == [3, 0]
    assert found["format 3, told the format"] == [4, 0]
    assert found["format 3, not told"] == [7, 3]
    assert 1 + LEVELS == 4  # "one request per node"


def test_format_3_consolidated_metadata_warns() -> None:
    group = zarr.open_group(zarr.storage.MemoryStore(), mode="w", zarr_format=3)
    group.create_array("0", shape=(2,), dtype="u1")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        zarr.consolidate_metadata(group.store)
    text = " ".join(str(w.message) for w in caught)
    assert "may not be supported by other zarr implementations" in text
    assert zarr.__version__ == "3.4.2"


def test_versions_and_s3fs_default() -> None:
    assert importlib.metadata.version("moto") == "5.2.5"
    assert s3fs.__version__ == "2026.9.0"
    default = inspect.signature(s3fs.S3FileSystem.__init__).parameters[
        "max_concurrency"
    ]
    assert default.default == 10
    # "larger than 50 MiB (`default_block_size`)": split into parallel parts
    assert s3fs.S3FileSystem.default_block_size == 50 * 2**20
    # "An object under 100 MiB goes up in one PUT ... multipart ... 50 MiB parts":
    # _pipe_file uploads in parts from 2 x chunksize on.
    part = inspect.signature(s3fs.S3FileSystem._pipe_file).parameters["chunksize"]
    assert part.default == 50 * 2**20 and 2 * part.default == 100 * 2**20


def test_s3_environment(chapter) -> None:
    text = chapter.text("claim-s3-env")
    assert re.search(r"AWS_ENDPOINT_URL=http://127\.0\.0\.1:\d+", text)
    assert "AWS_ALLOW_HTTP=true" in text
    assert text.count("uploaded ") == 2


def test_s3_makes_as_many_requests_as_http(chapter) -> None:
    rows = table(chapter.text("claim-s3-reads"))
    assert len(rows) == len(PATTERNS) * 2
    for key, (s3_requests, http_requests) in rows.items():
        assert s3_requests == http_requests, key


def test_listing(chapter) -> None:
    text = chapter.text("claim-s3-list")
    for line in text.splitlines():
        n_objects, n_list = ints(line.split(":")[1])
        assert n_list == math.ceil(n_objects / 1000) == 1
    full = (8839, 7641, 7641)
    chunks = math.prod(math.ceil(n / 128) for n in full)
    shards = math.prod(math.ceil(n / 512) for n in full)
    assert (chunks, math.ceil(chunks / 1000)) == (252_000, 252)
    assert (shards, math.ceil(shards / 1000)) == (4050, 5)


def test_conversion_into_the_bucket(chapter) -> None:
    text = chapter.text("claim-convert")
    lines = text.splitlines()
    assert lines[0] == "heart.ome.zarr: converted"
    # the converter's default: OME-Zarr 0.5 in shards of 2 x 2 x 2 chunks
    assert (
        "OME-Zarr 0.5, Zarr format 3, shards (64, 64, 64), chunks (32, 32, 32)" in text
    )
    assert "levels read back from S3, equal to the local copy: True" in text
    assert "nothing to do" in text
    assert "the rerun wrote 0 objects" in text


def recipe_checks() -> list[list[str]]:
    """The two ``curl`` commands of the chapter's server recipe, as argument lists."""
    source = Path(__file__).resolve().parents[1] / "book" / f"{CHAPTER}.md"
    recipe = source.read_text().split("## A recipe for serving", 1)[1]
    commands = re.findall(r"`(curl [^`]+)`", recipe)
    assert len(commands) == 2, commands
    return [shlex.split(command) for command in commands]


def run_check(command: list[str], url: str) -> str:
    """The headers that ``command`` prints for ``url`` (in place of ``URL``)."""
    assert command[-1] == "URL"
    answer = subprocess.run(
        [*command[:-1], url], capture_output=True, text=True, timeout=30, check=True
    )
    return answer.stdout


@pytest.fixture(scope="module")
def plain_server(tmp_path_factory) -> Iterator[str]:
    """Python's own ``http.server``: no ``Range``, no CORS, no ``OPTIONS``."""
    folder = tmp_path_factory.mktemp("plain")
    (folder / "shard").write_bytes(bytes(range(256)))
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(folder)
    )
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/shard"
    server.shutdown()
    server.server_close()


def test_recipe_checks_tell_a_good_server_from_a_plain_one(
    tmp_path, plain_server
) -> None:
    """Run against a server that does what the recipe asks, each check shows
    what the recipe says it must; against ``http.server``, it does not."""
    range_check, preflight_check = recipe_checks()
    assert "OPTIONS" in preflight_check and "OPTIONS" not in range_check
    (tmp_path / "shard").write_bytes(bytes(range(256)))
    with FolderServer(tmp_path) as server:
        url = f"{server.url}shard"
        answer = run_check(range_check, url)
        assert answer.startswith("HTTP/1.") and " 206 Partial Content" in answer
        assert "Content-Range: bytes 240-255/256" in answer
        assert "Access-Control-Allow-Origin: *" in answer
        preflight = run_check(preflight_check, url)
        allowed = re.search(r"Access-Control-Allow-Headers: (.*)", preflight)[1]
        assert "range" in allowed.lower().replace(" ", "").split(",")
        assert "Access-Control-Allow-Origin: *" in preflight
        assert [r.method for r in server.requests] == ["GET", "OPTIONS"]
    plain = run_check(range_check, plain_server)
    assert " 200 " in plain and "Content-Range" not in plain
    plain_preflight = run_check(preflight_check, plain_server)
    assert "Access-Control-Allow-Headers" not in plain_preflight
