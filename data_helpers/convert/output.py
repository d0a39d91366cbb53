"""Where a conversion writes: a local folder or an ``s3://`` prefix, as one ``Output``.

``Output.of`` normalises what the reader gave once, at the boundary (as
zarr-python does with ``StoreLike``); everything after it asks the output
for its store, its children, its listing, its state, and never tests
whether it is a path or a URL again.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from data_helpers.convert.errors import ConversionError
from data_helpers.convert.object_state import ObjectState, check_reachable
from data_helpers.convert.state import STATE_FOLDER, ConversionState, FolderState
from data_helpers.files import folder_bytes
from data_helpers.remote import RemoteError, is_remote, open_store, s3_filesystem

#: Zarr metadata a conversion writes at the top of its output (any format).
ZARR_METADATA = frozenset({".zgroup", ".zattrs", ".zarray", "zarr.json", ".zmetadata"})


def written_by_conversion(name: str) -> bool:
    """Whether a top-level entry named ``name`` is one a conversion writes.

    Zarr metadata, the level arrays (``0``, ``1``, ...), the label images'
    group ``labels`` and the conversion's state folder; nothing else.
    """
    return name in ZARR_METADATA or name in (STATE_FOLDER, "labels") or name.isdigit()


@dataclass(frozen=True)
class Output:
    """A conversion's output: an absolute folder path, or ``s3://bucket/prefix``."""

    location: str

    @classmethod
    def of(cls, value: str | os.PathLike[str] | Output) -> Output:
        """The output the reader named: a folder (made absolute) or an s3:// URL."""
        if isinstance(value, Output):
            return value
        if isinstance(value, str) and is_remote(value):
            if urlsplit(value).scheme.lower() != "s3":
                raise ConversionError(
                    f"{value} is a web address, which is read-only: write to a folder "
                    "or to s3://BUCKET/NAME.ome.zarr."
                )
            return cls(value.rstrip("/"))
        return cls(os.path.abspath(value))

    @property
    def remote(self) -> bool:
        """Whether it is in object storage (``s3://``)."""
        return is_remote(self.location)

    @property
    def path(self) -> Path:
        """The folder of a local output."""
        if self.remote:
            raise ValueError(f"{self.location} is not a local folder.")
        return Path(self.location)

    @property
    def given(self) -> Path | str:
        """The output as Python code names it: a ``Path``, or the URL."""
        return self.location if self.remote else self.path

    @property
    def name(self) -> str:
        """The last part of the folder or URL: ``image.ome.zarr``."""
        if self.remote:
            return PurePosixPath(urlsplit(self.location).path).name
        return self.path.name

    @property
    def prefix(self) -> str:
        """``bucket/prefix/image.ome.zarr``: a remote output's key prefix and bucket."""
        parts = urlsplit(self.location)
        return f"{parts.netloc}/{parts.path.strip('/')}".rstrip("/")

    def __str__(self) -> str:
        return self.location

    def child(self, name: str) -> Output:
        """``output/name``."""
        if self.remote:
            return Output(f"{self.location}/{name}")
        return Output(str(self.path / name))

    def store(self, mode: str = "r+") -> Any:
        """What zarr opens: the folder itself, or a store for the URL."""
        if self.remote:
            return open_store(self.location, "r" if mode == "r" else "w")
        return self.path

    def state(self) -> ConversionState:
        """Where the conversion keeps its manifest and done markers."""
        return ObjectState(self.location) if self.remote else FolderState(self.path)

    def check(self) -> None:
        """Raise ConversionError, having written nothing, if it cannot be written."""
        if self.remote:
            self._check_remote()
            return
        path = self.path
        if path.exists() and not path.is_dir():
            raise ConversionError(
                f"The output {str(path)!r} exists and is a file: choose a folder name "
                "such as image.ome.zarr."
            )
        if path.is_dir() and not os.access(path, os.W_OK):
            raise ConversionError(
                f"The output {str(path)!r} cannot be written: check its permissions."
            )
        if not path.is_dir():
            self._check_parent()

    def _check_parent(self) -> None:
        """The folder a new output goes into must be writable, or be one folder
        that ``make_parent`` can make in a writable folder (as ``mkdir``)."""
        path = self.path
        parent = path.parent
        folder = parent if parent.exists() else parent.parent
        problem = None
        if not folder.exists():
            problem = (
                f"its folder {str(parent)!r} does not exist, nor does "
                f"{str(folder)!r}: check the path, or make the folders first"
            )
        elif not folder.is_dir():
            problem = f"{str(folder)!r} is a file, not a folder: choose another path"
        elif not os.access(folder, os.W_OK):
            problem = (
                f"its folder {str(folder)!r} is not writable: check its permissions"
            )
        if problem:
            raise ConversionError(
                f"The output {str(path)!r} cannot be written: {problem}."
            )

    def make_parent(self) -> Path | None:
        """Make a local output's missing folder (``check`` allowed one); return it
        if it was made."""
        if self.remote or self.path.parent.is_dir():
            return None
        self.path.parent.mkdir()
        return self.path.parent

    def _check_remote(self) -> None:
        try:
            fs = s3_filesystem()
        except RemoteError as error:
            raise ConversionError(str(error)) from None
        bucket, _, key = self.prefix.partition("/")
        if not bucket or not key:
            raise ConversionError(
                f"{self.location} needs a bucket and a name: write "
                "s3://BUCKET/NAME.ome.zarr."
            )
        check_reachable(fs, self.location, bucket)
        fs.invalidate_cache()

    def names(self) -> set[str]:
        """Names of the files (objects) and folders directly under the output."""
        if not self.remote:
            path = self.path
            return {p.name for p in path.iterdir()} if path.is_dir() else set()
        fs = s3_filesystem()
        try:
            entries = fs.ls(self.prefix)
        except FileNotFoundError:
            return set()
        return {entry.rstrip("/").rsplit("/", 1)[-1] for entry in entries}

    def remove(self, names: set[str]) -> None:
        """Delete the entries ``names`` directly under the output, and all in them."""
        if self.remote:
            fs = s3_filesystem()
            for name in sorted(names):
                fs.rm(f"{self.prefix}/{name}", recursive=True)
            fs.invalidate_cache()
            return
        for name in names:
            entry = self.path / name
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    def remove_partial_writes(self) -> None:
        """Delete what a kill left of zarr's chunk writes (``NAME.<id>.partial``).

        zarr-python's local store writes a chunk to a ``.partial`` file, then
        renames it: a kill can leave these behind. Object stores have no
        partial objects: a chunk or shard is one ``PUT``, there or not.
        """
        if self.remote:
            return
        for leftover in self.path.rglob("*.partial"):
            leftover.unlink()

    def bytes(self) -> int:
        """Bytes in all files (objects) under the output."""
        if not self.remote:
            return folder_bytes(self.path)
        fs = s3_filesystem()
        fs.invalidate_cache()
        return int(fs.du(self.prefix))
