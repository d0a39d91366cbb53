"""What reading a Zarr image over HTTP costs: requests, bytes and seconds per read.

Each measurement reads one *access pattern* (a thumbnail, a slice, a region, a
whole level) from an image served by ``data_helpers.serve.FolderServer``, and
counts what the server answered: requests, bytes sent, and the time taken with
a given latency added to every request and a given zarr concurrency.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import zarr

from data_helpers.ome import multiscale_metadata
from data_helpers.remote import open_store
from data_helpers.serve import FolderServer, ServedRequest

__all__ = [
    "AccessPattern",
    "Measurement",
    "access_patterns",
    "measure_read",
    "open_image",
]


@dataclass(frozen=True)
class AccessPattern:
    """A read: ``selection`` (z, y, x indices) of pyramid level ``level``."""

    name: str
    level: int
    selection: tuple[slice | int, ...]


@dataclass(frozen=True)
class Measurement:
    """What one read cost: requests, bytes sent and needed, seconds."""

    requests: int
    bytes_sent: int
    bytes_needed: int
    seconds: float


def access_patterns(shape: tuple[int, int, int], levels: int) -> list[AccessPattern]:
    """The five reads measured, for a pyramid whose level 0 has ``shape`` (z, y, x).

    The 128³ region starts at z = 0 and is centred in y and x.
    """
    _, n_y, n_x = shape
    y0, x0 = n_y // 2 - 64, n_x // 2 - 64
    everything = (slice(None),) * 3
    return [
        AccessPattern("thumbnail (lowest level)", levels - 1, everything),
        AccessPattern("xy slice", 0, (shape[0] // 2, slice(None), slice(None))),
        AccessPattern("xz slice", 0, (slice(None), n_y // 2, slice(None))),
        AccessPattern(
            "128³ region", 0, (slice(0, 128), slice(y0, y0 + 128), slice(x0, x0 + 128))
        ),
        AccessPattern("whole level 1", 1, everything),
    ]


def open_image(
    url: str, *, zarr_format: int | None = None, use_consolidated: bool | None = None
) -> list[zarr.Array]:
    """Open the OME-Zarr image at ``url`` as a reader does: the group, then its levels.

    ``zarr_format`` and ``use_consolidated`` are passed to ``zarr.open_group``
    (``None``: zarr finds out, by asking for the files of each format).
    """
    group = zarr.open_group(
        open_store(url),
        mode="r",
        zarr_format=zarr_format,  # type: ignore[arg-type]
        use_consolidated=use_consolidated,
    )
    datasets = multiscale_metadata(group)["datasets"]
    levels = [group[dataset["path"]] for dataset in datasets]
    return [level for level in levels if isinstance(level, zarr.Array)]


def served_since(server: FolderServer, start: int) -> list[ServedRequest]:
    """The requests the server answered after its log had ``start`` entries."""
    server.wait_idle()
    return server.requests[start:]


def measure_read(
    server: FolderServer,
    arrays: list[zarr.Array],
    pattern: AccessPattern,
    *,
    latency: float = 0.0,
    concurrency: int | None = None,
) -> Measurement:
    """Read ``pattern`` from ``arrays`` (opened on ``server``) and count the cost.

    ``latency`` seconds are added to every request; ``concurrency`` is zarr's
    ``async.concurrency`` (how many requests it has in flight at once), its
    default if ``None``.
    """
    settings = {} if concurrency is None else {"async.concurrency": concurrency}
    saved, server.delay = server.delay, latency
    server.wait_idle()
    start = len(server.requests)
    try:
        with zarr.config.set(settings):
            began = time.perf_counter()
            data = np.asarray(arrays[pattern.level][pattern.selection])
            seconds = time.perf_counter() - began
    finally:
        server.delay = saved
    log = served_since(server, start)
    return Measurement(len(log), sum(r.nbytes for r in log), data.nbytes, seconds)
