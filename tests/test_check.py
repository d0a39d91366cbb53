"""Tests for data_helpers.check: each problem planted on a good image is found."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import tifffile
import zarr
from scipy import ndimage

import data_helpers.ome  # noqa: F401  (before pydantic_zarr.v3: see its comment)
from data_helpers.check import CheckError, block_mean, check_image, main
from data_helpers.convert import convert_stack
from data_helpers.pyramid import downsample_mean
from data_helpers.serve import FolderServer

SHAPE = (37, 48, 53)  # odd lengths: edges of every kind
# z voxels 1.5 times y and x: less than twice, so every level halves z too
# (data_helpers.factors.next_factors), and scales differ per axis.
VOXEL = (1.5, 1.0, 1.0)


def smooth_volume(shape=SHAPE, seed: int = 0) -> np.ndarray:
    """A smooth uint16 volume, like a scan: downsampling methods agree on it."""
    noise = np.random.default_rng(seed).normal(size=shape)
    smooth = ndimage.gaussian_filter(noise, 4)
    return (30000 + smooth / smooth.std() * 8000).clip(0, 65535).astype("uint16")


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[str, Path]:
    """Good images: the converter's (0.4, 0.5 sharded), ome-zarr-py's, ngff-zarr's."""
    import ngff_zarr
    from ome_zarr.format import FormatV04
    from ome_zarr.writer import write_image

    root = tmp_path_factory.mktemp("images")
    volume = smooth_volume()
    slices = root / "slices"
    slices.mkdir()
    for z, plane in enumerate(volume):
        tifffile.imwrite(slices / f"slice_{z}.tif", plane)
    paths = {}
    for name, options in {
        "book-0.4": {"ome_zarr_version": "0.4"},
        "book-0.5-sharded": {"zarr_format": 3, "shards": 16},
    }.items():
        paths[name] = root / f"{name}.ome.zarr"
        convert_stack(
            slices, paths[name], chunks=8, voxel_size=VOXEL, progress=False, **options
        )
    # ome-zarr-py with its defaults: OME-Zarr 0.5, four halvings of y and x only.
    paths["ome-zarr-py"] = root / "ome-zarr-py.ome.zarr"
    write_image(volume, str(paths["ome-zarr-py"]), axes="zyx")
    # ... and 0.4 with z halved too, as the book's appendix writes it.
    paths["ome-zarr-py-0.4"] = root / "ome-zarr-py-0.4.ome.zarr"
    factors = [{"x": 2, "y": 2, "z": 2}, {"x": 4, "y": 4, "z": 4}]
    write_image(
        volume,
        str(paths["ome-zarr-py-0.4"]),
        axes="zyx",
        fmt=FormatV04(),
        scale_factors=factors,
    )
    # ngff-zarr's default method (Gaussian), with levels (the default makes one
    # level of an image this small), in 0.5 (its default) and 0.4.
    image = ngff_zarr.to_ngff_image(volume, dims=("z", "y", "x"))
    with warnings.catch_warnings():
        # itkwasm 1.0b201 (ngff-zarr's Gaussian) sets array.shape, which NumPy
        # 2.5 deprecates: not ours to fix, and harmless here.
        warnings.filterwarnings("ignore", "Setting the shape", DeprecationWarning)
        multiscales = ngff_zarr.to_multiscales(image, scale_factors=[2, 4], chunks=16)
        paths["ngff-zarr"] = root / "ngff-zarr.ome.zarr"
        ngff_zarr.to_ngff_zarr(str(paths["ngff-zarr"]), multiscales)
        paths["ngff-zarr-0.4"] = root / "ngff-zarr-0.4.ome.zarr"
        ngff_zarr.to_ngff_zarr(str(paths["ngff-zarr-0.4"]), multiscales, version="0.4")
        paths["ngff-zarr-defaults"] = root / "ngff-zarr-defaults.ome.zarr"
        ngff_zarr.to_ngff_zarr(
            str(paths["ngff-zarr-defaults"]), ngff_zarr.to_multiscales(image)
        )
    return paths


@pytest.fixture
def copy_of(images, tmp_path) -> Callable[[str], Path]:
    """A private copy of a good image, to damage."""

    def copy(name: str) -> Path:
        target = tmp_path / f"copy-of-{name}.ome.zarr"
        shutil.copytree(images[name], target)
        return target

    return copy


def run(path: Path | str, *options: str) -> tuple[int, str, str]:
    """Run the command in a new process: exit status, stdout, stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "data_helpers.check", str(path), *options],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode, done.stdout, done.stderr


def problem_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("PROBLEM ")]


def edit_json(path: Path, change: Callable[[dict], None]) -> None:
    metadata = json.loads(path.read_text())
    change(metadata)
    path.write_text(json.dumps(metadata))


def multiscales(metadata: dict) -> dict:
    """The multiscales entry of a .zattrs or zarr.json document."""
    attributes = metadata.get("attributes", metadata)
    return attributes.get("ome", attributes)["multiscales"][0]


def group_json(path: Path) -> Path:
    return path / "zarr.json" if (path / "zarr.json").exists() else path / ".zattrs"


# --------------------------------------------------------------------------
# Clean images pass
# --------------------------------------------------------------------------

CLEAN = [
    "book-0.4",
    "book-0.5-sharded",
    "ome-zarr-py",
    "ome-zarr-py-0.4",
    "ngff-zarr",
    "ngff-zarr-0.4",
    "ngff-zarr-defaults",
]


@pytest.mark.parametrize("name", CLEAN)
def test_clean_images_pass(images, name: str, capsys) -> None:
    assert main([str(images[name]), "--deep", "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert problem_lines(out) == []
    assert out.rstrip().endswith(
        "no problems found (metadata, array headers and every chunk)"
    )


def test_summary_of_the_converters_images(images) -> None:
    result = check_image(images["book-0.4"])
    summary = result.summary
    assert (summary.ome_version, summary.zarr_format) == ("0.4", 2)
    assert summary.axes == (("z", "space", "micrometer"),) * 1 + (
        ("y", "space", "micrometer"),
        ("x", "space", "micrometer"),
    )
    level1 = summary.levels[1]
    assert (level1.path, level1.shape, level1.dtype) == ("1", (19, 24, 27), "uint16")
    assert (level1.chunks, level1.shards) == ((8, 8, 8), None)
    assert level1.scale == (3.0, 2.0, 2.0) and level1.translation == (0.75, 0.5, 0.5)
    assert level1.stored == level1.in_grid == 3 * 3 * 4
    assert level1.bytes_stored == sum(
        p.stat().st_size for p in (images["book-0.4"] / "1").rglob("*") if p.is_file()
    )
    assert "blosc(zstd)" in level1.codecs
    sharded = check_image(images["book-0.5-sharded"]).summary
    assert (sharded.ome_version, sharded.zarr_format) == ("0.5", 3)
    assert sharded.levels[0].shards == (16, 16, 16)
    assert sharded.levels[0].stored == sharded.levels[0].in_grid == 3 * 3 * 4
    text = result.text()
    assert "level 1: (19, 24, 27) uint16, chunks (8, 8, 8)" in text
    assert "36/36 chunks stored" in text
    assert result.exit_code == 0 and result.problems == []


def test_other_methods_are_information_not_problems(images) -> None:
    """ngff-zarr's Gaussian pyramid is a downsampled copy, not the block mean."""
    result = check_image(images["ngff-zarr"], deep=True)
    assert result.problems == []
    said = [i.message for i in result.information]
    assert len(said) == 2 and all("not the exact block mean" in m for m in said)
    book = check_image(images["book-0.4"], deep=True)
    assert book.information == []  # the converter writes the exact block mean


def test_json_output(images, copy_of) -> None:
    status, out, err = run(images["book-0.5-sharded"], "--json")
    assert (status, err) == (0, "")
    report = json.loads(out)
    assert report["problems"] == [] and report["ome_version"] == "0.5"
    assert report["levels"][0]["shards"] == [16, 16, 16]
    damaged = copy_of("book-0.4")
    zarr.open_array(damaged / "1", mode="r+").resize((15, 24, 27))
    status, out, err = run(damaged, "--json")
    assert status == 1 and err == ""
    (problem,) = json.loads(out)["problems"]
    assert (
        problem["where"] == "level 1"
        and "disagrees with its scale" in (problem["message"])
    )


# --------------------------------------------------------------------------
# Each problem, planted on a copy of a good image
# --------------------------------------------------------------------------


def found(path: Path, deep: bool = False) -> list[str]:
    """The PROBLEM lines, after checking the exit status is 1."""
    result = check_image(path, deep=deep)
    assert result.exit_code == 1, result.text()
    return problem_lines(result.text())


def test_specification_rejects_the_metadata(copy_of) -> None:
    path = copy_of("book-0.4")

    def swap(metadata: dict) -> None:  # translation before scale
        dataset = multiscales(metadata)["datasets"][1]
        dataset["coordinateTransformations"].reverse()

    edit_json(path / ".zattrs", swap)
    (line,) = found(path)
    assert line.startswith(
        "PROBLEM metadata: the OME-Zarr 0.4 specification rejects it: "
        "multiscales.0.datasets.1.coordinateTransformations:"
    )


def test_a_dataset_that_is_not_an_array(copy_of) -> None:
    path = copy_of("book-0.4")
    shutil.rmtree(path / "3")
    zarr.open_group(path / "3", mode="w", zarr_format=2)  # a group, not an array
    lines = found(path)
    assert "PROBLEM level 3: the metadata lists it as a level, but it is a group, " in (
        "\n".join(lines)
    )


def test_different_dtypes(copy_of) -> None:
    path = copy_of("book-0.4")
    level = zarr.open_array(path / "2", mode="r")
    data = level[:]
    replaced = zarr.create_array(
        path / "2",
        shape=data.shape,
        chunks=level.chunks,
        dtype="float32",
        zarr_format=2,
        overwrite=True,
    )
    replaced[:] = data
    assert "PROBLEM level 2: dtype float32, but level 0 is uint16" in "\n".join(
        found(path)
    )


def test_different_numbers_of_dimensions(copy_of) -> None:
    path = copy_of("book-0.4")
    zarr.create_array(
        path / "3",
        shape=(6, 7),
        chunks=(8, 8),
        dtype="uint16",
        zarr_format=2,
        overwrite=True,
    )
    lines = "\n".join(found(path))
    assert "PROBLEM level 3: 2 dimensions, but 3 axes ('z', 'y', 'x')" in lines


def test_axes_that_do_not_match_the_arrays(copy_of) -> None:
    path = copy_of("book-0.4")
    edit_json(path / ".zattrs", lambda m: multiscales(m)["axes"].pop(0))
    lines = found(path)
    assert "PROBLEM level 0: 3 dimensions, but 2 axes ('y', 'x')" in "\n".join(lines)


def test_a_level_shape_that_disagrees_with_its_scale(copy_of) -> None:
    path = copy_of("book-0.4")
    zarr.open_array(path / "1", mode="r+").resize((15, 24, 27))
    (line,) = found(path)
    assert line == (
        "PROBLEM level 1: shape (15, 24, 27) disagrees with its scale: level 0's "
        "shape (37, 48, 53) times the scale ratio is (18.5, 24.0, 26.5); readers "
        "would place this level's voxels where the image is not."
    )


def test_floor_and_ceil_rounding_both_pass(copy_of) -> None:
    path = copy_of("book-0.4")
    zarr.open_array(path / "1", mode="r+").resize((18, 24, 26))  # floor
    assert check_image(path).problems == []


def test_scales_that_do_not_grow(copy_of) -> None:
    path = copy_of("book-0.4")

    def same_scale(metadata: dict) -> None:
        datasets = multiscales(metadata)["datasets"]
        datasets[2]["coordinateTransformations"][0]["scale"] = [3.0, 2.0, 2.0]

    edit_json(path / ".zattrs", same_scale)
    lines = "\n".join(found(path))
    assert (
        "PROBLEM level 2: scale (3.0, 2.0, 2.0) does not grow from level 1's "
        "(3.0, 2.0, 2.0)"
    ) in lines


def test_format_2_under_0_5_metadata(copy_of) -> None:
    path = copy_of("book-0.4")

    def to_0_5(metadata: dict) -> None:
        entry = metadata.pop("multiscales")
        metadata["ome"] = {"version": "0.5", "multiscales": entry}

    edit_json(path / ".zattrs", to_0_5)
    (line,) = found(path)
    assert line.startswith(
        "PROBLEM metadata: OME-Zarr 0.5 metadata in a Zarr format 2 group: "
        "OME-Zarr 0.5 needs Zarr format 3"
    )


def test_format_3_under_0_4_metadata(copy_of) -> None:
    path = copy_of("book-0.5-sharded")

    def to_0_4(metadata: dict) -> None:
        ome = metadata["attributes"].pop("ome")
        ome["multiscales"][0]["version"] = "0.4"
        metadata["attributes"]["multiscales"] = ome["multiscales"]

    edit_json(path / "zarr.json", to_0_4)
    (line,) = found(path)
    assert line.startswith(
        "PROBLEM metadata: OME-Zarr 0.4 metadata in a Zarr format 3 group"
    )


@pytest.mark.parametrize("names", [None, ["x", "y", "z"]])
def test_dimension_names_under_0_5(copy_of, names) -> None:
    path = copy_of("book-0.5-sharded")

    def rename(metadata: dict) -> None:
        if names is None:
            del metadata["dimension_names"]
        else:
            metadata["dimension_names"] = names

    edit_json(path / "1" / "zarr.json", rename)
    lines = "\n".join(found(path))
    if names is None:
        assert "PROBLEM level 1: no dimension_names: OME-Zarr 0.5 asks" in lines
    else:
        assert (
            "PROBLEM level 1: dimension_names ('x', 'y', 'z') differ from the axis "
            "names ('z', 'y', 'x')"
        ) in lines


def test_shards_that_are_not_whole_multiples_of_the_chunks(copy_of) -> None:
    path = copy_of("book-0.5-sharded")

    def uneven(metadata: dict) -> None:
        metadata["codecs"][0]["configuration"]["chunk_shape"] = [6, 6, 6]

    edit_json(path / "1" / "zarr.json", uneven)
    lines = "\n".join(found(path))
    assert (
        "PROBLEM level 1: cannot be opened as an array (Chunk edge length 16 in "
        "dimension 0 is not divisible by the shard's inner chunk size 6)"
    ) in lines


@pytest.mark.parametrize("name", ["book-0.4", "book-0.5-sharded"])
def test_deep_finds_a_chunk_cut_short(images, copy_of, name: str) -> None:
    path = copy_of(name)
    key = "0/2/1/3" if name == "book-0.4" else "0/c/1/1/1"
    stored = path / key
    stored.write_bytes(stored.read_bytes()[: stored.stat().st_size // 2])
    assert check_image(path).problems == []  # the headers are fine
    if name == "book-0.4":  # Blosc decodes this cut chunk without an error ...
        region = (slice(16, 24), slice(8, 16), slice(24, 32))
        damaged = zarr.open_array(path / "0", mode="r")[region]
        good = zarr.open_array(images[name] / "0", mode="r")[region]
        assert not np.array_equal(damaged, good)  # ... into wrong voxels
    (line,) = found(path, deep=True)
    stored_as = "chunk" if name == "book-0.4" else "shard"  # what the key names
    assert line.startswith(f"PROBLEM {stored_as} {key}: cannot be decoded (")
    assert line.endswith(
        "the stored object is cut short or corrupt, so readers fail on it or show "
        "wrong voxels."
    )


def test_deep_finds_a_level_that_is_not_a_copy(copy_of) -> None:
    path = copy_of("book-0.4")
    level = zarr.open_array(path / "3", mode="r+")
    level[:] = smooth_volume((20, 24, 28), seed=7)[::4, ::4, ::4]  # another image
    (line,) = found(path, deep=True)
    assert line.startswith(
        "PROBLEM level 3: not a downsampled copy of level 2: its correlation with "
        "the 2x2x2 block mean of level 2 is "
    )


def test_deep_finds_a_level_left_at_the_fill_value(copy_of) -> None:
    path = copy_of("book-0.5-sharded")
    shutil.rmtree(path / "3" / "c")  # the level's shards, never written
    (line,) = found(path, deep=True)
    assert line == (
        "PROBLEM level 3: every voxel is the fill value, but level 2 holds data: "
        "the level was never written, or its writes were lost."
    )


def test_block_mean_by_factors_matches_downsample_mean() -> None:
    data = smooth_volume((9, 10, 11), seed=3)
    assert np.array_equal(block_mean(data, (2, 2, 2)), downsample_mean(data))
    yx = block_mean(data, (1, 2, 2))
    assert yx.shape == (9, 5, 6)
    assert yx[4, 2, 3] == np.rint(data[4, 4:6, 6:8].mean())
    twice = block_mean(data, (4, 4, 4))
    assert np.array_equal(twice, downsample_mean(downsample_mean(data)))


# --------------------------------------------------------------------------
# Not an image: exit 2, one line, no traceback
# --------------------------------------------------------------------------


@pytest.fixture
def not_images(tmp_path) -> dict[str, Path]:
    (tmp_path / "plain-folder").mkdir()
    (tmp_path / "a-file.txt").write_text("hello")
    zarr.create_array(tmp_path / "array.zarr", shape=(4,), dtype="uint8")
    zarr.open_group(tmp_path / "group.zarr", mode="w").attrs["note"] = "no image"
    names = ["missing", "plain-folder", "a-file.txt", "array.zarr", "group.zarr"]
    return {name: tmp_path / name for name in names}


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("missing", "no such file or folder"),
        ("plain-folder", "is not a Zarr group (no zarr.json or .zgroup there)"),
        ("a-file.txt", "is not a Zarr group"),
        ("array.zarr", "is not a Zarr group"),
        ("group.zarr", "is a Zarr group without OME-Zarr multiscales metadata"),
    ],
)
def test_not_an_image_exits_2_with_one_line(not_images, name: str, says: str) -> None:
    status, out, err = run(not_images[name])
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and says in err
    assert "Traceback" not in err
    with pytest.raises(CheckError):
        check_image(not_images[name])


# --------------------------------------------------------------------------
# Over HTTP, with range requests
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(images) -> Iterator[FolderServer]:
    root = next(iter(images.values())).parent
    with FolderServer(root) as server:
        yield server


@pytest.mark.parametrize("name", CLEAN)
def test_clean_images_pass_over_http(images, served, name: str) -> None:
    result = check_image(served.url + images[name].name, deep=True, workers=2)
    assert result.problems == [], result.text()
    local = check_image(images[name], deep=True, workers=2)
    assert result.information == local.information
    level = result.summary.levels[0]
    assert level.stored is None  # a web server lists nothing
    # "1 chunk", "8 chunks" (or shards)
    in_grid = r"\d+ (chunk|shard)s? in the grid \(the store cannot list\)"
    assert re.search(in_grid, result.text())


def test_sharded_image_is_read_with_ranges(images, served) -> None:
    served.requests.clear()
    name = images["book-0.5-sharded"].name
    assert check_image(served.url + name, deep=True).problems == []
    ranges = [r for r in served.requests if r.byte_range != "all"]
    assert ranges and all(r.status == 206 for r in ranges)
    assert any(r.byte_range.startswith("-") for r in ranges)  # the shard index


def test_a_cut_chunk_is_found_over_http(copy_of, tmp_path) -> None:
    path = copy_of("book-0.4")
    stored = path / "1" / "1" / "1" / "1"
    stored.write_bytes(stored.read_bytes()[:10])
    with FolderServer(tmp_path) as server:
        status, out, _ = run(server.url + path.name, "--deep")
        missing = run(server.url + "nothing.ome.zarr")
    assert status == 1
    assert (
        problem_lines(out)
        == [
            line
            for line in problem_lines(out)
            if line.startswith("PROBLEM chunk 1/1/1/1")
        ]
        != []
    )
    assert missing[0] == 2 and missing[2].count("\n") == 1
    assert "is not a Zarr group (no zarr.json or .zgroup there)" in missing[2]


def test_progress_bar_on_long_checks(images, capsys, monkeypatch) -> None:
    """A deep check shows dask's progress bar on stderr once it runs long."""
    import data_helpers.check.deep as deep

    check_image(images["book-0.4"], deep=True, progress=True)
    assert capsys.readouterr().err == ""  # quick: no bar
    monkeypatch.setattr(deep, "PROGRESS_AFTER_SECONDS", 0.0)
    check_image(images["book-0.4"], deep=True, progress=False)
    assert capsys.readouterr().err == ""
    check_image(images["book-0.4"], deep=True, progress=True)
    assert "100% Completed" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["book-0.4", "book-0.5-sharded"])
def test_deep_reads_are_bounded_by_chunks(images, monkeypatch, name: str) -> None:
    """No read of a deep check is larger than 2x2x2 chunks, or one shard."""
    sizes: list[int] = []
    getitem = zarr.Array.__getitem__

    def recording(self, selection):
        data = getitem(self, selection)
        sizes.append(data.size)
        return data

    monkeypatch.setattr(zarr.Array, "__getitem__", recording)
    assert check_image(images[name], deep=True, workers=2).problems == []
    bound = 16**3 if name == "book-0.5-sharded" else (2 * 8) ** 3
    assert sizes and max(sizes) <= bound
    assert max(sizes) == bound  # whole blocks (shards) where the image has them


def test_bad_workers_exit_2(images) -> None:
    status, out, err = run(images["book-0.4"], "--deep", "--workers", "0")
    assert (status, out) == (2, "")
    assert err == "error: --workers 0 must be 1 or more.\n"
