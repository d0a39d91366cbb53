"""The pyramids the book's website shows in its viewer: the converted heart.

``write_viewer_images`` converts the synthetic heart stack of the conversion
chapter (the sample's shape, with seeded noise) twice with
``data_helpers.convert``: as OME-Zarr 0.4 (Zarr format 2) and as sharded
OME-Zarr 0.5 (Zarr format 3). A finished image is left as it is, so calling
it again costs nothing.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from data_helpers.sample_data import HEART_VOXEL_SIZE_UM

HEART_SHAPE = (139, 120, 120)  # z, y, x: the sample's own shape
CHUNKS = 16
SHARDS = 64
IMAGES = {
    "heart.ome.zarr": {"zarr_format": 2},
    "heart-sharded.ome.zarr": {"zarr_format": 3, "shards": SHARDS},
}


def write_viewer_images(folder: str | Path) -> dict[str, Path]:
    """Write the viewer's images into ``folder`` unless there; return them by name.

    Each image is converted into a hidden folder beside it and renamed into
    place when finished, so an interrupted run leaves no half-written image.
    """
    from data_helpers.convert import convert_stack
    from data_helpers.synthetic import write_tiff_stack

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / name for name in IMAGES}
    missing = [name for name, path in paths.items() if not path.exists()]
    if not missing:
        return paths
    with tempfile.TemporaryDirectory() as work:
        slices = Path(work) / "slices"
        write_tiff_stack(slices, HEART_SHAPE, seed=0, rows_per_strip=16)
        for name in missing:
            partial = folder / f".{name}.partial"
            convert_stack(
                slices,
                partial,
                chunks=CHUNKS,
                voxel_size=(HEART_VOXEL_SIZE_UM,) * 3,
                overwrite=True,
                progress=False,
                **IMAGES[name],
            )
            partial.rename(paths[name])
    return paths
