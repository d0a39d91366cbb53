"""The build reads the book, not a virtual environment or node_modules in the clone.

A reader who follows the README and runs ``python3.12 -m venv .venv`` in the
clone puts thousands of other projects' files there (jupyter-book's own template
chapters among them). ``_config.yml``'s ``exclude_patterns`` must keep Sphinx out
of such folders, and ``.gitignore`` must keep them out of commits. Checked with
jupyter-book's translation of ``_config.yml`` and Sphinx's own source discovery,
on a small tree; no book is built.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from jupyter_book.config import get_final_config
from sphinx.project import Project

REPO = Path(__file__).resolve().parents[1]

# Where a reader's tools leave folders full of .md and .ipynb files.
FOREIGN = [
    ".venv/lib/python3.12/site-packages/jupyter_book/book_template/intro.md",
    ".venv/lib/python3.12/site-packages/jupyter_book/book_template/notebooks.ipynb",
    "venv/x.md",
    "book/.venv/x.md",
    "viewer/node_modules/a/README.md",
    "node_modules/a/README.md",
    ".nox/tests/x.ipynb",
]
BOOK = ["book/index.md", "book/chapter.md"]


def sphinx_exclude_patterns() -> list[str]:
    """``exclude_patterns`` as jupyter-book passes them to Sphinx."""
    config, _ = get_final_config(
        user_yaml=REPO / "_config.yml",
        cli_config={"latex_individualpages": False},  # as `jupyter-book build`
        sourcedir=REPO,
        raise_on_invalid=True,
    )
    return config["exclude_patterns"]


def test_sphinx_finds_the_book_but_no_environment(tmp_path: Path) -> None:
    for name in FOREIGN + BOOK:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("# A page\n", encoding="utf-8")
    project = Project(tmp_path, {".md": "myst-nb", ".ipynb": "myst-nb"})
    found = project.discover(exclude_paths=sphinx_exclude_patterns())
    assert found == {"book/index", "book/chapter"}


@pytest.mark.parametrize("folder", [".venv", "venv", ".nox", "node_modules"])
@pytest.mark.parametrize("parent", ["", "viewer/"])
def test_git_ignores_the_folder(folder: str, parent: str) -> None:
    path = f"{parent}{folder}/x.md"
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", path], cwd=REPO
    ).returncode
    assert ignored == 0, f"{path} is not ignored by .gitignore"
