"""Small file-system helpers: folder listings, Zarr data files and their bytes."""

from __future__ import annotations

import os
from pathlib import Path


def get_directory_contents(path: str | os.PathLike[str]) -> list[str]:
    """Return the sorted names of the entries directly inside ``path``.

    Hidden entries (such as Zarr's ``.zarray``) are included.
    """
    directory = Path(path)
    if not directory.exists():
        raise FileNotFoundError(
            f"No such directory: {str(directory)!r}. "
            "Check the path, or create the directory before listing it."
        )
    if not directory.is_dir():
        raise NotADirectoryError(
            f"{str(directory)!r} is a file, not a directory. "
            "Pass the folder that contains it instead."
        )
    return sorted(entry.name for entry in directory.iterdir())


#: Files that hold Zarr metadata rather than chunks (Zarr formats 2 and 3).
METADATA_FILES = frozenset({".zarray", ".zattrs", ".zgroup", "zarr.json"})


def data_files(path: str | os.PathLike[str]) -> list[Path]:
    """The chunk or shard files below ``path`` (every file but Zarr metadata)."""
    files = (p for p in Path(path).rglob("*") if p.is_file())
    return [p for p in files if p.name not in METADATA_FILES]


def folder_bytes(path: str | os.PathLike[str], *, metadata: bool = True) -> int:
    """Bytes in the files under ``path``; with ``metadata=False``, chunks only."""
    files = (p for p in Path(path).rglob("*") if p.is_file())
    return sum(
        p.stat().st_size for p in files if metadata or p.name not in METADATA_FILES
    )
