"""Notebook copies of the chapters for the launch buttons, and the buttons' links.

The chapters are MyST markdown files in ``book/``. Colab opens only ``.ipynb``
files, and Colab and a JupyterHub lack this book's helper package. So each
chapter has a generated copy, ``notebooks/<chapter>.ipynb`` (no outputs), whose
first code cell installs ``data_helpers`` with the libraries the chapters use
when the kernel lacks it (it does nothing on Binder or a local install).

- ``python _ext/launch_notebooks.py`` (``nox -s notebooks``) writes the copies;
  a test fails when a committed copy differs from what this module makes.
- As a Sphinx extension, it points every launch button (Binder, Colab,
  JupyterHub) of a chapter at its copy, and adds a JupyterHub button when the
  environment variable ``BOOK_JUPYTERHUB_URL`` names a hub with nbgitpuller.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat
import yaml

if TYPE_CHECKING:  # Sphinx and jupytext are imported where used: the launch
    # script imports chapter_sources in an environment without them.
    from sphinx.application import Sphinx
    from sphinx.config import Config

REPO = Path(__file__).resolve().parents[1]
BOOK_DIR = "book"
NOTEBOOK_DIR = "notebooks"
JUPYTERHUB_ENV = "BOOK_JUPYTERHUB_URL"

SETUP_CODE = """\
# Colab and JupyterHub: install this book's helper package, data_helpers, and the
# libraries the chapters use. With Binder or a local install from the book's
# requirements.txt it is installed already, and this cell does nothing.
import importlib.util
import subprocess
import sys

HELPERS = "{requirement}"

if importlib.util.find_spec("data_helpers") is None:
    print("Installing data_helpers and the chapters' libraries (a minute or two)")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", HELPERS], check=True)
    importlib.invalidate_caches()  # so the new packages can be imported now"""


def repository() -> tuple[str, str]:
    """The book's repository URL and branch, from ``_config.yml``."""
    config = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    return config["repository"]["url"], config["repository"]["branch"]


def chapter_sources(repo: Path = REPO) -> list[Path]:
    """Every chapter's MyST source, in the order of ``_toc.yml``.

    The one list of chapters: the build, the notebook copies, the tests and
    ``scripts/run_launch_notebooks.py`` all read it here. The root page
    (``book/index``) is not a chapter.
    """
    toc = yaml.safe_load((repo / "_toc.yml").read_text(encoding="utf-8"))
    entries = [entry for part in toc["parts"] for entry in part["chapters"]]
    return [repo / f"{entry['file']}.md" for entry in entries]


def chapter_docnames(repo: Path = REPO) -> set[str]:
    """The chapters' Sphinx document names, e.g. ``book/chunked-storage``."""
    return {
        c.relative_to(repo).with_suffix("").as_posix() for c in chapter_sources(repo)
    }


def notebook_path(chapter: Path) -> str:
    """The copy's path relative to the repository, e.g. ``notebooks/x.ipynb``."""
    return f"{NOTEBOOK_DIR}/{chapter.stem}.ipynb"


def install_requirement() -> str:
    """The pip requirement that installs the helpers from the repository."""
    url, branch = repository()
    return f"data_helpers[book] @ git+{url}@{branch}"


def launch_notebook(chapter: Path) -> nbformat.NotebookNode:
    """The launch copy of a chapter: a note, the setup cell, then the chapter."""
    url, branch = repository()
    source = f"{BOOK_DIR}/{chapter.name}"
    note = (
        f"*This notebook is generated from [`{source}`]({url}/blob/{branch}/{source})"
        " by `nox -s notebooks`; edit that file, not this one. The next cell"
        " installs the book's helpers where they are missing (Colab, JupyterHub).*"
    )
    import jupytext

    chapter_nb = jupytext.read(chapter)
    notebook = nbformat.v4.new_notebook(
        metadata={"kernelspec": chapter_nb.metadata["kernelspec"]}
    )
    setup = nbformat.v4.new_code_cell(
        SETUP_CODE.format(requirement=install_requirement())
    )
    notebook.cells = [nbformat.v4.new_markdown_cell(note), setup, *chapter_nb.cells]
    for number, cell in enumerate(notebook.cells):
        cell.id = f"cell-{number}"  # stable ids, so regenerating changes nothing
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return notebook


def notebook_text(chapter: Path) -> str:
    """The launch copy of a chapter as the text of an ``.ipynb`` file."""
    return nbformat.writes(launch_notebook(chapter)) + "\n"


def write_notebooks(repo: Path = REPO) -> list[Path]:
    """(Re)write ``notebooks/<chapter>.ipynb`` for every chapter; return them."""
    written = []
    (repo / NOTEBOOK_DIR).mkdir(exist_ok=True)
    for chapter in chapter_sources(repo):
        path = repo / notebook_path(chapter)
        path.write_text(notebook_text(chapter), encoding="utf-8")
        written.append(path)
    return written


def add_jupyterhub(app: Sphinx, config: Config) -> None:
    """Set the theme's ``jupyterhub_url`` from ``BOOK_JUPYTERHUB_URL`` if set."""
    from sphinx.errors import ExtensionError

    hub = os.environ.get(JUPYTERHUB_ENV, "").strip()
    if hub:
        if not hub.startswith(("https://", "http://")):
            raise ExtensionError(
                f"{JUPYTERHUB_ENV}={hub!r} is not a URL; set it to your hub's "
                "address, such as https://hub.example.org, or unset it."
            )
        config.html_theme_options.setdefault("launch_buttons", {})
        config.html_theme_options["launch_buttons"]["jupyterhub_url"] = hub


def retarget_launch_buttons(
    app: Sphinx,
    pagename: str,
    templatename: str,
    context: dict[str, Any],
    doctree: Any,
) -> None:
    """Point each launch button of a chapter at ``notebooks/<chapter>.ipynb``."""
    from sphinx.errors import ExtensionError

    groups = [
        group
        for group in context.get("header_buttons", [])
        if group.get("label") == "launch-buttons"
    ]
    if not groups:
        return
    chapter = Path(app.env.doc2path(pagename))
    copy = notebook_path(chapter)
    if not (Path(app.srcdir) / copy).is_file():
        if pagename not in chapter_docnames(Path(app.srcdir)):
            raise ExtensionError(
                f"{pagename} is not a chapter in _toc.yml, yet Sphinx read it, so "
                "a folder in the clone (a virtual environment?) escapes "
                "exclude_patterns: move it out of the clone or add it to "
                "exclude_patterns in _config.yml."
            )
        raise ExtensionError(
            f"{copy} is missing, so the launch buttons of {pagename} would point "
            "at nothing. Run `nox -s notebooks` and commit the result."
        )
    docs = app.config.html_theme_options.get("path_to_docs", "").strip("/")
    source = f"{docs}/{pagename}{chapter.suffix}".lstrip("/")
    for group in groups:
        for button in group["buttons"]:
            if button.get("type") != "link":
                continue
            if button["url"].count(source) != 1:
                raise ExtensionError(
                    f"The {button['text']} link of {pagename} does not name "
                    f"{source} once ({button['url']}); sphinx-book-theme changed "
                    "how it builds launch links, so update _ext/launch_notebooks.py."
                )
            button["url"] = button["url"].replace(source, copy)


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the handlers; the link rewrite runs after the theme's (501)."""
    app.connect("config-inited", add_jupyterhub)
    app.connect("html-page-context", retarget_launch_buttons, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    for written in write_notebooks():
        print(f"wrote {written.relative_to(REPO)}")
