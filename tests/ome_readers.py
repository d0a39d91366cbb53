"""Open an OME-Zarr image with every reader the book promises it opens in.

``reader_problems(path)`` opens the image folder with

- ome-zarr-models (``Image.from_zarr``, ``v04`` for Zarr format 2, ``v05``
  for format 3),
- ome-zarr-py's ``Reader`` with the matching ``fmt=FormatV04()`` or
  ``FormatV05()``,
- ngff-zarr's ``from_ngff_zarr(..., validate=True)``,
- ome-zarr-py's ``OMEZarrMultiscale.from_ome_zarr``, the object API that
  napari-ome-zarr 0.11.0 reads images with (``ome_zarr_reader.py``),

and returns what went wrong: an exception, a log record at WARNING or above,
a Python warning, or levels that a reader did not find. It also checks the
book's own rule for the spatial axes (named z, y, x in that order, in
micrometer).
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import ngff_zarr
import zarr
from ome_zarr import OMEZarrMultiscale
from ome_zarr.format import FormatV04, FormatV05
from ome_zarr.io import parse_url
from ome_zarr.reader import Multiscales, Reader
from ome_zarr_models import v04, v05

from data_helpers.ome import multiscale_metadata

Shapes = list[tuple[int, ...]]
# The book's rule, written out here rather than taken from data_helpers.ome so
# that a change there cannot change what is checked.
SPATIAL_AXES = ("z", "y", "x")
UNIT = "micrometer"


class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def complaints() -> Iterator[list[str]]:
    """Collect log records at WARNING or above, and Python warnings, as text."""
    found: list[str] = []
    recorder = _Recorder()
    root = logging.getLogger()
    root.addHandler(recorder)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield found
    finally:
        root.removeHandler(recorder)
    for record in recorder.records:
        text = f"logged {record.levelname} by {record.name}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            text += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        found.append(text)
    found.extend(f"warning {w.category.__name__}: {w.message}" for w in caught)


def zarr_format(path: Path) -> int:
    return 3 if (path / "zarr.json").exists() else 2


def open_group(path: Path) -> zarr.Group:
    store = zarr.storage.LocalStore(path, read_only=True)
    return zarr.open_group(store, mode="r", zarr_format=zarr_format(path))


def read_with_ome_zarr_models(path: Path) -> Shapes:
    group = open_group(path)
    model = (v05 if zarr_format(path) == 3 else v04).Image.from_zarr(group)
    return [tuple(group[d.path].shape) for d in model.datasets[0]]


def read_with_ome_zarr_py(path: Path) -> Shapes:
    fmt = FormatV05() if zarr_format(path) == 3 else FormatV04()
    location = parse_url(str(path), fmt=fmt)
    if location is None:
        raise ValueError("parse_url found no Zarr data")
    nodes = list(Reader(location)())
    if not nodes or not any(isinstance(s, Multiscales) for s in nodes[0].specs):
        raise ValueError(f"not read as a multiscale image (nodes: {nodes})")
    return [tuple(level.shape) for level in nodes[0].data]


def read_with_ngff_zarr(path: Path) -> Shapes:
    multiscales = ngff_zarr.from_ngff_zarr(str(path), validate=True)
    return [tuple(image.data.shape) for image in multiscales.images]


def read_as_napari_does(path: Path) -> Shapes:
    multiscale = OMEZarrMultiscale.from_ome_zarr(open_group(path))
    return [tuple(image.data.shape) for image in multiscale.images]


READERS: dict[str, Callable[[Path], Shapes]] = {
    "ome-zarr-models": read_with_ome_zarr_models,
    "ome-zarr-py": read_with_ome_zarr_py,
    "ngff-zarr": read_with_ngff_zarr,
    "ome-zarr-py objects (napari)": read_as_napari_does,
}


def rule_problems(path: Path) -> list[str]:
    """The book's rule: spatial axes z, y, x in this order, in micrometer."""
    metadata = multiscale_metadata(open_group(path))
    spatial = [axis for axis in metadata["axes"] if axis.get("type") == "space"]
    problems = []
    names = tuple(axis["name"] for axis in spatial)
    if names != SPATIAL_AXES:
        problems.append(f"spatial axes are {names}, not {SPATIAL_AXES}")
    units = {axis.get("unit") for axis in spatial}
    if units != {UNIT}:
        problems.append(f"spatial units are {sorted(map(str, units))}, not {UNIT!r}")
    return problems


def reader_problems(path: Path) -> dict[str, list[str]]:
    """What each reader (and the book's axis rule) objected to; {} if nothing."""
    problems: dict[str, list[str]] = {}
    group = open_group(path)
    expected = [
        tuple(group[d["path"]].shape) for d in multiscale_metadata(group)["datasets"]
    ]
    for name, read in READERS.items():
        found: list[str] = []
        with complaints() as logged:
            try:
                shapes = read(path)
            except Exception as error:  # any rejection is a finding
                first_line = (str(error).splitlines() or [""])[0]
                found.append(f"raised {type(error).__name__}: {first_line}")
            else:
                if shapes != expected:
                    found.append(f"read levels {shapes}, expected {expected}")
        found += logged
        if found:
            problems[name] = found
    if rules := rule_problems(path):
        problems["book rules"] = rules
    return problems
