"""Open every page of the built book in headless Chromium and check it."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from urllib.request import urlopen

import nbformat
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from _ext.launch_notebooks import JUPYTERHUB_ENV, repository
from tests.browser.book import (
    REPO,
    book_title,
    is_chapter,
    page_heading,
    toc_pages,
)
from tests.notebooks import png_count

PAGES = toc_pages()

READY_SCRIPT = """
return document.readyState === "complete"
  && document.querySelectorAll("nav.bd-docs-nav a.reference").length > 0
  && document.querySelector("article h1") !== null;
"""

# Everything the tests need from a page, read in one go once it has loaded.
PAGE_SCRIPT = """
return {
  title: document.title,
  images: [...document.images].map(img => ({
    src: img.getAttribute("src"),
    width: img.naturalWidth,
    alt: img.getAttribute("alt"),
    output: img.closest(".cell_output") !== null,
  })),
  nav: [...document.querySelectorAll("nav.bd-docs-nav a.reference")]
    .map(a => a.pathname),
  launch: Object.fromEntries([...document.querySelectorAll(
    ".dropdown-launch-buttons a")].map(a => [a.textContent.trim(), a.href])),
  downloads: Object.fromEntries([...document.querySelectorAll(
    ".dropdown-download-buttons a")].map(a => [a.textContent.trim(), a.href])),
};
"""


@dataclass
class Page:
    """What a page showed in the browser."""

    docname: str
    title: str
    images: list[dict[str, Any]]
    nav: list[str]
    launch: dict[str, str]
    downloads: dict[str, str]
    errors: list[str]

    @property
    def output_images(self) -> list[dict[str, Any]]:
        """The images inside code cell outputs (the figures cells drew)."""
        return [img for img in self.images if img["output"]]

    def downloaded_notebook(self) -> nbformat.NotebookNode:
        """The notebook behind the page's ".ipynb" download button."""
        with urlopen(self.downloads[".ipynb"]) as response:
            return nbformat.reads(response.read().decode("utf-8"), as_version=4)


def screenshot(driver: webdriver.Chrome, path: Path) -> None:
    """Save a screenshot of the whole page, not just the window."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    size = driver.get_window_size()
    driver.set_window_size(size["width"], max(size["height"], height))
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    driver.set_window_size(size["width"], size["height"])


def console_errors(driver: webdriver.Chrome) -> list[str]:
    """SEVERE console entries since the last call (read and clear the log)."""
    entries = driver.get_log("browser")
    return [e["message"] for e in entries if e["level"] == "SEVERE"]


@pytest.fixture(scope="session")
def visit(driver: webdriver.Chrome, site: Path, site_url: str) -> Callable[[str], Page]:
    """Return a function that opens a page once per session and reads it."""
    pages: dict[str, Page] = {}

    def open_page(docname: str) -> Page:
        if docname not in pages:
            console_errors(driver)  # drop entries left by an earlier page
            driver.get(f"{site_url}{docname}.html")
            # get() waits for the load event; on a busy machine wait also until
            # the page and its sidebar are in place before reading them.
            WebDriverWait(driver, 30).until(lambda d: d.execute_script(READY_SCRIPT))
            info = driver.execute_script(PAGE_SCRIPT)
            pages[docname] = Page(docname, errors=console_errors(driver), **info)
            name = docname.replace("/", "-")
            screenshot(driver, site.parent / "screenshots" / f"{name}.png")
        return pages[docname]

    return open_page


@pytest.mark.parametrize("docname", PAGES)
def test_title(visit, docname: str) -> None:
    """The browser tab shows the page's heading and the book's title."""
    assert visit(docname).title == f"{page_heading(docname)} \u2014 {book_title()}"


@pytest.mark.parametrize("docname", PAGES)
def test_no_console_errors(visit, docname: str) -> None:
    """No script, stylesheet or image failed (nothing may need the internet)."""
    errors = visit(docname).errors
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("docname", PAGES)
def test_images_load(visit, docname: str) -> None:
    """Every image on the page was loaded and decoded."""
    broken = [img["src"] for img in visit(docname).images if img["width"] == 0]
    assert broken == []


@pytest.mark.parametrize("docname", PAGES)
def test_every_figure_shown(visit, docname: str) -> None:
    """Each PNG figure of the executed notebook appears in a cell output."""
    page = visit(docname)
    if not is_chapter(docname):
        assert page.output_images == []
        return
    assert len(page.output_images) == png_count(page.downloaded_notebook().cells) > 0


@pytest.mark.parametrize("docname", PAGES)
def test_downloads(visit, docname: str) -> None:
    """Chapters offer the source and the executed notebook, with all outputs."""
    page = visit(docname)
    if not is_chapter(docname):
        assert ".ipynb" not in page.downloads
        return
    assert set(page.downloads) >= {".ipynb", ".md"}
    with urlopen(page.downloads[".md"]) as response:
        source = (REPO / f"{docname}.md").read_text(encoding="utf-8")
        assert response.read().decode("utf-8") == source
    code = [c for c in page.downloaded_notebook().cells if c.cell_type == "code"]
    assert code and all(c.execution_count is not None for c in code)
    assert sum(len(c.outputs) for c in code) > 0


@pytest.mark.parametrize("docname", PAGES)
def test_launch_buttons(visit, docname: str) -> None:
    """Chapters launch their notebooks/ copy, from the repository, on each service."""
    page = visit(docname)
    if not is_chapter(docname):
        assert page.launch == {}
        return
    hub = os.environ.get(JUPYTERHUB_ENV, "").strip()
    assert set(page.launch) == {"Binder", "Colab"} | ({"JupyterHub"} if hub else set())
    url, branch = repository()
    org_repo = urlsplit(url).path.strip("/")
    copy = f"notebooks/{Path(docname).name}.ipynb"
    assert (REPO / copy).is_file()
    assert page.launch["Binder"] == (
        f"https://mybinder.org/v2/gh/{org_repo}/{branch}?urlpath=lab/tree/{copy}"
    )
    assert page.launch["Colab"] == (
        f"https://colab.research.google.com/github/{org_repo}/blob/{branch}/{copy}"
    )
    if hub:
        query = parse_qs(urlsplit(page.launch["JupyterHub"]).query)
        assert query == {
            "repo": [url],
            "urlpath": [f"lab/tree/{org_repo.split('/')[1]}/{copy}"],
            "branch": [branch],
        }


@pytest.mark.parametrize("docname", PAGES)
def test_figures_have_alt_text(visit, docname: str) -> None:
    """Every figure a cell drew has alt text (``mystnb: image: alt:``)."""
    images = visit(docname).output_images
    missing = [img["src"] for img in images if not (img["alt"] or "").strip()]
    assert missing == []


@pytest.mark.parametrize("docname", PAGES)
def test_navigation_lists_every_chapter(visit, docname: str) -> None:
    """The sidebar links to every page in _toc.yml."""
    linked = {p.removeprefix("/").removesuffix(".html") for p in visit(docname).nav}
    assert set(PAGES) <= linked


def test_search_finds_chunk(
    driver: webdriver.Chrome, site: Path, site_url: str
) -> None:
    """The search page lists results for "chunk", without console errors."""
    console_errors(driver)
    driver.get(f"{site_url}search.html?q=chunk")
    results = WebDriverWait(driver, 20).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#search-results ul.search li")
    )
    assert any("chunk" in result.text.lower() for result in results)
    assert console_errors(driver) == []
    screenshot(driver, site.parent / "screenshots" / "search.png")
