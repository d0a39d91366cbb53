"""Open an OME-Zarr image in each reader the book promises it opens in."""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import zarr

from data_helpers.ome import (
    OmeZarrVersion,
    image_version,
    level_transforms,
    models_of,
    multiscale_axes,
)
from data_helpers.types import ZarrFormat

Location = str | os.PathLike[str]
Shape = tuple[int, ...]
Vector = tuple[float, ...]


@dataclass(frozen=True)
class OpenedImage:
    """What a reader found: the axes (name, unit) and each level's shape and
    transforms, in the axes' order (translation 0 where none is given)."""

    axes: list[tuple[str, str | None]]
    shapes: list[Shape]
    scales: list[Vector]
    translations: list[Vector]


class ReaderError(Exception):
    """A reader refused an image, or complained (a log record at WARNING or
    above, or a Python warning) while opening it."""

    def __init__(
        self, reader: str, location: Location, problems: list[str], read: Any = None
    ) -> None:
        self.reader, self.location, self.problems = reader, location, problems
        #: What the reader returned despite its complaints (None if it raised).
        self.read = read
        super().__init__(f"{reader}, opening {location}: {'; '.join(problems)}")


class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def complaints() -> Iterator[list[str]]:
    """Collect, as text and instead of showing them, the log records at WARNING
    or above and the Python warnings of the block (the list fills at its end)."""
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


def _checked[T](reader: str, location: Location, read: Callable[[], T]) -> T:
    """``read()``, or ReaderError if it raises or complains."""
    with complaints() as found:
        try:
            result = read()
        except Exception as error:  # whatever a reader raises, say it in one line
            first_line = (str(error).splitlines() or [""])[0]
            problem = f"raised {type(error).__name__}: {first_line}"
            raise ReaderError(reader, location, [problem]) from error
    if found:
        raise ReaderError(reader, location, found, result)
    return result


def zarr_format(location: Location) -> ZarrFormat:
    """3 if the folder has a ``zarr.json`` (OME-Zarr 0.5 or 0.6), else 2 (0.4)."""
    return 3 if (Path(location) / "zarr.json").exists() else 2


def open_group(location: Location) -> zarr.Group:
    """The image folder's group, read-only."""
    store = zarr.storage.LocalStore(Path(location), read_only=True)
    return zarr.open_group(store, mode="r", zarr_format=zarr_format(location))


def version(location: Location) -> OmeZarrVersion:
    """The OME-Zarr version of the image (or label image) folder."""
    return image_version(open_group(location))


def _transforms(transforms: list[dict[str, Any]], ndim: int) -> tuple[Vector, Vector]:
    """A level's scale and translation from its coordinateTransformations
    (a 0.6 ``sequence`` read as the transformations it chains)."""
    steps = level_transforms({"coordinateTransformations": transforms})
    found = {t["type"]: tuple(t[t["type"]]) for t in steps}
    return found["scale"], found.get("translation", (0.0,) * ndim)


def _opened(
    axes: list[dict[str, Any]], shapes: list[Shape], transforms: Any
) -> OpenedImage:
    """An OpenedImage from JSON-like axes and per-level transforms."""
    vectors = [_transforms(list(t), len(axes)) for t in transforms]
    return OpenedImage(
        axes=[(axis["name"], axis.get("unit")) for axis in axes],
        shapes=shapes,
        scales=[scale for scale, _ in vectors],
        translations=[translation for _, translation in vectors],
    )


def _models_image(location: Location) -> Any:
    return models_of(version(location)).Image.from_zarr(open_group(location))


def ome_zarr_models_image(location: Location) -> Any:
    """ome-zarr-models' ``Image`` of the image's version (``v04``, ``v05`` or
    ``v06``), which checks the metadata against the specification."""
    return _checked("ome-zarr-models", location, lambda: _models_image(location))


def read_with_ome_zarr_models(location: Location) -> OpenedImage:
    """The image as ome-zarr-models reads it."""

    def read() -> OpenedImage:
        multiscale = _models_image(location).ome_attributes.multiscales[0]
        metadata = multiscale.model_dump(mode="json")
        group = open_group(location)
        return _opened(
            multiscale_axes(metadata),
            [tuple(cast(zarr.Array, group[d.path]).shape) for d in multiscale.datasets],
            [d["coordinateTransformations"] for d in metadata["datasets"]],
        )

    return _checked("ome-zarr-models", location, read)


def _reader_nodes(location: Location) -> list[Any]:
    """What ome-zarr-py's ``Reader`` finds, told which OME-Zarr version to
    expect: without ``fmt`` it expects the newest it knows (0.5). It knows no
    0.6 (see ``readers_of``): ValueError."""
    from ome_zarr.format import FormatV04, FormatV05
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    known = {"0.4": FormatV04, "0.5": FormatV05}
    found = version(location)
    if found not in known:
        raise ValueError(f"ome-zarr-py's Reader knows no OME-Zarr {found}")
    fmt = known[found]()
    zarr_location = parse_url(str(location), fmt=fmt)
    if zarr_location is None:
        raise ValueError("parse_url found no Zarr data")
    return list(Reader(zarr_location)())


def ome_zarr_py_nodes(location: Location) -> list[Any]:
    """The nodes ome-zarr-py's ``Reader`` finds from an image (the image, then
    what it leads to: its label images, or a label image's source image), read
    with the matching ``fmt`` (``FormatV04`` for Zarr format 2, ``FormatV05``
    for 3)."""
    return _checked("ome-zarr-py", location, lambda: _reader_nodes(location))


def read_with_ome_zarr_py(location: Location) -> OpenedImage:
    """The image as ome-zarr-py's ``Reader`` reads it."""
    from ome_zarr.reader import Multiscales

    def read() -> OpenedImage:
        nodes = _reader_nodes(location)
        if not nodes or not any(isinstance(s, Multiscales) for s in nodes[0].specs):
            raise ValueError(f"not read as a multiscale image (nodes: {nodes})")
        image = nodes[0]
        shapes = [tuple(level.shape) for level in image.data]
        transforms = image.metadata["coordinateTransformations"]
        return _opened(image.metadata["axes"], shapes, transforms)

    return _checked("ome-zarr-py", location, read)


def read_with_ngff_zarr(location: Location) -> OpenedImage:
    """The image as ngff-zarr reads it, validated against the JSON schema."""
    import ngff_zarr

    def read() -> OpenedImage:
        multiscales = ngff_zarr.from_ngff_zarr(str(location), validate=True)
        images = multiscales.images
        return OpenedImage(
            axes=[(axis.name, axis.unit) for axis in multiscales.metadata.axes],
            shapes=[tuple(image.data.shape) for image in images],
            scales=[tuple(image.scale[d] for d in image.dims) for image in images],
            translations=[
                tuple(image.translation[d] for d in image.dims) for image in images
            ],
        )

    return _checked("ngff-zarr", location, read)


def read_as_napari_does(location: Location) -> OpenedImage:
    """The image as ome-zarr-py's ``OMEZarrMultiscale.from_ome_zarr`` reads it,
    the object API napari-ome-zarr 0.11.0 opens images with."""
    from ome_zarr import OMEZarrMultiscale

    def read() -> OpenedImage:
        multiscale = OMEZarrMultiscale.from_ome_zarr(open_group(location))
        first = multiscale.images[0]
        transforms = [
            [
                {"type": t.type, t.type: list(getattr(t, t.type))}
                for sequence in dataset.coordinateTransformations
                for t in getattr(sequence, "transformations", None) or [sequence]
            ]
            for dataset in multiscale.metadata.datasets
        ]
        shapes = [tuple(image.data.shape) for image in multiscale.images]
        axes = [
            {"name": name, "unit": first.axes_units.get(name)} for name in first.axes
        ]
        return _opened(axes, shapes, transforms)

    return _checked("ome-zarr-py objects (napari)", location, read)


#: Each reader by name, for code that opens an image in all of them.
READERS: dict[str, Callable[[Location], OpenedImage]] = {
    "ome-zarr-models": read_with_ome_zarr_models,
    "ome-zarr-py": read_with_ome_zarr_py,
    "ngff-zarr": read_with_ngff_zarr,
    "ome-zarr-py objects (napari)": read_as_napari_does,
}
#: Readers that do not know an OME-Zarr version, so are not asked to read it.
#: ome-zarr-py 0.21's ``Reader`` knows formats up to 0.5 (``ome_zarr.format``:
#: ``FormatV01`` to ``FormatV05``, ``format_from_version`` raises for "0.6"):
#: on a 0.6 image it finds no axes (0.6 keeps them in ``coordinateSystems``)
#: and stops at the ``sequence`` transformations. Its object API
#: (``OMEZarrMultiscale``, napari's) reads 0.6 through ome-zarr-models' ``v06``.
NOT_READING: dict[OmeZarrVersion, tuple[str, ...]] = {"0.6": ("ome-zarr-py",)}


def readers_of(version: OmeZarrVersion) -> dict[str, Callable[[Location], OpenedImage]]:
    """The readers of ``READERS`` that know OME-Zarr ``version``."""
    left_out = NOT_READING.get(version, ())
    return {name: read for name, read in READERS.items() if name not in left_out}
