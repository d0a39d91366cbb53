"""A zarr store wrapper that records every request, to see what a reader asks for.

``RequestLog`` wraps any zarr-python 3 store (``LocalStore``, ``MemoryStore``,
...) and notes each read and write: which key, which bytes, how many. It can
also wait a little before each request, like a store far away on a network,
which makes races between parallel writers easy to see.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from zarr.abc.store import (
    ByteRequest,
    OffsetByteRequest,
    RangeByteRequest,
    Store,
    SuffixByteRequest,
)
from zarr.core.buffer import Buffer, BufferPrototype
from zarr.storage import WrapperStore


@dataclass(frozen=True)
class Request:
    """One request to a store: ``get`` or ``set`` of ``nbytes`` bytes of ``key``."""

    method: str
    key: str
    byte_range: str
    nbytes: int


def describe_range(byte_range: ByteRequest | None) -> str:
    """A short text for a byte range: ``all``, ``100-199``, ``last 16``, ``from 8``."""
    if byte_range is None:
        return "all"
    if isinstance(byte_range, RangeByteRequest):
        return f"{byte_range.start}-{byte_range.end - 1}"
    if isinstance(byte_range, SuffixByteRequest):
        return f"last {byte_range.suffix}"
    if isinstance(byte_range, OffsetByteRequest):
        return f"from {byte_range.offset}"
    raise TypeError(f"Unknown byte range {byte_range!r}.")


class RequestLog(WrapperStore[Store]):
    """Wrap ``store`` and record each ``get`` and ``set`` in ``self.requests``.

    ``delay`` (seconds) is waited before every request is passed on, as if the
    store were on a slow network. Clear the record with ``self.requests.clear()``.
    """

    def __init__(self, store: Store, delay: float = 0.0) -> None:
        super().__init__(store)
        self.delay = delay
        self.requests: list[Request] = []

    def _with_store(self, store: Store) -> RequestLog:
        copy = type(self)(store, delay=self.delay)
        copy.requests = self.requests  # copies (e.g. read-only ones) share the log
        return copy

    async def get(
        self,
        key: str,
        prototype: BufferPrototype,
        byte_range: ByteRequest | None = None,
    ) -> Buffer | None:
        if self.delay:
            await asyncio.sleep(self.delay)
        value = await self._store.get(key, prototype, byte_range)
        nbytes = 0 if value is None else len(value)
        self.requests.append(Request("get", key, describe_range(byte_range), nbytes))
        return value

    async def get_partial_values(
        self,
        prototype: BufferPrototype,
        key_ranges: Iterable[tuple[str, ByteRequest | None]],
    ) -> list[Buffer | None]:
        return [await self.get(key, prototype, rng) for key, rng in key_ranges]

    async def get_ranges(
        self,
        key: str,
        byte_ranges: Sequence[ByteRequest | None],
        *,
        prototype: BufferPrototype,
        max_concurrency: int | None = None,
        max_gap_bytes: int | None = None,
        max_coalesced_bytes: int | None = None,
    ) -> AsyncIterator[Sequence[tuple[int, Buffer | None]]]:
        # zarr-python 3.3+ reads several chunks of a shard with get_ranges, which
        # WrapperStore hands straight to the wrapped store, unrecorded. Store's
        # own version merges nearby ranges and reads each merged range with
        # self.get, as LocalStore and MemoryStore do, so each one is recorded.
        given = {
            "max_concurrency": max_concurrency,
            "max_gap_bytes": max_gap_bytes,
            "max_coalesced_bytes": max_coalesced_bytes,
        }
        coalescing = {name: value for name, value in given.items() if value is not None}
        async for batch in Store.get_ranges(
            self, key, byte_ranges, prototype=prototype, **coalescing
        ):
            yield batch

    @property
    def _supports_sync_io(self) -> bool:
        return False  # every read and write goes through get/set, and is recorded

    async def _set_many(self, values: Iterable[tuple[str, Buffer]]) -> None:
        for key, value in values:
            await self.set(key, value)

    async def set(self, key: str, value: Buffer) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        self.requests.append(Request("set", key, "all", len(value)))
        await self._store.set(key, value)

    def summary(self, method: str) -> tuple[int, int]:
        """Number of ``method`` requests and the bytes they moved."""
        chosen = [r for r in self.requests if r.method == method]
        return len(chosen), sum(r.nbytes for r in chosen)

    def table(self) -> list[dict[str, Any]]:
        """The requests as rows (for printing)."""
        return [vars(r) for r in self.requests]
