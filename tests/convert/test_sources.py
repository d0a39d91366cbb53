"""Reading the slices (sources/): TIFF slices read by rows, and JPEG 2000 slices
decoded once into scratch copies, giving the same image."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import tifffile
import zarr

from data_helpers.convert import STATE_FOLDER, convert_stack, natural_key
from data_helpers.convert.sources import jpeg2k
from tests.convert.helpers import (
    assert_refused,
    cli,
    kill_once,
    levels_of,
    open_in_readers,
    random_volume,
    run_main,
    write_jp2_slices,
    write_slices,
)

# --------------------------------------------------------------------------
# TIFF slices (sources/slices.py)
# --------------------------------------------------------------------------


def test_natural_order() -> None:
    names = ["slice_10.tif", "slice_2.tif", "slice_1.tif"]
    assert sorted(names, key=natural_key) == [
        "slice_1.tif",
        "slice_2.tif",
        "slice_10.tif",
    ]


def test_compressed_tiled_slices_read_the_same(tmp_path, odd_stack) -> None:
    """Slices tifffile must decode (compressed, tiled) give the same level 0."""
    volume = odd_stack[1]
    write_slices(tmp_path / "in", volume, tile=(16, 16), compression="zlib")
    convert_stack(tmp_path / "in", tmp_path / "out.zarr", chunks=16, progress=False)
    assert np.array_equal(levels_of(tmp_path / "out.zarr")[0], volume)


def test_missing_and_empty_folders(tmp_path, capsys) -> None:
    out = tmp_path / "out.ome.zarr"
    assert_refused(
        capsys, out, [tmp_path / "nowhere", out], "nowhere", "does not exist"
    )
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no slices here")
    assert_refused(capsys, out, [tmp_path / "empty", out], "empty", "no *.tif")


def test_unreadable_tiff(tmp_path, capsys) -> None:
    write_slices(tmp_path / "in", random_volume((3, 8, 8)))
    (tmp_path / "in" / "slice_1.tif").write_bytes(b"not a tiff at all")
    out = tmp_path / "out.ome.zarr"
    assert_refused(
        capsys, out, [tmp_path / "in", out], "slice_1.tif", "not a readable TIFF"
    )


@pytest.mark.parametrize(
    ("odd_one", "fragment"),
    [
        (np.zeros((8, 9), "uint16"), "(8, 9) uint16"),
        (np.zeros((8, 8), "uint8"), "uint8"),
        (np.zeros((8, 8), "int16"), "int16"),  # the same size: only a tag differs
    ],
)
def test_slices_that_differ_from_the_first(tmp_path, capsys, odd_one, fragment) -> None:
    write_slices(tmp_path / "in", random_volume((3, 8, 8)))
    tifffile.imwrite(tmp_path / "in" / "slice_2.tif", odd_one, photometric="minisblack")
    if odd_one.dtype == np.int16:
        sizes = {p.stat().st_size for p in (tmp_path / "in").iterdir()}
        assert len(sizes) == 1  # so the header bytes, not the size, tell it apart
    out = tmp_path / "out.ome.zarr"
    assert_refused(
        capsys,
        out,
        [tmp_path / "in", out],
        "slice_2.tif",
        fragment,
        "first slice 'slice_0.tif'",
    )


def test_slices_of_the_first_ones_layout_are_not_parsed_again(
    tmp_path, monkeypatch
) -> None:
    """Slices with the first one's size and header bytes get its layout without
    tifffile (0.5 ms a slice); one with other header bytes is parsed."""
    from data_helpers.convert.sources import slices as module

    volume = random_volume((6, 40, 30), seed=6)
    write_slices(tmp_path / "in", volume)
    tifffile.imwrite(  # the same pixels and size, another description
        tmp_path / "in" / "slice_4.tif", volume[4], description="other"
    )
    parsed = [module.inspect_slice(p)[2] for p in module.find_slices(tmp_path / "in")]
    opened: list[str] = []
    tiff_file = tifffile.TiffFile

    def counting(path, *args, **kwargs):
        opened.append(Path(path).name)
        return tiff_file(path, *args, **kwargs)

    monkeypatch.setattr(module.tifffile, "TiffFile", counting)
    shape, dtype, slices = module.inspect_slices(tmp_path / "in")
    assert (shape, dtype) == ((6, 40, 30), np.uint16)
    assert opened == ["slice_0.tif", "slice_4.tif"]
    assert slices == parsed
    assert parsed[4].offset != parsed[0].offset  # its own layout, not the first's
    for plane, info in zip(volume, slices, strict=True):
        window = np.empty((40, 30), "uint16")
        module.read_window(window, info, 0, 0, 30)
        assert np.array_equal(window, plane)


# --------------------------------------------------------------------------
# JPEG 2000 slices (sources/jpeg2k.py): decoded once, the same output
# --------------------------------------------------------------------------


SHAPE = (40, 40, 56)


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
