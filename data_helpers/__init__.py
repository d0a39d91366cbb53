"""Helpers for the chunked-datasets textbook: what the chapters import, in one place.

The sample image is a downsampled scan of a whole human heart from the
`Human Organ Atlas <https://human-organ-atlas.esrf.fr>`_ (donor LADAF-2020-27,
HiP-CT, 19.89 um voxels; the sample's voxels are 64 times larger,
``HEART_VOXEL_SIZE_UM``). Please credit the Human Organ Atlas wherever the data
appear.

Every name a chapter imports is here too; a chapter that shows a function's
code (``literalinclude``) imports it from the module it shows.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # The same names from the same modules as ``_MODULES`` below, so that mypy
    # and editors know their types; ``tests/test_package.py`` keeps the two in
    # step. ``X as X`` marks each as exported (``__all__`` is computed, which
    # type checkers do not read).
    from data_helpers.cluster import local_cluster as local_cluster
    from data_helpers.codec_choice import chunks_touched as chunks_touched
    from data_helpers.codec_choice import compare_times as compare_times
    from data_helpers.codec_choice import measure_chunk_shapes as measure_chunk_shapes
    from data_helpers.codec_choice import measure_codecs as measure_codecs
    from data_helpers.codec_choice import pareto_front as pareto_front
    from data_helpers.convert import ConversionError as ConversionError
    from data_helpers.convert import Plan as Plan
    from data_helpers.convert import convert_stack as convert_stack
    from data_helpers.files import data_files as data_files
    from data_helpers.files import folder_bytes as folder_bytes
    from data_helpers.files import get_directory_contents as get_directory_contents
    from data_helpers.ome import image_model as image_model
    from data_helpers.ome import write_image as write_image
    from data_helpers.plotting import plot_image_slice as plot_image_slice
    from data_helpers.plotting import plot_slice as plot_slice
    from data_helpers.pyramid import downsample_mean as downsample_mean
    from data_helpers.pyramid import downsample_mode as downsample_mode
    from data_helpers.pyramid import level_shape as level_shape
    from data_helpers.pyramid import write_downsampled as write_downsampled
    from data_helpers.pyramid import write_pyramid as write_pyramid
    from data_helpers.readers import OpenedImage as OpenedImage
    from data_helpers.readers import ReaderError as ReaderError
    from data_helpers.readers import ome_zarr_models_image as ome_zarr_models_image
    from data_helpers.readers import ome_zarr_py_nodes as ome_zarr_py_nodes
    from data_helpers.readers import read_as_napari_does as read_as_napari_does
    from data_helpers.readers import read_with_ngff_zarr as read_with_ngff_zarr
    from data_helpers.readers import (
        read_with_ome_zarr_models as read_with_ome_zarr_models,
    )
    from data_helpers.readers import read_with_ome_zarr_py as read_with_ome_zarr_py
    from data_helpers.sample_data import HEART_VOXEL_SIZE_UM as HEART_VOXEL_SIZE_UM
    from data_helpers.sample_data import SampleDataError as SampleDataError
    from data_helpers.sample_data import load_heart_data as load_heart_data
    from data_helpers.shards import store_whole_shards as store_whole_shards
    from data_helpers.stores import RequestLog as RequestLog
    from data_helpers.synthetic import ct_like_volume as ct_like_volume
    from data_helpers.synthetic import write_tiff_stack as write_tiff_stack

#: Each name a chapter imports from here, and the module that defines it. They
#: are imported on first use, so that ``data_helpers.serve`` (the standard
#: library only) can run where zarr and dask are not installed, as ``.ci/run``
#: does to serve the sample data before nox makes its environments.
_MODULES = {
    "chunks_touched": "codec_choice",
    "compare_times": "codec_choice",
    "ConversionError": "convert",
    "convert_stack": "convert",
    "ct_like_volume": "synthetic",
    "data_files": "files",
    "downsample_mean": "pyramid",
    "downsample_mode": "pyramid",
    "folder_bytes": "files",
    "get_directory_contents": "files",
    "HEART_VOXEL_SIZE_UM": "sample_data",
    "image_model": "ome",
    "level_shape": "pyramid",
    "load_heart_data": "sample_data",
    "local_cluster": "cluster",
    "measure_chunk_shapes": "codec_choice",
    "measure_codecs": "codec_choice",
    "ome_zarr_models_image": "readers",
    "ome_zarr_py_nodes": "readers",
    "pareto_front": "codec_choice",
    "OpenedImage": "readers",
    "Plan": "convert",
    "plot_image_slice": "plotting",
    "plot_slice": "plotting",
    "read_as_napari_does": "readers",
    "read_with_ngff_zarr": "readers",
    "read_with_ome_zarr_models": "readers",
    "read_with_ome_zarr_py": "readers",
    "ReaderError": "readers",
    "RequestLog": "stores",
    "SampleDataError": "sample_data",
    "store_whole_shards": "shards",
    "write_downsampled": "pyramid",
    "write_image": "ome",
    "write_pyramid": "pyramid",
    "write_tiff_stack": "synthetic",
}
__all__ = sorted(_MODULES)


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module 'data_helpers' has no attribute {name!r}")
    value = getattr(import_module(f"data_helpers.{_MODULES[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
