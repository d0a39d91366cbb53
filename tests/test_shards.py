"""data_helpers.shards keeps parallel tasks to whole shards; stores.RequestLog."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import zarr

from data_helpers.shards import check_whole_shards, store_whole_shards
from data_helpers.stores import RequestLog


def test_blocks_of_whole_shards_pass() -> None:
    # the last block may end at the array's edge, inside a shard
    check_whole_shards(((64, 64, 11), (128,)), (64, 64), (139, 128))


def test_block_ending_inside_a_shard_is_refused() -> None:
    with pytest.raises(ValueError, match=r"axis 1 end at \[32\].*rechunk"):
        check_whole_shards(((64,), (32, 32)), (64, 64), (64, 64))


def test_blocks_that_do_not_cover_the_array_are_refused() -> None:
    with pytest.raises(ValueError, match="add up to 60"):
        check_whole_shards(((60,),), (64,), (64,))


def test_store_whole_shards_writes_everything_in_parallel() -> None:
    data = np.arange(96 * 40, dtype="uint16").reshape(96, 40)
    target = zarr.create_array(
        RequestLog(zarr.storage.MemoryStore(), delay=0.01),
        shape=data.shape,
        dtype=data.dtype,
        chunks=(16, 20),
        shards=(32, 40),
    )
    source = da.from_array(data, chunks=(32, 40))
    store_whole_shards(source, target, scheduler="threads", num_workers=4)
    assert np.array_equal(target[:], data)
    with pytest.raises(ValueError, match="inside shards"):
        store_whole_shards(source.rechunk((16, 40)), target)


def test_request_log_records_ranges_and_sizes() -> None:
    log = RequestLog(zarr.storage.MemoryStore())
    array = zarr.create_array(log, shape=(8, 8), dtype="uint8", chunks=(4, 4))
    array[:4, :4] = 1
    assert ("set", "c/0/0") in {(r.method, r.key) for r in log.requests}
    log.requests.clear()
    assert array[0, 0] == 1
    assert [(r.method, r.key, r.byte_range) for r in log.requests] == [
        ("get", "c/0/0", "all")
    ]
    assert log.summary("get") == (1, log.requests[0].nbytes)
