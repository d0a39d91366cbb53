"""Codecs named by short strings (``"blosc-zstd-3-shuffle"``), and the book's default.

A name (a *candidate*) is one of:

- ``"blosc-<cname>-<level>-<shuffle>"``: Blosc with an inner compressor
  (``lz4``, ``zstd``, ...), a level from 0 to 9 and a shuffle of
  ``noshuffle``, ``shuffle`` (byte shuffle) or ``bitshuffle``;
- ``"zstd-<level>"``: Zstandard on its own, level 1 to 22;
- ``"gzip-<level>"``: GZip, level 0 to 9;
- ``"none"``: no compression.
"""

from __future__ import annotations

from typing import Any, cast

import numcodecs
import zarr
import zarr.codecs
from numcodecs import Blosc, GZip, Zstd

from data_helpers.types import ZarrFormat

SHUFFLES = {
    "noshuffle": Blosc.NOSHUFFLE,
    "shuffle": Blosc.SHUFFLE,
    "bitshuffle": Blosc.BITSHUFFLE,
}
LEVELS = {"blosc": range(0, 10), "zstd": range(1, 23), "gzip": range(0, 10)}
EXAMPLES = "'blosc-zstd-3-shuffle', 'zstd-3', 'gzip-6' or 'none'"
#: The book's default: Blosc with zstd level 3 and byte shuffle.
DEFAULT_CODEC = "blosc-zstd-3-shuffle"


def _level(candidate: str, kind: str, text: str) -> int:
    allowed = LEVELS[kind]
    if not text.isdigit() or int(text) not in allowed:
        raise ValueError(
            f"level {text!r} in candidate {candidate!r} is not valid: {kind} levels "
            f"are {allowed.start} to {allowed.stop - 1}."
        )
    return int(text)


def make_codec(candidate: str, zarr_format: ZarrFormat = 2) -> Any:
    """The compressor a candidate names, for Zarr format 2 or 3 (None: none)."""
    if zarr_format not in (2, 3):
        raise ValueError(f"zarr_format must be 2 or 3, not {zarr_format!r}.")
    kind, *parts = candidate.split("-")
    if kind == "none" and not parts:
        return None
    if kind == "blosc" and len(parts) == 3:
        cname, level_text, shuffle = parts
        if cname not in numcodecs.blosc.list_compressors():
            raise ValueError(
                f"unknown Blosc compressor {cname!r} in candidate {candidate!r}: "
                f"use one of {numcodecs.blosc.list_compressors()}."
            )
        if shuffle not in SHUFFLES:
            raise ValueError(
                f"unknown shuffle {shuffle!r} in candidate {candidate!r}: "
                f"use one of {list(SHUFFLES)}."
            )
        level = _level(candidate, kind, level_text)
        if zarr_format == 2:
            return Blosc(cname=cname, clevel=level, shuffle=SHUFFLES[shuffle])
        # cname and shuffle are checked above against the names zarr accepts
        return zarr.codecs.BloscCodec(
            cname=cast(Any, cname), clevel=level, shuffle=cast(Any, shuffle)
        )
    if kind in ("zstd", "gzip") and len(parts) == 1:
        level = _level(candidate, kind, parts[0])
        if zarr_format == 2:
            return Zstd(level=level) if kind == "zstd" else GZip(level=level)
        if kind == "zstd":
            return zarr.codecs.ZstdCodec(level=level)
        return zarr.codecs.GzipCodec(level=level)
    if kind in ("blosc", "zstd", "gzip", "none"):
        raise ValueError(
            f"candidate {candidate!r} has the wrong number of parts: write it like "
            f"{EXAMPLES}."
        )
    raise ValueError(
        f"unknown codec {kind!r} in candidate {candidate!r}: use {EXAMPLES}."
    )
