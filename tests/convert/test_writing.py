"""Writing whole chunks and shards (writing.py): parallel tasks own whole shards."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

from data_helpers.convert import Plan, check_whole_units, convert_stack
from data_helpers.pyramid import downsample_mean
from tests.convert.helpers import (
    levels_of,
    open_in_readers,
    random_volume,
    write_slices,
)


def test_parallel_sharded_output_equals_unsharded(odd_stack, odd_output, tmp_path):
    """Two worker threads, 8^3 chunks in 16^3 shards: 3 x 3 x 5 = 45 shards at
    level 0. Every voxel of every level equals the unsharded output."""
    output = tmp_path / "sharded.ome.zarr"
    result = convert_stack(
        odd_stack[0],
        output,
        chunks=8,
        shards=16,
        zarr_format=3,
        levels=3,
        workers=2,
        progress=False,
    )
    array = zarr.open_array(output / "0", mode="r")
    assert array.shards == (16, 16, 16) and array.chunks == (8, 8, 8)
    shard_files = [p for p in (output / "0").rglob("*") if p.is_file()]
    assert len(shard_files) == 3 * 3 * 5 + 1  # shards, and zarr.json
    assert result.tasks_total > 2
    for sharded, plain in zip(
        levels_of(output), levels_of(odd_output)[:3], strict=True
    ):
        assert np.array_equal(sharded, plain)
    open_in_readers(output)


def test_no_shard_file_is_written_twice(odd_stack, odd_output, tmp_path, monkeypatch):
    """Two workers (threads, so the store can be watched): each shard file is
    written exactly once. A task writing part of a shard would make zarr read
    and rewrite the whole shard, so a shard shared by tasks is written twice,
    and by two tasks at once, one's data is lost."""
    from distributed import Client

    from data_helpers.cluster import local_cluster

    writes: list[str] = []
    original = zarr.storage.LocalStore.set

    async def recording_set(self, key, value):
        writes.append(f"{self.root}/{key}")
        return await original(self, key, value)

    monkeypatch.setattr(zarr.storage.LocalStore, "set", recording_set)
    output = tmp_path / "sharded.ome.zarr"
    with (
        local_cluster(2) as cluster,
        Client(cluster) as client,
    ):
        convert_stack(
            odd_stack[0],
            output,
            chunks=8,
            shards=16,
            zarr_format=3,
            levels=4,
            client=client,
            progress=False,
        )
    shard_writes = [k for k in writes if "/c/" in k]  # not metadata
    assert len(shard_writes) > 45
    assert sorted(shard_writes) == sorted(set(shard_writes))
    for sharded, plain in zip(levels_of(output), levels_of(odd_output), strict=True):
        assert np.array_equal(sharded, plain)


def test_write_outside_whole_units_is_refused() -> None:
    check_whole_units((slice(0, 16), slice(16, 20)), (32, 20), 16)  # edge: fine
    with pytest.raises(RuntimeError, match="whole 16-voxel units"):
        check_whole_units((slice(0, 16), slice(8, 16)), (32, 32), 16)
    with pytest.raises(RuntimeError, match="whole 16-voxel units"):
        check_whole_units((slice(0, 8), slice(0, 16)), (32, 32), 16)


def test_sharded_writes_hold_one_shard_at_a_time(tmp_path, monkeypatch) -> None:
    """A block task four shards wide writes its level 0 and level 1 one shard
    per call (zarr encodes every shard of a call at once), and the output is
    the block means of the slices all the same."""
    volume = random_volume((64, 64, 512), seed=4)
    write_slices(tmp_path / "in", volume)
    widths: list[int] = []
    setitem = zarr.Array.__setitem__

    def recording(array, selection, value):
        widths.append(selection[2].stop - selection[2].start)
        setitem(array, selection, value)

    monkeypatch.setattr(zarr.Array, "__setitem__", recording)
    output = tmp_path / "out.ome.zarr"
    kind = {"chunks": 16, "zarr_format": 3, "shards": 32, "levels": 3}
    convert_stack(tmp_path / "in", output, **kind, workers=1, progress=False)
    plan = Plan(
        shape=volume.shape,
        dtype="uint16",
        chunks=(16,) * 3,
        levels=3,
        zarr_format=3,
        shards=(32,) * 3,
    )
    assert plan.block_shape() == (64, 64, 512)  # one block, 16 shards wide
    assert widths and max(widths) == 32, widths
    levels = levels_of(output)
    assert np.array_equal(levels[0], volume)
    assert np.array_equal(levels[1], downsample_mean(volume))
