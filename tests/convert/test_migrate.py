"""Migrating an OME-Zarr image (``convert.migrate``): an image ngff-zarr wrote as
OME-Zarr 0.4, with its Gaussian pyramid and a label image, rewritten as 0.5
(sharded) and back; seeded images (labelled, with channels, anisotropic) from
every version of 0.4, 0.5 and 0.6 into every other; ngff-zarr's 0.6 into 0.5;
levels copied bit for bit, metadata kept, resumable, the source never
written, bad input refused."""

from __future__ import annotations

import hashlib
import json
import shutil
import tracemalloc
import warnings
from pathlib import Path

import ngff_zarr
import numpy as np
import pytest
import zarr
from zarr.storage import MemoryStore

from data_helpers.convert import STATE_FOLDER, Output, convert_stack
from data_helpers.convert.migrate import (
    copy_unit,
    create_outputs,
    migrate_image,
    plans_for,
)
from data_helpers.convert.sources import open_source
from data_helpers.convert.sources.ome_zarr import OmeZarrImage
from data_helpers.ome import (
    OME_ZARR_VERSIONS,
    ZARR_FORMATS,
    Channel,
    array_spec_class,
    image_model,
    image_version,
    label_model_for,
    level_transforms,
    multiscale_axes,
    multiscale_metadata,
    ome_attributes,
    omero_metadata,
    write_image,
    write_label_image,
)
from data_helpers.pyramid import downsample_mode, level_shape
from tests.convert.helpers import (
    assert_refused,
    chunk_files,
    random_volume,
    run_main,
)
from tests.convert.test_state import MemoryState
from tests.data_server import DataServer
from tests.ome_readers import label_problems, reader_problems

SHAPE = (40, 48, 64)
VOXEL_SIZE = {"z": 2.0, "y": 0.5, "x": 0.5}
COLORS = [{"label-value": 1, "rgba": [255, 0, 0, 255]}]


def write_labels(image: Path, volume: np.ndarray) -> None:
    """Label image ``labels/cells`` (OME-Zarr 0.4), 2x2x2 modes as lower levels,
    with the image's level shapes and transformations."""
    group = zarr.open_group(image, mode="r+", use_consolidated=False)
    datasets = multiscale_metadata(group)["datasets"]
    labels = group.require_group("labels")
    labels.attrs.put({"labels": ["cells"]})
    cells = labels.require_group("cells")
    level = volume
    for k, dataset in enumerate(datasets):
        if k:
            level = downsample_mode(level)
        assert level.shape == group[dataset["path"]].shape
        cells.create_array(str(k), data=level, chunks=(16, 16, 16))
    cells.attrs.put(
        {
            "multiscales": [
                {
                    "version": "0.4",
                    "name": "cells",
                    "axes": multiscale_metadata(group)["axes"],
                    "datasets": [
                        {"path": str(k), **{"coordinateTransformations": d[key]}}
                        for k, d in enumerate(datasets)
                        for key in ["coordinateTransformations"]
                    ],
                }
            ],
            "image-label": {
                "version": "0.4",
                "colors": COLORS,
                "source": {"image": "../../"},
            },
        }
    )


@pytest.fixture(scope="module")
def ngff_image(tmp_path_factory) -> Path:
    """An OME-Zarr 0.4 image made by ngff-zarr (Gaussian pyramid, 3 levels, its
    own level paths ``scaleK/NAME``), with a label image."""
    path = tmp_path_factory.mktemp("ngff") / "gauss.ome.zarr"
    data = random_volume(SHAPE, seed=3)
    image = ngff_zarr.to_ngff_image(
        data,
        dims=("z", "y", "x"),
        scale=VOXEL_SIZE,
        translation={"z": 0.0, "y": 0.0, "x": 0.0},
        axes_units=dict.fromkeys("zyx", "micrometer"),
        name="gauss",
    )
    with warnings.catch_warnings():  # itkwasm sets an array's shape (NumPy 2.5)
        warnings.filterwarnings("ignore", "Setting the shape", DeprecationWarning)
        multiscales = ngff_zarr.to_multiscales(image, scale_factors=[2, 4], chunks=16)
        ngff_zarr.to_ngff_zarr(path, multiscales, version="0.4")
    assert multiscales.method is ngff_zarr.Methods.ITKWASM_GAUSSIAN  # the default
    z, y, x = np.indices(SHAPE)
    write_labels(path, ((z // 5 + y // 6 + x // 7) % 4).astype("uint8"))
    return path


def digests(path: Path) -> dict[str, str]:
    """Every file under ``path``, by relative path: its SHA-256."""
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def source(ngff_image) -> Path:
    """The image, checked unchanged after the test."""
    before = digests(ngff_image)
    yield ngff_image
    assert digests(ngff_image) == before, "the source was written to"


def levels(path: Path | str) -> list[np.ndarray]:
    """Each level's voxels, in the order the metadata lists them."""
    group = zarr.open_group(path, mode="r", use_consolidated=False)
    return [group[d["path"]][...] for d in multiscale_metadata(group)["datasets"]]


def transforms(path: Path) -> tuple[list, list]:
    """The axes, and each level's coordinate transformations."""
    metadata = multiscale_metadata(zarr.open_group(path, mode="r"))
    return metadata["axes"], [
        d["coordinateTransformations"] for d in metadata["datasets"]
    ]


def assert_same_image(old: Path, new: Path) -> None:
    """Every level (the label image's too) equal, axes and transforms kept."""
    for a, b in zip(levels(old), levels(new), strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert transforms(new) == transforms(old)
    for a, b in zip(
        levels(old / "labels" / "cells"), levels(new / "labels" / "cells"), strict=True
    ):
        assert np.array_equal(a, b)
    assert transforms(new / "labels" / "cells") == transforms(old / "labels" / "cells")


def test_ngff_zarr_04_to_05_sharded(source, tmp_path, capsys) -> None:
    output = tmp_path / "new.ome.zarr"
    code, out, _ = run_main(
        capsys, source, output, "--zarr-format", "3", "--chunks", "8", "--shards", "16"
    )
    assert code == 0 and "migrated" in out, out
    assert_same_image(source, output)
    assert reader_problems(output) == {}
    assert label_problems(output) == {}
    group = zarr.open_group(output, mode="r")
    ome = group.attrs["ome"]
    assert ome["version"] == "0.5"
    assert ome["multiscales"][0]["name"] == "gauss"
    assert ome["multiscales"][0]["type"] == "itkwasm_gaussian"
    assert [d["path"] for d in ome["multiscales"][0]["datasets"]] == ["0", "1", "2"]
    for k in range(3):
        assert group[str(k)].shards == (16, 16, 16)
        assert group[str(k)].chunks == (8, 8, 8)
        assert group[str(k)].metadata.dimension_names == ("z", "y", "x")
    label = zarr.open_group(output / "labels" / "cells", mode="r").attrs["ome"]
    assert label["image-label"]["colors"] == COLORS
    assert not (output / STATE_FOLDER).exists()


def test_round_trip_to_04(source, tmp_path) -> None:
    """0.4 -> 0.5 -> 0.4 (other chunks): the same levels and metadata again."""
    middle, back = tmp_path / "middle.ome.zarr", tmp_path / "back.ome.zarr"
    migrate_image(source, middle, version="0.5", chunks=16, progress=False)
    result = migrate_image(middle, back, version="0.4", chunks=8, progress=False)
    assert result.finished
    assert_same_image(source, back)
    assert reader_problems(back) == {}
    assert label_problems(back) == {}
    attributes = zarr.open_group(back, mode="r").attrs.asdict()
    assert attributes["multiscales"][0]["version"] == "0.4"
    assert zarr.open_array(back / "0", mode="r").metadata.zarr_format == 2


def test_codec_is_the_one_asked_for(source, tmp_path) -> None:
    """--codec goes into the migrated arrays, as in a conversion."""
    output = tmp_path / "zstd.ome.zarr"
    convert_stack(source, output, codec="zstd-5", progress=False)
    codecs = zarr.open_array(output / "0", mode="r").metadata.to_dict()["codecs"]
    names = json.dumps(codecs)
    assert '"zstd"' in names and "blosc" not in names
    assert_same_image(source, output)


def test_killed_part_way_resumes_to_the_same_output(source, tmp_path) -> None:
    whole, resumed = tmp_path / "whole.ome.zarr", tmp_path / "resumed.ome.zarr"
    options = {"version": "0.5", "chunks": 8, "shards": 16, "progress": False}
    migrate_image(source, whole, **options)
    first = migrate_image(source, resumed, max_tasks=7, **options)
    assert not first.finished and first.tasks_run == 7
    assert "ome" not in zarr.open_group(resumed, mode="r").attrs  # metadata last
    second = migrate_image(source, resumed, **options)
    assert second.finished and second.tasks_skipped == 7
    assert second.tasks_run == second.tasks_total - 7
    assert chunk_files(resumed) == chunk_files(whole)
    third = migrate_image(source, resumed, **options)
    assert third.nothing_to_do and third.tasks_run == 0
    assert "already a finished migration" in third.summary()


def test_over_http_to_s3(source, s3) -> None:
    """A served image, migrated into object storage."""
    with DataServer(source.parent) as server:
        url = f"{server.url}{source.name}"
        result = migrate_image(
            url, "s3://book/new.ome.zarr", version="0.5", chunks=16, progress=False
        )
    assert result.finished
    group = zarr.open_group(Output("s3://book/new.ome.zarr").store("r"), mode="r")
    for k, expected in enumerate(levels(source)):
        assert np.array_equal(group[str(k)][...], expected)
    assert ome_attributes(group.attrs.asdict())["multiscales"][0]["name"] == "gauss"


def not_an_image(tmp_path: Path) -> Path:
    path = tmp_path / "plain.zarr"
    zarr.open_group(path, mode="w", zarr_format=3).attrs.put({"title": "no levels"})
    return path


@pytest.mark.parametrize(
    ("case", "fragments"),
    [
        ("not an image", ["is not an OME-Zarr image"]),
        ("output exists", ["exists", "--overwrite"]),
        ("chunks do not divide shards", ["is not a multiple of --chunks 8"]),
        ("output inside the source", ["is inside the image it migrates"]),
        ("source inside the output", ["is inside the output"]),
        ("levels", ["--levels is for converting slices"]),
        ("unit", ["--unit is for converting slices"]),
        ("color", ["--color is for converting slices"]),
    ],
)
def test_bad_input_is_refused(source, tmp_path, capsys, case, fragments) -> None:
    """One line, exit 2, nothing written (and the source unchanged)."""
    output = tmp_path / "out" / "new.ome.zarr"
    output.parent.mkdir()
    given, options = source, ["--zarr-format", "3"]
    if case == "not an image":
        given = not_an_image(tmp_path)
    elif case == "output exists":
        output.mkdir()
        (output / "thesis.txt").write_text("mine")
    elif case == "chunks do not divide shards":
        options += ["--chunks", "8", "--shards", "12"]
    elif case == "output inside the source":
        output = source / "new.ome.zarr"
    elif case == "source inside the output":
        output, options = source.parent, [*options, "--overwrite"]
    elif case == "levels":
        options += ["--levels", "2"]
    elif case == "unit":
        options += ["--unit", "um"]
    elif case == "color":
        options += ["--color", "1", "255", "0", "0", "255"]
    assert_refused(capsys, output, [given, output, *options], *fragments)


def random_image(path: Path, shape: tuple[int, ...], chunks: int) -> None:
    """A one-level OME-Zarr 0.4 image of voxels that do not compress."""
    group = zarr.open_group(path, mode="w", zarr_format=2)
    group.create_array("0", data=random_volume(shape, seed=5), chunks=(chunks,) * 3)
    axes = [{"name": a, "type": "space", "unit": "micrometer"} for a in "zyx"]
    scale = [{"type": "scale", "scale": [1.0, 1.0, 1.0]}]
    datasets = [{"path": "0", "coordinateTransformations": scale}]
    group.attrs.put(
        {"multiscales": [{"version": "0.4", "axes": axes, "datasets": datasets}]}
    )


#: What tracemalloc finds a copy task holds beside its voxels, whatever the
#: unit (zarr's metadata and objects): about 130 KB measured.
FIXED_BYTES = 256 * 1024


@pytest.mark.parametrize(("chunks", "shards"), [(32, 64), (64, None)])
def test_a_task_holds_a_few_units(tmp_path, chunks, shards) -> None:
    """tracemalloc's peak while one copy task runs: within ``task_bytes`` (three
    64^3 units), less than the level it copies from (source chunks of 32^3)."""
    random_image(tmp_path / "old.ome.zarr", (96, 96, 128), 32)
    image = open_source(tmp_path / "old.ome.zarr")
    assert isinstance(image, OmeZarrImage)
    plan = plans_for(image, chunks, shards, zarr_format=3 if shards else 2)[0]
    output = Output.of(tmp_path / "new.ome.zarr")
    create_outputs(image, output, [plan])
    task = plan.tasks()[0]
    unit_bytes = 64**3 * 2
    assert [s.stop - s.start for s in task.region] == [64, 64, 64]
    assert plan.task_bytes() == 3 * unit_bytes < 96 * 96 * 128 * 2
    copy_unit(image.levels[0], output, plan, plan.tasks()[1], MemoryState())  # warm
    state = MemoryState()
    tracemalloc.start()
    try:
        copy_unit(image.levels[0], output, plan, task, state)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert state.done() == {task.name}
    assert unit_bytes < peak <= plan.task_bytes() + FIXED_BYTES, peak
    region = zarr.open_array(output.path / "0", mode="r")[task.region]
    assert np.array_equal(region, image.levels[0].open()[task.region])


def test_manifest_fingerprints_the_source(source) -> None:
    image = open_source(source)
    assert isinstance(image, OmeZarrImage)
    found = image.fingerprint()["ome_zarr"]
    assert [level["shape"] for level in found["levels"]] == [
        [40, 48, 64],
        [20, 24, 32],
        [10, 12, 16],
    ]
    assert found["labels"]["cells"][0] == {"shape": [40, 48, 64], "dtype": "uint8"}
    text = json.dumps([i.attributes for i in image.images()], sort_keys=True)
    assert found["metadata_sha256"] == hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------
# Every version into every other: 0.4, 0.5 and 0.6
# --------------------------------------------------------------------------

#: Every ordered pair of two different OME-Zarr versions.
PAIRS = [(a, b) for a in OME_ZARR_VERSIONS for b in OME_ZARR_VERSIONS if a != b]
#: The seeded images each pair migrates: z, y, x with a label image (levels
#: halving); c, z, y, x with ``omero`` channels and no translation on level 0;
#: z, y, x whose levels shrink 1, 3, 3 then 2, 2, 2 times (scale ratios 3 and 6).
KINDS = ("labelled", "channels", "anisotropic")
LABEL_COLORS = {1: (255, 0, 0, 255), 2: (0, 0, 255, 128)}
LABEL_NAMES = {1: "cell", 2: "nucleus"}


def level_arrays(kind: str) -> tuple[tuple[str, ...], list[np.ndarray], list | None]:
    """The axes, the levels' voxels (seeded) and the factors between levels."""
    if kind == "channels":
        axes, shape, factors = ("c", "z", "y", "x"), (2, 12, 16, 24), [[1, 2, 2, 2]]
    elif kind == "anisotropic":
        axes, shape, factors = ("z", "y", "x"), (12, 30, 36), [[1, 3, 3], [2, 2, 2]]
    else:
        axes, shape, factors = ("z", "y", "x"), (20, 24, 32), [[2, 2, 2]] * 2
    arrays = [
        random_volume(level_shape(shape, k, factors), seed=10 + k)
        for k in range(len(factors) + 1)
    ]
    return axes, arrays, factors


def write_source(path: Path, version: str, kind: str) -> None:
    """An OME-Zarr ``version`` image of ``kind`` (``KINDS``), written with
    ``data_helpers.ome`` in 8-voxel chunks."""
    axes, arrays, factors = level_arrays(kind)
    zarr_format = ZARR_FORMATS[version]
    memory = zarr.open_group(MemoryStore(), mode="w", zarr_format=zarr_format)
    chunks = tuple(1 if a == "c" else 8 for a in axes)
    specs = [
        array_spec_class(zarr_format).from_zarr(
            memory.create_array(str(k), shape=a.shape, dtype=a.dtype, chunks=chunks)
        )
        for k, a in enumerate(arrays)
    ]
    omero = None
    if kind == "channels":
        channels = [Channel("dapi", "0000FF"), Channel("actin")]
        omero = omero_metadata(channels, [(0, 900), (10, 2000)], "uint16")
    model = image_model(
        specs,
        voxel_size=(2.0, 0.5, 0.5) if kind != "anisotropic" else (3.0, 0.7, 0.7),
        name=f"seeded {kind}",
        factors=factors,
        version=version,
        axes=axes,
        omero=omero,
    )
    group = write_image(model, path)
    for k, data in enumerate(arrays):
        group[str(k)][...] = data
    if kind == "channels":
        attributes = group.attrs.asdict()
        dataset = ome_attributes(attributes)["multiscales"][0]["datasets"][0]
        scale = level_transforms(dataset)[0]  # level 0 placed by its scale alone
        if version == "0.6":
            sequence = dataset["coordinateTransformations"][0]
            scale = {**scale, "input": sequence["input"], "output": sequence["output"]}
        dataset["coordinateTransformations"] = [scale]
        group.attrs.put(attributes)
    if kind == "labelled":
        label = label_model_for(
            group, "uint8", colors=LABEL_COLORS, names=LABEL_NAMES, name="cells"
        )
        cells = write_label_image(label, group, "cells")
        z, y, x = np.indices(arrays[0].shape)
        level = ((z // 3 + y // 5 + x // 7) % 3).astype("uint8")
        for k in range(len(arrays)):
            cells[str(k)][...] = level
            level = downsample_mode(level)


def placement(path: Path) -> tuple[list, list[tuple], list[tuple]]:
    """The axes (name, type, unit) and each level's scale and translation, as
    a reader places it: a translation missing is zeros, and a transformation
    of the multiscale itself (0.4, 0.5) applies after each level's."""
    metadata = multiscale_metadata(zarr.open_group(path, mode="r"))
    axes = [
        (a["name"], a.get("type"), a.get("unit")) for a in multiscale_axes(metadata)
    ]
    outer = {
        t["type"]: t[t["type"]] for t in metadata.get("coordinateTransformations", [])
    }
    g = outer.get("scale", [1.0] * len(axes))
    t = outer.get("translation", [0.0] * len(axes))
    scales, translations = [], []
    for dataset in metadata["datasets"]:
        found = {x["type"]: x[x["type"]] for x in level_transforms(dataset)}
        shift = found.get("translation", [0.0] * len(axes))
        scales.append(tuple(a * b for a, b in zip(g, found["scale"], strict=True)))
        translations.append(
            tuple(a * b + c for a, b, c in zip(g, shift, t, strict=True))
        )
    return axes, scales, translations


def assert_same_levels(old: Path, new: Path) -> None:
    """Each level byte for byte the same, in the order the metadata lists."""
    before, after = levels(old), levels(new)
    assert len(before) == len(after)
    for a, b in zip(before, after, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes()


def ome_of(path: Path) -> dict:
    return ome_attributes(zarr.open_group(path, mode="r").attrs.asdict())


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> dict[tuple[str, str], Path]:
    """Every kind of image in every version, by (version, kind)."""
    root = tmp_path_factory.mktemp("seeded")
    images = {}
    for version in OME_ZARR_VERSIONS:
        for kind in KINDS:
            path = root / f"{kind}-{version}.ome.zarr"
            write_source(path, version, kind)
            images[version, kind] = path
    return images


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("old", "new"), PAIRS)
def test_every_version_into_every_other(seeded, tmp_path, old, new, kind) -> None:
    """Levels byte for byte, axes, scales and translations as the source's,
    name, omero and image-label kept, and every reader accepts the result."""
    source = seeded[old, kind]
    assert image_version(zarr.open_group(source, mode="r")) == old
    output = tmp_path / "new.ome.zarr"
    shards = None if new == "0.4" else 16
    result = migrate_image(
        source, output, version=new, chunks=8, shards=shards, progress=False
    )
    assert result.finished
    assert image_version(zarr.open_group(output, mode="r")) == new
    assert_same_levels(source, output)
    assert placement(output) == placement(source)
    assert reader_problems(output) == {}
    before, after = ome_of(source), ome_of(output)
    assert after["multiscales"][0]["name"] == f"seeded {kind}"
    assert after.get("omero") == before.get("omero")
    if kind == "channels":
        assert after["omero"]["channels"][0]["label"] == "dapi"
        assert placement(output)[2][0] == (0.0,) * 4  # no translation: zeros
    if kind == "labelled":
        assert label_problems(output) == {}
        cells_old, cells_new = source / "labels" / "cells", output / "labels" / "cells"
        assert_same_levels(cells_old, cells_new)
        assert placement(cells_new) == placement(cells_old)
        label = ome_of(cells_new)["image-label"]
        kept = {k: v for k, v in ome_of(cells_old)["image-label"].items()}
        kept.pop("version", None)  # 0.4 and 0.5 name it here too, 0.6 does not
        assert label == kept | ({} if new == "0.6" else {"version": new})
        assert label["colors"][0] == {"label-value": 1, "rgba": [255, 0, 0, 255]}
        assert label["properties"][1] == {"label-value": 2, "name": "nucleus"}
        assert label["source"] == {"image": "../../"}


def test_multiscale_transformation_is_folded_into_levels(seeded, tmp_path) -> None:
    """A 0.5 image with a scale and translation on the multiscale itself: each
    level of the 0.6 (and 0.4) copy carries both, folded in."""
    source = tmp_path / "outer.ome.zarr"
    shutil.copytree(seeded["0.5", "anisotropic"], source)
    group = zarr.open_group(source, mode="r+")
    attributes = group.attrs.asdict()
    attributes["ome"]["multiscales"][0]["coordinateTransformations"] = [
        {"type": "scale", "scale": [1.0, 1.0, 3.0]},
        {"type": "translation", "translation": [10.0, 0.0, 0.0]},
    ]
    group.attrs.put(attributes)
    for new in ("0.6", "0.4"):
        output = tmp_path / f"folded-{new}.ome.zarr"
        migrate_image(source, output, version=new, chunks=8, progress=False)
        assert "coordinateTransformations" not in ome_of(output)["multiscales"][0]
        assert placement(output) == placement(source)
        # Level 1 shrinks y and x 3 times: scale 3.0, 2.1, 2.1 and translation
        # 0, 0.7, 0.7 (one voxel of level 0 in y and x); then x 3 times more,
        # and 10 added to z.
        _, scales, translations = placement(output)
        assert scales[1] == pytest.approx((3.0, 2.1, 6.3))
        assert translations[1] == pytest.approx((10.0, 0.7, 2.1))
        assert reader_problems(output) == {}


def test_06_killed_part_way_resumes_to_the_same_output(seeded, tmp_path) -> None:
    source = seeded["0.4", "labelled"]
    whole, resumed = tmp_path / "whole.ome.zarr", tmp_path / "resumed.ome.zarr"
    options = {"version": "0.6", "chunks": 8, "shards": 16, "progress": False}
    migrate_image(source, whole, **options)
    first = migrate_image(source, resumed, max_tasks=5, **options)
    assert not first.finished and first.tasks_run == 5
    assert "ome" not in zarr.open_group(resumed, mode="r").attrs  # metadata last
    second = migrate_image(source, resumed, **options)
    assert second.finished and second.tasks_skipped == 5
    assert chunk_files(resumed) == chunk_files(whole)
    assert ome_of(resumed)["version"] == "0.6"


@pytest.fixture(scope="module")
def ngff_06(tmp_path_factory) -> Path:
    """An OME-Zarr 0.6 image written by ngff-zarr (Gaussian pyramid, level
    paths ``scaleK/NAME``, coordinate system ``intrinsic``)."""
    path = tmp_path_factory.mktemp("ngff06") / "gauss-0.6.ome.zarr"
    image = ngff_zarr.to_ngff_image(
        random_volume(SHAPE, seed=4),
        dims=("z", "y", "x"),
        scale=VOXEL_SIZE,
        translation={"z": 0.0, "y": 0.0, "x": 0.0},
        axes_units=dict.fromkeys("zyx", "micrometer"),
        name="gauss",
    )
    with warnings.catch_warnings():  # itkwasm sets an array's shape (NumPy 2.5)
        warnings.filterwarnings("ignore", "Setting the shape", DeprecationWarning)
        multiscales = ngff_zarr.to_multiscales(image, scale_factors=[2, 4], chunks=16)
        ngff_zarr.to_ngff_zarr(path, multiscales, version="0.6")
    return path


def test_ngff_zarr_06_to_05(ngff_06, tmp_path, capsys) -> None:
    """ngff-zarr's 0.6 image, migrated to 0.5 on the command line: ome-zarr-py's
    Reader (and the other readers) open it without a warning."""
    assert ome_of(ngff_06)["version"] == "0.6"
    assert "coordinateSystems" in ome_of(ngff_06)["multiscales"][0]
    output = tmp_path / "gauss-0.5.ome.zarr"
    code, out, _ = run_main(
        capsys, ngff_06, output, "--ome-zarr-version", "0.5", "--chunks", "8"
    )
    assert code == 0 and "migrated" in out, out
    assert_same_levels(ngff_06, output)
    assert placement(output) == placement(ngff_06)
    assert reader_problems(output) == {}
    multiscale = ome_of(output)["multiscales"][0]
    assert multiscale["name"] == "gauss" and multiscale["type"] == "itkwasm_gaussian"
    assert [d["path"] for d in multiscale["datasets"]] == ["0", "1", "2"]


def test_06_transformations_into_other_systems_are_refused(
    seeded, tmp_path, capsys
) -> None:
    """A 0.6 image mapping its levels on into another coordinate system: one
    line, exit 2, nothing written."""
    source = tmp_path / "registered.ome.zarr"
    shutil.copytree(seeded["0.6", "anisotropic"], source)
    group = zarr.open_group(source, mode="r+")
    attributes = group.attrs.asdict()
    multiscale = attributes["ome"]["multiscales"][0]
    axes = multiscale["coordinateSystems"][0]["axes"]
    multiscale["coordinateSystems"].append({"name": "atlas", "axes": axes})
    multiscale["coordinateTransformations"] = [
        {
            "type": "translation",
            "translation": [5.0, 0.0, 0.0],
            "input": "physical",
            "output": "atlas",
        }
    ]
    group.attrs.put(attributes)
    output = tmp_path / "out" / "new.ome.zarr"
    output.parent.mkdir()
    assert_refused(
        capsys,
        output,
        [source, output, "--ome-zarr-version", "0.5"],
        "maps into further coordinate systems",
    )
