"""The resume decision (resume.py): resume after a kill, refuse a mismatch, and
``--overwrite`` deleting only what a conversion wrote."""

from __future__ import annotations

import json
import os

import numpy as np
import tifffile
import zarr

from data_helpers.convert import STATE_FOLDER, Plan, convert_stack, default_levels
from tests.convert.helpers import (
    assert_refused,
    chunk_files,
    cli,
    kill_once,
    random_volume,
    run_main,
    write_slices,
)


def test_resume_after_sigkill_gives_identical_output(tmp_path) -> None:
    volume = random_volume((64, 64, 48), seed=5)
    write_slices(tmp_path / "in", volume, rowsperstrip=8)
    reference = tmp_path / "reference" / "image.ome.zarr"
    reference.parent.mkdir()
    # OME-Zarr 0.4 (Zarr format 2): a file per chunk, named below by the block
    # tasks that wrote it (the default, 0.5, would put them in shards)
    v04 = {"ome_zarr_version": "0.4"}
    convert_stack(tmp_path / "in", reference, chunks=8, progress=False, **v04)

    output = tmp_path / "image.ome.zarr"
    done = output / STATE_FOLDER / "done"
    args = ["--chunks", "8", "--ome-zarr-version", "0.4"]
    process = cli(str(tmp_path / "in"), str(output), *args, slow=True)
    kill_once(process, lambda: len(list(done.iterdir())) if done.is_dir() else 0, 3)
    finished_before = {p.name: p.stat().st_mtime_ns for p in done.iterdir()}
    total = len(
        Plan(
            shape=(64, 64, 48),
            dtype="uint16",
            chunks=(8,) * 3,
            levels=default_levels((64, 64, 48), 8),
        ).tasks()
    )
    assert 3 <= len(finished_before) < total
    # Killed: not a valid-looking image yet (no multiscales metadata).
    assert "multiscales" not in zarr.open_group(output, mode="r").attrs

    # Level-0 chunk files of finished block tasks (block-i-j-k: chunk 2i+a, ...).
    blocks = [
        tuple(int(n) for n in name.split("-")[1:])
        for name in finished_before
        if name.startswith("block")
    ]
    untouched = {
        path: path.stat().st_mtime_ns
        for i, j, k in blocks
        for a, b, c in np.ndindex(2, 2, 2)
        if (
            path := output / "0" / str(2 * i + a) / str(2 * j + b) / str(2 * k + c)
        ).is_file()
    }
    assert untouched
    result = convert_stack(tmp_path / "in", output, chunks=8, progress=False, **v04)
    assert result.finished
    assert result.tasks_skipped == len(finished_before)
    assert result.tasks_run == total - len(finished_before)
    for path, mtime in untouched.items():  # finished tasks were not redone
        assert path.stat().st_mtime_ns == mtime, path
    assert chunk_files(output) == chunk_files(reference)
    assert not (output / STATE_FOLDER).exists()

    again = cli(str(tmp_path / "in"), str(output), *args)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0
    assert "nothing to do" in out and out.count("\n") == 1


def test_stopping_after_some_tasks_then_resuming(odd_stack, odd_output, tmp_path):
    output = tmp_path / odd_output.name
    first = convert_stack(odd_stack[0], output, chunks=16, max_tasks=2, progress=False)
    assert not first.finished and first.tasks_run == 2
    assert "rerun to resume" in first.summary()
    second = convert_stack(odd_stack[0], output, chunks=16, progress=False)
    assert second.finished and second.tasks_skipped == 2
    assert second.tasks_run == second.tasks_total - 2
    assert chunk_files(output) == chunk_files(odd_output)


# --------------------------------------------------------------------------
# Outputs that cannot be used as they are: one line, exit 2, nothing written
# --------------------------------------------------------------------------


def test_output_that_is_something_else(tmp_path, capsys, odd_stack) -> None:
    out = tmp_path / "out.ome.zarr"
    out.mkdir()
    (out / "thesis.txt").write_text("precious")
    assert_refused(
        capsys,
        out,
        [odd_stack[0], out],
        "out.ome.zarr",
        "is not a conversion",
        "--overwrite",
    )
    # --overwrite never deletes a folder that is not Zarr data
    assert_refused(
        capsys, out, [odd_stack[0], out, "--overwrite"], "Refusing to delete"
    )


def test_output_of_other_input_needs_overwrite(tmp_path, capsys, odd_stack, odd_output):
    import shutil

    out = tmp_path / "copy.ome.zarr"
    shutil.copytree(odd_output, out)
    assert_refused(
        capsys,
        out,
        [odd_stack[0], out, "--chunks", "8"],
        "copy.ome.zarr",
        "other slices or with other options",
    )
    code, stdout, _ = run_main(
        capsys, odd_stack[0], out, "--chunks", "8", "--overwrite"
    )
    assert code == 0 and "converted" in stdout


def test_overwrite_refuses_zarr_metadata_beside_other_files(
    tmp_path, capsys, odd_stack
) -> None:
    """A ``.zgroup`` does not make the folder a conversion's: --overwrite
    refuses, naming thesis.txt, and deletes neither file."""
    out = tmp_path / "out.ome.zarr"
    out.mkdir()
    (out / ".zgroup").write_text('{"zarr_format": 2}')
    (out / "thesis.txt").write_text("precious")
    assert_refused(
        capsys,
        out,
        [odd_stack[0], out, "--overwrite"],
        "Refusing to delete",
        "thesis.txt",
    )
    assert (out / "thesis.txt").read_text() == "precious"
    assert (out / ".zgroup").read_text() == '{"zarr_format": 2}'


def test_overwrite_keeps_a_finished_conversion_with_notes_added(
    tmp_path, capsys, odd_stack, odd_output
) -> None:
    """A finished conversion beside notes.txt the reader added: --overwrite
    refuses, naming notes.txt, and keeps the notes and the old image."""
    import shutil

    out = tmp_path / "image.ome.zarr"
    shutil.copytree(odd_output, out)
    (out / "notes.txt").write_text("scanned on Tuesday")
    before = chunk_files(out)
    assert_refused(
        capsys,
        out,
        [odd_stack[0], out, "--chunks", "8", "--overwrite"],
        "Refusing to delete",
        "notes.txt",
    )
    assert (out / "notes.txt").read_text() == "scanned on Tuesday"
    assert chunk_files(out) == before  # every level and metadata file as it was


def test_resume_of_other_blocks_is_refused(tmp_path, capsys, odd_stack) -> None:
    """A done marker names a block task; an interrupted output whose blocks
    were cut otherwise (an older converter) is refused, not resumed wrongly."""

    out = tmp_path / "out.ome.zarr"
    convert_stack(odd_stack[0], out, chunks=8, max_tasks=2, progress=False)
    path = out / STATE_FOLDER / "manifest.json"
    manifest = json.loads(path.read_text())
    # what Plan.block_shape() says of the default's shards of 16^3 (2 x 2 x 2
    # chunks): 2 shards along z and y, x's 65 rounded up to 2 shards (96)
    assert manifest["block"] == [32, 32, 96]
    manifest["block"] = [16, 16, 16]
    path.write_text(json.dumps(manifest))
    assert_refused(capsys, out, [odd_stack[0], out, "--chunks", "8"], "other options")


def test_output_that_cannot_be_written(tmp_path, capsys, odd_stack) -> None:
    out = tmp_path / "no" / "such" / "folder" / "out.ome.zarr"
    assert_refused(
        capsys, out, [odd_stack[0], out], "cannot be written", str(out.parent)
    )
    # A parent that is a file cannot hold the output, whoever runs the test
    # (a read-only folder would not stop root, who runs CI).
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = blocker / "out.ome.zarr"
    assert_refused(capsys, out, [odd_stack[0], out], "cannot be written")
    assert blocker.read_text() == "not a folder"


def test_slice_changed_or_missing_before_resume(tmp_path, capsys) -> None:
    volume = random_volume((12, 16, 16), seed=2)
    paths = write_slices(tmp_path / "in", volume)
    out = tmp_path / "out.ome.zarr"
    convert_stack(tmp_path / "in", out, chunks=4, max_tasks=1, progress=False)
    tifffile.imwrite(paths[5], volume[5] + 1)
    os.utime(paths[5], ns=(0, 10**9))
    assert_refused(
        capsys,
        out,
        [tmp_path / "in", out, "--chunks", "4"],
        "slice_5.tif",
        "changed",
        "--overwrite",
    )
    paths[5].unlink()
    assert_refused(
        capsys, out, [tmp_path / "in", out, "--chunks", "4"], "slice_5.tif", "missing"
    )
