"""What a conversion makes: an OME-Zarr image (``ImageTarget``) or, in
``labels``, a label image of one (``LabelTarget``). Both say where they write,
the levels, voxel size and unit they need, how to prepare the output and what
to write last."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import zarr

from data_helpers.convert import resume
from data_helpers.convert.output import Output
from data_helpers.convert.plan import Downsampling, Plan
from data_helpers.convert.sources import Source
from data_helpers.convert.state import FINGERPRINT_KEY, Manifest, ResumeState
from data_helpers.factors import Factors
from data_helpers.ome import (
    ZARR_FORMATS,
    Channel,
    OmeZarrVersion,
    array_spec_class,
    image_attributes,
    image_model,
    omero_metadata,
)


class Target(Protocol):
    """Where a conversion writes, and what its output must match."""

    @property
    def output(self) -> Output:
        """The folder (or prefix) the arrays go into."""
        ...

    @property
    def title(self) -> str | None:
        """What the summary calls the output (None: the output's own name)."""
        ...

    @property
    def levels(self) -> int | None:
        """Levels it must have (None: as many as the input needs)."""
        ...

    @property
    def voxel_size(self) -> Sequence[float]:
        """Level 0's ``(z, y, x)`` voxel size."""
        ...

    @property
    def factors(self) -> tuple[Factors, ...] | None:
        """The factors its levels must have (None: ``factors.pyramid_factors``
        of the voxel size)."""
        ...

    @property
    def unit(self) -> str: ...

    @property
    def version(self) -> OmeZarrVersion:
        """The OME-Zarr version it is written in."""
        ...

    @property
    def method(self) -> Downsampling:
        """How lower levels are made."""
        ...

    def check_source(self, source: Source) -> None:
        """Raise ConversionError if ``source`` cannot become this target."""
        ...

    def prepare(self, manifest: Manifest, source: str, overwrite: bool) -> ResumeState:
        """Check the output (``resume.prepare``) and anything else it needs."""
        ...

    def finish(self, arrays: list[zarr.Array], plan: Plan, fingerprint: str) -> None:
        """Write the metadata: the last step, after which it is a valid image."""
        ...


@dataclass(frozen=True)
class ImageTarget:
    """An OME-Zarr image at ``output``."""

    output: Output
    levels: int | None
    voxel_size: Sequence[float]
    unit: str
    version: OmeZarrVersion
    title: str | None = None
    method: Downsampling = Downsampling.MEAN
    #: The input's channels, named in ``omero`` if the image has a ``c`` axis.
    channels: tuple[Channel, ...] = ()
    factors: tuple[Factors, ...] | None = None

    def check_source(self, source: Source) -> None:
        return None

    def prepare(self, manifest: Manifest, source: str, overwrite: bool) -> ResumeState:
        return resume.prepare(self.output, manifest, source, overwrite)

    def finish(self, arrays: list[zarr.Array], plan: Plan, fingerprint: str) -> None:
        omero = None
        if "c" in plan.axes:
            omero = channel_metadata(arrays[-1], plan.axes, self.channels)
        write_metadata(
            self.output,
            arrays,
            plan,
            self.voxel_size,
            self.unit,
            fingerprint,
            self.version,
            omero,
        )


def channel_metadata(
    smallest: zarr.Array, axes: Sequence[str], channels: Sequence[Channel]
) -> dict[str, Any]:
    """``omero`` metadata of each channel along axis ``c`` of the image: the
    input's names and colours (``channel 0``, ... if it has none), and a
    display window from the lowest to the highest value of the smallest level
    (read whole: it fits in one chunk along every space axis)."""
    axis = axes.index("c")
    data = np.asarray(smallest[...])
    count = data.shape[axis]
    if len(channels) != count:
        channels = [Channel(f"channel {index}") for index in range(count)]
    windows = []
    for index in range(count):
        values = np.take(data, index, axis=axis)
        windows.append((float(values.min()), float(values.max())))
    return omero_metadata(channels, windows, data.dtype)


def write_metadata(
    output: Output,
    arrays: list[zarr.Array],
    plan: Plan,
    voxel_size: Sequence[float],
    unit: str,
    fingerprint: str,
    version: OmeZarrVersion,
    omero: dict[str, Any] | None = None,
) -> None:
    """Write the OME-Zarr multiscales metadata: the last step of a conversion.

    Beside it goes the fingerprint of the input and options, so that a rerun
    of the same conversion knows there is nothing left to do.
    """
    spec_class = array_spec_class(ZARR_FORMATS[version])
    specs = [spec_class.from_zarr(a) for a in arrays]
    name = output.name.removesuffix(".zarr").removesuffix(".ome")
    image = image_model(
        specs,
        voxel_size=voxel_size,
        unit=unit,
        name=name,
        version=version,
        axes=plan.axes,
        factors=plan.factors,
        omero=omero,
    )
    attributes: dict[str, Any] = image_attributes(image)
    attributes[FINGERPRINT_KEY] = {"manifest_sha256": fingerprint}
    zarr.open_group(output.store(), mode="r+").attrs.update(attributes)
