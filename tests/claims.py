"""Parsers that the claim tests share: numbers, tuples and lists in printed text."""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Sequence

#: Numbers the prose spells out in words.
NUMBER_WORDS = {
    word: n
    for n, word in enumerate(
        "zero one two three four five six seven eight nine ten".split()
    )
}


def comma_floats(text: str) -> list[float]:
    """The numbers of a comma-separated list such as ``1.5, 2, 3``."""
    return [float(x) for x in text.split(",")]


def ints(text: str) -> list[int]:
    """Every whole number in ``text``, in order (``252,000`` is one number)."""
    return [int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", text)]


def ints_after(label: str, text: str) -> list[int]:
    """Every whole number printed right after ``label``, in order."""
    return [int(m) for m in re.findall(rf"{re.escape(label)}\s*(\d+)", text)]


def prose_numbers(pattern: str, text: str) -> list[float]:
    """The numbers that the groups of ``pattern`` capture in ``text``.

    Line breaks and runs of spaces in ``text`` count as one space, as in the
    rendered page. A group may hold ``262 144``, ``1,000``, ``1909.44`` or a
    word of ``NUMBER_WORDS``. Fails if ``pattern`` is not in ``text``.
    """
    match = re.search(pattern, " ".join(text.split()))
    assert match is not None, f"no {pattern!r} in the text"
    return [
        NUMBER_WORDS[g] if g in NUMBER_WORDS else float(re.sub(r"[ ,]", "", g))
        for g in match.groups()
    ]


def tuples(text: str) -> list[tuple[int, ...]]:
    """Every tuple of integers printed in ``text``, in order."""
    return [ast.literal_eval(t) for t in re.findall(r"\(\d+(?:, \d+)+\)", text)]


def lists(text: str) -> list[list[str]]:
    """Every printed Python list of strings in ``text``, in order."""
    return [ast.literal_eval(t) for t in re.findall(r"\[[^\[\]]*\]", text)]


def grid(shape: Sequence[int], chunks: int | Sequence[int]) -> tuple[int, ...]:
    """Chunks along each axis of ``shape``; ``chunks`` one edge or one per axis."""
    edges = [chunks] * len(shape) if isinstance(chunks, int) else chunks
    return tuple(math.ceil(n / c) for n, c in zip(shape, edges, strict=True))
