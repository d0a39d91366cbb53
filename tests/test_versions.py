"""OME-Zarr versions as one value: 0.6 images and labels written by
``data_helpers.ome``, read by the readers that know 0.6, checked by
``data_helpers.check``; an unknown version is a problem, and the viewer
refuses versions Neuroglancer 2.41.2 cannot read."""

from __future__ import annotations

import json
from pathlib import Path

import ngff_zarr
import numpy as np
import pytest
import zarr
from ome_zarr_models import v06

import data_helpers.ome as ome
from data_helpers import check, view, viewer_app
from data_helpers.pyramid import downsample_mean, write_label_pyramid
from data_helpers.readers import READERS, readers_of
from tests.ome_readers import label_problems, reader_problems

VOXEL = (3.0, 2.0, 1.0)
DATA = np.arange(8 * 6 * 4, dtype=np.uint16).reshape(8, 6, 4)
# pydantic-zarr 0.10.0 leaves out the bytes codec's endian (see test_ome.py).
BYTES_LITTLE_ENDIAN = {"name": "bytes", "configuration": {"endian": "little"}}


def write_small(path: Path, version: ome.OmeZarrVersion) -> Path:
    """A two-level image of ``DATA`` in OME-Zarr ``version``."""
    zarr_format = ome.ZARR_FORMATS[version]
    options = {"codecs": [BYTES_LITTLE_ENDIAN]} if zarr_format == 3 else {}
    levels = [DATA, downsample_mean(DATA)]
    spec_class = ome.array_spec_class(zarr_format)
    specs = [spec_class.from_array(level, **options) for level in levels]
    image = ome.image_model(specs, voxel_size=VOXEL, name="small", version=version)
    group = ome.write_image(image, zarr.storage.LocalStore(path))
    for k, level in enumerate(levels):
        group[str(k)][...] = level
    return path


def test_versions_and_their_zarr_formats() -> None:
    assert ome.ZARR_FORMATS == {"0.4": 2, "0.5": 3, "0.6": 3}
    assert ome.DEFAULT_OME_ZARR_VERSION in ome.OME_ZARR_VERSIONS
    assert [ome.version_of_format(f) for f in (2, 3)] == ["0.4", "0.5"]
    with pytest.raises(ValueError, match="0.4, 0.5, 0.6"):
        ome.ome_zarr_version("0.7")


@pytest.mark.parametrize("version", ["0.4", "0.5", "0.6"])
def test_image_model_writes_the_version(tmp_path: Path, version) -> None:
    path = write_small(tmp_path / "image.ome.zarr", version)
    group = zarr.open_group(path, mode="r")
    assert group.metadata.zarr_format == ome.ZARR_FORMATS[version]
    assert ome.image_version(group) == version
    assert reader_problems(path) == {}


def test_a_0_6_image_is_the_book_pyramid_in_coordinate_systems(tmp_path) -> None:
    path = write_small(tmp_path / "image.ome.zarr", "0.6")
    attributes = json.loads((path / "zarr.json").read_text())["attributes"]
    (entry,) = attributes["ome"]["multiscales"]
    assert "null" not in json.dumps(attributes)
    assert "coordinateTransformations" not in entry  # an empty list is invalid
    assert entry["coordinateSystems"] == [
        {
            "name": "physical",
            "axes": [
                {"name": name, "type": "space", "unit": "micrometer"} for name in "zyx"
            ],
        }
    ]
    for k, dataset in enumerate(entry["datasets"]):
        (sequence,) = dataset["coordinateTransformations"]
        assert sequence["input"] == {"path": str(k)}
        assert sequence["output"] == {"name": "physical"}
        assert sequence["transformations"] == [
            {"type": "scale", "scale": ome.level_scale(k, VOXEL)},
            {"type": "translation", "translation": ome.level_translation(k, VOXEL)},
        ]
    # both readers that validate 0.6 against the specification take it
    v06.Image.from_zarr(zarr.open_group(path, mode="r"))
    read = ngff_zarr.from_ngff_zarr(str(path), validate=True)
    assert [image.scale for image in read.images][1] == {"z": 6.0, "y": 4.0, "x": 2.0}
    assert ome.image_voxel_size(zarr.open_group(path, mode="r")) == (
        list(VOXEL),
        "micrometer",
    )


def test_a_version_its_specs_cannot_hold_is_refused() -> None:
    specs = [ome.array_spec_class(2).from_array(DATA)]
    with pytest.raises(ValueError, match="OME-Zarr 0.6 lives in Zarr format 3"):
        ome.image_model(specs, voxel_size=VOXEL, version="0.6")


def test_ome_zarr_py_reader_is_not_asked_about_0_6() -> None:
    assert set(readers_of("0.6")) == set(READERS) - {"ome-zarr-py"}
    assert readers_of("0.5") == READERS == readers_of("0.4")


def test_labels_of_a_0_6_image(tmp_path: Path) -> None:
    path = write_small(tmp_path / "image.ome.zarr", "0.6")
    image = zarr.open_group(path, mode="r+")
    write_label_pyramid(image, "cells", (DATA % 3).astype(np.uint8))
    labels = json.loads((path / "labels" / "zarr.json").read_text())["attributes"]
    assert labels == {"ome": {"version": "0.6", "labels": ["cells"]}}
    label = v06.ImageLabel.from_zarr(zarr.open_group(path / "labels" / "cells"))
    assert label.ome_attributes.image_label.source.image == "../../"
    assert label_problems(path) == {}
    assert reader_problems(path / "labels" / "cells") == {}


def test_check_finds_no_problem_in_a_0_6_image(tmp_path: Path, capsys) -> None:
    path = write_small(tmp_path / "image.ome.zarr", "0.6")
    assert check.main([str(path)]) == 0
    out = capsys.readouterr().out
    assert "OME-Zarr 0.6 on Zarr format 3, 2 levels" in out
    assert "scale (6, 4, 2), translation (1.5, 1, 0.5)" in out


def with_version(path: Path, version: str) -> None:
    document = json.loads((path / "zarr.json").read_text())
    document["attributes"]["ome"]["version"] = version
    (path / "zarr.json").write_text(json.dumps(document))


def test_check_names_an_unknown_version_as_a_problem(tmp_path: Path, capsys) -> None:
    path = write_small(tmp_path / "image.ome.zarr", "0.6")
    with_version(path, "0.7")
    assert check.main([str(path)]) == 1
    problems = [
        line for line in capsys.readouterr().out.splitlines() if "PROBLEM" in line
    ]
    assert problems == [
        "PROBLEM metadata: OME-Zarr version '0.7' is not one this checks (0.4, "
        "0.5, 0.6): readers that do not know it refuse the image; write one of "
        "these versions."
    ]


def test_a_0_6_image_with_wrong_metadata_is_a_problem(tmp_path: Path) -> None:
    path = write_small(tmp_path / "image.ome.zarr", "0.6")
    document = json.loads((path / "zarr.json").read_text())
    del document["attributes"]["ome"]["multiscales"][0]["coordinateSystems"]
    (path / "zarr.json").write_text(json.dumps(document))
    metadata = [
        p.message for p in check.check_image(path).problems if p.where == "metadata"
    ]
    assert len(metadata) == 1
    assert metadata[0].startswith("the OME-Zarr 0.6 specification rejects it")


@pytest.mark.parametrize("version", ["0.6", "0.7"])
def test_view_refuses_versions_neuroglancer_cannot_read(
    tmp_path: Path, capsys, monkeypatch, version
) -> None:
    def no_build(**_) -> None:  # refused before the viewer is built or served
        raise viewer_app.ViewerBuildError("the viewer was to be built")

    monkeypatch.setattr(view, "build_viewer", no_build)
    path = write_small(tmp_path / "image.ome.zarr", "0.6")
    with_version(path, version)
    assert view.main([str(path), "--no-browser"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(
        f"error: {str(path)!r} is OME-Zarr {version}, which the book's viewer "
        "(Neuroglancer 2.41.2) cannot read: it reads 0.4 and 0.5"
    )


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_view_reads_0_4_and_0_5(tmp_path: Path, version) -> None:
    path = write_small(tmp_path / "image.ome.zarr", version)
    info = view.image_info(path)
    assert info.levels == ["0", "1"] and info.zarr_format == ome.ZARR_FORMATS[version]


def test_viewer_pin_is_the_neuroglancer_checked() -> None:
    """VIEWER_VERSIONS was read from Neuroglancer 2.41.2's source: a new pin
    needs a new look (0.6 came to its main branch after 2.41.2)."""
    package = Path(__file__).resolve().parents[1] / "viewer" / "package.json"
    pinned = json.loads(package.read_text())["dependencies"]["neuroglancer"]
    assert pinned == "2.41.2" and view.VIEWER_VERSIONS == ("0.4", "0.5")
