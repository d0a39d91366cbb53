"""Checks of an image's metadata and array headers (no chunk is read)."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import zarr
from zarr.errors import GroupNotFoundError

from data_helpers.check.result import CheckError, Finding, Level, one_line
from data_helpers.ome import (
    OME_ZARR_VERSIONS,
    SPACE_UNITS,
    ZARR_FORMATS,
    level_transforms,
    models_of,
    multiscale_metadata,
    ome_zarr_version,
    space_unit,
    written_version,
)
from data_helpers.remote import is_remote, open_store
from data_helpers.wording import count


def open_image(location: str | os.PathLike[str]) -> tuple[zarr.Group, dict]:
    """The image's group and its multiscales entry; CheckError if there is none."""
    if not is_remote(location) and not Path(location).exists():
        raise CheckError(
            f"{location}: no such file or folder: give the path (or the http(s):// "
            "or s3:// URL) of an OME-Zarr image's top folder."
        )
    try:
        group = zarr.open_group(open_store(location), mode="r")
    except (FileNotFoundError, GroupNotFoundError):
        raise CheckError(
            f"{location} is not a Zarr group (no zarr.json or .zgroup there): give "
            "the top folder of an OME-Zarr image, the one whose .zattrs or zarr.json "
            "lists its levels."
        ) from None
    except Exception as error:  # an array, a refused connection, bad settings, ...
        raise CheckError(
            f"{location} is not a Zarr group ({one_line(error)}): give the top "
            "folder of an OME-Zarr image, the one whose .zattrs or zarr.json lists "
            "its levels."
        ) from None
    try:
        metadata = multiscale_metadata(group)
        if not isinstance(metadata, dict) or not isinstance(
            metadata.get("datasets"), list
        ):
            raise ValueError("no list of datasets")
    except (ValueError, AttributeError, TypeError):
        if unfinished_conversion(group):
            raise CheckError(
                f"{location} is an unfinished conversion: rerun the converter (the "
                "same command) to finish it."
            ) from None
        raise CheckError(
            f"{location} is a Zarr group without OME-Zarr multiscales metadata: "
            "give the folder of an image (a plate or a bare array is not one)."
        ) from None
    return group, metadata


def unfinished_conversion(group: zarr.Group) -> bool:
    """Whether ``group`` is a conversion under way: it holds the converter's
    manifest (which goes when the multiscales metadata is written)."""
    from zarr.core.sync import sync

    from data_helpers.convert.state import STATE_FOLDER  # only in this case

    try:
        return bool(sync(group.store.exists(f"{STATE_FOLDER}/manifest.json")))
    except Exception:  # a store that cannot tell: say what it lacks instead
        return False


def ome_version(group: zarr.Group) -> str | None:
    """The OME-Zarr version: 0.5 and 0.6 keep it under "ome", 0.4 in the
    multiscales."""
    return written_version(group.attrs.asdict())


# --------------------------------------------------------------------------
# Metadata and array headers
# --------------------------------------------------------------------------


def validation_problem(group: zarr.Group, version: str | None) -> str | None:
    """What ome-zarr-models says against the metadata, in one line (None: valid)."""
    from pydantic import ValidationError

    model = models_of(ome_zarr_version(version))
    try:
        model.Image.from_zarr(group)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        said = " ".join(first["msg"].removeprefix("Value error, ").split())
        more = error.error_count() - 1
        extra = f" (and {more} more)" if more else ""
        return f"{where + ': ' if where else ''}{said.rstrip(' .')}{extra}"
    except Exception as error:  # the models raise more than ValidationError
        return one_line(error)
    return None


def transform(dataset: dict, kind: str) -> tuple[float, ...] | None:
    """A dataset's ``scale`` or ``translation`` vector, if it has one (in 0.6,
    inside its ``sequence``)."""
    for item in level_transforms(dataset):
        if item.get("type") == kind:
            values = item.get(kind)
            if isinstance(values, list):
                return tuple(float(v) for v in values)
    return None


def codec_name(codec: Any) -> str:
    """A codec's name, with its compressor for Blosc: ``blosc(zstd)``, ``bytes``."""
    if hasattr(codec, "to_dict"):  # format 3 codecs
        config = codec.to_dict()
        name, options = config["name"], config.get("configuration", {})
    else:  # numcodecs codecs of format 2
        options = codec.get_config()
        name = options["id"]
    cname = options.get("cname")
    return f"{name}({getattr(cname, 'value', cname)})" if cname else str(name)


def can_list(store: Any) -> bool:
    """Whether listing ``store`` finds its objects (a web server lists none)."""
    protocol = getattr(getattr(store, "fs", None), "protocol", ())
    protocols = {protocol} if isinstance(protocol, str) else set(protocol)
    return bool(store.supports_listing) and not protocols & {"http", "https"}


def level_of(path: str, array: zarr.Array, dataset: dict) -> Level:
    """The summary of one level; lists the store where it can."""
    codecs = [*array.filters, *([array.serializer] if array.serializer else [])]
    codecs += list(array.compressors)
    shards = array.shards
    per_object = (
        math.prod(s // c for s, c in zip(shards, array.chunks, strict=True))
        if shards
        else 1
    )
    grid = array.shards or array.chunks
    in_grid = math.prod(
        math.ceil(n / g) for n, g in zip(array.shape, grid, strict=True)
    )
    stored: int | None = None
    nbytes: int | None = None
    if can_list(array.store_path.store):
        stored = array.nchunks_initialized // per_object
        nbytes = array.nbytes_stored()
    return Level(
        path=path,
        shape=tuple(array.shape),
        dtype=str(array.dtype),
        chunks=tuple(array.chunks),
        shards=tuple(shards) if shards else None,
        codecs=tuple(codec_name(c) for c in codecs),
        scale=transform(dataset, "scale"),
        translation=transform(dataset, "translation"),
        stored=stored,
        in_grid=in_grid,
        bytes_stored=nbytes,
    )


def header_problems(
    arrays: dict[str, zarr.Array],
    levels: list[Level],
    axes: list[dict],
    version: str | None,
) -> list[Finding]:
    """Levels against each other, against the axes and against their scales."""
    problems: list[Finding] = []
    if not levels:
        return problems
    first = levels[0]
    names = tuple(str(axis.get("name")) for axis in axes)
    for level in levels:
        where, array = f"level {level.path}", arrays[level.path]
        said = []
        if level is not first and level.dtype != first.dtype:
            said.append(
                f"dtype {level.dtype}, but level {first.path} is {first.dtype}: "
                "every level must hold the same kind of values"
            )
        if len(level.shape) != len(names):
            said.append(
                f"{len(level.shape)} dimensions, but {len(names)} axes {names}: "
                "readers cannot tell which dimension is which"
            )
        elif level is not first and len(level.shape) != len(first.shape):
            said.append(
                f"{len(level.shape)} dimensions, but level {first.path} has "
                f"{len(first.shape)}: every level must have the same dimensions"
            )
        if version in ("0.5", "0.6") and array.metadata.zarr_format == 3:
            dimension_names = array.metadata.dimension_names
            if dimension_names is None:
                said.append(
                    f"no dimension_names: OME-Zarr {version} asks each array to "
                    f"name its dimensions like the axes, {names}"
                )
            elif tuple(dimension_names) != names:
                said.append(
                    f"dimension_names {tuple(dimension_names)} differ from the "
                    f"axis names {names}: readers that go by either disagree"
                )
        problems += [Finding(where, f"{text}.") for text in said]
    problems += scale_problems(levels)
    problems += kept_axis_problems(levels, axes)
    return problems


#: Axis types a pyramid never downsamples, and what each voxel along them is.
KEPT_AXES = {"channel": "channel", "time": "time point"}


def kept_axes(axes: list[dict]) -> dict[int, tuple[str, str]]:
    """The axes a pyramid keeps whole: index -> (name, what one step is).

    Those of type ``channel`` and ``time``; an axis without a type counts as
    one when it is named ``c`` or ``t``.
    """
    kept = {}
    for index, axis in enumerate(axes):
        name, kind = str(axis.get("name")), axis.get("type")
        if kind is None:
            kind = {"c": "channel", "t": "time"}.get(name)
        if kind in KEPT_AXES:
            kept[index] = (name, KEPT_AXES[kind])
    return kept


def kept_axis_problems(levels: list[Level], axes: list[dict]) -> list[Finding]:
    """Levels that downsample a channel or time axis (shape or scale) from
    the level above."""
    problems: list[Finding] = []
    kept = kept_axes(axes)
    for above, level in zip(levels, levels[1:], strict=False):
        if len(level.shape) != len(axes) or len(above.shape) != len(axes):
            continue  # a dimension problem, reported already
        for index, (name, step) in kept.items():
            said = []
            if level.shape[index] != above.shape[index]:
                said.append(
                    f"{count(level.shape[index], step)} along it, level "
                    f"{above.path} has {above.shape[index]}"
                )
            scale, before = level.scale, above.scale
            if scale and before and len(scale) == len(before) == len(axes):
                if not math.isclose(scale[index], before[index]):
                    said.append(
                        f"scale {scale[index]:g} along it, level "
                        f"{above.path}'s is {before[index]:g}"
                    )
            if said:
                message = (
                    f"downsamples the {step.split()[0]} axis {name} "
                    f"({'; '.join(said)}): a pyramid must keep every {step} at "
                    f"every level, or readers mix {step}s when zoomed out and "
                    "place them wrong."
                )
                problems.append(Finding(f"level {level.path}", message))
    return problems


def unit_problems(axes: list[dict]) -> list[Finding]:
    """Units of space axes that are not among the specification's names.

    OME-Zarr 0.4 to 0.6 list the units a space axis may have (``SPACE_UNITS``);
    Neuroglancer refuses any other and shows nothing. One finding per unit,
    naming the axes that carry it. Axes of other types are not checked.
    """
    found: list[tuple[Any, list[str]]] = []  # unit, its axes (units may be lists)
    for axis in axes:
        unit = axis.get("unit")
        if (
            unit is None
            or axis.get("type") not in (None, "space")
            or unit in SPACE_UNITS
        ):
            continue
        names = next((names for u, names in found if u == unit), None)
        if names is None:
            found.append((unit, names := []))
        names.append(str(axis.get("name")))
    problems = []
    for unit, names in found:
        try:
            fix = f"write {space_unit(unit)!r} instead"
        except ValueError:
            fix = f"write one of {', '.join(SPACE_UNITS)}"
        where = f"axis {names[0]}" if len(names) == 1 else f"axes {', '.join(names)}"
        message = (
            f"unit {unit!r} is not one of the OME-Zarr specification's space "
            f"units: Neuroglancer refuses it ('Unsupported unit') and draws "
            f"nothing, and other readers may ignore it or misread the voxel "
            f"size; {fix}."
        )
        problems.append(Finding(where, message))
    return problems


def scale_problems(levels: list[Level]) -> list[Finding]:
    """Scales must grow, and each shape must match level 0's times the scale ratio."""
    problems: list[Finding] = []
    first = levels[0]
    for above, level in zip(levels, levels[1:], strict=False):
        where = f"level {level.path}"
        if level.scale is None or above.scale is None or first.scale is None:
            continue  # ome-zarr-models reports a missing scale
        if not len(level.scale) == len(level.shape) == len(first.shape):
            continue  # a dimension problem, reported already
        pairs = list(zip(level.scale, above.scale, strict=False))
        if not (all(s >= a for s, a in pairs) and any(s > a for s, a in pairs)):
            message = (
                f"scale {level.scale} does not grow from level {above.path}'s "
                f"{above.scale}: each level must be coarser than the one above."
            )
            problems.append(Finding(where, message))
        expected = tuple(
            round(n * s0 / s, 2)
            for n, s0, s in zip(first.shape, first.scale, level.scale, strict=True)
        )
        if any(abs(n - e) > 1 for n, e in zip(level.shape, expected, strict=True)):
            message = (
                f"shape {level.shape} disagrees with its scale: level {first.path}'s "
                f"shape {first.shape} times the scale ratio is {expected}; readers "
                "would place this level's voxels where the image is not."
            )
            problems.append(Finding(where, message))
    return problems


# --------------------------------------------------------------------------


def metadata_findings(
    group: zarr.Group, version: str | None
) -> tuple[list[Finding], list[Finding]]:
    """A version it knows, the Zarr format for it, and ome-zarr-models' verdict."""
    zarr_format = group.metadata.zarr_format
    expected = next((ZARR_FORMATS[v] for v in OME_ZARR_VERSIONS if v == version), None)
    if expected is None:
        message = (
            f"OME-Zarr version {version!r} is not one this checks "
            f"({', '.join(OME_ZARR_VERSIONS)}): readers that do not know it refuse "
            "the image; write one of these versions."
        )
        return [Finding("metadata", message)], []
    if expected != zarr_format:
        message = (
            f"OME-Zarr {version} metadata in a Zarr format {zarr_format} group: "
            f"OME-Zarr {version} needs Zarr format {expected}, so readers of "
            f"{version} cannot open it."
        )
        return [Finding("metadata", message)], []
    rejected = validation_problem(group, version)
    if rejected:
        message = f"the OME-Zarr {version} specification rejects it: {rejected}."
        return [Finding("metadata", message)], []
    return [], []
