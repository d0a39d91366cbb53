"""Check what "Zarr format 3, OME-Zarr 0.5 and sharding" says its cells show.

Each test reads the output of one tagged cell of the executed chapter and
compares it with a value recomputed here, independently of the chapter. The
last tests write the chapter's three layouts again (with the same helper) and
open them with ome-zarr-py and ngff-zarr, the book's rule for every image.
"""

from __future__ import annotations

import ast
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from data_helpers import level_shape
from data_helpers.readers import read_with_ngff_zarr, read_with_ome_zarr_py
from tests.claims import grid, ints

CHAPTER = "zarr-v3-ome-zarr-0-5-and-sharding"
SAMPLE_SHAPE_ZYX = (139, 120, 120)  # ../shared/data/README.md, stored (x, y, z)
FULL_SHAPE_ZYX = (8839, 7641, 7641)  # LADAF-2020-27 at 19.89 um, same README
CHUNK = 32
SHARD = 128
LEVELS = 3
INDEX_BYTES_PER_CHUNK = 16  # offset and length, two uint64 (Zarr sharding spec)
CHECKSUM_BYTES = 4  # crc32c


@pytest.fixture(scope="module")
def chapter(executed):
    return executed(CHAPTER)


def count(shape, edge: int) -> int:
    return math.prod(grid(shape, edge))


def test_chapter_runs_quickly_and_quietly(chapter) -> None:
    assert chapter.seconds < 60
    assert chapter.stderr() == []


def test_says_0_5_is_the_default_and_0_4_for_comparison(chapter) -> None:
    from data_helpers.convert.run import SHARD_CHUNKS
    from data_helpers.ome import DEFAULT_OME_ZARR_VERSION

    prose = " ".join(chapter.markdown().split())
    assert "This book writes **Zarr format 3** with **OME-Zarr 0.5** metadata" in prose
    assert DEFAULT_OME_ZARR_VERSION == "0.5"
    assert "for comparison only" in prose and "`--ome-zarr-version 0.4`" in prose
    assert SHARD_CHUNKS == 2  # "each shard 2 × 2 × 2 chunks"
    assert "each shard 2 × 2 × 2 chunks" in prose


def test_heart_is_transposed_to_zyx(chapter) -> None:
    text = chapter.text("claim-heart")
    assert f"shape (z, y, x) = {SAMPLE_SHAPE_ZYX}" in text
    assert "voxel size = 1272.96 µm" in text
    assert math.isclose(64 * 19.89, 1272.96)


def test_format_2_and_3_files(chapter) -> None:
    lines = chapter.text("claim-files-2-vs-3").splitlines()
    n_chunks = count(SAMPLE_SHAPE_ZYX, CHUNK)
    assert n_chunks == 80  # "Both hold 80 chunk files"
    v2 = next(line for line in lines if line.startswith("format 2"))
    v3 = next(line for line in lines if line.startswith("format 3"))
    assert "metadata ['.zarray', '.zattrs']" in v2 and "['1/2/3']" in v2
    assert "metadata ['zarr.json']" in v3 and "['c/1/2/3']" in v3
    for line in (v2, v3):
        assert f", {n_chunks} chunk files" in line
    assert "identical data: True" in lines


def test_zarr_json_shows_format_3_fields(chapter) -> None:
    document = json.loads(chapter.text("claim-zarr-json"))
    assert document["zarr_format"] == 3 and document["node_type"] == "array"
    assert [codec["name"] for codec in document["codecs"]] == ["bytes", "zstd"]
    assert document["dimension_names"] == ["z", "y", "x"]
    assert document["chunk_grid"]["configuration"]["chunk_shape"] == [CHUNK] * 3
    assert "compressor" not in document  # replaced by the codec pipeline
    # "our specification gave zstd only its level ... zarr-python 3.4.2 writes
    # "checksum": false into zarr.json anyway"
    source = chapter.cell("claim-specs")["source"]
    assert 'zstd_codec = {"name": "zstd", "configuration": {"level": 5}}' in source
    assert document["codecs"][1]["configuration"] == {"level": 5, "checksum": False}


def test_dimension_names_optional_in_format_3_required_in_0_5(chapter) -> None:
    prose = " ".join(chapter.markdown().split())
    assert "If `dimension_names` is not specified, all dimensions are unnamed" in prose
    assert "MUST be included in the `zarr.json` of the Zarr array" in prose
    assert "can give each axis a name in `dimension_names`" in prose


def check_three_readers(text: str, levels: int = LEVELS) -> None:
    assert "ome-zarr-models: valid OME-Zarr 0.5" in text
    shapes = [level_shape(SAMPLE_SHAPE_ZYX, k) for k in range(levels)]
    assert f"levels {shapes}" in text
    assert f"ngff-zarr:       {levels} levels, axes ['z', 'y', 'x']" in text


def test_three_readers_open_the_0_5_pyramid(chapter) -> None:
    check_three_readers(chapter.text("claim-validate"))


def test_top_level_keys(chapter) -> None:
    text = chapter.text("claim-top-level")
    assert "0.4 .zattrs keys:               ['multiscales']" in text
    assert "0.5 zarr.json 'attributes' keys: ['ome']" in text
    keys = ast.literal_eval(re.search(r"0\.5 zarr\.json keys:\s+(\[.*\])", text)[1])
    assert set(keys) == {"attributes", "zarr_format", "node_type"}


def test_diff_shows_only_the_version_move(chapter) -> None:
    """'The version moved ... axes, scales, translations and paths are the same.'"""
    lines = chapter.text("claim-diff").splitlines()
    changed = [
        f"{line[0]} {line[1:].strip()}"
        for line in lines
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert sorted(changed) == sorted(
        [
            '+ "version": "0.5",',
            '- "name": "heart",',
            '- "version": "0.4"',
            '+ "name": "heart"',
        ]
    ), changed


def test_level_arrays_name_their_dimensions(chapter) -> None:
    text = chapter.text("claim-dimension-names")
    assert "level 0 dimension_names: ['z', 'y', 'x']" in text


def test_sharded_pyramid(chapter) -> None:
    text = chapter.text("claim-sharded-spec")
    assert f"shards {(SHARD,) * 3}, chunks {(CHUNK,) * 3}" in text
    assert (SHARD // CHUNK) ** 3 == 64  # "64 chunks per shard"
    check_three_readers(text)


@pytest.fixture(scope="module")
def layouts(chapter) -> dict[str, dict[str, object]]:
    rows = {}
    for line in chapter.text("claim-layouts").splitlines()[1:]:
        match = re.match(r"(.+?\))\s+(\d+)\s+(\d+)\s+(\[.*\])", line)
        label, files, size, per_level = match.groups()
        rows[label] = {
            "files": int(files),
            "bytes": int(size),
            "per_level": ast.literal_eval(per_level),
        }
    return rows


def test_layout_file_counts(layouts) -> None:
    chunk_files = [count(level_shape(SAMPLE_SHAPE_ZYX, k), CHUNK) for k in range(3)]
    shard_files = [count(level_shape(SAMPLE_SHAPE_ZYX, k), SHARD) for k in range(3)]
    assert chunk_files == [80, 12, 2] and shard_files == [2, 1, 1]  # as the prose
    v2 = layouts["format 2, chunks (OME-Zarr 0.4)"]
    v3 = layouts["format 3, chunks (OME-Zarr 0.5)"]
    sharded = layouts["format 3, shards (OME-Zarr 0.5)"]
    assert v2["per_level"] == v3["per_level"] == chunk_files
    assert sharded["per_level"] == shard_files
    # metadata: .zgroup + .zattrs and .zarray + .zattrs per level; one zarr.json each
    assert v2["files"] == sum(chunk_files) + 2 + 2 * LEVELS
    assert v3["files"] == sum(chunk_files) + 1 + LEVELS
    assert sharded["files"] == sum(shard_files) + 1 + LEVELS


def test_layout_bytes(layouts) -> None:
    """'almost the same bytes' unsharded; sharding 'costs a few bytes' (indexes)."""
    v2 = layouts["format 2, chunks (OME-Zarr 0.4)"]["bytes"]
    v3 = layouts["format 3, chunks (OME-Zarr 0.5)"]["bytes"]
    sharded = layouts["format 3, shards (OME-Zarr 0.5)"]["bytes"]
    assert abs(v2 - v3) / v2 < 0.01
    n_shards = sum(count(level_shape(SAMPLE_SHAPE_ZYX, k), SHARD) for k in range(3))
    index = (INDEX_BYTES_PER_CHUNK * (SHARD // CHUNK) ** 3 + CHECKSUM_BYTES) * n_shards
    assert 0 < sharded - v3 < index + 3000  # the indexes plus larger metadata


def test_reading_one_chunk_fetches_index_then_chunk(chapter) -> None:
    lines = chapter.text("claim-read-one-chunk").splitlines()
    requests = [line for line in lines if line.startswith("get")]
    index_bytes = INDEX_BYTES_PER_CHUNK * (SHARD // CHUNK) ** 3 + CHECKSUM_BYTES
    assert index_bytes == 1028  # "64 chunks × 16 bytes + 4 bytes"
    assert len(requests) == 2
    assert "'c/0/0/0' bytes last 1028" in requests[0]
    assert ints(requests[0])[-1] == index_bytes
    start, end, nbytes = ints(requests[1].split("bytes", 1)[1])
    assert end - start + 1 == nbytes
    shard = int(re.search(r"holds (\d+) bytes", "\n".join(lines))[1])
    assert nbytes < shard / 10  # "each a fraction of the shard"
    assert "chunk matches the image: True" in lines


def test_writing_one_chunk_rewrites_the_shard(chapter) -> None:
    read_text = chapter.text("claim-read-one-chunk")
    shard = int(re.search(r"holds (\d+) bytes", read_text)[1])
    text = chapter.text("claim-write-one-chunk")
    assert f"changed one chunk of {CHUNK**3} voxels" in text  # "32 KiB"
    n_read, bytes_read = ints(re.search(r"read: .*", text)[0])
    n_written, bytes_written = ints(re.search(r"written: .*", text)[0])
    assert n_read == n_written == 1
    assert bytes_read == shard  # the whole shard
    # ... of a copy of level 0: the pyramid keeps consistent levels (see also
    # tests/test_readers.py, which checks every level of every image)
    source = chapter.cell("claim-write-one-chunk")["source"]
    assert "shutil.copytree(level0_path" in source
    assert "LocalStore(scratch_level0)" in source
    assert 0.5e6 < bytes_written < 2e6  # "about a megabyte each way"
    assert abs(bytes_written - shard) < 100


def full_size_counts(edge: int) -> list[int]:
    counts, level = [], 0
    while True:
        counts.append(count(level_shape(FULL_SHAPE_ZYX, level), edge))
        if count(level_shape(FULL_SHAPE_ZYX, level), 128) == 1:
            return counts
        level += 1


def test_full_size_arithmetic(chapter) -> None:
    text = chapter.text("claim-full-size")
    chunks, shards = full_size_counts(128), full_size_counts(512)
    assert chunks[0] == 252_000  # "Level 0 alone is 252,000 chunk files"
    assert round(sum(chunks), -3) == 288_000  # "the pyramid about 288,000"
    assert 1_000 < sum(shards) < 10_000  # "a few thousand files"
    rows = [line for line in text.splitlines() if re.match(r"\s+\d+\s+\(", line)]
    assert len(rows) == len(chunks)
    for level, row in enumerate(rows):
        shape = level_shape(FULL_SHAPE_ZYX, level)
        assert str(shape) in row
        assert ints(row.split(")")[-1]) == [chunks[level], shards[level]]
    totals = next(line for line in text.splitlines() if line.strip().startswith("all"))
    assert ints(totals) == [sum(chunks), sum(shards)]
    assert "one chunk: 4 MiB, one shard: 256 MiB" in text
    assert 128**3 * 2 == 4 * 2**20 and 512**3 * 2 == 256 * 2**20


def test_shard_size_table(chapter) -> None:
    rows = [
        ints(line)
        for line in chapter.text("claim-shard-sizes").splitlines()
        if re.match(r"\s+\d", line)
    ]
    assert [row[0] for row in rows] == [128, 256, 512, 1024]
    for edge, per_shard, files, mib in rows:
        assert per_shard == (edge // 128) ** 3
        assert files == sum(full_size_counts(edge))
        assert mib == edge**3 * 2 // 2**20
    # "more than a quarter of such a quota" (1 million files)
    assert 250_000 < sum(full_size_counts(128)) < 1_000_000
    # sizes quoted in the prose: 256³ = 32 MiB, 1024³ = 2 GiB
    assert {edge: mib for edge, _, _, mib in rows}[256] == 32
    assert {edge: mib for edge, _, _, mib in rows}[1024] == 2048


def test_misaligned_parallel_writes_lose_chunks(chapter) -> None:
    text = chapter.text("claim-race")
    lost, total = ints(re.search(r"(\d+) of (\d+) chunks lost", text)[0])
    assert total == count(SAMPLE_SHAPE_ZYX, CHUNK)
    assert 0 < lost < total


def test_whole_shard_tasks_lose_nothing(chapter) -> None:
    text = chapter.text("claim-check")
    assert "refused: Blocks along axis 0 end at [32, 96], inside shards" in text
    assert "one task per 64³ shard: 0 of 80 chunks lost" in text


def test_table_of_tools_that_need_0_4(chapter) -> None:
    """Every row says whether the tool needs 0.4, what was checked, and a source."""
    text = chapter.markdown()
    start = text.index("| Tool | Needs 0.4? | What we checked | Source |")
    rows = [r for r in text[start:].splitlines()[2:] if r.startswith("|")]
    names = ["napari-ome-zarr", "Neuroglancer", "vizarr", "webKnossos"]
    names += ["BigDataViewer", "MoBIE", "OMERO", "Bio-Formats", "QuPath"]
    assert len(rows) == len(names)
    for row, name in zip(rows, names, strict=True):
        tool, needs, checked, source = (c.strip() for c in row.strip("|").split("|"))
        assert name in tool
        assert needs.startswith(("Yes", "No", "Probably", "Not verified")), needs
        assert re.search(r"20\d\d-\d\d-\d\d", checked), checked  # a date
        assert "](https://" in source, source
    # the tools that (probably) need 0.4 get the option that writes it
    prose = " ".join(text.split())
    assert "write OME-Zarr 0.4: convert with `--ome-zarr-version 0.4`" in prose


def test_neuroglancer_release_reads_no_0_6(chapter) -> None:
    """Checked in google/neuroglancer at tag v2.41.2, src/datasource/zarr/ome.ts:
    line 54 is ``SUPPORTED_OME_MULTISCALE_VERSIONS = new Set(["0.4", "0.5-dev",
    "0.5"])``; the prose must say just that, and link that line."""
    prose = " ".join(chapter.markdown().split())
    assert "v2.41.2/src/datasource/zarr/ome.ts#L54" in prose
    assert "accepts the versions `0.4`, `0.5-dev` and `0.5`" in prose
    assert (
        "**Neuroglancer 2.41.2**: no; it accepts 0.4 and 0.5 only (and the draft"
        in prose
    )


# --- Migrating a 0.4 image, and OME-Zarr 0.6 ---

MIGRATED_LEVELS = 4  # the converter stops at the level that fits in one 32³ chunk


def test_old_image_is_written_as_0_4(chapter) -> None:
    text = chapter.text("claim-old-0-4")
    shapes = [level_shape(SAMPLE_SHAPE_ZYX, k) for k in range(MIGRATED_LEVELS)]
    assert max(shapes[-1]) <= CHUNK < max(shapes[-2])
    assert text.startswith("heart-old.ome.zarr: converted; ")
    assert f"{MIGRATED_LEVELS} levels {', '.join(map(str, shapes))} uint8" in text
    source = chapter.cell("claim-old-0-4")["source"]
    assert 'ome_zarr_version="0.4"' in source


def test_migration_copies_levels_identically_into_0_5(chapter) -> None:
    lines = chapter.text("claim-migrate").splitlines()
    n_units = sum(
        count(level_shape(SAMPLE_SHAPE_ZYX, k), 2 * CHUNK)
        for k in range(MIGRATED_LEVELS)
    )
    assert lines[0] == f"heart-new.ome.zarr: {n_units} copy tasks run"  # one per shard
    levels = [line for line in lines if line.startswith("level ")]
    assert len(levels) == MIGRATED_LEVELS
    for k, line in enumerate(levels):
        assert line == (
            f"level {k}: identical True; format 2 -> 3, chunks {(CHUNK,) * 3}, "
            f"shards {(2 * CHUNK,) * 3}"  # the default: 2 x 2 x 2 chunks
        )
    assert "metadata version: 0.5" in lines
    assert "scales and translations kept: True" in lines
    check_three_readers("\n".join(lines), levels=MIGRATED_LEVELS)
    prose = " ".join(chapter.markdown().split())
    assert (
        "python -m data_helpers.convert OLD.ome.zarr NEW.ome.zarr "
        "--ome-zarr-version 0.5" in prose
    )


def test_0_6_metadata(chapter) -> None:
    """Coordinate systems, and each level mapped into one by a sequence of its
    scale and translation (level 1: twice the voxel, shifted half a voxel)."""
    text = chapter.text("claim-0-6-metadata")
    # no "axes" beside the datasets any more: they are in the coordinate systems
    assert "version: 0.6, keys: ['coordinateSystems', 'datasets', 'name']" in text
    systems = json.loads(re.search(r"coordinateSystems: (.*)", text)[1])
    assert systems == [
        {
            "name": "physical",
            "axes": [
                {"name": axis, "type": "space", "unit": "micrometer"} for axis in "zyx"
            ],
        }
    ]
    block_06 = text[text.index("0.6 level 1:") + 12 : text.index("0.5 level 1:")]
    level1_06 = json.loads(block_06)
    level1_05 = json.loads(text.split("0.5 level 1:", 1)[1])
    voxel = 64 * 19.89
    scale = {"type": "scale", "scale": [2 * voxel] * 3}
    translation = {"type": "translation", "translation": [voxel / 2] * 3}
    (sequence,) = level1_06["coordinateTransformations"]
    assert sequence["type"] == "sequence"
    assert sequence["input"] == {"path": "1"}
    assert sequence["output"] == {"name": "physical"}
    for got, expected in [
        (sequence["transformations"], [scale, translation]),
        (level1_05["coordinateTransformations"], [scale, translation]),
    ]:
        assert [t["type"] for t in got] == [t["type"] for t in expected]
        for a, b in zip(got, expected, strict=True):
            key = a["type"]
            assert np.allclose(a[key], b[key]), (a, b)


def test_0_6_readers(chapter) -> None:
    from importlib.metadata import version

    text = chapter.text("claim-0-6-readers")
    models, ngff, omezarr = (
        version(p) for p in ("ome-zarr-models", "ngff-zarr", "ome-zarr")
    )
    assert (
        f"ome-zarr-models {models}: valid ome_zarr_models.v06.image.Image, "
        "coordinate systems ['physical']" in text
    )
    voxel = 64 * 19.89
    match = re.search(
        rf"ngff-zarr {re.escape(ngff)}: valid, (\d+) levels; "
        r"level 1 scale (\{.*?\}), translation (\{.*?\})",
        text,
    )
    assert int(match[1]) == MIGRATED_LEVELS
    scale, translation = (ast.literal_eval(match[i]) for i in (2, 3))
    assert list(scale) == list(translation) == ["z", "y", "x"]
    assert np.allclose(list(scale.values()), 2 * voxel)
    assert np.allclose(list(translation.values()), voxel / 2)
    assert (
        f"ome-zarr-py {omezarr} OMEZarrMultiscale: {MIGRATED_LEVELS} levels, "
        "axes ['z', 'y', 'x']" in text
    )
    reader = re.search(
        rf"ome-zarr-py {re.escape(omezarr)} Reader: knows OME-Zarr (\[.*\])", text
    )
    known = ast.literal_eval(reader[1])
    assert "0.5" in known and "0.6" not in known  # "its formats stop at 0.5"
    prose = " ".join(chapter.markdown().split())
    for name, installed in [
        ("ome-zarr-models", models),
        ("ngff-zarr", ngff),
        ("ome-zarr-py", omezarr),
    ]:
        assert f"**{name} {installed}**" in prose, name


def test_0_6_release_has_primary_sources(chapter) -> None:
    prose = " ".join(chapter.markdown().split())
    assert "OME-Zarr 0.6 was released in September 2026" in prose
    assert "https://github.com/ome/ngff-spec/releases/tag/0.6" in prose
    assert "https://github.com/ome/ngff/pull/612" in prose
    assert "0.6rc0" not in prose and "release candidate" not in prose
    assert "`scene`" in prose
    # the rule the printed level 1 follows (test_0_6_metadata), quoted
    assert (
        '"restricted to a single `scale`, `identity` or `sequence` of a scale '
        'followed by a translation transformation"' in prose
    )


# --- The book's rule: everything the chapter writes opens cleanly elsewhere ---


@pytest.fixture(scope="module")
def written_layouts(tmp_path_factory, chapter) -> dict[str, Path]:
    """The chapter's three pyramids, written again with the chapter's helper."""
    import zarr
    from numcodecs import Zstd
    from pydantic_zarr.v2 import ArraySpec as ArraySpecV2
    from pydantic_zarr.v3 import ArraySpec as ArraySpecV3

    from data_helpers import load_heart_data
    from data_helpers.pyramid import write_pyramid

    heart = load_heart_data("numpy").transpose(2, 1, 0)
    v2 = ArraySpecV2.from_array(heart, chunks=(CHUNK,) * 3, compressor=Zstd(level=5))
    v3 = ArraySpecV3.from_array(
        heart,
        chunk_grid={"name": "regular", "configuration": {"chunk_shape": (CHUNK,) * 3}},
    )
    inner = {"chunk_shape": (CHUNK,) * 3, "codecs": [{"name": "bytes"}]}
    sharded = v3.model_copy(
        update={
            "chunk_grid": {
                "name": "regular",
                "configuration": {"chunk_shape": (SHARD,) * 3},
            },
            "codecs": [{"name": "sharding_indexed", "configuration": inner}],
        }
    )
    root = tmp_path_factory.mktemp("layouts")
    paths = {}
    for label, spec in [("0.4", v2), ("0.5", v3), ("0.5 sharded", sharded)]:
        paths[label] = root / f"{label.replace(' ', '-')}.ome.zarr"
        group = write_pyramid(
            zarr.storage.LocalStore(paths[label]),
            spec,
            heart,
            voxel_size=[64 * 19.89] * 3,
            levels=LEVELS,
            name="heart",
        )
        assert np.array_equal(group["0"][:], heart)
    return paths


@pytest.mark.parametrize("label", ["0.4", "0.5", "0.5 sharded"])
def test_ome_zarr_py_reads_without_warnings(written_layouts, label) -> None:
    # read_with_ome_zarr_py raises if the Reader logs at WARNING or above
    image = read_with_ome_zarr_py(written_layouts[label])
    assert image.shapes == [level_shape(SAMPLE_SHAPE_ZYX, k) for k in range(LEVELS)]
    assert [name for name, _ in image.axes] == ["z", "y", "x"]


@pytest.mark.parametrize("label", ["0.4", "0.5", "0.5 sharded"])
def test_ngff_zarr_validates(written_layouts, label) -> None:
    image = read_with_ngff_zarr(written_layouts[label])  # with validate=True
    assert image.axes == [(name, "micrometer") for name in "zyx"]
    assert len(image.shapes) == LEVELS


def test_full_size_figure_is_drawn(chapter) -> None:
    assert chapter.images("claim-full-size-figure") == 1
    titles = [ax["title"] for figure in chapter.figures for ax in figure["axes"]]
    title = "Files per level of the full-size heart (8839 × 7641 × 7641 voxels)"
    assert title in titles


def test_race_paragraph_names_versions(chapter) -> None:
    prose = " ".join(chapter.markdown().split())
    assert (
        "since dask 2025.11.0, `dask.array.to_zarr` into an existing sharded" in prose
    )
    assert "is not in dask 2026.8.0, the version this book runs" in prose
    from importlib.metadata import version

    assert version("dask") == "2026.8.0"
    assert '"overwrites all but the last object written"' in prose


def test_conditional_writes_and_why_task_design(chapter) -> None:
    """S3's If-Match would detect a lost shard update; zarr-python and s3fs
    do not send it on writes (checked in the installed sources)."""
    import inspect

    import s3fs
    import zarr.storage._fsspec as fsspec_store

    prose = " ".join(chapter.markdown().split())
    assert "`If-Match`" in prose and "`412 Precondition Failed`" in prose
    assert "the book relies on task design" in prose
    assert "IfMatch" not in inspect.getsource(fsspec_store)
    writes = inspect.getsource(s3fs.core.S3FileSystem._pipe_file)
    assert '"IfNoneMatch": "*"' in writes and "IfMatch" not in writes
    assert f"s3fs {s3fs.__version__}" in prose
