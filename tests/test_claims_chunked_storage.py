"""Check what the prose of book/chunked-storage.md says its cells show.

Each test reads the output of one tagged cell of the executed chapter and
compares it with a value recomputed here, independently of the chapter.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

CHAPTER = "chunked-storage"

FULL_SHAPE = (7614, 7614, 8480)  # Human Organ Atlas heart LADAF-2020-27
FULL_ITEMSIZE = 2  # uint16


@pytest.fixture(scope="module")
def chapter(executed):
    return executed(CHAPTER)


@pytest.fixture(scope="module")
def heart(chapter) -> np.ndarray:
    # the `executed` fixture has pointed data_helpers at the local data server
    from data_helpers import load_heart_data

    return load_heart_data("numpy")


def _int_after(label: str, text: str) -> list[int]:
    return [int(m) for m in re.findall(rf"{re.escape(label)}\s*(\d+)", text)]


def test_chapter_runs_quickly(chapter) -> None:
    assert chapter.seconds < 60


def test_nbytes_is_shape_times_itemsize(chapter, heart) -> None:
    out = chapter.text("claim-nbytes")
    assert "dtype: uint8" in out
    assert f"shape: {heart.shape}" in out
    assert _int_after("nbytes:", out) == [math.prod(heart.shape) * 1]
    assert _int_after("voxels:", out) == [120 * 120 * 139]


def test_bits_of_first_values(chapter, heart) -> None:
    out = chapter.text("claim-bits")
    for value in heart[60, 60, 70:74]:
        assert f"{int(value):3d} -> {int(value):08b}" in out


def test_uint16_doubles_size(chapter, heart) -> None:
    out = chapter.text("claim-uint16")
    assert f"uint16 nbytes: {2 * heart.size} = 2 x uint8" in out


def test_raw_file_is_as_large_as_the_array(chapter, heart) -> None:
    out = chapter.text("claim-raw-file")
    assert _int_after("raw file size:", out) == [heart.nbytes]
    assert "equal to nbytes: True" in out


def _codec_rows(out: str) -> dict[str, tuple[int, str]]:
    rows = {}
    for line in out.splitlines():
        m = re.match(r"(.+?)\s+(\d+)\s+([\d.]+)\s+(True|False)$", line)
        if m:
            rows[m.group(1).strip()] = (int(m.group(2)), m.group(4))
    return rows


def test_lossless_codecs_round_trip_and_shrink(chapter, heart) -> None:
    rows = _codec_rows(chapter.text("claim-codecs"))
    assert len(rows) >= 5
    for name, (size, equal) in rows.items():
        assert equal == "True", name
        assert size < heart.nbytes, name  # "every one makes it smaller"


def test_bz2_or_lzma_smallest_and_lz4_largest(chapter, heart) -> None:
    out = chapter.text("claim-codecs")
    rows = _codec_rows(out)
    sizes = {name: size for name, (size, _) in rows.items()}
    smallest = min(sizes, key=sizes.get)
    assert smallest in {"BZ2", "LZMA"}
    assert f"smallest: {smallest}" in out
    assert sorted(sizes, key=sizes.get)[:2] == sorted(["BZ2", "LZMA"], key=sizes.get)
    assert max(sizes, key=sizes.get) == "Blosc lz4"

    # recompute two of the sizes independently
    import numcodecs

    assert sizes["Zstd"] == len(numcodecs.Zstd(level=5).encode(heart))
    assert sizes["LZMA"] == len(numcodecs.LZMA().encode(heart))


def test_lossy_encodings(chapter, heart) -> None:
    out = chapter.text("claim-lossy")
    lines = [line for line in out.splitlines() if "bytes, ratio" in line]
    assert len(lines) == 2
    for line in lines:
        assert "smaller than best lossless: True" in line
        assert _int_after("max error", line)[0] > 0  # lossy really loses something
    # rounding to a multiple of 16 is off by at most 8 grey levels
    quantised = np.clip(np.round(heart / 16) * 16, 0, 255).astype(np.uint8)
    expected = int(np.abs(quantised.astype(int) - heart.astype(int)).max())
    assert expected == 8
    assert _int_after("max error", lines[0]) == [expected]


def _read_counts(out: str) -> dict[tuple[str, str], dict[str, int]]:
    results: dict[tuple[str, str], dict[str, int]] = {}
    key = None
    for line in out.splitlines():
        head = re.match(r"(\w+) chunks .*, region (\w+) ", line)
        if head:
            key = (head.group(1), head.group(2))
            results[key] = {}
            continue
        item = re.match(r"\s+(.+?): (\d+)$", line)
        if item and key:
            results[key][item.group(1)] = int(item.group(2))
    return results


def _touched(start: int, stop: int, chunk: int) -> int:
    return (stop - 1) // chunk - start // chunk + 1


def test_chunks_read_for_a_small_region(chapter) -> None:
    reads = _read_counts(chapter.text("claim-reads"))
    assert len(reads) == 4
    regions = {
        "aligned": ((32, 64), (32, 64), (64, 96)),
        "shifted": ((40, 72), (40, 72), (72, 104)),
    }
    chunks = {"slices": (120, 120, 1), "cubes": (32, 32, 32)}
    for (layout, region), got in reads.items():
        expected = math.prod(
            _touched(a, b, c)
            for (a, b), c in zip(regions[region], chunks[layout], strict=True)
        )
        assert got["chunks read"] == expected
        assert got["bytes decompressed"] == expected * math.prod(chunks[layout])
        assert got["bytes wanted"] == 32**3
        assert 0 < got["bytes read from disk"] <= got["bytes decompressed"]
    # the prose: 32 slices for any region, 1 aligned cube, 8 shifted cubes
    assert reads["slices", "aligned"]["chunks read"] == 32
    assert reads["slices", "shifted"]["chunks read"] == 32
    assert reads["cubes", "aligned"]["chunks read"] == 1
    assert reads["cubes", "shifted"]["chunks read"] == 8
    # "in both cases the cubes need fewer bytes from disk and fewer to decompress"
    for region in regions:
        for measure in ("bytes read from disk", "bytes decompressed"):
            assert reads["cubes", region][measure] < reads["slices", region][measure]


def test_full_size_arithmetic(chapter) -> None:
    out = chapter.text("claim-full-size")
    full_bytes = math.prod(FULL_SHAPE) * FULL_ITEMSIZE
    assert full_bytes == 983_222_012_160
    assert f"full image: {full_bytes} bytes = 983.2 GB" in out
    wanted = 256**3 * FULL_ITEMSIZE
    assert f"{wanted / 1e6:.1f} MB" in out  # "about 34 MB"
    assert round(wanted / 1e6) == 34

    rows = re.findall(
        r"^(.+?)\s+(aligned|worst case)\s*:\s+(\d+) chunks,\s+([\d.]+) GB", out, re.M
    )
    table = {(name.strip(), where): (int(n), float(gb)) for name, where, n, gb in rows}
    slice_bytes = FULL_SHAPE[0] * FULL_SHAPE[1] * FULL_ITEMSIZE
    assert table["slice files", "aligned"][0] == 256
    assert table["slice files", "worst case"][0] == 256
    # "tens of gigabytes"
    assert table["slice files", "aligned"][1] == pytest.approx(
        256 * slice_bytes / 1e9, abs=1e-3
    )
    assert 10 < 256 * slice_bytes / 1e9 < 100
    for side in (128, 256):
        name = f"{side}^3 chunks"
        assert table[name, "aligned"][0] == (256 // side) ** 3
        assert table[name, "aligned"][1] == pytest.approx(wanted / 1e9, abs=1e-3)
        worst = (256 // side + 1) ** 3
        assert table[name, "worst case"][0] == worst
        # "at most eight times that"
        assert worst * side**3 * FULL_ITEMSIZE <= 8 * wanted


def test_edge_chunks(chapter, heart) -> None:
    out = chapter.text("claim-edge")
    grid = tuple(math.ceil(n / 32) for n in heart.shape)
    assert grid == (4, 4, 5)
    assert f"chunk grid (cdata_shape): {grid}" in out
    assert _int_after("planes in the last chunk along z:", out) == [139 - 4 * 32]
    assert "32768 bytes decompressed, shape (32, 32, 32)" in out
    on_disk = _int_after("edge chunk file '0.0.4':", out)[0]
    assert on_disk < 32**3  # the padding compresses well
    assert "all fill value 0: True" in out


def test_pyramid_overhead(chapter) -> None:
    out = chapter.text("claim-pyramid")
    shape = FULL_SHAPE
    total = 0
    k = 0
    while True:
        assert f"level {k}: {shape}" in out
        if k:
            total += math.prod(shape)
        if max(shape) <= 256:
            break
        shape = tuple(math.ceil(n / 2) for n in shape)
        k += 1
    extra = total / math.prod(FULL_SHAPE)
    assert f"{100 * extra:.2f} % of level 0" in out
    assert extra == pytest.approx(1 / 7, abs=0.002)  # "about a seventh more"
    assert f"1/7: {100 / 7:.2f} %" in out


def test_screen_overview(chapter) -> None:
    out = chapter.text("claim-screen")
    level = next(k for k in range(10) if math.ceil(FULL_SHAPE[0] / 2**k) <= 2000)
    assert level == 2
    assert f"fit 2000 px: level {level}" in out
    assert "reduction: 16.0 x" in out
    assert FULL_SHAPE[0] / 2000 == pytest.approx(4, abs=0.25)  # "about four times"


@pytest.mark.parametrize(
    "tag",
    [
        "claim-slice-figure",
        "claim-codec-figure",
        "claim-lossy-figure",
        "claim-grid-figure",
        "claim-edge-figure",
        "claim-pyramid-figure",
    ],
)
def test_figures_are_drawn(chapter, tag: str) -> None:
    assert chapter.images(tag) == 1


def test_data_credited(chapter) -> None:
    assert "Human Organ Atlas" in chapter.markdown()
    for tag in ("claim-slice-figure", "claim-lossy-figure", "claim-edge-figure"):
        assert "Human Organ Atlas" in chapter.cell(tag).source
