"""What the benchmarks share: Markdown tables, and writing a report's two files."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

OUT = Path("_build/bench")


def markdown_table(
    header: Sequence[str], rows: Iterable[Sequence[object]], align: str = ""
) -> list[str]:
    """A Markdown table's lines; ``align`` has ``r`` for each right-aligned column."""
    rules = ["---:" if a == "r" else "---" for a in align.ljust(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rules) + " |"]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def write_report(stem: str, data: Any, lines: Sequence[str]) -> tuple[Path, Path]:
    """Write ``data`` as ``OUT/stem.json`` and ``lines`` as ``OUT/stem.md``."""
    OUT.mkdir(parents=True, exist_ok=True)
    json_path, md_path = OUT / f"{stem}.json", OUT / f"{stem}.md"
    json_path.write_text(json.dumps(data, indent=1))
    md_path.write_text("\n".join(lines) + "\n")
    return json_path, md_path
