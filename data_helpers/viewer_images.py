"""The pyramids the book's website shows in its viewer: the converted heart.

``write_viewer_images`` converts the synthetic heart stack of the conversion
chapter (the sample's shape, with seeded noise) twice with
``data_helpers.convert``: as sharded OME-Zarr 0.5 (Zarr format 3), the
version the book writes and the page shows (Neuroglancer 2.41.2 reads it), and
as OME-Zarr 0.4 (Zarr format 2) on purpose, for comparison, each with the
labels chapter's segmentation (``data_helpers.heart_labels``) as its label
image ``labels/heart``. The label images store every chunk, even those of
background only, which the converter leaves out (Zarr reads a missing chunk
as the fill value, 0): a viewer asks for those too, and the browser logs each
404 as an error. A finished image is left as it is, so calling it again costs
nothing. Beside them, ``CHANNEL_IMAGE``: the two-channel, anisotropic image
of the chapter "Bringing your own data".
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from data_helpers.sample_data import HEART_VOXEL_SIZE_UM

HEART_SHAPE = (139, 120, 120)  # z, y, x: the sample's own shape
CHUNKS = 16
SHARDS = 64  # 4 x 4 x 4 chunks: the viewing chapter's index of 64 chunks
LABELS = "heart"  # the label image's name: IMAGE/labels/heart
#: The two-channel, anisotropic image of the chapter "Bringing your own data":
#: an OME-TIFF of (c, z, y, x) voxels of 2 x 0.5 x 0.5 um, converted with
#: the defaults (OME-Zarr 0.5 in shards), its channels named and coloured.
CHANNEL_IMAGE = "embryo.ome.zarr"
CHANNEL_SHAPE = (2, 48, 192, 192)
CHANNEL_VOXEL_UM = (2.0, 0.5, 0.5)
CHANNEL_NAMES = ("nuclei", "membranes")
CHANNEL_COLORS = (0x00FF00FF, -0x00FF0001)  # OME's signed RGBA: green, magenta
IMAGES: dict[str, dict[str, Any]] = {
    "heart-sharded.ome.zarr": {"ome_zarr_version": "0.5", "shards": SHARDS},
    "heart.ome.zarr": {"ome_zarr_version": "0.4"},
}


def finished(image: Path) -> bool:
    """Whether ``image`` holds the whole image and its label image."""
    metadata = (".zattrs", "zarr.json")
    return any((image / "labels" / LABELS / name).is_file() for name in metadata)


def write_channel_image(folder: str | Path) -> Path:
    """Write ``CHANNEL_IMAGE`` into ``folder`` unless there (through a hidden
    partial folder renamed when finished); return its path."""
    from data_helpers.convert import convert_stack
    from data_helpers.synthetic import write_ome_tiff

    path = Path(folder) / CHANNEL_IMAGE
    if (path / "zarr.json").is_file():
        return path
    with tempfile.TemporaryDirectory() as work:
        ome_tiff = write_ome_tiff(
            Path(work) / "embryo.ome.tif",
            CHANNEL_SHAPE,
            seed=1,
            voxel_size=CHANNEL_VOXEL_UM,
            unit="\u00b5m",
            channel_names=CHANNEL_NAMES,
            channel_colors=CHANNEL_COLORS,
        )
        partial = Path(folder) / f".{CHANNEL_IMAGE}.partial"
        convert_stack(ome_tiff, partial, chunks=32, overwrite=True, progress=False)
        if path.exists():
            shutil.rmtree(path)
        partial.rename(path)
    return path


def write_viewer_images(folder: str | Path) -> dict[str, Path]:
    """Write the viewer's images into ``folder`` unless there; return them by name.

    Each image, then its labels, is converted into a hidden folder beside it
    and renamed into place when finished, so an interrupted run leaves no
    half-written image. An image without its labels (from an older version)
    is written again.
    """
    import tifffile
    import zarr

    from data_helpers.convert import convert_stack
    from data_helpers.heart_labels import LABEL_COLORS, segment_heart
    from data_helpers.synthetic import ct_like_volume, write_tiff_stack

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / name for name in IMAGES}
    missing = [name for name, path in paths.items() if not finished(path)]
    channels = {CHANNEL_IMAGE: write_channel_image(folder)}
    if not missing:
        return paths | channels
    with tempfile.TemporaryDirectory() as work:
        slices, label_slices = Path(work) / "slices", Path(work) / "labels"
        write_tiff_stack(slices, HEART_SHAPE, seed=0, rows_per_strip=16)
        labels = segment_heart(ct_like_volume(HEART_SHAPE, seed=0)).labels
        label_slices.mkdir()
        for z, plane in enumerate(labels):
            tifffile.imwrite(label_slices / f"labels_{z:05d}.tif", plane)
        for name in missing:
            partial = folder / f".{name}.partial"
            options: dict[str, Any] = {
                "chunks": CHUNKS,
                "overwrite": True,
                "progress": False,
                **IMAGES[name],
            }
            voxel_size = (HEART_VOXEL_SIZE_UM,) * 3
            convert_stack(slices, partial, voxel_size=voxel_size, **options)
            with zarr.config.set({"array.write_empty_chunks": True}):
                convert_stack(
                    label_slices,
                    partial,
                    labels=LABELS,
                    label_colors=LABEL_COLORS,
                    **options,
                )
            if paths[name].exists():
                shutil.rmtree(paths[name])
            partial.rename(paths[name])
    return paths | channels
