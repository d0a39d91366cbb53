"""Label images: convert label slices into ``IMAGE/labels/NAME``, beside the image.

A label image gets the image's levels, scales and translations; its lower
levels are 2x2x2 modes (``downsample_mode``), so they never invent a label.
Every check runs before anything is written under ``labels/``; the label
image's metadata, and its name in the ``labels`` list, are written last.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from data_helpers.convert import resume
from data_helpers.convert.errors import ConversionError
from data_helpers.convert.output import Output
from data_helpers.convert.plan import Downsampling, Plan
from data_helpers.convert.sources import Source
from data_helpers.convert.state import (
    FINGERPRINT_KEY,
    FolderState,
    Manifest,
    ResumeState,
    finished_from,
    manifest_hash,
)
from data_helpers.factors import Factors
from data_helpers.ome import (
    OME_ZARR_VERSIONS,
    RGBA,
    ZARR_FORMATS,
    OmeZarrVersion,
    add_label_name,
    array_spec_class,
    check_same_levels,
    image_factors,
    image_version,
    image_voxel_size,
    label_attributes,
    label_model,
    multiscale_metadata,
    ome_attributes,
    remove_label_name,
)
from data_helpers.wording import count

#: A label image's name: one folder name, no path separators.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class LabelTarget:
    """Where a label image goes, and what it must match: the image's levels."""

    image: Path
    name: str
    level_shapes: list[tuple[int, ...]]
    voxel_size: list[float]
    unit: str
    #: The image's OME-Zarr version, which its labels share.
    version: OmeZarrVersion
    #: Label value -> RGBA (0 to 255) and label value -> name, for ``image-label``.
    colors: Mapping[int, RGBA] | None = None
    names: Mapping[int, str] | None = None
    #: The image's factors between levels, which its labels share.
    factors: tuple[Factors, ...] | None = None

    @property
    def path(self) -> Path:
        """The label image's folder, ``IMAGE/labels/NAME``."""
        return self.image / "labels" / self.name

    @property
    def output(self) -> Output:
        return Output.of(self.path)

    @property
    def title(self) -> str:
        return f"{self.image.name}/labels/{self.name}"

    @property
    def levels(self) -> int:
        return len(self.level_shapes)

    @property
    def method(self) -> Downsampling:
        """Labels are never averaged: each lower level keeps the commonest label."""
        return Downsampling.MODE

    def check_source(self, source: Source) -> None:
        check_label_slices(self, source.shape, source.dtype, source.location)

    def prepare(self, manifest: Manifest, source: str, overwrite: bool) -> ResumeState:
        """Claim the name, check the output, unlist the old labels on overwrite."""
        claim_label_name(self, manifest, overwrite)
        state = resume.prepare(self.output, manifest, source, overwrite)
        if overwrite:
            unlist_label(self)  # listed again when rewritten, with its metadata
        return state

    def finish(self, arrays: list[zarr.Array], plan: Plan, fingerprint: str) -> None:
        write_label_metadata(self, arrays, fingerprint)


def _image_group(image: Path) -> zarr.Group:
    """The OME-Zarr image at ``image``, opened read-only (else ConversionError)."""
    try:
        group = zarr.open_group(
            zarr.storage.LocalStore(image, read_only=True), mode="r"
        )
        multiscale_metadata(group)
    except (zarr.errors.BaseZarrError, FileNotFoundError, ValueError):
        raise ConversionError(
            f"{str(image)!r} is not an OME-Zarr image (no multiscales metadata): "
            "give the image the labels belong to, converted first."
        ) from None
    return group


def open_label_target(
    image: Path,
    name: str,
    version: OmeZarrVersion | None,
    levels: int | None,
    colors: Mapping[int, RGBA] | None = None,
    names: Mapping[int, str] | None = None,
) -> LabelTarget:
    """Check the image and the label name; return where the labels go.

    ``version``: the OME-Zarr version asked for, which must be the image's;
    None: the image's.
    """
    if not NAME.fullmatch(name):
        raise ConversionError(
            f"--labels {name!r} is not a plain name: use letters, digits, '.', '_' "
            "or '-', e.g. --labels organs."
        )
    group = _image_group(image)
    try:
        image_is = image_version(group)
    except ValueError:
        raise ConversionError(
            f"{str(image)!r} is an OME-Zarr image of a version this does not write "
            f"labels for: labels go into images of {', '.join(OME_ZARR_VERSIONS)}."
        ) from None
    if version is not None and version != image_is:
        raise ConversionError(
            f"{str(image)!r} is OME-Zarr {image_is}, so its labels must be too: "
            f"pass --ome-zarr-version {image_is} (not {version})."
        )
    datasets = multiscale_metadata(group)["datasets"]
    arrays = [group.get(d["path"]) for d in datasets]
    if not all(isinstance(array, zarr.Array) for array in arrays):
        raise ConversionError(
            f"{str(image)!r} lists levels it does not hold: give a complete "
            "OME-Zarr image."
        )
    shapes = [tuple(array.shape) for array in arrays if isinstance(array, zarr.Array)]
    if levels is not None and levels != len(shapes):
        raise ConversionError(
            f"--levels {levels}, but {str(image)!r} has "
            f"{count(len(shapes), 'level')}: labels have the image's levels, so leave "
            "out --levels."
        )
    if not os.access(image, os.W_OK):
        raise ConversionError(
            f"The image {str(image)!r} cannot be written: check its permissions."
        )
    voxel_size, unit = image_voxel_size(group)
    return LabelTarget(
        image,
        name,
        shapes,
        voxel_size,
        unit,
        image_is,
        colors=colors,
        names=names,
        factors=image_factors(group),
    )


def check_label_slices(
    target: LabelTarget, shape: Sequence[int], dtype: np.dtype, folder: str
) -> None:
    """Label slices must be integers, of the shape of the image's level 0."""
    if np.dtype(dtype).kind not in "iu":
        raise ConversionError(
            f"The label slices in {folder!r} are {np.dtype(dtype)}: labels must "
            "be integers (int8 to uint64); save the segmentation as integer TIFFs."
        )
    if tuple(shape) != target.level_shapes[0]:
        raise ConversionError(
            f"The label slices in {folder!r} make a {tuple(shape)} volume, but "
            f"the image's level 0 is {target.level_shapes[0]}: labels need one slice "
            "per image slice, each the size of an image slice."
        )


def _listed(image: Path) -> list[str]:
    labels = image / "labels"
    if not labels.is_dir():
        return []
    try:
        attributes: dict[str, Any] = dict(zarr.open_group(labels, mode="r").attrs)
    except (zarr.errors.BaseZarrError, FileNotFoundError):
        return []
    return list(ome_attributes(attributes).get("labels", []))


def claim_label_name(target: LabelTarget, manifest: Manifest, overwrite: bool) -> None:
    """Refuse a label name already there, unless this very conversion (to
    resume or finished) or ``overwrite``; make the (empty) ``labels`` folder."""
    path = target.path
    ours = finished_from(path) == manifest_hash(manifest) or (
        FolderState(path).manifest() == manifest
    )
    there = path.exists() or target.name in _listed(target.image)
    if there and not ours and not overwrite:
        raise ConversionError(
            f"{str(target.image)!r} already has a label image {target.name!r}: "
            "choose another --labels name, or pass --overwrite to replace it."
        )
    path.parent.mkdir(exist_ok=True)  # labels/: checked writable, nothing in it


def unlist_label(target: LabelTarget) -> None:
    """Take the label image off the image's list while ``--overwrite`` rewrites it."""
    if target.name in _listed(target.image):
        remove_label_name(zarr.open_group(target.image, mode="r+"), target.name)


def write_label_metadata(
    target: LabelTarget,
    arrays: list[zarr.Array],
    fingerprint: str,
) -> None:
    """The label image's metadata, then its name in the ``labels`` list: last.

    The target's ``colors`` and ``names`` go into ``image-label`` as ``colors``
    and ``properties``.
    """
    spec_class = array_spec_class(ZARR_FORMATS[target.version])
    specs = [spec_class.from_zarr(a) for a in arrays]
    label = label_model(
        specs,
        voxel_size=target.voxel_size,
        colors=target.colors,
        names=target.names,
        name=target.name,
        unit=target.unit,
        version=target.version,
        factors=target.factors,
    )
    image = zarr.open_group(target.image, mode="r+")
    check_same_levels(image, label)
    attributes: dict[str, Any] = label_attributes(label)
    attributes[FINGERPRINT_KEY] = {"manifest_sha256": fingerprint}
    zarr.open_group(target.path, mode="r+").attrs.update(attributes)
    add_label_name(image, target.name)
