"""Tests for data_helpers.ome: OME-Zarr metadata written the way readers accept."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import zarr
from pydantic_zarr.v2 import ArraySpec as ArraySpecV2

import data_helpers.ome as ome
from data_helpers import HEART_VOXEL_SIZE_UM, level_shape

SHAPE = (9, 6, 5)  # (z, y, x), odd sizes on purpose
VOXEL = (3.0, 2.0, 0.5)


# pydantic-zarr 0.10.0 gives a NumPy array the codec {"name": "bytes"} without
# "endian", which zarr-python 3.3 and later refuse for uint16 (fixed after 0.10.0:
# zarr-developers/pydantic-zarr#178), so format 3 specs name it.
BYTES_LITTLE_ENDIAN = {"name": "bytes", "configuration": {"endian": "little"}}


def spec(data: np.ndarray, zarr_format: int):
    options = {"codecs": [BYTES_LITTLE_ENDIAN]} if zarr_format == 3 else {}
    return ome.array_spec_class(zarr_format).from_array(data, **options)


def specs(zarr_format: int, n_levels: int = 3) -> list:
    return [
        spec(np.zeros(level_shape(SHAPE, k), dtype=np.uint16), zarr_format)
        for k in range(n_levels)
    ]


def transforms(dataset) -> dict[str, list[float]]:
    return {t.type: getattr(t, t.type) for t in dataset.coordinateTransformations}


def test_heart_voxel_size_is_level_6_of_the_scan() -> None:
    # ../shared/data/README.md: level 6 of a 19.89 um scan, 64 * 19.89 um.
    assert HEART_VOXEL_SIZE_UM == pytest.approx(1272.96)


@pytest.mark.parametrize(("zarr_format", "version"), [(2, "0.4"), (3, "0.5")])
def test_model_has_z_y_x_axes_scales_and_centring_translations(
    zarr_format: int, version: str
) -> None:
    image = ome.image_model(specs(zarr_format), voxel_size=VOXEL, name="test")
    multiscale = image.ome_attributes.multiscales[0]
    assert image.ome_zarr_version == version
    assert [(a.name, a.type, a.unit) for a in multiscale.axes] == [
        (name, "space", "micrometer") for name in "zyx"
    ]
    assert multiscale.name == "test"
    for k, dataset in enumerate(multiscale.datasets):
        assert dataset.path == str(k)
        found = transforms(dataset)
        assert found["scale"] == pytest.approx([v * 2**k for v in VOXEL])
        # level 1: half a level-0 voxel; level 2: one and a half
        assert found["translation"] == pytest.approx(
            [v * (2**k - 1) / 2 for v in VOXEL]
        )
    assert multiscale.coordinateTransformations is None  # no global scale


def test_level_helpers() -> None:
    assert ome.level_scale(0, VOXEL) == list(VOXEL)
    assert ome.level_scale(3, [1, 2, 3]) == [8.0, 16.0, 24.0]
    assert ome.level_translation(0, VOXEL) == [0.0, 0.0, 0.0]
    assert ome.level_translation(2, [4, 4, 4]) == [6.0, 6.0, 6.0]  # 1.5 voxels
    for helper in (ome.level_scale, ome.level_translation):
        with pytest.raises(ValueError, match="level must be 0 or more"):
            helper(-1, VOXEL)


def test_custom_paths() -> None:
    image = ome.image_model(specs(2, 2), voxel_size=VOXEL, paths=["s0", "s1"])
    assert [d.path for d in image.ome_attributes.multiscales[0].datasets] == [
        "s0",
        "s1",
    ]


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_write_image_writes_no_null_fields(tmp_path: Path, zarr_format: int) -> None:
    image = ome.image_model(specs(zarr_format), voxel_size=VOXEL)
    group = ome.write_image(image, zarr.storage.LocalStore(tmp_path / "image.zarr"))
    attributes = group.attrs.asdict()
    assert "null" not in json.dumps(attributes)
    assert "omero" not in json.dumps(attributes)
    assert attributes == ome.image_attributes(image)
    # What the helper is for: the model's own to_zarr writes "omero": null.
    plain = image.to_zarr(zarr.storage.MemoryStore(), path="")
    assert "null" in json.dumps(plain.attrs.asdict())

    reopened = zarr.open_group(tmp_path / "image.zarr", mode="r")
    models = ome.v05 if zarr_format == 3 else ome.v04
    read = models.Image.from_zarr(reopened)
    axes = [
        list(m.multiscales[0].axes) for m in (read.ome_attributes, image.ome_attributes)
    ]
    assert axes[0] == axes[1]
    assert [reopened[str(k)].shape for k in range(3)] == [
        level_shape(SHAPE, k) for k in range(3)
    ]
    if zarr_format == 3:
        assert reopened["0"].metadata.dimension_names == ("z", "y", "x")


def test_write_image_into_a_subgroup() -> None:
    store = zarr.storage.MemoryStore()
    image = ome.image_model(specs(2, 2), voxel_size=VOXEL)
    group = ome.write_image(image, store, path="images/heart")
    assert group.path == "images/heart"
    reopened = zarr.open_group(store, path="images/heart", mode="r")
    assert ome.multiscale_metadata(reopened)["axes"][0]["name"] == "z"
    assert "omero" not in reopened.attrs


def test_without_nulls_is_recursive() -> None:
    value = {"a": None, "b": [{"c": None, "d": 1}], "e": {"f": None}}
    assert ome.without_nulls(value) == {"b": [{"d": 1}], "e": {}}


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_ome_attributes_reads_both_versions(zarr_format: int) -> None:
    """0.5 keeps the metadata under "ome", 0.4 at the top of the attributes; what
    is found is part of the attributes (remove_label_name changes it in place)."""
    image = ome.image_model(specs(zarr_format, 2), voxel_size=VOXEL)
    attributes = ome.write_image(image, zarr.storage.MemoryStore()).attrs.asdict()
    found = ome.ome_attributes(attributes)
    assert [d["path"] for d in found["multiscales"][0]["datasets"]] == ["0", "1"]
    assert found is (attributes["ome"] if zarr_format == 3 else attributes)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_multiscale_metadata_reads_both_versions(zarr_format: int) -> None:
    image = ome.image_model(specs(zarr_format, 2), voxel_size=VOXEL)
    group = ome.write_image(image, zarr.storage.MemoryStore())
    metadata = ome.multiscale_metadata(group)
    assert [axis["name"] for axis in metadata["axes"]] == ["z", "y", "x"]
    assert [d["path"] for d in metadata["datasets"]] == ["0", "1"]


def test_multiscale_metadata_of_a_plain_group_is_a_clear_error() -> None:
    group = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    with pytest.raises(ValueError, match="no OME-Zarr multiscales metadata"):
        ome.multiscale_metadata(group)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"array_specs": []}, "at least one level"),
        ({"voxel_size": (1.0, 1.0)}, "one number per axis"),
        ({"voxel_size": "zyx"}, "one number per axis"),
        ({"voxel_size": (1.0, 0.0, 1.0)}, "positive numbers"),
        ({"voxel_size": (1.0, -2.0, 1.0)}, "positive numbers"),
        ({"voxel_size": (1.0, "2", 1.0)}, "positive numbers"),
        ({"voxel_size": (True, 1.0, 1.0)}, "positive numbers"),
        ({"voxel_size": (1.0, float("nan"), 1.0)}, "positive numbers"),
        (
            {"array_specs": [ArraySpecV2.from_array(np.zeros((4, 4), np.uint8))]},
            r"3-D \(z, y, x\) array",
        ),
    ],
)
def test_bad_input_is_a_clear_error(kwargs: dict, message: str) -> None:
    arguments = {"array_specs": specs(2, 1), "voxel_size": VOXEL} | kwargs
    specs_ = arguments.pop("array_specs")
    with pytest.raises(ValueError, match=message) as error:
        ome.image_model(specs_, **arguments)
    assert "\n" not in str(error.value)


def test_numpy_voxel_sizes_are_accepted() -> None:
    voxel = np.array([1.5, 1.5, 1.5])
    image = ome.image_model(specs(2, 1), voxel_size=tuple(voxel))
    assert (
        transforms(image.ome_attributes.multiscales[0].datasets[0])["scale"]
        == [1.5] * 3
    )


# --------------------------------------------------------------------------
# Label images
# --------------------------------------------------------------------------


def label_specs(zarr_format: int, dtype: str = "uint32", n_levels: int = 3) -> list:
    """Specs of label levels, from real arrays (explicit codecs in format 3)."""
    spec_class = ome.array_spec_class(zarr_format)
    store = zarr.storage.MemoryStore()
    return [
        spec_class.from_zarr(
            zarr.create_array(
                store,
                name=str(k),
                shape=level_shape(SHAPE, k),
                chunks=(4, 4, 4),
                dtype=dtype,
                zarr_format=zarr_format,
            )
        )
        for k in range(n_levels)
    ]


def image_group(zarr_format: int, store=None) -> zarr.Group:
    image = ome.image_model(label_specs(zarr_format, "uint16"), voxel_size=VOXEL)
    return ome.write_image(image, store or zarr.storage.MemoryStore())


@pytest.mark.parametrize(("zarr_format", "version"), [(2, "0.4"), (3, "0.5")])
def test_label_model_has_the_image_levels_and_image_label_metadata(
    zarr_format: int, version: str
) -> None:
    image = ome.image_model(label_specs(zarr_format, "uint16"), voxel_size=VOXEL)
    label = ome.label_model(
        label_specs(zarr_format),
        voxel_size=VOXEL,
        colors={2: (0, 255, 0, 128), 1: (255, 0, 0, 255)},
        name="organs",
    )
    assert isinstance(label, (ome.v05 if zarr_format == 3 else ome.v04).ImageLabel)
    attributes = ome.label_attributes(label)
    ome_attributes = attributes.get("ome", attributes)
    assert ome_attributes["image-label"] == {
        "version": version,
        "source": {"image": "../../"},
        "colors": [
            {"label-value": 1, "rgba": [255, 0, 0, 255]},
            {"label-value": 2, "rgba": [0, 255, 0, 128]},
        ],
    }
    image_attributes = ome.image_attributes(image)
    image_multiscale = image_attributes.get("ome", image_attributes)
    assert (
        ome_attributes["multiscales"][0]["datasets"]
        == (image_multiscale["multiscales"][0]["datasets"])
    )
    assert (
        ome_attributes["multiscales"][0]["axes"]
        == (image_multiscale["multiscales"][0]["axes"])
    )
    assert "null" not in json.dumps(attributes)


def test_label_model_without_colors_has_no_colors() -> None:
    label = ome.label_model(label_specs(2), voxel_size=VOXEL)
    assert ome.label_attributes(label)["image-label"] == {
        "version": "0.4",
        "source": {"image": "../../"},
    }


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_label_model_writes_names_as_properties(zarr_format: int) -> None:
    label = ome.label_model(
        label_specs(zarr_format),
        voxel_size=VOXEL,
        colors={2: (0, 255, 0, 255), 1: (255, 0, 0, 255)},
        names={2: "heart", 1: "jar wall"},
    )
    attributes = ome.label_attributes(label)
    assert ome.ome_attributes(attributes)["image-label"]["properties"] == [
        {"label-value": 1, "name": "jar wall"},
        {"label-value": 2, "name": "heart"},
    ]
    models = ome.v05 if zarr_format == 3 else ome.v04
    image_label = models.ImageLabel(attributes=attributes, members=label.members)
    assert [p.label_value for p in image_label.ome_attributes.image_label.properties]


def test_label_names_and_colours_for_other_values_are_refused() -> None:
    with pytest.raises(ValueError, match=r"values \[1, 2\] but names for \[1\]"):
        ome.label_model(
            label_specs(2),
            voxel_size=VOXEL,
            colors={1: (255, 0, 0, 255), 2: (0, 255, 0, 255)},
            names={1: "jar wall"},
        )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_label_model_rejects_float_arrays(dtype: str) -> None:
    with pytest.raises(ValueError, match="integer dtype") as error:
        ome.label_model(label_specs(2, dtype), voxel_size=VOXEL)
    assert "\n" not in str(error.value) and dtype in str(error.value)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_write_label_image_lists_it_and_reads_back(
    tmp_path: Path, zarr_format: int
) -> None:
    store = zarr.storage.LocalStore(tmp_path / "image.ome.zarr")
    image = image_group(zarr_format, store)
    label = ome.label_model(label_specs(zarr_format), voxel_size=VOXEL)
    group = ome.write_label_image(label, image, "organs")
    assert group.path == "labels/organs"
    assert group.attrs.asdict() == ome.label_attributes(label)
    models = ome.v05 if zarr_format == 3 else ome.v04
    reopened = zarr.open_group(tmp_path / "image.ome.zarr", mode="r")
    assert models.Labels.from_zarr(reopened["labels"]).attributes
    read = models.ImageLabel.from_zarr(reopened["labels/organs"])
    assert read.ome_attributes.image_label.source.image == "../../"
    assert models.Image.from_zarr(reopened).labels is not None
    assert [reopened[f"labels/organs/{k}"].shape for k in range(3)] == [
        level_shape(SHAPE, k) for k in range(3)
    ]


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_adding_labels_keeps_those_already_listed(zarr_format: int) -> None:
    image = image_group(zarr_format)
    label = ome.label_model(label_specs(zarr_format), voxel_size=VOXEL)
    for name in ("cells", "organs", "vessels"):
        ome.write_label_image(label, image, name)
    with pytest.raises(ValueError, match="already has a label image labels/cells"):
        ome.write_label_image(label, image, "cells")
    ome.write_label_image(label, image, "cells", overwrite=True)
    labels = image["labels"].attrs.asdict()
    if zarr_format == 3:
        assert labels == {
            "ome": {"version": "0.5", "labels": ["cells", "organs", "vessels"]}
        }
    else:
        assert labels == {"labels": ["cells", "organs", "vessels"]}
    # Other attributes of the labels group stay too.
    image["labels"].attrs["note"] = "kept"
    ome.add_label_name(image, "nuclei")
    assert image["labels"].attrs["note"] == "kept"
    listed = image["labels"].attrs.asdict().get("ome", image["labels"].attrs.asdict())
    assert listed["labels"] == ["cells", "organs", "vessels", "nuclei"]


def test_models_do_not_depend_on_import_order() -> None:
    """pydantic-zarr 0.9.2 cached one Union["GroupSpec", "ArraySpec"] for v2 and
    v3, so an OME-Zarr 0.4 model built after ``pydantic_zarr.v3`` was imported
    rejected format 2 specs and the book imported ``data_helpers.ome`` first;
    0.10.0 no longer does (checked in a fresh interpreter)."""
    code = (
        "import pydantic_zarr.v3, numpy as np\n"
        "from pydantic_zarr.v2 import ArraySpec\n"
        "import data_helpers.ome as ome\n"
        "spec = ArraySpec.from_array(np.zeros((4, 4, 4), dtype='uint8'))\n"
        "image = ome.image_model([spec], voxel_size=(1, 1, 1))\n"
        "print(image.ome_zarr_version)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0.4"
