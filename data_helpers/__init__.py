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
from typing import Any

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
__all__ = [
    "ConversionError",
    "HEART_VOXEL_SIZE_UM",
    "OpenedImage",
    "Plan",
    "ReaderError",
    "RequestLog",
    "SampleDataError",
    "chunks_touched",
    "compare_times",
    "convert_stack",
    "ct_like_volume",
    "data_files",
    "downsample_mean",
    "downsample_mode",
    "folder_bytes",
    "get_directory_contents",
    "image_model",
    "level_shape",
    "load_heart_data",
    "local_cluster",
    "measure_chunk_shapes",
    "measure_codecs",
    "ome_zarr_models_image",
    "ome_zarr_py_nodes",
    "pareto_front",
    "plot_image_slice",
    "plot_slice",
    "read_as_napari_does",
    "read_with_ngff_zarr",
    "read_with_ome_zarr_models",
    "read_with_ome_zarr_py",
    "store_whole_shards",
    "write_downsampled",
    "write_image",
    "write_pyramid",
    "write_tiff_stack",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module 'data_helpers' has no attribute {name!r}")
    value = getattr(import_module(f"data_helpers.{_MODULES[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
