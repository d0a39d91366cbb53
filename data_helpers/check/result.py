"""What a check found: findings, the summary of each level, the result."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from data_helpers.wording import count


class CheckError(ValueError):
    """The image cannot be checked at all; the message says why and what to do."""


@dataclass(frozen=True)
class Finding:
    """One problem or piece of information: ``where`` (level, chunk key) and what."""

    where: str
    message: str


def vector(values: Sequence[float] | None) -> str:
    """A scale or translation for people: ``(4455.36, 0.5)``, not 4455.360000000001."""
    if values is None:
        return "none"
    return "(" + ", ".join(f"{v:.10g}" for v in values) + ")"


@dataclass(frozen=True)
class Level:
    """What the metadata and array header say about one pyramid level."""

    path: str
    shape: tuple[int, ...]
    dtype: str
    chunks: tuple[int, ...]
    shards: tuple[int, ...] | None
    codecs: tuple[str, ...]
    scale: tuple[float, ...] | None
    translation: tuple[float, ...] | None
    #: Stored objects (chunks, or shards if sharded) and objects in the grid;
    #: ``stored`` and ``bytes_stored`` are None where the store cannot list.
    stored: int | None
    in_grid: int
    bytes_stored: int | None

    def line(self) -> str:
        """One line of the summary."""
        objects = count(self.in_grid, "shard" if self.shards else "chunk")
        stored = (
            f"{self.stored}/{objects} stored, {count(self.bytes_stored, 'byte')}"
            if self.stored is not None and self.bytes_stored is not None
            else f"{objects} in the grid (the store cannot list)"
        )
        shards = f", shards {self.shards}" if self.shards else ""
        return (
            f"level {self.path}: {self.shape} {self.dtype}, chunks {self.chunks}"
            f"{shards}, codecs {' '.join(self.codecs) or 'none'}; "
            f"scale {vector(self.scale)}, translation {vector(self.translation)}; "
            f"{stored}"
        )


@dataclass(frozen=True)
class Summary:
    """The image in brief: versions, axes and levels."""

    location: str
    ome_version: str | None
    zarr_format: int
    axes: tuple[tuple[str, str | None, str | None], ...]  # name, type, unit
    levels: tuple[Level, ...]

    def lines(self) -> list[str]:
        axes = ", ".join(
            f"{name} ({', '.join(v for v in (kind, unit) if v) or 'no type'})"
            for name, kind, unit in self.axes
        )
        return [
            f"{self.location}: OME-Zarr {self.ome_version} on Zarr format "
            f"{self.zarr_format}, {count(len(self.levels), 'level')}",
            f"axes: {axes}",
            *(level.line() for level in self.levels),
        ]


@dataclass
class CheckResult:
    """What ``check_image`` found: a summary, problems and information."""

    summary: Summary
    problems: list[Finding] = field(default_factory=list)
    information: list[Finding] = field(default_factory=list)
    deep: bool = False

    @property
    def exit_code(self) -> int:
        """0 without problems, 1 with problems."""
        return 1 if self.problems else 0

    def lines(self) -> list[str]:
        """The report: summary, ``PROBLEM`` and ``INFO`` lines, and a verdict."""
        read = (
            "metadata, array headers and every chunk"
            if self.deep
            else ("metadata and array headers; --deep reads every chunk")
        )
        problems = len(self.problems)
        verdict = count(problems, "problem") if problems else "no problems"
        return [
            *self.summary.lines(),
            *(f"PROBLEM {p.where}: {p.message}" for p in self.problems),
            *(f"INFO {i.where}: {i.message}" for i in self.information),
            f"{verdict} found ({read})",
        ]

    def text(self) -> str:
        return "\n".join(self.lines())

    def to_json(self) -> dict[str, Any]:
        """The summary with ``problems`` and ``information`` lists, as JSON values."""
        return {
            **asdict(self.summary),
            "deep": self.deep,
            "problems": [asdict(p) for p in self.problems],
            "information": [asdict(i) for i in self.information],
        }


# --------------------------------------------------------------------------
# Opening
# --------------------------------------------------------------------------


def one_line(error: BaseException) -> str:
    """The first line of an error's message, with its type if it says nothing."""
    text = (str(error).strip().splitlines() or [""])[0].rstrip(".")
    return text or type(error).__name__
