"""Open a zarr store on a local path, an ``http(s)://`` URL or an ``s3://`` URL.

Remote data are read with zarr-python's own ``FsspecStore`` (fsspec's HTTP
file system, which asks for byte ranges, and s3fs for S3), never with a
client of our own. An ``s3://`` URL takes its endpoint and credentials from
the standard AWS environment variables, so one command serves any endpoint
that speaks the S3 API (tested against moto's server only):

- ``AWS_ENDPOINT_URL``: the S3 endpoint (AWS itself when unset);
- ``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY``: the credentials;
- ``AWS_REGION`` (or ``AWS_DEFAULT_REGION``): the region;
- ``AWS_ALLOW_HTTP=true``: needed for a plain ``http://`` endpoint, such as a
  test server on 127.0.0.1. Not an AWS SDK variable: the convention of Rust's
  ``object_store`` (obstore), which this module borrows to refuse plain HTTP
  unless told.

Retries and time-outs are bounded (``TRANSFER_OPTIONS``), so an endpoint that
refuses connections fails within seconds, one that never answers within about
half a minute; and every chunk is one ``GET`` (no ``HEAD`` first).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from zarr.abc.store import Store
from zarr.storage import FsspecStore, LocalStore

REMOTE_SCHEMES = ("http://", "https://", "s3://")
#: How s3fs talks to the endpoint, added to ``s3_options``. With
#: ``max_concurrency`` > 1 (its default is 10), s3fs asks for an object's size
#: (``HEAD``) before reading it whole, and reads one over ``default_block_size``
#: (50 MiB) in parallel parts: for chunks, one ``HEAD`` more each. zarr
#: already reads many chunks at once, so one ``GET`` each. botocore's time-outs
#: (seconds) and attempts bound how long an endpoint that does not answer holds
#: a command up; s3fs's own retries (``S3FS_RETRIES``) come on top.
TRANSFER_OPTIONS: dict[str, Any] = {
    "max_concurrency": 1,
    "config_kwargs": {
        "connect_timeout": 3,
        "read_timeout": 10,
        "retries": {"max_attempts": 3, "mode": "standard"},
    },
}
S3FS_RETRIES = 1  # s3fs's class default is 5, each after a longer wait


class RemoteError(ValueError):
    """A URL or remote configuration that cannot work, with what to do instead."""


def is_remote(location: str | os.PathLike[str]) -> bool:
    """Whether ``location`` is an ``http(s)://`` or ``s3://`` URL (not a path)."""
    return isinstance(location, str) and location.lower().startswith(REMOTE_SCHEMES)


def s3_options(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """s3fs options from the standard AWS environment variables.

    Raises ``ValueError`` for a plain-HTTP endpoint without ``AWS_ALLOW_HTTP``.
    """
    env = os.environ if environ is None else environ
    options: dict[str, Any] = {}
    client: dict[str, Any] = {}
    endpoint = env.get("AWS_ENDPOINT_URL")
    if endpoint:
        allow_http = env.get("AWS_ALLOW_HTTP", "").lower() in ("true", "1", "yes")
        if endpoint.lower().startswith("http://") and not allow_http:
            raise RemoteError(
                f"AWS_ENDPOINT_URL {endpoint!r} is plain HTTP: set "
                "AWS_ALLOW_HTTP=true to use it (a local test server), or use https."
            )
        client["endpoint_url"] = endpoint
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if region:
        client["region_name"] = region
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        options["key"] = env["AWS_ACCESS_KEY_ID"]
        options["secret"] = env["AWS_SECRET_ACCESS_KEY"]
    if client:
        options["client_kwargs"] = client
    return options


def open_store(
    location: str | os.PathLike[str], mode: Literal["r", "w"] = "r"
) -> Store:
    """A zarr store for ``location``: read-only with ``mode="r"``, writable with "w".

    A local path gives a ``LocalStore``; an ``http(s)://`` URL an
    ``FsspecStore`` over HTTP (read only); an ``s3://`` URL an ``FsspecStore``
    on s3fs configured from the AWS environment variables (see ``s3_options``).
    """
    if mode not in ("r", "w"):
        raise ValueError(f"mode must be 'r' or 'w', not {mode!r}.")
    read_only = mode == "r"
    if not is_remote(location):
        return LocalStore(Path(location), read_only=read_only)
    url = str(location).rstrip("/")
    if url.lower().startswith("s3://"):
        if not url[len("s3://") :].split("/")[0]:
            raise RemoteError(f"{url} names no bucket: write s3://BUCKET/PREFIX.")
        store = FsspecStore.from_url(
            url,
            storage_options={**s3_options(), **TRANSFER_OPTIONS},
            read_only=read_only,
        )
        store.fs.retries = S3FS_RETRIES
        return store
    if not read_only:
        raise RemoteError(f"{url} is an HTTP URL: it can be read, not written.")
    return FsspecStore.from_url(url, read_only=True)


def s3_filesystem() -> Any:
    """An ``s3fs.S3FileSystem`` configured like ``open_store`` (blocking calls).

    One per configuration (endpoint, credentials, region), made once.
    """
    return _filesystem(json.dumps({**s3_options(), **TRANSFER_OPTIONS}, sort_keys=True))


@functools.cache
def _filesystem(options: str) -> Any:
    import s3fs

    filesystem = s3fs.S3FileSystem(**json.loads(options), skip_instance_cache=True)
    filesystem.retries = S3FS_RETRIES
    return filesystem


def upload_folder(folder: str | os.PathLike[str], url: str) -> int:
    """Copy every file below ``folder`` to ``url`` (``s3://bucket/prefix``).

    Returns how many files were copied.
    """
    root = Path(folder)
    files = sorted(p for p in root.rglob("*") if p.is_file())
    remote = [f"{url.rstrip('/')}/{p.relative_to(root).as_posix()}" for p in files]
    s3_filesystem().put([str(p) for p in files], remote)
    return len(files)
