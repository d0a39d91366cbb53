"""The conversion's state in object storage: checks, manifest and done markers.

For an output such as ``s3://bucket/prefix/image.ome.zarr``, ``ObjectState``
keeps the manifest and the done markers as objects under
``image.ome.zarr/.conversion/``, as ``FolderState`` keeps them as files, and
``prepare_remote_output`` checks the bucket, the credentials and what the
prefix holds before anything is written. Object stores have no partial
objects: a chunk or shard is one ``PUT``, there or not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from data_helpers.convert.errors import ConversionError
from data_helpers.convert.state import (
    STATE_FOLDER,
    Manifest,
    ResumeState,
    explain_mismatch,
    finished_from,
    manifest_hash,
    output_store,
)
from data_helpers.remote import RemoteError, s3_filesystem

ZARR_METADATA = {".zgroup", ".zarray", ".zattrs", "zarr.json", STATE_FOLDER}


@dataclass(frozen=True)
class ObjectState:
    """Manifest and done markers as objects under ``url``'s ``.conversion/``."""

    url: str

    @property
    def prefix(self) -> str:
        """``bucket/prefix/image.ome.zarr``: the output's key prefix with its bucket."""
        parts = urlsplit(self.url)
        return f"{parts.netloc}/{parts.path.strip('/')}".rstrip("/")

    @property
    def folder(self) -> str:
        return f"{self.prefix}/{STATE_FOLDER}"

    def manifest(self) -> Manifest | None:
        try:
            return json.loads(s3_filesystem().cat_file(f"{self.folder}/manifest.json"))
        except FileNotFoundError:
            return None

    def begin(self, manifest: Manifest) -> None:
        text = json.dumps(manifest).encode()
        s3_filesystem().pipe_file(f"{self.folder}/manifest.json", text)

    def done(self) -> set[str]:
        keys = s3_filesystem().find(f"{self.folder}/done/")
        return {key.rsplit("/", 1)[-1] for key in keys}

    def mark_done(self, name: str) -> None:
        s3_filesystem().pipe_file(f"{self.folder}/done/{name}", b"")

    def clear(self) -> None:
        fs = s3_filesystem()
        keys = fs.find(f"{self.folder}/")
        if keys:
            fs.rm(keys)
        fs.invalidate_cache()


def top_level_names(fs: Any, prefix: str) -> set[str]:
    """Names of the objects and "folders" directly under ``prefix``."""
    try:
        return {entry.rstrip("/").rsplit("/", 1)[-1] for entry in fs.ls(prefix)}
    except FileNotFoundError:
        return set()


def _check_reachable(fs: Any, url: str, bucket: str) -> None:
    """Fail with one line unless ``bucket`` exists and the credentials are accepted."""
    from botocore.exceptions import BotoCoreError  # s3fs's client: only for s3://

    endpoint = fs.client_kwargs.get("endpoint_url") or fs.endpoint_url or "AWS"
    try:
        fs.info(bucket)
    except FileNotFoundError:
        raise ConversionError(
            f"The bucket of {url} does not exist at {endpoint}: create bucket "
            f"{bucket!r} first, or check AWS_ENDPOINT_URL."
        ) from None
    except PermissionError:
        raise ConversionError(
            f"{endpoint} refused the credentials for {url}: check "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and that they may use "
            f"bucket {bucket!r})."
        ) from None
    except (BotoCoreError, OSError) as error:
        raise ConversionError(
            f"Cannot reach the S3 endpoint {endpoint} for {url} "
            f"({type(error).__name__}): check AWS_ENDPOINT_URL and that the server "
            "is running."
        ) from None


def prepare_remote_output(
    url: str, manifest: Manifest, folder: Any, overwrite: bool
) -> ResumeState:
    """Check ``url`` (``s3://bucket/prefix``); return ``"new"``, ``"resume"`` or
    ``"finished"``, as ``prepare_output`` does for a folder.

    Raises ConversionError, having written nothing, when it cannot be used.
    Deletes an old output (only Zarr data) when ``overwrite`` is set.
    """
    try:
        fs = s3_filesystem()
    except RemoteError as error:
        raise ConversionError(str(error)) from None
    state = ObjectState(url)
    bucket, _, key = state.prefix.partition("/")
    if not bucket or not key:
        raise ConversionError(
            f"{url} needs a bucket and a name: write s3://BUCKET/NAME.ome.zarr."
        )
    _check_reachable(fs, url, bucket)
    fs.invalidate_cache()
    names = top_level_names(fs, state.prefix)
    if not names:
        return "new"
    made_from = finished_from(output_store(url, "r"))
    if made_from == manifest_hash(manifest) and not overwrite:
        return "finished"
    old = state.manifest()
    if old == manifest and not overwrite:
        return "resume"
    if not names & ZARR_METADATA:
        raise ConversionError(
            f"{url} holds objects that are not Zarr data ({sorted(names)[:3]}): "
            "choose another prefix; --overwrite deletes only Zarr data."
        )
    if overwrite:
        fs.rm(state.prefix, recursive=True)
        fs.invalidate_cache()
        return "new"
    raise ConversionError(explain_mismatch(old or {}, manifest, url, folder))  # type: ignore[arg-type]
