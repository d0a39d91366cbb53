"""Writing the output's arrays: create them, open a level, write whole units."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import zarr

from data_helpers.codec_names import make_codec
from data_helpers.convert.output import Output
from data_helpers.convert.plan import Region
from data_helpers.shards import check_whole_units
from data_helpers.types import ZarrFormat


class Layout(Protocol):
    """What the output's arrays are made from: a ``Plan``, or a migration's plan."""

    @property
    def dtype(self) -> str: ...

    @property
    def chunks(self) -> tuple[int, ...]: ...

    @property
    def shards(self) -> tuple[int, ...] | None: ...

    @property
    def axes(self) -> tuple[str, ...]: ...

    @property
    def zarr_format(self) -> ZarrFormat: ...

    @property
    def codec(self) -> str:
        """The chunks' codec, by name (``data_helpers.codec_names``)."""
        ...

    def level_shapes(self) -> list[tuple[int, ...]]: ...


def create_arrays(output: Output, plan: Layout) -> list[zarr.Array]:
    """Create the group and its empty level arrays (or open them on resume)."""
    group = zarr.open_group(output.store(), mode="a", zarr_format=plan.zarr_format)
    arrays = []
    for level, shape in enumerate(plan.level_shapes()):
        existing = group.get(str(level))
        if isinstance(existing, zarr.Array):  # on resume
            arrays.append(existing)
            continue
        arrays.append(create_level(group, str(level), shape, plan))
    return arrays


def create_level(
    group: zarr.Group, name: str, shape: tuple[int, ...], plan: Layout
) -> zarr.Array:
    """An empty level array ``name`` of ``group``: the plan's chunks, shards,
    codec (``plan.codec``) and dtype, fill value 0; with format 3 named
    dimensions, with format 2 nested chunk keys."""
    options: dict[str, Any] = {"chunk_key_encoding": {"name": "v2", "separator": "/"}}
    if plan.zarr_format == 3:
        options = {"dimension_names": plan.axes, "shards": plan.shards}
    return group.create_array(
        name,
        shape=shape,
        dtype=plan.dtype,
        chunks=plan.chunks,
        compressors=make_codec(plan.codec, plan.zarr_format),
        fill_value=0,
        **options,
    )


def open_level(output: Output, level: int, mode: str, plan: Layout) -> zarr.Array:
    """Level ``level`` of the output image.

    Told the format, zarr asks for no metadata of the other format: on object
    storage, each such question is a request.
    """
    store = output.child(str(level)).store(mode)
    return zarr.open_array(store, mode=mode, zarr_format=plan.zarr_format)


def write_region(
    array: zarr.Array, region: Region, data: np.ndarray, unit: tuple[int, ...]
) -> None:
    """Write ``data`` at ``region`` after checking it covers whole units.

    A sharded array gets one shard along the last axis per call: zarr encodes
    every shard of a call at once, each with its copy and its encoded chunks.
    """
    check_whole_units(region, array.shape, unit)
    if array.shards is None:
        array[region] = data
        return
    *leading, columns = region
    edge = unit[-1]
    for start in range(0, data.shape[-1], edge):
        part = slice(
            columns.start + start, min(columns.start + start + edge, columns.stop)
        )
        array[(*leading, part)] = data[..., start : start + edge]
