"""The book's local dask cluster: quiet worker threads on any free port."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when called: importing distributed takes a while
    from distributed import LocalCluster


def local_cluster(workers: int) -> LocalCluster:
    """A quiet ``LocalCluster`` of ``workers`` worker threads in this process.

    Workers as threads start at once, and the work (reading, block means,
    Blosc) runs in NumPy and C code that releases the GIL. Measured on a
    512 MiB stack on 2 cores: 8.9 s, against 14.1 s plus 5.6 s of start-up
    for worker processes.
    """
    from distributed import LocalCluster

    return LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=False,
        dashboard_address=":0",  # any free port: no clash with other clusters
        silence_logs=logging.ERROR,
    )
