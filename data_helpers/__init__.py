"""Helpers for the chunked-datasets textbook.

The sample image is a downsampled scan of a whole human heart from the
`Human Organ Atlas <https://human-organ-atlas.esrf.fr>`_ (donor LADAF-2020-27,
HiP-CT, 19.89 um voxels; the sample's voxels are 64 times larger,
``HEART_VOXEL_SIZE_UM``). Please credit the Human Organ Atlas wherever the data
appear.
"""

from data_helpers.files import get_directory_contents
from data_helpers.ome import image_model, write_image
from data_helpers.plotting import plot_image_slice, plot_slice
from data_helpers.pyramid import (
    downsample_mean,
    downsample_mode,
    level_shape,
    write_downsampled,
)
from data_helpers.sample_data import (
    HEART_VOXEL_SIZE_UM,
    SampleDataError,
    load_heart_data,
)

__all__ = [
    "HEART_VOXEL_SIZE_UM",
    "SampleDataError",
    "downsample_mean",
    "downsample_mode",
    "get_directory_contents",
    "image_model",
    "level_shape",
    "load_heart_data",
    "plot_image_slice",
    "plot_slice",
    "write_image",
    "write_downsampled",
]
