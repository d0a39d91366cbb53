"""Build and write OME-Zarr image metadata the way every mainstream reader accepts.

One place for the rules the book follows for every OME-Zarr image it writes:

- spatial axes named ``z``, ``y``, ``x`` (the order OME-Zarr asks for), in
  ``micrometer``;
- each level carries its own scale (voxel size times ``2**level``) and the
  translation that centres its voxels on the block of level-0 voxels they
  average: ``(2**level - 1) / 2`` level-0 voxels;
- no optional field written as ``null`` (ome-zarr-models 1.8.1 writes
  ``"omero": null``, which ome-zarr-py and ngff-zarr reject).

OME-Zarr 0.4 goes with Zarr format 2 (``ome_zarr_models.v04``), 0.5 with Zarr
format 3 (``ome_zarr_models.v05``).
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from typing import Any

import zarr
from ome_zarr_models import v04, v05

from data_helpers.types import ZarrFormat

SPATIAL_AXES = ("z", "y", "x")
UNIT = "micrometer"


def array_spec_class(zarr_format: ZarrFormat) -> Any:
    """pydantic-zarr's ``ArraySpec`` for Zarr format 2 (``v2``) or 3 (``v3``)."""
    if zarr_format == 3:
        from pydantic_zarr.v3 import ArraySpec as ArraySpecV3

        return ArraySpecV3
    from pydantic_zarr.v2 import ArraySpec as ArraySpecV2

    return ArraySpecV2


def level_scale(level: int, voxel_size: Sequence[float]) -> list[float]:
    """Voxel size of level ``level`` (each level halves every axis)."""
    if level < 0:
        raise ValueError(f"level must be 0 or more, not {level}.")
    return [float(size) * 2**level for size in voxel_size]


def level_translation(level: int, voxel_size: Sequence[float]) -> list[float]:
    """Offset of level ``level``'s first voxel centre from level 0's.

    A voxel of level ``k`` averages a block of ``2**k`` level-0 voxels along
    each axis; the block's centre lies ``(2**k - 1) / 2`` level-0 voxels from
    the centre of its first voxel (OME-Zarr puts the origin at voxel centres).
    """
    if level < 0:
        raise ValueError(f"level must be 0 or more, not {level}.")
    return [float(size) * (2**level - 1) / 2 for size in voxel_size]


def _check_image(array_specs: Sequence[Any], voxel_size: Sequence[float]) -> None:
    """Reject what ``image_model`` cannot describe, saying what to pass instead."""
    if not array_specs:
        raise ValueError("An image needs at least one level: pass one array spec.")
    if isinstance(voxel_size, str) or len(voxel_size) != len(SPATIAL_AXES):
        raise ValueError(
            f"voxel_size needs one number per axis {SPATIAL_AXES}, got {voxel_size!r}."
        )
    if any(
        isinstance(size, bool) or not isinstance(size, Real) or not size > 0
        for size in voxel_size
    ):
        raise ValueError(
            f"Voxel sizes must be positive numbers, got {list(voxel_size)}."
        )
    ndims = {len(spec.shape) for spec in array_specs}
    if ndims != {len(SPATIAL_AXES)}:
        raise ValueError(
            f"Every level must be a 3-D (z, y, x) array; got {sorted(ndims)} dims."
        )


def image_model(
    array_specs: Sequence[Any],
    *,
    voxel_size: Sequence[float],
    name: str | None = None,
    paths: Sequence[str] | None = None,
    unit: str = UNIT,
) -> Any:
    """Return the OME-Zarr ``Image`` model of a pyramid of ``(z, y, x)`` arrays.

    ``array_specs`` are pydantic-zarr array specifications, level 0 first, each
    level half the size of the one above. Format 2 specifications
    (``pydantic_zarr.v2``) give an OME-Zarr 0.4 model, format 3 ones
    (``pydantic_zarr.v3``) an OME-Zarr 0.5 model, with the arrays'
    ``dimension_names`` set to ``z, y, x``. ``voxel_size`` is level 0's
    ``(z, y, x)`` voxel size in ``unit`` (a UDUNITS-2 name, micrometres by
    default).
    """
    _check_image(array_specs, voxel_size)
    zarr_format = getattr(array_specs[0], "zarr_format", 2)
    models = v05 if zarr_format == 3 else v04
    Image, Axis = models.Image, models.axes.Axis
    if zarr_format == 3:
        # OME-Zarr 0.5 asks each array to name its dimensions like the axes.
        array_specs = [
            spec.model_copy(update={"dimension_names": SPATIAL_AXES})
            for spec in array_specs
        ]
    levels = range(len(array_specs))
    return Image.new(
        array_specs=list(array_specs),
        paths=list(paths) if paths is not None else [str(k) for k in levels],
        axes=[Axis(name=axis, type="space", unit=unit) for axis in SPATIAL_AXES],
        scales=[level_scale(k, voxel_size) for k in levels],
        translations=[level_translation(k, voxel_size) for k in levels],
        name=name,
    )


def without_nulls(value: Any) -> Any:
    """Return ``value`` with every ``None`` entry removed from its mappings."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def image_attributes(image: Any) -> dict[str, Any]:
    """The group attributes of an ``Image`` model, as JSON, without null fields."""
    return without_nulls(image.attributes.model_dump(mode="json", by_alias=True))


def write_image(image: Any, store: Any, path: str = "") -> zarr.Group:
    """Create ``image``'s group and empty level arrays in ``store``.

    Like ``image.to_zarr(store, path)``, but the group's attributes leave out
    optional fields that are unset instead of writing them as ``null``. The
    arrays are filled afterwards, e.g. with ``group["0"][:] = data``.
    """
    group = image.to_zarr(store, path=path)
    group.attrs.put(image_attributes(image))
    return group


def multiscale_metadata(group: zarr.Group) -> dict[str, Any]:
    """The first ``multiscales`` entry of an OME-Zarr 0.4 or 0.5 image group.

    OME-Zarr 0.4 keeps it in the group attributes, 0.5 under their ``"ome"``
    key; this reads either, as plain JSON (axes, datasets, ...).
    """
    attributes: dict[str, Any] = group.attrs.asdict()
    multiscales = attributes.get("ome", attributes).get("multiscales")
    if not multiscales:
        raise ValueError(
            f"{group} has no OME-Zarr multiscales metadata: pass the group of an "
            "OME-Zarr image (the one whose attributes list its levels)."
        )
    return multiscales[0]
