"""Parsers that the claim tests share: numbers, tuples and lists in printed text."""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Sequence


def comma_floats(text: str) -> list[float]:
    """The numbers of a comma-separated list such as ``1.5, 2, 3``."""
    return [float(x) for x in text.split(",")]


def ints(text: str) -> list[int]:
    """Every whole number in ``text``, in order (``252,000`` is one number)."""
    return [int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", text)]


def ints_after(label: str, text: str) -> list[int]:
    """Every whole number printed right after ``label``, in order."""
    return [int(m) for m in re.findall(rf"{re.escape(label)}\s*(\d+)", text)]


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
