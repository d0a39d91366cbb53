"""Helpers for the chunked-datasets textbook: what the chapters import, in one place.

The sample image is a downsampled scan of a whole human heart from the
`Human Organ Atlas <https://human-organ-atlas.esrf.fr>`_ (donor LADAF-2020-27,
HiP-CT, 19.89 um voxels; the sample's voxels are 64 times larger,
``HEART_VOXEL_SIZE_UM``). Please credit the Human Organ Atlas wherever the data
appear.

Every name a chapter imports is here too; a chapter that shows a function's
code (``literalinclude``) imports it from the module it shows.
"""

from data_helpers.cluster import local_cluster
from data_helpers.codec_choice import (
    chunks_touched,
    compare_times,
    measure_chunk_shapes,
    measure_codecs,
    pareto_front,
)
from data_helpers.convert import ConversionError, Plan, convert_stack
from data_helpers.files import data_files, folder_bytes, get_directory_contents
from data_helpers.ome import image_model, write_image
from data_helpers.plotting import plot_image_slice, plot_slice
from data_helpers.pyramid import (
    downsample_mean,
    level_shape,
    write_downsampled,
    write_pyramid,
)
from data_helpers.sample_data import (
    HEART_VOXEL_SIZE_UM,
    SampleDataError,
    load_heart_data,
)
from data_helpers.shards import store_whole_shards
from data_helpers.stores import RequestLog
from data_helpers.synthetic import ct_like_volume, write_tiff_stack

__all__ = [
    "HEART_VOXEL_SIZE_UM",
    "ConversionError",
    "Plan",
    "RequestLog",
    "SampleDataError",
    "chunks_touched",
    "compare_times",
    "convert_stack",
    "ct_like_volume",
    "data_files",
    "downsample_mean",
    "folder_bytes",
    "get_directory_contents",
    "image_model",
    "level_shape",
    "load_heart_data",
    "local_cluster",
    "measure_chunk_shapes",
    "measure_codecs",
    "pareto_front",
    "plot_image_slice",
    "plot_slice",
    "store_whole_shards",
    "write_downsampled",
    "write_image",
    "write_pyramid",
    "write_tiff_stack",
]
