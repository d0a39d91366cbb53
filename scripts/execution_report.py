"""Print how long each chapter took to execute, from the book's execution cache."""

from __future__ import annotations

import sys
from pathlib import Path

from jupyter_cache import get_cache


def report(cache_path: Path) -> list[tuple[str, float]]:
    """Return (chapter, seconds) for every cached chapter execution."""
    cache = get_cache(cache_path)
    rows = []
    for record in cache.list_cache_records():
        seconds = record.data.get("execution_seconds", float("nan"))
        rows.append((Path(record.uri).stem, float(seconds)))
    return sorted(rows)


def main() -> None:
    cache_path = Path(sys.argv[1] if len(sys.argv) > 1 else "_build/.jupyter_cache")
    if not cache_path.exists():
        sys.exit(
            f"No execution cache at {cache_path}: build the book first (nox -s book)."
        )
    print("Chapter execution times (from the execution cache):")
    for name, seconds in report(cache_path):
        print(f"  {name:<32} {seconds:6.1f} s")


if __name__ == "__main__":
    main()
