"""Rebuild a copy of the book from the execution cache after a prose edit.

This is the path a reader of the repository takes after changing some text:
no chapter is executed again, and the ``.ipynb`` downloads must still hold
every output. The copy is built with ``BOOK_JUPYTERHUB_URL`` set, to check the
JupyterHub launch link as well (the main site is built without it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import nbformat
import pytest

from _ext.launch_notebooks import JUPYTERHUB_ENV, chapter_sources, repository
from tests.browser.book import REPO
from tests.notebooks import png_count

HUB = "https://hub.example.org"
# Not copied: builds, tool caches and the repository's history.
SKIP = ("_build", ".git", ".nox", "__pycache__", ".pytest_cache", ".ruff_cache")


@pytest.fixture(scope="module")
def rebuilt(site: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Copy the book and its execution cache, edit prose, build the copy."""
    cache = site.parent / ".jupyter_cache"
    if not cache.is_dir():
        pytest.fail(f"No execution cache at {cache}: build with `nox -s book` first.")
    root = tmp_path_factory.mktemp("rebuild") / "repo"
    shutil.copytree(REPO, root, ignore=shutil.ignore_patterns(*SKIP))
    shutil.copytree(cache, root / "_build" / ".jupyter_cache")
    for chapter in chapter_sources(root):
        with chapter.open("a", encoding="utf-8") as text:
            text.write("\nA sentence added after the book was built.\n")
    env = {**os.environ, JUPYTERHUB_ENV: HUB}
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run(
        [str(jupyter_book), "build", ".", "--path-output", ".", "-W", "-n"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return {"root": root, "log": result.stdout}


def test_no_chapter_is_executed_again(rebuilt: dict) -> None:
    log = rebuilt["log"]
    assert "Executing notebook" not in log
    assert len(re.findall(r"Using cached notebook", log)) == len(chapter_sources())


@pytest.mark.parametrize("chapter", chapter_sources(), ids=lambda p: p.stem)
def test_download_keeps_every_output(rebuilt: dict, site: Path, chapter) -> None:
    """The copy's .ipynb download holds the outputs of the first build."""
    name = f"book/{chapter.stem}.ipynb"
    original = nbformat.read(site / "_sources" / name, as_version=4)
    copy = nbformat.read(rebuilt["root"] / "_build/html/_sources" / name, 4)
    assert png_count(copy.cells) == png_count(original.cells) > 0
    code = [c.get("outputs") for c in copy.cells if c.cell_type == "code"]
    assert code == [c.get("outputs") for c in original.cells if c.cell_type == "code"]
    assert "A sentence added after the book was built." in copy.cells[-1].source


@pytest.mark.parametrize("chapter", chapter_sources(), ids=lambda p: p.stem)
def test_jupyterhub_link(rebuilt: dict, chapter) -> None:
    """An nbgitpuller link that pulls the repository and opens the copy."""
    html = (rebuilt["root"] / f"_build/html/book/{chapter.stem}.html").read_text()
    links = re.findall(r'href="(https://hub\.example\.org/[^"]+)"', html)
    assert len(links) == 1
    link = urlsplit(links[0].replace("&amp;", "&"))
    url, branch = repository()
    assert link.path == "/hub/user-redirect/git-pull"
    assert parse_qs(link.query) == {
        "repo": [url],
        "urlpath": [f"lab/tree/{url.rsplit('/', 1)[1]}/notebooks/{chapter.stem}.ipynb"],
        "branch": [branch],
    }
