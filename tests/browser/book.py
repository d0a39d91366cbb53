"""What the browser tests expect of the built book: pages, titles, figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from _ext.launch_notebooks import chapter_sources

REPO = Path(__file__).resolve().parents[2]


def book_title() -> str:
    """The book's title from _config.yml."""
    return yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))["title"]


def toc_pages() -> list[str]:
    """Every page in _toc.yml, root first, as docnames like ``book/index``."""
    toc = yaml.safe_load((REPO / "_toc.yml").read_text(encoding="utf-8"))
    pages = [toc["root"]]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "file" in node:
                pages.append(str(node["file"]).removesuffix(".md"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in toc.items() if k != "root"})
    return pages


def page_heading(docname: str) -> str:
    """The first level-1 heading of a page's MyST source (its Sphinx title)."""
    text = (REPO / f"{docname}.md").read_text(encoding="utf-8")
    if text.startswith("---"):
        text = text.split("\n---", 1)[1]  # skip the YAML front matter
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    raise LookupError(f"{docname}.md has no '# ' heading")


def is_chapter(docname: str) -> bool:
    """Whether a page is a chapter notebook (it has launch and .ipynb buttons)."""
    return (REPO / f"{docname}.md") in chapter_sources()
