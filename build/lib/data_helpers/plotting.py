"""Plotting helpers for 3-D image arrays."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes


def plot_slice(array: Any, *, z_idx: int, ax: Axes | None = None) -> Axes:
    """Show ``array[:, :, z_idx]`` as a grey-scale image and return its Axes.

    ``array`` may be a NumPy array or a zarr array; from a zarr array only the
    chunks that hold the slice are read. Integer images use the full range of
    their dtype for the grey scale, so an all-zero slice shows as black.
    """
    shape = tuple(getattr(array, "shape", ()))
    if len(shape) != 3:
        raise ValueError(
            f"plot_slice needs a 3-D array, but got one with shape {shape}. "
            "Pass a (x, y, z) volume, not a single slice or a stack of volumes."
        )
    n_z = shape[2]
    if not isinstance(z_idx, (int, np.integer)) or isinstance(z_idx, bool):
        raise TypeError(f"z_idx must be an integer, not {type(z_idx).__name__}.")
    if not -n_z <= z_idx < n_z:
        raise IndexError(
            f"z_idx={z_idx} is out of range for an array with {n_z} slices "
            f"along its last axis: use a value from 0 to {n_z - 1}."
        )
    image = np.asarray(array[:, :, int(z_idx)])

    if ax is None:
        _, ax = plt.subplots()
    limits: dict[str, float] = {}
    if np.issubdtype(image.dtype, np.integer):
        info = np.iinfo(image.dtype)
        limits = {"vmin": info.min, "vmax": info.max}
    ax.imshow(image, cmap="gray", **limits)
    ax.set_title(f"Slice z = {int(z_idx) % n_z}")
    ax.set_axis_off()
    return ax
