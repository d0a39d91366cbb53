"""Small file-system helpers used by the chapters."""

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
