"""The conversion's state in object storage: checks, manifest and done markers.

For an output such as ``s3://bucket/prefix/image.ome.zarr``, ``ObjectState``
keeps the manifest and the done markers as objects under
``image.ome.zarr/.conversion/``, as ``FolderState`` keeps them as files, and
``check_reachable`` checks the bucket and the credentials before anything is
written (``Output.check``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from data_helpers.convert.errors import ConversionError
from data_helpers.convert.state import STATE_FOLDER, Manifest
from data_helpers.remote import s3_filesystem


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


def check_reachable(fs: Any, url: str, bucket: str) -> None:
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
