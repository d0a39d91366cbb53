"""Check what the appendix on OME-Zarr libraries says its cells show."""

from __future__ import annotations

import ast
import math
import re

import pytest

from data_helpers import HEART_VOXEL_SIZE_UM, level_shape, load_heart_data
from tests.claims import comma_floats, prose_numbers

CHAPTER = "appendix-ome-zarr-libraries"
VOXEL_UM = HEART_VOXEL_SIZE_UM
WRITERS = ("book", "ome-zarr-py", "ngff-zarr")


@pytest.fixture(scope="module")
def chapter(executed):
    return executed(CHAPTER)


@pytest.fixture(scope="module")
def heart_shape(chapter) -> tuple[int, ...]:
    """The heart's shape as the appendix writes it, (z, y, x)."""
    # The executed fixture has pointed data_helpers at the served sample data.
    shape = tuple(load_heart_data("numpy").shape)[::-1]
    assert f"heart as (z, y, x): shape {shape}" in chapter.text("claim-heart")
    return shape


def floor_shape(shape, level):
    return tuple(n // 2**level for n in shape)


@pytest.fixture(scope="module")
def level_rows(chapter) -> dict[tuple[str, int], dict[str, str]]:
    """The rows of the side-by-side table, keyed by (writer, level)."""
    lines = [line for line in chapter.text("claim-shapes").splitlines() if line.strip()]
    header = re.split(r"\s{2,}", lines[0].strip())
    rows = {}
    for line in lines[1:]:
        row = dict(zip(header, re.split(r"\s{2,}", line.strip()), strict=True))
        rows[(row["writer"], int(row["level"]))] = row
    return rows


def test_appendix_runs_quickly(chapter) -> None:
    assert chapter.seconds < 60, f"the appendix took {chapter.seconds:.0f} s"


def test_library_table_lists_at_least_five_libraries(chapter) -> None:
    table = [
        line
        for line in chapter.markdown().splitlines()
        if line.startswith("| [") and line.count("|") >= 7
    ]
    assert len(table) >= 5
    for name in ("ome-zarr-py", "ngff-zarr", "ome-zarr-models", "bioio-ome-zarr"):
        assert any(f"[{name}]" in line for line in table), name
    assert all("https://" in line for line in table)


def test_every_store_validates_as_ome_zarr_05(chapter) -> None:
    out = chapter.text("claim-validate")
    for writer in WRITERS:
        assert f"{writer}: valid OME-Zarr 0.5 image, Zarr format 3" in out
    paths = {
        line.split(":")[0]: ast.literal_eval(line.split("datasets ")[1])
        for line in out.splitlines()
    }
    assert paths["book"] == ["0", "1", "2"]
    assert paths["ome-zarr-py"] == ["s0", "s1", "s2"]
    assert all("/" in path for path in paths["ngff-zarr"])  # one group per level


def test_book_pyramid_matches_the_chapter_recipe(level_rows, heart_shape) -> None:
    for d in range(3):
        row = level_rows[("book", d)]
        assert row["axes"] == "zyx"
        assert ast.literal_eval(row["shape"]) == level_shape(heart_shape, d)
        assert ast.literal_eval(row["chunks"]) == (32, 32, 32)
        assert row["compressor"] == "blosc zstd level 3"
        assert comma_floats(row["scale (µm)"]) == pytest.approx(
            [VOXEL_UM * 2**d] * 3, abs=0.01
        )
        assert comma_floats(row["translation (µm)"]) == pytest.approx(
            [VOXEL_UM * (2**d - 1) / 2] * 3, abs=0.01
        )


def test_every_store_is_z_y_x_and_libraries_round_down(level_rows, heart_shape):
    assert any(n % 2 for n in heart_shape), "the claim needs an odd-sized axis"
    for d in range(3):
        expected = floor_shape(heart_shape, d)
        for writer in ("ome-zarr-py", "ngff-zarr"):
            assert level_rows[(writer, d)]["axes"] == "zyx"
            assert ast.literal_eval(level_rows[(writer, d)]["shape"]) == expected


def test_ngff_zarr_reorders_x_y_z_to_canonical_order() -> None:
    """The appendix says so of ngff-zarr's to_multiscales (default settings)."""
    import ngff_zarr
    import numpy as np

    volume = np.zeros((4, 5, 6), dtype=np.uint8)
    image = ngff_zarr.to_ngff_image(volume, dims=("x", "y", "z"))
    multiscales = ngff_zarr.to_multiscales(image, scale_factors=[], cache=False)
    level0 = multiscales.images[0]
    assert tuple(level0.dims) == ("z", "y", "x")
    assert level0.data.shape == (6, 5, 4)


def test_rounding_cell_agrees(chapter, heart_shape) -> None:
    out = chapter.text("claim-rounding")
    # The book rounds up, which differs from rounding down only for odd sizes.
    assert level_shape(heart_shape, 1) != floor_shape(heart_shape, 1)
    assert "book: rounds up" in out
    assert "ome-zarr-py: rounds down" in out
    assert "ngff-zarr: rounds down" in out


def test_voxel_sizes_and_half_voxel_translations(
    chapter, level_rows, heart_shape
) -> None:
    # ome-zarr-py derives each level's scale from the shape it wrote (z is odd).
    z_size = heart_shape[0]
    assert z_size % 2 == 1
    row = level_rows[("ome-zarr-py", 1)]
    z_scale = comma_floats(row["scale (µm)"])[0]
    assert z_scale == pytest.approx(VOXEL_UM * z_size / (z_size // 2), abs=0.01)
    assert z_scale > 2 * VOXEL_UM
    z_shift = comma_floats(row["translation (µm)"])[0]
    assert z_shift == pytest.approx((z_scale - VOXEL_UM) / 2, abs=0.01)
    # ngff-zarr keeps exact powers of two.
    assert comma_floats(level_rows[("ngff-zarr", 1)]["scale (µm)"]) == pytest.approx(
        [2 * VOXEL_UM] * 3, abs=0.01
    )
    # All three shift level 1 by half a level-0 voxel, level 2 by one and a half,
    # along y and x (the numbers the prose gives).
    for writer in WRITERS:
        assert comma_floats(level_rows[(writer, 0)]["translation (µm)"]) == [0, 0, 0]
        for d, voxels in [(1, 0.5), (2, 1.5)]:
            shift = comma_floats(level_rows[(writer, d)]["translation (µm)"])
            assert shift[1:] == pytest.approx([VOXEL_UM * voxels] * 2, abs=0.01)
    half, one_and_a_half = prose_numbers(
        r"half a level-0 voxel \(([\d.]+) µm\) and level 2 one and a half "
        r"\(([\d.]+) µm\)",
        chapter.markdown(),
    )
    assert round(VOXEL_UM / 2, 2) == half and round(VOXEL_UM * 1.5, 2) == one_and_a_half


def test_figure_has_one_image(chapter) -> None:
    assert chapter.images("claim-figure") == 1


def test_gaussian_is_smoothest_and_block_mean_crispest(chapter) -> None:
    values = {
        line.split(":")[0]: float(line.rsplit(" ", 1)[1])
        for line in chapter.text("claim-sharpness").splitlines()
    }
    assert values["ngff-zarr"] < values["ome-zarr-py"] < values["book"]


def _reader_report(text: str) -> dict[str, tuple[list[tuple[int, ...]], list[str]]]:
    report: dict[str, tuple[list[tuple[int, ...]], list[str]]] = {}
    writer = None
    for line in text.splitlines():
        if line.startswith("    "):
            report[writer][1].append(line.strip())
        elif "reads levels" in line:
            writer = line.split(":")[0]
            report[writer] = (ast.literal_eval(line.split("reads levels ")[1]), [])
    return report


def test_ome_zarr_py_reads_all_three_without_complaint(chapter, heart_shape):
    report = _reader_report(chapter.text("claim-reader"))
    assert set(report) == set(WRITERS)
    assert report["book"][0] == [level_shape(heart_shape, d) for d in range(3)]
    assert report["ome-zarr-py"][0] == [floor_shape(heart_shape, d) for d in range(3)]
    assert report["ngff-zarr"][0] == [floor_shape(heart_shape, d) for d in range(3)]
    for writer in WRITERS:
        assert report[writer][1] == ["nothing logged"], writer


def test_library_defaults_are_zstd_level_0(level_rows) -> None:
    """'left it to their defaults, Zstandard at `level` 0'."""
    for writer in ("ome-zarr-py", "ngff-zarr"):
        for d in range(3):
            assert level_rows[(writer, d)]["compressor"] == "zstd level 0"


def test_null_omero_copy_is_rejected(chapter, heart_shape) -> None:
    out = chapter.text("claim-reader-null")
    # OME-Zarr 0.5: no omero, two null fields, and both readers accept them
    assert "0.5 copy: 'omero' in its metadata: False" in out
    assert "null fields ['metadata', 'type']" in out
    levels = [level_shape(heart_shape, d) for d in range(3)]
    for name in ("ome-zarr-py", "ngff-zarr"):
        assert f"0.5 copy read by {name}, levels {levels}" in out
    # OME-Zarr 0.4: "omero": null, which both readers reject
    assert "omero in the 0.4 copy's metadata: None" in out
    report = _reader_report(out)
    ((shapes, messages),) = report.values()
    assert shapes == [level_shape(heart_shape, d) for d in range(3)]
    # the messages as data_helpers.readers words them (level, then logger)
    logged = "logged ERROR by ome_zarr.reader: Failed to parse metadata"
    assert any(m.startswith(logged) for m in messages), messages
    assert "ngff-zarr: raised ValidationError: None is not of type 'object'" in out


def test_level_shapes_halve_with_ceiling(heart_shape) -> None:
    # Guard the helper the tests above rely on.
    assert level_shape(heart_shape, 2) == tuple(math.ceil(n / 4) for n in heart_shape)


def test_what_rounding_down_does_with_the_remainder(chapter, heart_shape) -> None:
    out = chapter.text("claim-extent")
    extents = {
        writer: [float(x) for x in spans.split(", ")]
        for writer, spans in re.findall(
            r"^(.+?): z extent of levels 0, 1, 2 = (.+) level-0 voxels$", out, re.M
        )
    }
    z = heart_shape[0]
    assert z == 139
    # the book rounds up: each level reaches up to the next multiple of 2**d
    assert extents["book"] == [z, 2 * math.ceil(z / 2), 4 * math.ceil(z / 4)]
    # ome-zarr-py resamples the whole extent: every level spans all 139 slices
    assert extents["ome-zarr-py"] == pytest.approx([z] * 3, abs=0.05)
    # ngff-zarr keeps a scale of 2 per level: the last 1, then 3 slices fall off
    assert extents["ngff-zarr"] == [z, 2 * (z // 2), 4 * (z // 4)]
    assert [z - e for e in extents["ngff-zarr"]] == [0, 1, 3]
    assert extents["book"][1] - z == 1  # "one level-0 voxel beyond the image"


def test_sources_named_in_the_prose_are_current(chapter) -> None:
    prose = chapter.markdown()
    # ngff-zarr moved to fideus-labs (its 0.50.0 README links there)
    assert "github.com/fideus-labs/ngff-zarr" in prose
    assert "github.com/thewtex/ngff-zarr" not in prose
    # napari-ome-zarr dropped ome-zarr-py (commit d4f035b, release 0.8.1) and
    # depends on it again in 0.11.0 (the wheel's metadata: ome-zarr>=0.20.1)
    assert "update both together" not in prose
    assert "d4f035b" in prose
    assert "`ome-zarr>=0.20.1` again" in prose
    # OME-Zarr 0.6 is released: ngff-zarr's final tag (pull request #749)
    assert "0.6rc0" not in prose and "ngff-zarr/pull/749" in prose
    # webKnossos reads OME-Zarr 0.5 since 24.11.1 (pull request #8122)
    assert "webknossos/pull/8122" in prose
    # iohub 0.3.x needs Python >= 3.12 and zarr >= 3.1.6
    iohub_row = next(line for line in prose.splitlines() if "[iohub]" in line)
    assert "0.3.11" in iohub_row and "zarr>=3.1.6" in iohub_row


@pytest.mark.parametrize(
    ("row", "distribution"),
    [
        ("[ome-zarr-py]", "ome-zarr"),
        ("[ngff-zarr]", "ngff-zarr"),
        ("[ome-zarr-models]", "ome-zarr-models"),
    ],
)
def test_classifiers_are_the_installed_ones(chapter, row, distribution) -> None:
    """Each installed library's row names the Development Status of its wheel."""
    from importlib.metadata import metadata

    classifiers = metadata(distribution).get_all("Classifier") or []
    (status,) = [c for c in classifiers if c.startswith("Development Status")]
    stage = status.split(" - ", 1)[1]  # "Beta", "Production/Stable"
    line = next(
        line for line in chapter.markdown().splitlines() if line.startswith(f"| {row}")
    )
    assert re.search(rf'"{re.escape(stage)}" (PyPI )?classifier', line)
    assert line.count("classifier") == 1
