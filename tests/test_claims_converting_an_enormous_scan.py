"""The sentences of "Converting an enormous scan" that describe outputs are true."""

from __future__ import annotations

import math
import re

import pytest

from data_helpers.pyramid import level_shape
from tests.notebooks import BOOK_DIR

CHAPTER = "converting-an-enormous-scan"
SHAPE = (139, 120, 120)
FULL = (8839, 7641, 7641)  # z, y, x of the full-size heart (../shared/data/README.md)
C, ITEMSIZE = 128, 2
LEVELS = [level_shape(SHAPE, k) for k in range(5)]
SHARD = 32  # the small stack's default shards: 2 x 2 x 2 chunks of 16
# Its tasks: blocks two shards deep and high, as wide as the slices (120
# columns in pieces of 32 x 32 x 128 at most), and one task per shard of levels
# 2 and below.
BLOCKS = math.ceil(SHAPE[0] / (2 * SHARD)) * math.ceil(SHAPE[1] / (2 * SHARD))
SHARD_TASKS = sum(
    math.prod(math.ceil(n / SHARD) for n in LEVELS[k]) for k in range(2, 5)
)
TASKS = BLOCKS + SHARD_TASKS
FIRST_RUN = 4  # max_tasks of the interrupted run


@pytest.fixture(scope="module")
def chapter(executed):
    return executed(CHAPTER)


def gb(text: str, label: str) -> float:
    match = re.search(rf"{re.escape(label)}:\s+([\d.]+) GB", text)
    assert match, label
    return float(match.group(1))


def test_chapter_runs_within_a_minute(chapter) -> None:
    assert chapter.seconds < 60


def test_input_is_a_folder_of_strip_tiffs(chapter) -> None:
    text = chapter.text("claim-input")
    assert "139 files: slice_00000.tif, slice_00001.tif, ..., slice_00138.tif" in text
    assert "shape (120, 120), uint16, 16 rows per strip, 8 strips" in text
    assert "139 slices of 120 × 120 voxels" in chapter.markdown()
    assert chapter.images("claim-slice") == 1


def test_formats_and_their_cost_per_slice(chapter) -> None:
    text = chapter.text("claim-formats")
    found = {
        kind: (float(size), float(ms))
        for kind, size, ms in re.findall(
            r"(TIFF|JPEG 2000): (\d+) bytes and ([\d.]+) ms per slice", text
        )
    }
    (tiff_bytes, tiff_ms), (jp2_bytes, jp2_ms) = found["TIFF"], found["JPEG 2000"]
    assert tiff_bytes > 120 * 120 * 2  # uncompressed, and a header
    # "takes longer than reading the TIFF one, for fewer bytes on disk"
    assert jp2_bytes < tiff_bytes and jp2_ms > tiff_ms
    assert f"scratch copy per JPEG 2000 slice: {120 * 120 * 2} bytes" in text
    prose = " ".join(chapter.markdown().split())
    assert "decodes each slice exactly once" in prose
    assert "takes longer than reading the TIFF one, for fewer bytes on disk" in prose
    # the scratch holds two slabs of 2 x 128 slices of the full heart at most
    # (tests/convert/test_tasks.py::test_scratch_holds_at_most_two_slabs)
    slice_mb = FULL[1] * FULL[2] * ITEMSIZE / 1e6
    assert f"2 × {2 * C} slices of {slice_mb:.0f} MB" in prose
    assert f"the whole {math.prod(FULL) * ITEMSIZE / 1e12:.0f} TB stack" in prose


def test_memory_arithmetic(chapter) -> None:
    text = chapter.text("claim-memory")
    n_z, n_y, n_x = FULL
    assert gb(text, "the whole scan") == round(n_z * n_y * n_x * ITEMSIZE / 1e9, 3)
    slab = gb(text, "a slab of 128 slices")
    assert slab == round(C * n_y * n_x * ITEMSIZE / 1e9, 3) > 8  # no laptop
    unit = 2 * C  # the default shards: 2 x 2 x 2 chunks
    columns = 2 * unit  # blocks as wide as fits: 2U, as 256 x 256 x 512 <= PIECE
    assert unit * unit * columns <= 128 * 128 * 2048 < unit * unit * 2 * columns
    block = gb(text, f"block task: {unit} x {unit} x {columns} piece + level 1")
    assert block == round(block_gb(n_x, unit), 3)
    assert gb(text, "one 256^3 shard") == round(unit**3 * ITEMSIZE / 1e9, 3)
    assert gb(text, "unit task: 2 x 256^3 shards") == round(
        2 * unit**3 * ITEMSIZE / 1e9, 3
    )
    prose = chapter.markdown()
    assert f"down to {block:.3f} GB" in " ".join(prose.split())
    assert f"about {block_gb(n_x, C):.3f} GB per task with 128³ chunks" in prose
    # "two units deep, two units high and as wide as fits (512 voxels here) ...
    # one piece of 1 × 1 × 2 shards at a time"
    assert f"as wide as fits ({columns} voxels here)" in " ".join(prose.split())
    assert f"one piece of 1 × 1 × {columns // unit} shards" in " ".join(prose.split())
    # stack-to-chunk: a job holds a slab (memory_per_slab_process, v2.3.1), and
    # a level-0 shard spans whole slices, one chunk deep
    assert f"(one per slab: {math.ceil(n_z / C)} at level 0 of the full heart)" in (
        " ".join(prose.split())
    )
    assert f'the "slab of 128 slices" of the arithmetic above, {slab:.1f} GB' in (
        " ".join(prose.split())
    )
    files = math.prod(math.ceil(n / C) for n in FULL)
    assert f"{files:,} objects at level 0" in prose


def test_plan(chapter) -> None:
    text = chapter.text("claim-plan")
    assert f"{BLOCKS} block tasks, {SHARD_TASKS} shard tasks" in text
    assert f"level shapes: {LEVELS}" in text
    assert f"{FIRST_RUN} of its {TASKS} tasks" in chapter.markdown()


def test_conversion_with_progress_and_summary(chapter) -> None:
    text = chapter.text("claim-convert")
    assert f"{TASKS}/{TASKS}" in text and "100%" in text
    summary = text[text.index("heart.ome.zarr: converted; 5 levels") :]
    assert ", ".join(map(str, LEVELS)) in summary
    assert f"{TASKS} tasks run, 0 already done" in summary


def test_interrupted_then_resumed(chapter) -> None:
    text = chapter.text("claim-interrupted")
    assert "stopped early, rerun to resume" in text
    assert f"{FIRST_RUN} tasks run" in text
    assert "multiscales metadata yet: False" in text
    text = chapter.text("claim-resumed")
    rest = TASKS - FIRST_RUN
    assert (
        "converted;" in text and f"{rest} tasks run, {FIRST_RUN} already done" in text
    )
    assert "identical to the uninterrupted run: True" in text
    assert "already a finished conversion of these slices: nothing to do." in text
    assert f"did only the {rest} tasks the first had not finished" in chapter.markdown()


def test_bad_slice_is_named_and_nothing_written(chapter) -> None:
    text = chapter.text("claim-errors")
    assert "slice_00005.tif' is not a readable TIFF file" in text
    assert text.endswith("anything written: False\n")  # and nothing after it


def test_verified(chapter) -> None:
    text = chapter.text("claim-verify")
    assert "level 0 equals the 139 slices bit for bit: True" in text
    for k in range(1, 5):
        assert f"level {k} {LEVELS[k]} == downsample_mean(level {k - 1}): True" in text
    text = chapter.text("claim-readers")
    # No "warnings: []" line any more: read_with_* raise ReaderError if a
    # reader logs a warning, so the cell would stop (and the chapter fail).
    assert f"ome-zarr-py levels: {LEVELS}" in text
    assert f"ngff-zarr (validated) levels: {LEVELS}" in text
    assert "[('z', 'micrometer'), ('y', 'micrometer'), ('x', 'micrometer')]" in text
    voxel = 1272.96  # scale and translation as (z, y, x) tuples now, not dicts
    assert f"scale and translation: {(2 * voxel,) * 3} {(voxel / 2,) * 3}" in text


REPORT = "results-2026-12-02"  # the benchmark report the chapter includes


def report_rows(name: str) -> list[dict[str, str]]:
    """The rows of a benchmark report's table, by column name."""
    report = (BOOK_DIR.parent / "benchmarks" / f"{name}.md").read_text("utf-8")
    table = [line for line in report.splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in table[0][1:-1].split("|")]
    return [
        dict(zip(header, [cell.strip() for cell in line[1:-1].split("|")], strict=True))
        for line in table[2:]  # after the header and its rule
    ]


def test_benchmark_report_is_the_one_the_prose_describes(chapter) -> None:
    """The included reports: dated, every input and method, runs as said."""
    prose = " ".join(chapter.markdown().split())
    for name in (REPORT, f"{REPORT}-wide", f"{REPORT}-jp2"):
        assert f"../benchmarks/{name}.md" in chapter.markdown()
        report = (BOOK_DIR.parent / "benchmarks" / f"{name}.md").read_text("utf-8")
        assert report.startswith("Benchmark of 2026-12-02")
    assert f"`benchmarks/{REPORT}.md`" in prose and "on 2026-12-02" in prose
    assert f"../benchmarks/{REPORT}.png" in chapter.markdown()
    rows = report_rows(REPORT)
    methods = {"limit", "floor", "book", "book-sharded", "ome-zarr-py", "ngff-zarr"}
    for size in ("2GiB", "8GiB"):
        found = {row["method"]: row for row in rows if row["input"] == size}
        assert set(found) == methods, size
        assert all(row["runs"] == "3" for row in found.values()), "three runs each"
        # the book's levels are exact block means
        assert float(found["book"]["level-1 mean abs. diff."]) == 0.0
        assert found["book"]["output digest"] != ""
    wide = {row["method"]: row for row in report_rows(f"{REPORT}-wide")}
    assert set(wide) == {"limit", "book", "book-sharded"}
    assert {row["input"] for row in wide.values()} == {"8GiB-wide"}
    # wide slices: the sharded peak does not follow the width (4096 vs 1024)
    narrow = benchmark_peaks(REPORT, "2GiB")["book-sharded"]
    assert f"against {narrow:.2f} GiB on the 1024-wide 2 GiB stack" in prose
    assert float(wide["book-sharded"]["peak RSS GiB"]) <= 1.15 * narrow
    # "slower there than on narrow slices of the same bytes" (8 GiB, 2048 wide)
    eight = {row["method"]: row for row in rows if row["input"] == "8GiB"}
    assert float(wide["book"]["best s"]) > float(eight["book"]["best s"])
    jp2 = {row["method"]: row for row in report_rows(f"{REPORT}-jp2")}
    assert set(jp2) == {"limit", "floor", "book", "book-sharded"}
    # every slice of the 256 decoded exactly once by the converter
    assert jp2["book"]["decodes per slice"] == "1 (256 slices)"
    assert jp2["book-sharded"]["decodes per slice"] == "1 (256 slices)"


def test_check_of_the_output(chapter) -> None:
    text = chapter.text("claim-check")
    assert "heart.ome.zarr: OME-Zarr 0.5 on Zarr format 3, 5 levels" in text
    level_lines = [line for line in text.splitlines() if line.startswith("level ")]
    assert len(level_lines) == 5
    for k, line in enumerate(level_lines):  # every shard of every level stored
        grid = math.prod(math.ceil(n / SHARD) for n in LEVELS[k])
        assert f"level {k}: {LEVELS[k]} uint16" in line
        assert "chunks (16, 16, 16), shards (32, 32, 32)" in line
        noun = "shard" if grid == 1 else "shards"  # the coarsest levels: one shard
        assert f"{grid}/{grid} {noun} stored" in line
    assert "PROBLEM" not in text and "INFO" not in text  # exact block means
    assert "no problems found (metadata, array headers and every chunk)" in text
    assert text.endswith("exit status: 0\n")
    assert "nothing is wrong: exit status 0" in " ".join(chapter.markdown().split())


def test_check_finds_the_cut_chunk(chapter) -> None:
    text = chapter.text("claim-check-cut")
    assert "problems without deep: 0" in text
    problems = [line for line in text.splitlines() if line.startswith("PROBLEM")]
    assert len(problems) == 1
    # level-0 shard (2, 1, 1) of 32 voxels holds chunk (4, 3, 2) of 16; cut, its
    # last bytes are no longer its index, whose CRC-32C then fails
    assert (4 * 16 // SHARD, 3 * 16 // SHARD, 2 * 16 // SHARD) == (2, 1, 1)
    assert problems[0].startswith(
        "PROBLEM shard 0/c/2/1/1: cannot be decoded (Stored and computed checksum "
        "do not match"
    )
    assert "1 problem found" in text and text.endswith("exit status: 1\n")
    prose = " ".join(chapter.markdown().split())
    assert "one problem, naming the shard's key, `0/c/2/1/1`" in prose
    # That Blosc can decode a cut chunk without an error is checked by
    # tests/test_check.py::test_deep_finds_a_chunk_cut_short.


def test_check_finds_the_wrong_level_shape(chapter) -> None:
    text = chapter.text("claim-check-shape")
    problems = [line for line in text.splitlines() if line.startswith("PROBLEM")]
    assert problems == [
        "PROBLEM level 2: shape (30, 30, 30) disagrees with its scale: level 0's "
        f"shape {SHAPE} times the scale ratio is (34.75, 30.0, 30.0); readers "
        "would place this level's voxels where the image is not."
    ]
    assert text.endswith("exit status: 1\n")
    prose = " ".join(chapter.markdown().split())
    assert f"139 / 4 = {139 / 4} planes" in prose
    assert f"only {30 * 4} of the heart's 139" in prose
    assert "exits with status 1" in prose


def block_gb(width: int, unit: int) -> float:
    """A block task: a U x U x columns piece, its U x U x columns/2 of level 1,
    and a read buffer of one piece's slice plus a row (worked out here, not by
    Plan): blocks as many 2U columns wide as fit in 128 x 128 x 2048 voxels
    (the chapter's PIECE_VOXELS), 2U at least, and no wider than the slices."""
    fit = max(1, 128 * 128 * 2048 // (unit * unit * 2 * unit))
    columns = 2 * unit * min(fit, math.ceil(width / (2 * unit)))
    voxels = unit * unit * columns + unit * unit * columns // 2 + unit * columns
    return (voxels + width) * ITEMSIZE / 1e9


def benchmark_peaks(name: str = REPORT, size: str = "8GiB") -> dict[str, float]:
    """Peak memory (GiB) of each method on one input of a benchmark report."""
    return {
        row["method"]: float(row["peak RSS GiB"])
        for row in report_rows(name)
        if row["input"] == size
    }


def test_memory_per_worker(chapter) -> None:
    text = chapter.text("claim-cluster-memory")
    widths = {"full heart": FULL[2], "slices 2048 wide": 2048}
    for label, width in widths.items():
        for unit in (128, 256, 512):
            expected = f"{label}, unit {unit}: {block_gb(width, unit):.3f} GB per task"
            assert expected in text
    prose = " ".join(chapter.markdown().split())
    assert (
        f"about {block_gb(FULL[2], 128):.3f} GB per task with 128³ chunks, "
        f"{block_gb(FULL[2], 256):.3f} GB with `--shards 256` and "
        f"{block_gb(FULL[2], 512):.3f} GB with `--shards 512`" in prose
    )
    # "the same, to a few kilobytes (one row), for slices 2048 wide"
    for unit in (128, 256, 512):
        difference = block_gb(FULL[2], unit) - block_gb(2048, unit)
        assert round(difference * 1e9) == (FULL[2] - 2048) * ITEMSIZE < 20_000
    peaks, wide = benchmark_peaks(), benchmark_peaks(f"{REPORT}-wide", "8GiB-wide")
    assert (
        f"peaked at {peaks['book']:.2f} GiB for the whole process tree with 2 "
        f"workers, and at {peaks['book-sharded']:.2f} GiB with 256³ shards" in prose
    )
    assert f"peaked at {wide['book-sharded']:.2f} GiB with 256³ shards" in prose
    # the measured peaks bear "a few times the voxels of T tasks" out: per
    # worker (of one thread), over the floor's
    per_worker = (peaks["book-sharded"] - peaks["floor"]) * 2**30 / 1e9 / 2
    assert per_worker < 5 * block_gb(2048, 256)
    assert "(1024 × 2048 × 2048)" in prose  # the 8 GiB stack is 2048 wide


def test_slurm_job_script_asks_for_what_the_prose_says(chapter) -> None:
    """The job script of the chapter's SLURMCluster names the cores, memory
    and walltime the prose gives, and its workers' threads and memory limit:
    3 x threads x the largest task (a 256^3-shard block of the full heart),
    plus 1 GB, over 0.8 (dask pauses a worker at 80% of its limit)."""
    text = chapter.text("claim-slurm")
    prose = " ".join(chapter.markdown().split())
    threads, processes = 4, 2
    worker_gb = math.ceil((3 * threads * block_gb(FULL[2], 256) + 1) / 0.8)
    assert worker_gb == 3
    assert (
        f"{block_gb(FULL[2], 256):.3f} GB per task, {worker_gb} GB per worker "
        f"of {threads} threads" in text
    )
    job = {
        "cores": int(re.search(r"#SBATCH --cpus-per-task=(\d+)", text)[1]),
        "memory": int(re.search(r"#SBATCH --mem=(\d+)G", text)[1]),
        "walltime": re.search(r"#SBATCH -t (\S+)", text)[1],
        "threads": int(re.search(r"--nthreads (\d+)", text)[1]),
        "workers": int(re.search(r"--nworkers (\d+)", text)[1]),
        "limit GiB": float(re.search(r"--memory-limit ([\d.]+)GiB", text)[1]),
    }
    assert job == {
        "cores": threads * processes,
        "memory": worker_gb * processes,
        "walltime": "04:00:00",
        "threads": threads,
        "workers": processes,
        "limit GiB": round(worker_gb * 1e9 / 2**30, 2),
    }
    assert (
        f"Each job asks SLURM for {job['cores']} cores, {job['memory']} GB and "
        f"four hours, and starts {job['workers']} workers of {job['threads']} "
        f"threads, each limited to {worker_gb} GB (`--memory-limit "
        f"{job['limit GiB']}GiB`" in prose
    )
    # retired before the walltime, staggered as the prose says
    assert "--lifetime 3h45m --lifetime-stagger 10m" in text
    assert "here 3 h 45 min into a 4-hour job" in prose
    assert "by up to 10 minutes either way" in prose
    # the commands by hand give the workers the same threads and limit
    assert (
        f"--nworkers {processes} --nthreads {threads} --memory-limit {worker_gb}GB"
        in prose
    )


def test_voxel_centres(chapter) -> None:
    prose = " ".join(chapter.markdown().split())
    assert f"half a level-0 voxel ({1272.96 / 2:.2f} µm)" in prose
    assert f"{SHAPE[0]} slices make {LEVELS[1][0]} at level 1" in prose
    assert f"averages slice {SHAPE[0] - 1} alone" in prose


def test_opening_and_closing(chapter) -> None:
    prose = chapter.markdown()
    assert "**Time to run** under a minute" in prose
    assert chapter.seconds < 60
    assert prose.index("## Summary") < prose.index("## Where to go next")


def test_wide_jpeg2000_slice_decode_is_measured(chapter) -> None:
    text = chapter.text("claim-wide-slice")
    found = re.search(
        r"2048 x 2048 slice: JPEG 2000 whole decode (\d+) ms, "
        r"uncompressed TIFF read of all its rows ([\d.]+) ms",
        text,
    )
    assert found
    decode_ms, read_ms = map(float, found.groups())
    # "on wide slices it is the main cost of reading the input"
    assert decode_ms > 10 * read_ms
    prose = " ".join(chapter.markdown().split())
    assert "compressed as a whole" not in prose
    assert "`opj_set_decode_area`" in prose and "with no region" in prose
    # the converter decodes whole slices with imagecodecs.jpeg2k_decode,
    # whose installed signature has no region argument
    import inspect

    import imagecodecs

    parameters = inspect.signature(imagecodecs.jpeg2k_decode).parameters
    assert list(parameters) == [
        "data",
        "planar",
        "skipres",
        "verbose",
        "numthreads",
        "out",
    ]
    assert f"imagecodecs {imagecodecs.__version__}" in prose


def test_conditional_writes_named_with_what_the_stack_does(chapter) -> None:
    prose = " ".join(chapter.markdown().split())
    assert "`If-Match`" in prose
    assert "zarr-python 3.4.2 and s3fs 2026.9.0 do not send it on writes" in prose


def shard_table(prose: str) -> dict[str, list[str]]:
    """The rows of the chapter's table of 2026-12-07, by their first cell."""
    section = prose[prose.index("## Why shards by default") : prose.index("## Summary")]
    rows = [line for line in section.splitlines() if line.startswith("| OME-Zarr")]
    return {
        cells[0]: cells[1:]
        for cells in ([c.strip() for c in row[1:-1].split("|")] for row in rows)
    }


def files_written(shape: tuple[int, ...], unit: int, metadata: int) -> int:
    """Chunk (or shard) files of 3 levels of a full image, plus metadata files."""
    levels = [level_shape(shape, k) for k in range(3)]
    return metadata + sum(math.prod(math.ceil(n / unit) for n in s) for s in levels)


def test_why_shards_by_default(chapter) -> None:
    """The measured table: its file counts follow from the shapes, the prose's
    ratios from its numbers, and the default it argues for is the converter's."""
    from data_helpers.convert.run import SHARD_CHUNKS, shard_edge
    from data_helpers.ome import DEFAULT_OME_ZARR_VERSION

    assert DEFAULT_OME_ZARR_VERSION == "0.5" and shard_edge("0.5", C, None) == 2 * C
    assert SHARD_CHUNKS == 2 and shard_edge("0.4", C, None) is None
    prose = chapter.markdown()
    table = shard_table(prose)
    v04, v05, sharded, big = (
        table[f"OME-Zarr {name}"]
        for name in (
            '0.4, chunks (`"0.4"`, `None`)',
            '0.5, chunks (`"0.5"`, `0`)',
            '0.5, 256³ shards (`"0.5"`, `256`)',
            '0.5, 512³ shards (`"0.5"`, `512`)',
        )
    )
    small, large = (1024,) * 3, (1024, 2048, 2048)
    expected = [
        (v04, 128, 8),  # .zgroup and .zattrs at the top, .zarray and .zattrs per level
        (v05, 128, 4),  # one zarr.json at the top and per level
        (sharded, 256, 4),
    ]
    for row, unit, metadata in expected:
        assert int(row[2].replace(",", "")) == files_written(small, unit, metadata)
        assert int(row[5].replace(",", "")) == files_written(large, unit, metadata)
    assert int(big[2]) == files_written(small, 512, 4) and big[3:] == ["", "", ""]
    text = " ".join(prose.split())
    assert "on 2026-12-07 on the book's 2-core build machine" in text
    assert "ome_zarr_version=V, shards=S)" in prose
    ratios = [float(sharded[i]) / float(v04[i]) for i in (0, 3)]
    assert (
        f"for {ratios[0]:.2f} and {ratios[1]:.2f} times the time of OME-Zarr 0.4"
        in text
    )
    assert f"took {float(big[0]) / float(v04[0]):.2f} times as long" in text
    fewer = [int(v05[i].replace(",", "")) / int(sharded[i]) for i in (2, 5)]
    assert all(round(f) == 8 for f in fewer) and "about 8 times fewer files" in text
    peaks = f"({sharded[1]} and {sharded[4]} against {v05[1]} and {v05[4]} without"
    assert peaks.replace(" MiB and", " and") in text
    assert f"with a peak of {big[1]}" in text
    assert f"would hold {block_gb(FULL[2], 512):.3f} GB of voxels" in text
    # what a viewer fetches: the index of 8 chunks, 16 bytes each and a CRC32C
    assert f"the last {8 * 16 + 4} bytes of the shard" in text
