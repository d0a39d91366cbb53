"""``check_image``: open an image, check it, return a ``CheckResult``."""

from __future__ import annotations

import os

import zarr

from data_helpers.check.deep import deep_findings
from data_helpers.check.metadata import (
    header_problems,
    level_of,
    metadata_findings,
    ome_version,
    open_image,
    unit_problems,
)
from data_helpers.check.result import (
    CheckResult,
    Finding,
    Level,
    Summary,
    one_line,
)
from data_helpers.ome import multiscale_axes, ome_attributes


def check_image(
    url_or_path: str | os.PathLike[str],
    deep: bool = False,
    *,
    workers: int | None = None,
    progress: bool = False,
) -> CheckResult:
    """Check the OME-Zarr image at a local path or an http(s):// or s3:// URL.

    Returns a ``CheckResult`` (its ``problems`` empty when the image is
    right). ``deep`` also reads every chunk on ``workers`` dask threads (all
    cores by default), with a progress bar on stderr after
    ``deep.PROGRESS_AFTER_SECONDS`` if ``progress``. Raises ``CheckError`` when
    there is no image to check.
    """
    location = os.fspath(url_or_path)
    group, metadata = open_image(location)
    version = ome_version(group)
    problems, information = metadata_findings(group, version)
    axes = [
        a if isinstance(a, dict) else {"name": str(a)}
        for a in multiscale_axes(metadata)
    ]
    problems += unit_problems(axes)
    arrays: dict[str, zarr.Array] = {}
    levels: list[Level] = []
    for dataset in metadata["datasets"]:
        path = str(dataset.get("path")) if isinstance(dataset, dict) else "?"
        try:
            node = group[path]
        except KeyError:
            node = None
        except Exception as error:  # metadata zarr refuses, e.g. uneven shards
            message = (
                f"cannot be opened as an array ({one_line(error)}): readers fail "
                "on this level."
            )
            problems.append(Finding(f"level {path}", message))
            continue
        if not isinstance(node, zarr.Array):
            what = "a group" if isinstance(node, zarr.Group) else "missing"
            message = (
                f"the metadata lists it as a level, but it is {what}, not an "
                "array: readers fail to open the image."
            )
            problems.append(Finding(f"level {path}", message))
            continue
        arrays[path] = node
        levels.append(level_of(path, node, dataset))
    problems += header_problems(arrays, levels, axes, version)
    if deep and levels:
        found, info = deep_findings(
            list(arrays.values()),
            levels,
            workers or os.cpu_count() or 1,
            progress,
            labels="image-label" in ome_attributes(group.attrs.asdict()),
        )
        problems += found
        information += info
    summary = Summary(
        location=location,
        ome_version=version,
        zarr_format=group.metadata.zarr_format,
        axes=tuple((str(a.get("name")), a.get("type"), a.get("unit")) for a in axes),
        levels=tuple(levels),
    )
    return CheckResult(summary, problems, information, deep)
