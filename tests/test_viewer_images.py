"""Tests for ``data_helpers.viewer_images``: the heart images and their labels."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import zarr

from data_helpers.heart_labels import LABEL_COLORS, segment_heart
from data_helpers.ome import ZARR_FORMATS, written_version
from data_helpers.synthetic import ct_like_volume
from data_helpers.viewer_images import (
    CHANNEL_IMAGE,
    CHANNEL_NAMES,
    CHANNEL_SHAPE,
    HEART_SHAPE,
    IMAGES,
    LABELS,
    write_viewer_images,
)
from tests.ome_readers import reader_problems


@pytest.fixture(scope="module")
def images(book_data_env: None, tmp_path_factory: pytest.TempPathFactory):
    return write_viewer_images(tmp_path_factory.mktemp("viewer-images"))


def test_each_image_has_the_chapter_labels(images: dict[str, Path]) -> None:
    expected = segment_heart(ct_like_volume(HEART_SHAPE, seed=0)).labels
    assert set(images) == set(IMAGES) | {CHANNEL_IMAGE}
    for name, path in images.items():
        if name == CHANNEL_IMAGE:
            continue
        image = zarr.open_group(path, mode="r")
        version = IMAGES[name]["ome_zarr_version"]
        assert image.metadata.zarr_format == ZARR_FORMATS[version]
        assert written_version(dict(image.attrs)) == version
        labels = zarr.open_group(path / "labels" / LABELS, mode="r")
        attributes = dict(labels.attrs)
        ome = attributes.get("ome", attributes)
        colors = {
            c["label-value"]: tuple(c["rgba"]) for c in ome["image-label"]["colors"]
        }
        assert colors == LABEL_COLORS
        assert np.array_equal(labels["0"][:], expected)
        assert len(labels) == len(image) - 1 == 5  # the levels; the image: + labels
        assert [labels[str(k)].shape for k in range(len(labels))] == [
            image[str(k)].shape for k in range(len(labels))
        ]


def test_every_label_chunk_is_stored(images: dict[str, Path]) -> None:
    """No request of the viewer meets a 404, not even for background only."""
    path = images["heart.ome.zarr"] / "labels" / LABELS
    labels = zarr.open_group(path, mode="r")
    for level in range(len(labels)):
        array = labels[str(level)]
        stored = [p for p in (path / str(level)).rglob("*") if p.is_file()]
        stored = [p for p in stored if not p.name.startswith(".")]
        assert len(stored) == array.nchunks > 0


def test_again_is_left_alone_and_old_images_are_redone(
    images: dict[str, Path],
) -> None:
    path = images["heart.ome.zarr"]
    before = (path / "0" / ".zarray").stat().st_mtime_ns
    assert write_viewer_images(path.parent) == images
    assert (path / "0" / ".zarray").stat().st_mtime_ns == before
    # An image an older version wrote, without labels, is written again.
    shutil.rmtree(path / "labels")
    write_viewer_images(path.parent)
    assert (path / "labels" / LABELS / ".zattrs").is_file()
    assert not list(path.parent.glob(".*.partial"))


def test_the_channel_image_names_its_channels(images: dict[str, Path]) -> None:
    """The image of "Bringing your own data": c, z, y, x, its channels named
    in omero, with a display window inside each channel's values."""
    image = zarr.open_group(images[CHANNEL_IMAGE], mode="r")
    ome = dict(image.attrs)["ome"]
    axes = [axis["name"] for axis in ome["multiscales"][0]["axes"]]
    assert axes == ["c", "z", "y", "x"]
    assert image["0"].shape == CHANNEL_SHAPE
    channels = ome["omero"]["channels"]
    assert [c["label"] for c in channels] == list(CHANNEL_NAMES)
    assert [c["color"] for c in channels] == ["00FF00", "FF00FF"]
    for index, channel in enumerate(channels):
        values = image["0"][index]
        window = channel["window"]
        assert values.min() <= window["start"] < window["end"] <= values.max()
    assert reader_problems(images[CHANNEL_IMAGE]) == {}
