"""What a conversion makes: an OME-Zarr image (``ImageTarget``) or, in
``labels``, a label image of one (``LabelTarget``). Both say where they write,
the levels, voxel size and unit they need, how to prepare the output and what
to write last."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import zarr

from data_helpers.convert import resume
from data_helpers.convert.output import Output
from data_helpers.convert.plan import Downsampling
from data_helpers.convert.sources import Source
from data_helpers.convert.state import FINGERPRINT_KEY, Manifest, ResumeState
from data_helpers.ome import (
    ZARR_FORMATS,
    OmeZarrVersion,
    array_spec_class,
    image_attributes,
    image_model,
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
    def voxel_size(self) -> Sequence[float]: ...

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

    def finish(
        self,
        arrays: list[zarr.Array],
        fingerprint: str,
    ) -> None:
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

    def check_source(self, source: Source) -> None:
        return None

    def prepare(self, manifest: Manifest, source: str, overwrite: bool) -> ResumeState:
        return resume.prepare(self.output, manifest, source, overwrite)

    def finish(
        self,
        arrays: list[zarr.Array],
        fingerprint: str,
    ) -> None:
        write_metadata(
            self.output, arrays, self.voxel_size, self.unit, fingerprint, self.version
        )


def write_metadata(
    output: Output,
    arrays: list[zarr.Array],
    voxel_size: Sequence[float],
    unit: str,
    fingerprint: str,
    version: OmeZarrVersion,
) -> None:
    """Write the OME-Zarr multiscales metadata: the last step of a conversion.

    Beside it goes the fingerprint of the input and options, so that a rerun
    of the same conversion knows there is nothing left to do.
    """
    spec_class = array_spec_class(ZARR_FORMATS[version])
    specs = [spec_class.from_zarr(a) for a in arrays]
    name = output.name.removesuffix(".zarr").removesuffix(".ome")
    image = image_model(
        specs, voxel_size=voxel_size, unit=unit, name=name, version=version
    )
    attributes: dict[str, Any] = image_attributes(image)
    attributes[FINGERPRINT_KEY] = {"manifest_sha256": fingerprint}
    zarr.open_group(output.store(), mode="r+").attrs.update(attributes)
