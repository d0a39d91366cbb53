"""Small helpers for the words of messages: counts with their nouns."""

from __future__ import annotations


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and its noun, plural unless ``n`` is 1: ``1 chunk``, ``1,024 chunks``.

    ``plural`` for nouns that do not just take an ``s`` (``1 axis, 2 axes``).
    """
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def number(value: float) -> str:
    """A number as one would type it: ``1`` for 1.0, ``0.65``, ``19.89``."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))
