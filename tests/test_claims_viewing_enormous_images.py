"""Check what the chapter on viewing enormous images says its cells show."""

from __future__ import annotations

import re

import pytest

from tests.claims import prose_numbers

CHAPTER = "viewing-enormous-images"


@pytest.fixture(scope="module")
def chapter(executed):
    return executed(CHAPTER)


def test_chapter_runs_quickly(chapter) -> None:
    assert chapter.seconds < 60, f"the chapter took {chapter.seconds:.0f} s"


def test_each_level_halves_the_one_above(chapter) -> None:
    shapes = [
        tuple(int(n) for n in m.split(", "))
        for m in re.findall(r"shape \(([\d, ]+)\)", chapter.text("claim-levels"))
    ]
    assert len(shapes) > 2
    for upper, lower in zip(shapes, shapes[1:], strict=False):
        assert lower == tuple(-(-n // 2) for n in upper)
    assert "chunks (16, 16, 16)" in chapter.text("claim-levels")


def test_zoom_a_quarter_reads_level_2(chapter) -> None:
    text = chapter.text("claim-pick")
    assert "zoom 0.25: level 2" in text
    # Zoomed in beyond level 0 the viewer keeps level 0.
    assert "zoom 2: level 0" in text and "zoom 4: level 0" in text


def test_full_heart_screens_need_under_a_hundred_chunks(chapter) -> None:
    text = chapter.text("claim-screen")
    shape = re.search(r"full-size heart: \((\d+), (\d+), (\d+)\)", text)
    assert shape is not None
    small = chapter.text("claim-levels").splitlines()[0]
    small_shape = [int(n) for n in re.findall(r"\d+", small)[1:4]]
    assert [int(n) for n in shape.groups()] == [64 * n for n in small_shape]
    prose = chapter.markdown()
    assert prose_numbers(r"has (\d+(?: \d{3})*) times as many voxels", prose) == [64**3]
    rows = [line.split() for line in text.splitlines()[2:]]
    full = [int(row[2]) for row in rows]
    assert full and max(full) < 100


def test_every_zoom_needs_under_a_hundred_chunks(chapter) -> None:
    text = chapter.text("claim-screen-figure")
    found = re.search(r"full-size heart (\d+) to (\d+) chunks", text)
    assert found is not None
    low, high = map(int, found.groups())
    assert 0 < low <= high < 100  # "stays under a hundred too"
    assert len(chapter.figures) == 1


def test_slice_chunks_cost_the_xz_view(chapter) -> None:
    counts = {
        (m[0], m[1]): int(m[2])
        for m in re.findall(
            r"chunks (\([^)]*\)), (\w+) view at zoom 1: (\d+) chunks",
            chapter.text("claim-views"),
        )
    }
    cubic, slices = "(128, 128, 128)", "(1, 1024, 1024)"
    # Cubic chunks are as good for both views (within a factor of 2).
    assert counts[(cubic, "xz")] < 2 * counts[(cubic, "xy")]
    assert counts[(slices, "xy")] < counts[(cubic, "xy")]
    # One chunk per row of the screen (600 rows) and more.
    assert counts[(slices, "xz")] >= 600 > 10 * counts[(slices, "xy")]


def test_a_sharded_read_is_index_then_chunk(chapter) -> None:
    lines = chapter.text("claim-shard").splitlines()
    requests = [line.split() for line in lines if line.startswith("GET")]
    assert len(requests) == 2
    (_, key1, index, status1), (_, key2, chunk, status2) = requests
    assert key1 == key2 and status1 == status2 == "206"
    shards = re.search(r"shards \((\d+), (\d+), (\d+)\), chunks \((\d+),", lines[-1])
    per_shard = (int(shards.group(1)) // int(shards.group(4))) ** 3
    assert index == f"-{16 * per_shard + 4}"  # 16 bytes per chunk + checksum
    assert re.fullmatch(r"\d+-\d+", chunk)


def test_server_answers_range_and_preflight(chapter) -> None:
    text = chapter.text("claim-headers")
    assert "GET 206" in text and "Content-Range: bytes " in text
    assert "OPTIONS 204" in text
    assert "Access-Control-Allow-Headers: Range" in text
    assert "Access-Control-Allow-Origin: *" in text
    assert "Access-Control-Expose-Headers: Content-Range, Content-Length" in text
