"""Small helpers for the words of messages: counts with their nouns."""

from __future__ import annotations


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and its noun, plural unless ``n`` is 1: ``1 chunk``, ``1,024 chunks``.

    ``plural`` for nouns that do not just take an ``s`` (``1 axis, 2 axes``).
    """
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
