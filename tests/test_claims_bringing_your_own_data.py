"""The sentences of "Bringing your own data" that describe outputs are true."""

from __future__ import annotations

import re

import pytest

from tests.claims import prose_numbers, tuples

CHAPTER = "bringing-your-own-data"
#: A row of the levels table: level, factors, voxel size by the rule, by halving.
LEVEL_ROW = re.compile(r"^\s*(\d+)\s+(?:-|\([\d, ]+\))\s+(\S+ x \S+ x \S+)\s+(.+)$")


@pytest.fixture(scope="module")
def chapter(executed):
    return executed(CHAPTER)


def prose(chapter) -> str:
    """The chapter's markdown with line breaks as spaces."""
    return " ".join(chapter.markdown().split())


def level_rows(chapter) -> dict[int, tuple[str, str]]:
    """The levels table: level -> (voxel size by the rule, by halving)."""
    rows = {}
    for line in chapter.text("claim-levels").splitlines():
        match = re.match(
            r"^\s*(\d+)\s+(?:-|\([\d, ]+\))\s+(\S+ x \S+ x \S+)\s+(.+)$", line
        )
        if match:
            rows[int(match[1])] = (match[2], match[3].strip())
    return rows


def test_chapter_runs_within_a_minute_without_stderr(chapter) -> None:
    assert chapter.seconds < 60
    assert chapter.stderr() == []


def test_the_ome_tiff(chapter) -> None:
    text = chapter.text("claim-ome-tiff")
    c, z, y, x = prose_numbers(
        r"(\w+) channels of (\d+) planes of (\d+) × (\d+) voxels", prose(chapter)
    )
    assert f"series 0: axes CZYX, {(int(c), int(z), int(y), int(x))}" in text
    (pages,) = prose_numbers(r"The file is (\d+) pages", prose(chapter))
    assert f"{int(pages)} pages" in text
    assert pages == c * z
    assert 'PhysicalSizeX="0.5"' in text and 'PhysicalSizeXUnit="µm"' in text


def test_what_the_converter_reads(chapter) -> None:
    text = chapter.text("claim-source")
    assert "axes: ('c', 'z', 'y', 'x') shape: (2, 48, 192, 192) dtype: uint16" in text
    assert "voxel size: (2.0, 0.5, 0.5) micrometer" in text
    assert "channels: [('nuclei', '00FF00'), ('membranes', 'FF00FF')]" in text
    assert "voxels of 2 × 0.5 × 0.5 µm (z, y, x)" in prose(chapter)


def test_the_levels_and_the_prose_about_them(chapter) -> None:
    rows = level_rows(chapter)
    assert rows[0] == ("2 x 0.5 x 0.5", "2 x 0.5 x 0.5")
    assert rows[1] == ("2 x 1 x 1", "4 x 1 x 1")
    assert rows[2][0] == "2 x 2 x 2"
    assert rows[3][0] == "4 x 4 x 4"
    text = prose(chapter)
    for _, halved in rows.values():  # halving everything keeps z 4 x as long
        z, y, x = (float(v) for v in halved.split(" x "))
        assert z == 4 * y == 4 * x, halved
    assert "Voxels four times longer along z stay four times longer" in text
    assert "which makes its voxels 2 × 1 × 1 µm" in text
    assert "its voxels are cubes of 2 µm" in text
    assert "level 1's voxels 4 × 1 × 1 µm, four times longer along z" in text


def test_the_conversion(chapter) -> None:
    text = chapter.text("claim-convert")
    shapes = tuples(text)
    assert shapes[:4] == [(2, 48, 192, 192), (2, 48, 96, 96), (2, 48, 48, 48)] + [
        (2, 24, 24, 24)
    ]
    assert "voxel size 2 x 0.5 x 0.5 micrometer" in text
    assert "voxel size from the input's metadata" in text
    assert "level 0 equals the file: True" in text
    (planes,) = prose_numbers(r"Level 1 keeps all (\d+) planes", prose(chapter))
    assert shapes[1][1] == shapes[0][1] == planes
    assert "keeps its 48 planes for two levels" in prose(chapter)
    assert shapes[2][1] == 48 and shapes[3][1] == 24


def test_the_metadata(chapter) -> None:
    text = chapter.text("claim-metadata")
    assert "('c', 'channel', None), ('z', 'space', 'micrometer')" in text
    assert "level 1: scale [1.0, 2.0, 1.0, 1.0]" in text
    assert "level 3: scale [1.0, 4.0, 4.0, 4.0]" in text
    assert re.search(r"nuclei: colour 00FF00, window \d+ to \d+", text)
    assert re.search(r"membranes: colour FF00FF, window \d+ to \d+", text)


def test_every_reader_finds_the_same_levels(chapter) -> None:
    lines = chapter.text("claim-readers").strip().splitlines()
    assert len(lines) == 4
    for line in lines:
        assert line.endswith(
            "axes ['c', 'z', 'y', 'x'], 4 levels, level 1 (2, 48, 96, 96)"
        ), line


def test_time_points(chapter) -> None:
    text = chapter.text("claim-time")
    shapes = tuples(text)
    assert all(shape[:2] == (3, 2) for shape in shapes[:4])
    assert "chunks of level 0: (1, 1, 16, 16, 16)" in text
    assert "three time points of the two channels" in prose(chapter)


def test_the_hdf5_reconstruction(chapter) -> None:
    text = chapter.text("claim-hdf5")
    assert "entry0000/reconstruction/results/data (64, 160, 160) float32" in text
    assert "64 slices of 160 × 160 voxels in chunks of 16 slices" in prose(chapter)
    converted = chapter.text("claim-hdf5-convert")
    assert "read dataset /entry0000/reconstruction/results/data" in converted
    assert "level 0 equals the dataset: True" in converted
    assert "float32; voxel size 19.89 x 19.89 x 19.89 micrometer" in converted
