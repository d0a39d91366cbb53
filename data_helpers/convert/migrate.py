"""Migrating an OME-Zarr image into another OME-Zarr version, chunking or sharding.

``python -m data_helpers.convert OLD.ome.zarr NEW.ome.zarr --zarr-format 3
--shards 512`` rewrites the container, not the pixels: every level (and every
level of each label image) is copied as it is, never recomputed, so a
pyramid another tool made (ngff-zarr's Gaussian one, say) stays that
pyramid; the image's axes, units, scales, translations and name are kept,
its metadata built again for the new version by ``ome.multiscale_model``
(``attributes_for``), the levels renamed ``0``, ``1``, ... Any of OME-Zarr
0.4, 0.5 and 0.6 goes into any other (``MIGRATION_VERSIONS``). The source is
opened read-only and never written.

The work is a conversion's: one ``CopyPlan`` per image (the image, then its
label images), whose *copy tasks* (``TaskKind.COPY``) each own one unit (a
chunk, or a shard) of one level of the output and read that region of the
source's level, whatever its chunks; done markers, the manifest (the
source's ``fingerprint``: level shapes, dtypes and a hash of its metadata),
``resume.prepare`` and ``--overwrite`` as in ``convert_stack``; the metadata
is written last (label images first, the image's own at the very end).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

import dask
import numpy as np
import pydantic
import zarr
from dask.delayed import Delayed

from data_helpers.codec_names import DEFAULT_CODEC
from data_helpers.convert import resume
from data_helpers.convert.errors import ConversionError
from data_helpers.convert.output import Output
from data_helpers.convert.plan import Task, TaskKey, TaskKind
from data_helpers.convert.run import VOXEL_SIZE, Conversion, _check_options, run_some
from data_helpers.convert.sources import open_source
from data_helpers.convert.sources.ome_zarr import OmeZarrImage, OmeZarrLevel
from data_helpers.convert.state import (
    FINGERPRINT_KEY,
    MANIFEST_VERSION,
    ConversionState,
    Manifest,
    manifest_hash,
)
from data_helpers.convert.writing import (
    create_arrays,
    create_level,
    open_level,
    write_region,
)
from data_helpers.ome import (
    OME_ZARR_VERSIONS,
    ZARR_FORMATS,
    Axis,
    OmeZarrVersion,
    array_spec_class,
    image_attributes,
    level_transforms,
    models_of,
    multiscale_axes,
    multiscale_model,
    ome_attributes,
)
from data_helpers.remote import is_remote
from data_helpers.types import ZarrFormat

if TYPE_CHECKING:
    from distributed import Client

#: The OME-Zarr versions a migration reads and writes, every one the book
#: knows (``ome.ZARR_FORMATS`` gives the Zarr format of each).
MIGRATION_VERSIONS: tuple[OmeZarrVersion, ...] = OME_ZARR_VERSIONS
#: Group attributes that are OME-Zarr metadata (or a conversion's): rewritten,
#: not copied; any other attribute of the image's group is copied as it is.
OME_KEYS = frozenset(
    {"ome", "multiscales", "omero", "image-label", "labels", FINGERPRINT_KEY}
)
#: Axis types whose chunks (shards) hold one index: time points and channels.
SINGLE_AXIS_TYPES = ("time", "channel")


@dataclass(frozen=True, kw_only=True)
class CopyPlan:
    """The plan of copying one image's levels (``shapes``) unit by unit.

    ``image`` numbers it within the migration (0 the image, then its label
    images): copy task keys start with it. Per axis of ``axes``: ``chunks``
    and ``shards`` (or None), the same at every level.
    """

    image: int
    shapes: tuple[tuple[int, ...], ...]
    dtype: str
    chunks: tuple[int, ...]
    shards: tuple[int, ...] | None
    axes: tuple[str, ...]
    zarr_format: ZarrFormat
    codec: str = DEFAULT_CODEC

    @property
    def unit(self) -> tuple[int, ...]:
        """Edges of what one task writes whole: a shard, or else a chunk."""
        return self.shards or self.chunks

    def level_shapes(self) -> list[tuple[int, ...]]:
        return list(self.shapes)

    def grid(self, level: int) -> tuple[int, ...]:
        """How many units level ``level`` has along each axis."""
        return tuple(
            math.ceil(n / u) for n, u in zip(self.shapes[level], self.unit, strict=True)
        )

    def tasks(self) -> list[Task]:
        """One copy task per unit of every level, none depending on another."""
        tasks = []
        for level, shape in enumerate(self.shapes):
            for index in np.ndindex(*self.grid(level)):
                region = tuple(
                    slice(i * u, min((i + 1) * u, n))
                    for i, u, n in zip(index, self.unit, shape, strict=True)
                )
                key = (self.image, *index)
                tasks.append(Task(TaskKind.COPY, key, region, level=level))
        return tasks

    def task_bytes(self) -> int:
        """Bytes a copy task holds at most: three units of voxels.

        The unit it fills from the source (one), and zarr's buffers beside
        it: the compressed source chunks it decodes into the unit while
        reading, the encoded chunks (and shard) while writing; with voxels
        that do not compress, about two units more (measured: 3.1 to 3.3
        units of 64^3, ``tests/convert/test_migrate.py``). Never the level,
        nor the image.
        """
        return 3 * math.prod(self.unit) * np.dtype(self.dtype).itemsize


def axis_edges(image: OmeZarrImage, edge: int) -> tuple[int, ...]:
    """``edge`` along each axis but time and channel axes, which get 1."""
    types = [axis.get("type") for axis in multiscale_axes(image.multiscale)]
    return tuple(1 if kind in SINGLE_AXIS_TYPES else edge for kind in types)


def plans_for(
    source: OmeZarrImage,
    chunks: int,
    shards: int | None,
    zarr_format: ZarrFormat,
    codec: str = DEFAULT_CODEC,
) -> list[CopyPlan]:
    """One plan per image of ``source``: the image, then its label images."""
    return [
        CopyPlan(
            image=number,
            shapes=tuple(level.shape for level in image.levels),
            dtype=np.dtype(image.dtype).name,
            chunks=axis_edges(image, chunks),
            shards=axis_edges(image, shards) if shards else None,
            axes=image.axes,
            zarr_format=zarr_format,
            codec=codec,
        )
        for number, image in enumerate(source.images())
    ]


def level_vectors(image: OmeZarrImage) -> tuple[list[list[float]], list[list[float]]]:
    """Each level's scale and translation (zeros if it has none), as the
    source's metadata says, one number per axis.

    Read with ``ome.level_transforms``, so a 0.6 ``sequence`` too. A
    ``coordinateTransformations`` list on the multiscale itself (0.4 and 0.5
    allow one, applied after each level's) is folded into every level: scale
    ``G * s``, translation ``G * t + T``. 0.6 uses that list for
    transformations into other coordinate systems, which no version's
    ``multiscale_model`` writes: refused, like any transformation but a
    scale and a translation. Raises ConversionError for those.
    """
    metadata, ndim = image.multiscale, len(image.axes)
    scales, translations = [], []
    for k, dataset in enumerate(metadata["datasets"]):
        transforms = level_transforms(dataset)
        scale, shift = _scale_and_shift(image, transforms, ndim, f"level {k}")
        scales.append(scale)
        translations.append(shift)
    outer = metadata.get("coordinateTransformations")
    if outer and image.version not in ("0.4", "0.5"):
        raise ConversionError(
            f"{_what(image)} maps into further coordinate systems "
            "(multiscales coordinateTransformations), which a migration cannot "
            "keep: migrate an image whose levels alone place it."
        )
    if outer:
        g, t = _scale_and_shift(image, outer, ndim, "the multiscale")
        translations = [
            [a * b + c for a, b, c in zip(g, shift, t, strict=True)]
            for shift in translations
        ]
        scales = [[a * b for a, b in zip(g, s, strict=True)] for s in scales]
    return scales, translations


def _scale_and_shift(
    image: OmeZarrImage, transforms: Sequence[Any], ndim: int, where: str
) -> tuple[list[float], list[float]]:
    """The scale and translation of ``transforms``: one scale, then at most
    one translation, each ``ndim`` numbers; ConversionError otherwise."""
    types = [t.get("type") if isinstance(t, dict) else None for t in transforms]
    found: dict[str, Any] = {
        str(kind): t[kind] if kind in t else None
        for kind, t in zip(types, transforms, strict=True)
        if kind is not None
    }
    if types not in (["scale"], ["scale", "translation"]) or not all(
        isinstance(v, list)
        and len(v) == ndim
        and all(isinstance(x, (int, float)) for x in v)
        for v in found.values()
    ):
        raise ConversionError(
            f"{where} of {_what(image)} has the coordinate transformations "
            f"{types} (or ones without {ndim} numbers): a migration keeps a scale "
            "and a translation only; give an image placed by those."
        )
    shift = found.get("translation") or [0.0] * ndim
    return [float(v) for v in found["scale"]], [float(v) for v in shift]


def _what(image: OmeZarrImage) -> str:
    """How an error names ``image``: the image, or a label image of it."""
    what = f"label image {image.name!r} of " if image.name else ""
    return f"{what}{image.location!r}"


def level_specs(plan: CopyPlan) -> list[Any]:
    """pydantic-zarr array specs of the levels a plan creates (the same
    arrays ``writing.create_level`` makes, made in memory)."""
    group = zarr.open_group(
        zarr.storage.MemoryStore(), mode="w", zarr_format=plan.zarr_format
    )
    spec_class = array_spec_class(plan.zarr_format)
    return [
        spec_class.from_zarr(create_level(group, str(k), shape, plan))
        for k, shape in enumerate(plan.shapes)
    ]


def attributes_for(
    image: OmeZarrImage, plan: CopyPlan, version: OmeZarrVersion
) -> dict[str, Any]:
    """``image``'s group attributes rewritten as OME-Zarr ``version``.

    The metadata is built by ``ome.multiscale_model`` from the source's axes
    and each level's scale and translation (``level_vectors``), with its name
    and ``omero``; the levels' paths become ``0``, ``1``, .... The
    multiscale's ``type`` and ``metadata`` (the downsampling method), and a
    label image's ``image-label`` (colours, properties, source) are kept;
    other attributes are copied. Raises ConversionError if the source's
    metadata cannot be written so, or ome-zarr-models rejects the result.
    """
    ome = ome_attributes(image.attributes)
    old = image.multiscale
    axes = [
        Axis(str(axis.get("name")), axis.get("type"), axis.get("unit"))
        for axis in multiscale_axes(old)
    ]
    scales, translations = level_vectors(image)
    name = old.get("name")
    try:
        model = multiscale_model(
            level_specs(plan),
            axes=axes,
            scales=scales,
            translations=translations,
            name=None if name is None else str(name),
            version=version,
            omero=ome.get("omero"),
        )
    except ValueError as error:  # pydantic's ValidationError is one
        _refuse(image, version, error)
    attributes = image_attributes(model)
    fields = ome_attributes(attributes)
    multiscale = fields["multiscales"][0]
    for key in ("type", "metadata"):
        if key in old:
            multiscale[key] = old[key]
    if "image-label" in ome:
        label = {k: v for k, v in ome["image-label"].items() if k != "version"}
        # 0.4 and 0.5 name the version in image-label too, 0.6 only once.
        fields["image-label"] = (
            label if version == "0.6" else {"version": version, **label}
        )
    kept = {k: v for k, v in image.attributes.items() if k not in OME_KEYS}
    attributes = {**kept, **attributes}
    _validate(image, version, attributes)
    return attributes


def labels_attributes(names: Sequence[str], version: OmeZarrVersion) -> dict[str, Any]:
    """The ``labels`` group's attributes listing ``names``, as ``version``."""
    if version == "0.4":
        return {"labels": list(names)}
    return {"ome": {"version": version, "labels": list(names)}}


def _validate(
    image: OmeZarrImage, version: OmeZarrVersion, attributes: dict[str, Any]
) -> None:
    """ome-zarr-models' check of the rewritten attributes, before any write."""
    models = models_of(version)
    model: Any = models.image.ImageAttrs
    if image.name is not None:
        model = models.image_label.ImageLabelAttrs
    try:
        model.model_validate(attributes if version == "0.4" else attributes["ome"])
    except pydantic.ValidationError as error:
        _refuse(image, version, error)


def _refuse(image: OmeZarrImage, version: OmeZarrVersion, error: Exception) -> NoReturn:
    """The one-line refusal of metadata that ``version`` cannot hold."""
    first = str(error).splitlines()[0:3]
    raise ConversionError(
        f"The metadata of {_what(image)} cannot be written as OME-Zarr {version}: "
        f"{' '.join(first)}; fix the source's metadata."
    ) from None


def image_output(output: Output, image: OmeZarrImage) -> Output:
    """Where ``image`` goes: the output, or its ``labels/NAME``."""
    if image.name is None:
        return output
    return output.child("labels").child(image.name)


def _real(location: str) -> str:
    return location.rstrip("/") if is_remote(location) else os.path.realpath(location)


def check_apart(source: OmeZarrImage, output: Output) -> None:
    """Refuse an output inside the source, or a source inside the output."""
    old, new = _real(source.location), _real(output.location)
    if new == old or new.startswith(old + "/"):
        raise ConversionError(
            f"The output {output.location!r} is inside the image it migrates, "
            f"{source.location!r}: choose an output outside it."
        )
    if old.startswith(new + "/"):
        raise ConversionError(
            f"The image {source.location!r} is inside the output "
            f"{output.location!r}: choose an output that does not hold it."
        )


def refuse_conversion_options(
    levels: int | None,
    voxel_size: Sequence[float] | None,
    unit: str | None,
    labels: str | None,
    colors: object = None,
    names: object = None,
) -> None:
    """Options of a conversion that a migration, which keeps the image's
    levels, scales, units and label images, refuses (None: not given)."""
    given = [
        ("--levels", levels is not None),
        ("--voxel-size", voxel_size is not None),
        ("--unit", unit is not None),
        ("--labels", labels is not None),
        ("--color", bool(colors)),
        ("--name", bool(names)),
    ]
    for option, set_ in given:
        if set_:
            raise ConversionError(
                f"{option} is for converting slices: the input is an OME-Zarr image, "
                "which a migration copies with its levels, scales, units and label "
                f"images; leave out {option}."
            )


def migration_manifest(
    source: OmeZarrImage, plans: Sequence[CopyPlan], version: OmeZarrVersion
) -> Manifest:
    """What a migration was made from: the source's fingerprint, the options."""
    first = plans[0]
    return {
        "version": MANIFEST_VERSION,
        "ome_zarr_version": version,
        **source.fingerprint(),
        "zarr_format": first.zarr_format,
        "chunks": list(first.chunks),
        "shards": list(first.shards) if first.shards else None,
        **({"codec": first.codec} if first.codec != DEFAULT_CODEC else {}),
    }


def copy_unit(
    level: OmeZarrLevel,
    output: Output,
    plan: CopyPlan,
    task: Task,
    state: ConversionState,
) -> str:
    """Copy task: one unit of level ``task.level``, read from the source's level."""
    data = np.empty([s.stop - s.start for s in task.region], plan.dtype)
    level.read(task.region, data)
    target = open_level(output, task.level, "r+", plan)
    write_region(target, task.region, data, plan.unit)
    state.mark_done(task.name)
    return task.name


def build_copies(
    source: OmeZarrImage,
    output: Output,
    plans: Sequence[CopyPlan],
    state: ConversionState,
) -> dict[TaskKey, Delayed]:
    """The copy tasks not yet done, as dask work keyed by task."""
    done, work = state.done(), dict[TaskKey, Delayed]()
    for image, plan in zip(source.images(), plans, strict=True):
        where = image_output(output, image)
        for task in plan.tasks():
            if task.name in done:
                continue
            work[task.key] = dask.delayed(copy_unit, pure=False)(
                image.levels[task.level], where, plan, task, state,
                dask_key_name=task.key,
            )  # fmt: skip
    return work


def create_outputs(
    source: OmeZarrImage, output: Output, plans: Sequence[CopyPlan]
) -> None:
    """The output's groups and empty level arrays (opened again on resume)."""
    create_arrays(output, plans[0])
    if source.labels:
        zarr.open_group(
            output.child("labels").store(), mode="a", zarr_format=plans[0].zarr_format
        )
    for image, plan in zip(source.labels, plans[1:], strict=True):
        create_arrays(image_output(output, image), plan)


def write_metadata(
    source: OmeZarrImage,
    output: Output,
    attributes: Sequence[dict[str, Any]],
    version: OmeZarrVersion,
    fingerprint: str,
) -> None:
    """The label images' metadata, the ``labels`` list, then the image's: last."""
    for image, found in zip(source.labels, attributes[1:], strict=True):
        store = image_output(output, image).store()
        zarr.open_group(store, mode="r+").attrs.put(found)
    if source.labels:
        names = [str(image.name) for image in source.labels]
        zarr.open_group(output.child("labels").store(), mode="r+").attrs.put(
            labels_attributes(names, version)
        )
    final = {**attributes[0], FINGERPRINT_KEY: {"manifest_sha256": fingerprint}}
    zarr.open_group(output.store(), mode="r+").attrs.put(final)


def migrate_image(
    source: OmeZarrImage | str | os.PathLike[str],
    output: str | os.PathLike[str] | Output,
    *,
    version: OmeZarrVersion,
    chunks: int = 128,
    shards: int | None = None,
    workers: int = 1,
    overwrite: bool = False,
    client: Client | None = None,
    progress: bool = True,
    max_tasks: int | None = None,
    codec: str = DEFAULT_CODEC,
) -> Conversion:
    """Rewrite the OME-Zarr image ``source`` as OME-Zarr ``version`` at ``output``.

    ``version`` is ``"0.4"`` (Zarr format 2), ``"0.5"`` or ``"0.6"`` (format
    3, sharded with ``shards``), whichever of the three the source is; chunks
    (shards) are ``chunks`` (``shards``) voxels along each axis but time and
    channel axes (1), compressed with ``codec``. ``source`` is a folder,
    an ``http(s)://`` or ``s3://`` URL, or an opened ``OmeZarrImage``;
    ``output`` a folder or an ``s3://`` URL. Workers, progress, ``max_tasks``,
    resuming and ``overwrite`` as in ``convert_stack``. Raises
    ConversionError, with nothing written, for bad input.
    """
    start = time.perf_counter()
    if version not in MIGRATION_VERSIONS:
        raise ConversionError(
            f"OME-Zarr {version} cannot be written: choose one of "
            f"{', '.join(MIGRATION_VERSIONS)}."
        )
    zarr_format = ZARR_FORMATS[version]
    _check_options(chunks, None, workers, VOXEL_SIZE, version, shards, codec)
    out = Output.of(output)
    if not isinstance(source, OmeZarrImage):
        opened = open_source(source)
        if not isinstance(opened, OmeZarrImage):
            raise ConversionError(
                f"{opened.location!r} is not an OME-Zarr image: give an image folder "
                "(or URL) to migrate."
            )
        source = opened
    check_apart(source, out)
    plans = plans_for(source, chunks, shards, zarr_format, codec)
    attributes = [
        attributes_for(image, plan, version)
        for image, plan in zip(source.images(), plans, strict=True)
    ]
    manifest = migration_manifest(source, plans, version)
    title = f"{out.name} (OME-Zarr {source.version} -> {version})"
    started = resume.prepare(out, manifest, source.location, overwrite)
    state = out.state()
    tasks = sum(len(plan.tasks()) for plan in plans)
    if started == "finished":
        state.clear()  # if killed after the metadata was written
        return _outcome(source, out, title, tasks, 0, 0, start, nothing_to_do=True)
    state.begin(manifest)
    create_outputs(source, out, plans)
    if started == "resume":
        out.remove_partial_writes()
    work = build_copies(source, out, plans, state)
    ran = run_some(work, max_tasks, client, workers, progress)
    if len(ran) == len(work):  # the metadata last: now it is a valid image
        write_metadata(source, out, attributes, version, manifest_hash(manifest))
        state.clear()
    return _outcome(source, out, title, tasks, len(work), len(ran), start)


def _outcome(
    source: OmeZarrImage,
    output: Output,
    title: str,
    total: int,
    left: int,
    ran: int,
    start: float,
    nothing_to_do: bool = False,
) -> Conversion:
    """What a call did: ``left`` tasks were not done yet, it ran ``ran``."""
    voxel_size, unit = level0_voxel_size(source)
    return Conversion(
        output.given,
        source.shape,
        np.dtype(source.dtype).name,
        [level.shape for level in source.levels],
        tasks_total=total,
        tasks_run=ran,
        tasks_skipped=total - left,
        finished=ran == left,
        bytes_written=output.bytes(),
        seconds=time.perf_counter() - start,
        nothing_to_do=nothing_to_do,
        name=title,
        migration=True,
        voxel_size=voxel_size,
        unit=unit,
    )


def level0_voxel_size(source: OmeZarrImage) -> tuple[tuple[float, ...], str]:
    """Level 0's voxel size along the space axes and their unit, as the
    source's metadata says (a migration keeps them)."""
    axes = multiscale_axes(source.multiscale)
    scale = level_vectors(source)[0][0]
    space = [i for i, axis in enumerate(axes) if axis.get("type") == "space"]
    unit = axes[space[0]].get("unit", "") if space else ""
    return tuple(scale[i] for i in space), unit
