"""Channels from several inputs: N sources of one shape as one with a ``c`` axis.

``stack_channels`` checks that the inputs (each ``z, y, x``, or ``t, z, y, x``)
agree in axes, shape and dtype, and gives a ``ChannelStack``, whose axes are
``t?, c, z, y, x``; its ``read`` hands each channel of a region to its input.
Channel names are the inputs' folder names unless given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from data_helpers.convert.errors import ConversionError
from data_helpers.convert.sources.source import (
    Channel,
    ImageInfo,
    Region,
    Source,
)

#: The axes an input of one channel may have.
CHANNEL_AXES = (("z", "y", "x"), ("t", "z", "y", "x"))


@dataclass(frozen=True)
class ChannelStack:
    """Inputs of equal axes, shape and dtype, one per index of the ``c`` axis."""

    sources: tuple[Source, ...]
    names: tuple[str, ...]

    @property
    def channel_axis(self) -> int:
        """Where ``c`` is among ``axes``: after ``t`` if there is one."""
        return len(self.sources[0].axes) - 3

    @property
    def axes(self) -> tuple[str, ...]:
        axes = self.sources[0].axes
        return (*axes[: self.channel_axis], "c", *axes[self.channel_axis :])

    @property
    def shape(self) -> tuple[int, ...]:
        shape = self.sources[0].shape
        c = self.channel_axis
        return (*shape[:c], len(self.sources), *shape[c:])

    @property
    def dtype(self) -> np.dtype:
        return self.sources[0].dtype

    @property
    def location(self) -> str:
        return ", ".join(source.location for source in self.sources)

    @property
    def staged(self) -> bool:
        return False  # stack_channels refuses inputs to stage

    def notes(self) -> tuple[str, ...]:
        """Each input's notes, after its channel's name."""
        return tuple(
            f"{name}: {note}"
            for name, source in zip(self.names, self.sources, strict=True)
            for note in source.notes()
        )

    def info(self) -> ImageInfo:
        """The channels' names; the voxel size and unit the inputs agree on."""
        infos = {(i.voxel_size, i.unit) for i in (s.info() for s in self.sources)}
        voxel_size, unit = infos.pop() if len(infos) == 1 else (None, None)
        channels = tuple(Channel(name) for name in self.names)
        return ImageInfo(voxel_size, unit, channels)

    def fingerprint(self) -> dict[str, Any]:
        return {"channels": [source.fingerprint() for source in self.sources]}

    def read(self, region: Region, out: np.ndarray) -> None:
        """Each channel of ``region`` read by its input into its part of ``out``."""
        c = self.channel_axis
        channels = region[c]
        rest = (*region[:c], *region[c + 1 :])
        for index in range(channels.start, channels.stop):
            plane = (slice(None),) * c + (index - channels.start,)
            self.sources[index].read(rest, out[plane])

    def stage(self, plane: int, folder: Path) -> None:
        raise NotImplementedError("Channels are read by region.")

    def staged_copy(self, folder: Path) -> Source:
        raise NotImplementedError("Channels are read by region.")


def folder_name(location: str) -> str:
    """The last part of a folder's path or URL: a channel's default name."""
    return location.rstrip("/").rsplit("/", 1)[-1] or location


def stack_channels(
    sources: Sequence[Source], names: Sequence[str] | None = None
) -> Source:
    """The ``sources``, one per channel, as one ``Source`` with a ``c`` axis.

    Raises ConversionError (one line, naming both inputs) when they differ
    in axes, shape or dtype, or one has channels already or must be staged.
    """
    if not sources:
        raise ConversionError("no channels to stack: give one input per channel.")
    if names is not None and len(names) != len(sources):
        raise ConversionError(
            f"{len(names)} channel names for {len(sources)} channels: give one "
            "name per channel."
        )
    first = sources[0]
    for source in sources:
        if source.axes not in CHANNEL_AXES:
            raise ConversionError(
                f"{source.location!r} has axes {', '.join(source.axes)}: give "
                "channels of one channel each (axes z, y, x or t, z, y, x)."
            )
        if source.staged:
            raise ConversionError(
                f"{source.location!r} holds JPEG 2000 slices, which cannot be "
                "channels yet: convert JPEG 2000 channels one at a time, or give "
                "each channel as TIFF slices."
            )
        if (source.axes, source.shape, source.dtype) != (
            first.axes,
            first.shape,
            first.dtype,
        ):
            raise ConversionError(
                f"The channels {first.location!r} and {source.location!r} differ: "
                f"{described(first)} against {described(source)}; every channel "
                "must have the same number of slices, slice shape and dtype."
            )
    if names is None:
        names = [folder_name(source.location) for source in sources]
    return ChannelStack(tuple(sources), tuple(names))


def described(source: Source) -> str:
    """Shape with axis names, and dtype: ``(z 3, y 8, x 9) uint16``."""
    pairs = zip(source.axes, source.shape, strict=True)
    sizes = ", ".join(f"{axis} {size}" for axis, size in pairs)
    return f"({sizes}) {source.dtype}"
