"""Every version of an installed library that the prose names is the one installed.

The chapters state facts "checked with" a library version (ome-zarr-py 0.21.0's
``Reader``, zarr-python 3.4.2's local store, ...). When requirements.txt moves,
this test lists every such mention that still names the old version, so each
fact is checked again against the new one rather than left behind.
"""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [*sorted((ROOT / "book").glob("*.md")), ROOT / "README.md"]
DISTRIBUTIONS = {
    "zarr-python": "zarr",
    "ome-zarr-py": "ome-zarr",
    "`ome-zarr`": "ome-zarr",
    "ome-zarr-models": "ome-zarr-models",
    "pydantic-zarr": "pydantic-zarr",
    "ngff-zarr": "ngff-zarr",
    "numcodecs": "numcodecs",
    "tifffile": "tifffile",
    "dask": "dask",
}
MENTION = re.compile(
    r"(?<![\w-])(" + "|".join(map(re.escape, DISTRIBUTIONS)) + r")"
    r"(?:\]\([^)]*\))?[ (]+(?:version |release )?v?(\d+\.\d+(?:\.\d+)?)"
)
# Mentions that are history or a requirement of another package, not a version
# the book was checked with; each with its reason.
NOT_CHECKED_WITH = {
    ("zarr-python", "3.1.5"),  # napari-ome-zarr 0.11.0 requires 3.1.5 or newer
    ("dask", "2025.11.0"),  # history: the first release with dask pull request 12105
}


def mentions() -> list[tuple[str, str, str]]:
    found = []
    for page in PAGES:
        for match in MENTION.finditer(page.read_text(encoding="utf-8")):
            found.append((page.name, match[1], match[2]))
    return found


def test_named_versions_are_installed() -> None:
    found = mentions()
    assert ("creating-chunked-datasets.md", "ome-zarr-py", "0.21.0") in found
    stale = [
        f"{page}: {name} {named}, installed {version(DISTRIBUTIONS[name])}"
        for page, name, named in found
        if (name, named) not in NOT_CHECKED_WITH
        and named != version(DISTRIBUTIONS[name])
    ]
    assert stale == []
