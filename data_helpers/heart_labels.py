"""A few labels for the synthetic heart: two thresholds and connected components."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from data_helpers.ome import RGBA

#: The labels below 3; 3 and up are deposits, numbered by size.
LABEL_NAMES = {0: "background", 1: "jar wall", 2: "heart"}
#: The colours the book gives the jar wall (blue) and the heart (red).
LABEL_COLORS: dict[int, RGBA] = {1: (76, 114, 176, 255), 2: (196, 78, 82, 255)}
MIN_DEPOSIT_VOXELS = 20


@dataclass(frozen=True)
class HeartLabels:
    """A segmentation of the heart, and how many deposits it found and kept."""

    labels: np.ndarray
    components: int  # very bright connected components inside the jar
    deposits: int  # of them, those of MIN_DEPOSIT_VOXELS voxels or more


def segment_heart(volume: np.ndarray) -> HeartLabels:
    """Label the jar wall 1, the heart 2 and deposits 3 and up (uint32)."""
    smooth = ndimage.gaussian_filter(volume.astype(np.float32), sigma=1.0)
    yy, xx = np.ogrid[: volume.shape[1], : volume.shape[2]]
    centre_y, centre_x = ((n - 1) / 2 for n in volume.shape[1:])
    radius = np.hypot(yy - centre_y, xx - centre_x)  # voxels from the jar's axis
    bright, very_bright = smooth > 9000, smooth > 25000

    labels = np.zeros(volume.shape, dtype=np.uint32)
    labels[bright & (radius > 50)] = 1
    parts, _ = ndimage.label(bright & (radius <= 50))
    sizes = np.bincount(parts.ravel())[1:]
    labels[parts == 1 + np.argmax(sizes)] = 2
    deposits, n_deposits = ndimage.label(very_bright & (radius <= 50))
    sizes = np.bincount(deposits.ravel())[1:]
    order = np.argsort(-sizes, kind="stable")
    big = [k + 1 for k in order if sizes[k] >= MIN_DEPOSIT_VOXELS]
    for value, component in enumerate(big, start=3):
        labels[deposits == component] = value
    return HeartLabels(labels, n_deposits, len(big))
