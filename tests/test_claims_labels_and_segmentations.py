"""The sentences of "Labels and segmentations" that describe outputs are true."""

from __future__ import annotations

import ast
import json
import math
import re
from collections import Counter

import numpy as np
import pytest

from data_helpers.pyramid import level_shape

CHAPTER = "labels-and-segmentations"
SHAPE = (139, 120, 120)
LEVELS = [level_shape(SHAPE, k) for k in range(5)]
TABLE_ROW = re.compile(r"^\s*(\d) +(mean|stride|mode) +(\d+) +(\d+) +(\d+)  (\[.*\])$")


@pytest.fixture(scope="module")
def chapter(executed):
    return executed(CHAPTER)


def prose(chapter) -> str:
    """The chapter's markdown with line breaks as spaces."""
    return " ".join(chapter.markdown().split())


def table(chapter) -> dict[tuple[int, str], dict]:
    rows = {}
    for line in chapter.text("claim-measure").splitlines():
        if match := TABLE_ROW.match(line):
            level, method, voxels, differ, invented, lost = match.groups()
            rows[int(level), method] = {
                "voxels": int(voxels),
                "differ": int(differ),
                "invented": int(invented),
                "lost": ast.literal_eval(lost),
            }
    return rows


def test_chapter_runs_within_a_minute(chapter) -> None:
    assert chapter.seconds < 60


def test_image(chapter) -> None:
    text = chapter.text("claim-image")
    summary = text[text.index("heart.ome.zarr: converted; 5 levels") :]
    assert ", ".join(map(str, LEVELS)) in summary
    assert "level 0 equals the volume: True" in text
    assert "139 slices of 120 × 120 voxels" in prose(chapter)
    assert "a pyramid of five levels" in prose(chapter)


def test_segmentation(chapter) -> None:
    text = chapter.text("claim-segment")
    rows = re.findall(r"label +(\d+) \(([a-z ]+)\): +(\d+) voxels", text)
    counts = {int(value): int(count) for value, _, count in rows}
    names = {int(value): name for value, name, _ in rows}
    assert sum(counts.values()) == math.prod(SHAPE)
    assert names[0] == "background" and names[1] == "jar wall" and names[2] == "heart"
    deposits = [counts[v] for v in sorted(counts) if v >= 3]
    assert {names[v] for v in counts if v >= 3} == {"deposit"}
    assert sorted(counts) == list(range(len(counts)))  # 0, 1, 2, 3, ... in turn
    # "each connected component ... of 20 voxels or more, numbered by size"
    assert deposits == sorted(deposits, reverse=True) and min(deposits) >= 20
    found = re.search(r"(\d+) very bright components, (\d+) of 20 voxels or more", text)
    assert found and int(found.group(2)) == len(deposits) < int(found.group(1))
    assert "**3 and up, deposits**" in prose(chapter)
    # "the jar wall, two to three voxels thick"
    found = re.search(r"each side of the row: (\d+), (\d+)", text)
    assert found and all(2 <= int(n) <= 3 for n in found.groups())
    assert "the jar wall, two to three voxels thick" in prose(chapter)
    assert chapter.images("claim-segment-figure") == 1


def test_toy_group(chapter) -> None:
    group = [1000, 1000, 3000, 3000, 3000, 1000, 3000, 3000]
    text = chapter.text("claim-toy")
    assert f"mean: {round(np.mean(group))}" in text  # invented: no voxel is 2250
    assert round(np.mean(group)) not in group
    assert f"stride: {group[0]}" in text
    assert f"mode: {Counter(group).most_common(1)[0][0]}" in text


def test_measurements(chapter) -> None:
    rows = table(chapter)
    assert len(rows) == 4 * 3
    for level in range(1, 5):
        mean, stride, mode = (rows[level, m] for m in ("mean", "stride", "mode"))
        assert mean["voxels"] == math.prod(LEVELS[level])
        # "At every level the mean invents labels ... The stride and the mode
        # invent none."
        assert mean["invented"] > 0
        assert stride["invented"] == mode["invented"] == 0
        assert mode["differ"] == 0
        # "it differs from the mode on more voxels than the mean does, at every
        # level"
        assert stride["differ"] > mean["differ"]
        if level >= 2:
            # "from level 2 on the mode loses more of the small deposits than
            # the stride does"
            assert len(mode["lost"]) > len(stride["lost"])
            assert all(v >= 3 for v in set(mode["lost"]) - {1})
    # "at level 4 even the jar wall ... is gone" (for the mode, not the stride)
    assert 1 in rows[4, "mode"]["lost"] and 1 not in rows[4, "stride"]["lost"]
    assert all(1 not in rows[k, "mode"]["lost"] for k in (1, 2, 3))
    text = prose(chapter)
    assert "from level 2 on the mode loses more of the small deposits" in text
    assert "at level 4 even the jar wall" in text
    # "the mean of background (0) and heart (2) is 1, the jar wall" and "it
    # makes up deposit numbers": most invented voxels at level 1 are 1s.
    line = chapter.text("claim-measure").splitlines()[-1]
    invented = ast.literal_eval(line.split("level 1: ", 1)[1])
    assert sum(invented.values()) == rows[1, "mean"]["invented"]
    assert invented[1] > sum(invented.values()) / 2
    assert any(v >= 3 for v in invented)


def test_levels_figure(chapter) -> None:
    assert chapter.images("claim-levels-figure") == 1
    (figure,) = [f for f in chapter.figures if len(f["axes"]) == 15]
    titles = [ax["title"] for ax in figure["axes"]]
    assert titles == [
        f"{m}, level {k}" for m in ("mean", "stride", "mode") for k in range(5)
    ]


def test_label_image_written(chapter) -> None:
    text = chapter.text("claim-write")
    summary = text[text.index("heart.ome.zarr/labels/heart: converted; 5 levels") :]
    assert ", ".join(map(str, LEVELS)) in summary and "uint32" in summary
    assert 'labels group: {"ome": {"version": "0.5", "labels": ["heart"]}}' in text
    label = json.loads(text.split("image-label: ", 1)[1].splitlines()[0])
    assert label["version"] == "0.5" and label["source"] == {"image": "../../"}
    assert [c["label-value"] for c in label["colors"]] == [1, 2]
    # the image's default shards of 2 x 2 x 2 chunks of 16, as the image's
    assert "level 0 shards and chunks: (32, 32, 32) (16, 16, 16)" in text
    assert "same levels, scales and translations as the image: True" in text
    assert "levels equal the mode pyramid: True" in text


def test_readers(chapter) -> None:
    text = chapter.text("claim-readers")
    assert f"ngff-zarr (validated) levels: {LEVELS}" in text
    assert f"ome-zarr-py label image: heart {LEVELS}" in text
    colours = ast.literal_eval(text.split("labels 1 and 2: ", 1)[1].splitlines()[0])
    assert colours[1] == [76 / 255, 114 / 255, 176 / 255, 1.0]
    # No "warnings: []" line any more: ome_zarr_py_nodes and read_with_ngff_zarr
    # raise ReaderError if a reader logs a warning, so the chapter would fail.


def test_ome_zarr_0_4(chapter) -> None:
    text = chapter.text("claim-v04")
    assert 'labels group: {"labels": ["heart"]}' in text
    assert "image-label version: 0.4" in text
    assert "level 0 Zarr format, shards and chunks: 2 None (16, 16, 16)" in text
    assert "same levels, scales and translations as the image: True" in text
    assert f"ngff-zarr (validated) levels: {LEVELS}" in text
    assert "`--ome-zarr-version 0.4`" in prose(chapter)


def test_speed_is_measured_not_claimed(chapter) -> None:
    text = chapter.text("claim-speed")
    share = {}
    for what in ("heart labels", "random labels"):
        found = re.search(
            rf"{what} \(([\d.]+) MB, ([\d.]+)% of groups one label\): "
            r"mean [\d.]+ ms, mode [\d.]+ ms",
            text,
        )
        assert found, what
        assert float(found.group(1)) == round(math.prod(SHAPE) * 4 / 1e6, 1)
        share[what] = float(found.group(2))
    # "most 2 x 2 x 2 groups hold one label only" / "almost no group does"
    assert share["heart labels"] > 50 and share["random labels"] < 1
    assert "on the machine that built this page" in prose(chapter)


def test_mode_is_a_plurality_with_ties_to_the_smallest(chapter) -> None:
    text = chapter.text("claim-mode-rules")
    plurality = re.search(r"plurality: (\[.*\]) -> (\d+)", text)
    assert plurality
    group, kept = ast.literal_eval(plurality.group(1)), int(plurality.group(2))
    # "A label can win a group with three voxels of eight"
    assert group.count(kept) == 3 and Counter(group).most_common(1)[0] == (kept, 3)
    tie = re.search(r"tie: (\[.*\]) -> (\d+)", text)
    assert tie
    group, kept = ast.literal_eval(tie.group(1)), int(tie.group(2))
    counts = Counter(group)
    assert len(counts) == 2 and len(set(counts.values())) == 1  # four against four
    assert kept == min(group) == 0  # the smallest, the background
    # "a sheet one voxel thick ... is gone from level 1"
    assert "labels of a one-voxel sheet at level 1: [0]" in text
    found = re.search(
        r"4 x 4 x 4 block: mode of modes (\d+), mode of its 64 voxels (\d+) "
        r"\((\d+) of 64\)",
        text,
    )
    assert found
    of_modes, of_block, count = map(int, found.groups())
    assert of_modes != of_block and count > 64 // 2
    text = prose(chapter)
    assert "the mode is a plurality, not a majority" in text
    assert "keeps what most of each block is" not in text
    assert "smaller than half a group loses every vote" not in text


def test_names_are_written_as_properties(chapter) -> None:
    text = chapter.text("claim-names")
    properties = json.loads(text.split("properties: ", 1)[1].splitlines()[0])
    assert properties == [
        {"label-value": 1, "name": "jar wall"},
        {"label-value": 2, "name": "heart"},
    ]
    readers = chapter.text("claim-readers")
    read = ast.literal_eval(
        readers.split("ome-zarr-py properties: ", 1)[1].splitlines()[0]
    )
    assert read == {1: {"name": "jar wall"}, 2: {"name": "heart"}}


def test_viewer_controls_and_sources_as_stated(chapter) -> None:
    text = prose(chapter)
    # Neuroglancer 2.41.2: "control+wheel": zoom, "at:wheel": z+1
    assert "Scroll to zoom" not in text
    assert "the mouse wheel steps through the slices" in text
    assert "Ctrl + wheel zooms" in text
    assert "neuroglancer/blob/v2.41.2/src/ui/default_input_event_bindings.ts" in text
    # spec links are pinned sources, not redirecting anchors
    assert "ngff.openmicroscopy.org/0.4/#" not in text
    assert "ngff.openmicroscopy.org/0.5/#" not in text


def test_image_label_metadata_described_as_the_specification_has_it(chapter) -> None:
    text = prose(chapter)
    path_back = 'the relative path back to the image, `{"image": "../../"}`'
    assert f"an object whose `image` is {path_back}" in text
    assert "MUST have the same *number* of levels as the image" in text
    assert "0.6 (released in September 2026) removes it" in text
    assert "`properties` gives an object for each label value" in text
    assert "holds the paths of the label images" in text
    # Neuroglancer reads no image-label; the book's page passes the colours
    assert "Neuroglancer itself reads only the `multiscales` metadata" in text
    # int64 labels are accepted, and what Neuroglancer does with them is said
    assert "Neuroglancer has no `int64`" in text
