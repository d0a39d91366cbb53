"""The command line (cli.py): bad options give one line and exit status 2."""

from __future__ import annotations

from tests.convert.helpers import assert_refused, cli


def test_chunks_and_shards_that_do_not_divide(tmp_path, capsys, odd_stack) -> None:
    out = tmp_path / "out.ome.zarr"
    args = [odd_stack[0], out, "--zarr-format", "3", "--chunks", "32"]
    assert_refused(
        capsys,
        out,
        [*args, "--shards", "48"],
        "--shards 48",
        "not a multiple of --chunks 32",
    )
    assert_refused(
        capsys,
        out,
        [odd_stack[0], out, "--ome-zarr-version", "0.4", "--shards", "64"],
        "--shards needs OME-Zarr 0.5 or 0.6",
    )
    assert_refused(capsys, out, [odd_stack[0], out, "--chunks", "15"], "--chunks 15")


def test_command_line_errors_exit_2_without_traceback(tmp_path) -> None:
    process = cli(str(tmp_path / "missing"), str(tmp_path / "out.ome.zarr"))
    out, err = process.communicate(timeout=120)
    assert process.returncode == 2
    assert err.count("\n") == 1 and "Traceback" not in err and "missing" in err
    assert not (tmp_path / "out.ome.zarr").exists()


def test_shard_edge_as_given_zero_for_none_and_never_with_0_4(monkeypatch) -> None:
    from data_helpers.convert import run

    assert run.shard_edge("0.5", 16, 64) == 64
    assert run.shard_edge("0.5", 16, 0) is None  # --shards 0: no shards
    monkeypatch.setattr(run, "SHARD_CHUNKS", 2)  # a default of 2^3 chunks a shard
    assert run.shard_edge("0.5", 16, None) == 32
    assert run.shard_edge("0.6", 16, None) == 32
    assert run.shard_edge("0.4", 16, None) is None  # Zarr format 2 has no shards
    assert run.shard_edge("0.5", 16, 0) is None
