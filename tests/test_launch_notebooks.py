"""The notebooks the launch buttons open, and how the book links to them."""

from __future__ import annotations

import ast
import importlib.metadata
import sys
import tomllib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jupytext
import pytest
from IPython.core.inputtransformer2 import TransformerManager
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from sphinx.errors import ExtensionError

from _ext import launch_notebooks as ln

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = ln.chapter_sources()


def test_there_are_chapters() -> None:
    assert {p.stem for p in CHAPTERS} >= {
        "chunked-storage",
        "creating-chunked-datasets",
        "appendix-ome-zarr-libraries",
    }


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_committed_copy_is_current(chapter: Path) -> None:
    """notebooks/<chapter>.ipynb is what `nox -s notebooks` makes from the .md."""
    copy = REPO / ln.notebook_path(chapter)
    assert copy.is_file(), f"{copy} is missing: run `nox -s notebooks`"
    assert copy.read_text(encoding="utf-8") == ln.notebook_text(chapter), (
        f"{copy.name} is out of date with book/{chapter.name}: run `nox -s notebooks`"
    )


def test_no_stray_copies() -> None:
    """Every notebook in notebooks/ belongs to a chapter (none left behind)."""
    copies = {p.name for p in (REPO / ln.NOTEBOOK_DIR).glob("*.ipynb")}
    assert copies == {Path(ln.notebook_path(c)).name for c in CHAPTERS}


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_copy_is_the_chapter_after_a_setup_cell(chapter: Path) -> None:
    """A note, the setup cell, then the chapter's cells unchanged, no outputs."""
    copy = ln.launch_notebook(chapter)
    source = jupytext.read(chapter)
    assert f"book/{chapter.name}" in copy.cells[0].source
    assert copy.cells[1].source == ln.SETUP_CODE.format(
        requirement=ln.install_requirement()
    )
    assert [c.source for c in copy.cells[2:]] == [c.source for c in source.cells]
    assert [c.cell_type for c in copy.cells[2:]] == [c.cell_type for c in source.cells]
    assert all(not c.get("outputs") for c in copy.cells)
    assert copy.metadata == {"kernelspec": source.metadata["kernelspec"]}


def run_setup_cell(monkeypatch: pytest.MonkeyPatch, installed: bool) -> list[Any]:
    """Run the setup cell's code; return the commands it passed to subprocess."""
    import importlib.util
    import subprocess

    real_find_spec = importlib.util.find_spec
    calls: list[Any] = []

    def find_spec(name: str, *args: Any) -> Any:
        if name == "data_helpers" and not installed:
            return None
        return real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append((cmd, kw)))
    code = ln.SETUP_CODE.format(requirement=ln.install_requirement())
    exec(compile(code, "setup-cell", "exec"), {})
    return calls


def test_setup_cell_does_nothing_where_helpers_are_installed(monkeypatch) -> None:
    assert run_setup_cell(monkeypatch, installed=True) == []


def test_setup_cell_installs_helpers_with_the_book_extra(monkeypatch, capsys) -> None:
    calls = run_setup_cell(monkeypatch, installed=False)
    assert len(calls) == 1
    command, options = calls[0]
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    requirement = Requirement(command[-1])
    assert requirement.name == "data_helpers" and requirement.extras == {"book"}
    url, branch = ln.repository()
    assert requirement.url == f"git+{url}@{branch}"
    assert options == {"check": True}
    assert "Installing data_helpers" in capsys.readouterr().out


def pyproject_requirements() -> set[str]:
    """Distributions installed by ``pip install data_helpers[book]``."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    listed = project["dependencies"] + project["optional-dependencies"]["book"]
    return {canonicalize_name(Requirement(r).name) for r in listed}


def chapter_imports(chapter: Path) -> set[str]:
    """Top-level modules the chapter's code cells import."""
    modules = set()
    for cell in jupytext.read(chapter).cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(TransformerManager().transform_cell(cell.source))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules.add(node.module.split(".")[0])
    return modules


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_book_extra_covers_every_import(chapter: Path) -> None:
    """A kernel with only data_helpers[book] can run the chapter's imports."""
    distributions = importlib.metadata.packages_distributions()
    listed = pyproject_requirements()
    missing = []
    for module in sorted(chapter_imports(chapter)):
        if module in sys.stdlib_module_names or module == "data_helpers":
            continue
        providers = {canonicalize_name(d) for d in distributions.get(module, [])}
        if not providers & listed:
            missing.append(f"{module} (from {sorted(providers) or 'unknown'})")
    assert missing == [], "add these to [project.optional-dependencies] book"


# The Sphinx side: links of the launch buttons.


def fake_app(tmp_path: Path, theme_options: dict[str, Any]) -> SimpleNamespace:
    """Just enough of a Sphinx app for retarget_launch_buttons; book/ch a chapter."""
    toc = "root: book/index\nparts:\n  - chapters:\n      - file: book/ch\n"
    (tmp_path / "_toc.yml").write_text(toc)
    return SimpleNamespace(
        srcdir=str(tmp_path),
        env=SimpleNamespace(doc2path=lambda name: str(tmp_path / f"{name}.md")),
        config=SimpleNamespace(html_theme_options=theme_options),
    )


def launch_context(*urls: str) -> dict[str, Any]:
    buttons = [{"type": "link", "text": f"b{i}", "url": u} for i, u in enumerate(urls)]
    buttons.append({"type": "javascript", "text": "Live Code"})
    return {
        "header_buttons": [
            {"label": "download-buttons", "buttons": []},
            {"label": "launch-buttons", "buttons": buttons},
        ]
    }


def test_launch_links_point_at_the_copy(tmp_path: Path) -> None:
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "ch.ipynb").write_text("{}")
    context = launch_context(
        "https://mybinder.org/v2/gh/o/r/main?urlpath=lab/tree/book/ch.md",
        "https://colab.research.google.com/github/o/r/blob/main/book/ch.md",
    )
    ln.retarget_launch_buttons(fake_app(tmp_path, {}), "book/ch", "", context, None)
    urls = [b.get("url") for b in context["header_buttons"][1]["buttons"]]
    assert urls == [
        "https://mybinder.org/v2/gh/o/r/main?urlpath=lab/tree/notebooks/ch.ipynb",
        "https://colab.research.google.com/github/o/r/blob/main/notebooks/ch.ipynb",
        None,
    ]


def test_missing_copy_fails_the_build(tmp_path: Path) -> None:
    context = launch_context("https://x.org/blob/main/book/ch.md")
    with pytest.raises(ExtensionError, match="nox -s notebooks"):
        ln.retarget_launch_buttons(fake_app(tmp_path, {}), "book/ch", "", context, None)


def test_a_page_outside_the_toc_names_the_exclusion_not_the_copies(
    tmp_path: Path,
) -> None:
    """A template page from a venv in the clone: `nox -s notebooks` would not help."""
    page = ".venv/lib/python3.12/site-packages/jupyter_book/book_template/intro"
    context = launch_context(f"https://x.org/blob/main/{page}.md")
    with pytest.raises(ExtensionError, match="exclude_patterns") as error:
        ln.retarget_launch_buttons(fake_app(tmp_path, {}), page, "", context, None)
    assert "nox -s notebooks" not in str(error.value)


def test_unexpected_link_fails_the_build(tmp_path: Path) -> None:
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "ch.ipynb").write_text("{}")
    context = launch_context("https://x.org/blob/main/elsewhere/ch.md")
    with pytest.raises(ExtensionError, match="does not name book/ch.md"):
        ln.retarget_launch_buttons(fake_app(tmp_path, {}), "book/ch", "", context, None)


def test_pages_without_launch_buttons_are_left_alone(tmp_path: Path) -> None:
    context = {"header_buttons": [{"label": "download-buttons", "buttons": []}]}
    ln.retarget_launch_buttons(fake_app(tmp_path, {}), "book/index", "", context, None)
    assert context == {"header_buttons": [{"label": "download-buttons", "buttons": []}]}


@pytest.mark.parametrize("value", [None, "", "  "])
def test_no_jupyterhub_without_the_variable(monkeypatch, value) -> None:
    if value is None:
        monkeypatch.delenv(ln.JUPYTERHUB_ENV, raising=False)
    else:
        monkeypatch.setenv(ln.JUPYTERHUB_ENV, value)
    config = SimpleNamespace(html_theme_options={"launch_buttons": {"x": 1}})
    ln.add_jupyterhub(None, config)
    assert config.html_theme_options == {"launch_buttons": {"x": 1}}


def test_jupyterhub_from_the_variable(monkeypatch) -> None:
    monkeypatch.setenv(ln.JUPYTERHUB_ENV, "https://hub.example.org")
    config = SimpleNamespace(html_theme_options={})
    ln.add_jupyterhub(None, config)
    assert config.html_theme_options == {
        "launch_buttons": {"jupyterhub_url": "https://hub.example.org"}
    }


def test_jupyterhub_variable_must_be_a_url(monkeypatch) -> None:
    monkeypatch.setenv(ln.JUPYTERHUB_ENV, "hub.example.org")
    config = SimpleNamespace(html_theme_options={})
    with pytest.raises(ExtensionError, match="is not a URL"):
        ln.add_jupyterhub(None, config)


def test_chapters_are_the_ones_toc_lists_in_its_order(tmp_path: Path) -> None:
    """The list of chapters is _toc.yml's, not every notebook-like file."""
    (tmp_path / "book").mkdir()
    for name in ("b-second", "a-first", "draft"):
        (tmp_path / "book" / f"{name}.md").write_text("---\nkernelspec: {}\n---\n")
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/index\nparts:\n"
        "  - caption: Chapters\n    chapters:\n      - file: book/b-second\n"
        "  - caption: Appendices\n    chapters:\n      - file: book/a-first\n"
    )
    assert ln.chapter_sources(tmp_path) == [
        tmp_path / "book" / "b-second.md",
        tmp_path / "book" / "a-first.md",
    ]
