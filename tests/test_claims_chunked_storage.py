"""Check what the prose of book/chunked-storage.md says its cells show.

Each test reads the output of one tagged cell of the executed chapter and
compares it with a value recomputed here, independently of the chapter.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from tests.claims import ints_after, prose_numbers

CHAPTER = "chunked-storage"

# Human Organ Atlas, LADAF-2020-27 heart, complete organ at 19.89 um: "shape" in
# metadata/LADAF-2020-27_heart_complete-organ_19.89um_bm18.json of the repository
# HumanOrganAtlas/metadata-schemas (commit 0639b55, checked 2026-11-28).
FULL_SHAPE = (7641, 7641, 8839)
SCAN_VOXEL_UM = 19.89
FULL_ITEMSIZE = 2  # uint16


@pytest.fixture(scope="module")
def chapter(executed):
    return executed(CHAPTER)


@pytest.fixture(scope="module")
def heart(chapter) -> np.ndarray:
    # the `executed` fixture has pointed data_helpers at the local data server
    from data_helpers import load_heart_data

    return load_heart_data("numpy")


def test_chapter_runs_quickly(chapter) -> None:
    assert chapter.seconds < 60


def test_nbytes_is_shape_times_itemsize(chapter, heart) -> None:
    out = chapter.text("claim-nbytes")
    assert "dtype: uint8" in out
    assert f"shape: {heart.shape}" in out
    assert ints_after("nbytes:", out) == [math.prod(heart.shape) * 1]
    assert ints_after("voxels:", out) == [120 * 120 * 139]


def test_bits_of_first_values(chapter, heart) -> None:
    out = chapter.text("claim-bits")
    for value in heart[60, 60, 70:74]:
        assert f"{int(value):3d} -> {int(value):08b}" in out


def test_uint16_doubles_size(chapter, heart) -> None:
    out = chapter.text("claim-uint16")
    assert f"uint16 nbytes: {2 * heart.size} = 2 x uint8" in out


def test_raw_file_is_as_large_as_the_array(chapter, heart) -> None:
    out = chapter.text("claim-raw-file")
    assert ints_after("raw file size:", out) == [heart.nbytes]
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


def test_byte_shuffle_changes_nothing_for_one_byte_values(chapter, heart) -> None:
    sizes = {
        (dtype, name): int(size)
        for dtype, name, size in re.findall(
            r"^(uint8|uint16)\s+(no shuffle|byte shuffle)\s+(\d+) bytes$",
            chapter.text("claim-shuffle"),
            re.M,
        )
    }
    assert len(sizes) == 4
    assert sizes["uint8", "no shuffle"] == sizes["uint8", "byte shuffle"]
    assert sizes["uint16", "byte shuffle"] < sizes["uint16", "no shuffle"]
    import numcodecs

    blosc = numcodecs.Blosc(cname="zstd", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE)
    assert sizes["uint8", "byte shuffle"] == len(blosc.encode(heart))
    # "(bit shuffle ... made the heart larger above)"
    rows = _codec_rows(chapter.text("claim-codecs"))
    assert rows["Blosc zstd bitshuffle"][0] > rows["Blosc zstd shuffle"][0]


def _entropy(values: np.ndarray) -> float:
    _, counts = np.unique(values, return_counts=True)
    p = counts / counts.sum()
    return float((p * np.log2(1 / p)).sum())


def test_noise_compresses_only_down_to_its_entropy(chapter, heart) -> None:
    rows = {
        name.strip(): (float(h), float(floor), float(ratio))
        for name, h, floor, ratio in re.findall(
            r"^(.+?)\s+([\d.]+)\s+([\d.]+|inf)\s+([\d.]+)$",
            chapter.text("claim-entropy"),
            re.M,
        )
    }
    assert set(rows) == {"flat grey", "grey + noise (2)", "random bytes", "heart"}
    assert rows["flat grey"][0] == 0 and rows["flat grey"][2] > 10_000
    h, floor, ratio = rows["grey + noise (2)"]
    # Gaussian noise of sigma 2: entropy about log2(2 * sqrt(2 pi e)) = 3.05 bits
    assert h == pytest.approx(np.log2(2 * np.sqrt(2 * np.pi * np.e)), abs=0.05)
    assert 1 < ratio <= floor  # compressible, but never below the entropy
    assert ratio > 0.8 * floor  # "Zstd comes close to that floor"
    assert round(h) == 3  # "an entropy of about 3 bits"
    h, floor, ratio = rows["random bytes"]
    assert h == pytest.approx(8, abs=0.01) and ratio <= 1.0
    h, floor, ratio = rows["heart"]
    assert h == pytest.approx(_entropy(heart), abs=0.01)
    assert ratio > floor  # "The heart beats its own floor"


def test_lossy_encodings(chapter, heart) -> None:
    out = chapter.text("claim-lossy")
    # "keeps 17 grey levels": 0, 16, ..., 240 and 255
    levels = np.unique(np.clip(np.round(np.arange(256) / 16) * 16, 0, 255))
    assert len(levels) == 17
    assert ints_after("grey levels after rounding:", out) == [17]
    assert "keeps 17 grey levels" in chapter.markdown()
    lines = [line for line in out.splitlines() if "bytes, ratio" in line]
    assert len(lines) == 2
    for line in lines:
        assert "smaller than best lossless: True" in line
        assert ints_after("max error", line)[0] > 0  # lossy really loses something
    # rounding to a multiple of 16 is off by at most 8 grey levels
    quantised = np.clip(np.round(heart / 16) * 16, 0, 255).astype(np.uint8)
    expected = int(np.abs(quantised.astype(int) - heart.astype(int)).max())
    assert expected == 8
    assert ints_after("max error", lines[0]) == [expected]


def test_jpeg_is_mostly_exact_in_flat_regions(chapter) -> None:
    out = chapter.text("claim-jpeg-flat")
    flat = float(re.search(r"exact at flat voxels: ([\d.]+)%", out).group(1))
    other = float(re.search(r"exact at other voxels: ([\d.]+)%", out).group(1))
    assert 50 < flat < 100  # "mostly, though not always, exact"
    assert other < flat / 2  # errors gather elsewhere


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


def test_full_size_arithmetic(chapter, heart) -> None:
    out = chapter.text("claim-full-size")
    # the sample is level 6 of the full scan: each axis / 64, rounded up
    assert tuple(math.ceil(n / 2**6) for n in FULL_SHAPE) == heart.shape
    assert "equal to the sample's shape: True" in out
    assert f"= {64 * SCAN_VOXEL_UM:.2f} um" in out
    assert "1272.96 µm" in chapter.markdown()
    full_bytes = math.prod(FULL_SHAPE) * FULL_ITEMSIZE
    assert full_bytes == 1_032_127_926_318
    assert f"full image: {full_bytes} bytes = 1.03 TB" in out
    assert "7641 × 7641 × 8839" in chapter.markdown()
    wanted = 256**3 * FULL_ITEMSIZE
    assert f"{wanted / 1e6:.1f} MB" in out  # "about 34 MB"
    kept = prose_numbers(
        r"to keep about (\d+) MB of them\. With cube chunks the reader fetches "
        r"the same (\d+) MB",
        chapter.markdown(),
    )
    assert kept == [round(wanted / 1e6)] * 2  # "about 34 MB", "the same 34 MB"

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
    last = 139 - 4 * 32
    assert last == 11
    for zarr_format, key in [(2, "0.0.4"), (3, "c/0/0/4")]:
        assert (
            f"Zarr format {zarr_format}: chunk grid {grid}, "
            f"{last} planes in the last chunk along z"
        ) in out
        assert f"its file '{key}': {32**3} bytes = 32 x 32 x 32" in out
    # zarr-python pads the edge chunk with the fill value, in both formats
    assert out.count("planes 0-10 hold the heart: True") == 2
    assert out.count("planes 11-31 all equal the fill value 7: True") == 2
    prose = " ".join(chapter.markdown().split())
    # the format's own rule is quoted: padding is zarr-python's choice
    assert "falling outside the array are undefined" in prose


def test_pyramid_overhead(chapter, heart) -> None:
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
    assert shape == heart.shape  # the last level is the sample
    assert f"level {k} has the sample's shape: True" in out
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


def test_summary_says_padding_is_zarr_pythons(chapter) -> None:
    summary = chapter.markdown().split("## Summary", 1)[1]
    assert "The padding is zarr-python's choice, not the format's" in " ".join(
        summary.split()
    )


def test_formats_the_book_writes(chapter) -> None:
    prose = " ".join(chapter.markdown().split())
    assert "This book writes **Zarr format 3** with **OME-Zarr 0.5**" in prose
    # 0.6 is released (ngff-zarr moved to its final tag), no longer a candidate
    assert "0.6rc0" not in prose and "ngff-zarr/pull/749" in prose
    assert "zarr_format=3" in chapter.cell("claim-reads").source
