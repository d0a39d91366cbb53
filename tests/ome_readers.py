"""What the readers the book promises find wrong with an OME-Zarr image.

The opening itself is ``data_helpers.readers`` (chapters use it too); this
compares what the readers find with what the image's metadata says.
``reader_problems(path)`` opens the image folder with

- ome-zarr-models (``Image.from_zarr``, ``v04``, ``v05`` or ``v06`` for
  OME-Zarr 0.4, 0.5 or 0.6),
- ome-zarr-py's ``Reader`` with the matching ``fmt=FormatV04()`` or
  ``FormatV05()`` (not for 0.6, which it does not know:
  ``data_helpers.readers.NOT_READING``),
- ngff-zarr's ``from_ngff_zarr(..., validate=True)``,
- ome-zarr-py's ``OMEZarrMultiscale.from_ome_zarr``, the object API that
  napari-ome-zarr 0.11.0 reads images with (``ome_zarr_reader.py``),

and returns what went wrong: an exception, a log record at WARNING or above,
a Python warning, or levels that a reader did not find. It also checks the
book's own rule for the spatial axes (named z, y, x in that order, in
micrometer).

``label_problems(path)`` does the same for the label images an image lists
in its ``labels`` group: ome-zarr-models' ``Labels`` and ``ImageLabel``,
ome-zarr-py's ``Reader`` finding each as a label image of the image (and the
image from the label image's ``source``; not for 0.6), ngff-zarr opening each with
``validate=True``, and the book's rule that a label image has the image's
level shapes, scales and translations, an integer dtype, and levels that are
each the mode of the level above over the factors of their scales (2x2x2 for
equal voxels).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import zarr
from ome_zarr.reader import Label

from data_helpers.ome import (
    level_transforms,
    models_of,
    multiscale_axes,
    multiscale_metadata,
)
from data_helpers.pyramid import downsample_mode
from data_helpers.readers import (
    NOT_READING,
    OpenedImage,
    ReaderError,
    complaints,
    ome_zarr_models_image,
    ome_zarr_py_nodes,
    open_group,
    read_with_ngff_zarr,
    readers_of,
    version,
)

# The book's rule, written out here rather than taken from data_helpers.ome so
# that a change there cannot change what is checked.
SPATIAL_AXES = ("z", "y", "x")
UNIT = "micrometer"


def rule_problems(path: Path) -> list[str]:
    """The book's rule: spatial axes z, y, x in this order, in micrometer."""
    metadata = multiscale_metadata(open_group(path))
    axes = multiscale_axes(metadata)
    spatial = [axis for axis in axes if axis.get("type") == "space"]
    problems = []
    names = tuple(axis["name"] for axis in spatial)
    if names != SPATIAL_AXES:
        problems.append(f"spatial axes are {names}, not {SPATIAL_AXES}")
    units = {axis.get("unit") for axis in spatial}
    if units != {UNIT}:
        problems.append(f"spatial units are {sorted(map(str, units))}, not {UNIT!r}")
    return problems


def _expected_levels(group: zarr.Group) -> tuple[list, list, list]:
    """Each level's shape, scale and translation as the metadata says, read
    here from the JSON rather than by a reader."""
    shapes, scales, translations = [], [], []
    for dataset in multiscale_metadata(group)["datasets"]:
        shapes.append(tuple(group[dataset["path"]].shape))
        transforms = {t["type"]: t for t in level_transforms(dataset)}
        scales.append(tuple(transforms["scale"]["scale"]))
        translation = transforms.get("translation", {}).get("translation")
        translations.append(tuple(translation or [0.0] * len(shapes[-1])))
    return shapes, scales, translations


def _close(found: list[tuple[float, ...]], expected: list[tuple[float, ...]]) -> bool:
    return len(found) == len(expected) and all(
        len(a) == len(b) and all(map(math.isclose, a, b))
        for a, b in zip(found, expected, strict=False)
    )


def _level_problems(image: OpenedImage, group: zarr.Group) -> list[str]:
    shapes, scales, translations = _expected_levels(group)
    problems = []
    if image.shapes != shapes:
        problems.append(f"read levels {image.shapes}, expected {shapes}")
    if not _close(image.scales, scales):
        problems.append(f"read scales {image.scales}, expected {scales}")
    if not _close(image.translations, translations):
        problems.append(
            f"read translations {image.translations}, expected {translations}"
        )
    return problems


def reader_problems(path: Path) -> dict[str, list[str]]:
    """What each reader (and the book's axis rule) objected to; {} if nothing.

    A reader objects by raising, or by logging at WARNING or above, or by
    warning while it opens the image (``data_helpers.readers``), or by reading
    other levels than the metadata lists (shapes, scales and translations)."""
    problems: dict[str, list[str]] = {}
    group = open_group(path)
    for name, read in readers_of(version(path)).items():
        try:
            found = _level_problems(read(path), group)
        except ReaderError as error:
            found = error.problems
        if found:
            problems[name] = found
    if rules := rule_problems(path):
        problems["book rules"] = rules
    return problems


def label_names(path: Path) -> list[str]:
    """The label images listed in an image's ``labels`` group ([] if none)."""
    labels = path / "labels"
    if not ((labels / ".zgroup").is_file() or (labels / "zarr.json").is_file()):
        return []  # no labels group (perhaps a folder a conversion is filling)
    attributes = open_group(labels).attrs.asdict()
    return list(attributes.get("ome", attributes).get("labels", []))


def _label_nodes(path: Path) -> dict[str, list[tuple[int, ...]]]:
    """Label images ome-zarr-py's Reader finds from the image: name -> shapes."""
    return {
        node.metadata["name"]: [tuple(level.shape) for level in node.data]
        for node in ome_zarr_py_nodes(path)
        if any(isinstance(spec, Label) for spec in node.specs)
    }


def _image_from_label(path: Path) -> str:
    """The image ome-zarr-py's Reader loads from a label image's ``source``."""
    nodes = ome_zarr_py_nodes(path)
    parents = [n for n in nodes if not any(isinstance(s, Label) for s in n.specs)]
    if not parents:
        raise ValueError("the label image's source led to no image")
    return str(Path(parents[0].zarr.path).resolve())


def _level_metadata(group: zarr.Group) -> list[tuple]:
    metadata = multiscale_metadata(group)
    return [
        (tuple(group[d["path"]].shape), d["coordinateTransformations"])
        for d in metadata["datasets"]
    ]


def label_problems(path: Path) -> dict[str, list[str]]:
    """What the readers (and the book's label rules) objected to in ``path``'s
    label images; {} if nothing (or no labels)."""
    names = label_names(path)
    if not names:
        return {}
    problems: dict[str, list[str]] = {}

    def check(reader: str, step: Callable[[], None]) -> None:
        found: list[str] = []
        with complaints() as logged:
            try:
                step()
            except ReaderError as error:
                found += error.problems
            except Exception as error:  # any rejection is a finding
                first_line = (str(error).splitlines() or [""])[0]
                found.append(f"raised {type(error).__name__}: {first_line}")
        found += logged
        if found:
            problems.setdefault(reader, []).extend(found)

    image_version = version(path)
    models = models_of(image_version)
    # ome-zarr-py's Reader is not asked about versions it does not know (0.6).
    by_reader = "ome-zarr-py" not in NOT_READING.get(image_version, ())
    image = open_group(path)
    expected = {}
    for name in names:
        group = open_group(path / "labels" / name)
        expected[name] = [shape for shape, _ in _level_metadata(group)]

        def rules(group: zarr.Group = group, name: str = name) -> None:
            if _level_metadata(group) != _level_metadata(image):
                raise ValueError(f"{name}: level shapes or transforms differ")
            dtypes = {
                group[d["path"]].dtype for d in multiscale_metadata(group)["datasets"]
            }
            if any(dtype.kind not in "iu" for dtype in dtypes):
                raise ValueError(f"{name}: not an integer dtype: {dtypes}")
            # Each level is the mode of the one above over the factors its
            # scales say (2x2x2 for equal voxels): no invented label.
            datasets = multiscale_metadata(group)["datasets"]
            paths = [d["path"] for d in datasets]
            _, scales, _ = _expected_levels(group)
            for k, (above, here) in enumerate(zip(paths, paths[1:], strict=False)):
                upper, lower = scales[k], scales[k + 1]
                factors = [round(b / a) for a, b in zip(upper, lower, strict=True)]
                if not np.array_equal(
                    group[here][...], downsample_mode(group[above][...], factors)
                ):
                    raise ValueError(f"{name}: level {here} is not the mode of {above}")

        def by_models(group: zarr.Group = group) -> None:
            label = models.ImageLabel.from_zarr(group)
            if label.ome_attributes.image_label is None:
                raise ValueError("no image-label metadata")

        def by_ngff_zarr(name: str = name) -> None:
            shapes = read_with_ngff_zarr(path / "labels" / name).shapes
            if shapes != expected[name]:
                raise ValueError(f"read levels {shapes}, expected {expected[name]}")

        def source(name: str = name) -> None:
            found = _image_from_label(path / "labels" / name)
            if found != str(path.resolve()):
                raise ValueError(f"source leads to {found}, not {path}")

        check("book label rules", rules)
        check("ome-zarr-models", by_models)
        check("ngff-zarr", by_ngff_zarr)
        if by_reader:
            check("ome-zarr-py", source)

    def labels_group() -> None:
        models.Labels.from_zarr(open_group(path / "labels"))
        ome_zarr_models_image(path)

    def found_by_ome_zarr_py() -> None:
        found = _label_nodes(path)
        if found != expected:
            raise ValueError(f"found label images {found}, expected {expected}")

    check("ome-zarr-models", labels_group)
    if by_reader:
        check("ome-zarr-py", found_by_ome_zarr_py)
    return problems
