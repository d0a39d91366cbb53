"""Tests for JPEG 2000 slices in data_helpers.convert: decoded once, same output."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import imagecodecs
import numpy as np
import pytest
import zarr

from data_helpers.convert import STATE_FOLDER, Plan, TaskKind, convert_stack
from data_helpers.convert.sources import jpeg2k
from tests.test_convert import (
    assert_refused,
    cli,
    kill_once,
    open_in_readers,
    random_volume,
    run_main,
    write_slices,
)

SHAPE = (40, 40, 56)


def write_jp2_slices(folder: Path, volume: np.ndarray, codec: str = "jp2") -> None:
    """One lossless JPEG 2000 file per z-slice, named as ``write_slices`` does."""
    folder.mkdir(parents=True, exist_ok=True)
    for z, plane in enumerate(volume):
        data = imagecodecs.jpeg2k_encode(plane, level=0, codecformat=codec)
        (folder / f"slice_{z}.{codec}").write_bytes(data)


@pytest.fixture(scope="module")
def stacks(tmp_path_factory) -> tuple[Path, Path]:
    """The same volume as TIFF slices and as JPEG 2000 slices."""
    root = tmp_path_factory.mktemp("stacks")
    volume = random_volume(SHAPE, seed=3)
    write_slices(root / "tiff", volume, rowsperstrip=4)
    write_jp2_slices(root / "jp2", volume)
    return root / "tiff", root / "jp2"


def image_files(path: Path) -> dict[str, bytes | dict]:
    """Every file of the image; metadata as JSON without the input fingerprint."""
    files: dict[str, bytes | dict] = {}
    for p in sorted(path.rglob("*")):
        if not p.is_file():
            continue
        name = str(p.relative_to(path))
        if p.name in (".zattrs", "zarr.json", ".zgroup", ".zarray"):
            meta = json.loads(p.read_text())
            meta.get("attributes", meta).pop("data_helpers_conversion", None)
            files[name] = meta
        else:
            files[name] = p.read_bytes()
    return files


@pytest.mark.parametrize(
    "options",
    [{}, {"zarr_format": 3, "shards": 16, "workers": 2}],
    ids=["0.4", "0.5-sharded"],
)
def test_jp2_stack_converts_to_the_same_image_as_tiff(stacks, tmp_path, options):
    tiff, jp2 = stacks
    reference, output = (tmp_path / kind / "image.ome.zarr" for kind in ("tiff", "jp2"))
    for folder in (reference, output):
        folder.parent.mkdir()
    convert_stack(tiff, reference, chunks=8, progress=False, **options)
    result = convert_stack(jp2, output, chunks=8, progress=False, **options)
    assert result.finished and result.tasks_total > SHAPE[0]  # decode tasks too
    expected = image_files(reference)
    assert len(expected) > 10
    assert image_files(output) == expected
    assert not (output / STATE_FOLDER).exists()  # the scratch copy is gone
    open_in_readers(output)


def test_j2k_codestreams_are_read_too(stacks, tmp_path) -> None:
    volume = random_volume((3, 16, 24), seed=4)
    write_jp2_slices(tmp_path / "in", volume, codec="j2k")
    convert_stack(tmp_path / "in", tmp_path / "out.ome.zarr", chunks=8, progress=False)
    assert np.array_equal(zarr.open_array(tmp_path / "out.ome.zarr" / "0")[:], volume)


def counting_decoder(monkeypatch) -> Counter:
    """Count the JPEG 2000 decodes, by slice file name."""
    counts: Counter = Counter()
    decode = jpeg2k.decode_jpeg2k

    def counted(path: str) -> np.ndarray:
        counts[Path(path).name] += 1
        return decode(path)

    monkeypatch.setattr(jpeg2k, "decode_jpeg2k", counted)
    return counts


def test_each_slice_is_decoded_exactly_once(stacks, tmp_path, monkeypatch) -> None:
    """40 rows in blocks of 16 rows: 3 block tasks read each slice."""
    counts = counting_decoder(monkeypatch)
    convert_stack(stacks[1], tmp_path / "out.ome.zarr", chunks=8, progress=False)
    assert counts == Counter({f"slice_{z}.jp2": 1 for z in range(SHAPE[0])})


def test_resume_after_sigkill_gives_identical_output(stacks, tmp_path, monkeypatch):
    tiff, jp2 = stacks
    reference = tmp_path / "reference" / "image.ome.zarr"
    reference.parent.mkdir()
    convert_stack(tiff, reference, chunks=8, progress=False)
    output = tmp_path / "image.ome.zarr"
    done = output / STATE_FOLDER / "done"
    process = cli(str(jp2), str(output), "--chunks", "8", slow=True)
    blocks = lambda: len(list(done.glob("block-*"))) if done.is_dir() else 0  # noqa: E731
    kill_once(process, blocks, 1)
    finished = {p.name for p in done.iterdir()}
    assert any(name.startswith("block") for name in finished)
    assert "multiscales" not in zarr.open_group(output, mode="r").attrs
    decoded = {n for n in finished if n.startswith("decode")}
    assert decoded

    counts = counting_decoder(monkeypatch)
    result = convert_stack(jp2, output, chunks=8, progress=False)
    assert result.finished and result.tasks_skipped == len(finished)
    # slices decoded before the kill are not decoded again
    assert set(counts) == {
        f"slice_{z}.jp2" for z in range(SHAPE[0]) if f"decode-{z}" not in decoded
    }
    assert set(counts.values()) <= {1}
    assert image_files(output) == image_files(reference)
    assert not (output / STATE_FOLDER).exists()


def test_scratch_holds_at_most_two_slabs(tmp_path) -> None:
    """Slab by slab, one task at a time: each slab's scratch copies go as soon
    as its block tasks are done, and the decodes of slab i wait for slab i - 2."""
    volume = random_volume((56, 16, 24), seed=5)  # 4 slabs of 16 slices
    write_jp2_slices(tmp_path / "in", volume)
    output = tmp_path / "out.ome.zarr"
    plan = Plan(
        shape=(56, 16, 24), dtype="uint16", chunks=(8,) * 3, levels=2, staged=True
    )
    edge = 16
    for task in plan.stage_tasks():
        slab = task.index[0] // edge
        assert task.deps == ((("free", slab - 2),) if slab >= 2 else ())
    scratch = output / STATE_FOLDER / "decoded"
    most, freed = 0, set()
    for _ in range(len(plan.tasks())):
        result = convert_stack(
            tmp_path / "in", output, chunks=8, levels=2, max_tasks=1, progress=False
        )
        if result.finished:
            break
        names = {int(p.stem) for p in scratch.glob("*.raw")}
        most = max(most, len(names))
        done = {p.name for p in (output / STATE_FOLDER / "done").iterdir()}
        for slab in range(plan.slabs()):
            if f"free-{slab}" in done:
                freed.add(slab)
                assert not names & set(range(slab * edge, (slab + 1) * edge))
    assert result.finished and freed == {0, 1, 2}  # then the last run cleared all
    assert not scratch.exists()
    assert edge <= most <= 2 * edge  # two slabs of scratch at the most
    assert np.array_equal(zarr.open_array(output / "0")[:], volume)


@pytest.mark.parametrize(
    ("damage", "fragment"),
    [
        (lambda data: b"not a jpeg 2000 file at all", "not a readable JPEG 2000"),
        (lambda data: data[: len(data) // 2], "not a readable JPEG 2000"),
        (lambda data: data[:30], "not a readable JPEG 2000"),
    ],
    ids=["corrupt", "truncated", "header-only"],
)
@pytest.mark.parametrize("codec", ["jp2", "j2k"])
def test_corrupt_and_truncated_jp2_are_refused(
    tmp_path, capsys, damage, fragment, codec
):
    """Found from the header before anything is written. A JP2 file's box
    lengths show it was cut; a bare codestream must end with EOC."""
    write_jp2_slices(tmp_path / "in", random_volume((3, 8, 8)), codec)
    path = tmp_path / "in" / f"slice_1.{codec}"
    path.write_bytes(damage(path.read_bytes()))
    out = tmp_path / "out.ome.zarr"
    assert_refused(capsys, out, [tmp_path / "in", out], path.name, fragment)


def test_damaged_codestream_stops_with_one_line(tmp_path, capsys) -> None:
    """A complete-looking file whose data does not decode: found by its decode
    task, after the output was started; one line, and no valid-looking image."""
    write_jp2_slices(tmp_path / "in", random_volume((3, 8, 8)))
    path = tmp_path / "in" / "slice_1.jp2"
    data = bytearray(path.read_bytes())
    middle = len(data) // 2 + 20
    data[middle : middle + 12] = bytes(12)  # zeros in the coded data
    path.write_bytes(bytes(data))
    out = tmp_path / "out.ome.zarr"
    code, stdout, err = run_main(capsys, tmp_path / "in", out)
    assert code == 2 and stdout == "", err
    last = err.splitlines()[-1]  # after the progress bar
    assert last.startswith("error: ") and err.count("error") == 1, err
    assert "Traceback" not in err
    assert "slice_1.jp2" in last and "not a readable JPEG 2000" in last
    assert "multiscales" not in zarr.open_group(out, mode="r").attrs


def test_mixed_tiff_and_jp2_folder_is_refused(tmp_path, capsys) -> None:
    volume = random_volume((4, 8, 8))
    write_slices(tmp_path / "in", volume[:2])
    write_jp2_slices(tmp_path / "jp2", volume[2:])
    for path in (tmp_path / "jp2").iterdir():
        path.rename(tmp_path / "in" / f"late_{path.name}")
    out = tmp_path / "out.ome.zarr"
    assert_refused(
        capsys, out, [tmp_path / "in", out], "both TIFF and JPEG 2000", "one format"
    )


def test_decode_tasks_come_slab_by_slab_and_hold_one_slice() -> None:
    """Each slab (16 slices): its decode tasks, its 4 x 3 block tasks, its free task."""
    narrow = 8 * 8 * 16  # pieces of 8 x 8 x 16 voxels at most: blocks 16 wide
    plan = Plan(
        shape=(40, 64, 48),
        dtype="uint16",
        chunks=(8,) * 3,
        levels=2,
        staged=True,
        piece_voxels=narrow,
    )
    tasks = plan.tasks()
    first = [("decode", z) for z in range(16)]
    first += [("block", 0, j, k) for j in range(4) for k in range(3)]
    assert [t.key for t in tasks[:29]] == [*first, ("free", 0)]
    assert tasks[28].deps == tuple(first[16:])
    assert tasks[29].key == ("decode", 16)
    blocks = [t for t in tasks if t.kind is TaskKind.BLOCK]
    assert blocks[0].deps == tuple(("decode", z) for z in range(16))
    assert blocks[-1].deps == tuple(("decode", z) for z in range(32, 40))
    assert plan.slabs() == 3 and [t.key for t in tasks if t.kind is TaskKind.FREE] == [
        ("free", i) for i in range(3)
    ]
    plan = Plan(
        shape=(40, 7641, 7641),
        dtype="uint16",
        chunks=(128,) * 3,
        levels=2,
        staged=True,
    )
    assert plan.task_bytes()["decode"] == 7641 * 7641 * 2
    unstaged = Plan(shape=(40, 64, 64), dtype="uint16", chunks=(8,) * 3, levels=2)
    assert "decode" not in unstaged.task_bytes()
