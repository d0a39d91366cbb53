"""The sentences of "Creating chunked datasets" that describe outputs are true."""

from __future__ import annotations

import ast
import base64
import io
import math
import re

import matplotlib.image
import numpy as np
import pytest
import scipy.ndimage

from data_helpers import HEART_VOXEL_SIZE_UM
from tests.claims import comma_floats, grid, lists, tuples

CHAPTER = "creating-chunked-datasets"
HEART_SHAPE = (120, 120, 139)  # documented in ../shared/data/README.md, (x, y, z)
ZYX_SHAPE = HEART_SHAPE[::-1]  # as every OME-Zarr image stores it
CHUNKS = (32, 32, 32)


@pytest.fixture(scope="module")
def chapter(executed):
    return executed(CHAPTER)


def png_pixels(chapter, tag: str) -> np.ndarray:
    outputs = [o for o in chapter.cell(tag).outputs if "image/png" in o.get("data", {})]
    assert len(outputs) == 1
    data = base64.b64decode(outputs[0]["data"]["image/png"])
    return matplotlib.image.imread(io.BytesIO(data), format="png")


def test_heart_is_loaded_and_shown(chapter):
    text = chapter.text("claim-heart")
    assert f"shape={HEART_SHAPE}" in text and "dtype=uint8" in text
    assert chapter.images("claim-heart") == 1


def test_spec_lists_chosen_and_default_fields(chapter):
    text = chapter.text("claim-spec")
    # the fields the prose names and explains, chosen and defaults
    for field in [
        "shape=(120, 120, 139)",
        "'chunk_shape': (32, 32, 32)",
        "data_type='uint8'",
        "'separator': '/'",
        "fill_value=0",
        "{'name': 'bytes'}",
        "'cname': 'zstd', 'clevel': 3, 'shuffle': 'shuffle'",
        "dimension_names=('x', 'y', 'z')",
        "zarr_format=3",
        "node_type='array'",
        "storage_transformers=()",
    ]:
        assert field in text, field
    # bytes first, then blosc: the order of the codec chain
    assert text.index("'bytes'") < text.index("'blosc'")


def test_array_is_zarr_format_3(chapter):
    text = chapter.text("claim-empty-array")
    assert "zarr_format=3" in text and f"chunks={CHUNKS}" in text


def test_empty_slice_is_uniform_and_filled_slice_is_not(chapter):
    """'The slice is completely black': the drawn image has one colour."""

    def colours_in_middle(tag: str) -> int:
        pixels = png_pixels(chapter, tag)[..., :3]
        h, w = pixels.shape[:2]
        middle = pixels[h // 3 : 2 * h // 3, w // 3 : 2 * w // 3].reshape(-1, 3)
        return len(np.unique(middle, axis=0))

    empty = png_pixels(chapter, "claim-empty-plot")[..., :3]
    h, w = empty.shape[:2]
    assert np.all(empty[h // 3 : 2 * h // 3, w // 3 : 2 * w // 3] == 0)
    assert colours_in_middle("claim-empty-plot") == 1
    assert colours_in_middle("claim-filled-plot") > 50


def test_fill_value_and_chunk_counts(chapter):
    n_chunks = math.prod(grid(HEART_SHAPE, CHUNKS))
    lines = chapter.text("claim-fill-value").splitlines()
    assert lines[0].strip() == "0"
    assert f"chunks stored so far: 0 of {n_chunks}" in lines[1]
    filled = chapter.text("claim-filled-plot")
    assert f"chunks stored now: {n_chunks} of {n_chunks}" in filled
    assert "identical to the NumPy image: True" in filled


def test_directory_listing_matches_prose(chapter):
    before, created, written, inside_c = lists(chapter.text("claim-directory"))
    assert before == []
    assert created == ["zarr.json"]
    assert written == ["c", "zarr.json"]
    first_axis = grid(HEART_SHAPE, CHUNKS)[0]
    assert first_axis == 4  # "120 voxels in chunks of 32 need 4 chunks"
    assert inside_c == [str(i) for i in range(first_axis)]


def test_chunk_files_are_nested_by_index(chapter):
    text = chapter.text("claim-chunk-files")
    chunk_grid = grid(HEART_SHAPE, CHUNKS)
    assert f"chunk grid: {chunk_grid}, {math.prod(chunk_grid)} chunks in all" in text
    assert f"chunk files on disk: {math.prod(chunk_grid)}" in text
    assert "'c/0/0/0'" in text and '"separator": "/"' in text
    # zarr.json: the specification, and the Blosc settings zarr-python filled in
    assert '"zarr_format": 3' in text and '"dimension_names": [' in text
    assert '"typesize": 1' in text and '"blocksize": 0' in text


def test_one_level_image(chapter):
    text = chapter.text("claim-one-level")
    assert f"heart as (z, y, x): shape {ZYX_SHAPE}" in text
    assert "(1272.96, 1272.96, 1272.96) µm" in text
    assert HEART_VOXEL_SIZE_UM == pytest.approx(64 * 19.89)  # level 6 of the scan
    assert text.count("unit='micrometer'") == 3
    names = re.findall(r"Axis\(name='(\w)'", text)
    assert names == ["z", "y", "x"]
    assert "scale=[1272.96, 1272.96, 1272.96]" in text
    assert "translation=[0.0, 0.0, 0.0]" in text
    group = chapter.text("claim-one-level-group")
    assert "contains ['0']" in group
    assert "group attributes: ['ome']" in group
    assert "under 'ome': ['version', 'multiscales']" in group  # no "omero"
    assert "level 0 dimension_names: ('z', 'y', 'x')" in group
    assert "all fill value: True" in group and "matches the heart image: True" in group
    markdown = chapter.markdown()
    assert "64 × 19.89 µm = 1272.96 µm" in markdown
    assert "The group's attributes hold only `ome`" in markdown


def test_level_shapes_round_up(chapter):
    expected = [tuple(math.ceil(n / 2**d) for n in ZYX_SHAPE) for d in range(3)]
    shapes = tuples(chapter.text("claim-level-specs"))
    pairs = zip(expected, [CHUNKS] * 3, strict=True)
    assert shapes == [t for pair in pairs for t in pair]
    pyramid = tuples(chapter.text("claim-fill-pyramid"))
    assert pyramid == expected


def test_scales_and_translations_per_level(chapter):
    text = chapter.text("claim-multiscale-metadata")
    rows = re.findall(
        r"path '(\d)': scale \[([^\]]*)\] µm, translation \[([^\]]*)\] µm", text
    )
    assert [int(path) for path, _, _ in rows] == [0, 1, 2]
    for d, (_, scale, translation) in enumerate(rows):
        assert comma_floats(scale) == pytest.approx([HEART_VOXEL_SIZE_UM * 2**d] * 3)
        shift = HEART_VOXEL_SIZE_UM * (2**d - 1) / 2
        assert comma_floats(translation) == pytest.approx([shift] * 3)
    # the note's numbers: half a voxel at level 1, one and a half at level 2
    note = chapter.markdown()
    assert f"({HEART_VOXEL_SIZE_UM / 2:.2f} µm)" in note
    assert f"({HEART_VOXEL_SIZE_UM * 1.5:.2f} µm)" in note
    assert "`1272.96 * 2**level` µm" in note


def test_mean_brightness_is_nearly_the_same_at_every_level(chapter):
    means = [
        float(m)
        for m in re.findall(r"mean value=([\d.]+)", chapter.text("claim-fill-pyramid"))
    ]
    assert len(means) == 3
    assert max(means) - min(means) < 0.01 * means[0]


def test_lowest_level_plot_uses_its_own_path(chapter):
    text = chapter.text("claim-level2-plot")
    assert (
        f"lowest level: path '2', shape {tuple(math.ceil(n / 4) for n in ZYX_SHAPE)}"
        in text
    )
    assert 70 // 4 == 17
    assert chapter.images("claim-level2-plot") == 1


def test_zoom_shapes_do_not_fit_but_block_averaging_does(chapter):
    text = chapter.text("claim-zoom-shapes")
    for shape in [(121, 97, 139), (7, 5, 3)]:
        level2 = tuple(math.ceil(n / 4) for n in shape)
        zoomed = scipy.ndimage.zoom(np.zeros(shape), 0.25).shape
        assert zoomed != level2  # the defect the text describes is real
        assert (
            f"{shape}: level 2 should be {level2}, zoom gives {zoomed}, "
            f"block averaging gives {level2}"
        ) in text


def _stripe_report(text: str) -> dict[str, dict[str, object]]:
    """The aliasing cell's lines, by stripe pattern and method."""
    report: dict[str, dict[str, object]] = {}
    pattern = None
    for line in text.splitlines():
        head = re.match(r"(period \d) stripes .*, average ([\d.]+):$", line)
        if head:
            pattern = head.group(1)
            report[pattern] = {"average": float(head.group(2))}
            continue
        values = re.match(r"\s+(.+?)\s+values\s+(-?[\d.]+) to\s+(-?[\d.]+)$", line)
        if values:
            report[pattern][values.group(1)] = (
                float(values.group(2)),
                float(values.group(3)),
            )
        rows = re.match(r"\s+block mean, rows after (one halving|two): (\[.*\])$", line)
        if rows:
            report[pattern][rows.group(1)] = ast.literal_eval(rows.group(2))
    return report


def test_gaussian_width_is_ngff_zarrs(chapter):
    # ngff-zarr 0.50.0, ngff_zarr.methods._support._compute_sigma, factor 2
    sigma = math.sqrt(2**2 - 1) / (2 * math.sqrt(2 * math.log(2)))
    assert f"sigma = {sigma:.4f} voxel" in chapter.text("claim-gaussian")
    assert round(sigma, 2) == 0.74  # "≈ 0.74 voxel"
    from ngff_zarr.methods._support import _compute_sigma

    assert _compute_sigma([2])[0] == pytest.approx(sigma)


def test_block_means_reduce_but_do_not_prevent_aliasing(chapter):
    report = _stripe_report(chapter.text("claim-aliasing"))
    assert set(report) == {"period 2", "period 3"}
    two, three = report["period 2"], report["period 3"]
    assert two["average"] == 100.0 and three["average"] == 80.0
    # period 2: every 2x2x2 mean is exactly 100; zoom spans the whole range
    assert two["block mean, twice"] == (100.0, 100.0)
    low, high = two["zoom(0.25)"]
    assert high - low > 0.8 * (180 - 20)
    # period 3: false bands 120, 120, 0 and then 120, 60, 60
    assert three["one halving"] == [120.0, 120.0, 0.0, 120.0, 120.0, 0.0]
    assert three["two"] == [120.0, 60.0, 60.0, 120.0, 60.0, 60.0]
    assert three["block mean, twice"] == (60.0, 120.0)
    assert three["zoom(0.25)"][0] < 0  # "even beyond it, below 0"
    # the Gaussian: even 100, and 78 to 84 around 80
    g_low, g_high = two["Gaussian, twice"]
    assert g_high - g_low < 0.5
    g_low, g_high = three["Gaussian, twice"]
    assert round(g_low) == 78 and round(g_high) == 84
    assert g_high - g_low < (120 - 60) / 5  # far less aliasing than block means
    assert chapter.images("claim-aliasing") == 1


def test_gaussian_blurs_more_than_block_means(chapter):
    text = chapter.text("claim-blur")
    level0 = float(re.search(r"level 0: mean ([\d.]+)", text).group(1))
    rows = {
        method: (float(mean), float(diff))
        for method, mean, diff in re.findall(
            r"level 2 by (.+?): mean ([\d.]+), mean neighbour difference ([\d.]+)",
            text,
        )
    }
    assert set(rows) == {"block mean", "Gaussian"}
    for mean, _ in rows.values():
        assert mean == pytest.approx(level0, rel=0.01)  # "keep the mean brightness"
    assert rows["Gaussian"][1] < 0.9 * rows["block mean"][1]  # "measurably smoother"


def test_pyramid_on_disk_validates(chapter):
    text = chapter.text("claim-validate")
    assert "valid OME-Zarr 0.5 image with 3 levels" in text
    assert "metadata read back equals what we wrote: True" in text


def test_summary_and_tree(chapter):
    summary = chapter.text("claim-summary")
    for d in range(3):
        shape = tuple(math.ceil(n / 2**d) for n in ZYX_SHAPE)
        raw = math.prod(shape)  # uint8: one byte per voxel
        row = re.search(
            rf"^\s*{d}\s+{re.escape(str(shape))}\s+\(32, 32, 32\)\s+(\d+)\s+(\d+)$",
            summary,
            re.MULTILINE,
        )
        assert row, summary
        assert int(row.group(1)) == raw
        assert 0 < int(row.group(2)) < raw  # compressed
    tree = chapter.text("claim-tree")
    assert tree.startswith("heart_multiscale.ome.zarr/")
    for entry in ["zarr.json", "0/", "1/", "2/", "c/ (80 files)"]:
        assert entry in tree
    assert ".zattrs" not in tree and ".zarray" not in tree


def test_another_library_reads_the_pyramid(chapter):
    text = chapter.text("claim-other-reader")
    shapes = [tuple(math.ceil(n / 2**d) for n in ZYX_SHAPE) for d in range(3)]
    assert f"ome-zarr-py reads 3 levels: {shapes}" in text
    assert "axes: ['z', 'y', 'x']" in text


def test_conventions_named_as_the_books(chapter) -> None:
    prose = " ".join(chapter.markdown().split())
    # the voxel-centre convention is written down in 0.6 only, released 2026-09
    assert "only in version 0.6 (released in September 2026" in prose
    assert "ngff-zarr/pull/749" in prose
    assert "ngff-spec/blob/main" not in prose
    assert "ngff.openmicroscopy.org/0.4/#" not in prose
    assert "The book's choices for lower levels, not rules of the format" in prose
    assert "labels are not averaged" in prose
