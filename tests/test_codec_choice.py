"""data_helpers.codec_choice: candidate names, measurements and clear errors."""

from __future__ import annotations

import numcodecs
import numpy as np
import pytest
import zarr
import zarr.codecs

from data_helpers.codec_choice import (
    CodecResult,
    best_time,
    chunks_touched,
    compare_times,
    make_codec,
    measure_chunk_shapes,
    measure_codecs,
    pareto_front,
    sample_chunks_of,
)


def noisy_volume(shape=(32, 32, 32), seed=0) -> np.ndarray:
    """Smooth ramp plus noise: compressible, but not trivially."""
    rng = np.random.default_rng(seed)
    ramp = np.add.outer(np.arange(shape[0]), np.zeros(shape[1:])) * 100
    return (ramp + rng.normal(0, 20, shape) + 1000).astype("uint16")


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        (
            "blosc-zstd-3-bitshuffle",
            numcodecs.Blosc("zstd", 3, numcodecs.Blosc.BITSHUFFLE),
        ),
        ("blosc-lz4-1-noshuffle", numcodecs.Blosc("lz4", 1, numcodecs.Blosc.NOSHUFFLE)),
        ("zstd-5", numcodecs.Zstd(level=5)),
        ("gzip-6", numcodecs.GZip(level=6)),
        ("none", None),
    ],
)
def test_format_2_codecs(candidate, expected) -> None:
    assert make_codec(candidate) == expected


def test_format_3_codecs() -> None:
    blosc = make_codec("blosc-zstd-3-shuffle", zarr_format=3)
    assert isinstance(blosc, zarr.codecs.BloscCodec)
    assert (blosc.cname, blosc.clevel, blosc.shuffle) == (  # strings since zarr 3.3
        "zstd",
        3,
        "shuffle",
    )
    assert make_codec("zstd-3", zarr_format=3) == zarr.codecs.ZstdCodec(level=3)
    assert make_codec("gzip-1", zarr_format=3) == zarr.codecs.GzipCodec(level=1)


@pytest.mark.parametrize(
    ("candidate", "message"),
    [
        ("lzma-5", "unknown codec 'lzma' in candidate 'lzma-5'"),
        ("blosc-snappy-3-shuffle", "unknown Blosc compressor 'snappy'"),
        ("blosc-zstd-3-byteshuffle", "unknown shuffle 'byteshuffle'"),
        ("zstd-30", "level '30' in candidate 'zstd-30' is not valid: zstd levels"),
        ("gzip-x", "level 'x'"),
        ("blosc-zstd-3", "wrong number of parts"),
        ("none-1", "wrong number of parts"),
    ],
)
def test_bad_candidate_names(candidate, message) -> None:
    with pytest.raises(ValueError, match=message) as error:
        make_codec(candidate)
    assert "\n" not in str(error.value)


def test_unknown_codec_name_is_rejected_before_any_work(tmp_path) -> None:
    with pytest.raises(ValueError, match="unknown codec 'lzma'"):
        measure_codecs(
            noisy_volume(), ["zstd-3", "lzma-5"], chunks=(8, 8, 8), directory=tmp_path
        )
    assert list(tmp_path.iterdir()) == []


def test_chunk_larger_than_the_array() -> None:
    with pytest.raises(
        ValueError, match=r"larger than the array \(32, 32, 32\) along axis 1"
    ):
        measure_codecs(noisy_volume(), ["zstd-3"], chunks=(16, 64, 16))


@pytest.mark.parametrize("shape", [(0, 32, 32), (32, 0, 32)])
def test_empty_array(shape) -> None:
    with pytest.raises(ValueError, match="the array is empty"):
        measure_codecs(np.zeros(shape, "uint16"), ["zstd-3"], chunks=(1, 1, 1))


def test_empty_zarr_array() -> None:
    empty = zarr.create_array({}, shape=(0, 10), chunks=(5, 5), dtype="uint16")
    with pytest.raises(ValueError, match="the array is empty"):
        measure_codecs(empty, ["zstd-3"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"chunks": (8, 8)}, "must be 3 positive lengths"),
        ({"chunks": (8, 0, 8)}, "must be 3 positive lengths"),
        ({"chunks": None}, "pass chunks="),
        ({"chunks": (8, 8, 8), "sample_chunks": 0}, "at least 1"),
    ],
)
def test_other_bad_input(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        measure_codecs(noisy_volume(), ["zstd-3"], **kwargs)


@pytest.mark.parametrize("candidates", ["zstd-3", []])
def test_candidates_must_be_a_list(candidates) -> None:
    with pytest.raises(ValueError, match="non-empty list of names"):
        measure_codecs(noisy_volume(), candidates, chunks=(8, 8, 8))


def test_sample_takes_whole_chunks_only() -> None:
    volume = np.arange(10 * 10 * 10).reshape(10, 10, 10)
    sample = sample_chunks_of(volume, (4, 4, 4), n=100, seed=1)
    # 2 x 2 x 2 full chunks; the partial ones at the far edges are left out
    assert sample.shape == (8 * 4, 4, 4)
    blocks = {sample[i * 4 : (i + 1) * 4].tobytes() for i in range(8)}
    expected = {
        volume[z : z + 4, y : y + 4, x : x + 4].tobytes()
        for z in (0, 4)
        for y in (0, 4)
        for x in (0, 4)
    }
    assert blocks == expected


def test_sample_is_seeded() -> None:
    volume = noisy_volume((64, 64, 64))
    a = sample_chunks_of(volume, (16, 16, 16), n=3, seed=5)
    b = sample_chunks_of(volume, (16, 16, 16), n=3, seed=5)
    c = sample_chunks_of(volume, (16, 16, 16), n=3, seed=6)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_measurements_on_a_zarr_array(tmp_path) -> None:
    volume = noisy_volume((32, 32, 32))
    array = zarr.create_array(
        str(tmp_path / "a.zarr"),
        shape=volume.shape,
        chunks=(16, 16, 16),
        dtype="uint16",
    )
    array[:] = volume
    names = ["none", "blosc-zstd-3-shuffle", "blosc-lz4-1-noshuffle", "gzip-1"]
    results = measure_codecs(array, names, sample_chunks=2, repeats=2)
    assert [r.candidate for r in results] == names
    ratios = {r.candidate: r.ratio for r in results}
    assert ratios["none"] == 1.0  # stored as is, no header
    assert ratios["blosc-zstd-3-shuffle"] > 1.5
    for r in results:
        assert r.raw_bytes == 2 * 16**3 * 2
        assert r.write_s > 0 and r.read_s > 0
        assert r.write_mb_s == pytest.approx(r.raw_bytes / r.write_s / 1e6)


def test_ratios_repeat_exactly_and_match_the_codec() -> None:
    volume = noisy_volume((32, 32, 32))
    names = ["blosc-zstd-5-bitshuffle", "zstd-3"]
    first = measure_codecs(volume, names, chunks=(16, 16, 16), sample_chunks=3)
    second = measure_codecs(volume, names, chunks=(16, 16, 16), sample_chunks=3)
    assert [r.stored_bytes for r in first] == [r.stored_bytes for r in second]
    # the stored bytes are what the codec makes of each sampled chunk
    sample = sample_chunks_of(volume, (16, 16, 16), 3)
    codec = make_codec("zstd-3")
    expected = sum(
        len(codec.encode(np.ascontiguousarray(sample[i * 16 : (i + 1) * 16])))
        for i in range(3)
    )
    assert first[1].stored_bytes == expected


def test_format_3_stores_the_same_chunk_bytes() -> None:
    volume = noisy_volume((32, 32, 32))
    names = ["blosc-zstd-3-shuffle", "zstd-3"]
    v2 = measure_codecs(volume, names, chunks=(16, 16, 16), repeats=1)
    v3 = measure_codecs(volume, names, chunks=(16, 16, 16), repeats=1, zarr_format=3)
    assert [r.stored_bytes for r in v2] == [r.stored_bytes for r in v3]


def result(name: str, ratio: float, write_mb_s: float) -> CodecResult:
    return CodecResult(name, int(ratio * 1000), 1000, 1 / write_mb_s, 1.0)


def test_pareto_front() -> None:
    results = [
        result("fast", 1.1, 200),
        result("balanced", 1.5, 100),
        result("dominated", 1.4, 90),
        result("tied-but-slower", 1.5, 50),
        result("best-ratio", 2.0, 1),
    ]
    front = [r.candidate for r in pareto_front(results)]
    assert front == ["fast", "balanced", "best-ratio"]


def test_best_time_stops_after_max_seconds() -> None:
    runs = iter([0.6, 0.5, 0.1])
    assert best_time(lambda: next(runs), repeats=3, max_seconds=1.0) == 0.5
    runs = iter([2.0, 0.1])
    assert best_time(lambda: next(runs), repeats=3, max_seconds=1.0) == 2.0


@pytest.mark.parametrize(
    ("selection", "chunks", "expected"),
    [
        ((0, slice(None), slice(None)), (1, 384, 384), 1),
        ((0, slice(None), slice(None)), (256, 256, 256), 4),
        ((slice(0, 256), slice(100, 356), slice(100, 356)), (32, 32, 32), 8 * 9 * 9),
        ((slice(0, 256), slice(100, 356), slice(100, 356)), (128, 128, 128), 2 * 3 * 3),
        ((slice(10, 10), slice(None), slice(None)), (32, 32, 32), 0),
    ],
)
def test_chunks_touched(selection, chunks, expected) -> None:
    assert chunks_touched((256, 384, 384), chunks, selection) == expected


def test_measure_chunk_shapes() -> None:
    volume = noisy_volume((32, 32, 32))
    patterns = {"slice": (5, slice(None), slice(None)), "all": (slice(None),) * 3}
    results = measure_chunk_shapes(
        volume, [(8, 8, 8), (1, 32, 32)], patterns, candidate="zstd-1", repeats=1
    )
    assert [r.chunks for r in results] == [(8, 8, 8), (1, 32, 32)]
    assert [r.n_chunks for r in results] == [64, 32]
    assert results[0].chunks_read == {"slice": 16, "all": 64}
    assert results[1].chunks_read == {"slice": 1, "all": 32}
    assert all(r.ratio > 1 and r.write_s > 0 for r in results)


def test_measure_chunk_shapes_rejects_a_chunk_larger_than_the_volume() -> None:
    with pytest.raises(ValueError, match="larger than the array"):
        measure_chunk_shapes(noisy_volume(), [(64, 8, 8)], {}, candidate="zstd-1")


def test_compare_times() -> None:
    assert compare_times(2.0, 1.0) == "slower"
    assert compare_times(1.0, 2.0) == "faster"
    assert compare_times(1.4, 1.0) == "about the same"
    assert compare_times(1.3, 1.0, margin=1.25) == "slower"
    with pytest.raises(ValueError, match="margin must be at least 1"):
        compare_times(1.0, 1.0, margin=0.5)
