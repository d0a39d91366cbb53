"""The work of one task (tasks.py): its memory, the scratch copies of staged
slices, and the state it needs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import zarr

from data_helpers.convert import (
    STATE_FOLDER,
    Output,
    Plan,
    convert_stack,
    default_levels,
    open_source,
)
from tests.convert.helpers import (
    MemoryState,
    levels_of,
    random_volume,
    write_jp2_slices,
    write_slices,
)


def block_task_peak(tmp_path: Path, width: int, **options) -> tuple[int, int]:
    """Traced peak bytes of the first block task of a sharded conversion, and
    what ``Plan.task_bytes()`` says it holds (NumPy reports its buffers to
    tracemalloc, and zarr's encoded bytes are Python objects)."""
    import tracemalloc

    from data_helpers.convert.state import FolderState
    from data_helpers.convert.tasks import convert_block

    folder, output = tmp_path / f"in-{width}", tmp_path / f"out-{width}.ome.zarr"
    write_slices(folder, random_volume((128, 128, width), seed=width), **options)
    kind = {"chunks": 32, "zarr_format": 3, "shards": 64, "levels": 2}
    convert_stack(folder, output, **kind, max_tasks=0, progress=False)  # the arrays
    source = open_source(folder)
    # pieces of 64 x 64 x 128 at most: blocks of 2S = 128 columns, narrower
    # than both widths, as 512 columns are for a stack of 1024-wide slices
    plan = Plan(
        shape=source.shape,
        dtype="uint16",
        chunks=(32,) * 3,
        levels=2,
        zarr_format=3,
        shards=(64,) * 3,
        piece_voxels=64 * 64 * 128,
    )
    assert plan.block_shape() == (128, 128, 128)
    task = plan.block_tasks()[0]
    tracemalloc.start()
    try:
        convert_block(Output.of(output), plan, source, task, FolderState(output))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, plan.task_bytes()["block"]


@pytest.mark.parametrize("options", [{}, {"compression": "zlib", "rowsperstrip": 8}])
def test_block_task_memory_is_bounded_by_shards_not_width(tmp_path, options) -> None:
    """Measured: a block task's peak stays within 3x its voxels (zarr encodes a
    shard beside them) and the same when the slices are four times wider."""
    narrow, bound = block_task_peak(tmp_path, 256, **options)
    wide, wide_bound = block_task_peak(tmp_path, 1024, **options)
    assert narrow < 3 * bound and wide < 3 * wide_bound
    assert wide < 1.1 * narrow, (narrow, wide)


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
    # unsharded, as the plan: the default's shards of 16^3 would make slabs of
    # 32 slices, two in all, and slab i - 2 would never be waited for
    options = dict(chunks=8, shards=0, levels=2, max_tasks=1, progress=False)
    for _ in range(len(plan.tasks())):
        result = convert_stack(tmp_path / "in", output, **options)
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


def test_tasks_need_only_the_state_interface(odd_stack, odd_output, tmp_path):
    """With another ConversionState the same graph writes the same levels and
    records its progress there, leaving no state folder in the output."""
    from data_helpers.convert.progress import progress_bar
    from data_helpers.convert.run import build_graph, run_tasks
    from data_helpers.convert.writing import create_arrays

    source = open_source(odd_stack[0])
    shape = source.shape
    plan = Plan(
        shape=shape,
        dtype="uint16",
        chunks=(16,) * 3,
        levels=default_levels(shape, 16),
    )
    output = tmp_path / "memory.ome.zarr"
    create_arrays(Output.of(output), plan)
    state = MemoryState()
    state.begin({"made": "in memory"})
    run_tasks(
        build_graph(Output.of(output), plan, source, state),
        None,
        1,
        progress_bar(1, False),
    )
    assert state.done() == {task.name for task in plan.tasks()}
    assert not (output / STATE_FOLDER).exists()
    for mine, reference in zip(levels_of(output), levels_of(odd_output), strict=True):
        assert np.array_equal(mine, reference)
    state.names.discard("block-0-0-0")  # a resumed run does only what is not done
    assert list(build_graph(Output.of(output), plan, source, state)) == [
        ("block", 0, 0, 0)
    ]
