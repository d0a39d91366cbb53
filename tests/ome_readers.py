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

``label_problems(path)`` does the same for the label images an image lists
in its ``labels`` group: ome-zarr-models' ``Labels`` and ``ImageLabel``,
ome-zarr-py's ``Reader`` finding each as a label image of the image (and the
image from the label image's ``source``), ngff-zarr opening each with
``validate=True``, and the book's rule that a label image has the image's
level shapes, scales and translations, an integer dtype, and levels that are
each the 2x2x2 mode of the level above.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import ngff_zarr
import numpy as np
import zarr
from ome_zarr import OMEZarrMultiscale
from ome_zarr.format import FormatV04, FormatV05
from ome_zarr.io import parse_url
from ome_zarr.reader import Label, Multiscales, Reader
from ome_zarr_models import v04, v05

from data_helpers.ome import multiscale_metadata
from data_helpers.pyramid import downsample_mode

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


def label_names(path: Path) -> list[str]:
    """The label images listed in an image's ``labels`` group ([] if none)."""
    labels = path / "labels"
    if not ((labels / ".zgroup").is_file() or (labels / "zarr.json").is_file()):
        return []  # no labels group (perhaps a folder a conversion is filling)
    attributes = open_group(labels).attrs.asdict()
    return list(attributes.get("ome", attributes).get("labels", []))


def _label_nodes(path: Path) -> dict[str, list[tuple[int, ...]]]:
    """Label images ome-zarr-py's Reader finds from the image: name -> shapes."""
    fmt = FormatV05() if zarr_format(path) == 3 else FormatV04()
    location = parse_url(str(path), fmt=fmt)
    if location is None:
        raise ValueError("parse_url found no Zarr data")
    return {
        node.metadata["name"]: [tuple(level.shape) for level in node.data]
        for node in Reader(location)()
        if any(isinstance(spec, Label) for spec in node.specs)
    }


def _image_from_label(path: Path) -> str:
    """The image ome-zarr-py's Reader loads from a label image's ``source``."""
    fmt = FormatV05() if zarr_format(path) == 3 else FormatV04()
    location = parse_url(str(path), fmt=fmt)
    if location is None:
        raise ValueError("parse_url found no Zarr data")
    nodes = list(Reader(location)())
    parents = [n for n in nodes if not any(isinstance(s, Label) for s in n.specs)]
    if not parents:
        raise ValueError("the label image's source led to no image")
    return str(Path(parents[0].zarr.path).resolve())


def _level_metadata(group: zarr.Group) -> list[tuple]:
    metadata = multiscale_metadata(group)
    return [
        (tuple(group[d["path"]].shape), d["coordinateTransformations"])
        for d in metadata["datasets"]
    ]


def label_problems(path: Path) -> dict[str, list[str]]:
    """What the readers (and the book's label rules) objected to in ``path``'s
    label images; {} if nothing (or no labels)."""
    names = label_names(path)
    if not names:
        return {}
    problems: dict[str, list[str]] = {}

    def check(reader: str, step: Callable[[], None]) -> None:
        found: list[str] = []
        with complaints() as logged:
            try:
                step()
            except Exception as error:  # any rejection is a finding
                first_line = (str(error).splitlines() or [""])[0]
                found.append(f"raised {type(error).__name__}: {first_line}")
        found += logged
        if found:
            problems.setdefault(reader, []).extend(found)

    models = v05 if zarr_format(path) == 3 else v04
    image = open_group(path)
    expected = {}
    for name in names:
        group = open_group(path / "labels" / name)
        expected[name] = [shape for shape, _ in _level_metadata(group)]

        def rules(group: zarr.Group = group, name: str = name) -> None:
            if _level_metadata(group) != _level_metadata(image):
                raise ValueError(f"{name}: level shapes or transforms differ")
            dtypes = {
                group[d["path"]].dtype for d in multiscale_metadata(group)["datasets"]
            }
            if any(dtype.kind not in "iu" for dtype in dtypes):
                raise ValueError(f"{name}: not an integer dtype: {dtypes}")
            # Each level is the 2x2x2 mode of the one above: no invented label.
            paths = [d["path"] for d in multiscale_metadata(group)["datasets"]]
            for above, here in zip(paths, paths[1:], strict=False):
                if not np.array_equal(
                    group[here][...], downsample_mode(group[above][...])
                ):
                    raise ValueError(f"{name}: level {here} is not the mode of {above}")

        def by_models(group: zarr.Group = group) -> None:
            label = models.ImageLabel.from_zarr(group)
            if label.ome_attributes.image_label is None:
                raise ValueError("no image-label metadata")

        def by_ngff_zarr(name: str = name) -> None:
            shapes = read_with_ngff_zarr(path / "labels" / name)
            if shapes != expected[name]:
                raise ValueError(f"read levels {shapes}, expected {expected[name]}")

        def source(name: str = name) -> None:
            found = _image_from_label(path / "labels" / name)
            if found != str(path.resolve()):
                raise ValueError(f"source leads to {found}, not {path}")

        check("book label rules", rules)
        check("ome-zarr-models", by_models)
        check("ngff-zarr", by_ngff_zarr)
        check("ome-zarr-py", source)

    def labels_group() -> None:
        models.Labels.from_zarr(open_group(path / "labels"))
        models.Image.from_zarr(image)

    def found_by_ome_zarr_py() -> None:
        found = _label_nodes(path)
        if found != expected:
            raise ValueError(f"found label images {found}, expected {expected}")

    check("ome-zarr-models", labels_group)
    check("ome-zarr-py", found_by_ome_zarr_py)
    return problems
