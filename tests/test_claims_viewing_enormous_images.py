"""Check what the chapter on viewing enormous images says its cells show."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from data_helpers.screen_chunks import PIXEL_SLACK
from tests.claims import prose_numbers
from tests.notebooks import chapter_names

CHAPTER = "viewing-enormous-images"
BOOK = Path(__file__).resolve().parents[1] / "book"


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
    text = chapter.text("claim-levels")
    assert "chunks (16, 16, 16), shards (64, 64, 64)" in text
    assert text.startswith("OME-Zarr 0.5 on Zarr format 3\n")


def test_zoom_a_quarter_reads_level_2(chapter) -> None:
    text = chapter.text("claim-pick")
    assert "zoom 0.25: level 2" in text
    # Zoomed in beyond level 0 the viewer keeps level 0.
    assert "zoom 2: level 0" in text and "zoom 4: level 0" in text


def test_full_heart_screens_need_under_a_hundred_chunks(chapter) -> None:
    text = chapter.text("claim-screen")
    shape = re.search(r"full-size heart: \((\d+), (\d+), (\d+)\)", text)
    assert shape is not None
    small = chapter.text("claim-levels").splitlines()[1]  # level 0
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
    requests = [line.split() for line in lines[:-1]]
    # zarr-python sends no HEAD: a suffix range for the index, then the chunk.
    assert [request[0] for request in requests] == ["GET", "GET"]
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


def test_summary_and_body_give_the_same_level_rule(chapter) -> None:
    prose = chapter.markdown()
    summary = prose[prose.index("## Summary") :]
    assert prose_numbers(r"at most (\d+\.\d+) × \*target\*", prose) == [PIXEL_SLACK]
    assert prose_numbers(r"at most (\d+\.\d+) screen pixels wide", summary) == [
        PIXEL_SLACK
    ]
    assert "under a hundred" in summary and "one still xy panel" in summary


def test_the_page_opens_zoomed_so_the_heart_fills_the_panel(chapter) -> None:
    """The viewer's zoom parameter, the prose's zoom and the iframe's height agree:
    the heart's y extent at that zoom fills most of the panel and fits in it."""
    prose = chapter.markdown()
    (zoom,) = prose_numbers(r"The page opens at zoom (\d+)", prose)
    sources = re.findall(r'(?:src|href)="(\.\./viewer/index\.html\?[^"]+)"', prose)
    assert len(sources) == 2
    for source in sources:
        query = parse_qs(urlsplit(source.replace("&amp;", "&")).query)
        assert query["zoom"] == [f"{zoom:g}"], source
    height = int(re.search(r"height: (\d+)px", prose)[1])
    levels = chapter.text("claim-levels").splitlines()
    _, y_voxels, _ = (int(n) for n in re.findall(r"\d+", levels[1])[1:4])  # level 0
    assert height / 2 < zoom * y_voxels <= height


def needs_first(name: str) -> list[str]:
    """The chapters that ``name`` says it needs first (before any ";": after it,
    only helpful ones)."""
    text = (BOOK / f"{name}.md").read_text()
    paragraph = re.search(r"\*\*You need first\*\*(.*?)\n\n", text, re.S)
    assert paragraph is not None, f"{name} says nothing of what it needs first"
    return re.findall(r"\{doc\}`([^`]+)`", paragraph[1].split(";")[0])


def test_table_of_contents_puts_what_a_chapter_needs_before_it() -> None:
    order = chapter_names()
    for name in order:
        for needed in needs_first(name):
            if needed != "index":
                assert order.index(needed) < order.index(name), (name, needed)
    assert order.index("zarr-v3-ome-zarr-0-5-and-sharding") < order.index(CHAPTER)


def test_index_lists_every_chapter_in_reading_order() -> None:
    index = (BOOK / "index.md").read_text()
    listed = index[index.index("## How to read it") : index.index("## How to run it")]
    assert re.findall(r"^\d+\. .*?\{doc\}`([^`]+)`", listed, re.M) == chapter_names()
