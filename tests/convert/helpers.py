"""Inputs for the converter's tests: seeded volumes and their TIFF slices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile


def random_volume(shape, seed: int = 0, dtype="uint16") -> np.ndarray:
    """Seeded voxels over the dtype's whole range (they barely compress)."""
    info = np.iinfo(dtype)
    rng = np.random.default_rng(seed)
    return rng.integers(info.min, info.max, shape, endpoint=True, dtype=dtype)


def write_slices(folder: Path, volume: np.ndarray, **options) -> list[Path]:
    """One TIFF per z-slice, named so that plain sorting would get them wrong."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for z, plane in enumerate(volume):
        path = folder / f"slice_{z}.tif"
        tifffile.imwrite(path, plane, photometric="minisblack", **options)
        paths.append(path)
    return paths
