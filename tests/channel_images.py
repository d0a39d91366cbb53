"""Small seeded OME-Zarr images with channel and time axes, for the tests of
check and view: axes t, c, z, y, x (those asked for), an anisotropic pyramid
(each level halves a spatial axis only while its voxel size is below twice
the smallest of the level above), translations that centre each level's
voxels on the level-0 block they average, and ``omero`` channel metadata.

The metadata is written by hand (JSON), so the tests see the checker and the
viewer read what the specification says, not what our writer writes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import zarr
from scipy import ndimage

from data_helpers.pyramid import downsample_mean, downsample_mode

#: Level 0's voxel size (z, y, x), micrometres: the example of the plans.
VOXEL = (2.0, 0.5, 0.5)
#: Level 0's (z, y, x) shape: odd lengths, edges of every kind.
SPACE = (11, 23, 27)
CHANNELS = (
    {"label": "DAPI", "color": "0000FF", "start": 26000, "end": 34000},
    {"label": "GFP", "color": "00FF00", "start": 25000, "end": 36000},
)
TIMES = 2
#: Zarr format per OME-Zarr version.
FORMATS = {"0.4": 2, "0.5": 3, "0.6": 3}


def anisotropic_factors(voxel: Sequence[float], levels: int) -> list[tuple[int, ...]]:
    """Per-level (z, y, x) factors: an axis halves while its voxel size is
    below twice the smallest voxel size of the level above."""
    factors, size = [], list(voxel)
    for _ in range(levels - 1):
        smallest = min(size)
        step = tuple(2 if s < 2 * smallest else 1 for s in size)
        size = [s * f for s, f in zip(size, step, strict=True)]
        factors.append(step)
    return factors


def volume(axes: str, seed: int = 0) -> np.ndarray:
    """Smooth uint16 data with ``axes`` (e.g. ``"tczyx"``), each channel and
    time point its own seeded volume."""
    rng = np.random.default_rng(seed)
    outer = [TIMES if a == "t" else len(CHANNELS) for a in axes[:-3]]
    data = np.empty((*outer, *SPACE), dtype=np.uint16)
    for index in np.ndindex(*outer):
        smooth = ndimage.gaussian_filter(rng.normal(size=SPACE), 3)
        data[index] = (30000 + smooth / smooth.std() * 4000).clip(0, 65535)
    return data


def write_channel_image(
    path: Path,
    axes: str = "czyx",
    version: str = "0.5",
    *,
    levels: int = 4,
    outer_factors: dict[str, int] | None = None,
    shards: bool = True,
    seed: int = 0,
    labels: bool = False,
) -> Path:
    """Write an OME-Zarr ``version`` image of ``axes`` (ending in ``zyx``) at
    ``path``; ``outer_factors`` (e.g. ``{"c": 2}``) downsample t or c at
    level 1 on purpose (a wrong pyramid). Format 3 images are sharded if
    ``shards``. ``labels``: a label image (labels 0 to 3 in blobs, block
    modes, ``image-label`` metadata) instead."""
    data = volume(axes, seed)
    downsample = downsample_mean
    if labels:
        data = (data // 3000 % 4).astype(np.uint8)
        downsample = downsample_mode
    outer = axes[:-3]
    space_factors = anisotropic_factors(VOXEL, levels)
    factors = [
        tuple((outer_factors or {}).get(a, 1) if k == 0 else 1 for a in outer) + f
        for k, f in enumerate(space_factors)
    ]
    pyramid = [data]
    for step in factors:
        pyramid.append(downsample(pyramid[-1], step))
    zarr_format = FORMATS[version]
    group = zarr.open_group(path, mode="w", zarr_format=zarr_format)
    voxel = (1.0,) * len(outer) + VOXEL
    cumulative = [1] * len(axes)
    datasets = []
    for k, level in enumerate(pyramid):
        if k:
            cumulative = [
                c * f for c, f in zip(cumulative, factors[k - 1], strict=True)
            ]
        chunks = tuple(1 for _ in outer) + (4, 8, 8)
        options: dict = {"chunks": chunks}
        if zarr_format == 3:
            options["dimension_names"] = tuple(axes)
            if shards:
                options["shards"] = tuple(1 for _ in outer) + (8, 16, 16)
        array = group.create_array(
            str(k), shape=level.shape, dtype=level.dtype, **options
        )
        array[...] = level
        scale = [v * c for v, c in zip(voxel, cumulative, strict=True)]
        translation = [
            v * (c - 1) / 2 if a in "zyx" else 0.0
            for a, v, c in zip(axes, voxel, cumulative, strict=True)
        ]
        datasets.append((str(k), scale, translation))
    kinds = {"t": "time", "c": "channel"}
    axis_list = [
        {"name": a, "type": kinds.get(a, "space")}
        | ({"unit": "micrometer"} if a in "zyx" else {})
        | ({"unit": "second"} if a == "t" else {})
        for a in axes
    ]
    omero = {
        "channels": [
            {
                "label": c["label"],
                "color": c["color"],
                "active": True,
                "coefficient": 1.0,
                "family": "linear",
                "inverted": False,
                "window": {
                    "min": 0,
                    "max": 65535,
                    "start": c["start"],
                    "end": c["end"],
                },
            }
            for c in CHANNELS
        ],
        "rdefs": {"defaultT": 0, "defaultZ": SPACE[0] // 2, "model": "color"},
    }
    if version == "0.6":
        multiscale = {
            "coordinateSystems": [{"name": "physical", "axes": axis_list}],
            "datasets": [
                {
                    "path": path_,
                    "coordinateTransformations": [
                        {
                            "type": "sequence",
                            "input": {"path": path_},
                            "output": {"name": "physical"},
                            "transformations": [
                                {"type": "scale", "scale": scale},
                                {"type": "translation", "translation": translation},
                            ],
                        }
                    ],
                }
                for path_, scale, translation in datasets
            ],
        }
    else:
        multiscale = {
            "axes": axis_list,
            "datasets": [
                {
                    "path": path_,
                    "coordinateTransformations": [
                        {"type": "scale", "scale": scale},
                        {"type": "translation", "translation": translation},
                    ],
                }
                for path_, scale, translation in datasets
            ],
        }
    ome: dict = {"multiscales": [multiscale]}
    if "c" in outer and version != "0.6" and not labels:
        ome["omero"] = omero
    if labels:
        ome["image-label"] = {"colors": [{"label-value": 1, "rgba": [255, 0, 0, 255]}]}
        if version == "0.4":
            ome["image-label"]["version"] = "0.4"
    if version == "0.4":
        multiscale["version"] = "0.4"
        group.attrs.update(ome)
    else:
        group.attrs.update({"ome": {"version": version, **ome}})
    return path


def level_factors(axes: str, levels: int = 4) -> list[str]:
    """The factors between consecutive levels as check names them, ``1x1x2x2``."""
    outer = "1x" * (len(axes) - 3)
    return [outer + "x".join(map(str, f)) for f in anisotropic_factors(VOXEL, levels)]


def level_shapes(axes: str, levels: int = 4) -> list[tuple[int, ...]]:
    """Each level's shape, from level 0's and the anisotropic factors."""
    outer = tuple(TIMES if a == "t" else len(CHANNELS) for a in axes[:-3])
    shapes, space = [outer + SPACE], list(SPACE)
    for step in anisotropic_factors(VOXEL, levels):
        space = [math.ceil(n / f) for n, f in zip(space, step, strict=True)]
        shapes.append(outer + tuple(space))
    return shapes


def read_json(path: Path) -> dict:
    """A group's attributes, format 2 or 3."""
    if (path / "zarr.json").exists():
        return json.loads((path / "zarr.json").read_text())["attributes"]
    return json.loads((path / ".zattrs").read_text())
