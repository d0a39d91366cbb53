"""Planes staged as raw voxels (one file each), read by region."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from data_helpers.convert.sources.rows import read_rows
from data_helpers.convert.sources.source import ImageInfo, Region, Source
from data_helpers.types import ByteOrder


@dataclass(frozen=True)
class RawPlanes:
    """Planes ``folder/{z}.raw`` of ``shape[1:]`` raw voxels in native byte order.

    Where stage tasks put decoded JPEG 2000 slices: read by rows like an
    uncompressed TIFF, and deleted (``discard``) once their block tasks are done.
    """

    folder: Path
    shape: tuple[int, ...]
    dtype: np.dtype
    axes: tuple[str, ...] = ("z", "y", "x")

    @property
    def location(self) -> str:
        return str(self.folder)

    @property
    def staged(self) -> bool:
        return False

    def path(self, plane: int) -> Path:
        """The file of plane ``plane``."""
        return self.folder / f"{plane}.raw"

    def notes(self) -> tuple[str, ...]:
        return ()

    def info(self) -> ImageInfo:
        return ImageInfo()

    def fingerprint(self) -> dict[str, Any]:
        return {}

    def read(self, region: Region, out: np.ndarray) -> None:
        planes, rows, columns = region
        byteorder: ByteOrder = "<" if sys.byteorder == "little" else ">"
        for z in range(planes.start, planes.stop):
            read_rows(
                out[z - planes.start],
                str(self.path(z)),
                0,
                byteorder,
                rows.start,
                columns.start,
                self.shape[-1],
            )

    def stage(self, plane: int, folder: Path) -> None:
        raise TypeError("Raw planes are read by region: they need no staging.")

    def staged_copy(self, folder: Path) -> Source:
        return self

    def discard(self, planes: range) -> None:
        """Delete the files of ``planes``."""
        for z in planes:
            self.path(z).unlink(missing_ok=True)
