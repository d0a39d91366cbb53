"""A reader's first hour with the converter (issue 31): every bad argument is
refused in one line before anything is written, a rerun that differs names
what differs and the rerun that keeps the work, the summary names the voxel
size, and small things (hidden files, a missing folder, plurals, ``check`` on
an unfinished conversion)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import tifffile
import zarr

from data_helpers.check import CheckError, check_image
from data_helpers.check.cli import main as check_main
from data_helpers.convert import STATE_FOLDER, Plan, convert_stack, main
from data_helpers.convert.run import CHUNK_BYTES, check_plan, largest_chunks
from data_helpers.wording import count
from tests.convert.helpers import random_volume, write_slices

SHAPE = (10, 20, 30)  # level 5 is the first of one voxel: (1, 1, 1)


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> tuple[Path, np.ndarray]:
    """Slices of uint16 voxels: 2 bytes each."""
    folder = tmp_path_factory.mktemp("stack") / "slices"
    volume = random_volume(SHAPE, seed=3)
    write_slices(folder, volume)
    return folder, volume


def run_main(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def refused(capsys, output: Path, *args) -> str:
    """The one line of ``error: ...`` the command prints; nothing was written."""
    parent = output.parent
    before = sorted(parent.rglob("*")) if parent.exists() else None
    code, out, err = run_main(capsys, *args)
    assert (code, out) == (2, ""), err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    after = sorted(parent.rglob("*")) if parent.exists() else None
    assert after == before, "something was written"
    return err


# --------------------------------------------------------------------------
# 1. Every argument checked before any work
# --------------------------------------------------------------------------


def test_chunks_the_codec_cannot_compress_are_refused(tmp_path, capsys, stack):
    """``--chunks 1024`` of uint16 is 2 GiB a chunk, 16 bytes past Blosc's limit:
    refused in one line (it was an 88-line traceback, after 2 GB of work)."""
    out = tmp_path / "out.ome.zarr"
    err = refused(capsys, out, stack[0], out, "--chunks", "1024")
    assert "--chunks 1024" in err and "2,147,483,648 bytes of uint16" in err
    assert "use --chunks 1022 or less" in err
    assert not out.exists()
    # the same chunks with a format 3 output and shards
    args = ["--chunks", "1024", "--zarr-format", "3", "--shards", "2048"]
    assert "--chunks 1024" in refused(capsys, out, stack[0], out, *args)
    assert not out.exists()


@pytest.mark.parametrize("itemsize", [1, 2, 4, 8])
def test_largest_chunks_is_the_largest_even_edge_that_fits(itemsize) -> None:
    edge = largest_chunks(itemsize)
    assert edge % 2 == 0 and edge**3 * itemsize <= CHUNK_BYTES
    assert (edge + 2) ** 3 * itemsize > CHUNK_BYTES


def test_shards_may_exceed_the_codec_limit() -> None:
    """Only chunks are compressed: a shard is its chunks' compressed bytes and
    an index of 64-bit offsets (a shard of 2,147,483,716 bytes was written and
    read back once, with 6 GB of memory: too much for a test)."""
    plan = Plan(
        shape=(4096,) * 3,
        dtype="uint8",
        chunks=(128,) * 3,
        levels=2,
        zarr_format=3,
        shards=(2048,) * 3,  # 8 GiB of voxels a shard
    )
    check_plan(plan)  # no error
    with pytest.raises(ValueError, match="--chunks 2048"):
        check_plan(Plan(shape=(4096,) * 3, dtype="uint8", chunks=(2048,) * 3, levels=2))


def test_levels_past_one_voxel_are_refused(tmp_path, capsys, stack) -> None:
    out = tmp_path / "out.ome.zarr"
    err = refused(capsys, out, stack[0], out, "--levels", "12", "--chunks", "4")
    assert "--levels 12" in err and "level 5 is one voxel" in err
    assert "--levels 6 or fewer" in err
    assert not out.exists()
    err = refused(capsys, out, stack[0], out, "--levels", "7", "--chunks", "4")
    assert "--levels 6 or fewer" in err
    # six levels: the last, and only the last, is one voxel
    result = convert_stack(stack[0], out, chunks=4, levels=6, progress=False)
    assert result.level_shapes[-2:] == [(1, 2, 2), (1, 1, 1)]


def test_a_file_given_for_the_slices_folder(tmp_path, capsys, stack) -> None:
    out = tmp_path / "out.ome.zarr"
    first = stack[0] / "slice_0.tif"
    err = refused(capsys, out, first, out)
    assert f"{str(first)!r} is a file" in err
    assert f"give the folder that holds the slices, such as {str(stack[0])!r}" in err
    assert not out.exists()


def test_a_file_given_for_the_output(tmp_path, capsys, stack) -> None:
    out = tmp_path / "out.ome.zarr"
    out.write_text("a file")
    assert "exists and is a file" in refused(capsys, out, stack[0], out)
    assert out.read_text() == "a file"


# --------------------------------------------------------------------------
# 2. A rerun that differs: what differs, and the rerun that keeps the work
# --------------------------------------------------------------------------


def partial(stack, out: Path, **options) -> None:
    """An interrupted conversion: two tasks done."""
    convert_stack(stack[0], out, max_tasks=2, progress=False, **options)
    assert (out / STATE_FOLDER / "manifest.json").is_file()


def test_a_forgotten_voxel_size_is_named_with_the_rerun_that_resumes(
    tmp_path, capsys, stack
) -> None:
    out = tmp_path / "out.ome.zarr"
    partial(stack, out, chunks=4, voxel_size=(2, 0.65, 0.65))
    err = refused(capsys, out, stack[0], out, "--chunks", "4")
    assert "other slices or with other options" in err
    assert "--voxel-size 2 0.65 0.65 -> 1 1 1" in err
    assert "rerun with --voxel-size 2 0.65 0.65 to resume it" in err
    assert "--overwrite to start again" in err
    assert "--chunks" not in err  # only what differs
    # the rerun it offers resumes
    code, stdout, _ = run_main(
        capsys, stack[0], out, "--chunks", "4", "--voxel-size", "2", "0.65", "0.65"
    )
    assert code == 0 and "converted" in stdout and "2 already done" in stdout


def test_every_option_that_differs_is_named(tmp_path, capsys, stack) -> None:
    out = tmp_path / "out.ome.zarr"
    partial(stack, out, chunks=4, unit="nm", ome_zarr_version="0.4")  # unsharded
    err = refused(capsys, out, stack[0], out, "--chunks", "8", "--zarr-format", "3")
    for change in (
        "--unit nanometer -> micrometer",
        "--chunks 4 -> 8",
        "--levels 4 -> 3",  # the default levels of 8^3 chunks
        "--ome-zarr-version 0.4 -> 0.5",  # what --zarr-format 3 stands for
    ):
        assert change in err
    assert "--zarr-format" not in err  # the version says the format
    rerun = "rerun with --unit nanometer --chunks 4 --levels 4 --ome-zarr-version 0.4"
    assert rerun in err
    args = ["--chunks", "4", "--unit", "nm", "--zarr-format", "3", "--shards", "8"]
    err = refused(capsys, out, stack[0], out, *args)
    assert "--shards none -> 8" in err and "without --shards" in err


def test_other_slices_are_named_by_shape_and_dtype(tmp_path, capsys, stack) -> None:
    out = tmp_path / "out.ome.zarr"
    partial(stack, out, chunks=4)
    other = tmp_path / "other"
    write_slices(other, random_volume((10, 20, 31), seed=4, dtype="uint8"))
    err = refused(capsys, out, other, out, "--chunks", "4")
    assert "slices' shape 10 x 20 x 30 -> 10 x 20 x 31" in err
    assert "slices' dtype uint16 -> uint8" in err
    assert "give the slices it was made from, or pass --overwrite" in err


def test_a_finished_conversion_says_how_to_keep_it(tmp_path, capsys, stack) -> None:
    """A finished output keeps no manifest: its metadata says its options."""
    out = tmp_path / "out.ome.zarr"
    options = dict(chunks=4, voxel_size=(2, 1, 1), zarr_format=3, shards=8)
    convert_stack(stack[0], out, progress=False, **options)
    args = ["--chunks", "4", "--zarr-format", "3", "--shards", "8"]
    err = refused(capsys, out, stack[0], out, *args)
    assert "already holds a finished conversion" in err
    assert "(before -> now: --voxel-size 2 1 1 -> 1 1 1)" in err
    assert "rerun with --voxel-size 2 1 1 to keep it as it is" in err
    code, stdout, _ = run_main(capsys, stack[0], out, *args, "--voxel-size", 2, 1, 1)
    assert code == 0 and "nothing to do" in stdout


# --------------------------------------------------------------------------
# 3. The summary names the voxel size, and the default
# --------------------------------------------------------------------------


def test_summary_names_the_voxel_size_and_the_default(tmp_path, capsys, stack):
    code, stdout, _ = run_main(capsys, stack[0], tmp_path / "a.ome.zarr")
    assert code == 0
    assert (
        "; voxel size 1 x 1 x 1 micrometer (the default: pass --voxel-size Z Y X);"
        in stdout
    )
    args = [stack[0], tmp_path / "b.ome.zarr", "--voxel-size", "1", "1", "1"]
    code, stdout, _ = run_main(capsys, *args)
    assert code == 0 and "; voxel size 1 x 1 x 1 micrometer; " in stdout
    args = [stack[0], tmp_path / "c.ome.zarr", "--voxel-size", "4", "0.65", "0.65"]
    code, stdout, _ = run_main(capsys, *args, "--unit", "nm")
    assert code == 0 and "; voxel size 4 x 0.65 x 0.65 nanometer; " in stdout


def test_label_summary_names_the_image_voxel_size(tmp_path, stack) -> None:
    image = tmp_path / "image.ome.zarr"
    convert_stack(stack[0], image, chunks=8, voxel_size=(3, 2, 2), progress=False)
    labels = tmp_path / "labels"
    write_slices(labels, (stack[1] % 3).astype("uint8"))
    result = convert_stack(labels, image, chunks=8, labels="cells", progress=False)
    assert "; voxel size 3 x 2 x 2 micrometer; " in result.summary()


# --------------------------------------------------------------------------
# 4. Small things
# --------------------------------------------------------------------------


def test_one_missing_folder_is_made_and_named(tmp_path, capsys, stack) -> None:
    out = tmp_path / "results" / "out.ome.zarr"
    code, stdout, _ = run_main(capsys, stack[0], out)
    assert code == 0 and out.is_dir()
    assert stdout.rstrip().endswith(f"; made the folder {str(out.parent)!r}")
    # two missing folders are more likely a mistyped path: refused
    out = tmp_path / "new" / "today" / "out.ome.zarr"
    err = refused(capsys, out, stack[0], out)
    assert f"its folder {str(out.parent)!r} does not exist" in err
    assert not (tmp_path / "new").exists()


def test_hidden_files_are_skipped_and_counted(tmp_path, capsys) -> None:
    folder = tmp_path / "slices"
    volume = random_volume((4, 8, 8), seed=5, dtype="uint8")
    write_slices(folder, volume)
    (folder / "._slice_0.tif").write_bytes(b"\x00\x05\x16\x07AppleDouble")
    (folder / ".slice_9.tif").write_bytes(b"not a slice")
    out = tmp_path / "out.ome.zarr"
    code, stdout, err = run_main(capsys, folder, out)
    assert code == 0, err
    assert "skipped 2 hidden files (._slice_0.tif, .slice_9.tif)" in stdout
    assert np.array_equal(zarr.open_array(out / "0", mode="r")[:], volume)
    code, stdout, _ = run_main(capsys, folder, out)  # nothing to do: said again
    assert "nothing to do; skipped 2 hidden files" in stdout


def test_check_names_an_unfinished_conversion(tmp_path, capsys, stack) -> None:
    out = tmp_path / "out.ome.zarr"
    partial(stack, out, chunks=4)
    message = "unfinished conversion: rerun the converter (the same command) to finish"
    with pytest.raises(CheckError, match=re.escape(message)):
        check_image(out)
    assert check_main([str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("n", "words"),
    [(0, "0 chunks"), (1, "1 chunk"), (2, "2 chunks"), (1024, "1,024 chunks")],
)
def test_count(n, words) -> None:
    assert count(n, "chunk") == words
    assert count(1, "axis", "axes") == "1 axis" and count(3, "axis", "axes") == "3 axes"


def test_one_of_a_kind_is_singular(tmp_path, capsys) -> None:
    """``1 level``, ``1 task``, ``1 page``, ``1 chunk``: never ``1 pages``."""
    folder = tmp_path / "slices"
    write_slices(folder, random_volume((2, 4, 4), seed=6, dtype="uint8"))
    out = tmp_path / "out.ome.zarr"
    code, stdout, _ = run_main(capsys, folder, out)
    assert code == 0 and "; 1 level (2, 4, 4) uint8;" in stdout
    assert "; 1 task run, 0 already done;" in stdout
    text = check_image(out).text()
    # the default (OME-Zarr 0.5) is sharded: one shard of one chunk
    assert ", 1 level\n" in text and "1/1 shard stored" in text
    rgb = tmp_path / "rgb"
    rgb.mkdir()
    tifffile.imwrite(rgb / "slice_0.tif", np.zeros((4, 4, 3), "uint8"))
    err = refused(capsys, tmp_path / "rgb.ome.zarr", rgb, tmp_path / "rgb.ome.zarr")
    assert "(shape (4, 4, 3), 1 page)" in err
