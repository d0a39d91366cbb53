"""One contract for every ``ConversionState`` (state.py, object_state.py).

The same tests run against the state as files in a folder, as objects on the
local S3 server, and in memory (``MemoryState``): the tasks may use any of them.
"""

from __future__ import annotations

import pytest

from data_helpers.convert import Plan
from data_helpers.convert.object_state import ObjectState
from data_helpers.convert.state import ConversionState, FolderState
from tests.convert.helpers import MemoryState

MANIFEST = {
    "version": 2,
    "slices": [["slice_0.tif", 1234, 1700000000000000000]],
    "shape": [33, 47, 65],
    "chunks": 16,
    "voxel_size": [1.0, 1.0, 1.0],
}


@pytest.fixture(params=["folder", "object", "memory"])
def state(request: pytest.FixtureRequest, tmp_path) -> ConversionState:
    """A fresh state, for an output that does not exist yet (as at ``begin``)."""
    if request.param == "folder":
        return FolderState(tmp_path / "image.ome.zarr")
    if request.param == "object":
        request.getfixturevalue("s3")  # the local server, bucket ``book``
        return ObjectState("s3://book/run/image.ome.zarr")
    return MemoryState()


def test_no_manifest_before_begin(state: ConversionState) -> None:
    assert state.manifest() is None


def test_begin_records_the_manifest(state: ConversionState) -> None:
    state.begin(MANIFEST)
    assert state.manifest() == MANIFEST


def test_done_is_empty_until_tasks_are_marked(state: ConversionState) -> None:
    assert state.done() == set()
    state.begin(MANIFEST)
    assert state.done() == set()
    state.mark_done("block-0-0-0")
    assert state.done() == {"block-0-0-0"}
    state.mark_done("level2-1-0-0")
    assert state.done() == {"block-0-0-0", "level2-1-0-0"}


def test_clear_forgets_manifest_and_markers(state: ConversionState) -> None:
    state.begin(MANIFEST)
    state.mark_done("block-0-0-0")
    state.clear()
    assert state.manifest() is None
    assert state.done() == set()


def test_begin_again_replaces_the_manifest(state: ConversionState) -> None:
    state.begin(MANIFEST)
    other = {**MANIFEST, "chunks": 8}
    state.begin(other)
    assert state.manifest() == other


def test_every_task_name_of_a_plan_comes_back_as_it_was(
    state: ConversionState,
) -> None:
    """Names with dashes and many digits, of every kind of task."""
    plan = Plan(
        shape=(40, 24, 24),
        dtype="uint16",
        chunks=(4,) * 3,
        levels=3,
        staged=True,
    )
    names = {task.name for task in plan.tasks()}
    kinds = {name.split("-")[0] for name in names}
    assert kinds == {"decode", "block", "level2", "free"}
    assert "decode-39" in names and "block-4-2-0" in names
    state.begin(MANIFEST)
    for name in sorted(names):
        state.mark_done(name)
    assert state.done() == names
