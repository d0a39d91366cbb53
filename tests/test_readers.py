"""Every OME-Zarr image a chapter makes opens cleanly in the readers people use.

Each chapter is executed with its images kept (``tests/ome_collector.py``):
the images it wrote to disk, and the image groups its variables hold in memory
(copied to disk). Each is opened with ome-zarr-models, ome-zarr-py's Reader
and ngff-zarr (``tests/ome_readers.py``); any exception, log record at WARNING
or above, warning or missing level fails the test, as does breaking the
book's rule for the spatial axes (z, y, x in micrometer). New chapters are
covered without any change here.

napari-ome-zarr, the napari plugin, is not among the readers: its releases
require napari itself (napari-ome-zarr 0.10.0: ``napari>=0.6.0``), far too much
for the test environment. Nor is bioio-ome-zarr (3.8.1), which would add the
bioio plugin system and xarray for a reader built on zarr-python, as here.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import zarr

import data_helpers.ome as ome
from data_helpers.pyramid import downsample_mean
from tests.notebooks import chapter_names
from tests.ome_collector import image_folders
from tests.ome_readers import complaints, open_group, reader_problems

#: Images a chapter makes on purpose to show what a reader does with a broken
#: one: (chapter, image folder name) -> why. Each must still be found, and
#: still be rejected (else the exemption is stale and must go).
DELIBERATELY_BROKEN = {
    ("appendix-ome-zarr-libraries", "omero-null.ome.zarr"): (
        'written with ome-zarr-models\' own to_zarr, to show what "omero": null '
        "does to ome-zarr-py"
    ),
}

#: Images another library wrote, shown as that library makes them (the appendix
#: compares them): each level is filtered and resampled from the level above
#: (ome-zarr-py's resize with anti-aliasing, ngff-zarr's Gaussian), with the odd
#: edge dropped, so it is a smoothed copy, not the book's exact block mean.
OTHER_WRITERS = {
    ("appendix-ome-zarr-libraries", "ome-zarr-py.ome.zarr"): "ome-zarr-py",
    ("appendix-ome-zarr-libraries", "ngff-zarr.ome.zarr"): "ngff-zarr",
}

#: Images the book's chapters are known to make, so the collector is known to
#: find them (a chapter may make more).
KNOWN_IMAGES = {
    "creating-chunked-datasets": {
        ("memory", "single_level_group"),
        ("memory", "multiscale_group"),
        ("disk", "heart_multiscale.ome.zarr"),
    },
    "appendix-ome-zarr-libraries": {
        ("disk", "book.ome.zarr"),
        ("disk", "ome-zarr-py.ome.zarr"),
        ("disk", "ngff-zarr.ome.zarr"),
        ("disk", "omero-null.ome.zarr"),
    },
}


@pytest.mark.parametrize("name", chapter_names())
def test_every_image_opens_cleanly_in_every_reader(executed, name: str) -> None:
    chapter = executed(name)
    found = {(image["source"], image["name"]) for image in chapter.ome_images}
    assert KNOWN_IMAGES.get(name, set()) <= found, f"not found: {found}"
    failures = {}
    for image in chapter.ome_images:
        label = f"{image['source']} {image['name']}"
        problems = reader_problems(Path(image["path"]))
        if (name, image["name"]) in DELIBERATELY_BROKEN:
            assert problems, f"{label} is exempt as broken, but opens cleanly"
        elif problems:
            failures[label] = problems
    assert failures == {}, json.dumps(failures, indent=2)


def test_exemptions_name_images_that_exist() -> None:
    for chapter, image in [*DELIBERATELY_BROKEN, *OTHER_WRITERS]:
        assert chapter in chapter_names()
        assert (("disk", image)) in KNOWN_IMAGES[chapter]


def level_problems(path: Path, *, exact: bool = True) -> list[str]:
    """Levels that are not a downsampled copy of the level above.

    ``exact``: each level is the block mean of the level above
    (``downsample_mean``), voxel for voxel. Otherwise, for another library's
    filters: a level may be one voxel shorter at an odd edge, and must follow
    the block mean closely (correlation 0.95 or more, mean difference at most 2 %
    of the level above's range of values).
    """
    group = open_group(path)
    paths = [d["path"] for d in ome.multiscale_metadata(group)["datasets"]]
    problems = []
    for above_path, here_path in itertools.pairwise(paths):
        above, here = group[above_path][...], group[here_path][...]
        expected = downsample_mean(above)
        allowed = [(m,) if exact else (m, m - 1) for m in expected.shape]
        if len(here.shape) != len(expected.shape) or any(
            n not in ok for n, ok in zip(here.shape, allowed, strict=True)
        ):
            problems.append(
                f"level {here_path} has shape {here.shape}, not {expected.shape}"
            )
            continue
        near = expected[tuple(slice(0, n) for n in here.shape)].astype(np.float64)
        difference = np.abs(here - near)
        if exact and difference.max() > 0:
            problems.append(
                f"level {here_path} differs from the block mean of level "
                f"{above_path} by up to {difference.max():g}"
            )
        elif not exact:
            spread = float(above.max()) - float(above.min())
            correlation = np.corrcoef(here.ravel(), near.ravel())[0, 1]
            if correlation < 0.95 or difference.mean() > 0.02 * spread:
                problems.append(
                    f"level {here_path} is not a smoothed copy of level "
                    f"{above_path}: correlation {correlation:.3f}, mean "
                    f"difference {difference.mean():.2f} of a range of {spread:g}"
                )
    return problems


@pytest.mark.parametrize("name", chapter_names())
def test_every_image_is_a_consistent_pyramid(executed, name: str) -> None:
    """Each level a chapter leaves is the block mean of the level above it."""
    failures = {}
    for image in executed(name).ome_images:
        exact = (name, image["name"]) not in OTHER_WRITERS
        if problems := level_problems(Path(image["path"]), exact=exact):
            failures[f"{image['source']} {image['name']}"] = problems
    assert failures == {}, json.dumps(failures, indent=2)


def test_an_edited_level_is_caught(tmp_path: Path) -> None:
    path = small_image(tmp_path / "edited.ome.zarr", 3)
    assert level_problems(path) == []
    level0 = zarr.open_array(path / "0", mode="r+")
    level0[:2, :2, :2] = 255 - level0[:2, :2, :2]  # level 1 no longer follows
    (problem,) = level_problems(path)
    assert problem == "level 1 differs from the block mean of level 0 by up to 226"
    level0[:] = 255 - level0[:]  # a level 1 that is nothing like level 0
    (problem,) = level_problems(path, exact=False)
    assert problem.startswith("level 1 is not a smoothed copy of level 0")


def test_a_short_odd_edge_is_caught(tmp_path: Path) -> None:
    data = np.arange(7 * 6 * 4, dtype=np.uint8).reshape(7, 6, 4)
    path = small_image(tmp_path / "short.ome.zarr", 2, data=data, keep=3)
    assert level_problems(path) == ["level 1 has shape (3, 3, 2), not (4, 3, 2)"]
    assert level_problems(path, exact=False) == []


def small_image(
    path: Path, zarr_format: int, *, data: np.ndarray | None = None, keep: int = 0
) -> Path:
    """Write a two-level (z, y, x) image (8 x 6 x 4 voxels unless ``data``) with
    data_helpers; level 1 is the block mean, cut to ``keep`` planes if given."""
    if data is None:
        data = np.arange(8 * 6 * 4, dtype=np.uint8).reshape(8, 6, 4)
    level1 = downsample_mean(data)
    levels = [data, level1[:keep] if keep else level1]
    spec_class = ome.array_spec_class(zarr_format)
    specs = [spec_class.from_array(level) for level in levels]
    image = ome.image_model(specs, voxel_size=(3.0, 2.0, 1.0), name="small")
    group = ome.write_image(image, zarr.storage.LocalStore(path))
    for k, level in enumerate(levels):
        group[str(k)][...] = level
    return path


def edit_metadata(path: Path, **changes) -> dict:
    """Change the group attributes (``top``) or the multiscales entry of an image."""
    group = zarr.open_group(path, mode="r+")
    attributes = group.attrs.asdict()
    attributes.update(changes.pop("top", {}))
    attributes.get("ome", attributes)["multiscales"][0].update(changes)
    group.attrs.put(attributes)
    return attributes


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_data_helpers_images_open_cleanly(tmp_path: Path, zarr_format: int) -> None:
    path = small_image(tmp_path / "small.ome.zarr", zarr_format)
    assert image_folders(tmp_path) == [path]
    assert reader_problems(path) == {}


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_x_y_z_order_is_caught(tmp_path: Path, zarr_format: int) -> None:
    path = small_image(tmp_path / "xyz.ome.zarr", zarr_format)
    axes = [{"name": n, "type": "space", "unit": "micrometer"} for n in "xyz"]
    edit_metadata(path, axes=axes)
    problems = reader_problems(path)
    assert "ngff-zarr" in problems and "book rules" in problems


def test_null_omero_is_caught(tmp_path: Path) -> None:
    path = small_image(tmp_path / "null.ome.zarr", 2)
    edit_metadata(path, top={"omero": None})
    problems = reader_problems(path)
    assert any("ERROR" in p for p in problems["ome-zarr-py"]), problems
    assert "ngff-zarr" in problems
    # the object API that napari-ome-zarr 0.11.0 uses skips a null omero (the
    # appendix says so)
    assert "ome-zarr-py objects (napari)" not in problems


def test_complaints_are_collected() -> None:
    import logging
    import warnings

    with complaints() as found:
        logging.getLogger("some.reader").warning("odd %s", "metadata")
        logging.getLogger("some.reader").info("fine")
        warnings.warn("deprecated", DeprecationWarning, stacklevel=1)
    assert found == [
        "logged WARNING by some.reader: odd metadata",
        "warning DeprecationWarning: deprecated",
    ]


def test_global_scale_is_not_read_by_every_reader(tmp_path: Path) -> None:
    """Why the book gives every level its absolute scale (ome-zarr-py 0.21.0,
    ngff-zarr 0.50.0): a multiscale-wide scale is dropped by ome-zarr-py's
    Reader, and ngff-zarr's validation fails on it."""
    path = small_image(tmp_path / "global.ome.zarr", 2)
    scale = [{"type": "scale", "scale": [10.0, 10.0, 10.0]}]
    edit_metadata(path, coordinateTransformations=scale)
    problems = reader_problems(path)
    assert "ngff-zarr" in problems
    from ome_zarr.format import FormatV04
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    with complaints():
        (node, *_) = Reader(parse_url(str(path), fmt=FormatV04()))()
    level0 = node.metadata["coordinateTransformations"][0]
    assert level0[0]["scale"] == [3.0, 2.0, 1.0]  # the level's own, not x10
    assert "10.0" not in json.dumps(node.metadata["coordinateTransformations"])
