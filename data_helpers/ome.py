"""Build and write OME-Zarr image metadata the way every mainstream reader accepts.

One place for the rules the book follows for every OME-Zarr image it writes:

- axes ``t, c, z, y, x`` (those present, in the order OME-Zarr asks for):
  ``time``, ``channel`` and ``space`` axes, space in ``micrometer``;
- each level carries its own scale (voxel size times the factors down to it,
  ``2**level`` when every level halves every space axis; ``t`` and ``c`` are
  never downsampled) and the translation that centres its voxels on the block
  of level-0 voxels they average: ``(F - 1) / 2`` level-0 voxels for a factor
  ``F``;
- an image with channels says their names and colours in ``omero`` (0.4 and
  0.5, and 0.6 beside its multiscales);
- no optional field written as ``null`` (ome-zarr-models 1.8.1 writes
  ``"omero": null``, which ome-zarr-py and ngff-zarr reject).

The versions (``OmeZarrVersion``): OME-Zarr 0.4 goes with Zarr format 2
(``ome_zarr_models.v04``), 0.5 and 0.6 with Zarr format 3 (``v05``, ``v06``);
``ZARR_FORMATS`` maps each to its format. 0.4 and 0.5 give each level an
``axes`` list's worth of ``scale`` and ``translation``; 0.6 names a coordinate
system (``physical``, axes ``z, y, x``) and maps each level into it with one
``sequence`` of the same scale and translation. ``multiscale_axes`` and
``level_transforms`` read either.

Label images (segmentations) are multiscale images too, kept in the image's
``labels`` group: each has the image's level shapes, scales and translations,
an integer dtype, and ``image-label`` metadata whose ``source`` points back to
the image (``../../``); the ``labels`` group lists them by name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from types import ModuleType
from typing import Any, Literal

import numpy as np
import zarr
from ome_zarr_models import v04, v05, v06

from data_helpers.factors import (
    SPACE_AXES,
    Factors,
    axis_sizes,
    factors_between,
    scale_at,
)
from data_helpers.types import ZarrFormat

SPATIAL_AXES = SPACE_AXES  # z, y, x
#: Every axis an image may have, in the order OME-Zarr writes them.
ALL_AXES = ("t", "c", *SPATIAL_AXES)
#: Each axis's OME-Zarr ``type``.
AXIS_TYPES = {"t": "time", "c": "channel", "z": "space", "y": "space", "x": "space"}
UNIT = "micrometer"
#: Colours given to channels the input names none for (``"RRGGBB"``): one
#: channel is white, more cycle through these.
CHANNEL_COLORS = ("00FF00", "FF00FF", "00FFFF", "FFFF00", "FF0000", "0000FF")
#: Where a label image's ``source`` points: its image, two groups up
#: (``IMAGE/labels/NAME``).
LABEL_SOURCE = "../../"
#: An RGBA colour, each channel 0 to 255.
RGBA = tuple[int, int, int, int]

# --------------------------------------------------------------------------
# Versions
# --------------------------------------------------------------------------

#: An OME-Zarr version the book writes and checks.
OmeZarrVersion = Literal["0.4", "0.5", "0.6"]
#: The Zarr format each OME-Zarr version lives in.
ZARR_FORMATS: dict[OmeZarrVersion, ZarrFormat] = {"0.4": 2, "0.5": 3, "0.6": 3}
#: The versions, oldest first.
OME_ZARR_VERSIONS: tuple[OmeZarrVersion, ...] = tuple(ZARR_FORMATS)
#: What the converter writes unless told a version (or a Zarr format).
DEFAULT_OME_ZARR_VERSION: OmeZarrVersion = "0.5"
#: The coordinate system an OME-Zarr 0.6 image's levels map into (the name
#: ome-zarr-py gives it too).
PHYSICAL = "physical"
_MODELS: dict[OmeZarrVersion, ModuleType] = {"0.4": v04, "0.5": v05, "0.6": v06}


def ome_zarr_version(text: object) -> OmeZarrVersion:
    """``text`` as an ``OmeZarrVersion``; ``ValueError`` naming the versions if
    it is not one."""
    for version in OME_ZARR_VERSIONS:
        if text == version:
            return version
    raise ValueError(
        f"OME-Zarr version {text!r} is not one of {', '.join(OME_ZARR_VERSIONS)}."
    )


def version_of_format(zarr_format: int) -> OmeZarrVersion:
    """The OME-Zarr version a Zarr format stands for when no version is named:
    2 is 0.4, 3 is 0.5."""
    return "0.5" if zarr_format == 3 else "0.4"


def models_of(version: OmeZarrVersion) -> ModuleType:
    """ome-zarr-models' module of ``version``: ``v04``, ``v05`` or ``v06``."""
    return _MODELS[version]


def written_version(attributes: Mapping[str, Any]) -> str | None:
    """The OME-Zarr version a group's attributes (or the OME-Zarr metadata in
    them, ``ome_attributes``) name: under ``"ome"`` (0.5 and later), else in
    their first ``multiscales`` entry (0.4); None if neither."""
    ome = attributes.get("ome", attributes)
    if isinstance(ome, Mapping) and "version" in ome:
        version = ome["version"]
    else:
        multiscales = attributes.get("multiscales")
        first = multiscales[0] if isinstance(multiscales, list) and multiscales else {}
        version = first.get("version") if isinstance(first, Mapping) else None
    return None if version is None else str(version)


# --------------------------------------------------------------------------
# Units of space axes
# --------------------------------------------------------------------------

#: The units OME-Zarr 0.4 and 0.5 allow on a space axis (UDUNITS-2 names, the
#: specifications' list; ome-zarr-models accepts any string, so the list is
#: written out here). Neuroglancer refuses any other unit and draws nothing.
SPACE_UNITS = (
    "angstrom",
    "attometer",
    "centimeter",
    "decimeter",
    "exameter",
    "femtometer",
    "foot",
    "gigameter",
    "hectometer",
    "inch",
    "kilometer",
    "megameter",
    "meter",
    "micrometer",
    "mile",
    "millimeter",
    "nanometer",
    "parsec",
    "petameter",
    "picometer",
    "terameter",
    "yard",
    "yoctometer",
    "yottameter",
    "zeptometer",
    "zettameter",
)
#: SI prefix symbols of the metre's multiples in ``SPACE_UNITS`` (case matters:
#: ``mm`` is millimeter, ``Mm`` megameter). The micro sign is U+00B5, the Greek
#: mu U+03BC; ``u`` is the ASCII stand-in.
_SI_PREFIXES = {
    "y": "yocto",
    "z": "zepto",
    "a": "atto",
    "f": "femto",
    "p": "pico",
    "n": "nano",
    "u": "micro",
    "\u00b5": "micro",
    "\u03bc": "micro",
    "m": "milli",
    "c": "centi",
    "d": "deci",
    "": "",
    "h": "hecto",
    "k": "kilo",
    "M": "mega",
    "G": "giga",
    "T": "tera",
    "P": "peta",
    "E": "exa",
    "Z": "zetta",
    "Y": "yotta",
}
#: Symbols of space units, exactly as written -> the specification's name.
#: ``A`` is not one: it is the ampere's symbol.
UNIT_SYMBOLS = {
    **{f"{symbol}m": f"{prefix}meter" for symbol, prefix in _SI_PREFIXES.items()},
    "\u00c5": "angstrom",  # Å, LATIN CAPITAL LETTER A WITH RING ABOVE
    "\u212b": "angstrom",  # Å, ANGSTROM SIGN
    "in": "inch",
    "ft": "foot",
    "yd": "yard",
    "mi": "mile",
    "pc": "parsec",
}
#: The names and other spellings of them, in lower case -> the name.
_UNIT_NAMES = {
    **{name: name for name in SPACE_UNITS},
    **{f"{name}s": name for name in SPACE_UNITS if name not in ("foot", "inch")},
    **{name.replace("meter", "metre"): name for name in SPACE_UNITS},
    **{name.replace("meter", "metres"): name for name in SPACE_UNITS},
    "feet": "foot",
    "inches": "inch",
    "micron": "micrometer",
    "microns": "micrometer",
}


def space_unit(text: str) -> str:
    """The OME-Zarr name of a space unit given by name or symbol.

    ``"micrometer"``, ``"um"``, ``"\u00b5m"`` and ``"microns"`` all give
    ``"micrometer"``; ``"mm"`` gives ``"millimeter"`` and ``"Mm"``
    ``"megameter"`` (symbols are case-sensitive, names are not). Raises
    ``ValueError`` naming the units it knows for anything else.
    """
    if isinstance(text, str):
        given = text.strip()
        found = UNIT_SYMBOLS.get(given) or _UNIT_NAMES.get(given.lower())
        if found:
            return found
    raise ValueError(
        f"{text!r} is not a unit OME-Zarr knows: use one of "
        f"{', '.join(SPACE_UNITS)} (or um, \u00b5m, nm, mm, cm, m, km, "
        "\u00c5, in, ft and the other SI symbols)."
    )


def array_spec_class(zarr_format: ZarrFormat) -> Any:
    """pydantic-zarr's ``ArraySpec`` for Zarr format 2 (``v2``) or 3 (``v3``)."""
    if zarr_format == 3:
        from pydantic_zarr.v3 import ArraySpec as ArraySpecV3

        return ArraySpecV3
    from pydantic_zarr.v2 import ArraySpec as ArraySpecV2

    return ArraySpecV2


def level_scale(
    level: int,
    voxel_size: Sequence[float],
    factors: Sequence[Sequence[int]] | None = None,
) -> list[float]:
    """Voxel size of level ``level``: level 0's times the factors down to it.

    ``factors[k - 1]`` are the per-axis factors from level ``k - 1`` to ``k``
    (``data_helpers.pyramid.scale_at``); without them every level halves
    every axis.
    """
    scale = scale_at(level, len(voxel_size), factors)
    return [float(size) * f for size, f in zip(voxel_size, scale, strict=True)]


def level_translation(
    level: int,
    voxel_size: Sequence[float],
    factors: Sequence[Sequence[int]] | None = None,
) -> list[float]:
    """Offset of level ``level``'s first voxel centre from level 0's.

    A voxel of level ``k`` averages a block of ``F`` level-0 voxels along an
    axis (``F = 2**k`` when every level halves every axis); the block's centre
    lies ``(F - 1) / 2`` level-0 voxels from the centre of its first voxel
    (OME-Zarr puts the origin at voxel centres).
    """
    scale = scale_at(level, len(voxel_size), factors)
    return [
        float(size) * (f - 1) / 2 for size, f in zip(voxel_size, scale, strict=True)
    ]


@dataclass(frozen=True)
class Axis:
    """One axis of an image: its name, OME-Zarr ``type`` and unit (or none)."""

    name: str
    type: str
    unit: str | None = None


@dataclass(frozen=True)
class Channel:
    """One channel: its name and display colour (``"RRGGBB"``, None: unsaid)."""

    name: str
    color: str | None = None


def image_axes(axes: Sequence[str], unit: str = UNIT) -> list[Axis]:
    """The ``Axis`` of each name of ``axes`` (``t, c, z, y, x`` as present):
    space axes in ``unit``; time and channel axes without one."""
    return [
        Axis(name, AXIS_TYPES[name], unit if name in SPATIAL_AXES else None)
        for name in axes
    ]


def omero_metadata(
    channels: Sequence[Channel], windows: Sequence[tuple[float, float]], dtype: Any
) -> dict[str, Any]:
    """``omero`` metadata of these channels: label, colour, and a display window.

    ``windows`` are each channel's (lowest, highest) value, the display's
    start and end; ``min`` and ``max`` are the dtype's range (its float range
    is not written: the data's then). A channel without colour gets white
    alone, else the next of ``CHANNEL_COLORS``.
    """
    dtype = np.dtype(dtype)
    entries = []
    for index, (channel, (low, high)) in enumerate(zip(channels, windows, strict=True)):
        color = channel.color
        if color is None:
            color = "FFFFFF" if len(channels) == 1 else CHANNEL_COLORS[index % 6]
        if dtype.kind in "iu":
            limits = np.iinfo(dtype)
            least, most = float(limits.min), float(limits.max)
        else:
            least, most = float(low), float(high)
        entries.append(
            {
                "label": channel.name,
                "color": color.upper(),
                "active": True,
                "window": {
                    "min": least,
                    "max": most,
                    "start": float(low),
                    "end": float(high),
                },
            }
        )
    return {"channels": entries}


def _check_image(
    array_specs: Sequence[Any], voxel_size: Sequence[float], axes: Sequence[str]
) -> None:
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
    axes = tuple(axes)
    if axes != tuple(a for a in ALL_AXES if a in axes) or not set(SPATIAL_AXES) <= set(
        axes
    ):
        raise ValueError(
            f"axes {axes} must be z, y, x with t and c before them if present, "
            f"in the order {ALL_AXES}."
        )
    ndims = {len(spec.shape) for spec in array_specs}
    if ndims != {len(axes)}:
        raise ValueError(
            f"Every level must be a {len(axes)}-D ({', '.join(axes)}) array; got "
            f"{sorted(ndims)} dims."
        )


def image_model(
    array_specs: Sequence[Any],
    *,
    voxel_size: Sequence[float],
    name: str | None = None,
    paths: Sequence[str] | None = None,
    unit: str = UNIT,
    factors: Sequence[Sequence[int]] | None = None,
    version: OmeZarrVersion | None = None,
    axes: Sequence[str] = SPATIAL_AXES,
    omero: Mapping[str, Any] | None = None,
) -> Any:
    """Return the OME-Zarr ``Image`` model of a pyramid of arrays.

    ``array_specs`` are pydantic-zarr array specifications, level 0 first,
    along ``axes`` (``z, y, x``, with ``t`` and ``c`` before them if present).
    ``version`` is the OME-Zarr version; by default the specs' format says
    it: format 2 specifications (``pydantic_zarr.v2``) give an OME-Zarr 0.4
    model, format 3 ones (``pydantic_zarr.v3``) an OME-Zarr 0.5 model;
    ``version="0.6"`` (format 3) a 0.6 one. ``voxel_size`` is level 0's
    ``(z, y, x)`` voxel size in ``unit`` (a UDUNITS-2 name, micrometres by
    default). ``factors[k - 1]`` are the per-axis downsampling factors from
    level ``k - 1`` to ``k`` (default: every level halves every axis).
    ``omero``: channel names and colours (``omero_metadata``), if any.
    """
    _check_image(array_specs, voxel_size, axes)
    if factors is None:
        factors = [[2 if a in SPATIAL_AXES else 1 for a in axes]] * len(array_specs)
    sizes = axis_sizes(axes, voxel_size)
    levels = range(len(array_specs))
    return multiscale_model(
        array_specs,
        axes=image_axes(axes, unit),
        scales=[level_scale(k, sizes, factors) for k in levels],
        translations=[level_translation(k, sizes, factors) for k in levels],
        name=name,
        paths=paths,
        version=version,
        omero=omero,
    )


def multiscale_model(
    array_specs: Sequence[Any],
    *,
    axes: Sequence[Axis],
    scales: Sequence[Sequence[float]],
    translations: Sequence[Sequence[float]],
    name: str | None = None,
    paths: Sequence[str] | None = None,
    version: OmeZarrVersion | None = None,
    omero: Mapping[str, Any] | None = None,
) -> Any:
    """The ``Image`` model of levels with these axes, scales and translations.

    The one place an image's metadata is built for each version (0.4, 0.5 as
    ``axes`` with a scale and a translation per level; 0.6 as a coordinate
    system and a ``sequence`` per level): ``image_model`` computes the scales
    of a pyramid it describes, a migration passes those of the image it copies.
    """
    version = _version(array_specs, version)
    names = tuple(axis.name for axis in axes)
    if ZARR_FORMATS[version] == 3:
        # OME-Zarr 0.5 and 0.6 ask each array to name its dimensions like the axes.
        array_specs = [
            spec.model_copy(update={"dimension_names": names}) for spec in array_specs
        ]
    paths = list(paths) if paths is not None else [str(k) for k in range(len(scales))]
    scale_lists = [[float(v) for v in s] for s in scales]
    shifts = [[float(v) for v in t] for t in translations]
    if version == "0.6":
        image = _image_v06(list(array_specs), paths, scale_lists, shifts, axes, name)
    else:
        models = models_of(version)
        image = models.Image.new(
            array_specs=list(array_specs),
            paths=paths,
            axes=[
                models.axes.Axis(name=a.name, type=a.type, unit=a.unit) for a in axes
            ],
            scales=scale_lists,
            translations=shifts,
            name=name,
        )
    if omero is None:
        return image
    attributes = image.attributes.model_dump(mode="json", by_alias=True)
    ome_attributes(attributes)["omero"] = dict(omero)
    return type(image)(attributes=attributes, members=image.members)


def _image_v06(
    array_specs: list[Any],
    paths: list[str],
    scales: list[list[float]],
    translations: list[list[float]],
    axes: Sequence[Axis],
    name: str | None,
) -> Any:
    """An OME-Zarr 0.6 ``Image``: levels mapped into the ``physical`` system.

    Each level's transformation is a ``sequence`` of its scale, then its
    translation (``v06.Image.new``). No ``coordinateTransformations`` list
    beside the datasets: ``Image.new`` writes an empty one, which the
    specification's schema refuses (it needs at least one item).
    """
    from ome_zarr_models.v06.coordinate_transforms import (
        Axis as Axis06,
    )
    from ome_zarr_models.v06.coordinate_transforms import (
        CoordinateSystem,
    )

    physical = CoordinateSystem(
        name=PHYSICAL,
        axes=tuple(Axis06(name=a.name, type=a.type, unit=a.unit) for a in axes),
    )
    image = v06.Image.new(
        array_specs=array_specs,
        paths=paths,
        scales=scales,
        translations=translations,
        physical_coord_system=physical,
        name=name or "image",
    )
    from ome_zarr_models.v06.base import BaseZarrAttrs
    from ome_zarr_models.v06.image import ImageAttrs

    ome = image.attributes.ome.model_dump(mode="json", by_alias=True)
    for multiscale in ome["multiscales"]:
        if not multiscale.get("coordinateTransformations"):
            del multiscale["coordinateTransformations"]
        if name is None:
            del multiscale["name"]
    return v06.Image(
        attributes=BaseZarrAttrs(ome=ImageAttrs.model_validate(ome)),
        members=image.members,
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


def ome_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """The OME-Zarr metadata in a group's attributes, 0.4, 0.5 or 0.6.

    OME-Zarr 0.5 and 0.6 keep it under the attributes' ``"ome"`` key, 0.4 at
    their top level. The dict returned is part of ``attributes`` (not a copy),
    so a change to it is a change to ``attributes``.
    """
    return attributes.get("ome", attributes)


def multiscale_metadata(group: zarr.Group) -> dict[str, Any]:
    """The first ``multiscales`` entry of an OME-Zarr image group (0.4, 0.5 or
    0.6), as plain JSON (axes or coordinate systems, datasets, ...)."""
    multiscales = ome_attributes(group.attrs.asdict()).get("multiscales")
    if not multiscales:
        raise ValueError(
            f"{group} has no OME-Zarr multiscales metadata: pass the group of an "
            "OME-Zarr image (the one whose attributes list its levels)."
        )
    return multiscales[0]


def _version(
    array_specs: Sequence[Any], version: OmeZarrVersion | None
) -> OmeZarrVersion:
    """The OME-Zarr version of these array specs: ``version``, or by default the
    one their Zarr format stands for (``version_of_format``)."""
    zarr_format = getattr(array_specs[0], "zarr_format", 2)
    if version is None:
        return version_of_format(zarr_format)
    version = ome_zarr_version(version)
    if ZARR_FORMATS[version] != zarr_format:
        raise ValueError(
            f"OME-Zarr {version} lives in Zarr format {ZARR_FORMATS[version]}, but "
            f"the array specs are format {zarr_format}: pass format "
            f"{ZARR_FORMATS[version]} specs, or another version."
        )
    return version


def multiscale_axes(metadata: Mapping[str, Any]) -> list[Any]:
    """The axes of a ``multiscales`` entry, as JSON, whatever its version.

    0.4 and 0.5 list them as ``axes``; 0.6 gives them to the coordinate system
    that the first level's transformation maps into. [] if there are none.
    """
    if "axes" in metadata:
        axes = metadata["axes"]
        return list(axes) if isinstance(axes, list) else []
    systems = metadata.get("coordinateSystems")
    if not isinstance(systems, list):
        return []
    output = None
    datasets = metadata.get("datasets")
    if isinstance(datasets, list) and datasets and isinstance(datasets[0], dict):
        first = datasets[0].get("coordinateTransformations") or [{}]
        if isinstance(first, list) and isinstance(first[0], dict):
            output = (first[0].get("output") or {}).get("name")
    for system in systems:
        if isinstance(system, dict) and system.get("name") == output:
            axes = system.get("axes")
            return list(axes) if isinstance(axes, list) else []
    return []


def level_transforms(dataset: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A level's coordinate transformations, as JSON: a 0.6 ``sequence`` is
    replaced by the transformations it chains (scale, then translation)."""
    found: list[dict[str, Any]] = []
    for item in dataset.get("coordinateTransformations") or []:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "sequence":
            found += level_transforms(
                {"coordinateTransformations": item.get("transformations")}
            )
        else:
            found.append(item)
    return found


def label_model(
    array_specs: Sequence[Any],
    *,
    voxel_size: Sequence[float],
    colors: Mapping[int, RGBA] | None = None,
    names: Mapping[int, str] | None = None,
    name: str | None = None,
    unit: str = UNIT,
    version: OmeZarrVersion | None = None,
    factors: Sequence[Sequence[int]] | None = None,
) -> Any:
    """Return the OME-Zarr ``ImageLabel`` model of a pyramid of label arrays.

    Like ``image_model`` (the same specs, voxel size, unit and version give the
    same levels, scales and translations as the image the labels belong to),
    plus ``image-label`` metadata: ``source`` pointing back to the image,
    ``colors`` (label value -> RGBA, 0 to 255) if given, ``properties`` with a
    ``name`` for each label value of ``names`` if given (ome-zarr-models 1.8.1
    wants the same label values in both), and in 0.4 and 0.5 its ``version``
    (0.6 names the version once, beside it). Labels must have an integer dtype.
    """
    version = _version(array_specs, version)
    image = image_model(
        array_specs,
        voxel_size=voxel_size,
        name=name,
        unit=unit,
        version=version,
        factors=factors,
    )
    dtypes = {
        np.dtype(spec.data_type if spec.zarr_format == 3 else spec.dtype)
        for spec in array_specs
    }
    if any(dtype.kind not in "iu" for dtype in dtypes):
        found = sorted(dtype.name for dtype in dtypes)
        raise ValueError(
            f"Label arrays need an integer dtype (int8 to uint64), not {found}."
        )
    label: dict[str, Any] = {} if version == "0.6" else {"version": version}
    label["source"] = {"image": LABEL_SOURCE}
    if colors:
        label["colors"] = [
            {"label-value": int(value), "rgba": [int(c) for c in rgba]}
            for value, rgba in sorted(colors.items())
        ]
    if names:
        if colors and set(colors) != set(names):
            raise ValueError(
                f"Label colours are for values {sorted(colors)} but names for "
                f"{sorted(names)}: give both for the same label values."
            )
        label["properties"] = [
            {"label-value": int(value), "name": str(text)}
            for value, text in sorted(names.items())
        ]
    attributes = image.attributes.model_dump(mode="json", by_alias=True)
    ome_attributes(attributes)["image-label"] = label
    return models_of(version).ImageLabel(attributes=attributes, members=image.members)


def label_attributes(label: Any) -> dict[str, Any]:
    """The group attributes of an ``ImageLabel`` model, as JSON, without nulls."""
    return image_attributes(label)


def add_label_name(image: zarr.Group, name: str) -> zarr.Group:
    """List label image ``name`` in ``image``'s ``labels`` group; return that group.

    Creates the ``labels`` group if needed; names already listed stay listed
    (in their order), and ``name`` is added once.
    """
    version = image_version(image)
    labels = image.require_group("labels")
    attributes: dict[str, Any] = dict(labels.attrs.asdict())
    ome = (
        attributes.setdefault("ome", {"version": version})
        if ZARR_FORMATS[version] == 3
        else attributes
    )
    names = list(ome.get("labels", []))
    if name not in names:
        names.append(name)
    ome["labels"] = names
    models_of(version).labels.LabelsAttrs.model_validate(ome)
    labels.attrs.put(attributes)
    return labels


def image_version(image: zarr.Group) -> OmeZarrVersion:
    """The OME-Zarr version of an image group; ``ValueError`` if it names none
    of ``OME_ZARR_VERSIONS`` (0.4 images written without one count as 0.4)."""
    attributes = image.attrs.asdict()
    written = written_version(attributes)
    if written is None and image.metadata.zarr_format == 2:
        return "0.4"
    return ome_zarr_version(written)


def write_label_image(
    label: Any, image: zarr.Group, name: str, *, overwrite: bool = False
) -> zarr.Group:
    """Create label image ``name`` (an ``ImageLabel`` model) in ``image``'s labels.

    Writes the group ``labels/<name>`` with its empty level arrays and its
    metadata (no null fields), then lists it in the ``labels`` group (see
    ``add_label_name``). A label image of that name already there is an error
    unless ``overwrite``. Fill the arrays afterwards, like ``write_image``'s.
    """
    path = f"{image.path}/labels/{name}" if image.path else f"labels/{name}"
    if not overwrite and f"labels/{name}" in image:
        raise ValueError(
            f"{image.store} already has a label image labels/{name}: choose "
            "another name, or pass overwrite=True to replace it."
        )
    group = label.to_zarr(image.store, path=path, overwrite=overwrite)
    group.attrs.put(label_attributes(label))
    add_label_name(image, name)
    return group


def _with_endian(codecs: Any) -> Any:
    """Format 3 codecs with every ``bytes`` codec little-endian."""
    if isinstance(codecs, (list, tuple)):
        return [_with_endian(codec) for codec in codecs]
    if isinstance(codecs, Mapping):
        codec = {key: _with_endian(value) for key, value in codecs.items()}
        if codec.get("name") == "bytes":
            codec["configuration"] = {"endian": "little"}
        return codec
    return codecs


def label_model_for(
    image: zarr.Group,
    dtype: Any,
    *,
    colors: Mapping[int, RGBA] | None = None,
    names: Mapping[int, str] | None = None,
    name: str | None = None,
) -> Any:
    """The ``ImageLabel`` model of a label image of ``dtype`` for ``image``.

    Every level copies the image's level (shape, chunks, shards, codecs) with
    the label dtype, and the metadata repeats the image's axes, scales and
    translations, so the labels lie exactly on the image at every level.
    """
    arrays = [image[d["path"]] for d in multiscale_metadata(image)["datasets"]]
    dtype = np.dtype(dtype)
    zarr_format = image.metadata.zarr_format
    update: dict[str, Any] = {"fill_value": 0}
    if zarr_format == 3:
        update["data_type"] = dtype.name
    else:
        update["dtype"] = dtype.str
    specs = []
    for array in arrays:
        spec = array_spec_class(zarr_format).from_zarr(array)
        if zarr_format == 3:
            # A 1-byte image's "bytes" codec names no byte order, which wider
            # labels need: make every one (inside shards too) little-endian.
            update["codecs"] = _with_endian(spec.codecs)
        specs.append(spec.model_copy(update=update))
    voxel_size, unit = image_voxel_size(image)
    label = label_model(
        specs,
        voxel_size=voxel_size,
        colors=colors,
        names=names,
        name=name,
        unit=unit,
        version=image_version(image),
        factors=image_factors(image),
    )
    check_same_levels(image, label)
    return label


def level_scales(metadata: Mapping[str, Any]) -> list[list[float]]:
    """Each level's scale in a ``multiscales`` entry (0.4, 0.5 or 0.6, through
    ``level_transforms``); ``ValueError`` for a level without one."""
    scales = []
    for k, dataset in enumerate(metadata["datasets"]):
        found = [t["scale"] for t in level_transforms(dataset) if t["type"] == "scale"]
        if not found:
            raise ValueError(f"level {k} of the image has no scale.")
        scales.append([float(v) for v in found[0]])
    return scales


def image_voxel_size(image: zarr.Group) -> tuple[list[float], str]:
    """Level 0's ``(z, y, x)`` voxel size and the space unit of an OME-Zarr image."""
    metadata = multiscale_metadata(image)
    scale = level_scales(metadata)[0]
    axes = multiscale_axes(metadata)
    names = [axis.get("name") for axis in axes] or list(SPATIAL_AXES)
    sizes = dict(zip(names, scale, strict=False))
    units = {axis.get("unit") for axis in axes if axis.get("type") == "space"}
    voxel_size = [float(sizes.get(name, 1.0)) for name in SPATIAL_AXES]
    return voxel_size, units.pop() if len(units) == 1 else UNIT


def image_factors(image: zarr.Group) -> tuple[Factors, ...] | None:
    """The factors between the levels of an OME-Zarr image, from their scales
    (None if they are not whole numbers: not a pyramid the book writes)."""
    scales = level_scales(multiscale_metadata(image))
    found = [
        factors_between(above, below, tolerance=1e-6)
        for above, below in zip(scales, scales[1:], strict=False)
    ]
    return None if None in found else tuple(f for f in found if f is not None)


def check_same_levels(image: zarr.Group, label: Any) -> None:
    """Raise ``ValueError`` unless the ``ImageLabel`` model ``label`` has the
    axes, level paths, scales and translations of ``image``."""
    metadata = multiscale_metadata(image)
    found = ome_attributes(label_attributes(label))["multiscales"][0]
    if any(
        found.get(key) != metadata.get(key)
        for key in ("axes", "coordinateSystems", "datasets")
    ):
        raise ValueError(
            f"{image.store} has levels that are not the book's 2x pyramid (axes, "
            "scales or translations differ): write the image with image_model."
        )


def remove_label_name(image: zarr.Group, name: str) -> None:
    """Take ``name`` off ``image``'s list of label images (if listed)."""
    labels = image.get("labels")
    if not isinstance(labels, zarr.Group):
        return
    attributes: dict[str, Any] = dict(labels.attrs.asdict())
    listed = ome_attributes(attributes)
    if name in listed.get("labels", []):
        listed["labels"] = [n for n in listed["labels"] if n != name]
        labels.attrs.put(attributes)
