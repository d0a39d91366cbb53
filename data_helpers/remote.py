"""Open a Zarr store from a URL: ``s3://`` (standard AWS variables) or ``http(s)://``.

``s3://bucket/prefix`` is opened with zarr's ``FsspecStore`` over s3fs, which
reads the standard AWS environment variables: ``AWS_ENDPOINT_URL`` (for MinIO,
Ceph, a local test server...), ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``
and ``AWS_REGION`` or ``AWS_DEFAULT_REGION``. A plain-HTTP endpoint is used only
with ``AWS_ALLOW_HTTP=true``, as in the Rust ``object_store`` crate (and so
obstore). Retries and time-outs are bounded, so an endpoint that does not answer
fails within seconds. ``http(s)://`` URLs are read-only.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from zarr.abc.store import Store
from zarr.storage import FsspecStore

__all__ = [
    "RemoteError",
    "is_url",
    "open_store",
    "s3_filesystem",
    "s3_options",
    "upload_folder",
]

#: botocore's own retries and time-outs (seconds), and s3fs's retries on top.
#: With these, an endpoint that refuses connections fails in a few seconds, and
#: one that accepts but never answers in about half a minute.
CONNECT_TIMEOUT, READ_TIMEOUT, BOTOCORE_ATTEMPTS, S3FS_RETRIES = 3, 10, 3, 1
TRUE = {"1", "true", "yes", "on"}


class RemoteError(ValueError):
    """A URL or remote configuration that cannot work, with what to do instead."""


def is_url(target: str | os.PathLike[str]) -> bool:
    """Whether ``target`` is an object-store or web URL rather than a local path."""
    return isinstance(target, str) and urlsplit(target).scheme in {
        "s3",
        "http",
        "https",
    }


def s3_options(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """s3fs options from the AWS environment variables (``os.environ`` by default)."""
    env = os.environ if environ is None else environ
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    if endpoint and urlsplit(endpoint).scheme == "http":
        if env.get("AWS_ALLOW_HTTP", "").lower() not in TRUE:
            raise RemoteError(
                f"AWS_ENDPOINT_URL={endpoint} is plain HTTP: set AWS_ALLOW_HTTP=true "
                "to use it (a local test server), or give an https:// endpoint."
            )
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
    options: dict[str, Any] = {
        # s3fs reads one object in parallel parts if max_concurrency > 1 (its
        # default is 10), asking for the object's size first: one HEAD more per
        # chunk. zarr already reads many chunks at once, so one GET each.
        "max_concurrency": 1,
        "client_kwargs": {"region_name": region},
        "config_kwargs": {
            "connect_timeout": CONNECT_TIMEOUT,
            "read_timeout": READ_TIMEOUT,
            "retries": {"max_attempts": BOTOCORE_ATTEMPTS, "mode": "standard"},
        },
    }
    if endpoint:
        options["endpoint_url"] = endpoint
    if env.get("AWS_ACCESS_KEY_ID"):
        options["key"] = env["AWS_ACCESS_KEY_ID"]
        options["secret"] = env.get("AWS_SECRET_ACCESS_KEY", "")
    return options


def open_store(url: str, mode: Literal["r", "w"] = "r") -> Store:
    """A zarr store for ``url`` (``s3://bucket/prefix`` or ``http(s)://...``).

    ``mode="r"`` opens it read-only, ``"w"`` writable (``s3://`` only).
    """
    scheme = urlsplit(url).scheme
    if scheme == "s3":
        if not urlsplit(url).netloc:
            raise RemoteError(f"{url} names no bucket: write s3://BUCKET/PREFIX.")
        store = FsspecStore.from_url(
            url, storage_options=s3_options(), read_only=mode == "r"
        )
        store.fs.retries = S3FS_RETRIES  # s3fs's own retries (a class default of 5)
        return store
    if scheme in {"http", "https"}:
        if mode != "r":
            raise RemoteError(f"{url}: a web server is read-only; write to s3://.")
        return FsspecStore.from_url(url, read_only=True)
    raise RemoteError(f"{url} is not an s3:// or http(s):// URL.")


def s3_filesystem() -> Any:
    """An ``s3fs.S3FileSystem`` configured like ``open_store`` (blocking calls).

    One per configuration (endpoint, credentials, region), made once.
    """
    return _filesystem(json.dumps(s3_options(), sort_keys=True))


@functools.cache
def _filesystem(options: str) -> Any:
    import s3fs

    filesystem = s3fs.S3FileSystem(**json.loads(options), skip_instance_cache=True)
    filesystem.retries = S3FS_RETRIES
    return filesystem


def upload_folder(folder: str | os.PathLike[str], url: str) -> int:
    """Copy every file below ``folder`` to ``s3://bucket/prefix`` ``url``; the count."""
    root = Path(folder)
    files = sorted(p for p in root.rglob("*") if p.is_file())
    remote = [f"{url.rstrip('/')}/{p.relative_to(root).as_posix()}" for p in files]
    s3_filesystem().put([str(p) for p in files], remote)
    return len(files)
