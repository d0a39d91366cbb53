"""Every OME-Zarr image a chapter makes opens cleanly in the readers people use.

Each chapter is executed with its images kept (``tests/ome_collector.py``):
the images it wrote to disk, and the image groups its variables hold in memory
(copied to disk). Each is opened with ome-zarr-models, ome-zarr-py's Reader
and ngff-zarr (``tests/ome_readers.py``); any exception, log record at WARNING
or above, warning or missing level fails the test, as does breaking the
book's rule for the spatial axes (z, y, x in micrometer). Label images an image lists in
its ``labels`` group are opened as label images too (``label_problems``). New
chapters are covered without any change here.

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
from data_helpers.check import check_image
from data_helpers.pyramid import downsample_mean
from data_helpers.readers import (
    READERS,
    OpenedImage,
    ReaderError,
    complaints,
    ome_zarr_py_nodes,
    open_group,
    read_with_ngff_zarr,
    read_with_ome_zarr_py,
)
from tests.notebooks import chapter_names
from tests.ome_collector import image_folders
from tests.ome_readers import label_names, label_problems, reader_problems

#: Images a chapter makes on purpose to show what a reader does with a broken
#: one: (chapter, image folder name) -> why. Each must still be found, and
#: still be rejected (else the exemption is stale and must go).
DELIBERATELY_BROKEN = {
    ("appendix-ome-zarr-libraries", "omero-null.ome.zarr"): (
        'written with ome-zarr-models\' own to_zarr, to show what "omero": null '
        "does to ome-zarr-py"
    ),
}

#: Copies whose data a chapter damages on purpose to show what
#: ``data_helpers.check`` finds (their metadata are fine, so every reader opens
#: them): (chapter, image folder name) -> why. Each must still be found, and the
#: deep check must still report it.
DELIBERATELY_DAMAGED = {
    (
        "converting-an-enormous-scan",
        "cut-shard.ome.zarr",
    ): "one level-0 shard cut short",
    ("converting-an-enormous-scan", "wrong-shape.ome.zarr"): "level 2 resized to 30³",
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
    "converting-an-enormous-scan": {
        ("disk", "cut-shard.ome.zarr"),
        ("disk", "wrong-shape.ome.zarr"),
    },
    "bringing-your-own-data": {
        ("disk", "embryo.ome.zarr"),  # c, z, y, x, anisotropic
        ("disk", "timelapse.ome.zarr"),  # t, c, z, y, x
        ("disk", "heart_rec.ome.zarr"),  # from HDF5, float32
    },
    "labels-and-segmentations": {
        ("disk", "heart.ome.zarr"),  # OME-Zarr 0.5, the default
        ("disk", "heart-0.4.ome.zarr"),  # 0.4 shown on purpose
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
        problems |= {
            f"labels: {reader}": found
            for reader, found in label_problems(Path(image["path"])).items()
        }
        if (name, image["name"]) in DELIBERATELY_BROKEN:
            assert problems, f"{label} is exempt as broken, but opens cleanly"
        elif problems:
            failures[label] = problems
    assert failures == {}, json.dumps(failures, indent=2)


def test_exemptions_name_images_that_exist() -> None:
    for chapter, image in [*DELIBERATELY_BROKEN, *DELIBERATELY_DAMAGED, *OTHER_WRITERS]:
        assert chapter in chapter_names()
        assert (("disk", image)) in KNOWN_IMAGES[chapter]


def level_problems(path: Path, *, exact: bool = True) -> list[str]:
    """Levels that are not a downsampled copy of the level above.

    ``exact``: each level is the block mean of the level above
    (``downsample_mean``) over the factors of their scales, voxel for voxel.
    Otherwise, for another library's filters: a level may be one voxel
    shorter at an odd edge, and must follow the block mean closely
    (correlation 0.95 or more, mean difference at most 2 % of the level
    above's range of values).
    """
    group = open_group(path)
    datasets = ome.multiscale_metadata(group)["datasets"]
    paths = [d["path"] for d in datasets]
    # the factors between levels, read from their scales (2 for cubic voxels)
    scales = [
        next(t["scale"] for t in ome.level_transforms(d) if t["type"] == "scale")
        for d in datasets
    ]
    problems = []
    for k, (above_path, here_path) in enumerate(itertools.pairwise(paths)):
        above, here = group[above_path][...], group[here_path][...]
        factors = [round(b / a) for a, b in zip(scales[k], scales[k + 1], strict=True)]
        expected = downsample_mean(above, factors)
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
        if (name, image["name"]) in DELIBERATELY_DAMAGED:
            found = check_image(image["path"], deep=True).problems
            assert found, f"{image['name']} is exempt as damaged, but checks clean"
            continue
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


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_every_reader_reads_the_levels(tmp_path: Path, zarr_format: int) -> None:
    path = small_image(tmp_path / "small.ome.zarr", zarr_format)
    expected = OpenedImage(
        axes=[(name, "micrometer") for name in "zyx"],
        shapes=[(8, 6, 4), (4, 3, 2)],
        scales=[(3.0, 2.0, 1.0), (6.0, 4.0, 2.0)],
        translations=[(0.0, 0.0, 0.0), (1.5, 1.0, 0.5)],
    )
    assert {name: read(path) for name, read in READERS.items()} == dict.fromkeys(
        READERS, expected
    )


@pytest.mark.parametrize(("zarr_format", "version"), [(2, "0.4"), (3, "0.5")])
def test_ome_zarr_py_is_told_the_version(
    tmp_path: Path, zarr_format: int, version: str
) -> None:
    # Told FormatV04, ome-zarr-py 0.21.0 reads a 0.5 image as 0.4 without a word.
    path = small_image(tmp_path / "small.ome.zarr", zarr_format)
    (node, *_) = ome_zarr_py_nodes(path)
    assert (node.zarr.version, node.zarr.fmt.version) == (version, version)


def test_a_complaining_or_refusing_reader_raises(tmp_path: Path) -> None:
    path = small_image(tmp_path / "null.ome.zarr", 2)
    edit_metadata(path, top={"omero": None})
    with pytest.raises(ReaderError) as logged:
        read_with_ome_zarr_py(path)  # it reads the levels, but logs an error
    assert logged.value.read.shapes == [(8, 6, 4), (4, 3, 2)]
    (problem,) = logged.value.problems
    assert problem.startswith("logged ERROR by ome_zarr.reader: Failed to parse")
    assert str(logged.value).startswith(f"ome-zarr-py, opening {path}: logged ERROR")
    with pytest.raises(ReaderError) as refused:
        read_with_ngff_zarr(path)
    assert refused.value.read is None
    assert refused.value.problems == [
        "raised ValidationError: None is not of type 'object'"
    ]


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
    scales = read_with_ome_zarr_py(path).scales  # it says nothing about it
    assert scales == [(3.0, 2.0, 1.0), (6.0, 4.0, 2.0)]  # the levels' own, not x10


def image_with_labels(path: Path, zarr_format: int) -> Path:
    """``small_image`` with a label image "cells" of the same levels."""
    from data_helpers.pyramid import write_label_pyramid

    small_image(path, zarr_format)
    labels = (np.arange(8 * 6 * 4).reshape(8, 6, 4) // 50).astype(np.uint16)
    write_label_pyramid(
        zarr.open_group(path, mode="r+"), "cells", labels, colors={1: (0, 0, 255, 255)}
    )
    return path


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_label_images_open_cleanly_as_labels(tmp_path: Path, zarr_format: int) -> None:
    path = image_with_labels(tmp_path / "small.ome.zarr", zarr_format)
    assert label_names(path) == ["cells"]
    assert reader_problems(path) == {}
    assert reader_problems(path / "labels" / "cells") == {}
    assert label_problems(path) == {}


def edit_label(path: Path, change) -> None:
    group = zarr.open_group(path / "labels" / "cells", mode="r+")
    attributes = group.attrs.asdict()
    change(attributes.get("ome", attributes))
    group.attrs.put(attributes)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_label_problems_are_caught(tmp_path: Path, zarr_format: int) -> None:
    # A source that leads nowhere: ome-zarr-py warns, and finds no image.
    path = image_with_labels(tmp_path / "source.ome.zarr", zarr_format)
    edit_label(path, lambda a: a["image-label"].update(source={"image": "../nowhere"}))
    assert "ome-zarr-py" in label_problems(path)
    # Transforms that differ from the image's.
    path = image_with_labels(tmp_path / "scale.ome.zarr", zarr_format)
    edit_label(
        path,
        lambda a: a["multiscales"][0]["datasets"][1]["coordinateTransformations"][
            0
        ].update(scale=[9.0, 9.0, 9.0]),
    )
    assert "book label rules" in label_problems(path)
    # A level that is not the mode of the one above (a mean, say).
    path = image_with_labels(tmp_path / "mean.ome.zarr", zarr_format)
    level1 = zarr.open_group(path / "labels" / "cells", mode="r+")["1"]
    level1[0, 0, 0] = level1[0, 0, 0] + 1
    assert "book label rules" in label_problems(path)
    # Listed but without image-label metadata: not a label image to ome-zarr-py.
    path = image_with_labels(tmp_path / "plain.ome.zarr", zarr_format)
    edit_label(path, lambda a: a.pop("image-label"))
    problems = label_problems(path)
    assert "ome-zarr-py" in problems and "ome-zarr-models" in problems
