"""The converter writes straight to S3 (moto's server on 127.0.0.1: conftest's ``s3``).

Configured only by the standard AWS environment variables, a conversion into
``s3://`` gives the same objects as a local conversion gives files, resumes
after SIGKILL with identical output, writes nothing when rerun on a finished
output, and turns every bad input into one line and exit status 2.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import moto.settings
import numpy as np
import pytest
import zarr

from data_helpers.convert import STATE_FOLDER, Plan, convert_stack, default_levels, main
from data_helpers.ome import ome_attributes
from data_helpers.remote import open_store, s3_filesystem
from tests.convert.helpers import (
    chunk_files,
    cli,
    kill_once,
    random_volume,
    write_slices,
)

SHAPE = (40, 48, 36)
WRITES = {"PUT", "POST", "DELETE"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("s3-stack") / "slices"
    write_slices(folder, random_volume(SHAPE, seed=3), rowsperstrip=8)
    return folder


def objects(url: str) -> dict[str, bytes]:
    """Every object under ``url`` but the converter's state, by relative key."""
    fs = s3_filesystem()
    fs.invalidate_cache()
    prefix = url.removeprefix("s3://").rstrip("/")
    keys = [k for k in fs.find(prefix) if f"/{STATE_FOLDER}/" not in k]
    return {k.removeprefix(prefix + "/"): fs.cat_file(k) for k in sorted(keys)}


def run_cli(*args: str, cwd: Path):
    process = cli(*args, cwd=cwd)
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


@pytest.mark.parametrize(
    "options",
    [{"chunks": 16}, {"chunks": 8, "zarr_format": 3, "shards": 16}],
    ids=["format 2", "format 3 sharded"],
)
def test_s3_output_equals_local_output(s3, stack, tmp_path, options) -> None:
    local = tmp_path / "image.ome.zarr"
    convert_stack(stack, local, progress=False, **options)
    url = "s3://book/run/image.ome.zarr"
    result = convert_stack(stack, url, progress=False, workers=2, **options)
    assert result.finished and result.output == url
    assert objects(url) == chunk_files(local)  # same keys, same bytes
    assert not (tmp_path / "s3:").exists() and not Path("s3:").exists()
    group = zarr.open_group(open_store(url), mode="r")
    reference = zarr.open_group(local, mode="r")
    for level in range(result.tasks_total and len(result.level_shapes)):
        assert np.array_equal(group[str(level)][:], reference[str(level)][:])
    assert group.attrs.asdict() == reference.attrs.asdict()


def test_cli_into_s3_from_environment_only(s3, stack, tmp_path) -> None:
    """Only the fixture's AWS variables configure it; a rerun writes nothing."""
    url = "s3://book/cli/image.ome.zarr"
    code, out, err = run_cli(str(stack), url, "--chunks", "16", cwd=tmp_path)
    assert code == 0 and "Traceback" not in err, err
    assert "Converting: 100%" in err  # the progress bar, as for a local output
    assert out.startswith("image.ome.zarr: converted; ") and "MB stored" in out
    assert list(tmp_path.iterdir()) == []  # nothing local, no folder "s3:"
    local = tmp_path / "local" / "image.ome.zarr"
    local.parent.mkdir()
    convert_stack(stack, local, chunks=16, progress=False)
    assert objects(url) == chunk_files(local)
    s3.requests.clear()
    code, out, err = run_cli(str(stack), url, "--chunks", "16", cwd=tmp_path)
    assert code == 0 and "nothing to do" in out
    assert s3.requests and not [r for r in s3.requests if r.method in WRITES]


def test_resume_after_sigkill_gives_identical_output(s3, stack, tmp_path) -> None:
    reference = "s3://book/reference/image.ome.zarr"
    convert_stack(stack, reference, chunks=8, progress=False)
    url = "s3://book/killed/image.ome.zarr"
    fs = s3_filesystem()
    done = f"book/killed/image.ome.zarr/{STATE_FOLDER}/done/"
    process = cli(
        str(stack),
        url,
        "--chunks",
        "8",
        slow=True,
        cwd=tmp_path,
    )

    def finished() -> int:
        fs.invalidate_cache()
        return len(fs.find(done))

    kill_once(process, finished, 3)
    fs.invalidate_cache()
    finished_before = {k.rsplit("/", 1)[-1] for k in fs.find(done)}
    plan = Plan(  # the default: OME-Zarr 0.5 in shards of 2 x 2 x 2 chunks
        shape=SHAPE,
        dtype="uint16",
        chunks=(8,) * 3,
        levels=default_levels(SHAPE, 8),
        zarr_format=3,
        shards=(16,) * 3,
    )
    total = len(plan.tasks())
    assert 3 <= len(finished_before) < total
    # Killed: the metadata is written last, so this is no valid-looking image.
    attributes = zarr.open_group(open_store(url), mode="r").attrs.asdict()
    assert "multiscales" not in ome_attributes(attributes)

    result = convert_stack(stack, url, chunks=8, progress=False)
    assert result.finished
    assert result.tasks_skipped == len(finished_before)
    assert result.tasks_run == total - len(finished_before)
    assert objects(url) == objects(reference)
    fs.invalidate_cache()
    assert fs.find(f"book/killed/image.ome.zarr/{STATE_FOLDER}/") == []


def test_overwrite_replaces_only_zarr_data(s3, stack, tmp_path) -> None:
    url = "s3://book/other/image.ome.zarr"
    convert_stack(stack, url, chunks=16, progress=False)
    result = convert_stack(stack, url, chunks=32, overwrite=True, progress=False)
    assert result.finished and result.tasks_skipped == 0
    local = tmp_path / "image.ome.zarr"
    convert_stack(stack, local, chunks=32, progress=False)
    assert objects(url) == chunk_files(local)


def one_line_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run the command line here; check it printed one line and returned 2."""
    code = main([*args])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: "), err
    return err


def test_bad_s3_outputs_exit_2_with_one_line(s3, stack, tmp_path, capsys) -> None:
    fs = s3_filesystem()
    fs.pipe_file("book/notes/readme.txt", b"not zarr")
    before = objects("s3://book")
    cases = {
        "s3://missing-bucket/image.ome.zarr": "create bucket 'missing-bucket'",
        "s3://book/notes": "not Zarr data",
        "s3://book": "needs a bucket and a name",
    }
    for url, fix in cases.items():
        for extra in ([], ["--overwrite"]):
            err = one_line_error(capsys, str(stack), url, *extra)
            assert url in err and fix in err, err
    assert objects("s3://book") == before  # nothing written, nothing deleted
    assert not Path("s3:").exists()


def test_overwrite_refuses_a_prefix_holding_other_objects(s3, stack, capsys) -> None:
    """One ``zarr.json`` and a readme.txt under the prefix: --overwrite
    refuses, naming readme.txt, and every object is still there."""
    fs = s3_filesystem()
    fs.pipe_file("book/mixed/image.ome.zarr/zarr.json", b'{"zarr_format": 3}')
    fs.pipe_file("book/mixed/image.ome.zarr/readme.txt", b"not zarr")
    before = objects("s3://book")
    assert len(before) == 2
    url = "s3://book/mixed/image.ome.zarr"
    err = one_line_error(capsys, str(stack), url, "--overwrite")
    assert "Refusing to delete" in err and "readme.txt" in err, err
    assert objects("s3://book") == before


def test_refused_credentials(s3, stack, capsys, monkeypatch) -> None:
    """moto checks signatures against its IAM users once auth is switched on."""
    monkeypatch.setattr(moto.settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
    url = "s3://book/image.ome.zarr"
    err = one_line_error(capsys, str(stack), url)
    assert "refused the credentials" in err and url in err
    assert "AWS_ACCESS_KEY_ID" in err


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_endpoint_that_does_not_answer(stack, capsys, monkeypatch) -> None:
    """Nothing listens at the endpoint: bounded retries, then one line."""
    endpoint = f"http://127.0.0.1:{free_port()}"
    for name, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "y",
        "AWS_ALLOW_HTTP": "true",
    }.items():
        monkeypatch.setenv(name, value)
    start = time.monotonic()
    url = "s3://book/image.ome.zarr"
    err = one_line_error(capsys, str(stack), url)
    assert time.monotonic() - start < 30
    assert "Cannot reach the S3 endpoint" in err and endpoint in err and url in err


def test_plain_http_endpoint_needs_allow_http(stack, capsys, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("AWS_ALLOW_HTTP", raising=False)
    err = one_line_error(capsys, str(stack), "s3://book/image.ome.zarr")
    assert "AWS_ALLOW_HTTP=true" in err


def test_web_address_is_not_an_output(stack, capsys) -> None:
    err = one_line_error(capsys, str(stack), "https://example.org/image.ome.zarr")
    assert "read-only" in err


def test_bad_input_in_a_new_process_prints_no_traceback(s3, stack, tmp_path) -> None:
    process = cli(str(stack), "s3://missing-bucket/image.ome.zarr", cwd=tmp_path)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # and no local folder "s3:"
