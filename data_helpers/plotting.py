"""Plotting helpers for 3-D image arrays."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import zarr
from matplotlib.axes import Axes

from data_helpers.ome import multiscale_metadata

XYZ = ("x", "y", "z")


def _axis_names(axes: str | Sequence[str]) -> tuple[str, ...]:
    names = tuple(axes)
    if sorted(names) != sorted(XYZ):
        raise ValueError(
            f"axes must name the array's axes x, y and z once each, in array "
            f"order (e.g. 'xyz' or ('z', 'y', 'x')), not {axes!r}."
        )
    return names


def plot_slice(
    array: Any,
    *,
    z_idx: int,
    ax: Axes | None = None,
    axes: str | Sequence[str] = XYZ,
) -> Axes:
    """Show the slice ``z = z_idx`` of a 3-D image in grey scale; return its Axes.

    ``axes`` names the array's axes in order: ``"xyz"`` (the default, as the
    heart sample is stored) shows ``array[:, :, z_idx]``; ``"zyx"`` (as
    OME-Zarr stores images) shows ``array[z_idx]``. Either way the slice is
    drawn with x down and y across, so the same data look the same.

    ``array`` may be a NumPy array or a zarr array; from a zarr array only the
    chunks that hold the slice are read. Integer images use the full range of
    their dtype for the grey scale, so an all-zero slice shows as black.
    """
    names = _axis_names(axes)
    shape = tuple(getattr(array, "shape", ()))
    if len(shape) != 3:
        raise ValueError(
            f"plot_slice needs a 3-D array, but got one with shape {shape}. "
            "Pass an (x, y, z) or (z, y, x) volume, not a single slice or a "
            "stack of volumes."
        )
    z_axis = names.index("z")
    n_z = shape[z_axis]
    if not isinstance(z_idx, (int, np.integer)) or isinstance(z_idx, bool):
        raise TypeError(f"z_idx must be an integer, not {type(z_idx).__name__}.")
    if not -n_z <= z_idx < n_z:
        raise IndexError(
            f"z_idx={z_idx} is out of range for an array with {n_z} slices "
            f"along its z axis (axis {z_axis}): use a value from 0 to {n_z - 1}."
        )
    index: list[Any] = [slice(None)] * 3
    index[z_axis] = int(z_idx)
    image = np.asarray(array[tuple(index)])
    in_plane = [name for name in names if name != "z"]
    if in_plane != ["x", "y"]:
        image = image.T  # rows x, columns y, whatever the storage order

    if ax is None:
        _, ax = plt.subplots()
    vmin = vmax = None
    if np.issubdtype(image.dtype, np.integer):
        info = np.iinfo(image.dtype)
        vmin, vmax = info.min, info.max
    ax.imshow(image, cmap="gray", vmin=vmin, vmax=vmax)
    ax.set_title(f"Slice z = {int(z_idx) % n_z}")
    ax.set_axis_off()
    return ax


def plot_image_slice(
    group: zarr.Group, *, z_idx: int, level: int = 0, ax: Axes | None = None
) -> Axes:
    """Show the slice ``z = z_idx`` of one level of an OME-Zarr image.

    ``group`` is the image's group (OME-Zarr 0.4 or 0.5); ``level`` counts
    from 0, the full resolution, and may be negative (-1 is the smallest).
    The level's path and the order of its axes come from the group's
    multiscales metadata, so the image is shown the right way round however
    it is stored.
    """
    metadata = multiscale_metadata(group)
    datasets = metadata["datasets"]
    if not -len(datasets) <= level < len(datasets):
        raise IndexError(
            f"level={level} is out of range for an image with {len(datasets)} "
            f"levels: use a value from 0 to {len(datasets) - 1}."
        )
    names = [axis["name"] for axis in metadata["axes"]]
    array = group[datasets[level]["path"]]
    return plot_slice(array, z_idx=z_idx, ax=ax, axes=names)
